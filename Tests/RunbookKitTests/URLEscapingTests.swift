import Foundation
@testable import RunbookKit
import XCTest

/// Names in request paths and queries: plain names come back as they are, others are escaped as
/// Foundation escapes them; header lines are trimmed byte-wise.
final class URLEscapingTests: XCTestCase {
    func testPlainNamesAreLeftAndOthersEscapedAsFoundationDoes() {
        for name in ["reports-00", "runbook.run.v1.demo-20231114T221320-ab12", "a_b~c", "system:node:x@y", "Ab9", "a b/c?d%é"] {
            XCTAssertEqual(name.urlPathEscaped, name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~:@"))))
        }
        XCTAssertEqual("reports-00".urlPathEscaped, "reports-00")
        XCTAssertTrue("a b/c?d%é".urlPathEscaped.hasPrefix("a%20b%2Fc%3Fd%25"))
        XCTAssertEqual("a:b".urlQueryEscaped, "a%3Ab")
        XCTAssertEqual("type=runbook.dev/run.v1".urlQueryEscaped, "type%3Drunbook.dev%2Frun.v1")
        XCTAssertEqual("app-1.x~y".urlQueryEscaped, "app-1.x~y")
    }

    func testHeaderLinesAreTrimmedOfASCIISpace() {
        func trim(_ s: String) -> String {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBufferPointer { String(decoding: HTTPClient.trimmed($0[...]), as: UTF8.self) }
        }
        XCTAssertEqual(trim("Content-Type: application/json\r\n"), "Content-Type: application/json")
        XCTAssertEqual(trim(" \t x \r\n"), "x")
        XCTAssertEqual(trim("\r\n"), "")
        XCTAssertEqual(trim(""), "")
    }
}

import Foundation
@testable import RunbookKit
import XCTest

/// Secrets and their encoded forms never pass the masker, in text, values and report events.
final class MaskingTests: XCTestCase {
    func testSecretAndItsBase64FormsAreMasked() {
        let m = Masker()
        let secret = "p@ss/word+?>"  // has characters whose standard and URL-safe base64 differ
        m.add(secret)
        let b64 = Data(secret.utf8).base64EncodedString()
        let url = b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        for form in [secret, b64, b64.trimmingCharacters(in: ["="]), url, url.trimmingCharacters(in: ["="])] {
            XCTAssertEqual(m.mask("x \(form) y"), "x *** y", form)
        }
        XCTAssertEqual(m.mask("nothing secret here"), "nothing secret here")
    }

    func testJSONEscapedFormAndValuesAreMasked() {
        let m = Masker()
        m.add("line1\n\"quoted\"")
        let v: Value = ["a": .string("line1\n\"quoted\""), "b": ["c", .string("pre line1\n\"quoted\" post")]]
        XCTAssertFalse(m.mask(v).jsonString().contains("quoted"))
        XCTAssertFalse(m.mask(Value.string("line1\n\"quoted\"").jsonString()).contains("quoted"))
    }

    func testEveryOccurrenceIsMaskedWhereverItStands() {
        let m = Masker()
        m.add("s3cr3t")
        XCTAssertEqual(m.mask("s3cr3t"), "***")
        XCTAssertEqual(m.mask("a s3cr3ts3cr3t b s3cr3"), "a ****** b s3cr3")
        XCTAssertEqual(m.mask("한글s3cr3t😀"), "한글***😀")
        XCTAssertEqual(m.mask("nothing here"), "nothing here")
    }

    func testALongerSecretContainingAShorterOneIsMaskedWhole() {
        let m = Masker()
        m.add("pass")
        m.add("password-1")
        XCTAssertEqual(m.mask("x password-1 pass"), "x *** ***")
    }

    func testShortValuesAreNotRegistered() {
        let m = Masker()
        m.add("ab")
        XCTAssertTrue(m.isEmpty)
        XCTAssertEqual(m.mask("abc"), "abc")
    }

    func testReportEventsAndErrorsAreMasked() {
        let m = Masker()
        m.add("s3cr3t-token")
        var e = ReportEvent(.stepFinished, runID: "r", step: "s", status: "failed", message: "bad s3cr3t-token")
        e.hint = "retry with s3cr3t-token"
        let json = e.masked(by: m).toValue().jsonString()
        XCTAssertFalse(json.contains("s3cr3t"))
        XCTAssertTrue(json.contains("\"message\":\"bad ***\""))
        let lines = ErrorReport.lines(for: ActionError.failed("cannot use s3cr3t-token"), masker: m)
        XCTAssertEqual(lines, ["error: cannot use ***"])
    }

    func testExitCodeMapping() {
        XCTAssertEqual(ErrorReport.exitCode(for: RunbookError.usage("x")), 2)
        XCTAssertEqual(ErrorReport.exitCode(for: StateError.locked(runbook: "a", holder: "b")), 4)
        XCTAssertEqual(ErrorReport.exitCode(for: EngineError.runbookChanged(runID: "r", path: "p", recorded: "a", now: "b")), 2)
        XCTAssertEqual(RunOutcome.completed.exitCode, 0)
        XCTAssertEqual(RunOutcome.rolledBack.exitCode, 1)
        XCTAssertEqual(RunOutcome.paused.exitCode, 3)
        XCTAssertEqual(RunOutcome.rollbackFailed.exitCode, 3)
    }
}

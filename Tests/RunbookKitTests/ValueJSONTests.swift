import Foundation
import XCTest

@testable import RunbookKit

final class ValueJSONTests: XCTestCase {
    func testEncodingKeepsKeyOrderAndEscapes() {
        let v: Value = ["z": 1, "a": ["s": "quote \" back \\ nl \n tab \t ctl \u{01} ü 한 😀", "n": nil, "b": true], "d": 2.5, "w": 3.0]
        XCTAssertEqual(v.jsonString(),
                       #"{"z":1,"a":{"s":"quote \" back \\ nl \n tab \t ctl \u0001 ü 한 😀","n":null,"b":true},"d":2.5,"w":3.0}"#)
    }

    func testPrettyEncoding() {
        let v: Value = ["a": [1, 2], "b": [:], "c": []]
        XCTAssertEqual(v.jsonString(pretty: true), "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}")
    }

    func testRoundTripThroughTheParser() throws {
        let v: Value = ["k": ["x\u{7f}y", "\u{2028}", "é\"\\/", -12, 1e300, 0.1], "e": ""]
        XCTAssertEqual(try Value.parseJSON(v.jsonString()), v)
        XCTAssertEqual(try Value.parseJSON(v.jsonString(pretty: true)), v)
    }

    func testStringsWithEscapesAtTheirEdgesRoundTrip() throws {
        // the writer copies runs between escapes and the parser takes escape-free strings whole
        let texts = ["", "\"", "\\", "\"edge\"", "\nstart", "end\n", "\u{01}\u{1f}", String(repeating: "base64+/=", count: 500) + "\"",
                     "한글\"😀\\"]
        for t in texts {
            XCTAssertEqual(try Value.parseJSON(Value.string(t).jsonString()), .string(t), t)
        }
        XCTAssertEqual(Value.string("a\"b\\c\nd").jsonString(), #""a\"b\\c\nd""#)
    }

    func testParserRejectsBadInputWithItsOffset() {
        XCTAssertThrowsError(try Value.parseJSON(#"{"a": 1,}"#)) { error in
            XCTAssertEqual((error as? Value.JSONError)?.offset, 8)
        }
        XCTAssertThrowsError(try Value.parseJSON("[1] x"))
        XCTAssertThrowsError(try Value.parseJSON(#""unterminated"#))
    }

    func testSurrogatePairsDecode() throws {
        XCTAssertEqual(try Value.parseJSON(#""\ud83d\ude00 \u00e9""#), "😀 é")
    }

    func testTimestampFormatIsPaddedUTCWithMilliseconds() {
        let d = Date(timeIntervalSince1970: 86_400 * 365 + 3_723.25)  // 1971-01-01T01:02:03.250Z
        XCTAssertEqual(Timestamp.format(d), "1971-01-01T01:02:03.250Z")
        XCTAssertEqual(Timestamp.parse(Timestamp.format(d))?.timeIntervalSince1970 ?? 0, d.timeIntervalSince1970, accuracy: 0.001)
    }
}

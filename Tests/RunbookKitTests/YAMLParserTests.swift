import XCTest
@testable import RunbookKit

final class YAMLParserTests: XCTestCase {
    func testMappingKeepsOrderAndMarks() throws {
        let docs = try YAMLParser.parse("b: 1\na:\n  - x\n  - 'y'\n", file: "t.yaml")
        XCTAssertEqual(docs.count, 1)
        guard case .mapping(let pairs, let mark) = docs[0] else { return XCTFail("not a mapping") }
        XCTAssertEqual(mark, Mark(line: 1, column: 1))
        XCTAssertEqual(pairs.map { $0.key.scalarText }, ["b", "a"])
        XCTAssertEqual(pairs[1].value.mark, Mark(line: 3, column: 3))
        guard case .sequence(let items, _) = pairs[1].value else { return XCTFail("not a sequence") }
        XCTAssertEqual(items[1], .scalar("y", plain: false, tag: nil, Mark(line: 4, column: 5)))
        XCTAssertEqual(docs[0].toValue(), ["b": 1, "a": ["x", "y"]])
        XCTAssertEqual(docs[0].toValue().objectValue?.keys, ["b", "a"])
    }

    func testCoreSchemaScalars() throws {
        let text = """
        n1: null
        n2: ~
        n3:
        t1: true
        t2: True
        t3: TRUE
        f: false
        yes_is_string: yes
        i: 42
        neg: -7
        hex: 0x1F
        oct: 0o17
        fl: 1.5
        exp: 1e3
        inf: .inf
        ninf: -.inf
        q: "42"
        sq: 'true'
        s: hello world
        str_tag: !!str 12
        int_tag: !!int "12"
        lead_zero: 012
        ver: 1.2.3
        """
        let v = try XCTUnwrap(YAMLParser.parse(text, file: "t.yaml").first).toValue()
        XCTAssertEqual(v["n1"], .null)
        XCTAssertEqual(v["n2"], .null)
        XCTAssertEqual(v["n3"], .null)
        XCTAssertEqual(v["t1"], .bool(true))
        XCTAssertEqual(v["t2"], .bool(true))
        XCTAssertEqual(v["t3"], .bool(true))
        XCTAssertEqual(v["f"], .bool(false))
        XCTAssertEqual(v["yes_is_string"], .string("yes"))
        XCTAssertEqual(v["i"], .int(42))
        XCTAssertEqual(v["neg"], .int(-7))
        XCTAssertEqual(v["hex"], .int(31))
        XCTAssertEqual(v["oct"], .int(15))
        XCTAssertEqual(v["fl"], .double(1.5))
        XCTAssertEqual(v["exp"], .double(1000))
        XCTAssertEqual(v["inf"], .double(.infinity))
        XCTAssertEqual(v["ninf"], .double(-.infinity))
        XCTAssertEqual(v["q"], .string("42"))
        XCTAssertEqual(v["sq"], .string("true"))
        XCTAssertEqual(v["s"], .string("hello world"))
        XCTAssertEqual(v["str_tag"], .string("12"))
        XCTAssertEqual(v["int_tag"], .int(12))
        XCTAssertEqual(v["lead_zero"], .int(12))
        XCTAssertEqual(v["ver"], .string("1.2.3"))
        let nan = try XCTUnwrap(YAMLParser.parse("x: .nan", file: "t").first).toValue()["x"]?.doubleValue
        XCTAssertTrue(try XCTUnwrap(nan).isNaN)
    }

    func testMultipleDocumentsAnchorsAndMerge() throws {
        let text = """
        base: &b
          a: 1
          b: 2
        copy: *b
        merged:
          <<: *b
          b: 3
        ---
        second
        """
        let docs = try YAMLParser.parse(text, file: "t.yaml")
        XCTAssertEqual(docs.count, 2)
        let v = docs[0].toValue()
        XCTAssertEqual(v["copy"], ["a": 1, "b": 2])
        XCTAssertEqual(v["merged"], ["b": 3, "a": 1])
        XCTAssertEqual(docs[1].toValue(), "second")
        XCTAssertEqual(docs[1].mark, Mark(line: 9, column: 1))
    }

    func testEmptyInputIsNoDocument() throws {
        XCTAssertEqual(try YAMLParser.parse("", file: "t").count, 0)
        XCTAssertEqual(try YAMLParser.parse("# only a comment\n", file: "t").count, 0)
    }

    func testSyntaxErrorHasPosition() {
        XCTAssertThrowsError(try YAMLParser.parse("a: 1\nb: [1, 2\nc: 3\n", file: "bad.yaml")) { error in
            guard case RunbookError.invalid(let d) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(d.count, 1)
            XCTAssertEqual(d[0].file, "bad.yaml")
            XCTAssertTrue(d[0].message.hasPrefix("YAML syntax error: "), d[0].message)
            XCTAssertEqual(d[0].mark.line, 3)
        }
        XCTAssertThrowsError(try YAMLParser.parse("a: *nope\n", file: "bad.yaml")) { error in
            XCTAssertEqual((error as? LocalizedError)?.errorDescription?.hasPrefix("bad.yaml:1:4: "), true, "\(error)")
        }
    }

    func testYAMLStringRoundTrips() throws {
        let value: Value = [
            "name": "x",
            "count": 3,
            "flag": true,
            "ratio": 0.5,
            "looks_like_bool": "true",
            "looks_like_int": "12",
            "empty": "",
            "colon": "a: b",
            "dash": "- x",
            "multi": "line one\nline two\n",
            "multi_no_nl": "a\nb",
            "nothing": nil,
            "list": ["a", 1, ["k": "v", "k2": ["x"]], []],
            "obj": ["inner": ["deep": "v"], "e": [:]],
            "nested_list": [["a", "b"]],
            "<<": "not a merge key",
            "just_newline": "\n",
            "leading_blank": "\nabc",
            "quote": "say \"hi\" #1",
            "tabs": "a\tb",
            "hash": "#x",
            "unicode": "grüße",
        ]
        let text = value.yamlString()
        let back = try XCTUnwrap(YAMLParser.parse(text, file: "t").first).toValue()
        XCTAssertEqual(back, value, text)
        XCTAssertTrue(text.contains("name: x\n"), text)
        XCTAssertTrue(text.contains("looks_like_bool: \"true\"\n"), text)
        XCTAssertTrue(text.contains("multi: |\n  line one\n  line two\n"), text)
        XCTAssertEqual(Value.string("plain").yamlString(), "plain\n")
        let tops: [Value] = ["two\nlines\n", "true", 3, [], [:], nil, .double(-.infinity)]
        for top in tops {
            XCTAssertEqual(try YAMLParser.parse(top.yamlString(), file: "t").first?.toValue(), top, top.yamlString())
        }
    }
}

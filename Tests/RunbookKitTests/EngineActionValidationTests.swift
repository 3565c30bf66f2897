import Foundation
@testable import RunbookKit
import XCTest

/// The static checks of `exec` and `assert` (positions come from the `with:` nodes).
final class EngineActionValidationTests: XCTestCase {
    func diagnostics(_ type: any Action.Type, _ yaml: String) throws -> [String] {
        let node = try XCTUnwrap(try YAMLParser.parse(yaml, file: "t.yaml").first)
        var out: [Diagnostic] = []
        type.validate(node, file: "t.yaml", into: &out)
        return out.map(\.description)
    }

    func testExecNeedsArgumentLists() throws {
        XCTAssertEqual(try diagnostics(ExecAction.self, "command: [echo, hi]\nundo: [echo, bye]\n"), [])
        XCTAssertEqual(try diagnostics(ExecAction.self, "command: \"${{ vars.argv }}\"\n"), [])
        let d = try diagnostics(ExecAction.self, "command: echo hi | sh\nundo: []\nenv: [A]\n")
        XCTAssertEqual(d.count, 3, "\(d)")
        XCTAssertTrue(d[0].hasPrefix("t.yaml:1:10: exec: command must be a list of arguments"), d[0])
        XCTAssertTrue(d[1].hasPrefix("t.yaml:2:7: exec: undo must not be empty"), d[1])
        XCTAssertTrue(d[2].hasPrefix("t.yaml:3:6: exec: env must be a mapping"), d[2])
    }

    func testAssertNeedsExactlyOneCheck() throws {
        XCTAssertEqual(try diagnostics(AssertAction.self, "that: \"${{ vars.x }}\"\n"), [])
        XCTAssertEqual(try diagnostics(AssertAction.self, "equals: [1, \"1\"]\nmessage: m\n"), [])
        XCTAssertEqual(try diagnostics(AssertAction.self, "message: m\n").count, 1)
        XCTAssertEqual(try diagnostics(AssertAction.self, "that: true\nequals: [1, 1]\n").count, 1)
        XCTAssertEqual(try diagnostics(AssertAction.self, "equals: [1, 2, 3]\n"), ["t.yaml:1:9: assert: equals takes exactly two values, [a, b]"])
        XCTAssertTrue(AssertAction.equal(1, "1"))
        XCTAssertFalse(AssertAction.equal(["a"], "a"))
    }
}

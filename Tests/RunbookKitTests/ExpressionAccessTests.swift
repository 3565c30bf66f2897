import XCTest
@testable import RunbookKit

/// Field and index access on values, and the names `foreach` groups bind.
final class ExpressionAccessTests: XCTestCase {
    var scope: Scope {
        var s = Scope(vars: ["list": ["a", "b"], "key": "b"],
                      outputs: ["find": ["items": [["metadata": ["name": "job-0", "namespace": "ns-1"]],
                                                   ["metadata": ["name": "job-1", "namespace": "ns-2"]]]]])
        s.locals = ["cronjob": ["metadata": ["name": "nightly", "namespace": "jobs", "labels": ["app.kubernetes.io/name": "x"]]],
                    "i": 1]
        return s
    }

    func eval(_ text: String) throws -> Value { try Expressions.evaluate(text, scope: scope) }

    func error(_ text: String) -> ExpressionError? {
        do { _ = try eval(text); return nil } catch { return error as? ExpressionError }
    }

    func testIndexAndFields() throws {
        XCTAssertEqual(try eval("${{ steps.find.outputs.items[0].metadata.name }}"), "job-0")
        XCTAssertEqual(try eval("${{ steps.find.outputs.items[1]['metadata'].namespace }}"), "ns-2")
        XCTAssertEqual(try eval("${{ steps.find.outputs.items[i].metadata.name }}"), "job-1")
        XCTAssertEqual(try eval("${{ vars.list[0] }}/${{ vars.list[1] }}"), "a/b")
        XCTAssertEqual(try eval("${{ vars.list[0] == 'a' && vars.list[1] == vars.key }}"), .bool(true))
        XCTAssertEqual(try eval("${{ (vars.list)[1] }}"), "b")
    }

    func testLocalNames() throws {
        XCTAssertEqual(try eval("${{ cronjob.metadata.namespace }}/${{ cronjob.metadata.name }}"), "jobs/nightly")
        XCTAssertEqual(try eval("${{ cronjob.metadata.labels['app.kubernetes.io/name'] }}"), "x")
        XCTAssertEqual(try eval("${{ cronjob }}"), scope.locals["cronjob"])
    }

    func testMissingIsNull() throws {
        XCTAssertEqual(try eval("${{ steps.find.outputs.items[5] }}"), .null)
        XCTAssertEqual(try eval("${{ steps.find.outputs.items[-1] }}"), .null)
        XCTAssertEqual(try eval("${{ steps.none.outputs.items[0].metadata }}"), .null)
        XCTAssertEqual(try eval("${{ cronjob.spec.schedule }}"), .null)
        XCTAssertEqual(try eval("${{ cronjob['nope'] }}"), .null)
    }

    func testErrors() {
        XCTAssertEqual(error("${{ vars.list['a'] }}"), ExpressionError("a list is indexed by a number, not a string", offset: 13))
        XCTAssertEqual(error("${{ cronjob[0] }}"), ExpressionError("a mapping is indexed by a string, not a number", offset: 11))
        XCTAssertEqual(error("${{ vars.key[0] }}"), ExpressionError("cannot index a string with '['", offset: 12))
        XCTAssertEqual(error("${{ vars.list[0 }}"), ExpressionError("missing ']'", offset: 16))
        XCTAssertEqual(error("${{ vars.list[0]. }}"), ExpressionError("a name must follow '.'", offset: 18))
        XCTAssertEqual(error("${{ item.x }}"),
                       ExpressionError("unknown name 'item.x': expressions can read vars, steps, env and run", offset: 4))
    }

    func testReferencesKnowLocals() throws {
        let yaml = """
        a: ${{ cronjob.metadata.name }}
        b: ${{ steps.find.outputs.items[0].metadata.name }}
        c: ${{ other.x }}
        """
        let node = try XCTUnwrap(YAMLParser.parse(yaml, file: "f.yaml").first)
        let (refs, diags) = Expressions.references(in: node, file: "f.yaml", locals: ["cronjob"])
        XCTAssertEqual(refs.map(\.kind), [.local("cronjob", written: "cronjob.metadata.name"), .stepOutput(step: "find", key: "items")])
        XCTAssertEqual(diags.map(\.description), ["f.yaml:3:8: unknown name 'other.x': expressions can read vars, steps, env and run"])
    }

    /// Scanning stays linear: a long chain of accesses parses quickly, and one past the size cap
    /// of an expression (10,000 characters) is refused as quickly.
    func testLongChainIsLinear() throws {
        let chain = "${{ steps.none.outputs.x" + String(repeating: "[0].a", count: 1_900) + " }}"
        let started = Date()
        XCTAssertEqual(try eval(chain), .null)
        let huge = "${{ steps.none.outputs.x" + String(repeating: "[0].a", count: 20_000) + " }}"
        XCTAssertThrowsError(try eval(huge)) { XCTAssertTrue("\($0)".contains("longer than 10000 characters"), "\($0)") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }
}

import XCTest
@testable import RunbookKit

final class ExpressionTests: XCTestCase {
    let scope = Scope(
        vars: ["namespace": "seedtest", "flag": true, "off": false, "count": 3, "empty": nil, "obj": ["a": ["b": "deep"]]],
        outputs: ["read-db-url": ["value": "postgres://x", "found": true], "n": ["num": 7]],
        env: ["HOME": "/root"],
        runID: "rb-20260101T000000-abcd"
    )

    func eval(_ text: String) throws -> Value { try Expressions.evaluate(text, scope: scope) }

    func testSingleExpressionKeepsType() throws {
        XCTAssertEqual(try eval("${{ vars.flag }}"), .bool(true))
        XCTAssertEqual(try eval("${{vars.count}}"), .int(3))
        XCTAssertEqual(try eval("${{ vars.obj }}"), ["a": ["b": "deep"]])
        XCTAssertEqual(try eval("${{ vars.obj.a.b }}"), "deep")
        XCTAssertEqual(try eval("${{ steps.read-db-url.outputs.found }}"), .bool(true))
        XCTAssertEqual(try eval("${{ env.HOME }}"), "/root")
        XCTAssertEqual(try eval("${{ run.id }}"), "rb-20260101T000000-abcd")
        XCTAssertEqual(try eval("${{ 'it''s' }}"), "it's")
        XCTAssertEqual(try eval("${{ \"a\\\"b\" }}"), "a\"b")
        XCTAssertEqual(try eval("${{ -1.5 }}"), .double(-1.5))
        XCTAssertEqual(try eval("${{ null }}"), .null)
    }

    func testInterpolationMakesStrings() throws {
        XCTAssertEqual(try eval("ns=${{ vars.namespace }} n=${{ vars.count }} f=${{ vars.flag }}"), "ns=seedtest n=3 f=true")
        XCTAssertEqual(try eval(" ${{ vars.count }}"), " 3")
        XCTAssertEqual(try eval("${{ vars.count }}${{ vars.count }}"), "33")
        XCTAssertEqual(try eval("x${{ vars.empty }}y"), "xy")
        XCTAssertEqual(try eval("no expressions"), "no expressions")
        XCTAssertEqual(try eval("${{ '}}' }}"), "}}")
        // The way to write a literal `${{` in a value.
        XCTAssertEqual(try eval("echo ${{ '${{' }} x }}"), "echo ${{ x }}")
    }

    func testOperators() throws {
        XCTAssertEqual(try eval("${{ !vars.flag }}"), .bool(false))
        XCTAssertEqual(try eval("${{ !!vars.namespace }}"), .bool(true))
        XCTAssertEqual(try eval("${{ vars.namespace == 'seedtest' }}"), .bool(true))
        XCTAssertEqual(try eval("${{ vars.namespace != 'seedtest' }}"), .bool(false))
        XCTAssertEqual(try eval("${{ vars.count == '3' }}"), .bool(true))
        XCTAssertEqual(try eval("${{ vars.count == 3.0 }}"), .bool(true))
        XCTAssertEqual(try eval("${{ vars.flag == 'true' }}"), .bool(true))
        XCTAssertEqual(try eval("${{ vars.flag == 1 }}"), .bool(false))
        XCTAssertEqual(try eval("${{ vars.flag && vars.off }}"), .bool(false))
        XCTAssertEqual(try eval("${{ vars.off || vars.flag }}"), .bool(true))
        XCTAssertEqual(try eval("${{ vars.empty || 'fallback' }}"), "fallback")
        XCTAssertEqual(try eval("${{ !(vars.flag && vars.off) }}"), .bool(true))
        XCTAssertEqual(try eval("${{ vars.off || vars.flag && vars.off }}"), .bool(false))
        XCTAssertEqual(try eval("${{ !vars.off == true }}"), .bool(true))
    }

    func testMissingStepOutputIsNull() throws {
        XCTAssertEqual(try eval("${{ steps.skipped.outputs.found }}"), .null)
        XCTAssertFalse(try eval("${{ steps.skipped.outputs.found }}").isTruthy)
        XCTAssertEqual(try eval("${{ steps.n.outputs.none }}"), .null)
        XCTAssertEqual(try eval("${{ steps.n.outputs.num == 7 }}"), .bool(true))
    }

    func testErrorsPointAtTheirPlace() {
        func error(_ text: String) -> ExpressionError? {
            do { _ = try eval(text); return nil } catch { return error as? ExpressionError }
        }
        XCTAssertEqual(error("${{ vars.nope }}"), ExpressionError("undeclared var 'nope'", offset: 4))
        XCTAssertEqual(error("ab ${{ vars.flag = 1 }}"), ExpressionError("use '==' to compare ('=' alone is not an operator)", offset: 17))
        XCTAssertEqual(error("${{ vars.flag"), ExpressionError("'${{' is not closed with '}}'", offset: 0))
        XCTAssertEqual(error("${{ }}"), ExpressionError("empty expression", offset: 3))
        XCTAssertEqual(error("${{ (vars.flag }}"), ExpressionError("missing ')'", offset: 15))
        XCTAssertEqual(error("${{ vars.flag && }}"), ExpressionError("expression ends too early", offset: 17))
        XCTAssertEqual(error("${{ 'open }}"), ExpressionError("unterminated string", offset: 4))
        XCTAssertEqual(error("${{ steps.x.value }}"), ExpressionError("a step output is written steps.ID.outputs.KEY", offset: 4))
        XCTAssertEqual(error("${{ run.name }}"), ExpressionError("'run' has only 'run.id'", offset: 4))
        XCTAssertEqual(error("${{ secrets.X }}"),
                       ExpressionError("unknown name 'secrets.X': expressions can read vars, steps, env and run", offset: 4))
        XCTAssertEqual(error("${{ vars.a vars.b }}"), ExpressionError("unexpected 'vars.b'", offset: 11))
        XCTAssertEqual(error("${{ fromJSON('x') }}"), ExpressionError("unexpected '('", offset: 12))
        XCTAssertEqual(error("${{ 1 + 2 }}"), ExpressionError("unexpected character '+'", offset: 6))
    }

    func testATemplateParsedOnceEvaluatesAgainstEachScope() throws {
        // a foreach body evaluates the same text for every item: parsed once, evaluated each time
        let text = "${{ item.name }}-${{ vars.count }}"
        var results: [Value] = []
        for n in 0..<3 {
            var s = scope
            s.locals["item"] = ["name": .string("job-\(n)")]
            results.append(try Expressions.evaluate(text, scope: s))
        }
        XCTAssertEqual(results, ["job-0-3", "job-1-3", "job-2-3"])
        XCTAssertEqual(try ExpressionTemplateCache.shared.parts(of: text), try ExpressionParser.parseTemplate(text))
        // a text that does not parse fails every time, the same way
        for _ in 0..<2 {
            XCTAssertThrowsError(try eval("${{ vars.flag &&& }}")) { XCTAssertTrue($0 is ExpressionError) }
        }
        // a full cache starts over rather than growing
        let cache = ExpressionTemplateCache()
        for n in 0..<(ExpressionTemplateCache.capacity + 10) { _ = try cache.parts(of: "${{ vars.n\(n) }}") }
        XCTAssertLessThanOrEqual(cache.count, ExpressionTemplateCache.capacity)
    }

    func testNodeEvaluationTypesAndMarks() throws {
        let yaml = """
        flag: ${{ vars.flag }}
        text: "ns ${{ vars.namespace }}"
        plain: 5
        quoted: "5"
        list:
          - ${{ vars.count }}
          - x
        ${{ key }}: kept
        bad: "x ${{ vars.nope }}"
        """
        let node = try XCTUnwrap(YAMLParser.parse(yaml, file: "f.yaml").first)
        guard case .mapping(let pairs, let m) = node else { return XCTFail() }
        let good = YAMLNode.mapping(Array(pairs.dropLast()), m)
        XCTAssertEqual(try Expressions.evaluate(good, scope: scope, file: "f.yaml"),
                       ["flag": true, "text": "ns seedtest", "plain": 5, "quoted": "5", "list": [3, "x"], "${{ key }}": "kept"])
        XCTAssertThrowsError(try Expressions.evaluate(node, scope: scope, file: "f.yaml")) { error in
            XCTAssertEqual((error as? LocalizedError)?.errorDescription, "f.yaml:9:13: undeclared var 'nope'")
        }
    }

    func testReferences() throws {
        let yaml = """
        a: ${{ vars.x && steps.read-db-url.outputs.value }}
        b:
          - "${{ env.HOME }}-${{ run.id }}"
        c: ${{ nope.x }}
        d: ${{ vars.x == }}
        e: |
          first line
          ${{ steps.y.outputs.z }}
        """
        let node = try XCTUnwrap(YAMLParser.parse(yaml, file: "f.yaml").first)
        let (refs, diags) = Expressions.references(in: node, file: "f.yaml")
        XCTAssertEqual(refs, [
            ExpressionReference(kind: .variable("x"), mark: Mark(line: 1, column: 8)),
            ExpressionReference(kind: .stepOutput(step: "read-db-url", key: "value"), mark: Mark(line: 1, column: 18)),
            ExpressionReference(kind: .env("HOME"), mark: Mark(line: 3, column: 10)),
            ExpressionReference(kind: .runID, mark: Mark(line: 3, column: 26)),
            ExpressionReference(kind: .stepOutput(step: "y", key: "z"), mark: Mark(line: 6, column: 4)),
        ])
        XCTAssertEqual(diags.map(\.description), [
            "f.yaml:4:8: unknown name 'nope.x': expressions can read vars, steps, env and run",
            "f.yaml:5:18: invalid expression: expression ends too early",
        ])
    }
}

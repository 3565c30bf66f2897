import XCTest
@testable import RunbookKit

/// List templates (`- $foreach: …`): expansion, nesting, filtering, indexes, and their errors
/// with positions, both at run time and when a runbook is validated.
final class ListTemplateTests: XCTestCase {
    let scope: Scope = {
        var s = Scope(vars: ["prefix": "x"])
        s.locals["pod"] = ["containers": [
            ["name": "init", "env": [["name": "A", "valueFrom": ["secretKeyRef": ["name": "s1", "key": "a"]]], ["name": "MODE", "value": "n"]]],
            ["name": "main", "env": [["name": "B", "valueFrom": ["secretKeyRef": ["name": "s2", "key": "b"]]]]],
            ["name": "bare"],
        ]]
        return s
    }()

    func node(_ yaml: String) throws -> YAMLNode { try XCTUnwrap(YAMLParser.parse(yaml, file: "t.yaml").first) }
    func eval(_ yaml: String) throws -> Value { try Expressions.evaluate(try node(yaml), scope: scope, file: "t.yaml") }

    func diagnostics(_ yaml: String) throws -> [String] {
        let (_, diags) = Expressions.references(in: try node(yaml), file: "t.yaml", locals: ["pod"])
        return diags.map { "\($0.mark.line):\($0.mark.column): \($0.message)" }
    }

    func testNestedTemplatesFilterFlattenAndIndex() throws {
        let v = try eval("""
            - first
            - $foreach: "${{ pod.containers }}"
              $as: c
              $index: ci
              $do:
                - $foreach: "${{ c.env }}"
                  $as: e
                  $index: ei
                  $when: "${{ e.valueFrom.secretKeyRef }}"
                  $do:
                    - { path: "/containers/${{ ci }}/env/${{ ei }}", ref: "${{ e.valueFrom.secretKeyRef }}", tag: "${{ vars.prefix }}-${{ c.name }}" }
            - last
            """)
        XCTAssertEqual(v, [
            "first",
            ["path": "/containers/0/env/0", "ref": ["name": "s1", "key": "a"], "tag": "x-init"],
            ["path": "/containers/1/env/0", "ref": ["name": "s2", "key": "b"], "tag": "x-main"],
            "last",
        ])
    }

    func testEachElementMayAddSeveralOrNone() throws {
        XCTAssertEqual(try eval("""
            - $foreach: "${{ pod.containers }}"
              $as: c
              $do: ["${{ c.name }}", "${{ c.name }}!"]
            """), ["init", "init!", "main", "main!", "bare", "bare!"])
        XCTAssertEqual(try eval("""
            - $foreach: "${{ pod.missing }}"
              $as: c
              $do: ["${{ c }}"]
            """), [], "a null list gives nothing")
        XCTAssertEqual(try eval("""
            - $foreach: [1, 2, 3]
              $as: n
              $when: "${{ n != 2 }}"
              $do: ["${{ n }}"]
            """), [1, 3], "a literal list works as well")
    }

    func testRunTimeErrorsArePositioned() throws {
        XCTAssertThrowsError(try eval("""
            - $foreach: "${{ pod }}"
              $as: c
              $do: [x]
            """)) { error in
            XCTAssertTrue("\(error)".contains("t.yaml:1:13: $foreach must give a list, not a mapping"), "\(error)")
        }
        XCTAssertThrowsError(try eval("""
            steps:
              $foreach: [1]
              $as: n
              $do: [x]
            """)) { error in
            XCTAssertTrue("\(error)".contains("t.yaml:2:3: a list template ($foreach) must be an element of a list"), "\(error)")
        }
    }

    func testValidationNamesEveryMistake() throws {
        XCTAssertEqual(try diagnostics("""
            - $foreach: "${{ pod.containers }}"
              $as: 1c
              $each: [x]
            - $foreach: [1]
              $as: n
              $do: x
            - $foreach: [1]
              $as: n
              $do: ["${{ n }}", "${{ m }}", "${{ pod }}"]
            """), [
            "3:3: unknown key '$each' in a list template; it takes $foreach, $as, $index, $when, $do",
            "2:8: $as must be a name matching ^[A-Za-z_][A-Za-z0-9_]*$ that expressions do not already use",
            "1:3: a list template needs $do: the elements added for each element",
            "6:8: $do must be a list: the elements added for each element",
            "9:26: unknown name 'm': expressions can read vars, steps, env and run",
        ])
        XCTAssertEqual(try diagnostics("""
            - "${{ c }}"
            - $foreach: [1]
              $as: c
              $do: ["${{ c }}"]
            """), ["1:8: unknown name 'c': expressions can read vars, steps, env and run"], "a name is bound inside $do only")
    }
}

/// Limits and the pieces the fan-out runbook relies on: a passed canary survives the state
/// file, and `k8s.secret.read` takes `names`.
final class FanoutFormatTests: XCTestCase {
    func testTemplatesStopAtTheirElementLimit() throws {
        var scope = Scope()
        scope.locals["big"] = .array(Array(repeating: .int(0), count: 400))
        let node = try XCTUnwrap(YAMLParser.parse("""
            - $foreach: "${{ big }}"
              $as: a
              $do:
                - $foreach: "${{ big }}"
                  $as: b
                  $do: [1]
            """, file: "t.yaml").first)
        XCTAssertThrowsError(try Expressions.evaluate(node, scope: scope, file: "t.yaml")) { error in
            XCTAssertTrue("\(error)".contains("list templates give more than 100000 elements"), "\(error)")
        }
    }

    func testCanaryPassedIsKeptInTheStepRecord() throws {
        var rec = StepRecord(id: "migrate", action: "foreach")
        rec.canaryPassed = true
        rec.items = []
        let back = try StepRecord(value: rec.toValue(), file: "state.json")
        XCTAssertTrue(back.canaryPassed)
        XCTAssertEqual(rec.headerValue()["canary_passed"], .bool(true), "the journal's group header carries it")
        XCTAssertFalse(try StepRecord(value: StepRecord(id: "x", action: "foreach").toValue(), file: "s").canaryPassed)
    }

    func testSecretReadTakesNamesButNotWithAKey() throws {
        func check(_ yaml: String) throws -> [String] {
            var d: [Diagnostic] = []
            K8sSecretRead.validate(try XCTUnwrap(YAMLParser.parse(yaml, file: "t.yaml").first), file: "t.yaml", into: &d)
            return d.map(\.message)
        }
        XCTAssertEqual(try check("{ names: [a, b], namespace: n }"), [])
        XCTAssertEqual(try check("{ names: [a], key: k }"), ["k8s.secret.read: key goes with name, not with names"])
        XCTAssertEqual(try check("{ names: [a], name: b }"), ["k8s.secret.read needs exactly one of name, names or labelSelector"])
        XCTAssertEqual(try check("{ names: { a: b } }"), ["k8s.secret.read: names must be a list of Secret names"])
    }
}

import Foundation
import XCTest
@testable import RunbookKit

/// Actions known only to these tests, so validation of `with:` can be checked without the
/// real actions of other areas.
private struct TestRead: Action {
    static let spec = ActionSpec(name: "test.read", required: ["name"], optional: ["optional"], secretOutputs: ["value"],
                                 mutating: false, dryRun: .execute)
    func preview(_ context: ActionContext) async throws -> Preview { throw ActionError.failed("validation-only test action") }
    func execute(_ context: ActionContext) async throws -> ActionResult { throw ActionError.failed("validation-only test action") }
}

private struct TestWrite: Action {
    static let spec = ActionSpec(name: "test.write", required: ["target", "value"], optional: ["note"], mutating: true, dryRun: .preview)
    /// An action-specific rule: a literal target must be relative.
    static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if let t = with["target"], let s = t.scalarText, s.hasPrefix("/") {
            diagnostics.append(Diagnostic(file: file, mark: t.mark, message: "target must be a relative path"))
        }
    }
    func preview(_ context: ActionContext) async throws -> Preview { throw ActionError.failed("validation-only test action") }
    func execute(_ context: ActionContext) async throws -> ActionResult { throw ActionError.failed("validation-only test action") }
}

final class ValidatorTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let validator = RunbookValidator(actions: [TestRead.self, TestWrite.self])

    /// A fixture addressed relative to the package root, so diagnostics read `fixtures/runbooks/…`.
    func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: "fixtures/runbooks/\(name)", relativeTo: Self.root)
    }

    func diagnostics(_ name: String, validator: RunbookValidator? = nil) -> [String] {
        do {
            _ = try RunbookLoader.load(fixture(name), validator: validator ?? self.validator)
            XCTFail("\(name) validated")
            return []
        } catch RunbookError.invalid(let d) {
            return d.map(\.description)
        } catch {
            XCTFail("\(error)")
            return []
        }
    }

    func testValidRunbookBuildsTheModel() throws {
        let rb = try RunbookLoader.load(fixture("valid-runbook.yaml"), validator: validator)
        XCTAssertEqual(rb.name, "valid-runbook")
        XCTAssertEqual(rb.description, "Copies a value from one place to another")
        XCTAssertEqual(rb.onFailure, .pause)
        XCTAssertEqual(rb.vars.map(\.name), ["namespace", "replicas", "dry", "port", "admin_password"])
        XCTAssertEqual(rb.vars.map(\.kind), [.string, .int, .bool, .int, .string])
        XCTAssertEqual(rb.vars.map(\.defaultValue), ["seedtest", 2, true, nil, nil])
        XCTAssertEqual(rb.vars[4].required, true)
        XCTAssertEqual(rb.vars[4].secret, true)
        XCTAssertEqual(rb.vars[4].mark, Mark(line: 12, column: 3))
        XCTAssertEqual(rb.steps.map(\.id), ["read-value", "write-value", "2nd-read"])
        XCTAssertEqual(rb.steps.map(\.action), ["test.read", "test.write", "test.read"])
        let write = rb.steps[1]
        XCTAssertEqual(write.timeout, 120)
        XCTAssertEqual(write.retry?.attempts, 3)
        XCTAssertEqual(write.retry?.backoff, 2)
        XCTAssertEqual(write.onFailure, .continue)
        XCTAssertEqual(write.mark, Mark(line: 19, column: 5))
        XCTAssertNotNil(write.when)
        guard case .steps(let undo) = write.rollback else { return XCTFail("no rollback list") }
        XCTAssertEqual(undo.map(\.id), ["write-value.rollback.1", "undo-check"])
        if case .none = rb.steps[2].rollback {} else { XCTFail("rollback: none not read") }
        if case .auto = rb.steps[0].rollback {} else { XCTFail("rollback should default to auto") }
        let data = try Data(contentsOf: fixture("valid-runbook.yaml"))
        XCTAssertEqual(rb.sha256, SHA256.hex(data))
        XCTAssertEqual(rb.sha256.count, 64)
    }

    func testMalformedRunbookReportsEveryError() {
        let f = "fixtures/runbooks/malformed-runbook.yaml"
        XCTAssertEqual(diagnostics("malformed-runbook.yaml"), [
            "1:13: apiVersion must be runbook/v1, not 'runbook/v2'",
            "2:7: kind must be Runbook, not 'Runbok'",
            "4:9: metadata.name 'something-else' must equal the file's base name 'malformed-runbook'",
            "5:3: unknown key 'owner' in metadata; allowed: name, description",
            "7:35: unknown key 'typo' in var 'namespace'; allowed: default, description, type, required, secret",
            "8:20: default of var 'flag' must be a bool (type: bool), not the string 'yes'",
            "9:18: type of var 'count' must be string, bool or int, not 'integer'",
            "10:3: var name '9lives' must match ^[A-Za-z_][A-Za-z0-9_]*$",
            "11:38: var 'needed' is required and has a default; keep one of them",
            "12:13: on_failure must be rollback or pause, not 'continue'",
            "13:1: unknown key 'colour' at the top level; allowed: apiVersion, kind, metadata, vars, on_failure, steps",
            "17:24: undeclared var 'nope'",
            "17:39: unknown key 'extra' in with of test.read; allowed: name, optional",
            "18:9: duplicate step id 'first' (first used at line 15)",
            "20:25: step 'later' does not come before step 'first'",
            "20:60: target must be a relative path",
            "21:9: step id 'Bad_ID' must match ^[a-z0-9][a-z0-9-]*$",
            "22:13: unknown action 'nope.action'; known actions: test.read, test.write",
            "24:16: step 'ghost' does not exist",
            "25:5: step has no id",
            "27:14: timeout must be a duration like 30s, 2m or 1h, not 'soon'",
            "28:24: retry.attempts must be an integer of at least 1",
            "28:36: retry.backoff must be a duration like 30s, 2m or 1h, not 'never'",
            "28:43: unknown key 'jitter' in retry; allowed: attempts, backoff",
            "29:17: on_failure must be rollback, pause or continue, not 'explode'",
            "30:15: rollback must be auto, none or a list of steps",
            "35:19: step 'later' cannot read its own outputs",
            "35:51: unknown name 'secrets.token': expressions can read vars, steps, env and run",
            "37:13: duplicate step id 'first' (first used at line 15)",
            "39:15: action test.write needs with.target",
            "40:9: unknown key 'on_failure' in a rollback step; allowed: id, name, action, with, when, timeout, retry",
            "43:28: invalid expression: expression ends too early",
            "44:35: invalid expression: unexpected character '+'",
            "45:5: unknown key 'stage' in step 'last'; allowed: id, name, action, with, when, timeout, retry, on_failure, rollback",
        ].map { "\(f):\($0)" })
    }

    func testUnknownActionWithEmptyRegistry() {
        let empty = RunbookValidator(actions: [])
        let d = diagnostics("valid-runbook.yaml", validator: empty)
        let f = "fixtures/runbooks/valid-runbook.yaml"
        XCTAssertEqual(d, [
            "\(f):17:13: unknown action 'test.read'",
            "\(f):20:13: unknown action 'test.write'",
            "\(f):30:17: unknown action 'test.write'",
            "\(f):33:17: unknown action 'test.read'",
            "\(f):36:13: unknown action 'test.read'",
        ])
    }

    func testUnknownActionSuggestsTheClosestName() {
        let head = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: { name: x }\nsteps:\n"
        XCTAssertEqual(inline(head + "  - { id: a, action: test.raed, with: { name: n } }\n  - { id: b, action: k8s.apply }\n"), [
            "x.yaml:5:22: unknown action 'test.raed'; did you mean 'test.read'?",
            "x.yaml:6:22: unknown action 'k8s.apply'; known actions: test.read, test.write",
        ])
        XCTAssertEqual(ValidationPass.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(ValidationPass.editDistance("", "abc"), 3)
        XCTAssertEqual(ValidationPass.editDistance("abc", ""), 3)
        XCTAssertEqual(ValidationPass.editDistance("exec", "exec"), 0)
    }

    func testNotAMapping() {
        XCTAssertEqual(diagnostics("wrong-kinds.yaml"), ["fixtures/runbooks/wrong-kinds.yaml:1:1: a runbook must be a mapping"])
    }

    func testSyntaxErrorIsADiagnostic() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("broken.yaml")
        try "apiVersion: runbook/v1\nkind: Runbook\nmetadata: { name: broken\nsteps: []\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunbookLoader.load(file, validator: validator)) { error in
            guard case RunbookError.invalid(let d) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(d.count, 1)
            XCTAssertTrue(d[0].description.hasPrefix("\(file.path):4:"), d[0].description)
            XCTAssertTrue(d[0].message.contains("YAML syntax error"), d[0].message)
        }
        try "".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunbookLoader.load(file, validator: validator)) { error in
            XCTAssertEqual((error as? LocalizedError)?.errorDescription,
                           "\(file.path):1:1: the file is empty; a runbook starts with apiVersion: runbook/v1")
        }
    }

    func testResolveAndDiscover() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rb-\(getpid())-\(UUID().uuidString)")
        let local = dir.appendingPathComponent("runbooks")
        let extra = dir.appendingPathComponent("extra")
        for d in [local, extra] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: dir) }
        try "metadata: { name: a, description: local a }\n".write(to: local.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try "metadata: { name: a, description: shadowed }\n".write(to: extra.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try "metadata: { name: b }\n".write(to: extra.appendingPathComponent("b.yml"), atomically: true, encoding: .utf8)
        try "not: [valid\n".write(to: extra.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        let env = ["RUNBOOK_PATH": "/nonexistent:\(extra.path)"]

        XCTAssertEqual(try RunbookLoader.resolve("a", cwd: dir, environment: env).standardizedFileURL.path,
                       local.appendingPathComponent("a.yaml").standardizedFileURL.path)
        XCTAssertEqual(try RunbookLoader.resolve("b", cwd: dir, environment: env).path, extra.appendingPathComponent("b.yml").path)
        XCTAssertEqual(try RunbookLoader.resolve("extra/b.yml", cwd: dir, environment: [:]).relativePath, "extra/b.yml")
        XCTAssertThrowsError(try RunbookLoader.resolve("missing", cwd: dir, environment: env)) { error in
            guard case RunbookError.notFound(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("no runbook named 'missing'"), m)
        }
        XCTAssertThrowsError(try RunbookLoader.resolve("nope/x.yaml", cwd: dir, environment: env)) { error in
            guard case RunbookError.notFound = error else { return XCTFail("\(error)") }
        }
        let found = RunbookLoader.discover(cwd: dir, environment: env)
        XCTAssertEqual(found.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(found.map(\.description), ["local a", nil, nil])
        XCTAssertEqual(found[0].file.standardizedFileURL.path, local.appendingPathComponent("a.yaml").standardizedFileURL.path)
    }

    /// Validates inline text (for small cases; the big ones are fixture files).
    func inline(_ text: String) -> [String] {
        do {
            let docs = try YAMLParser.parse(text, file: "x.yaml")
            _ = try validator.validate(docs, file: URL(fileURLWithPath: "/tmp/x.yaml"), displayPath: "x.yaml", sha256: "")
            return []
        } catch RunbookError.invalid(let d) {
            return d.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    func testReferenceRulesAndMissingWith() {
        let head = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: { name: x }\nvars: { v: {} }\nsteps:\n"
        XCTAssertEqual(inline(head + """
          - id: a
            action: test.read
            when: ${{ steps.a.outputs.found || vars.w }}
          - id: b
            action: test.write
            rollback:
              - id: b-undo
                action: test.read
                with: { name: "${{ steps.b.outputs.x }}${{ steps.a.outputs.y }}" }
              - action: test.write
                with: { target: t, value: "${{ steps.b-undo.outputs.value }}${{ steps.c.outputs.z }}" }
          - id: c
            action: test.read
            with: { name: "${{ steps.b-undo.outputs.value }}" }
        """), [
            "x.yaml:6:5: action test.read needs with.name",
            "x.yaml:8:15: step 'a' cannot read its own outputs",
            "x.yaml:8:40: undeclared var 'w'",
            "x.yaml:9:5: action test.write needs with.target",
            "x.yaml:9:5: action test.write needs with.value",
            "x.yaml:16:73: step 'c' does not come before step 'b.rollback.2'",
            "x.yaml:19:24: step 'b-undo' does not exist",
        ])
        XCTAssertEqual(inline(head + "  - id: ok\n    action: test.read\n    with: { name: n }\n    when: ${{ vars.v }}\n"), [])
        XCTAssertEqual(inline(head + """
          - id: a
            action: test.read
            with: { name: n }
            rollback:
              - action: test.read
                when: ${{ steps.a.outputs.found && steps.later.outputs.x }}
                with: { name: n }
          - { id: later, action: test.read, with: { name: n } }
        """), ["x.yaml:11:44: step 'later' does not come before step 'a.rollback.1'"])
        XCTAssertEqual(inline(head + "  - id: empty-with\n    action: test.read\n    with:\n"), ["x.yaml:8:10: action test.read needs with.name"])
    }

    func testVarDefaultsAndTypes() {
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: { name: x }
        vars:
          s: { type: string, default: 5432 }
          i: { type: int, default: "5" }
          f: { default: 1.5 }
          r: { required: maybe }
          ok1: { type: string, default: "5432" }
          ok2:
        steps:
          - { id: a, action: test.read, with: { name: n }, timeout: 0 }
        """
        XCTAssertEqual(inline(text), [
            "x.yaml:5:31: default of var 's' must be a string (type: string), not the int 5432",
            "x.yaml:6:28: default of var 'i' must be an int (type: int), not the string '5'",
            "x.yaml:7:17: default of var 'f' must be a string, bool or int, not the number 1.5",
            "x.yaml:8:18: required of var 'r' must be true or false",
            "x.yaml:12:61: timeout must be a duration like 30s, 2m or 1h, not '0'",
        ])
    }

    func testDocumentShapeErrors() {
        XCTAssertEqual(inline("kind: Runbook\n---\nmore: 1\n"), [
            "x.yaml:1:1: missing required key 'apiVersion'",
            "x.yaml:1:1: missing required key 'metadata'",
            "x.yaml:1:1: missing required key 'steps'",
            "x.yaml:3:1: a runbook file holds one YAML document, this one has 2",
        ])
        XCTAssertEqual(inline("apiVersion: runbook/v1\nkind: Runbook\nmetadata: { name: x, name: y }\nsteps: {}\n"), [
            "x.yaml:3:22: duplicate key 'name' in metadata",
            "x.yaml:4:8: steps must be a list of steps",
        ])
        let named = URL(fileURLWithPath: "/tmp/my runbook.yaml")
        XCTAssertThrowsError(try validator.validate(YAMLParser.parse("apiVersion: runbook/v1\nkind: Runbook\nmetadata: { name: my runbook }\nsteps: [{ id: a, action: test.read, with: { name: n } }]\n", file: "f"), file: named, displayPath: "f", sha256: "")) { error in
            XCTAssertEqual((error as? LocalizedError)?.errorDescription, "f:3:19: metadata.name 'my runbook' must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ (rename the file too)")
        }
    }

}

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
            "40:9: unknown key 'when' in a rollback step; allowed: id, name, action, with, timeout, retry",
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
}

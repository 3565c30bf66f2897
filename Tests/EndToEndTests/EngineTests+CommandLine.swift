import Foundation
import RunbookKit
import TestSupport
import XCTest

/// SPEC §1 and §5 at the edges of the command line: JSON errors, plan and its flags, cluster
/// flags checked before anything is recorded, "did you mean", --version.
extension EngineTests {
    /// The single JSON error object a failing command printed on stdout.
    func jsonError(_ r: RunbookCLI.Result, file: StaticString = #filePath, line: UInt = #line) throws -> Value {
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "stdout: \(r.stdout)", file: file, line: line)
        let v = try Value.parseJSON(String(try XCTUnwrap(lines.last, file: file, line: line)))
        XCTAssertEqual(v["event"], "error", file: file, line: line)
        XCTAssertEqual(v["code"]?.intValue, Int(r.exitCode), file: file, line: line)
        XCTAssertFalse(r.stderr.isEmpty, "the text goes to stderr too", file: file, line: line)
        return v
    }

    func testEveryErrorIsOneJSONObjectWithOutputJSON() throws {
        let usage = try runbook(["run", "--bogus", "--output", "json", "x"])
        XCTAssertEqual(usage.exitCode, 2)
        XCTAssertTrue(try jsonError(usage)["message"]?.stringValue?.contains("--bogus") ?? false)

        let broken = try fixture("broken")
        let invalid = try runbook(["run", broken, "--yes", "--output", "json"])
        XCTAssertEqual(invalid.exitCode, 2)
        let problems = try jsonError(invalid)["problems"]?.arrayValue ?? []
        XCTAssertEqual(problems.count, 6, "\(problems)")
        XCTAssertEqual(problems.first?["file"]?.stringValue, broken)
        XCTAssertEqual(problems.first?["line"], 5)
        XCTAssertEqual(problems.first?["column"], 1)
        XCTAssertNotNil(problems.first?["message"]?.stringValue)
        let validated = try runbook(["validate", broken, try fixture("exec-steps"), "--output", "json"])
        XCTAssertEqual(validated.exitCode, 2)
        let events = try RunbookCLI.Result.jsonLines(validated.stdout)
        XCTAssertEqual(events.map { $0["event"] }, ["error", "validated"])
        XCTAssertEqual(events.last?["steps"], 3)

        // Lock held and unfinished run: exit 4, each one JSON object.
        let slow = try fixture("gated-step")
        let p = try RunbookCLI.start(["run", slow, "--yes"], env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir)
        _ = gatedChild()
        let locked = try runbook(["run", slow, "--yes", "--output", "json"])
        XCTAssertEqual(locked.exitCode, 4, locked.output)
        XCTAssertTrue(try jsonError(locked)["message"]?.stringValue?.contains("holds the lock") ?? false)
        p.kill9()
        XCTAssertTrue(p.wait(timeout: 10))
        let unfinished = try runbook(["run", slow, "--yes", "--output", "json"])
        XCTAssertEqual(unfinished.exitCode, 4, unfinished.output)
        XCTAssertTrue(try jsonError(unfinished)["message"]?.stringValue?.contains("runbook forget") ?? false)
    }

    func testListAndValidateTalkJSONAndDirectoriesAndTyposAreExplained() throws {
        let runbooks = dir.appendingPathComponent("runbooks")
        try FileManager.default.createDirectory(at: runbooks, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("exec-steps.yaml"),
                                         to: runbooks.appendingPathComponent("exec-steps.yaml"))
        try "apiVersion: runbook/v1\nkind: Runbook\nsteps: [\n".write(to: runbooks.appendingPathComponent("zz-broken.yaml"),
                                                                   atomically: true, encoding: .utf8)
        let list = try runbook(["list", "--output", "json"])
        XCTAssertEqual(list.exitCode, 0, list.output)
        let listed = try Value.parseJSON(list.stdout)["runbooks"]
        XCTAssertEqual(listed?[0]?["name"], "exec-steps")
        XCTAssertEqual(listed?[0]?["valid"], true)
        XCTAssertEqual(listed?[1]?["name"], "zz-broken")
        XCTAssertEqual(listed?[1]?["valid"], false, "a file that does not load is listed as invalid")
        XCTAssertTrue(try runbook(["list"]).stdout.contains("INVALID: see runbook validate"))
        try FileManager.default.removeItem(at: runbooks.appendingPathComponent("zz-broken.yaml"))

        let directory = try runbook(["validate", runbooks.path + "/"])
        XCTAssertEqual(directory.exitCode, 2)
        XCTAssertTrue(directory.stderr.contains("is a directory"), directory.stderr)
        let typo = try runbook(["plan", "exec-stesp"])
        XCTAssertEqual(typo.exitCode, 2)
        XCTAssertTrue(typo.stderr.contains("did you mean 'exec-steps'?"), typo.stderr)
        let command = try runbook(["rnu", "exec-steps"])
        XCTAssertEqual(command.exitCode, 2)
        XCTAssertTrue(command.stderr.contains("did you mean 'run'?"), command.stderr)
        let undeclared = dir.appendingPathComponent("typo-var.yaml")
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: typo-var}
        vars: {label: {default: x}}
        steps:
          - id: one
            action: assert
            with: {that: "${{ vars.lable }}"}
        """.write(to: undeclared, atomically: true, encoding: .utf8)
        let v = try runbook(["validate", undeclared.path])
        XCTAssertTrue(v.stderr.contains("undeclared var 'lable'; did you mean 'label'?"), v.stderr)
        let unknownVar = try runbook(["plan", "exec-steps", "--var", "lable=y"])
        XCTAssertEqual(unknownVar.exitCode, 2)
        let version = try runbook(["--version"])
        XCTAssertEqual(version.exitCode, 0)
        XCTAssertTrue(version.stdout.hasPrefix("runbook "), version.stdout)
    }

    /// Flag values refused after parsing are usage errors (exit 2) like parse errors, a flag that
    /// would do nothing is refused or not offered, and a bad environment value is not silently
    /// replaced by the default; nothing is recorded.
    func testRefusedFlagValuesAreUsageErrorsAndRecordNothing() throws {
        let file = try fixture("exec-steps")
        let keep = try runbook(["history", "--keep", "3", "--output", "json"])
        XCTAssertEqual(keep.exitCode, 2, keep.output)
        XCTAssertTrue(try jsonError(keep)["message"]?.stringValue?.contains("--keep only applies with --prune") ?? false, keep.output)
        let negative = try runbook(["history", "--prune", "--keep", "-1"])
        XCTAssertEqual(negative.exitCode, 2, negative.output)
        XCTAssertTrue(negative.stderr.contains("--keep must be 0 or more"), negative.output)
        let retriesNegative = try runbook(["run", file, "--yes", "--retries", "-1"])
        XCTAssertEqual(retriesNegative.exitCode, 2, retriesNegative.output)
        XCTAssertTrue(retriesNegative.stderr.contains("--retries must be 0 or more, not -1"), retriesNegative.output)
        let account = try runbook(["rbac", file, "--service-account", "nameonly"])
        XCTAssertEqual(account.exitCode, 2, account.output)
        XCTAssertTrue(account.stderr.contains("--service-account must be NAMESPACE/NAME"), account.stderr)
        for command in ["rbac", "job"] {
            let help = try runbook([command, "--help"])
            XCTAssertFalse(help.stdout.contains("--state-dir"), "\(command) --help offers --state-dir, which it never uses")
        }
        let zero = try runbook(["run", file, "--yes", "--request-timeout", "0s"])
        XCTAssertEqual(zero.exitCode, 2, zero.output)
        XCTAssertTrue(zero.stderr.contains("--request-timeout must be longer than 0s"), zero.stderr)
        let retries = try RunbookCLI.run(["run", file, "--yes"], env: ["RUNBOOK_STATE_DIR": stateDir.path, "RUNBOOK_RETRIES": "many"], cwd: dir)
        XCTAssertEqual(retries.exitCode, 2, retries.output)
        XCTAssertTrue(retries.stderr.contains("RUNBOOK_RETRIES 'many' is not a whole number"), retries.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDir.path), "something was recorded")
        XCTAssertEqual(evidence, [])
    }

    func testPlanHasNoRunIDAndOnlyItsFlagsAndBadClusterFlagsRecordNothing() throws {
        let file = try fixture("exec-steps")
        let plan = try runbook(["plan", file, "--output", "json"])
        XCTAssertEqual(plan.exitCode, 0, plan.output)
        XCTAssertFalse(plan.stdout.contains("run_id"), plan.stdout)
        let help = try runbook(["plan", "--help"])
        for meaningless in ["--yes", "--dry-run", "--no-rollback", "--state-dir"] {
            XCTAssertFalse(help.stdout.contains(meaningless), "plan --help offers \(meaningless):\n\(help.stdout)")
        }
        // A --context the kubeconfig does not have, a missing --kubeconfig, a KUBECONFIG naming a
        // missing file: usage errors (exit 2) before anything is recorded.
        let kubeconfig = dir.appendingPathComponent("kubeconfig")
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: real, context: {cluster: c, user: u}}]
        current-context: real
        """.write(to: kubeconfig, atomically: true, encoding: .utf8)
        let context = try runbook(["run", file, "--yes", "--kubeconfig", kubeconfig.path, "--context", "nope"])
        XCTAssertEqual(context.exitCode, 2, context.output)
        XCTAssertTrue(context.stderr.contains("context \"nope\" not found"), context.stderr)
        let missing = try runbook(["run", file, "--yes", "--kubeconfig", dir.appendingPathComponent("nope").path])
        XCTAssertEqual(missing.exitCode, 2, missing.output)
        let k8s = dir.appendingPathComponent("reads.yaml")
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: reads}
        steps:
          - id: get
            action: k8s.get
            with: {apiVersion: v1, kind: ConfigMap, namespace: default, name: x}
        """.write(to: k8s, atomically: true, encoding: .utf8)
        let env = try RunbookCLI.run(["run", k8s.path, "--yes"], env: ["RUNBOOK_STATE_DIR": stateDir.path,
                                                                        "KUBECONFIG": dir.appendingPathComponent("gone").path], cwd: dir)
        XCTAssertEqual(env.exitCode, 2, env.output)
        XCTAssertTrue(env.stderr.contains("KUBECONFIG names \(dir.appendingPathComponent("gone").path), which does not exist"), env.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDir.path), "something was recorded")
        XCTAssertEqual(evidence, [])
    }
}

extension EngineTests {
    func testHostileRunbooksAreRefusedWithAPositionInMilliseconds() throws {
        var laughs = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: laughs}\nvars:\n"
        laughs += "  l0: {default: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]}\n"
        for i in 1..<10 { laughs += "  l\(i): {default: &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ",") + "]}\n" }
        laughs += "steps:\n  - id: one\n    action: assert\n    with: {that: \"${{ vars.l0 }}\"}\n"
        let head = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: deep}\nsteps:\n  - id: one\n    action: assert\n    with: {that: "
        let cases = [("laughs", laughs, "billion laughs"),
                     ("deep", head + String(repeating: "[", count: 28_000) + String(repeating: "]", count: 28_000) + "}\n",
                      "nested deeper than 128 levels"),
                     ("parens", head + "\"${{ " + String(repeating: "(", count: 2_000) + "true" + String(repeating: ")", count: 2_000)
                        + " }}\"}\n", "nested deeper than 100 levels")]
        for (name, text, message) in cases {
            let file = dir.appendingPathComponent("\(name).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let started = Date()
            let r = try runbook(["validate", file.path])
            XCTAssertEqual(r.exitCode, 2, "\(name): \(r.output)")
            XCTAssertLessThan(Date().timeIntervalSince(started), 5, name)
            XCTAssertTrue(r.stderr.contains("\(file.path):") && r.stderr.contains(message), "\(name): \(r.stderr)")
        }
    }
}

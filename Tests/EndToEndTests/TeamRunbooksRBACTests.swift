import Foundation
import RunbookKit
import TestSupport
import XCTest

/// Every runbook in `runbooks/` (found by listing the directory, so new ones are covered): a
/// ServiceAccount bound to exactly what `runbook rbac` prints passes the preflight of `plan` in
/// in-cluster mode, and without any one of the printed rules the preflight refuses (exit 3) naming
/// the permission that rule granted. The sandbox carries the fixtures the runbooks are written for.
final class TeamRunbooksRBACTests: SandboxTestCase {
    /// Fixtures whose kinds and objects the runbooks in runbooks/ expect (one sandbox for all).
    override class var fixtures: [String] { ["calibrate-irt", "observer-postgres", "eso-aws", "r-analytics"] }

    func kubectl(_ a: [String], stdin: String? = nil) throws -> String {
        try sb.kubectlSucceeding(a, stdin: stdin)
    }

    func testEveryRunbookGetsExactlyTheRightsItsPreflightAsksFor() throws {
        let dir = Sandbox.repoRoot.appendingPathComponent("runbooks")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertFalse(names.isEmpty)
        let work = try ScratchDirectory.make("rbac-all")
        defer { ScratchDirectory.remove(work) }
        for file in names {
            let runbook = try RunbookLoader.load(dir.appendingPathComponent(file))
            // vars without a default get a stand-in value (a path, which every string var accepts)
            let vars = runbook.vars.filter { $0.defaultValue == nil }.flatMap { ["--var", "\($0.name)=\(work.path)"] }
            // exactly the rbac output, applied; the token of its ServiceAccount is the run's only credential
            let identity = try sb.leastPrivilege(runbook: dir.appendingPathComponent(file).path, vars: vars, work: work)
            let objects = identity.objects
            let env = identity.env
            func plan() throws -> RunbookCLI.Result {
                try RunbookCLI.run(["plan", dir.appendingPathComponent(file).path] + vars, env: env, cwd: work)
            }
            let full = try plan()
            XCTAssertNotEqual(full.exitCode, 3, "\(file): the preflight refused the rbac output: \(full.output)")
            XCTAssertFalse(full.stderr.contains(" lacks "), "\(file): \(full.output)")
            // every step's permissions are known before the run (none left out of the rbac output)
            XCTAssertFalse(full.stderr.contains("not checked before the run"), "\(file): \(full.output)")
            for role in objects where role["kind"] == "Role" || role["kind"] == "ClusterRole" {
                let rules = role["rules"]?.arrayValue ?? []
                for (i, rule) in rules.enumerated() {
                    var cut = role
                    cut["rules"] = .array(rules.enumerated().filter { $0.offset != i }.map(\.element))
                    _ = try kubectl(["apply", "-f", "-"], stdin: cut.jsonString())
                    let refused = try plan()
                    let verb = rule["verbs"]?[0]?.stringValue ?? "?"
                    let resource = String((rule["resources"]?[0]?.stringValue ?? "?").split(separator: "/")[0])
                    XCTAssertEqual(refused.exitCode, 3, "\(file) without \(verb) \(resource): \(refused.output)")
                    XCTAssertTrue(refused.stderr.contains("\(verb) \(resource)"), "\(file): \(verb) \(resource) not named: \(refused.output)")
                    _ = try kubectl(["apply", "-f", "-"], stdin: role.jsonString())
                }
            }
        }
    }
}

import Foundation
import RunbookKit
import TestSupport
import XCTest

/// Every runbook in `runbooks/` (found by listing the directory, so new ones are covered): a
/// ServiceAccount bound to exactly what `runbook rbac` prints passes the preflight of `plan` in
/// in-cluster mode, and without any one of the printed rules the preflight refuses (exit 3) naming
/// the permission that rule granted. The sandbox carries the fixtures the runbooks are written for.
final class TeamRunbooksRBACTests: XCTestCase {
    /// Fixtures whose kinds and objects the runbooks in runbooks/ expect (one sandbox for all).
    static let shared = SharedSandbox(fixtures: ["calibrate-irt", "observer-postgres", "eso-aws", "r-analytics"])
    var sb: Sandbox!

    override class func setUp() {
        super.setUp()
        shared.start()
    }

    override class func tearDown() {
        shared.stop()
        super.tearDown()
    }

    /// Fails the test with the sandbox's own output when it did not start.
    override func setUpWithError() throws {
        try super.setUpWithError()
        sb = try Self.shared.get()
    }

    func kubectl(_ a: [String], stdin: String? = nil) throws -> String {
        try sb.kubectlSucceeding(a, stdin: stdin)
    }

    func testEveryRunbookGetsExactlyTheRightsItsPreflightAsksFor() throws {
        let dir = Sandbox.repoRoot.appendingPathComponent("runbooks")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertFalse(names.isEmpty)
        let work = try ScratchDirectory.make("rbac-all")
        defer { ScratchDirectory.remove(work) }
        let server = try XCTUnwrap(Value.parseJSON(try Data(contentsOf: sb.dir.appendingPathComponent("sandbox.json")))["server"]?.stringValue)
        for file in names {
            let runbook = try RunbookLoader.load(dir.appendingPathComponent(file))
            // vars without a default get a stand-in value (a path, which every string var accepts)
            let vars = runbook.vars.filter { $0.defaultValue == nil }.flatMap { ["--var", "\($0.name)=\(work.path)"] }
            let rbac = try RunbookCLI.run(["rbac", dir.appendingPathComponent(file).path, "--kubeconfig", sb.kubeconfig] + vars, cwd: work)
            XCTAssertEqual(rbac.exitCode, 0, "\(file): \(rbac.output)")
            let objects = try YAMLParser.parse(rbac.stdout, file: file).map { $0.toValue() }.filter { !$0.isNull }
            // the namespaces the runbook works in exist where it runs (the fixture of another runbook may lack them)
            for ns in Set(objects.compactMap { $0.lookup("metadata.namespace")?.stringValue }) {
                _ = try sb.kubectl(["create", "namespace", ns])
            }
            _ = try kubectl(["apply", "-f", "-"], stdin: rbac.stdout)
            let sa = try XCTUnwrap(objects.first { $0["kind"] == "ServiceAccount" })
            let token = try kubectl(["-n", sa.lookup("metadata.namespace")?.stringValue ?? "", "create", "token",
                                     sa.lookup("metadata.name")?.stringValue ?? ""]).trimmingCharacters(in: .whitespacesAndNewlines)
            let saDir = work.appendingPathComponent("sa-\(runbook.name)")
            try FileManager.default.createDirectory(at: saDir, withIntermediateDirectories: true)
            try token.write(to: saDir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
            try FileManager.default.copyItem(at: sb.dir.appendingPathComponent("pki/ca.crt"), to: saDir.appendingPathComponent("ca.crt"))
            let env = ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(server.split(separator: ":").last ?? ""),
                       "RUNBOOK_SERVICEACCOUNT_DIR": saDir.path, "HOME": work.path]
            func plan() throws -> RunbookCLI.Result {
                try RunbookCLI.run(["plan", dir.appendingPathComponent(file).path] + vars, env: env, cwd: work)
            }
            let full = try plan()
            XCTAssertNotEqual(full.exitCode, 3, "\(file): the preflight refused the rbac output: \(full.output)")
            XCTAssertFalse(full.stderr.contains(" lacks "), "\(file): \(full.output)")
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

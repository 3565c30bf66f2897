import Foundation
import XCTest

/// `runbooks/migrate-cronjobs-to-eso.yaml` (a `foreach` group over `k8s.list`) end to end through
/// the built binary against one sandbox (fixture many-cronjobs, 4 CronJobs in 2 namespaces, plus
/// one CronJob without the label). Witnesses: real kubectl and curl against the GCP emulator.
final class FanoutTests: MigrationTestCase {
    override class var fixtures: [String] { ["many-cronjobs"] }
    override class var fixtureVars: [String: String] { ["cronjobs": "4", "namespaces": "2"] }
    nonisolated(unsafe) static var initialWorld: String?

    static let namespaces = ["reports-00", "reports-01"]
    static let cronjobs = ["reports-00/report-0000", "reports-00/report-0002", "reports-01/report-0001", "reports-01/report-0003"]
    static let project = "platform-prod"

    override class func noteFixture(_ sb: MigrationHarness) throws {
        initialWorld = try world(sb)
        try noteReferences(sb)
    }

    /// Every test starts from the fixture: an earlier test's run is undone (or forgotten) first.
    override func setUpWithError() throws {
        try super.setUpWithError()
        // The run's own status (an item of a finished run may be "rolled-back" while the run is not).
        if let id = sb.newestRunID(), sb.runStatus(id).0 != "rolled-back" {
            _ = try? sb.runbook(["rollback", id, "--yes"])
        }
        sb.forgetUnfinishedRuns()
    }

    /// CronJobs, Secrets and ExternalSecrets of the fixture's namespaces and the GCP project, as
    /// text; `recreated` leaves out the identity of objects a run made (to compare two runs' ends).
    static func world(_ sb: MigrationHarness, recreated: Bool = false) throws -> String {
        var parts: [String] = []
        for ns in namespaces {
            for kind in ["cronjobs", "secrets", "externalsecrets.external-secrets.io", "jobs"] {
                let objs = try sb.objects(kind, namespace: ns).map { MigrationHarness.normalized($0, recreated: recreated) }
                    .sorted { (($0["metadata"] as? [String: Any])?["name"] as? String ?? "") < (($1["metadata"] as? [String: Any])?["name"] as? String ?? "") }
                parts.append("\(ns)/\(kind): " + MigrationHarness.canonical(objs))
            }
        }
        parts.append("gcp: " + MigrationHarness.canonical(try sb.gcpSnapshot(project: project)))
        return parts.joined(separator: "\n")
    }

    func assertWorldIsInitial(_ sb: MigrationHarness, _ context: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let now = try Self.world(sb)
        if now != Self.initialWorld {
            XCTFail("\(context): the cluster or the store differ from the fixture\n\(MigrationHarness.diff(Self.initialWorld ?? "", now))",
                    file: file, line: line)
        }
    }

    func envSecretName(_ sb: MigrationHarness, _ key: String) throws -> String? {
        let parts = key.split(separator: "/").map(String.init)
        let cj = try sb.object("cronjob", parts[1], namespace: parts[0])
        let spec = (((cj?["spec"] as? [String: Any])?["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any])?["template"] as? [String: Any]
        let container = (((spec?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first)
        let env = (container?["env"] as? [[String: Any]])?.first
        return ((env?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any])?["name"] as? String
    }

    static func events(_ out: MigrationHarness.Output) -> [[String: Any]] {
        out.stdout.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    // MARK: tests

    func testEveryLabelledCronJobMovesAndARollbackRestoresEveryItem() throws {
        let out = try sb.runbook(["run", "migrate-cronjobs-to-eso", "--yes", "--output", "json", "--var", "concurrency=3"])
        XCTAssertEqual(out.status, 0, out.text)
        // Every reference of every CronJob (one, or five across an init container and two
        // containers, one of them to a Secret two CronJobs share) is moved; nothing else changed.
        for key in Self.cronjobs { try assertEveryReferenceMoved(sb, key) }
        XCTAssertEqual(MigrationHarness.canonical(MigrationHarness.normalized(try XCTUnwrap(sb.object("cronjob", "legacy-export", namespace: "reports-00")))),
                       MigrationHarness.canonical(MigrationHarness.normalized(try XCTUnwrap(Self.initialCronJobs["reports-00/legacy-export"]))),
                       "a CronJob without the label is left alone")
        // JSON events name items: every CronJob finished once, by index and key.
        let events = Self.events(out)
        let finished = events.filter { $0["event"] as? String == "item.finished" }
        XCTAssertEqual(Set(finished.compactMap { $0["item_key"] as? String }), Set(Self.cronjobs), out.stdout)
        XCTAssertEqual(Set(finished.compactMap { $0["item"] as? Int }), [0, 1, 2, 3])
        XCTAssertTrue(finished.allSatisfy { $0["status"] as? String == "succeeded" && $0["group"] as? String == "migrate" })
        // The test Job ran for the canary (item 0) only.
        let jobs = events.filter { $0["event"] as? String == "step.finished" && $0["step"] as? String == "test-job" }
        XCTAssertEqual(jobs.filter { $0["status"] as? String == "succeeded" }.compactMap { $0["item"] as? Int }, [0], "\(jobs)")
        XCTAssertEqual(jobs.filter { $0["status"] as? String == "skipped" }.count, 3)
        // A second run finds every CronJob migrated: no item, nothing changed, exit 0.
        let migrated = try Self.world(sb)
        let again = try sb.runbook(["run", "migrate-cronjobs-to-eso", "--yes", "--output", "json"])
        XCTAssertEqual(again.status, 0, again.text)
        XCTAssertTrue(Self.events(again).filter { $0["event"] as? String == "item.finished" }.isEmpty, again.stdout)
        XCTAssertEqual(try Self.world(sb), migrated, "the second run changed something")
        // Rolling the finished run back restores every item (and deletes what the run created in GCP).
        let id = try XCTUnwrap(sb.runID(from: out))
        let back = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(back.status, 0, back.text)
        try assertWorldIsInitial(sb, "after runbook rollback")
        sb.assertNoSecretLeaks(Self.fixtureSecretValues)
    }

    func testACanaryFailureStopsEverythingAndChangesNothing() throws {
        // The canary runs alone, so the first CronJob patch is the canary's.
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "/cronjobs/", "--count", "1", "--action", "500"])
        let out = try sb.runbook(["run", "migrate-cronjobs-to-eso", "--yes", "--output", "json"])
        XCTAssertEqual(out.status, 1, out.text)
        let started = Self.events(out).filter { $0["event"] as? String == "item.started" }.compactMap { $0["item"] as? Int }
        XCTAssertEqual(started, [0], "no item but the canary started")
        XCTAssertTrue(out.stdout.contains("canary item"), out.stdout)
        try sb.fault(["--clear"])
        try assertWorldIsInitial(sb, "after the canary failed")
    }

    func testOneFailureWithinTheBudgetLeavesTheOthersMigratedAndRestoresTheFailedOne() throws {
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "/namespaces/reports-01/cronjobs/report-0003$",
                      "--count", "5", "--action", "500"])
        let out = try sb.runbook(["run", "migrate-cronjobs-to-eso", "--yes", "--output", "json", "--var", "max_failures=1"])
        XCTAssertEqual(out.status, 1, out.text)
        try sb.fault(["--clear"])
        let finished = Self.events(out).last { $0["event"] as? String == "run.finished" }
        XCTAssertEqual(finished?["status"] as? String, "failed")
        XCTAssertTrue((finished?["message"] as? String ?? "").contains("reports-01/report-0003"), "\(finished ?? [:])")
        for key in Self.cronjobs where key != "reports-01/report-0003" {
            XCTAssertEqual(try envSecretName(sb, key), "\(key.split(separator: "/")[1])-eso", key)
        }
        // The failed one exactly as before: CronJob, no ExternalSecret, no synced Secret, no GCP secret.
        XCTAssertEqual(try envSecretName(sb, "reports-01/report-0003"), "report-0003-db")
        XCTAssertNil(try sb.object("externalsecrets.external-secrets.io", "report-0003-eso", namespace: "reports-01"))
        XCTAssertNil(try sb.object("secret", "report-0003-eso", namespace: "reports-01"))
        let (code, _) = try sb.gcp("v1/projects/\(Self.project)/secrets/reports-01--report-0003")
        XCTAssertEqual(code, 404)
    }

    func testKillDuringTheFanOutThenResumeFinishesEveryItemOnce() throws {
        let before = sb.runIDs()
        // Slow down one non-canary patch so that the kill lands while items are in flight.
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "/namespaces/reports-01/cronjobs/report-0001$",
                      "--count", "1", "--action", "slow", "--delay", "3"])
        let (p, o, e) = try sb.startRunbook(["run", "migrate-cronjobs-to-eso", "--yes", "--output", "json", "--var", "concurrency=4"])
        XCTAssertTrue(sb.waitForEvent(containing: ["\"step.started\"", "\"patch[", "\"event\""], timeout: 60, while: p, excluding: before),
                      "no item reached its patch")
        // the slowed patch is held by the sandbox: items are in flight
        XCTAssertTrue(try sb.sandbox.waitForFault(path: "/namespaces/reports-01/cronjobs/report-0001$", timeout: 60),
                      "report-0001's patch never reached the API server")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        try sb.fault(["--clear"])
        let id = try XCTUnwrap(sb.runIDs().subtracting(before).first)
        let resumed = try sb.runbook(["resume", id, "--yes"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        for key in Self.cronjobs {
            XCTAssertEqual(try envSecretName(sb, key), "\(key.split(separator: "/")[1])-eso", key)
            // Exactly once in effect: one version per secret in Secret Manager.
            let (code, versions) = try sb.gcp("v1/projects/\(Self.project)/secrets/\(key.replacingOccurrences(of: "/", with: "--"))/versions")
            XCTAssertEqual(code, 200)
            XCTAssertEqual((versions["versions"] as? [[String: Any]])?.count, 1, "\(key): \(versions)")
        }
    }

    /// With only a ServiceAccount bound to exactly what `runbook rbac` prints (in-cluster mode, no
    /// kubeconfig): the fan-out ends as the admin's ends, `rollback` restores every item, and a
    /// run whose last item fails (no failure allowed) rolls every item back.
    func testLeastPrivilegeRunRollbackAndForcedFailure() throws {
        let args = ["run", "migrate-cronjobs-to-eso", "--yes", "--output", "json"]
        let vars = ["--var", "concurrency=4"]
        let identity = try sb.sandbox.leastPrivilege(runbook: "migrate-cronjobs-to-eso", vars: vars, work: sb.dir)
        defer { try? identity.revoke() }

        let admin = try sb.runbook(args + vars)
        XCTAssertEqual(admin.status, 0, admin.text)
        let adminWorld = try Self.world(sb, recreated: true)
        let adminBack = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: admin)), "--yes"])
        XCTAssertEqual(adminBack.status, 0, adminBack.text)
        try assertWorldIsInitial(sb, "after rolling back the admin's run")

        let least = try sb.runbook(args + vars, env: identity.env)
        XCTAssertEqual(least.status, 0, least.text)
        let leastWorld = try Self.world(sb, recreated: true)
        if leastWorld != adminWorld {
            XCTFail("the least-privilege run versus the admin's run\n\(MigrationHarness.diff(adminWorld, leastWorld))")
        }
        let back = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: least)), "--yes"], env: identity.env)
        XCTAssertEqual(back.status, 0, back.text)
        try assertWorldIsInitial(sb, "after the least-privilege rollback")

        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "/namespaces/reports-01/cronjobs/report-0003$",
                      "--count", "5", "--action", "500"])
        let failed = try sb.runbook(args + vars, env: identity.env)
        XCTAssertEqual(failed.status, 1, failed.text)
        XCTAssertEqual(Self.events(failed).last { $0["event"] as? String == "run.finished" }?["status"] as? String, "rolled-back", failed.stdout)
        try sb.fault(["--clear"])
        try assertWorldIsInitial(sb, "after the least-privilege run whose last item failed")
    }
}

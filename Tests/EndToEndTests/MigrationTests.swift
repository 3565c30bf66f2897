import Foundation
import XCTest

/// `runbooks/migrate-calibrate-irt.yaml` end to end through the built binary, against one sandbox
/// (fixture calibrate-irt). Every test starts from the fixture's state and leaves it so; the
/// witnesses are the real kubectl, psql and curl against the GCP emulator.
final class MigrationTests: MigrationTestCase {
    override class var fixtures: [String] { ["calibrate-irt"] }
    /// Secret values that must never appear in output or the state dir (read with kubectl).
    nonisolated(unsafe) static var secretValues: [String] = []
    /// The fixture's CronJob as kubectl showed it at the start, to put back if a test left it changed.
    nonisolated(unsafe) static var fixtureCronJob: [String: Any]?

    static let namespace = "seedtest"
    static let project = "univprepai"

    override class func noteFixture(_ sb: MigrationHarness) throws {
        secretValues = [
            try sb.secretValue("seedtest-db-credentials", key: "DATABASE_URL", namespace: namespace),
            try sb.secretValue("r-irt-credentials", key: "token", namespace: namespace),
        ].compactMap { $0 }
        fixtureCronJob = try sb.object("cronjob", "calibrate-irt-weekly", namespace: namespace)
    }

    /// Each test starts from the fixture even when an earlier test failed and left debris: a
    /// failure then stays with the test that caused it instead of cascading.
    override func setUpWithError() throws {
        try super.setUpWithError()
        resetToFixture(sb)
    }

    private func resetToFixture(_ sb: MigrationHarness) {
        sb.forgetUnfinishedRuns()
        try? sb.fault(["--clear"])
        for o in (try? sb.objects("jobs", namespace: Self.namespace)) ?? [] {
            if let n = (o["metadata"] as? [String: Any])?["name"] as? String { _ = try? sb.kubectl(["-n", Self.namespace, "delete", "job", n, "--wait=false"]) }
        }
        _ = try? sb.kubectl(["-n", Self.namespace, "delete", "externalsecrets.external-secrets.io", "calibrate-irt-credentials", "--ignore-not-found"])
        _ = try? sb.kubectl(["-n", Self.namespace, "delete", "secret", "calibrate-irt-credentials", "--ignore-not-found"])
        if var cj = Self.fixtureCronJob, let live = try? sb.object("cronjob", "calibrate-irt-weekly", namespace: Self.namespace),
           MigrationHarness.canonical(MigrationHarness.normalized(live)) != MigrationHarness.canonical(MigrationHarness.normalized(cj)) {
            var meta = (cj["metadata"] as? [String: Any]) ?? [:]
            meta["resourceVersion"] = (live["metadata"] as? [String: Any])?["resourceVersion"]
            cj["metadata"] = meta
            cj.removeValue(forKey: "status")
            _ = try? sb.kubectl(["replace", "-f", "-"], stdin: MigrationHarness.canonical(cj))
        }
        for id in ["seedtest-database-url", "r-irt-plumber-token"] {
            _ = try? sb.gcp("v1/projects/\(Self.project)/secrets/\(id)", method: "DELETE")
        }
    }

    override func tearDown() {
        sb?.assertNoSecretLeaks(Self.secretValues)
        super.tearDown()
    }

    // MARK: helpers

    private var databaseURL: String { Self.secretValues.first ?? "" }

    /// Everything the migration may touch: the CronJob, every Secret, ExternalSecret and Job of
    /// the namespace (whole objects minus volatile fields) and the GCP project as it reads.
    func world(_ sb: MigrationHarness, recreated: Bool = false) throws -> String {
        let ns = Self.namespace
        var w: [String: Any] = [:]
        w["cronjob"] = try sb.object("cronjob", "calibrate-irt-weekly", namespace: ns).map { MigrationHarness.normalized($0) } ?? NSNull()
        for kind in ["secrets", "externalsecrets.external-secrets.io", "jobs"] {
            var byName: [String: Any] = [:]
            for o in try sb.objects(kind, namespace: ns) {
                let name = ((o["metadata"] as? [String: Any])?["name"] as? String) ?? "?"
                byName[name] = MigrationHarness.normalized(o, recreated: recreated)
            }
            w[kind] = byName
        }
        w["gcp"] = try sb.gcpSnapshot(project: Self.project)
        return MigrationHarness.canonical(w)
    }

    private func mirtRows(_ sb: MigrationHarness) throws -> Int {
        Int(try sb.psql(databaseURL, "SELECT count(*) FROM mirt_fit_meta")) ?? -1
    }

    /// `run --yes --output json`; with `env` (a least-privilege identity's), in-cluster mode only.
    func run(_ sb: MigrationHarness, _ extra: [String] = [], env: [String: String]? = nil) throws -> MigrationHarness.Output {
        try sb.runbook(["run", "migrate-calibrate-irt", "--yes", "--output", "json"] + extra, env: env)
    }

    private func envRef(_ cronjob: [String: Any]?, _ variable: String) -> (String?, String?) {
        let spec = ((((cronjob?["spec"] as? [String: Any])?["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
        let container = (spec?["containers"] as? [[String: Any]])?.first { $0["name"] as? String == "calibrate-irt" }
        let entry = (container?["env"] as? [[String: Any]])?.first { $0["name"] as? String == variable }
        let ref = (entry?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any]
        return (ref?["name"] as? String, ref?["key"] as? String)
    }

    func assertSameWorld(_ before: String, _ after: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if before != after {
            XCTFail("\(what): the cluster or the store differ\n\(MigrationHarness.diff(before, after))", file: file, line: line)
        }
    }

    // MARK: tests

    func testPlanShowsTheRealDiffsAndChangesNothing() throws {
        let before = try world(sb)
        let out = try sb.runbook(["plan", "migrate-calibrate-irt"])
        XCTAssertEqual(out.status, 0, out.text)
        XCTAssertTrue(out.text.contains("calibrate-irt-credentials"), "the plan names the ExternalSecret and the new secretKeyRef:\n\(out.text)")
        XCTAssertTrue(out.text.contains("seedtest-database-url"), "the plan names the remote secret:\n\(out.text)")
        XCTAssertTrue(out.text.contains("seedtest-db-credentials"), "the CronJob diff shows the old secretKeyRef:\n\(out.text)")
        XCTAssertTrue(out.text.contains("its preview needs steps.run-test-job.outputs.succeeded, known only at run time"),
                      "the SQL check says what it waits for:\n\(out.text)")
        assertSameWorld(before, try world(sb), "after plan")
    }

    func testRunMigratesRepeatsHarmlesslyAndRollbackRestoresTheStart() throws {
        let before = try world(sb)
        let rows0 = try mirtRows(sb)
        let token = try XCTUnwrap(try sb.secretValue("r-irt-credentials", key: "token", namespace: Self.namespace))

        let first = try run(sb)
        XCTAssertEqual(first.status, 0, first.text)
        let firstID = try XCTUnwrap(sb.runID(from: first))

        // The ExternalSecret synced both keys with the original values.
        let es = try XCTUnwrap(try sb.object("externalsecrets.external-secrets.io", "calibrate-irt-credentials", namespace: Self.namespace))
        let conditions = ((es["status"] as? [String: Any])?["conditions"] as? [[String: Any]]) ?? []
        XCTAssertTrue(conditions.contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" && $0["reason"] as? String == "SecretSynced" })
        let keys = (((es["spec"] as? [String: Any])?["data"] as? [[String: Any]]) ?? []).compactMap { ($0["remoteRef"] as? [String: Any])?["key"] as? String }
        XCTAssertEqual(keys, ["seedtest-database-url", "r-irt-plumber-token"])
        XCTAssertEqual(try sb.secretValue("calibrate-irt-credentials", key: "DATABASE_URL", namespace: Self.namespace), databaseURL)
        XCTAssertEqual(try sb.secretValue("calibrate-irt-credentials", key: "R_IRT_INTERNAL_TOKEN", namespace: Self.namespace), token)
        XCTAssertEqual(try sb.gcpLatest(project: Self.project, secret: "seedtest-database-url"), databaseURL)
        XCTAssertEqual(try sb.gcpLatest(project: Self.project, secret: "r-irt-plumber-token"), token)
        // The CronJob reads both from the synced Secret.
        let cronjob = try sb.object("cronjob", "calibrate-irt-weekly", namespace: Self.namespace)
        XCTAssertTrue(envRef(cronjob, "DATABASE_URL") == ("calibrate-irt-credentials", "DATABASE_URL"))
        XCTAssertTrue(envRef(cronjob, "R_IRT_INTERNAL_TOKEN") == ("calibrate-irt-credentials", "R_IRT_INTERNAL_TOKEN"))
        // The test Job ran, wrote its rows and was cleaned up.
        let rows1 = try mirtRows(sb)
        XCTAssertGreaterThan(rows1, rows0, "the test Job wrote no mirt_fit_meta row")
        XCTAssertEqual(try sb.objects("jobs", namespace: Self.namespace).count, 0, "the test Job is deleted after success")
        let afterFirst = try world(sb)

        // A second run changes nothing: same objects, no new GCP version; only its own test Job's rows.
        let second = try run(sb)
        XCTAssertEqual(second.status, 0, second.text)
        let secondID = try XCTUnwrap(sb.runID(from: second))
        assertSameWorld(afterFirst, try world(sb), "after the second run")
        XCTAssertEqual(try mirtRows(sb) - rows1, rows1 - rows0, "the second run added more rows than its test Job writes")

        // Rolling back the second run changes nothing; rolling back the first restores the start.
        let rb2 = try sb.runbook(["rollback", secondID, "--yes"])
        XCTAssertEqual(rb2.status, 0, rb2.text)
        assertSameWorld(afterFirst, try world(sb), "after rolling back the second run")
        let rb1 = try sb.runbook(["rollback", firstID, "--yes"])
        XCTAssertEqual(rb1.status, 0, rb1.text)
        assertSameWorld(before, try world(sb), "after rolling back the first run")

        let status = try sb.runbook(["status", firstID, "--output", "json"])
        XCTAssertEqual(status.status, 0, status.text)
    }

    func testFailingTestJobRollsEverythingBack() throws {
        let before = try world(sb)
        try sb.fault(["--target", "job", "--path", "calibrate-irt", "--count", "20", "--action", "fail"])
        let out = try run(sb)
        XCTAssertEqual(out.status, 1, out.text)
        XCTAssertTrue(out.text.contains("run-test-job"), out.text)
        try sb.fault(["--clear"])
        assertSameWorld(before, try world(sb), "after the failed test Job")
    }

    /// The run pauses on a failed test Job (`--no-rollback`); once the cause is gone, `resume`
    /// runs the Job again instead of reporting the old Job's failure. A `resume --from` naming no
    /// step is refused before anything is read or recorded.
    func testResumeAfterAFailedTestJobRunsItAgain() throws {
        let before = try world(sb)
        try sb.fault(["--target", "job", "--path", "calibrate-irt", "--count", "20", "--action", "fail"])
        let paused = try run(sb, ["--no-rollback"])
        XCTAssertEqual(paused.status, 3, paused.text)
        let id = try XCTUnwrap(sb.runID(from: paused), paused.text)
        try sb.fault(["--clear"])
        let events = sb.stateDir.appendingPathComponent("runs/\(id)/events.jsonl")
        let eventsBefore = try String(contentsOf: events, encoding: .utf8)
        let typo = try sb.runbook(["resume", id, "--from", "run-tst-job", "--yes"])
        XCTAssertEqual(typo.status, 2, typo.text)
        XCTAssertTrue(typo.stderr.contains("did you mean 'run-test-job'?"), typo.text)
        XCTAssertEqual(try String(contentsOf: events, encoding: .utf8), eventsBefore, "a refused resume recorded something")

        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        XCTAssertTrue(resumed.text.contains("failed in an earlier attempt"), resumed.text)
        XCTAssertEqual(envRef(try sb.object("cronjob", "calibrate-irt-weekly", namespace: Self.namespace), "DATABASE_URL").0,
                       "calibrate-irt-credentials")
        XCTAssertEqual(try sb.objects("jobs", namespace: Self.namespace).count, 0, "the test Job is deleted after success")
        let rb = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        assertSameWorld(before, try world(sb), "after rolling back the resumed run")
    }

    func testExternalSecretThatNeverSyncsRollsEverythingBack() throws {
        let before = try world(sb)
        // Slow the ExternalSecret's apply so that the remote secret can be made unreadable (its only
        // version disabled) after the run wrote it and before the controller reads it.
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "externalsecrets", "--count", "2", "--action", "slow", "--delay", "2"])
        let known = sb.runIDs()
        let (p, o, e) = try sb.startRunbook(["run", "migrate-calibrate-irt", "--yes", "--output", "json", "--var", "sync_timeout=15s"])
        XCTAssertTrue(sb.waitForEvent(containing: ["apply-external-secret", "start"], timeout: 60, while: p, excluding: known),
                      "the run never reached apply-external-secret")
        let (code, _) = try sb.gcp("v1/projects/\(Self.project)/secrets/seedtest-database-url/versions/1:disable", method: "POST")
        XCTAssertEqual(code, 200, "disabling the remote secret's version")
        p.waitUntilExit()
        sb.collect(o, e)
        let text = (try? String(contentsOf: o, encoding: .utf8)) ?? ""
        XCTAssertEqual(p.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("wait-synced"), text)
        XCTAssertTrue(text.contains("SecretSyncedError"), "the failure shows the controller's reason: \(text)")
        assertSameWorld(before, try world(sb), "after the ExternalSecret never synced")
    }

    func testFailureAtEachMutatingStepRollsEverythingBack() throws {
        let cases: [(step: String, fault: [String])] = [
            ("push-db-url", ["--target", "gcp", "--method", "POST", "--path", "seedtest-database-url", "--count", "100", "--action", "500"]),
            ("push-token", ["--target", "gcp", "--method", "POST", "--path", "r-irt-plumber-token", "--count", "100", "--action", "500"]),
            ("apply-external-secret", ["--target", "kube", "--method", "PATCH", "--path", "externalsecrets", "--count", "100", "--action", "500"]),
            ("patch-cronjob", ["--target", "kube", "--method", "PATCH", "--path", "cronjobs/calibrate-irt-weekly", "--count", "100", "--action", "500"]),
        ]
        try sb.assertEveryFaultRollsBack(cases, reset: { resetToFixture(sb) }, world: { try world(sb) }, run: { try run(sb) })
    }

    func testKillDuringTheRunThenResumeEndsLikeAnUninterruptedRun() throws {
        let before = try world(sb)
        // Slow the test Job's creation so the kill lands while it is in flight.
        try sb.fault(["--target", "kube", "--method", "POST", "--path", "jobs", "--count", "1", "--action", "slow", "--delay", "3"])
        let known = sb.runIDs()
        let (p, o, e) = try sb.startRunbook(["run", "migrate-calibrate-irt", "--yes", "--output", "json"])
        XCTAssertTrue(sb.waitForEvent(containing: ["run-test-job", "start"], timeout: 120, while: p, excluding: known), "the run never reached run-test-job")
        // the Job's POST is in flight: the sandbox took the slow rule and holds the request
        XCTAssertTrue(try sb.sandbox.waitForFault(path: "jobs", fired: 1, timeout: 60), "the Job was never posted")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        // The sandbox holds the slowed request before acting on it: let it land (as it would at
        // once on a real API server) before resuming, so no request of the dead process is in flight.
        let landed = Date().addingTimeInterval(30)
        while try sb.objects("jobs", namespace: Self.namespace).isEmpty, Date() < landed { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertFalse(try sb.objects("jobs", namespace: Self.namespace).isEmpty, "the slowed Job POST never landed")
        let id = try XCTUnwrap(sb.runIDs().subtracting(known).first)
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        let afterResume = try world(sb, recreated: true)
        XCTAssertEqual(try sb.objects("jobs", namespace: Self.namespace).count, 0, "the test Job is deleted after success")

        // The same end state as a run nobody interrupted.
        let rb = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        assertSameWorld(before, try world(sb), "after rolling back the resumed run")
        let clean = try run(sb)
        XCTAssertEqual(clean.status, 0, clean.text)
        assertSameWorld(afterResume, try world(sb, recreated: true), "resumed run versus uninterrupted run")
        let rbClean = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: clean)), "--yes"])
        XCTAssertEqual(rbClean.status, 0, rbClean.text)
        assertSameWorld(before, try world(sb), "after rolling back the uninterrupted run")
    }

    func testWithoutTheTokenOnlyTheDatabaseURLIsMigrated() throws {
        let saved = try XCTUnwrap(try sb.object("secret", "r-irt-credentials", namespace: Self.namespace))
        let before = try world(sb, recreated: true)
        XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "delete", "secret", "r-irt-credentials"]).status, 0)
        defer {
            var restore = saved
            var meta = (restore["metadata"] as? [String: Any]) ?? [:]
            for k in ["resourceVersion", "uid", "creationTimestamp", "managedFields"] { meta.removeValue(forKey: k) }
            restore["metadata"] = meta
            _ = try? sb.kubectl(["create", "-f", "-"], stdin: MigrationHarness.canonical(restore))
        }
        let out = try run(sb)
        XCTAssertEqual(out.status, 0, out.text)
        let es = try XCTUnwrap(try sb.object("externalsecrets.external-secrets.io", "calibrate-irt-credentials", namespace: Self.namespace))
        let keys = (((es["spec"] as? [String: Any])?["data"] as? [[String: Any]]) ?? []).compactMap { $0["secretKey"] as? String }
        XCTAssertEqual(keys, ["DATABASE_URL"], "without a token the ExternalSecret must not reference it")
        XCTAssertEqual(try sb.secretValue("calibrate-irt-credentials", key: "DATABASE_URL", namespace: Self.namespace), databaseURL)
        XCTAssertNil(try sb.secretValue("calibrate-irt-credentials", key: "R_IRT_INTERNAL_TOKEN", namespace: Self.namespace))
        XCTAssertNil(try sb.gcpLatest(project: Self.project, secret: "r-irt-plumber-token"), "no token was written to Secret Manager")
        let rb = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: out)), "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        var restore = saved
        var meta = (restore["metadata"] as? [String: Any]) ?? [:]
        for k in ["resourceVersion", "uid", "creationTimestamp", "managedFields"] { meta.removeValue(forKey: k) }
        restore["metadata"] = meta
        XCTAssertEqual(try sb.kubectl(["create", "-f", "-"], stdin: MigrationHarness.canonical(restore)).status, 0)
        assertSameWorld(before, try world(sb, recreated: true), "after the run without a token and its rollback")
    }

    /// With only a ServiceAccount bound to exactly what `runbook rbac` prints (in-cluster mode, no
    /// kubeconfig): a run ends as the admin's run ends, `rollback` restores the start, and a run
    /// whose last step (the test Job) fails rolls everything back. Revoked, the token is refused:
    /// the runs had no other Kubernetes credential.
    func testLeastPrivilegeRunRollbackAndForcedFailure() throws {
        let identity = try sb.sandbox.leastPrivilege(runbook: "migrate-calibrate-irt", vars: [], work: sb.dir)
        let before = try world(sb)

        let admin = try run(sb)
        XCTAssertEqual(admin.status, 0, admin.text)
        let adminWorld = try world(sb, recreated: true)
        let adminBack = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: admin)), "--yes"])
        XCTAssertEqual(adminBack.status, 0, adminBack.text)
        assertSameWorld(before, try world(sb), "after rolling back the admin's run")

        let least = try run(sb, env: identity.env)
        XCTAssertEqual(least.status, 0, least.text)
        assertSameWorld(adminWorld, try world(sb, recreated: true), "the least-privilege run versus the admin's run")
        let back = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: least)), "--yes"], env: identity.env)
        XCTAssertEqual(back.status, 0, back.text)
        assertSameWorld(before, try world(sb), "after the least-privilege rollback")

        try sb.fault(["--target", "job", "--path", "calibrate-irt", "--count", "20", "--action", "fail"])
        let failed = try run(sb, env: identity.env)
        XCTAssertEqual(failed.status, 1, failed.text)
        XCTAssertTrue(MigrationHarness.reportsFailed("run-test-job", in: failed), failed.text)
        try sb.fault(["--clear"])
        assertSameWorld(before, try world(sb), "after the least-privilege run that failed at its test Job")

        try identity.revoke()
        let refused = try sb.runbook(["plan", "migrate-calibrate-irt"], env: identity.env)
        XCTAssertEqual(refused.status, 3, "a revoked ServiceAccount is refused up front: \(refused.text)")
    }
}

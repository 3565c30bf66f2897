import Foundation
import XCTest

/// `runbooks/postgres-statefulset-cutover.yaml` end to end through the built binary, against one
/// sandbox (fixture observer-postgres). Every test starts from the fixture's state (the Deployment
/// serving the data on observer-db-pvc) and leaves it so.
final class CutoverMigrationTests: MigrationTestCase {
    override class var fixtures: [String] { ["observer-postgres"] }
    nonisolated(unsafe) static var password = ""
    nonisolated(unsafe) static var user = ""
    nonisolated(unsafe) static var tables = ""
    nonisolated(unsafe) static var port = 0
    /// The selector of the Service postgres: its backends are the Pods it matches.
    nonisolated(unsafe) static var backends: [String: String] = [:]
    /// The fixture's Deployment as kubectl showed it at the start, to put back if a test left it changed.
    nonisolated(unsafe) static var fixtureDeployment: [String: Any]?

    static let namespace = "observer-prod"

    override class func noteFixture(_ sb: MigrationHarness) throws {
        password = try sb.secretValue("observer-secrets", key: "POSTGRES_PASSWORD", namespace: namespace) ?? ""
        user = try sb.secretValue("observer-secrets", key: "POSTGRES_USER", namespace: namespace) ?? ""
        port = sb.servicePort("observer-prod/postgres") ?? 0
        let service = try sb.object("service", "postgres", namespace: namespace)
        backends = (((service?["spec"] as? [String: Any])?["selector"] as? [String: Any]) ?? [:]).compactMapValues { $0 as? String }
        if backends.isEmpty { throw MigrationHarness.HarnessError.failed("the Service postgres has no selector") }
        fixtureDeployment = try sb.object("deployment", "postgres", namespace: namespace)
        tables = try sb.psql(dsn, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
        if tables.isEmpty { throw MigrationHarness.HarnessError.failed("the fixture database has no tables to count") }
    }

    static var dsn: String { "host=127.0.0.1 port=\(port) dbname=observer user=\(user) password=\(password) connect_timeout=10" }

    /// Each test starts from the fixture even when an earlier test failed and left debris (a
    /// StatefulSet, a scaled-down or deleted Deployment): a failure stays with its own test.
    override func setUpWithError() throws {
        try super.setUpWithError()
        resetToFixture(sb)
    }

    private func resetToFixture(_ sb: MigrationHarness) {
        sb.forgetUnfinishedRuns()
        try? sb.fault(["--clear"])
        let ns = Self.namespace
        if (try? sb.object("statefulset", "postgres", namespace: ns)) != nil {
            _ = try? sb.kubectl(["-n", ns, "delete", "statefulset", "postgres"])
            _ = try? sb.kubectl(["-n", ns, "wait", "--for=delete", "pod/postgres-0", "--timeout=60s"])
        }
        _ = try? sb.kubectl(["-n", ns, "delete", "service", "postgres-headless", "--ignore-not-found"])
        _ = try? sb.kubectl(["-n", ns, "delete", "pvc", "postgres-data-postgres-0", "--ignore-not-found"])
        if var d = Self.fixtureDeployment {
            if let live = try? sb.object("deployment", "postgres", namespace: ns) {
                let want = (d["spec"] as? [String: Any])?["replicas"] as? Int ?? 1
                if (live["spec"] as? [String: Any])?["replicas"] as? Int != want {
                    _ = try? sb.kubectl(["-n", ns, "scale", "deployment", "postgres", "--replicas=\(want)"])
                }
            } else {
                var meta = (d["metadata"] as? [String: Any]) ?? [:]
                for k in ["resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"] { meta.removeValue(forKey: k) }
                d["metadata"] = meta
                d.removeValue(forKey: "status")
                _ = try? sb.kubectl(["create", "-f", "-"], stdin: MigrationHarness.canonical(d))
            }
            _ = try? sb.kubectl(["-n", ns, "rollout", "status", "deployment/postgres", "--timeout=60s"])
        }
        _ = try? counts(sb)  // waits until the Service reaches a database again
    }

    override func tearDown() {
        sb?.assertNoSecretLeaks([Self.password])
        super.tearDown()
    }

    // MARK: helpers

    private var vars: [String] {
        ["--var", "db_port=\(Self.port)", "--var", "tables=\(Self.tables)"]
    }

    /// `run --yes --output json`; with `env` (a least-privilege identity's), in-cluster mode only.
    private func run(_ sb: MigrationHarness, _ extra: [String] = [], env: [String: String]? = nil) throws -> MigrationHarness.Output {
        try sb.runbook(["run", "postgres-statefulset-cutover", "--yes", "--output", "json"] + vars + extra, env: env)
    }

    /// Row counts of every table, read with psql through the Service once it has a Ready backend
    /// (after a rollback the Deployment's Pod may still be starting).
    private func counts(_ sb: MigrationHarness) throws -> String {
        guard try sb.waitForReadyPod(matching: Self.backends, namespace: Self.namespace, timeout: 120) else {
            throw MigrationHarness.HarnessError.failed("the Service postgres has had no Ready backend for 120 s")
        }
        let q = "SELECT string_agg(format('%s=%s', tablename, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', tablename), false, true, '')))[1]), ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
        return try sb.psql(Self.dsn, q)
    }

    /// The workload side of the namespace as whole objects minus volatile fields.
    /// `acrossRuns` compares the end states of two different runs: what each run created has its
    /// own identity (uid, creation time). (Prior-state holders, named after the run id, live in the
    /// runs namespace, not here: one in this namespace would make two runs' worlds differ.)
    private func world(_ sb: MigrationHarness, recreatedDeployment: Bool = false, ignoringPVC: String? = nil,
                       acrossRuns: Bool = false) throws -> String {
        let ns = Self.namespace
        var w: [String: Any] = [:]
        for kind in ["deployments", "statefulsets", "services", "persistentvolumeclaims", "secrets", "configmaps"] {
            var byName: [String: Any] = [:]
            for o in try sb.objects(kind, namespace: ns) {
                let name = ((o["metadata"] as? [String: Any])?["name"] as? String) ?? "?"
                if kind == "persistentvolumeclaims", name == ignoringPVC { continue }
                let n = MigrationHarness.normalized(o, recreated: acrossRuns || (kind == "deployments" && recreatedDeployment))
                byName[name] = n
            }
            w[kind] = byName
        }
        w["pods"] = try sb.objects("pods", namespace: ns).compactMap { o -> String? in
            let labels = ((o["metadata"] as? [String: Any])?["labels"] as? [String: Any]) ?? [:]
            let claims = ((((o["spec"] as? [String: Any])?["volumes"] as? [[String: Any]]) ?? [])
                .compactMap { ($0["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String })
            let owner = (((o["metadata"] as? [String: Any])?["ownerReferences"] as? [[String: Any]])?.first?["kind"] as? String) ?? "-"
            return "\(labels["app"] ?? "-") owner=\(owner) claims=\(claims.sorted())"
        }.sorted()
        w["data"] = try counts(sb)
        return MigrationHarness.canonical(w)
    }

    private func assertSameWorld(_ before: String, _ after: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if before != after {
            XCTFail("\(what): the cluster or the data differ\n\(MigrationHarness.diff(before, after))", file: file, line: line)
        }
    }

    // MARK: tests

    func testPlanShowsTheRealDiffsAndChangesNothing() throws {
        let before = try world(sb)
        let out = try sb.runbook(["plan", "postgres-statefulset-cutover"] + vars)
        XCTAssertEqual(out.status, 0, out.text)
        XCTAssertTrue(out.text.contains("postgres-headless"), "the plan shows the headless Service:\n\(out.text)")
        XCTAssertTrue(out.text.contains("persistentVolumeClaim.claimName"), "the plan's StatefulSet diff shows the claim:\n\(out.text)")
        XCTAssertFalse(out.text.contains("volumeClaimTemplates"), "the StatefulSet must not ask for a new volume:\n\(out.text)")
        XCTAssertTrue(out.text.contains("→ 0") || out.text.contains("-> 0"), "the plan shows the scale to 0:\n\(out.text)")
        assertSameWorld(before, try world(sb), "after plan")
    }

    func testCutoverKeepsTheDataRepeatsHarmlesslyAndRollbackRestoresTheStart() throws {
        let before = try world(sb)
        let countsBefore = try counts(sb)

        let first = try run(sb)
        XCTAssertEqual(first.status, 0, first.text)
        let firstID = try XCTUnwrap(sb.runID(from: first))
        XCTAssertNil(try sb.object("deployment", "postgres", namespace: Self.namespace), "the old Deployment is retired")
        let sts = try XCTUnwrap(try sb.object("statefulset", "postgres", namespace: Self.namespace))
        let podSpec = ((sts["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
        let claims = ((podSpec?["volumes"] as? [[String: Any]]) ?? []).compactMap { ($0["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String }
        XCTAssertEqual(claims, ["observer-db-pvc"])
        XCTAssertNil((sts["spec"] as? [String: Any])?["volumeClaimTemplates"])
        XCTAssertEqual(((sts["status"] as? [String: Any])?["readyReplicas"] as? Int), 1)
        let headless = try XCTUnwrap(try sb.object("service", "postgres-headless", namespace: Self.namespace))
        XCTAssertEqual((headless["spec"] as? [String: Any])?["clusterIP"] as? String, "None")
        XCTAssertEqual(try counts(sb), countsBefore, "the StatefulSet serves the same rows")
        XCTAssertTrue(try sb.psql(Self.dsn, "SELECT version()").hasPrefix("PostgreSQL"))
        let afterFirst = try world(sb)

        let second = try run(sb)
        XCTAssertEqual(second.status, 0, second.text)
        let secondID = try XCTUnwrap(sb.runID(from: second))
        assertSameWorld(afterFirst, try world(sb), "after the second run")

        let rb2 = try sb.runbook(["rollback", secondID, "--yes"])
        XCTAssertEqual(rb2.status, 0, rb2.text)
        assertSameWorld(afterFirst, try world(sb), "after rolling back the second run")
        let rb1 = try sb.runbook(["rollback", firstID, "--yes"])
        XCTAssertEqual(rb1.status, 0, rb1.text)
        // The Deployment was deleted and re-created: only its uid and creationTimestamp are new.
        assertSameWorld(try reWorld(before), try world(sb, recreatedDeployment: true), "after rolling back the first run")
        XCTAssertEqual(try counts(sb), countsBefore)
    }

    /// `before` again but with the Deployment's identity stripped, read fresh from the recorded text.
    private func reWorld(_ text: String) throws -> String {
        guard var w = (try JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return text }
        if let deps = w["deployments"] as? [String: Any] {
            w["deployments"] = deps.mapValues { d -> Any in
                MigrationHarness.normalized((d as? [String: Any]) ?? [:], recreated: true)
            }
        }
        return MigrationHarness.canonical(w)
    }

    func testFailureAtEachMutatingStepRollsEverythingBack() throws {
        let cases: [(step: String, fault: [String])] = [
            // One failure each (a 500 is not retried): the rollback's own requests must get through.
            ("scale-down", ["--target", "kube", "--method", "PATCH", "--path", "deployments/postgres/scale", "--count", "1", "--action", "500"]),
            ("apply-statefulset", ["--target", "kube", "--method", "PATCH", "--path", "statefulsets/postgres", "--count", "1", "--action", "500"]),
            ("delete-deployment", ["--target", "kube", "--method", "DELETE", "--path", "deployments/postgres", "--count", "1", "--action", "500"]),
        ]
        try sb.assertEveryFaultRollsBack(cases, reset: { resetToFixture(sb) }, world: { try world(sb) }, run: { try run(sb) })
    }

    func testStatefulSetThatNeverBecomesReadyRollsBack() throws {
        let before = try world(sb)
        try sb.fault(["--target", "workload", "--path", "observer-prod/postgres-0", "--count", "1000", "--action", "fail"])
        let out = try run(sb, ["--var", "ready_timeout=20s"])
        XCTAssertEqual(out.status, 1, out.text)
        XCTAssertTrue(out.text.contains("wait-statefulset-ready"), out.text)
        try sb.fault(["--clear"])
        assertSameWorld(before, try world(sb), "after the StatefulSet never became ready")
    }

    func testVolumeClaimTemplatesDataLossIsCaughtAndRolledBack() throws {
        let before = try world(sb)
        let countsBefore = try counts(sb)
        let variant = MigrationHarness.repoRoot.appendingPathComponent("fixtures/runbooks/statefulset-volumeclaimtemplates.yaml").path
        let out = try run(sb, ["--var", "statefulset_manifest=\(variant)", "--var", "ready_timeout=60s"])
        XCTAssertEqual(out.status, 1, out.text)
        XCTAssertTrue(out.text.contains("count-rows-after"), "the row-count check catches the empty volume:\n\(out.text)")
        XCTAssertEqual(try counts(sb), countsBefore, "the data is intact")
        XCTAssertNotNil(try sb.object("deployment", "postgres", namespace: Self.namespace))
        XCTAssertNil(try sb.object("statefulset", "postgres", namespace: Self.namespace))
        // Kubernetes keeps claims made from volumeClaimTemplates when their StatefulSet goes (the
        // default retention policy), so the empty claim of the wrong manifest stays; everything
        // else, observer-db-pvc and its data included, is as before.
        XCTAssertNotNil(try sb.object("pvc", "postgres-data-postgres-0", namespace: Self.namespace))
        assertSameWorld(before, try world(sb, ignoringPVC: "postgres-data-postgres-0"), "after the data-loss cutover was rolled back")
    }

    func testKillDuringTheCutoverThenResumeEndsLikeAnUninterruptedRun() throws {
        let before = try world(sb)
        let known = sb.runIDs()
        let (p, o, e) = try sb.startRunbook(["run", "postgres-statefulset-cutover", "--yes", "--output", "json"] + vars)
        XCTAssertTrue(sb.waitForEvent(containing: ["wait-statefulset-ready", "start"], timeout: 120, while: p, excluding: known), "the run never reached wait-statefulset-ready")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let id = try XCTUnwrap(sb.runIDs().subtracting(known).first)
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        let afterResume = try world(sb, acrossRuns: true)

        let rb = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        assertSameWorld(try reWorld(before), try world(sb, recreatedDeployment: true), "after rolling back the resumed run")
        let clean = try run(sb)
        XCTAssertEqual(clean.status, 0, clean.text)
        assertSameWorld(afterResume, try world(sb, acrossRuns: true), "resumed run versus uninterrupted run")
        let rbClean = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: clean)), "--yes"])
        XCTAssertEqual(rbClean.status, 0, rbClean.text)
        assertSameWorld(try reWorld(before), try world(sb, recreatedDeployment: true), "after rolling back the uninterrupted run")
    }

    /// With only a ServiceAccount bound to exactly what `runbook rbac` prints (in-cluster mode, no
    /// kubeconfig): the cutover ends as the admin's ends, `rollback` restores the start, and a run
    /// failing at its last change (deleting the Deployment) rolls everything back.
    func testLeastPrivilegeRunRollbackAndForcedFailure() throws {
        let identity = try sb.sandbox.leastPrivilege(runbook: "postgres-statefulset-cutover", vars: vars, work: sb.dir)
        defer { try? identity.revoke() }
        let before = try world(sb)
        let countsBefore = try counts(sb)

        let admin = try run(sb)
        XCTAssertEqual(admin.status, 0, admin.text)
        let adminWorld = try world(sb, acrossRuns: true)
        let adminBack = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: admin)), "--yes"])
        XCTAssertEqual(adminBack.status, 0, adminBack.text)
        assertSameWorld(try reWorld(before), try world(sb, recreatedDeployment: true), "after rolling back the admin's run")

        let least = try run(sb, env: identity.env)
        XCTAssertEqual(least.status, 0, least.text)
        assertSameWorld(adminWorld, try world(sb, acrossRuns: true), "the least-privilege run versus the admin's run")
        // the prior states holding the password live in the runs namespace, none beside the objects
        let leastID = try XCTUnwrap(sb.runID(from: least))
        func holders(_ ns: String) throws -> Int {
            try sb.objects("secrets", namespace: ns).filter { o in
                let labels = ((o["metadata"] as? [String: Any])?["labels"] as? [String: Any]) ?? [:]
                return labels["runbook.dev/run-id"] as? String == leastID && labels["runbook.dev/prior-kind"] != nil
            }.count
        }
        XCTAssertGreaterThan(try holders("runbook-system"), 0, "no prior-state holder in the runs namespace")
        XCTAssertEqual(try holders(Self.namespace), 0, "a prior-state holder beside the objects")
        let back = try sb.runbook(["rollback", leastID, "--yes"], env: identity.env)
        XCTAssertEqual(back.status, 0, back.text)
        XCTAssertEqual(try holders("runbook-system"), 0, "the rollback leaves prior-state holders behind")
        assertSameWorld(try reWorld(before), try world(sb, recreatedDeployment: true), "after the least-privilege rollback")

        try sb.assertEveryFaultRollsBack(
            [("delete-deployment", ["--target", "kube", "--method", "DELETE", "--path", "deployments/postgres", "--count", "1", "--action", "500"])],
            reset: {}, world: { try world(sb, recreatedDeployment: true) }, run: { try run(sb, env: identity.env) })
        XCTAssertEqual(try counts(sb), countsBefore, "the data is intact")
    }
}

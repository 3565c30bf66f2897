import Foundation
import XCTest

/// deploy- and update-r-analytics run by a ServiceAccount bound to exactly what `runbook rbac`
/// prints for them, with its in-cluster credentials only (no admin kubeconfig): the runs, their
/// automatic rollbacks and `runbook rollback` end as the admin's do.
extension RAnalyticsTests {
    func testServiceAccountWithOnlyTheRbacOutputDeploysRollsBackAndFails() throws {
        // the admin's deploy is the reference end state
        let admin = try deploy(sb)
        XCTAssertEqual(admin.status, 0, admin.text)
        if let t = try sb.gcpLatest(project: Self.project, secret: Self.tokenID) { Self.tokens.append(t) }
        let adminWorld = try Self.world(sb)
        try rollback(sb, admin)
        assertSame(Self.start, try Self.world(sb), "after rolling back the admin's deploy")

        let identity = try sb.sandbox.leastPrivilege(runbook: "runbooks/deploy-r-analytics.yaml", vars: Self.deployVars, work: sb.dir)
        defer { XCTAssertNoThrow(try identity.revoke()) }
        // its dry-runs too: the plan reads and dry-runs every step with those rights
        let plan = try sb.runbook(["plan", "deploy-r-analytics"] + Self.deployVars, env: identity.env)
        XCTAssertEqual(plan.status, 0, plan.text)
        let ok = try deploy(sb, env: identity.env)
        XCTAssertEqual(ok.status, 0, ok.text)
        let token = try noteToken(sb)
        XCTAssertEqual(try health(sb, token: token).0, 200)
        assertSame(Self.withoutRunUniques(adminWorld), Self.withoutRunUniques(try Self.world(sb)), "the ServiceAccount's deploy versus the admin's")
        try rollback(sb, ok, env: identity.env)
        assertSame(Self.start, try Self.world(sb), "after the ServiceAccount rolled its deploy back")

        // a forced failure at the last change (wire-api) rolls everything back with the same rights
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "deployments/seedtest-api", "--count", "100", "--action", "500"])
        let failed = try deploy(sb, env: identity.env)
        try sb.fault(["--clear"])
        XCTAssertEqual(failed.status, 1, failed.text)
        XCTAssertTrue(failed.stdout.split(separator: "\n").contains {
            $0.contains(#""step":"wire-api""#) && $0.contains("step.finished") && $0.contains(#""status":"failed""#)
        }, failed.text)
        XCTAssertFalse(failed.text.contains("Forbidden"), failed.text)
        assertSame(Self.start, try Self.world(sb), "after the ServiceAccount's failed deploy")
    }

    func testServiceAccountWithOnlyTheRbacOutputUpdatesRollsBackAndFails() throws {
        let deployed = try deploy(sb, ["--var", "progress_deadline=3"])
        XCTAssertEqual(deployed.status, 0, deployed.text)
        let token = try noteToken(sb)
        let (rsBefore, templateBefore) = try servingReplicaSet(sb)
        let worldBefore = try Self.world(sb)
        func update(_ image: String, env: [String: String]? = nil) throws -> MigrationHarness.Output {
            try sb.runbook(["run", "update-r-analytics", "--yes", "--output", "json", "--var", "image=gcr.io/univprepai/r-analytics:\(image)",
                            "--var", "rollout_timeout=60s", "--var", "health_timeout=6s"], env: env)
        }
        func rolledOut() throws {
            XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "rollout", "status", "deployment/r-analytics", "--timeout=60s"]).status, 0)
        }
        // the admin's update is the reference end state
        let admin = try update("1.0.1")
        XCTAssertEqual(admin.status, 0, admin.text)
        let adminWorld = try Self.world(sb)
        try rollback(sb, admin)
        try rolledOut()

        let identity = try sb.sandbox.leastPrivilege(runbook: "runbooks/update-r-analytics.yaml",
                                                     vars: ["--var", "image=gcr.io/univprepai/r-analytics:1.0.1"], work: sb.dir)
        defer { XCTAssertNoThrow(try identity.revoke()) }
        let plan = try sb.runbook(["plan", "update-r-analytics", "--var", "image=gcr.io/univprepai/r-analytics:1.0.1"], env: identity.env)
        XCTAssertEqual(plan.status, 0, plan.text)
        // an image that cannot be pulled fails the rollout: the rollback puts the exact template back
        let bad = try update("9.9.9", env: identity.env)
        XCTAssertEqual(bad.status, 1, bad.text)
        XCTAssertTrue(bad.text.contains("exceeded its progress deadline"), bad.text)
        XCTAssertFalse(bad.text.contains("Forbidden"), bad.text)
        try rolledOut()
        XCTAssertEqual(try servingReplicaSet(sb).0, rsBefore, "the previous ReplicaSet serves again")
        XCTAssertEqual(try servingReplicaSet(sb).1, templateBefore)

        let good = try update("1.0.1", env: identity.env)
        XCTAssertEqual(good.status, 0, good.text)
        XCTAssertEqual(try health(sb, token: token).0, 200)
        assertSame(Self.withoutRunUniques(adminWorld), Self.withoutRunUniques(try Self.world(sb)), "the ServiceAccount's update versus the admin's")
        try rollback(sb, good, env: identity.env)
        try rolledOut()
        XCTAssertEqual(try servingReplicaSet(sb).0, rsBefore, "rolling back the update serves the deploy's ReplicaSet again")
        assertSame(worldBefore, try Self.world(sb), "after the ServiceAccount rolled its update back")

        // a restart alone: its rollback (a PUT of the prior Deployment) is in the rbac output too
        let restartFile = MigrationHarness.repoRoot.appendingPathComponent("fixtures/runbooks/rollout/rollout-restart.yaml").path
        let restarter = try sb.sandbox.leastPrivilege(runbook: restartFile, vars: [], work: sb.dir)
        defer { XCTAssertNoThrow(try restarter.revoke()) }
        let restart = try sb.runbook(["run", restartFile, "--yes", "--output", "json"], env: restarter.env)
        XCTAssertEqual(restart.status, 0, restart.text)
        XCTAssertNotEqual(try servingReplicaSet(sb).0, rsBefore)
        try rollback(sb, restart, env: restarter.env)
        try rolledOut()
        XCTAssertEqual(try servingReplicaSet(sb).0, rsBefore, "rolling back the restart serves the same ReplicaSet again")

        try rollback(sb, deployed)
        assertSame(Self.start, try Self.world(sb), "after rolling back update and deploy")
    }
}

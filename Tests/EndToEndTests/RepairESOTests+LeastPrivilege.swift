import Foundation
import XCTest

/// repair-eso-crd-conversion (cluster-scoped CRD patches) run by a ServiceAccount bound to exactly
/// what `runbook rbac` prints for it, with its in-cluster credentials only (no admin kubeconfig):
/// the run, its automatic rollback and `runbook rollback` end as the admin's do.
extension RepairESOTests {
    func testServiceAccountWithOnlyTheRbacOutputRepairsRollsBackAndFails() throws {
        let start = try world(sb)
        // the admin's repair is the reference end state
        let admin = try run(sb)
        XCTAssertEqual(admin.status, 0, admin.text)
        let repaired = try world(sb)
        let rb = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: admin)), "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        assertSameWorld(start, try world(sb), "after rolling back the admin's repair")

        let identity = try sb.sandbox.leastPrivilege(runbook: "runbooks/repair-eso-crd-conversion.yaml", vars: [], work: sb.dir)
        defer { XCTAssertNoThrow(try identity.revoke()) }
        // its dry-runs too: the plan reads and dry-runs every step with those rights
        let plan = try sb.runbook(["plan", "repair-eso-crd-conversion"], env: identity.env)
        XCTAssertEqual(plan.status, 0, plan.text)
        let ok = try run(sb, env: identity.env)
        XCTAssertEqual(ok.status, 0, ok.text)
        assertSameWorld(repaired, try world(sb), "the ServiceAccount's repair versus the admin's")
        for a in Self.apps { XCTAssertEqual(try syncStatus(sb, a), "Synced", a) }
        let rolled = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: ok)), "--yes"], env: identity.env)
        XCTAssertEqual(rolled.status, 0, rolled.text)
        assertSameWorld(start, try world(sb), "after the ServiceAccount rolled its repair back")

        // a forced failure at the last change (the second Application) rolls every CRD and the first
        // Application back with the same rights
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "applications/argocd-config", "--count", "100", "--action", "500"])
        let failed = try run(sb, env: identity.env)
        try sb.fault(["--clear"])
        XCTAssertEqual(failed.status, 1, failed.text)
        XCTAssertTrue(failed.stdout.split(separator: "\n").contains {
            $0.contains(#""step":"ignore-second-app""#) && $0.contains("step.finished") && $0.contains(#""status":"failed""#)
        }, failed.text)
        XCTAssertFalse(failed.text.contains("Forbidden"), failed.text)
        assertSameWorld(start, try world(sb), "after the ServiceAccount's failed repair")
    }
}

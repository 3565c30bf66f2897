import Foundation
import XCTest

/// onboard-eso-aws-ssm run by a ServiceAccount bound to exactly what `runbook rbac` prints for it,
/// with its in-cluster credentials only (no admin kubeconfig): the run, its automatic rollback and
/// `runbook rollback` end as the admin's do.
extension OnboardESOTests {
    func testServiceAccountWithOnlyTheRbacOutputOnboardsRollsBackAndFails() throws {
        let start = try world(sb)
        // the admin's run is the reference end state (objects re-created: new uids)
        let admin = try run(sb)
        XCTAssertEqual(admin.status, 0, admin.text)
        let adminWorld = try world(sb, recreated: true)
        let rb = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: admin)), "--yes"] + Self.secretArgs)
        XCTAssertEqual(rb.status, 0, rb.text)
        assertSameWorld(start, try world(sb), "after rolling back the admin's run")

        // secret vars decide no permission: rbac is asked without them
        let identity = try sb.sandbox.leastPrivilege(runbook: "runbooks/onboard-eso-aws-ssm.yaml", vars: [], work: sb.dir)
        defer { XCTAssertNoThrow(try identity.revoke()) }
        // its dry-runs too: the plan reads and dry-runs every step with those rights
        let plan = try sb.runbook(["plan", "onboard-eso-aws-ssm"] + Self.secretArgs, env: identity.env)
        XCTAssertEqual(plan.status, 0, plan.text)
        let ok = try run(sb, env: identity.env)
        XCTAssertEqual(ok.status, 0, ok.text)
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "OPENAI_API_KEY", namespace: Self.namespace), Self.openAIKey)
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "DATABASE_URL", namespace: Self.namespace), Self.databaseURL)
        assertSameWorld(adminWorld, try world(sb, recreated: true), "the ServiceAccount's run versus the admin's")
        // a new value over the onboarded one: its rollback runs the runbook's own rollback steps
        // (force a sync, wait for it, put the annotation back) with the same rights
        let onboarded = try world(sb)
        let changedArgs = ["--var", "openai_api_key=sk-onboard-changed-77aa01", "--var", "database_url=\(Self.databaseURL)"]
        let changed = try sb.runbook(["run", "onboard-eso-aws-ssm", "--yes", "--output", "json"] + changedArgs, env: identity.env)
        XCTAssertEqual(changed.status, 0, changed.text)
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "OPENAI_API_KEY", namespace: Self.namespace), "sk-onboard-changed-77aa01")
        let unchanged = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: changed)), "--yes"] + changedArgs, env: identity.env)
        XCTAssertEqual(unchanged.status, 0, unchanged.text)
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "OPENAI_API_KEY", namespace: Self.namespace), Self.openAIKey)
        assertSameWorld(onboarded, try world(sb), "after the ServiceAccount rolled the new value back")
        let rolled = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: ok)), "--yes"] + Self.secretArgs, env: identity.env)
        XCTAssertEqual(rolled.status, 0, rolled.text)
        assertSameWorld(start, try world(sb), "after the ServiceAccount rolled its run back")

        // a forced failure at the verification (after every change) rolls everything back with the same rights
        try sb.fault(["--target", "kube", "--method", "GET", "--path", "/api/v1/namespaces/chat/secrets/chat-api-secrets", "--count", "100",
                      "--action", "500"])
        let failed = try run(sb, env: identity.env)
        try sb.fault(["--clear"])
        XCTAssertEqual(failed.status, 1, failed.text)
        XCTAssertTrue(failed.stdout.split(separator: "\n").contains {
            $0.contains(#""step":"read-synced-openai-api-key""#) && $0.contains("step.finished") && $0.contains(#""status":"failed""#)
        }, failed.text)
        XCTAssertFalse(failed.text.contains("Forbidden"), failed.text)
        assertSameWorld(start, try world(sb), "after the ServiceAccount's failed run")
    }
}

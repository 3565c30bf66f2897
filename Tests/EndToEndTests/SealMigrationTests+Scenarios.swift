import Foundation
import XCTest

extension SealMigrationTests {
    /// The id of the run started since `known` (the output shows it masked: the secret user
    /// `observer` is part of the runbook's name), and `known` updated.
    func newRun(_ sb: MigrationHarness, after known: inout Set<String>) throws -> String {
        let now = sb.runIDs()
        let id = try XCTUnwrap(now.subtracting(known).first, "no new run")
        known = now
        return id
    }

    func testPlanWritesNoFileAndChangesNothing() throws {
        let before = try world(sb)
        let out = try run(sb, "plan")
        XCTAssertEqual(out.status, 0, out.text)
        XCTAssertTrue(out.text.contains("sealedsecrets.bitnami.com/managed"), "the plan shows the annotation patch:\n\(out.text)")
        XCTAssertTrue(out.text.contains("create SealedSecret"), "the plan shows the SealedSecret:\n\(out.text)")
        XCTAssertTrue(out.text.contains("sealed-secrets.yaml"), "the plan names the manifest file:\n\(out.text)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: manifest.path), "a plan writes no file")
        assertSame(before, try world(sb), "after plan")
    }

    func testSealAdoptRepeatAndRollBack() throws {
        let before = try world(sb)
        var known = sb.runIDs()
        let first = try run(sb)
        XCTAssertEqual(first.status, 0, first.text)
        let firstID = try newRun(sb, after: &known)

        // The controller decrypted what runbook sealed (Synced, the Secret is its own now) and
        // the committed manifest opens with the controller's key to the Secret's very data.
        let ss = try XCTUnwrap(try sb.object("sealedsecret", "observer-secrets", namespace: Self.namespace))
        let cond = (((ss["status"] as? [String: Any])?["conditions"] as? [[String: Any]]) ?? []).first
        XCTAssertEqual(cond?["type"] as? String, "Synced")
        XCTAssertEqual(cond?["status"] as? String, "True")
        let secret = try XCTUnwrap(try sb.object("secret", "observer-secrets", namespace: Self.namespace))
        XCTAssertEqual(secret["data"] as? [String: String], Self.fixtureData)
        let owner = ((secret["metadata"] as? [String: Any])?["ownerReferences"] as? [[String: Any]])?.first
        XCTAssertEqual(owner?["kind"] as? String, "SealedSecret")
        XCTAssertEqual(owner?["uid"] as? String, (ss["metadata"] as? [String: Any])?["uid"] as? String)
        XCTAssertEqual((secret["metadata"] as? [String: Any])?["labels"] as? [String: String], ["app.kubernetes.io/part-of": "observer-stack"],
                       "the template carried the Secret's labels, so adoption kept them")
        let m = try XCTUnwrap(try manifestObject(sb), "the manifest is in the GitOps directory")
        XCTAssertEqual(m["apiVersion"] as? String, "bitnami.com/v1alpha1")
        XCTAssertEqual(try opened(sb, m), Self.fixtureData)
        let mode = try FileManager.default.attributesOfItem(atPath: manifest.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o644)
        // The sealing key is backed up remotely, restorable: the List holds the cluster's key.
        let backup = try XCTUnwrap(try sb.gcpLatest(project: Self.project, secret: Self.backup))
        XCTAssertTrue(backup.contains("kind: List"), "the backup is a restorable List")
        XCTAssertTrue(backup.contains("sealedsecrets.bitnami.com/sealed-secrets-key"), "the backup keeps the key label")
        let afterFirst = try world(sb)
        let fileBytes = try Data(contentsOf: manifest)

        let second = try run(sb)
        XCTAssertEqual(second.status, 0, second.text)
        XCTAssertEqual(try Data(contentsOf: manifest), fileBytes, "a second run leaves the manifest as it is")
        assertSame(afterFirst, try world(sb), "after the second run")
        let secondID = try newRun(sb, after: &known)
        XCTAssertEqual(try sb.runbook(["rollback", secondID, "--yes"]).status, 0)
        assertSame(afterFirst, try world(sb), "after rolling back the second run")

        let rb = try sb.runbook(["rollback", firstID, "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        try assertHandMadeWithFixtureData(sb)
        XCTAssertFalse(FileManager.default.fileExists(atPath: manifest.path), "the manifest the run created is gone")
        assertSame(before, try world(sb), "after rolling back the first run")
    }

    func testRollbackRestoresAManifestThatWasThereBefore() throws {
        let old = "# placeholder committed before the migration\n"
        try Data(old.utf8).write(to: manifest)
        var known = sb.runIDs()
        let out = try run(sb)
        XCTAssertEqual(out.status, 0, out.text)
        XCTAssertNotEqual(try String(contentsOf: manifest, encoding: .utf8), old)
        let rb = try sb.runbook(["rollback", try newRun(sb, after: &known), "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        XCTAssertEqual(try String(contentsOf: manifest, encoding: .utf8), old)
        try assertHandMadeWithFixtureData(sb)
    }

    /// The key backup can go to AWS Secrets Manager instead (moto), checked with the aws CLI.
    func testBackupToAWSSecretsManager() throws {
        var known = sb.runIDs()
        let out = try run(sb, "run", ["--var", "backup_provider=aws-secretsmanager"])
        XCTAssertEqual(out.status, 0, out.text)
        let got = try aws(sb, ["secretsmanager", "get-secret-value", "--secret-id", Self.backup])
        XCTAssertEqual(got.status, 0, got.text)
        let value = ((try JSONSerialization.jsonObject(with: Data(got.stdout.utf8))) as? [String: Any])?["SecretString"] as? String
        XCTAssertTrue(value?.contains("sealedsecrets.bitnami.com/sealed-secrets-key: active") == true, "the List of active keys is stored")
        XCTAssertEqual(try sb.gcpLatest(project: Self.project, secret: Self.backup), nil, "nothing went to GCP")
        let rb = try sb.runbook(["rollback", try newRun(sb, after: &known), "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        XCTAssertNotEqual(try aws(sb, ["secretsmanager", "get-secret-value", "--secret-id", Self.backup]).status, 0, "the backup the run created is gone")
        try assertHandMadeWithFixtureData(sb)
    }

    func aws(_ sb: MigrationHarness, _ args: [String]) throws -> MigrationHarness.Output {
        var env = sb.env
        env["AWS_DEFAULT_REGION"] = sb.env["AWS_REGION"]
        return try MigrationHarness.exec("/usr/bin/env", ["aws", "--endpoint-url", sb.env["AWS_ENDPOINT_URL"] ?? "", "--output", "json"] + args, env: env)
    }

    /// Sealed to a certificate whose key the controller does not have: it cannot unseal, the
    /// wait fails with the controller's reason, and the run rolls back with the data intact.
    func testSealedForAnotherKeyFailsToUnsealAndRollsBack() throws {
        let before = try world(sb)
        let foreign = try String(contentsOf: MigrationHarness.repoRoot.appendingPathComponent("fixtures/sealing/test-cert.pem"), encoding: .utf8)
        let out = try run(sb, "run", ["--var", "certificate=\(foreign)", "--var", "sync_timeout=3s"])
        XCTAssertEqual(out.status, 1, out.text)
        XCTAssertTrue(out.text.contains("no key could decrypt secret"), "the controller's reason is shown:\n\(out.text)")
        try assertHandMadeWithFixtureData(sb)
        assertSame(before, try world(sb), "after the failed unseal was rolled back")
    }

    /// Sealed for another name, or for another scope, then applied as a strict observer-secrets
    /// (what a renaming overlay, or a lost scope annotation, does): the label does not match,
    /// nothing is adopted, everything rolls back.
    func testNameOrScopeMismatchFailsToUnsealAndRollsBack() throws {
        let before = try world(sb)
        let original = try String(contentsOf: MigrationHarness.repoRoot.appendingPathComponent("runbooks/seal-observer-secrets.yaml"), encoding: .utf8)
        for (what, name, scope) in [("name", "${{ vars.secret }}-v2", "${{ vars.scope }}"), ("scope", "${{ vars.secret }}", "namespace-wide")] {
            // The seal step seals for that name or scope; the apply step builds a strict SealedSecret.
            var variant = original.replacingOccurrences(of: """
                  namespace: "${{ vars.namespace }}"
                  name: "${{ vars.secret }}"
                  scope: "${{ vars.scope }}"
            """, with: """
                  namespace: "${{ vars.namespace }}"
                  name: "\(name)"
                  scope: "\(scope)"
            """)
            variant = variant.replacingOccurrences(of: """
                  objects: ["${{ steps.seal.outputs.sealed }}"]
            """, with: """
                  objects:
                    - apiVersion: bitnami.com/v1alpha1
                      kind: SealedSecret
                      metadata: { name: "${{ vars.secret }}", namespace: "${{ vars.namespace }}" }
                      spec:
                        encryptedData: "${{ steps.seal.outputs.sealed.spec.encryptedData }}"
                        template: { metadata: { name: "${{ vars.secret }}", namespace: "${{ vars.namespace }}" }, type: Opaque }
            """)
            XCTAssertEqual(variant.components(separatedBy: "encryptedData: \"${{").count, 2, "\(what): the apply step was rewritten")
            XCTAssertTrue(variant.contains("scope: \"\(scope)\"\n") && variant.contains("name: \"\(name)\"\n"), "\(what): the seal step was rewritten")
            let path = sb.dir.appendingPathComponent("seal-observer-secrets.yaml")
            try Data(variant.utf8).write(to: path)
            let out = try sb.runbook(["run", path.path, "--yes", "--output", "json", "--var", "gitops_dir=\(gitops.path)", "--var", "sync_timeout=3s"])
            XCTAssertEqual(out.status, 1, "\(what): \(out.text)")
            XCTAssertTrue(out.text.contains("no key could decrypt secret"), "\(what): the controller's reason is shown:\n\(out.text)")
            try assertHandMadeWithFixtureData(sb)
            assertSame(before, try world(sb), "after the mismatched \(what) was rolled back")
        }
    }

    /// kill -9 as each mutating step starts, then resume: the end state is the one of an
    /// uninterrupted run, and a rollback brings the start back.
    func testKillAtEachStepThenResume() throws {
        let start = try world(sb)
        var known = sb.runIDs()
        let reference = try run(sb)
        XCTAssertEqual(reference.status, 0, reference.text)
        let done = try world(sb)
        XCTAssertEqual(try sb.runbook(["rollback", try newRun(sb, after: &known), "--yes"]).status, 0)
        for step in ["backup-sealing-key", "seal", "write-manifest", "mark-managed", "apply-sealed", "wait-synced", "verify-unchanged"] {
            assertSame(start, try world(sb), "before killing at \(step)")
            let known = sb.runIDs()
            let (p, o, e) = try sb.startRunbook(["run", "seal-observer-secrets", "--yes", "--output", "json", "--var", "gitops_dir=\(gitops.path)"])
            let reached = sb.waitForEvent(containing: ["\"\(step)\"", "start"], timeout: 60, while: p, excluding: known)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            sb.collect(o, e)
            XCTAssertTrue(reached, "the run never reached \(step)")
            guard let id = sb.runIDs().subtracting(known).first else { XCTFail("no run of \(step)"); continue }
            // The checkpoint as a reader sees it (state.json plus the journal): a kill right after the
            // last step may leave "succeeded" in the journal only.
            let status = sb.runStatus(id).0
            if status == "succeeded" {
                // The last step can finish before the signal lands: then the run simply completed.
                XCTAssertEqual(step, "verify-unchanged", "only the last step may finish before the kill")
            } else {
                let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
                XCTAssertEqual(resumed.status, 0, "\(step): \(resumed.text)")
            }
            assertSame(done, try world(sb), "after kill at \(step) and resume")
            let rb = try sb.runbook(["rollback", id, "--yes"])
            XCTAssertEqual(rb.status, 0, "\(step): \(rb.text)")
        }
        assertSame(start, try world(sb), "after the last rollback")
    }

    /// With only a ServiceAccount bound to exactly what `runbook rbac` prints (in-cluster mode, no
    /// kubeconfig; the stores' credentials as before): the migration ends as the admin's ends,
    /// `rollback` restores the hand-made Secret, and a run failing at applying the SealedSecret
    /// rolls everything back.
    func testLeastPrivilegeRunRollbackAndForcedFailure() throws {
        let identity = try sb.sandbox.leastPrivilege(runbook: "seal-observer-secrets", vars: ["--var", "gitops_dir=\(gitops.path)"], work: sb.dir)
        defer { try? identity.revoke() }
        let before = try world(sb)
        var known = sb.runIDs()

        let admin = try run(sb)
        XCTAssertEqual(admin.status, 0, admin.text)
        let adminWorld = try world(sb)
        let adminBack = try sb.runbook(["rollback", try newRun(sb, after: &known), "--yes"])
        XCTAssertEqual(adminBack.status, 0, adminBack.text)
        assertSame(before, try world(sb), "after rolling back the admin's run")

        let least = try sb.runbook(["run", "seal-observer-secrets", "--yes", "--output", "json", "--var", "gitops_dir=\(gitops.path)"], env: identity.env)
        XCTAssertEqual(least.status, 0, least.text)
        assertSame(adminWorld, try world(sb), "the least-privilege run versus the admin's run")
        let back = try sb.runbook(["rollback", try newRun(sb, after: &known), "--yes"], env: identity.env)
        XCTAssertEqual(back.status, 0, back.text)
        try assertHandMadeWithFixtureData(sb)
        assertSame(before, try world(sb), "after the least-privilege rollback")

        try sb.assertEveryFaultRollsBack(
            [("apply-sealed", ["--target", "kube", "--method", "PATCH", "--path", "sealedsecrets", "--count", "100", "--action", "500"])],
            reset: {}, world: { try world(sb) },
            run: { try sb.runbook(["run", "seal-observer-secrets", "--yes", "--output", "json", "--var", "gitops_dir=\(gitops.path)"], env: identity.env) })
        try assertHandMadeWithFixtureData(sb)
    }
}

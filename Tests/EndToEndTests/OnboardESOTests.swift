import Foundation
import XCTest

/// `runbooks/onboard-eso-aws-ssm.yaml` (seed 002) end to end through the built binary, against
/// one sandbox (fixture eso-aws). Every test starts with no ClusterSecretStore aws-ssm-store, no
/// SSM parameters and no ExternalSecret; witnesses are the real kubectl and curl against moto's SSM API.
final class OnboardESOTests: MigrationTestCase {
    override class var fixtures: [String] { ["eso-aws"] }

    static let namespace = "chat"
    static let parameters = ["/ecoeco/prod/openai-api-key", "/ecoeco/prod/database-url"]
    static let openAIKey = "sk-onboard-openai-5f1c2a9e"
    static let databaseURL = "postgresql://chat:onboard-pw-83d1@db.chat:5432/chat"
    static var secretArgs: [String] { ["--var", "openai_api_key=\(openAIKey)", "--var", "database_url=\(databaseURL)"] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        reset(sb)
    }

    override func tearDown() {
        sb?.assertNoSecretLeaks([Self.openAIKey, Self.databaseURL, "sk-onboard-changed-77aa01", "sandbox-secret-key"])
        super.tearDown()
    }

    /// The start of every test: nothing onboarded yet.
    private func reset(_ sb: MigrationHarness) {
        try? sb.fault(["--clear"])
        sb.forgetUnfinishedRuns()
        _ = try? sb.kubectl(["-n", Self.namespace, "delete", "externalsecrets.external-secrets.io", "chat-api-secrets", "--ignore-not-found"])
        _ = try? sb.kubectl(["-n", Self.namespace, "delete", "secret", "chat-api-secrets", "--ignore-not-found"])
        _ = try? sb.kubectl(["delete", "clustersecretstores.external-secrets.io", "aws-ssm-store", "--ignore-not-found"])
        _ = try? ssm(sb, "DeleteParameters", ["Names": Self.parameters])
    }

    // MARK: helpers

    /// A call to SSM on moto with curl (moto reads the region from the credential scope and does
    /// not check signatures): the parsed JSON answer.
    private func ssm(_ sb: MigrationHarness, _ target: String, _ body: [String: Any]) throws -> [String: Any] {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let out = try MigrationHarness.exec("/usr/bin/env", [
            "curl", "-sS", "-X", "POST", (sb.env["AWS_ENDPOINT_URL"] ?? "") + "/", "-H", "X-Amz-Target: AmazonSSM.\(target)",
            "-H", "Content-Type: application/x-amz-json-1.1",
            "-H", "Authorization: AWS4-HMAC-SHA256 Credential=sandbox/20260101/ap-northeast-2/ssm/aws4_request, SignedHeaders=host, Signature=0",
            "-d", json,
        ], env: sb.env, timeout: 60)
        guard out.status == 0, let doc = (try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any] else {
            throw MigrationHarness.HarnessError.failed("SSM \(target): \(out.text)")
        }
        return doc
    }

    /// Both parameters' values as SSM returns them (absent ones missing).
    func parameters(_ sb: MigrationHarness) throws -> [String: String] {
        let doc = try ssm(sb, "GetParameters", ["Names": Self.parameters, "WithDecryption": true])
        var values: [String: String] = [:]
        for p in (doc["Parameters"] as? [[String: Any]]) ?? [] {
            if let n = p["Name"] as? String, let v = p["Value"] as? String { values[n] = v }
        }
        return values
    }

    /// What the runbook may touch: the parameters as they read (digests), the ClusterSecretStore,
    /// the ExternalSecret and the Secrets of the namespace.
    func world(_ sb: MigrationHarness, recreated: Bool = false) throws -> String {
        var w: [String: Any] = [:]
        let values = try parameters(sb)
        for p in Self.parameters { w["ssm " + p] = values[p].map { "sha:" + MigrationHarness.digest($0) } ?? "absent" }
        w["store"] = try sb.object("clustersecretstores.external-secrets.io", "aws-ssm-store", namespace: "default")
            .map { MigrationHarness.normalized($0, recreated: recreated) } ?? NSNull()
        for kind in ["externalsecrets.external-secrets.io", "secrets"] {
            var byName: [String: Any] = [:]
            for o in try sb.objects(kind, namespace: Self.namespace) {
                byName[((o["metadata"] as? [String: Any])?["name"] as? String) ?? "?"] = MigrationHarness.normalized(o, recreated: recreated)
            }
            w[kind] = byName
        }
        return MigrationHarness.canonical(w)
    }

    /// `run onboard-eso-aws-ssm` as the admin, or with `env` (a least-privilege identity's) only.
    func run(_ sb: MigrationHarness, _ extra: [String] = [], env: [String: String]? = nil) throws -> MigrationHarness.Output {
        try sb.runbook(["run", "onboard-eso-aws-ssm", "--yes", "--output", "json"] + Self.secretArgs + extra, env: env)
    }

    func assertSameWorld(_ before: String, _ after: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if before != after { XCTFail("\(what): the cluster or SSM differ\n\(MigrationHarness.diff(before, after))", file: file, line: line) }
    }

    // MARK: tests

    func testPlanChangesNothing() throws {
        let before = try world(sb)
        let out = try sb.runbook(["plan", "onboard-eso-aws-ssm"] + Self.secretArgs)
        XCTAssertEqual(out.status, 0, out.text)
        XCTAssertTrue(out.text.contains("create SSM parameter /ecoeco/prod/openai-api-key"), out.text)
        XCTAssertTrue(out.text.contains("create ClusterSecretStore"), out.text)
        XCTAssertTrue(out.text.contains("create ExternalSecret chat/chat-api-secrets"), out.text)
        assertSameWorld(before, try world(sb), "after plan")
    }

    func testRunOnboardsRepeatsHarmlesslyAndRollbackRestoresTheStart() throws {
        let start = try world(sb)
        let first = try run(sb)
        XCTAssertEqual(first.status, 0, first.text)
        let firstID = try XCTUnwrap(sb.runID(from: first))
        XCTAssertEqual(try parameters(sb), [Self.parameters[0]: Self.openAIKey, Self.parameters[1]: Self.databaseURL])
        XCTAssertNotNil(try sb.object("clustersecretstores.external-secrets.io", "aws-ssm-store", namespace: "default"))
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "OPENAI_API_KEY", namespace: Self.namespace), Self.openAIKey)
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "DATABASE_URL", namespace: Self.namespace), Self.databaseURL)
        let es = try XCTUnwrap(try sb.object("externalsecrets.external-secrets.io", "chat-api-secrets", namespace: Self.namespace))
        let conditions = ((es["status"] as? [String: Any])?["conditions"] as? [[String: Any]]) ?? []
        XCTAssertTrue(conditions.contains { $0["type"] as? String == "Ready" && $0["reason"] as? String == "SecretSynced" }, "\(conditions)")
        let onboarded = try world(sb)

        // A second run changes nothing; rolling it back changes nothing either.
        let second = try run(sb)
        XCTAssertEqual(second.status, 0, second.text)
        assertSameWorld(onboarded, try world(sb), "after the second run")
        let rb2 = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: second)), "--yes"] + Self.secretArgs)
        XCTAssertEqual(rb2.status, 0, rb2.text)
        assertSameWorld(onboarded, try world(sb), "after rolling back the second run")

        // A new value for a key that exists: SSM and the synced Secret get it; its rollback brings
        // both back at once (not at the next refreshInterval).
        let changed = try sb.runbook(["run", "onboard-eso-aws-ssm", "--yes", "--output", "json",
                                      "--var", "openai_api_key=sk-onboard-changed-77aa01", "--var", "database_url=\(Self.databaseURL)"])
        XCTAssertEqual(changed.status, 0, changed.text)
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "OPENAI_API_KEY", namespace: Self.namespace), "sk-onboard-changed-77aa01")
        let rb3 = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: changed)), "--yes",
                                  "--var", "openai_api_key=sk-onboard-changed-77aa01", "--var", "database_url=\(Self.databaseURL)"])
        XCTAssertEqual(rb3.status, 0, rb3.text)
        XCTAssertEqual(try parameters(sb)[Self.parameters[0]], Self.openAIKey)
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "OPENAI_API_KEY", namespace: Self.namespace), Self.openAIKey)
        assertSameWorld(onboarded, try world(sb), "after rolling back the changed value")

        let rb1 = try sb.runbook(["rollback", firstID, "--yes"] + Self.secretArgs)
        XCTAssertEqual(rb1.status, 0, rb1.text)
        assertSameWorld(start, try world(sb), "after rolling back the first run")
    }

    func testEachFailingPreflightNamesTheFixAndChangesNothing() throws {
        let before = try world(sb)
        func expectRefusal(_ fix: String, _ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
            let out = try run(sb, extra)
            XCTAssertEqual(out.status, 1, out.text, file: file, line: line)
            XCTAssertTrue(out.text.contains(fix), "the failure says how to fix it (\(fix)):\n\(out.text)", file: file, line: line)
            XCTAssertFalse(out.stdout.split(separator: "\n").contains { $0.contains("step.started") && $0.contains("put-openai-api-key") },
                           "nothing ran after the preflight", file: file, line: line)
            assertSameWorld(before, try world(sb), "after a refused preflight", file: file, line: line)
        }
        // The CRD does not serve the version asked for.
        try expectRefusal("run with --var eso_version=<a served version>", ["--var", "eso_version=v9"])

        // The operator is gone.
        let deployment = try XCTUnwrap(try sb.object("deployment", "external-secrets", namespace: "external-secrets"))
        XCTAssertEqual(try sb.kubectl(["-n", "external-secrets", "delete", "deployment", "external-secrets"]).status, 0)
        try expectRefusal("install or repair External Secrets Operator")
        XCTAssertEqual(try sb.kubectl(["create", "-f", "-"], stdin: MigrationHarness.canonical(fresh(deployment))).status, 0)

        // The operator's ServiceAccount may not write Secrets.
        let binding = try XCTUnwrap(try sb.object("clusterrolebinding", "external-secrets-controller", namespace: "default"))
        XCTAssertEqual(try sb.kubectl(["delete", "clusterrolebinding", "external-secrets-controller"]).status, 0)
        try expectRefusal("grants create/update on secrets")
        XCTAssertEqual(try sb.kubectl(["create", "-f", "-"], stdin: MigrationHarness.canonical(fresh(binding))).status, 0)

        // The store's credentials are missing.
        let credentials = try XCTUnwrap(try sb.object("secret", "aws-global-credentials", namespace: "kube-system"))
        XCTAssertEqual(try sb.kubectl(["-n", "kube-system", "delete", "secret", "aws-global-credentials"]).status, 0)
        try expectRefusal("create secret generic aws-global-credentials")
        XCTAssertEqual(try sb.kubectl(["create", "-f", "-"], stdin: MigrationHarness.canonical(fresh(credentials))).status, 0)
    }

    /// An object as read, ready to be created again.
    private func fresh(_ obj: [String: Any]) -> [String: Any] {
        var o = obj
        var meta = (o["metadata"] as? [String: Any]) ?? [:]
        for k in ["resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"] { meta.removeValue(forKey: k) }
        o["metadata"] = meta
        o.removeValue(forKey: "status")
        return o
    }

    func testFailureAtEachMutatingStepRollsBackToTheStart() throws {
        // The kube API faults: the store's apply, the ExternalSecret's apply, and reading the synced
        // Secret back (after force-sync, so every mutating step has to be undone).
        let cases: [(step: String, fault: [String])] = [
            ("apply-store", ["--target", "kube", "--method", "PATCH", "--path", "clustersecretstores/aws-ssm-store", "--count", "100", "--action", "500"]),
            ("apply-external-secret", ["--target", "kube", "--method", "PATCH", "--path", "externalsecrets/chat-api-secrets", "--count", "100", "--action", "500"]),
            ("read-synced-openai-api-key", ["--target", "kube", "--method", "GET", "--path", "/api/v1/namespaces/chat/secrets/chat-api-secrets", "--count", "100", "--action", "500"]),
        ]
        try sb.assertEveryFaultRollsBack(cases, reset: { reset(sb) }, world: { try world(sb) }, run: { try run(sb) })
        // SSM refuses a parameter name AWS reserves: at the first write nothing is left; at the
        // second, the first parameter is taken back.
        try sb.assertEveryFaultRollsBack([("put-openai-api-key", ["--clear"])], reset: { reset(sb) }, world: { try world(sb) },
                                         run: { try run(sb, ["--var", "openai_api_key_parameter=/aws/reserved/openai-api-key"]) })
        try sb.assertEveryFaultRollsBack([("put-database-url", ["--clear"])], reset: { reset(sb) }, world: { try world(sb) },
                                         run: { try run(sb, ["--var", "database_url_parameter=/aws/reserved/database-url"]) })
    }

    func testCanIAnswersForTheRunAndForOtherSubjects() throws {
        let out = try sb.runbook(["run", "fixtures/runbooks/can-i/can-i.yaml", "--yes", "--output", "json"])
        XCTAssertEqual(out.status, 0, out.text)
        let lines = out.stdout.split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.contains(#""step":"operator-update-secrets""#) && $0.contains("RBAC: allowed by ClusterRoleBinding") },
                      "the reason is the authorizer's:\n\(out.text)")
        XCTAssertTrue(lines.contains { $0.contains(#""step":"stranger-delete-crds""#) && $0.contains("may not delete customresourcedefinitions") },
                      out.text)
    }

    func testKillDuringTheRunThenResumeEndsLikeAnUninterruptedRun() throws {
        let start = try world(sb)
        // Slow the ExternalSecret's apply so the kill lands while it is in flight.
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "externalsecrets/chat-api-secrets", "--count", "1", "--action", "slow", "--delay", "3"])
        let known = sb.runIDs()
        let (p, o, e) = try sb.startRunbook(["run", "onboard-eso-aws-ssm", "--yes", "--output", "json"] + Self.secretArgs)
        XCTAssertTrue(sb.waitForEvent(containing: ["apply-external-secret", "step.started"], timeout: 60, while: p, excluding: known),
                      "the run never reached apply-external-secret")
        // the apply is in flight: the sandbox took the slow rule and holds the PATCH
        XCTAssertTrue(try sb.sandbox.waitForFault(path: "externalsecrets/chat-api-secrets", fired: 1, timeout: 60), "the PATCH never reached the API server")
        let serverSockets = sb.apiServerSockets(of: p.processIdentifier)
        XCTAssertFalse(serverSockets.isEmpty, "the run has no connection to the API server")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        // the slowed request lands (as it would at once on a real server) before the resume
        XCTAssertTrue(sb.waitUntilAPIServerClosed(serverSockets, timeout: 60), "the API server still holds the killed run's PATCH")
        let id = try XCTUnwrap(sb.runIDs().subtracting(known).first)
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"] + Self.secretArgs)
        XCTAssertEqual(resumed.status, 0, resumed.text)
        let afterResume = try world(sb, recreated: true)
        XCTAssertEqual(try sb.secretValue("chat-api-secrets", key: "DATABASE_URL", namespace: Self.namespace), Self.databaseURL)

        let rb = try sb.runbook(["rollback", id, "--yes"] + Self.secretArgs)
        XCTAssertEqual(rb.status, 0, rb.text)
        assertSameWorld(start, try world(sb), "after rolling back the resumed run")
        let clean = try run(sb)
        XCTAssertEqual(clean.status, 0, clean.text)
        assertSameWorld(afterResume, try world(sb, recreated: true), "resumed run versus uninterrupted run")
    }
}

import Foundation
import XCTest

/// `runbooks/deploy-r-analytics.yaml` and `update-r-analytics.yaml` end to end through the built
/// binary, against one sandbox (fixture r-analytics), checked with kubectl, curl through the API
/// server's service proxy and the GCP emulator. Every test starts from the fixture's state and
/// leaves it so (its runs are rolled back).
final class RAnalyticsTests: MigrationTestCase {
    override class var fixtures: [String] { ["r-analytics"] }
    nonisolated(unsafe) static var start = ""
    /// Every token the tests saw, for the leak scan.
    nonisolated(unsafe) static var tokens: [String] = []

    static let namespace = "seedtest"
    static let project = "univprepai"
    static let tokenID = "r-analytics-internal-token"
    static let goodImage = "gcr.io/univprepai/r-analytics:1.0.0"

    override class func noteFixture(_ sb: MigrationHarness) throws { start = try world(sb) }

    override func setUpWithError() throws {
        try super.setUpWithError()
        sb.forgetUnfinishedRuns()
    }

    override func tearDown() {
        if let sb {
            if let t = try? sb.gcpLatest(project: Self.project, secret: Self.tokenID) { Self.tokens.append(t) }
            sb.assertNoSecretLeaks(Self.tokens)
        }
        super.tearDown()
    }

    // MARK: helpers

    /// What the runbooks touch: the namespace's objects (without identities, status and the
    /// revision numbers the Deployment controller moves) and GCP Secret Manager.
    static func world(_ sb: MigrationHarness) throws -> String {
        var w: [String: Any] = [:]
        for kind in ["deployments", "services", "servicemonitors", "externalsecrets", "secretstores", "secrets", "configmaps"] {
            var byName: [String: Any] = [:]
            for o in try sb.objects(kind, namespace: namespace) {
                var n = MigrationHarness.normalized(o, recreated: true)
                if var meta = n["metadata"] as? [String: Any], var ann = meta["annotations"] as? [String: Any] {
                    ann.removeValue(forKey: "deployment.kubernetes.io/revision")
                    meta["annotations"] = ann.isEmpty ? nil : ann
                    n["metadata"] = meta
                }
                byName[((o["metadata"] as? [String: Any])?["name"] as? String) ?? "?"] = n
            }
            w[kind] = byName
        }
        w["gcp"] = try sb.gcpSnapshot(project: project)
        return MigrationHarness.canonical(w)
    }

    func assertSame(_ a: String, _ b: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if a != b { XCTFail("\(what): the cluster or GCP differ\n\(MigrationHarness.diff(a, b))", file: file, line: line) }
    }

    /// The vars every deploy of these tests passes (short timeouts).
    static let deployVars = ["--var", "image=\(goodImage)", "--var", "health_timeout=6s", "--var", "rollout_timeout=60s",
                             "--var", "sync_timeout=20s"]

    /// The token the last run stored in Secret Manager, noted for the leak scans.
    func noteToken(_ sb: MigrationHarness, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let token = try XCTUnwrap(try sb.gcpLatest(project: Self.project, secret: Self.tokenID), "no token stored", file: file, line: line)
        Self.tokens.append(token)
        return token
    }

    /// `run deploy-r-analytics` as the admin, or with `env` (a least-privilege identity's) only.
    func deploy(_ sb: MigrationHarness, _ vars: [String] = [], env: [String: String]? = nil) throws -> MigrationHarness.Output {
        try sb.runbook(["run", "deploy-r-analytics", "--yes", "--output", "json"] + Self.deployVars + vars, env: env)
    }

    func rollback(_ sb: MigrationHarness, _ out: MigrationHarness.Output, env: [String: String]? = nil,
                  file: StaticString = #filePath, line: UInt = #line) throws {
        let rb = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: out), file: file, line: line), "--yes"], env: env)
        XCTAssertEqual(rb.status, 0, rb.text, file: file, line: line)
    }

    /// A world without what differs from run to run by design: each deploy mints its own token
    /// (its digests, ESO's hash of the data) and each restart stamps its own time.
    static func withoutRunUniques(_ s: String) -> String {
        s.replacingOccurrences(of: #""latest" : "sha:[0-9a-f]+""#, with: "\"latest\" : \"sha:…\"", options: .regularExpression)
            .replacingOccurrences(of: #""token" : "sha:[0-9a-f]+""#, with: "\"token\" : \"sha:…\"", options: .regularExpression)
            .replacingOccurrences(of: #""reconcile.external-secrets.io\\/data-hash" : "[0-9a-f]+""#, with: "data-hash", options: .regularExpression)
            .replacingOccurrences(of: #""kubectl.kubernetes.io\\/restartedAt" : "[^"]+""#, with: "restartedAt", options: .regularExpression)
    }

    /// GET /health through the API server's service proxy with curl and the admin certificate.
    func health(_ sb: MigrationHarness, token: String?) throws -> (Int, String) {
        let pki = sb.dir.appendingPathComponent("pki").path
        let server = sb.sandboxInfo["server"] as? String ?? ""
        var args = ["curl", "-s", "-w", "\n%{http_code}", "--cacert", "\(pki)/ca.crt", "--cert", "\(pki)/admin.crt", "--key", "\(pki)/admin.key",
                    "\(server)/api/v1/namespaces/\(Self.namespace)/services/r-analytics:http/proxy/health"]
        if let token { args += ["-H", "X-Internal-Token: \(token)"] }
        let out = try MigrationHarness.exec("/usr/bin/env", args, env: sb.env, timeout: 30)
        var lines = out.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.popLast() ?? "") ?? 0
        return (code, lines.joined(separator: "\n"))
    }

    /// The ReplicaSet that serves (replicas > 0) and its pod template without the hash label.
    func servingReplicaSet(_ sb: MigrationHarness) throws -> (String, String) {
        let rss = try sb.objects("replicasets", namespace: Self.namespace).filter {
            (($0["metadata"] as? [String: Any])?["labels"] as? [String: Any])?["app"] as? String == "r-analytics"
                && (($0["spec"] as? [String: Any])?["replicas"] as? Int ?? 0) > 0
        }
        XCTAssertEqual(rss.count, 1, "one ReplicaSet serves")
        let rs = try XCTUnwrap(rss.first)
        var tpl = (rs["spec"] as? [String: Any])?["template"] as? [String: Any] ?? [:]
        var meta = tpl["metadata"] as? [String: Any] ?? [:]
        var labels = meta["labels"] as? [String: Any] ?? [:]
        labels.removeValue(forKey: "pod-template-hash")
        meta["labels"] = labels
        tpl["metadata"] = meta
        return (((rs["metadata"] as? [String: Any])?["name"] as? String) ?? "", MigrationHarness.canonical(tpl))
    }

    // MARK: tests

    func testPlanShowsTheDiffsAndChangesNothing() throws {
        let out = try sb.runbook(["plan", "deploy-r-analytics", "--var", "image=\(Self.goodImage)"])
        XCTAssertEqual(out.status, 0, out.text)
        XCTAssertTrue(out.stdout.contains("create ExternalSecret seedtest/r-analytics-credentials"), out.stdout)
        XCTAssertTrue(out.stdout.contains("+ R_ANALYTICS_BASE_URL") || out.stdout.contains("R_ANALYTICS_BASE_URL"), out.stdout)
        XCTAssertTrue(out.stdout.contains("generate a random 43-character base64 value"), out.stdout)
        assertSame(Self.start, try Self.world(sb), "after plan")
    }

    func testDeployServesWithTheTokenRepeatsHarmlesslyAndRollsBackToTheStart() throws {
        let first = try deploy(sb)
        XCTAssertEqual(first.status, 0, first.text)
        let token = try XCTUnwrap(try sb.gcpLatest(project: Self.project, secret: Self.tokenID), "the token is in Secret Manager")
        Self.tokens.append(token)
        XCTAssertEqual(token.count, 43)
        XCTAssertEqual(try sb.secretValue("r-analytics-credentials", key: "token", namespace: Self.namespace), token, "ESO synced it")
        XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "rollout", "status", "deployment/r-analytics", "--timeout=5s"]).status, 0)
        let (code, body) = try health(sb, token: token)
        XCTAssertEqual(code, 200)
        XCTAssertTrue(body.contains("\"token\": \"valid\""), body)
        XCTAssertEqual(try health(sb, token: "not-the-token").0, 401)
        let api = try sb.kubectl(["-n", Self.namespace, "get", "deployment", "seedtest-api", "-o",
                                  "jsonpath={.spec.template.spec.containers[0].env[?(@.name==\"R_ANALYTICS_TOKEN\")].valueFrom.secretKeyRef.name}"])
        XCTAssertEqual(api.stdout, "r-analytics-credentials")
        XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "get", "servicemonitor", "r-analytics", "-o", "jsonpath={.spec.endpoints[0].port}"]).stdout, "http")
        let deployed = try Self.world(sb)

        let second = try deploy(sb)
        XCTAssertEqual(second.status, 0, second.text)
        assertSame(deployed, try Self.world(sb), "a second run")
        XCTAssertEqual(try sb.gcpLatest(project: Self.project, secret: Self.tokenID), token, "a second run mints no second token")
        try rollback(sb, second)
        assertSame(deployed, try Self.world(sb), "rolling back the run that changed nothing")
        try rollback(sb, first)
        assertSame(Self.start, try Self.world(sb), "after rolling back the deploy")
    }

    func testHTTPRequestToAURLSendsReadsInPlanAndWritesOnlyInARun() throws {
        let file = MigrationHarness.repoRoot.appendingPathComponent("fixtures/runbooks/http/http-url.yaml").path
        var endpoint = sb.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"] ?? ""
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        let token = sb.env["CLOUDSDK_AUTH_ACCESS_TOKEN"] ?? ""
        Self.tokens.append(token)
        let vars = ["--var", "endpoint=\(endpoint)", "--var", "token=\(token)"]
        let plan = try sb.runbook(["plan", file] + vars)
        XCTAssertEqual(plan.status, 0, plan.text)
        XCTAssertTrue(plan.stdout.contains("GET \(endpoint)/v1/projects/univprepai/secrets: 200 (expectation met)"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("POST \(endpoint)/v1/projects/univprepai/secrets (headers: Authorization) with a 32-byte body"), plan.stdout)
        XCTAssertEqual(try sb.gcp("v1/projects/univprepai/secrets/made-by-http-request").0, 404, "plan sent no POST")
        let run = try sb.runbook(["run", file, "--yes"] + vars)
        XCTAssertEqual(run.status, 0, run.text)
        XCTAssertEqual(try sb.gcp("v1/projects/univprepai/secrets/made-by-http-request").0, 200, "the run sent the POST")
        let again = try sb.runbook(["run", file, "--yes"] + vars)
        XCTAssertEqual(again.status, 1, "a second POST gets 409 and the expectation says so: \(again.text)")
        XCTAssertTrue(again.text.contains("expected status 200, got 409"), again.text)
        XCTAssertEqual(try sb.gcp("v1/projects/univprepai/secrets/made-by-http-request", method: "DELETE").0, 200)
    }

    func testKillDuringARestartWhoseResponseIsLostThenResumeMakesOneNewRevision() throws {
        let deployed = try deploy(sb)
        XCTAssertEqual(deployed.status, 0, deployed.text)
        if let t = try sb.gcpLatest(project: Self.project, secret: Self.tokenID) { Self.tokens.append(t) }
        let (rsBefore, templateBefore) = try servingReplicaSet(sb)
        let countBefore = try sb.objects("replicasets", namespace: Self.namespace).count
        // The API server holds the restart's PATCH for 3 s and then processes it: the client is gone by then, and
        // the resumed attempt and the rollback come before it (the late PATCH must not land over them).
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "deployments/r-analytics", "--count", "1", "--action", "slow", "--delay", "3"])
        let known = sb.runIDs()
        let file = MigrationHarness.repoRoot.appendingPathComponent("fixtures/runbooks/rollout/rollout-restart.yaml").path
        let (p, o, e) = try sb.startRunbook(["run", file, "--yes", "--output", "json"])
        XCTAssertTrue(sb.waitForEvent(containing: ["step.started", "\"step\":\"restart\""], timeout: 60, while: p, excluding: known))
        XCTAssertTrue(try sb.sandbox.waitForFault(path: "deployments/r-analytics", timeout: 60), "the restart's PATCH never came")
        let serverSockets = sb.apiServerSockets(of: p.processIdentifier)
        XCTAssertFalse(serverSockets.isEmpty, "the run has no connection to the API server")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        let id = try XCTUnwrap(sb.runIDs().subtracting(known).first)
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        XCTAssertEqual(try sb.objects("replicasets", namespace: Self.namespace).count, countBefore + 1,
                       "the resumed restart repeated the same stamp: one new ReplicaSet, not two")
        XCTAssertNotEqual(try servingReplicaSet(sb).0, rsBefore)
        XCTAssertEqual(try sb.runbook(["rollback", id, "--yes"]).status, 0)
        // the held PATCH is processed 3 s after it came in: once the API server is done with it, it must have changed nothing
        XCTAssertTrue(sb.waitUntilAPIServerClosed(serverSockets, timeout: 60), "the API server still holds the killed run's PATCH")
        XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "rollout", "status", "deployment/r-analytics", "--timeout=30s"]).status, 0)
        let (rsAfter, templateAfter) = try servingReplicaSet(sb)
        XCTAssertEqual(rsAfter, rsBefore, "the rollback restored the exact prior template")
        XCTAssertEqual(templateAfter, templateBefore)
        try rollback(sb, deployed)
        assertSame(Self.start, try Self.world(sb), "after rolling back restart and deploy")
    }

    /// As for restart: the undo's PATCH is held by the API server and lands after the resumed run and
    /// its rollback; pinned to the resourceVersion it read, it gets 409 and changes nothing.
    func testKillDuringAnUndoWhoseResponseIsLostThenResumeAndRollbackKeepTheTemplate() throws {
        let deployed = try deploy(sb)
        XCTAssertEqual(deployed.status, 0, deployed.text)
        _ = try noteToken(sb)
        let (rsDeployed, templateDeployed) = try servingReplicaSet(sb)
        let updated = try sb.runbook(["run", "update-r-analytics", "--yes", "--output", "json", "--var", "image=gcr.io/univprepai/r-analytics:1.0.1",
                                      "--var", "health_timeout=6s"])
        XCTAssertEqual(updated.status, 0, updated.text)
        let (rsUpdated, templateUpdated) = try servingReplicaSet(sb)
        XCTAssertNotEqual(rsUpdated, rsDeployed)

        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "deployments/r-analytics", "--count", "1", "--action", "slow", "--delay", "3"])
        let known = sb.runIDs()
        let file = MigrationHarness.repoRoot.appendingPathComponent("fixtures/runbooks/rollout/rollout-undo.yaml").path
        let deployRevision = try sb.kubectl(["-n", Self.namespace, "get", "rs", rsDeployed, "-o",
                                             "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"]).stdout
        let (p, o, e) = try sb.startRunbook(["run", file, "--yes", "--output", "json", "--var", "to_revision=\(deployRevision)"])
        XCTAssertTrue(sb.waitForEvent(containing: ["step.started", "\"step\":\"undo\""], timeout: 60, while: p, excluding: known))
        XCTAssertTrue(try sb.sandbox.waitForFault(path: "deployments/r-analytics", timeout: 60), "the undo's PATCH never came")
        let serverSockets = sb.apiServerSockets(of: p.processIdentifier)
        XCTAssertFalse(serverSockets.isEmpty, "the run has no connection to the API server")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        let id = try XCTUnwrap(sb.runIDs().subtracting(known).first)
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        XCTAssertEqual(try servingReplicaSet(sb).1, templateDeployed, "the resumed undo serves the deploy's template")
        XCTAssertEqual(try sb.runbook(["rollback", id, "--yes"]).status, 0)
        // the held PATCH is processed 3 s after it came in: once the API server is done with it, it must have changed nothing
        XCTAssertTrue(sb.waitUntilAPIServerClosed(serverSockets, timeout: 60), "the API server still holds the killed run's PATCH")
        XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "rollout", "status", "deployment/r-analytics", "--timeout=30s"]).status, 0)
        let (rsAfter, templateAfter) = try servingReplicaSet(sb)
        XCTAssertEqual(rsAfter, rsUpdated, "the rollback restored the update's exact template")
        XCTAssertEqual(templateAfter, templateUpdated)
        try rollback(sb, updated)
        try rollback(sb, deployed)
        assertSame(Self.start, try Self.world(sb), "after rolling back undo, update and deploy")
    }

    func testWrongTokenRollsBackEverythingToTheExactStart() throws {
        let out = try deploy(sb, ["--var", "image=gcr.io/univprepai/r-analytics:2.0-wrong-env", "--var", "health_timeout=3s"])
        XCTAssertEqual(out.status, 1, out.text)
        XCTAssertTrue(out.text.contains("expected status 200, got 401"), out.text)
        assertSame(Self.start, try Self.world(sb), "after the automatic rollback")
    }

    func testFailureAtEachMutatingStepRollsEverythingBack() throws {
        let cases: [(step: String, fault: [String])] = [
            ("store-token", ["--target", "gcp", "--method", "POST", "--path", "univprepai/secrets", "--count", "100", "--action", "500"]),
            ("apply-deployment", ["--target", "kube", "--method", "PATCH", "--path", "deployments/r-analytics", "--count", "100", "--action", "500"]),
            ("health-check", ["--target", "kube", "--method", "GET", "--path", "r-analytics:http/proxy", "--count", "100", "--action", "503"]),
            ("wire-api", ["--target", "kube", "--method", "PATCH", "--path", "deployments/seedtest-api", "--count", "100", "--action", "500"]),
        ]
        try sb.assertEveryFaultRollsBack(cases, reset: { sb.forgetUnfinishedRuns(); try? sb.fault(["--clear"]) },
                                         world: { try Self.world(sb) }, run: { try deploy(sb, ["--var", "health_timeout=3s"]) })
        assertSame(Self.start, try Self.world(sb), "after every failure")
    }

    func testUnknownImageFailsTheRolloutWithinItsTimeoutAndRollsBack() throws {
        let began = Date()
        let out = try deploy(sb, ["--var", "image=gcr.io/univprepai/r-analytics:9.9.9", "--var", "progress_deadline=3"])
        XCTAssertEqual(out.status, 1, out.text)
        XCTAssertTrue(out.text.contains("exceeded its progress deadline"), out.text)
        XCTAssertLessThan(Date().timeIntervalSince(began), 45, "ProgressDeadlineExceeded fails at once, not at the 60s timeout")
        assertSame(Self.start, try Self.world(sb), "after the automatic rollback")
    }

    func testUpdateWithABadImageEndsWithThePreviousReplicaSetServing() throws {
        let deployed = try deploy(sb, ["--var", "progress_deadline=3"])
        XCTAssertEqual(deployed.status, 0, deployed.text)
        let token = try noteToken(sb)
        let (rsBefore, templateBefore) = try servingReplicaSet(sb)

        let bad = try sb.runbook(["run", "update-r-analytics", "--yes", "--output", "json", "--var", "image=gcr.io/univprepai/r-analytics:9.9.9",
                                  "--var", "rollout_timeout=60s"])
        XCTAssertEqual(bad.status, 1, bad.text)
        XCTAssertTrue(bad.text.contains("exceeded its progress deadline"), bad.text)
        XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "rollout", "status", "deployment/r-analytics", "--timeout=30s"]).status, 0)
        let (rsAfter, templateAfter) = try servingReplicaSet(sb)
        XCTAssertEqual(rsAfter, rsBefore, "the previous ReplicaSet serves again")
        XCTAssertEqual(templateAfter, templateBefore)
        XCTAssertEqual(try health(sb, token: token).0, 200)

        let good = try sb.runbook(["run", "update-r-analytics", "--yes", "--output", "json", "--var", "image=gcr.io/univprepai/r-analytics:1.0.1",
                                   "--var", "health_timeout=6s"])
        XCTAssertEqual(good.status, 0, good.text)
        XCTAssertNotEqual(try servingReplicaSet(sb).0, rsBefore)
        XCTAssertEqual(try health(sb, token: token).0, 200)
        let (rsGood, templateGood) = try servingReplicaSet(sb)

        // k8s.rollout undo to the deploy's revision (the previous one is the update's image-only step, as
        // kubectl would pick); its rollback restores the update's exact template.
        let deployRevision = try sb.kubectl(["-n", Self.namespace, "get", "rs", rsBefore, "-o",
                                             "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"]).stdout
        XCTAssertNotNil(Int(deployRevision), "the deploy's ReplicaSet has a revision: \(deployRevision)")
        let undoRunbook = MigrationHarness.repoRoot.appendingPathComponent("fixtures/runbooks/rollout/rollout-undo.yaml").path
        let undo = try sb.runbook(["run", undoRunbook, "--yes", "--output", "json", "--var", "to_revision=\(deployRevision)"])
        XCTAssertEqual(undo.status, 0, undo.text)
        XCTAssertEqual(try servingReplicaSet(sb).0, rsBefore, "undo serves the deploy's ReplicaSet again")
        XCTAssertEqual(try servingReplicaSet(sb).1, templateBefore)
        try rollback(sb, undo)
        XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "rollout", "status", "deployment/r-analytics", "--timeout=30s"]).status, 0)
        XCTAssertEqual(try servingReplicaSet(sb).0, rsGood, "rolling back the undo restores the update's exact template")
        XCTAssertEqual(try servingReplicaSet(sb).1, templateGood)

        try rollback(sb, good)
        XCTAssertEqual(try sb.kubectl(["-n", Self.namespace, "rollout", "status", "deployment/r-analytics", "--timeout=30s"]).status, 0)
        XCTAssertEqual(try servingReplicaSet(sb).0, rsBefore, "rolling back the update serves the deploy's ReplicaSet again")
        try rollback(sb, deployed)
        assertSame(Self.start, try Self.world(sb), "after rolling back update and deploy")
    }

    func testKillDuringTheRolloutThenResumeEndsLikeAnUninterruptedRun() throws {
        let known = sb.runIDs()
        let (p, o, e) = try sb.startRunbook(["run", "deploy-r-analytics", "--yes", "--output", "json", "--var", "image=\(Self.goodImage)"])
        XCTAssertTrue(sb.waitForEvent(containing: ["step.started", "\"step\":\"rollout\""], timeout: 60, while: p, excluding: known), "the run never reached the rollout")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let id = try XCTUnwrap(sb.runIDs().subtracting(known).first)
        let token = try noteToken(sb)
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        XCTAssertEqual(try sb.gcpLatest(project: Self.project, secret: Self.tokenID), token, "the resumed run kept the one token")
        XCTAssertEqual(try health(sb, token: token).0, 200)
        let afterResume = try Self.world(sb)
        XCTAssertEqual(try sb.runbook(["rollback", id, "--yes"]).status, 0)
        assertSame(Self.start, try Self.world(sb), "after rolling back the resumed run")

        let clean = try deploy(sb)
        XCTAssertEqual(clean.status, 0, clean.text)
        if let t = try sb.gcpLatest(project: Self.project, secret: Self.tokenID) { Self.tokens.append(t) }
        // Each run minted its own token (different digests, and ESO's hash of the data); everything else is the same.
        assertSame(Self.withoutRunUniques(afterResume), Self.withoutRunUniques(try Self.world(sb)), "resumed run versus uninterrupted run")
        try rollback(sb, clean)
        assertSame(Self.start, try Self.world(sb), "after rolling back the uninterrupted run")
    }
}

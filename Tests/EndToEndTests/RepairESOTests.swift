import Foundation
import XCTest

/// `runbooks/repair-eso-crd-conversion.yaml` (seed 004) end to end through the built binary,
/// against one sandbox (fixture eso-crd-broken: the ESO CRDs convert through a webhook Service
/// that is gone, two Argo CD Applications). Every test starts from that broken state; the real
/// kubectl is the witness.
final class RepairESOTests: MigrationTestCase {
    override class var fixtures: [String] { ["eso-crd-broken"] }
    /// The fixture's CRDs and Applications as kubectl showed them first, to put back after each test.
    nonisolated(unsafe) static var fixture: [String: [String: Any]] = [:]

    static let crds = ["externalsecrets.external-secrets.io", "secretstores.external-secrets.io", "clustersecretstores.external-secrets.io"]
    static let apps = ["external-secrets-config-prod", "argocd-config"]
    static let seedError = #"Error from server: conversion webhook for external-secrets.io/v1beta1, Kind=ExternalSecret failed: "#
        + #"Post "https://external-secrets-webhook.external-secrets.svc:443/convert?timeout=30s": service "external-secrets-webhook" not found"#

    override class func noteFixture(_ sb: MigrationHarness) throws {
        for c in crds { fixture["crd/" + c] = try sb.object("crd", c, namespace: "default") }
        for a in apps { fixture["application/" + a] = try sb.object("applications.argoproj.io", a, namespace: "argocd") }
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        reset(sb)
    }

    override func tearDown() {
        sb?.assertNoSecretLeaks(["sandbox-secret-key"])
        super.tearDown()
    }

    /// Puts the fixture's CRDs and Applications back when a test left them changed.
    private func reset(_ sb: MigrationHarness) {
        try? sb.fault(["--clear"])
        sb.forgetUnfinishedRuns()
        for (key, saved) in Self.fixture {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            let kind = parts[0] == "crd" ? "crd" : "applications.argoproj.io"
            let ns = parts[0] == "crd" ? "default" : "argocd"
            guard let live = try? sb.object(kind, parts[1], namespace: ns),
                  MigrationHarness.canonical(MigrationHarness.normalized(live)) != MigrationHarness.canonical(MigrationHarness.normalized(saved))
            else { continue }
            var o = saved
            var meta = (o["metadata"] as? [String: Any]) ?? [:]
            meta["resourceVersion"] = (live["metadata"] as? [String: Any])?["resourceVersion"]
            o["metadata"] = meta
            o.removeValue(forKey: "status")
            _ = try? sb.kubectl(["replace", "-f", "-"], stdin: MigrationHarness.canonical(o))
        }
    }

    /// What the runbook may change: the three CRDs and the two Applications (whole objects minus
    /// status and volatile metadata).
    func world(_ sb: MigrationHarness) throws -> String {
        var w: [String: Any] = [:]
        for c in Self.crds { w["crd/" + c] = try sb.object("crd", c, namespace: "default").map { MigrationHarness.normalized($0) } ?? NSNull() }
        for a in Self.apps {
            w["application/" + a] = try sb.object("applications.argoproj.io", a, namespace: "argocd").map { MigrationHarness.normalized($0) } ?? NSNull()
        }
        return MigrationHarness.canonical(w)
    }

    /// `run repair-eso-crd-conversion` as the admin, or with `env` (a least-privilege identity's) only.
    func run(_ sb: MigrationHarness, _ extra: [String] = [], env: [String: String]? = nil) throws -> MigrationHarness.Output {
        try sb.runbook(["run", "repair-eso-crd-conversion", "--yes", "--output", "json"] + extra, env: env)
    }

    func assertSameWorld(_ before: String, _ after: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if before != after { XCTFail("\(what): the CRDs or Applications differ\n\(MigrationHarness.diff(before, after))", file: file, line: line) }
    }

    func syncStatus(_ sb: MigrationHarness, _ app: String) throws -> String? {
        let a = try sb.object("applications.argoproj.io", app, namespace: "argocd")
        return ((a?["status"] as? [String: Any])?["sync"] as? [String: Any])?["status"] as? String
    }

    // MARK: tests

    func testPlanChangesNothing() throws {
        let before = try world(sb)
        let out = try sb.runbook(["plan", "repair-eso-crd-conversion"])
        XCTAssertEqual(out.status, 0, out.text)
        XCTAssertTrue(out.text.contains("spec.conversion.strategy"), "the plan shows the CRD change:\n\(out.text)")
        assertSameWorld(before, try world(sb), "after plan")
    }

    func testRepairRepeatsHarmlesslyAndRollbackRestoresTheStart() throws {
        let start = try world(sb)
        // The witness: the real kubectl fails with the seed's message, word for word.
        let broken = try sb.kubectl(["get", "externalsecret", "-n", "wealist-prod"])
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertEqual(broken.stderr.trimmingCharacters(in: .whitespacesAndNewlines), Self.seedError)

        let first = try run(sb)
        XCTAssertEqual(first.status, 0, first.text)
        let firstID = try XCTUnwrap(sb.runID(from: first))
        XCTAssertTrue(first.stdout.split(separator: "\n").contains {
            $0.contains(#""step":"verify-list""#) && $0.contains(#""status":"succeeded""#)
        }, "the runbook listed the ExternalSecrets itself:\n\(first.text)")
        for c in Self.crds {
            let conv = ((try sb.object("crd", c, namespace: "default"))?["spec"] as? [String: Any])?["conversion"] as? [String: Any]
            XCTAssertEqual(conv?["strategy"] as? String, "None", c)
            XCTAssertNil(conv?["webhook"], "\(c): the webhook block is gone, as after the seed's JSON patch")
        }
        let listed = try sb.kubectl(["get", "externalsecret", "-n", "wealist-prod", "-o", "name"])
        XCTAssertEqual(listed.status, 0, listed.text)
        XCTAssertEqual(listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "externalsecret.external-secrets.io/discord-webhook")
        XCTAssertEqual(try sb.kubectl(["get", "externalsecret", "argocd-notifications-secret", "-n", "argocd"]).status, 0)
        for a in Self.apps {
            XCTAssertEqual(try syncStatus(sb, a), "Synced", a)
            let app = try XCTUnwrap(try sb.object("applications.argoproj.io", a, namespace: "argocd"))
            let annotations = ((app["metadata"] as? [String: Any])?["annotations"] as? [String: Any]) ?? [:]
            XCTAssertNil(annotations["argocd.argoproj.io/refresh"], "\(a): the controller consumed the refresh annotation")
        }
        let repaired = try world(sb)

        // A second run finds a healthy cluster, says so and changes nothing.
        let second = try run(sb)
        XCTAssertEqual(second.status, 0, second.text)
        XCTAssertTrue(second.text.contains(#""step":"healthy""#) && second.text.contains("nothing to repair"), second.text)
        assertSameWorld(repaired, try world(sb), "after the second run")
        let rb2 = try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: second)), "--yes"])
        XCTAssertEqual(rb2.status, 0, rb2.text)
        assertSameWorld(repaired, try world(sb), "after rolling back the second run")

        // Rolling back the first run restores each CRD's and Application's exact prior spec.
        let rb1 = try sb.runbook(["rollback", firstID, "--yes"])
        XCTAssertEqual(rb1.status, 0, rb1.text)
        assertSameWorld(start, try world(sb), "after rolling back the repair")
        XCTAssertEqual(try sb.kubectl(["get", "externalsecret", "-n", "wealist-prod"]).stderr.trimmingCharacters(in: .whitespacesAndNewlines),
                       Self.seedError)
    }

    func testAnUnsafeCRDStopsTheRunBeforeAnythingChanges() throws {
        // v1beta1 served again next to v1: relabelling would hand out objects of one schema as the other.
        let patch = try sb.kubectl(["patch", "crd", "secretstores.external-secrets.io", "--type=json",
                                    "-p", #"[{"op":"replace","path":"/spec/versions/1/served","value":true}]"#])
        XCTAssertEqual(patch.status, 0, patch.text)
        let before = try world(sb)
        let out = try run(sb)
        XCTAssertEqual(out.status, 1, out.text)
        XCTAssertTrue(out.text.contains("restore its conversion webhook Service"), "the failure says what to do:\n\(out.text)")
        assertSameWorld(before, try world(sb), "after the refused repair")
    }

    func testFailureAtEachMutatingStepRollsBackToTheStart() throws {
        func fail(_ method: String, _ path: String) -> [String] {
            ["--target", "kube", "--method", method, "--path", path, "--count", "100", "--action", "500"]
        }
        let cases: [(step: String, fault: [String])] = [
            ("patch-externalsecrets", fail("PATCH", "customresourcedefinitions/externalsecrets")),
            ("patch-secretstores", fail("PATCH", "customresourcedefinitions/secretstores")),
            ("patch-clustersecretstores", fail("PATCH", "customresourcedefinitions/clustersecretstores")),
            ("ignore-app", fail("PATCH", "applications/external-secrets-config-prod")),
            // After the first Application is patched and refreshed: everything has to be undone.
            ("ignore-second-app", fail("PATCH", "applications/argocd-config")),
        ]
        try sb.assertEveryFaultRollsBack(cases, reset: { reset(sb) }, world: { try world(sb) }, run: { try run(sb) })
    }

    func testKillDuringTheRunThenResumeEndsLikeAnUninterruptedRun() throws {
        let start = try world(sb)
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "customresourcedefinitions/secretstores", "--count", "1",
                      "--action", "slow", "--delay", "3"])
        let known = sb.runIDs()
        let (p, o, e) = try sb.startRunbook(["run", "repair-eso-crd-conversion", "--yes", "--output", "json"])
        XCTAssertTrue(sb.waitForEvent(containing: ["patch-secretstores", "step.started"], timeout: 60, while: p, excluding: known),
                      "the run never reached patch-secretstores")
        // the patch is in flight: the sandbox took the slow rule and holds the PATCH
        XCTAssertTrue(try sb.sandbox.waitForFault(path: "customresourcedefinitions/secretstores", fired: 1, timeout: 60), "the PATCH never reached the API server")
        let serverSockets = sb.apiServerSockets(of: p.processIdentifier)
        XCTAssertFalse(serverSockets.isEmpty, "the run has no connection to the API server")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        // the slowed request lands (as it would at once on a real server) before the resume
        XCTAssertTrue(sb.waitUntilAPIServerClosed(serverSockets, timeout: 60), "the API server still holds the killed run's PATCH")
        let id = try XCTUnwrap(sb.runIDs().subtracting(known).first)
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        let afterResume = try world(sb)
        for a in Self.apps { XCTAssertEqual(try syncStatus(sb, a), "Synced", a) }

        let rb = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        assertSameWorld(start, try world(sb), "after rolling back the resumed run")
        let clean = try run(sb)
        XCTAssertEqual(clean.status, 0, clean.text)
        assertSameWorld(afterResume, try world(sb), "resumed run versus uninterrupted run")
    }
}

import Foundation
import RunbookKit
import TestSupport
import XCTest

/// The k8s.* actions through the built binary against one sandbox, checked with real kubectl.
final class KubernetesTests: SandboxTestCase {
    var work: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        work = try ScratchDirectory.make("kube-e2e")
        try? sb.clearFaults()
    }

    override func tearDown() { ScratchDirectory.remove(work) }

    // MARK: helpers

    /// Copies the runbook `fixtures/runbooks/kube/<name>.yaml` into `work`, with the files it
    /// refers to (those of `fixtures/runbooks/kube/<name>/`, if any); returns its path there.
    func runbook(_ name: String) throws -> String {
        let fixtures = Sandbox.repoRoot.appendingPathComponent("fixtures/runbooks/kube")
        let fm = FileManager.default
        let target = work.appendingPathComponent("\(name).yaml")
        try fm.copyItem(at: fixtures.appendingPathComponent("\(name).yaml"), to: target)
        let extra = fixtures.appendingPathComponent(name)
        for f in (try? fm.contentsOfDirectory(atPath: extra.path)) ?? [] {
            try fm.copyItem(at: extra.appendingPathComponent(f), to: work.appendingPathComponent(f))
        }
        return target.path
    }

    struct Out { var code: Int32; var text: String; var runID: String? }

    /// Runs the built binary with the sandbox kubeconfig (unless `kubeconfig` is given) and a state dir in `work`.
    func cli(_ args: [String], kubeconfig: String? = nil, context: String? = nil, env: [String: String] = [:]) throws -> Out {
        let r = try RunbookCLI.run(arguments(args, kubeconfig: kubeconfig, context: context), env: env, cwd: work)
        return Out(code: r.exitCode, text: r.output, runID: Self.runID(in: r.output))
    }

    func arguments(_ args: [String], kubeconfig: String? = nil, context: String? = nil) -> [String] {
        // a plan records nothing, so it takes no --state-dir
        let state = args.first == "plan" ? [] : ["--state-dir", work.appendingPathComponent("state").path]
        var a = args + state + ["--kubeconfig", kubeconfig ?? sb.kubeconfig]
        if let c = context { a += ["--context", c] }
        return a
    }

    static func runID(in text: String) -> String? {
        text.range(of: #"[a-z0-9-]+-\d{8}T\d{6}-[0-9a-f]{4}"#, options: .regularExpression).map { String(text[$0]) }
    }

    func kubectl(_ args: String...) throws -> String {
        try sb.kubectlSucceeding(args)
    }

    func get(_ args: String...) throws -> Value? { try sb.kubectlJSON(args) }

    /// The prior-state holder Secrets of a run in `namespace` (the run records there carry the
    /// same run-id label, not the prior-kind one).
    func priorStates(_ runID: String, in namespace: String) throws -> [Value] {
        try XCTUnwrap(get("-n", namespace, "secrets", "-l", "runbook.dev/run-id=\(runID),runbook.dev/prior-kind"))["items"]?.arrayValue ?? []
    }

    func stateText() -> String {
        let dir = work.appendingPathComponent("state")
        var all = ""
        if let e = FileManager.default.enumerator(atPath: dir.path) {
            for case let f as String in e { all += (try? String(contentsOfFile: dir.path + "/" + f, encoding: .utf8)) ?? "" }
        }
        return all
    }

    /// `runbook status ID --output json`, parsed.
    func status(_ runID: String) throws -> Value {
        let r = try RunbookCLI.run(["status", runID, "--output", "json", "--state-dir", work.appendingPathComponent("state").path])
        XCTAssertEqual(r.exitCode, 0, r.stderr)
        return try Value.parseJSON(r.stdout)
    }

    func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    // MARK: tests

    func testApplyPreviewExecuteAndRollbackRestoresExactPriorState() throws {
        _ = try kubectl("-n", "seedtest", "create", "configmap", "apply-existing", "--from-literal=mode=old", "--from-literal=keep=1")
        _ = try kubectl("-n", "seedtest", "label", "configmap", "apply-existing", "tier=one")
        _ = try kubectl("-n", "seedtest", "annotate", "configmap", "apply-existing", "note=before")
        let before = try XCTUnwrap(get("-n", "seedtest", "configmap", "apply-existing"))
        let path = try runbook("apply-rb")
        let plan = try cli(["plan", path])
        XCTAssertEqual(plan.code, 0, plan.text)
        XCTAssertTrue(plan.text.contains("create ConfigMap seedtest/apply-new"), plan.text)
        XCTAssertTrue(plan.text.contains("update ConfigMap seedtest/apply-existing"), plan.text)
        XCTAssertTrue(plan.text.contains("- data.mode: \"old\"") && plan.text.contains("+ data.mode: \"green\""), plan.text)
        XCTAssertTrue(plan.text.contains("+ data.password: ***"), plan.text)
        XCTAssertFalse(plan.text.contains("s3cret-applied-value") || plan.text.contains(b64("s3cret-applied-value")), plan.text)
        XCTAssertNil(try get("-n", "seedtest", "configmap", "apply-new"), "a plan changes nothing")

        let run = try cli(["run", path, "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        XCTAssertEqual(try get("-n", "seedtest", "configmap", "apply-new")?.lookup("data.mode"), "green")
        let changed = try XCTUnwrap(get("-n", "seedtest", "configmap", "apply-existing"))
        XCTAssertEqual(changed.lookup("data.mode"), "green")
        XCTAssertEqual(changed.lookup("metadata.labels.tier"), "two")
        XCTAssertEqual(try get("-n", "seedtest", "secret", "apply-secret")?.lookup("data.password"), .string(b64("s3cret-applied-value")))
        // Convergent: the same run again changes nothing and succeeds.
        XCTAssertEqual(try cli(["run", path, "--yes"]).code, 0)

        let rb = try cli(["rollback", try XCTUnwrap(run.runID), "--yes"])
        XCTAssertEqual(rb.code, 0, rb.text)
        XCTAssertNil(try get("-n", "seedtest", "configmap", "apply-new"))
        XCTAssertNil(try get("-n", "seedtest", "secret", "apply-secret"))
        let restored = try XCTUnwrap(get("-n", "seedtest", "configmap", "apply-existing"))
        for path in ["data", "metadata.labels", "metadata.annotations"] {
            XCTAssertEqual(restored.lookup(path), before.lookup(path), path)
        }
    }

    func testPatchSecretKeepsPriorStateInClusterNotOnDiskAndRollsBack() throws {
        _ = try kubectl("-n", "seedtest", "create", "secret", "generic", "patch-me", "--from-literal=token=original-token-value")
        let path = try runbook("patch-rb")
        let plan = try cli(["plan", path])
        XCTAssertEqual(plan.code, 0, plan.text)
        XCTAssertTrue(plan.text.contains("~ data.token: *** (changed)"), plan.text)
        XCTAssertTrue(plan.text.contains("+ metadata.labels.rotated: \"yes\""), plan.text)
        XCTAssertFalse(plan.text.contains("original-token-value") || plan.text.contains(b64("original-token-value")), plan.text)

        let run = try cli(["run", path, "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        let runID = try XCTUnwrap(run.runID)
        XCTAssertEqual(try get("-n", "seedtest", "secret", "patch-me")?.lookup("data.token"), .string(b64("replaced-token-value")))
        // The prior Secret data lives in the cluster — never in the state dir — in the runs
        // namespace (beside the Lease and the run record), labelled with the run id and the object.
        let holders = try priorStates(runID, in: "runbook-system")
        XCTAssertEqual(holders.count, 1)
        let labels = holders.first?.lookup("metadata.labels")
        XCTAssertEqual(labels?["runbook.dev/prior-kind"], "Secret")
        XCTAssertEqual(labels?["runbook.dev/prior-namespace"], "seedtest")
        XCTAssertEqual(labels?["runbook.dev/prior-name"], "patch-me")
        XCTAssertTrue(holders.first?.lookup("metadata.name")?.stringValue?.hasPrefix("runbook-prior-") == true)
        XCTAssertEqual(try priorStates(runID, in: "seedtest").count, 0, "no holder beside the object")
        let state = stateText()
        XCTAssertFalse(state.isEmpty)
        XCTAssertFalse(state.contains("original-token-value") || state.contains(b64("original-token-value")), "prior secret data on disk")

        let rb = try cli(["rollback", runID, "--yes"])
        XCTAssertEqual(rb.code, 0, rb.text)
        let back = try XCTUnwrap(get("-n", "seedtest", "secret", "patch-me"))
        XCTAssertEqual(back.lookup("data.token"), .string(b64("original-token-value")))
        XCTAssertNil(back.lookup("metadata.labels.rotated"))
        XCTAssertEqual(try priorStates(runID, in: "runbook-system").count, 0, "prior-state Secrets are deleted when the rollback completes")
    }

    func testAPriorStateHoldingARunSecretIsKeptInTheClusterNotOnDisk() throws {
        // A ConfigMap someone filled with a password: its prior state must not land in state.json.
        _ = try kubectl("-n", "seedtest", "create", "configmap", "leaky-config", "--from-literal=dsn=postgres://app:cm-pass-1234@db/app")
        let path = try runbook("leaky-rb")
        // --lock local: no cluster records, so the holder stays beside the object
        let run = try cli(["run", path, "--yes", "--lock", "local", "--var", "password=cm-pass-1234"])
        XCTAssertEqual(run.code, 0, run.text)
        let runID = try XCTUnwrap(run.runID)
        XCTAssertFalse(run.text.contains("cm-pass-1234"), run.text)
        XCTAssertFalse(stateText().contains("cm-pass-1234"), "a prior state with a secret in it was written to the state dir")
        XCTAssertEqual(try priorStates(runID, in: "seedtest").count, 1)
        XCTAssertEqual(try priorStates(runID, in: "runbook-system").count, 0)
        let rb = try cli(["rollback", runID, "--yes", "--lock", "local", "--var", "password=cm-pass-1234"])
        XCTAssertEqual(rb.code, 0, rb.text)
        XCTAssertEqual(try priorStates(runID, in: "seedtest").count, 0)
        XCTAssertEqual(try get("-n", "seedtest", "configmap", "leaky-config")?.lookup("data.dsn"), "postgres://app:cm-pass-1234@db/app")
        _ = try kubectl("-n", "seedtest", "delete", "configmap", "leaky-config")
    }

    func testRollbackAfterItsHolderWasDiscardedIsDoneOnlyIfTheObjectIsBack() throws {
        // The window between restoring an object and checkpointing that rollback step: the holder
        // of the prior state is already gone when the rollback runs again.
        _ = try kubectl("-n", "seedtest", "create", "secret", "generic", "gone-holder", "--from-literal=v=first")
        let path = try runbook("holder-rb")
        let run = try cli(["run", path, "--yes", "--no-rollback"])
        XCTAssertEqual(run.code, 3, run.text)
        let runID = try XCTUnwrap(run.runID)
        let holder = try XCTUnwrap(priorStates(runID, in: "runbook-system").first?.lookup("metadata.name")?.stringValue)
        _ = try kubectl("-n", "runbook-system", "delete", "secret", holder)

        // Not restored and no holder: refuse, change nothing.
        let refused = try cli(["rollback", runID, "--yes"])
        XCTAssertEqual(refused.code, 3, refused.text)
        XCTAssertTrue(refused.text.contains("no longer exists"), refused.text)
        XCTAssertEqual(try get("-n", "seedtest", "secret", "gone-holder")?.lookup("data.v"), .string(b64("second")))

        // Restored (as the interrupted rollback had done) and no holder: the rollback completes.
        _ = try kubectl("-n", "seedtest", "patch", "secret", "gone-holder", "--type", "merge", "-p", #"{"stringData":{"v":"first"}}"#)
        let done = try cli(["rollback", runID, "--yes"])
        XCTAssertEqual(done.code, 0, done.text)
        XCTAssertTrue(done.text.contains("was already restored"), done.text)
        XCTAssertEqual(try get("-n", "seedtest", "secret", "gone-holder")?.lookup("data.v"), .string(b64("first")))
    }

    func testScaleIsNotRolledBackOverSomeoneElsesRescaleWithoutForce() throws {
        _ = try kubectl("-n", "seedtest", "create", "deployment", "rescaled", "--image=busybox:1", "--replicas=2")
        let path = try runbook("rescale-rb")
        let run = try cli(["run", path, "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        let runID = try XCTUnwrap(run.runID)
        _ = try kubectl("-n", "seedtest", "scale", "deployment", "rescaled", "--replicas=5")
        let refused = try cli(["rollback", runID, "--yes"])
        XCTAssertEqual(refused.code, 3, refused.text)
        XCTAssertTrue(refused.text.contains("was scaled to 5 after this step set 0"), refused.text)
        XCTAssertEqual(try get("-n", "seedtest", "deployment", "rescaled")?.lookup("spec.replicas"), 5)
        let forced = try cli(["rollback", runID, "--yes", "--force"])
        XCTAssertEqual(forced.code, 0, forced.text)
        XCTAssertEqual(try get("-n", "seedtest", "deployment", "rescaled")?.lookup("spec.replicas"), 2)
        _ = try kubectl("-n", "seedtest", "delete", "deployment", "rescaled")
    }

    func testDriftedPatchIsNotRolledBackWithoutForce() throws {
        _ = try kubectl("-n", "seedtest", "create", "configmap", "drift-me", "--from-literal=v=1")
        let path = try runbook("drift-rb")
        let run = try cli(["run", path, "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        _ = try kubectl("-n", "seedtest", "patch", "configmap", "drift-me", "--type", "merge", "-p", #"{"data":{"v":"someone-else"}}"#)
        let rb = try cli(["rollback", try XCTUnwrap(run.runID), "--yes"])
        XCTAssertEqual(rb.code, 3, rb.text)
        XCTAssertTrue(rb.text.contains("changed after this step") && rb.text.contains("--force"), rb.text)
        XCTAssertEqual(try get("-n", "seedtest", "configmap", "drift-me")?.lookup("data.v"), "someone-else", "not rolled back blindly")
        let forced = try cli(["rollback", try XCTUnwrap(run.runID), "--yes", "--force"])
        XCTAssertEqual(forced.code, 0, forced.text)
        XCTAssertEqual(try get("-n", "seedtest", "configmap", "drift-me")?.lookup("data.v"), "1")
    }

    /// A controller's status write bumps resourceVersion but is not drift; a label someone else
    /// added is.
    func testStatusOnlyUpdateIsNotDriftButALabelChangeIs() throws {
        _ = try kubectl("-n", "seedtest", "create", "deployment", "fp-deploy", "--image=busybox:1", "--replicas=1")
        let path = try runbook("fp-rb")
        func image() throws -> Value? { try get("-n", "seedtest", "deployment", "fp-deploy")?.lookup("spec.template.spec.containers.0.image") }
        func rv() throws -> String? { try get("-n", "seedtest", "deployment", "fp-deploy")?.lookup("metadata.resourceVersion")?.stringValue }
        let statusPatch = #"{"status":{"conditions":[{"type":"Progressing","status":"True","reason":"StatusOnlyProbe"}]}}"#

        // 1. Only status changes after the step: rollback restores the prior spec.
        let run = try cli(["run", path, "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        XCTAssertEqual(try image(), "busybox:2")
        let left = try rv()
        _ = try kubectl("-n", "seedtest", "patch", "deployment", "fp-deploy", "--subresource=status", "--type=merge", "-p", statusPatch)
        XCTAssertNotEqual(try rv(), left, "the status write bumped resourceVersion")
        XCTAssertTrue(stateText().contains("afterFingerprint"), "the rollback record holds the fingerprint of what the step left")
        let rb = try cli(["rollback", try XCTUnwrap(run.runID), "--yes"])
        XCTAssertEqual(rb.code, 0, rb.text)
        XCTAssertTrue(rb.text.contains("restored Deployment seedtest/fp-deploy"), rb.text)
        XCTAssertEqual(try image(), "busybox:1")

        // 2. Someone else adds a label (and status changes too): refused, nothing written; --force restores.
        let again = try cli(["run", path, "--yes"])
        XCTAssertEqual(again.code, 0, again.text)
        _ = try kubectl("-n", "seedtest", "patch", "deployment", "fp-deploy", "--subresource=status", "--type=merge", "-p", statusPatch)
        _ = try kubectl("-n", "seedtest", "label", "deployment", "fp-deploy", "someone=else")
        let refused = try cli(["rollback", try XCTUnwrap(again.runID), "--yes"])
        XCTAssertEqual(refused.code, 3, refused.text)
        XCTAssertTrue(refused.text.contains("changed after this step") && refused.text.contains("--force"), refused.text)
        XCTAssertEqual(try image(), "busybox:2", "not rolled back over someone else's change")
        XCTAssertEqual(try get("-n", "seedtest", "deployment", "fp-deploy")?.lookup("metadata.labels.someone"), "else")
        let forced = try cli(["rollback", try XCTUnwrap(again.runID), "--yes", "--force"])
        XCTAssertEqual(forced.code, 0, forced.text)
        XCTAssertEqual(try image(), "busybox:1")
        XCTAssertNil(try get("-n", "seedtest", "deployment", "fp-deploy")?.lookup("metadata.labels.someone"))
    }

    /// The reported case: k8s.apply changes an ExternalSecret, the ESO controller then writes its
    /// status; rollback restores the prior spec instead of refusing.
    func testApplyOfExternalSecretRollsBackAfterAControllerStatusWrite() throws {
        let manifest = { (interval: String) in """
            apiVersion: external-secrets.io/v1beta1
            kind: ExternalSecret
            metadata: {name: fp-es, namespace: seedtest}
            spec:
              refreshInterval: \(interval)
              secretStoreRef: {kind: ClusterSecretStore, name: gcp-secret-store}
              target: {name: fp-es-synced}
              data:
              - secretKey: value
                remoteRef: {key: sandbox-probe}
            """ }
        try manifest("1h").write(to: work.appendingPathComponent("es.yaml"), atomically: true, encoding: .utf8)
        _ = try kubectl("apply", "-f", work.appendingPathComponent("es.yaml").path)
        _ = try kubectl("-n", "seedtest", "wait", "externalsecret/fp-es", "--for=condition=Ready", "--timeout=30s")
        let path = try runbook("fp-es-rb")
        func es() throws -> Value? { try get("-n", "seedtest", "externalsecret", "fp-es") }
        let run = try cli(["run", path, "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        XCTAssertEqual(try es()?.lookup("spec.refreshInterval"), "2h")
        let left = try es()?.lookup("metadata.resourceVersion")
        _ = try kubectl("-n", "seedtest", "patch", "externalsecret", "fp-es", "--subresource=status", "--type=merge",
                        "-p", #"{"status":{"refreshTime":"2030-01-01T00:00:00Z"}}"#)
        XCTAssertNotEqual(try es()?.lookup("metadata.resourceVersion"), left, "the status write bumped resourceVersion")
        let rb = try cli(["rollback", try XCTUnwrap(run.runID), "--yes"])
        XCTAssertEqual(rb.code, 0, rb.text)
        XCTAssertEqual(try es()?.lookup("spec.refreshInterval"), "1h")
        _ = try kubectl("-n", "seedtest", "delete", "externalsecret", "fp-es")
    }

    func testDeleteScaleAndWaitWithRollback() throws {
        _ = try kubectl("-n", "seedtest", "create", "configmap", "delete-me", "--from-literal=a=b")
        _ = try kubectl("-n", "seedtest", "label", "configmap", "delete-me", "keep=label")
        _ = try kubectl("-n", "seedtest", "create", "deployment", "scale-me", "--image=busybox:1", "--replicas=2")
        let path = try runbook("dsw-rb")
        let plan = try cli(["plan", path])
        XCTAssertEqual(plan.code, 0, plan.text)
        XCTAssertTrue(plan.text.contains("delete ConfigMap seedtest/delete-me"), plan.text)
        XCTAssertTrue(plan.text.contains("scale Deployment seedtest/scale-me: 2 → 0"), plan.text)

        // The last wait times out: the run fails and rolls back (exit 1).
        let run = try cli(["run", path, "--yes"])
        XCTAssertEqual(run.code, 1, run.text)
        XCTAssertTrue(run.text.contains("timed out waiting for ConfigMap seedtest/kube-root-ca-missing") && run.text.contains("last observed"), run.text)
        let cm = try XCTUnwrap(get("-n", "seedtest", "configmap", "delete-me"), "re-created by rollback")
        XCTAssertEqual(cm.lookup("data.a"), "b")
        XCTAssertEqual(cm.lookup("metadata.labels.keep"), "label")
        XCTAssertEqual(try get("-n", "seedtest", "deployment", "scale-me")?.lookup("spec.replicas"), 2)
    }

    func testJobRunFromCronJobAsKubectlDoes() throws {
        let path = try runbook("job-rb")
        let plan = try cli(["plan", path])
        XCTAssertTrue(plan.text.contains("run Job seedtest/irt-manual from CronJob calibrate-irt-weekly"), plan.text)
        XCTAssertNil(try get("-n", "seedtest", "job", "irt-manual"))
        let run = try cli(["run", path, "--yes", "--output", "json"])
        XCTAssertEqual(run.code, 0, run.text)
        let outputs = try status(try XCTUnwrap(run.runID))["steps"]?[0]?["outputs"]
        XCTAssertTrue(outputs?["logs"]?.stringValue?.contains("Starting IRT calibration") == true, "log tail is an output: \(String(describing: outputs))")
        XCTAssertEqual(outputs?["succeeded"], true)
        let job = try XCTUnwrap(get("-n", "seedtest", "job", "irt-manual"))
        XCTAssertEqual(job.lookup("metadata.annotations")?["cronjob.kubernetes.io/instantiate"], "manual")
        let owner = try XCTUnwrap(job.lookup("metadata.ownerReferences")?[0])
        XCTAssertEqual(owner["kind"], "CronJob")
        XCTAssertEqual(owner["name"], "calibrate-irt-weekly")
        XCTAssertEqual(owner["uid"], try get("-n", "seedtest", "cronjob", "calibrate-irt-weekly")?.lookup("metadata.uid"))
        let rb = try cli(["rollback", try XCTUnwrap(run.runID), "--yes"])
        XCTAssertEqual(rb.code, 0, rb.text)
        XCTAssertNil(try get("-n", "seedtest", "job", "irt-manual"))
        XCTAssertEqual(try get("-n", "seedtest", "pods", "-l", "job-name=irt-manual")?["items"]?.arrayValue?.count, 0)
    }

    func testJobRunDeletesOnSuccessAndFailsWithLogsOrKubeletMessage() throws {
        let ok = try cli(["run", runbook("job-ok"), "--yes"])
        XCTAssertEqual(ok.code, 0, ok.text)
        XCTAssertNil(try get("-n", "seedtest", "job", "irt-ok"), "deleted on success without keep")

        try sb.fault(target: "job", path: "calibrate-irt", count: 5, action: "fail")
        let bad = try cli(["run", runbook("job-bad"), "--yes"])
        try sb.clearFaults()
        XCTAssertEqual(bad.code, 1, bad.text)
        XCTAssertTrue(bad.text.contains("Job seedtest/irt-bad failed") && bad.text.contains("last log lines"), bad.text)
        XCTAssertNil(try get("-n", "seedtest", "job", "irt-bad"), "rollback deleted the failed Job")

        let stuck = try cli(["run", runbook("job-stuck"), "--yes"])
        XCTAssertEqual(stuck.code, 1, stuck.text)
        XCTAssertTrue(stuck.text.contains("CreateContainerConfigError") && stuck.text.contains("no-such-secret"), stuck.text)
        XCTAssertNil(try get("-n", "seedtest", "job", "irt-stuck"))
    }

    func testSecretReadAndGetMaskAndOptional() throws {
        let path = try runbook("read-rb")
        let url = try XCTUnwrap(get("-n", "seedtest", "secret", "seedtest-db-credentials")?.lookup("data.DATABASE_URL")?.stringValue)
        let plain = String(decoding: Data(base64Encoded: url)!, as: UTF8.self)
        let run = try cli(["run", path, "--yes", "--output", "json"])
        XCTAssertEqual(run.code, 0, run.text)
        let st = try status(try XCTUnwrap(run.runID))
        XCTAssertEqual(st["steps"]?[4]?["outputs"]?["stdout"]?.stringValue?.hasPrefix("url=*** "), true, st.jsonString())
        XCTAssertFalse(run.text.contains(plain) || run.text.contains(url), "secret printed")
        XCTAssertFalse(st.jsonString().contains(plain) || st.jsonString().contains(url), "secret in status")
        XCTAssertFalse(stateText().contains(plain) || stateText().contains(url), "secret stored")
        let missing = try cli(["run", runbook("read-missing"), "--yes"])
        XCTAssertEqual(missing.code, 1, missing.text)
        XCTAssertTrue(missing.text.contains("has no key NOPE (keys: DATABASE_URL"), missing.text)
    }

    func testViewerTokenReadsButForbiddenWriteChangesNothing() throws {
        let read = try cli(["run", runbook("viewer-read"), "--yes"], context: "sandbox-viewer")
        XCTAssertEqual(read.code, 0, read.text)
        let write = try cli(["run", runbook("viewer-write"), "--yes"], context: "sandbox-viewer")
        // the preflight (SelfSubjectAccessReviews) refuses before anything changes, naming what is missing
        XCTAssertEqual(write.code, 3, write.text)
        XCTAssertTrue(write.text.contains("patch configmaps/viewer-made in namespace seedtest"), write.text)
        XCTAssertTrue(write.text.contains("create leases.coordination.k8s.io in namespace runbook-system"), write.text)
        XCTAssertNil(try get("-n", "seedtest", "configmap", "viewer-made"))
    }

    func testExecPluginAndWrongCA() throws {
        let cfg = try String(contentsOfFile: sb.kubeconfig, encoding: .utf8)
        let kc = try RunbookKit.KubeConnection.resolve(ClientOptions(kubeconfig: sb.kubeconfig, environment: [:]))
        try XCTUnwrap(kc.tls.clientCertPEM).write(to: work.appendingPathComponent("admin.crt"))
        try XCTUnwrap(kc.tls.clientKeyPEM).write(to: work.appendingPathComponent("admin.key"))
        let plugin = Sandbox.repoRoot.appendingPathComponent("fixtures/kube/exec-plugin.sh").path
        let calls = work.appendingPathComponent("calls").path
        let execConfig = """
        apiVersion: v1
        kind: Config
        current-context: ex
        clusters:
        - name: c
          cluster: {server: "\(kc.server)", certificate-authority-data: \(kc.tls.caPEM!.base64EncodedString())}
        users:
        - name: u
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: \(plugin)
              env:
              - {name: CERT_FILE, value: \(work.path)/admin.crt}
              - {name: KEY_FILE, value: \(work.path)/admin.key}
              - {name: CALLS_FILE, value: \(calls)}
        contexts:
        - name: ex
          context: {cluster: c, user: u, namespace: seedtest}
        """
        try execConfig.write(to: work.appendingPathComponent("exec.kubeconfig"), atomically: true, encoding: .utf8)
        let path = try runbook("exec-rb")
        let run = try cli(["run", path, "--yes"], kubeconfig: work.appendingPathComponent("exec.kubeconfig").path)
        XCTAssertEqual(run.code, 0, run.text)
        XCTAssertEqual(try get("-n", "seedtest", "configmap", "exec-made")?.lookup("data.a"), "b", "namespace from the context")
        XCTAssertEqual(try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").count, 1, "credential cached for the run")

        // A CA that did not sign the server certificate must fail, clearly, and change nothing.
        let otherCA = try XCTUnwrap(cfg.range(of: "certificate-authority-data: ")).upperBound
        _ = otherCA
        let r = try Sandbox.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", work.path + "/o.key",
                                                     "-out", work.path + "/o.crt", "-days", "1", "-subj", "/CN=other"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let wrong = execConfig.replacingOccurrences(of: kc.tls.caPEM!.base64EncodedString(),
                                                    with: try Data(contentsOf: work.appendingPathComponent("o.crt")).base64EncodedString())
        try wrong.write(to: work.appendingPathComponent("wrong.kubeconfig"), atomically: true, encoding: .utf8)
        let bad = try cli(["run", runbook("wrongca-rb"), "--yes"], kubeconfig: work.appendingPathComponent("wrong.kubeconfig").path)
        XCTAssertNotEqual(bad.code, 0, bad.text)
        XCTAssertTrue(bad.text.lowercased().contains("certificate"), bad.text)
        XCTAssertNil(try get("-n", "seedtest", "configmap", "wrongca-made"))
    }

    func testInjected503sAndResetsAreRetried() throws {
        _ = try kubectl("-n", "seedtest", "create", "configmap", "flaky", "--from-literal=v=1")
        try sb.fault(method: "PATCH", path: "configmaps/flaky", count: 2, action: "503")
        try sb.fault(method: "GET", path: "configmaps/flaky", count: 1, action: "reset")
        let run = try cli(["run", runbook("flaky-rb"), "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        XCTAssertEqual(try get("-n", "seedtest", "configmap", "flaky")?.lookup("data.v"), "2")
        // the faults did fire: two 503s on the PATCH and one reset on the GET were retried
        let fired = try sb.faultHistory().map { "\($0.method ?? "*") \($0.path ?? "*") \($0.action) fired \($0.fired), left \($0.count)" }
        XCTAssertEqual(fired, ["PATCH configmaps/flaky 503 fired 2, left 0", "GET configmaps/flaky reset fired 1, left 0"])
    }

    func testKilledPatchResumesAndRollsBackToTheStateBeforeTheRun() throws {
        _ = try kubectl("-n", "seedtest", "create", "secret", "generic", "kill-me", "--from-literal=v=before-the-run")
        let path = try runbook("kill-rb")
        // The PATCH hangs in the API server; the process dies during it, after its write-ahead record.
        // (Two PATCHes: the server-side dry-run that tells whether anything changes, then the write.)
        try sb.fault(method: "PATCH", path: "secrets/kill-me", count: 2, action: "slow")
        let p = try RunbookCLI.start(arguments(["run", path, "--yes"]), cwd: work)
        let deadline = Date().addingTimeInterval(60)
        while !stateText().contains("runbook-prior-"), Date() < deadline { usleep(50_000) }
        XCTAssertTrue(stateText().contains("runbook-prior-"), "the prior state was recorded before the PATCH")
        p.kill9()
        _ = p.wait(timeout: 10)
        let runID = try XCTUnwrap(Self.runID(in: stateText()))
        try sb.clearFaults()
        // Whatever the PATCH did, resume finishes the run; the assert fails and rollback restores
        // the value from before the first attempt.
        let resumed = try cli(["resume", runID, "--yes"])
        XCTAssertEqual(resumed.code, 1, resumed.text)
        XCTAssertEqual(try get("-n", "seedtest", "secret", "kill-me")?.lookup("data.v"), .string(b64("before-the-run")))
        XCTAssertFalse(stateText().contains(b64("before-the-run")) || stateText().contains("before-the-run"))
    }

    func testWaitForExternalSecretConditionRolloutAndJob() throws {
        let path = try runbook("waits-rb")
        let plan = try cli(["plan", path])
        XCTAssertTrue(plan.text.contains("wait up to 30s for ExternalSecret seedtest/probe condition type=Ready status=True reason=SecretSynced"), plan.text)
        let run = try cli(["run", path, "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        let st = try status(try XCTUnwrap(run.runID))
        let rollout = st["steps"]?[4]?["outputs"]?["observed"]
        XCTAssertEqual(rollout?["ready"], 2, st.jsonString())
        XCTAssertEqual(try get("-n", "seedtest", "deployment", "waiter")?.lookup("status.readyReplicas"), 2)
        XCTAssertEqual(try get("-n", "seedtest", "secret", "probe-synced")?.lookup("data.value"), .string(b64("probe-value")))
        XCTAssertEqual(try cli(["rollback", try XCTUnwrap(run.runID), "--yes"]).code, 0)
        XCTAssertNil(try get("-n", "seedtest", "deployment", "waiter"))
        XCTAssertNil(try get("-n", "seedtest", "externalsecret", "probe"))
        XCTAssertNil(try get("-n", "seedtest", "job", "irt-waited"))
    }
}

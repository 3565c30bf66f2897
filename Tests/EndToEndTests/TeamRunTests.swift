import Foundation
import RunbookKit
import TestSupport
import XCTest

/// Team-wide runs through the built binary: two state dirs ("two machines") against one sandbox,
/// the cluster Lease, the run records (checked with kubectl), resume/rollback from the other dir,
/// record-write faults and bad input.
final class TeamRunTests: SandboxTestCase {
    var work: URL!
    let runsNS = "runbook-system"

    override func setUpWithError() throws {
        try super.setUpWithError()
        work = try ScratchDirectory.make("team-e2e")
        try? sb.clearFaults()
    }

    override func tearDown() { ScratchDirectory.remove(work) }

    // MARK: helpers

    /// A runbook: `make` applies a ConfigMap `<name>-cm`, `hold` blocks on the fifo `hold` in the work
    /// dir (unless the file `release` exists), `after` applies `<name>-after`.
    func holdingRunbook(_ name: String) -> String {
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: \(name)}
        steps:
          - id: make
            action: k8s.apply
            with:
              objects:
                - {apiVersion: v1, kind: ConfigMap, metadata: {name: \(name)-cm, namespace: seedtest}, data: {a: "1"}}
          - id: hold
            action: exec
            with: {command: ["sh", "-c", "[ -e release ] || read line < hold"], cwd: "\(work.path)"}
          - id: after
            action: k8s.apply
            with:
              objects:
                - {apiVersion: v1, kind: ConfigMap, metadata: {name: \(name)-after, namespace: seedtest}, data: {b: "2"}}
        """
        let path = work.appendingPathComponent("\(name).yaml").path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(mkfifo(work.appendingPathComponent("hold").path, 0o600), 0)
        return path
    }

    func args(_ a: [String], dir: String, kubeconfig: String? = nil) -> [String] {
        a + ["--state-dir", work.appendingPathComponent(dir).path, "--kubeconfig", kubeconfig ?? sb.kubeconfig]
    }

    func cli(_ a: [String], dir: String, kubeconfig: String? = nil) throws -> RunbookCLI.Result {
        try RunbookCLI.run(args(a, dir: dir, kubeconfig: kubeconfig), cwd: work)
    }

    /// Waits until the `hold` step reads the fifo; returns the write end (close it to let the step go on).
    func waitForHold(_ p: RunbookCLI.Running, timeout: TimeInterval = 60) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let fd = open(work.appendingPathComponent("hold").path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { return fd }
            if Date() > deadline || kill(p.pid, 0) != 0 {
                p.kill9()
                _ = p.wait(timeout: 5)
                throw HoldNotReached.notReached(p.result().output)
            }
            usleep(20_000)
        }
    }

    enum HoldNotReached: Error { case notReached(String) }

    func kubectl(_ a: String...) throws -> String {
        try sb.kubectlSucceeding(a)
    }

    func exists(_ kind: String, _ name: String, ns: String = "seedtest") throws -> Bool {
        try sb.kubectl(["get", kind, name, "-n", ns]).status == 0
    }

    func runID(_ text: String) -> String? {
        text.range(of: #"[a-z0-9-]+-\d{8}T\d{6}-[0-9a-f]{4}"#, options: .regularExpression).map { String(text[$0]) }
    }

    /// Every run record: (name, raw JSON of the Secret, decoded state.json, decoded events).
    func records() throws -> [(name: String, raw: String, state: String, events: String)] {
        let list = try XCTUnwrap(sb.kubectlJSON(["secrets", "-n", runsNS, "--field-selector", "type=runbook.dev/run.v1"]))
        return try (list["items"]?.arrayValue ?? []).map { item in
            func unpack(_ key: String) throws -> String {
                let outer = try XCTUnwrap(Data(base64Encoded: item.lookup("data.\(key)")?.stringValue ?? ""))
                let inner = try XCTUnwrap(Data(base64Encoded: outer))
                return String(decoding: try Gzip.decompress(inner), as: UTF8.self)
            }
            return (item.lookup("metadata.name")?.stringValue ?? "", item.jsonString(), try unpack("state"), try unpack("events"))
        }
    }

    /// Every Secret in the runs namespace (run heads, items chunks, anything else): name, type,
    /// its raw JSON and each `data` value of a run record unpacked (base64 of the packed
    /// base64-of-gzip text). A record whose data does not unpack fails the test.
    func allRunsNamespaceSecrets() throws -> [(name: String, type: String, raw: String, payloads: [String])] {
        let list = try XCTUnwrap(sb.kubectlJSON(["secrets", "-n", runsNS]))
        return try (list["items"]?.arrayValue ?? []).map { item in
            let name = item.lookup("metadata.name")?.stringValue ?? ""
            let type = item["type"]?.stringValue ?? ""
            var payloads: [String] = []
            if type.hasPrefix("runbook.dev/") {
                for member in item["data"]?.objectValue ?? Object() {
                    let outer = try XCTUnwrap(Data(base64Encoded: member.value.stringValue ?? ""), "\(name): \(member.key)")
                    let inner = try XCTUnwrap(Data(base64Encoded: outer), "\(name): \(member.key) is not packed")
                    payloads.append(String(decoding: try Gzip.decompress(inner), as: UTF8.self))
                }
            }
            return (name, type, item.jsonString(), payloads)
        }
    }

    func record(_ runID: String) throws -> Value {
        let name = "runbook.run.v1." + runID.lowercased()
        let rec = try XCTUnwrap(records().first { $0.name == name }, "no record \(name)")
        return try Value.parseJSON(rec.state)
    }

    /// Makes the Lease look abandoned (its holder stopped renewing long ago), as after 30 s.
    func expireLease(_ runbook: String) throws {
        _ = try kubectl("-n", runsNS, "patch", "lease", runbook, "--type", "merge", "-p",
                        #"{"spec":{"renewTime":"2020-01-01T00:00:00.000000Z"}}"#)
    }

    // MARK: tests

    func testSecondMachineWaitsForTheFirstAndSeesItsRun() throws {
        let path = holdingRunbook("team-two")
        let a = try RunbookCLI.start(args(["run", path, "--yes"], dir: "A"), cwd: work)
        let fd = try waitForHold(a)
        let lease = try XCTUnwrap(sb.kubectlJSON(["lease", "team-two", "-n", runsNS]))
        let holder = try XCTUnwrap(lease.lookup("spec.holderIdentity")?.stringValue)
        let idA = try XCTUnwrap(runID(holder))
        XCTAssertTrue(holder.contains("@") && holder.contains("pid"), holder)
        XCTAssertEqual(lease.lookup("spec.leaseDurationSeconds")?.intValue, 30)

        let b = try cli(["run", path, "--yes"], dir: "B")
        XCTAssertEqual(b.exitCode, 4, b.output)
        XCTAssertTrue(b.stderr.contains("holds the cluster lock: \(idA)"), b.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("B/runs").path + "/" + idA))
        let history = try cli(["history", "--output", "json"], dir: "B")
        XCTAssertTrue(history.stdout.contains(idA), history.output)
        let status = try cli(["status", idA, "--output", "json"], dir: "B")
        XCTAssertEqual(status.exitCode, 0, status.output)
        XCTAssertEqual(try Value.parseJSON(status.stdout)["status"], "running")
        XCTAssertEqual(try record(idA)["steps"]?[1]?["status"], "running")

        _ = write(fd, "go\n", 3)
        close(fd)
        XCTAssertTrue(a.wait(timeout: 60))
        XCTAssertEqual(a.result().exitCode, 0)
        XCTAssertEqual(try record(idA)["status"], "succeeded")
        let labels = try XCTUnwrap(sb.kubectlJSON(["secret", "runbook.run.v1." + idA.lowercased(), "-n", runsNS]))
        XCTAssertEqual(labels.lookup("metadata.labels")?["runbook.dev/status"], "succeeded")
        XCTAssertEqual(labels.lookup("metadata.labels")?["runbook.dev/runbook"], "team-two")
        XCTAssertEqual(labels["type"], "runbook.dev/run.v1")
        XCTAssertEqual(try sb.kubectlJSON(["lease", "team-two", "-n", runsNS])?.lookup("spec.holderIdentity"), "")

        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("release").path, contents: nil)
        let again = try cli(["run", path, "--yes"], dir: "B")
        XCTAssertEqual(again.exitCode, 0, again.output)
    }

    func testKilledRunKeepsItsLeaseAndIsResumedFromTheOtherMachine() throws {
        let path = holdingRunbook("team-kill")
        let a = try RunbookCLI.start(args(["run", path, "--yes"], dir: "A"), cwd: work)
        let fd = try waitForHold(a)
        a.kill9()
        _ = a.wait(timeout: 10)
        close(fd)
        let idA = try XCTUnwrap(runID(try XCTUnwrap(sb.kubectlJSON(["lease", "team-kill", "-n", runsNS]))
            .lookup("spec.holderIdentity")?.stringValue ?? ""))
        // the holder stopped renewing; its run is unfinished: the Lease is not taken over
        try expireLease("team-kill")
        let b = try cli(["run", path, "--yes"], dir: "B")
        XCTAssertEqual(b.exitCode, 4, b.output)
        XCTAssertTrue(b.stderr.contains("held by run \(idA)") && b.stderr.contains("runbook resume \(idA)"), b.output)
        XCTAssertFalse(try exists("configmap", "team-kill-after"))

        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("release").path, contents: nil)
        let resumed = try cli(["resume", idA, "--yes"], dir: "B")
        XCTAssertEqual(resumed.exitCode, 0, resumed.output)
        XCTAssertTrue(try exists("configmap", "team-kill-after"))
        XCTAssertEqual(try record(idA)["status"], "succeeded")
        // dir A sees the newer checkpoint from the cluster
        let status = try cli(["status", idA, "--output", "json"], dir: "A")
        XCTAssertEqual(try Value.parseJSON(status.stdout)["status"], "succeeded", status.output)
    }

    func testKilledRunIsRolledBackFromTheOtherMachine() throws {
        let path = holdingRunbook("team-undo")
        let a = try RunbookCLI.start(args(["run", path, "--yes"], dir: "A"), cwd: work)
        let fd = try waitForHold(a)
        a.kill9()
        _ = a.wait(timeout: 10)
        close(fd)
        XCTAssertTrue(try exists("configmap", "team-undo-cm"))
        let idA = try XCTUnwrap(runID(try XCTUnwrap(sb.kubectlJSON(["lease", "team-undo", "-n", runsNS]))
            .lookup("spec.holderIdentity")?.stringValue ?? ""))
        // the Lease is still fresh, but the holder's process is known to be gone (same host): no wait
        let blocked = try cli(["run", path, "--yes"], dir: "B")
        XCTAssertEqual(blocked.exitCode, 4, blocked.output)
        XCTAssertTrue(blocked.stderr.contains("held by run \(idA)") && blocked.stderr.contains("interrupted"), blocked.output)
        let r = try cli(["rollback", idA, "--yes"], dir: "B")
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertFalse(try exists("configmap", "team-undo-cm"))
        XCTAssertEqual(try record(idA)["status"], "rolled-back")
        let h = try cli(["history"], dir: "B")
        XCTAssertTrue(h.stdout.contains(idA) && h.stdout.contains("rolled-back"), h.output)
    }

    /// A process killed after its run's last checkpoint but before it released the Lease: the next
    /// run on the same host takes the Lease over at once (the record names the dead holder), while a
    /// Lease whose holder process is not the recorded one, or is alive, is still refused.
    func testLeaseOfAFinishedRunWhoseProcessDiedIsTakenOverAtOnce() throws {
        let path = holdingRunbook("team-late")
        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("release").path, contents: nil)
        let first = try cli(["run", path, "--yes"], dir: "A")
        XCTAssertEqual(first.exitCode, 0, first.output)
        let idA = try XCTUnwrap(runID(first.output))
        let pid = try XCTUnwrap(record(idA).lookup("process.pid")?.intValue)
        func hold(_ pid: Int) throws {
            let holder = "\(idA) \(Identity.userAtHost) pid \(pid)"
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"
            let now = f.string(from: Date())
            // the duration too: the released Lease says 1 s, which a loaded machine outlasts
            // before the next run reads it
            _ = try kubectl("-n", runsNS, "patch", "lease", "team-late", "--type", "merge", "-p",
                            #"{"spec":{"holderIdentity":"\#(holder)","renewTime":"\#(now)","leaseDurationSeconds":\#(ClusterLease.duration)}}"#)
        }
        // a fresh Lease held by a live process that is not the recorded one: refused
        try hold(Int(getpid()))
        let refused = try cli(["run", path, "--yes"], dir: "B")
        XCTAssertEqual(refused.exitCode, 4, refused.output)
        XCTAssertTrue(refused.stderr.contains("holds the cluster lock"), refused.output)
        // a fresh Lease whose holder is the run's own, now dead, process: taken over without waiting
        try hold(pid)
        let started = Date()
        let second = try cli(["run", path, "--yes"], dir: "B")
        XCTAssertEqual(second.exitCode, 0, second.output)
        XCTAssertLessThan(Date().timeIntervalSince(started), Double(ClusterLease.duration), "it did not wait for the Lease to expire")
        let rb = try cli(["rollback", idA, "--yes"], dir: "B")
        XCTAssertEqual(rb.exitCode, 0, rb.output)
    }

    func testRecordWriteFailurePausesBeforeTheNextStep() throws {
        let path = holdingRunbook("team-fault")
        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("release").path, contents: nil)
        // every write of a run record fails (more than the retries)
        try sb.fault(method: "PUT", path: "^/api/v1/namespaces/\(runsNS)/secrets/runbook\\.run\\.v1\\.team-fault", count: 50, action: "500")
        let r = try cli(["run", path, "--yes"], dir: "A")
        XCTAssertEqual(r.exitCode, 3, r.output)
        XCTAssertTrue(r.output.contains("cannot write the run record"), r.output)
        XCTAssertFalse(try exists("configmap", "team-fault-after"))
        let id = try XCTUnwrap(runID(r.output))
        try sb.clearFaults()
        let local = try Value.parseJSON(try String(contentsOf: work.appendingPathComponent("A/runs/\(id)/state.json"), encoding: .utf8))
        XCTAssertEqual(local["status"], "paused")
        let resumed = try cli(["resume", id, "--yes"], dir: "A")
        XCTAssertEqual(resumed.exitCode, 0, resumed.output)
        XCTAssertTrue(try exists("configmap", "team-fault-after"))
        XCTAssertEqual(try record(id)["status"], "succeeded")
    }

    func testHistoryPruneKeepsTheNewestFinishedRuns() throws {
        let path = holdingRunbook("team-prune")
        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("release").path, contents: nil)
        var ids: [String] = []
        for _ in 0..<3 {
            let r = try cli(["run", path, "--yes"], dir: "A")
            XCTAssertEqual(r.exitCode, 0, r.output)
            ids.append(try XCTUnwrap(runID(r.output)))
        }
        let pruned = try cli(["history", "--prune", "--keep", "1"], dir: "B")
        XCTAssertEqual(pruned.exitCode, 0, pruned.output)
        XCTAssertTrue(pruned.stdout.contains(ids[0]) && pruned.stdout.contains(ids[1]) && !pruned.stdout.contains(ids[2]), pruned.output)
        let names = try records().map(\.name)
        XCTAssertFalse(names.contains("runbook.run.v1." + ids[0].lowercased()))
        XCTAssertTrue(names.contains("runbook.run.v1." + ids[2].lowercased()))
    }

    /// A mistyped run id is looked for in the state dir and in the cluster's records, and the
    /// refusal says both, with the closest run id; nothing is recorded on the second machine.
    func testAMistypedRunIDNamesBothPlacesAndTheClosestRun() throws {
        let path = holdingRunbook("team-typo")
        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("release").path, contents: nil)
        let r = try cli(["run", path, "--yes"], dir: "A")
        XCTAssertEqual(r.exitCode, 0, r.output)
        let id = try XCTUnwrap(runID(r.output))
        let typo = String(id.dropLast()) + (id.hasSuffix("0") ? "1" : "0")
        for command in [["status", typo], ["rollback", typo, "--yes"], ["forget", typo, "--reason", "x", "--yes"]] {
            let out = try cli(command, dir: "B")
            XCTAssertEqual(out.exitCode, 2, out.output)
            XCTAssertTrue(out.stderr.contains("nor among the cluster's run records (namespace \(runsNS))"), out.output)
            XCTAssertTrue(out.stderr.contains("did you mean \(id)?"), out.output)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("B/runs/\(typo)").path))
        XCTAssertEqual(try cli(["rollback", id, "--yes"], dir: "A").exitCode, 0)
    }

    /// A run paused on machine A and forgotten from machine B (after cleaning up by hand) is
    /// forgotten for A too: A's status says so and a new run on A starts (it exited 4 before, on
    /// A's own stale copy, until A forgot it again).
    func testARunForgottenFromAnotherMachineNoLongerBlocksTheFirst() throws {
        let path = work.appendingPathComponent("team-forget.yaml").path
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: team-forget}
        steps:
          - id: make
            action: k8s.apply
            with:
              objects:
                - {apiVersion: v1, kind: ConfigMap, metadata: {name: team-forget-cm, namespace: seedtest}, data: {a: "1"}}
          - id: check
            action: exec
            with: {command: ["sh", "-c", "[ ! -e fault ]"], cwd: "\(work.path)"}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("fault").path, contents: nil)
        let paused = try cli(["run", path, "--yes", "--no-rollback"], dir: "A")
        XCTAssertEqual(paused.exitCode, 3, paused.output)
        let id = try XCTUnwrap(runID(paused.output))
        let forgot = try cli(["forget", id, "--reason", "cleaned up by hand", "--yes"], dir: "B")
        XCTAssertEqual(forgot.exitCode, 0, forgot.output)
        let status = try cli(["status", id], dir: "A")
        XCTAssertTrue(status.stdout.contains("forgotten"), status.output)
        try FileManager.default.removeItem(at: work.appendingPathComponent("fault"))
        let again = try cli(["run", path, "--yes"], dir: "A")
        XCTAssertEqual(again.exitCode, 0, again.output)
        let next = try XCTUnwrap(runID(again.output))
        XCTAssertEqual(try cli(["rollback", next, "--yes"], dir: "A").exitCode, 0)
        _ = try kubectl("-n", "seedtest", "delete", "configmap", "team-forget-cm", "--ignore-not-found")
    }

    func testForeachItemsLiveInChunksReadFromTheOtherMachineAndArePruned() throws {
        let items = (0..<60).map { "it-\($0)" }.joined(separator: ", ")
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: team-chunks}
        steps:
          - id: make
            action: k8s.apply
            with:
              objects:
                - {apiVersion: v1, kind: ConfigMap, metadata: {name: team-chunks-cm, namespace: seedtest}, data: {a: "1"}}
          - id: each
            foreach: [\(items)]
            concurrency: 4
            steps:
              - id: same
                action: assert
                with: {equals: ["${{ item }}", "${{ item }}"]}
        """
        let path = work.appendingPathComponent("team-chunks.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try cli(["run", path, "--yes"], dir: "A")
        XCTAssertEqual(r.exitCode, 0, r.output)
        let id = try XCTUnwrap(runID(r.output))
        let head = "runbook.run.v1." + id.lowercased()

        // the head holds no items; 60 items make two chunks of the group at main step 1
        let list = try XCTUnwrap(sb.kubectlJSON(["secrets", "-n", runsNS, "-l", "runbook.dev/run-id=\(id)"]))
        let secrets = list["items"]?.arrayValue ?? []
        XCTAssertEqual(Set(secrets.compactMap { $0.lookup("metadata.name")?.stringValue }), [head, head + ".items.1-0", head + ".items.1-1"])
        for chunk in secrets where chunk.lookup("metadata.name")?.stringValue != head {
            XCTAssertEqual(chunk["type"], "runbook.dev/run-items.v1")
            XCTAssertEqual(chunk.lookup("metadata.labels")?["runbook.dev/runbook"], "team-chunks")
            XCTAssertNotNil(chunk.lookup("metadata.labels")?["runbook.dev/chunk"])
            XCTAssertEqual(chunk.lookup("metadata.ownerReferences")?[0]?["name"]?.stringValue, head)
        }
        let rec = try record(id)
        XCTAssertEqual(rec["status"], "succeeded")
        XCTAssertNil(rec["steps"]?[1]?["items"], "items belong in the chunks")

        // another machine merges head and chunks
        let status = try cli(["status", id], dir: "B")
        XCTAssertEqual(status.exitCode, 0, status.output)
        XCTAssertTrue(status.stdout.contains("items: 60 — 60 succeeded"), status.output)

        // prune removes the chunks with the head
        let pruned = try cli(["history", "--prune", "--keep", "0"], dir: "B")
        XCTAssertEqual(pruned.exitCode, 0, pruned.output)
        XCTAssertTrue(pruned.stdout.contains(id), pruned.output)
        let after = try XCTUnwrap(sb.kubectlJSON(["secrets", "-n", runsNS, "-l", "runbook.dev/run-id=\(id)"]))
        XCTAssertEqual(after["items"]?.arrayValue?.count, 0, after.jsonString())
    }

    /// Every Secret the run leaves in the runs namespace — the head and the chunk Secrets of a
    /// `foreach` group whose items hold secret values (one item is a secret value itself, so its
    /// key would be too) — holds neither a secret value nor its base64, raw or unpacked.
    func testRecordsHoldNoSecretValue() throws {
        let secret = "team-Sup3r-s3cret-\(UUID().uuidString.prefix(6))"
        _ = try kubectl("-n", "seedtest", "create", "secret", "generic", "team-src", "--from-literal=pw=\(secret)")
        // one item more than a chunk holds: the items span two chunk Secrets
        let items = (0..<RunRecordLayout.itemsPerChunk).map {
            "      - {name: item-\($0), pw: \"${{ steps.read.outputs.value }}\", token: \"x-${{ vars.token }}-x\"}"
        }
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: team-secret}
        vars:
          token: {required: true, secret: true}
        steps:
          - id: read
            action: k8s.secret.read
            with: {namespace: seedtest, name: team-src, key: pw}
          - id: copy
            action: k8s.apply
            with:
              objects:
                - apiVersion: v1
                  kind: Secret
                  metadata: {name: team-copy, namespace: seedtest}
                  stringData: {pw: "${{ steps.read.outputs.value }}", token: "${{ vars.token }}"}
          - id: echo
            action: exec
            with: {command: ["echo", "${{ vars.token }}", "${{ steps.read.outputs.value }}"]}
          - id: each
            foreach:
              - "${{ vars.token }}"
        \(items.joined(separator: "\n"))
            as: it
            concurrency: 8
            steps:
              - id: reread
                action: k8s.secret.read
                with: {namespace: seedtest, name: team-src, key: pw}
              - id: check
                action: assert
                with: {that: "${{ it != '' && steps.reread.outputs.value != '' }}", message: an empty item}
        """
        let path = work.appendingPathComponent("team-secret.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let token = "tok-\(UUID().uuidString)"
        let r = try cli(["run", path, "--yes", "--var", "token=\(token)"], dir: "A")
        XCTAssertEqual(r.exitCode, 0, r.output)
        let id = try XCTUnwrap(runID(r.output), r.output)
        let all = try allRunsNamespaceSecrets()
        let mine = all.filter { $0.name.hasPrefix(RunRecords.secretName(id)) }
        XCTAssertEqual(mine.filter { $0.type == RunRecords.type }.count, 1, "\(mine.map(\.name))")
        XCTAssertEqual(mine.filter { $0.type == RunRecords.chunkType }.count, 2, "\(mine.map(\.name))")
        // the chunks do hold the items (the first a secret value, masked), so the scan looked at them
        let chunkItems = try mine.filter { $0.type == RunRecords.chunkType }
            .flatMap { try XCTUnwrap(Value.parseJSON($0.payloads.first ?? "").arrayValue, $0.name) }
        XCTAssertEqual(chunkItems.count, RunRecordLayout.itemsPerChunk + 1)
        XCTAssertEqual(chunkItems.filter { $0["status"] == "succeeded" }.count, chunkItems.count)
        XCTAssertTrue(chunkItems.contains { $0["key"] == "item-0" }, "\(chunkItems.prefix(2))")
        XCTAssertEqual(chunkItems.first { $0["index"]?.intValue == 0 }?["key"]?.stringValue, Masker.placeholder)
        // the local write-ahead copy holds the same masked key
        let local = try String(contentsOf: work.appendingPathComponent("A/runs/\(id)/state.json"), encoding: .utf8)
        XCTAssertFalse(local.contains(token), "state.json holds the secret item's key")
        for rec in all {
            for s in [secret, token] {
                let b64 = Data(s.utf8).base64EncodedString()
                for form in [s, b64, b64.trimmingCharacters(in: ["="])] {
                    XCTAssertFalse(rec.raw.contains(form) || rec.payloads.contains { $0.contains(form) },
                                   "record \(rec.name) holds a secret (\(form.prefix(6))…)")
                }
            }
        }
    }

    /// An item that is a secret value has a masked key in the state; a resume evaluates the list
    /// again, masks the same way and so finds the same items (it does not refuse "the list changed").
    func testASecretItemKeyIsMaskedAndResumeMatchesIt() throws {
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: team-secret-item}
        vars:
          token: {required: true, secret: true}
        steps:
          - id: each
            foreach: ["${{ vars.token }}", plain]
            steps:
              - id: gate
                action: exec
                with: {command: ["sh", "-c", "[ -e release ]"], cwd: "\(work.path)"}
        """
        let path = work.appendingPathComponent("team-secret-item.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let token = "tok-item-\(UUID().uuidString)"
        let paused = try cli(["run", path, "--yes", "--no-rollback", "--var", "token=\(token)"], dir: "A")
        XCTAssertEqual(paused.exitCode, 3, paused.output)
        XCTAssertFalse(paused.output.contains(token), paused.output)
        let id = try XCTUnwrap(runID(paused.output), paused.output)
        let stateFile = work.appendingPathComponent("A/runs/\(id)/state.json")
        let state = try String(contentsOf: stateFile, encoding: .utf8)
        XCTAssertFalse(state.contains(token), "state.json holds the secret item's key")
        let keys = try Value.parseJSON(state)["steps"]?[0]?["items"]?.arrayValue?.compactMap { $0["key"]?.stringValue }
        XCTAssertEqual(keys, [Masker.placeholder, "plain"])
        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("release").path, contents: nil)
        let resumed = try cli(["resume", id, "--yes", "--var", "token=\(token)"], dir: "A")
        XCTAssertEqual(resumed.exitCode, 0, resumed.output)
        XCTAssertFalse(resumed.output.contains(token), resumed.output)
        XCTAssertFalse(try String(contentsOf: stateFile, encoding: .utf8).contains(token))
    }

    func testBadInputChangesNothing() throws {
        let path = holdingRunbook("team-bad")
        _ = FileManager.default.createFile(atPath: work.appendingPathComponent("release").path, contents: nil)
        // a runs namespace no namespace can be named: a usage error before anything is read
        let bad = try cli(["run", path, "--yes", "--namespace-for-runs", "Not_A_Namespace"], dir: "A")
        XCTAssertEqual(bad.exitCode, 2, bad.output)
        XCTAssertTrue(bad.stderr.contains("--namespace-for-runs: 'Not_A_Namespace' is not a namespace name"), bad.output)
        XCTAssertFalse(try exists("configmap", "team-bad-cm"))

        // a user who may not touch Leases (nor anything else)
        _ = try kubectl("-n", "seedtest", "create", "serviceaccount", "team-nobody")
        let token = try kubectl("-n", "seedtest", "create", "token", "team-nobody").trimmingCharacters(in: .whitespacesAndNewlines)
        let kc = work.appendingPathComponent("nobody.kubeconfig").path
        try FileManager.default.copyItem(atPath: sb.kubeconfig, toPath: kc)
        for a in [["config", "set-credentials", "nobody", "--token=\(token)"],
                  ["config", "set-context", "nobody", "--cluster=sandbox", "--user=nobody", "--namespace=seedtest"],
                  ["config", "use-context", "nobody"]]
        {
            XCTAssertEqual(try Sandbox.run("/usr/bin/kubectl", ["--kubeconfig", kc] + a).status, 0)
        }
        let forbidden = try cli(["run", path, "--yes"], dir: "A", kubeconfig: kc)
        XCTAssertEqual(forbidden.exitCode, 3, forbidden.output)
        // the preflight asks before the Lease is touched, and names each missing permission
        for p in ["create leases.coordination.k8s.io in namespace runbook-system",
                  "update leases.coordination.k8s.io/team-bad in namespace runbook-system",
                  "create secrets in namespace runbook-system", "patch configmaps/team-bad-cm in namespace seedtest"]
        {
            XCTAssertTrue(forbidden.stderr.contains(p), "\(p) not named: \(forbidden.output)")
        }
        XCTAssertFalse(try exists("configmap", "team-bad-cm"))

        // a record that another process changed: this process stops owning the run (exit 4)
        try FileManager.default.removeItem(at: work.appendingPathComponent("release"))
        let a = try RunbookCLI.start(args(["run", path, "--yes"], dir: "A"), cwd: work)
        let fd = try waitForHold(a)
        let id = try XCTUnwrap(runID(try XCTUnwrap(sb.kubectlJSON(["lease", "team-bad", "-n", runsNS]))
            .lookup("spec.holderIdentity")?.stringValue ?? ""))
        _ = try kubectl("-n", runsNS, "label", "secret", "runbook.run.v1." + id.lowercased(), "someone=else")
        _ = write(fd, "go\n", 3)
        close(fd)
        XCTAssertTrue(a.wait(timeout: 60))
        let res = a.result()
        XCTAssertEqual(res.exitCode, 4, res.output)
        XCTAssertTrue(res.stderr.contains("was changed by another process"), res.output)
        XCTAssertFalse(try exists("configmap", "team-bad-after"))
    }
}

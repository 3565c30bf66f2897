import Foundation
import RunbookKit
import TestSupport
import XCTest

/// The engine through the built binary: exec/approve/assert runbooks in temp directories, no sandbox.
final class EngineTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/runbooks/engine")

    var dir: URL!
    var stateDir: URL { dir.appendingPathComponent("state") }

    override func setUpWithError() throws {
        dir = try ScratchDirectory.make("engine-e2e")
    }

    override func tearDownWithError() throws { ScratchDirectory.remove(dir) }

    /// Copies a fixture runbook into the test's directory (its steps write evidence there).
    func fixture(_ name: String) throws -> String {
        let target = dir.appendingPathComponent("\(name).yaml")
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("\(name).yaml"), to: target)
        return target.path
    }

    func runbook(_ args: [String], stdin: String? = nil) throws -> RunbookCLI.Result {
        try RunbookCLI.run(args, env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir, stdin: stdin)
    }

    var evidence: [String] {
        ((try? String(contentsOf: dir.appendingPathComponent("evidence"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    func runIDs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: stateDir.appendingPathComponent("runs").path)) ?? []).sorted()
    }

    func onlyRunID(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let ids = runIDs()
        XCTAssertEqual(ids.count, 1, "runs: \(ids)", file: file, line: line)
        return try XCTUnwrap(ids.first)
    }

    /// The run's checkpoint as a reader sees it: `state.json` with the journal's newer records folded in.
    func state(_ id: String) throws -> Value {
        try StateStore(root: stateDir).load(id).toValue()
    }

    func mode(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func waitFor(_ file: String, timeout: TimeInterval = 60) {
        _ = eventually(timeout: timeout, every: 0.05) { FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path) }
    }

    // MARK: tests

    func testRunOfExecStepsSucceedsAndWritesTheStateLayout() throws {
        let r = try runbook(["run", "--yes", try fixture("exec-steps")])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(evidence, ["one", "two", "three"])
        let id = try onlyRunID()
        XCTAssertNotNil(id.range(of: #"^exec-steps-\d{8}T\d{6}-[0-9a-f]{4}$"#, options: .regularExpression), id)
        let runDir = stateDir.appendingPathComponent("runs/\(id)")
        XCTAssertEqual(try mode(stateDir), 0o700)
        XCTAssertEqual(try mode(stateDir.appendingPathComponent("runs")), 0o700)
        XCTAssertEqual(try mode(runDir), 0o700)
        XCTAssertEqual(try mode(runDir.appendingPathComponent("state.json")), 0o600)
        XCTAssertEqual(try mode(runDir.appendingPathComponent("events.jsonl")), 0o600)
        let s = try state(id)
        XCTAssertEqual(s["version"], 1)
        XCTAssertEqual(s["status"], "succeeded")
        XCTAssertEqual(s["runbook"]?["sha256"]?.stringValue?.count, 64)
        XCTAssertEqual(s["steps"]?.arrayValue?.map { $0["status"] }, ["succeeded", "succeeded", "succeeded"])
        let events = try String(contentsOf: runDir.appendingPathComponent("events.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try Value.parseJSON(String($0)) }
        XCTAssertEqual(events.first?["event"], "run.started")
        XCTAssertEqual(events.last?["event"], "run.finished")
        XCTAssertEqual(events.last?["status"], "succeeded")
        XCTAssertTrue(events.allSatisfy { $0["time"] != nil && $0["user"] != nil && $0["host"] != nil })
        for step in ["one", "two", "three"] {
            XCTAssertTrue(r.stdout.contains("✓ \(step)"), r.stdout)
        }
        // status and history read it back.
        let status = try runbook(["status", id, "--output", "json"])
        XCTAssertEqual(status.exitCode, 0, status.output)
        XCTAssertEqual(try Value.parseJSON(status.stdout)["run_id"]?.stringValue, id)
        let history = try runbook(["history"])
        XCTAssertTrue(history.stdout.contains(id) && history.stdout.contains("succeeded"), history.output)
    }

    func testExplicitRollbackListsRunInsteadOfUndoAndSkippedOrNoneStepsAreLeftAlone() throws {
        let r = try runbook(["run", "--yes", try fixture("explicit-rollback")])
        XCTAssertEqual(r.exitCode, 1, r.output)
        XCTAssertEqual(evidence, ["one", "tolerated", "no-undo", "explicit-undo-one-a", "explicit-undo-one-b"])
        let s = try state(try onlyRunID())
        let statuses = s["steps"]?.arrayValue?.map { $0["status"]?.stringValue ?? "?" }
        XCTAssertEqual(statuses?[1], "skipped")
        XCTAssertEqual(statuses?[2], "failed")
        XCTAssertEqual(statuses?[4], "failed")
    }

    func testASecretInsideOrdinaryNamesDoesNotCorruptTheCheckpointUsedByRollback() throws {
        let file = try fixture("secret-word")
        let r = try runbook(["run", "--yes", file, "--var", "password=alpha1", "--no-rollback"])
        XCTAssertEqual(r.exitCode, 3, r.output)
        XCTAssertFalse(r.output.contains("alpha1"), r.output)  // shown masked to people: ***-target
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("alpha1-target").path))
        let id = try onlyRunID()
        // A new process rolls back from state.json alone: the undo must name the real file.
        let back = try runbook(["rollback", id, "--yes", "--var", "password=alpha1"])
        XCTAssertEqual(back.exitCode, 0, back.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("alpha1-target").path))
        let s = try state(id)
        XCTAssertEqual(s["vars"]?["password"], "***")
        XCTAssertEqual(s["vars"]?["target"], "alpha1-target")
    }

    func testFailingThirdStepRollsBackStepsTwoAndOneNewestFirst() throws {
        let file = try fixture("exec-steps")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("fault").path, contents: nil))
        let r = try runbook(["run", "--yes", file])
        XCTAssertEqual(r.exitCode, 1, r.output)
        XCTAssertEqual(evidence, ["one", "two", "undo-two", "undo-one"])
        XCTAssertTrue(r.stdout.contains("fault present"), r.stdout)
        let s = try state(try onlyRunID())
        XCTAssertEqual(s["status"], "rolled-back")
        XCTAssertEqual(s["steps"]?.arrayValue?.map { $0["status"] }, ["rolled-back", "rolled-back", "failed"])
    }

    func testAFailedUndoThatIsNotADriftRefusalGetsNoForceHint() throws {
        let r = try runbook(["run", "--yes", try fixture("failing-undo")])
        XCTAssertEqual(r.exitCode, 3, r.output)
        let id = try onlyRunID()
        XCTAssertEqual(try state(id)["status"], "rollback-failed")
        XCTAssertTrue(r.output.contains("undo target is gone"), r.output)
        XCTAssertTrue(r.output.contains("runbook rollback \(id)"), r.output)
        XCTAssertFalse(r.output.contains("--force"), r.output)
        XCTAssertFalse(r.output.contains("drift"), r.output)
        let events = try String(contentsOf: stateDir.appendingPathComponent("runs/\(id)/events.jsonl"), encoding: .utf8)
        XCTAssertFalse(events.contains("--force"), events)
    }

    /// A rollback that failed, then completed on a second `runbook rollback`, no longer shows the
    /// first attempt's failure as the run's message (status said "rolled-back — rollback of step
    /// one failed …").
    func testACompletedRollbackDropsTheMessageOfAFailedAttempt() throws {
        let file = dir.appendingPathComponent("undo-fault.yaml")
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: undo-fault}
        steps:
          - id: one
            action: exec
            with:
              command: [sh, -c, "echo one >> evidence"]
              undo: [sh, -c, "if [ -e fault ]; then echo 'undo blocked' >&2; exit 5; fi; echo undo-one >> evidence"]
        """.write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try runbook(["run", "--yes", file.path]).exitCode, 0)
        let id = try onlyRunID()
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("fault").path, contents: nil))
        let failed = try runbook(["rollback", id, "--yes"])
        XCTAssertEqual(failed.exitCode, 3, failed.output)
        XCTAssertEqual(try state(id)["message"]?.stringValue?.hasPrefix("rollback of step one failed"), true)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("fault"))
        let done = try runbook(["rollback", id, "--yes"])
        XCTAssertEqual(done.exitCode, 0, done.output)
        XCTAssertEqual(try state(id)["status"], "rolled-back")
        XCTAssertNil(try state(id)["message"]?.stringValue, "a stale message stayed")
        let status = try runbook(["status", id])
        XCTAssertFalse(status.stdout.contains("failed"), status.stdout)
        XCTAssertEqual(evidence, ["one", "undo-one"])
    }

    func testNoRollbackPausesAndResumeCompletesAfterTheFaultIsRemoved() throws {
        let file = try fixture("exec-steps")
        let fault = dir.appendingPathComponent("fault")
        XCTAssertTrue(FileManager.default.createFile(atPath: fault.path, contents: nil))
        let r = try runbook(["run", "--yes", file, "--no-rollback"])
        XCTAssertEqual(r.exitCode, 3, r.output)
        let id = try onlyRunID()
        XCTAssertTrue(r.stdout.contains("runbook resume \(id)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("runbook rollback \(id)"), r.stdout)
        XCTAssertEqual(try state(id)["status"], "paused")
        XCTAssertEqual(evidence, ["one", "two"])
        try FileManager.default.removeItem(at: fault)
        let resumed = try runbook(["resume", "--yes", id])
        XCTAssertEqual(resumed.exitCode, 0, resumed.output)
        XCTAssertEqual(evidence, ["one", "two", "three"])
        XCTAssertEqual(try state(id)["status"], "succeeded")
        // `runbook rollback` then undoes the completed run, newest first.
        let undone = try runbook(["rollback", "--yes", id])
        XCTAssertEqual(undone.exitCode, 0, undone.output)
        XCTAssertEqual(evidence, ["one", "two", "three", "undo-three", "undo-two", "undo-one"])
    }

    func testResumeRefusesAChangedRunbook() throws {
        let file = try fixture("exec-steps")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("fault").path, contents: nil))
        XCTAssertEqual(try runbook(["run", "--yes", file, "--no-rollback"]).exitCode, 3)
        try (try String(contentsOfFile: file, encoding: .utf8) + "\n# edited\n").write(toFile: file, atomically: true, encoding: .utf8)
        let r = try runbook(["resume", "--yes", try onlyRunID()])
        XCTAssertEqual(r.exitCode, 2, r.output)
        XCTAssertTrue(r.stderr.contains("changed since run"), r.stderr)
        XCTAssertEqual(evidence, ["one", "two"])
        // Rollback refuses it too, and the way out is named (a new run is blocked by this one).
        let rb = try runbook(["rollback", "--yes", try onlyRunID()])
        XCTAssertEqual(rb.exitCode, 2, rb.output)
        XCTAssertTrue(rb.stderr.contains("restore the original file") && rb.stderr.contains("runbook forget"), rb.stderr)
        XCTAssertEqual(evidence, ["one", "two"])
    }

    func testKillDuringAStepThenResumeHasEveryEffectExactlyOnce() throws {
        let file = try fixture("slow-step")
        let p = try RunbookCLI.start(["run", "--yes", file], env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir)
        waitFor("started")
        p.kill9()
        XCTAssertTrue(p.wait(timeout: 10))
        let id = try onlyRunID()
        // The write-ahead checkpoint says step two was running when the process died.
        let s = try state(id)
        XCTAssertEqual(s["status"], "running")
        XCTAssertEqual(s["steps"]?[1]?["status"], "running")
        XCTAssertEqual(s["steps"]?[0]?["status"], "succeeded")
        let r = try runbook(["resume", "--yes", id])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(evidence, ["one", "two", "three"])
        XCTAssertEqual(try state(id)["steps"]?[1]?["attempts"], 2)
    }

    func testDryRunLeavesNoTrace() throws {
        let file = try fixture("exec-steps")
        let r = try runbook(["run", file, "--dry-run"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertTrue(r.stdout.contains("run sh -c 'echo one >> evidence'"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDir.path), "a dry-run created the state dir")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("evidence").path))
        let plan = try runbook(["plan", file, "--output", "json"])
        XCTAssertEqual(plan.exitCode, 0, plan.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDir.path))
        XCTAssertEqual(Set(try RunbookCLI.Result.jsonLines(plan.stdout).compactMap { $0["step"]?.stringValue }), ["one", "two", "three"])
    }

    func testASecretVarNeverAppearsInOutputOrState() throws {
        let secret = "Sup3r-S3cret-Value!"
        let file = try fixture("secret-var")
        var outputs: [String] = []
        for format in ["text", "json"] {
            let r = try runbook(["run", "--yes", file, "--var", "token=\(secret)", "--output", format])
            XCTAssertEqual(r.exitCode, 1, r.output)
            XCTAssertTrue(r.output.contains("visible-label"), "output is not masked wholesale: \(r.output)")
            XCTAssertTrue(r.output.contains("***"), r.output)
            outputs.append(r.output)
        }
        for id in runIDs() {
            let runDir = stateDir.appendingPathComponent("runs/\(id)")
            outputs.append(try String(contentsOf: runDir.appendingPathComponent("state.json"), encoding: .utf8))
            outputs.append(try String(contentsOf: runDir.appendingPathComponent("events.jsonl"), encoding: .utf8))
            let st = try runbook(["status", id])
            outputs.append(st.output)
        }
        XCTAssertEqual(runIDs().count, 2)
        let b64 = Data(secret.utf8).base64EncodedString()
        for text in outputs {
            XCTAssertFalse(text.contains(secret), "secret leaked: \(text)")
            XCTAssertFalse(text.contains(b64) || text.contains(b64.trimmingCharacters(in: ["="])), "base64 leaked: \(text)")
        }
        // Resume needs the secret again, and says so.
        let paused = try runbook(["run", "--yes", file, "--var", "token=\(secret)", "--no-rollback"])
        XCTAssertEqual(paused.exitCode, 3, paused.output)
        let id = try XCTUnwrap(runIDs().first { !outputs.joined().contains($0) })
        let again = try runbook(["resume", "--yes", id])
        XCTAssertEqual(again.exitCode, 2, again.output)
        XCTAssertTrue(again.stderr.contains("--var token="), again.stderr)
    }

    func testMalformedRunbookGetsEveryErrorWithItsPosition() throws {
        let file = try fixture("broken")
        for command in [["validate", file], ["run", file]] {
            let r = try runbook(command)
            XCTAssertEqual(r.exitCode, 2, r.output)
            for position in ["5:1", "9:34", "10:9", "11:13", "14:11", "17:24"] {
                XCTAssertTrue(r.stderr.contains("\(file):\(position): "), "missing \(position) in \(r.stderr)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDir.path))
    }

    func testSecondConcurrentRunExits4NamingTheHolderAndADeadHolderIsTakenOver() throws {
        let file = try fixture("slow-step")
        // The first run holds the lock until it is killed below, however long the second takes.
        let first = try RunbookCLI.start(["run", "--yes", file, "--var", "seconds=600"], env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir)
        waitFor("started")
        let holder = try onlyRunID()
        let second = try runbook(["run", "--yes", file])
        XCTAssertEqual(second.exitCode, 4, second.output)
        XCTAssertTrue(second.stderr.contains("run \(holder)") && second.stderr.contains("pid \(first.pid)"), second.stderr)
        first.kill9()
        XCTAssertTrue(first.wait(timeout: 10))
        // The dead holder's run is unfinished: it blocks new runs until a person forgets (or finishes) it.
        let blocked = try runbook(["run", "--yes", file, "--var", "seconds=0"])
        XCTAssertEqual(blocked.exitCode, 4, blocked.output)
        XCTAssertTrue(blocked.stderr.contains("took over the lock left by a process that is gone (run \(holder)"), blocked.stderr)
        XCTAssertTrue(blocked.stderr.contains("run \(holder) of slow-step is interrupted"), blocked.stderr)
        XCTAssertEqual(try runbook(["forget", holder, "--reason", "test", "--yes"]).exitCode, 0)
        let third = try runbook(["run", "--yes", file, "--var", "seconds=0"])
        XCTAssertEqual(third.exitCode, 0, third.output)
    }

    func testWithoutATerminalOrYesNothingChangesAndYesAnswersApprovals() throws {
        let file = try fixture("approval")
        let r = try runbook(["run", file])
        XCTAssertEqual(r.exitCode, 3, r.output)
        XCTAssertTrue(r.stderr.contains("pass --yes to run without a terminal"), r.stderr)
        XCTAssertEqual(evidence, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDir.path), "a refused run left state")
        XCTAssertEqual(try runbook(["plan", file]).exitCode, 0, "plan never asks")
        let withYes = try runbook(["run", file, "--yes"])
        XCTAssertEqual(withYes.exitCode, 0, withYes.output)
        XCTAssertEqual(evidence, ["before", "after"])

        // resume and rollback refuse too, before changing anything (state and events untouched).
        let paused = try fixture("exec-steps")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("fault").path, contents: nil))
        XCTAssertEqual(try runbook(["run", paused, "--yes", "--no-rollback"]).exitCode, 3)
        let id = try XCTUnwrap(runIDs().first { $0.hasPrefix("exec-steps-") })
        let stateBefore = try String(contentsOf: stateDir.appendingPathComponent("runs/\(id)/state.json"), encoding: .utf8)
        let eventsBefore = try String(contentsOf: stateDir.appendingPathComponent("runs/\(id)/events.jsonl"), encoding: .utf8)
        for command in [["resume", id], ["rollback", id]] {
            let refused = try runbook(command)
            XCTAssertEqual(refused.exitCode, 3, refused.output)
            XCTAssertTrue(refused.stderr.contains("pass --yes to run without a terminal"), refused.stderr)
        }
        XCTAssertEqual(try String(contentsOf: stateDir.appendingPathComponent("runs/\(id)/state.json"), encoding: .utf8), stateBefore)
        XCTAssertEqual(try String(contentsOf: stateDir.appendingPathComponent("runs/\(id)/events.jsonl"), encoding: .utf8), eventsBefore)
        XCTAssertEqual(evidence, ["before", "after", "one", "two"])
        XCTAssertEqual(try runbook(["rollback", id, "--yes"]).exitCode, 0)
    }

    func testJSONOutputEmitsOneEventPerLineEndingWithRunFinished() throws {
        let r = try runbook(["run", "--yes", try fixture("exec-steps"), "--output", "json"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        let events = try RunbookCLI.Result.jsonLines(r.stdout)
        let finished = events.filter { $0["event"] == "step.finished" }
        XCTAssertEqual(finished.map { $0["step"] }, ["one", "two", "three"])
        XCTAssertTrue(finished.allSatisfy { $0["status"] == "succeeded" })
        XCTAssertEqual(events.last?["event"], "run.finished")
        XCTAssertEqual(events.last?["run_id"]?.stringValue, try onlyRunID())
        XCTAssertEqual(events.last?["status"], "succeeded")
    }

    func testATimedOutStepFailsAndAnInterruptedRollbackResumes() throws {
        let file = try fixture("slow-undo")
        let started = Date()
        let p = try RunbookCLI.start(["run", "--yes", file], env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir)
        waitFor("undoing")
        // Step three (sleep 30, timeout 1s) was stopped at its deadline and the rollback began.
        XCTAssertLessThan(Date().timeIntervalSince(started), 15)
        p.kill9()
        XCTAssertTrue(p.wait(timeout: 10))
        let id = try onlyRunID()
        let s = try state(id)
        XCTAssertEqual(s["status"], "rolling-back")
        XCTAssertEqual(s["steps"]?[1]?["status"], "rolling-back")
        XCTAssertTrue(s["steps"]?[2]?["error"]?.stringValue?.contains("timed out") ?? false, "\(s)")
        // The undo's process died with runbook; resume runs it again.
        let r = try runbook(["resume", "--yes", id])
        XCTAssertEqual(r.exitCode, 1, r.output)
        XCTAssertEqual(evidence, ["one", "two", "undo-two", "undo-one"])
        XCTAssertEqual(try state(id)["status"], "rolled-back")
        let again = try runbook(["rollback", "--yes", id])
        XCTAssertEqual(again.exitCode, 2, again.output)
    }

    func testResumeFromAStepRunsFromThereAndKeepsNoRollback() throws {
        let file = try fixture("exec-steps")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("fault").path, contents: nil))
        XCTAssertEqual(try runbook(["run", "--yes", file, "--no-rollback"]).exitCode, 3)
        let id = try onlyRunID()
        let bad = try runbook(["resume", "--yes", id, "--from", "nope"])
        XCTAssertEqual(bad.exitCode, 2, bad.output)
        let r = try runbook(["resume", "--yes", id, "--from", "two"])
        // Step two runs again (these exec steps are not convergent: the evidence shows it); three still
        // fails and, as the run was started with --no-rollback, pauses again.
        XCTAssertEqual(r.exitCode, 3, r.output)
        XCTAssertEqual(evidence, ["one", "two", "two"])
    }

    /// Ctrl-C while an approval waits for its answer stops the run like any step (it waited forever
    /// before, until a second Ctrl-C killed it): paused, exit 3; resume asks again.
    func testSIGINTWhileAnApprovalWaitsPausesTheRun() throws {
        let file = try fixture("approval")
        let command = ([try RunbookCLI.binary().path, "run", file]).map { "'\($0)'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qec", command, "/dev/null"]
        p.currentDirectoryURL = dir
        p.environment = RunbookCLI.environment(["RUNBOOK_STATE_DIR": stateDir.path, "NO_COLOR": "1"])
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = outPipe
        try p.run()
        defer { try? inPipe.fileHandleForWriting.close(); if p.isRunning { p.terminate() } }
        inPipe.fileHandleForWriting.write(Data("y\n".utf8))  // the confirmation only
        // The approval step is running (asking) once its checkpoint says so.
        var pid: Int32?
        let deadline = Date().addingTimeInterval(60)
        while pid == nil, Date() < deadline {
            if let id = runIDs().first, let st = try? state(id), st["steps"]?[1]?["status"] == "running" {
                pid = st["process"]?["pid"]?.intValue.map(Int32.init)
            } else {
                usleep(50_000)
            }
        }
        let runbookPID = try XCTUnwrap(pid, "the approval never started")
        kill(runbookPID, SIGINT)
        // A run that ignores the signal would wait forever: end it after a generous deadline (the test fails).
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if p.isRunning { kill(runbookPID, SIGKILL) } }
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()  // ends when runbook (and script) exit
        p.waitUntilExit()
        let text = String(decoding: out, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 3, text)
        XCTAssertTrue(text.contains("paused"), text)
        let id = try onlyRunID()
        XCTAssertEqual(try state(id)["status"], "paused")
        XCTAssertEqual(evidence, ["before"])
        let resumed = try runOnTTY(["resume", id], input: "y\ny\n", env: ["NO_COLOR": "1"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.stdout)
        XCTAssertEqual(evidence, ["before", "after"])
    }

    /// Runs the binary on a pseudo-terminal (util-linux `script`), typing `input`.
    func runOnTTY(_ args: [String], input: String, env: [String: String] = [:]) throws -> RunbookCLI.Result {
        let command = ([try RunbookCLI.binary().path] + args).map { "'\($0)'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qec", command, "/dev/null"]
        p.currentDirectoryURL = dir
        p.environment = RunbookCLI.environment(["RUNBOOK_STATE_DIR": stateDir.path].merging(env) { $1 })
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = outPipe
        try p.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? inPipe.fileHandleForWriting.close()
        return RunbookCLI.Result(exitCode: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: "")
    }

    func testOnATTYTheRunAsksForConfirmationAndApproval() throws {
        let file = try fixture("approval")
        let yes = try runOnTTY(["run", file], input: "y\ny\n", env: ["NO_COLOR": "1"])
        XCTAssertEqual(yes.exitCode, 0, yes.stdout)
        XCTAssertTrue(yes.stdout.contains("Continue? [y/N]") && yes.stdout.contains("Approve? [y/N]"), yes.stdout)
        XCTAssertFalse(yes.stdout.contains("\u{1B}["), "colour despite NO_COLOR: \(yes.stdout)")
        XCTAssertEqual(evidence, ["before", "after"])
        // Refusing the approval fails the step: rollback, exit 1.
        let no = try runOnTTY(["run", file], input: "y\nn\n", env: ["NO_COLOR": ""])
        XCTAssertEqual(no.exitCode, 1, no.stdout)
        XCTAssertTrue(no.stdout.contains("approval refused"), no.stdout)
        XCTAssertTrue(no.stdout.contains("\u{1B}[32m"), "no colour on a TTY: \(no.stdout)")
        XCTAssertEqual(evidence, ["before", "after", "before"])
        // Declining the confirmation changes nothing.
        let declined = try runOnTTY(["run", file], input: "n\n")
        XCTAssertEqual(declined.exitCode, 3, declined.stdout)
        XCTAssertEqual(evidence, ["before", "after", "before"])
    }
}

extension RunbookCLI.Result {
    /// Every stdout line parsed as JSON (fails on a line that is not).
    static func jsonLines(_ text: String) throws -> [Value] {
        try text.split(separator: "\n").map { try Value.parseJSON(String($0)) }
    }
}

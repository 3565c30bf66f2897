import Foundation
import RunbookKit
import TestSupport
import XCTest

/// SPEC §1: a closed pipe never stops a run; SIGINT/SIGTERM stop it gracefully (paused, exit 3),
/// a second one at once; child processes never outlive `runbook`.
extension EngineTests {
    /// The pid of step two's `sh` (it writes `$$` to ./started), once it runs.
    func gatedChild(timeout: TimeInterval = 60) -> pid_t? {
        waitFor("started", timeout: timeout)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOf: dir.appendingPathComponent("started"), encoding: .utf8)) ?? ""
            if let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return pid }
            usleep(20_000)
        }
        return nil
    }

    /// True once `pid` is gone (or a zombie nobody waits for), false at the timeout.
    func waitGone(_ pid: pid_t, timeout: TimeInterval) -> Bool {
        eventually(timeout: timeout, every: 0.02) {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return stat.isEmpty || stat.contains(") Z ")
        }
    }

    /// True once no process has the test's directory (or one below it) as its working directory —
    /// every process a step starts runs there, so none is left to act —, false at the timeout.
    func waitNoProcessInDir(timeout: TimeInterval) -> Bool {
        let path = dir.resolvingSymlinksInPath().path
        return eventually(timeout: timeout, every: 0.02) {
            let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int($0) != nil }
            return !pids.contains { pid in
                // a zombie (or a process gone meanwhile) has no working directory
                guard let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") else { return false }
                return cwd == path || cwd.hasPrefix(path + "/")
            }
        }
    }

    func testAClosedStdoutDoesNotStopTheRun() throws {
        let file = try fixture("exec-steps")
        // The reader is gone before the run writes anything (`runbook run … | head -0`).
        let p = Process()
        p.executableURL = try RunbookCLI.binary()
        p.arguments = ["run", file, "--yes"]
        p.environment = RunbookCLI.environment(["RUNBOOK_STATE_DIR": stateDir.path])
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try out.fileHandleForReading.close()
        try err.fileHandleForReading.close()
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit, "killed by a signal (SIGPIPE?)")
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(evidence, ["one", "two", "three"])
        let id = try onlyRunID()
        XCTAssertEqual(try state(id)["status"], "succeeded")
        let events = try String(contentsOf: stateDir.appendingPathComponent("runs/\(id)/events.jsonl"), encoding: .utf8)
        XCTAssertEqual(try RunbookCLI.Result.jsonLines(events).last?["event"], "run.finished")
    }

    func testSIGINTCancelsTheStepPausesAndResumeEndsLikeAnUninterruptedRun() throws {
        let file = try fixture("gated-step")
        for signal in [SIGINT, SIGTERM] {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("evidence"))
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("go"))
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("started"))
            let known = Set(runIDs())
            let p = try RunbookCLI.start(["run", file, "--yes"], env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir)
            let child = try XCTUnwrap(gatedChild())
            kill(p.pid, signal)
            XCTAssertTrue(p.wait(timeout: 10))
            let r = p.result()
            XCTAssertEqual(r.exitCode, 3, r.output)
            let id = try XCTUnwrap(Set(runIDs()).subtracting(known).first)
            // The exec child got SIGTERM through the step's cancellation; the run is paused with hints.
            XCTAssertTrue(waitGone(child, timeout: 5), "the step's process outlived the stop")
            XCTAssertTrue(r.stdout.contains("runbook resume \(id)") && r.stdout.contains("runbook rollback \(id)"), r.stdout)
            XCTAssertTrue(r.stdout.contains("stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM") during step two"), r.stdout)
            let s = try state(id)
            XCTAssertEqual(s["status"], "paused")
            XCTAssertEqual(s["steps"]?.arrayValue?.map { $0["status"] }, ["succeeded", "running", "pending"])
            XCTAssertEqual(evidence, ["one"])
            // Resume runs step two again and ends as a run nobody interrupted.
            XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("go").path, contents: nil))
            let resumed = try runbook(["resume", id, "--yes"])
            XCTAssertEqual(resumed.exitCode, 0, resumed.output)
            XCTAssertEqual(evidence, ["one", "two", "three"])
            XCTAssertEqual(try state(id)["status"], "succeeded")
        }
    }

    func testASecondSIGINTStopsAtOnceAndKillsTheChild() throws {
        let file = try fixture("gated-step")
        // The step's sh ignores SIGTERM: the graceful stop would wait for the SIGKILL two seconds later.
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("ignore-term").path, contents: nil))
        // runbook's stderr goes to a file the test reads while it runs
        let errFile = dir.appendingPathComponent("runbook.err")
        XCTAssertTrue(FileManager.default.createFile(atPath: errFile.path, contents: nil))
        let p = Process()
        p.executableURL = try RunbookCLI.binary()
        p.arguments = ["run", file, "--yes"]
        p.environment = RunbookCLI.environment(["RUNBOOK_STATE_DIR": stateDir.path])
        p.currentDirectoryURL = dir
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: errFile)
        let ended = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in ended.signal() }
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let child = try XCTUnwrap(gatedChild())
        kill(p.processIdentifier, SIGINT)
        // Two SIGINTs that arrive before runbook takes the first are one: the second is sent once
        // runbook says it took the first.
        func stderr() -> String { (try? String(contentsOf: errFile, encoding: .utf8)) ?? "" }
        let took = Date().addingTimeInterval(30)
        while !stderr().contains("received SIGINT: no new step starts"), p.isRunning, Date() < took { usleep(20_000) }
        XCTAssertTrue(stderr().contains("received SIGINT: no new step starts"), "runbook never took the first SIGINT: \(stderr())")
        let second = Date()
        kill(p.processIdentifier, SIGINT)
        XCTAssertEqual(ended.wait(timeout: .now() + 10), .success, "runbook did not stop")
        // Exit 130 and the message say the second signal ended it; the time says it did so at once.
        XCTAssertLessThan(Date().timeIntervalSince(second), 1.5, "the second SIGINT did not stop at once")
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 130, stderr())
        XCTAssertTrue(stderr().contains("stopping at once"), stderr())
        XCTAssertTrue(waitGone(child, timeout: 2), "the step's process outlived runbook")
        // The write-ahead checkpoint says step two was running: the run is interrupted, and resumable.
        let id = try onlyRunID()
        XCTAssertTrue(try runbook(["status", id]).stdout.contains("status:  interrupted"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("ignore-term"))
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("go").path, contents: nil))
        let resumed = try runbook(["resume", id, "--yes"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.output)
        XCTAssertEqual(evidence, ["one", "two", "three"])
    }

    func testAStepsChildDiesWithRunbookEvenAfterKill9() throws {
        let file = try fixture("gated-step")
        let p = try RunbookCLI.start(["run", file, "--yes"], env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir)
        let child = try XCTUnwrap(gatedChild())
        p.kill9()
        XCTAssertTrue(p.wait(timeout: 10))
        XCTAssertTrue(waitGone(child, timeout: 5), "the step's process outlived runbook (kill -9)")
        // Nobody runs the step now: no process is left in the run's directory, and letting it go changes nothing.
        XCTAssertTrue(waitNoProcessInDir(timeout: 10), "a process of the run outlived runbook (kill -9)")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("go").path, contents: nil))
        XCTAssertEqual(evidence, ["one"])
    }

    /// Not only the step's own process: what it started in its group (a background job, a
    /// pipeline's commands) dies with runbook after `kill -9` too.
    func testAStepsGrandchildrenDieWithRunbookEvenAfterKill9() throws {
        let file = try fixture("gated-pipeline")
        let p = try RunbookCLI.start(["run", file, "--yes"], env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir)
        let grandchild = try XCTUnwrap(gatedChild())
        XCTAssertFalse(waitGone(grandchild, timeout: 0.2), "the background job should be running")
        p.kill9()
        XCTAssertTrue(p.wait(timeout: 10))
        XCTAssertTrue(waitGone(grandchild, timeout: 5), "the step's background job outlived runbook (kill -9)")
        // Not the pipeline's commands either: no process is left in the run's directory.
        XCTAssertTrue(waitNoProcessInDir(timeout: 10), "a process of the step outlived runbook (kill -9)")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("go").path, contents: nil))
        XCTAssertEqual(evidence, ["one"], "nothing of the step ran on after runbook died")
    }

    /// The guardian between runbook and a step's program passes the program's end through: its
    /// exit code, and the signal that killed it.
    func testAStepsExitCodeAndSignalPassThrough() throws {
        for (command, expected) in [("exit 7", "exited with status 7"), ("kill -TERM $$", "exited with status 143")] {
            let path = dir.appendingPathComponent("end.yaml")
            try """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: end}
            steps:
              - id: end
                action: exec
                with: {command: [sh, -c, "\(command)"]}
            """.write(to: path, atomically: true, encoding: .utf8)
            let r = try runbook(["run", path.path, "--yes"])
            XCTAssertEqual(r.exitCode, 1, r.output)
            XCTAssertTrue(r.output.contains(expected), "\(command): \(r.output)")
        }
    }
}

import Foundation
import RunbookKit
import TestSupport
import XCTest

/// SPEC §4: an unfinished run blocks new runs of its runbook (exit 4) until it is resumed, rolled
/// back or forgotten; `status` tells a live run from one whose process is gone.
extension EngineTests {
    func testAKilledRunIsInterruptedAndBlocksNewRunsUntilForgotten() throws {
        let file = try fixture("slow-step")
        let p = try RunbookCLI.start(["run", "--yes", file, "--var", "seconds=30"], env: ["RUNBOOK_STATE_DIR": stateDir.path], cwd: dir)
        waitFor("started")
        let id = try onlyRunID()
        // While its process lives: running (pid N on HOST), and no resume/rollback hint (both would exit 4).
        let live = try runbook(["status", id])
        XCTAssertEqual(live.exitCode, 0, live.output)
        XCTAssertTrue(live.stdout.contains("status:  running (pid \(p.pid) on \(Identity.host))"), live.stdout)
        XCTAssertFalse(live.stdout.contains("runbook resume") || live.stdout.contains("runbook rollback"), live.stdout)
        XCTAssertEqual(try Value.parseJSON(try runbook(["status", id, "--output", "json"]).stdout)["status"], "running")
        p.kill9()
        XCTAssertTrue(p.wait(timeout: 10))

        let dead = try runbook(["status", id])
        XCTAssertTrue(dead.stdout.contains("status:  interrupted"), dead.stdout)
        XCTAssertTrue(dead.stdout.contains("pid \(p.pid) on \(Identity.host)) is gone"), dead.stdout)
        for next in ["runbook resume \(id)", "runbook rollback \(id)", "runbook forget \(id) --reason"] {
            XCTAssertTrue(dead.stdout.contains(next), "missing \(next): \(dead.stdout)")
        }
        let json = try Value.parseJSON(try runbook(["status", id, "--output", "json"]).stdout)
        XCTAssertEqual(json["status"], "interrupted")
        XCTAssertEqual(json["recorded_status"], "running")
        XCTAssertEqual(json["unfinished"], true)
        XCTAssertTrue(try runbook(["history"]).stdout.contains("interrupted"))

        // A new run of the same runbook refuses, naming the run and the three ways out; it records nothing.
        let blocked = try runbook(["run", "--yes", file, "--var", "seconds=0"])
        XCTAssertEqual(blocked.exitCode, 4, blocked.output)
        for text in ["run \(id) of slow-step is interrupted", "runbook resume \(id)", "runbook rollback \(id)",
                     "runbook forget \(id) --reason TEXT"] {
            XCTAssertTrue(blocked.stderr.contains(text), "missing \(text): \(blocked.stderr)")
        }
        XCTAssertEqual(runIDs(), [id])

        // forget: a reason is required, and without a terminal --yes too.
        XCTAssertEqual(try runbook(["forget", id]).exitCode, 2)
        let noYes = try runbook(["forget", id, "--reason", "x"])
        XCTAssertEqual(noYes.exitCode, 3, noYes.output)
        XCTAssertTrue(noYes.stderr.contains("pass --yes to run without a terminal"), noYes.stderr)
        let forgot = try runbook(["forget", id, "--reason", "removed the half-made Job by hand", "--yes"])
        XCTAssertEqual(forgot.exitCode, 0, forgot.output)
        let history = try runbook(["history"])
        XCTAssertTrue(history.stdout.contains("forgotten") && history.stdout.contains("removed the half-made Job by hand"),
                      history.stdout)
        let events = try String(contentsOf: stateDir.appendingPathComponent("runs/\(id)/events.jsonl"), encoding: .utf8)
        let audit = try XCTUnwrap(try RunbookCLI.Result.jsonLines(events).last)
        XCTAssertEqual(audit["event"], "run.forgotten")
        XCTAssertTrue(audit["message"]?.stringValue?.contains("was interrupted; removed the half-made Job by hand") ?? false, "\(audit)")
        XCTAssertNotNil(audit["user"])
        XCTAssertEqual(try state(id)["forgotten"]?["reason"], "removed the half-made Job by hand")
        // A forgotten run is done with: no resume, no rollback, no second forget.
        XCTAssertEqual(try runbook(["resume", "--yes", id]).exitCode, 2)
        XCTAssertEqual(try runbook(["rollback", id, "--yes"]).exitCode, 2)
        XCTAssertEqual(try runbook(["forget", id, "--reason", "again", "--yes"]).exitCode, 2)

        let fresh = try runbook(["run", "--yes", file, "--var", "seconds=0"])
        XCTAssertEqual(fresh.exitCode, 0, fresh.output)
    }

    func testPausedAndRollbackFailedRunsBlockNewRunsUntilFinished() throws {
        let file = try fixture("exec-steps")
        let fault = dir.appendingPathComponent("fault")
        XCTAssertTrue(FileManager.default.createFile(atPath: fault.path, contents: nil))
        XCTAssertEqual(try runbook(["run", "--yes", file, "--no-rollback"]).exitCode, 3)
        let id = try onlyRunID()
        let blocked = try runbook(["run", "--yes", file])
        XCTAssertEqual(blocked.exitCode, 4, blocked.output)
        XCTAssertTrue(blocked.stderr.contains("run \(id) of exec-steps is paused"), blocked.stderr)
        XCTAssertEqual(runIDs(), [id])
        // A plan changes nothing and is not blocked.
        XCTAssertEqual(try runbook(["plan", file]).exitCode, 0)
        // Rolled back, the run is finished: new runs start again.
        XCTAssertEqual(try runbook(["rollback", id, "--yes"]).exitCode, 0)
        try FileManager.default.removeItem(at: fault)
        let fresh = try runbook(["run", "--yes", file])
        XCTAssertEqual(fresh.exitCode, 0, fresh.output)
        // A finished run cannot be forgotten.
        let nothing = try runbook(["forget", id, "--reason", "x", "--yes"])
        XCTAssertEqual(nothing.exitCode, 2, nothing.output)
        XCTAssertTrue(nothing.stderr.contains("only an unfinished run"), nothing.stderr)
    }
}

extension EngineTests {
    func testResumeRemovesTempFilesOfDeadWritersOnly() throws {
        let file = try fixture("exec-steps")
        let fault = dir.appendingPathComponent("fault")
        XCTAssertTrue(FileManager.default.createFile(atPath: fault.path, contents: nil))
        XCTAssertEqual(try runbook(["run", file, "--yes", "--no-rollback"]).exitCode, 3)
        let id = try onlyRunID()
        let runDir = stateDir.appendingPathComponent("runs/\(id)")
        // A writer killed between writing its temp file and the rename: a pid that is gone now.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = runDir.appendingPathComponent(".state.json.tmp-\(gone.processIdentifier)")
        let live = runDir.appendingPathComponent(".state.json.tmp-\(getpid())")  // this test process lives
        XCTAssertTrue(FileManager.default.createFile(atPath: dead.path, contents: Data("{".utf8)))
        XCTAssertTrue(FileManager.default.createFile(atPath: live.path, contents: Data("{".utf8)))
        try FileManager.default.removeItem(at: fault)
        let r = try runbook(["resume", id, "--yes"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead.path), "the dead writer's temp file is still there")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path), "a live writer's temp file was removed")
        XCTAssertTrue(r.stderr.contains("left by a process that is gone"), r.stderr)
    }
}

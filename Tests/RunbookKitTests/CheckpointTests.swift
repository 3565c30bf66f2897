import Foundation
@testable import RunbookKit
import XCTest

/// `state.json` encoding, atomic writes with private modes, masking on the way to disk, the lock.
final class CheckpointTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString.prefix(8))")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func sample() -> RunState {
        let t = Date(timeIntervalSince1970: 1_700_000_000.123)
        var s = RunState(runID: "demo-20231114T221320-ab12", runbookName: "demo", runbookPath: "/rb/demo.yaml",
                         sha256: String(repeating: "a", count: 64), vars: ["ns": "seedtest", "token": "***"],
                         secretVars: ["token"], kubeconfig: "/k/config", context: "kind", status: .rollingBack,
                         startedAt: t, who: "ops@host", steps: [StepRecord(id: "one", action: "exec"), StepRecord(id: "two", action: "exec")])
        s.steps[0].status = .succeeded
        s.steps[0].attempts = 2
        s.steps[0].outputs = ["exit_code": 0, "stdout": "hi"]
        s.steps[0].journal = ["created": false, "prior": ["a": 1]]
        s.steps[0].rollbackRecord = ["undo": ["echo", "x"]]
        s.steps[0].startedAt = t
        s.steps[0].finishedAt = t.addingTimeInterval(1.5)
        s.steps[1].status = .rollbackFailed
        s.steps[1].rollbackStepsDone = ["two.undo-1"]
        s.steps[1].error = "boom"
        s.message = "rollback of step two failed"
        s.noRollback = true
        s.rollback = RollbackProgress(reason: "step three failed", cause: .failure, startedAt: t, by: "ops@host")
        return s
    }

    func testStateRoundTripsThroughJSON() throws {
        let s = sample()
        let text = s.toValue().jsonString(pretty: true)
        let back = try RunState(value: try Value.parseJSON(text), file: "state.json")
        XCTAssertEqual(back, s)
        XCTAssertEqual(s.toValue()["version"], 1)
        XCTAssertEqual(s.toValue()["steps"]?[0]?["duration_ms"], 1500)
        XCTAssertEqual(s.toValue()["status"], "rolling-back")
    }

    func testTheRollbackCauseIsStoredAndReadFromFilesWrittenBeforeItExisted() throws {
        var s = sample()
        s.rollback = RollbackProgress(reason: "requested with runbook rollback by ops@host", cause: .requested,
                                      startedAt: s.startedAt, by: "ops@host")
        var v = s.toValue()
        XCTAssertEqual(v["rollback"]?["cause"], "requested")
        XCTAssertEqual(try RunState(value: v, file: "state.json").rollback?.cause, .requested)
        // A file written before `cause` existed: the reason's first words tell.
        v["rollback"]?["cause"] = nil
        XCTAssertEqual(try RunState(value: v, file: "state.json").rollback?.cause, .requested)
        v["rollback"]?["reason"] = "step three failed: exit 7"
        XCTAssertEqual(try RunState(value: v, file: "state.json").rollback?.cause, .failure)
        // The checkpoint journal carries it too (a requested rollback resumed from journal.jsonl).
        var record = s.journalRecord(slot: nil, allItems: false, masker: Masker())
        record["seq"] = 1
        var folded = sample()
        folded.rollback = nil
        try folded.apply(journal: .object(record), file: "journal.jsonl")
        XCTAssertEqual(folded.rollback?.cause, .requested)
    }

    func testANewerVersionIsRefusedWithAReason() throws {
        var v = sample().toValue()
        v["version"] = 99
        XCTAssertThrowsError(try RunState(value: v, file: "x/state.json")) { error in
            XCTAssertTrue((error as? StateError)?.errorDescription?.contains("version 99") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try RunState(value: ["version": 1], file: "x")) { XCTAssertTrue($0 is StateError) }
    }

    func testSaveIsPrivateAtomicAndMasked() throws {
        let store = StateStore(root: dir)
        let masker = Masker()
        masker.add("hunter2-secret")
        var s = sample()
        s.steps[0].outputs = ["stdout": .string("token=hunter2-secret b64=\(Data("hunter2-secret".utf8).base64EncodedString())")]
        try store.create(s, masker: masker)
        let file = store.stateFile(s.runID)
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertFalse(text.contains("hunter2"))
        XCTAssertFalse(text.contains(Data("hunter2-secret".utf8).base64EncodedString()))
        XCTAssertTrue(text.contains("token=*** b64=***"))
        let perms = { (p: String) in (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as? NSNumber)?.intValue }
        XCTAssertEqual(try perms(file.path), 0o600)
        XCTAssertEqual(try perms(store.runDirectory(s.runID).path), 0o700)
        XCTAssertEqual(try perms(store.runsDirectory.path), 0o700)
        // No temp file is left beside it, and a reload gives the masked state back.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.runDirectory(s.runID).path), ["state.json"])
        XCTAssertEqual(try store.load(s.runID).steps[0].outputs["stdout"], "token=*** b64=***")
        try store.append(AuditEvent(event: "run.started", message: "m"), runID: s.runID)
        try store.append(AuditEvent(event: "run.finished", status: "succeeded"), runID: s.runID)
        let lines = try String(contentsOf: store.eventsFile(s.runID), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(try lines.map { try Value.parseJSON(String($0))["event"] }, ["run.started", "run.finished"])
        XCTAssertEqual(try perms(store.eventsFile(s.runID).path), 0o600)
    }

    func testRunIDsAndTimestamps() {
        let d = Date(timeIntervalSince1970: 1_700_000_000.5)
        let id = StateStore.newRunID(runbook: "migrate-x", at: d)
        XCTAssertNotNil(id.range(of: #"^migrate-x-20231114T221320-[0-9a-f]{4}$"#, options: .regularExpression), id)
        XCTAssertEqual(Timestamp.format(d), "2023-11-14T22:13:20.500Z")
        XCTAssertEqual(Timestamp.parse("2023-11-14T22:13:20.500Z"), d)
    }

    func testTheLockIsExclusiveAndNamesItsHolder() throws {
        let store = StateStore(root: dir)
        let first = try RunLock.acquire(store: store, runbook: "demo", runID: "demo-1")
        XCTAssertThrowsError(try RunLock.acquire(store: store, runbook: "demo", runID: "demo-2")) { error in
            guard case StateError.locked(_, let holder) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(holder.contains("run demo-1") && holder.contains("pid \(getpid())"), holder)
            XCTAssertEqual(ErrorReport.exitCode(for: error), 4)
        }
        // Another runbook is not blocked.
        let other = try RunLock.acquire(store: store, runbook: "other", runID: "other-1")
        other.release()
        first.release()
        let again = try RunLock.acquire(store: store, runbook: "demo", runID: "demo-3")
        XCTAssertNil(again.staleHolder, "a released lock leaves no holder behind")
        again.release()
    }
}

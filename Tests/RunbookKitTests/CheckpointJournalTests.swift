import Foundation
@testable import RunbookKit
import XCTest

/// The checkpoint journal: records of what changed, replayed over `state.json`; a cut last line;
/// compaction; group commit; items of `foreach` groups.
final class CheckpointJournalTests: XCTestCase {
    var dir: URL!
    var store: StateStore { StateStore(root: dir) }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString.prefix(8))")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func sample() -> RunState {
        let t = Date(timeIntervalSince1970: 1_700_000_000.123)
        var group = StepRecord(id: "each", action: "foreach")
        group.items = (0..<3).map { ItemRecord(index: $0, key: "ns/job-\($0)", steps: [StepRecord(id: "patch", action: "k8s.patch")]) }
        return RunState(runID: "demo-20231114T221320-ab12", runbookName: "demo", runbookPath: "/rb/demo.yaml",
                        sha256: String(repeating: "a", count: 64), vars: [:], secretVars: [], kubeconfig: nil, context: nil,
                        status: .running, startedAt: t, who: "ops@host", steps: [StepRecord(id: "one", action: "exec"), group])
    }

    /// Appends the checkpoint of `slot` as the runner does.
    func checkpoint(_ s: RunState, _ slot: StepSlot?, _ journal: CheckpointJournal, masker: Masker = Masker(),
                    allItems: Bool = false) async throws
    {
        let seq = try journal.append(s.journalRecord(slot: slot, allItems: allItems, masker: masker))
        try await journal.waitDurable(seq)
    }

    func testReplayGivesTheLatestStateAndSkipsWhatStateJsonHolds() async throws {
        var s = sample()
        try store.create(s, masker: Masker())
        let journal = try CheckpointJournal(store: store, runID: s.runID, seq: 0)
        s.steps[0].status = .running
        s.steps[0].journal = ["created": true]
        try await checkpoint(s, StepSlot(0), journal)
        s.steps[0].status = .succeeded
        s.steps[0].outputs = ["stdout": "hi"]
        try await checkpoint(s, StepSlot(0), journal)
        s.steps[1].status = .running
        s.steps[1].items![2].status = .running
        s.steps[1].items![2].steps[0].status = .running
        s.steps[1].items![2].steps[0].journal = ["prior": "x"]
        try await checkpoint(s, StepSlot(1, item: 2, sub: 0), journal)
        s.status = .paused
        s.message = "waiting"
        try await checkpoint(s, nil, journal)
        // state.json alone is the first checkpoint; the reader folds the journal in.
        var loaded = try store.load(s.runID)
        XCTAssertEqual(loaded.journalSeq, 4)
        loaded.journalSeq = 0
        loaded.updatedAt = s.updatedAt
        var expected = s
        expected.steps[1].status = .pending  // the group's own record was not checkpointed
        XCTAssertEqual(loaded, expected)
        // Compaction: state.json holds everything, the journal is empty, nothing is applied twice.
        var compacted = try store.load(s.runID)
        try store.save(compacted, masker: Masker())
        try journal.compacted()
        XCTAssertEqual(try Data(contentsOf: store.journalFile(s.runID)).count, 0)
        compacted.journalSeq = 4
        XCTAssertEqual(try store.load(s.runID), compacted)
        try journal.close(remove: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.journalFile(s.runID).path))
    }

    func testALastLineCutShortIsIgnoredAndABadLineInsideIsCorrupt() async throws {
        var s = sample()
        try store.create(s, masker: Masker())
        let journal = try CheckpointJournal(store: store, runID: s.runID, seq: 0)
        s.steps[0].status = .running
        try await checkpoint(s, StepSlot(0), journal)
        try journal.close(remove: false)
        let file = store.journalFile(s.runID)
        let good = try Data(contentsOf: file)
        // The process died in the middle of writing the next line.
        try (good + Data(#"{"run":{"status":"succ"#.utf8)).write(to: file)
        XCTAssertEqual(try store.load(s.runID).steps[0].status, .running)
        try (good + Data("{oops}\n".utf8) + good).write(to: file)
        XCTAssertThrowsError(try store.load(s.runID)) { error in
            XCTAssertTrue((error as? StateError)?.errorDescription?.contains("line 2") ?? false, "\(error)")
        }
    }

    func testItemsAndSecretsInRecordsAreMasked() async throws {
        var s = sample()
        try store.create(s, masker: Masker())
        let masker = Masker()
        masker.add("hunter2-secret")
        let journal = try CheckpointJournal(store: store, runID: s.runID, seq: 0)
        s.steps[1].items![1].status = .failed
        s.steps[1].items![1].error = "step patch failed: token hunter2-secret refused"
        s.steps[1].items![1].steps[0].outputs = ["value": "hunter2-secret"]
        try await checkpoint(s, StepSlot(1, item: 1, sub: 0), journal, masker: masker)
        let text = try String(contentsOf: store.journalFile(s.runID), encoding: .utf8)
        XCTAssertFalse(text.contains("hunter2"), text)
        let loaded = try store.load(s.runID)
        XCTAssertEqual(loaded.steps[1].items![1].status, .failed)
        XCTAssertEqual(loaded.steps[1].items![1].error, "step patch failed: token *** refused")
        XCTAssertEqual(loaded.steps[1].items![1].steps[0].outputs["value"], "***")
        try journal.close(remove: false)
    }

    /// Concurrent writers share fsyncs: fewer fsync rounds than checkpoints, every one durable.
    func testGroupCommitCoversConcurrentWriters() async throws {
        let s = sample()
        try store.create(s, masker: Masker())
        let journal = try CheckpointJournal(store: store, runID: s.runID, seq: 0)
        let record = s.journalRecord(slot: StepSlot(0), allItems: false, masker: Masker())
        try await withThrowingTaskGroup(of: Void.self) { tg in
            for _ in 0..<200 {
                tg.addTask {
                    let seq = try journal.append(record)
                    try await journal.waitDurable(seq)
                }
            }
            try await tg.waitForAll()
        }
        XCTAssertEqual(journal.seq, 200)
        XCTAssertLessThan(journal.syncRounds, 200)
        XCTAssertEqual(try store.load(s.runID).journalSeq, 200)
        try journal.close(remove: false)
    }

    /// A checkpoint costs the same at step 10,000 as at step 10: its record holds one step.
    func testARecordDoesNotGrowWithTheRun() {
        var small = sample()
        var large = sample()
        large.steps += (0..<10_000).map { StepRecord(id: "s\($0)", action: "assert") }
        small.steps[0].status = .running
        large.steps[0].status = .running
        let a = Value.object(small.journalRecord(slot: StepSlot(0), allItems: false, masker: Masker())).jsonString()
        let b = Value.object(large.journalRecord(slot: StepSlot(0), allItems: false, masker: Masker())).jsonString()
        XCTAssertEqual(a.count, b.count)
    }
}

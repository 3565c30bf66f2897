import Foundation
@testable import RunbookKit
import XCTest

/// Run-record writes by group commit: changes made while a write is in flight travel together in
/// the next write; nobody returns before a write carrying their change succeeded; a failure
/// fails its changes and every later one; a coalesced record change keeps the newest head and
/// the union of chunks.
final class GroupCommitTests: XCTestCase {
    /// A writer the test drives: each write waits until the test lets it finish (or fail).
    final class FakeWriter: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var batches: [[Int]] = []
        private var gates: [CheckedContinuation<Void, any Error>] = []
        private var started: [CheckedContinuation<Void, Never>] = []

        func write(_ batch: [Int]) async throws {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let s = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
                    batches.append(batch)
                    gates.append(c)
                    defer { started = [] }
                    return started
                }
                s.forEach { $0.resume() }
            }
        }

        /// Waits until `n` writes have begun (woken by each write, no polling).
        func waitForWrites(_ n: Int) async {
            while lock.withLock({ batches.count < n }) {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = lock.withLock { () -> Bool in
                        if batches.count >= n { return true }
                        started.append(c)
                        return false
                    }
                    if ready { c.resume() }
                }
            }
        }

        func finishOne(_ error: (any Error)? = nil) {
            let g = lock.withLock { gates.isEmpty ? nil : gates.removeFirst() }
            if let error { g?.resume(throwing: error) } else { g?.resume() }
        }

        var batchList: [[Int]] { lock.withLock { batches } }
    }

    /// Commits that report when they returned, and with what.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var done: [Int: Bool] = [:]
        func set(_ n: Int, _ ok: Bool) { lock.withLock { done[n] = ok } }
        var all: [Int: Bool] { lock.withLock { done } }
    }

    struct Boom: Error {}

    /// Waits (generously) until `condition` holds: the commits run on other tasks.
    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(60)
        while !condition() {
            guard Date() < deadline else { return XCTFail("timed out") }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
    }

    func makeCommit(_ writer: FakeWriter) -> GroupCommit<[Int]> {
        GroupCommit(merge: { $0 += $1 }, write: { try await writer.write($0) })
    }

    func commit(_ gc: GroupCommit<[Int]>, _ n: Int, _ results: Results) -> Task<Void, Never> {
        Task {
            do {
                try await gc.commit([n])
                results.set(n, true)
            } catch {
                results.set(n, false)
            }
        }
    }

    func testChangesMadeDuringAWriteGoTogetherInTheNextAndWaitForIt() async throws {
        let writer = FakeWriter()
        let gc = makeCommit(writer)
        let results = Results()
        let first = commit(gc, 1, results)
        await writer.waitForWrites(1)
        // three more while the first write is in flight: none of them is written yet
        let later = [2, 3, 4].map { commit(gc, $0, results) }
        try await waitUntil { gc.waitingCount == 3 }
        XCTAssertEqual(writer.batchList, [[1]])
        XCTAssertTrue(results.all.isEmpty, "nobody returns before a write that holds their change succeeded")
        writer.finishOne()
        await first.value
        XCTAssertEqual(results.all, [1: true])
        // the second write carries all three, in order; they return only once it succeeded
        await writer.waitForWrites(2)
        XCTAssertEqual(writer.batchList.last.map { Set($0) }, [2, 3, 4])
        XCTAssertEqual(results.all, [1: true])
        writer.finishOne()
        for t in later { await t.value }
        XCTAssertEqual(results.all, [1: true, 2: true, 3: true, 4: true])
        XCTAssertEqual(gc.writeCount, 2)
    }

    func testAFailedWriteFailsItsChangesAndEveryLaterOne() async throws {
        let writer = FakeWriter()
        let gc = makeCommit(writer)
        let results = Results()
        let first = commit(gc, 1, results)
        await writer.waitForWrites(1)
        let second = commit(gc, 2, results)
        try await waitUntil { gc.waitingCount == 1 }
        writer.finishOne(Boom())
        await first.value
        await second.value
        XCTAssertEqual(results.all, [1: false, 2: false], "the change waiting behind a failed write is not written")
        XCTAssertEqual(writer.batchList, [[1]])
        XCTAssertTrue(gc.stopped is Boom)
        // and nothing is written afterwards
        do {
            try await gc.commit([3])
            XCTFail("a commit after a failure succeeded")
        } catch {
            XCTAssertTrue(error is Boom)
        }
        XCTAssertEqual(writer.batchList, [[1]])
    }

    func testOneAtATimeUnderManyConcurrentCommits() async throws {
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var inFlight = 0, most = 0, written: [Int] = []
        }
        let c = Counter()
        let gc = GroupCommit<[Int]>(merge: { $0 += $1 }, write: { batch in
            c.lock.withLock {
                c.inFlight += 1
                c.most = max(c.most, c.inFlight)
            }
            await Task.yield()
            c.lock.withLock {
                c.inFlight -= 1
                c.written += batch
            }
        })
        try await withThrowingTaskGroup(of: Void.self) { tg in
            for n in 0..<200 { tg.addTask { try await gc.commit([n]) } }
            try await tg.waitForAll()
        }
        XCTAssertEqual(c.most, 1, "writes never overlap")
        XCTAssertEqual(c.written.sorted(), Array(0..<200), "every change was written exactly once")
        XCTAssertLessThanOrEqual(gc.writeCount, 200)
    }

    func testACoalescedRecordChangeKeepsTheNewestHeadAndEveryTouchedChunk() {
        let k = RunRecordLayout.itemsPerChunk
        var group = StepRecord(id: "each", action: "foreach")
        group.items = (0..<(3 * k)).map { ItemRecord(index: $0, key: "i\($0)", steps: [StepRecord(id: "s", action: "assert")]) }
        var state = RunState(runID: "r-1", runbookName: "r", runbookPath: "/r.yaml", sha256: "", vars: [:], secretVars: [],
                             kubeconfig: nil, context: nil, status: .running, startedAt: Date(timeIntervalSince1970: 0), who: "a@b",
                             steps: [group])
        let c0 = RunRecordLayout.ChunkID(step: 0, index: 0), c2 = RunRecordLayout.ChunkID(step: 0, index: 2)
        state.steps[0].items![1].status = .running
        var change = RunRecordChange(state: state, chunks: [c0])
        XCTAssertEqual(Set(change.chunks.keys), [c0])
        XCTAssertEqual(change.chunks[c0]?.count, k, "a chunk is its own items only")
        XCTAssertNil(change.head.steps[0].items, "the head holds no items")
        XCTAssertEqual(change.counts, [0: 3 * k])

        state.steps[0].items![2 * k].status = .succeeded
        state.status = .paused
        change.absorb(RunRecordChange(state: state, chunks: [c2]))
        XCTAssertEqual(Set(change.chunks.keys), [c0, c2])
        XCTAssertEqual(change.chunks[c0]?[1].status, .running)
        XCTAssertEqual(change.chunks[c2]?[0].status, .succeeded)
        XCTAssertEqual(change.head.status, .paused, "the newest head wins")

        state.steps[0].items![1].status = .succeeded
        change.absorb(RunRecordChange(state: state, chunks: [c0]))
        XCTAssertEqual(change.chunks[c0]?[1].status, .succeeded, "a chunk changed again carries its newest items")

        // every chunk when asked for all of them
        XCTAssertEqual(RunRecordChange(state: state, chunks: nil).chunks.count, 3)

        // the head is new only when more than its time changed
        var same = change.head
        same.updatedAt = Date(timeIntervalSince1970: 99)
        XCTAssertFalse(change.headDiffers(from: same))
        same.steps[0].status = .succeeded
        XCTAssertTrue(change.headDiffers(from: same))
        XCTAssertTrue(change.headDiffers(from: nil))
    }
}

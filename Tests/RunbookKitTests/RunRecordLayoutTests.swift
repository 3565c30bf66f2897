import Foundation
@testable import RunbookKit
import XCTest

/// The cluster record's layout: a head without `foreach` items plus fixed-size item chunks;
/// split and merge give the state back; an item's checkpoint touches one chunk; secrets masked.
final class RunRecordLayoutTests: XCTestCase {
    let k = RunRecordLayout.itemsPerChunk

    func sample(items n: Int, secondGroup m: Int? = nil) -> RunState {
        var group = StepRecord(id: "each", action: "foreach")
        group.items = (0..<n).map { ItemRecord(index: $0, key: "ns/job-\($0)", steps: [StepRecord(id: "patch", action: "k8s.patch")]) }
        var steps = [StepRecord(id: "one", action: "exec"), group]
        if let m {
            var g2 = StepRecord(id: "again", action: "foreach")
            g2.items = (0..<m).map { ItemRecord(index: $0, key: "k\($0)", steps: []) }
            steps.append(g2)
        }
        return RunState(runID: "demo-20231114T221320-ab12", runbookName: "demo", runbookPath: "/rb/demo.yaml",
                        sha256: String(repeating: "a", count: 64), vars: [:], secretVars: [], kubeconfig: nil, context: nil,
                        status: .running, startedAt: Date(timeIntervalSince1970: 1_700_000_000), who: "ops@host", steps: steps)
    }

    func split(_ s: RunState, masker: Masker = Masker()) -> (head: RunState, counts: [Int: Int], chunks: [RunRecordLayout.ChunkID: [ItemRecord]]) {
        let (head, counts) = RunRecordLayout.head(of: s)
        var chunks: [RunRecordLayout.ChunkID: [ItemRecord]] = [:]
        for id in RunRecordLayout.chunkIDs(counts: counts) { chunks[id] = RunRecordLayout.items(of: s, chunk: id, masker: masker) }
        return (head, counts, chunks)
    }

    func testSplitAndMergeGiveTheStateBack() throws {
        for (n, m) in [(0, nil), (1, nil), (k, nil), (k + 1, 3), (1000, 0)] as [(Int, Int?)] {
            var s = sample(items: n, secondGroup: m)
            if n > 0 { s.steps[1].items![n - 1].status = .failed; s.steps[1].items![n - 1].error = "boom" }
            let (head, counts, chunks) = split(s)
            XCTAssertTrue(head.steps.allSatisfy { $0.items == nil }, "the head carries no items")
            XCTAssertEqual(counts[1], n)
            XCTAssertEqual(counts[2], m)
            XCTAssertNil(counts[0])
            XCTAssertEqual(chunks.count, (n + k - 1) / k + ((m ?? 0) + k - 1) / k)
            XCTAssertTrue(chunks.values.allSatisfy { $0.count <= k })
            let back = try RunRecordLayout.merge(head: head, counts: counts, chunks: chunks, name: "r")
            XCTAssertEqual(back, s, "\(n) items")
            // the counts survive their stored form
            let stored = try Value.parseJSON(RunRecordLayout.countsValue(counts).jsonString())
            XCTAssertEqual(try RunRecordLayout.counts(from: stored, name: "r"), counts)
        }
    }

    func testAnItemLivesInOneFixedChunk() {
        XCTAssertEqual(RunRecordLayout.ChunkID(step: 3, item: 0), RunRecordLayout.ChunkID(step: 3, index: 0))
        XCTAssertEqual(RunRecordLayout.ChunkID(step: 3, item: k - 1).index, 0)
        XCTAssertEqual(RunRecordLayout.ChunkID(step: 3, item: k).index, 1)
        XCTAssertEqual(RunRecordLayout.ChunkID(step: 3, item: 999).index, 999 / k)
        // changing item 777 changes only its chunk's content
        let before = split(sample(items: 1000))
        var s = sample(items: 1000)
        s.steps[1].items![777].status = .succeeded
        let after = split(s)
        let changed = after.chunks.filter { before.chunks[$0.key] != $0.value }.map(\.key)
        XCTAssertEqual(changed, [RunRecordLayout.ChunkID(step: 1, item: 777)])
        XCTAssertEqual(before.head, after.head)
        XCTAssertEqual(RunRecords.chunkName("Demo-20231114T221320-ab12", RunRecordLayout.ChunkID(step: 1, index: 15)),
                       "runbook.run.v1.demo-20231114t221320-ab12.items.1-15")
    }

    func testAMissingOrShortChunkIsAnError() {
        let (head, counts, chunks) = split(sample(items: k + 5))
        var missing = chunks
        missing[RunRecordLayout.ChunkID(step: 1, index: 1)] = nil
        XCTAssertThrowsError(try RunRecordLayout.merge(head: head, counts: counts, chunks: missing, name: "r")) {
            XCTAssertTrue("\($0.localizedDescription)".contains("1-1"), "\($0.localizedDescription)")
        }
        var short = chunks
        short[RunRecordLayout.ChunkID(step: 1, index: 1)]!.removeLast()
        XCTAssertThrowsError(try RunRecordLayout.merge(head: head, counts: counts, chunks: short, name: "r"))
        XCTAssertThrowsError(try RunRecordLayout.merge(head: head, counts: [9: 1], chunks: chunks, name: "r"))
        XCTAssertThrowsError(try RunRecordLayout.counts(from: ["x": 1], name: "r"))
    }

    func testChunksAreMasked() throws {
        let masker = Masker()
        masker.add("hunter2-secret")
        var s = sample(items: 3)
        s.steps[1].items![2].error = "login with hunter2-secret failed"
        s.steps[1].items![2].steps[0].error = "hunter2-secret rejected"
        let chunk = try XCTUnwrap(RunRecordLayout.items(of: s, chunk: .init(step: 1, index: 0), masker: masker))
        let text = Value.array(chunk.map { $0.toValue() }).jsonString()
        XCTAssertFalse(text.contains("hunter2"), text)
        XCTAssertTrue(text.contains("failed"))
    }
}

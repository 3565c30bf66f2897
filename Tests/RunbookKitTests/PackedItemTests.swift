import Foundation
@testable import RunbookKit
import XCTest

/// Items that are not running keep their step records packed (deflated JSON, masked as in
/// `state.json`); every reader sees the same records, and what is written is unchanged.
final class PackedItemTests: XCTestCase {
    private func records(_ k: Int) -> [StepRecord] {
        var read = StepRecord(id: "read", action: "k8s.secret.read")
        read.status = .succeeded
        read.completed = true
        read.outputs = ["names": .array([.string("db-\(k)")]), "note": .string("token hunter2-secret inside")]
        read.summary = "read 1 Secret"
        var patch = StepRecord(id: "patch", action: "k8s.patch")
        patch.status = .succeeded
        patch.completed = true
        patch.attempts = 2
        // machine data is stored as given, never masked (a namespace may contain a secret word)
        patch.journal = ["ref": ["namespace": "hunter2-secret-ns", "name": .string("job-\(k)")]]
        patch.rollbackRecord = ["prior": ["metadata": ["name": .string("job-\(k)"), "labels": ["a": "b"]]], "after": "42"]
        patch.startedAt = Date(timeIntervalSince1970: 1_700_000_000.5)
        patch.finishedAt = Date(timeIntervalSince1970: 1_700_000_001.25)
        patch.rollbackStepsDone = ["x"]
        return [read, patch, StepRecord(id: "check", action: "assert")]
    }

    func testDeflateRoundTripsWithAndWithoutADictionary() {
        let text = Array(String(repeating: "{\"id\":\"patch\",\"status\":\"succeeded\"},", count: 40).utf8)
        let dictionary = Array(String(repeating: "{\"id\":\"read\",\"status\":\"succeeded\"},", count: 10).utf8)
        for d in [nil, dictionary] {
            let packed = Deflate.compress(text, dictionary: d)
            XCTAssertLessThan(packed.count, text.count / 4)
            XCTAssertEqual(Deflate.decompress(packed, size: text.count, dictionary: d), text)
        }
        XCTAssertNil(Deflate.decompress([1, 2, 3], size: 10), "not a deflated text")
    }

    func testAPackedItemReadsAsItsMaskedRecordsAndUnpacksOnChange() {
        let masker = Masker()
        masker.add("hunter2-secret")
        let steps = records(3)
        var item = ItemRecord(index: 3, key: "ns/job-3", steps: steps)
        item.status = .succeeded
        let loose = item
        item.pack(masker: masker)
        XCTAssertTrue(item.isPacked)
        XCTAssertEqual(item.stepCount, 3)
        let back = item.steps
        XCTAssertEqual(back.count, 3)
        XCTAssertEqual(back[0].outputs["note"], .string("token *** inside"), "outputs are packed masked")
        XCTAssertEqual(back[0].outputs["names"], steps[0].outputs["names"])
        XCTAssertEqual(back[1].journal, steps[1].journal, "journals are machine data, kept as given")
        XCTAssertEqual(back[1].rollbackRecord, steps[1].rollbackRecord)
        XCTAssertEqual(back[1].attempts, 2)
        XCTAssertEqual(back[1].rollbackStepsDone, ["x"])
        XCTAssertEqual(back[1].startedAt, steps[1].startedAt)
        XCTAssertEqual(back[2], steps[2])
        XCTAssertTrue(item.isPacked, "reading does not unpack")
        XCTAssertNotEqual(item, loose, "the masked output differs")

        var other = ItemRecord(index: 3, key: "ns/job-3", steps: back)
        other.status = .succeeded
        XCTAssertEqual(item, other, "a packed item equals the same records loose")
        other.pack(masker: nil)
        XCTAssertEqual(item, other)

        XCTAssertTrue(other.isIdentical(to: other), "the same packed text")
        XCTAssertTrue(loose.isIdentical(to: loose), "the same loose records")
        XCTAssertFalse(item.isIdentical(to: loose), "packed against loose counts as changed (no decoding)")

        item.steps[2].status = .rolledBack
        XCTAssertFalse(item.isPacked, "a change unpacks")
        XCTAssertEqual(item.steps[2].status, .rolledBack)
        XCTAssertEqual(item.steps[1].journal, steps[1].journal)
        item.pack(masker: masker)
        item.unpack()
        XCTAssertFalse(item.isPacked)
        XCTAssertEqual(item.steps[2].status, .rolledBack)
    }

    func testPackedItemsAreWrittenAsTheLooseOnesAndLoadPacked() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("packed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = StateStore(root: dir)
        let masker = Masker()
        masker.add("hunter2-secret")
        var group = StepRecord(id: "each", action: "foreach")
        group.items = (0..<800).map { k in
            var item = ItemRecord(index: k, key: "ns/job-\(k)", steps: records(k))
            item.status = .succeeded
            return item
        }
        var state = RunState(runID: "packed-1", runbookName: "packed", runbookPath: "/p.yaml", sha256: "", vars: [:],
                             secretVars: [], kubeconfig: nil, context: nil, status: .running,
                             startedAt: Date(timeIntervalSince1970: 1_700_000_000), who: "a@b", steps: [group])
        try DurableFile.makeDirectory(store.runDirectory(state.runID))
        try store.save(state, masker: masker)
        let loose = try Data(contentsOf: store.stateFile(state.runID))
        for k in state.steps[0].items!.indices where k % 2 == 0 { state.steps[0].items![k].pack(masker: masker) }
        try store.save(state, masker: masker)
        XCTAssertEqual(try Data(contentsOf: store.stateFile(state.runID)), loose, "packed items write the same bytes")
        let back = try store.load(state.runID)
        XCTAssertTrue(back.steps[0].items!.allSatisfy(\.isPacked), "items read back rest packed")
        XCTAssertEqual(back.steps[0].items![5].steps[1].rollbackRecord, state.steps[0].items![5].steps[1].rollbackRecord)
        try store.save(back, masker: masker)
        XCTAssertEqual(try Data(contentsOf: store.stateFile(state.runID)), loose, "and write the same bytes again")
    }

    func testSplitParsingHandsOverTheElementsOfTheNamedListsAtTheirDepthOnly() throws {
        let text = #"{"steps":[{"id":"a","items":[{"k":1},{"k":2}],"outputs":{"items":[9]}},{"id":"b","items":[]}],"items":[7]}"#
        var taken: [Value] = []
        let v = try Value.parseJSON(Data(text.utf8), splitting: "items", atDepth: 2) { e in
            taken.append(e)
            return .int(taken.count - 1)
        }
        XCTAssertEqual(taken, [["k": 1], ["k": 2]])
        XCTAssertEqual(v["steps"]?[0]?["items"], [0, 1])
        XCTAssertEqual(v["steps"]?[0]?["outputs"]?["items"], [9], "deeper lists of that name are parsed as usual")
        XCTAssertEqual(v["items"], [7], "so are shallower ones")
        var same = v
        same["steps"] = try Value.parseJSON(text)["steps"]
        XCTAssertEqual(try Value.parseJSON(text), same)
        XCTAssertThrowsError(try Value.parseJSON(Data(#"{"steps":[{"items":[{"k":1},]}]}"#.utf8), splitting: "items", atDepth: 2) { $0 })
    }
}

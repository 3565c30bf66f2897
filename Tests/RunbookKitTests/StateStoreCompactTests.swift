import Foundation
@testable import RunbookKit
import XCTest

/// `state.json` of a large fan-out is written item by item; its bytes are exactly those of the
/// whole state encoded at once (compact), masked, and it loads back as the same state.
final class StateStoreCompactTests: XCTestCase {
    func testAnItemByItemStateFileEqualsTheWholeEncodingAndLoadsBack() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("compact-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = StateStore(root: dir)
        let masker = Masker()
        masker.add("hunter2-secret")
        func group(_ id: String, _ n: Int) -> StepRecord {
            var g = StepRecord(id: id, action: "foreach")
            g.status = .running
            g.items = (0..<n).map { k in
                var s = StepRecord(id: "patch", action: "k8s.patch")
                s.status = k % 3 == 0 ? .succeeded : .pending
                s.outputs = ["name": .string("job-\(k)"), "leak": .string("x hunter2-secret y")]
                s.rollbackRecord = ["prior": ["metadata": ["name": .string("job-\(k)")]]]
                s.summary = "patched \"job-\(k)\"\n"
                var item = ItemRecord(index: k, key: "ns/job-\(k)", steps: [s, StepRecord(id: "check", action: "assert")])
                if k == 7 { item.error = "failed with hunter2-secret" }
                return item
            }
            return g
        }
        var state = RunState(runID: "big-1", runbookName: "big", runbookPath: "/big.yaml", sha256: "", vars: ["v": "1"],
                             secretVars: [], kubeconfig: nil, context: nil, status: .running,
                             startedAt: Date(timeIntervalSince1970: 1_700_000_000), who: "a@b",
                             steps: [StepRecord(id: "find", action: "k8s.list"), group("each", 1200), StepRecord(id: "mid", action: "assert"),
                                     group("again", 10)])
        state.steps[0].outputs = ["items": .array([["a": "b"]])]
        state.message = "paused after hunter2-secret"
        try DurableFile.makeDirectory(store.runDirectory(state.runID))
        let size = try store.save(state, masker: masker)
        let written = try Data(contentsOf: store.stateFile(state.runID))
        let whole = Data((state.maskedForDisk(by: masker).toValue().jsonString() + "\n").utf8)
        XCTAssertEqual(written.count, size)
        XCTAssertEqual(written, whole, "item by item gives the bytes of the whole encoding")
        XCTAssertFalse(String(decoding: written, as: UTF8.self).contains("hunter2"), "masked")
        let back = try store.load(state.runID)
        XCTAssertEqual(back.steps[1].items?.count, 1200)
        XCTAssertEqual(back.steps[3].items?.count, 10)
        XCTAssertEqual(back.steps[1].items?[7].error, "failed with ***")
        XCTAssertEqual(back.steps[1].items?[3].steps[0].rollbackRecord, state.steps[1].items?[3].steps[0].rollbackRecord)
        XCTAssertEqual(back.steps[2].id, "mid")
    }
}

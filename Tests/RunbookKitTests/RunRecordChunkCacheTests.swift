import Foundation
@testable import RunbookKit
import XCTest

/// The chunk cache gives, write after write, the bytes a fresh encoding of the chunk gives, and
/// encodes again only the items that changed — or that a secret registered since would appear in.
final class RunRecordChunkCacheTests: XCTestCase {
    func items(_ n: Int) -> [ItemRecord] {
        (0..<n).map { k in
            var patch = StepRecord(id: "patch", action: "k8s.patch")
            patch.outputs = ["name": .string("job-\(k)"), "env": .string("DATABASE_URL=postgresql://u\(k):pw-\(k)-abcdef@db/x")]
            patch.journal = ["resourceVersion": .string("\(100 + k)"), "path": .string("/spec/x")]
            patch.startedAt = Date(timeIntervalSince1970: 1_700_000_000 + Double(k))
            return ItemRecord(index: k, key: "ns/job-\(k)", steps: [StepRecord(id: "read", action: "k8s.secret.read"), patch])
        }
    }

    /// What `RunRecords` wrote before the cache: the whole list masked and encoded at once.
    func fresh(_ items: [ItemRecord], _ masker: Masker) -> [UInt8] {
        Value.array(RunRecordLayout.masked(items, masker: masker).map { $0.toValue() }).jsonBytes(pretty: false)
    }

    func testAChunkIsByteForByteAFreshEncodingAndOnlyChangedItemsAreEncodedAgain() throws {
        let cache = RunRecordChunkCache()
        let masker = Masker()
        masker.add("pw-3-abcdef")
        var list = items(50)
        XCTAssertEqual(cache.json(chunk: "c0", items: list, masker: masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 50)
        // nothing changed: nothing encoded
        XCTAssertEqual(cache.json(chunk: "c0", items: list, masker: masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 50)
        // two items change (status; a step's journal and outputs): those two are encoded again
        list[7].status = .succeeded
        list[31].steps[1].journal = ["resourceVersion": "999"]
        list[31].steps[1].outputs["extra"] = .string("more")
        let out = cache.json(chunk: "c0", items: list, masker: masker)
        XCTAssertEqual(out, fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 52)
        // the list parses back to the items (masked)
        let back = try Value.parseJSON(Data(out)).arrayValue!.map { try ItemRecord(value: $0, file: "t") }
        XCTAssertEqual(back, RunRecordLayout.masked(list, masker: masker))
        // a last, shorter chunk and an empty one
        XCTAssertEqual(cache.json(chunk: "c0", items: Array(list.prefix(3)), masker: masker), fresh(Array(list.prefix(3)), masker))
        XCTAssertEqual(cache.json(chunk: "c0", items: [], masker: masker), Array("[]".utf8))
    }

    func testASecretRegisteredAfterAnItemWasEncodedIsMaskedAtTheNextWrite() {
        let cache = RunRecordChunkCache()
        let masker = Masker()
        let list = items(10)
        _ = cache.json(chunk: "c0", items: list, masker: masker)
        XCTAssertEqual(cache.encodedCount, 10)
        // a secret another item read later, that this chunk's item 4 happens to hold
        masker.add("pw-4-abcdef")
        masker.add("not in any item")
        let out = cache.json(chunk: "c0", items: list, masker: masker)
        XCTAssertEqual(out, fresh(list, masker))
        XCTAssertFalse(String(decoding: out, as: UTF8.self).contains("pw-4-abcdef"))
        XCTAssertEqual(cache.encodedCount, 11, "only the item holding the new secret is encoded again")
        // its base64 form counts as well
        masker.add("job-6")
        XCTAssertEqual(cache.json(chunk: "c0", items: list, masker: masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 12)
        // journals are stored as given (not masked): a secret found only there changes nothing
        masker.add("/spec/x")
        XCTAssertEqual(cache.json(chunk: "c0", items: list, masker: masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 12)
    }

    func testOnlyTheLatestChunksAreKept() {
        let cache = RunRecordChunkCache(capacity: 2)
        let masker = Masker()
        let list = items(5)
        for name in ["a", "b", "c"] { _ = cache.json(chunk: name, items: list, masker: masker) }
        XCTAssertEqual(cache.encodedCount, 15)
        _ = cache.json(chunk: "c", items: list, masker: masker)
        _ = cache.json(chunk: "b", items: list, masker: masker)
        XCTAssertEqual(cache.encodedCount, 15, "b and c are kept")
        _ = cache.json(chunk: "a", items: list, masker: masker)
        XCTAssertEqual(cache.encodedCount, 20, "a was dropped")
    }
}

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

    /// The chunk's text: its compressed form decompressed.
    func text(_ cache: RunRecordChunkCache, _ name: String, _ items: [ItemRecord], _ masker: Masker) throws -> [UInt8] {
        [UInt8](try Gzip.decompress(Data(try cache.gzip(chunk: name, items: items, masker: masker))))
    }

    func testAChunkIsByteForByteAFreshEncodingAndOnlyChangedItemsAreEncodedAgain() throws {
        let cache = RunRecordChunkCache()
        let masker = Masker()
        masker.add("pw-3-abcdef")
        var list = items(50)
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 50)
        // nothing changed: nothing encoded
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 50)
        // two items change (status; a step's journal and outputs): those two are encoded again
        list[7].status = .succeeded
        list[31].steps[1].journal = ["resourceVersion": "999"]
        list[31].steps[1].outputs["extra"] = .string("more")
        let out = try text(cache, "c0", list, masker)
        XCTAssertEqual(out, fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 52)
        XCTAssertEqual(cache.encodedStepCount, 101, "of the two items' steps, only the one that changed")
        // the list parses back to the items (masked)
        let back = try Value.parseJSON(Data(out)).arrayValue!.map { try ItemRecord(value: $0, file: "t") }
        XCTAssertEqual(back, RunRecordLayout.masked(list, masker: masker))
        // a last, shorter chunk and an empty one
        XCTAssertEqual(try text(cache, "c0", Array(list.prefix(3)), masker), fresh(Array(list.prefix(3)), masker))
        XCTAssertEqual(try text(cache, "c0", [], masker), Array("[]".utf8))
    }

    func testASecretRegisteredAfterAnItemWasEncodedIsMaskedAtTheNextWrite() throws {
        let cache = RunRecordChunkCache()
        let masker = Masker()
        let list = items(10)
        _ = try text(cache, "c0", list, masker)
        XCTAssertEqual(cache.encodedCount, 10)
        // a secret another item read later, that this chunk's item 4 happens to hold
        masker.add("pw-4-abcdef")
        masker.add("not in any item")
        let out = try text(cache, "c0", list, masker)
        XCTAssertEqual(out, fresh(list, masker))
        XCTAssertFalse(String(decoding: out, as: UTF8.self).contains("pw-4-abcdef"))
        XCTAssertEqual(cache.encodedCount, 11, "only the item holding the new secret is encoded again")
        XCTAssertEqual(cache.encodedStepCount, 21, "and of it only the step holding it")
        // its base64 form counts as well
        masker.add("job-6")
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 12)
        // journals are stored as given (not masked): a secret found only there changes nothing
        masker.add("/spec/x")
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 12)
    }

    func testOnlyTheLatestChunksAreKept() throws {
        let cache = RunRecordChunkCache(capacity: 2)
        let masker = Masker()
        let list = items(5)
        for name in ["a", "b", "c"] { _ = try text(cache, name, list, masker) }
        XCTAssertEqual(cache.encodedCount, 15)
        _ = try text(cache, "c", list, masker)
        _ = try text(cache, "b", list, masker)
        XCTAssertEqual(cache.encodedCount, 15, "b and c are kept")
        _ = try text(cache, "a", list, masker)
        XCTAssertEqual(cache.encodedCount, 20, "a was dropped")
    }

    func testCompressionContinuesAfterTheSettledBeginning() throws {
        let cache = RunRecordChunkCache()
        let masker = Masker()
        var list = items(50)
        for k in 0..<20 { list[k].status = .succeeded }
        for k in 20..<36 { list[k].status = .running }
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.compressedCount, 50)
        // items in flight change: only from the first item not settled at the last write on
        list[25].steps[1].status = .succeeded
        list[21].status = .succeeded
        let compressed = try cache.gzip(chunk: "c0", items: list, masker: masker)
        XCTAssertEqual([UInt8](try Gzip.decompress(Data(compressed))), fresh(list, masker))
        XCTAssertEqual(compressed, [UInt8](try Gzip.compress(Data(fresh(list, masker)))), "the same bytes as compressing it whole")
        XCTAssertEqual(cache.compressedCount, 80)
        // the beginning moved on (20 and 21 settled now... 20 is still running): from item 20 again
        list[20].status = .succeeded
        list[30].status = .failed
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.compressedCount, 110)
        // now 0…21 are settled: the next write compresses from 22
        list[40].status = .running
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.compressedCount, 138)
        // a change before the settled beginning (a rollback) compresses it all
        list[3].status = .rolledBack
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.compressedCount, 188)
    }

    func testItemsAtRestArePackedAndStillEncodedOnceWithoutDecodingThemAtEveryWrite() throws {
        let cache = RunRecordChunkCache()
        let masker = Masker()
        masker.add("pw-2-abcdef")
        var list = items(10)
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        // items 0…4 finish and rest packed (as the engine keeps them), in a chunk written again
        for k in 0..<5 {
            list[k].status = .succeeded
            list[k].pack(masker: masker)
        }
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 15)
        // unchanged packed items are taken as they were
        list[7].status = .running
        XCTAssertEqual(try text(cache, "c0", list, masker), fresh(list, masker))
        XCTAssertEqual(cache.encodedCount, 16)
    }
}

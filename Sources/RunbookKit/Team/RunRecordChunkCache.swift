import Foundation

/// The masked JSON text of each item of the chunk records written lately, so that a write of a
/// chunk (up to `RunRecordLayout.itemsPerChunk` items, while only the few in flight changed)
/// encodes again only the items that changed since the chunk's last write: the chunk's text is
/// then a join of the items' texts, byte for byte what encoding the whole list gives.
///
/// An item's text is reused when the item equals the one it was made from (`ItemRecord` is
/// `Equatable`; an item not touched shares its storage, so the comparison is cheap) and no secret
/// registered with the masker since then occurs in the texts masking covers; otherwise the item
/// is masked and encoded again. So a chunk is always what masking its items by the masker of the
/// moment gives.
final class RunRecordChunkCache: @unchecked Sendable {
    private struct Entry {
        /// The item as it was (not masked) when `json` was made.
        var item: ItemRecord
        /// The masked item's compact JSON.
        var json: [UInt8]
        /// The texts masking covers, not masked (`StepRecord.appendMaskedTexts`): a secret
        /// registered later is looked for in them.
        var texts: [UInt8]
    }

    private struct Chunk {
        var entries: [Entry]
        /// The masker's generation before the chunk was last written: every text was masked or
        /// checked with the forms registered until then.
        var generation: Int
    }

    private let lock = NSLock()
    private var chunks: [String: Chunk] = [:]
    /// Chunk names, least recently written first.
    private var recent: [String] = []
    /// How many chunks are kept: the ones the items in flight are in (a run writes other chunks
    /// once, at a group's start, or while rolling back, again a few at a time).
    let capacity: Int

    init(capacity: Int = 4) { self.capacity = capacity }

    /// How many items were encoded (not reused) so far; for tests.
    private(set) var encodedCount = 0

    /// The compact JSON list of `items` masked by `masker` (as `RunRecordLayout.masked`), for
    /// the chunk record `name`.
    func json(chunk name: String, items: [ItemRecord], masker: Masker) -> [UInt8] {
        let old = lock.withLock { () -> Chunk? in
            recent.removeAll { $0 == name }
            return chunks.removeValue(forKey: name)
        }
        // the forms registered since the chunk was written, and the generation they end at
        let (newer, now) = masker.forms(since: old?.generation ?? 0)
        let needles = NeedleIndex(distinct: newer)
        var entries: [Entry] = []
        entries.reserveCapacity(items.count)
        var encoded = 0
        for (n, item) in items.enumerated() {
            if let old, n < old.entries.count, old.entries[n].item == item, !needles.occurs(in: old.entries[n].texts) {
                entries.append(old.entries[n])
                continue
            }
            encoded += 1
            entries.append(Entry(item: item, json: RunRecordChunkCache.encode(item, masker: masker), texts: RunRecordChunkCache.maskedTexts(item)))
        }
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(entries.reduce(2) { $0 + $1.json.count + 1 })
        for (n, e) in entries.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out += e.json
        }
        out.append(UInt8(ascii: "]"))
        lock.withLock {
            encodedCount += encoded
            chunks[name] = Chunk(entries: entries, generation: now)
            recent.append(name)
            while recent.count > capacity { chunks.removeValue(forKey: recent.removeFirst()) }
        }
        return out
    }

    /// The texts masking `item` covers (its error, its steps'), not masked.
    static func maskedTexts(_ item: ItemRecord) -> [UInt8] {
        var out: [UInt8] = []
        item.error.map { out.append(contentsOf: $0.utf8); out.append(0) }
        for step in item.steps { step.appendMaskedTexts(to: &out) }
        return out
    }

    /// One item masked as in `state.json`, as compact JSON.
    static func encode(_ item: ItemRecord, masker: Masker) -> [UInt8] {
        RunRecordLayout.masked([item], masker: masker)[0].toValue().jsonBytes(pretty: false)
    }
}

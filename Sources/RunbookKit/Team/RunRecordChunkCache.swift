import Foundation

/// The masked JSON text of each item of the chunk records written lately, so that a write of a
/// chunk (up to `RunRecordLayout.itemsPerChunk` items, while only the few in flight changed)
/// encodes again only the items that changed since the chunk's last write: the chunk's text is
/// then a join of the items' texts, byte for byte what encoding the whole list gives.
///
/// An item's text is reused when the item equals the one it was made from (`ItemRecord` is
/// `Equatable`; an item not touched shares its storage, so the comparison is cheap) and no secret
/// registered with the masker since then occurs in it; otherwise the item is masked and encoded
/// again. So a chunk never holds a form the masker knows when it is written.
final class RunRecordChunkCache: @unchecked Sendable {
    private struct Entry {
        /// The item as it was (not masked) when `json` was made.
        var item: ItemRecord
        /// The masked item's compact JSON.
        var json: [UInt8]
        /// The masker's generation before `json` was masked and last checked.
        var generation: Int
    }

    private let lock = NSLock()
    private var chunks: [String: [Entry]] = [:]
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
        let old = lock.withLock { () -> [Entry] in
            recent.removeAll { $0 == name }
            return chunks.removeValue(forKey: name) ?? []
        }
        let oldest = old.map(\.generation).min() ?? 0
        // forms registered since the oldest entry was checked, and the generation they end at
        let (newer, now) = masker.forms(since: oldest)
        // looked for in every item kept (those forms older than an item's check are not in it anyway)
        let needles = NeedleIndex(newer)
        var entries: [Entry] = []
        entries.reserveCapacity(items.count)
        var encoded = 0
        for (n, item) in items.enumerated() {
            if n < old.count, old[n].item == item, old[n].generation == now || !needles.occurs(in: old[n].json) {
                entries.append(Entry(item: item, json: old[n].json, generation: now))
                continue
            }
            encoded += 1
            entries.append(Entry(item: item, json: RunRecordChunkCache.encode(item, masker: masker), generation: now))
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
            chunks[name] = entries
            recent.append(name)
            while recent.count > capacity { chunks.removeValue(forKey: recent.removeFirst()) }
        }
        return out
    }

    /// One item masked as in `state.json`, as compact JSON.
    static func encode(_ item: ItemRecord, masker: Masker) -> [UInt8] {
        RunRecordLayout.masked([item], masker: masker)[0].toValue().jsonBytes(pretty: false)
    }
}

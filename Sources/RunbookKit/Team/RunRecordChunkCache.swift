import Foundation

/// The masked JSON text of each item of the chunk records written lately, and the compression
/// of their settled beginning, so that a write of a chunk (up to `RunRecordLayout.itemsPerChunk`
/// items, while only the few in flight changed) encodes again only the items that changed since
/// the chunk's last write, and compresses only from the first item not settled then: the items
/// of a group finish about in order, so a chunk's beginning stops changing.
///
/// An item's text is reused when the item equals the one it was made from (`ItemRecord` is
/// `Equatable`; an item not touched shares its storage, so the comparison is cheap) and no secret
/// registered with the masker since then occurs in the texts masking covers; otherwise the item
/// is masked and encoded again. So a chunk is always what masking its items by the masker of the
/// moment gives, and its text byte for byte what encoding the whole list gives.
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
        /// The compression of the chunk's text from its `[` to the end of its first `items`
        /// entries, unfinished: a write whose first changed item comes later continues from a copy.
        var prefix: (stream: GzipStream, items: Int)?
    }

    private let lock = NSLock()
    private var chunks: [String: Chunk] = [:]
    /// Chunk names, least recently written first.
    private var recent: [String] = []
    /// How many chunks are kept: the ones the items in flight are in (a run writes other chunks
    /// once, at a group's start, or while rolling back, again a few at a time). Each keeps a
    /// compression state (about 300 KB).
    let capacity: Int

    init(capacity: Int = 4) { self.capacity = capacity }

    /// How many items were encoded, and compressed, so far (not reused); for tests.
    private(set) var encodedCount = 0
    private(set) var compressedCount = 0

    /// The compact JSON list of `items` masked by `masker` (as `RunRecordLayout.masked`),
    /// gzip-compressed: what the chunk record `name` stores.
    func gzip(chunk name: String, items: [ItemRecord], masker: Masker) throws -> [UInt8] {
        let old = lock.withLock { () -> Chunk? in
            recent.removeAll { $0 == name }
            return chunks.removeValue(forKey: name)
        }
        // the forms registered since the chunk was written, and the generation they end at
        let (newer, now) = masker.forms(since: old?.generation ?? 0)
        let needles = NeedleIndex(distinct: newer)
        var entries: [Entry] = []
        entries.reserveCapacity(items.count)
        var unchanged = 0  // items at the beginning taken as they were
        var encoded = 0
        for (n, item) in items.enumerated() {
            if let old, n < old.entries.count, old.entries[n].item == item, !needles.occurs(in: old.entries[n].texts) {
                entries.append(old.entries[n])
                if unchanged == n { unchanged += 1 }
                continue
            }
            encoded += 1
            entries.append(Entry(item: item, json: RunRecordChunkCache.encode(item, masker: masker), texts: RunRecordChunkCache.maskedTexts(item)))
        }
        // compression: from the last write's settled beginning when it did not change
        var prefix = old?.prefix.flatMap { $0.items <= unchanged ? $0 : nil }
        let stream: GzipStream
        if let prefix { stream = try prefix.stream.copy() } else { stream = try GzipStream(); try stream.write(RunRecordChunkCache.open) }
        let from = prefix?.items ?? 0
        // the next write will likely find the items before the first one still to finish unchanged
        let settled = entries.firstIndex { !RunRecordChunkCache.settled($0.item) } ?? entries.count
        for n in from..<entries.count {
            if n == settled, n > 0, n > from || prefix == nil { prefix = (try stream.copy(), n) }
            if n > 0 { try stream.write(RunRecordChunkCache.comma) }
            try stream.write(entries[n].json)
        }
        try stream.write(RunRecordChunkCache.close)
        let out = try stream.finish()
        lock.withLock {
            encodedCount += encoded
            compressedCount += entries.count - from
            chunks[name] = Chunk(entries: entries, generation: now, prefix: prefix)
            recent.append(name)
            while recent.count > capacity { chunks.removeValue(forKey: recent.removeFirst()) }
        }
        return out
    }

    private static let open = Array("[".utf8), comma = Array(",".utf8), close = Array("]".utf8)

    /// An item that is done (until a rollback): its record stops changing.
    static func settled(_ item: ItemRecord) -> Bool { [.succeeded, .failed, .skipped, .rolledBack].contains(item.status) }

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

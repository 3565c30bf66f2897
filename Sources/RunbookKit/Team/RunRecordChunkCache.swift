import Foundation

/// The masked JSON text of each item (and of each of its steps) of the chunk records written
/// lately, and the compression of their settled beginning, so that a write of a chunk (up to
/// `RunRecordLayout.itemsPerChunk` items, while only the few in flight changed) encodes again
/// only the steps that changed since the chunk's last write, and compresses only from the first
/// item not settled then: the items of a group finish about in order, so a chunk's beginning
/// stops changing.
///
/// A text is reused when its item is identical to the one it was made from
/// (`ItemRecord.isIdentical`: the same packed text or the same records, without decoding a packed
/// one), or for a step, when it equals the step it was made from, and no secret registered with
/// the masker since then occurs in the texts masking covers;
/// otherwise it is masked and encoded again. So a chunk is always what masking its items by the
/// masker of the moment gives, and its text byte for byte what encoding the whole list gives.
final class RunRecordChunkCache: @unchecked Sendable {
    /// A step's masked compact JSON, and the texts its masking covers, not masked
    /// (`StepRecord.appendMaskedTexts`): a secret registered later is looked for in them.
    private struct Piece {
        var json: [UInt8]
        var texts: [UInt8]
    }

    /// An item's masked compact JSON in pieces: its header (`{"index":…,"steps":[`), then each
    /// step's, then `]}` (as `ItemRecord.toValue` writes it).
    private struct Entry {
        /// The item as it was (not masked) when the pieces were made.
        var item: ItemRecord
        var head: [UInt8]
        /// The item's error, not masked (masking covers it).
        var errorText: [UInt8]
        var steps: [Piece]

        func mentions(_ needles: NeedleIndex) -> Bool {
            needles.occurs(in: errorText) || steps.contains { needles.occurs(in: $0.texts) }
        }
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

    /// How many items were encoded (their header at least), how many of their steps, and how
    /// many items compressed, so far (not reused); for tests.
    private(set) var encodedCount = 0
    private(set) var encodedStepCount = 0
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
        var encoded = 0, stepsEncoded = 0
        for (n, item) in items.enumerated() {
            let before = old.flatMap { n < $0.entries.count ? $0.entries[n] : nil }
            if let before, before.item.isIdentical(to: item), !before.mentions(needles) {
                entries.append(before)
                if unchanged == n { unchanged += 1 }
                continue
            }
            encoded += 1
            entries.append(RunRecordChunkCache.entry(item, before: before, needles: needles, masker: masker, stepsEncoded: &stepsEncoded))
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
            try stream.write(entries[n].head)
            for (k, step) in entries[n].steps.enumerated() {
                if k > 0 { try stream.write(RunRecordChunkCache.comma) }
                try stream.write(step.json)
            }
            try stream.write(RunRecordChunkCache.closeItem)
        }
        try stream.write(RunRecordChunkCache.close)
        let out = try stream.finish()
        lock.withLock {
            encodedCount += encoded
            encodedStepCount += stepsEncoded
            compressedCount += entries.count - from
            chunks[name] = Chunk(entries: entries, generation: now, prefix: prefix)
            recent.append(name)
            while recent.count > capacity { chunks.removeValue(forKey: recent.removeFirst()) }
        }
        return out
    }

    private static let open = Array("[".utf8), comma = Array(",".utf8), close = Array("]".utf8), closeItem = Array("]}".utf8)

    /// An item that is done (until a rollback): its record stops changing.
    static func settled(_ item: ItemRecord) -> Bool { [.succeeded, .failed, .skipped, .rolledBack].contains(item.status) }

    /// The pieces of `item`, masked by `masker`: the header always (it is short), each step
    /// again only when it changed since `before` or holds one of `needles` (secrets registered
    /// since) in a text masking covers.
    private static func entry(_ item: ItemRecord, before: Entry?, needles: NeedleIndex, masker: Masker,
                              stepsEncoded: inout Int) -> Entry {
        var header = item
        header.error = item.error.map(masker.mask)
        var head = header.headerValue().jsonBytes(pretty: false)
        head.removeLast()  // its "}": the steps follow
        head += Array(#","steps":["#.utf8)
        // read once: a packed item (one at rest) decodes its steps at every read; the steps it had
        // are compared only when they are values (not to decode a packed item twice)
        let now = item.steps
        let was = before.flatMap { $0.item.isPacked ? nil : $0.item.steps } ?? []
        var steps: [Piece] = []
        steps.reserveCapacity(now.count)
        for (k, step) in now.enumerated() {
            if let before, k < was.count, was[k] == step, !needles.occurs(in: before.steps[k].texts) {
                steps.append(before.steps[k])
                continue
            }
            var texts: [UInt8] = []
            step.appendMaskedTexts(to: &texts)
            steps.append(Piece(json: step.maskedForDisk(by: masker).toValue().jsonBytes(pretty: false), texts: texts))
            stepsEncoded += 1
        }
        return Entry(item: item, head: head, errorText: Array((item.error ?? "").utf8), steps: steps)
    }
}

import Foundation

/// What checkpoints changed in a run's record since its last write: the newest head (the state
/// without `foreach` items, with each group's item count) and the newest items of every chunk
/// they touched. Taken at the checkpoint (a chunk is a copy of at most `itemsPerChunk` item
/// records, not the run), so that no copy of the whole state waits for the cluster; coalesced
/// by `absorb` while a write is in flight (`GroupCommit`).
public struct RunRecordChange: Sendable {
    /// The head's state: no items.
    public var head: RunState
    /// Each group's item count, by main step index.
    public var counts: [Int: Int]
    /// The items (not yet masked) of each chunk to write.
    public var chunks: [RunRecordLayout.ChunkID: [ItemRecord]]

    /// The change of `state` in the chunks `ids` (every chunk of the state when nil).
    public init(state: RunState, chunks ids: Set<RunRecordLayout.ChunkID>?) {
        (head, counts) = RunRecordLayout.head(of: state)
        chunks = [:]
        for id in ids.map(Array.init) ?? RunRecordLayout.chunkIDs(counts: counts) {
            if let items = RunRecordLayout.slice(of: state, chunk: id) { chunks[id] = items }
        }
    }

    /// Folds a newer change in: its head replaces this one, its chunks replace or join these
    /// (a chunk it did not touch is unchanged since this change was taken).
    public mutating func absorb(_ newer: RunRecordChange) {
        head = newer.head
        counts = newer.counts
        chunks.merge(newer.chunks) { _, new in new }
    }

    /// Whether the head says something `other` does not (anything but the time of the checkpoint).
    func headDiffers(from other: RunState?) -> Bool {
        guard var other else { return true }
        other.updatedAt = head.updatedAt
        return other != head
    }
}

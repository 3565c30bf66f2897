import Foundation

/// How a run's state is laid out over its Secrets in the cluster: the head record holds the run
/// header, every step record without a `foreach` group's items, and the events tail; the items of
/// each group live in chunk records of `itemsPerChunk` items each, so that a checkpoint of one
/// item rewrites one chunk (and the head), whatever the run's length. Pure: split and merge.
public enum RunRecordLayout {
    /// Items per chunk record.
    public static let itemsPerChunk = 50

    /// One chunk: the main step index of its group and its index among the group's chunks.
    public struct ChunkID: Hashable, Sendable, Comparable, CustomStringConvertible {
        public let step: Int
        public let index: Int

        public init(step: Int, index: Int) {
            self.step = step
            self.index = index
        }

        /// The chunk that holds `item` of the group at main step `step`.
        public init(step: Int, item: Int) { self.init(step: step, index: item / RunRecordLayout.itemsPerChunk) }

        public static func < (a: ChunkID, b: ChunkID) -> Bool { (a.step, a.index) < (b.step, b.index) }

        /// `<step>-<index>`: the chunk label's value and its name's suffix.
        public var description: String { "\(step)-\(index)" }
    }

    /// The head's state (groups without items) and each group's item count, by main step index.
    public static func head(of state: RunState) -> (state: RunState, counts: [Int: Int]) {
        var head = state
        var counts: [Int: Int] = [:]
        for (i, step) in state.steps.enumerated() {
            guard let items = step.items else { continue }
            counts[i] = items.count
            head.steps[i].items = nil
        }
        return (head, counts)
    }

    /// Every chunk of `state` (its groups' items in runs of `itemsPerChunk`).
    public static func chunkIDs(of state: RunState) -> [ChunkID] {
        chunkIDs(counts: head(of: state).counts)
    }

    /// Every chunk of groups with these item counts.
    public static func chunkIDs(counts: [Int: Int]) -> [ChunkID] {
        counts.sorted { $0.key < $1.key }.flatMap { step, n in
            (0..<((n + itemsPerChunk - 1) / itemsPerChunk)).map { ChunkID(step: step, index: $0) }
        }
    }

    /// The items of one chunk, masked as in `state.json`; nil when `state` has no such chunk.
    static func items(of state: RunState, chunk: ChunkID, masker: Masker) -> [ItemRecord]? {
        slice(of: state, chunk: chunk).map { masked($0, masker: masker) }
    }

    /// The items of one chunk as they are in memory (a copy of at most `itemsPerChunk` records);
    /// nil when `state` has no such chunk.
    static func slice(of state: RunState, chunk: ChunkID) -> [ItemRecord]? {
        guard state.steps.indices.contains(chunk.step), let items = state.steps[chunk.step].items else { return nil }
        let start = chunk.index * itemsPerChunk
        guard start < items.count || (start == 0 && items.isEmpty) else { return nil }
        return Array(items[start..<min(start + itemsPerChunk, items.count)])
    }

    /// Item records masked as in `state.json`.
    static func masked(_ items: [ItemRecord], masker: Masker) -> [ItemRecord] {
        items.map { $0.maskedForDisk(by: masker) }
    }

    /// The whole state: the head's groups get their items back from the chunks. A chunk missing
    /// or of the wrong size is an error (`name` says which record).
    static func merge(head: RunState, counts: [Int: Int], chunks: [ChunkID: [ItemRecord]], name: String) throws -> RunState {
        var state = head
        for (step, n) in counts.sorted(by: { $0.key < $1.key }) {
            guard state.steps.indices.contains(step) else {
                throw TeamError.recordCorrupt(name: name, reason: "items recorded for step \(step + 1), which the run does not have")
            }
            var items: [ItemRecord] = []
            items.reserveCapacity(n)
            for id in chunkIDs(counts: [step: n]) {
                guard let part = chunks[id] else {
                    throw TeamError.recordCorrupt(name: name, reason: "its items chunk \(id) is missing")
                }
                items += part
            }
            guard items.count == n else {
                throw TeamError.recordCorrupt(name: name, reason: "step \(step + 1) has \(items.count) items in its chunks, not \(n)")
            }
            state.steps[step].items = items
        }
        return state
    }

    /// The item counts as stored in the head (`{"<step>": count}`).
    static func countsValue(_ counts: [Int: Int]) -> Value {
        .object(Object(counts.sorted { $0.key < $1.key }.map { .init(key: String($0.key), value: .int($0.value)) }))
    }

    static func counts(from v: Value, name: String) throws -> [Int: Int] {
        guard let o = v.objectValue else { throw TeamError.recordCorrupt(name: name, reason: "its item counts are not an object") }
        var counts: [Int: Int] = [:]
        for m in o {
            guard let step = Int(m.key), step >= 0, let n = m.value.intValue, n >= 0 else {
                throw TeamError.recordCorrupt(name: name, reason: "its item counts are malformed")
            }
            counts[step] = n
        }
        return counts
    }
}

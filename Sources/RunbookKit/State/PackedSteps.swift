import Foundation

/// The step records of a `foreach` item that is not running (finished, failed, restored, or not
/// started yet), kept as their compact JSON text — masked as `state.json` writes it — deflated.
/// A thousand finished items then take about a tenth of the memory their records take as values;
/// the engine unpacks an item (`ItemRecord.unpack`) before it runs or rolls it back, and packs it
/// again when it rests.
///
/// The first item that succeeded packed in the process lends its text as the preset dictionary
/// of every later one (items of a group are alike, so each compresses to a few hundred bytes); each packed
/// value notes whether it used the dictionary, which never changes once set.
struct PackedSteps: Sendable, Equatable {
    private let deflated: [UInt8]
    private let size: Int
    private let usesDictionary: Bool
    /// How many step records (without decoding them).
    let count: Int

    /// Packs `steps`, masked by `masker` when given; with `lend`, the text may become the
    /// dictionary (an item that succeeded is the most typical of its group).
    init(_ steps: [StepRecord], masker: Masker?, lend: Bool) {
        let records = steps.map { masker.map($0.maskedForDisk) ?? $0 }
        let json = Value.array(records.map { $0.toValue() }).jsonBytes(pretty: false)
        let dictionary = lend ? PackedSteps.dictionary.value(orSet: json) : PackedSteps.dictionary.value
        usesDictionary = dictionary != nil
        deflated = Deflate.compress(json, dictionary: dictionary)
        size = json.count
        count = steps.count
    }

    /// The records' JSON text (a list of step records).
    var json: [UInt8] {
        guard let bytes = Deflate.decompress(deflated, size: size, dictionary: usesDictionary ? PackedSteps.dictionary.value : nil) else {
            preconditionFailure("packed step records of an item no longer inflate")
        }
        return bytes
    }

    /// The records (decoded from the text every time: unpack an item that is used much).
    var steps: [StepRecord] {
        do {
            return try (Value.parseJSON(Data(json)).arrayValue ?? []).map { try StepRecord(value: $0, file: "(packed item)") }
        } catch {
            preconditionFailure("packed step records of an item do not decode: \(error)")
        }
    }

    /// Bytes held (for tests and measurements).
    var footprint: Int { deflated.count }

    /// The same packed bytes (without decoding: false may also mean equal records packed apart).
    func isSameBytes(as other: PackedSteps) -> Bool { deflated == other.deflated && usesDictionary == other.usesDictionary }

    static func == (a: PackedSteps, b: PackedSteps) -> Bool {
        (a.deflated == b.deflated && a.usesDictionary == b.usesDictionary) || a.steps == b.steps
    }

    /// The preset dictionary: set once, by the first text packed without one.
    private static let dictionary = Dictionary()

    private final class Dictionary: @unchecked Sendable {
        private let lock = NSLock()
        private var bytes: [UInt8]?

        var value: [UInt8]? { lock.withLock { bytes } }

        /// The dictionary; when there is none yet, `text` becomes it if it is long enough to be
        /// worth it (and nil is returned: the text that became the dictionary is packed without one).
        func value(orSet text: [UInt8]) -> [UInt8]? {
            lock.withLock {
                if let bytes { return bytes }
                if text.count >= 1024 { bytes = Array(text.suffix(32 << 10)) }
                return nil
            }
        }
    }
}

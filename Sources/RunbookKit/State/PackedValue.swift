import Foundation

/// A value kept as its compact JSON text instead of a tree. A step record's journal and rollback
/// record are machine data (a CronJob's prior state, say) that is written and read back a few
/// times but kept for the whole run: as text it takes a fraction of the memory of the tree, which
/// matters when a `foreach` group holds thousands of them. Equality is that of the values.
public struct PackedValue: Sendable, Equatable {
    private let bytes: [UInt8]

    public init(_ value: Value) { bytes = value.jsonBytes(pretty: false) }

    /// The value (decoded; the text was written from a value, so it always parses).
    public var value: Value { (try? Value.parseJSON(Data(bytes))) ?? .null }

    public static func == (a: PackedValue, b: PackedValue) -> Bool { a.bytes == b.bytes || a.value == b.value }
}

import Foundation

/// One item of a `foreach` group in `state.json` (under the group's step record, `items`).
///
/// An item that is not running keeps its step records packed (`PackedSteps`): `pack` and
/// `unpack` move between the two forms; `steps` decodes a packed item's records on each read,
/// and any change through `steps` unpacks it.
public struct ItemRecord: Sendable, Equatable {
    /// Position in the group's list (0-based), and a key people recognise (`namespace/name` of
    /// an object, else its `name`/`id`, else the scalar itself, else the position).
    public var index: Int
    public var key: String
    /// `pending`, `running`, `succeeded`, `failed` (and, once undone, `rolled-back`), …
    public var status: StepRecord.Status = .pending
    /// Masked reason when the item failed.
    public var error: String?
    /// The body's steps for this item, in order.
    public var steps: [StepRecord] {
        get { loose ?? packed?.steps ?? [] }
        set {
            loose = newValue
            packed = nil
        }
        _modify {
            unpack()
            yield &loose!
        }
    }

    private var loose: [StepRecord]?
    private var packed: PackedSteps?
    /// How many step records it has (without decoding a packed item).
    public var stepCount: Int { loose?.count ?? packed?.count ?? 0 }

    public init(index: Int, key: String, steps: [StepRecord]) {
        self.index = index
        self.key = key
        loose = steps
    }

    /// Keeps the step records packed, masked by `masker` (nil: they are masked already, as read
    /// from `state.json`), until the next `unpack` or change.
    public mutating func pack(masker: Masker?) {
        guard let steps = loose else { return }
        packed = PackedSteps(steps, masker: masker, lend: status == .succeeded)
        loose = nil
    }

    /// Keeps the step records as values (before the item runs or is rolled back).
    public mutating func unpack() {
        guard loose == nil else { return }
        loose = packed?.steps ?? []
        packed = nil
    }

    public var isPacked: Bool { loose == nil }

    /// Equal without decoding a packed item: the same header and the same step values, or the same
    /// packed bytes. False may also mean equal records in different forms (the run record's chunk
    /// cache then encodes the item again).
    func isIdentical(to other: ItemRecord) -> Bool {
        guard hasSameHeader(as: other) else { return false }
        switch (packed, other.packed) {
        case let (a?, b?): return a.isSameBytes(as: b)
        case (nil, nil): return loose == other.loose
        default: return false
        }
    }

    public static func == (a: ItemRecord, b: ItemRecord) -> Bool {
        guard a.hasSameHeader(as: b) else { return false }
        if let pa = a.packed, let pb = b.packed { return pa == pb }
        return a.steps == b.steps
    }

    /// The same position, key, status, error and number of steps.
    private func hasSameHeader(as other: ItemRecord) -> Bool {
        index == other.index && key == other.key && status == other.status && error == other.error && stepCount == other.stepCount
    }

    /// The key of an item value, as described for `key`.
    public static func key(of item: Value, index: Int) -> String {
        if let name = item["metadata"]?["name"]?.stringValue {
            if let ns = item["metadata"]?["namespace"]?.stringValue { return "\(ns)/\(name)" }
            return name
        }
        for k in ["key", "name", "id"] {
            if let s = item[k]?.stringValue { return s }
        }
        switch item {
        case .string(let s): return s
        case .int, .double, .bool: return item.interpolated
        default: return "#\(index)"
        }
    }

    /// The item's header (everything but its steps).
    public func headerValue() -> Value {
        var o: Object = ["index": .int(index), "key": .string(key), "status": .string(status.rawValue)]
        if let error { o["error"] = .string(error) }
        return .object(o)
    }

    public func toValue() -> Value {
        guard case .object(var o) = headerValue() else { return .null }
        o["steps"] = .array(steps.map { $0.toValue() })
        return .object(o)
    }

    init(value v: Value, file: String) throws {
        guard let index = v["index"]?.intValue, let key = v["key"]?.stringValue,
              let st = v["status"]?.stringValue, let status = StepRecord.Status(rawValue: st)
        else { throw StateError.corrupt(file: file, reason: "an item record lacks index, key or a known status") }
        self.init(index: index, key: key, steps: try (v["steps"]?.arrayValue ?? []).map { try StepRecord(value: $0, file: file) })
        self.status = status
        error = v["error"]?.stringValue
        // read from a file or a record: masked already; an item that was running is unpacked when it runs again
        pack(masker: nil)
    }

    /// Applies a header written by `headerValue` (from the checkpoint journal).
    mutating func applyHeader(_ v: Value) {
        if let st = v["status"]?.stringValue, let s = StepRecord.Status(rawValue: st) { status = s }
        error = v["error"]?.stringValue
    }
}

/// Where a step record lives: a main step, or step `sub` of item `item` of the group at `top`.
public struct StepSlot: Hashable, Sendable, CustomStringConvertible {
    public let top: Int
    public let item: Int?
    public let sub: Int?

    public init(_ top: Int, item: Int? = nil, sub: Int? = nil) {
        self.top = top
        self.item = item
        self.sub = sub
    }

    public var description: String { [String(top), item.map { "item \($0)" }, sub.map { "step \($0)" }].compactMap { $0 }.joined(separator: "/") }
}

extension RunState {
    /// The record at a slot (a main step's, or an item step's).
    public subscript(slot: StepSlot) -> StepRecord {
        get {
            guard let item = slot.item, let sub = slot.sub else { return steps[slot.top] }
            return steps[slot.top].items![item].steps[sub]
        }
        set {
            guard let item = slot.item, let sub = slot.sub else { steps[slot.top] = newValue; return }
            steps[slot.top].items![item].steps[sub] = newValue
        }
    }
}

/// A JSON-shaped value that keeps the order of object keys.
///
/// It is the one data type the engine passes around: parsed YAML documents, `with:` blocks after
/// expression evaluation, step outputs, Kubernetes objects, rollback records in `state.json`.
public enum Value: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([Value])
    case object(Object)
}

/// An ordered string-keyed map. Lookups are linear: the objects handled here are small.
public struct Object: Sendable, Equatable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Member: Sendable, Equatable, Hashable {
        public var key: String
        public var value: Value
        public init(key: String, value: Value) { self.key = key; self.value = value }
    }

    public private(set) var members: [Member]

    public init() { members = [] }
    public init(_ members: [Member]) { self.members = members }
    public init(dictionaryLiteral elements: (String, Value)...) {
        members = []
        for (k, v) in elements { self[k] = v }
    }

    public var keys: [String] { members.map(\.key) }
    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    public subscript(key: String) -> Value? {
        get { members.first(where: { $0.key == key })?.value }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, Value)...) {
        var o = Object()
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
}

extension Value {
    public subscript(key: String) -> Value? {
        get { if case .object(let o) = self { return o[key] } else { return nil } }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    public subscript(index: Int) -> Value? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    /// Follows a dotted path of object keys (`metadata.name`); numeric segments index arrays.
    public func lookup(_ path: String) -> Value? {
        var cur: Value? = self
        for seg in path.split(separator: ".", omittingEmptySubsequences: true) {
            guard let c = cur else { return nil }
            if case .array = c, let i = Int(seg) { cur = c[i] } else { cur = c[String(seg)] }
        }
        return cur
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded(): return Int(d)
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    public var arrayValue: [Value]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: Object? { if case .object(let o) = self { return o } else { return nil } }
    public var isNull: Bool { self == .null }

    /// The text a value interpolates as inside a string: scalars plainly, containers as JSON.
    public var interpolated: String {
        switch self {
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): return s
        case .array, .object: return jsonString()
        }
    }

    /// Truthiness for `when:` and `!`: false, null, "", "false", 0 are false.
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !(s.isEmpty || s == "false")
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        }
    }
}

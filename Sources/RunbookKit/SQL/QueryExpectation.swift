/// `expect:` of `sql.query`: row counts and exact contents, checked after the query.
public struct QueryExpectation: Sendable, Equatable {
    public var rows: Int?
    public var minRows: Int?
    public var maxRows: Int?
    /// A list compares against `rows` (a list of objects, or of lists of column values);
    /// anything else compares against `scalar`.
    public var equals: Value?

    public static let keys = ["rows", "min_rows", "max_rows", "equals"]

    public init(rows: Int? = nil, minRows: Int? = nil, maxRows: Int? = nil, equals: Value? = nil) {
        self.rows = rows
        self.minRows = minRows
        self.maxRows = maxRows
        self.equals = equals
    }

    /// Reads `expect:` after evaluation; throws a sentence naming the bad key.
    public init(_ value: Value) throws {
        guard case .object(let o) = value else { throw SQLError.invalidExpectation("with.expect must be a mapping") }
        for key in o.keys where !Self.keys.contains(key) {
            throw SQLError.invalidExpectation("with.expect.\(key) is not known (use \(Self.keys.joined(separator: ", ")))")
        }
        func count(_ key: String) throws -> Int? {
            guard let v = o[key], !v.isNull else { return nil }
            if let i = v.intValue, i >= 0 { return i }
            if let s = v.stringValue, let i = Int(s), i >= 0 { return i }
            throw SQLError.invalidExpectation("with.expect.\(key) must be a whole number of rows")
        }
        self.init(rows: try count("rows"), minRows: try count("min_rows"), maxRows: try count("max_rows"),
                  equals: o["equals"])
    }

    /// Every unmet condition as "expected … / actual …" lines; empty when all hold.
    public func failures(for result: QueryResult) -> [String] {
        var out: [String] = []
        let n = result.rows.count
        if let rows, n != rows { out.append("  rows:     expected \(rows), actual \(n)") }
        if let minRows, n < minRows { out.append("  min_rows: expected at least \(minRows), actual \(n)") }
        if let maxRows, n > maxRows { out.append("  max_rows: expected at most \(maxRows), actual \(n)") }
        if let equals {
            let actual: Value
            if case .array(let want) = equals {
                // Lists of lists compare positionally; lists of objects by column name.
                let positional = want.allSatisfy { if case .array = $0 { return true } else { return false } }
                actual = positional && !want.isEmpty ? .array(result.rows.map(Value.array)) : .array(result.objects)
            } else {
                actual = result.scalar
            }
            if !Self.same(equals, actual) {
                out.append("  equals:")
                out.append("    expected: \(equals.jsonString())")
                out.append("    actual:   \(actual.jsonString())")
            }
        }
        return out
    }

    /// Equality as a person reading YAML expects: numbers by value (1 == 1.0), objects regardless
    /// of key order, and a number in the result equal to the same number written as a string.
    static func same(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { m in y[m.key].map { same(m.value, $0) } ?? false }
        case (.string(let s), _) where b.doubleValue != nil:
            return Double(s) == b.doubleValue
        case (_, .string(let s)) where a.doubleValue != nil:
            return Double(s) == a.doubleValue
        default:
            if let x = a.doubleValue, let y = b.doubleValue { return x == y }
            return a == b
        }
    }
}

/// Converts PostgreSQL text-format results to `Value` by the column's type OID.
public enum PostgresType {
    // Built-in type OIDs (pg_type.dat); stable across server versions.
    static let bool: UInt32 = 16
    static let int8: UInt32 = 20, int2: UInt32 = 21, int4: UInt32 = 23, oidType: UInt32 = 26
    static let float4: UInt32 = 700, float8: UInt32 = 701, numeric: UInt32 = 1700
    static let json: UInt32 = 114, jsonb: UInt32 = 3802

    /// The typed value of one field; `nil` text is SQL NULL. Unknown types stay text; values a
    /// type cannot represent (numeric `NaN`, int8 beyond Int) stay text rather than failing.
    public static func value(text: String?, oid: UInt32) -> Value {
        guard let text else { return .null }
        switch oid {
        case bool: return text == "t" ? .bool(true) : text == "f" ? .bool(false) : .string(text)
        case int2, int4, int8, oidType: return Int(text).map(Value.int) ?? .string(text)
        case float4, float8, numeric:
            guard let d = Double(text), d.isFinite else { return .string(text) }
            return .double(d)
        case json, jsonb: return (try? Value.parseJSON(text)) ?? .string(text)
        default: return .string(text)
        }
    }

    /// The text a typed parameter is sent as (`$1…`): strings as they are, numbers and bools in
    /// PostgreSQL's input syntax, lists and maps as JSON, null as SQL NULL.
    public static func parameter(_ value: Value) -> String? {
        switch value {
        case .null: return nil
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int, .double: return value.interpolated
        case .array, .object: return value.jsonString()
        }
    }
}

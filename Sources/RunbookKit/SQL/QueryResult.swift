/// The rows a statement returned, typed by column.
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[Value]]
    /// The command tag's row count (`UPDATE 3` → 3), for statements that return no rows.
    public var affected: Int?

    public init(columns: [String], rows: [[Value]], affected: Int? = nil) {
        self.columns = columns
        self.rows = rows
        self.affected = affected
    }

    /// Rows as objects keyed by column name (the `rows` output).
    public var objects: [Value] {
        rows.map { row in
            var o = Object()
            for (name, v) in zip(columns, row) { o[name] = v }
            return .object(o)
        }
    }

    /// The first column of the first row, or null (the `scalar` output).
    public var scalar: Value { rows.first?.first ?? .null }
}

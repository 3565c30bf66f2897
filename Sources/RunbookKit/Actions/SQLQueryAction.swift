import Foundation

/// `sql.query`: one statement through libpq, read-only by default, with typed outputs and
/// expectations. A read-only query also runs in a dry-run (its preview executes it).
public struct SQLQueryAction: Action {
    public static let spec = ActionSpec(
        name: "sql.query", required: ["dsn", "query"],
        optional: ["params", "readonly", "expect", "connect_timeout"],
        mutating: true, dryRun: .preview)

    static let defaultConnectTimeout = 10

    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        func report(_ node: YAMLNode, _ message: String) {
            diagnostics.append(Diagnostic(file: file, mark: node.mark, message: message))
        }
        if let node = with["readonly"], let text = StaticCheck.literal(node), !["true", "false"].contains(text) {
            report(node, "sql.query: readonly must be true or false, not '\(text)'")
        }
        if let node = with["connect_timeout"], let text = StaticCheck.literal(node),
           DurationText.parse(text).map({ $0 <= 0 }) ?? true
        {
            report(node, "sql.query: connect_timeout must be a positive duration like 10s, not '\(text)'")
        }
        if let node = with["params"], case .mapping = node {
            report(node, "sql.query: params must be a list (values for $1, $2, …)")
        }
        if let node = with["expect"] {
            if case .mapping = node {
                for (key, keyNode, value) in StaticCheck.pairs(node) {
                    if !QueryExpectation.keys.contains(key) {
                        report(keyNode, "sql.query: unknown expectation '\(key)' (use \(QueryExpectation.keys.joined(separator: ", ")))")
                    } else if key != "equals", let text = StaticCheck.literal(value), Int(text).map({ $0 < 0 }) ?? true {
                        report(value, "sql.query: expect.\(key) must be a whole number of rows, not '\(text)'")
                    }
                }
            } else if StaticCheck.literal(node) != nil {
                report(node, "sql.query: expect must be a mapping with rows, min_rows, max_rows or equals")
            }
        }
        if let node = with["dsn"], let text = StaticCheck.literal(node), (try? PostgresDSN(text)) == nil {
            report(node, "sql.query: dsn is neither a postgresql:// URL nor a keyword connection string (host=… dbname=…)")
        }
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        guard try context.bool("readonly", default: true) else {
            let query = try context.string("query")
            return Preview(summary: "would run a read-write query (not run in a dry-run)", diff: query)
        }
        let (result, summary) = try await run(context)
        return Preview(summary: summary, outputs: outputs(result))
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let (result, summary) = try await run(context)
        return ActionResult(outputs: outputs(result), summary: summary)
    }

    private func outputs(_ r: QueryResult) -> [String: Value] {
        ["rows": .array(r.objects), "scalar": r.scalar]
    }

    private func run(_ context: ActionContext) async throws -> (QueryResult, String) {
        let dsnText = try context.string("dsn")
        let dsn = try PostgresDSN(dsnText)
        dsn.secretForms.forEach { context.masker.add($0) }
        if let pw = context.environment["PGPASSWORD"] { context.masker.add(pw) }
        let query = try context.string("query")
        let readonly = try context.bool("readonly", default: true)
        let timeout = try context.duration("connect_timeout").map { Int($0.rounded(.up)) }
            ?? dsn.options["connect_timeout"].flatMap { Int($0) } ?? Self.defaultConnectTimeout
        let expectation = try context.with["expect"].flatMap { $0.isNull ? nil : try QueryExpectation($0) }
        let params: [String?]
        switch context.with["params"] {
        case nil, .null?: params = []
        case .array(let items)?: params = items.map(PostgresType.parameter)
        default: throw ActionError.invalidInput("\(context.stepID): with.params must be a list")
        }
        let connection = try context.postgres.connection(dsn, connectTimeout: timeout)
        let result = try connection.run(query, params: params, readonly: readonly)
        if let expectation {
            let failures = expectation.failures(for: result)
            if !failures.isEmpty { throw SQLError.expectationFailed(failures) }
        }
        let summary = result.columns.isEmpty
            ? "\(result.affected.map { "\($0) rows affected" } ?? "done")\(readonly ? " (read-only)" : "")"
            : "\(result.rows.count) row\(result.rows.count == 1 ? "" : "s")\(readonly ? " (read-only)" : "")"
        return (result, summary)
    }
}

import Foundation

/// The run's PostgreSQL connections: one per DSN and connect timeout, opened on first use and
/// reused by every later `sql.query` step.
public final class PostgresConnections: Sendable {
    private struct Key: Hashable, Sendable {
        let dsn: String
        let connectTimeout: Int
    }

    private let cache = ClientCache<Key, PostgresConnection>()

    public init() {}

    /// The connection for `dsn`, opened the first time (`SQLError.connectFailed` when it cannot be).
    public func connection(_ dsn: PostgresDSN, connectTimeout: Int) throws -> PostgresConnection {
        try cache.client(for: Key(dsn: dsn.text, connectTimeout: connectTimeout)) {
            try PostgresConnection(dsn: dsn, connectTimeout: connectTimeout)
        }
    }
}

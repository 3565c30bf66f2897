import Foundation

extension Services {
    /// The run's connection for `dsn`, opened on first use (one per DSN and timeout).
    public func postgres(_ dsn: PostgresDSN, connectTimeout: Int) throws -> PostgresConnection {
        try shared("postgres:\(connectTimeout):\(dsn.text)") {
            try PostgresConnection(dsn: dsn, connectTimeout: connectTimeout)
        }
    }
}

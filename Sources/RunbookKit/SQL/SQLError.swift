import Foundation

/// Failures of `sql.query`, with messages that never contain the connection password.
public enum SQLError: Error, LocalizedError, Sendable, RetryableError {
    /// The DSN could not be parsed by libpq.
    case invalidDSN(String)
    /// The server could not be reached or refused the login.
    case connectFailed(server: String, reason: String)
    /// The server rejected the statement; `sqlState` is the five-character SQLSTATE code.
    case queryFailed(reason: String, sqlState: String?)
    /// An `expect:` condition did not hold.
    case expectationFailed([String])
    /// `with.expect` is not a usable expectation.
    case invalidExpectation(String)

    public var errorDescription: String? {
        switch self {
        case .invalidDSN(let reason):
            return "the dsn is not a valid PostgreSQL connection string or URL: \(reason)"
        case .connectFailed(let server, let reason):
            return "could not connect to PostgreSQL at \(server): \(reason)"
        case .queryFailed(let reason, let state):
            let code = state.map { " (SQLSTATE \($0))" } ?? ""
            return "the query failed: \(reason)\(code)"
        case .expectationFailed(let lines):
            return "the query result did not meet its expectation:\n" + lines.joined(separator: "\n")
        case .invalidExpectation(let reason):
            return reason
        }
    }

    /// Errors worth retrying: the connection dropped, a serialization failure or a deadlock.
    public var isTransient: Bool {
        switch self {
        case .connectFailed: return true
        case .queryFailed(_, let state):
            guard let state else { return false }
            return state == "40001" || state == "40P01" || state.hasPrefix("08") || state == "57P03"
        default: return false
        }
    }
}

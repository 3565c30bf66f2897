import Foundation

/// Failures below HTTP: the request never produced a response.
public enum HTTPError: Error, LocalizedError, Sendable, RetryableError {
    /// libcurl failed (`code` is the CURLcode). `transient` marks faults worth retrying:
    /// connection refused or reset, timeouts, an empty reply.
    case transport(code: Int, message: String, transient: Bool)
    /// The URL could not be used.
    case invalidURL(String)

    public var errorDescription: String? {
        switch self {
        case .transport(let code, let message, _): return "\(message) (curl error \(code))"
        case .invalidURL(let u): return "invalid URL: \(u)"
        }
    }

    public var isTransient: Bool {
        if case .transport(_, _, let t) = self { return t }
        return false
    }
}

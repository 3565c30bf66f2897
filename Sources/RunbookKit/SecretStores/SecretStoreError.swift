import Foundation

/// Failures talking to a secret store, with the provider's own reason.
public enum SecretStoreError: Error, LocalizedError, Sendable, RetryableError {
    case permissionDenied(store: String, reason: String)
    case notFound(what: String, reason: String)
    /// 429 / throttling exceptions, still failing after the retries.
    case throttled(store: String, reason: String)
    /// 5xx or a dropped connection, still failing after the retries.
    case unavailable(store: String, reason: String)
    /// Any other refusal (bad request, precondition failed…).
    case rejected(store: String, status: Int, reason: String)
    /// The store could not be reached for a reason a retry will not cure (TLS, bad URL).
    case connection(store: String, reason: String)
    /// No credentials could be found, or a credential source failed.
    case credentials(String)
    /// The store answered with something this tool does not understand.
    case badResponse(store: String, reason: String)
    /// The `store:` block or the name is not usable.
    case invalidInput(String)

    public var errorDescription: String? {
        switch self {
        case .permissionDenied(let store, let reason):
            return "\(store): permission denied: \(reason) (check the credentials and their roles/policies)"
        case .notFound(let what, let reason):
            return "\(what) was not found: \(reason)"
        case .throttled(let store, let reason):
            return "\(store): throttled, still failing after retries: \(reason)"
        case .unavailable(let store, let reason):
            return "\(store): service unavailable, still failing after retries: \(reason)"
        case .rejected(let store, let status, let reason):
            return "\(store) refused the request (HTTP \(status)): \(reason)"
        case .connection(let store, let reason):
            return "could not reach \(store): \(reason)"
        case .credentials(let reason):
            return reason
        case .badResponse(let store, let reason):
            return "\(store) sent an unexpected response: \(reason)"
        case .invalidInput(let reason):
            return reason
        }
    }

    /// Throttling and outages (still failing after the client's own retries) may be retried by
    /// the step's `retry:`.
    public var isTransient: Bool {
        switch self {
        case .throttled, .unavailable: return true
        default: return false
        }
    }
}

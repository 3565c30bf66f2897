import Foundation

/// The run's default for every request to the API server and the secret stores: how long one
/// attempt may take, and how many times a transient failure (5xx, 429, a reset, a timeout) is
/// retried. `--request-timeout` / `RUNBOOK_REQUEST_TIMEOUT` (a duration, default 30s) and
/// `--retries` / `RUNBOOK_RETRIES` (default 5). A step's own `timeout:` still bounds the step.
public struct RequestPolicy: Sendable, Equatable {
    public var timeout: TimeInterval
    public var retries: Int

    public init(timeout: TimeInterval = 30, retries: Int = 5) {
        self.timeout = timeout
        self.retries = retries
    }

    /// Flags win over the environment, which wins over the defaults.
    public static func resolve(timeoutFlag: String?, retriesFlag: Int?, environment: [String: String]) throws -> RequestPolicy {
        var p = RequestPolicy()
        if let text = timeoutFlag ?? environment["RUNBOOK_REQUEST_TIMEOUT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let source = timeoutFlag == nil ? "RUNBOOK_REQUEST_TIMEOUT" : "--request-timeout"
            guard let d = DurationText.parse(text), d.isFinite else {
                throw RunbookError.usage("\(source) '\(text)' is not a duration (e.g. 10s, 2m)")
            }
            guard d > 0 else { throw RunbookError.usage("\(source) must be longer than 0s, not '\(text)'") }
            p.timeout = d
        }
        let envRetries = environment["RUNBOOK_RETRIES"].flatMap { $0.isEmpty ? nil : $0 }
        if retriesFlag == nil, let text = envRetries, Int(text) == nil {
            throw RunbookError.usage("RUNBOOK_RETRIES '\(text)' is not a whole number")
        }
        if let n = retriesFlag ?? envRetries.flatMap({ Int($0) }) {
            let source = retriesFlag == nil ? "RUNBOOK_RETRIES" : "--retries"
            guard n >= 0 else { throw RunbookError.usage("\(source) must be 0 or more, not \(n)") }
            p.retries = n
        }
        return p
    }

    /// The backoff for `retries` (0.25 s doubling to 5 s between attempts).
    public var backoff: RetryBackoff { RetryBackoff(attempts: retries + 1, initial: 0.25, maximum: 5) }
}

/// Where the HTTP layer says what it waits for and retries (set by the engine to the run's
/// reporter, so the person at the terminal sees why a step takes long).
public enum RetryNotice {
    private final class Box: @unchecked Sendable {
        let lock = NSLock()
        var sink: (@Sendable (String) -> Void)?
    }

    private static let box = Box()

    public static func setSink(_ sink: (@Sendable (String) -> Void)?) {
        box.lock.lock()
        box.sink = sink
        box.lock.unlock()
    }

    static func post(_ line: String) {
        box.lock.lock()
        let sink = box.sink
        box.lock.unlock()
        sink?(line)
    }

    /// "GET /api/v1/…: HTTP 503; retrying in 0.4s (attempt 2 of 6)".
    static func retrying(_ request: HTTPRequest, reason: String, delay: TimeInterval, next: Int, of total: Int) {
        let path = URLComponents(string: request.url).map { $0.path } ?? request.url
        post("\(request.method) \(HTTPClient.redact(path)): \(reason); retrying in \(String(format: "%.1f", delay))s "
            + "(attempt \(next) of \(total))")
    }
}

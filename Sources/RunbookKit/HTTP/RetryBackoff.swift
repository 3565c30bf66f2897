import Foundation

/// How `HTTPClient.send(_:retry:)` retries: exponential backoff with full jitter, bounded.
public struct RetryBackoff: Sendable {
    /// Total attempts including the first (1 = no retry).
    public var attempts: Int
    /// Delay before the first retry; doubled each time.
    public var initial: TimeInterval
    /// Upper bound of one delay (a `Retry-After` longer than this is cut to it).
    public var maximum: TimeInterval

    public init(attempts: Int = 5, initial: TimeInterval = 0.2, maximum: TimeInterval = 5) {
        self.attempts = max(1, attempts)
        self.initial = initial
        self.maximum = maximum
    }

    public static let standard = RetryBackoff()
    public static let none = RetryBackoff(attempts: 1)

    /// The pause before retry number `retry` (1-based), honouring a server's `Retry-After`.
    public func delay(retry: Int, retryAfter: TimeInterval?) -> TimeInterval {
        if let ra = retryAfter { return min(ra, maximum) }
        let cap = min(maximum, initial * pow(2, Double(retry - 1)))
        // Half fixed, half random: spreads clients without ever retrying at once.
        return cap / 2 + Double.random(in: 0...(cap / 2))
    }
}

import Foundation

/// Sleep-based polling with a growing, bounded interval — never a hot loop.
struct Poller {
    var interval: TimeInterval = 0.25
    var maximum: TimeInterval = 3
    let deadline: Date

    init(timeout: TimeInterval, stepDeadline: Date?) {
        let d = Date().addingTimeInterval(timeout)
        deadline = stepDeadline.map { min($0, d) } ?? d
    }

    var expired: Bool { Date() >= deadline }

    /// Sleeps before the next check; false once the deadline has passed.
    mutating func next() async throws -> Bool {
        let left = deadline.timeIntervalSinceNow
        if left <= 0 { return false }
        try await Task.sleep(nanoseconds: UInt64(min(interval, left) * 1e9))
        interval = min(maximum, interval * 1.6)
        return true
    }
}

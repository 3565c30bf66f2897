import Foundation

/// Runs an operation with a deadline, cancelling it when the deadline passes.
public enum Timeout {
    public struct Expired: Error, Sendable {}

    /// `operation`'s result, or `Expired` after `seconds` (nil: no limit). The operation must
    /// honour cancellation, or this waits for it.
    public static func run<T: Sendable>(_ seconds: TimeInterval?, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let seconds, seconds > 0 else { return try await operation() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            guard let value = first else { throw Expired() }
            return value
        }
    }
}

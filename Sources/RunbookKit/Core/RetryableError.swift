/// An error that may be retried under a step's `retry:` policy. Every area's error type conforms
/// (`KubeError`, `SecretStoreError`, `SQLError`, `HTTPError`, `ActionError`), so actions let
/// client errors pass through unchanged and the engine decides on retry from `isTransient`.
public protocol RetryableError: Error {
    /// True for faults worth retrying: throttling, server errors, dropped connections, timeouts.
    var isTransient: Bool { get }
}

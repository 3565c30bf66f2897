import Foundation

/// How the run may ask a person: `--yes` answers everything; otherwise only a TTY can answer.
public struct Interaction: Sendable {
    public let yes: Bool
    public let tty: Bool

    public init(yes: Bool, tty: Bool) {
        self.yes = yes
        self.tty = tty
    }
}

/// Thrown by `approve` when nobody can answer (no TTY, no `--yes`): the engine pauses the run.
public struct ApprovalRequired: Error, LocalizedError, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var errorDescription: String? { "waiting for approval: \(message)" }
}

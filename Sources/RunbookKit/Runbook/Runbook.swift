import Foundation

/// A loaded, validated runbook (SPEC §2).
public struct Runbook: Sendable {
    public let file: URL
    public let name: String
    public let description: String?
    public let vars: [VarDecl]
    public let onFailure: FailurePolicy
    public let steps: [Step]
    /// sha256 (hex) of the file's bytes; `resume` refuses a runbook whose checksum changed.
    public let sha256: String

    public init(file: URL, name: String, description: String?, vars: [VarDecl], onFailure: FailurePolicy,
                steps: [Step], sha256: String)
    {
        self.file = file
        self.name = name
        self.description = description
        self.vars = vars
        self.onFailure = onFailure
        self.steps = steps
        self.sha256 = sha256
    }

    public var directory: URL { file.deletingLastPathComponent() }
}

public struct VarDecl: Sendable {
    public enum Kind: String, Sendable { case string, bool, int }
    public let name: String
    public let kind: Kind
    public let defaultValue: Value?
    public let required: Bool
    public let secret: Bool
    public let description: String?
    public let mark: Mark

    public init(name: String, kind: Kind, defaultValue: Value?, required: Bool, secret: Bool, description: String?, mark: Mark) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.required = required
        self.secret = secret
        self.description = description
        self.mark = mark
    }
}

public enum FailurePolicy: String, Sendable { case rollback, pause, `continue` }

public struct RetryPolicy: Sendable {
    public let attempts: Int
    public let backoff: TimeInterval
    public init(attempts: Int, backoff: TimeInterval) { self.attempts = attempts; self.backoff = backoff }
}

public struct Step: Sendable {
    public enum Rollback: Sendable {
        case auto
        case none
        /// Steps run instead of the automatic rollback (their ids are `<step>.rollback.<n>` when absent).
        case steps([Step])
    }

    public let id: String
    public let name: String?
    public let action: String
    /// The raw `with:` mapping; expressions are evaluated just before the step runs.
    public let with: YAMLNode?
    public let when: YAMLNode?
    public let timeout: TimeInterval?
    public let retry: RetryPolicy?
    public let onFailure: FailurePolicy?
    public let rollback: Rollback
    public let mark: Mark
    /// Set for a `foreach` group (whose `action` is `foreach`).
    public let group: ForeachGroup?

    public init(id: String, name: String?, action: String, with: YAMLNode?, when: YAMLNode?, timeout: TimeInterval?,
                retry: RetryPolicy?, onFailure: FailurePolicy?, rollback: Rollback, mark: Mark, group: ForeachGroup? = nil)
    {
        self.group = group
        self.id = id
        self.name = name
        self.action = action
        self.with = with
        self.when = when
        self.timeout = timeout
        self.retry = retry
        self.onFailure = onFailure
        self.rollback = rollback
        self.mark = mark
    }
}

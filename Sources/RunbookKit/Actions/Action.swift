import Foundation

/// What an action declares about itself; the validator and the engine read it.
public struct ActionSpec: Sendable {
    /// How the action behaves under `--dry-run`.
    public enum DryRun: Sendable {
        /// Reads only: it runs for real in a dry-run (`k8s.get`, `sql.query` when readonly, `assert`).
        case execute
        /// Changes something: only `preview` runs.
        case preview
    }

    public let name: String
    public let required: [String]
    public let optional: [String]
    /// Output keys whose values are secrets: masked everywhere, never checkpointed, recomputed on resume.
    public let secretOutputs: Set<String>
    /// True when `execute` changes something outside the process (drives write-ahead checkpoints).
    public let mutating: Bool
    public let dryRun: DryRun

    public init(name: String, required: [String], optional: [String] = [], secretOutputs: Set<String> = [],
                mutating: Bool, dryRun: DryRun)
    {
        self.name = name
        self.required = required
        self.optional = optional
        self.secretOutputs = secretOutputs
        self.mutating = mutating
        self.dryRun = dryRun
    }
}

/// One kind of step (`k8s.apply`, `secret.put`, `exec`…). Implementations are stateless values;
/// everything a call needs comes through the `ActionContext`.
///
/// The four behaviours of SPEC §3:
/// - `preview` for a dry-run: describes what `execute` would do, changes nothing.
/// - `execute` does the work and returns outputs plus a rollback record.
/// - `rollback` undoes a completed `execute` using that record.
/// - resume: the engine calls `execute` again for a step that was running when the process died.
///   `context.journal` then holds what the interrupted attempt recorded through
///   `context.recordJournal(_:)`, so the action keeps the *original* prior state.
public protocol Action: Sendable {
    static var spec: ActionSpec { get }

    /// Static checks beyond required/unknown keys (e.g. a GCP secret id rule). Only keys whose
    /// values contain no expression can be checked here. Default: none.
    static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic])

    init()

    func preview(_ context: ActionContext) async throws -> Preview
    func execute(_ context: ActionContext) async throws -> ActionResult
    /// Undo a completed execute. `record` is what `execute` returned as `ActionResult.rollback`
    /// (or the last journal entry when execute never returned). Throws `ActionError.drift` when
    /// the target changed since and `context.force` is false.
    func rollback(_ context: ActionContext, record: Value) async throws

    /// The Kubernetes permissions that `execute`, `preview` and `rollback` need (for `runbook rbac`
    /// and the preflight of `run`/`plan`). `context.with` is evaluated as in a dry-run: a value known
    /// only at run time reads as nil through `context.known(_:)`, and means "any name" (or "every
    /// namespace"). Default: none (the action does not talk to Kubernetes).
    static func permissions(_ context: ActionContext) async throws -> [Permission]

    /// The outputs (or the parts of them) known before the run, from `with` evaluated as for
    /// `permissions`: they let a later step's permissions follow what this step will output (the
    /// kind and name of the SealedSecret a `secret.seal` makes). Default: none.
    static func plannedOutputs(_ context: ActionContext) -> [String: Value]
}

extension Action {
    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {}
    public func rollback(_ context: ActionContext, record: Value) async throws {}
    public static func permissions(_ context: ActionContext) async throws -> [Permission] { [] }
    public static func plannedOutputs(_ context: ActionContext) -> [String: Value] { [:] }
}

/// The result of one execute.
public struct ActionResult: Sendable {
    /// Step outputs (`steps.ID.outputs.KEY`). Keys listed in `ActionSpec.secretOutputs` are masked.
    public var outputs: [String: Value]
    /// What `rollback` needs; stored in `state.json`, so it must never hold secret data. `nil`
    /// means nothing to undo.
    public var rollback: Value?
    /// One human line for the step's end ("created Secret seedtest/x", "unchanged").
    public var summary: String?

    public init(outputs: [String: Value] = [:], rollback: Value? = nil, summary: String? = nil) {
        self.outputs = outputs
        self.rollback = rollback
        self.summary = summary
    }
}

/// What a dry-run shows for one step.
public struct Preview: Sendable {
    /// One line: "create Secret seedtest/x", "add version to gcp secret y", "unchanged".
    public var summary: String
    /// A readable diff (live versus result), already free of secret values.
    public var diff: String?
    /// Outputs the step would produce, when they can be known (read actions return real ones).
    public var outputs: [String: Value]

    public init(summary: String, diff: String? = nil, outputs: [String: Value] = [:]) {
        self.summary = summary
        self.diff = diff
        self.outputs = outputs
    }
}

/// Errors an action throws. The engine retries only `.transient`, and only as the step's
/// `retry:` allows.
public enum ActionError: Error, LocalizedError, Sendable, RetryableError {
    /// A fault worth retrying (5xx, 429, timeouts, resets, conflicts).
    case transient(String)
    /// A permanent failure with the reason for people.
    case failed(String)
    /// Rollback refused: the object changed after the step (`--force` overrides).
    case drift(String)
    /// Bad `with:` content found only at run time (after expressions were evaluated).
    case invalidInput(String)

    public var errorDescription: String? {
        switch self {
        case .transient(let m), .failed(let m), .invalidInput(let m): return m
        case .drift(let m): return "\(m) (refusing to roll back over a change made by someone else; use --force to override)"
        }
    }

    public var isTransient: Bool { if case .transient = self { return true } else { return false } }

    /// True for a rollback refused over someone else's change (the one `--force` overrides).
    public var isDrift: Bool { if case .drift = self { return true } else { return false } }
}

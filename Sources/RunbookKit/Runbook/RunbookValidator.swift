import Foundation

/// Static checks of a parsed runbook (SPEC §2). It collects every problem of the file, in file
/// order, and builds the `Runbook` model only when there is none.
public struct RunbookValidator: Sendable {
    static let topKeys = ["apiVersion", "kind", "metadata", "vars", "on_failure", "steps"]
    static let metadataKeys = ["name", "description"]
    static let varKeys = ["default", "description", "type", "required", "secret"]
    static let stepKeys = ["id", "name", "action", "with", "when", "timeout", "retry", "on_failure", "rollback"]
    /// A step inside a `foreach` body: what a failed item does is the group's `max_failures`.
    static let bodyStepKeys = ["id", "name", "action", "with", "when", "timeout", "retry", "rollback"]
    static let foreachKeys = ["id", "name", "foreach", "as", "concurrency", "canary", "max_failures", "when", "steps"]
    static let rollbackStepKeys = ["id", "name", "action", "with", "when", "timeout", "retry"]
    static let retryKeys = ["attempts", "backoff"]

    private let actions: ActionCatalog

    /// Validates against the actions of `ActionRegistry`.
    public init() { actions = ActionRegistry.catalog }

    /// Validates against the given actions only (the engine passes its own; tests theirs).
    public init(actions: ActionCatalog) { self.actions = actions }

    /// Validates against the given action types only (for tests and tools).
    public init(actions: [any Action.Type]) { self.actions = ActionCatalog(actions) }

    /// Checks the documents of one file. `file` is the runbook's URL (its base name must equal
    /// `metadata.name`); diagnostics name it as `displayPath`.
    /// Throws `RunbookError.invalid` with every diagnostic, sorted by position.
    public func validate(_ documents: [YAMLNode], file: URL, displayPath: String, sha256: String) throws -> Runbook {
        var pass = ValidationPass(path: displayPath, lookup: actions.action(named:), known: actions.names)
        let baseName = file.deletingPathExtension().lastPathComponent
        let runbook = pass.run(documents, file: file, baseName: baseName, sha256: sha256)
        let sorted = pass.diagnostics.enumerated().sorted {
            ($0.element.mark.line, $0.element.mark.column, $0.offset) < ($1.element.mark.line, $1.element.mark.column, $1.offset)
        }.map(\.element)
        if let runbook, sorted.isEmpty { return runbook }
        throw RunbookError.invalid(sorted)
    }
}

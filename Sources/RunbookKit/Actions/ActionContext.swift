import Foundation

/// Everything an action call gets from the engine.
public struct ActionContext: Sendable {
    /// The step's `with:` after expression evaluation.
    public let with: Value
    public let stepID: String
    public let runID: String
    /// Directory of the runbook file: relative paths in `with` resolve against it.
    public let runbookDirectory: URL
    /// `--force` on `runbook rollback`.
    public let force: Bool
    public let dryRun: Bool
    /// The run's Kubernetes client (resolved on first use).
    public let kubernetes: KubeClients
    /// The run's secret stores, by `store:` reference.
    public let secretStores: SecretStores
    /// The run's PostgreSQL connections, by DSN.
    public let postgres: PostgresConnections
    /// Who may answer an approval: `--yes`, a TTY, or nobody (the run pauses).
    public let interaction: Interaction
    /// The process environment clients read credentials from.
    public let environment: [String: String]
    /// Every secret that must never be printed or stored; add to it when you read one.
    public let masker: Masker
    /// What an earlier, interrupted attempt of this step recorded (see `recordJournal`).
    public let journal: Value?
    /// Step deadline (from `timeout:`), if any; long waits must stop by then.
    public let deadline: Date?
    /// What expressions inside files the step reads (e.g. a `k8s.apply` manifest) can see. The
    /// runner sets it to the step's scope; empty by default.
    public var scope = Scope()
    /// For `permissions`: whether a secret of the run (a secret var, a secret output, a value an
    /// action registers with the masker) may exist, so that an object a step changes may hold one
    /// and its prior state then goes into a holder Secret (see `PriorState`). True unless the
    /// runner knows the runbook has no source of secrets.
    public var runMayHoldSecrets = true
    /// Where the holder Secrets of prior states that hold secret data go (see `PriorState`): the
    /// runs namespace (the Lease's and the run records') when the run takes the cluster lock, so
    /// that a run needs Secret rights in that one namespace only; nil with the local lock (no
    /// cluster records): beside the object, as the object's namespace is the only one the run
    /// surely may write to.
    public var priorStateNamespace: String?
    /// For `permissions`: the namespace of a step that names none (and, with the local lock, of
    /// the prior-state holders of cluster-scoped objects), when it is not the client's default — for `runbook rbac`, the
    /// ServiceAccount's, which is the default namespace of the Pod that runs as it.
    public var permissionDefaultNamespace: String?
    /// For `permissions`: told (a sentence naming the step) when the step will need permissions
    /// that cannot be known before the run (an applied object whose kind comes from a step output),
    /// so that `runbook rbac` and the preflight can say so instead of granting nothing silently.
    public var permissionGap: (@Sendable (String) -> Void)?
    let journalSink: @Sendable (Value) async throws -> Void
    let logSink: @Sendable (String) -> Void

    public init(with: Value, stepID: String, runID: String, runbookDirectory: URL, force: Bool, dryRun: Bool,
                clients: RunClients, masker: Masker, journal: Value?, deadline: Date?,
                journalSink: @escaping @Sendable (Value) async throws -> Void,
                logSink: @escaping @Sendable (String) -> Void)
    {
        self.with = with
        self.stepID = stepID
        self.runID = runID
        self.runbookDirectory = runbookDirectory
        self.force = force
        self.dryRun = dryRun
        kubernetes = clients.kubernetes
        secretStores = clients.secretStores
        postgres = clients.postgres
        interaction = clients.interaction
        environment = clients.environment
        self.masker = masker
        self.journal = journal
        self.deadline = deadline
        self.journalSink = journalSink
        self.logSink = logSink
    }

    /// Write-ahead: durably record (fsync'd into `state.json`) what this step is about to change,
    /// *before* changing it — e.g. `{"created": false, "prior": …}`. It must hold no secret data.
    /// If the process dies, resume passes it back as `journal` and rollback can use it.
    public func recordJournal(_ entry: Value) async throws { try await journalSink(entry) }

    /// A progress line for people (masked before it is shown).
    public func log(_ line: String) { logSink(line) }

    // MARK: typed access to `with`

    public func string(_ key: String) throws -> String {
        guard let v = with[key] else { throw ActionError.invalidInput("\(stepID): with.\(key) is required") }
        if case .string(let s) = v { return s }
        if case .object = v { throw ActionError.invalidInput("\(stepID): with.\(key) must be a string") }
        if case .array = v { throw ActionError.invalidInput("\(stepID): with.\(key) must be a string") }
        return v.interpolated
    }

    public func optionalString(_ key: String) throws -> String? {
        guard let v = with[key], !v.isNull else { return nil }
        return try string(key)
    }

    public func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = with[key], !v.isNull else { return d }
        if let b = v.boolValue { return b }
        if let s = v.stringValue, s == "true" || s == "false" { return s == "true" }
        throw ActionError.invalidInput("\(stepID): with.\(key) must be true or false")
    }

    public func int(_ key: String) throws -> Int? {
        guard let v = with[key], !v.isNull else { return nil }
        if let i = v.intValue { return i }
        if let s = v.stringValue, let i = Int(s) { return i }
        throw ActionError.invalidInput("\(stepID): with.\(key) must be an integer")
    }

    /// A duration such as `90s`, `2m`, `1h`, `500ms` or a number of seconds.
    public func duration(_ key: String) throws -> TimeInterval? {
        guard let v = with[key], !v.isNull else { return nil }
        if let d = v.doubleValue { return d }
        if let s = v.stringValue, let d = DurationText.parse(s) { return d }
        throw ActionError.invalidInput("\(stepID): with.\(key) must be a duration like 30s, 2m or 1h")
    }

    /// A path from `with`, resolved against the runbook's directory.
    public func path(_ key: String) throws -> URL {
        let p = try string(key)
        if p.hasPrefix("/") { return URL(fileURLWithPath: p) }
        return runbookDirectory.appendingPathComponent(p)
    }
}

import Foundation

/// What the command line decided for one engine call.
public struct EngineOptions: Sendable {
    public var store: StateStore
    /// ` --state-dir X` when the state dir was given explicitly, for the hints printed to people.
    public var stateDirHint: String
    public var dryRun = false
    public var yes = false
    public var noRollback = false
    public var force = false
    /// `--lock`: nil picks `cluster` for runbooks with a `k8s.*` step, else `local`.
    public var lockMode: LockMode?
    /// Where Leases and run records live (`--namespace-for-runs`, `RUNBOOK_NAMESPACE`).
    public var runsNamespace = LockMode.defaultNamespace
    public var terminal: Terminal
    public var environment: [String: String]
    public var clients: ClientOptions
    /// The actions steps may name; the runner looks every step's action up here.
    public var actions: ActionCatalog

    public init(store: StateStore, stateDirHint: String = "", terminal: Terminal = .standard,
                environment: [String: String] = ProcessInfo.processInfo.environment, clients: ClientOptions,
                actions: ActionCatalog = ActionRegistry.catalog)
    {
        self.actions = actions
        self.store = store
        self.stateDirHint = stateDirHint
        self.terminal = terminal
        self.environment = environment
        self.clients = clients
    }
}

/// Which lock a run takes (`--lock`): the cluster Lease (default for runbooks with a `k8s.*`
/// step) or the state directory's file lock.
public enum LockMode: String, Sendable, CaseIterable {
    case local, cluster

    /// The default namespace for Leases and run records.
    public static let defaultNamespace = "runbook-system"

    /// `--namespace-for-runs`, else `RUNBOOK_NAMESPACE`, else `runbook-system`.
    public static func runsNamespace(flag: String?, environment: [String: String]) -> String {
        if let f = flag, !f.isEmpty { return f }
        if let e = environment["RUNBOOK_NAMESPACE"], !e.isEmpty { return e }
        return defaultNamespace
    }

    /// The mode for a runbook: the flag, else `cluster` when it has a `k8s.*` step and changes
    /// something (a read-only runbook has nothing to protect, and a read-only user cannot take a Lease).
    public static func resolve(flag: LockMode?, runbook: Runbook) -> LockMode {
        if let flag { return flag }
        return runbook.usesCluster && runbook.isMutating ? .cluster : .local
    }
}

extension Runbook {
    /// True when a step (or a rollback step) talks to Kubernetes.
    public var usesCluster: Bool {
        allSteps.contains { $0.action.hasPrefix("k8s.") }
    }

    /// True when a step changes something.
    public var isMutating: Bool {
        allSteps.contains { ActionRegistry.action(named: $0.action)?.spec.mutating ?? false }
    }
}

extension Step {
    /// This step, its explicit rollback steps and (for a `foreach` group) its body, recursively.
    public var flattened: [Step] {
        var out = [self]
        if case .steps(let list) = rollback { out += list.flatMap(\.flattened) }
        if let g = group { out += g.steps.flatMap(\.flattened) }
        return out
    }
}

extension Runbook {
    /// Every step of the runbook, with rollback lists and group bodies.
    public var allSteps: [Step] { steps.flatMap(\.flattened) }
}

/// Which lock a run takes (`--lock`): the cluster Lease (default for runbooks with a `k8s.*`
/// step) or the state directory's file lock.
public enum LockMode: String, Sendable, CaseIterable {
    case local, cluster

    /// The default namespace for Leases and run records.
    public static let defaultNamespace = "runbook-system"

    /// `--namespace-for-runs`, else `RUNBOOK_NAMESPACE`, else `runbook-system`. A name that no
    /// namespace can have is a usage error (exit 2) naming where it came from, before anything
    /// is read or changed.
    public static func runsNamespace(flag: String?, environment: [String: String]) throws -> String {
        if let f = flag, !f.isEmpty { return try checked(f, from: "--namespace-for-runs") }
        if let e = environment["RUNBOOK_NAMESPACE"], !e.isEmpty { return try checked(e, from: "RUNBOOK_NAMESPACE") }
        return defaultNamespace
    }

    /// `name` when it is a namespace name (an RFC 1123 label: at most 63 lower-case letters,
    /// digits and `-`, starting and ending with a letter or digit).
    static func checked(_ name: String, from source: String) throws -> String {
        let alnum: (UInt8) -> Bool = { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        let bytes = Array(name.utf8)
        guard bytes.count <= 63, let first = bytes.first, let last = bytes.last, alnum(first), alnum(last),
              bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "-") })
        else {
            throw RunbookError.usage("\(source): '\(name)' is not a namespace name (at most 63 lower-case letters, digits "
                                     + "and '-', starting and ending with a letter or digit)")
        }
        return name
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

import Foundation

/// Failures of the team-wide run machinery: the cluster Lease lock, the run records kept in the
/// cluster, the runs namespace and the permission preflight.
public enum TeamError: Error, LocalizedError, Sendable {
    /// Another live run holds the Lease (exit 4).
    case leaseHeld(runbook: String, holder: String, renewed: String)
    /// The Lease's holder stopped renewing but its run is unfinished (exit 4).
    case holderUnfinished(runbook: String, runID: String, status: String, who: String)
    /// An unfinished run of the runbook is recorded in the cluster (exit 4).
    case unfinishedRun(runbook: String, runID: String, status: String, who: String)
    /// The runs namespace does not exist and cannot be created (exit 3).
    case namespaceUnavailable(namespace: String, reason: String)
    /// The cluster refused the Lease or the run record (exit 3).
    case forbidden(what: String, reason: String)
    /// The run record was changed or taken by another process (exit 4).
    case recordConflict(runID: String, detail: String)
    /// The run record could not be written after retries: the run pauses (exit 3).
    case recordWriteFailed(runID: String, reason: String)
    /// A record that cannot be read back.
    case recordCorrupt(name: String, reason: String)
    /// The Lease was taken by someone else or could not be renewed in time (exit 3).
    case leaseLost(runbook: String, reason: String)
    /// The preflight found permissions the credentials lack (exit 3, nothing changed).
    case missingPermissions([String], user: String)
    /// A command line that cannot work (exit 2).
    case usage(String)

    public var exitCode: Int32 {
        switch self {
        case .leaseHeld, .holderUnfinished, .unfinishedRun, .recordConflict: return 4
        case .usage: return 2
        default: return 3
        }
    }

    public var errorDescription: String? {
        switch self {
        case .leaseHeld(let rb, let holder, let renewed):
            return "another run of \(rb) holds the cluster lock: \(holder) (renewed \(renewed)); wait for it to finish"
        case .holderUnfinished(let rb, let id, let status, let who):
            return "the cluster lock of \(rb) is held by run \(id) (\(who)), which stopped renewing it but is \(status): "
                + "resume it (runbook resume \(id)), roll it back (runbook rollback \(id)) or, after cleaning up by hand, "
                + "forget it (runbook forget \(id) --reason TEXT) first"
        case .unfinishedRun(let rb, let id, let status, let who):
            return "run \(id) of \(rb) (\(who)) is \(status) and unfinished: resume it (runbook resume \(id)), "
                + "roll it back (runbook rollback \(id)) or, after cleaning up by hand, forget it (runbook forget \(id) --reason TEXT) "
                + "before starting another run"
        case .namespaceUnavailable(let ns, let reason):
            return "the namespace for runs \(ns) does not exist and cannot be created: \(reason); create it, or choose "
                + "another with --namespace-for-runs / RUNBOOK_NAMESPACE (or --lock local); nothing was changed"
        case .forbidden(let what, let reason):
            return "cannot use \(what): \(reason); grant it (see `runbook rbac`) or use --lock local; nothing was changed"
        case .recordConflict(let id, let detail):
            return "the run record of \(id) was changed by another process (\(detail)); another machine may own this run "
                + "now: check `runbook status \(id)`"
        case .recordWriteFailed(let id, let reason):
            return "cannot write the run record of \(id) to the cluster: \(reason); the run paused before its next step "
                + "(resume it when the cluster is reachable: runbook resume \(id))"
        case .recordCorrupt(let name, let reason):
            return "the run record \(name) cannot be read: \(reason)"
        case .leaseLost(let rb, let reason):
            return "lost the cluster lock of \(rb): \(reason); the run paused before its next step"
        case .missingPermissions(let missing, let user):
            return "\(user) lacks \(missing.count) permission\(missing.count == 1 ? "" : "s") this run needs "
                + "(nothing was changed; `runbook rbac` prints the Role to grant):\n"
                + missing.map { "  - \($0)" }.joined(separator: "\n")
        case .usage(let m): return m
        }
    }
}

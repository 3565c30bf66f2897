import Foundation

/// Errors of the state directory, the checkpoint files and the lock.
public enum StateError: Error, LocalizedError, Sendable {
    case io(path: String, operation: String, errno: Int32)
    case corrupt(file: String, reason: String)
    case newerVersion(file: String, version: Int, supported: Int)
    case runNotFound(runID: String, stateDir: String)
    /// Neither the state dir nor the cluster's run records (in `namespace`) hold the run;
    /// `suggestion` is a known run id close to it, if any.
    case runNotFoundAnywhere(runID: String, stateDir: String, namespace: String, suggestion: String?)
    case noRuns(stateDir: String)
    /// Another process holds the lock; `holder` describes it (run id, pid, user@host, since).
    case locked(runbook: String, holder: String)
    /// An unfinished run of the runbook (interrupted, paused, failed, rollback-failed) must be
    /// resumed, rolled back or forgotten before a new run starts; `next` lists those commands.
    case unfinished(runbook: String, runID: String, status: String, next: [String], others: Int)

    public var errorDescription: String? {
        switch self {
        case .io(let path, let op, let e):
            return "cannot \(op) \(path): \(String(cString: strerror(e))); check the state directory's permissions and free space"
        case .corrupt(let file, let reason):
            return "\(file) is not a valid runbook checkpoint (\(reason))"
        case .newerVersion(let file, let v, let s):
            return "\(file) has checkpoint version \(v); this runbook understands up to \(s): use a newer runbook"
        case .runNotFound(let id, let dir):
            return "no run \(id) in \(dir)/runs (see `runbook history --state-dir \(dir)`)"
        case .runNotFoundAnywhere(let id, let dir, let ns, let suggestion):
            return "no run \(id) in \(dir)/runs nor among the cluster's run records (namespace \(ns))"
                + (suggestion.map { "; did you mean \($0)?" } ?? "") + " (see `runbook history`)"
        case .noRuns(let dir):
            return "no runs in \(dir)/runs yet"
        case .locked(let runbook, let holder):
            return "another run of \(runbook) holds the lock: \(holder); wait for it to finish (a lock held by a dead process is released automatically)"
        case .unfinished(let runbook, let id, let status, let next, let others):
            let more = others > 0 ? " (and \(others) more unfinished run\(others == 1 ? "" : "s"), see `runbook history`)" : ""
            return "run \(id) of \(runbook) is \(status) and unfinished\(more); it may have changed things halfway, "
                + "so no new run starts on top of it. Finish it first, one of:\n"
                + next.map { "  \($0)" }.joined(separator: "\n")
        }
    }
}

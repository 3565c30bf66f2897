import Foundation

/// Errors of the state directory, the checkpoint files and the lock.
public enum StateError: Error, LocalizedError, Sendable {
    case io(path: String, operation: String, errno: Int32)
    case corrupt(file: String, reason: String)
    case newerVersion(file: String, version: Int, supported: Int)
    case runNotFound(runID: String, stateDir: String)
    case noRuns(stateDir: String)
    /// Another process holds the lock; `holder` describes it (run id, pid, user@host, since).
    case locked(runbook: String, holder: String)

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
        case .noRuns(let dir):
            return "no runs in \(dir)/runs yet"
        case .locked(let runbook, let holder):
            return "another run of \(runbook) holds the lock: \(holder); wait for it to finish (a lock held by a dead process is released automatically)"
        }
    }
}

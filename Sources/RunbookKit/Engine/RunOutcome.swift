/// How a command ended, and its exit code (SPEC §1).
public enum RunOutcome: Sendable, Equatable {
    /// The run, dry-run, resume or rollback completed.
    case completed
    /// A step failed and the automatic rollback completed (exit 1).
    case rolledBack
    /// A dry-run found a failing read, assert or preview (exit 1); nothing was changed.
    case dryRunFailed
    /// Paused: needs a person (exit 3).
    case paused
    /// A rollback step failed (exit 3).
    case rollbackFailed

    public var exitCode: Int32 {
        switch self {
        case .completed: return 0
        case .rolledBack, .dryRunFailed: return 1
        case .paused, .rollbackFailed: return 3
        }
    }
}

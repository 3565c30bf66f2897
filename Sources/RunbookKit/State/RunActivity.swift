import Foundation

/// What a recorded run is now, judged from its checkpoint and its process: the one place that
/// decides whether a run is finished, still driven by a live process, or unfinished (and so
/// blocks new runs of its runbook until it is resumed, rolled back or forgotten).
public struct RunActivity: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// succeeded, rolled back or forgotten: nothing left to do.
        case finished
        /// running or rolling back, and its process (pid + host + start time) is alive.
        case live
        /// running or rolling back on another host: its process cannot be checked from here.
        case unchecked
        /// running or rolling back, but its process is gone (`kill -9`, a crash, a reboot).
        case interrupted
        /// paused, failed or rollback-failed: stopped on purpose, waiting for a person.
        case stopped
    }

    public let kind: Kind
    public let status: RunState.Status
    public let process: RunProcess?

    public init(_ state: RunState) {
        status = state.status
        process = state.process
        switch state.status {
        case .succeeded, .rolledBack, .forgotten:
            kind = .finished
        case .paused, .failed, .rollbackFailed:
            kind = .stopped
        case .running, .rollingBack:
            switch state.process?.isAlive {
            case .some(true): kind = .live
            case .none where state.process != nil: kind = .unchecked
            default: kind = .interrupted
            }
        }
    }

    /// True for a run that keeps new runs of its runbook from starting (exit 4).
    public var isUnfinished: Bool { kind != .finished }

    /// The status to show people: `interrupted` for a run whose process is gone,
    /// `running (pid N on HOST)` for a live one, else the recorded status.
    public var label: String {
        switch kind {
        case .interrupted: return "interrupted"
        case .live, .unchecked:
            return "\(status.rawValue) (\(process?.description ?? "unknown process"))"
        case .finished, .stopped: return status.rawValue
        }
    }

    /// The one-word status for programs (`status`/`history --output json`).
    public var word: String { kind == .interrupted ? "interrupted" : status.rawValue }

    /// What a person can do next, or nil when the run needs nothing (or its process is still at it).
    public func nextSteps(runID: String, hint: String = "") -> [String]? {
        let forget = "runbook forget \(runID) --reason TEXT\(hint)"
        switch kind {
        case .finished, .live, .unchecked: return nil
        case .interrupted where status == .rollingBack, .stopped where status == .rollbackFailed:
            return ["runbook rollback \(runID)\(hint)", forget]
        case .interrupted, .stopped:
            return ["runbook resume \(runID)\(hint)", "runbook rollback \(runID)\(hint)", forget]
        }
    }
}

extension RunState {
    /// See `RunActivity`.
    public var activity: RunActivity { RunActivity(self) }
}

extension StateStore {
    /// The runs of `runbook` that are not finished (see `RunActivity.isUnfinished`), newest first.
    public func unfinishedRuns(of runbook: String) throws -> [RunState] {
        try all().filter { $0.runbookName == runbook && $0.activity.isUnfinished }.reversed()
    }
}

import Foundation

/// One thing that happened in a run, as the reporters and the audit log see it.
public struct ReportEvent: Sendable {
    public enum Kind: String, Sendable {
        case runStarted = "run.started"
        case stepStarted = "step.started"
        case stepFinished = "step.finished"
        case stepLog = "step.log"
        case stepPlanned = "step.planned"
        case rollbackStarted = "rollback.started"
        case rollbackStepStarted = "rollback.step.started"
        case rollbackStepFinished = "rollback.step.finished"
        case runFinished = "run.finished"
    }

    public var kind: Kind
    public var runID: String
    public var runbook: String?
    public var step: String?
    public var name: String?
    public var action: String?
    /// A run or step status (`succeeded`, `failed`, `skipped`, `paused`, `rolled-back`…).
    public var status: String?
    public var duration: TimeInterval?
    /// A summary, a log line or a failure reason.
    public var message: String?
    /// Dry-run diff.
    public var diff: String?
    /// What a person should do next (`runbook resume …`).
    public var hint: String?
    public var dryRun: Bool = false
    public var attempt: Int?

    public init(_ kind: Kind, runID: String, step: String? = nil, name: String? = nil, action: String? = nil,
                status: String? = nil, duration: TimeInterval? = nil, message: String? = nil)
    {
        self.kind = kind
        self.runID = runID
        self.step = step
        self.name = name
        self.action = action
        self.status = status
        self.duration = duration
        self.message = message
    }

    /// Every string field passed through the masker.
    public func masked(by m: Masker) -> ReportEvent {
        var e = self
        e.message = message.map(m.mask)
        e.diff = diff.map(m.mask)
        e.hint = hint.map(m.mask)
        e.name = name.map(m.mask)
        return e
    }

    /// The JSON object of `--output json`.
    public func toValue() -> Value {
        var o: Object = ["event": .string(kind.rawValue), "run_id": .string(runID)]
        if let runbook { o["runbook"] = .string(runbook) }
        if let step { o["step"] = .string(step) }
        if let name { o["name"] = .string(name) }
        if let action { o["action"] = .string(action) }
        if let status { o["status"] = .string(status) }
        if let attempt { o["attempt"] = .int(attempt) }
        if let duration { o["duration_ms"] = .int(Int((duration * 1000).rounded())) }
        if let message { o["message"] = .string(message) }
        if let diff { o["diff"] = .string(diff) }
        if let hint { o["hint"] = .string(hint) }
        if dryRun { o["dry_run"] = .bool(true) }
        return .object(o)
    }
}

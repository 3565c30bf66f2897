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
        /// An item of a `foreach` group started or finished (with `item`, `itemKey`, `progress`).
        case itemStarted = "item.started"
        case itemFinished = "item.finished"
    }

    /// Where a `foreach` group stands: items finished, failed, in total, and finished per second.
    public struct Progress: Sendable, Equatable {
        public var done: Int
        public var failed: Int
        public var total: Int
        public var rate: Double
        public init(done: Int, failed: Int, total: Int, rate: Double) {
            self.done = done
            self.failed = failed
            self.total = total
            self.rate = rate
        }
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
    /// For events of a `foreach` group's item: the group's id, the item's index and key.
    public var group: String?
    public var item: Int?
    public var itemKey: String?
    public var progress: Progress?

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
        e.itemKey = itemKey.map(m.mask)
        return e
    }

    /// The JSON object of `--output json`.
    public func toValue() -> Value {
        var o: Object = ["event": .string(kind.rawValue)]
        // A plan has no run: its events carry no run id (the one it computes with never exists).
        if !dryRun { o["run_id"] = .string(runID) }
        if let runbook { o["runbook"] = .string(runbook) }
        if let step { o["step"] = .string(step) }
        if let name { o["name"] = .string(name) }
        if let action { o["action"] = .string(action) }
        if let status { o["status"] = .string(status) }
        if let attempt { o["attempt"] = .int(attempt) }
        if let group { o["group"] = .string(group) }
        if let item { o["item"] = .int(item) }
        if let itemKey { o["item_key"] = .string(itemKey) }
        if let p = progress {
            o["progress"] = ["done": .int(p.done), "failed": .int(p.failed), "total": .int(p.total),
                             "rate": .double((p.rate * 100).rounded() / 100)]
        }
        if let duration { o["duration_ms"] = .int(Int((duration * 1000).rounded())) }
        if let message { o["message"] = .string(message) }
        if let diff { o["diff"] = .string(diff) }
        if let hint { o["hint"] = .string(hint) }
        if dryRun { o["dry_run"] = .bool(true) }
        return .object(o)
    }
}

import Foundation

/// The checkpoint of one run: what `state.json` holds (schema version 1, see docs/DESIGN.md).
///
/// It never holds a secret: secret vars are stored as `***` (their values must be given again
/// on resume), secret outputs are left out, and every string is masked before it is written.
public struct RunState: Sendable, Equatable {
    /// The schema version written by this build. Readers refuse a newer one.
    public static let currentVersion = 1

    public enum Status: String, Sendable, CaseIterable {
        case running, succeeded, paused, failed
        case rollingBack = "rolling-back"
        case rolledBack = "rolled-back"
        case rollbackFailed = "rollback-failed"
        /// A person cleaned up by hand and said so with `runbook forget` (see `forgotten`).
        case forgotten
    }

    public var version: Int = RunState.currentVersion
    public var runID: String
    public var runbookName: String
    public var runbookPath: String
    public var sha256: String
    /// Resolved vars; secret ones are `***`.
    public var vars: [String: Value]
    /// Names of the vars that are secret (their values are not stored).
    public var secretVars: [String]
    /// Salted digests of the secret vars' values, so resume/rollback can refuse other inputs.
    public var secretDigests: SecretVarDigests?
    /// `--kubeconfig` and `--context` of the run, reused on resume.
    public var kubeconfig: String?
    public var context: String?
    /// `--no-rollback` of the run: a resume keeps pausing instead of rolling back.
    public var noRollback = false
    public var status: Status
    public var startedAt: Date
    public var updatedAt: Date
    /// `user@host` that started the run.
    public var who: String
    /// Why the run stopped (masked), when it did not succeed.
    public var message: String?
    public var steps: [StepRecord]
    /// Set once a rollback began: why and by whom.
    public var rollback: RollbackProgress?
    /// The last checkpoint-journal record already folded into `state.json` (see `CheckpointJournal`).
    public var journalSeq = 0
    /// The process that drives the run now (or drove it last): see `RunActivity`.
    public var process: RunProcess?
    /// Set by `runbook forget`: who declared the run cleaned up by hand, when and why.
    public var forgotten: Forgotten?

    public init(runID: String, runbookName: String, runbookPath: String, sha256: String, vars: [String: Value],
                secretVars: [String], kubeconfig: String?, context: String?, status: Status, startedAt: Date,
                who: String, steps: [StepRecord])
    {
        self.runID = runID
        self.runbookName = runbookName
        self.runbookPath = runbookPath
        self.sha256 = sha256
        self.vars = vars
        self.secretVars = secretVars
        self.kubeconfig = kubeconfig
        self.context = context
        self.status = status
        self.startedAt = startedAt
        self.updatedAt = startedAt
        self.who = who
        self.steps = steps
    }

    public func index(of stepID: String) -> Int? { steps.firstIndex { $0.id == stepID } }

    /// Packs the step records of the `foreach` items that are not running (see `PackedSteps`), of
    /// group `group` or of every group, masked by `masker` (nil: masked already, as read from
    /// disk); each is unpacked when it runs or is rolled back.
    mutating func packRestingItems(of group: Int? = nil, masker: Masker?) {
        for i in group.map({ [$0] }) ?? Array(steps.indices) where steps[i].items != nil {
            for k in steps[i].items!.indices where steps[i].items![k].status != .running {
                steps[i].items![k].pack(masker: masker)
            }
        }
    }
}

/// One step's record in `state.json`.
public struct StepRecord: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case pending, running, succeeded, failed, skipped
        case rollingBack = "rolling-back"
        case rolledBack = "rolled-back"
        case rollbackFailed = "rollback-failed"
    }

    public var id: String
    public var action: String
    public var status: Status = .pending
    public var attempts: Int = 0
    /// Non-secret outputs only.
    public var outputs: [String: Value] = [:]
    /// True once the step succeeded (kept while it is rolled back): an explicit `rollback:` list
    /// undoes completed steps only.
    public var completed = false
    /// True when some output was a secret or held one, so `outputs` is incomplete or masked and
    /// a resume must read the step again (only read steps can be).
    public var outputsMasked = false
    /// The write-ahead entry of the last attempt (`ActionContext.recordJournal`).
    public var journal: Value? {
        get { packedJournal?.value }
        set { packedJournal = newValue.map(PackedValue.init) }
    }
    /// What `Action.rollback` needs (`ActionResult.rollback`).
    public var rollbackRecord: Value? {
        get { packedRollback?.value }
        set { packedRollback = newValue.map(PackedValue.init) }
    }
    /// Both kept as JSON text (`PackedValue`): a thousand items keep a thousand of each.
    private var packedJournal: PackedValue?
    private var packedRollback: PackedValue?
    /// Ids of the explicit `rollback:` steps already done, so an interrupted rollback resumes.
    public var rollbackStepsDone: [String] = []
    public var summary: String?
    /// Masked reason of the last failure (of the step or of its rollback).
    public var error: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// A `foreach` group's items (nil for other steps).
    public var items: [ItemRecord]?
    /// A `foreach` group whose canary items all succeeded: a resume does not run a canary again.
    public var canaryPassed = false

    public init(id: String, action: String) {
        self.id = id
        self.action = action
    }

    /// Seconds between start and finish, when both are known.
    public var duration: TimeInterval? {
        guard let s = startedAt, let f = finishedAt else { return nil }
        return f.timeIntervalSince(s)
    }
}

/// Where a rollback stands.
public struct RollbackProgress: Sendable, Equatable {
    /// What started a rollback; it decides the exit code when it ends (1 after a failure, 0 when
    /// asked for).
    public enum Cause: String, Sendable {
        /// A step failed under `on_failure: rollback`.
        case failure
        /// `runbook rollback RUN-ID`.
        case requested
    }

    /// Why it started, for people: `step X failed: …` or `requested with runbook rollback by …`.
    public var reason: String
    public var cause: Cause
    public var startedAt: Date
    /// Set when the rollback ended with every step undone.
    public var finishedAt: Date?
    /// `user@host` of the process that started it.
    public var by: String

    /// The reason of a requested rollback begins with these words.
    public static let requestedReason = "requested with runbook rollback"

    public init(reason: String, cause: Cause, startedAt: Date, by: String) {
        self.reason = reason
        self.cause = cause
        self.startedAt = startedAt
        self.by = by
    }
}

/// `runbook forget`: a person cleaned up an unfinished run by hand.
public struct Forgotten: Sendable, Equatable {
    public var reason: String
    public var by: String
    public var at: Date
    /// The status the run had before it was forgotten.
    public var previousStatus: String

    public init(reason: String, by: String, at: Date, previousStatus: String) {
        self.reason = reason
        self.by = by
        self.at = at
        self.previousStatus = previousStatus
    }
}

extension RollbackProgress.Cause {
    /// The stored `cause`; files and journals written before it existed said it only in the
    /// reason's first words.
    init(stored: Value?, reason: String) {
        self = stored?.stringValue.flatMap(Self.init(rawValue:))
            ?? (reason.hasPrefix(RollbackProgress.requestedReason) ? .requested : .failure)
    }
}

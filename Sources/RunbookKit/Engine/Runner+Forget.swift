import Foundation

extension Runner {
    /// `runbook forget <run-id> --reason TEXT`: a person cleaned up an unfinished run by hand.
    /// The run becomes `forgotten` (it no longer blocks new runs, and cannot be resumed or rolled
    /// back); the reason is kept in `state.json` and as a `run.forgotten` audit event.
    public static func forget(runID: String, reason: String, options: EngineOptions, masker: Masker,
                              reporter: any Reporter) async throws -> RunOutcome
    {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw EngineError.forgetNeedsReason }
        let first = try await loadRun(runID, options: options, reporter: reporter)
        guard first.activity.isUnfinished else {
            throw EngineError.nothingToForget(runID: runID, status: first.activity.label)
        }
        try confirm("Forget run \(runID) of \(first.runbookName) (\(first.activity.label))? Nothing is undone.",
                    command: "runbook forget", options)
        // With the lock held no process of this state dir drives a run of the runbook.
        let lock = try RunLock.acquire(store: options.store, runbook: first.runbookName, runID: runID)
        defer { lock.release() }
        if let stale = lock.staleHolder { reporter.note("took over the lock left by a process that is gone (\(stale))") }
        var state = try options.store.load(runID)
        let activity = state.activity
        guard activity.isUnfinished else { throw EngineError.nothingToForget(runID: runID, status: activity.label) }
        if activity.kind == .live || activity.kind == .unchecked {
            throw StateError.locked(runbook: state.runbookName, holder: "run \(runID), \(activity.label)")
        }
        let now = Date()
        state.forgotten = Forgotten(reason: reason, by: Identity.userAtHost, at: now, previousStatus: activity.word)
        state.status = .forgotten
        state.message = "forgotten by \(Identity.userAtHost): \(reason)"
        state.updatedAt = now
        try options.store.save(state, masker: masker)
        let audit = AuditEvent(event: "run.forgotten", status: "forgotten", message: masker.mask("was \(activity.word); \(reason)"))
        try options.store.append(audit, runID: runID)
        try await mirrorToCluster(state, event: audit, options: options, masker: masker)
        var e = ReportEvent(.runFinished, runID: runID, status: "forgotten", message: reason)
        e.runbook = state.runbookName
        reporter.report(e.masked(by: masker))
        return .completed
    }
}

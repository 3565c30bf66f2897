import Foundation

/// Undoing completed steps newest first, checkpointed so an interrupted rollback resumes.
extension Runner {
    /// Rolls back every completed step, newest first (a `foreach` group: its items, newest
    /// first, each item's steps newest first). `afterFailure` decides the outcome: exit 1 after
    /// a failed step, exit 0 for `runbook rollback`.
    func rollbackSteps(reason: String, afterFailure: Bool) async throws -> RunOutcome {
        if state.rollback == nil {
            state.rollback = RollbackProgress(reason: masker.mask(reason), cause: afterFailure ? .failure : .requested,
                                              startedAt: Date(), by: Identity.userAtHost)
        }
        state.status = .rollingBack
        try await persist()
        try emit(ReportEvent(.rollbackStarted, runID: state.runID, message: reason))
        for i in state.steps.indices.reversed() {
            if let signal = StopRequest.shared.requested, needsRollback(state.steps[i]) || runbook.steps[i].group != nil {
                // The undo in flight was let finish; stop before the next one. The run stays
                // rolling-back (shown as interrupted), and `runbook rollback` continues it.
                state.message = Self.attemptNotes[1] + "\(StopRequest.name(signal)) before undoing step \(runbook.steps[i].id)"
                try await persist()
                var e = ReportEvent(.runFinished, runID: state.runID, status: "paused", message: state.message)
                e.hint = "continue the rollback: runbook rollback \(state.runID)\(options.stateDirHint)"
                try emit(e)
                return .paused
            }
            if runbook.steps[i].group != nil {
                if let failure = try await rollbackGroup(i) { return try await rollbackFailed(failure) }
                continue
            }
            guard needsRollback(state.steps[i]) else { continue }
            if let failure = try await rollbackSlot(StepSlot(i)) { return try await rollbackFailed(failure) }
        }
        state.status = .rolledBack
        state.rollback?.finishedAt = Date()
        // What an earlier, failed or stopped attempt of this rollback said no longer holds.
        if afterFailure {
            state.message = masker.mask(reason)
        } else if let m = state.message, Self.attemptNotes.contains(where: { m.hasPrefix($0) }) {
            state.message = nil
        }
        try await persist()
        try emit(ReportEvent(.runFinished, runID: state.runID, status: "rolled-back",
                             message: afterFailure ? "\(reason); every completed step was rolled back" : "every completed step was rolled back"))
        return afterFailure ? .rolledBack : .completed
    }

    /// How the run's message begins after a rollback attempt failed or was stopped.
    static let attemptNotes = ["rollback of step ", "rollback stopped by "]

    private func rollbackFailed(_ failure: (step: String, error: any Error)) async throws -> RunOutcome {
        state.status = .rollbackFailed
        state.message = Self.attemptNotes[0] + "\(failure.step) failed: \(describe(failure.error))"
        try await persist()
        var e = ReportEvent(.runFinished, runID: state.runID, status: "rollback-failed", message: state.message)
        e.hint = "fix the cause, then continue the rollback: runbook rollback \(state.runID)\(options.stateDirHint)"
            + ((failure.error as? ActionError)?.isDrift == true ? " (add --force to override a drift refusal)" : "")
        try emit(e)
        return .rollbackFailed
    }

    /// Undoes the step at `slot` with checkpoints and events; returns the failure, if any.
    func rollbackSlot(_ slot: StepSlot) async throws -> (step: String, error: any Error)? {
        let step = self.step(at: slot)
        let label = eventStep(step, slot)
        if case .auto = step.rollback, state[slot].rollbackRecord == nil, state[slot].journal == nil {
            state[slot].status = .rolledBack  // nothing was recorded to undo (a read, an assert)
            try await persist(slot)
            return nil
        }
        state[slot].status = .rollingBack
        try await persist(slot)
        try emit(itemEvent(ReportEvent(.rollbackStepStarted, runID: state.runID, step: label, name: step.name), slot))
        let started = Date()
        do {
            let summary = try await rollbackStep(slot)
            state[slot].status = .rolledBack
            state[slot].error = nil
            try await persist(slot)
            try emit(itemEvent(ReportEvent(.rollbackStepFinished, runID: state.runID, step: label, name: step.name,
                                           status: "rolled-back", duration: Date().timeIntervalSince(started), message: summary), slot))
            return nil
        } catch {
            let message = describe(error)
            state[slot].status = .rollbackFailed
            state[slot].error = message
            try await persist(slot)
            try emit(itemEvent(ReportEvent(.rollbackStepFinished, runID: state.runID, step: label, name: step.name,
                                           status: "rollback-failed", duration: Date().timeIntervalSince(started), message: message), slot))
            return (label, error)
        }
    }

    /// Completed steps, steps whose rollback was interrupted or failed, and half-done steps that
    /// wrote a journal entry (they may have changed something).
    func needsRollback(_ rec: StepRecord) -> Bool {
        switch rec.status {
        case .succeeded, .rollingBack, .rollbackFailed: return true
        case .failed, .running: return rec.journal != nil || !rec.rollbackStepsDone.isEmpty
        case .pending, .skipped, .rolledBack: return false
        }
    }

    /// Rolls back the step at `slot`; returns a summary for people.
    func rollbackStep(_ slot: StepSlot) async throws -> String {
        let step = self.step(at: slot)
        switch step.rollback {
        case .none:
            return "nothing undone (rollback: none)"
        case .steps(let list) where state[slot].completed:
            return try await rollbackStep(slot, list: list)
        case .auto, .steps:
            // A step that failed midway is compensated by its action from its write-ahead journal,
            // even when it has an explicit list: that list is written for the completed step, and
            // its expressions may need outputs the failed step never produced.
            guard let type = actions.action(named: step.action) else { return "nothing to undo" }
            guard let record = state[slot].rollbackRecord ?? state[slot].journal else { return "nothing to undo" }
            let scope = self.scope(for: slot)
            let with = try evaluateWith(step, scope: scope)
            let ctx = context(for: step, with: with, journal: state[slot].journal, slot: nil, scope: scope, item: slot.item)
            let action = type.init()
            try await Runner.withTimeout(step.timeout, step: step.id) { try await action.rollback(ctx, record: record) }
            return "undone"
        }
    }

    /// Runs a completed step's explicit `rollback:` list, skipping the list steps already done.
    private func rollbackStep(_ slot: StepSlot, list: [Step]) async throws -> String {
        let step = self.step(at: slot)
        for rs in list where !state[slot].rollbackStepsDone.contains(rs.id) {
            guard let type = actions.action(named: rs.action) else { throw EngineError.unknownAction(rs.action) }
            let scope = self.scope(for: slot)
            if let when = rs.when, try !Expressions.evaluate(when, scope: scope, file: runbook.file.path).isTruthy {
                state[slot].rollbackStepsDone.append(rs.id)
                try await persist(slot)
                continue
            }
            let with = try evaluateWith(rs, scope: scope)
            reporter.report(ReportEvent(.stepLog, runID: state.runID, step: eventStep(step, slot), message: "rollback step \(rs.id) (\(rs.action))"))
            let result = try await execute(rs, type: type, with: with, journal: nil, slot: nil, scope: scope, item: slot.item)
            record(result.outputs, of: rs, spec: type.spec, slot: slot.item == nil ? nil : slot, store: false)
            state[slot].rollbackStepsDone.append(rs.id)
            try await persist(slot)
        }
        return "ran \(list.count) rollback step\(list.count == 1 ? "" : "s")"
    }
}

import Foundation

/// Undoing completed steps newest first, checkpointed so an interrupted rollback resumes.
extension Runner {
    /// Rolls back every completed step, newest first. `afterFailure` decides the outcome:
    /// exit 1 after a failed step, exit 0 for `runbook rollback`.
    func rollBack(reason: String, afterFailure: Bool) async throws -> RunOutcome {
        if state.rollback == nil {
            state.rollback = RollbackProgress(reason: masker.mask(reason), startedAt: Date(), by: Identity.userAtHost)
        }
        state.status = .rollingBack
        try persist()
        try emit(ReportEvent(.rollbackStarted, runID: state.runID, message: reason))
        for i in state.steps.indices.reversed() where needsRollback(state.steps[i]) {
            let step = runbook.steps[i]
            if case .auto = step.rollback, state.steps[i].rollbackRecord == nil, state.steps[i].journal == nil {
                state.steps[i].status = .rolledBack  // nothing was recorded to undo (a read, an assert)
                try persist()
                continue
            }
            state.steps[i].status = .rollingBack
            try persist()
            try emit(ReportEvent(.rollbackStepStarted, runID: state.runID, step: step.id, name: step.name))
            let started = Date()
            do {
                let summary = try await undo(i)
                state.steps[i].status = .rolledBack
                state.steps[i].error = nil
                try persist()
                try emit(ReportEvent(.rollbackStepFinished, runID: state.runID, step: step.id, name: step.name,
                                     status: "rolled-back", duration: Date().timeIntervalSince(started), message: summary))
            } catch {
                let message = describe(error)
                state.steps[i].status = .rollbackFailed
                state.steps[i].error = message
                state.status = .rollbackFailed
                state.message = "rollback of step \(step.id) failed: \(message)"
                try persist()
                try emit(ReportEvent(.rollbackStepFinished, runID: state.runID, step: step.id, name: step.name,
                                     status: "rollback-failed", duration: Date().timeIntervalSince(started), message: message))
                var e = ReportEvent(.runFinished, runID: state.runID, status: "rollback-failed", message: state.message)
                e.hint = "fix the cause, then continue the rollback: runbook rollback \(state.runID)\(options.stateDirHint)"
                    + ((error as? ActionError)?.isDrift == true ? " (add --force to override a drift refusal)" : "")
                try emit(e)
                return .rollbackFailed
            }
        }
        state.status = .rolledBack
        state.rollback?.finishedAt = Date()
        try persist()
        try emit(ReportEvent(.runFinished, runID: state.runID, status: "rolled-back",
                             message: afterFailure ? "\(reason); every completed step was rolled back" : "every completed step was rolled back"))
        return afterFailure ? .rolledBack : .completed
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

    /// Undoes step `i`; returns a summary for people.
    func undo(_ i: Int) async throws -> String {
        let step = runbook.steps[i]
        switch step.rollback {
        case .none:
            return "nothing undone (rollback: none)"
        case .steps(let list) where state.steps[i].completed:
            return try await undo(i, with: list)
        case .auto, .steps:
            // A step that failed midway is compensated by its action from its write-ahead journal,
            // even when it has an explicit list: that list is written for the completed step, and
            // its expressions may need outputs the failed step never produced.
            guard let type = actions.action(named: step.action) else { return "nothing to undo" }
            guard let record = state.steps[i].rollbackRecord ?? state.steps[i].journal else { return "nothing to undo" }
            let with = try evaluateWith(step)
            let ctx = context(for: step, with: with, journal: state.steps[i].journal, index: nil)
            let action = type.init()
            try await Runner.withTimeout(step.timeout, step: step.id) { try await action.rollback(ctx, record: record) }
            return "undone"
        }
    }

    /// Runs a completed step's explicit `rollback:` list, skipping the list steps already done.
    private func undo(_ i: Int, with list: [Step]) async throws -> String {
        let step = runbook.steps[i]
        for rs in list where !state.steps[i].rollbackStepsDone.contains(rs.id) {
            guard let type = actions.action(named: rs.action) else { throw ActionError.failed("unknown action \(rs.action)") }
            if let when = rs.when, try !Expressions.evaluate(when, scope: scope, file: runbook.file.path).isTruthy {
                state.steps[i].rollbackStepsDone.append(rs.id)
                try persist()
                continue
            }
            let with = try evaluateWith(rs)
            reporter.report(ReportEvent(.stepLog, runID: state.runID, step: step.id, message: "rollback step \(rs.id) (\(rs.action))"))
            let result = try await execute(rs, type: type, with: with, journal: nil, index: nil)
            record(result.outputs, of: rs, spec: type.spec, index: nil)
            state.steps[i].rollbackStepsDone.append(rs.id)
            try persist()
        }
        return "ran \(list.count) rollback step\(list.count == 1 ? "" : "s")"
    }
}

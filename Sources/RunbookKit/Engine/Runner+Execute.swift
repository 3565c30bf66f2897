import Foundation

/// One action call with the step's `timeout` and `retry` (transient errors only).
extension Runner {
    /// Executes `step` (retrying transient failures with doubling backoff, capped at a minute).
    func execute(_ step: Step, type: any Action.Type, with: Value, journal: Value?, index: Int?) async throws -> ActionResult {
        let action = type.init()
        let attempts = max(1, step.retry?.attempts ?? 1)
        var backoff = max(0.1, step.retry?.backoff ?? 1)
        var attempt = 0
        while true {
            attempt += 1
            if let index {
                state.steps[index].attempts += 1
                try persist()
            }
            // A retry sees what the failed attempt recorded (write-ahead), not the state before it.
            let latest = index.flatMap { state.steps[$0].journal } ?? journal
            let ctx = context(for: step, with: with, journal: latest, index: index)
            do {
                return try await Runner.withTimeout(step.timeout, step: step.id) { try await action.execute(ctx) }
            } catch let error as RetryableError where error.isTransient && attempt < attempts {
                reporter.note(masker.mask("step \(step.id): attempt \(attempt) of \(attempts) failed (\(describe(error))); "
                    + "retrying in \(String(format: "%.1f", backoff))s"))
                try await Task.sleep(nanoseconds: UInt64(backoff * 1_000_000_000))
                backoff = min(backoff * 2, 60)
            }
        }
    }

    func context(for step: Step, with: Value, journal: Value?, index: Int?) -> ActionContext {
        let reporter = self.reporter
        let runID = state.runID
        let masker = self.masker
        var ctx = ActionContext(
            with: with, stepID: step.id, runID: runID, runbookDirectory: runbook.directory, force: options.force,
            dryRun: options.dryRun, clients: clients, masker: masker, journal: journal,
            deadline: step.timeout.map { Date().addingTimeInterval($0) },
            journalSink: { [self] entry in
                if let index { try await self.journal(entry, index: index) }
            },
            logSink: { line in
                reporter.report(ReportEvent(.stepLog, runID: runID, step: step.id, message: masker.mask(line)))
            })
        ctx.scope = scope  // for expressions inside files a step reads (k8s.apply manifests)
        return ctx
    }

    /// Runs `operation`, cancelling it at the step's deadline.
    static func withTimeout<T: Sendable>(_ seconds: TimeInterval?, step: String,
                                         _ operation: @escaping @Sendable () async throws -> T) async throws -> T
    {
        do { return try await Timeout.run(seconds, operation) } catch is Timeout.Expired {
            throw EngineError.timedOut(step: step, after: seconds ?? 0)
        }
    }
}

import Foundation

/// One action call with the step's `timeout` and `retry` (transient errors only).
extension Runner {
    /// Executes `step` (retrying transient failures with doubling backoff, capped at a minute).
    func execute(_ step: Step, type: any Action.Type, with: Value, journal: Value?, slot: StepSlot?,
                 scope: Scope? = nil, item: Int? = nil, firstCounted: Bool = false) async throws -> ActionResult
    {
        let action = type.init()
        let attempts = max(1, step.retry?.attempts ?? 1)
        var backoff = max(0.1, step.retry?.backoff ?? 1)
        var attempt = 0
        while true {
            attempt += 1
            // `firstCounted`: the caller counted the first attempt in its `running` checkpoint.
            if let slot, attempt > 1 || !firstCounted {
                state[slot].attempts += 1
                try await persist(slot)
            }
            // A retry sees what the failed attempt recorded (write-ahead), not the state before it.
            let latest = slot.flatMap { state[$0].journal } ?? journal
            let ctx = context(for: step, with: with, journal: latest, slot: slot, scope: scope, item: item)
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

    /// The context of one action call. Inside a group the step id carries the item's index
    /// (`migrate[3]`), so that names an action derives from it differ from item to item.
    func context(for step: Step, with: Value, journal: Value?, slot: StepSlot?, scope: Scope? = nil,
                 item: Int? = nil) -> ActionContext
    {
        let reporter = self.reporter
        let runID = state.runID
        let masker = self.masker
        let item = slot?.item ?? item
        let stepID = item.map { "\(step.id)[\($0)]" } ?? step.id
        let group = slot.flatMap { $0.item == nil ? nil : runbook.steps[$0.top].id }
        var ctx = ActionContext(
            with: with, stepID: stepID, runID: runID, runbookDirectory: runbook.directory, force: options.force,
            dryRun: options.dryRun, clients: clients, masker: masker, journal: journal,
            deadline: step.timeout.map { Date().addingTimeInterval($0) },
            journalSink: { [self] entry in
                if let slot { try await self.journal(entry, slot: slot) }
            },
            logSink: { line in
                var e = ReportEvent(.stepLog, runID: runID, step: stepID, message: masker.mask(line))
                e.group = group
                e.item = item
                reporter.report(e)
            })
        // prior states holding secret data: in the runs namespace with the cluster lock (PriorState)
        if resolvedLock == .cluster { ctx.priorStateNamespace = options.runsNamespace }
        // for expressions inside files a step reads (k8s.apply manifests)
        ctx.scope = scope ?? slot.map { self.scope(for: $0) } ?? self.scope
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

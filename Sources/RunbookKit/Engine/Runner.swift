import Foundation

/// Runs a runbook's steps: checkpoints before and after each step, retries, timeouts, failure
/// policies and rollback. One instance per command (`run`, `plan`, `resume`, `rollback`);
/// the entry points are in `Runner+Commands.swift`.
public actor Runner {
    let runbook: Runbook
    let options: EngineOptions
    let masker: Masker
    let reporter: any Reporter
    /// The actions this command may run (`EngineOptions.actions`).
    let actions: ActionCatalog
    /// Clients shared by every step of the command, made once.
    let clients: RunClients
    var state: RunState
    var scope: Scope
    /// Held for the whole command (nil for a dry-run, which leaves no trace).
    var lock: RunLock?
    /// The cluster Lease and run record (nil with the local lock); see `Team/`.
    var team: TeamSession?
    /// The lock this command's runbook takes (`LockMode.resolve`), decided once: it walks every step.
    let resolvedLock: LockMode
    /// The run's checkpoint journal while a command writes (nil for a dry-run).
    var checkpoints: CheckpointJournal?
    /// The items of the `foreach` groups evaluated so far, by the group's index.
    var groupItems: [Int: [Value]] = [:]
    /// The first failed item undo while a group's items are rolled back concurrently.
    var groupRollbackFailure: (step: String, error: any Error)?
    /// Size of `state.json` at the last compaction (the journal may grow to a multiple of it).
    var lastCompactedSize = 0
    /// Each item's step outputs (what `steps.ID` means inside the body), by group, then item.
    var itemOutputs: [Int: [Int: [String: [String: Value]]]] = [:]
    /// Items finished since malloc's free pages were last given back (`ProcessMemory.releaseFreeMemory`).
    var itemsSinceRelease = 0
    /// What the last `requiredPermissions` could not know before the run (see `ActionContext.permissionGap`).
    var permissionGaps: [String] = []

    init(runbook: Runbook, state: RunState, vars: [String: Value], options: EngineOptions, masker: Masker,
         reporter: any Reporter)
    {
        self.runbook = runbook
        var state = state
        // This process drives the run from now on (see RunActivity); a dry-run writes nothing.
        state.process = .current
        self.state = state
        self.options = options
        resolvedLock = LockMode.resolve(flag: options.lockMode, runbook: runbook)
        self.masker = masker
        self.reporter = reporter
        actions = options.actions
        clients = RunClients(options: options.clients, interaction: Interaction(yes: options.yes, tty: options.terminal.stdinIsTTY),
                             masker: masker)
        scope = Scope(vars: vars, outputs: [:], env: options.environment, runID: state.runID)
        for rec in state.steps where !rec.outputs.isEmpty { scope.outputs[rec.id] = rec.outputs }
        // Requests that are retried say so on the terminal (stderr), masked.
        RetryNotice.setSink { [reporter, masker] line in reporter.note(masker.mask("waiting: " + line)) }
    }

    // MARK: the step loop

    enum StepResult {
        case done
        case failed(String)
        case awaitingApproval(String)
        /// A stop signal arrived and the step was cancelled midway: it stays `running` (with its
        /// journal), exactly as after a crash, and resume executes it again.
        case interrupted(String)
    }

    /// Runs steps from `start` to the end, applying each step's failure policy.
    func runSteps(from start: Int) async throws -> RunOutcome {
        var i = start
        while i < runbook.steps.count {
            let step = runbook.steps[i]
            if let signal = StopRequest.shared.requested {
                return try await pause(reason: "stopped by \(StopRequest.name(signal)) before step \(step.id)", hint: stoppedHint)
            }
            // A resume past a group whose failed items are retried: later steps already done stay done.
            if i > start, [.succeeded, .skipped].contains(state.steps[i].status) {
                i += 1
                continue
            }
            let result = step.group == nil ? try await runStep(StepSlot(i)) : try await runGroup(i)
            switch result {
            case .done:
                i += 1
            case .awaitingApproval(let message):
                return try await pause(reason: "step \(step.id) is waiting for approval: \(message)",
                                       hint: "approve and continue: runbook resume \(state.runID) --yes\(options.stateDirHint)")
            case .interrupted(let message):
                return try await pause(reason: "stopped by \(message) during step \(step.id); resume runs it again",
                                       hint: stoppedHint)
            case .failed(let message):
                switch policy(for: step) {
                case .continue:
                    reporter.note("step \(step.id) failed; continuing (on_failure: continue)")
                    i += 1
                case .pause:
                    return try await pause(reason: "step \(step.id) failed: \(message)", hint: resumeHint)
                case .rollback:
                    return try await rollbackSteps(reason: "step \(step.id) failed: \(message)", afterFailure: true)
                }
            }
        }
        if let failed = failedItemsSummary() {
            // Items failed within their group's budget, each rolled back alone: the run ends failed.
            state.status = .failed
            state.message = masker.mask(failed)
            try await persist()
            var e = ReportEvent(.runFinished, runID: state.runID, status: "failed", message: failed)
            e.hint = "fix the cause, then retry the failed items: runbook resume \(state.runID)\(options.stateDirHint)\n"
                + "or undo everything: runbook rollback \(state.runID)\(options.stateDirHint)"
            try emit(e)
            return .rolledBack
        }
        state.status = .succeeded
        state.message = nil
        try await persist()
        try emit(ReportEvent(.runFinished, runID: state.runID, status: "succeeded"))
        return .completed
    }

    func policy(for step: Step) -> FailurePolicy {
        let p = step.onFailure ?? runbook.onFailure
        return p == .rollback && options.noRollback ? .pause : p
    }

    var resumeHint: String {
        "fix the cause, then continue: runbook resume \(state.runID)\(options.stateDirHint)\n"
            + "or undo the completed steps: runbook rollback \(state.runID)\(options.stateDirHint)"
    }

    var stoppedHint: String {
        "continue: runbook resume \(state.runID)\(options.stateDirHint)\n"
            + "or undo the completed steps: runbook rollback \(state.runID)\(options.stateDirHint)"
    }

    func pause(reason: String, hint: String) async throws -> RunOutcome {
        state.status = .paused
        state.message = masker.mask(reason)
        try await persist()
        var e = ReportEvent(.runFinished, runID: state.runID, status: "paused", message: reason)
        e.hint = hint
        try emit(e)
        return .paused
    }

    /// Runs one step for real (a main step, or one step of one item of a `foreach` group):
    /// `when`, `with`, write-ahead checkpoint, execute, checkpoint.
    func runStep(_ slot: StepSlot) async throws -> StepResult {
        let step = self.step(at: slot)
        let label = eventStep(step, slot)
        guard let type = actions.action(named: step.action) else {
            return try await fail(slot, "unknown action \(step.action)")
        }
        let scope = self.scope(for: slot)
        do {
            if let when = step.when, try !Expressions.evaluate(when, scope: scope, file: runbook.file.path).isTruthy {
                state[slot].status = .skipped
                state[slot].summary = "when: condition is false"
                try await persist(slot, teamWait: false)
                try emit(itemEvent(ReportEvent(.stepFinished, runID: state.runID, step: label, name: step.name,
                                               status: "skipped", message: "when: condition is false"), slot))
                return .done
            }
        } catch {
            return try await fail(slot, "when: \(describe(error))")
        }
        let with: Value
        do { with = try evaluateWith(step, scope: scope) } catch { return try await fail(slot, "with: \(describe(error))") }

        // Write-ahead: the checkpoint says `running` before anything changes.
        state[slot].status = .running
        state[slot].attempts += 1  // the first attempt is counted in this checkpoint
        state[slot].completed = false
        state[slot].startedAt = Date()
        state[slot].finishedAt = nil
        state[slot].error = nil
        try await persist(slot)
        try emit(itemEvent(ReportEvent(.stepStarted, runID: state.runID, step: label, name: step.name, action: step.action), slot))
        do {
            let journal = state[slot].journal
            let result = try await interruptible {
                try await self.execute(step, type: type, with: with, journal: journal, slot: slot, firstCounted: true)
            }
            record(result.outputs, of: step, spec: type.spec, slot: slot, store: true)
            state[slot].rollbackRecord = result.rollback
            state[slot].summary = result.summary.map(masker.mask)
            state[slot].status = .succeeded
            state[slot].completed = true
            state[slot].finishedAt = Date()
            try await persist(slot, teamWait: false)
            try emit(itemEvent(ReportEvent(.stepFinished, runID: state.runID, step: label, name: step.name, status: "succeeded",
                                           duration: state[slot].duration, message: result.summary), slot))
            return .done
        } catch let approval as ApprovalRequired {
            state[slot].status = .pending
            state[slot].error = masker.mask(approval.message)
            try await persist(slot)
            try emit(itemEvent(ReportEvent(.stepFinished, runID: state.runID, step: label, name: step.name, status: "waiting",
                                           message: approval.errorDescription), slot))
            return .awaitingApproval(approval.message)
        } catch where StopRequest.shared.requested != nil {
            let signal = StopRequest.name(StopRequest.shared.requested ?? SIGINT)
            state[slot].error = error is CancellationError ? "interrupted by \(signal)"
                : masker.mask("interrupted by \(signal): \(describe(error))")
            try await persist(slot)
            try emit(itemEvent(ReportEvent(.stepFinished, runID: state.runID, step: label, name: step.name, status: "interrupted",
                                           message: state[slot].error), slot))
            return .interrupted(signal)
        } catch {
            return try await fail(slot, describe(error))
        }
    }

    /// Runs `operation` as a task that a stop signal cancels (see `StopRequest`).
    func interruptible<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await operation() }
        let token = StopRequest.shared.register { task.cancel() }
        defer { StopRequest.shared.unregister(token) }
        return try await task.value
    }

    func fail(_ slot: StepSlot, _ message: String) async throws -> StepResult {
        let step = self.step(at: slot)
        state[slot].status = .failed
        state[slot].error = masker.mask(message)
        state[slot].finishedAt = Date()
        try await persist(slot)
        try emit(itemEvent(ReportEvent(.stepFinished, runID: state.runID, step: eventStep(step, slot), name: step.name,
                                       status: "failed", duration: state[slot].duration, message: message), slot))
        return .failed(message)
    }

    /// The step definition at a slot.
    func step(at slot: StepSlot) -> Step {
        let top = runbook.steps[slot.top]
        guard let sub = slot.sub, let group = top.group else { return top }
        return group.steps[sub]
    }

    /// What the expressions of the step at `slot` see: inside a group, the item under its `as:`
    /// name and the same item's step outputs.
    func scope(for slot: StepSlot) -> Scope {
        guard let item = slot.item, let group = runbook.steps[slot.top].group else { return scope }
        var s = scope
        s.locals[group.name] = groupItems[slot.top]?[item] ?? .null
        if let outputs = itemOutputs[slot.top]?[item] {
            for (id, o) in outputs { s.outputs[id] = o }
        } else if let rec = state.steps[slot.top].items?[item] {
            // A finished item keeps only its stored (non-secret) outputs.
            for step in rec.steps where !step.outputs.isEmpty { s.outputs[step.id] = step.outputs }
        }
        return s
    }

    /// Keeps all outputs in the scope; registers secret ones in the masker and, with `store`,
    /// stores only the others. A stored output that holds a secret is stored masked and the step
    /// is marked, so that a resume reads it again instead of using the masked copy.
    func record(_ outputs: [String: Value], of step: Step, spec: ActionSpec, slot: StepSlot?, store: Bool) {
        var kept: [String: Value] = [:]
        var withheld = false
        for (k, v) in outputs {
            if spec.secretOutputs.contains(k) {
                masker.add(all: v)
                withheld = true
            } else {
                let masked = masker.mask(v)
                if masked != v { withheld = true }
                kept[k] = masked
            }
        }
        if let slot, let item = slot.item {
            itemOutputs[slot.top, default: [:]][item, default: [:]][step.id] = outputs
        } else {
            scope.outputs[step.id] = outputs
        }
        if store, let slot {
            state[slot].outputs = kept
            state[slot].outputsMasked = withheld
        }
    }

    func evaluateWith(_ step: Step, scope: Scope) throws -> Value {
        guard let node = step.with else { return .object(Object()) }
        return try Expressions.evaluate(node, scope: scope, file: runbook.file.path)
    }

    // MARK: checkpoint and events

    /// THE checkpoint (the one seam every checkpoint goes through): records what changed — the
    /// run's status and the step record at `slot` (with `allItems`, a group's whole item list) —
    /// durably before returning. With the journal open this appends one line to `journal.jsonl`
    /// and waits for its group-committed fsync; `state.json` is compacted from it when the
    /// journal outgrows it and when the command ends. A dry-run writes nothing.
    ///
    /// The team's record (cluster lock) gets the checkpoint too; with `teamWait` false the write is
    /// queued but not waited for: only for a checkpoint after which nothing changes outside the
    /// run before the next checkpoint, which waits (a step's end, before the next step's
    /// write-ahead checkpoint), so the next step still does not start before the record has both.
    func persist(_ slot: StepSlot? = nil, allItems: Bool = false, teamWait: Bool = true) async throws {
        guard !options.dryRun else { return }
        state.updatedAt = Date()
        guard let journal = checkpoints else {
            try options.store.save(state, masker: masker)
            try await mirrorToTeam(slot, allItems: allItems, wait: teamWait)
            return
        }
        let seq = try journal.append(state.journalRecord(slot: slot, allItems: allItems, masker: masker))
        if journal.size > max(Runner.compactionFloor, 4 * lastCompactedSize) {
            try compact()
        }
        try await journal.waitDurable(seq)
        // the team's copy (the cluster's run record) once the local write-ahead copy is durable
        try await mirrorToTeam(slot, allItems: allItems, wait: teamWait)
    }

    /// Writes the checkpoint to the team's run record and returns once the record has it. The
    /// change (the head and the chunks this checkpoint touched) is taken here, synchronously; the
    /// session coalesces it with other items' checkpoints while a write is in flight.
    func mirrorToTeam(_ slot: StepSlot?, allItems: Bool, wait: Bool) async throws {
        guard let team else { return }
        var chunks: Set<RunRecordLayout.ChunkID> = []
        if let slot {
            if allItems {
                chunks.formUnion(RunRecordLayout.chunkIDs(counts: [slot.top: state.steps[slot.top].items?.count ?? 0]))
            } else if let item = slot.item {
                chunks.insert(RunRecordLayout.ChunkID(step: slot.top, item: item))
            }
        }
        let change = team.change(of: state, chunks: chunks)
        try await team.checkpoint(change, masker: masker, wait: wait)
    }

    static let compactionFloor = 8 << 20

    /// Folds the journal into `state.json` (atomic, fsync'd), then empties the journal.
    func compact() throws {
        guard let journal = checkpoints else { return }
        state.journalSeq = journal.seq
        lastCompactedSize = try options.store.save(state, masker: masker)
        try journal.compacted()
        ProcessMemory.releaseFreeMemory()
    }

    /// Opens the run's journal (after `state.json` exists).
    func openCheckpoints() throws {
        guard !options.dryRun, checkpoints == nil else { return }
        checkpoints = try CheckpointJournal(store: options.store, runID: state.runID, seq: state.journalSeq)
    }

    /// Compacts and closes the journal at the end of a command: `state.json` alone holds the run.
    func closeCheckpoints() throws {
        guard let journal = checkpoints else { return }
        try compact()
        try journal.close(remove: true)
        checkpoints = nil
    }

    /// Shows an event and, outside a dry-run, appends it to `events.jsonl`.
    func emit(_ event: ReportEvent) throws {
        var e = event.masked(by: masker)
        e.dryRun = options.dryRun
        reporter.report(e)
        guard !options.dryRun, e.kind != .stepLog, e.kind != .stepPlanned else { return }
        let message = [e.message, e.hint].compactMap { $0 }.joined(separator: "\n")
        // An item's events name the step as `ID[index]`, with the item's key in the message.
        let step = e.item.map { "\(e.step ?? "")[\($0)]" } ?? e.step
        let audit = AuditEvent(event: e.kind.rawValue, step: step, status: e.status,
                               message: message.isEmpty ? nil : masker.mask(message))
        if let checkpoints {
            try checkpoints.appendEvent(Data((audit.toValue().jsonString() + "\n").utf8))
        } else {
            try options.store.append(audit, runID: state.runID)
        }
        team?.note(audit)
    }

    /// Journals are machine data (object references, version ids) that actions keep free of
    /// secrets by contract; masking them by substring would corrupt them (a secret `observer`
    /// inside the namespace `observer-prod`), so they are stored as given.
    func journal(_ entry: Value, slot: StepSlot) async throws {
        guard !options.dryRun else { return }
        state[slot].journal = entry
        try await persist(slot)
    }

    nonisolated func describe(_ error: any Error) -> String {
        masker.mask((error as? LocalizedError)?.errorDescription ?? String(describing: error))
    }
}

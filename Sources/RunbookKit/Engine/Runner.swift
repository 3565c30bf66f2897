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

    init(runbook: Runbook, state: RunState, vars: [String: Value], options: EngineOptions, masker: Masker,
         reporter: any Reporter)
    {
        self.runbook = runbook
        var state = state
        // This process drives the run from now on (see RunActivity); a dry-run writes nothing.
        state.process = .current
        self.state = state
        self.options = options
        self.masker = masker
        self.reporter = reporter
        actions = options.actions
        clients = RunClients(options: options.clients, interaction: Interaction(yes: options.yes, tty: options.terminal.stdinIsTTY),
                             masker: masker)
        scope = Scope(vars: vars, outputs: [:], env: options.environment, runID: state.runID)
        for rec in state.steps where !rec.outputs.isEmpty { scope.outputs[rec.id] = rec.outputs }
    }

    // MARK: the step loop

    enum StepResult {
        case done
        case failed(String)
        case awaitingApproval(String)
    }

    /// Runs steps from `start` to the end, applying each step's failure policy.
    func runSteps(from start: Int) async throws -> RunOutcome {
        var i = start
        while i < runbook.steps.count {
            let step = runbook.steps[i]
            switch try await runStep(i) {
            case .done:
                i += 1
            case .awaitingApproval(let message):
                return try await pause(reason: "step \(step.id) is waiting for approval: \(message)",
                                       hint: "approve and continue: runbook resume \(state.runID) --yes\(options.stateDirHint)")
            case .failed(let message):
                switch policy(for: step) {
                case .continue:
                    reporter.note("step \(step.id) failed; continuing (on_failure: continue)")
                    i += 1
                case .pause:
                    return try await pause(reason: "step \(step.id) failed: \(message)", hint: resumeHint)
                case .rollback:
                    return try await rollBack(reason: "step \(step.id) failed: \(message)", afterFailure: true)
                }
            }
        }
        state.status = .succeeded
        state.message = nil
        try persist()
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

    func pause(reason: String, hint: String) async throws -> RunOutcome {
        state.status = .paused
        state.message = masker.mask(reason)
        try persist()
        var e = ReportEvent(.runFinished, runID: state.runID, status: "paused", message: reason)
        e.hint = hint
        try emit(e)
        return .paused
    }

    /// Runs one step for real: `when`, `with`, write-ahead checkpoint, execute, checkpoint.
    func runStep(_ i: Int) async throws -> StepResult {
        let step = runbook.steps[i]
        guard let type = actions.action(named: step.action) else {
            return try fail(i, "unknown action \(step.action)")
        }
        do {
            if let when = step.when, try !Expressions.evaluate(when, scope: scope, file: runbook.file.path).isTruthy {
                state.steps[i].status = .skipped
                state.steps[i].summary = "when: condition is false"
                try persist()
                try emit(ReportEvent(.stepFinished, runID: state.runID, step: step.id, name: step.name,
                                     status: "skipped", message: "when: condition is false"))
                return .done
            }
        } catch {
            return try fail(i, "when: \(describe(error))")
        }
        let with: Value
        do { with = try evaluateWith(step) } catch { return try fail(i, "with: \(describe(error))") }

        // Write-ahead: the checkpoint says `running` before anything changes.
        state.steps[i].status = .running
        state.steps[i].completed = false
        state.steps[i].startedAt = Date()
        state.steps[i].finishedAt = nil
        state.steps[i].error = nil
        try persist()
        try emit(ReportEvent(.stepStarted, runID: state.runID, step: step.id, name: step.name, action: step.action))
        do {
            let result = try await execute(step, type: type, with: with, journal: state.steps[i].journal, index: i)
            record(result.outputs, of: step, spec: type.spec, index: i)
            state.steps[i].rollbackRecord = result.rollback
            state.steps[i].summary = result.summary.map(masker.mask)
            state.steps[i].status = .succeeded
            state.steps[i].completed = true
            state.steps[i].finishedAt = Date()
            try persist()
            try emit(ReportEvent(.stepFinished, runID: state.runID, step: step.id, name: step.name, status: "succeeded",
                                 duration: state.steps[i].duration, message: result.summary))
            return .done
        } catch let approval as ApprovalRequired {
            state.steps[i].status = .pending
            state.steps[i].error = masker.mask(approval.message)
            try persist()
            try emit(ReportEvent(.stepFinished, runID: state.runID, step: step.id, name: step.name, status: "waiting",
                                 message: approval.errorDescription))
            return .awaitingApproval(approval.message)
        } catch {
            return try fail(i, describe(error))
        }
    }

    func fail(_ i: Int, _ message: String) throws -> StepResult {
        let step = runbook.steps[i]
        state.steps[i].status = .failed
        state.steps[i].error = masker.mask(message)
        state.steps[i].finishedAt = Date()
        try persist()
        try emit(ReportEvent(.stepFinished, runID: state.runID, step: step.id, name: step.name, status: "failed",
                             duration: state.steps[i].duration, message: message))
        return .failed(message)
    }

    /// Keeps all outputs in the scope; registers secret ones in the masker and stores only the others.
    /// A stored output that holds a secret is stored masked and the step is marked, so that a resume
    /// reads it again instead of using the masked copy.
    func record(_ outputs: [String: Value], of step: Step, spec: ActionSpec, index: Int?) {
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
        scope.outputs[step.id] = outputs
        if let index {
            state.steps[index].outputs = kept
            state.steps[index].outputsMasked = withheld
        }
    }

    func evaluateWith(_ step: Step) throws -> Value {
        guard let node = step.with else { return .object(Object()) }
        return try Expressions.evaluate(node, scope: scope, file: runbook.file.path)
    }

    // MARK: checkpoint and events

    /// Writes `state.json` (masked, atomic, fsync'd). A dry-run writes nothing.
    func persist() throws {
        guard !options.dryRun else { return }
        state.updatedAt = Date()
        try options.store.save(state, masker: masker)
        try team?.checkpoint(state, masker: masker)
    }

    /// Shows an event and, outside a dry-run, appends it to `events.jsonl`.
    func emit(_ event: ReportEvent) throws {
        var e = event.masked(by: masker)
        e.dryRun = options.dryRun
        reporter.report(e)
        guard !options.dryRun, e.kind != .stepLog, e.kind != .stepPlanned else { return }
        let message = [e.message, e.hint].compactMap { $0 }.joined(separator: "\n")
        let audit = AuditEvent(event: e.kind.rawValue, step: e.step, status: e.status,
                               message: message.isEmpty ? nil : masker.mask(message))
        try options.store.append(audit, runID: state.runID)
        team?.note(audit)
    }

    /// Journals are machine data (object references, version ids) that actions keep free of
    /// secrets by contract; masking them by substring would corrupt them (a secret `observer`
    /// inside the namespace `observer-prod`), so they are stored as given.
    func journal(_ entry: Value, index: Int) throws {
        guard !options.dryRun else { return }
        state.steps[index].journal = entry
        try persist()
    }

    nonisolated func describe(_ error: any Error) -> String {
        masker.mask((error as? LocalizedError)?.errorDescription ?? String(describing: error))
    }
}

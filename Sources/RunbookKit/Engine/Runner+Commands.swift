import Foundation

/// The engine's entry points, one per command: `run` (and `plan`), `resume`, `rollback`.
extension Runner {
    /// `runbook run` / `runbook plan`. Secret vars are registered in `masker` before anything prints.
    public static func run(_ runbook: Runbook, cliVars: [String], varsFile: URL?, options: EngineOptions, masker: Masker,
                           reporter: any Reporter) async throws -> RunOutcome
    {
        let vars = try VarResolver.resolve(runbook.vars, cli: cliVars, varsFile: varsFile)
        try checkClusterAccess(runbook, options)
        let secret = runbook.vars.filter(\.secret).map(\.name)
        for name in secret { if let v = vars[name] { masker.add(all: v) } }
        var stored = vars
        for name in secret where stored[name] != nil { stored[name] = .string(Masker.placeholder) }
        let now = Date()
        var state = RunState(runID: StateStore.newRunID(runbook: runbook.name, at: now), runbookName: runbook.name,
                             runbookPath: runbook.file.standardizedFileURL.path, sha256: runbook.sha256, vars: stored,
                             secretVars: secret.filter { vars[$0] != nil }, kubeconfig: options.clients.kubeconfig,
                             context: options.clients.context, status: .running, startedAt: now, who: Identity.userAtHost,
                             steps: runbook.steps.map { StepRecord(id: $0.id, action: $0.action) })
        state.noRollback = options.noRollback
        state.secretDigests = SecretVarDigests.make(vars.filter { secret.contains($0.key) })
        let runner = Runner(runbook: runbook, state: state, vars: vars, options: options, masker: masker, reporter: reporter)
        // Least privilege: every permission the run needs, checked before anything changes.
        try await runner.preflight(lock: LockMode.resolve(flag: options.lockMode, runbook: runbook))
        if options.dryRun { return try await runner.startPlan() }
        if changesThings(runbook, options) {
            try confirm("Run \(runbook.name) (\(runbook.steps.count) steps); it changes things. Continue?", command: "runbook run", options)
        }
        StopRequest.shared.install { reporter.note($0) }
        let lock = try await takeLock(runbook, runID: state.runID, runner: runner, options: options, reporter: reporter,
                                      resuming: false)
        return try await runner.underLock(lock) {
            try await refuseOnUnfinishedRun(of: runbook.name, options: options)
            return try await runner.start()
        }
    }

    /// `runbook resume <run-id> [--from STEP]`.
    public static func resume(runID: String, from: String?, cliVars: [String], varsFile: URL?, options: EngineOptions,
                              masker: Masker, reporter: any Reporter) async throws -> RunOutcome
    {
        let state = try await loadRun(runID, options: options, reporter: reporter)
        guard state.activity.isUnfinished else {
            throw EngineError.nothingToResume(runID: runID, status: state.status.rawValue)
        }
        let (runbook, vars, opts) = try prepare(state, cliVars: cliVars, varsFile: varsFile, options: options, masker: masker)
        // A `--from` naming no step is a usage error before anything is read or recorded.
        if let from, !runbook.steps.contains(where: { $0.id == from }) {
            throw EngineError.unknownStep(from, known: runbook.steps.map(\.id))
        }
        if changesThings(runbook, opts) || state.status == .rollingBack || state.status == .rollbackFailed {
            try confirm("Resume run \(runID) of \(runbook.name)?", command: "runbook resume", opts)
        }
        StopRequest.shared.install { reporter.note($0) }
        let runner = Runner(runbook: runbook, state: state, vars: vars, options: opts, masker: masker, reporter: reporter)
        let lock = try await takeLock(runbook, runID: runID, runner: runner, options: opts, reporter: reporter, resuming: true)
        cleanLeftovers(runID, options: opts, reporter: reporter)
        return try await runner.underLock(lock) { try await runner.continueRun(from: from) }
    }

    /// `runbook rollback <run-id> [--force]`: undo a completed, paused or interrupted run.
    public static func rollback(runID: String, cliVars: [String], varsFile: URL?, options: EngineOptions, masker: Masker,
                                reporter: any Reporter) async throws -> RunOutcome
    {
        let state = try await loadRun(runID, options: options, reporter: reporter)
        guard state.status != .rolledBack, state.status != .forgotten else { throw EngineError.nothingToRollback(runID: runID, status: state.status.rawValue) }
        let (runbook, vars, opts) = try prepare(state, cliVars: cliVars, varsFile: varsFile, options: options, masker: masker)
        try confirm("Roll back run \(runID) of \(runbook.name)?", command: "runbook rollback", opts)
        StopRequest.shared.install { reporter.note($0) }
        let runner = Runner(runbook: runbook, state: state, vars: vars, options: opts, masker: masker, reporter: reporter)
        let lock = try await takeLock(runbook, runID: runID, runner: runner, options: opts, reporter: reporter, resuming: true)
        cleanLeftovers(runID, options: opts, reporter: reporter)
        return try await runner.underLock(lock) { try await runner.rollbackOnRequest() }
    }

    /// A new run never starts on top of an unfinished one (SPEC §4): it may have changed things
    /// halfway. Checked with the lock held, so no live process of this state dir is driving one.
    static func refuseOnUnfinishedRun(of runbook: String, options: EngineOptions) async throws {
        var unfinished = try options.store.unfinishedRuns(of: runbook)
        if !unfinished.isEmpty, let records = RunCatalog(options: options).records {
            // A run finished (forgotten, resumed, rolled back) from another machine is finished here too.
            var still: [RunState] = []
            for run in unfinished {
                if let r = try? await records.load(run.runID)?.state, RunCatalog.newer(r, than: run), !r.activity.isUnfinished {
                    try options.store.save(r, masker: Masker())
                } else {
                    still.append(run)
                }
            }
            unfinished = still
        }
        guard let newest = unfinished.first else { return }
        let activity = newest.activity
        throw StateError.unfinished(runbook: runbook, runID: newest.runID, status: activity.label,
                                    next: activity.nextSteps(runID: newest.runID, hint: options.stateDirHint)
                                        ?? ["wait for it to finish (\(activity.label))"],
                                    others: unfinished.count - 1)
    }

    /// A `--context` or `--kubeconfig` that does not resolve (or, for a runbook with `k8s.*`
    /// steps, no cluster configuration at all) is a usage error before anything is recorded or
    /// contacted (exit 2), not a failed step halfway through a run.
    static func checkClusterAccess(_ runbook: Runbook, _ options: EngineOptions) throws {
        let usesCluster = (runbook.steps + runbook.steps.flatMap { $0.group?.steps ?? [] }).contains { $0.action.hasPrefix("k8s.") }
        guard usesCluster || options.clients.kubeconfig != nil || options.clients.context != nil else { return }
        do { _ = try KubeConnection.resolve(options.clients) } catch let KubeError.config(message) {
            throw RunbookError.usage("cluster access: \(message)")
        }
    }

    /// Temp files of checkpoint writers that were killed mid-write (resume and rollback, with the lock).
    static func cleanLeftovers(_ runID: String, options: EngineOptions, reporter: any Reporter) {
        let removed = options.store.removeStaleTempFiles(runID)
        if !removed.isEmpty { reporter.note("removed \(removed.joined(separator: ", ")) left by a process that is gone") }
    }

    /// True when some step (or a foreach group's step) is mutating.
    static func changesThings(_ runbook: Runbook, _ options: EngineOptions) -> Bool {
        (runbook.steps + runbook.steps.flatMap { $0.group?.steps ?? [] })
            .contains { options.actions.action(named: $0.action)?.spec.mutating ?? false }
    }

    /// `--yes` answers; a terminal is asked; without either a command that would change
    /// something refuses before changing anything (SPEC §1), as `terraform apply` does without
    /// `-auto-approve`.
    static func confirm(_ question: String, command: String, _ options: EngineOptions) throws {
        guard !options.yes else { return }
        guard options.terminal.stdinIsTTY else { throw EngineError.needsYes(command: command) }
        guard Terminal.ask(question) else { throw EngineError.notConfirmed }
    }

    /// Loads the run's runbook (refusing a changed one) and its vars: the stored non-secret ones
    /// plus the secret ones, which must be given again (`--var`, `--vars-file`).
    static func prepare(_ state: RunState, cliVars: [String], varsFile: URL?, options: EngineOptions,
                        masker: Masker) throws -> (Runbook, [String: Value], EngineOptions)
    {
        let runbook = try RunbookLoader.load(URL(fileURLWithPath: state.runbookPath),
                                             validator: RunbookValidator(actions: options.actions))
        guard runbook.sha256 == state.sha256 else {
            throw EngineError.runbookChanged(runID: state.runID, path: state.runbookPath, recorded: state.sha256, now: runbook.sha256)
        }
        let secretNames = Set(state.secretVars)
        var given: [String] = []
        for entry in cliVars {
            let name = String(entry.split(separator: "=", maxSplits: 1).first ?? "")
            guard secretNames.contains(name) else { throw EngineError.fixedVar(name: name) }
            given.append(entry)
        }
        if let varsFile {
            let text = try String(contentsOf: varsFile, encoding: .utf8)
            for doc in try YAMLParser.parse(text, file: varsFile.path) {
                for m in doc.toValue().objectValue ?? Object() where secretNames.contains(m.key) {
                    if !given.contains(where: { $0.hasPrefix(m.key + "=") }) { given.append("\(m.key)=\(m.value.interpolated)") }
                }
            }
        }
        let decls = runbook.vars.filter { secretNames.contains($0.name) }
        let missing = decls.filter { d in !given.contains { $0.hasPrefix(d.name + "=") } && d.defaultValue == nil }.map(\.name)
        guard missing.isEmpty else { throw EngineError.secretVarMissing(runID: state.runID, names: missing) }
        let secrets = decls.isEmpty ? [:] : try VarResolver.resolve(decls, cli: given, varsFile: nil)
        // The same secret inputs as the run (a default is an input too): compared by salted digest.
        if let recorded = state.secretDigests {
            let differ = recorded.mismatches(secrets)
            guard differ.isEmpty else { throw EngineError.secretVarsDiffer(runID: state.runID, names: differ) }
        }
        var vars = state.vars
        for name in secretNames {
            vars[name] = secrets[name]
            if let v = secrets[name] { masker.add(all: v) }
        }
        var opts = options
        if opts.clients.kubeconfig == nil { opts.clients.kubeconfig = state.kubeconfig }
        if opts.clients.context == nil { opts.clients.context = state.context }
        opts.noRollback = opts.noRollback || state.noRollback
        return (runbook, vars, opts)
    }

    // MARK: instance side

    func startPlan() async throws -> RunOutcome {
        var e = ReportEvent(.runStarted, runID: state.runID)
        e.runbook = runbook.name
        try emit(e)
        return try await plan()
    }

    func start() async throws -> RunOutcome {
        try options.store.create(state, masker: masker)
        try openCheckpoints()
        var e = ReportEvent(.runStarted, runID: state.runID, message: "started by \(state.who)")
        e.runbook = runbook.name
        try emit(e)
        let outcome = try await runSteps(from: 0)
        try closeCheckpoints()
        return outcome
    }

    func continueRun(from: String?) async throws -> RunOutcome {
        try openCheckpoints()
        let outcome = try await continueSteps(from: from)
        try closeCheckpoints()
        return outcome
    }

    private func continueSteps(from: String?) async throws -> RunOutcome {
        var e = ReportEvent(.runStarted, runID: state.runID, message: "resumed by \(Identity.userAtHost)")
        e.runbook = runbook.name
        try emit(e)
        try await recomputeSecretOutputs()
        if state.status == .rollingBack || state.status == .rollbackFailed {
            let reason = state.rollback?.reason ?? "resumed rollback"
            return try await rollbackSteps(reason: reason, afterFailure: state.rollback?.cause != .requested)
        }
        var start = state.steps.firstIndex { !isDone($0) } ?? state.steps.count
        if let from {
            guard let idx = runbook.steps.firstIndex(where: { $0.id == from }) else { throw EngineError.unknownStep(from, known: runbook.steps.map(\.id)) }
            for j in start..<max(start, idx) where !isDone(state.steps[j]) {
                state.steps[j].status = .skipped
                state.steps[j].summary = "skipped by resume --from \(from)"
            }
            start = idx
        }
        state.status = .running
        state.message = nil
        try await persist()
        return try await runSteps(from: start)
    }

    /// `runbook rollback`: every completed step, newest first; exit 0 when all are undone.
    func rollbackOnRequest() async throws -> RunOutcome {
        try openCheckpoints()
        try await recomputeSecretOutputs()
        let reason = state.rollback?.reason ?? "\(RollbackProgress.requestedReason) by \(Identity.userAtHost)"
        let outcome = try await rollbackSteps(reason: reason, afterFailure: false)
        try closeCheckpoints()
        return outcome == .rolledBack ? .completed : outcome
    }

    func isDone(_ rec: StepRecord) -> Bool {
        switch rec.status {
        case .succeeded, .skipped: return true
        case .failed:
            guard let step = runbook.steps.first(where: { $0.id == rec.id }) else { return true }
            return policy(for: step) == .continue
        default: return false
        }
    }

    /// Secret outputs are never stored, and outputs that held a secret are stored masked: re-run
    /// the read steps that produced them (SPEC §4).
    func recomputeSecretOutputs() async throws {
        // A group finished by an earlier process: `results` again, from the items' stored outputs.
        for (i, rec) in state.steps.enumerated() where runbook.steps[i].group != nil && rec.items != nil && rec.finishedAt != nil {
            scope.outputs[rec.id] = groupOutputs(i)
        }
        for (i, rec) in state.steps.enumerated() where [.succeeded, .rollingBack, .rollbackFailed].contains(rec.status) {
            let step = runbook.steps[i]
            guard step.group == nil else { continue }  // items re-read theirs when they run again
            guard let type = actions.action(named: step.action), !type.spec.mutating,
                  rec.outputsMasked || !type.spec.secretOutputs.isEmpty else { continue }
            reporter.report(ReportEvent(.stepLog, runID: state.runID, step: step.id,
                                        message: "re-reading \(step.id) to recompute its secret outputs"))
            let with = try evaluateWith(step, scope: scope)
            let result = try await execute(step, type: type, with: with, journal: nil, slot: nil)
            record(result.outputs, of: step, spec: type.spec, slot: nil, store: false)
        }
    }
}

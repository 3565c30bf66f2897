import Foundation

/// The lock a command holds: the state dir's file lock or the cluster Lease (with the run record).
enum HeldLock {
    case local(RunLock)
    case cluster(TeamSession)

    func release() async {
        switch self {
        case .local(let l): l.release()
        case .cluster(let s): await s.end()
        }
    }
}

/// Team-wide runs: which lock a command takes, where a run's checkpoint is found (the local state
/// dir or the cluster's run record), and pausing when the cluster record cannot be written.
extension Runner {
    /// Takes the lock of `runbook` for `runID` and hands the cluster session to `runner`.
    static func takeLock(_ runbook: Runbook, runID: String, runner: Runner, options: EngineOptions, reporter: any Reporter,
                         resuming: Bool) async throws -> HeldLock
    {
        let mode = LockMode.resolve(flag: options.lockMode, runbook: runbook)
        if mode == .local {
            let lock = try RunLock.acquire(store: options.store, runbook: runbook.name, runID: runID)
            if let stale = lock.staleHolder { reporter.note("took over the lock left by a process that is gone (\(stale))") }
            if options.lockMode == .local, runbook.usesCluster {
                reporter.note("--lock local: only runs from this state directory (\(options.store.root.path)) are excluded; "
                    + "runs from other machines are not, and this run is not recorded in the cluster")
            }
            return .local(lock)
        }
        let client = try runner.clients.kubernetes.client()
        let session = try await TeamSession.begin(runbook: runbook.name, runID: runID, client: client,
                                                  namespace: options.runsNamespace, resuming: resuming, local: options.store)
        await runner.setTeam(session)
        return .cluster(session)
    }

    func setTeam(_ session: TeamSession?) { team = session }

    /// Runs `body` under `lock`, releasing it afterwards; a run record that cannot be written (or a
    /// lost Lease) pauses the run locally before its next step (exit 3).
    func underLock(_ lock: HeldLock, _ body: () async throws -> RunOutcome) async throws -> RunOutcome {
        do {
            let outcome = try await body()
            await lock.release()
            return outcome
        } catch let e as TeamError {
            if case .recordConflict = e {
                await lock.release()
                throw e
            }
            do {
                team?.disableRecords()
                state.status = .paused
                state.message = describe(e)
                try await persist()
                var ev = ReportEvent(.runFinished, runID: state.runID, status: "paused", message: describe(e))
                ev.hint = resumeHint
                try emit(ev)
                try closeCheckpoints()
            } catch {
                await lock.release()
                throw error
            }
            await lock.release()
            return .paused
        } catch {
            await lock.release()
            throw error
        }
    }

    /// The run's checkpoint: the local `state.json` or the cluster's record, whichever is newer (a
    /// run started on another machine exists only in the cluster; it is copied into this state
    /// dir, which becomes the write-ahead copy from now on).
    static func loadRun(_ runID: String, options: EngineOptions, reporter: any Reporter) async throws -> RunState {
        var local: RunState?
        var localError: (any Error)?
        do { local = try options.store.load(runID) } catch { localError = error }
        guard options.lockMode != .local, let client = try? KubeClients(options: options.clients).client() else {
            if let local { return local }
            throw localError!
        }
        let records = RunRecords(client: client, namespace: options.runsNamespace)
        let remote: RunState?
        do { remote = try await records.load(runID)?.state } catch {
            if let local {
                reporter.note("cannot read the cluster's record of \(runID) (\((error as? LocalizedError)?.errorDescription ?? "\(error)")); using \(options.store.root.path)")
                return local
            }
            throw error
        }
        switch (local, remote) {
        // The local copy is written first: the record is newer only when another process (another
        // machine's resume or rollback) drove the run since.
        case (let l?, let r?) where RunCatalog.newer(r, than: l):
            try options.store.save(r, masker: Masker())
            reporter.note("the cluster's record of \(runID) is newer than \(options.store.root.path): continuing from it")
            return r
        case (let l?, _): return l
        case (nil, let r?):
            try options.store.create(r, masker: Masker())
            reporter.note("run \(runID) was started by \(r.who); its record was read from the cluster (namespace \(options.runsNamespace))")
            return r
        case (nil, nil):
            if case StateError.runNotFound = localError! { throw await RunCatalog.notFoundAnywhere(runID, options: options) }
            throw localError!
        }
    }

    /// Writes a checkpoint made outside a run (`forget`) to the run's record in the cluster, when
    /// the run has one.
    static func mirrorToCluster(_ state: RunState, event: AuditEvent, options: EngineOptions, masker: Masker) async throws {
        guard options.lockMode != .local, let client = try? KubeClients(options: options.clients).client() else { return }
        let records = RunRecords(client: client, namespace: options.runsNamespace)
        guard let rec = try await records.load(state.runID) else { return }
        // only the head changes (status, message): the items chunks stay as they are
        try await records.write(state, masker: masker, events: rec.events + [event.toValue().jsonString()], chunks: [])
    }
}

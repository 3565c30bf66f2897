import Foundation

/// Runs as `status` and `history` see them: the local state dir merged with the run records in
/// the cluster (when cluster access is configured), so that a run started on another machine is
/// listed too. For a run in both places the newer checkpoint wins.
public struct RunCatalog: Sendable {
    public let options: EngineOptions
    /// Run records in the cluster, or nil (no cluster configured, or `--lock local`).
    public let records: RunRecords?

    public init(options: EngineOptions) {
        self.options = options
        if options.lockMode != .local, let connection = try? KubeConnection.resolve(options.clients) {
            // Few retries: an unreachable cluster must not hold `history` up for long.
            let client = KubeClient(connection: connection, environment: options.environment,
                                    retry: RetryBackoff(attempts: 2, initial: 0.2, maximum: 1))
            records = RunRecords(client: client, namespace: options.runsNamespace)
        } else {
            records = nil
        }
    }

    /// Every run, oldest first; `warn` hears why the cluster's records could not be read.
    public func all(warn: (String) -> Void) async throws -> [RunState] {
        var byID: [String: RunState] = [:]
        for s in try options.store.all() { byID[s.runID] = s }
        if let records {
            do {
                for r in try await records.all() where RunCatalog.newer(r, than: byID[r.runID]) { byID[r.runID] = r }
            } catch {
                warn("cluster run records (namespace \(options.runsNamespace)) not read: \(describe(error))")
            }
        }
        return byID.values.sorted { ($0.startedAt, $0.runID) < ($1.startedAt, $1.runID) }
    }

    /// One run, from wherever its newest checkpoint is.
    public func load(_ runID: String, warn: (String) -> Void) async throws -> RunState {
        var local: RunState?
        var localError: (any Error)?
        do { local = try options.store.load(runID) } catch { localError = error }
        var searchedCluster = false
        if let records {
            do {
                if let r = try await records.load(runID)?.state, RunCatalog.newer(r, than: local) { return r }
                searchedCluster = true
            } catch {
                warn("cluster run record of \(runID) not read: \(describe(error))")
            }
        }
        if let local { return local }
        if searchedCluster, case StateError.runNotFound = localError! { throw await RunCatalog.notFoundAnywhere(runID, options: options) }
        throw localError!
    }

    /// The error for a run id that neither the state dir nor the cluster's records hold, naming the
    /// closest known run id.
    static func notFoundAnywhere(_ runID: String, options: EngineOptions) async -> StateError {
        let known = ((try? await RunCatalog(options: options).all { _ in }) ?? []).map(\.runID)
        return .runNotFoundAnywhere(runID: runID, stateDir: options.store.root.path, namespace: options.runsNamespace,
                                    suggestion: Suggestion.closest(to: runID, in: known))
    }

    /// Deletes the records (in the cluster) and run directories (here) of finished runs beyond the
    /// newest `keep` of each runbook. Unfinished runs are never pruned. Returns the run ids removed.
    public func prune(keep: Int, warn: (String) -> Void) async throws -> [String] {
        let runs = try await all(warn: warn)
        var removed: [String] = []
        for name in Set(runs.map(\.runbookName)).sorted() {
            let finished = runs.filter { $0.runbookName == name && !TeamSession.isUnfinished($0) }
            for run in finished.dropLast(keep) {
                if let records {
                    // holders first: a death in between leaves the record, so the next prune finds them again
                    try await RunCatalog.deletePriorStates(of: run.runID, records: records)
                    try await records.delete(run.runID)
                }
                let dir = options.store.runDirectory(run.runID)
                if FileManager.default.fileExists(atPath: dir.path) { try FileManager.default.removeItem(at: dir) }
                removed.append(run.runID)
            }
        }
        return removed
    }

    /// Deletes the prior-state holder Secrets (`PriorState`) a finished run left in the runs
    /// namespace: a pruned run can no longer be rolled back, so they are of no use. The run
    /// records carry the same run-id label; holders are told apart by their name and annotation.
    static func deletePriorStates(of runID: String, records: RunRecords) async throws {
        let selector = "\(PriorState.runLabel)=\(PriorState.labelValue(runID))"
        for s in try await records.client.list(apiVersion: "v1", kind: "Secret", namespace: records.namespace, labelSelector: selector) {
            guard let name = s.lookup("metadata.name")?.stringValue, name.hasPrefix(PriorState.holderPrefix),
                  s.lookup("metadata.annotations")?["runbook.dev/run-id"]?.stringValue == runID else { continue }
            _ = try await records.client.delete(ObjectRef(apiVersion: "v1", kind: "Secret", namespace: records.namespace, name: name))
        }
    }

    /// A record replaces the local copy only when another process drove the run since (the local
    /// copy is always written before the record by the process that drives the run).
    static func newer(_ record: RunState, than local: RunState?) -> Bool {
        guard let local else { return true }
        guard record.updatedAt > local.updatedAt else { return false }
        // Another process drove the run since; or someone forgot it elsewhere (`forget` drives
        // nothing, so the process stays that of the run it marks).
        return record.process != local.process || (record.status == .forgotten && local.status != .forgotten)
    }

    private func describe(_ error: any Error) -> String { (error as? LocalizedError)?.errorDescription ?? "\(error)" }
}

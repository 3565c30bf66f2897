import Foundation

/// A run's place in the cluster: the Lease it holds and the record it keeps up to date at every
/// checkpoint. The engine calls `checkpoint` right after writing `state.json` (the local
/// write-ahead copy); when that write fails, the run pauses before its next step.
public final class TeamSession: @unchecked Sendable {
    public let lease: ClusterLease
    public let records: RunRecords
    private let lock = NSLock()
    private var events: [String] = []
    private var recordsEnabled = true
    /// The record write in flight (the next one waits for it).
    private var lastWrite: Task<Void, any Error>?
    /// Whether the session wrote every chunk once (later writes carry the changed ones only).
    private var wroteAll = false

    init(lease: ClusterLease, records: RunRecords, events: [String]) {
        self.lease = lease
        self.records = records
        self.events = events
    }

    /// A run that must be resumed, rolled back or forgotten before another run starts.
    public static func isUnfinished(_ s: RunState) -> Bool { ![.succeeded, .rolledBack, .forgotten].contains(s.status) }

    /// Takes the runbook's Lease for `runID`. A new run (`resuming == false`) then refuses when an
    /// unfinished run of the runbook is recorded in the cluster.
    public static func begin(runbook: String, runID: String, client: KubeClient, namespace: String, resuming: Bool,
                             local: StateStore? = nil, events: [String] = []) async throws -> TeamSession
    {
        let records = RunRecords(client: client, namespace: namespace)
        let lease = try await ClusterLease.acquire(client: client, namespace: namespace, runbook: runbook, runID: runID) { holder in
            let rec = try await records.load(holder.runID)?.state ?? (try? local?.load(holder.runID))
            // A Lease still being renewed is taken over only from a holder known to be dead: its run's
            // process (pid, host, start time) is gone from this very host — whether it died in the
            // middle of the run or between the run's last checkpoint and releasing the Lease.
            // The record must name the Lease's own holder process: a process that just took the run
            // over may not have recorded itself yet.
            if !holder.expired, rec?.process?.isAlive != false || rec?.process?.pid != holder.pid { return false }
            if holder.runID == runID { return true }
            if let rec, isUnfinished(rec) {
                throw TeamError.holderUnfinished(runbook: runbook, runID: rec.runID, status: rec.activity.label, who: rec.who)
            }
            return true
        }
        do {
            if !resuming {
                if let other = try await records.all(runbook: runbook).first(where: { isUnfinished($0) && $0.runID != runID }) {
                    throw TeamError.unfinishedRun(runbook: runbook, runID: other.runID, status: other.status.rawValue, who: other.who)
                }
            } else if let rec = try await records.load(runID) {
                records.adopt(runID: runID, resourceVersion: rec.resourceVersion)
            }
        } catch {
            await lease.release()
            throw error
        }
        return TeamSession(lease: lease, records: records, events: events)
    }

    /// Mirrors a checkpoint into the cluster (the next step must not start before the team's
    /// record has it): the chunks in `chunks` (the `foreach` items changed since the last
    /// write) and the head. The session's first write writes every chunk. Writes are chained one
    /// after another in checkpoint order: `foreach` items checkpoint concurrently, and each write
    /// must carry the resourceVersion the previous one got.
    public func checkpoint(_ state: RunState, masker: Masker, chunks: Set<RunRecordLayout.ChunkID>) async throws {
        let (enabled, tail) = lock.withLock { (recordsEnabled, events) }
        guard enabled else { return }
        if let lost = lease.lost { throw TeamError.leaseLost(runbook: lease.runbook, reason: lost) }
        let records = self.records
        let write = lock.withLock { () -> Task<Void, any Error> in
            let previous = lastWrite
            let only: Set<RunRecordLayout.ChunkID>? = wroteAll ? chunks : nil
            wroteAll = true
            let task = Task {
                _ = await previous?.result
                try await records.write(state, masker: masker, events: tail, chunks: only)
            }
            lastWrite = task
            return task
        }
        try await write.value
    }

    /// Adds an event (already masked) to the tail kept in the record.
    public func note(_ event: AuditEvent) {
        lock.withLock {
            events.append(event.toValue().jsonString())
            if events.count > RunRecords.eventTail { events.removeFirst(events.count - RunRecords.eventTail) }
        }
    }

    /// Stops mirroring (after a failed record write the run pauses locally only).
    public func disableRecords() { lock.withLock { recordsEnabled = false } }

    /// Releases the Lease.
    public func end() async { await lease.release() }
}

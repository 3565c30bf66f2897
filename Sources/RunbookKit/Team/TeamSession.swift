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
    /// Whether the session wrote every chunk once (later writes carry the changed ones only).
    private var wroteAll = false
    /// Record writes, one at a time, later checkpoints coalescing while one is in flight.
    private var commits: GroupCommit<RunRecordChange>!
    /// The head last written and when: a write whose head says nothing new (only items changed)
    /// writes the chunks alone, and the head at least every `headInterval`.
    private var writtenHead: RunState?
    private var headWrittenAt = Date.distantPast
    /// How long a head may go unwritten while only items change (its `updated_at` and events tail
    /// lag by at most this much; the items in the chunks never lag).
    static let headInterval: TimeInterval = 5
    private var masker = Masker()

    init(lease: ClusterLease, records: RunRecords, events: [String]) {
        self.lease = lease
        self.records = records
        self.events = events
        commits = GroupCommit(merge: { $0.absorb($1) }, write: { [weak self] change in
            guard let self else { throw CancellationError() }
            try await self.write(change)
        })
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

    /// What a checkpoint of `state` changed in the record: the chunks in `chunks` (the `foreach`
    /// items changed since the last checkpoint), and every chunk on the session's first write.
    /// Synchronous, so that the caller's state is not held while the write is waited for.
    public func change(of state: RunState, chunks: Set<RunRecordLayout.ChunkID>) -> RunRecordChange {
        let all = lock.withLock { () -> Bool in
            defer { wroteAll = true }
            return !wroteAll
        }
        return RunRecordChange(state: state, chunks: all ? nil : chunks)
    }

    /// Mirrors a checkpoint into the cluster: returns once a write that includes `change` has
    /// succeeded (the next step must not start before the team's record has it). Writes are made
    /// one at a time (each carries the resourceVersions the previous one got); checkpoints made
    /// while one is in flight are written together by the next (group commit, `GroupCommit`).
    /// With `wait` false the change joins the next write without waiting for it (a failure of
    /// that write then fails the next checkpoint that waits).
    public func checkpoint(_ change: RunRecordChange, masker: Masker, wait: Bool = true) async throws {
        let enabled = lock.withLock {
            self.masker = masker
            return recordsEnabled
        }
        guard enabled else { return }
        if let lost = lease.lost { throw TeamError.leaseLost(runbook: lease.runbook, reason: lost) }
        if wait { try await commits.commit(change) } else { try commits.stage(change) }
    }

    /// `checkpoint` of the whole state (every chunk changed).
    public func checkpoint(_ state: RunState, masker: Masker) async throws {
        try await checkpoint(RunRecordChange(state: state, chunks: nil), masker: masker)
    }

    /// How many record writes this session made.
    public var writeCount: Int { commits.writeCount }

    /// One write of the group commit: the changed chunks, then the head when it says something
    /// new, when no chunk changed, or when it was last written `headInterval` ago.
    private func write(_ change: RunRecordChange) async throws {
        let (tail, masker, head) = lock.withLock { () -> ([String], Masker, Bool) in
            let head = change.chunks.isEmpty || change.headDiffers(from: writtenHead)
                || Date().timeIntervalSince(headWrittenAt) >= TeamSession.headInterval
            return (events, self.masker, head)
        }
        try await records.write(change, masker: masker, events: tail, head: head)
        if head {
            lock.withLock {
                writtenHead = change.head
                headWrittenAt = Date()
            }
        }
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

import Foundation

/// Group commit for writes that must be chained one after another (the run record's Secrets
/// carry the resourceVersion the previous write got), as the checkpoint journal does for its
/// fsyncs: while one write is in flight, later changes coalesce into one pending batch (`merge`
/// folds a newer change into it); when the write ends, the next one carries the whole batch.
/// Every `commit` returns only once a write that includes its change has succeeded.
///
/// A failed write fails every change it carried and every later `commit` (the failure sticks):
/// the run record is either current or the run stops, and a process that lost its record to
/// another one (a conflict) writes nothing more.
public final class GroupCommit<Batch: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private let merge: @Sendable (inout Batch, Batch) -> Void
    private let write: @Sendable (Batch) async throws -> Void
    private var pending: Batch?
    private var waiters: [CheckedContinuation<Void, any Error>] = []
    private var writing = false
    private var failure: (any Error)?
    private var writes = 0

    /// `merge(&older, newer)` folds a newer change into the pending batch; `write` writes one batch.
    public init(merge: @escaping @Sendable (inout Batch, Batch) -> Void, write: @escaping @Sendable (Batch) async throws -> Void) {
        self.merge = merge
        self.write = write
    }

    /// How many writes were made (fewer than commits when changes coalesced).
    public var writeCount: Int { lock.withLock { writes } }

    /// How many commits wait for a write not yet begun.
    public var waitingCount: Int { lock.withLock { waiters.count } }

    /// The failure that stopped the writes, if any.
    public var stopped: (any Error)? { lock.withLock { failure } }

    /// Adds `change` to the next write and returns once that write has succeeded.
    public func commit(_ change: Batch) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            do { try add(change, waiter: c) } catch { c.resume(throwing: error) }
        }
    }

    /// Adds `change` to the next write without waiting for it (throws only when the writes have
    /// already stopped on a failure).
    public func stage(_ change: Batch) throws {
        try add(change, waiter: nil)
    }

    private func add(_ change: Batch, waiter: CheckedContinuation<Void, any Error>?) throws {
        lock.lock()
        if let failure {
            lock.unlock()
            throw failure
        }
        if pending == nil { pending = change } else { merge(&pending!, change) }
        if let waiter { waiters.append(waiter) }
        let start = !writing
        writing = true
        lock.unlock()
        if start { Task { await self.drain() } }
    }

    /// Writes batches until none is pending (one drain at a time: `writing`).
    private func drain() async {
        while true {
            let next: (batch: Batch, waiters: [CheckedContinuation<Void, any Error>])? = lock.withLock {
                guard let batch = pending else {
                    writing = false
                    return nil
                }
                let w = waiters
                pending = nil
                waiters = []
                writes += 1
                return (batch, w)
            }
            guard let next else { return }
            do {
                try await write(next.batch)
                next.waiters.forEach { $0.resume() }
            } catch {
                let later: [CheckedContinuation<Void, any Error>] = lock.withLock {
                    failure = error
                    let w = waiters
                    pending = nil
                    waiters = []
                    writing = false
                    return w
                }
                (next.waiters + later).forEach { $0.resume(throwing: error) }
                return
            }
        }
    }
}

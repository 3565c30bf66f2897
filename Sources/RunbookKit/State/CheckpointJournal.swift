import Foundation

/// The append-only checkpoint journal of one run, `<run>/journal.jsonl` beside `state.json`.
///
/// A checkpoint appends one small JSON line (what changed: the run's status and the one step
/// record that moved) instead of rewriting `state.json`, so its cost does not grow with the
/// run's length. Appends are made durable by group commit: every writer waits until an
/// `fsync` that covers its line has returned (`waitDurable`), and one `fsync` on a dedicated
/// thread covers every line written while the previous one ran (and `events.jsonl` with it).
/// `state.json` is compacted from the journal now and then and when a command ends
/// (`RunState.journalSeq` says which lines it already holds; older lines are skipped on replay).
public final class CheckpointJournal: @unchecked Sendable {
    public let file: URL
    private let events: URL
    private let cond = NSCondition()
    private var fd: Int32
    private var eventsFD: Int32
    /// The last sequence number written, and the last one known durable.
    public private(set) var seq: Int
    private var synced: Int
    private var bytes = 0
    private var failure: StateError?
    private var waiters: [(seq: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var closing = false
    private var running = false
    private var fsyncs = 0

    /// Opens (creating) the journal and the events file of a run; `seq` is the last sequence
    /// number the caller's state already reflects.
    public init(store: StateStore, runID: String, seq: Int) throws {
        file = store.journalFile(runID)
        events = store.eventsFile(runID)
        let existed = FileManager.default.fileExists(atPath: file.path)
        fd = open(file.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError.io(path: file.path, operation: "open", errno: errno) }
        eventsFD = open(events.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard eventsFD >= 0 else {
            let e = errno
            Foundation.close(fd)
            throw StateError.io(path: events.path, operation: "open", errno: e)
        }
        var st = stat()
        if fstat(fd, &st) == 0 { bytes = Int(st.st_size) }
        self.seq = seq
        synced = seq
        if !existed { try DurableFile.syncDirectory(file.deletingLastPathComponent()) }
        running = true
        let thread = Thread { [self] in syncLoop() }
        thread.name = "checkpoint-fsync"
        thread.start()
    }

    deinit {
        if fd >= 0 { Foundation.close(fd) }
        if eventsFD >= 0 { Foundation.close(eventsFD) }
    }

    /// Bytes in the journal since the last compaction.
    public var size: Int { cond.withLock { bytes } }

    /// How many `fsync` rounds ran (for tests and the benchmark: fewer than checkpoints under load).
    public var syncRounds: Int { cond.withLock { fsyncs } }

    /// Appends one record (its `seq` is set here) without waiting; returns its sequence number.
    public func append(_ record: Object) throws -> Int {
        cond.lock()
        defer { cond.unlock() }
        if let failure { throw failure }
        seq += 1
        var r = record
        r["seq"] = .int(seq)
        let data = Data((Value.object(r).jsonString() + "\n").utf8)
        try DurableFile.writeAll(fd, data, path: file.path)
        bytes += data.count
        return seq
    }

    /// Appends one line to `events.jsonl`; it becomes durable with the next checkpoint.
    public func appendEvent(_ line: Data) throws {
        cond.lock()
        defer { cond.unlock() }
        try DurableFile.writeAll(eventsFD, line, path: events.path)
    }

    /// Returns once record `n` (and every earlier one) is on disk.
    public func waitDurable(_ n: Int) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            cond.lock()
            if let failure {
                cond.unlock()
                c.resume(throwing: failure)
            } else if synced >= n {
                cond.unlock()
                c.resume()
            } else {
                waiters.append((n, c))
                cond.signal()
                cond.unlock()
            }
        }
    }

    /// After `state.json` was replaced with a state holding every record written so far:
    /// empties the journal.
    public func compacted() throws {
        cond.lock()
        defer { cond.unlock() }
        guard ftruncate(fd, 0) == 0 else { throw StateError.io(path: file.path, operation: "truncate", errno: errno) }
        bytes = 0
        synced = seq
        resumeReady()
    }

    /// Syncs what is left, stops the fsync thread and, when `remove`, deletes the (compacted) journal.
    public func close(remove: Bool) throws {
        cond.lock()
        closing = true
        cond.signal()
        while running { cond.wait() }
        cond.unlock()
        if fsync(fd) != 0 { throw StateError.io(path: file.path, operation: "fsync", errno: errno) }
        if fsync(eventsFD) != 0 { throw StateError.io(path: events.path, operation: "fsync", errno: errno) }
        Foundation.close(fd)
        Foundation.close(eventsFD)
        fd = -1
        eventsFD = -1
        if remove {
            unlink(file.path)
            try DurableFile.syncDirectory(file.deletingLastPathComponent())
        }
    }

    private func syncLoop() {
        cond.lock()
        while true {
            while waiters.isEmpty && !closing { cond.wait() }
            if waiters.isEmpty && closing { break }
            let target = seq
            let journalFD = fd, eventsFD = self.eventsFD
            cond.unlock()
            var error: StateError?
            if fsync(journalFD) != 0 {
                error = .io(path: file.path, operation: "fsync", errno: errno)
            } else if fsync(eventsFD) != 0 {
                error = .io(path: events.path, operation: "fsync", errno: errno)
            }
            cond.lock()
            fsyncs += 1
            if let error { failure = error } else { synced = max(synced, target) }
            resumeReady()
        }
        running = false
        cond.broadcast()
        cond.unlock()
    }

    /// Resumes the waiters whose record is durable (or all of them with the failure). Lock held.
    private func resumeReady() {
        var rest: [(seq: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        for w in waiters {
            if let failure { w.continuation.resume(throwing: failure) } else if w.seq <= synced { w.continuation.resume() } else { rest.append(w) }
        }
        waiters = rest
    }
}

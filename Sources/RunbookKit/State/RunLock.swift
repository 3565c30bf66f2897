import Foundation

/// One run at a time per runbook and state dir: `<dir>/locks/<runbook>.lock` held with
/// `flock(LOCK_EX|LOCK_NB)` for the life of the process. The kernel drops the lock when the
/// process dies (even by `kill -9`), so a dead holder never blocks the next run. The holder
/// (run id, pid, user@host, since) is written into the file so that a refused run can name it.
public final class RunLock: @unchecked Sendable {
    public let file: URL
    private var fd: Int32
    /// The holder recorded by a process that died without releasing the lock, when there was one.
    public let staleHolder: String?

    private init(file: URL, fd: Int32, staleHolder: String?) {
        self.file = file
        self.fd = fd
        self.staleHolder = staleHolder
    }

    /// Takes the lock or throws `StateError.locked` naming the holder.
    public static func acquire(store: StateStore, runbook: String, runID: String) throws -> RunLock {
        try DurableFile.makeDirectory(store.locksDirectory)
        let file = store.locksDirectory.appendingPathComponent("\(runbook).lock")
        // O_CLOEXEC: a child process (an `exec` step) must not inherit and keep the lock.
        let fd = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError.io(path: file.path, operation: "open", errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            let holder = readHolder(fd)
            close(fd)
            if e == EWOULDBLOCK {
                throw StateError.locked(runbook: runbook, holder: holder.isEmpty ? "unknown holder" : holder)
            }
            throw StateError.io(path: file.path, operation: "lock", errno: e)
        }
        let previous = readHolder(fd)
        let holder = "run \(runID), pid \(getpid()), \(Identity.userAtHost), since \(Timestamp.format(Date()))"
        ftruncate(fd, 0)
        _ = lseek(fd, 0, SEEK_SET)
        try DurableFile.writeAll(fd, Data((holder + "\n").utf8), path: file.path)
        fsync(fd)
        return RunLock(file: file, fd: fd, staleHolder: previous.isEmpty ? nil : previous)
    }

    private static func readHolder(_ fd: Int32) -> String {
        _ = lseek(fd, 0, SEEK_SET)
        var buf = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { return "" }
        return String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Clears the holder and releases the lock (also done by the kernel at exit).
    public func release() {
        guard fd >= 0 else { return }
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}

import Foundation

/// Whole-file reads and crash-safe writes: a write goes to a temporary file in the same
/// directory, is fsync'd, then renamed over the target, and the directory is fsync'd, so a
/// reader (or a process killed at any instant) sees either the old content or the new one.
public enum AtomicFile {
    /// A file's content and permission bits.
    public struct Snapshot: Sendable, Equatable {
        public var content: Data
        public var mode: Int
    }

    public enum Failure: Error, LocalizedError, RetryableError {
        case io(path: String, operation: String, errno: Int32)

        public var errorDescription: String? {
            switch self {
            case .io(let path, let op, let e): return "cannot \(op) \(path): \(String(cString: strerror(e)))"
            }
        }

        public var isTransient: Bool { false }
    }

    /// The file's content and mode, or nil when there is no file.
    public static func read(_ url: URL) throws -> Snapshot? {
        var st = stat()
        if stat(url.path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw Failure.io(path: url.path, operation: "read", errno: errno)
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw Failure.io(path: url.path, operation: "read", errno: errno == 0 ? EACCES : errno)
        }
        return Snapshot(content: data, mode: Int(st.st_mode & 0o7777))
    }

    /// Replaces (or creates) the file with `content` and `mode`, atomically and durably.
    public static func write(_ content: Data, mode: Int, to url: URL) throws {
        let dir = url.deletingLastPathComponent().path
        let temp = "\(dir)/.\(url.lastPathComponent).runbook-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else { throw Failure.io(path: url.path, operation: "write", errno: errno) }
        var ok = false
        defer { if !ok { unlink(temp) } }
        let written = content.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
        guard written, fchmod(fd, mode_t(mode)) == 0, fsync(fd) == 0 else {
            let e = errno
            close(fd)
            throw Failure.io(path: url.path, operation: "write", errno: e)
        }
        close(fd)
        guard rename(temp, url.path) == 0 else { throw Failure.io(path: url.path, operation: "replace", errno: errno) }
        ok = true
        syncDirectory(dir)
    }

    /// Removes the file (absent already is fine), durably.
    public static func remove(_ url: URL) throws {
        if unlink(url.path) != 0, errno != ENOENT { throw Failure.io(path: url.path, operation: "remove", errno: errno) }
        syncDirectory(url.deletingLastPathComponent().path)
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

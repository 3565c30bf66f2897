import Foundation

/// POSIX file operations with the durability the checkpoints need: atomic replace with fsync
/// of the file and its directory, fsync'd appends, private modes (dirs 0700, files 0600).
enum DurableFile {
    /// Creates `dir` and any missing parents with mode 0700.
    static func makeDirectory(_ dir: URL) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue { return }
        let parent = dir.deletingLastPathComponent()
        if parent.path != dir.path { try makeDirectory(parent) }
        if mkdir(dir.path, 0o700) != 0 && errno != EEXIST {
            throw StateError.io(path: dir.path, operation: "create directory", errno: errno)
        }
        chmod(dir.path, 0o700)
    }

    /// Replaces `file` atomically: temp file in the same directory, write, fsync, rename, fsync dir.
    static func replace(_ file: URL, with data: Data) throws {
        try replace(file) { emit in try emit(Array(data)) }
    }

    /// `replace`, the content given in parts by `produce` (each part written as it comes, so
    /// that a large file never exists in memory as a whole).
    static func replace(_ file: URL, produce: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
        let dir = file.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(file.lastPathComponent).tmp-\(getpid())")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError.io(path: tmp.path, operation: "create", errno: errno) }
        do {
            try produce { part in try writeAll(fd, part, path: tmp.path) }
            guard fsync(fd) == 0 else { throw StateError.io(path: tmp.path, operation: "fsync", errno: errno) }
        } catch {
            close(fd)
            unlink(tmp.path)
            throw error
        }
        close(fd)
        guard rename(tmp.path, file.path) == 0 else {
            let e = errno
            unlink(tmp.path)
            throw StateError.io(path: file.path, operation: "rename into", errno: e)
        }
        try syncDirectory(dir)
    }

    /// Appends one record and fsyncs it.
    static func append(_ file: URL, _ data: Data) throws {
        let fd = open(file.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError.io(path: file.path, operation: "open", errno: errno) }
        defer { close(fd) }
        try writeAll(fd, data, path: file.path)
        guard fsync(fd) == 0 else { throw StateError.io(path: file.path, operation: "fsync", errno: errno) }
    }

    static func syncDirectory(_ dir: URL) throws {
        let fd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StateError.io(path: dir.path, operation: "open", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StateError.io(path: dir.path, operation: "fsync", errno: errno) }
    }

    static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, path: String) throws {
        var off = 0
        while off < buf.count {
            let n = write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw StateError.io(path: path, operation: "write", errno: errno)
            }
            off += n
        }
    }
}

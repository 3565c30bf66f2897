import CSpawn
import Foundation

/// Runs a program (argument list, no shell) and collects its output. Cancelling the calling
/// task terminates the program (SIGTERM, then SIGKILL after two seconds).
public enum Subprocess {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: Data
        public let stderr: Data
    }

    public enum Failure: Error, LocalizedError, Sendable {
        case notFound(String)
        case launch(String, String)
        public var errorDescription: String? {
            switch self {
            case .notFound(let c): return "command not found: \(c) (not a path and not on PATH)"
            case .launch(let c, let m): return "cannot start \(c): \(m)"
            }
        }
    }

    /// The executable for `name`: a path as given (relative to `cwd`), else the first match on PATH.
    public static func locate(_ name: String, environment: [String: String], cwd: URL?) -> URL? {
        let fm = FileManager.default
        if name.contains("/") {
            let url = name.hasPrefix("/") ? URL(fileURLWithPath: name)
                : (cwd ?? URL(fileURLWithPath: fm.currentDirectoryPath)).appendingPathComponent(name)
            return fm.isExecutableFile(atPath: url.path) ? url : nil
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if fm.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Runs `argv` to its end. The program runs in a process group of its own and dies with
    /// `runbook` (see `ChildProcesses`); cancelling the calling task sends its group SIGTERM,
    /// then SIGKILL after two seconds.
    public static func run(_ argv: [String], environment: [String: String], cwd: URL?, stdin: Data? = nil) async throws -> Result {
        guard let first = argv.first, let exe = locate(first, environment: environment, cwd: cwd) else {
            throw Failure.notFound(argv.first ?? "")
        }
        try Task.checkCancellation()
        var outFDs: [Int32] = [-1, -1], errFDs: [Int32] = [-1, -1], inFDs: [Int32] = [-1, -1]
        guard runbook_pipe_cloexec(&outFDs) == 0, runbook_pipe_cloexec(&errFDs) == 0 else {
            throw Failure.launch(first, String(cString: strerror(errno)))
        }
        if stdin != nil {
            guard runbook_pipe_cloexec(&inFDs) == 0 else { throw Failure.launch(first, String(cString: strerror(errno))) }
        } else {
            inFDs[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        let env = environment.map { "\($0.key)=\($0.value)" }
        let spawned = ChildProcesses.shared.spawn(path: exe.path, argv: argv, env: env, cwd: cwd?.path, stdin: inFDs[0],
                                                  stdout: outFDs[1], stderr: errFDs[1])
        close(outFDs[1])
        close(errFDs[1])
        close(inFDs[0])
        let pid: pid_t
        switch spawned {
        case .success(let p): pid = p
        case .failure(let e):
            for fd in [outFDs[0], errFDs[0], inFDs[1]] where fd >= 0 { close(fd) }
            throw Failure.launch(first, e.message)
        }
        let out = Collector(FileHandle(fileDescriptor: outFDs[0], closeOnDealloc: true))
        let err = Collector(FileHandle(fileDescriptor: errFDs[0], closeOnDealloc: true))
        if let stdin {
            let writer = FileHandle(fileDescriptor: inFDs[1], closeOnDealloc: true)
            Thread.detachNewThread {
                // A program that does not read its input closes the pipe: EPIPE, not SIGPIPE (ignored).
                try? writer.write(contentsOf: stdin)
                try? writer.close()
            }
        }
        let exited = Exited()
        let status = StatusBox()
        Thread.detachNewThread {
            var st: Int32 = 0
            while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
            ChildProcesses.shared.ended(pid)
            status.value = Subprocess.exitStatus(st)
            exited.signal()
        }
        out.start()
        err.start()
        await withTaskCancellationHandler {
            await exited.wait()
        } onCancel: {
            kill(-pid, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) { if !exited.hasFired { kill(-pid, SIGKILL) } }
        }
        // A grandchild may keep the pipes open: wait for end of output, but not forever.
        await out.finished(within: 2)
        await err.finished(within: 2)
        try Task.checkCancellation()
        return Result(status: status.value, stdout: out.data, stderr: err.data)
    }

    /// The exit status as a shell reports it: the code, or 128 + the signal that ended the program.
    static func exitStatus(_ st: Int32) -> Int32 {
        let signal = st & 0x7f
        return signal == 0 ? (st >> 8) & 0xff : 128 + signal
    }

    final class StatusBox: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Int32 = 0
        var value: Int32 {
            get { lock.lock(); defer { lock.unlock() }; return stored }
            set { lock.lock(); stored = newValue; lock.unlock() }
        }
    }

    /// Reads a pipe to its end on a background thread.
    final class Collector: @unchecked Sendable {
        private let handle: FileHandle
        private let lock = NSLock()
        private var buffer = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) { self.handle = handle }

        func start() {
            Thread.detachNewThread { [self] in
                while true {
                    let d = handle.availableData
                    if d.isEmpty { break }
                    lock.lock(); buffer.append(d); lock.unlock()
                }
                done.signal()
            }
        }

        func finished(within seconds: Double) async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { [self] in
                    if done.wait(timeout: .now() + seconds) == .success { done.signal() }
                    c.resume()
                }
            }
        }

        var data: Data {
            lock.lock()
            defer { lock.unlock() }
            return buffer
        }
    }

    /// A one-shot event that can be awaited.
    final class Exited: @unchecked Sendable {
        private let lock = NSLock()
        private var fired = false
        private var waiter: CheckedContinuation<Void, Never>?

        func signal() {
            lock.lock()
            fired = true
            let w = waiter
            waiter = nil
            lock.unlock()
            w?.resume()
        }

        var hasFired: Bool {
            lock.lock()
            defer { lock.unlock() }
            return fired
        }

        func wait() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if fired { lock.unlock(); c.resume() } else { waiter = c; lock.unlock() }
            }
        }
    }
}

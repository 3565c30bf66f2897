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

    public static func run(_ argv: [String], environment: [String: String], cwd: URL?, stdin: Data? = nil) async throws -> Result {
        guard let first = argv.first, let exe = locate(first, environment: environment, cwd: cwd) else {
            throw Failure.notFound(argv.first ?? "")
        }
        try Task.checkCancellation()
        let process = Process()
        process.executableURL = exe
        process.arguments = Array(argv.dropFirst())
        process.environment = environment
        if let cwd { process.currentDirectoryURL = cwd }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = stdin == nil ? nil : Pipe()
        process.standardInput = inPipe ?? FileHandle.nullDevice
        let out = Collector(outPipe.fileHandleForReading), err = Collector(errPipe.fileHandleForReading)
        let exited = Exited()
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch { throw Failure.launch(first, error.localizedDescription) }
        if let inPipe, let stdin {
            DispatchQueue.global().async {
                inPipe.fileHandleForWriting.write(stdin)
                try? inPipe.fileHandleForWriting.close()
            }
        }
        out.start()
        err.start()
        await withTaskCancellationHandler {
            await exited.wait()
        } onCancel: {
            let pid = process.processIdentifier
            kill(pid, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) { if process.isRunning { kill(pid, SIGKILL) } }
        }
        // A grandchild may keep the pipes open: wait for end of output, but not forever.
        await out.finished(within: 2)
        await err.finished(within: 2)
        try Task.checkCancellation()
        return Result(status: process.terminationStatus, stdout: out.data, stderr: err.data)
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

        func wait() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if fired { lock.unlock(); c.resume() } else { waiter = c; lock.unlock() }
            }
        }
    }
}

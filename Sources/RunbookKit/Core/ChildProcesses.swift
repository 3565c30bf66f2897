import CSpawn
import Foundation

/// Starts child processes so that none outlives `runbook`: each in a process group of its own
/// (a Ctrl-C on the terminal reaches `runbook`, which decides), with `PR_SET_PDEATHSIG` so the
/// kernel kills it when `runbook` dies even by `kill -9`, and registered here so that an
/// immediate stop (a second SIGINT) kills every group first.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends, and the threads of
/// Swift's concurrency pool come and go; so every fork happens on one thread that lives as long
/// as the process.
public final class ChildProcesses: @unchecked Sendable {
    public static let shared = ChildProcesses()

    private let lock = NSLock()
    private var groups: Set<pid_t> = []
    private let requests = DispatchSemaphore(value: 0)
    private var queue: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in
            while true {
                requests.wait()
                lock.lock()
                let job = queue.removeFirst()
                lock.unlock()
                job()
            }
        }
        thread.name = "runbook-spawner"
        thread.start()
    }

    /// Forks and execs on the spawner thread; returns the pid or the errno.
    func spawn(path: String, argv: [String], env: [String], cwd: String?, stdin: Int32, stdout: Int32,
               stderr: Int32) -> Result<pid_t, POSIXErrorBox>
    {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        lock.lock()
        queue.append { [self] in
            let result = withCStrings(argv) { cArgv in
                withCStrings(env) { cEnv -> (Int32, pid_t) in
                    var pid: pid_t = 0
                    let e = runbook_spawn(path, cArgv, cEnv, cwd, stdin, stdout, stderr, SIGKILL, &pid)
                    return (e, pid)
                }
            }
            if result.0 == 0 {
                lock.lock()
                groups.insert(result.1)
                lock.unlock()
            }
            box.value = result
            done.signal()
        }
        lock.unlock()
        requests.signal()
        done.wait()
        let (e, pid) = box.value
        return e == 0 ? .success(pid) : .failure(POSIXErrorBox(code: e))
    }

    /// The group of `pid` ended (its leader was reaped).
    func ended(_ pid: pid_t) {
        lock.lock()
        groups.remove(pid)
        lock.unlock()
    }

    /// Sends `signal` to every live child's process group.
    public func signalAll(_ signal: Int32) {
        lock.lock()
        let all = groups
        lock.unlock()
        for g in all { kill(-g, signal) }
    }

    private final class ResultBox: @unchecked Sendable { var value: (Int32, pid_t) = (0, 0) }

    private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// An errno from starting a program.
public struct POSIXErrorBox: Error, Sendable {
    public let code: Int32
    public var message: String { String(cString: strerror(code)) }
}

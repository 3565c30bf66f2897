import CSpawn
import Foundation

/// Graceful stop on SIGINT/SIGTERM (SPEC §1), as Terraform does: the first signal stops starting
/// steps and cancels the step in flight through its own cancellation (an `exec` child gets
/// SIGTERM); the run checkpoints and ends paused (exit 3). A second signal kills every child
/// process group and exits at once — the write-ahead checkpoint keeps that safe.
public final class StopRequest: @unchecked Sendable {
    public static let shared = StopRequest()

    private let lock = NSLock()
    private var signal: Int32?
    private var installed = false
    private var cancellers: [Int: @Sendable () -> Void] = [:]
    private var nextToken = 0
    private var notice: (@Sendable (String) -> Void)?

    /// The first stop signal received, if any.
    public var requested: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }

    /// `SIGINT` / `SIGTERM` for messages.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(signal)"
        }
    }

    /// Starts catching SIGINT and SIGTERM (once per process); `notice` tells the person what happens.
    public func install(notice: @escaping @Sendable (String) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        self.notice = notice
        guard !installed else { return }
        var fds: [Int32] = [-1, -1]
        guard runbook_pipe_cloexec(&fds) == 0 else { return }
        let reader = fds[0]
        Thread.detachNewThread { [self] in
            var byte: UInt8 = 0
            while true {
                let n = read(reader, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                received(Int32(byte))
            }
        }
        guard runbook_catch_stop_signals(fds[1]) == 0 else { return }
        installed = true
    }

    private func received(_ sig: Int32) {
        lock.lock()
        let first = signal == nil
        if first { signal = sig }
        let cancel = Array(cancellers.values)
        let notice = self.notice
        lock.unlock()
        guard first else {
            notice?("received \(Self.name(sig)) again: stopping at once (the checkpoint is kept; see runbook status)")
            ChildProcesses.shared.signalAll(SIGKILL)
            _exit(128 + sig)
        }
        notice?("received \(Self.name(sig)): no new step starts; the current one is stopped and the run checkpointed "
            + "(send it again to stop at once)")
        for c in cancel { c() }
    }

    /// Calls `cancel` when a stop is requested while the returned token is registered (at once if
    /// one already was).
    public func register(_ cancel: @escaping @Sendable () -> Void) -> Int {
        lock.lock()
        nextToken += 1
        let token = nextToken
        cancellers[token] = cancel
        let already = signal != nil
        lock.unlock()
        if already { cancel() }
        return token
    }

    public func unregister(_ token: Int) {
        lock.lock()
        cancellers[token] = nil
        lock.unlock()
    }
}

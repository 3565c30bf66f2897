import Foundation

/// The process that drives a run right now (or last drove it): recorded in `state.json` each time
/// `run`, `resume` or `rollback` takes the run over, so that `status` and a new run can tell a live
/// run from one whose process is gone.
///
/// A pid alone is not proof of life: pids are reused. The process's start time (clock ticks since
/// boot, `/proc/PID/stat` field 22) and the boot id are recorded too, so a different process that
/// got the same pid, or the same pid after a reboot, is not mistaken for the run's.
public struct RunProcess: Sendable, Equatable {
    public var pid: Int32
    public var host: String
    /// `<boot id>/<start ticks>` of the process, when the platform tells it; nil otherwise.
    public var start: String?

    public init(pid: Int32, host: String, start: String?) {
        self.pid = pid
        self.host = host
        self.start = start
    }

    /// This process.
    public static var current: RunProcess {
        RunProcess(pid: getpid(), host: Identity.host, start: startToken(of: getpid()))
    }

    /// Whether this process still runs: nil when it is on another host (it cannot be checked from here).
    public var isAlive: Bool? {
        guard host == Identity.host else { return nil }
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        // The pid exists; it is the run's process only if it is not a zombie (dead, not yet
        // reaped) and started when the recorded one did.
        if RunProcess.isZombie(pid) { return false }
        guard let start else { return true }
        return RunProcess.startToken(of: pid) == start
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    /// `<boot id>/<start ticks>` of `pid`, read from `/proc`.
    static func startToken(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After the command name (which may hold spaces and parentheses): state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        return "\(boot)/\(fields[19])"
    }

    public var description: String { "pid \(pid) on \(host)" }

    public func toValue() -> Value {
        var o: Object = ["pid": .int(Int(pid)), "host": .string(host)]
        if let start { o["start"] = .string(start) }
        return .object(o)
    }

    public init?(value v: Value?) {
        guard let v, let pid = v["pid"]?.intValue, let host = v["host"]?.stringValue else { return nil }
        self.init(pid: Int32(truncatingIfNeeded: pid), host: host, start: v["start"]?.stringValue)
    }
}

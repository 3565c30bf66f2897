import Foundation

/// What the process is attached to: colour only on a TTY and never with `NO_COLOR`.
public struct Terminal: Sendable {
    public let stdinIsTTY: Bool
    public let stdoutIsTTY: Bool
    public let noColor: Bool

    public static var standard: Terminal {
        let env = ProcessInfo.processInfo.environment
        return Terminal(stdinIsTTY: isatty(STDIN_FILENO) == 1, stdoutIsTTY: isatty(STDOUT_FILENO) == 1,
                        noColor: env["NO_COLOR"].map { !$0.isEmpty } ?? false)
    }

    public init(stdinIsTTY: Bool, stdoutIsTTY: Bool, noColor: Bool) {
        self.stdinIsTTY = stdinIsTTY
        self.stdoutIsTTY = stdoutIsTTY
        self.noColor = noColor
    }

    public var colourOnStdout: Bool { stdoutIsTTY && !noColor }

    /// Asks a yes/no question on `/dev/tty`; anything but `y`/`yes` is no.
    public static func ask(_ question: String) -> Bool {
        guard let tty = fopen("/dev/tty", "r+") else { return false }
        defer { fclose(tty) }
        fputs("\(question) [y/N] ", tty)
        fflush(tty)
        var line: UnsafeMutablePointer<CChar>?
        var cap = 0
        defer { free(line) }
        guard getline(&line, &cap, tty) > 0, let line else { return false }
        let answer = String(cString: line).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return answer == "y" || answer == "yes"
    }
}

/// Writes whole lines to stdout or stderr without buffering surprises.
public enum Console {
    public static func out(_ line: String) { write(STDOUT_FILENO, line + "\n") }
    public static func err(_ line: String) { write(STDERR_FILENO, line + "\n") }
    /// Rewrites the current stdout line (a progress line on a terminal): no newline.
    public static func status(_ line: String) { write(STDOUT_FILENO, "\r\u{1B}[K" + line) }

    private static func write(_ fd: Int32, _ s: String) {
        let data = Array(s.utf8)
        var off = 0
        while off < data.count {
            let n = data[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }
}

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

    /// Asks a yes/no question on `/dev/tty` and waits for the answer until the task is cancelled
    /// (Ctrl-C during a run cancels the step in flight): then it throws `CancellationError`. The
    /// wait is on its own thread, woken by the answer or by the cancellation, never by a timer.
    public static func askUntilCancelled(_ question: String) async throws -> Bool {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return ask(question) }
        let (wake, waker) = (fds[0], fds[1])
        defer { close(wake); close(waker) }
        let answer: Bool? = await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Bool?, Never>) in
                Thread.detachNewThread { done.resume(returning: ask(question, cancelledBy: wake)) }
            }
        } onCancel: {
            var byte: UInt8 = 1
            _ = write(waker, &byte, 1)
        }
        guard let answer else { throw CancellationError() }
        return answer
    }

    /// Reads one line from `/dev/tty`, or gives up (nil) when `cancel` (if not negative) becomes readable.
    static func ask(_ question: String, cancelledBy cancel: Int32) -> Bool? {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else { return false }
        defer { close(tty) }
        let prompt = Array("\(question) [y/N] ".utf8)
        _ = prompt.withUnsafeBytes { write(tty, $0.baseAddress!, $0.count) }
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while !line.contains(UInt8(ascii: "\n")) {
            var fds = [pollfd(fd: tty, events: Int16(POLLIN), revents: 0), pollfd(fd: cancel, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return false
            }
            if fds[1].revents != 0 {
                _ = "\n".utf8CString.withUnsafeBytes { write(tty, $0.baseAddress!, 1) }
                return nil
            }
            let n = read(tty, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            line += buffer[0..<n]
        }
        let answer = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return answer == "y" || answer == "yes"
    }

    /// Asks a yes/no question on `/dev/tty`; anything but `y`/`yes` is no.
    public static func ask(_ question: String) -> Bool {
        ask(question, cancelledBy: -1) ?? false  // poll ignores a negative descriptor: nothing cancels
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

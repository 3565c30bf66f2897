import Foundation

/// Runs the built `runbook` binary as a user would (swift-argument-parser's AssertExecuteCommand
/// approach: the binary sits beside the test bundle, in `<scratch>/debug/`).
public enum RunbookCLI {
    /// The output of one finished run.
    public struct Result: Sendable {
        public let exitCode: Int32
        public let stdout: String
        public let stderr: String
        public var output: String { stdout + stderr }

        public init(exitCode: Int32, stdout: String, stderr: String) {
            self.exitCode = exitCode
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case binaryNotFound([String])
        case timedOut([String])
        public var description: String {
            switch self {
            case .binaryNotFound(let tried): return "the runbook binary is not built; looked in \(tried.joined(separator: ", "))"
            case .timedOut(let args): return "runbook \(args.joined(separator: " ")) did not finish in time"
            }
        }
    }

    /// `$RUNBOOK_BINARY`, else `runbook` in the directory of the test bundle.
    public static func binary() throws -> URL {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["RUNBOOK_BINARY"] { candidates.append(URL(fileURLWithPath: env)) }
        for bundle in [Bundle.main] + Bundle.allBundles {
            var dir = bundle.bundleURL
            if dir.lastPathComponent.hasSuffix(".xctest") || !dir.hasDirectoryPath { dir = dir.deletingLastPathComponent() }
            candidates.append(dir.appendingPathComponent("runbook"))
        }
        if let exe = CommandLine.arguments.first {
            var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
            if url.lastPathComponent == "MacOS" { url = url.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
            candidates.append(url.appendingPathComponent("runbook"))
        }
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) && !c.hasDirectoryPath { return c }
        throw Failure.binaryNotFound(candidates.map(\.path))
    }

    /// The environment tests run the binary with: the caller's, without runbook settings that
    /// would leak in, with `NO_COLOR`, plus `env`.
    public static func environment(_ env: [String: String]) -> [String: String] {
        var e = ProcessInfo.processInfo.environment
        for k in ["RUNBOOK_STATE_DIR", "RUNBOOK_PATH", "KUBECONFIG"] { e.removeValue(forKey: k) }
        e["NO_COLOR"] = "1"
        for (k, v) in env { e[k] = v }
        return e
    }

    /// Runs `runbook args…` to the end (killed after `timeout` seconds).
    public static func run(_ args: [String], env: [String: String] = [:], cwd: URL? = nil, stdin: String? = nil,
                           timeout: TimeInterval = 120) throws -> Result
    {
        let p = try start(args, env: env, cwd: cwd, stdin: stdin)
        guard p.wait(timeout: timeout) else {
            p.kill9()
            _ = p.wait(timeout: 10)
            throw Failure.timedOut(args)
        }
        return p.result()
    }

    /// Starts `runbook args…` and returns at once; for killing it mid-step.
    public static func start(_ args: [String], env: [String: String] = [:], cwd: URL? = nil, stdin: String? = nil) throws -> Running {
        try Running(binary: try binary(), args: args, env: environment(env), cwd: cwd, stdin: stdin)
    }

    /// A started `runbook` process; output goes to temp files so pipes never fill up.
    public final class Running: @unchecked Sendable {
        let process = Process()
        let ended = DispatchSemaphore(value: 0)
        let outFile: URL
        let errFile: URL

        init(binary: URL, args: [String], env: [String: String], cwd: URL?, stdin: String?) throws {
            let tmp = FileManager.default.temporaryDirectory
            outFile = tmp.appendingPathComponent("runbook-out-\(UUID().uuidString)")
            errFile = tmp.appendingPathComponent("runbook-err-\(UUID().uuidString)")
            for file in [outFile, errFile] where !FileManager.default.createFile(atPath: file.path, contents: nil) {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
            }
            process.executableURL = binary
            process.arguments = args
            let ended = self.ended
            process.terminationHandler = { _ in ended.signal() }
            process.environment = env
            if let cwd { process.currentDirectoryURL = cwd }
            process.standardOutput = try FileHandle(forWritingTo: outFile)
            process.standardError = try FileHandle(forWritingTo: errFile)
            if let stdin {
                let pipe = Pipe()
                process.standardInput = pipe
                try process.run()
                pipe.fileHandleForWriting.write(Data(stdin.utf8))
                try pipe.fileHandleForWriting.close()
            } else {
                process.standardInput = FileHandle.nullDevice
                try process.run()
            }
        }

        public var pid: Int32 { process.processIdentifier }

        /// `kill -9`: the process dies at once, in the middle of whatever it does.
        public func kill9() { kill(process.processIdentifier, SIGKILL) }

        /// Waits for the process to end (on its termination, no polling); false when `timeout`
        /// passed first. May be called again after a timeout.
        public func wait(timeout: TimeInterval) -> Bool {
            guard ended.wait(timeout: .now() + timeout) == .success else { return false }
            ended.signal()  // later waits return at once
            process.waitUntilExit()
            return true
        }

        public func result() -> Result {
            let out = (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: outFile)
            try? FileManager.default.removeItem(at: errFile)
            return Result(exitCode: process.terminationStatus, stdout: out, stderr: err)
        }
    }
}

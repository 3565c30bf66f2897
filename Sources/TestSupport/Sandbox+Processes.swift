import Foundation

extension Sandbox {
    /// Runs a program to its end, collecting its output (in temporary files, so no pipe fills up).
    public static func run(_ program: String, _ args: [String], stdin: String? = nil, environment: [String: String]? = nil,
                           cwd: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String)
    {
        try exec(program, args, stdin: stdin, environment: environment, cwd: cwd)
    }

    /// `run` with a time limit: the program is killed and `Failure.timedOut` thrown after `timeout`
    /// seconds. Waits on the process's end (no polling).
    public static func exec(_ program: String, _ args: [String], stdin: String? = nil, environment: [String: String]? = nil,
                            cwd: URL? = nil, timeout: TimeInterval = 600) throws -> (status: Int32, stdout: String, stderr: String)
    {
        let tmp = FileManager.default.temporaryDirectory
        let o = tmp.appendingPathComponent("sbx-\(UUID().uuidString).out")
        let e = tmp.appendingPathComponent("sbx-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: o.path, contents: nil)
        _ = FileManager.default.createFile(atPath: e.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: o); try? FileManager.default.removeItem(at: e) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        if let environment { p.environment = environment }
        if let cwd { p.currentDirectoryURL = cwd }
        let oh = try FileHandle(forWritingTo: o)
        let eh = try FileHandle(forWritingTo: e)
        defer { try? oh.close(); try? eh.close() }
        p.standardOutput = oh
        p.standardError = eh
        let ended = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in ended.signal() }
        var inPipe: Pipe?
        if stdin != nil { inPipe = Pipe(); p.standardInput = inPipe } else { p.standardInput = FileHandle.nullDevice }
        try p.run()
        if let stdin, let inPipe {
            inPipe.fileHandleForWriting.write(Data(stdin.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        if ended.wait(timeout: .now() + timeout) == .timedOut {
            kill(p.processIdentifier, SIGKILL)
            ended.wait()
            throw Failure.timedOut("\(program) \(args.joined(separator: " "))", timeout)
        }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: o, encoding: .utf8)) ?? "",
                (try? String(contentsOf: e, encoding: .utf8)) ?? "")
    }
}

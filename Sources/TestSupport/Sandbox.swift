import Foundation
import RunbookKit

/// A running sandbox (`Tests/Sandbox/sandbox up`) for end-to-end tests: start one per test
/// class in `class func setUp`, stop it in `class func tearDown`.
public final class Sandbox: @unchecked Sendable {
    public let dir: URL
    /// The `export` lines of `DIR/env`, parsed.
    public let env: [String: String]
    public var kubeconfig: String { dir.appendingPathComponent("kubeconfig").path }

    /// The repository root (found from this file's location).
    public static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public enum Failure: Error, CustomStringConvertible {
        case command(String, Int32, String)
        public var description: String {
            if case .command(let c, let s, let e) = self { return "\(c) exited \(s): \(e)" }
            return ""
        }
    }

    /// Starts a sandbox with the given fixtures (and vars of fixtures that generate their
    /// objects, e.g. many-cronjobs' `cronjobs`/`namespaces`) in a fresh temporary directory.
    public static func up(fixtures: [String], fixtureVars: [String: String] = [:]) throws -> Sandbox {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-\(UUID().uuidString.prefix(8))")
        var args = ["up", "--dir", dir.path]
        for f in fixtures { args += ["--fixture", f] }
        for (k, v) in fixtureVars.sorted(by: { $0.key < $1.key }) { args += ["--fixture-var", "\(k)=\(v)"] }
        let r = try run(repoRoot.appendingPathComponent("Tests/Sandbox/sandbox").path, args)
        guard r.status == 0 else { throw Failure.command("sandbox up", r.status, r.stderr + r.stdout) }
        let text = (try? String(contentsOf: dir.appendingPathComponent("env"), encoding: .utf8)) ?? ""
        var env: [String: String] = [:]
        for line in text.split(separator: "\n") {
            var l = line.trimmingCharacters(in: .whitespaces)
            guard l.hasPrefix("export ") else { continue }
            l.removeFirst(7)
            guard let eq = l.firstIndex(of: "=") else { continue }
            var v = String(l[l.index(after: eq)...])
            if v.count >= 2, let f = v.first, f == "'" || f == "\"", v.last == f { v = String(v.dropFirst().dropLast()) }
            env[String(l[..<eq])] = v
        }
        return Sandbox(dir: dir, env: env)
    }

    init(dir: URL, env: [String: String]) {
        self.dir = dir
        self.env = env
    }

    /// Stops everything the sandbox started and removes its directory.
    public func down() {
        _ = try? Sandbox.run(Sandbox.repoRoot.appendingPathComponent("Tests/Sandbox/sandbox").path, ["down", "--dir", dir.path])
        try? FileManager.default.removeItem(at: dir)
    }

    /// Real `kubectl --kubeconfig DIR/kubeconfig ARGS…`.
    public func kubectl(_ args: [String], context: String? = nil, stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        var a = ["--kubeconfig", kubeconfig]
        if let c = context { a += ["--context", c] }
        return try Sandbox.run("/usr/bin/env", ["kubectl"] + a + args, stdin: stdin)
    }

    /// `kubectl get … -o json`, parsed; nil when kubectl reports NotFound.
    public func kubectlJSON(_ args: [String]) throws -> Value? {
        let r = try kubectl(["get"] + args + ["-o", "json"])
        if r.status != 0 {
            if r.stderr.contains("NotFound") || r.stderr.contains("not found") { return nil }
            throw Failure.command("kubectl get \(args.joined(separator: " "))", r.status, r.stderr)
        }
        return try Value.parseJSON(r.stdout)
    }

    /// Makes the next `count` matching requests fail (see `sandbox fault`).
    /// With `after`, the request takes effect and its answer is lost (`sandbox fault --after`).
    public func fault(target: String = "kube", method: String? = nil, path: String? = nil, count: Int = 1, action: String,
                      after: Bool = false) throws {
        var args = ["fault", "--dir", dir.path, "--target", target, "--count", String(count), "--action", action]
        if after { args.append("--after") }
        if let m = method { args += ["--method", m] }
        if let p = path { args += ["--path", p] }
        let r = try Sandbox.run(Sandbox.repoRoot.appendingPathComponent("Tests/Sandbox/sandbox").path, args)
        guard r.status == 0 else { throw Failure.command("sandbox fault", r.status, r.stderr) }
    }

    public func clearFaults() throws {
        _ = try Sandbox.run(Sandbox.repoRoot.appendingPathComponent("Tests/Sandbox/sandbox").path, ["fault", "--dir", dir.path, "--clear"])
    }

    /// Runs a program, collecting its output.
    public static func run(_ program: String, _ args: [String], stdin: String? = nil, environment: [String: String]? = nil,
                           cwd: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String)
    {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        if let environment { p.environment = environment }
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? inp.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up.
        let box = DataBox()
        let done = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        Thread { box.data = errHandle.readDataToEndOfFile(); done.signal() }.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        let errData = box.data
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

private final class DataBox: @unchecked Sendable { var data = Data() }

import Foundation
import RunbookKit

/// A running sandbox (`Tests/Sandbox/sandbox up`) for end-to-end tests — the one Swift harness.
/// Share one per test class with `SharedSandbox`; `up`/`down` start and stop one by hand.
public final class Sandbox: @unchecked Sendable {
    public let dir: URL
    /// The sandbox's environment (KUBECONFIG, PG*, AWS_*, CLOUDSDK_*), from `DIR/env.json`.
    public let env: [String: String]
    public var kubeconfig: String { dir.appendingPathComponent("kubeconfig").path }

    /// The repository root (found from this file's location).
    public static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `Tests/Sandbox/sandbox`, the sandbox's command line.
    public static var script: String { repoRoot.appendingPathComponent("Tests/Sandbox/sandbox").path }

    /// Why a sandbox command failed, with its own output.
    public enum Failure: Error, CustomStringConvertible {
        case command(String, Int32, String)
        case timedOut(String, TimeInterval)
        public var description: String {
            switch self {
            case .command(let c, let s, let e): return "\(c) exited \(s): \(e)"
            case .timedOut(let c, let t): return "\(c) did not finish in \(Int(t)) s"
            }
        }
    }

    /// Starts a sandbox with the given fixtures (and vars of fixtures that generate their
    /// objects, e.g. many-cronjobs' `cronjobs`/`namespaces`) in a fresh temporary directory. When
    /// it does not start, throws `Failure.command` with the sandbox's output and the end of its
    /// daemon.log, having stopped whatever it had started.
    public static func up(fixtures: [String], fixtureVars: [String: String] = [:]) throws -> Sandbox {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-\(UUID().uuidString.prefix(8))")
        var args = ["up", "--dir", dir.path]
        for f in fixtures { args += ["--fixture", f] }
        for (k, v) in fixtureVars.sorted(by: { $0.key < $1.key }) { args += ["--fixture-var", "\(k)=\(v)"] }
        let r = try exec(script, args, timeout: 300)
        guard r.status == 0 else {
            let log = (try? String(contentsOf: dir.appendingPathComponent("daemon.log"), encoding: .utf8)) ?? ""
            let tail = log.split(separator: "\n", omittingEmptySubsequences: false).suffix(40).joined(separator: "\n")
            _ = try? exec(script, ["down", "--dir", dir.path], timeout: 120)
            try? FileManager.default.removeItem(at: dir)
            throw Failure.command("sandbox up \(fixtures.joined(separator: " "))", r.status,
                                  r.stdout + r.stderr + (tail.isEmpty ? "" : "\n--- end of daemon.log:\n" + tail))
        }
        let data = try Data(contentsOf: dir.appendingPathComponent("env.json"))
        let env = try JSONDecoder().decode([String: String].self, from: data)
        return Sandbox(dir: dir, env: env)
    }

    init(dir: URL, env: [String: String]) {
        self.dir = dir
        self.env = env
    }

    /// Stops everything the sandbox started and removes its directory.
    public func down() {
        _ = try? Sandbox.exec(Sandbox.script, ["down", "--dir", dir.path], timeout: 120)
        try? FileManager.default.removeItem(at: dir)
    }

    /// `DIR/sandbox.json` as it is now (Services and postgres Pods come and go).
    public func info() throws -> [String: Any] {
        let data = try Data(contentsOf: dir.appendingPathComponent("sandbox.json"))
        return (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// The loopback port of a Service (`namespace/name`, or `namespace/name/INDEX` for a further port).
    public func servicePort(_ key: String) -> Int? {
        guard let services = (try? info())?["services"] as? [String: Any] else { return nil }
        if let n = services[key] as? Int { return n }
        return (services[key] as? String).flatMap { Int($0) }
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

    /// Real `psql` on the sandbox's main server: `-At` output, errors throw.
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        let r = try Sandbox.exec("/usr/bin/env", ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
                                 environment: e, timeout: 60)
        guard r.status == 0 else { throw Failure.command("psql", r.status, r.stderr) }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

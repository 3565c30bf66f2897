import Foundation
import RunbookKit
import TestSupport
import XCTest

/// What the migration tests need around one sandbox: the built `runbook` binary, real `kubectl`,
/// `psql` and `curl` as witnesses, whole-object snapshots, and a scan for leaked secrets.
final class MigrationHarness: @unchecked Sendable {
    /// The output of one finished process.
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
        var text: String { stdout + stderr }
    }

    enum HarnessError: Error, CustomStringConvertible {
        case failed(String)
        var description: String { if case .failed(let m) = self { return m }; return "" }
    }

    static var repoRoot: URL { Sandbox.repoRoot }

    /// The sandbox (TestSupport's harness) this one works on.
    let sandbox: Sandbox
    var dir: URL { sandbox.dir }
    /// The environment runbooks run with: the caller's, the sandbox's, a state dir in the sandbox dir.
    let env: [String: String]
    /// Every output of every command run through `runbook(_:)`, scanned by `assertNoSecretLeaks`.
    private(set) var transcripts: [String] = []
    private let lock = NSLock()

    /// Starts a sandbox with the given fixtures (and fixture vars) in a fresh directory (failing
    /// with its output).
    init(fixtures: [String], fixtureVars: [String: String] = [:]) throws {
        sandbox = try Sandbox.up(fixtures: fixtures, fixtureVars: fixtureVars)
        var merged = ProcessInfo.processInfo.environment.merging(sandbox.env) { $1 }
        merged["RUNBOOK_STATE_DIR"] = sandbox.dir.appendingPathComponent("state").path
        merged["NO_COLOR"] = "1"
        merged.removeValue(forKey: "RUNBOOK_PATH")
        env = merged
    }

    /// Stops the sandbox; nothing it started keeps running.
    func shutdown() { sandbox.down() }

    var stateDir: URL { dir.appendingPathComponent("state") }
    var kubeconfig: String { sandbox.kubeconfig }

    /// The loopback port of a Service (`namespace/name`) in the sandbox.
    func servicePort(_ key: String) -> Int? { sandbox.servicePort(key) }

    /// `DIR/sandbox.json` as it is now.
    var sandboxInfo: [String: Any] { (try? sandbox.info()) ?? [:] }

    // MARK: processes

    /// The built `runbook` (TestSupport's `RunbookCLI.binary()`: `RUNBOOK_BINARY` or beside the tests).
    static var binary: String { (try? RunbookCLI.binary().path) ?? "runbook" }

    /// Runs `runbook ARGS` from the repository root with the sandbox's environment. With
    /// `inCluster` (a `LeastPrivilegeIdentity`'s `env`), the run's only Kubernetes credentials are
    /// those: the admin's `KUBECONFIG` is left out (and `--kubeconfig` refused).
    @discardableResult
    func runbook(_ args: [String], extraEnv: [String: String] = [:], env inCluster: [String: String]? = nil,
                 timeout: TimeInterval = 600) throws -> Output {
        let out = try Self.exec(Self.binary, args, env: try environment(extraEnv, inCluster: inCluster, args: args),
                                cwd: Self.repoRoot, timeout: timeout)
        lock.lock(); transcripts.append(out.stdout); transcripts.append(out.stderr); lock.unlock()
        return out
    }

    /// The environment of one run: the sandbox's plus `extra`; with `inCluster`, without the
    /// admin kubeconfig and with the in-cluster variables instead.
    func environment(_ extra: [String: String], inCluster: [String: String]?, args: [String]) throws -> [String: String] {
        var e = env.merging(extra) { $1 }
        if let inCluster {
            guard !args.contains(where: { $0 == "--kubeconfig" || $0.hasPrefix("--kubeconfig=") || $0 == "--context" }) else {
                throw HarnessError.failed("a least-privilege run was given the admin's --kubeconfig/--context: \(args)")
            }
            e.removeValue(forKey: "KUBECONFIG")
            e.merge(inCluster) { $1 }
        }
        return e
    }

    /// Starts `runbook ARGS` in the background; its output goes to files under the sandbox dir.
    /// `inCluster` as for `runbook(_:)`.
    func startRunbook(_ args: [String], env inCluster: [String: String]? = nil) throws -> (Process, URL, URL) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.environment = try environment([:], inCluster: inCluster, args: args)
        p.currentDirectoryURL = Self.repoRoot
        let o = dir.appendingPathComponent("bg-\(UUID().uuidString.prefix(6)).out")
        let e = dir.appendingPathComponent("bg-\(UUID().uuidString.prefix(6)).err")
        _ = FileManager.default.createFile(atPath: o.path, contents: nil)
        _ = FileManager.default.createFile(atPath: e.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: o)
        p.standardError = try FileHandle(forWritingTo: e)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return (p, o, e)
    }

    /// Adds a background run's output to the transcripts that the leak scan reads.
    func collect(_ files: URL...) {
        for f in files { if let s = try? String(contentsOf: f, encoding: .utf8) { transcripts.append(s) } }
    }

    /// `kubectl --kubeconfig DIR/kubeconfig ARGS` (the real kubectl as a witness).
    @discardableResult
    func kubectl(_ args: [String], stdin: String? = nil) throws -> Output {
        try Self.exec("/usr/bin/env", ["kubectl", "--kubeconfig", kubeconfig] + args, env: env, stdin: stdin, timeout: 120)
    }

    /// `Tests/Sandbox/sandbox fault --dir DIR ARGS`.
    func fault(_ args: [String]) throws { try sandbox.fault(args) }

    /// `psql DSN -Atc QUERY`: one line per row, columns joined by `|`.
    func psql(_ dsn: String, _ query: String) throws -> String {
        let out = try Self.exec("/usr/bin/env", ["psql", dsn, "-v", "ON_ERROR_STOP=1", "-XAtc", query], env: env, timeout: 60)
        guard out.status == 0 else { throw HarnessError.failed("psql failed: \(out.stderr)") }
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A call to the GCP Secret Manager emulator with curl (GET unless told): (HTTP status, JSON body).
    func gcp(_ path: String, method: String = "GET") throws -> (Int, [String: Any]) {
        var base = env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"] ?? ""
        if !base.hasSuffix("/") { base += "/" }
        let token = env["CLOUDSDK_AUTH_ACCESS_TOKEN"] ?? ""
        var args = ["curl", "-sS", "-k", "-X", method, "-H", "Authorization: Bearer \(token)", "-w", "\n%{http_code}"]
        if method == "POST" { args += ["-H", "Content-Type: application/json", "-d", "{}"] }
        let out = try Self.exec("/usr/bin/env", args + [base + path], env: env, timeout: 60)
        guard out.status == 0 else { throw HarnessError.failed("curl \(path) failed: \(out.stderr)") }
        var lines = out.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.popLast() ?? "") ?? 0
        let body = lines.joined(separator: "\n")
        let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        return (code, json)
    }

    /// Runs a program to its end (TestSupport's `Sandbox.exec`: output in files, a time limit).
    static func exec(_ path: String, _ args: [String], env: [String: String], cwd: URL? = nil, stdin: String? = nil,
                     timeout: TimeInterval = 600) throws -> Output
    {
        let r = try Sandbox.exec(path, args, stdin: stdin, environment: env, cwd: cwd, timeout: timeout)
        return Output(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    // MARK: runs

    /// The run id from `--output json` (the `run.finished` event) or, failing that, the newest run dir.
    func runID(from out: Output) -> String? {
        for line in out.stdout.split(separator: "\n").reversed() {
            if let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
               let id = obj["run_id"] as? String { return id }
        }
        return newestRunID()
    }

    func newestRunID() -> String? {
        let runs = stateDir.appendingPathComponent("runs")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? []
        // Run ids end in <UTC yyyymmddThhmmss>-<4 hex>: order by that timestamp.
        func stamp(_ id: String) -> String { id.split(separator: "-").suffix(2).joined(separator: "-") }
        return names.max { stamp($0) < stamp($1) }
    }

    /// Forgets every unfinished run left by an earlier test that failed midway, so that its
    /// failure stays with it instead of blocking the next test's runs (exit 4).
    func forgetUnfinishedRuns() {
        guard let out = try? runbook(["history", "--output", "json"]),
              let doc = (try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any] else { return }
        for run in (doc["runs"] as? [[String: Any]]) ?? [] where run["unfinished"] as? Bool == true {
            if let id = run["run_id"] as? String { _ = try? runbook(["forget", id, "--reason", "test reset", "--yes"]) }
        }
    }

    /// Every run id in the state dir.
    func runIDs() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: stateDir.appendingPathComponent("runs").path)) ?? [])
    }

    /// Waits until the events.jsonl of a run not in `excluding` (runs of earlier tests) has a line
    /// containing every fragment (false at the timeout, or as soon as `process` has ended without
    /// such a line).
    func waitForEvent(containing fragments: [String], timeout: TimeInterval, while process: Process? = nil,
                      excluding: Set<String> = []) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let runs = stateDir.appendingPathComponent("runs")
        while Date() < deadline {
            let ended = process.map { !$0.isRunning } ?? false
            for name in (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? [] where !excluding.contains(name) {
                let text = (try? String(contentsOf: runs.appendingPathComponent(name).appendingPathComponent("events.jsonl"), encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n") where fragments.allSatisfy({ line.contains($0) }) { return true }
            }
            if ended { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// Runs a chain of processes over one run, a segment per step: a segment (`run`, then
    /// `resume`) has its stdout closed by the reader once the next step not yet done finishes
    /// (as `| head` or a quit `less` would), and gets SIGINT right then, at the step boundary.
    /// Each segment must end paused (exit 3; not killed by SIGPIPE) until one completes.
    /// Returns the run id and the number of segments.
    func interruptAtEveryStep(runbook: String, steps: [String], file: StaticString = #filePath,
                              line: UInt = #line) throws -> (String, Int) {
        var runID: String?
        var target = 0
        for segment in 0..<(2 * steps.count) {
            let args = runID.map { ["resume", $0, "--yes", "--output", "json"] } ?? ["run", runbook, "--yes", "--output", "json"]
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.binary)
            p.arguments = args
            p.environment = env
            p.currentDirectoryURL = Self.repoRoot
            let out = Pipe()
            let errFile = dir.appendingPathComponent("chain-\(segment).err")
            _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
            p.standardOutput = out
            p.standardError = try FileHandle(forWritingTo: errFile)
            p.standardInput = FileHandle.nullDevice
            try p.run()
            // Read JSON events until a step from `target` on has finished, then close the pipe.
            func index(in text: Substring) -> Int? {
                guard text.contains("\"event\":\"step.finished\"") else { return nil }
                return steps.indices.dropFirst(target).first { text.contains("\"step\":\"\(steps[$0])\"") }
            }
            var buffer = Data()
            var reached: Int?
            let reader = out.fileHandleForReading
            while reached == nil {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                for l in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
                    if runID == nil, let obj = (try? JSONSerialization.jsonObject(with: Data(l.utf8))) as? [String: Any] {
                        runID = obj["run_id"] as? String
                    }
                    if reached == nil { reached = index(in: l) }
                }
            }
            try reader.close()
            lock.lock(); transcripts.append(String(decoding: buffer, as: UTF8.self)); lock.unlock()
            let id = try XCTUnwrap(runID, "segment \(segment) printed no run id", file: file, line: line)
            let at = try XCTUnwrap(reached, "segment \(segment) never reached \(steps[target])", file: file, line: line)
            kill(p.processIdentifier, SIGINT)
            p.waitUntilExit()
            collect(errFile)
            XCTAssertEqual(p.terminationReason, .exit, "segment \(segment) was killed by a signal", file: file, line: line)
            let status = runStatus(id)
            switch (p.terminationStatus, status.0) {
            case (0, "succeeded"):
                return (id, segment + 1)
            case (3, "paused"):
                target = status.1
            default:
                let err = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
                XCTFail("segment \(segment) (pipe closed at \(steps[at])) exited \(p.terminationStatus) with the run \(status.0): \(err)",
                        file: file, line: line)
                return (id, segment + 1)
            }
        }
        XCTFail("the run did not complete in \(2 * steps.count) segments", file: file, line: line)
        return (runID ?? "", 2 * steps.count)
    }

    /// A run's status and the index of its first step not done yet, as a reader sees the
    /// checkpoint: `state.json` with the journal's newer records folded in (a killed process may
    /// have appended its last records to the journal without compacting them into `state.json`).
    func runStatus(_ runID: String) -> (String, Int) {
        guard let state = try? StateStore(root: stateDir).load(runID) else { return ("?", 0) }
        let next = state.steps.firstIndex { ![.succeeded, .skipped].contains($0.status) } ?? state.steps.count
        return (state.status.rawValue, next)
    }

    /// The lines of a run's events.jsonl.
    func eventLines(_ runID: String) -> [String] {
        let file = stateDir.appendingPathComponent("runs/\(runID)/events.jsonl")
        return ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Whether a run's JSON events report `step` (`--output json`) finished as failed.
    static func reportsFailed(_ step: String, in out: Output) -> Bool {
        out.text.split(separator: "\n").contains {
            $0.contains("\"event\":\"step.finished\"") && $0.contains("\"step\":\"\(step)\"") && $0.contains("\"status\":\"failed\"")
        }
    }

    /// For each case, from a fresh start (`reset`): inject the fault, run (exit 1, with that step
    /// reported failed in the JSON events), clear the fault, and compare `world` with before.
    func assertEveryFaultRollsBack(_ cases: [(step: String, fault: [String])], reset: () -> Void,
                                   world: () throws -> String, run: () throws -> Output,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        for c in cases {
            reset()  // each case on its own: a failed case does not spoil the next
            let before = try world()
            try fault(c.fault)
            let out = try run()
            XCTAssertEqual(out.status, 1, "\(c.step): \(out.text)", file: file, line: line)
            XCTAssertTrue(Self.reportsFailed(c.step, in: out), "\(c.step) is the failed step: \(out.text)", file: file, line: line)
            try fault(["--clear"])
            let after = try world()
            if before != after {
                XCTFail("after a failure at \(c.step): the cluster, the store or the data differ\n\(Self.diff(before, after))", file: file, line: line)
            }
        }
    }

    // MARK: snapshots

    /// An object from the cluster as JSON, or nil when it does not exist.
    func object(_ kind: String, _ name: String, namespace: String) throws -> [String: Any]? {
        let out = try kubectl(["-n", namespace, "get", kind, name, "-o", "json", "--ignore-not-found"])
        guard out.status == 0 else { throw HarnessError.failed("kubectl get \(kind) \(name): \(out.stderr)") }
        if out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return nil }
        return (try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any]
    }

    /// All objects of a kind in a namespace (items of `kubectl get KIND -o json`).
    func objects(_ kind: String, namespace: String) throws -> [[String: Any]] {
        let out = try kubectl(["-n", namespace, "get", kind, "-o", "json"])
        guard out.status == 0 else { throw HarnessError.failed("kubectl get \(kind): \(out.stderr)") }
        let list = (try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any]
        return (list?["items"] as? [[String: Any]]) ?? []
    }

    /// A whole object minus what changes without anyone changing it: resourceVersion,
    /// managedFields, generation, status (observed state) — and, with `recreated`, the identity
    /// that a re-created object necessarily gets anew (uid, creationTimestamp).
    /// Secret values are replaced by a digest so that a failing comparison prints no secret.
    static func normalized(_ obj: [String: Any], recreated: Bool = false) -> [String: Any] {
        var o = obj
        var meta = o["metadata"] as? [String: Any] ?? [:]
        for k in ["resourceVersion", "managedFields", "generation", "selfLink"] { meta.removeValue(forKey: k) }
        if recreated {
            // Identity a re-created object (or one owned by a re-created object) necessarily gets anew.
            for k in ["uid", "creationTimestamp"] { meta.removeValue(forKey: k) }
            if let owners = meta["ownerReferences"] as? [[String: Any]] {
                meta["ownerReferences"] = owners.map { o -> [String: Any] in var o = o; o.removeValue(forKey: "uid"); return o }
            }
            if var labels = meta["labels"] as? [String: Any] {
                labels.removeValue(forKey: "reconcile.external-secrets.io/created-by")  // a hash of the owner's uid
                meta["labels"] = labels
            }
        }
        if var ann = meta["annotations"] as? [String: Any] {
            ann.removeValue(forKey: "kubectl.kubernetes.io/last-applied-configuration")
            meta["annotations"] = ann.isEmpty ? nil : ann
        }
        o["metadata"] = meta
        o.removeValue(forKey: "status")
        if o["kind"] as? String == "Secret", let data = o["data"] as? [String: Any] {
            o["data"] = data.mapValues { v in "sha:" + digest("\(v)") }
        }
        return o
    }

    /// Canonical JSON text (sorted keys) for comparisons and readable failures.
    static func canonical(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value) || value is [Any] || value is [String: Any],
              let d = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted]) else { return "\(value)" }
        return String(decoding: d, as: UTF8.self)
    }

    /// A short, non-reversible digest (FNV-1a 64) so a secret can be compared without being printed.
    static func digest(_ s: String) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in s.utf8 { h ^= UInt64(b); h = h &* 0x100000001b3 }
        return String(h, radix: 16)
    }

    /// The GCP project as the store reads: each secret with its versions' states and the digest
    /// of what `latest` returns.
    func gcpSnapshot(project: String) throws -> [String: Any] {
        let (code, list) = try gcp("v1/projects/\(project)/secrets?pageSize=250")
        guard code == 200 else { throw HarnessError.failed("GCP list secrets answered \(code)") }
        var out: [String: Any] = [:]
        for s in (list["secrets"] as? [[String: Any]]) ?? [] {
            guard let name = s["name"] as? String else { continue }
            let (_, versions) = try gcp("v1/\(name)/versions?pageSize=250")
            let states = ((versions["versions"] as? [[String: Any]]) ?? []).map { v in
                "\(((v["name"] as? String) ?? "").split(separator: "/").last ?? ""):\(v["state"] ?? "")"
            }.sorted()
            let (accessCode, access) = try gcp("v1/\(name)/versions/latest:access")
            var latest = "http \(accessCode)"
            if accessCode == 200, let payload = access["payload"] as? [String: Any], let data = payload["data"] as? String {
                latest = "sha:" + Self.digest(data)
            }
            out[name] = ["versions": states, "latest": latest]
        }
        return out
    }

    /// The value `latest` of a GCP secret returns, decoded (nil when it cannot be read).
    func gcpLatest(project: String, secret: String) throws -> String? {
        let (code, access) = try gcp("v1/projects/\(project)/secrets/\(secret)/versions/latest:access")
        guard code == 200, let payload = access["payload"] as? [String: Any], let b64 = payload["data"] as? String,
              let data = Data(base64Encoded: b64) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// A key of a Secret, decoded (nil when the Secret or the key does not exist).
    func secretValue(_ name: String, key: String, namespace: String) throws -> String? {
        guard let s = try object("secret", name, namespace: namespace), let data = s["data"] as? [String: Any],
              let b64 = data[key] as? String, let d = Data(base64Encoded: b64) else { return nil }
        return String(decoding: d, as: UTF8.self)
    }

    /// A unified diff of two texts (by `diff -u`), for readable failures.
    static func diff(_ a: String, _ b: String) -> String {
        let tmp = FileManager.default.temporaryDirectory
        let fa = tmp.appendingPathComponent("mh-\(UUID().uuidString).a"), fb = tmp.appendingPathComponent("mh-\(UUID().uuidString).b")
        defer { try? FileManager.default.removeItem(at: fa); try? FileManager.default.removeItem(at: fb) }
        guard (try? a.write(to: fa, atomically: true, encoding: .utf8)) != nil, (try? b.write(to: fb, atomically: true, encoding: .utf8)) != nil,
              let out = try? exec("/usr/bin/env", ["diff", "-u", "--label", "before", "--label", "after", fa.path, fb.path],
                                  env: ProcessInfo.processInfo.environment) else { return "--- before\n\(a)\n--- after\n\(b)" }
        return out.stdout
    }

    // MARK: secrets

    /// Fails when any value (or its base64 form) appears in any runbook output so far or in any
    /// file under the state dir.
    func assertNoSecretLeaks(_ values: [String], file: StaticString = #filePath, line: UInt = #line) {
        let needles = values.filter { $0.count >= 4 }.flatMap { v -> [String] in
            let b64 = Data(v.utf8).base64EncodedString()
            return [v, b64, b64.trimmingCharacters(in: CharacterSet(charactersIn: "="))]
        }
        lock.lock(); let texts = transcripts; lock.unlock()
        for (i, t) in texts.enumerated() {
            for n in needles where t.contains(n) {
                XCTFail("a secret value (digest \(Self.digest(n))) appears in runbook output #\(i)", file: file, line: line)
            }
        }
        let fm = FileManager.default
        // A test that only planned (first in its class) leaves no state dir at all: nothing to scan.
        guard fm.fileExists(atPath: stateDir.path),
              let walker = fm.enumerator(at: stateDir, includingPropertiesForKeys: [.isRegularFileKey]) else { return }
        var scanned = 0
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                  let data = try? Data(contentsOf: url) else { continue }
            scanned += 1
            let text = String(decoding: data, as: UTF8.self)
            for n in needles where text.contains(n) {
                XCTFail("a secret value (digest \(Self.digest(n))) appears in \(url.path)", file: file, line: line)
            }
        }
        XCTAssertGreaterThan(scanned, 0, "the state dir \(stateDir.path) holds no files to scan", file: file, line: line)
    }
}

import Foundation

/// One fault rule as the sandbox reports it: `fired` times it fired, `count` uses left.
public struct FaultRule: Sendable, Equatable {
    public let target: String
    public let method: String?
    public let path: String?
    public let action: String
    public let count: Int
    public let fired: Int
}

extension Sandbox {
    /// Makes the next `count` matching requests fail (see `sandbox fault`). With `after`, the
    /// request takes effect and its answer is lost (`sandbox fault --after`).
    public func fault(target: String = "kube", method: String? = nil, path: String? = nil, count: Int = 1, action: String,
                      delay: Double? = nil, after: Bool = false) throws {
        var args = ["--target", target, "--count", String(count), "--action", action]
        if after { args.append("--after") }
        if let m = method { args += ["--method", m] }
        if let p = path { args += ["--path", p] }
        if let d = delay { args += ["--delay", String(d)] }
        try fault(args)
    }

    /// `sandbox fault --dir DIR ARGS…` as given (e.g. `["--clear"]`).
    public func fault(_ args: [String]) throws {
        let r = try Sandbox.exec(Sandbox.script, ["fault", "--dir", dir.path] + args, timeout: 60)
        guard r.status == 0 else { throw Failure.command("sandbox fault \(args.joined(separator: " "))", r.status, r.stderr) }
    }

    public func clearFaults() throws { try fault(["--clear"]) }

    /// Every fault rule since the last clear, used up or not, with how often it fired.
    public func faultHistory() throws -> [FaultRule] {
        let r = try Sandbox.exec(Sandbox.script, ["fault", "--dir", dir.path, "--list"], timeout: 60)
        guard r.status == 0 else { throw Failure.command("sandbox fault --list", r.status, r.stderr) }
        let doc = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
        return ((doc["history"] as? [[String: Any]]) ?? []).map {
            FaultRule(target: $0["target"] as? String ?? "", method: $0["method"] as? String, path: $0["path"] as? String,
                      action: $0["action"] as? String ?? "", count: $0["count"] as? Int ?? 0, fired: $0["fired"] as? Int ?? 0)
        }
    }

    /// Waits until the rule for `path` has fired `times` times (e.g. a slowed request is now held
    /// inside the sandbox); false at the timeout.
    public func waitForFault(path: String, fired times: Int = 1, timeout: TimeInterval = 30) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if try faultHistory().contains(where: { $0.path == path && $0.fired >= times }) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        return false
    }
}

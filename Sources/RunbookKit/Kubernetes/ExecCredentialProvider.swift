import Foundation

/// Runs a `client.authentication.k8s.io/v1` exec plugin and caches what it returns until its
/// `expirationTimestamp` (or until the server rejects it).
final class ExecCredentialProvider: @unchecked Sendable {
    struct Credential: Sendable {
        var token: String?
        var clientCertPEM: Data?
        var clientKeyPEM: Data?
        var expires: Date?
    }

    let config: Kubeconfig.ExecConfig
    let server: String
    let caPEM: Data?
    let environment: [String: String]
    private let lock = NSLock()
    private var cached: Credential?

    init(config: Kubeconfig.ExecConfig, server: String, caPEM: Data?, environment: [String: String]) {
        self.config = config
        self.server = server
        self.caPEM = caPEM
        self.environment = environment
    }

    /// The cached credential while valid (with a 10 s margin), else a fresh one.
    func credential(refresh: Bool = false) throws -> Credential {
        lock.lock()
        defer { lock.unlock() }
        if !refresh, let c = cached, c.expires.map({ $0.timeIntervalSinceNow > 10 }) ?? true { return c }
        let c = try run()
        cached = c
        return c
    }

    private func run() throws -> Credential {
        var spec: Value = ["interactive": false]
        if config.provideClusterInfo {
            var cluster: Value = ["server": .string(server)]
            if let ca = caPEM { cluster["certificate-authority-data"] = .string(ca.base64EncodedString()) }
            spec["cluster"] = cluster
        }
        let info: Value = ["apiVersion": .string(config.apiVersion), "kind": "ExecCredential", "spec": spec]
        let p = Process()
        if config.command.contains("/") {
            p.executableURL = URL(fileURLWithPath: config.command)
            p.arguments = config.args
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [config.command] + config.args
        }
        var env = environment
        env.merge(config.env) { _, new in new }
        env["KUBERNETES_EXEC_INFO"] = info.jsonString()
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { throw KubeError.credentialPlugin("cannot run \(config.command): \(error.localizedDescription)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw KubeError.credentialPlugin("\(config.command) exited with \(p.terminationStatus): \(errText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard let v = try? Value.parseJSON(data), v["kind"] == "ExecCredential", let status = v["status"] else {
            throw KubeError.credentialPlugin("\(config.command) did not print an ExecCredential object")
        }
        var c = Credential()
        c.token = status["token"]?.stringValue
        c.clientCertPEM = status["clientCertificateData"]?.stringValue.map { Data($0.utf8) }
        c.clientKeyPEM = status["clientKeyData"]?.stringValue.map { Data($0.utf8) }
        if let ts = status["expirationTimestamp"]?.stringValue {
            c.expires = ISO8601DateFormatter().date(from: ts)
        }
        if c.token == nil && (c.clientCertPEM == nil || c.clientKeyPEM == nil) {
            throw KubeError.credentialPlugin("\(config.command) returned neither a token nor a client certificate and key")
        }
        return c
    }
}

import Foundation

/// A kubeconfig (possibly merged from several files) as kubectl reads it.
public struct Kubeconfig: Sendable {
    public struct Cluster: Sendable {
        public var server: String
        public var certificateAuthorityData: Data?
        public var certificateAuthority: String?
        public var insecureSkipTLSVerify = false
    }
    public struct ExecConfig: Sendable, Hashable {
        public var command: String
        public var args: [String] = []
        public var env: [String: String] = [:]
        public var apiVersion: String
        public var provideClusterInfo = false
    }
    public struct User: Sendable {
        public var clientCertificateData: Data?
        public var clientCertificate: String?
        public var clientKeyData: Data?
        public var clientKey: String?
        public var token: String?
        public var tokenFile: String?
        public var exec: ExecConfig?
        public var username: String?
        public var password: String?
    }
    public struct Context: Sendable {
        public var cluster: String
        public var user: String
        public var namespace: String?
    }

    public var clusters: [String: Cluster] = [:]
    public var users: [String: User] = [:]
    public var contexts: [String: Context] = [:]
    public var currentContext: String?

    public init() {}

    /// Reads one kubeconfig document. Relative file paths inside resolve against `directory`,
    /// as kubectl does.
    public init(value v: Value, directory: String) throws {
        func path(_ p: String?) -> String? {
            guard let p, !p.isEmpty else { return nil }
            if p.hasPrefix("/") { return p }
            if p.hasPrefix("~/") { return NSHomeDirectory() + p.dropFirst(1) }
            return directory + "/" + p
        }
        func b64(_ s: Value?, _ what: String) throws -> Data? {
            guard let s = s?.stringValue, !s.isEmpty else { return nil }
            guard let d = Data(base64Encoded: s.filter { !$0.isWhitespace }) else { throw KubeError.config("\(what) is not valid base64") }
            return d
        }
        for entry in v["clusters"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue, let c = entry["cluster"] else { continue }
            guard let server = c["server"]?.stringValue else { throw KubeError.config("cluster \(name) has no server") }
            clusters[name] = Cluster(server: server,
                                     certificateAuthorityData: try b64(c["certificate-authority-data"], "cluster \(name) certificate-authority-data"),
                                     certificateAuthority: path(c["certificate-authority"]?.stringValue),
                                     insecureSkipTLSVerify: c["insecure-skip-tls-verify"]?.boolValue ?? false)
        }
        for entry in v["users"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue else { continue }
            let u = entry["user"] ?? .object(Object())
            var user = User()
            user.clientCertificateData = try b64(u["client-certificate-data"], "user \(name) client-certificate-data")
            user.clientCertificate = path(u["client-certificate"]?.stringValue)
            user.clientKeyData = try b64(u["client-key-data"], "user \(name) client-key-data")
            user.clientKey = path(u["client-key"]?.stringValue)
            user.token = u["token"]?.stringValue
            user.tokenFile = path(u["tokenFile"]?.stringValue)
            user.username = u["username"]?.stringValue
            user.password = u["password"]?.stringValue
            if let e = u["exec"], let cmd = e["command"]?.stringValue {
                var env: [String: String] = [:]
                for pair in e["env"]?.arrayValue ?? [] {
                    if let n = pair["name"]?.stringValue { env[n] = pair["value"]?.stringValue ?? "" }
                }
                // A bare command name is looked up on PATH; a relative path is relative to the file.
                let command = cmd.contains("/") ? (path(cmd) ?? cmd) : cmd
                user.exec = ExecConfig(command: command, args: (e["args"]?.arrayValue ?? []).compactMap(\.stringValue), env: env,
                                       apiVersion: e["apiVersion"]?.stringValue ?? "client.authentication.k8s.io/v1",
                                       provideClusterInfo: e["provideClusterInfo"]?.boolValue ?? false)
            }
            users[name] = user
        }
        for entry in v["contexts"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue, let c = entry["context"] else { continue }
            contexts[name] = Context(cluster: c["cluster"]?.stringValue ?? "", user: c["user"]?.stringValue ?? "",
                                     namespace: c["namespace"]?.stringValue)
        }
        let cc = v["current-context"]?.stringValue
        currentContext = (cc?.isEmpty ?? true) ? nil : cc
    }

    /// kubectl's merge of a KUBECONFIG list: the first file to define a name (or the current
    /// context) wins; later files only add what is missing.
    public mutating func merge(_ other: Kubeconfig) {
        clusters.merge(other.clusters) { mine, _ in mine }
        users.merge(other.users) { mine, _ in mine }
        contexts.merge(other.contexts) { mine, _ in mine }
        if currentContext == nil { currentContext = other.currentContext }
    }
}

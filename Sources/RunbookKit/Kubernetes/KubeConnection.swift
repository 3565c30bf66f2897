import Foundation

/// Everything needed to reach one API server as one user: the result of resolving a
/// kubeconfig context (or the in-cluster service account).
public struct KubeConnection: Sendable {
    public enum Credential: Sendable {
        case none
        case token(String)
        /// Re-read on use: projected service-account tokens rotate.
        case tokenFile(String)
        case exec(Kubeconfig.ExecConfig)
        case basic(String, String)
    }

    public var server: String
    public var tls: TLSConfig
    public var credential: Credential
    /// The default namespace (from the context, else `default`).
    public var namespace: String
    /// Which context (or "in-cluster") this came from, for messages.
    public var source: String

    public init(server: String, tls: TLSConfig, credential: Credential, namespace: String, source: String) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.tls = tls
        self.credential = credential
        self.namespace = namespace
        self.source = source
    }

    public static let serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Resolves cluster access the way kubectl does: `--kubeconfig`, else `KUBECONFIG` (a
    /// colon-separated list merged first-wins), else `~/.kube/config`, else the in-cluster
    /// service account. `--context` overrides the current context.
    public static func resolve(_ options: ClientOptions, serviceAccountDir: String = serviceAccountDir) throws -> KubeConnection {
        let env = options.environment
        var files: [String] = []
        if let k = options.kubeconfig, !k.isEmpty {
            guard FileManager.default.fileExists(atPath: k) else { throw KubeError.config("--kubeconfig \(k) does not exist") }
            files = [k]
        } else if let list = env["KUBECONFIG"], !list.isEmpty {
            let named = list.split(separator: ":").map(String.init)
            files = named.filter { FileManager.default.fileExists(atPath: $0) }
            // kubectl skips missing files of the list; when none is left, say which were missing.
            if files.isEmpty {
                throw KubeError.config("KUBECONFIG names \(named.joined(separator: ", ")), which \(named.count == 1 ? "does" : "do") not exist")
            }
        } else {
            let home = env["HOME"] ?? NSHomeDirectory()
            let def = home + "/.kube/config"
            if FileManager.default.fileExists(atPath: def) { files = [def] }
        }
        if files.isEmpty {
            if let host = env["KUBERNETES_SERVICE_HOST"], let port = env["KUBERNETES_SERVICE_PORT"] {
                // RUNBOOK_SERVICEACCOUNT_DIR moves the token, ca.crt and namespace files (tests, sidecars)
                let dir = env["RUNBOOK_SERVICEACCOUNT_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? serviceAccountDir
                return try inCluster(host: host, port: port, dir: dir)
            }
            throw KubeError.config("no cluster configuration: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster")
        }
        var merged = Kubeconfig()
        for f in files { merged.merge(try load(file: f)) }
        return try connection(merged, context: options.context, files: files)
    }

    /// Reads and parses one kubeconfig file.
    public static func load(file: String) throws -> Kubeconfig {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw KubeError.config("cannot read \(file): \(error.localizedDescription)")
        }
        let docs: [YAMLNode]
        do { docs = try YAMLParser.parse(text, file: file) } catch {
            throw KubeError.config("\(file) is not valid YAML: \(error.localizedDescription)")
        }
        guard let doc = docs.first else { return Kubeconfig() }
        let dir = (file as NSString).deletingLastPathComponent
        return try Kubeconfig(value: doc.toValue(), directory: dir.isEmpty ? "." : dir)
    }

    /// Picks the context and turns it into a connection, reading referenced files.
    public static func connection(_ config: Kubeconfig, context: String?, files: [String] = []) throws -> KubeConnection {
        let where_ = files.joined(separator: ":")
        guard let ctxName = context ?? config.currentContext else {
            throw KubeError.config("no current-context in \(where_); pass --context")
        }
        guard let ctx = config.contexts[ctxName] else {
            throw KubeError.config("context \"\(ctxName)\" not found in \(where_) (contexts: \(config.contexts.keys.sorted().joined(separator: ", ")))")
        }
        guard let cluster = config.clusters[ctx.cluster] else {
            throw KubeError.config("context \"\(ctxName)\" names cluster \"\(ctx.cluster)\", which is not defined")
        }
        let user = config.users[ctx.user] ?? Kubeconfig.User()
        func read(_ p: String, _ what: String) throws -> Data {
            guard let d = FileManager.default.contents(atPath: p) else { throw KubeError.config("cannot read \(what) \(p)") }
            return d
        }
        var tls = TLSConfig()
        tls.caPEM = try cluster.certificateAuthorityData ?? cluster.certificateAuthority.map { try read($0, "certificate-authority") }
        tls.insecureSkipVerify = cluster.insecureSkipTLSVerify
        tls.clientCertPEM = try user.clientCertificateData ?? user.clientCertificate.map { try read($0, "client-certificate") }
        tls.clientKeyPEM = try user.clientKeyData ?? user.clientKey.map { try read($0, "client-key") }
        if (tls.clientCertPEM == nil) != (tls.clientKeyPEM == nil) {
            throw KubeError.config("user \"\(ctx.user)\" has a client certificate without a key (or a key without a certificate)")
        }
        let credential: Credential
        if let t = user.token, !t.isEmpty { credential = .token(t) }
        else if let f = user.tokenFile { credential = .tokenFile(f) }
        else if let e = user.exec { credential = .exec(e) }
        else if let u = user.username, let p = user.password { credential = .basic(u, p) }
        else { credential = .none }
        return KubeConnection(server: cluster.server, tls: tls, credential: credential,
                              namespace: ctx.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default", source: "context \(ctxName)")
    }

    static func inCluster(host: String, port: String, dir: String) throws -> KubeConnection {
        let h = host.contains(":") ? "[\(host)]" : host
        guard FileManager.default.fileExists(atPath: dir + "/token") else {
            throw KubeError.config("KUBERNETES_SERVICE_HOST is set but \(dir)/token does not exist")
        }
        let ca = FileManager.default.contents(atPath: dir + "/ca.crt")
        let ns = (try? String(contentsOfFile: dir + "/namespace", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return KubeConnection(server: "https://\(h):\(port)", tls: TLSConfig(caPEM: ca), credential: .tokenFile(dir + "/token"),
                              namespace: (ns?.isEmpty ?? true) ? "default" : ns!, source: "in-cluster service account")
    }
}

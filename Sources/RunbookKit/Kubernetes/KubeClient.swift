import Foundation

/// A Kubernetes API client for one connection: credentials, discovery cache and one reused
/// HTTPS connection (per TLS identity). Calls retry transient faults with bounded backoff.
public final class KubeClient: @unchecked Sendable {
    public let connection: KubeConnection
    public var defaultNamespace: String { connection.namespace }
    let retry: RetryBackoff
    /// Each attempt's deadline unless a call gives its own (`RequestPolicy`).
    let requestTimeout: TimeInterval
    private let exec: ExecCredentialProvider?
    private let lock = NSLock()
    private var clients: [TLSConfig: HTTPClient] = [:]
    private var discovery: [String: [KubeResource]] = [:]

    public init(connection: KubeConnection, environment: [String: String] = ProcessInfo.processInfo.environment,
                retry: RetryBackoff = RetryBackoff(attempts: 6, initial: 0.25, maximum: 5), requestTimeout: TimeInterval = 30)
    {
        self.connection = connection
        self.retry = retry
        self.requestTimeout = requestTimeout
        if case .exec(let cfg) = connection.credential {
            exec = ExecCredentialProvider(config: cfg, server: connection.server, caPEM: connection.tls.caPEM, environment: environment)
        } else {
            exec = nil
        }
    }

    private func httpClient(_ tls: TLSConfig) -> HTTPClient {
        lock.lock()
        defer { lock.unlock() }
        if let c = clients[tls] { return c }
        let c = HTTPClient(tls: tls)
        clients[tls] = c
        return c
    }

    // MARK: - Raw requests

    /// Sends a request to `path` (with query) and returns the response whatever its status.
    /// `headers` are sent besides the credentials; `retry` replaces the client's policy for
    /// transient faults; `timeout` bounds each attempt.
    public func raw(_ method: String, _ path: String, body: Data? = nil, contentType: String = "application/json",
                    accept: String = "application/json", headers extra: [(String, String)] = [],
                    retry: RetryBackoff? = nil, timeout: TimeInterval? = nil) async throws -> HTTPResponse
    {
        var refreshed = false
        while true {
            var tls = connection.tls
            var headers: [(String, String)] = [("Accept", accept), ("User-Agent", "runbook")]
            if body != nil { headers.append(("Content-Type", contentType)) }
            headers += extra
            switch connection.credential {
            case .none: break
            case .token(let t): headers.append(("Authorization", "Bearer \(t)"))
            case .tokenFile(let f):
                guard let t = try? String(contentsOfFile: f, encoding: .utf8) else { throw KubeError.config("cannot read token file \(f)") }
                headers.append(("Authorization", "Bearer \(t.trimmingCharacters(in: .whitespacesAndNewlines))"))
            case .basic(let u, let p):
                headers.append(("Authorization", "Basic \(Data("\(u):\(p)".utf8).base64EncodedString())"))
            case .exec:
                let c = try exec!.credential(refresh: refreshed)
                if let t = c.token { headers.append(("Authorization", "Bearer \(t)")) }
                if let cert = c.clientCertPEM, let key = c.clientKeyPEM { tls.clientCertPEM = cert; tls.clientKeyPEM = key }
            }
            let request = HTTPRequest(method: method, url: connection.server + path, headers: headers, body: body,
                                      timeout: timeout ?? requestTimeout)
            let response: HTTPResponse
            do {
                response = try await httpClient(tls).send(request, retry: retry ?? self.retry)
            } catch let e as HTTPError {
                throw KubeError.transport(e, request: "\(method) \(HTTPClient.redact(path))")
            }
            // An exec credential the server no longer accepts: get a fresh one, once.
            if response.status == 401, exec != nil, !refreshed { refreshed = true; continue }
            return response
        }
    }

    /// Sends a request and decodes the JSON answer; a failure status becomes `KubeError.status`.
    @discardableResult
    public func request(_ method: String, _ path: String, body: Value? = nil, contentType: String = "application/json") async throws -> Value {
        let r = try await raw(method, path, body: body.map { $0.jsonData() }, contentType: contentType)
        guard (200..<300).contains(r.status) else { throw KubeError.from(r, request: "\(method) \(HTTPClient.redact(path))") }
        if r.body.isEmpty { return .null }
        do { return try Value.parseJSON(r.body) } catch {
            throw KubeError.status(code: r.status, reason: "BadResponse", message: "the API server sent invalid JSON: \(error)", causes: [],
                                   request: "\(method) \(path)")
        }
    }

    // MARK: - Discovery

    /// The resource serving `apiVersion`/`kind`, from discovery (cached; refreshed once on a miss,
    /// so a CRD installed during the run is found).
    public func resource(apiVersion: String, kind: String) async throws -> KubeResource {
        for attempt in 0..<2 {
            let list = try await resources(groupVersion: apiVersion, refresh: attempt == 1)
            if let r = list.first(where: { $0.kind == kind }) { return r }
        }
        throw KubeError.unknownKind(apiVersion: apiVersion, kind: kind)
    }

    private func resources(groupVersion: String, refresh: Bool) async throws -> [KubeResource] {
        if !refresh, let hit = lock.withLock({ discovery[groupVersion] }) { return hit }
        let parts = groupVersion.split(separator: "/").map(String.init)
        let (group, version) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts.first ?? "")
        let path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        let r = try await raw("GET", path)
        var list: [KubeResource] = []
        if r.status == 200, let v = try? Value.parseJSON(r.body) {
            for item in v["resources"]?.arrayValue ?? [] {
                guard let name = item["name"]?.stringValue, !name.contains("/"), let kind = item["kind"]?.stringValue else { continue }
                list.append(KubeResource(group: group, version: version, kind: kind, name: name, namespaced: item["namespaced"]?.boolValue ?? true))
            }
        } else if r.status != 404 {
            throw KubeError.from(r, request: "GET \(path)")
        }
        lock.withLock { discovery[groupVersion] = list }
        return list
    }

    // MARK: - Objects

    /// The namespace to use for `resource`: nil for cluster-scoped kinds.
    public func namespace(_ ns: String?, for resource: KubeResource) -> String? {
        resource.namespaced ? ((ns?.isEmpty ?? true) ? defaultNamespace : ns) : nil
    }

    /// The object, or nil when it does not exist.
    public func get(_ ref: ObjectRef) async throws -> Value? {
        let res = try await resource(apiVersion: ref.apiVersion, kind: ref.kind)
        let path = res.path(namespace: namespace(ref.namespace, for: res), name: ref.name)
        let r = try await raw("GET", path)
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw KubeError.from(r, request: "GET \(path)") }
        return try Value.parseJSON(r.body)
    }

    public func list(apiVersion: String, kind: String, namespace ns: String?, labelSelector: String? = nil) async throws -> [Value] {
        let res = try await resource(apiVersion: apiVersion, kind: kind)
        var path = res.path(namespace: namespace(ns, for: res))
        if let sel = labelSelector { path += "?labelSelector=\(sel.urlQueryEscaped)" }
        return try await request("GET", path)["items"]?.arrayValue ?? []
    }

    public func create(_ object: Value, dryRun: Bool = false) async throws -> Value {
        let ref = try ObjectRef(object: object, defaultNamespace: defaultNamespace)
        let res = try await resource(apiVersion: ref.apiVersion, kind: ref.kind)
        var obj = object
        if res.namespaced { obj["metadata"]?["namespace"] = .string(namespace(ref.namespace, for: res)!) }
        return try await request("POST", res.path(namespace: namespace(ref.namespace, for: res)) + (dryRun ? "?dryRun=All" : ""), body: obj)
    }

    /// PUT: replaces the object (its `metadata.resourceVersion` guards against lost updates).
    public func replace(_ object: Value, dryRun: Bool = false) async throws -> Value {
        let ref = try ObjectRef(object: object, defaultNamespace: defaultNamespace)
        let res = try await resource(apiVersion: ref.apiVersion, kind: ref.kind)
        let path = res.path(namespace: namespace(ref.namespace, for: res), name: ref.name) + (dryRun ? "?dryRun=All" : "")
        return try await request("PUT", path, body: object)
    }

    public func patch(_ ref: ObjectRef, contentType: String, patch: Value, dryRun: Bool = false, subresource: String? = nil,
                      query: [String] = []) async throws -> Value
    {
        let res = try await resource(apiVersion: ref.apiVersion, kind: ref.kind)
        let q = query + (dryRun ? ["dryRun=All"] : [])
        let path = res.path(namespace: namespace(ref.namespace, for: res), name: ref.name, subresource: subresource)
            + (q.isEmpty ? "" : "?" + q.joined(separator: "&"))
        return try await request("PATCH", path, body: patch, contentType: contentType)
    }

    /// Deletes; returns false when there was nothing to delete.
    @discardableResult
    public func delete(_ ref: ObjectRef, dryRun: Bool = false, propagation: String = "Background") async throws -> Bool {
        let res = try await resource(apiVersion: ref.apiVersion, kind: ref.kind)
        var path = res.path(namespace: namespace(ref.namespace, for: res), name: ref.name) + "?propagationPolicy=\(propagation)"
        if dryRun { path += "&dryRun=All" }
        let r = try await raw("DELETE", path)
        if r.status == 404 { return false }
        guard (200..<300).contains(r.status) else { throw KubeError.from(r, request: "DELETE \(HTTPClient.redact(path))") }
        return true
    }

    /// The last `lines` lines of a Pod's log (all containers' default).
    public func logs(namespace: String, pod: String, lines: Int = 50) async throws -> String {
        let path = "/api/v1/namespaces/\(namespace.urlPathEscaped)/pods/\(pod.urlPathEscaped)/log?tailLines=\(lines)"
        let r = try await raw("GET", path, accept: "*/*")
        guard r.status == 200 else { throw KubeError.from(r, request: "GET \(path)") }
        return r.text
    }
}

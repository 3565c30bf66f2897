import Foundation

/// GCP Secret Manager (REST v1). Secrets use automatic replication; plain reads access the
/// `latest` alias, which is the most recently *created* version — so undoing a version means
/// adding the prior value again, then disabling the undone version.
public struct GCPSecretManager: SecretStore {
    let transport: StoreTransport
    let base: String
    let project: String
    let token: GCPAccessToken

    init(transport: StoreTransport, environment: [String: String], project: String, token: GCPAccessToken) {
        self.transport = transport
        self.base = Self.baseURL(environment["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"])
        self.project = project
        self.token = token
    }

    /// `…/v1` from gcloud's override (`https://host/` or `https://host/v1/`), or Google's endpoint.
    static func baseURL(_ override: String?) -> String {
        var b = (override?.isEmpty == false ? override! : "https://secretmanager.googleapis.com/")
        while b.hasSuffix("/") { b.removeLast() }
        return b.hasSuffix("/v1") ? b : b + "/v1"
    }

    public func label(_ name: String) -> String { "GCP secret projects/\(project)/secrets/\(name)" }

    /// The project as a path segment (ids are `[a-z0-9-]`, but domain-scoped ones have `:` and `.`).
    private var projectPath: String {
        project.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn:
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:")) ?? project
    }

    private func secretURL(_ name: String) -> String { "\(base)/projects/\(projectPath)/secrets/\(name)" }

    public func current(_ name: String) async throws -> SecretCurrent {
        let r = try await call("GET", "\(secretURL(name))/versions/latest:access", what: label(name), allow: [404, 400])
        if r.status == 200 { return .present(try decodeAccess(r, name)) }
        // 404: no secret, or a secret without versions; 400 FAILED_PRECONDITION: latest is disabled/destroyed.
        let meta = try await call("GET", secretURL(name), what: label(name), allow: [404])
        if meta.status == 404 { return .absent }
        if r.status == 404 { return .unreadable(latest: nil) }
        let latest = try await call("GET", "\(secretURL(name))/versions/latest", what: label(name), allow: [404])
        let id = latest.status == 200 ? (try? Value.parseJSON(latest.body))?["name"]?.stringValue.map(Self.versionID) : nil
        return .unreadable(latest: id)
    }

    public func read(_ name: String, version: String?) async throws -> SecretVersion {
        let v = version ?? "latest"
        let what = version.map { "version \($0) of \(label(name))" } ?? label(name)
        return try decodeAccess(try await call("GET", "\(secretURL(name))/versions/\(v):access", what: what), name)
    }

    private func decodeAccess(_ r: HTTPResponse, _ name: String) throws -> SecretVersion {
        let body = try? Value.parseJSON(r.body)
        guard let versionName = body?["name"]?.stringValue, let b64 = body?["payload"]?["data"]?.stringValue,
              let data = Data(base64Encoded: b64)
        else { throw SecretStoreError.badResponse(store: "GCP Secret Manager", reason: "access without name/payload.data") }
        if let crc = body?["payload"]?["dataCrc32c"]?.interpolated, let want = UInt32(crc), want != CRC32C.checksum(data) {
            throw SecretStoreError.badResponse(store: "GCP Secret Manager", reason: "payload checksum mismatch for \(label(name))")
        }
        return SecretVersion(version: Self.versionID(versionName), value: String(decoding: data, as: UTF8.self))
    }

    public func create(_ name: String, value: String, requestToken: String) async throws -> String {
        _ = try await call("POST", "\(base)/projects/\(projectPath)/secrets?secretId=\(name)", what: label(name),
                           body: ["replication": ["automatic": [:]]], allow: [409])
        return try await addVersion(name, value: value, requestToken: requestToken)
    }

    public func addVersion(_ name: String, value: String, requestToken: String) async throws -> String {
        let data = Data(value.utf8)
        let body: Value = ["payload": ["data": .string(data.base64EncodedString()),
                                       "dataCrc32c": .string(String(CRC32C.checksum(data)))]]
        // Not idempotent: a retry after a lost answer would add a second version. Before retrying,
        // look: the same value already the newest version means the lost attempt got through.
        let sent = try await transport.sendWrite(try makeRequest("POST", "\(secretURL(name)):addVersion", body: body),
                                                 retryable: Self.retryable) {
            if case .present(let v) = try await self.current(name), v.value == value { return true }
            return false
        }
        guard let sent else {
            guard case .present(let v) = try await current(name) else {
                throw SecretStoreError.badResponse(store: "GCP Secret Manager", reason: "the version added to \(label(name)) is gone")
            }
            return v.version
        }
        let r = try check(sent, what: label(name))
        guard let v = (try? Value.parseJSON(r.body))?["name"]?.stringValue else {
            throw SecretStoreError.badResponse(store: "GCP Secret Manager", reason: "addVersion without name")
        }
        return Self.versionID(v)
    }

    public func delete(_ name: String) async throws {
        _ = try await call("DELETE", secretURL(name), what: label(name), allow: [404])
    }

    public func restore(_ name: String, previous: String, added: String?) async throws {
        let prior = try await read(name, version: previous)
        let now = try await current(name)
        if case .present(let v) = now, v.value == prior.value, v.version != added {
            // Already restored (a repeated rollback): only the undone version may still be enabled.
        } else {
            _ = try await addVersion(name, value: prior.value, requestToken: "")
        }
        if let added { try await retire(name, version: added) }
    }

    /// Disables `version` (reversible, unlike destroy) so that nobody reads the undone value.
    public func retire(_ name: String, version: String) async throws {
        let meta = try await call("GET", "\(secretURL(name))/versions/\(version)", what: label(name), allow: [404])
        guard meta.status == 200, (try? Value.parseJSON(meta.body))?["state"]?.stringValue == "ENABLED" else { return }
        _ = try await call("POST", "\(secretURL(name))/versions/\(version):disable", what: label(name), body: [:])
    }

    static func versionID(_ resourceName: String) -> String {
        resourceName.split(separator: "/").last.map(String.init) ?? resourceName
    }

    /// One REST call; statuses in `allow` are returned, other failures become `SecretStoreError`s
    /// with Google's `error.status` and `error.message`.
    private func call(_ method: String, _ url: String, what: String, body: Value? = nil, allow: Set<Int> = []) async throws
        -> HTTPResponse
    {
        let r = try await transport.send(try makeRequest(method, url, body: body), retryable: Self.retryable)
        return try check(r, what: what, allow: allow)
    }

    static func retryable(_ r: HTTPResponse) -> Bool { r.status >= 500 || r.status == 429 }

    private func makeRequest(_ method: String, _ url: String, body: Value?) throws -> HTTPRequest {
        HTTPRequest(method: method, url: url,
                    headers: [("Authorization", "Bearer \(try token.token())"), ("Accept", "application/json")]
                        + (body == nil ? [] : [("Content-Type", "application/json")]),
                    body: body?.jsonData(), timeout: 30)
    }

    /// `r` when it succeeded (or has a status in `allow`); otherwise the `SecretStoreError` with
    /// Google's `error.status` and `error.message`.
    private func check(_ r: HTTPResponse, what: String, allow: Set<Int> = []) throws -> HTTPResponse {
        if (200..<300).contains(r.status) || allow.contains(r.status) { return r }
        let err = (try? Value.parseJSON(r.body))?["error"]
        let status = err?["status"]?.stringValue ?? "HTTP \(r.status)"
        let reason = "\(status): \(err?["message"]?.stringValue ?? String(r.text.prefix(300)))"
        switch r.status {
        case 401, 403: throw SecretStoreError.permissionDenied(store: "GCP Secret Manager (\(what))", reason: reason)
        case 404: throw SecretStoreError.notFound(what: what, reason: reason)
        case 429: throw SecretStoreError.throttled(store: "GCP Secret Manager", reason: reason)
        case 500...: throw SecretStoreError.unavailable(store: "GCP Secret Manager", reason: reason)
        default: throw SecretStoreError.rejected(store: "GCP Secret Manager (\(what))", status: r.status, reason: reason)
        }
    }
}

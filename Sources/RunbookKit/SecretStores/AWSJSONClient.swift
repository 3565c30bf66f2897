import Foundation

/// The AWS JSON 1.1 protocol shared by SSM and Secrets Manager: `POST /` with
/// `X-Amz-Target: <prefix>.<Operation>`, a JSON body, SigV4 signing done by libcurl.
struct AWSJSONClient: Sendable {
    /// An error answer: the exception's short name (`ParameterNotFound`) and its message.
    struct ServiceError: Error {
        var type: String
        var message: String
        var status: Int
    }

    let transport: StoreTransport
    let endpoint: String
    let targetPrefix: String
    let signer: AWSSigV4

    static let throttlingTypes: Set<String> = [
        "ThrottlingException", "TooManyRequestsException", "ThrottledException", "RequestLimitExceeded",
        "Throttling", "TooManyUpdates",
    ]
    static let deniedTypes: Set<String> = [
        "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignature",
        "ExpiredTokenException", "InvalidClientTokenId", "MissingAuthenticationToken", "AccessDenied",
    ]

    /// Calls `operation`; returns the decoded answer, throws `ServiceError` for a service
    /// exception that the caller may want to handle, `SecretStoreError` for everything else.
    func call(_ operation: String, _ body: Value) async throws -> Value {
        let response = try await transport.send(request(operation, body), retryable: Self.retryable)
        return try decode(response, operation)
    }

    /// A write that is not idempotent: before a retry `tookEffect` re-reads the remote state, and
    /// nil comes back when the write is already there (its answer was lost after the commit).
    func callWrite(_ operation: String, _ body: Value, tookEffect: () async throws -> Bool) async throws -> Value? {
        guard let response = try await transport.sendWrite(request(operation, body), retryable: Self.retryable,
                                                           tookEffect: tookEffect) else { return nil }
        return try decode(response, operation)
    }

    static func retryable(_ r: HTTPResponse) -> Bool {
        r.status >= 500 || r.status == 429 || throttlingTypes.contains(errorType(r))
    }

    private func request(_ operation: String, _ body: Value) -> HTTPRequest {
        HTTPRequest(method: "POST", url: endpoint,
                    headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "\(targetPrefix).\(operation)"),
                              ("Accept", "application/json")],
                    body: body.jsonData(), timeout: 30, sigV4: signer)
    }

    private func decode(_ response: HTTPResponse, _ operation: String) throws -> Value {
        if (200..<300).contains(response.status) {
            if response.body.isEmpty { return .object(Object()) }
            do { return try Value.parseJSON(response.body) } catch {
                throw SecretStoreError.badResponse(store: transport.store, reason: "\(operation) answered with invalid JSON")
            }
        }
        let type = Self.errorType(response)
        let parsed = try? Value.parseJSON(response.body)
        let message = parsed?["message"]?.stringValue ?? parsed?["Message"]?.stringValue
            ?? String(response.text.prefix(300))
        let reason = "\(type.isEmpty ? "HTTP \(response.status)" : type): \(message)"
        if Self.throttlingTypes.contains(type) || response.status == 429 {
            throw SecretStoreError.throttled(store: transport.store, reason: reason)
        }
        if response.status >= 500 { throw SecretStoreError.unavailable(store: transport.store, reason: reason) }
        if Self.deniedTypes.contains(type) || response.status == 403 {
            throw SecretStoreError.permissionDenied(store: transport.store, reason: reason)
        }
        throw ServiceError(type: type, message: message, status: response.status)
    }

    /// The short exception name from the body's `__type` (`prefix#Name`) or `x-amzn-errortype`.
    static func errorType(_ r: HTTPResponse) -> String {
        guard r.status >= 400 else { return "" }
        var raw = (try? Value.parseJSON(r.body))?["__type"]?.stringValue ?? r.headers["x-amzn-errortype"] ?? ""
        if let colon = raw.firstIndex(of: ":") { raw = String(raw[..<colon]) }
        if let hash = raw.lastIndex(of: "#") { raw = String(raw[raw.index(after: hash)...]) }
        return raw
    }

    /// A `ServiceError` the caller did not handle, as a store error with the provider's reason.
    func unexpected(_ e: ServiceError, _ what: String) -> SecretStoreError {
        if e.type.hasSuffix("NotFound") || e.type.hasSuffix("NotFoundException") {
            return .notFound(what: what, reason: "\(e.type): \(e.message)")
        }
        return .rejected(store: transport.store, status: e.status, reason: "\(e.type): \(e.message)")
    }
}

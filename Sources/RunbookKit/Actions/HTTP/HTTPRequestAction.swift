import Foundation

/// `http.request`: one HTTP request to a `url`, or to a Service through the API server's service
/// proxy (`service: {namespace, name, port}` + `path`; no port-forward, the run's cluster
/// credentials and connection). With `interval`, the request repeats until `expect` holds or
/// `timeout` passes ("until healthy"). Outputs `status` and `body` (the first 64 KiB, masked like
/// every output). A dry-run sends GET and HEAD (once, showing the answer) and only shows others.
public struct HTTPRequestAction: Action {
    public static let spec = ActionSpec(name: "http.request", required: [],
                                        optional: ["url", "service", "path", "method", "headers", "body", "expect", "timeout", "interval"],
                                        mutating: true, dryRun: .preview)

    public init() {}

    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    static let bodyLimit = 64 * 1024

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if (with["url"] == nil) == (with["service"] == nil) {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "http.request: needs exactly one of url or service"))
        }
        if let m = with["method"], let s = m.scalarText, !s.contains("${{"), !methods.contains(s.uppercased()) {
            diagnostics.append(Diagnostic(file: file, mark: m.mark, message: "http.request: method must be one of \(methods.sorted().joined(separator: ", ")), not \(s)"))
        }
        if with["path"] != nil, with["service"] == nil {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "http.request: path goes with service (put it in the url)"))
        }
    }

    /// Everything one call needs, read from `with`.
    struct Call {
        var target: HTTPTarget
        var method: String
        var headers: [(String, String)]
        var body: Data?
        var contentType: String
        var expect: HTTPExpectation
        var timeout: TimeInterval
        var interval: TimeInterval?

        init(_ context: ActionContext) throws {
            let id = context.stepID
            target = try HTTPTarget(context)
            method = (try context.optionalString("method") ?? "GET").uppercased()
            guard HTTPRequestAction.methods.contains(method) else { throw ActionError.invalidInput("\(id): unknown method \(method)") }
            headers = []
            contentType = "application/json"
            if let h = context.with["headers"], !h.isNull {
                guard let o = h.objectValue else { throw ActionError.invalidInput("\(id): headers must be a mapping of name: value") }
                for m in o {
                    if m.key.lowercased() == "content-type" { contentType = m.value.interpolated; continue }
                    guard m.key.lowercased() != "authorization" || context.with["service"] == nil else {
                        throw ActionError.invalidInput("\(id): an Authorization header does not reach a Service through the API server's proxy (the API server consumes it)")
                    }
                    headers.append((m.key, m.value.interpolated))
                }
            }
            switch context.with["body"] {
            case nil, .null?: body = nil
            case .string(let s)?: body = Data(s.utf8)
            case let v?: body = v.jsonData()
            }
            expect = try HTTPExpectation(context.with["expect"], stepID: id)
            timeout = try context.duration("timeout") ?? 30
            interval = try context.duration("interval")
            if let i = interval, i <= 0 { throw ActionError.invalidInput("\(id): interval must be more than 0") }
        }

        var reads: Bool { method == "GET" || method == "HEAD" }
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let call = try Call(context)
        guard call.reads else {
            let names = call.headers.map(\.0)
            return Preview(summary: "\(call.method) \(call.target.label)" + (names.isEmpty ? "" : " (headers: \(names.joined(separator: ", ")))")
                + (call.body == nil ? "" : " with a \(call.body!.count)-byte body"))
        }
        // A read runs once in a dry-run; what it finds is shown, not judged: earlier steps have
        // not made their changes yet.
        do {
            let r = try await send(call, context, http: HTTPClient(), attemptTimeout: min(call.timeout, 10))
            let outcome = call.expect.mismatch(status: r.status, body: r.body).map { "expectation not met now: \($0)" } ?? "expectation met"
            return Preview(summary: "\(call.method) \(call.target.label): \(r.status) (\(outcome))", outputs: outputs(r))
        } catch let e as ActionError {
            return Preview(summary: "\(call.method) \(call.target.label): not reachable now (\(e.localizedDescription))")
        }
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let call = try Call(context)
        let end = Date().addingTimeInterval(call.timeout)
        let deadline = context.deadline.map { min($0, end) } ?? end
        var last = "no answer"
        let http = HTTPClient()  // one connection for every attempt of a url target
        while true {
            let left = deadline.timeIntervalSinceNow
            do {
                let r = try await send(call, context, http: http, attemptTimeout: max(1, min(left, call.timeout)))
                guard let problem = call.expect.mismatch(status: r.status, body: r.body) else {
                    return ActionResult(outputs: outputs(r), summary: "\(call.method) \(call.target.label): \(r.status)")
                }
                last = "\(problem); body: \(excerpt(r.body))"
            } catch ActionError.transient(let message) {
                last = message
            }
            guard let interval = call.interval, deadline.timeIntervalSinceNow > interval else { break }
            context.log("\(call.method) \(call.target.label): \(context.masker.mask(last)); again in \(Int(interval))s")
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
        let waited = call.interval == nil ? "" : " (tried for \(Int(call.timeout))s)"
        throw ActionError.failed("\(call.method) \(call.target.label)\(waited): \(context.masker.mask(last))")
    }

    func outputs(_ r: HTTPResponse) -> [String: Value] {
        ["status": .int(r.status), "body": .string(String(decoding: r.body.prefix(HTTPRequestAction.bodyLimit), as: UTF8.self))]
    }

    func excerpt(_ body: Data) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(empty)" : text
    }

    /// One attempt. Transport failures become `ActionError.transient`.
    func send(_ call: Call, _ context: ActionContext, http: HTTPClient, attemptTimeout: TimeInterval) async throws -> HTTPResponse {
        var headers = call.headers
        if call.body != nil { headers.append(("Content-Type", call.contentType)) }
        switch call.target {
        case .url(let url):
            do {
                return try http.send(HTTPRequest(method: call.method, url: url, headers: headers, body: call.body, timeout: attemptTimeout))
            } catch let e as HTTPError {
                throw ActionError.transient(e.localizedDescription)
            }
        case .service:
            let kube = try context.kubernetes.client()
            let path = call.target.proxyPath(defaultNamespace: kube.defaultNamespace)!
            do {
                return try await kube.raw(call.method, path, body: call.body, contentType: call.contentType, accept: "*/*",
                                          headers: call.headers, retry: RetryBackoff(attempts: 1), timeout: attemptTimeout)
            } catch let e as KubeError {
                throw ActionError.transient(e.localizedDescription)
            }
        }
    }
}

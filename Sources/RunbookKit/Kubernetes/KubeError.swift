import Foundation

/// Failures talking to the Kubernetes API, with the server's own reason.
public enum KubeError: Error, LocalizedError, Sendable, RetryableError {
    /// The kubeconfig (or in-cluster set-up) cannot be used.
    case config(String)
    /// The API answered with a `Status` failure.
    case status(code: Int, reason: String, message: String, causes: [String], request: String)
    /// No resource for this apiVersion/kind in discovery.
    case unknownKind(apiVersion: String, kind: String)
    /// The exec credential plugin failed.
    case credentialPlugin(String)
    /// The connection failed.
    case transport(HTTPError, request: String)
    /// An object (from a manifest or `with:`) lacks what names it.
    case invalidObject(String)

    public var errorDescription: String? {
        switch self {
        case .config(let m): return "kubeconfig: \(m)"
        case .status(let code, let reason, let message, let causes, let request):
            var s = "\(request): \(reason.isEmpty ? "HTTP \(code)" : reason) (\(code)): \(message)"
            if !causes.isEmpty { s += "; " + causes.joined(separator: "; ") }
            if reason == "Forbidden" { s += " — the user of these credentials (kubeconfig or in-cluster ServiceAccount) lacks this permission" }
            return s
        case .unknownKind(let v, let k):
            return "the server has no resource for kind \(k) in \(v) (is the CRD installed, the apiVersion right?)"
        case .credentialPlugin(let m): return "exec credential plugin: \(m)"
        case .transport(let e, let request): return "\(request): \(e.errorDescription ?? "\(e)")"
        case .invalidObject(let m): return m
        }
    }

    public var code: Int? { if case .status(let c, _, _, _, _) = self { return c } else { return nil } }
    public var reason: String? { if case .status(_, let r, _, _, _) = self { return r } else { return nil } }
    public var isNotFound: Bool { code == 404 }
    public var isConflict: Bool { code == 409 && reason == "Conflict" }
    public var isAlreadyExists: Bool { code == 409 && reason == "AlreadyExists" }

    /// Worth retrying: throttling, server errors, timeouts, resets, optimistic-lock conflicts.
    public var isTransient: Bool {
        switch self {
        case .status(let c, let reason, _, _, _): return c == 429 || c >= 500 || (c == 409 && reason == "Conflict")
        case .transport(let e, _): return e.isTransient
        default: return false
        }
    }

    /// Builds the error from a failed response, reading a `Status` body when there is one.
    static func from(_ response: HTTPResponse, request: String) -> KubeError {
        var reason = "", message = response.text.trimmingCharacters(in: .whitespacesAndNewlines), causes: [String] = []
        if let v = try? Value.parseJSON(response.body), v["kind"] == "Status" {
            reason = v["reason"]?.stringValue ?? ""
            message = v["message"]?.stringValue ?? message
            for c in v.lookup("details.causes")?.arrayValue ?? [] {
                let field = c["field"]?.stringValue.map { "\($0): " } ?? ""
                causes.append(field + (c["message"]?.stringValue ?? c["reason"]?.stringValue ?? ""))
            }
        }
        if reason.isEmpty {
            reason = [400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
                      409: "Conflict", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
                      503: "ServiceUnavailable", 504: "Timeout"][response.status] ?? ""
        }
        if message.isEmpty { message = "HTTP \(response.status)" }
        return .status(code: response.status, reason: reason, message: message, causes: causes, request: request)
    }
}

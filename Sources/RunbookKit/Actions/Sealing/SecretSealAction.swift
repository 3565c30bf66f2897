import Foundation

/// `secret.seal`: seals `data` (key → value, usually secret outputs) for the Secret
/// `namespace`/`name` with a sealed-secrets controller's public certificate, exactly as kubeseal
/// does, and outputs the SealedSecret object (`sealed`). The certificate is given as PEM
/// (`certificate`) or fetched from the controller (`controller: {namespace, name}`) through the
/// API server's service proxy, at `/v1/cert.pem`, as kubeseal fetches it. A non-empty
/// `certificate` wins over `controller`, so a runbook can offer both (an offline certificate var
/// that defaults to empty).
///
/// It changes nothing: the output holds only ciphertext, and a dry-run runs it too. Every seal
/// uses fresh random session keys, so the ciphertext differs from run to run.
public struct SecretSealAction: ReadAction {
    public static let spec = ActionSpec(
        name: "secret.seal", required: ["namespace", "name", "data"],
        optional: ["certificate", "controller", "scope", "type", "labels", "annotations"],
        mutating: false, dryRun: .execute)

    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if with["certificate"] == nil, with["controller"] == nil {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "secret.seal needs a certificate (PEM) or a controller {namespace, name}"))
        }
        if let node = with["scope"], case .scalar(let s, _, _, let mark) = node, !s.contains("${{"), SealingScope(rawValue: s) == nil {
            diagnostics.append(Diagnostic(file: file, mark: mark, message: "secret.seal: scope must be strict, namespace-wide or cluster-wide (got \(s))"))
        }
    }

    static let keyPattern = try! NSRegularExpression(pattern: "^[-._a-zA-Z0-9]+$")

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let namespace = try context.string("namespace"), name = try context.string("name")
        let scopeText = try context.optionalString("scope") ?? "strict"
        guard let scope = SealingScope(rawValue: scopeText) else {
            throw ActionError.invalidInput("\(context.stepID): with.scope must be strict, namespace-wide or cluster-wide (got \(scopeText))")
        }
        let data = try values(context)
        let (pem, source) = try await certificate(context)
        let key = try SealingKey(pem: pem)
        let manifest = SealedSecretManifest(namespace: namespace, name: name, scope: scope,
                                            type: try context.optionalString("type") ?? "Opaque",
                                            labels: try stringMap(context, "labels"), annotations: try stringMap(context, "annotations"))
        let sealed = try manifest.seal(data.map { ($0.key, Array($0.value.utf8)) }, with: key)
        return ActionResult(outputs: ["sealed": sealed],
                            summary: "sealed \(data.count) key\(data.count == 1 ? "" : "s") for Secret \(namespace)/\(name) (\(scope.rawValue)) with the certificate \(source)")
    }

    /// `data` as key → string; every value goes to the masker (it is what is being protected).
    func values(_ context: ActionContext) throws -> [(key: String, value: String)] {
        guard let object = context.with["data"]?.objectValue, !object.isEmpty else {
            throw ActionError.invalidInput("\(context.stepID): with.data must be a non-empty map of key → value (kubeseal refuses a Secret without data too)")
        }
        return try object.map { m in
            let range = NSRange(m.key.startIndex..., in: m.key)
            guard Self.keyPattern.firstMatch(in: m.key, range: range) != nil else {
                throw ActionError.invalidInput("\(context.stepID): data key \(m.key) is not a valid Secret key (letters, digits, '-', '_', '.')")
            }
            if case .object = m.value { throw ActionError.invalidInput("\(context.stepID): data.\(m.key) must be a string") }
            if case .array = m.value { throw ActionError.invalidInput("\(context.stepID): data.\(m.key) must be a string") }
            let v = m.value.interpolated
            context.masker.add(v)
            return (m.key, v)
        }
    }

    func stringMap(_ context: ActionContext, _ key: String) throws -> [String: String] {
        guard let v = context.with[key], !v.isNull else { return [:] }
        guard let o = v.objectValue else { throw ActionError.invalidInput("\(context.stepID): with.\(key) must be a map of strings") }
        return Dictionary(o.map { ($0.key, $0.value.interpolated) }, uniquingKeysWith: { a, _ in a })
    }

    /// The PEM and where it came from.
    func certificate(_ context: ActionContext) async throws -> (String, String) {
        if let pem = try context.optionalString("certificate"), !pem.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return (pem, "given")
        }
        guard let c = context.with["controller"], let o = c.objectValue else {
            throw ActionError.invalidInput("\(context.stepID): with.controller must be {namespace, name}")
        }
        let ns = o["namespace"]?.stringValue ?? "sealed-secrets"
        let name = o["name"]?.stringValue ?? "sealed-secrets-controller"
        let client = try context.kubernetes.client()
        // As kubeseal: the Service's first port, then GET through the API server's service proxy.
        guard let svc = try await client.get(ObjectRef(apiVersion: "v1", kind: "Service", namespace: ns, name: name)) else {
            throw ActionError.failed("cannot fetch certificate: services \"\(name)\" not found in namespace \(ns) (is the sealed-secrets controller installed there?)")
        }
        let first = svc.lookup("spec.ports")?[0]
        let port = first?["name"]?.stringValue ?? first?["port"]?.intValue.map(String.init) ?? ""
        let path = "/api/v1/namespaces/\(ns.urlPathEscaped)/services/http:\(name.urlPathEscaped):\(port.urlPathEscaped)/proxy/v1/cert.pem"
        let r = try await client.raw("GET", path, accept: "*/*")
        guard r.status == 200 else {
            let e = KubeError.from(r, request: "GET \(path)")
            if e.isTransient { throw e }
            throw ActionError.failed("cannot fetch certificate: \(e.localizedDescription)")
        }
        return (r.text, "of \(ns)/\(name)")
    }
}

import Foundation

/// `k8s.can_i`: asks the API server whether a verb on a resource is allowed, as
/// `kubectl auth can-i` does. Without `as` it asks about the run's own credentials
/// (`SelfSubjectAccessReview`); with `as` (a user name, or `system:serviceaccount:NS:NAME`) about
/// that subject (`SubjectAccessReview`, which needs permission to create one). Outputs `allowed`
/// and `reason`; a denial is an answer, not a failure — `assert` on it with a message.
public struct K8sCanI: ReadAction {
    public static let spec = ActionSpec(name: "k8s.can_i", required: ["verb", "resource"],
                                        optional: ["group", "subresource", "namespace", "name", "as", "groups"],
                                        mutating: false, dryRun: .execute)
    public init() {}

    static let serviceAccountPrefix = "system:serviceaccount:"

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        guard let node = with["as"], let s = node.scalarText, !ExpressionParser.containsExpression(s) else { return }
        if s.hasPrefix(serviceAccountPrefix), subject(s) == nil {
            diagnostics.append(Diagnostic(file: file, mark: node.mark,
                                          message: "k8s.can_i: as '\(s)' must be written system:serviceaccount:NAMESPACE:NAME"))
        }
    }

    /// The user and groups the API server gives `as` when it authenticates it (nil: a malformed
    /// service account name).
    static func subject(_ user: String) -> (user: String, groups: [String])? {
        guard user.hasPrefix(serviceAccountPrefix) else { return (user, ["system:authenticated"]) }
        let parts = user.dropFirst(serviceAccountPrefix.count).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (user, ["system:serviceaccounts", "system:serviceaccounts:\(parts[0])", "system:authenticated"])
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        var attributes: Object = ["verb": .string(try context.string("verb")), "resource": .string(try context.string("resource"))]
        for key in ["group", "subresource", "namespace", "name"] {
            if let v = try context.optionalString(key), !v.isEmpty { attributes[key] = .string(v) }
        }
        var spec: Object = ["resourceAttributes": .object(attributes)]
        let kind: String
        let who: String
        if let user = try context.optionalString("as"), !user.isEmpty {
            guard let s = Self.subject(user) else {
                throw ActionError.invalidInput("\(context.stepID): as '\(user)' must be written system:serviceaccount:NAMESPACE:NAME")
            }
            let extra = (context.with["groups"]?.arrayValue ?? []).compactMap(\.stringValue)
            spec["user"] = .string(s.user)
            spec["groups"] = .array((s.groups + extra).map(Value.string))
            kind = "SubjectAccessReview"
            who = user
        } else {
            kind = "SelfSubjectAccessReview"
            who = "this run's credentials"
        }
        let review: Value = ["apiVersion": "authorization.k8s.io/v1", "kind": .string(kind), "spec": .object(spec)]
        let plural = kind == "SubjectAccessReview" ? "subjectaccessreviews" : "selfsubjectaccessreviews"
        let answer = try await client.request("POST", "/apis/authorization.k8s.io/v1/\(plural)", body: review)
        let allowed = answer.lookup("status.allowed")?.boolValue ?? false
        var reason = answer.lookup("status.reason")?.stringValue ?? ""
        if let e = answer.lookup("status.evaluationError")?.stringValue, !e.isEmpty { reason += reason.isEmpty ? e : "; \(e)" }
        return ActionResult(outputs: ["allowed": .bool(allowed), "reason": .string(reason)],
                            summary: "\(who) \(allowed ? "may" : "may not") \(Self.describe(attributes))" + (reason.isEmpty ? "" : " (\(reason))"))
    }

    /// `create secrets in namespace chat`, `get customresourcedefinitions.apiextensions.k8s.io "x"`.
    static func describe(_ a: Object) -> String {
        var resource = a["resource"]?.stringValue ?? ""
        if let g = a["group"]?.stringValue { resource += ".\(g)" }
        if let s = a["subresource"]?.stringValue { resource += "/\(s)" }
        var text = "\(a["verb"]?.stringValue ?? "") \(resource)"
        if let n = a["name"]?.stringValue { text += " \"\(n)\"" }
        if let ns = a["namespace"]?.stringValue { text += " in namespace \(ns)" } else { text += " cluster-wide" }
        return text
    }
}

extension K8sCanI {
    /// With `as`: creating a `SubjectAccessReview` (cluster-scoped). A `SelfSubjectAccessReview` is
    /// allowed to every authenticated user by the default `system:basic-user` ClusterRole.
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        guard let who = c.with["as"], !who.isNull, who.interpolated != "" else { return [] }
        return [Permission("create", group: "authorization.k8s.io", resource: "subjectaccessreviews", namespace: nil, name: nil)]
    }
}

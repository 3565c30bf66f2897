import Foundation

/// `k8s.secret.read` of several Secrets by name (`names:`), e.g. every Secret a pod template
/// refers to: `data` (secret: Secret name → key → value), `names` (the distinct names read, in
/// order), `missing` (names with no Secret) and `found` (none missing). A missing Secret fails
/// the step unless `optional: true`.
extension K8sSecretRead {
    func several(_ context: ActionContext, _ client: KubeClient) async throws -> ActionResult {
        guard let list = context.with["names"]?.arrayValue else {
            throw ActionError.invalidInput("\(context.stepID): names must be a list of Secret names")
        }
        var names: [String] = []
        for v in list {
            guard let s = v.stringValue, !s.isEmpty else {
                throw ActionError.invalidInput("\(context.stepID): names must be a list of Secret names, not one holding \(v.jsonString())")
            }
            if !names.contains(s) { names.append(s) }
        }
        let optional = try context.bool("optional", default: false)
        let ns = try context.optionalString("namespace") ?? client.defaultNamespace
        var data = Object()
        var missing: [String] = []
        for name in names {
            let ref = ObjectRef(apiVersion: "v1", kind: "Secret", namespace: ns, name: name)
            guard let secret = try await client.get(ref) else {
                missing.append(name)
                continue
            }
            K8sGet.registerSecretData(secret, masker: context.masker)
            data[name] = try all(secret, ref).outputs["data"] ?? .object(Object())
        }
        if !missing.isEmpty, !optional {
            throw ActionError.failed("Secret\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) not found in namespace \(ns) "
                + "(set optional: true to continue without \(missing.count == 1 ? "it" : "them"))")
        }
        return ActionResult(outputs: ["data": .object(data), "names": .array(names.map(Value.string)),
                                      "missing": .array(missing.map(Value.string)), "found": .bool(missing.isEmpty)],
                            summary: "read \(data.count) Secret\(data.count == 1 ? "" : "s") in \(ns)"
                                + (missing.isEmpty ? "" : "; missing: \(missing.joined(separator: ", "))"))
    }
}

import Foundation

/// `k8s.secret.read`: one key of a Secret. Outputs `value` (secret) and `found`; with
/// `optional: true` a missing Secret or key gives `found: false` instead of an error.
/// Without `key` it reads every key (see `K8sSecretRead+Whole.swift`); with `labelSelector`
/// instead of `name`, every matching Secret as one restorable manifest.
public struct K8sSecretRead: ReadAction {
    public static let spec = ActionSpec(name: "k8s.secret.read", required: [], optional: ["name", "names", "labelSelector", "namespace", "key", "optional"],
                                        secretOutputs: ["value", "data", "manifest"], mutating: false, dryRun: .execute)
    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if [with["name"], with["names"], with["labelSelector"]].compactMap({ $0 }).count != 1 {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "k8s.secret.read needs exactly one of name, names or labelSelector"))
        }
        for other in ["labelSelector", "names"] where with[other] != nil {
            if let key = with["key"] {
                diagnostics.append(Diagnostic(file: file, mark: key.mark, message: "k8s.secret.read: key goes with name, not with \(other)"))
            }
        }
        if let names = with["names"], case .mapping = names {
            diagnostics.append(Diagnostic(file: file, mark: names.mark, message: "k8s.secret.read: names must be a list of Secret names"))
        }
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        if let selector = try context.optionalString("labelSelector") { return try await selected(context, client, selector) }
        if context.with["names"] != nil { return try await several(context, client) }
        let ref = try context.objectRef(client, apiVersion: "v1", kind: "Secret")
        let key = try context.optionalString("key")
        let optional = try context.bool("optional", default: false)
        let secret = try await client.get(ref)
        if let secret { K8sGet.registerSecretData(secret, masker: context.masker) }
        guard let secret else {
            let none: [String: Value] = key == nil ? ["data": .object(Object()), "keys": [], "digest": "", "labels": .object(Object()),
                                                     "annotations": .object(Object()), "found": false]
                : ["value": "", "found": false]
            if optional { return ActionResult(outputs: none, summary: "\(ref) does not exist") }
            throw ActionError.failed("\(ref) not found (set optional: true to continue without it)")
        }
        guard let key else { return try all(secret, ref) }
        guard let b64 = secret["data"]?[key]?.stringValue else {
            if optional { return ActionResult(outputs: ["value": "", "found": false], summary: "\(ref) has no key \(key)") }
            let keys = (secret["data"]?.objectValue?.keys ?? []).joined(separator: ", ")
            throw ActionError.failed("\(ref) has no key \(key) (keys: \(keys.isEmpty ? "none" : keys))")
        }
        guard let data = Data(base64Encoded: b64) else { throw ActionError.failed("\(ref) key \(key) is not valid base64") }
        let value = String(decoding: data, as: UTF8.self)
        context.masker.add(value)
        return ActionResult(outputs: ["value": .string(value), "found": true], summary: "read key \(key) of \(ref)")
    }
}

import Foundation

/// `k8s.secret.read`: one key of a Secret. Outputs `value` (secret) and `found`; with
/// `optional: true` a missing Secret or key gives `found: false` instead of an error.
public struct K8sSecretRead: Action {
    public static let spec = ActionSpec(name: "k8s.secret.read", required: ["name", "key"], optional: ["namespace", "optional"],
                                        secretOutputs: ["value"], mutating: false, dryRun: .execute)
    public init() {}

    public func preview(_ context: ActionContext) async throws -> Preview {
        let r = try await execute(context)
        return Preview(summary: r.summary ?? "read", outputs: r.outputs)
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubeClient()
        let ref = try context.objectRef(client, apiVersion: "v1", kind: "Secret")
        let key = try context.string("key")
        let optional = try context.bool("optional", default: false)
        let secret = try await client.get(ref)
        if let secret { K8sGet.registerSecretData(secret, masker: context.masker) }
        guard let secret else {
            if optional { return ActionResult(outputs: ["value": "", "found": false], summary: "\(ref) does not exist") }
            throw ActionError.failed("\(ref) not found (set optional: true to continue without it)")
        }
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

import Foundation

/// `k8s.get`: reads one object. Outputs `object` (a Secret's data masked) and `exists`.
public struct K8sGet: ReadAction {
    public static let spec = ActionSpec(name: "k8s.get", required: ["apiVersion", "kind", "name"], optional: ["namespace", "optional"],
                                        mutating: false, dryRun: .execute)
    public init() {}

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        let optional = try context.bool("optional", default: false)
        guard let object = try await client.get(ref) else {
            if optional { return ActionResult(outputs: ["object": .null, "exists": false], summary: "\(ref) does not exist") }
            throw ActionError.failed("\(ref) not found (set optional: true to continue without it)")
        }
        if ref.kind == "Secret" { K8sGet.registerSecretData(object, masker: context.masker) }
        return ActionResult(outputs: ["object": object, "exists": true], summary: "read \(ref)")
    }

    /// Makes every value of a Secret's data (encoded and decoded) known to the masker.
    static func registerSecretData(_ secret: Value, masker: Masker) {
        for m in secret["data"]?.objectValue ?? Object() {
            guard let s = m.value.stringValue else { continue }
            masker.add(s)
            if let d = Data(base64Encoded: s) { masker.add(String(decoding: d, as: UTF8.self)) }
        }
        for m in secret["stringData"]?.objectValue ?? Object() { if let s = m.value.stringValue { masker.add(s) } }
    }
}

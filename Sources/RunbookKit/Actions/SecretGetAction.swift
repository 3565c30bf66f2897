import Foundation

/// `secret.get`: reads a remote secret (the current value, or one `version`).
public struct SecretGetAction: ReadAction {
    public static let spec = ActionSpec(name: "secret.get", required: ["store", "name"], optional: ["version"],
                                        secretOutputs: ["value"], mutating: false, dryRun: .execute)

    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        SecretStoreRef.validate(with, action: "secret.get", file: file, into: &diagnostics)
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let (v, label) = try await read(context)
        return ActionResult(outputs: ["value": .string(v.value), "version": .string(v.version)],
                            summary: "read \(label) version \(v.version)")
    }

    private func read(_ context: ActionContext) async throws -> (SecretVersion, String) {
        let ref = try SecretStoreRef(context.with["store"])
        let name = try context.string("name")
        if let problem = SecretName.problem(name, provider: ref.provider) {
            throw ActionError.invalidInput("\(context.stepID): \(problem)")
        }
        let version = try context.optionalString("version").flatMap { $0.isEmpty ? nil : $0 }
        let store = try context.secretStores.store(ref)
        let v = try await store.read(name, version: version)
        context.masker.add(v.value)
        return (v, store.label(name))
    }
}

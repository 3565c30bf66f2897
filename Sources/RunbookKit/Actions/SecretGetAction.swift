import Foundation

/// `secret.get`: reads a remote secret (the current value, or one `version`). With
/// `optional: true` a secret that does not exist or reads no value gives `found: false` and an
/// empty `value` instead of failing (e.g. a read-back in a plan, before the run has created it).
public struct SecretGetAction: ReadAction {
    public static let spec = ActionSpec(name: "secret.get", required: ["store", "name"], optional: ["version", "optional"],
                                        secretOutputs: ["value"], mutating: false, dryRun: .execute)

    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        SecretStoreRef.validate(with, action: "secret.get", file: file, into: &diagnostics)
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let ref = try SecretStoreRef(context.with["store"])
        let name = try context.string("name")
        if let problem = SecretName.problem(name, provider: ref.provider) {
            throw ActionError.invalidInput("\(context.stepID): \(problem)")
        }
        let version = try context.optionalString("version").flatMap { $0.isEmpty ? nil : $0 }
        let store = try context.secretStores.store(ref)
        let label = store.label(name)
        let v: SecretVersion
        if version == nil, try context.bool("optional", default: false) {
            guard case .present(let current) = try await store.current(name) else {
                return ActionResult(outputs: ["value": "", "version": .null, "found": false], summary: "\(label) holds no readable value")
            }
            v = current
        } else {
            v = try await store.read(name, version: version)
        }
        context.masker.add(v.value)
        return ActionResult(outputs: ["value": .string(v.value), "version": .string(v.version), "found": true],
                            summary: "read \(label) version \(v.version)")
    }
}

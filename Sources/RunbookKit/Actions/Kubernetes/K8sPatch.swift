import Foundation

/// `k8s.patch`: a strategic-merge, JSON-merge or JSON patch (inline `patch` or `patchFile`).
/// Rollback restores the prior state, refusing when the object changed after the step.
public struct K8sPatch: Action {
    public static let spec = ActionSpec(name: "k8s.patch", required: ["apiVersion", "kind", "name"],
                                        optional: ["namespace", "type", "patch", "patchFile"], mutating: true, dryRun: .preview)
    public init() {}

    static let contentTypes = ["strategic": "application/strategic-merge-patch+json", "merge": "application/merge-patch+json",
                               "json": "application/json-patch+json"]

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if (with["patch"] == nil) == (with["patchFile"] == nil) {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "k8s.patch needs exactly one of patch or patchFile"))
        }
        if let t = with["type"], let s = t.scalarText, !s.contains("${{"), contentTypes[s] == nil {
            diagnostics.append(Diagnostic(file: file, mark: t.mark, message: "k8s.patch type must be strategic, merge or json, not \(s)"))
        }
    }

    func body(_ context: ActionContext) throws -> (String, Value) {
        let type = try context.optionalString("type") ?? "strategic"
        guard let ct = K8sPatch.contentTypes[type] else {
            throw ActionError.invalidInput("\(context.stepID): type must be strategic, merge or json, not \(type)")
        }
        var patch: Value
        if context.with["patchFile"] != nil {
            guard let first = try context.documents(fromFile: "patchFile").first else {
                throw ActionError.invalidInput("\(context.stepID): patchFile is empty")
            }
            patch = first
        } else {
            patch = context.with["patch"] ?? .null
            if case .string(let s) = patch {
                do { patch = try Value.parseJSON(s) } catch {
                    throw ActionError.invalidInput("\(context.stepID): patch is a string but not JSON: \(error)")
                }
            }
        }
        if type == "json", patch.arrayValue == nil { throw ActionError.invalidInput("\(context.stepID): a json patch must be a list of operations") }
        if type != "json", patch.objectValue == nil { throw ActionError.invalidInput("\(context.stepID): a \(type) patch must be a mapping") }
        return (ct, patch)
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        let (ct, patch) = try body(context)
        guard let live = try await client.get(ref) else {
            throw ActionError.failed("\(ref) not found: nothing to patch")
        }
        if ref.kind == "Secret" { K8sGet.registerSecretData(live, masker: context.masker) }
        let result = try await client.patch(ref, contentType: ct, patch: patch, dryRun: true)
        let diff = ObjectDiff.render(live: live, result: result)
        return Preview(summary: diff.isEmpty ? "patch \(ref): unchanged" : "patch \(ref)", diff: diff.isEmpty ? nil : diff)
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        let (ct, patch) = try body(context)
        var record: Value
        if let j = context.journal, j["prior"] != nil {
            record = j  // resume: keep the state from before the first attempt
        } else {
            guard let live = try await client.get(ref) else {
                throw ActionError.failed("\(ref) not found: nothing to patch")
            }
            // A patch that changes nothing (a second run) keeps no prior state and writes nothing.
            let dry = try await client.patch(ref, contentType: ct, patch: patch, dryRun: true)
            if ObjectFingerprint.of(dry) == ObjectFingerprint.of(live) {
                return ActionResult(outputs: ["resourceVersion": live.resourceVersion.map(Value.string) ?? .null],
                                    summary: "\(ref) unchanged")
            }
            record = ["ref": ref.value, "prior": try await PriorState.save(live, ref: ref, context: context, client: client)]
            try await context.recordJournal(record)
        }
        let result = try await client.patch(ref, contentType: ct, patch: patch)
        PriorState.noteAfter(result, in: &record)
        return ActionResult(outputs: ["resourceVersion": result.resourceVersion.map(Value.string) ?? .null], rollback: record,
                            summary: "patched \(ref)")
    }

    public func rollback(_ context: ActionContext, record: Value) async throws {
        let client = try context.kubernetes.client()
        guard let ref = ObjectRef(value: record["ref"]), let fragment = record["prior"] else { return }
        try await PriorState.undoChange(to: ref, fragment: fragment, record: record, context: context, client: client)
    }
}

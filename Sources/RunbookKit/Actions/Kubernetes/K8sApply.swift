import Foundation

/// `k8s.apply`: creates or updates objects from a manifest file (multi-document, expressions
/// allowed) or inline `objects`, by server-side apply (field manager `runbook`).
///
/// Rollback deletes what it created and puts back the exact prior state of what it changed
/// (refusing when the object changed after the step, unless `--force`). With
/// `rollbackPropagation: Orphan`, deleting an object it created keeps the objects that object
/// owns (a SealedSecret's adopted Secret), as `kubectl delete --cascade=orphan` does.
public struct K8sApply: Action {
    public static let spec = ActionSpec(name: "k8s.apply", required: [], optional: ["manifest", "objects", "namespace", "rollbackPropagation"],
                                        mutating: true, dryRun: .preview)
    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if (with["manifest"] == nil) == (with["objects"] == nil) {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "k8s.apply needs exactly one of manifest or objects"))
        }
        if let node = with["rollbackPropagation"], case .scalar(let s, _, _, let mark) = node,
           !["Background", "Foreground", "Orphan"].contains(s)
        {
            diagnostics.append(Diagnostic(file: file, mark: mark, message: "k8s.apply: rollbackPropagation must be Background, Foreground or Orphan (got \(s))"))
        }
    }

    static let applyType = "application/apply-patch+yaml"
    static let applyQuery = ["fieldManager=runbook", "force=true"]

    func objects(_ context: ActionContext, _ client: KubeClient) throws -> [(ObjectRef, Value)] {
        let list: [Value]
        if context.with["manifest"] != nil {
            list = try context.documents(fromFile: "manifest")
        } else if let a = context.with["objects"]?.arrayValue {
            list = a
        } else {
            throw ActionError.invalidInput("\(context.stepID): with.objects must be a list of objects")
        }
        let ns = try context.optionalString("namespace") ?? client.defaultNamespace
        return try list.map { obj in
            let ref = try ObjectRef(object: obj, defaultNamespace: ns)
            var o = obj
            if o["metadata"]?["namespace"] == nil, let n = ref.namespace { o["metadata"]?["namespace"] = .string(n) }
            return (ref, o)
        }
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let client = try context.kubernetes.client()
        var lines: [String] = [], diffs: [String] = []
        for (ref, obj) in try objects(context, client) {
            let live = try await client.get(ref)
            let result = try await client.patch(ref, contentType: K8sApply.applyType, patch: obj, dryRun: true, query: K8sApply.applyQuery)
            if let live, ref.kind == "Secret" { K8sGet.registerSecretData(live, masker: context.masker) }
            if ref.kind == "Secret" { K8sGet.registerSecretData(obj, masker: context.masker) }
            let diff = ObjectDiff.render(live: live, result: result)
            let verb = live == nil ? "create" : (diff.isEmpty ? "unchanged" : "update")
            lines.append("\(verb) \(ref)")
            if !diff.isEmpty { diffs.append("\(ref):\n" + diff.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")) }
        }
        return Preview(summary: lines.joined(separator: "; "), diff: diffs.isEmpty ? nil : diffs.joined(separator: "\n"))
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        var entries = context.journal?["objects"]?.arrayValue ?? []
        var applied: [Value] = [], created: [Value] = [], unchanged = 0
        for (ref, obj) in try objects(context, client) {
            var index = entries.firstIndex { ObjectRef(value: $0["ref"]) == ref }
            if index == nil {
                // Write-ahead: what this object was before we touch it.
                let live = try await client.get(ref)
                // An object the apply would leave as it is (a second run) keeps no prior state.
                if let live {
                    let dry = try await client.patch(ref, contentType: K8sApply.applyType, patch: obj, dryRun: true, query: K8sApply.applyQuery)
                    if ObjectFingerprint.of(dry) == ObjectFingerprint.of(live) {
                        applied.append(.string(ref.description))
                        unchanged += 1
                        continue
                    }
                }
                var entry: Value = ["ref": ref.value, "created": .bool(live == nil)]
                if let live { entry["prior"] = try await PriorState.save(live, ref: ref, context: context, client: client) }
                entries.append(entry)
                index = entries.count - 1
                try await context.recordJournal(record(entries, context))
            }
            let result = try await client.patch(ref, contentType: K8sApply.applyType, patch: obj, query: K8sApply.applyQuery)
            PriorState.noteAfter(result, in: &entries[index!])
            applied.append(.string(ref.description))
            if entries[index!]["created"] == true { created.append(.string(ref.description)) }
        }
        return ActionResult(outputs: ["applied": .array(applied), "created": .array(created)], rollback: record(entries, context),
                            summary: "applied \(applied.count) object(s), created \(created.count)"
                                + (unchanged > 0 ? ", \(unchanged) unchanged" : ""))
    }

    /// The journal / rollback record: the objects, and the propagation of rollback deletions.
    func record(_ entries: [Value], _ context: ActionContext) -> Value {
        var r: Value = ["objects": .array(entries)]
        if let p = context.with["rollbackPropagation"]?.stringValue, p != "Background" { r["propagation"] = .string(p) }
        return r
    }

    public func rollback(_ context: ActionContext, record: Value) async throws {
        let client = try context.kubernetes.client()
        let propagation = record["propagation"]?.stringValue ?? "Background"
        for entry in (record["objects"]?.arrayValue ?? []).reversed() {
            guard let ref = ObjectRef(value: entry["ref"]) else { continue }
            if entry["created"] == true {
                // Only when it exists: the step may have failed before creating it.
                if try await client.get(ref) != nil {
                    try await client.delete(ref, propagation: propagation)
                    context.log(propagation == "Orphan" ? "deleted \(ref), keeping what it owns" : "deleted \(ref)")
                }
            } else if let fragment = entry["prior"] {
                try await PriorState.undoChange(to: ref, fragment: fragment, record: entry, context: context, client: client)
            }
        }
    }
}

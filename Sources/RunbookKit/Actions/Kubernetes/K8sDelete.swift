import Foundation

/// `k8s.delete`: deletes one object (absent already is fine). Rollback re-creates it from
/// its prior state.
public struct K8sDelete: Action {
    public static let spec = ActionSpec(name: "k8s.delete", required: ["apiVersion", "kind", "name"], optional: ["namespace", "propagation"],
                                        mutating: true, dryRun: .preview)

    /// `propagation`: what happens to the objects it owns — `Background` (default) or `Foreground`
    /// delete them, `Orphan` keeps them and removes their ownerReference (as `kubectl delete --cascade=orphan`).
    func propagation(_ context: ActionContext) throws -> String {
        let p = try context.optionalString("propagation") ?? "Background"
        guard ["Background", "Foreground", "Orphan"].contains(p) else {
            throw ActionError.invalidInput("\(context.stepID): with.propagation must be Background, Foreground or Orphan (got \(p))")
        }
        return p
    }
    public init() {}

    public func preview(_ context: ActionContext) async throws -> Preview {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        guard let live = try await client.get(ref) else {
            return Preview(summary: "\(ref) does not exist: nothing to delete", outputs: ["deleted": false])
        }
        if ref.kind == "Secret" { K8sGet.registerSecretData(live, masker: context.masker) }
        try await client.delete(ref, dryRun: true, propagation: try propagation(context))
        return Preview(summary: "delete \(ref)", diff: ObjectDiff.render(live: live, result: nil), outputs: ["deleted": true])
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        var record: Value? = context.journal?["prior"] != nil ? context.journal : nil
        if record == nil {
            guard let live = try await client.get(ref) else {
                return ActionResult(outputs: ["deleted": false], summary: "\(ref) did not exist")
            }
            record = ["ref": ref.value, "prior": try await PriorState.save(live, ref: ref, context: context, client: client)]
            // Which object this step deletes: a rollback tells it from one re-created by someone else.
            record!["uid"] = live.lookup("metadata.uid") ?? .null
            try await context.recordJournal(record!)
        }
        try await client.delete(ref, propagation: try propagation(context))
        return ActionResult(outputs: ["deleted": true], rollback: record, summary: "deleted \(ref)")
    }

    public func rollback(_ context: ActionContext, record: Value) async throws {
        let client = try context.kubernetes.client()
        guard let ref = ObjectRef(value: record["ref"]), let fragment = record["prior"] else { return }
        guard let prior = try await PriorState.load(fragment, ref: ref, client: client, isRestored: { $0 != nil })
        else { return context.log("\(ref) was already re-created") }
        if let live = try await client.get(ref), let uid = record["uid"]?.stringValue,
           live.lookup("metadata.uid")?.stringValue == uid, live.lookup("metadata.deletionTimestamp") == nil
        {
            // The step failed before its DELETE took effect: the object is the very one it meant to delete.
            context.log("\(ref) was never deleted: nothing to re-create")
            try await PriorState.discard(fragment, client: client)
            return
        }
        if try await client.get(ref) != nil {
            // Terminating or re-created by someone: wait briefly for a deletion in progress.
            var gone = false
            for delay in [0.5, 1, 2, 4] {
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                if try await client.get(ref) == nil { gone = true; break }
            }
            if !gone {
                if !context.force { throw ActionError.drift("\(ref) exists again, so it was re-created after this step deleted it") }
                context.log("\(ref) exists again; left as it is (--force)")
                try await PriorState.discard(fragment, client: client)
                return
            }
        }
        _ = try await client.createConverging(PriorState.clean(prior)) {
            ObjectDiff.render(live: PriorState.clean($0), result: PriorState.clean(prior)).isEmpty
        }
        context.log("re-created \(ref)")
        try await PriorState.discard(fragment, client: client)
    }
}

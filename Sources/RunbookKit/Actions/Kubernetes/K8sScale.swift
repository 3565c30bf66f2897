import Foundation

/// `k8s.scale`: sets replicas through the `scale` subresource. Output `previous`; rollback
/// scales back to it.
public struct K8sScale: Action {
    public static let spec = ActionSpec(name: "k8s.scale", required: ["apiVersion", "kind", "name", "replicas"], optional: ["namespace"],
                                        mutating: true, dryRun: .preview)
    public init() {}

    static let mergeType = "application/merge-patch+json"

    func current(_ client: KubeClient, _ ref: ObjectRef) async throws -> Int {
        let res = try await client.resource(apiVersion: ref.apiVersion, kind: ref.kind)
        let scale = try await client.request("GET", res.path(namespace: client.namespace(ref.namespace, for: res), name: ref.name, subresource: "scale"))
        return scale.lookup("spec.replicas")?.intValue ?? 0
    }

    func replicas(_ context: ActionContext) throws -> Int {
        guard let n = try context.int("replicas"), n >= 0 else { throw ActionError.invalidInput("\(context.stepID): replicas must be 0 or more") }
        return n
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        let want = try replicas(context)
        let old = try await current(client, ref)
        _ = try await client.patch(ref, contentType: K8sScale.mergeType, patch: ["spec": ["replicas": .int(want)]], dryRun: true, subresource: "scale")
        return Preview(summary: old == want ? "scale \(ref): already \(want)" : "scale \(ref): \(old) → \(want)",
                       diff: old == want ? nil : "- spec.replicas: \(old)\n+ spec.replicas: \(want)", outputs: ["previous": .int(old)])
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        let want = try replicas(context)
        let previous: Int
        if let p = context.journal?["previous"]?.intValue {
            previous = p
        } else {
            previous = try await current(client, ref)
            try await context.recordJournal(["ref": ref.value, "previous": .int(previous), "set": .int(want)])
        }
        _ = try await client.patch(ref, contentType: K8sScale.mergeType, patch: ["spec": ["replicas": .int(want)]], subresource: "scale")
        return ActionResult(outputs: ["previous": .int(previous)],
                            rollback: ["ref": ref.value, "previous": .int(previous), "set": .int(want)],
                            summary: "scaled \(ref) from \(previous) to \(want)")
    }

    public func rollback(_ context: ActionContext, record: Value) async throws {
        let client = try context.kubernetes.client()
        guard let ref = ObjectRef(value: record["ref"]), let previous = record["previous"]?.intValue else { return }
        let now = try await current(client, ref)
        if now == previous { return context.log("\(ref) already has \(previous) replicas") }
        // Someone (a person, an autoscaler) set another count after this step: not ours to undo.
        if let set = record["set"]?.intValue, now != set {
            guard context.force else {
                throw ActionError.drift("\(ref) was scaled to \(now) after this step set \(set)")
            }
            context.log("\(ref) was scaled to \(now) after this step; scaling back to \(previous) anyway (--force)")
        }
        _ = try await client.patch(ref, contentType: K8sScale.mergeType, patch: ["spec": ["replicas": .int(previous)]], subresource: "scale")
        context.log("scaled \(ref) back to \(previous)")
    }
}

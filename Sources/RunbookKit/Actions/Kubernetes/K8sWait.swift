import Foundation

/// `k8s.wait`: waits until an object meets one test — a condition {type, status, reason}, a
/// `field` that `equals` a value (or, with `not_equals`, holds a value other than the given one —
/// e.g. a status field that a controller rewrites when it has processed a change), a finished `rollout` (Deployment/StatefulSet), `deleted`,
/// or a `job` that completed — or fails at `timeout` (default 5m) showing what it saw last.
public struct K8sWait: Action {
    public static let spec = ActionSpec(name: "k8s.wait", required: ["apiVersion", "kind", "name"],
                                        optional: ["namespace", "condition", "field", "equals", "not_equals", "rollout", "deleted", "job", "timeout"],
                                        mutating: false, dryRun: .preview)
    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        let tests = ["condition", "field", "rollout", "deleted", "job"].filter { with[$0] != nil }
        if tests.count != 1 {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "k8s.wait needs exactly one of condition, field, rollout, deleted, job"))
        }
        if with["field"] != nil, (with["equals"] == nil) == (with["not_equals"] == nil) {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "k8s.wait with field needs equals or not_equals (one of them)"))
        }
    }

    enum Outcome { case met, pending, failed(String) }

    func describe(_ context: ActionContext, _ ref: ObjectRef) -> String {
        let w = context.with
        if let c = w["condition"] {
            let parts = ["type", "status", "reason"].compactMap { k in c[k].map { "\(k)=\($0.interpolated)" } }
            return "\(ref) condition \(parts.joined(separator: " "))"
        }
        if let f = w["field"] {
            if let n = w["not_equals"] { return "\(ref) \(f.interpolated) present and != \(n.isNull ? "null" : n.interpolated)" }
            return "\(ref) \(f.interpolated) == \(w["equals"]?.interpolated ?? "")"
        }
        if w["rollout"]?.isTruthy == true { return "rollout of \(ref)" }
        if w["deleted"]?.isTruthy == true { return "deletion of \(ref)" }
        return "completion of Job \(ref.namespace ?? "")/\(ref.name)"
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        let timeout = try context.duration("timeout") ?? 300
        return Preview(summary: "wait up to \(Int(timeout))s for \(describe(context, ref))")
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        let ref = try context.objectRef(client)
        var poller = Poller(timeout: try context.duration("timeout") ?? 300, stepDeadline: context.deadline)
        var observed: Value = .null
        repeat {
            let object = try await client.get(ref)
            let (outcome, seen) = try check(context, object)
            observed = seen
            switch outcome {
            case .met: return ActionResult(outputs: ["observed": observed], summary: "\(describe(context, ref)): done")
            case .failed(let m): throw ActionError.failed("\(describe(context, ref)) failed: \(m)")
            case .pending: break
            }
        } while try await poller.next()
        throw ActionError.failed("timed out waiting for \(describe(context, ref)); last observed: \(context.masker.mask(observed.jsonString()))")
    }

    func check(_ context: ActionContext, _ object: Value?) throws -> (Outcome, Value) {
        let w = context.with
        if w["deleted"]?.isTruthy == true {
            return object == nil ? (.met, "deleted") : (.pending, ["exists": true, "deletionTimestamp": object?.lookup("metadata.deletionTimestamp") ?? .null])
        }
        guard let object else { return (.pending, "not found") }
        if let c = w["condition"] {
            let conds = object.lookup("status.conditions")?.arrayValue ?? []
            let want = c["type"]?.interpolated ?? "Ready"
            let match = conds.first { $0["type"]?.stringValue == want }
            let ok = match.map { m in
                m["status"]?.stringValue == (c["status"]?.interpolated ?? "True")
                    && (c["reason"] == nil || m["reason"]?.stringValue == c["reason"]?.interpolated)
            } ?? false
            return (ok ? .met : .pending, .array(conds))
        }
        if let f = w["field"]?.stringValue {
            let v = object.lookup(f)
            let ok: Bool
            if let n = w["not_equals"] {
                ok = v.map { !$0.isNull && (n.isNull || $0.interpolated != n.interpolated) } ?? false
            } else {
                ok = v.map { $0.interpolated == (w["equals"]?.interpolated ?? "") } ?? false
            }
            return (ok ? .met : .pending, [f: v ?? .null] as Value)
        }
        if w["rollout"]?.isTruthy == true { return K8sWait.rollout(object) }
        // job
        let conds = object.lookup("status.conditions")?.arrayValue ?? []
        let seen: Value = ["succeeded": object.lookup("status.succeeded") ?? 0, "failed": object.lookup("status.failed") ?? 0,
                           "active": object.lookup("status.active") ?? 0, "conditions": .array(conds)]
        for c in conds where c["status"] == "True" {
            if c["type"] == "Complete" { return (.met, seen) }
            if c["type"] == "Failed" { return (.failed(c["message"]?.stringValue ?? c["reason"]?.stringValue ?? "Job failed"), seen) }
        }
        return (.pending, seen)
    }

    /// Rollout complete as `kubectl rollout status` judges it.
    static func rollout(_ o: Value) -> (Outcome, Value) {
        let want = o.lookup("spec.replicas")?.intValue ?? 1
        let gen = o.lookup("metadata.generation")?.intValue ?? 0
        let observedGen = o.lookup("status.observedGeneration")?.intValue ?? 0
        let ready = o.lookup("status.readyReplicas")?.intValue ?? 0
        let updated = o.lookup("status.updatedReplicas")?.intValue ?? ready
        let available = o.lookup("status.availableReplicas")?.intValue ?? ready
        let total = o.lookup("status.replicas")?.intValue ?? 0
        let seen: Value = ["replicas": .int(want), "updated": .int(updated), "ready": .int(ready), "available": .int(available),
                           "observedGeneration": .int(observedGen), "generation": .int(gen)]
        var done = observedGen >= gen && updated >= want && ready >= want && total <= want
        if o["kind"] == "Deployment" {
            done = done && available >= want
            if let c = (o.lookup("status.conditions")?.arrayValue ?? []).first(where: { $0["type"] == "Progressing" }),
               c["reason"] == "ProgressDeadlineExceeded"
            {
                return (.failed("progress deadline exceeded"), seen)
            }
        } else if let cur = o.lookup("status.currentRevision")?.stringValue, let upd = o.lookup("status.updateRevision")?.stringValue {
            done = done && cur == upd
        }
        return (done ? .met : .pending, seen)
    }
}

import Foundation

/// `k8s.rollout`: `do: status` waits until a Deployment, StatefulSet or DaemonSet has rolled out
/// (judged as `kubectl rollout status`; `ProgressDeadlineExceeded` fails at once with the
/// condition's message); `do: restart` stamps the pod template (`kubectl rollout restart`);
/// `do: undo` puts back the template of an earlier revision (`to_revision`, default the previous
/// one; `kubectl rollout undo`). Rollback of restart/undo restores the exact prior object, pod
/// template included, refusing over someone else's change unless `--force`.
public struct K8sRollout: Action {
    public static let spec = ActionSpec(name: "k8s.rollout", required: ["kind", "name", "do"],
                                        optional: ["apiVersion", "namespace", "to_revision", "timeout"], mutating: true, dryRun: .preview)
    public init() {}

    static let verbs = ["status", "restart", "undo"]
    static let kinds = ["Deployment", "StatefulSet", "DaemonSet"]
    static let restartedAt = "kubectl.kubernetes.io/restartedAt"
    static let revisionAnnotation = "deployment.kubernetes.io/revision"

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if let d = with["do"], let s = d.scalarText, !s.contains("${{"), !verbs.contains(s) {
            diagnostics.append(Diagnostic(file: file, mark: d.mark, message: "k8s.rollout: do must be status, restart or undo, not \(s)"))
        }
        if let k = with["kind"], let s = k.scalarText, !s.contains("${{"), !kinds.contains(s) {
            diagnostics.append(Diagnostic(file: file, mark: k.mark, message: "k8s.rollout: kind must be Deployment, StatefulSet or DaemonSet, not \(s)"))
        }
        if let r = with["to_revision"], with["do"]?.scalarText != "undo" {
            diagnostics.append(Diagnostic(file: file, mark: r.mark, message: "k8s.rollout: to_revision goes with do: undo"))
        }
    }

    struct Call {
        let verb: String
        let ref: ObjectRef
        let timeout: TimeInterval
        let toRevision: Int?

        init(_ context: ActionContext, _ client: KubeClient) throws {
            verb = try context.string("do")
            guard K8sRollout.verbs.contains(verb) else {
                throw ActionError.invalidInput("\(context.stepID): do must be status, restart or undo, not \(verb)")
            }
            ref = try context.objectRef(client, apiVersion: try context.optionalString("apiVersion") ?? "apps/v1")
            guard K8sRollout.kinds.contains(ref.kind) else {
                throw ActionError.invalidInput("\(context.stepID): kind must be Deployment, StatefulSet or DaemonSet, not \(ref.kind)")
            }
            timeout = try context.duration("timeout") ?? 300
            toRevision = try context.int("to_revision")
            if let r = toRevision, r < 0 { throw ActionError.invalidInput("\(context.stepID): to_revision must be 0 or more") }
        }
    }

    // MARK: preview

    public func preview(_ context: ActionContext) async throws -> Preview {
        let client = try context.kubernetes.client()
        let call = try Call(context, client)
        let live = try await client.get(call.ref)
        switch call.verb {
        case "status":
            let now = live.map { RolloutStatus.of($0).message } ?? "it does not exist yet"
            return Preview(summary: "wait up to \(Int(call.timeout))s for the rollout of \(call.ref) (now: \(now))")
        case "restart":
            guard let live else { throw ActionError.failed("\(call.ref) not found: nothing to restart") }
            let result = try await client.patch(call.ref, contentType: K8sPatch.contentTypes["strategic"]!,
                                                patch: restartPatch(Self.timestamp()), dryRun: true)
            return Preview(summary: "restart \(call.ref): new Pods from the same template",
                           diff: ObjectDiff.render(live: live, result: result))
        default:
            guard let live else { throw ActionError.failed("\(call.ref) not found: nothing to undo") }
            let target = try await undoTarget(call, live: live, client: client, named: nil)
            if target.template == currentTemplate(live) {
                return Preview(summary: "undo \(call.ref): unchanged (the template already is revision \(target.revision)'s)")
            }
            let result = try await client.patch(call.ref, contentType: target.contentType, patch: target.patch, dryRun: true)
            return Preview(summary: "undo \(call.ref) to revision \(target.revision)", diff: ObjectDiff.render(live: live, result: result))
        }
    }

    // MARK: execute

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        let call = try Call(context, client)
        switch call.verb {
        case "status":
            let (object, message) = try await wait(call, client, context)
            return ActionResult(outputs: ["revision": revision(object)], summary: message)
        case "restart":
            var record: Value
            var live: Value?
            if let j = context.journal, j["prior"] != nil {
                record = j  // resume: the same stamp again changes nothing if the first attempt got through
            } else {
                live = try await client.get(call.ref)
                guard let live else { throw ActionError.failed("\(call.ref) not found: nothing to restart") }
                record = ["ref": call.ref.value, "prior": try await PriorState.save(live, ref: call.ref, context: context, client: client),
                          "restartedAt": .string(Self.timestamp())]
                try await context.recordJournal(record)
            }
            let stamp = record["restartedAt"]?.stringValue ?? Self.timestamp()
            let result = try await pinnedPatch(call, live: live, client: client, nothingTo: "restart", while: "restarted") { _, _ in
                (K8sPatch.contentTypes["strategic"]!, restartPatch(stamp))
            }
            PriorState.noteAfter(result, in: &record)
            return ActionResult(outputs: ["revision": try await observedRevision(call, client, generation: result)],
                                rollback: record, summary: "restarted \(call.ref) (\(Self.restartedAt)=\(stamp))")
        default:
            guard let live = try await client.get(call.ref) else { throw ActionError.failed("\(call.ref) not found: nothing to undo") }
            var record: Value
            let target: UndoTarget
            if let j = context.journal, j["prior"] != nil, let name = j["target"]?.stringValue {
                record = j  // resume: the revision chosen first (numbers move once the undo is done)
                target = try await undoTarget(call, live: live, client: client, named: name)
            } else {
                target = try await undoTarget(call, live: live, client: client, named: nil)
                if target.template == currentTemplate(live) {
                    return ActionResult(outputs: ["revision": revision(live)],
                                        summary: "\(call.ref) unchanged: its template already is revision \(target.revision)'s")
                }
                record = ["ref": call.ref.value, "prior": try await PriorState.save(live, ref: call.ref, context: context, client: client),
                          "target": .string(target.name)]
                try await context.recordJournal(record)
            }
            let result = try await pinnedPatch(call, live: live, client: client, nothingTo: "undo",
                                               while: "rolled back to revision \(target.revision)") { current, reread in
                // after a conflict the revision holder is looked up again in the object just read
                let t = reread ? try await undoTarget(call, live: current, client: client, named: target.name) : target
                return (t.contentType, t.patch)
            }
            PriorState.noteAfter(result, in: &record)
            return ActionResult(outputs: ["revision": try await observedRevision(call, client, generation: result)],
                                rollback: record, summary: "rolled \(call.ref) back to revision \(target.revision)")
        }
    }

    public func rollback(_ context: ActionContext, record: Value) async throws {
        let client = try context.kubernetes.client()
        guard let ref = ObjectRef(value: record["ref"]), let fragment = record["prior"] else { return }
        try await PriorState.undoChange(to: ref, fragment: fragment, record: record, context: context, client: client)
    }

    // MARK: helpers

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    func restartPatch(_ stamp: String) -> Value {
        ["spec": ["template": ["metadata": ["annotations": [K8sRollout.restartedAt: .string(stamp)]]]]]
    }

    /// PATCHes the workload with what `make` builds from the object just read, pinned to that
    /// object's resourceVersion: a PATCH of an attempt that died while the API server still held it
    /// cannot land later over what came since (the resumed attempt's write, or the run's rollback);
    /// the server answers it 409 Conflict. A conflict here (a controller's status write between
    /// read and write) reads again (`make` is told so), up to 5 times.
    func pinnedPatch(_ call: Call, live first: Value?, client: KubeClient, nothingTo verb: String, while doing: String,
                     _ make: (_ current: Value, _ reread: Bool) async throws -> (contentType: String, patch: Value)) async throws -> Value
    {
        var live = first
        for _ in 0..<5 {
            let reread = live == nil
            if reread { live = try await client.get(call.ref) }
            guard let current = live else { throw ActionError.failed("\(call.ref) not found: nothing to \(verb)") }
            let (contentType, patch) = try await make(current, reread)
            do {
                return try await client.patch(call.ref, contentType: contentType,
                                              patch: Self.pinned(patch, to: current.lookup("metadata.resourceVersion") ?? .null))
            } catch let e as KubeError where e.isConflict {
                live = nil  // changed between our read and write: read again
            }
        }
        throw ActionError.transient("\(call.ref) kept changing while it was being \(doing)")
    }

    /// `patch` with `metadata.resourceVersion` set: the API server checks the patched object's
    /// resourceVersion against the stored one (409 Conflict when the object changed since). A JSON
    /// patch gets one more operation, a merge or strategic patch the field.
    static func pinned(_ patch: Value, to version: Value) -> Value {
        if var ops = patch.arrayValue {
            ops.insert(["op": "replace", "path": "/metadata/resourceVersion", "value": version], at: 0)
            return .array(ops)
        }
        var p = patch
        var metadata = p["metadata"]?.objectValue ?? Object()
        metadata["resourceVersion"] = version
        p["metadata"] = .object(metadata)
        return p
    }

    /// Waits until the rollout is done; fails at once when it cannot finish, else at the timeout.
    func wait(_ call: Call, _ client: KubeClient, _ context: ActionContext) async throws -> (Value, String) {
        var poller = Poller(timeout: call.timeout, stepDeadline: context.deadline)
        var last = "\(call.ref) not found"
        repeat {
            if let object = try await client.get(call.ref) {
                switch RolloutStatus.of(object) {
                case .done(let m): return (object, m)
                case .failed(let m): throw ActionError.failed(m)
                case .waiting(let m): last = m
                }
            }
        } while try await poller.next()
        throw ActionError.failed("rollout of \(call.ref) did not finish within \(Int(call.timeout))s: \(last)")
    }

    /// The revision once the controller has seen the change (bounded by the step's timeout).
    func observedRevision(_ call: Call, _ client: KubeClient, generation written: Value) async throws -> Value {
        let want = written.lookup("metadata.generation")?.intValue ?? 0
        var poller = Poller(timeout: min(call.timeout, 30), stepDeadline: nil)
        repeat {
            if let o = try await client.get(call.ref), (o.lookup("status.observedGeneration")?.intValue ?? 0) >= want {
                return revision(o)
            }
        } while try await poller.next()
        return .null
    }

    /// Deployments: `deployment.kubernetes.io/revision`; StatefulSets/DaemonSets: the update revision.
    func revision(_ o: Value) -> Value {
        if let r = o.lookup("metadata.annotations")?[K8sRollout.revisionAnnotation]?.stringValue { return Int(r).map(Value.int) ?? .string(r) }
        return o.lookup("status.updateRevision") ?? .null
    }

    /// The live pod template, compared without the hash label the controllers add.
    func currentTemplate(_ o: Value) -> Value { K8sRollout.withoutHash(o.lookup("spec.template") ?? .null) }

    static func withoutHash(_ template: Value) -> Value {
        var t = template
        if var labels = t["metadata"]?["labels"]?.objectValue {
            labels["pod-template-hash"] = nil
            labels["controller-revision-hash"] = nil
            t["metadata"]?["labels"] = labels.isEmpty ? nil : .object(labels)
        }
        if t["metadata"]?["creationTimestamp"]?.isNull == true { t["metadata"]?["creationTimestamp"] = nil }
        return t
    }
}

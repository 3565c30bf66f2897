import Foundation

/// `k8s.job.run`: creates a Job — from a CronJob's `jobTemplate` as `kubectl create job --from`
/// does, or from a manifest — waits for it, and keeps the tail of its logs (masked).
///
/// It fails with those logs when the Job fails, or with the kubelet's message when a Pod cannot
/// start (`CreateContainerConfigError`, image pull errors). On success the Job and its Pods are
/// deleted unless `keep: true`. Rollback deletes the Job and its Pods. The default name is
/// `<cronjob>-<last 4 hex of the run id>`; a Job of that name from the same run is reused, so
/// executing twice runs it once — unless it failed: a resume after a failed Job runs it anew.
public struct K8sJobRun: Action {
    public static let spec = ActionSpec(name: "k8s.job.run", required: [],
                                        optional: ["namespace", "from_cronjob", "manifest", "name", "timeout", "keep", "log_lines"],
                                        mutating: true, dryRun: .preview)
    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if (with["from_cronjob"] == nil) == (with["manifest"] == nil) {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "k8s.job.run needs exactly one of from_cronjob or manifest"))
        }
    }

    static let stuckReasons: Set<String> = ["CreateContainerConfigError", "CreateContainerError", "ErrImagePull", "ImagePullBackOff",
                                            "InvalidImageName", "CrashLoopBackOff"]

    /// The Job to create.
    func job(_ context: ActionContext, _ client: KubeClient) async throws -> Value {
        let ns = try context.optionalString("namespace") ?? client.defaultNamespace
        if let cron = try context.optionalString("from_cronjob") {
            let ref = ObjectRef(apiVersion: "batch/v1", kind: "CronJob", namespace: ns, name: cron)
            guard let cj = try await client.get(ref) else { throw ActionError.failed("\(ref) not found") }
            let suffix = String(context.runID.suffix(4)).lowercased()
            let name = try context.optionalString("name") ?? "\(String(cron.prefix(52)))-\(suffix)"
            let template = cj.lookup("spec.jobTemplate") ?? .object(Object())
            var annotations = template.lookup("metadata.annotations")?.objectValue ?? Object()
            annotations["cronjob.kubernetes.io/instantiate"] = "manual"
            annotations["runbook.dev/run-id"] = .string(context.runID)
            var meta: Value = ["name": .string(name), "namespace": .string(ns), "annotations": .object(annotations)]
            if let labels = template.lookup("metadata.labels") { meta["labels"] = labels }
            meta["ownerReferences"] = [["apiVersion": "batch/v1", "kind": "CronJob", "name": .string(cron),
                                        "uid": cj.lookup("metadata.uid") ?? "", "controller": true]]
            return ["apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": template["spec"] ?? .object(Object())]
        }
        let docs = try context.documents(fromFile: "manifest")
        guard docs.count == 1, var job = docs.first, job["kind"] == "Job" else {
            throw ActionError.invalidInput("\(context.stepID): manifest must hold exactly one Job")
        }
        if let n = try context.optionalString("name") { job["metadata"]?["name"] = .string(n) }
        if job.lookup("metadata.namespace") == nil { job["metadata"]?["namespace"] = .string(ns) }
        var annotations = job.lookup("metadata.annotations")?.objectValue ?? Object()
        annotations["runbook.dev/run-id"] = .string(context.runID)
        job["metadata"]?["annotations"] = .object(annotations)
        return job
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let client = try context.kubernetes.client()
        let job = try await job(context, client)
        let ref = try ObjectRef(object: job)
        _ = try await client.create(job, dryRun: true)
        let image = job.lookup("spec.template.spec.containers.0.image")?.stringValue ?? "?"
        let from = try context.optionalString("from_cronjob").map { " from CronJob \($0)" } ?? ""
        // Without `name:` the Job is named after the run id, which exists only at run time.
        let name = try context.optionalString("name") == nil && from != ""
            ? "\(try context.optionalString("from_cronjob") ?? "")-<last 4 hex of the run id, known at run time>" : ref.name
        return Preview(summary: "run Job \(ref.namespace ?? "")/\(name)\(from) (image \(image)) and wait for it",
                       outputs: ["job": .string(ref.name)])
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        let job = try await job(context, client)
        let ref = try ObjectRef(object: job)
        let ns = ref.namespace ?? client.defaultNamespace
        let record: Value = ["ref": ref.value]
        let keep = try context.bool("keep", default: false)
        if context.journal?["succeeded"] == true, try await client.get(ref) == nil {
            // An earlier attempt saw the Job succeed and deleted it, then the process died.
            return ActionResult(outputs: ["job": .string(ref.name), "succeeded": true,
                                          "logs": "(not kept: the Job had succeeded and was deleted before the run was interrupted)"],
                                rollback: record, summary: "Job \(ns)/\(ref.name) had already succeeded")
        }
        try await context.recordJournal(record)
        var existing = try await client.get(ref)
        if let live = existing {
            guard live.lookup("metadata.annotations")?["runbook.dev/run-id"]?.stringValue == context.runID else { throw ActionError.failed("Job \(ns)/\(ref.name) already exists and was not started by this run; choose another name") }
            if K8sJobRun.hasFailed(live) {
                // An earlier attempt's Job failed (the run paused, the cause was fixed, now it resumes):
                // waiting for it would only report the old failure again, so it runs anew.
                try await deleteJob(client, ref: ref)
                try await waitUntilGone(client, ref: ref, context: context)
                context.log("deleted Job \(ns)/\(ref.name), which had failed in an earlier attempt, to run it again")
                existing = nil
            } else {
                context.log("Job \(ns)/\(ref.name) already exists (an earlier attempt): waiting for it")
            }
        }
        if existing == nil {
            let runID = context.runID
            do {
                _ = try await client.createConverging(job) { $0.lookup("metadata.annotations")?["runbook.dev/run-id"]?.stringValue == runID }
            } catch let e as KubeError where e.isAlreadyExists {
                throw ActionError.failed("Job \(ns)/\(ref.name) already exists and was not started by this run; choose another name")
            }
            context.log("created Job \(ns)/\(ref.name)")
        }
        let lines = try context.int("log_lines") ?? 50
        var poller = Poller(timeout: try context.duration("timeout") ?? 600, stepDeadline: context.deadline)
        var last: Value = .null
        repeat {
            guard let live = try await client.get(ref) else {
                throw ActionError.failed("Job \(ns)/\(ref.name) disappeared while waiting for it")
            }
            let conds = live.lookup("status.conditions")?.arrayValue ?? []
            last = ["active": live.lookup("status.active") ?? 0, "succeeded": live.lookup("status.succeeded") ?? 0,
                    "failed": live.lookup("status.failed") ?? 0]
            if conds.contains(where: { $0["type"] == "Complete" && $0["status"] == "True" }) {
                let logs = try await tail(client, ns: ns, job: ref.name, lines: lines, context: context)
                if !keep {
                    var done = record
                    done["succeeded"] = true
                    try await context.recordJournal(done)  // so a resume does not run it a second time
                    try await deleteJob(client, ref: ref)
                }
                return ActionResult(outputs: ["job": .string(ref.name), "succeeded": true, "logs": .string(logs)],
                                    rollback: record, summary: "Job \(ns)/\(ref.name) succeeded" + (keep ? "" : " (deleted)"))
            }
            if let failed = conds.first(where: { $0["type"] == "Failed" && $0["status"] == "True" }) {
                let logs = try await tail(client, ns: ns, job: ref.name, lines: lines, context: context)
                let why = failed["message"]?.stringValue ?? failed["reason"]?.stringValue ?? "failed"
                throw ActionError.failed("Job \(ns)/\(ref.name) failed: \(why)\n--- last log lines ---\n\(logs)")
            }
            if let stuck = try await stuckPod(client, ns: ns, job: ref.name) {
                throw ActionError.failed("Job \(ns)/\(ref.name) cannot start: \(context.masker.mask(stuck))")
            }
        } while try await poller.next()
        let logs = (try? await tail(client, ns: ns, job: ref.name, lines: lines, context: context)) ?? ""
        throw ActionError.failed("timed out waiting for Job \(ns)/\(ref.name); last observed \(last.jsonString())\n--- last log lines ---\n\(logs)")
    }

    /// True when the Job carries the condition `Failed=True`.
    static func hasFailed(_ job: Value) -> Bool {
        (job.lookup("status.conditions")?.arrayValue ?? []).contains { $0["type"] == "Failed" && $0["status"] == "True" }
    }

    /// Waits until a deleted Job is gone, so that one of the same name can be created.
    func waitUntilGone(_ client: KubeClient, ref: ObjectRef, context: ActionContext) async throws {
        var poller = Poller(timeout: 120, stepDeadline: context.deadline)
        repeat {
            if try await client.get(ref) == nil { return }
        } while try await poller.next()
        throw ActionError.failed("Job \(ref.namespace ?? "")/\(ref.name) failed in an earlier attempt and was not gone 120s after its deletion")
    }

    func pods(_ client: KubeClient, ns: String, job: String) async throws -> [Value] {
        try await client.list(apiVersion: "v1", kind: "Pod", namespace: ns, labelSelector: "job-name=\(job)")
    }

    /// A Pod of the Job that the kubelet cannot start, described with the kubelet's message.
    func stuckPod(_ client: KubeClient, ns: String, job: String) async throws -> String? {
        for pod in try await pods(client, ns: ns, job: job) {
            let statuses = (pod.lookup("status.containerStatuses")?.arrayValue ?? []) + (pod.lookup("status.initContainerStatuses")?.arrayValue ?? [])
            for s in statuses {
                if let w = s.lookup("state.waiting"), let reason = w["reason"]?.stringValue, K8sJobRun.stuckReasons.contains(reason) {
                    let name = pod.lookup("metadata.name")?.stringValue ?? "?"
                    return "Pod \(name) is \(reason): \(w["message"]?.stringValue ?? "")"
                }
            }
        }
        return nil
    }

    func tail(_ client: KubeClient, ns: String, job: String, lines: Int, context: ActionContext) async throws -> String {
        var out: [String] = []
        for pod in try await pods(client, ns: ns, job: job) {
            guard let name = pod.lookup("metadata.name")?.stringValue else { continue }
            if let text = try? await client.logs(namespace: ns, pod: name, lines: lines), !text.isEmpty { out.append(text) }
        }
        let joined = out.joined(separator: "\n").split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        return context.masker.mask(joined.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func deleteJob(_ client: KubeClient, ref: ObjectRef) async throws {
        let ns = ref.namespace ?? client.defaultNamespace
        let pods = try await pods(client, ns: ns, job: ref.name)
        try await client.delete(ref, propagation: "Background")
        for pod in pods {
            guard let n = pod.lookup("metadata.name")?.stringValue else { continue }
            try await client.delete(ObjectRef(apiVersion: "v1", kind: "Pod", namespace: ns, name: n))
        }
    }

    public func rollback(_ context: ActionContext, record: Value) async throws {
        let client = try context.kubernetes.client()
        guard let ref = ObjectRef(value: record["ref"]) else { return }
        try await deleteJob(client, ref: ref)
        context.log("deleted Job \(ref.namespace ?? "")/\(ref.name) and its Pods")
    }
}

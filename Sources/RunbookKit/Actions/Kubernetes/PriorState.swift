import Foundation

/// Saving and restoring an object's state from before a step changed it.
///
/// Non-secret objects go into the step's journal/rollback record (`{"object": …}`). A Secret's
/// prior state never reaches the local state dir (SPEC §4): it is stored in the cluster, in a
/// holder Secret `runbook-prior-<hash>`, and the record holds only its name
/// (`{"secretRef": {namespace, name}}`), so rollback and resume find it wherever it is.
/// With the cluster lock the holder lives in the runs namespace (`ActionContext.priorStateNamespace`,
/// beside the Lease and the run records), so the run needs no Secret rights in the namespaces of
/// the objects it changes beyond what its steps need; with `--lock local` (no cluster records) it
/// lives beside the object. It is labelled `runbook.dev/run-id=<run-id>` and with the object it
/// holds (`runbook.dev/prior-kind`, `-namespace`, `-name`; the annotation `runbook.dev/prior-of`
/// names it whole). Holders are deleted when the step is rolled back; after a successful run they
/// stay, so that `runbook rollback <run-id>` can still restore, until `runbook history --prune`
/// removes the run (or `kubectl delete secret -l runbook.dev/run-id=<run-id>` in their namespace).
public enum PriorState {
    public static let runLabel = "runbook.dev/run-id"
    /// The name of every holder Secret starts so.
    public static let holderPrefix = "runbook-prior-"

    /// The object without the fields the server owns, ready to be created or PUT again.
    public static func clean(_ object: Value) -> Value { object.withoutServerFields }

    /// Label values are at most 63 characters; longer values (run ids, object names) are
    /// shortened with a hash.
    public static func labelValue(_ value: String) -> String {
        value.count <= 63 ? value : String(value.prefix(46)) + "-" + hash(value)
    }

    static func hash(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(String(h, radix: 16).suffix(16))
    }

    /// Saves `object` (as read live) and returns the record fragment that finds it again.
    /// A Secret, or any object in which a secret of this run appears (a Deployment with a password
    /// in a plain `env` value), is kept in the cluster; everything else goes into the record.
    public static func save(_ object: Value, ref: ObjectRef, context: ActionContext, client: KubeClient) async throws -> Value {
        let prior = clean(object)
        let holdsSecret = (ref.kind == "Secret" && ref.apiVersion == "v1") || context.masker.mask(prior) != prior
        guard holdsSecret else { return ["object": prior] }
        let objectNS = ref.namespace ?? client.defaultNamespace
        let ns = context.priorStateNamespace ?? objectNS
        let name = holderPrefix + hash("\(context.runID)/\(context.stepID)/\(objectNS)/\(ref.name)")
        var labels: Value = [runLabel: .string(labelValue(context.runID)), "runbook.dev/prior-kind": .string(labelValue(ref.kind)),
                             "runbook.dev/prior-name": .string(labelValue(ref.name))]
        if ref.namespace != nil { labels["runbook.dev/prior-namespace"] = .string(labelValue(objectNS)) }
        let holder: Value = [
            "apiVersion": "v1", "kind": "Secret",
            "metadata": ["name": .string(name), "namespace": .string(ns), "labels": labels,
                         "annotations": ["runbook.dev/run-id": .string(context.runID), "runbook.dev/step": .string(context.stepID),
                                         "runbook.dev/prior-of": .string(ref.description)]],
            "type": "Opaque",
            "data": ["object": .string(prior.jsonData().base64EncodedString())],
        ]
        let holderRef = ObjectRef(apiVersion: "v1", kind: "Secret", namespace: ns, name: name)
        if try await client.get(holderRef) == nil {
            let runID = context.runID
            _ = try await client.createConverging(holder) { $0.lookup("metadata.annotations")?["runbook.dev/run-id"]?.stringValue == runID }
        }
        // An existing holder already keeps the earliest prior state (resume): it is not overwritten.
        return ["secretRef": holderRef.value]
    }

    /// The saved prior object; nil when it is no longer needed: its holder Secret is gone because
    /// an interrupted rollback already restored the object and discarded the holder (the holder is
    /// deleted right after the restore, before the rollback's checkpoint). `isRestored` must
    /// confirm that from the live object, else the missing holder is an error.
    public static func load(_ fragment: Value, ref: ObjectRef, client: KubeClient,
                            isRestored: (Value?) -> Bool) async throws -> Value?
    {
        if let o = fragment["object"] { return o }
        guard let holderRef = ObjectRef(value: fragment["secretRef"]) else {
            throw KubeError.config("the rollback record of \(ref) names no prior state")
        }
        guard let holder = try await client.get(holderRef) else {
            if isRestored(try await client.get(ref)) { return nil }
            throw KubeError.config("the prior state of \(ref) was kept in Secret \(holderRef.namespace ?? "")/\(holderRef.name), "
                + "which no longer exists, and \(ref) is not back to it")
        }
        guard let b64 = holder.lookup("data.object")?.stringValue, let data = Data(base64Encoded: b64) else {
            throw KubeError.config("Secret \(holderRef.namespace ?? "")/\(holderRef.name) holds no prior state of \(ref)")
        }
        return try Value.parseJSON(data)
    }

    /// For `load`: an object the step changed is restored when it is no longer what the step left.
    public static func restoredFromChange(_ record: Value) -> (Value?) -> Bool {
        let after = record["afterFingerprint"]?.stringValue
        return { live in
            guard let live, let after else { return false }
            return ObjectFingerprint.of(live) != after
        }
    }

    /// Removes the in-cluster copy, if any.
    public static func discard(_ fragment: Value, client: KubeClient) async throws {
        if let ref = ObjectRef(value: fragment["secretRef"]) { try await client.delete(ref) }
    }

    /// Adds to a rollback record what the step left, from the object the API server returned for
    /// the step's write (so fields the server defaulted are included): `after` (its
    /// resourceVersion, for messages) and `afterFingerprint` (`ObjectFingerprint`), which is what
    /// drift is judged by.
    /// Undoes one recorded change to an object that existed before the step: restores the saved
    /// prior state (`fragment`) and then discards the saved copy, logging what was done; logs
    /// "<ref> was already restored" when `record` shows the change is undone already.
    public static func undoChange(to ref: ObjectRef, fragment: Value, record: Value, context: ActionContext,
                                  client: KubeClient) async throws {
        guard let prior = try await load(fragment, ref: ref, client: client, isRestored: restoredFromChange(record))
        else { return context.log("\(ref) was already restored") }
        context.log(try await restore(prior, ref: ref, record: record, force: context.force, client: client))
        try await discard(fragment, client: client)
    }

    public static func noteAfter(_ result: Value, in record: inout Value) {
        record["after"] = result.lookup("metadata.resourceVersion")?.stringValue.map(Value.string)
        record["afterFingerprint"] = .string(ObjectFingerprint.of(result))
    }

    /// Whether `live` differs from what the step left, as noted in `record` by `noteAfter`.
    /// Only the desired content counts (not status or server metadata): a controller's status
    /// write is not drift. Records written before fingerprints existed hold only `after`; for
    /// them the resourceVersion is compared, as before. Returns the reason, or nil.
    public static func drift(of live: Value, from record: Value?, ref: ObjectRef) -> String? {
        let rv = live.lookup("metadata.resourceVersion")?.stringValue ?? "?"
        let was = record?["after"]?.stringValue
        if let want = record?["afterFingerprint"]?.stringValue {
            guard ObjectFingerprint.of(live) != want else { return nil }
            return "\(ref) was changed after this step: its content (spec, data, labels, annotations…) differs from what the step left"
                + (was.map { " (resourceVersion \($0) → \(rv))" } ?? "")
        }
        guard let want = was, want != rv else { return nil }
        return "\(ref) was changed after this step (resourceVersion \(want) → \(rv)); its current state differs from what the step left"
    }

    /// Puts the object back as it was. With `record` (what the step left, see `noteAfter`),
    /// refuses when someone changed the object since, unless `force`.
    public static func restore(_ prior: Value, ref: ObjectRef, record: Value?, force: Bool, client: KubeClient) async throws -> String {
        for _ in 0..<4 {
            guard let live = try await client.get(ref) else {
                _ = try await client.createConverging(clean(prior)) { ObjectDiff.render(live: clean($0), result: clean(prior)).isEmpty }
                return "re-created \(ref)"
            }
            // Already as it was (e.g. the step failed before changing it): nothing to write.
            if ObjectDiff.render(live: clean(live), result: clean(prior)).isEmpty { return "\(ref) is already in its prior state" }
            if !force, let reason = drift(of: live, from: record, ref: ref) { throw ActionError.drift(reason) }
            var obj = clean(prior)
            obj["metadata"]?["resourceVersion"] = live.lookup("metadata.resourceVersion")
            // Annotations the controllers keep are theirs: leave them as they are now.
            for k in ObjectFingerprint.controllerAnnotations {
                let now = live.lookup("metadata.annotations")?[k]
                if now == nil && obj["metadata"]?["annotations"] == nil { continue }
                if obj["metadata"]?["annotations"] == nil { obj["metadata"]?["annotations"] = [:] }
                obj["metadata"]?["annotations"]?[k] = now
            }
            do {
                _ = try await client.replace(obj)
                return "restored \(ref)"
            } catch let e as KubeError where e.isConflict {
                continue  // changed between our read and write: read again (and re-check drift)
            }
        }
        throw ActionError.transient("\(ref) kept changing while it was being restored")
    }
}

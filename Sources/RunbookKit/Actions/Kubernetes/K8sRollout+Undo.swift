import Foundation

/// Which earlier revision `k8s.rollout` `do: undo` goes back to, and the patch that does it:
/// Deployments keep revisions as ReplicaSets (`deployment.kubernetes.io/revision`), StatefulSets
/// and DaemonSets as ControllerRevisions — both owned by the workload, as `kubectl rollout undo` reads them.
extension K8sRollout {
    struct UndoTarget {
        /// The ReplicaSet or ControllerRevision holding the revision.
        let name: String
        let revision: Int
        /// Its pod template, without the hash labels.
        let template: Value
        let contentType: String
        let patch: Value
    }

    func undoTarget(_ call: Call, live: Value, client: KubeClient, named: String?) async throws -> UndoTarget {
        let uid = live.lookup("metadata.uid")?.stringValue
        let isDeployment = call.ref.kind == "Deployment"
        let holders = try await client.list(apiVersion: "apps/v1", kind: isDeployment ? "ReplicaSet" : "ControllerRevision",
                                            namespace: call.ref.namespace).filter { item in
            (item.lookup("metadata.ownerReferences")?.arrayValue ?? []).contains { $0["uid"]?.stringValue == uid && $0["controller"]?.boolValue == true }
        }
        func rev(_ item: Value) -> Int {
            if isDeployment { return Int(item.lookup("metadata.annotations")?[K8sRollout.revisionAnnotation]?.stringValue ?? "") ?? 0 }
            return item["revision"]?.intValue ?? 0
        }
        let chosen: Value?
        if let named {
            chosen = holders.first { $0.lookup("metadata.name")?.stringValue == named }
            guard chosen != nil else { throw ActionError.failed("\(call.ref): revision holder \(named) chosen by the interrupted attempt is gone") }
        } else if let want = call.toRevision, want > 0 {
            chosen = holders.first { rev($0) == want }
            guard chosen != nil else {
                let known = holders.map(rev).sorted().map(String.init).joined(separator: ", ")
                throw ActionError.failed("\(call.ref) has no revision \(want) (revisions: \(known.isEmpty ? "none" : known))")
            }
        } else {
            let sorted = holders.sorted { rev($0) > rev($1) }
            guard sorted.count >= 2 else { throw ActionError.failed("\(call.ref) has no earlier revision to go back to") }
            chosen = sorted[1]
        }
        let item = chosen!
        let name = item.lookup("metadata.name")?.stringValue ?? ""
        if isDeployment {
            let template = K8sRollout.withoutHash(item.lookup("spec.template") ?? .null)
            return UndoTarget(name: name, revision: rev(item), template: template, contentType: K8sPatch.contentTypes["json"]!,
                              patch: [["op": "replace", "path": "/spec/template", "value": template]])
        }
        // A ControllerRevision's data is the strategic patch that restores that template.
        guard let data = item["data"], !data.isNull else { throw ActionError.failed("\(call.ref): revision \(rev(item)) holds no data") }
        let template = K8sRollout.withoutHash(data.lookup("spec.template") ?? .null)
        return UndoTarget(name: name, revision: rev(item), template: template, contentType: K8sPatch.contentTypes["strategic"]!, patch: data)
    }
}

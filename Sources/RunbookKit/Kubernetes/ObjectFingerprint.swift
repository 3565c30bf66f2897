import Foundation

/// A digest of what a person or a step controls in an object, used to tell drift from noise.
///
/// Controllers write `status` (ExternalSecret conditions, Deployment/StatefulSet replicas,
/// CronJob `lastScheduleTime`), and every such write bumps `metadata.resourceVersion`; so the
/// resourceVersion alone cannot say whether someone changed an object. The fingerprint covers the
/// object's desired content: every top-level field (spec, data, stringData, type, …) and the
/// metadata a person sets (labels, annotations, ownerReferences, finalizers, …), without
/// `status`, the server-managed metadata (resourceVersion, managedFields, generation, uid,
/// creationTimestamp, selfLink, deletion fields) and the annotations controllers write on their
/// own (`controllerAnnotations`).
///
/// The digest is SHA-256 over the canonical JSON (keys sorted) of that content, keyed with the
/// object's uid. A Secret's fingerprint can therefore sit in the state file: the uid is not
/// stored there, so a short secret value cannot be found by hashing guesses offline; and an
/// object deleted and re-created by someone else gets a different fingerprint.
public enum ObjectFingerprint {
    /// Annotations that controllers maintain themselves (the Deployment controller sets the
    /// revision on every rollout); a change to them is not drift.
    public static let controllerAnnotations: Set<String> = ["deployment.kubernetes.io/revision"]

    /// The content the fingerprint covers.
    public static func desired(_ object: Value) -> Value {
        var o = object.withoutServerFields
        if var ann = o["metadata"]?["annotations"]?.objectValue {
            for k in controllerAnnotations { ann[k] = nil }
            o["metadata"]?["annotations"] = ann.isEmpty ? nil : .object(ann)
        }
        return o
    }

    /// `sha256:<hex>` of the canonical desired content, keyed with the object's uid.
    public static func of(_ object: Value) -> String {
        var bytes = Data("runbook-fingerprint/v1\n".utf8)
        bytes.append(Data((object.lookup("metadata.uid")?.stringValue ?? "").utf8))
        bytes.append(0x0A)
        bytes.append(canonical(desired(object)).jsonData())
        return "sha256:" + SHA256.hex(bytes)
    }

    /// The value with object keys sorted at every level (arrays keep their order).
    public static func canonical(_ value: Value) -> Value {
        switch value {
        case .object(let o):
            return .object(Object(o.members.sorted { $0.key < $1.key }.map { Object.Member(key: $0.key, value: canonical($0.value)) }))
        case .array(let a):
            return .array(a.map(canonical))
        default:
            return value
        }
    }
}

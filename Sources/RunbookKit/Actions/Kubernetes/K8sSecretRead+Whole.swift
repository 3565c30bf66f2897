import Foundation

/// `k8s.secret.read` of whole Secrets: every key of one Secret, or every Secret a label
/// selector matches (a sealed-secrets controller's keys), as `kubectl get secret -o yaml` would
/// give them but without server-set metadata, so the `manifest` output can be applied to restore.
extension K8sSecretRead {
    /// One Secret: `data` (secret: key → value), `keys`, `digest`, `labels`, `annotations` (without
    /// kubectl's last-applied copy, which can hold the values), `manifest` (secret), `found`.
    func all(_ secret: Value, _ ref: ObjectRef) throws -> ActionResult {
        var data = Object()
        for m in (secret["data"]?.objectValue ?? Object()).sorted(by: { $0.key < $1.key }) {
            guard let b64 = m.value.stringValue, let bytes = Data(base64Encoded: b64) else {
                throw ActionError.failed("\(ref) key \(m.key) is not valid base64")
            }
            data[m.key] = .string(String(decoding: bytes, as: UTF8.self))
        }
        let meta = Self.restorable(secret)["metadata"]
        return ActionResult(outputs: ["data": .object(data), "keys": .array(data.keys.map(Value.string)),
                                      "digest": .string(Self.digest(of: secret)),
                                      "labels": meta?["labels"] ?? .object(Object()), "annotations": meta?["annotations"] ?? .object(Object()),
                                      "manifest": .string(Self.restorable(secret).yamlString()), "found": true],
                            summary: "read \(data.count) key\(data.count == 1 ? "" : "s") of \(ref)")
    }

    /// Every Secret matching `selector` in the namespace: `manifest` (secret: a `v1` List),
    /// `names`, `count`, `found`.
    func selected(_ context: ActionContext, _ client: KubeClient, _ selector: String) async throws -> ActionResult {
        let ns = try context.optionalString("namespace") ?? client.defaultNamespace
        let items = try await client.list(apiVersion: "v1", kind: "Secret", namespace: ns, labelSelector: selector)
            .sorted { ($0.lookup("metadata.name")?.stringValue ?? "") < ($1.lookup("metadata.name")?.stringValue ?? "") }
        for s in items { K8sGet.registerSecretData(s, masker: context.masker) }
        if items.isEmpty, !(try context.bool("optional", default: false)) {
            throw ActionError.failed("no Secret in namespace \(ns) matches \(selector) (set optional: true to continue without one)")
        }
        let list: Value = ["apiVersion": "v1", "kind": "List", "items": .array(items.map(Self.restorable))]
        let names = items.compactMap { $0.lookup("metadata.name")?.stringValue }
        return ActionResult(outputs: ["manifest": .string(list.yamlString()), "names": .array(names.map(Value.string)),
                                      "count": .int(items.count), "found": .bool(!items.isEmpty)],
                            summary: "read \(items.count) Secret\(items.count == 1 ? "" : "s") in \(ns) matching \(selector)")
    }

    /// The Secret without what the server sets (uid, resourceVersion, managedFields, owners…)
    /// and without kubectl's last-applied copy.
    static func restorable(_ secret: Value) -> Value {
        var meta = Object()
        for k in ["name", "namespace", "labels"] { if let v = secret["metadata"]?[k] { meta[k] = v } }
        if var ann = secret["metadata"]?["annotations"]?.objectValue {
            ann["kubectl.kubernetes.io/last-applied-configuration"] = nil
            if !ann.isEmpty { meta["annotations"] = .object(ann) }
        }
        var o: Value = ["apiVersion": "v1", "kind": "Secret", "metadata": .object(meta)]
        for k in ["type", "immutable", "data"] { if let v = secret[k] { o[k] = v } }
        return o
    }

    /// `sha256:<hex>` over the Secret's `data` (keys sorted, values as stored), keyed with its uid:
    /// equal digests of one Secret mean equal data, and since the uid is never stored with the
    /// digest, a short value cannot be found by hashing guesses.
    static func digest(of secret: Value) -> String {
        var bytes = Data("runbook-secret-data/v1\n".utf8)
        bytes.append(Data((secret.lookup("metadata.uid")?.stringValue ?? "").utf8))
        bytes.append(0x0A)
        let data = secret["data"]?.objectValue ?? Object()
        bytes.append(Value.object(Object(data.sorted { $0.key < $1.key })).jsonData())
        return "sha256:" + SHA256.hex(bytes)
    }
}

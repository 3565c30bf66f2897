import Foundation

/// Builds a `bitnami.com/v1alpha1` SealedSecret the way kubeseal does: each value sealed on
/// its own into `spec.encryptedData` (standard base64), the Secret's metadata and type in
/// `spec.template`, and the scope annotation on both the SealedSecret and its template (the
/// controller reads it from the SealedSecret to pick the label). Template annotations never
/// include kubectl's last-applied copy or the adoption annotations `managed`/`patch`.
public struct SealedSecretManifest: Sendable {
    public var namespace: String
    public var name: String
    public var scope: SealingScope
    /// The Secret's `type` (default `Opaque`).
    public var type: String
    /// Labels and annotations the unsealed Secret gets.
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(namespace: String, name: String, scope: SealingScope, type: String = "Opaque",
                labels: [String: String] = [:], annotations: [String: String] = [:])
    {
        self.namespace = namespace
        self.name = name
        self.scope = scope
        self.type = type
        self.labels = labels
        self.annotations = annotations
    }

    /// The SealedSecret object holding `data` (key → plaintext bytes) sealed with `key`.
    public func seal(_ data: [(key: String, value: [UInt8])], with key: SealingKey) throws -> Value {
        let label = scope.label(namespace: namespace, name: name)
        var encrypted = Object()
        for (k, v) in data.sorted(by: { $0.key < $1.key }) {
            encrypted[k] = .string(Data(try HybridSealer.seal(v, label: label, key: key)).base64EncodedString())
        }
        var scopeAnnotations = Object()
        if let a = scope.annotation { scopeAnnotations[a] = "true" }
        var templateMeta: Object = ["name": .string(name), "namespace": .string(namespace)]
        if !labels.isEmpty { templateMeta["labels"] = .object(Self.object(labels)) }
        // As kubeseal: never carry kubectl's or kubecfg's last-applied copy (it can hold the values).
        // Nor the adoption annotations: they tell the controller to take over an existing Secret,
        // so the Secret read for sealing may carry them (a resumed run reads it after annotating).
        var all = Self.object(annotations.filter { !Self.dropped.contains($0.key) })
        for m in scopeAnnotations { all[m.key] = m.value }
        if !all.isEmpty { templateMeta["annotations"] = .object(all) }
        var meta: Object = ["name": .string(name), "namespace": .string(namespace)]
        if !scopeAnnotations.isEmpty { meta["annotations"] = .object(scopeAnnotations) }
        return [
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": .object(meta),
            "spec": ["encryptedData": .object(encrypted),
                     "template": ["metadata": .object(templateMeta), "type": .string(type)]],
        ]
    }

    static let dropped: Set<String> = ["kubectl.kubernetes.io/last-applied-configuration",
                                       "kubecfg.ksonnet.io/last-applied-configuration",
                                       "sealedsecrets.bitnami.com/managed", "sealedsecrets.bitnami.com/patch"]

    private static func object(_ map: [String: String]) -> Object {
        Object(map.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })
    }
}

/// Where a SealedSecret may be unsealed, as sealed-secrets defines it. The scope decides the
/// RSA-OAEP label, so a value sealed for one scope cannot be unsealed under another.
public enum SealingScope: String, Sendable, CaseIterable {
    /// Only as the Secret `namespace/name` (the default of kubeseal and of the controller).
    case strict
    /// As any Secret in `namespace`.
    case namespaceWide = "namespace-wide"
    /// As any Secret anywhere in the cluster.
    case clusterWide = "cluster-wide"

    /// The OAEP label: `namespace/name`, `namespace`, or empty.
    public func label(namespace: String, name: String) -> [UInt8] {
        switch self {
        case .strict: return Array("\(namespace)/\(name)".utf8)
        case .namespaceWide: return Array(namespace.utf8)
        case .clusterWide: return []
        }
    }

    /// The annotation that tells the controller which label to use (none for `strict`).
    public var annotation: String? {
        switch self {
        case .strict: return nil
        case .namespaceWide: return "sealedsecrets.bitnami.com/namespace-wide"
        case .clusterWide: return "sealedsecrets.bitnami.com/cluster-wide"
        }
    }
}

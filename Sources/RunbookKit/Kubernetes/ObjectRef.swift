/// Names one object: apiVersion, kind, namespace (nil for the default or cluster scope), name.
public struct ObjectRef: Sendable, Hashable, CustomStringConvertible {
    public var apiVersion: String
    public var kind: String
    public var namespace: String?
    public var name: String

    public init(apiVersion: String, kind: String, namespace: String?, name: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = (namespace?.isEmpty ?? true) ? nil : namespace
        self.name = name
    }

    /// The reference of a manifest object; fails when apiVersion, kind or name is missing.
    public init(object: Value, defaultNamespace: String? = nil) throws {
        guard let v = object["apiVersion"]?.stringValue, let k = object["kind"]?.stringValue,
              let n = object.lookup("metadata.name")?.stringValue, !n.isEmpty
        else { throw KubeError.invalidObject("an object needs apiVersion, kind and metadata.name") }
        self.init(apiVersion: v, kind: k, namespace: object.lookup("metadata.namespace")?.stringValue ?? defaultNamespace, name: n)
    }

    public var description: String { namespace.map { "\(kind) \($0)/\(name)" } ?? "\(kind) \(name)" }

    /// As stored in rollback records.
    public var value: Value {
        var o: Value = ["apiVersion": .string(apiVersion), "kind": .string(kind), "name": .string(name)]
        if let ns = namespace { o["namespace"] = .string(ns) }
        return o
    }

    public init?(value: Value?) {
        guard let v = value, let a = v["apiVersion"]?.stringValue, let k = v["kind"]?.stringValue, let n = v["name"]?.stringValue else { return nil }
        self.init(apiVersion: a, kind: k, namespace: v["namespace"]?.stringValue, name: n)
    }
}

/// One Kubernetes permission a run needs: an RBAC verb on a resource (optionally one object by
/// name, optionally a subresource) in a namespace (nil: cluster-scoped, or every namespace when
/// the namespace is known only at run time).
public struct Permission: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var verb: String
    public var group: String
    public var resource: String
    public var subresource: String?
    public var namespace: String?
    public var name: String?

    public init(_ verb: String, _ resource: KubeResource, subresource: String? = nil, namespace: String?, name: String?) {
        self.init(verb, group: resource.group, resource: resource.name, subresource: subresource,
                  namespace: resource.namespaced ? namespace : nil, name: name)
    }

    public init(_ verb: String, group: String, resource: String, subresource: String? = nil, namespace: String?, name: String?) {
        self.verb = verb
        self.group = group
        self.resource = resource
        self.subresource = subresource
        // an empty namespace means every namespace, as in the API's paths
        self.namespace = namespace?.isEmpty == true ? nil : namespace
        // `create` is authorized before the object has a name: a name there would never match.
        self.name = verb == "create" || verb == "list" || verb == "watch" ? nil : name
    }

    /// `resource.group/subresource` as RBAC rules name it (`deployments/scale`, group apart).
    public var ruleResource: String { subresource.map { "\(resource)/\($0)" } ?? resource }

    /// `verb resource[.group][/name] [(subresource S)] in namespace NS` (or `cluster-wide`).
    public var description: String {
        var s = "\(verb) \(resource)\(group.isEmpty ? "" : "." + group)"
        if let name { s += "/\(name)" }
        if let subresource { s += " (subresource \(subresource))" }
        return s + (namespace.map { " in namespace \($0)" } ?? " cluster-wide")
    }

    public static func < (a: Permission, b: Permission) -> Bool {
        (a.namespace ?? "", a.group, a.resource, a.subresource ?? "", a.name ?? "", a.verb)
            < (b.namespace ?? "", b.group, b.resource, b.subresource ?? "", b.name ?? "", b.verb)
    }
}

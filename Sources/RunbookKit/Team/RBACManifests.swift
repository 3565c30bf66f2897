/// `runbook rbac`: the Roles, ClusterRole and bindings (YAML for `kubectl apply`) that grant a
/// ServiceAccount exactly the permissions of one run, and nothing more.
public struct RBACManifests: Sendable {
    public let runbook: String
    public let permissions: [Permission]
    /// Where the Leases and run records live (created here when the run uses the cluster lock).
    public let runsNamespace: String?
    public let serviceAccount: (namespace: String, name: String)
    /// Steps whose permissions could not be known before the run (they are not granted).
    public var warnings: [String] = []

    public init(runbook: String, permissions: [Permission], runsNamespace: String?, serviceAccount: (namespace: String, name: String)) {
        self.runbook = runbook
        self.permissions = permissions
        self.runsNamespace = runsNamespace
        self.serviceAccount = serviceAccount
    }

    /// `runbook-<runbook>`: the name of every Role and binding.
    public var roleName: String { KubeName.subdomain("runbook-\(runbook)") }

    static let rbacAPI = "rbac.authorization.k8s.io/v1"

    /// The rules of one namespace (nil: the ClusterRole): one rule per resource and set of names,
    /// with the verbs needed on them.
    static func rules(_ perms: [Permission]) -> [Value] {
        struct Key: Hashable, Comparable {
            var group: String, resource: String, name: String?
            static func < (a: Key, b: Key) -> Bool { (a.group, a.resource, a.name ?? "") < (b.group, b.resource, b.name ?? "") }
        }
        var verbs: [Key: Set<String>] = [:]
        for p in perms { verbs[Key(group: p.group, resource: p.ruleResource, name: p.name), default: []].insert(p.verb) }
        // objects with the same verbs on the same resource share a rule (resourceNames)
        struct Merge: Hashable { var group: String, resource: String, verbs: [String], named: Bool }
        var merged: [Merge: [String]] = [:]
        var order: [Merge] = []
        for key in verbs.keys.sorted() {
            let m = Merge(group: key.group, resource: key.resource, verbs: verbs[key]!.sorted(), named: key.name != nil)
            if merged[m] == nil { order.append(m) }
            merged[m, default: []] += key.name.map { [$0] } ?? []
        }
        return order.map { m in
            var rule: Object = ["apiGroups": [.string(m.group)], "resources": [.string(m.resource)]]
            if m.named { rule["resourceNames"] = .array(merged[m]!.map(Value.string)) }
            rule["verbs"] = .array(m.verbs.map(Value.string))
            return .object(rule)
        }
    }

    /// Every object, in the order `kubectl apply` needs them.
    public var objects: [Value] {
        var out: [Value] = []
        let sa = serviceAccount
        for ns in Set([runsNamespace, sa.namespace].compactMap { $0 }).sorted() {
            out.append(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(ns)]])
        }
        out.append(["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": .string(sa.name), "namespace": .string(sa.namespace)]])
        let subject: Value = [["kind": "ServiceAccount", "name": .string(sa.name), "namespace": .string(sa.namespace)]]
        let labels: Value = ["runbook.dev/runbook": .string(KubeName.labelValue(runbook) ?? roleName)]
        let clusterWide = permissions.filter { $0.namespace == nil }
        if !clusterWide.isEmpty {
            out.append(["apiVersion": .string(RBACManifests.rbacAPI), "kind": "ClusterRole",
                        "metadata": ["name": .string(roleName), "labels": labels], "rules": .array(RBACManifests.rules(clusterWide))])
            out.append(["apiVersion": .string(RBACManifests.rbacAPI), "kind": "ClusterRoleBinding",
                        "metadata": ["name": .string(roleName), "labels": labels],
                        "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": .string(roleName)],
                        "subjects": subject])
        }
        for ns in Set(permissions.compactMap(\.namespace)).sorted() {
            let perms = permissions.filter { $0.namespace == ns }
            let meta: Value = ["name": .string(roleName), "namespace": .string(ns), "labels": labels]
            out.append(["apiVersion": .string(RBACManifests.rbacAPI), "kind": "Role", "metadata": meta,
                        "rules": .array(RBACManifests.rules(perms))])
            out.append(["apiVersion": .string(RBACManifests.rbacAPI), "kind": "RoleBinding", "metadata": meta,
                        "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": .string(roleName)],
                        "subjects": subject])
        }
        return out
    }

    /// The objects as one YAML stream.
    public var yaml: String {
        "# runbook rbac \(runbook): exactly what one run needs (steps, dry-runs, rollbacks, the Lease, the run records)\n"
            + objects.map { "---\n" + $0.yamlString() }.joined()
    }
}

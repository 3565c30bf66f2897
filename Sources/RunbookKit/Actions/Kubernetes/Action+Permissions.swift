import Foundation

/// What each `k8s.*` action needs from RBAC: the verbs its execute, dry-run and rollback send.
extension ActionContext {
    /// A `with` string known before the run (nil when absent or only known at run time).
    public func known(_ key: String) -> String? {
        guard let v = with[key], !v.isNull else { return nil }
        let s = v.stringValue ?? v.interpolated
        return s.contains("<unknown until run: ") ? nil : s
    }

    /// The resource serving `apiVersion`/`kind` (discovery).
    func permissionResource(_ apiVersion: String, _ kind: String) async throws -> KubeResource {
        try await kubernetes.client().resource(apiVersion: apiVersion, kind: kind)
    }

    /// The namespace a step works in: `with.namespace`, else the default one; nil when known only
    /// at run time (every namespace).
    var permissionNamespace: String? {
        get throws {
            if with["namespace"] != nil && !(with["namespace"]?.isNull ?? true) { return known("namespace") }
            return try defaultPermissionNamespace
        }
    }

    /// `permissionDefaultNamespace`, else the client's default namespace.
    var defaultPermissionNamespace: String {
        get throws { try permissionDefaultNamespace ?? kubernetes.client().defaultNamespace }
    }

    /// `verbs` on the object named by `apiVersion`/`kind`/`namespace`/`name` in `with`.
    func objectPermissions(_ verbs: [String], subresource: String? = nil) async throws -> [Permission] {
        guard let apiVersion = known("apiVersion"), let kind = known("kind") else { return [] }
        let res = try await permissionResource(apiVersion, kind)
        let ns = try permissionNamespace
        return verbs.map { Permission($0, res, subresource: subresource, namespace: ns, name: known("name")) }
    }

    /// The Secrets that keep prior states holding secret data (see `PriorState`): names derived
    /// from the run id, so any name; in the runs namespace with the cluster lock (where the run
    /// records already need create and get: only delete is added), else in `namespace`, the object's.
    func priorStateHolderPermissions(namespace: String?) -> [Permission] {
        let ns = priorStateNamespace ?? namespace
        return ["create", "get", "delete"].map { Permission($0, group: "", resource: "secrets", namespace: ns, name: nil) }
    }

    /// The holder Secrets of a step that saves the prior state of an object of `kind` in
    /// `namespace`: needed for a Secret, and for any object when the run may hold a secret (whether
    /// a secret value appears in the object is decided on the live object, at run time).
    func priorStatePermissions(kind: String?, namespace: String?) -> [Permission] {
        kind == "Secret" || runMayHoldSecrets ? priorStateHolderPermissions(namespace: namespace) : []
    }
}

extension K8sGet {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] { try await c.objectPermissions(["get"]) }
}

extension K8sSecretRead {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        let ns = try c.permissionNamespace
        if c.with["labelSelector"] != nil { return [Permission("list", group: "", resource: "secrets", namespace: ns, name: nil)] }
        if let names = c.with["names"] {
            // Each named Secret; any name when a name is known only at run time.
            let known = (names.arrayValue ?? []).map { v in v.stringValue.flatMap { $0.contains("<unknown until run: ") ? nil : $0 } }
            guard names.arrayValue != nil, !known.contains(where: { $0 == nil }) else {
                return [Permission("get", group: "", resource: "secrets", namespace: ns, name: nil)]
            }
            return Set(known.compactMap { $0 }).sorted().map { Permission("get", group: "", resource: "secrets", namespace: ns, name: $0) }
        }
        return [Permission("get", group: "", resource: "secrets", namespace: ns, name: c.known("name"))]
    }
}

extension K8sApply {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        var objects: [Value] = []
        if let inline = c.with["objects"]?.arrayValue { objects = inline } else if c.with["manifest"] != nil {
            do { objects = try c.documents(fromFile: "manifest") } catch {
                c.permissionGap?("\(c.stepID): its manifest cannot be read before the run (\(error)), so the objects it applies get no permission")
            }
        }
        var out: [Permission] = []
        for o in objects {
            guard let apiVersion = o["apiVersion"]?.stringValue, let kind = o["kind"]?.stringValue,
                  !apiVersion.contains("<unknown until run: "), !kind.contains("<unknown until run: ") else {
                c.permissionGap?("\(c.stepID) applies an object whose kind is known only at run time (\(o.interpolated.prefix(80))), "
                    + "so it gets no permission; write its apiVersion, kind and metadata in the step")
                continue
            }
            let res = try await c.permissionResource(apiVersion, kind)
            let name = o.lookup("metadata.name")?.stringValue.flatMap { $0.contains("<unknown until run: ") ? nil : $0 }
            var ns = try c.permissionNamespace
            if let n = o.lookup("metadata.namespace")?.stringValue { ns = n.contains("<unknown until run: ") ? nil : n }
            // server-side apply (a PATCH that may create), its dry-run, and the rollback: delete
            // what it created, put back (update) what it changed
            out += ["get", "patch", "update", "delete"].map { Permission($0, res, namespace: ns, name: name) }
            out += c.priorStatePermissions(kind: apiVersion == "v1" ? kind : nil, namespace: ns)
        }
        return out
    }
}

extension K8sPatch {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        try await c.objectPermissions(["get", "patch", "update"]) + c.priorStatePermissions(kind: c.known("kind"), namespace: try c.permissionNamespace)
    }
}

extension K8sDelete {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        try await c.objectPermissions(["get", "delete", "create"]) + c.priorStatePermissions(kind: c.known("kind"), namespace: try c.permissionNamespace)
    }
}

extension K8sScale {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        try await c.objectPermissions(["get"]) + c.objectPermissions(["get", "patch"], subresource: "scale")
    }
}

extension K8sWait {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] { try await c.objectPermissions(["get"]) }
}

extension K8sJobRun {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        let ns = try c.permissionNamespace
        var out: [Permission] = []
        if let cron = c.with["from_cronjob"] {
            out.append(Permission("get", group: "batch", resource: "cronjobs", namespace: ns,
                                  name: cron.stringValue.flatMap { $0.contains("<unknown") ? nil : $0 }))
        }
        // the Job's name comes from the run id unless `name:` is given
        let job = c.known("name")
        out += ["create", "get", "delete"].map { Permission($0, group: "batch", resource: "jobs", namespace: ns, name: job) }
        out += ["list", "delete"].map { Permission($0, group: "", resource: "pods", namespace: ns, name: nil) }
        out.append(Permission("get", group: "", resource: "pods", subresource: "log", namespace: ns, name: nil))
        return out
    }
}

extension K8sList {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        guard let apiVersion = c.known("apiVersion"), let kind = c.known("kind") else { return [] }
        let res = try await c.permissionResource(apiVersion, kind)
        // no namespace: every namespace
        let ns = c.with["namespace"] == nil ? nil : c.known("namespace")
        return [Permission("list", res, namespace: ns, name: nil)]
    }
}

extension K8sRollout {
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        guard let kind = c.known("kind") else { return [] }
        let res = try await c.permissionResource(c.known("apiVersion") ?? "apps/v1", kind)
        let ns = try c.permissionNamespace
        var out = rbacVerbs(do: c.known("do")).map { Permission($0, res, namespace: ns, name: c.known("name")) }
        // restart and undo keep the prior template (PriorState)
        if c.known("do") != "status" { out += c.priorStatePermissions(kind: kind, namespace: ns) }
        if c.known("do") == "undo" || c.known("do") == nil {
            let history = kind == "Deployment" ? "replicasets" : "controllerrevisions"
            out.append(Permission("list", group: "apps", resource: history, namespace: ns, name: nil))
        }
        return out
    }

    /// The verbs on the workload itself: `status` only reads; `restart` and `undo` patch (their
    /// dry-run too) and their rollback puts the whole prior object back (PUT: `update`). A `do`
    /// known only at run time may be any of them.
    static func rbacVerbs(do verb: String?) -> [String] {
        verb == "status" ? ["get"] : ["get", "patch", "update"]
    }
}

extension HTTPRequestAction {
    /// Through the API server's service proxy: the method's verb on `services/proxy`.
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        guard let s = c.with["service"]?.objectValue else { return [] }
        let verb = ["GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete"][(c.known("method") ?? "GET").uppercased()] ?? "get"
        let given = s["namespace"]?.stringValue
        let ns = given == nil ? try c.defaultPermissionNamespace : given!.contains("<unknown until run: ") ? nil : given
        return [Permission(verb, group: "", resource: "services", subresource: "proxy", namespace: ns, name: nil)]
    }
}

extension SecretSealAction {
    /// The SealedSecret's kind and name are known before the run (its ciphertext is not): a
    /// `k8s.apply` of `steps.ID.outputs.sealed` gets its permissions from them.
    public static func plannedOutputs(_ c: ActionContext) -> [String: Value] {
        guard let ns = c.known("namespace"), let name = c.known("name") else { return [:] }
        return ["sealed": ["apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                           "metadata": ["name": .string(name), "namespace": .string(ns)]]]
    }

    /// The controller's certificate: its Service, then a GET through the service proxy.
    public static func permissions(_ c: ActionContext) async throws -> [Permission] {
        guard c.with["certificate"] == nil || c.known("certificate")?.isEmpty == true, let o = c.with["controller"]?.objectValue else { return [] }
        let ns = o["namespace"]?.stringValue ?? "sealed-secrets"
        let name = o["name"]?.stringValue ?? "sealed-secrets-controller"
        return [Permission("get", group: "", resource: "services", namespace: ns, name: name),
                Permission("get", group: "", resource: "services", subresource: "proxy", namespace: ns, name: nil)]
    }
}

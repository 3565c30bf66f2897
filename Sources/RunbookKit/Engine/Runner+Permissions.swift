import Foundation

/// Least privilege: the permissions a run needs (for `runbook rbac`) and the preflight that checks
/// them with SelfSubjectAccessReviews before `run` or `plan` changes anything.
extension Runner {
    /// Every permission of this run: each step's (with its dry-run and rollback, explicit rollback
    /// steps and `foreach` bodies included) and, with the cluster lock, the Lease and run records.
    /// A named permission covered by the same one for any name is left out.
    /// With `skippingUnservedKinds` (the run's preflight), a step whose kind the server does not
    /// serve adds nothing: there is no permission to ask about, and the step (or the runbook's own
    /// check, with its own message) reports it — it may never run at all (`when:`).
    /// `defaultNamespace` stands for the client's default namespace (`rbac`: the ServiceAccount's).
    func requiredPermissions(lock: LockMode, skippingUnservedKinds: Bool = false, defaultNamespace: String? = nil) async throws -> [Permission] {
        var all = Set<Permission>()
        // outputs known before the run (a SealedSecret's kind and name), for the steps after
        var planned = scope
        let mayHoldSecrets = runMayHoldSecrets
        let gaps = PermissionGaps()
        defer { permissionGaps = gaps.sentences }
        for step in runbook.allSteps {
            guard let type = actions.action(named: step.action) else { continue }
            var ctx = context(for: step, with: lenientEvaluate(step.with, scope: planned), journal: nil, slot: nil)
            ctx.runMayHoldSecrets = mayHoldSecrets
            ctx.permissionDefaultNamespace = defaultNamespace
            ctx.permissionGap = { gaps.add($0) }
            do {
                all.formUnion(try await type.permissions(ctx))
            } catch KubeError.unknownKind where skippingUnservedKinds {
                continue
            }
            for (key, value) in type.plannedOutputs(ctx) where planned.outputs[step.id]?[key] == nil {
                planned.outputs[step.id, default: [:]][key] = value
            }
        }
        if lock == .cluster { all.formUnion(Runner.teamPermissions(runbook: runbook.name, namespace: options.runsNamespace)) }
        // leave out what a broader permission already grants: the same for any name, or for every namespace
        return all.filter { p in
            var wider: [Permission] = []
            if p.name != nil { var any = p; any.name = nil; wider.append(any) }
            if p.namespace != nil {
                var everywhere = p
                everywhere.namespace = nil
                wider.append(everywhere)
                if p.name != nil { everywhere.name = nil; wider.append(everywhere) }
            }
            return !wider.contains(where: all.contains)
        }.sorted()
    }

    /// The Lease (named after the runbook; created on first use) and the run records (named after
    /// run ids, so any name; listed by `status` and `history`).
    static func teamPermissions(runbook: String, namespace: String) -> [Permission] {
        let lease = ClusterLease.leaseName(runbook)
        return [
            Permission("create", group: "coordination.k8s.io", resource: "leases", namespace: namespace, name: nil),
            Permission("get", group: "coordination.k8s.io", resource: "leases", namespace: namespace, name: lease),
            Permission("update", group: "coordination.k8s.io", resource: "leases", namespace: namespace, name: lease),
        ] + ["create", "get", "update", "list"].map { Permission($0, group: "", resource: "secrets", namespace: namespace, name: nil) }
    }

    /// Whether a run may hold a secret an object it changes could contain (see
    /// `ActionContext.runMayHoldSecrets`): a secret var, or a step that reads or makes secrets
    /// (a secret output, `k8s.get` of a Secret, a SQL DSN, a secret store's credentials).
    var runMayHoldSecrets: Bool {
        runbook.vars.contains(where: \.secret) || runbook.allSteps.contains { step in
            guard let type = actions.action(named: step.action) else { return false }
            return !type.spec.secretOutputs.isEmpty || step.action.hasPrefix("secret.") || ["k8s.get", "sql.query"].contains(step.action)
        }
    }

    /// `with` as a dry-run sees it (with `scope`, by default the run's), except that anything not
    /// known before the run (a step output, a `foreach` item) becomes a `<unknown until run: …>`
    /// placeholder instead of an error.
    func lenientEvaluate(_ node: YAMLNode?, scope: Scope? = nil) -> Value {
        guard let node else { return .object(Object()) }
        let scope = scope ?? self.scope
        switch node {
        case .scalar(let text, _, _, _):
            return (try? dryEvaluate(node, scope: scope)) ?? UnknownOutput.placeholder(text)
        case .sequence(let items, _):
            return .array(lenientElements(items, scope: scope))
        case .mapping(let pairs, _):
            var o = Object()
            for p in pairs { o[p.key.scalarText ?? ""] = lenientEvaluate(p.value, scope: scope) }
            return .object(o)
        }
    }

    /// A list's elements; a list template stands for its `$do` elements once, with what is known
    /// only per element as placeholders (the permissions do not depend on how many there are).
    func lenientElements(_ items: [YAMLNode], scope: Scope) -> [Value] {
        items.flatMap { item -> [Value] in
            guard ListTemplate.isTemplate(item) else { return [lenientEvaluate(item, scope: scope)] }
            guard case .sequence(let body, _)? = item["$do"] else { return [] }
            return lenientElements(body, scope: scope)
        }
    }

    /// Asks the API server (SelfSubjectAccessReview) for every permission the run needs; throws
    /// `TeamError.missingPermissions` listing each one refused. Runbooks without `k8s.*` steps and
    /// without the cluster lock need nothing from the cluster.
    func preflight(lock: LockMode) async throws {
        guard runbook.usesCluster || lock == .cluster else { return }
        let client = try clients.kubernetes.client()
        var needed = try await requiredPermissions(lock: lock, skippingUnservedKinds: true)
        for gap in permissionGaps { reporter.note("warning: not checked before the run: \(masker.mask(gap))") }
        if lock == .cluster {
            let r = try await client.raw("GET", "/api/v1/namespaces/\(options.runsNamespace.urlPathEscaped)")
            if r.status == 404 { needed.append(Permission("create", group: "", resource: "namespaces", namespace: nil, name: nil)) }
        }
        var missing: [String] = []
        for p in needed where try await !Runner.allowed(p, client: client) { missing.append(p.description) }
        guard missing.isEmpty else { throw TeamError.missingPermissions(missing, user: "the user of \(client.connection.source)") }
    }

    static func allowed(_ p: Permission, client: KubeClient) async throws -> Bool {
        var attrs: Object = ["verb": .string(p.verb), "group": .string(p.group), "resource": .string(p.resource)]
        if let s = p.subresource { attrs["subresource"] = .string(s) }
        if let ns = p.namespace { attrs["namespace"] = .string(ns) }
        if let n = p.name { attrs["name"] = .string(n) }
        let review: Value = ["apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                             "spec": ["resourceAttributes": .object(attrs)]]
        let answer = try await client.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: review)
        return answer.lookup("status.allowed")?.boolValue ?? false
    }
}

extension Runner {
    /// `runbook rbac`: the manifests granting `serviceAccount` (default `runbook-<runbook>` in the runs
    /// namespace) exactly what a run of `runbook` with these vars needs.
    public static func rbac(_ runbook: Runbook, cliVars: [String], varsFile: URL?, options: EngineOptions,
                            serviceAccount: (namespace: String, name: String)?) async throws -> RBACManifests
    {
        let masker = Masker()
        // Secret values do not decide permissions: a secret var not given stands for itself.
        let given = Set(cliVars.map { String($0.split(separator: "=", maxSplits: 1).first ?? "") })
        let stand = runbook.vars.filter { $0.secret && $0.required && !given.contains($0.name) }
            .map { "\($0.name)=<unknown until run: vars.\($0.name)>" }
        let vars = try VarResolver.resolve(runbook.vars, cli: cliVars + stand, varsFile: varsFile)
        for d in runbook.vars where d.secret { if let v = vars[d.name] { masker.add(all: v) } }
        let state = RunState(runID: StateStore.newRunID(runbook: runbook.name), runbookName: runbook.name,
                             runbookPath: runbook.file.path, sha256: runbook.sha256, vars: [:], secretVars: [],
                             kubeconfig: nil, context: nil, status: .running, startedAt: Date(), who: Identity.userAtHost,
                             steps: [])
        var opts = options
        opts.dryRun = true
        let runner = Runner(runbook: runbook, state: state, vars: vars, options: opts, masker: masker, reporter: SilentReporter())
        let lock = LockMode.resolve(flag: options.lockMode, runbook: runbook)
        let sa = serviceAccount ?? (options.runsNamespace, KubeName.subdomain("runbook-\(runbook.name)"))
        // a step that names no namespace works in the Pod's, the ServiceAccount's (not the kubeconfig's)
        let perms = try await runner.requiredPermissions(lock: lock, defaultNamespace: sa.namespace)
        var manifests = RBACManifests(runbook: runbook.name, permissions: perms, runsNamespace: lock == .cluster ? options.runsNamespace : nil,
                                      serviceAccount: sa)
        manifests.warnings = await runner.permissionGaps.map { masker.mask($0) }
        return manifests
    }
}

/// The sentences `ActionContext.permissionGap` was told while the permissions were computed.
final class PermissionGaps: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []

    func add(_ sentence: String) { lock.withLock { if !list.contains(sentence) { list.append(sentence) } } }
    var sentences: [String] { lock.withLock { list } }
}

/// `rbac` evaluates steps without running them: nothing to show.
private struct SilentReporter: Reporter {
    func report(_ event: ReportEvent) {}
    func note(_ line: String) {}
}

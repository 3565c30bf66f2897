import Foundation

/// `runbook job`: the manifests that run a runbook inside the cluster as a Kubernetes Job — the
/// `runbook rbac` objects (a ServiceAccount bound to exactly what the run needs), a ConfigMap with
/// the runbook and the files it references, and the Job itself (`run --yes --lock cluster`, the
/// in-cluster service-account credentials). Secret vars are never written into the manifests:
/// the Job reads them from a Secret the operator creates (`--vars-file` mounted from it).
public struct JobManifests: Sendable {
    public let rbac: RBACManifests
    public let runbook: Runbook
    public let image: String
    /// `--var` values (non-secret) passed on to the Job.
    public let vars: [String]
    /// File keys in `with:` that name files beside the runbook.
    static let fileKeys: Set<String> = ["manifest", "patchFile"]

    public init(rbac: RBACManifests, runbook: Runbook, image: String, vars: [String]) throws {
        let secret = Set(runbook.vars.filter(\.secret).map(\.name))
        for v in vars {
            let name = String(v.split(separator: "=", maxSplits: 1).first ?? "")
            if secret.contains(name) {
                throw TeamError.usage("var \(name) is secret: it is not written into manifests; put it into the Secret "
                    + "\(JobManifests.varsSecretName(runbook.name)) (key vars.yaml) instead")
            }
        }
        self.rbac = rbac
        self.runbook = runbook
        self.image = image
        self.vars = vars
    }

    public var name: String { rbac.roleName }
    public var namespace: String { rbac.serviceAccount.namespace }
    public static func varsSecretName(_ runbook: String) -> String { KubeName.subdomain("runbook-\(runbook)-vars") }

    /// The runbook file and every file its steps reference (relative paths inside its directory),
    /// as (path relative to the runbook's directory, content).
    public func files() throws -> [(path: String, content: String)] {
        var out: [(String, String)] = [(runbook.file.lastPathComponent, try read(runbook.file))]
        var seen: Set<String> = [runbook.file.lastPathComponent]
        func walk(_ node: YAMLNode?) throws {
            guard let node, case .mapping(let pairs, _) = node else { return }
            for p in pairs {
                if let key = p.key.scalarText, JobManifests.fileKeys.contains(key), let rel = p.value.scalarText,
                   !rel.contains("${{"), !rel.hasPrefix("/"), !rel.split(separator: "/").contains("..")
                {
                    if seen.insert(rel).inserted { out.append((rel, try read(runbook.directory.appendingPathComponent(rel)))) }
                }
            }
        }
        for step in runbook.allSteps { try walk(step.with) }
        return out
    }

    private func read(_ url: URL) throws -> String {
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw TeamError.usage("cannot read \(url.path), which the runbook references: \(error.localizedDescription)")
        }
    }

    /// The ConfigMap's name: `runbook-<runbook>-<10 hex of its content's SHA-256>`, as kustomize
    /// names generated ConfigMaps, so that `kubectl create` of a changed runbook makes a new
    /// ConfigMap instead of keeping the old one, which an unchanged runbook shares.
    static func configMapName(_ base: String, files: [(path: String, content: String)]) -> String {
        var text = ""
        for f in files { text += "\(f.path.utf8.count):\(f.path)\(f.content.utf8.count):\(f.content)" }
        return KubeName.subdomain("\(base.prefix(242))-\(SHA256.hex(Data(text.utf8)).prefix(10))")
    }

    /// A ConfigMap key for a path (keys may not hold `/`).
    static func key(_ path: String) -> String { path.replacingOccurrences(of: "/", with: "__") }

    public func objects() throws -> [Value] {
        let files = try files()
        var data = Object()
        for f in files { data[JobManifests.key(f.path)] = .string(f.content) }
        let labels: Value = ["runbook.dev/runbook": .string(KubeName.labelValue(runbook.name) ?? name)]
        let configMapName = JobManifests.configMapName(name, files: files)
        let configMap: Value = ["apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": ["name": .string(configMapName), "namespace": .string(namespace), "labels": labels],
                                "data": .object(data)]
        var args: [Value] = ["run", .string("/runbook/\(runbook.file.lastPathComponent)"), "--yes", "--lock", "cluster",
                             "--namespace-for-runs", .string(rbac.runsNamespace ?? namespace), "--state-dir", "/state",
                             "--output", "json"]
        for v in vars { args += ["--var", .string(v)] }
        if runbook.vars.contains(where: \.secret) { args += ["--vars-file", "/vars/vars.yaml"] }
        var volumes: [Value] = [
            ["name": "runbook", "configMap": ["name": .string(configMapName),
                                              "items": .array(files.map { ["key": .string(JobManifests.key($0.path)), "path": .string($0.path)] })]],
            ["name": "state", "emptyDir": .object(Object())],
        ]
        var mounts: [Value] = [["name": "runbook", "mountPath": "/runbook", "readOnly": true],
                               ["name": "state", "mountPath": "/state"]]
        if runbook.vars.contains(where: \.secret) {
            volumes.append(["name": "vars", "secret": ["secretName": .string(JobManifests.varsSecretName(runbook.name))]])
            mounts.append(["name": "vars", "mountPath": "/vars", "readOnly": true])
        }
        let container: Value = ["name": "runbook", "image": .string(image), "args": .array(args),
                                "env": [["name": "RUNBOOK_NAMESPACE", "value": .string(rbac.runsNamespace ?? namespace)]],
                                "volumeMounts": .array(mounts),
                                "securityContext": ["runAsNonRoot": true, "allowPrivilegeEscalation": false,
                                                    "readOnlyRootFilesystem": true]]
        let job: Value = [
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": ["generateName": .string(name + "-"), "namespace": .string(namespace), "labels": labels],
            "spec": [
                // a failed run is resumed or rolled back by a person (`runbook resume|rollback`), never re-run blindly
                "backoffLimit": 0,
                "template": ["metadata": ["labels": labels],
                             "spec": ["serviceAccountName": .string(rbac.serviceAccount.name), "restartPolicy": "Never",
                                      "automountServiceAccountToken": true,
                                      "containers": .array([container]), "volumes": .array(volumes)]],
            ],
        ]
        return rbac.objects + [configMap, job]
    }

    /// What a reader of the manifests must do besides creating them (the YAML's header comments).
    public var notes: [String] {
        guard runbook.vars.contains(where: \.secret) else { return [] }
        let secret = JobManifests.varsSecretName(runbook.name)
        return ["secret vars are read from the Secret \(namespace)/\(secret) (key vars.yaml), e.g.",
                "  kubectl -n \(namespace) create secret generic \(secret) --from-file=vars.yaml"]
    }

    /// The manifests as one YAML stream (`kubectl create -f -`: the Job uses generateName).
    public func yaml() throws -> String {
        let head = "# runbook job \(runbook.name): a ServiceAccount bound to exactly what the run needs, the runbook, the Job\n"
            + notes.map { "# \($0)\n" }.joined()
        return head + (try objects()).map { "---\n" + $0.yamlString() }.joined()
    }
}

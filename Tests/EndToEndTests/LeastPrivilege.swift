import Foundation
import RunbookKit
import TestSupport

/// The in-cluster identity of one runbook's least-privilege run: a ServiceAccount bound to exactly
/// what `runbook rbac` printed, its token and the cluster CA in a directory, and the environment a
/// Pod of that ServiceAccount would have. Run the binary with `env` and no kubeconfig (no
/// `--kubeconfig`, no `KUBECONFIG`, a `HOME` without `.kube/config`): the token is then its only
/// Kubernetes credential.
struct LeastPrivilegeIdentity: Sendable {
    /// Why the identity could not be set up, with the command's own output.
    enum Failure: Error, CustomStringConvertible {
        case command(String, String)
        case noServiceAccount(String)

        var description: String {
            switch self {
            case .command(let c, let out): return "\(c) failed: \(out)"
            case .noServiceAccount(let runbook): return "runbook rbac \(runbook) printed no ServiceAccount"
            }
        }
    }

    /// KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT, RUNBOOK_SERVICEACCOUNT_DIR (token, ca.crt,
    /// namespace) and HOME (an empty directory: no `~/.kube/config` to fall back on).
    let env: [String: String]
    /// What `runbook rbac` printed (and was applied).
    let rbacYAML: String
    /// The objects of `rbacYAML`, parsed.
    let objects: [Value]
    /// The ServiceAccount the token belongs to.
    let serviceAccount: (namespace: String, name: String)
    let sandbox: Sandbox

    /// Deletes the ServiceAccount, Roles, ClusterRoles and bindings that were applied. The
    /// namespaces stay: they hold the fixtures and the runs' Leases and records.
    func revoke() throws {
        let stream = objects.filter { $0["kind"] != "Namespace" }.map { "---\n" + $0.yamlString() }.joined()
        let r = try sandbox.kubectl(["delete", "--ignore-not-found", "-f", "-"], stdin: stream)
        guard r.status == 0 else { throw Failure.command("kubectl delete (the rbac output)", r.stderr) }
    }
}

extension Sandbox {
    /// The API server's loopback port (from `sandbox.json`'s `server`).
    var apiServerPort: String {
        get throws {
            let server = (try info())["server"] as? String ?? ""
            guard let port = server.split(separator: ":").last.map(String.init), Int(port) != nil else {
                throw LeastPrivilegeIdentity.Failure.command("reading sandbox.json", "no API server port in \(server)")
            }
            return port
        }
    }

    /// Grants a ServiceAccount exactly what `runbook rbac PATH VARS --kubeconfig <admin>` prints
    /// (`vars`: the `--var k=v` arguments as given to `run`): creates the namespaces the output
    /// names when missing, applies it with the admin's kubectl, mints a token for the printed
    /// ServiceAccount and writes it with the CA into a new directory under `work`.
    func leastPrivilege(runbook path: String, vars: [String], work: URL) throws -> LeastPrivilegeIdentity {
        let rbac = try RunbookCLI.run(["rbac", path] + vars + ["--kubeconfig", kubeconfig], cwd: Sandbox.repoRoot)
        guard rbac.exitCode == 0 else { throw LeastPrivilegeIdentity.Failure.command("runbook rbac \(path)", rbac.output) }
        let objects = try YAMLParser.parse(rbac.stdout, file: "rbac").map { $0.toValue() }.filter { !$0.isNull }
        guard let sa = objects.first(where: { $0["kind"] == "ServiceAccount" }),
              let saName = sa.lookup("metadata.name")?.stringValue, let saNamespace = sa.lookup("metadata.namespace")?.stringValue
        else { throw LeastPrivilegeIdentity.Failure.noServiceAccount(path) }
        // a fixture may lack a namespace the runbook works in (its Role cannot be applied without it)
        for ns in Set(objects.compactMap { $0.lookup("metadata.namespace")?.stringValue }).sorted() {
            guard try kubectl(["get", "namespace", ns, "-o", "name"]).status != 0 else { continue }
            let r = try kubectl(["create", "namespace", ns])
            guard r.status == 0 || r.stderr.contains("AlreadyExists") else {
                throw LeastPrivilegeIdentity.Failure.command("kubectl create namespace \(ns)", r.stderr)
            }
        }
        let applied = try kubectl(["apply", "-f", "-"], stdin: rbac.stdout)
        guard applied.status == 0 else { throw LeastPrivilegeIdentity.Failure.command("kubectl apply (the rbac output)", applied.stderr) }
        let minted = try kubectl(["-n", saNamespace, "create", "token", saName])
        let token = minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard minted.status == 0, !token.isEmpty else {
            throw LeastPrivilegeIdentity.Failure.command("kubectl create token \(saName)", minted.stderr)
        }
        let unique = UUID().uuidString.prefix(6)
        let saDir = work.appendingPathComponent("sa-\(saName)-\(unique)")
        let home = work.appendingPathComponent("home-\(saName)-\(unique)")
        for d in [saDir, home] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        try token.write(to: saDir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: dir.appendingPathComponent("pki/ca.crt"), to: saDir.appendingPathComponent("ca.crt"))
        try saNamespace.write(to: saDir.appendingPathComponent("namespace"), atomically: true, encoding: .utf8)
        let env = ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": try apiServerPort,
                   "RUNBOOK_SERVICEACCOUNT_DIR": saDir.path, "HOME": home.path]
        return LeastPrivilegeIdentity(env: env, rbacYAML: rbac.stdout, objects: objects,
                                      serviceAccount: (saNamespace, saName), sandbox: self)
    }
}

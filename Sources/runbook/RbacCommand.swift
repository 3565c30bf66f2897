import ArgumentParser
import RunbookKit

struct RbacCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rbac", abstract: "Print the least-privilege RBAC (YAML) for exactly this run.",
        discussion: "The Roles/ClusterRole and bindings grant a ServiceAccount the verbs, resources, names and namespaces "
            + "that the run's steps, their dry-runs and rollbacks, the cluster Lease and the run records need. "
            + "Apply them with `kubectl apply -f -`. With `--output json`: one `v1` `List` of the same objects.")

    @Argument(help: "A runbook file, or a name looked up in ./runbooks and $RUNBOOK_PATH.") var runbook: String
    @OptionGroup var vars: VarOptions
    @Option(name: .long, help: "NAMESPACE/NAME of the ServiceAccount to bind (default: runbook-<runbook> in the runs namespace).")
    var serviceAccount: String?
    @OptionGroup var cluster: ClusterOptions
    /// Accepted, not offered: nothing is read from or written to a state directory.
    @OptionGroup(visibility: .hidden) var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        let masker = Masker()
        try await CLI.perform(masker: masker, output: output.output) {
            let manifests = try await CLI.rbac(runbook: runbook, vars: vars, serviceAccount: serviceAccount, cluster: cluster, state: state)
            for w in manifests.warnings { Console.err("warning: \(w)") }
            switch output.output {
            case .text: Console.out(manifests.yaml)
            case .json: Console.out(Value.kubeList(manifests.objects).jsonString(pretty: true))
            }
            return 0
        }
    }
}

extension CLI {
    static func rbac(runbook reference: String, vars: VarOptions, serviceAccount: String?, cluster: ClusterOptions,
                     state: StateDirOption) async throws -> RBACManifests
    {
        let runbook = try loadRunbook(reference)
        var sa: (namespace: String, name: String)?
        if let s = serviceAccount {
            let parts = s.split(separator: "/").map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--service-account must be NAMESPACE/NAME, not \(s)")
            }
            sa = (parts[0], parts[1])
        }
        return try await Runner.rbac(runbook, cliVars: vars.vars, varsFile: vars.varsFileURL,
                                     options: engineOptions(state: state, cluster: cluster, yes: false), serviceAccount: sa)
    }
}

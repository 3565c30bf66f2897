import ArgumentParser
import RunbookKit

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Print the manifests that run a runbook inside the cluster as a Job.",
        discussion: "A ServiceAccount bound to exactly what `runbook rbac` grants, a ConfigMap with the runbook and the "
            + "files it references, and the Job (run --yes with the in-cluster credentials and the cluster lock). "
            + "Create them with `kubectl create -f -`; follow the run with `runbook status` from any machine. "
            + "With `--output json`: one `v1` `List` of the same objects (the notes of the YAML's header go to stderr).")

    @Argument(help: "A runbook file, or a name looked up in ./runbooks and $RUNBOOK_PATH.") var runbook: String
    @OptionGroup var vars: VarOptions
    @Option(name: .long, help: "The container image with the runbook binary (see the Dockerfile).") var image: String
    @Option(name: .long, help: "NAMESPACE/NAME of the ServiceAccount (default: runbook-<runbook> in the runs namespace).")
    var serviceAccount: String?
    @OptionGroup var cluster: ClusterOptions
    /// Accepted, not offered: nothing is read from or written to a state directory.
    @OptionGroup(visibility: .hidden) var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        try await CLI.perform(masker: Masker(), output: output.output) {
            let rbac = try await CLI.rbac(runbook: runbook, vars: vars, serviceAccount: serviceAccount, cluster: cluster, state: state)
            let job = try JobManifests(rbac: rbac, runbook: try CLI.loadRunbook(runbook), image: image, vars: vars.vars)
            for w in rbac.warnings { Console.err("warning: \(w)") }
            switch output.output {
            case .text: Console.out(try job.yaml())
            case .json:
                let list = Value.kubeList(try job.objects()).jsonString(pretty: true)
                for note in job.notes { Console.err("note: \(note)") }
                Console.out(list)
            }
            return 0
        }
    }
}

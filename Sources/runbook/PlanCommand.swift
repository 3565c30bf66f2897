import ArgumentParser
import RunbookKit

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show what a run would do: reads run, changes are previewed; nothing changes, nothing is recorded.")

    @Argument(help: "A runbook file, or a name looked up in ./runbooks and $RUNBOOK_PATH.")
    var runbook: String
    @OptionGroup var vars: VarOptions
    @Option(name: .long, help: "Kubeconfig context to use.")
    var context: String?
    @Option(name: .long, help: "Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
    var kubeconfig: String?
    @OptionGroup var requests: RequestOptions
    @Option(name: .long, help: "Namespace of the cluster Leases and run records whose permissions are checked (default: $RUNBOOK_NAMESPACE, else runbook-system).")
    var namespaceForRuns: String?
    /// Accepted, not offered: scripts pass `run`'s flags to `plan` too (SPEC: `plan <runbook> ...`),
    /// but a plan writes nothing, so `--help` does not show it.
    @OptionGroup(visibility: .hidden) var state: StateDirOption
    @OptionGroup var output: OutputOption
    // Accepted for the same reason; a plan asks nothing and rolls nothing back.
    @Flag(name: .long, help: ArgumentHelp(visibility: .hidden)) var yes = false
    @Flag(name: .long, help: ArgumentHelp(visibility: .hidden)) var dryRun = false
    @Flag(name: .long, help: ArgumentHelp(visibility: .hidden)) var noRollback = false

    func run() async throws {
        let masker = Masker()
        try await CLI.perform(masker: masker, output: output.output) {
            let book = try CLI.loadRunbook(runbook)
            // A plan writes nothing: the store is only where a run would keep its state.
            var clients = ClientOptions(kubeconfig: kubeconfig, context: context, environment: CLI.environment)
            clients.requests = try requests.policy()
            var options = EngineOptions(store: state.store,
                                        environment: CLI.environment, clients: clients)
            options.dryRun = true
            options.runsNamespace = try LockMode.runsNamespace(flag: namespaceForRuns, environment: CLI.environment)
            return try await Runner.run(book, cliVars: vars.vars, varsFile: vars.varsFileURL, options: options, masker: masker,
                                        reporter: output.output.makeReporter(masker: masker)).exitCode
        }
    }
}

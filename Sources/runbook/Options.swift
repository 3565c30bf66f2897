import ArgumentParser
import Foundation
import RunbookKit

extension OutputFormat: ExpressibleByArgument {}

struct StateDirOption: ParsableArguments {
    @Option(name: .long, help: "State directory (default: $RUNBOOK_STATE_DIR, else ./.runbook).")
    var stateDir: String?

    var store: StateStore {
        StateStore.locate(flag: stateDir, environment: ProcessInfo.processInfo.environment, cwd: CLI.cwd)
    }

    var hint: String { stateDir.map { " --state-dir \($0)" } ?? "" }
}

struct VarOptions: ParsableArguments {
    @Option(name: .customLong("var"), help: "Set a var: NAME=VALUE (repeatable).")
    var vars: [String] = []

    @Option(name: .long, help: "A YAML mapping of var values.")
    var varsFile: String?

    var varsFileURL: URL? { varsFile.map { URL(fileURLWithPath: $0, relativeTo: CLI.cwd).standardizedFileURL } }
}

struct ClusterOptions: ParsableArguments {
    @Option(name: .long, help: "Kubeconfig context to use.")
    var context: String?

    @Option(name: .long, help: "Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
    var kubeconfig: String?

    @OptionGroup var requests: RequestOptions

    @Option(name: .long, help: "Namespace of the cluster Leases and run records (default: $RUNBOOK_NAMESPACE, else runbook-system).")
    var namespaceForRuns: String?

    @Option(name: .long, help: "cluster (a Lease and run records in the cluster; the default for runbooks with k8s.* steps) or local (the state directory only).")
    var lock: LockMode?

    func runsNamespace() throws -> String { try LockMode.runsNamespace(flag: namespaceForRuns, environment: CLI.environment) }
}

extension LockMode: ExpressibleByArgument {}

struct OutputOption: ParsableArguments {
    @Option(name: .long, help: "text or json.")
    var output: OutputFormat = .text
}

/// The flags that `run` and `plan` share.
struct RunOptions: ParsableArguments {
    @Argument(help: "A runbook file, or a name looked up in ./runbooks and $RUNBOOK_PATH.")
    var runbook: String

    @OptionGroup var vars: VarOptions

    @Flag(name: .long, help: "Preview every step; change nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Answer yes to every approval and confirmation.")
    var yes = false

    @Flag(name: .long, help: "On failure, pause instead of rolling back (exit 3).")
    var noRollback = false

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var state: StateDirOption
    @OptionGroup var output: OutputOption
}

/// The run's default request deadline and retry budget (see `RequestPolicy`).
struct RequestOptions: ParsableArguments {
    @Option(name: .long, help: "Deadline of each request to the API server and the secret stores, e.g. 10s (default: $RUNBOOK_REQUEST_TIMEOUT, else 30s).")
    var requestTimeout: String?

    // `.unconditional`: `--retries -1` is a value to refuse with its reason, not a missing value.
    @Option(name: .long, parsing: .unconditional, help: "How often a transient failure of a request is retried (default: $RUNBOOK_RETRIES, else 5).")
    var retries: Int?

    func policy() throws -> RequestPolicy {
        try RequestPolicy.resolve(timeoutFlag: requestTimeout, retriesFlag: retries, environment: CLI.environment)
    }
}

import ArgumentParser
import RunbookKit

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List the runs: the state directory's and those recorded in the cluster.")

    @Flag(name: .long, help: "Delete finished runs beyond the newest --keep of each runbook (cluster records and local run directories).")
    var prune = false
    @Option(name: .long, parsing: .unconditional, help: "With --prune: finished runs to keep per runbook (default: 20).") var keep: Int?
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        try await CLI.perform(masker: Masker(), output: output.output) {
            let catalog = RunCatalog(options: try CLI.engineOptions(state: state, cluster: cluster, yes: false))
            if keep != nil, !prune { throw ValidationError("--keep only applies with --prune (history --prune --keep N)") }
            if prune {
                let keep = keep ?? 20
                guard keep >= 0 else { throw ValidationError("--keep must be 0 or more") }
                let removed = try await catalog.prune(keep: keep) { Console.err("warning: \($0)") }
                for id in removed { Console.out("pruned \(id)") }
                Console.err("\(removed.count) finished run\(removed.count == 1 ? "" : "s") pruned; unfinished runs are kept")
                return 0
            }
            let runs = try await catalog.all { Console.err("warning: \($0)") }
            switch output.output {
            case .text: Console.out(StatusFormatter.historyText(runs))
            case .json: Console.out(StatusFormatter.historyJSON(runs).jsonString(pretty: true))
            }
            return 0
        }
    }
}

import ArgumentParser
import RunbookKit

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a run (default: the latest).")

    @Argument(help: "The run id.") var runID: String?
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        try await CLI.perform(masker: Masker(), output: output.output) {
            let catalog = RunCatalog(options: try CLI.engineOptions(state: state, cluster: cluster, yes: false))
            let warn: (String) -> Void = { Console.err("warning: \($0)") }
            let run: RunState
            if let runID { run = try await catalog.load(runID, warn: warn) } else {
                guard let last = try await catalog.all(warn: warn).last else { throw StateError.noRuns(stateDir: state.store.root.path) }
                run = last
            }
            switch output.output {
            case .text: Console.out(StatusFormatter.text(run, stateDirHint: state.hint))
            case .json: Console.out(StatusFormatter.json(run).jsonString(pretty: true))
            }
            return 0
        }
    }
}

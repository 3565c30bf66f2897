import ArgumentParser
import RunbookKit

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a run (default: the latest).")

    @Argument(help: "The run id.") var runID: String?
    @OptionGroup var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        try await CLI.perform(masker: Masker()) {
            let store = state.store
            let run: RunState
            if let runID { run = try store.load(runID) } else {
                guard let last = try store.all().last else { throw StateError.noRuns(stateDir: store.root.path) }
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

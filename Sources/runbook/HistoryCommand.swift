import ArgumentParser
import RunbookKit

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "List the runs in the state directory.")

    @OptionGroup var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        try await CLI.perform(masker: Masker()) {
            let runs = try state.store.all()
            switch output.output {
            case .text: Console.out(StatusFormatter.historyText(runs))
            case .json: Console.out(StatusFormatter.historyJSON(runs).jsonString(pretty: true))
            }
            return 0
        }
    }
}

import ArgumentParser
import RunbookKit

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Mark an unfinished run as cleaned up by hand, so new runs may start.",
        discussion: "Nothing is undone: use it only after putting things right yourself. The reason is kept in "
            + "the run's state and audit log, and `runbook history` shows the run as forgotten.")

    @Argument(help: "The run id (see `runbook history`).") var runID: String
    @Option(name: .long, help: "What was cleaned up by hand, and by whom (required).") var reason: String
    @Flag(name: .long, help: "Do not ask for confirmation (needed without a terminal).") var yes = false
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        let masker = Masker()
        try await CLI.perform(masker: masker, output: output.output) {
            let options = try CLI.engineOptions(state: state, cluster: cluster, yes: yes)
            return try await Runner.forget(runID: runID, reason: reason, options: options, masker: masker,
                                     reporter: output.output.makeReporter(masker: masker)).exitCode
        }
    }
}

import ArgumentParser
import RunbookKit

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Finish a paused or interrupted run.",
        discussion: "Secret vars are never stored: give them again with --var or --vars-file.")

    @Argument(help: "The run id (see `runbook history`).") var runID: String
    @Option(name: .long, help: "Start again at this step.") var from: String?
    @Flag(name: .long, help: "Answer yes to every approval and confirmation.") var yes = false
    @Flag(name: .long, help: "On failure, pause instead of rolling back (kept from the run when it had it).")
    var noRollback = false
    @OptionGroup var vars: VarOptions
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        let masker = Masker()
        try await CLI.perform(masker: masker, output: output.output) {
            var options = try CLI.engineOptions(state: state, cluster: cluster, yes: yes)
            options.noRollback = noRollback
            return try await Runner.resume(runID: runID, from: from, cliVars: vars.vars, varsFile: vars.varsFileURL,
                                           options: options, masker: masker,
                                           reporter: output.output.makeReporter(masker: masker)).exitCode
        }
    }
}

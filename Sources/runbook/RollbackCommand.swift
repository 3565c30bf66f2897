import ArgumentParser
import RunbookKit

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Undo a completed, paused or interrupted run, newest step first.")

    @Argument(help: "The run id (see `runbook history`).") var runID: String
    @Flag(name: .long, help: "Answer yes to the confirmation.") var yes = false
    @Flag(name: .long, help: "Roll back even over changes made after the step.") var force = false
    @OptionGroup var vars: VarOptions
    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var state: StateDirOption
    @OptionGroup var output: OutputOption

    func run() async throws {
        let masker = Masker()
        try await CLI.perform(masker: masker, output: output.output) {
            var options = try CLI.engineOptions(state: state, cluster: cluster, yes: yes)
            options.force = force
            return try await Runner.rollback(runID: runID, cliVars: vars.vars, varsFile: vars.varsFileURL, options: options,
                                             masker: masker, reporter: output.output.makeReporter(masker: masker)).exitCode
        }
    }
}

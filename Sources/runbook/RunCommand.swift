import ArgumentParser

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a runbook.")

    @OptionGroup var options: RunOptions

    func run() async throws { try await CLI.run(options, dryRun: options.dryRun) }
}

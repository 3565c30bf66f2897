import ArgumentParser

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Show what a run would do (run --dry-run).")

    @OptionGroup var options: RunOptions

    func run() async throws { try await CLI.run(options, dryRun: true) }
}

import ArgumentParser
import RunbookKit

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check runbooks statically; nothing is contacted.")

    @Argument(help: "Runbook files or names.") var runbooks: [String]

    func validate() throws {
        if runbooks.isEmpty { throw ValidationError("give at least one runbook") }
    }

    func run() async throws {
        let masker = Masker()
        try await CLI.perform(masker: masker) {
            var worst: Int32 = 0
            for reference in runbooks {
                do {
                    let runbook = try CLI.loadRunbook(reference)
                    Console.out("\(runbook.file.path): ok (\(runbook.steps.count) steps)")
                } catch {
                    for line in ErrorReport.lines(for: error, masker: masker) { Console.err(line) }
                    worst = max(worst, ErrorReport.exitCode(for: error))
                }
            }
            return worst
        }
    }
}

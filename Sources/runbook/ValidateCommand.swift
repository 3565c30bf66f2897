import ArgumentParser
import RunbookKit

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check runbooks statically; nothing is contacted.")

    @Argument(help: "Runbook files or names.") var runbooks: [String]
    @OptionGroup var output: OutputOption

    func validate() throws {
        if runbooks.isEmpty { throw ValidationError("give at least one runbook") }
    }

    func run() async throws {
        let masker = Masker()
        try await CLI.perform(masker: masker, output: output.output) {
            var worst: Int32 = 0
            for reference in runbooks {
                do {
                    let runbook = try CLI.loadRunbook(reference)
                    if output.output == .json {
                        let ok: Value = ["event": "validated", "file": .string(runbook.file.path), "steps": .int(runbook.steps.count)]
                        Console.out(ok.jsonString())
                    } else {
                        Console.out("\(runbook.file.path): ok (\(runbook.steps.count) steps)")
                    }
                } catch {
                    CLI.report(error, masker: masker, output: output.output)
                    worst = max(worst, ErrorReport.exitCode(for: error))
                }
            }
            return worst
        }
    }
}

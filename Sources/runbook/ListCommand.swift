import ArgumentParser
import RunbookKit

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the runbooks in ./runbooks and $RUNBOOK_PATH.")

    func run() async throws {
        try await CLI.perform(masker: Masker()) {
            let found = RunbookLoader.discover(cwd: CLI.cwd, environment: CLI.environment)
            if found.isEmpty { Console.err("no runbooks found in ./runbooks or $RUNBOOK_PATH") }
            let w = found.map(\.name.count).max() ?? 0
            for r in found {
                Console.out("\(r.name.padding(toLength: w, withPad: " ", startingAt: 0))  \(r.description ?? "")  (\(r.file.path))")
            }
            return 0
        }
    }
}

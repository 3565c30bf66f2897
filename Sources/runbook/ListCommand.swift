import ArgumentParser
import RunbookKit

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the runbooks in ./runbooks and $RUNBOOK_PATH.")

    @OptionGroup var output: OutputOption

    func run() async throws {
        try await CLI.perform(masker: Masker(), output: output.output) {
            let found = RunbookLoader.discover(cwd: CLI.cwd, environment: CLI.environment)
            if found.isEmpty { Console.err("no runbooks found in ./runbooks or $RUNBOOK_PATH") }
            if output.output == .json {
                let list: [Value] = found.map {
                    ["name": .string($0.name), "description": $0.description.map(Value.string) ?? .null, "file": .string($0.file.path)]
                }
                Console.out(Value.object(["runbooks": .array(list)]).jsonString(pretty: true))
                return 0
            }
            let w = found.map(\.name.count).max() ?? 0
            for r in found {
                Console.out("\(r.name.padding(toLength: w, withPad: " ", startingAt: 0))  \(r.description ?? "")  (\(r.file.path))")
            }
            return 0
        }
    }
}

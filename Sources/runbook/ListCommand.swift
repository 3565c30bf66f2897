import ArgumentParser
import RunbookKit

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the runbooks in ./runbooks and $RUNBOOK_PATH.")

    @OptionGroup var output: OutputOption

    func run() async throws {
        try await CLI.perform(masker: Masker(), output: output.output) {
            let found = RunbookLoader.discover(cwd: CLI.cwd, environment: CLI.environment)
            if found.isEmpty { Console.err("no runbooks found in ./runbooks or $RUNBOOK_PATH") }
            // A file that does not load is listed as such, not as if it could be run.
            let valid = found.map { (try? RunbookLoader.load($0.file)) != nil }
            if output.output == .json {
                let list: [Value] = zip(found, valid).map { r, ok in
                    ["name": .string(r.name), "description": r.description.map(Value.string) ?? .null, "file": .string(r.file.path),
                     "valid": .bool(ok)]
                }
                Console.out(Value.object(["runbooks": .array(list)]).jsonString(pretty: true))
                return 0
            }
            let w = found.map(\.name.count).max() ?? 0
            for (r, ok) in zip(found, valid) {
                let about = ok ? r.description ?? "" : "INVALID: see runbook validate \(r.file.path)"
                Console.out("\(r.name.padding(toLength: w, withPad: " ", startingAt: 0))  \(about)  (\(r.file.path))")
            }
            return 0
        }
    }
}

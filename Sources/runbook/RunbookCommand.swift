import ArgumentParser
import Foundation
import RunbookKit

@main
struct RunbookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runbook",
        abstract: "Run migration runbooks: previewed, checkpointed, resumable, undone automatically.",
        version: "runbook \(RunbookVersion.current)",
        subcommands: [RunCommand.self, PlanCommand.self, ResumeCommand.self, RollbackCommand.self, StatusCommand.self,
                      HistoryCommand.self, RbacCommand.self, JobCommand.self, ListCommand.self, ValidateCommand.self, ForgetCommand.self])

    /// Parse errors are usage errors: exit 2 (SPEC §1), not ArgumentParser's 64.
    static func main() async {
        // Output nobody reads is dropped (Console ignores EPIPE); it is never a reason to stop a
        // run halfway. Children get SIGPIPE back at its default (ChildProcesses).
        signal(SIGPIPE, SIG_IGN)
        // glibc gives threads that allocate at once arenas of their own (up to 8 per core); a
        // fan-out's requests run on many threads, and their large short-lived buffers (records,
        // responses) fragmented a dozen arenas: two keep a 1,000-item run's peak RSS near its
        // live data (docs/BENCHMARK.md).
        ProcessMemory.limitMallocArenas(2)
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand { try await async.run() } else { try command.run() }
        } catch let code as ExitCode {
            exit(withError: code)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            var text = message(for: error)
            let args = Array(CommandLine.arguments.dropFirst())
            let commands = configuration.subcommands.map { $0.configuration.commandName ?? "" }
            if let first = args.first, !first.hasPrefix("-"), !commands.contains(first) {
                text = "unknown command '\(first)'\(Suggestion.hint(for: first, in: commands)); commands: \(commands.joined(separator: ", "))"
                Console.err("Error: " + text)
            } else {
                Console.err(fullMessage(for: error))
            }
            if wantsJSON(CommandLine.arguments) {
                Console.out(ErrorReport.json(code: 2, message: text, masker: Masker()).jsonString())
            }
            Foundation.exit(2)
        }
    }

    /// `--output json` or `--output=json` among the raw arguments (a usage error happens before
    /// the options are parsed, and must still answer in JSON).
    static func wantsJSON(_ args: [String]) -> Bool {
        for (i, a) in args.enumerated() {
            if a == "--output=json" { return true }
            if a == "--output", i + 1 < args.count, args[i + 1] == "json" { return true }
        }
        return false
    }
}

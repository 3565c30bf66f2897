import ArgumentParser
import Foundation
import RunbookKit

@main
struct RunbookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runbook",
        abstract: "Run migration runbooks: previewed, checkpointed, resumable, undone automatically.",
        subcommands: [RunCommand.self, PlanCommand.self, ResumeCommand.self, RollbackCommand.self, StatusCommand.self,
                      HistoryCommand.self, RbacCommand.self, JobCommand.self, ListCommand.self, ValidateCommand.self, ForgetCommand.self])

    /// Parse errors are usage errors: exit 2 (SPEC §1), not ArgumentParser's 64.
    static func main() async {
        // Output nobody reads is dropped (Console ignores EPIPE); it is never a reason to stop a
        // run halfway. Children get SIGPIPE back at its default (ChildProcesses).
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand { try await async.run() } else { try command.run() }
        } catch let code as ExitCode {
            exit(withError: code)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            Console.err(fullMessage(for: error))
            Foundation.exit(2)
        }
    }
}

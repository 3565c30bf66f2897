import ArgumentParser
import RunbookKit

@main
struct RunbookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runbook", abstract: "Run migration runbooks safely.")
}

import Foundation

/// Errors of loading a runbook and its inputs; all of them mean exit code 2 (nothing was touched).
public enum RunbookError: Error, LocalizedError, Sendable {
    /// The runbook (or a YAML file it reads) has problems; one diagnostic per problem.
    case invalid([Diagnostic])
    /// Bad command-line input (`--var`, `--vars-file`, flags).
    case usage(String)
    /// A runbook name or path that leads to no file.
    case notFound(String)

    public var errorDescription: String? {
        switch self {
        case .invalid(let diagnostics): return diagnostics.map(\.description).joined(separator: "\n")
        case .usage(let message), .notFound(let message): return message
        }
    }
}

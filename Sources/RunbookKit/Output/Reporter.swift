import Foundation

/// Shows a run to people or programs. One implementation per `--output` format; events arrive
/// masked, and each reporter masks again before writing (belt and braces).
public protocol Reporter: Sendable {
    func report(_ event: ReportEvent)
    /// A line that is not an event (a note, a warning); goes to stderr for JSON output.
    func note(_ line: String)
}

/// The output format chosen with `--output`.
public enum OutputFormat: String, Sendable, CaseIterable {
    case text, json

    public func makeReporter(masker: Masker, terminal: Terminal = .standard) -> any Reporter {
        switch self {
        case .text: return TextReporter(masker: masker, colour: terminal.colourOnStdout, progressLine: terminal.stdoutIsTTY)
        case .json: return JSONReporter(masker: masker)
        }
    }
}

import Foundation

/// Human output: one line per step start and end (symbol, id, name, duration), failure reasons
/// with what to do next, and the plan with diffs for a dry-run.
public struct TextReporter: Reporter {
    let masker: Masker
    let colour: Bool

    public init(masker: Masker, colour: Bool) {
        self.masker = masker
        self.colour = colour
    }

    public func report(_ e: ReportEvent) {
        for line in lines(for: e.masked(by: masker)) { Console.out(masker.mask(line)) }
    }

    public func note(_ line: String) { Console.err(masker.mask(line)) }

    func lines(for e: ReportEvent) -> [String] {
        let label = [e.step, e.name.map { "— \($0)" }].compactMap { $0 }.joined(separator: " ")
        switch e.kind {
        case .runStarted:
            return [paint(e.dryRun ? "Plan for \(e.runbook ?? "") (dry-run, nothing changes)" : "Run \(e.runID) (\(e.runbook ?? ""))", .bold)]
        case .stepStarted:
            return ["\(paint("▶", .blue)) \(label)\(e.attempt.map { $0 > 1 ? " (attempt \($0))" : "" } ?? "")"]
        case .stepFinished:
            var out = ["\(symbol(e.status)) \(label) \(paint(e.status ?? "", colourFor(e.status)))\(time(e.duration))\(e.message.map { ": \($0)" } ?? "")"]
            if let hint = e.hint { out.append("  \(hint)") }
            return out
        case .stepLog:
            return ["    \(e.step.map { "[\($0)] " } ?? "")\(e.message ?? "")"]
        case .stepPlanned:
            var out = ["\(symbol(e.status)) \(label) [\(e.action ?? "")]: \(e.message ?? "")"]
            if let diff = e.diff, !diff.isEmpty {
                out += diff.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + colourDiff(String($0)) }
            }
            return out
        case .rollbackStarted:
            return [paint("↺ rolling back\(e.message.map { ": \($0)" } ?? "")", .yellow)]
        case .rollbackStepStarted:
            return ["\(paint("↺", .yellow)) undo \(label)"]
        case .rollbackStepFinished:
            return ["\(symbol(e.status)) undo \(label) \(paint(e.status ?? "", colourFor(e.status)))\(time(e.duration))\(e.message.map { ": \($0)" } ?? "")"]
        case .runFinished:
            var out = ["\(symbol(e.status)) run \(e.runID) \(paint(e.status ?? "", colourFor(e.status)))\(e.message.map { ": \($0)" } ?? "")"]
            if let hint = e.hint { out.append(hint) }
            return out
        }
    }

    enum Colour: String { case red = "31", green = "32", yellow = "33", blue = "34", grey = "90", bold = "1" }

    func paint(_ s: String, _ c: Colour) -> String { colour && !s.isEmpty ? "\u{1B}[\(c.rawValue)m\(s)\u{1B}[0m" : s }

    func colourFor(_ status: String?) -> Colour {
        switch status {
        case "succeeded", "rolled-back", "approved", "would run": return .green
        case "failed", "rollback-failed": return .red
        case "paused", "rolling-back", "waiting": return .yellow
        default: return .grey
        }
    }

    func symbol(_ status: String?) -> String {
        switch status {
        case "succeeded": return paint("✓", .green)
        case "rolled-back": return paint("↺", .green)
        case "failed", "rollback-failed": return paint("✗", .red)
        case "skipped": return paint("-", .grey)
        case "paused", "waiting": return paint("⏸", .yellow)
        default: return paint("•", .blue)
        }
    }

    func time(_ d: TimeInterval?) -> String {
        guard let d else { return "" }
        return d < 1 ? " (\(Int((d * 1000).rounded()))ms)" : String(format: " (%.1fs)", d)
    }

    func colourDiff(_ line: String) -> String {
        if line.hasPrefix("+") { return paint(line, .green) }
        if line.hasPrefix("-") { return paint(line, .red) }
        return line
    }
}

import Foundation

/// Human output: one line per step start and end (symbol, id, name, duration), failure reasons
/// with what to do next, and the plan with diffs for a dry-run. Inside a `foreach` group it
/// stays readable at a thousand items: one line per finished item, or on a terminal one
/// progress line (counts and rate) rewritten in place, with a line of its own for each failure.
public struct TextReporter: Reporter {
    let masker: Masker
    let colour: Bool
    let progressLine: Bool
    private let line = ProgressState()

    public init(masker: Masker, colour: Bool, progressLine: Bool = false) {
        self.masker = masker
        self.colour = colour
        self.progressLine = progressLine
    }

    public func report(_ e: ReportEvent) {
        let e = e.masked(by: masker)
        if progressLine, e.kind == .itemFinished, e.status == "succeeded", let p = e.progress {
            line.set(true)
            Console.status(masker.mask("  \(e.step ?? ""): \(p.done)/\(p.total) items done, \(p.failed) failed, "
                + String(format: "%.1f", p.rate) + " items/s"))
            return
        }
        let out = lines(for: e)
        if !out.isEmpty, line.set(false) { Console.status("") }
        for l in out { Console.out(masker.mask(l)) }
    }

    public func note(_ line: String) { Console.err(masker.mask(line)) }

    func lines(for e: ReportEvent) -> [String] {
        if e.item != nil { return itemLines(for: e) }
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
        case .itemStarted, .itemFinished:
            return []
        case .runFinished:
            var out = ["\(symbol(e.status)) \(e.dryRun ? "plan" : "run \(e.runID)") \(paint(e.status ?? "", colourFor(e.status)))\(e.message.map { ": \($0)" } ?? "")"]
            if let hint = e.hint { out.append(hint) }
            return out
        }
    }

    /// An item's events: its end (and what failed inside it); its steps' ordinary progress is left out.
    func itemLines(for e: ReportEvent) -> [String] {
        let key = "[\(e.group ?? "")#\(e.item ?? 0) \(e.itemKey ?? "")]"
        switch e.kind {
        case .itemFinished:
            let count = e.progress.map { " (\($0.done)/\($0.total))" } ?? ""
            return ["  \(symbol(e.status)) \(key) \(paint(e.status ?? "", colourFor(e.status)))\(time(e.duration))\(count)"
                + (e.message.map { ": \($0)" } ?? "")]
        case .stepFinished where e.status == "failed" || e.status == "waiting":
            return ["  \(symbol(e.status)) \(key) \(e.step ?? "") \(paint(e.status ?? "", colourFor(e.status)))\(e.message.map { ": \($0)" } ?? "")"]
        case .rollbackStepFinished where e.status == "rollback-failed":
            return ["  \(symbol(e.status)) \(key) undo \(e.step ?? "") \(paint(e.status ?? "", colourFor(e.status)))\(e.message.map { ": \($0)" } ?? "")"]
        case .stepPlanned where e.item == 0 || e.status == "failed":
            // The first item's preview in full (with diffs) and every failure; the rest as a summary line each.
            return ["    \(symbol(e.status)) \(key) \(e.step ?? "") [\(e.action ?? "")]: \(e.message ?? "")"]
                + (e.diff ?? "").split(separator: "\n").map { "        " + colourDiff(String($0)) }
        default:
            return []
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

/// Whether a progress line is on screen (so the next ordinary line clears it first).
final class ProgressState: @unchecked Sendable {
    private let lock = NSLock()
    private var shown = false

    /// Sets the flag; returns what it was.
    @discardableResult
    func set(_ value: Bool) -> Bool {
        lock.withLock {
            let was = shown
            shown = value
            return was
        }
    }
}

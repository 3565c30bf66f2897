import Foundation

/// `runbook status` and `runbook history`: text for people, one JSON document for programs.
public enum StatusFormatter {
    public static func text(_ s: RunState, stateDirHint: String = "") -> String {
        let activity = s.activity
        var message = s.message
        if activity.kind == .interrupted, let p = s.process {
            message = "its process (\(p.description)) is gone; it was \(s.status.rawValue)"
        }
        var out = ["run \(s.runID)", "  runbook: \(s.runbookName) (\(s.runbookPath))",
                   "  status:  \(activity.label)\(message.map { " — \($0)" } ?? "")",
                   "  started: \(Timestamp.format(s.startedAt)) by \(s.who)", "  updated: \(Timestamp.format(s.updatedAt))"]
        if let r = s.rollback {
            out.append("  rollback: \(r.reason) (by \(r.by), \(r.finishedAt == nil ? "not finished" : "finished"))")
        }
        out.append("  steps:")
        let width = s.steps.map(\.id.count).max() ?? 0
        for st in s.steps {
            var line = "    \(st.id.padding(toLength: width, withPad: " ", startingAt: 0))  \(st.status.rawValue)"
            if let d = st.duration { line += String(format: " (%.1fs)", d) }
            if st.attempts > 1 { line += " after \(st.attempts) attempts" }
            if let e = st.error { line += ": \(e)" } else if let sum = st.summary { line += ": \(sum)" }
            out.append(line)
            if let items = st.items { out += itemLines(items) }
        }
        if let f = s.forgotten {
            out.append("  forgotten: by \(f.by) at \(Timestamp.format(f.at)) (was \(f.previousStatus)): \(f.reason)")
        }
        if let next = activity.nextSteps(runID: s.runID, hint: stateDirHint) {
            out.append("  next: " + next.joined(separator: "\n    or: "))
        }
        return out.joined(separator: "\n")
    }

    /// A `foreach` group's items: counts by status, then the items that are not done (at most 20).
    static func itemLines(_ items: [ItemRecord]) -> [String] {
        var counts: [String: Int] = [:]
        for item in items {
            let word = item.status == .rolledBack && item.error != nil ? "failed and restored" : item.status.rawValue
            counts[word, default: 0] += 1
        }
        var out = ["      items: \(items.count) — " + counts.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")]
        let open = items.filter { $0.status != .succeeded && $0.status != .pending && !($0.status == .rolledBack && $0.error == nil) }
        for item in open.prefix(20) {
            let step = item.steps.first { $0.status == .running || $0.status == .failed || $0.status == .rollbackFailed }
            var line = "        #\(item.index) \(item.key)  \(item.status.rawValue)"
            if let step { line += " at \(step.id) (\(step.status.rawValue))" }
            if let e = item.error { line += ": \(e)" }
            out.append(line)
        }
        if open.count > 20 { out.append("        … and \(open.count - 20) more (runbook status --output json lists every item)") }
        return out
    }

    public static func historyText(_ runs: [RunState]) -> String {
        guard !runs.isEmpty else { return "no runs yet" }
        let w = runs.map(\.runID.count).max() ?? 0
        return runs.map {
            let label = $0.activity.label
            var line = "\($0.runID.padding(toLength: w, withPad: " ", startingAt: 0))  \(label.padding(toLength: max(15, label.count), withPad: " ", startingAt: 0))  \(Timestamp.format($0.startedAt))  \($0.who)"
            if let f = $0.forgotten { line += "  (forgotten by \(f.by): \(f.reason))" }
            return line
        }.joined(separator: "\n")
    }

    public static func historyJSON(_ runs: [RunState]) -> Value {
        .object(["runs": .array(runs.map { s in
            var done = 0
            for st in s.steps where st.status == .succeeded { done += 1 }
            var o: Object = ["run_id": .string(s.runID), "runbook": .string(s.runbookName),
                             "status": .string(s.activity.word), "unfinished": .bool(s.activity.isUnfinished),
                             "started_at": .string(Timestamp.format(s.startedAt)),
                             "updated_at": .string(Timestamp.format(s.updatedAt)),
                             "who": .string(s.who), "steps": .int(s.steps.count), "succeeded": .int(done)]
            if let p = s.process { o["process"] = p.toValue() }
            if let f = s.forgotten { o["forgotten_reason"] = .string(f.reason); o["forgotten_by"] = .string(f.by) }
            return .object(o)
        })])
    }
}

extension StatusFormatter {
    /// `status --output json`: the checkpoint, with `status` as it is now (`interrupted` when the
    /// process is gone; the recorded one is kept as `recorded_status`) and `unfinished`.
    public static func json(_ s: RunState) -> Value {
        var v = s.toValue()
        guard case .object(var o) = v else { return v }
        let activity = s.activity
        o["status"] = .string(activity.word)
        o["recorded_status"] = .string(s.status.rawValue)
        o["unfinished"] = .bool(activity.isUnfinished)
        if activity.kind == .live { o["live"] = .bool(true) }
        v = .object(o)
        return v
    }
}

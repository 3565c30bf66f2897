import Foundation

/// `runbook status` and `runbook history`: text for people, one JSON document for programs.
public enum StatusFormatter {
    public static func text(_ s: RunState) -> String {
        var out = ["run \(s.runID)", "  runbook: \(s.runbookName) (\(s.runbookPath))",
                   "  status:  \(s.status.rawValue)\(s.message.map { " — \($0)" } ?? "")",
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
        }
        switch s.status {
        case .paused, .running, .failed:
            out.append("  next: runbook resume \(s.runID)  or  runbook rollback \(s.runID)")
        case .rollbackFailed, .rollingBack:
            out.append("  next: runbook rollback \(s.runID)")
        default: break
        }
        return out.joined(separator: "\n")
    }

    public static func historyText(_ runs: [RunState]) -> String {
        guard !runs.isEmpty else { return "no runs yet" }
        let w = runs.map(\.runID.count).max() ?? 0
        return runs.map {
            "\($0.runID.padding(toLength: w, withPad: " ", startingAt: 0))  \($0.status.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0))  \(Timestamp.format($0.startedAt))  \($0.who)"
        }.joined(separator: "\n")
    }

    public static func historyJSON(_ runs: [RunState]) -> Value {
        .object(["runs": .array(runs.map { s in
            var done = 0
            for st in s.steps where st.status == .succeeded { done += 1 }
            return .object(["run_id": .string(s.runID), "runbook": .string(s.runbookName), "status": .string(s.status.rawValue),
                            "started_at": .string(Timestamp.format(s.startedAt)), "updated_at": .string(Timestamp.format(s.updatedAt)),
                            "who": .string(s.who), "steps": .int(s.steps.count), "succeeded": .int(done)])
        })])
    }
}

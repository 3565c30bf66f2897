import Foundation

/// Errors of the engine itself (not of a step): they stop a command before or between steps.
public enum EngineError: Error, LocalizedError, Sendable {
    case runbookChanged(runID: String, path: String, recorded: String, now: String)
    case nothingToResume(runID: String, status: String)
    case nothingToRollback(runID: String, status: String)
    case secretVarMissing(runID: String, names: [String])
    case fixedVar(name: String)
    /// Secret vars given now differ from the run's (or were given then and are missing now).
    case secretVarsDiffer(runID: String, names: [String])
    case unknownStep(String, known: [String])
    case unknownAction(String)
    case notConfirmed
    case timedOut(step: String, after: TimeInterval)
    /// A `foreach:` value that is not a list.
    case notAList(step: String, got: String)
    /// A `foreach` setting (`concurrency`…) whose expression gave no usable number.
    case badSetting(name: String, value: String, minimum: Int)
    case nothingToForget(runID: String, status: String)
    case forgetNeedsReason
    /// No terminal to ask and no `--yes`: a command that would change something refuses.
    case needsYes(command: String)

    public var errorDescription: String? {
        switch self {
        case .runbookChanged(let id, let path, let rec, let now):
            return "\(path) changed since run \(id) began (sha256 \(rec.prefix(12))… then, \(now.prefix(12))… now); "
                + "restore the original file (e.g. git checkout) to resume or roll back the run; a new run starts only after "
                + "this one is finished (resumed, rolled back, or — after cleaning up by hand — runbook forget \(id) --reason TEXT)"
        case .nothingToResume(let id, let status):
            return "run \(id) is \(status): there is nothing to resume"
        case .nothingToRollback(let id, let status):
            return "run \(id) is \(status): there is nothing to roll back"
        case .secretVarMissing(let id, let names):
            return "run \(id) needs the secret var\(names.count == 1 ? "" : "s") \(names.joined(separator: ", ")) again "
                + "(secret values are never stored): pass \(names.map { "--var \($0)=…" }.joined(separator: " ")) or --vars-file FILE"
        case .secretVarsDiffer(let id, let names):
            return "the secret var\(names.count == 1 ? "" : "s") \(names.joined(separator: ", ")) \(names.count == 1 ? "differs" : "differ") "
                + "from what run \(id) was started with (given then and missing now, or another value); a resumed run "
                + "keeps its inputs: pass the same \(names.map { "--var \($0)=…" }.joined(separator: " ")) as at the start "
                + "(secret values are never stored, only a salted digest of each)"
        case .fixedVar(let name):
            return "var \(name) is fixed by the run being resumed; only secret vars may be given again"
        case .unknownStep(let id, let known):
            return "the runbook has no step \(id)\(Suggestion.hint(for: id, in: known)); its steps: \(known.joined(separator: ", "))"
        case .unknownAction(let name):
            return "unknown action \(name)"
        case .notConfirmed:
            return "not confirmed; nothing was changed"
        case .timedOut(let step, let after):
            return "step \(step) timed out after \(Int(after))s"
        case .notAList(let step, let got):
            return "foreach of step \(step) must give a list, not \(got)"
        case .badSetting(let name, let value, let minimum):
            return "\(name) must be an integer of at least \(minimum), not '\(value)'"
        case .nothingToForget(let id, let status):
            return "run \(id) is \(status): only an unfinished run (interrupted, paused, failed, rollback-failed) can be forgotten"
        case .needsYes(let command):
            return "\(command) would change things and there is no terminal to confirm on; nothing was changed: "
                + "pass --yes to run without a terminal"
        case .forgetNeedsReason:
            return "say what was cleaned up by hand: runbook forget RUN-ID --reason TEXT"
        }
    }
}

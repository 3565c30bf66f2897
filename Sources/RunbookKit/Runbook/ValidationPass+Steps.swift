import Foundation

/// The `steps:` list: ids, actions and `with:`, expressions and their references, retry, rollback.
extension ValidationPass {
    // MARK: steps

    mutating func checkSteps(_ node: YAMLNode) -> [Step] {
        guard case .sequence(let items, _) = node else {
            error(node.mark, "steps must be a list of steps")
            return []
        }
        if items.isEmpty { error(node.mark, "steps must list at least one step") }
        // First pass: ids, so that references know every step.
        var firstMark: [String: Mark] = [:]
        for (i, item) in items.enumerated() {
            guard let idNode = item["id"], let id = idNode.scalarText else { continue }
            if let first = firstMark[id] {
                error(idNode.mark, "duplicate step id '\(id)' (first used at line \(first.line))")
            } else {
                firstMark[id] = idNode.mark
                stepIndex[id] = i
            }
            if item["foreach"] != nil { registerBody(item, group: i, allIDs: &firstMark) }
        }
        var steps: [Step] = []
        for (i, item) in items.enumerated() {
            let step = item["foreach"] != nil ? checkForeach(item, index: i, allIDs: &firstMark)
                : checkStep(item, index: i, rollbackOf: nil, allIDs: &firstMark)
            if let step { steps.append(step) }
        }
        return steps
    }

    /// Checks one step. `rollbackOf` is (owner id, owner index, ids of earlier steps in the
    /// rollback list, position in that list) for the steps of an explicit `rollback:` list.
    mutating func checkStep(_ node: YAMLNode, index: Int, rollbackOf: (owner: String, index: Int, earlier: Set<String>, n: Int)?,
                                    allIDs: inout [String: Mark]) -> Step?
    {
        guard let pairs = mapping(node, "a step") else { return nil }
        let inRollback = rollbackOf != nil
        var id = ""
        if let idNode = node["id"], let s = scalar(idNode, "step id") {
            id = s
            if !Self.matches(s, first: { $0.isLowercase || $0.isNumber }, rest: { $0.isLowercase || $0.isNumber || $0 == "-" }) {
                error(idNode.mark, "step id '\(s)' must match ^[a-z0-9][a-z0-9-]*$")
            }
            // Main-step duplicates were reported by `checkSteps`; rollback-step ids join the same set.
            if rollbackOf != nil {
                if let first = allIDs[s] {
                    error(idNode.mark, "duplicate step id '\(s)' (first used at line \(first.line))")
                } else {
                    allIDs[s] = idNode.mark
                }
            }
        } else if let r = rollbackOf {
            id = "\(r.owner).rollback.\(r.n)"
        } else if node["id"] == nil {
            error(node.mark, "step has no id")
        }
        let label = id.isEmpty ? "step" : "step '\(id)'"
        checkKeys(pairs, allowed: inRollback ? RunbookValidator.rollbackStepKeys
                      : currentGroup == nil ? RunbookValidator.stepKeys : RunbookValidator.bodyStepKeys,
                  context: inRollback ? "in a rollback step" : "in \(label)")

        // What this step's expressions may read.
        let ownIndex = rollbackOf?.index ?? index
        let mayReadOwn = inRollback
        let earlierRollback = rollbackOf?.earlier ?? []

        let name = node["name"].flatMap { scalar($0, "name of \(label)") }
        if let n = node["name"] { checkReferences(n, step: id, ownIndex: ownIndex, mayReadOwn: mayReadOwn, extra: earlierRollback) }

        var actionName = ""
        var actionType: (any Action.Type)?
        if let a = node["action"] {
            if let s = scalar(a, "action of \(label)") {
                actionName = s
                actionType = lookup(s)
                if actionType == nil {
                    error(a.mark, unknownActionMessage(s))
                }
            }
        } else {
            error(node.mark, "\(label) has no action")
        }

        // `with:` with nothing after it is an empty mapping.
        var with = node["with"]
        if let w = with, case .scalar(_, true, _, _) = w, w.toValue() == .null { with = .mapping([], w.mark) }
        if let with {
            if let withPairs = mapping(with, "with of \(label)"), let type = actionType {
                let spec = type.spec
                checkKeys(withPairs, allowed: spec.required + spec.optional, context: "in with of \(spec.name)", sortAllowed: false)
                for key in spec.required where with[key] == nil {
                    error(with.mark, "action \(spec.name) needs with.\(key)")
                }
                type.validate(with, file: path, into: &diagnostics)
            }
            checkReferences(with, step: id, ownIndex: ownIndex, mayReadOwn: mayReadOwn, extra: earlierRollback)
        } else if let type = actionType {
            for key in type.spec.required { error(node.mark, "action \(type.spec.name) needs with.\(key)") }
            type.validate(.mapping([], node.mark), file: path, into: &diagnostics)
        }

        let when = node["when"]
        if let when {
            if case .scalar = when {} else { error(when.mark, "when must be an expression or true/false") }
            checkReferences(when, step: id, ownIndex: ownIndex, mayReadOwn: mayReadOwn, extra: earlierRollback)
        }

        let timeout = node["timeout"].flatMap { duration($0, "timeout") }
        var retry: RetryPolicy?
        if let r = node["retry"] { retry = checkRetry(r) }

        var onFailure: FailurePolicy?
        if let f = node["on_failure"], let s = scalar(f, "on_failure") {
            onFailure = FailurePolicy(rawValue: s)
            if onFailure == nil { error(f.mark, "on_failure must be rollback, pause or continue, not '\(s)'") }
        }

        var rollback = Step.Rollback.auto
        if let r = node["rollback"] {
            switch r {
            case .scalar(let s, _, _, _) where s == "auto": rollback = .auto
            case .scalar(let s, _, _, _) where s == "none": rollback = .none
            case .sequence(let items, _):
                var list: [Step] = []
                var earlier: Set<String> = []
                for (n, item) in items.enumerated() {
                    let ctx = (owner: id, index: index, earlier: earlier, n: n + 1)
                    if let s = checkStep(item, index: index, rollbackOf: ctx, allIDs: &allIDs) {
                        list.append(s)
                        earlier.insert(s.id)
                    }
                }
                rollback = .steps(list)
            default:
                error(r.mark, "rollback must be auto, none or a list of steps")
            }
        }
        return Step(id: id, name: name, action: actionName, with: with, when: when, timeout: timeout, retry: retry,
                    onFailure: onFailure, rollback: rollback, mark: node.mark)
    }

    mutating func checkRetry(_ node: YAMLNode) -> RetryPolicy? {
        guard let pairs = mapping(node, "retry") else { return nil }
        checkKeys(pairs, allowed: RunbookValidator.retryKeys, context: "in retry")
        var attempts = 1
        if let a = node["attempts"] {
            if case .int(let n) = a.toValue(), n >= 1 { attempts = n } else {
                error(a.mark, "retry.attempts must be an integer of at least 1")
            }
        } else {
            error(node.mark, "missing required key 'attempts' in retry")
        }
        let backoff = node["backoff"].flatMap { duration($0, "retry.backoff") } ?? 1
        return RetryPolicy(attempts: attempts, backoff: backoff)
    }

    // MARK: references

    mutating func checkReferences(_ node: YAMLNode, step: String, ownIndex: Int, mayReadOwn: Bool, extra: Set<String>) {
        let (refs, diags) = Expressions.references(in: node, file: path, locals: locals)
        diagnostics += diags
        for ref in refs {
            switch ref.kind {
            case .variable(let name):
                if !declaredVars.contains(name) {
                    error(ref.mark, "undeclared var '\(name)'\(Suggestion.hint(for: name, in: declaredVars.sorted()))")
                }
            case .stepOutput(let target, let key):
                if extra.contains(target) { continue }
                checkSecretInResults(target: target, key: key, trail: ref.trail, mark: ref.mark)
                if checkGroupReference(to: target, from: step, mayReadOwn: mayReadOwn, mark: ref.mark) { continue }
                guard let i = stepIndex[target] else {
                    error(ref.mark, "step '\(target)' does not exist")
                    continue
                }
                if i == ownIndex && !mayReadOwn {
                    error(ref.mark, "step '\(step)' cannot read its own outputs")
                } else if i > ownIndex {
                    error(ref.mark, "step '\(target)' does not come before step '\(step)'")
                }
            case .env, .runID, .local:
                break
            }
        }
    }

    /// "unknown action 'x'", with the closest known name when it is a likely typo, else the list.
    func unknownActionMessage(_ name: String) -> String {
        guard !known.isEmpty else { return "unknown action '\(name)'" }
        let best = known.map { ($0, Self.editDistance(name, $0)) }.min { $0.1 < $1.1 }
        if let (candidate, distance) = best, distance <= max(2, name.count / 4) {
            return "unknown action '\(name)'; did you mean '\(candidate)'?"
        }
        return "unknown action '\(name)'; known actions: \(known.sorted().joined(separator: ", "))"
    }

    /// Levenshtein distance; names here are short.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        guard !x.isEmpty else { return y.count }
        guard !y.isEmpty else { return x.count }
        var row = Array(0...y.count)
        for i in 1...x.count {
            var previous = row[0]
            row[0] = i
            for j in 1...y.count {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (x[i - 1] == y[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[y.count]
    }
}

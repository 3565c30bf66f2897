import Foundation

/// `foreach` groups: their keys, their body (checked like any step list) and which step outputs
/// each side of the group may read.
extension ValidationPass {
    /// Registers the ids of a group's body (before any step is checked, like main-step ids).
    mutating func registerBody(_ node: YAMLNode, group: Int, allIDs: inout [String: Mark]) {
        guard case .sequence(let items, _)? = node["steps"] else { return }
        for (j, item) in items.enumerated() {
            guard let idNode = item["id"], let id = idNode.scalarText else { continue }
            if let first = allIDs[id] {
                error(idNode.mark, "duplicate step id '\(id)' (first used at line \(first.line))")
            } else {
                allIDs[id] = idNode.mark
                groupOf[id] = (group, j)
                if let action = item["action"]?.scalarText { bodyActions[id] = action }
            }
        }
    }

    /// `steps.GROUP.outputs.results[…].STEP.KEY` where KEY is a secret output of the body step
    /// STEP: results keep only stored outputs, so it would always be null — say so, at its place.
    mutating func checkSecretInResults(target: String, key: String, trail: [String], mark: Mark) {
        guard key == "results", let g = stepIndex[target] else { return }
        let names = trail.drop { $0 == "*" || Int($0) != nil }  // the item's index
        guard names.count >= 2, let stepID = names.first, groupOf[stepID]?.group == g, let action = bodyActions[stepID],
              let type = lookup(action) else { return }
        let output = names[names.index(after: names.startIndex)]
        guard type.spec.secretOutputs.contains(output) else { return }
        error(mark, "steps.\(target).outputs.results holds only the outputs that are stored, never secret ones: "
            + "'\(output)' of step '\(stepID)' (\(action)) is secret and not kept once an item is done (nor across a resume); "
            + "use it inside the group's body")
    }

    /// Checks a `foreach` group at position `index` of the main steps.
    mutating func checkForeach(_ node: YAMLNode, index: Int, allIDs: inout [String: Mark]) -> Step? {
        guard let pairs = mapping(node, "a step") else { return nil }
        var id = ""
        if let idNode = node["id"], let s = scalar(idNode, "step id") {
            id = s
            if !Self.matches(s, first: { $0.isLowercase || $0.isNumber }, rest: { $0.isLowercase || $0.isNumber || $0 == "-" }) {
                error(idNode.mark, "step id '\(s)' must match ^[a-z0-9][a-z0-9-]*$")
            }
        } else if node["id"] == nil {
            error(node.mark, "step has no id")
        }
        let label = id.isEmpty ? "foreach group" : "foreach group '\(id)'"
        checkKeys(pairs, allowed: RunbookValidator.foreachKeys, context: "in \(label)")
        let name = node["name"].flatMap { scalar($0, "name of \(label)") }
        if let n = node["name"] { checkReferences(n, step: id, ownIndex: index, mayReadOwn: false, extra: []) }
        let items = node["foreach"]!
        if case .mapping = items { error(items.mark, "foreach must be a list or an expression giving one") }
        checkReferences(items, step: id, ownIndex: index, mayReadOwn: false, extra: [])
        let when = node["when"]
        if let when {
            if case .scalar = when {} else { error(when.mark, "when must be an expression or true/false") }
            checkReferences(when, step: id, ownIndex: index, mayReadOwn: false, extra: [])
        }
        var itemName = "item"
        if let a = node["as"], let s = scalar(a, "as") {
            if !Self.matches(s, first: { $0.isLetter || $0 == "_" }, rest: { $0.isLetter || $0.isNumber || $0 == "_" }) {
                error(a.mark, "as must be a name matching ^[A-Za-z_][A-Za-z0-9_]*$, not '\(s)'")
            } else if ["vars", "steps", "env", "run", "true", "false", "null"].contains(s) {
                error(a.mark, "as: '\(s)' is a name expressions already use; choose another")
            } else {
                itemName = s
            }
        }
        var settings: [String: YAMLNode] = [:]
        for key in ["concurrency", "canary", "max_failures"] {
            if let n = node[key], case .scalar(let text, _, _, _) = n, text.contains("${{") {
                settings[key] = n
                checkReferences(n, step: id, ownIndex: index, mayReadOwn: false, extra: [])
            }
        }
        let concurrency = settings["concurrency"] != nil ? 1 : count(node["concurrency"], "concurrency", minimum: 1) ?? 1
        let canary = settings["canary"] != nil ? 0 : count(node["canary"], "canary", minimum: 0) ?? 0
        let maxFailures = settings["max_failures"] != nil ? 0 : count(node["max_failures"], "max_failures", minimum: 0) ?? 0

        var body: [Step] = []
        if let s = node["steps"] {
            if case .sequence(let items, _) = s {
                if items.isEmpty { error(s.mark, "steps of \(label) must list at least one step") }
                let saved = (currentGroup, locals)
                locals = locals.union([itemName])
                for (j, item) in items.enumerated() {
                    if item["foreach"] != nil {
                        error(item.mark, "foreach groups do not nest; move the inner loop into its own group")
                        continue
                    }
                    currentGroup = (index, id, j)
                    if let step = checkStep(item, index: index, rollbackOf: nil, allIDs: &allIDs) { body.append(step) }
                }
                (currentGroup, locals) = saved
            } else {
                error(s.mark, "steps of \(label) must be a list of steps")
            }
        } else {
            error(node.mark, "missing required key 'steps' in \(label)")
        }
        let group = ForeachGroup(items: items, name: itemName, concurrency: concurrency, canary: canary,
                                 maxFailures: maxFailures, steps: body, settings: settings)
        return Step(id: id, name: name, action: ForeachGroup.actionName, with: nil, when: when, timeout: nil, retry: nil,
                    onFailure: nil, rollback: .auto, mark: node.mark, group: group)
    }

    private mutating func count(_ node: YAMLNode?, _ what: String, minimum: Int) -> Int? {
        guard let node else { return nil }
        if case .int(let n) = node.toValue(), n >= minimum { return n }
        error(node.mark, "\(what) must be an integer of at least \(minimum)")
        return nil
    }

    /// Judges a reference to `target` when a foreach body is on either side; false when neither
    /// is (the ordinary rules apply). Inside a body, `steps.ID` of a body step is the same
    /// item's step; outside, only `steps.GROUP.outputs.results` reaches the items.
    mutating func checkGroupReference(to target: String, from step: String, mayReadOwn: Bool, mark: Mark) -> Bool {
        let inner = groupOf[target]
        guard inner != nil || currentGroup != nil else { return false }
        if let inner {
            guard let current = currentGroup, current.index == inner.group else {
                let g = groupID(inner.group)
                error(mark, "step '\(target)' runs once per item of foreach group '\(g)'; after the group, read steps.\(g).outputs.results")
                return true
            }
            if inner.sub == current.sub && !mayReadOwn {
                error(mark, "step '\(step)' cannot read its own outputs")
            } else if inner.sub > current.sub {
                error(mark, "step '\(target)' does not come before step '\(step)'")
            }
            return true
        }
        guard let current = currentGroup, let t = stepIndex[target] else { return false }
        if t == current.index {
            error(mark, "step '\(step)' is inside foreach group '\(target)' and cannot read the group's outputs")
        } else if t > current.index {
            error(mark, "step '\(target)' does not come before step '\(step)'")
        }
        return true
    }

    private func groupID(_ index: Int) -> String {
        stepIndex.first { $0.value == index }?.key ?? "?"
    }
}

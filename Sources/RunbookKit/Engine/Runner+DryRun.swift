import Foundation

/// `--dry-run` / `plan`: reads run for real, everything else only previews. Nothing is written.
extension Runner {
    func plan() async throws -> RunOutcome {
        var failures = 0
        for (i, step) in runbook.steps.enumerated() {
            if step.group != nil {
                failures += try await planGroup(i)
                continue
            }
            guard let (event, failed) = try await planStep(step, slot: nil) else { continue }
            if failed { failures += 1 }
            try emit(event)
        }
        let status = failures == 0 ? "succeeded" : "failed"
        try emit(ReportEvent(.runFinished, runID: state.runID, status: status,
                             message: failures == 0 ? "dry-run: nothing was changed"
                                 : "dry-run: \(failures) step\(failures == 1 ? "" : "s") would fail; nothing was changed"))
        return failures == 0 ? .completed : .dryRunFailed
    }

    /// Previews one step (a main step, or one item's step with the item's scope); nil for an
    /// unknown action. Reads run for real; their outputs feed later expressions.
    func planStep(_ step: Step, slot: StepSlot?) async throws -> (ReportEvent, Bool)? {
        guard let type = actions.action(named: step.action) else { return nil }
        let scope = slot.map { self.scope(for: $0) } ?? self.scope
        var event = ReportEvent(.stepPlanned, runID: state.runID, step: step.id, name: step.name, action: step.action)
        if let slot { event = itemEvent(event, slot) }
        do {
            if let when = step.when {
                let v = try dryEvaluate(when, scope: scope)
                if UnknownOutput.isIn(v) {
                    event.hint = "runs only if its `when:` holds (known only at run time)"
                } else if !v.isTruthy {
                    event.status = "skipped"
                    event.message = "skipped (when: condition is false)"
                    return (event, false)
                }
            }
            let with = try dryEvaluate(step.with, scope: scope)
            let unknown = UnknownOutput.isIn(with)
            let ctx = context(for: step, with: with, journal: nil, slot: nil, scope: scope, item: slot?.item)
            let action = type.init()
            if type.spec.dryRun == .execute && !unknown {
                let result = try await Runner.withTimeout(step.timeout, step: step.id) { try await action.execute(ctx) }
                record(result.outputs, of: step, spec: type.spec, slot: slot, store: false)
                event.status = "succeeded"
                event.message = "executed (read only)" + (result.summary.map { ": \($0)" } ?? "")
            } else if type.spec.dryRun == .execute {
                event.status = "would run"
                event.message = "depends on values known only at run time"
            } else {
                do {
                    let preview = try await Runner.withTimeout(step.timeout, step: step.id) { try await action.preview(ctx) }
                    var outputs: [String: Value]
                    if let slot, let item = slot.item {
                        outputs = itemOutputs[slot.top]?[item]?[step.id] ?? [:]
                    } else {
                        outputs = self.scope.outputs[step.id] ?? [:]
                    }
                    for (k, v) in preview.outputs { outputs[k] = v }
                    for k in type.spec.secretOutputs { if let v = outputs[k] { masker.add(all: v) } }
                    if let slot, let item = slot.item {
                        itemOutputs[slot.top, default: [:]][item, default: [:]][step.id] = outputs
                    } else {
                        self.scope.outputs[step.id] = outputs
                    }
                    event.status = "would run"
                    event.message = preview.summary
                    event.diff = preview.diff
                } catch where unknown {
                    // The failure comes from the placeholders, not from the step: say what it waits for.
                    event.status = "would run"
                    event.message = "its preview needs "
                        + UnknownOutput.references(in: with).joined(separator: ", ") + ", known only at run time"
                }
            }
        } catch {
            event.status = "failed"
            event.message = describe(error)
            return (event, true)
        }
        return (event, false)
    }

    /// Previews every item of group `i` (each body step as above), a summary per item and a
    /// total; returns the number of failed previews.
    func planGroup(_ i: Int) async throws -> Int {
        let step = runbook.steps[i]
        guard let group = step.group else { return 0 }
        var event = ReportEvent(.stepPlanned, runID: state.runID, step: step.id, name: step.name, action: ForeachGroup.actionName)
        let list: Value
        do {
            if let when = step.when {
                let v = try dryEvaluate(when, scope: scope)
                if !UnknownOutput.isIn(v), !v.isTruthy {
                    event.status = "skipped"
                    event.message = "skipped (when: condition is false)"
                    try emit(event)
                    return 0
                }
            }
            list = try dryEvaluate(group.items, scope: scope)
        } catch {
            event.status = "failed"
            event.message = describe(error)
            try emit(event)
            return 1
        }
        guard case .array(let values) = list, !UnknownOutput.isIn(list) else {
            event.status = "would run"
            event.message = UnknownOutput.isIn(list)
                ? "once per item of " + UnknownOutput.references(in: list).joined(separator: ", ") + ", known only at run time"
                : "foreach must give a list, not \(list.typeName)"
            try emit(event)
            return UnknownOutput.isIn(list) ? 0 : 1
        }
        groupItems[i] = values
        state.steps[i].items = itemKeys(values).enumerated().map { k, key in
            ItemRecord(index: k, key: key, steps: group.steps.map { StepRecord(id: $0.id, action: $0.action) })
        }
        var failures = 0
        var failedItems = 0
        for k in values.indices {
            var counts: [String: Int] = [:]
            var itemFailed = false
            for (j, body) in group.steps.enumerated() {
                guard let (e, failed) = try await planStep(body, slot: StepSlot(i, item: k, sub: j)) else { continue }
                counts[e.status ?? "would run", default: 0] += 1
                if failed { failures += 1; itemFailed = true }
                try emit(e)
            }
            if itemFailed { failedItems += 1 }
            var summary = itemEvent(ReportEvent(.itemFinished, runID: state.runID, step: step.id,
                                                status: itemFailed ? "failed" : "would run"), StepSlot(i, item: k))
            summary.message = counts.keys.sorted().map { "\(counts[$0]!) \($0)" }.joined(separator: ", ")
            summary.progress = ReportEvent.Progress(done: k + 1, failed: failedItems, total: values.count, rate: 0)
            try emit(summary)
        }
        event.status = failedItems == 0 ? "would run" : "failed"
        event.message = "\(values.count) item\(values.count == 1 ? "" : "s"): \(values.count - failedItems) would run"
            + (failedItems == 0 ? "" : ", \(failedItems) would fail")
        try emit(event)
        return failures
    }

    /// Like `Expressions.evaluate` over a tree, but a scalar that refers to a step output not
    /// known in a dry-run becomes a `<unknown until run: …>` placeholder instead of an error.
    func dryEvaluate(_ node: YAMLNode?, scope: Scope) throws -> Value {
        guard let node else { return .object(Object()) }
        switch node {
        case .scalar(let text, _, _, _):
            if let ref = unknownReference(in: text, scope: scope) { return UnknownOutput.placeholder(ref) }
            return try Expressions.evaluate(node, scope: scope, file: runbook.file.path)
        case .sequence(let items, _):
            guard items.contains(where: ListTemplate.isTemplate) else { return .array(try items.map { try dryEvaluate($0, scope: scope) }) }
            // A list built by templates is known only when everything it reads is.
            if let ref = firstUnknownReference(in: node, scope: scope) { return UnknownOutput.placeholder(ref) }
            return try Expressions.evaluate(node, scope: scope, file: runbook.file.path)
        case .mapping(let pairs, _):
            var o = Object()
            for p in pairs { o[p.key.scalarText ?? ""] = try dryEvaluate(p.value, scope: scope) }
            return .object(o)
        }
    }

    /// The first step output a dry-run does not know, in any scalar of a tree.
    func firstUnknownReference(in node: YAMLNode, scope: Scope) -> String? {
        switch node {
        case .scalar(let text, _, _, _): return unknownReference(in: text, scope: scope)
        case .sequence(let items, _): return items.lazy.compactMap { self.firstUnknownReference(in: $0, scope: scope) }.first
        case .mapping(let pairs, _): return pairs.lazy.compactMap { self.firstUnknownReference(in: $0.value, scope: scope) }.first
        }
    }

    /// The first `steps.ID.outputs.KEY` in an expression whose value the dry-run does not know.
    func unknownReference(in text: String, scope: Scope) -> String? {
        guard text.contains("${{") else { return nil }
        let pattern = #/steps\.([a-z0-9][a-z0-9-]*)\.outputs\.([A-Za-z0-9_-]+)/#
        for m in text.matches(of: pattern) {
            let id = String(m.output.1), key = String(m.output.2)
            if scope.outputs[id]?[key] == nil { return "steps.\(id).outputs.\(key)" }
        }
        return nil
    }
}

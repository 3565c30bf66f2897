import Foundation

/// `--dry-run` / `plan`: reads run for real, everything else only previews. Nothing is written.
extension Runner {
    func plan() async throws -> RunOutcome {
        var failures = 0
        for step in runbook.steps {
            guard let type = actions.action(named: step.action) else { continue }
            var event = ReportEvent(.stepPlanned, runID: state.runID, step: step.id, name: step.name, action: step.action)
            do {
                if let when = step.when {
                    let v = try dryEvaluate(when)
                    if UnknownOutput.isIn(v) {
                        event.hint = "runs only if its `when:` holds (known only at run time)"
                    } else if !v.isTruthy {
                        event.status = "skipped"
                        event.message = "skipped (when: condition is false)"
                        try emit(event)
                        continue
                    }
                }
                let with = try dryEvaluate(step.with)
                let unknown = UnknownOutput.isIn(with)
                let ctx = context(for: step, with: with, journal: nil, slot: nil)
                let action = type.init()
                if type.spec.dryRun == .execute && !unknown {
                    let result = try await Runner.withTimeout(step.timeout, step: step.id) { try await action.execute(ctx) }
                    record(result.outputs, of: step, spec: type.spec, slot: nil, store: false)
                    event.status = "succeeded"
                    event.message = "executed (read only)" + (result.summary.map { ": \($0)" } ?? "")
                } else if type.spec.dryRun == .execute {
                    event.status = "would run"
                    event.message = "depends on values known only at run time"
                } else {
                    do {
                        let preview = try await Runner.withTimeout(step.timeout, step: step.id) { try await action.preview(ctx) }
                        var outputs = scope.outputs[step.id] ?? [:]
                        for (k, v) in preview.outputs { outputs[k] = v }
                        for k in type.spec.secretOutputs { if let v = outputs[k] { masker.add(all: v) } }
                        scope.outputs[step.id] = outputs
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
                failures += 1
                event.status = "failed"
                event.message = describe(error)
            }
            try emit(event)
        }
        let status = failures == 0 ? "succeeded" : "failed"
        try emit(ReportEvent(.runFinished, runID: state.runID, status: status,
                             message: failures == 0 ? "dry-run: nothing was changed"
                                 : "dry-run: \(failures) step\(failures == 1 ? "" : "s") would fail; nothing was changed"))
        return failures == 0 ? .completed : .dryRunFailed
    }

    /// Like `Expressions.evaluate` over a tree, but a scalar that refers to a step output not
    /// known in a dry-run becomes a `<unknown until run: …>` placeholder instead of an error.
    func dryEvaluate(_ node: YAMLNode?) throws -> Value {
        guard let node else { return .object(Object()) }
        switch node {
        case .scalar(let text, _, _, _):
            if let ref = unknownReference(in: text) { return UnknownOutput.placeholder(ref) }
            return try Expressions.evaluate(node, scope: scope, file: runbook.file.path)
        case .sequence(let items, _):
            return .array(try items.map { try dryEvaluate($0) })
        case .mapping(let pairs, _):
            var o = Object()
            for p in pairs { o[p.key.scalarText ?? ""] = try dryEvaluate(p.value) }
            return .object(o)
        }
    }

    /// The first `steps.ID.outputs.KEY` in an expression whose value the dry-run does not know.
    func unknownReference(in text: String) -> String? {
        guard text.contains("${{") else { return nil }
        let pattern = #/steps\.([a-z0-9][a-z0-9-]*)\.outputs\.([A-Za-z0-9_-]+)/#
        for m in text.matches(of: pattern) {
            let id = String(m.output.1), key = String(m.output.2)
            if scope.outputs[id]?[key] == nil { return "steps.\(id).outputs.\(key)" }
        }
        return nil
    }
}

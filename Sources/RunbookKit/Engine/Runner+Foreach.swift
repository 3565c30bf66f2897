import Foundation

/// `foreach` groups: items run with bounded concurrency, a canary first, and an error budget.
/// Each item's steps are checkpointed and rolled back exactly like main steps.
extension Runner {
    enum ItemOutcome: Sendable {
        case succeeded
        case failed(String)
        case waiting(String)
        /// A stop signal cancelled one of its steps (see `StepResult.interrupted`).
        case interrupted(String)
    }

    /// Runs (or, on resume, continues) the group at `i`: every item not yet succeeded.
    func runGroup(_ i: Int) async throws -> StepResult {
        let step = runbook.steps[i]
        guard let group = step.group else { return try await fail(StepSlot(i), "step \(step.id) is not a foreach group") }
        let slot = StepSlot(i)
        let fresh = state.steps[i].items == nil
        if fresh, let when = step.when {
            do {
                if try !Expressions.evaluate(when, scope: scope, file: runbook.file.path).isTruthy {
                    state.steps[i].status = .skipped
                    state.steps[i].summary = "when: condition is false"
                    try await persist(slot)
                    try emit(ReportEvent(.stepFinished, runID: state.runID, step: step.id, name: step.name,
                                         status: "skipped", message: "when: condition is false"))
                    return .done
                }
            } catch {
                return try await fail(slot, "when: \(describe(error))")
            }
        }
        let values: [Value]
        let limits: (concurrency: Int, canary: Int, maxFailures: Int)
        do {
            values = try evaluateItems(i)
            limits = (try setting(group, "concurrency", group.concurrency, minimum: 1), try setting(group, "canary", group.canary, minimum: 0),
                      try setting(group, "max_failures", group.maxFailures, minimum: 0))
        } catch {
            return try await fail(slot, "foreach: \(describe(error))")
        }
        let keys = itemKeys(values)
        if fresh {
            state.steps[i].items = keys.enumerated().map { k, key in
                ItemRecord(index: k, key: key, steps: group.steps.map { StepRecord(id: $0.id, action: $0.action) })
            }
            state.steps[i].startedAt = Date()
        } else if state.steps[i].items!.map(\.key) != keys {
            return try await fail(slot, "foreach: the list changed since the run started (\(state.steps[i].items!.count) items then, "
                + "\(keys.count) now, or other keys); roll the run back and start a new one")
        }
        groupItems[i] = values
        restoreItemOutputs(i)
        // Items that failed earlier and were restored run again, from a clean record.
        for k in state.steps[i].items!.indices where state.steps[i].items![k].status == .rolledBack {
            state.steps[i].items![k] = ItemRecord(index: k, key: keys[k], steps: group.steps.map { StepRecord(id: $0.id, action: $0.action) })
        }
        state.steps[i].status = .running
        state.steps[i].completed = false
        state.steps[i].error = nil
        state.steps[i].finishedAt = nil
        try await persist(slot, allItems: true)
        state.packRestingItems(of: i, masker: masker)
        ProcessMemory.releaseFreeMemory()  // the list's pages and the group's first checkpoint are gone
        let canaryPassed = state.steps[i].canaryPassed
        var started = ReportEvent(.stepStarted, runID: state.runID, step: step.id, name: step.name, action: ForeachGroup.actionName)
        started.message = "\(values.count) item\(values.count == 1 ? "" : "s"), concurrency \(limits.concurrency)"
            + (limits.canary > 0 ? ", canary \(limits.canary)\(canaryPassed ? " (passed earlier)" : "")" : "")
            + ", max_failures \(limits.maxFailures)"
        try emit(started)

        let todo = state.steps[i].items!.indices.filter { state.steps[i].items![$0].status != .succeeded }
        let clock = GroupClock(total: values.count, done: values.count - todo.count)
        var failures: [Int] = []
        // Canary: the first `canary` items of the list run alone; one failure and no other item
        // starts. A resume finishes the canary items not yet succeeded first, and once they all
        // succeeded (recorded as `canary_passed`) there is no canary phase again.
        let canary = canaryPassed ? [] : todo.filter { $0 < limits.canary }
        var stop = try await runItems(i, canary, concurrency: min(limits.concurrency, max(1, canary.count)), budget: 0,
                                      failures: &failures, clock: clock)
        if !failures.isEmpty, case .failed(let why)? = stop {
            stop = .failed("canary item \(failures.map { keys[$0] }.joined(separator: ", ")) failed, so no other item was started: \(why)")
        }
        if stop == nil, limits.canary > 0, !canaryPassed {
            state.steps[i].canaryPassed = true
            try await persist(slot)
        }
        if stop == nil {
            stop = try await runItems(i, Array(todo.dropFirst(canary.count)), concurrency: limits.concurrency,
                                      budget: limits.maxFailures, failures: &failures, clock: clock)
        }
        let failedKeys = failures.map { keys[$0] }
        state.steps[i].finishedAt = Date()
        switch stop {
        case .failed(let reason):
            state.steps[i].status = .failed
            state.steps[i].error = masker.mask(reason)
            try await persist(slot)
            try emit(ReportEvent(.stepFinished, runID: state.runID, step: step.id, name: step.name, status: "failed",
                                 duration: state.steps[i].duration, message: reason))
            return .failed(reason)
        case .awaitingApproval(let message):
            state.steps[i].status = .pending
            try await persist(slot)
            return .awaitingApproval(message)
        case .interrupted(let signal):
            // The group stays running; resume continues with the items not yet succeeded.
            try await persist(slot)
            return .interrupted(signal)
        case .done, nil:
            let ok = values.count - failedKeys.count
            let summary = "\(ok) of \(values.count) item\(values.count == 1 ? "" : "s") succeeded"
                + (failedKeys.isEmpty ? "" : "; \(failedKeys.count) failed, each rolled back: \(failedKeys.joined(separator: ", "))")
            state.steps[i].summary = masker.mask(summary)
            state.steps[i].status = failedKeys.isEmpty ? .succeeded : .failed
            state.steps[i].completed = failedKeys.isEmpty
            if !failedKeys.isEmpty { state.steps[i].error = masker.mask(summary) }
            // `results` (every item's outputs) is for later steps; the last step has none
            if i + 1 < runbook.steps.count { scope.outputs[step.id] = groupOutputs(i) }
            state.steps[i].outputs = ["count": .int(values.count), "failed": .array(failedKeys.map { .string($0) })]
            try await persist(slot)
            try emit(ReportEvent(.stepFinished, runID: state.runID, step: step.id, name: step.name,
                                 status: failedKeys.isEmpty ? "succeeded" : "failed", duration: state.steps[i].duration, message: summary))
            return .done
        }
    }

    /// Runs `items` of group `i`, at most `concurrency` at once. A failure within `budget`
    /// (counting `failures` so far) is rolled back alone; beyond it no new item starts, the
    /// running ones finish, and the result says why.
    private func runItems(_ i: Int, _ items: [Int], concurrency: Int, budget: Int, failures: inout [Int],
                          clock: GroupClock) async throws -> StepResult?
    {
        guard !items.isEmpty else { return nil }
        var stop: StepResult?
        var queue = items[...]
        var failed = failures
        try await withThrowingTaskGroup(of: (Int, ItemOutcome).self) { tg in
            var inFlight = 0
            while inFlight < concurrency, let k = queue.popFirst() {
                tg.addTask { (k, try await self.runItem(i, k, clock: clock)) }
                inFlight += 1
            }
            while let (k, outcome) = try await tg.next() {
                inFlight -= 1
                switch outcome {
                case .succeeded:
                    break
                case .failed(let message):
                    failed.append(k)
                    if failed.count > budget {
                        if stop == nil {
                            let keys = failed.map { state.steps[i].items![$0].key }
                            stop = .failed("\(failed.count) item\(failed.count == 1 ? "" : "s") failed (max_failures \(budget)): "
                                + keys.joined(separator: ", ") + "; last: \(message)")
                        }
                    } else if let failure = try await rollbackItem(i, k, clock: clock) {
                        stop = .failed("item \(state.steps[i].items![k].key) failed and its rollback failed at \(failure.step): \(describe(failure.error))")
                    }
                case .waiting(let message):
                    if stop == nil { stop = .awaitingApproval(message) }
                case .interrupted(let signal):
                    if stop == nil { stop = .interrupted(signal) }
                }
                if stop == nil, !queue.isEmpty, let signal = StopRequest.shared.requested {
                    stop = .interrupted(StopRequest.name(signal))  // no new item starts
                }
                while stop == nil, inFlight < concurrency, let next = queue.popFirst() {
                    tg.addTask { (next, try await self.runItem(i, next, clock: clock)) }
                    inFlight += 1
                }
            }
        }
        failures = failed
        return stop
    }

    /// Runs one item's steps in order, from its first step not yet done (a resumed item repeats
    /// its interrupted step with that step's journal, like any step).
    func runItem(_ i: Int, _ k: Int, clock: GroupClock) async throws -> ItemOutcome {
        let group = runbook.steps[i].group!
        let itemSlot = StepSlot(i, item: k)
        state.steps[i].items![k].unpack()
        let resumed = state.steps[i].items![k].steps.contains { $0.status != .pending }
        state.steps[i].items![k].status = .running
        state.steps[i].items![k].error = nil
        // Its first step's write-ahead checkpoint waits for the team's record (persist).
        try await persist(itemSlot, teamWait: false)
        try emit(itemEvent(ReportEvent(.itemStarted, runID: state.runID, step: runbook.steps[i].id), itemSlot))
        let started = Date()
        for j in group.steps.indices {
            let slot = StepSlot(i, item: k, sub: j)
            if [.succeeded, .skipped].contains(state[slot].status) {
                if resumed { try await recomputeSecretOutputs(slot) }
                continue
            }
            if let signal = StopRequest.shared.requested { return .interrupted(StopRequest.name(signal)) }
            switch try await runStep(slot) {
            case .done:
                continue
            case .failed(let message):
                let reason = "step \(group.steps[j].id) failed: \(message)"
                state.steps[i].items![k].status = .failed
                state.steps[i].items![k].error = masker.mask(reason)
                try await persist(itemSlot)
                var e = itemEvent(ReportEvent(.itemFinished, runID: state.runID, step: runbook.steps[i].id, status: "failed",
                                              duration: Date().timeIntervalSince(started), message: reason), itemSlot)
                e.progress = clock.finish(failed: true)
                try emit(e)
                return .failed(reason)
            case .awaitingApproval(let message):
                state.steps[i].items![k].status = .pending
                try await persist(itemSlot)
                return .waiting(message)
            case .interrupted(let signal):
                return .interrupted(signal)
            }
        }
        state.steps[i].items![k].status = .succeeded
        // The next item's first step, or the group's end, waits for the team's record.
        try await persist(itemSlot, teamWait: false)
        // The item's outputs stay in its step records (non-secret, masked), which rest packed;
        // the in-memory copy, secrets included, goes: a thousand items must not keep a thousand.
        itemOutputs[i]?[k] = nil
        state.steps[i].items![k].pack(masker: masker)
        // what the item's requests and records freed goes back to the kernel now and then
        itemsSinceRelease += 1
        if itemsSinceRelease >= 64 {
            itemsSinceRelease = 0
            ProcessMemory.releaseFreeMemory()
        }
        var e = itemEvent(ReportEvent(.itemFinished, runID: state.runID, step: runbook.steps[i].id, status: "succeeded",
                                      duration: Date().timeIntervalSince(started)), itemSlot)
        e.progress = clock.finish(failed: false)
        try emit(e)
        return .succeeded
    }

    /// Rolls back one item's steps, newest first; returns the failure, if any.
    func rollbackItem(_ i: Int, _ k: Int, clock: GroupClock?) async throws -> (step: String, error: any Error)? {
        let itemSlot = StepSlot(i, item: k)
        state.steps[i].items![k].unpack()
        for j in state.steps[i].items![k].steps.indices.reversed() {
            let slot = StepSlot(i, item: k, sub: j)
            guard needsRollback(state[slot]) else { continue }
            if let failure = try await rollbackSlot(slot) {
                state.steps[i].items![k].status = .rollbackFailed
                try await persist(itemSlot)
                state.steps[i].items![k].pack(masker: masker)
                return failure
            }
        }
        state.steps[i].items![k].status = .rolledBack
        try await persist(itemSlot)
        state.steps[i].items![k].pack(masker: masker)
        try emit(itemEvent(ReportEvent(.itemFinished, runID: state.runID, step: runbook.steps[i].id, status: "rolled-back",
                                       message: state.steps[i].items![k].error.map { "restored after: \($0)" }), itemSlot))
        return nil
    }

    /// Rolls back every item of group `i` that changed something, newest first.
    func rollbackGroup(_ i: Int) async throws -> (step: String, error: any Error)? {
        guard let items = state.steps[i].items else { return nil }
        if groupItems[i] == nil {
            // A new process (`runbook rollback`, a resumed rollback): the items as far as they can
            // be known; an automatic rollback needs only the records.
            let values = (try? evaluateItems(i)) ?? []
            let keys = itemKeys(values)
            groupItems[i] = keys == items.map(\.key) ? values : items.map { _ in .null }
            restoreItemOutputs(i)
        }
        // Newest first, as many at once as the group ran: each item is undone step by step, newest
        // first; after a failed undo no other item starts and the ones in flight finish.
        let order = items.indices.reversed().filter { state.steps[i].items![$0].steps.contains(where: needsRollback) }
        let width = (try? setting(runbook.steps[i].group!, "concurrency", runbook.steps[i].group!.concurrency, minimum: 1)) ?? 1
        groupRollbackFailure = nil
        var queue = order[...]
        try await withThrowingTaskGroup(of: Bool.self) { tg in
            var inFlight = 0
            while inFlight < width, let k = queue.popFirst() {
                tg.addTask { try await self.rollbackItemNoting(i, k) }
                inFlight += 1
            }
            while let ok = try await tg.next() {
                inFlight -= 1
                if !ok { queue = [] }
                while inFlight < width, let k = queue.popFirst() {
                    tg.addTask { try await self.rollbackItemNoting(i, k) }
                    inFlight += 1
                }
            }
        }
        if let failure = groupRollbackFailure { return failure }
        if !order.isEmpty || needsRollback(state.steps[i]) {
            state.steps[i].status = .rolledBack
            try await persist(StepSlot(i))
        }
        return nil
    }

    /// A group setting given as an expression, else its number.
    func setting(_ group: ForeachGroup, _ key: String, _ fallback: Int, minimum: Int) throws -> Int {
        guard let node = group.settings[key] else { return fallback }
        let v = try Expressions.evaluate(node, scope: scope, file: runbook.file.path)
        let n: Int? = v.intValue ?? v.stringValue.flatMap { Int($0) }
        guard let n, n >= minimum else { throw EngineError.badSetting(name: key, value: v.interpolated, minimum: minimum) }
        return n
    }

    /// `rollbackItem`, keeping its failure (if any) in `groupRollbackFailure`; false on failure.
    func rollbackItemNoting(_ i: Int, _ k: Int) async throws -> Bool {
        guard let failure = try await rollbackItem(i, k, clock: nil) else { return true }
        if groupRollbackFailure == nil { groupRollbackFailure = failure }
        return false
    }

    /// Each item's key, masked: an item that is (or is named by) a secret value must not put it
    /// into the state, the run records or the output. Resume compares these masked keys.
    func itemKeys(_ values: [Value]) -> [String] {
        values.enumerated().map { masker.mask(ItemRecord.key(of: $1, index: $0)) }
    }

    /// The group's list: its `foreach:` value, which must be a list.
    func evaluateItems(_ i: Int) throws -> [Value] {
        guard let group = runbook.steps[i].group else { return [] }
        let v = try Expressions.evaluate(group.items, scope: scope, file: runbook.file.path)
        switch v {
        case .array(let a): return a
        case .null: return []
        default: throw EngineError.notAList(step: runbook.steps[i].id, got: v.typeName)
        }
    }

    /// Outputs of items run by an earlier process, so later steps of an item and `results` see them.
    func restoreItemOutputs(_ i: Int) {
        guard let group = runbook.steps[i].group, let items = state.steps[i].items else { return }
        for item in items where item.status != .succeeded {  // a finished item reads its records (scope(for:))
            for (j, rec) in item.steps.enumerated() where !rec.outputs.isEmpty && itemOutputs[i]?[item.index]?[group.steps[j].id] == nil {
                itemOutputs[i, default: [:]][item.index, default: [:]][group.steps[j].id] = rec.outputs
            }
        }
    }

    /// `steps.GROUP.outputs`: `results` (each item's stored outputs by step id — secret outputs
    /// are never stored — in item order; null for an item that failed), `count` and `failed`
    /// (the keys of the failed items).
    func groupOutputs(_ i: Int) -> [String: Value] {
        let items = state.steps[i].items ?? []
        var results: [Value] = []
        var failed: [Value] = []
        for item in items {
            if item.status == .succeeded {
                var o = Object()
                for rec in item.steps where !rec.outputs.isEmpty {
                    o[rec.id] = .object(Object(rec.outputs.keys.sorted().map { .init(key: $0, value: rec.outputs[$0]!) }))
                }
                results.append(.object(o))
            } else {
                results.append(.null)
                failed.append(.string(item.key))
            }
        }
        return ["results": .array(results), "count": .int(items.count), "failed": .array(failed)]
    }

    /// Secret outputs of an item's completed read step, read again for a resumed item.
    func recomputeSecretOutputs(_ slot: StepSlot) async throws {
        let step = self.step(at: slot)
        let rec = state[slot]
        guard rec.status == .succeeded, let type = actions.action(named: step.action), !type.spec.mutating,
              rec.outputsMasked || !type.spec.secretOutputs.isEmpty else { return }
        let scope = self.scope(for: slot)
        let with = try evaluateWith(step, scope: scope)
        let result = try await execute(step, type: type, with: with, journal: nil, slot: nil, scope: scope, item: slot.item)
        record(result.outputs, of: step, spec: type.spec, slot: slot, store: false)
    }

    /// Items that failed within a group's budget (each restored), for the end of the run.
    func failedItemsSummary() -> String? {
        var parts: [String] = []
        for (i, rec) in state.steps.enumerated() {
            let failed = (rec.items ?? []).filter { $0.error != nil && [.rolledBack, .failed].contains($0.status) }
            guard !failed.isEmpty, runbook.steps[i].group != nil else { continue }
            parts.append("\(failed.count) of \(rec.items!.count) items of \(rec.id) failed, each rolled back: "
                + failed.map { "\($0.key) (\($0.error ?? ""))" }.joined(separator: "; "))
        }
        return parts.isEmpty ? nil : parts.joined(separator: "\n")
    }

    /// The step id shown in events (a body step's own id; the item is in `item`/`itemKey`).
    func eventStep(_ step: Step, _ slot: StepSlot) -> String { step.id }

    /// An event with the group and item of `slot`, when it has one.
    func itemEvent(_ event: ReportEvent, _ slot: StepSlot) -> ReportEvent {
        guard let k = slot.item else { return event }
        var e = event
        e.group = runbook.steps[slot.top].id
        e.item = k
        e.itemKey = state.steps[slot.top].items?[k].key
        return e
    }
}

/// Counts finished items of a group and their rate, for progress in events.
final class GroupClock: @unchecked Sendable {
    private let lock = NSLock()
    private let start = Date()
    private let total: Int
    private var done: Int
    private let doneBefore: Int
    private var failed = 0

    init(total: Int, done: Int) {
        self.total = total
        self.done = done
        doneBefore = done
    }

    func finish(failed f: Bool) -> ReportEvent.Progress {
        lock.withLock {
            done += 1
            if f { failed += 1 }
            let elapsed = max(Date().timeIntervalSince(start), 0.001)
            return ReportEvent.Progress(done: done, failed: failed, total: total, rate: Double(done - doneBefore) / elapsed)
        }
    }
}

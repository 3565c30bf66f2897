import Foundation

/// The records of the checkpoint journal (`CheckpointJournal`): what one checkpoint changed,
/// and how a reader folds them back into a `RunState`.
///
/// A record is one JSON object: `seq`; `run` (status, updated_at, message, rollback); and, when
/// a step record changed, `step` (its main index) with `record` (the step without a group's
/// items), or `step` + `item` with `item_header` and, for one of the item's steps, `sub` +
/// `record`; or `step` + `items` (a group's whole item list, written once when it starts).
extension RunState {
    /// The journal record of a checkpoint (masked like `state.json`).
    func journalRecord(slot: StepSlot?, allItems: Bool, masker: Masker) -> Object {
        var run: Object = ["status": .string(status.rawValue), "updated_at": .string(Timestamp.format(updatedAt))]
        if let message { run["message"] = .string(masker.mask(message)) }
        if let rollback {
            var r: Object = ["reason": .string(masker.mask(rollback.reason)), "cause": .string(rollback.cause.rawValue),
                             "started_at": .string(Timestamp.format(rollback.startedAt)), "by": .string(rollback.by)]
            if let f = rollback.finishedAt { r["finished_at"] = .string(Timestamp.format(f)) }
            run["rollback"] = .object(r)
        }
        if let process { run["process"] = process.toValue() }
        var o: Object = ["run": .object(run)]
        guard let slot else { return o }
        o["step"] = .int(slot.top)
        if allItems {
            let group = steps[slot.top].maskedForDisk(by: masker)
            o["record"] = group.headerValue()
            o["items"] = .array((group.items ?? []).map { $0.toValue() })
            return o
        }
        guard let item = slot.item else {
            // the header alone: masking a group's thousand items only to drop them would copy them all
            var header = steps[slot.top]
            header.items = nil
            o["record"] = header.maskedForDisk(by: masker).headerValue()
            return o
        }
        var header = steps[slot.top].items![item]
        header.error = header.error.map(masker.mask)
        o["item"] = .int(item)
        o["item_header"] = header.headerValue()
        if let sub = slot.sub {
            o["sub"] = .int(sub)
            o["record"] = self[slot].maskedForDisk(by: masker).toValue()
        }
        return o
    }

    /// Folds one journal record in (a record at or below `journalSeq` is already in).
    mutating func apply(journal v: Value, file: String) throws {
        func fail(_ m: String) -> StateError { .corrupt(file: file, reason: m) }
        guard let seq = v["seq"]?.intValue else { throw fail("a journal record has no seq") }
        guard seq > journalSeq else { return }
        if let run = v["run"] {
            if let st = run["status"]?.stringValue {
                guard let s = Status(rawValue: st) else { throw fail("unknown status \(st)") }
                status = s
            }
            if let u = run["updated_at"]?.stringValue.flatMap(Timestamp.parse) { updatedAt = u }
            message = run["message"]?.stringValue
            if let p = RunProcess(value: run["process"]) { process = p }
            if let r = run["rollback"], !r.isNull, let reason = r["reason"]?.stringValue,
               let started = r["started_at"]?.stringValue.flatMap(Timestamp.parse)
            {
                var p = RollbackProgress(reason: reason, cause: RollbackProgress.Cause(stored: r["cause"], reason: reason),
                                         startedAt: started, by: r["by"]?.stringValue ?? "")
                p.finishedAt = r["finished_at"]?.stringValue.flatMap(Timestamp.parse)
                rollback = p
            } else {
                rollback = nil
            }
        }
        if let top = v["step"]?.intValue {
            guard steps.indices.contains(top) else { throw fail("a journal record names step \(top) of \(steps.count)") }
            if let list = v["items"]?.arrayValue {
                steps[top].items = try list.map { try ItemRecord(value: $0, file: file) }
            }
            if let item = v["item"]?.intValue {
                guard let items = steps[top].items, items.indices.contains(item) else {
                    throw fail("a journal record names item \(item) that step \(top) does not have")
                }
                if let h = v["item_header"] { steps[top].items![item].applyHeader(h) }
                if let sub = v["sub"]?.intValue, let r = v["record"] {
                    guard items[item].steps.indices.contains(sub) else { throw fail("a journal record names a missing item step") }
                    steps[top].items![item].steps[sub] = try StepRecord(value: r, file: file)
                }
            } else if let r = v["record"] {
                let items = steps[top].items
                steps[top] = try StepRecord(value: r, file: file)
                if v["items"] == nil { steps[top].items = items } else { steps[top].items = try (v["items"]?.arrayValue ?? []).map { try ItemRecord(value: $0, file: file) } }
            }
        }
        journalSeq = seq
    }
}

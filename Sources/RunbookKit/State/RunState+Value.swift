import Foundation

/// The JSON form of `RunState` (keys in a fixed, readable order).
extension RunState {
    /// A copy with every text meant for people, and every stored output, masked.
    func maskedForDisk(by masker: Masker) -> RunState {
        var s = self
        s.message = message.map(masker.mask)
        s.rollback?.reason = masker.mask(rollback?.reason ?? "")
        s.forgotten?.reason = masker.mask(forgotten?.reason ?? "")
        for i in s.steps.indices {
            s.steps[i] = s.steps[i].maskedForDisk(by: masker)
        }
        return s
    }

    public func toValue() -> Value {
        var o = Object()
        o["version"] = .int(version)
        o["run_id"] = .string(runID)
        o["runbook"] = ["name": .string(runbookName), "path": .string(runbookPath), "sha256": .string(sha256)]
        o["vars"] = .object(Object(vars.keys.sorted().map { .init(key: $0, value: vars[$0]!) }))
        o["secret_vars"] = .array(secretVars.map { .string($0) })
        if let secretDigests { o["secret_var_digests"] = secretDigests.toValue() }
        var opts = Object()
        if let kubeconfig { opts["kubeconfig"] = .string(kubeconfig) }
        if let context { opts["context"] = .string(context) }
        if noRollback { opts["no_rollback"] = .bool(true) }
        o["options"] = .object(opts)
        o["status"] = .string(status.rawValue)
        o["started_at"] = .string(Timestamp.format(startedAt))
        o["updated_at"] = .string(Timestamp.format(updatedAt))
        o["who"] = .string(who)
        if let message { o["message"] = .string(message) }
        o["steps"] = .array(steps.map { $0.toValue() })
        if journalSeq > 0 { o["journal_seq"] = .int(journalSeq) }
        if let rollback {
            var r: Object = ["reason": .string(rollback.reason), "cause": .string(rollback.cause.rawValue),
                             "started_at": .string(Timestamp.format(rollback.startedAt)), "by": .string(rollback.by)]
            if let f = rollback.finishedAt { r["finished_at"] = .string(Timestamp.format(f)) }
            o["rollback"] = .object(r)
        }
        if let process { o["process"] = process.toValue() }
        if let forgotten {
            o["forgotten"] = ["reason": .string(forgotten.reason), "by": .string(forgotten.by),
                              "at": .string(Timestamp.format(forgotten.at)), "previous_status": .string(forgotten.previousStatus)]
        }
        return .object(o)
    }

    /// Reads a `state.json` document; throws `StateError.corrupt` with the reason.
    public init(value v: Value, file: String) throws {
        try self.init(value: v, file: file, items: nil)
    }

    /// `items`: the groups' items read already (`StateStore.load`); the document's item lists
    /// then hold their positions in it.
    init(value v: Value, file: String, items preparsed: [ItemRecord]?) throws {
        func fail(_ m: String) -> StateError { .corrupt(file: file, reason: m) }
        guard let version = v["version"]?.intValue else { throw fail("no version") }
        guard version <= RunState.currentVersion else {
            throw StateError.newerVersion(file: file, version: version, supported: RunState.currentVersion)
        }
        func str(_ x: Value?, _ what: String) throws -> String {
            guard let s = x?.stringValue else { throw fail("missing \(what)") }
            return s
        }
        func date(_ x: Value?, _ what: String) throws -> Date {
            guard let d = Timestamp.parse(try str(x, what)) else { throw fail("bad \(what)") }
            return d
        }
        guard let status = Status(rawValue: try str(v["status"], "status")) else { throw fail("unknown status") }
        var vars: [String: Value] = [:]
        for m in v["vars"]?.objectValue ?? Object() { vars[m.key] = m.value }
        self.init(runID: try str(v["run_id"], "run_id"), runbookName: try str(v["runbook"]?["name"], "runbook.name"),
                  runbookPath: try str(v["runbook"]?["path"], "runbook.path"),
                  sha256: try str(v["runbook"]?["sha256"], "runbook.sha256"), vars: vars,
                  secretVars: (v["secret_vars"]?.arrayValue ?? []).compactMap(\.stringValue),
                  kubeconfig: v["options"]?["kubeconfig"]?.stringValue, context: v["options"]?["context"]?.stringValue,
                  status: status, startedAt: try date(v["started_at"], "started_at"), who: try str(v["who"], "who"),
                  steps: try (v["steps"]?.arrayValue ?? []).map { try StepRecord(value: $0, file: file, items: preparsed) })
        self.version = version
        updatedAt = try date(v["updated_at"], "updated_at")
        message = v["message"]?.stringValue
        noRollback = v["options"]?["no_rollback"]?.boolValue ?? false
        journalSeq = v["journal_seq"]?.intValue ?? 0
        if let r = v["rollback"], !r.isNull {
            let reason = try str(r["reason"], "rollback.reason")
            var p = RollbackProgress(reason: reason, cause: RollbackProgress.Cause(stored: r["cause"], reason: reason), startedAt: try date(r["started_at"], "rollback.started_at"),
                                     by: r["by"]?.stringValue ?? "")
            p.finishedAt = r["finished_at"]?.stringValue.flatMap(Timestamp.parse)
            rollback = p
        }
        process = RunProcess(value: v["process"])
        secretDigests = SecretVarDigests(value: v["secret_var_digests"])
        if let f = v["forgotten"], !f.isNull {
            forgotten = Forgotten(reason: f["reason"]?.stringValue ?? "", by: f["by"]?.stringValue ?? "",
                                  at: f["at"]?.stringValue.flatMap(Timestamp.parse) ?? updatedAt,
                                  previousStatus: f["previous_status"]?.stringValue ?? "")
        }
    }
}

extension StepRecord {
    /// A copy with its texts for people and its outputs masked (items included).
    /// `appendMaskedTexts` gives the same texts.
    func maskedForDisk(by masker: Masker) -> StepRecord {
        var r = self
        r.summary = summary.map(masker.mask)
        r.error = error.map(masker.mask)
        r.outputs = outputs.mapValues(masker.mask)
        r.items = items?.map { $0.maskedForDisk(by: masker) }
        return r
    }

    /// Appends the texts `maskedForDisk` masks (summary, error, the outputs' strings, items'
    /// errors and steps), each followed by a NUL byte: a masker that learnt a secret found in
    /// none of them would mask the record as before. Beside `maskedForDisk`: the two must cover
    /// the same texts.
    func appendMaskedTexts(to out: inout [UInt8]) {
        func add(_ s: String) {
            out.append(contentsOf: s.utf8)
            out.append(0)
        }
        func add(_ v: Value) {
            switch v {
            case .string(let s): add(s)
            case .array(let a): a.forEach(add)
            case .object(let o): o.members.forEach { add($0.value) }
            default: break
            }
        }
        summary.map(add)
        error.map(add)
        outputs.values.forEach(add)
        for item in items ?? [] {
            item.error.map(add)
            item.steps.forEach { $0.appendMaskedTexts(to: &out) }
        }
    }

    /// The record without a group's items (what the journal writes when only the group changed).
    public func headerValue() -> Value {
        var r = self
        r.items = nil
        return r.toValue()
    }

    public func toValue() -> Value {
        var o = Object()
        o["id"] = .string(id)
        o["action"] = .string(action)
        o["status"] = .string(status.rawValue)
        o["attempts"] = .int(attempts)
        o["outputs"] = .object(Object(outputs.keys.sorted().map { .init(key: $0, value: outputs[$0]!) }))
        if outputsMasked { o["outputs_masked"] = .bool(true) }
        if completed { o["completed"] = .bool(true) }
        if let journal { o["journal"] = journal }
        if let rollbackRecord { o["rollback_record"] = rollbackRecord }
        if !rollbackStepsDone.isEmpty { o["rollback_steps_done"] = .array(rollbackStepsDone.map { .string($0) }) }
        if let summary { o["summary"] = .string(summary) }
        if let error { o["error"] = .string(error) }
        if let startedAt { o["started_at"] = .string(Timestamp.format(startedAt)) }
        if let finishedAt { o["finished_at"] = .string(Timestamp.format(finishedAt)) }
        if let duration { o["duration_ms"] = .int(Int((duration * 1000).rounded())) }
        if canaryPassed { o["canary_passed"] = .bool(true) }
        if let items { o["items"] = .array(items.map { $0.toValue() }) }
        return .object(o)
    }

    init(value v: Value, file: String, items preparsed: [ItemRecord]? = nil) throws {
        guard let id = v["id"]?.stringValue, let action = v["action"]?.stringValue,
              let st = v["status"]?.stringValue, let status = Status(rawValue: st)
        else { throw StateError.corrupt(file: file, reason: "a step record lacks id, action or a known status") }
        self.init(id: id, action: action)
        self.status = status
        attempts = v["attempts"]?.intValue ?? 0
        for m in v["outputs"]?.objectValue ?? Object() { outputs[m.key] = m.value }
        outputsMasked = v["outputs_masked"]?.boolValue ?? false
        completed = v["completed"]?.boolValue ?? false
        journal = v["journal"]
        rollbackRecord = v["rollback_record"]
        rollbackStepsDone = (v["rollback_steps_done"]?.arrayValue ?? []).compactMap(\.stringValue)
        summary = v["summary"]?.stringValue
        error = v["error"]?.stringValue
        startedAt = v["started_at"]?.stringValue.flatMap(Timestamp.parse)
        finishedAt = v["finished_at"]?.stringValue.flatMap(Timestamp.parse)
        canaryPassed = v["canary_passed"]?.boolValue ?? false
        if let list = v["items"]?.arrayValue {
            items = try list.map { e in
                guard let preparsed else { return try ItemRecord(value: e, file: file) }
                guard let n = e.intValue, preparsed.indices.contains(n) else { throw StateError.corrupt(file: file, reason: "an item record is not an object") }
                return preparsed[n]
            }
        }
    }
}

/// RFC 3339 UTC timestamps with milliseconds, as stored in state and events.
public enum Timestamp {
    public static func format(_ d: Date) -> String {
        let ms = Int((d.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        // Every checkpoint formats every step's times: no String(format:) here, it is slow.
        return "\(pad(Int(tm.tm_year) + 1900, 4))-\(pad(Int(tm.tm_mon) + 1, 2))-\(pad(Int(tm.tm_mday), 2))T"
            + "\(pad(Int(tm.tm_hour), 2)):\(pad(Int(tm.tm_min), 2)):\(pad(Int(tm.tm_sec), 2)).\(pad(ms % 1000, 3))Z"
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    public static func parse(_ s: String) -> Date? {
        let parts = s.split(whereSeparator: { "-T:.Z".contains($0) }).compactMap { Int($0) }
        guard parts.count == 7 else { return nil }
        var tm = tm()
        tm.tm_year = Int32(parts[0] - 1900)
        tm.tm_mon = Int32(parts[1] - 1)
        tm.tm_mday = Int32(parts[2])
        tm.tm_hour = Int32(parts[3])
        tm.tm_min = Int32(parts[4])
        tm.tm_sec = Int32(parts[5])
        let secs = timegm(&tm)
        return Date(timeIntervalSince1970: TimeInterval(secs) + TimeInterval(parts[6]) / 1000)
    }

    /// `yyyymmddThhmmss` in UTC, for run ids.
    public static func compact(_ d: Date) -> String {
        var t = time_t(d.timeIntervalSince1970)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d%02d%02dT%02d%02d%02d", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                      Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
    }
}

extension ItemRecord {
    /// A copy with its error and its steps masked, as `state.json` and the run records hold it.
    func maskedForDisk(by masker: Masker) -> ItemRecord {
        var m = self
        m.error = error.map(masker.mask)
        m.steps = steps.map { $0.maskedForDisk(by: masker) }
        return m
    }
}

import Foundation

/// `file.write`: writes a non-secret artifact (such as a sealed manifest for a GitOps
/// repository) atomically. `content` is a string, or an object/list written as YAML. It refuses
/// content holding a secret value, plain or base64 (`Masker.containsSecret`).
///
/// The file's previous content (or its absence) is the rollback record, kept in the run's
/// state: it is checked by the same rule first, so the state never holds a secret. Rollback puts
/// it back (or removes a file the step created), refusing over someone else's later change.
public struct FileWriteAction: Action {
    public static let spec = ActionSpec(name: "file.write", required: ["path", "content"], optional: ["mode"],
                                        mutating: true, dryRun: .preview)
    /// Previous content larger than this is not kept (the state file is no archive).
    static let maxPriorBytes = 1 << 20

    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if let node = with["mode"], case .scalar(let s, _, _, let mark) = node, !s.contains("${{"), FileMode.parse(.string(s)) == nil {
            diagnostics.append(Diagnostic(file: file, mark: mark, message: "file.write: mode must be octal permission bits such as \"0644\""))
        }
    }

    struct Record {
        var path: String
        var existed: Bool
        var priorContent: String?
        var priorMode: Int?
        /// sha256 of what the step writes: a later change by someone else is drift.
        var written: String

        var value: Value {
            ["path": .string(path), "existed": .bool(existed), "priorContent": priorContent.map(Value.string) ?? .null,
             "priorMode": priorMode.map(Value.int) ?? .null, "written": .string(written)]
        }

        init(path: String, existed: Bool, priorContent: String?, priorMode: Int?, written: String) {
            self.path = path
            self.existed = existed
            self.priorContent = priorContent
            self.priorMode = priorMode
            self.written = written
        }

        init?(_ v: Value?) {
            guard let v, let path = v["path"]?.stringValue, let existed = v["existed"]?.boolValue,
                  let written = v["written"]?.stringValue else { return nil }
            self.init(path: path, existed: existed, priorContent: v["priorContent"]?.stringValue,
                      priorMode: v["priorMode"]?.intValue, written: written)
        }
    }

    struct Target {
        let url: URL
        let content: Data
        let mode: Int?
        var sha256: String { SHA256.hex(content) }
    }

    func target(_ context: ActionContext) throws -> Target {
        let url = try context.path("path").standardizedFileURL
        guard let raw = context.with["content"] else { throw ActionError.invalidInput("\(context.stepID): with.content is required") }
        let text: String
        switch raw {
        case .object, .array: text = raw.yamlString()
        default: text = raw.interpolated
        }
        if context.masker.containsSecret(text) {
            throw ActionError.failed("\(context.stepID): refusing to write \(url.path): the content holds a secret value (plain or base64); write only non-secret artifacts such as a sealed manifest")
        }
        var mode: Int? = nil
        if let m = context.with["mode"], !m.isNull {
            guard let parsed = FileMode.parse(m) else {
                throw ActionError.invalidInput("\(context.stepID): with.mode must be octal permission bits such as \"0644\"")
            }
            mode = parsed
        }
        var isDir: ObjCBool = false
        let dir = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw ActionError.failed("\(context.stepID): directory \(dir) does not exist (file.write creates no directories)")
        }
        return Target(url: url, content: Data(text.utf8), mode: mode)
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let t = try target(context)
        let now = try AtomicFile.read(t.url)
        let mode = t.mode ?? now?.mode ?? FileMode.default
        var outputs: [String: Value] = ["path": .string(t.url.path), "sha256": .string(t.sha256)]
        guard let now else {
            outputs["changed"] = true
            return Preview(summary: "create \(t.url.path) (\(t.content.count) bytes, mode \(FileMode.show(mode)))",
                           diff: LineDiff.render(old: "", new: String(decoding: t.content, as: UTF8.self)), outputs: outputs)
        }
        if now.content == t.content, now.mode == mode {
            outputs["changed"] = false
            return Preview(summary: "unchanged: \(t.url.path)", outputs: outputs)
        }
        outputs["changed"] = true
        var diff = context.masker.mask(LineDiff.render(old: String(decoding: now.content, as: UTF8.self),
                                                       new: String(decoding: t.content, as: UTF8.self)))
        if now.mode != mode { diff += (diff.isEmpty ? "" : "\n") + "mode \(FileMode.show(now.mode)) → \(FileMode.show(mode))" }
        return Preview(summary: "update \(t.url.path)", diff: diff, outputs: outputs)
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let t = try target(context)
        let now = try AtomicFile.read(t.url)
        let mode = t.mode ?? now?.mode ?? FileMode.default
        let earlier = Record(context.journal)
        let outputs: [String: Value] = ["path": .string(t.url.path), "sha256": .string(t.sha256), "changed": true]
        if let now, now.content == t.content, now.mode == mode {
            // Resume: an interrupted attempt already wrote it; keep the original prior content.
            if let earlier { return ActionResult(outputs: outputs, rollback: earlier.value, summary: "wrote \(t.url.path)") }
            var same = outputs
            same["changed"] = false
            return ActionResult(outputs: same, summary: "unchanged: \(t.url.path)")
        }
        var record: Record
        if let earlier {
            record = earlier
            record.written = t.sha256
        } else {
            record = try Self.record(for: t, now: now, stepID: context.stepID, masker: context.masker)
        }
        try await context.recordJournal(record.value)  // write-ahead: before the file changes
        try AtomicFile.write(t.content, mode: mode, to: t.url)
        return ActionResult(outputs: outputs, rollback: record.value,
                            summary: "\(record.existed ? "updated" : "created") \(t.url.path) (\(t.content.count) bytes)")
    }

    static func record(for t: Target, now: AtomicFile.Snapshot?, stepID: String, masker: Masker) throws -> Record {
        guard let now else { return Record(path: t.url.path, existed: false, priorContent: nil, priorMode: nil, written: t.sha256) }
        guard now.content.count <= maxPriorBytes, let text = String(data: now.content, encoding: .utf8) else {
            throw ActionError.failed("\(stepID): \(t.url.path) is not a text file of at most 1 MiB; its content cannot be kept for rollback, so it is not replaced")
        }
        if masker.containsSecret(text) {
            throw ActionError.failed("\(stepID): \(t.url.path) holds a secret value now; keeping it for rollback would put it in the run's state, so it is not replaced (move it away first)")
        }
        return Record(path: t.url.path, existed: true, priorContent: text, priorMode: now.mode, written: t.sha256)
    }

    public func rollback(_ context: ActionContext, record raw: Value) async throws {
        guard let record = Record(raw) else { return }
        let url = URL(fileURLWithPath: record.path)
        let now = try AtomicFile.read(url)
        let ours = now.map { SHA256.hex($0.content) == record.written } ?? false
        if record.existed, let prior = record.priorContent {
            let priorData = Data(prior.utf8)
            if let now, now.content == priorData { return context.log("\(record.path) already holds its previous content") }
            if !ours, !context.force {
                throw ActionError.drift("\(record.path) changed after this step wrote it")
            }
            try AtomicFile.write(priorData, mode: record.priorMode ?? FileMode.default, to: url)
            context.log("restored the previous content of \(record.path)")
        } else {
            guard now != nil else { return context.log("\(record.path) is already gone") }
            if !ours, !context.force { throw ActionError.drift("\(record.path) changed after this step created it") }
            try AtomicFile.remove(url)
            context.log("removed \(record.path), which this step created")
        }
    }
}

/// Permission bits in runbooks: `"0644"`, `"644"`, `"0o644"`, or a YAML number whose digits are
/// octal (`644`, which YAML 1.2 reads as the decimal 644).
enum FileMode {
    static let `default` = 0o644

    static func parse(_ v: Value) -> Int? {
        var s: String
        if let i = v.intValue { s = String(i) } else if let t = v.stringValue { s = t } else { return nil }
        if s.hasPrefix("0o") { s.removeFirst(2) }
        guard !s.isEmpty, s.count <= 4, s.allSatisfy({ ("0"..."7").contains($0) }), let m = Int(s, radix: 8), m <= 0o7777 else { return nil }
        return m
    }

    static func show(_ m: Int) -> String { "0" + String(m, radix: 8) }
}

import Foundation

/// `secret.put`: makes plain reads of a remote secret return `value`, adding a version only
/// when the value differs. Rollback makes reads return what they returned before (or removes
/// a secret the step created) using only version ids — the old value never touches local disk.
/// With `if_absent: true` it leaves a secret that already reads a value as it is
/// (with `secret.generate`, the way to mint a token once across resumes and repeated runs).
public struct SecretPutAction: Action {
    public static let spec = ActionSpec(name: "secret.put", required: ["store", "name", "value"], optional: ["if_absent"],
                                        mutating: true, dryRun: .preview)

    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        SecretStoreRef.validate(with, action: "secret.put", file: file, into: &diagnostics)
    }

    /// What a step is about to change, recorded before the change (and returned for rollback).
    struct Record {
        var created: Bool
        /// The version plain reads returned before the step (nil: none or the secret was new).
        var previousVersion: String?
        /// False when the secret existed but plain reads failed before (latest disabled, no version).
        var previousReadable: Bool
        var addedVersion: String?

        var value: Value {
            var o: Value = ["created": .bool(created), "previousVersion": previousVersion.map(Value.string) ?? .null,
                            "previousReadable": .bool(previousReadable)]
            if let addedVersion { o["addedVersion"] = .string(addedVersion) }
            return o
        }

        init(created: Bool, previousVersion: String?, previousReadable: Bool, addedVersion: String? = nil) {
            self.created = created
            self.previousVersion = previousVersion
            self.previousReadable = previousReadable
            self.addedVersion = addedVersion
        }

        init?(_ v: Value?) {
            guard let v, let created = v["created"]?.boolValue else { return nil }
            self.init(created: created, previousVersion: v["previousVersion"]?.stringValue,
                      previousReadable: v["previousReadable"]?.boolValue ?? true,
                      addedVersion: v["addedVersion"]?.stringValue)
        }
    }

    struct Target {
        let ref: SecretStoreRef
        let name: String
        let store: any SecretStore
    }

    func target(_ context: ActionContext) throws -> Target {
        let ref = try SecretStoreRef(context.with["store"])
        let name = try context.string("name")
        if let problem = SecretName.problem(name, provider: ref.provider) {
            throw ActionError.invalidInput("\(context.stepID): \(problem)")
        }
        return Target(ref: ref, name: name, store: try context.secretStores.store(ref))
    }

    func currentState(_ t: Target, _ context: ActionContext) async throws -> SecretCurrent {
        let now = try await t.store.current(t.name)
        if case .present(let v) = now { context.masker.add(v.value) }
        return now
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let t = try target(context)
        let value = try Self.text(of: context)
        context.masker.add(value)
        let now = try await currentState(t, context)
        if try context.bool("if_absent", default: false), case .present = now {
            return Preview(summary: "unchanged: \(t.store.label(t.name)) exists (if_absent)",
                           outputs: ["version": now.version.map(Value.string) ?? .null, "created": false, "changed": false])
        }
        switch now {
        case .absent:
            return Preview(summary: "create \(t.store.label(t.name))", outputs: ["created": true, "changed": true])
        case .unreadable(let latest):
            return Preview(summary: "add version to \(t.store.label(t.name)) (latest version \(latest ?? "none") is not readable)",
                           outputs: ["created": false, "changed": true])
        case .present(let v) where v.value == value:
            return Preview(summary: "unchanged: \(t.store.label(t.name)) version \(v.version) already holds this value",
                           outputs: ["version": .string(v.version), "created": false, "changed": false])
        case .present(let v):
            return Preview(summary: "add version to \(t.store.label(t.name)) (current version \(v.version))",
                           outputs: ["created": false, "changed": true])
        }
    }

    /// `value` as text: a string as it is; a mapping or list as JSON with sorted keys (stable, so a
    /// second run finds the same text unchanged) — e.g. every key of several Secrets in one remote
    /// secret, which External Secrets reads back with `remoteRef.property` or `dataFrom.extract`.
    static func text(of context: ActionContext) throws -> String {
        switch context.with["value"] {
        case .object?, .array?: return Self.sortedKeys(context.with["value"]!).jsonString()
        default: return try context.string("value")
        }
    }

    private static func sortedKeys(_ v: Value) -> Value {
        switch v {
        case .object(let o): return .object(Object(o.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: sortedKeys($0.value)) }))
        case .array(let a): return .array(a.map(sortedKeys))
        default: return v
        }
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let t = try target(context)
        let value = try Self.text(of: context)
        context.masker.add(value)
        let token = RequestToken.make(runID: context.runID, stepID: context.stepID, name: t.name, value: value)
        let now = try await currentState(t, context)
        let earlier = Record(context.journal)
        // if_absent: a readable value stays; a secret without one (e.g. created by an attempt that
        // died before its first version) gets this value like any other put.
        if try context.bool("if_absent", default: false), case .present = now {
            if var record = earlier, record.created {
                // Resume: the interrupted attempt created it; it stays this step's to roll back.
                record.addedVersion = now.version
                return result(t, version: now.version ?? "", record: record)
            }
            return ActionResult(outputs: ["version": now.version.map(Value.string) ?? .null, "created": false, "changed": false],
                                summary: "unchanged: \(t.store.label(t.name)) exists (if_absent)")
        }
        if case .present(let v) = now, v.value == value {
            // Resume: an interrupted attempt already wrote this version.
            if let earlier, earlier.created || earlier.previousVersion != v.version {
                var record = earlier
                record.addedVersion = v.version
                return result(t, version: v.version, record: record)
            }
            return ActionResult(outputs: ["version": .string(v.version), "created": false, "changed": false],
                                summary: "unchanged (\(t.store.label(t.name)) version \(v.version))")
        }
        var record: Record
        if let earlier {
            record = earlier  // keep the original prior state across a resume
        } else {
            switch now {
            case .absent: record = Record(created: true, previousVersion: nil, previousReadable: false)
            case .unreadable(let latest): record = Record(created: false, previousVersion: latest, previousReadable: false)
            case .present(let v): record = Record(created: false, previousVersion: v.version, previousReadable: true)
            }
            try await context.recordJournal(record.value)  // write-ahead: before the store changes
        }
        let version: String
        if case .absent = now {
            version = try await t.store.create(t.name, value: value, requestToken: token)
        } else {
            version = try await t.store.addVersion(t.name, value: value, requestToken: token)
        }
        record.addedVersion = version
        return result(t, version: version, record: record)
    }

    private func result(_ t: Target, version: String, record: Record) -> ActionResult {
        ActionResult(outputs: ["version": .string(version), "created": .bool(record.created), "changed": true],
                     rollback: record.value,
                     summary: record.created ? "created \(t.store.label(t.name)) (version \(version))"
                         : "added version \(version) to \(t.store.label(t.name))")
    }

    public func rollback(_ context: ActionContext, record raw: Value) async throws {
        guard let record = Record(raw) else { return }
        let t = try target(context)
        let now = try await currentState(t, context)
        // The version this step made; after an interrupted execute only the journal exists.
        let added = record.addedVersion ?? (now.version != record.previousVersion ? now.version : nil)
        if record.created {
            if now == .absent { return }
            if let added, try await !holdsOwnValue(t, now, added: added, context), !context.force {
                throw ActionError.drift("\(t.store.label(t.name)) now reads version \(now.version ?? "none"), not version \(added) that this step created")
            }
            try await t.store.delete(t.name)
            context.log("deleted \(t.store.label(t.name))")
        } else if record.previousReadable, let previous = record.previousVersion {
            let prior = try await t.store.read(t.name, version: previous)
            context.masker.add(prior.value)
            if case .present(let v) = now, let added, v.value != prior.value,
               try await !holdsOwnValue(t, now, added: added, context), !context.force
            {
                throw ActionError.drift("\(t.store.label(t.name)) now reads version \(v.version), not version \(added) that this step added")
            }
            try await t.store.restore(t.name, previous: previous, added: added)
            context.log("\(t.store.label(t.name)) reads version \(previous)'s value again")
        } else if let added {
            if try await !holdsOwnValue(t, now, added: added, context), !context.force {
                throw ActionError.drift("\(t.store.label(t.name)) now reads version \(now.version ?? "none"), not version \(added) that this step added")
            }
            try await t.store.retire(t.name, version: added)
        }
    }

    /// True when plain reads return what this step wrote: its own version, or the same value
    /// re-added by a later step's rollback. Anything else is someone else's change (drift).
    private func holdsOwnValue(_ t: Target, _ now: SecretCurrent, added: String, _ context: ActionContext) async throws -> Bool {
        guard case .present(let v) = now else { return now.version == added }
        if v.version == added { return true }
        guard let own = try? await t.store.read(t.name, version: added) else { return false }
        context.masker.add(own.value)
        return own.value == v.value
    }
}

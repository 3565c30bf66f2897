import Foundation

/// One walk over a runbook document, collecting diagnostics and building the model.
struct ValidationPass {
    typealias Pairs = [(key: YAMLNode, value: YAMLNode)]

    let path: String
    let lookup: (String) -> (any Action.Type)?
    let known: [String]
    var diagnostics: [Diagnostic] = []
    /// Every main step id with its index, known before steps are checked so that references can
    /// tell "does not exist" from "comes later".
    private var stepIndex: [String: Int] = [:]
    private var declaredVars: Set<String> = []

    init(path: String, lookup: @escaping (String) -> (any Action.Type)?, known: [String]) {
        self.path = path
        self.lookup = lookup
        self.known = known
    }

    mutating func error(_ mark: Mark, _ message: String) {
        diagnostics.append(Diagnostic(file: path, mark: mark, message: message))
    }

    // MARK: top level

    mutating func run(_ documents: [YAMLNode], file: URL, baseName: String, sha256: String) -> Runbook? {
        guard let root = documents.first else {
            error(Mark(line: 1, column: 1), "the file is empty; a runbook starts with apiVersion: runbook/v1")
            return nil
        }
        if documents.count > 1 {
            error(documents[1].mark, "a runbook file holds one YAML document, this one has \(documents.count)")
        }
        guard let top = mapping(root, "a runbook") else { return nil }
        checkKeys(top, allowed: RunbookValidator.topKeys, context: "at the top level")
        for key in ["apiVersion", "kind", "metadata", "steps"] where root[key] == nil {
            error(root.mark, "missing required key '\(key)'")
        }
        if let v = root["apiVersion"], let s = scalar(v, "apiVersion"), s != "runbook/v1" {
            error(v.mark, "apiVersion must be runbook/v1, not '\(s)'")
        }
        if let v = root["kind"], let s = scalar(v, "kind"), s != "Runbook" {
            error(v.mark, "kind must be Runbook, not '\(s)'")
        }
        var name = baseName
        var description: String?
        if let meta = root["metadata"], let pairs = mapping(meta, "metadata") {
            checkKeys(pairs, allowed: RunbookValidator.metadataKeys, context: "in metadata")
            if let n = meta["name"] {
                if let s = scalar(n, "metadata.name") {
                    name = s
                    if s != baseName { error(n.mark, "metadata.name '\(s)' must equal the file's base name '\(baseName)'") }
                }
            } else {
                error(meta.mark, "missing required key 'name' in metadata")
            }
            if let d = meta["description"] { description = scalar(d, "metadata.description") }
        }
        var vars: [VarDecl] = []
        if let v = root["vars"] { vars = checkVars(v) }
        var onFailure = FailurePolicy.rollback
        if let v = root["on_failure"], let s = scalar(v, "on_failure") {
            if let p = FailurePolicy(rawValue: s), p != .continue { onFailure = p } else {
                error(v.mark, "on_failure must be rollback or pause, not '\(s)'")
            }
        }
        var steps: [Step] = []
        if let s = root["steps"] { steps = checkSteps(s) }
        guard diagnostics.isEmpty else { return nil }
        return Runbook(file: file, name: name, description: description, vars: vars, onFailure: onFailure, steps: steps, sha256: sha256)
    }

    // MARK: vars

    private mutating func checkVars(_ node: YAMLNode) -> [VarDecl] {
        if case .scalar(_, true, _, _) = node, node.toValue() == .null { return [] }
        guard let pairs = mapping(node, "vars") else { return [] }
        var result: [VarDecl] = []
        for (keyNode, body) in pairs {
            let name = YAMLNode.keyString(keyNode)
            if !Self.matches(name, first: { $0.isLetter || $0 == "_" }, rest: { $0.isLetter || $0.isNumber || $0 == "_" }) {
                error(keyNode.mark, "var name '\(name)' must match ^[A-Za-z_][A-Za-z0-9_]*$")
            }
            declaredVars.insert(name)
            if let decl = checkVar(name, body, mark: keyNode.mark) { result.append(decl) }
        }
        return result
    }

    private mutating func checkVar(_ name: String, _ body: YAMLNode, mark: Mark) -> VarDecl? {
        if body.toValue() == .null, case .scalar = body {
            return VarDecl(name: name, kind: .string, defaultValue: nil, required: false, secret: false, description: nil, mark: mark)
        }
        guard let pairs = mapping(body, "var '\(name)'") else { return nil }
        checkKeys(pairs, allowed: RunbookValidator.varKeys, context: "in var '\(name)'")
        var kind: VarDecl.Kind?
        if let t = body["type"], let s = scalar(t, "type of var '\(name)'") {
            kind = VarDecl.Kind(rawValue: s)
            if kind == nil { error(t.mark, "type of var '\(name)' must be string, bool or int, not '\(s)'") }
        }
        var defaultValue: Value?
        if let d = body["default"] {
            let v = d.toValue()
            switch (v, kind ?? Self.inferKind(v)) {
            case (.null, _): break
            case (.string, .string), (.bool, .bool), (.int, .int): defaultValue = v
            case (_, let k?): error(d.mark, "default of var '\(name)' must be \(k == .int ? "an int" : "a \(k.rawValue)") (type: \(k.rawValue)), not \(Self.describe(v))")
            case (_, nil): error(d.mark, "default of var '\(name)' must be a string, bool or int, not \(Self.describe(v))")
            }
            if kind == nil, defaultValue != nil { kind = Self.inferKind(v) }
        }
        let required = flag(body["required"], "required of var '\(name)'")
        let secret = flag(body["secret"], "secret of var '\(name)'")
        if required, let d = body["default"], d.toValue() != .null {
            error(d.mark, "var '\(name)' is required and has a default; keep one of them")
        }
        let description = body["description"].flatMap { scalar($0, "description of var '\(name)'") }
        return VarDecl(name: name, kind: kind ?? .string, defaultValue: defaultValue, required: required, secret: secret,
                       description: description, mark: mark)
    }

    private static func inferKind(_ v: Value) -> VarDecl.Kind? {
        switch v {
        case .string: return .string
        case .bool: return .bool
        case .int: return .int
        default: return nil
        }
    }

    static func describe(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return "the bool \(b)"
        case .int(let i): return "the int \(i)"
        case .double(let d): return "the number \(d)"
        case .string(let s): return "the string '\(s)'"
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }

    // MARK: steps

    private mutating func checkSteps(_ node: YAMLNode) -> [Step] {
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
        }
        var steps: [Step] = []
        for (i, item) in items.enumerated() {
            if let step = checkStep(item, index: i, rollbackOf: nil, allIDs: &firstMark) { steps.append(step) }
        }
        return steps
    }

    /// Checks one step. `rollbackOf` is (owner id, owner index, ids of earlier steps in the
    /// rollback list, position in that list) for the steps of an explicit `rollback:` list.
    private mutating func checkStep(_ node: YAMLNode, index: Int, rollbackOf: (owner: String, index: Int, earlier: Set<String>, n: Int)?,
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
            if let r = rollbackOf {
                if let first = allIDs[s] {
                    error(idNode.mark, "duplicate step id '\(s)' (first used at line \(first.line))")
                } else {
                    allIDs[s] = idNode.mark
                }
                _ = r
            }
        } else if let r = rollbackOf {
            id = "\(r.owner).rollback.\(r.n)"
        } else if node["id"] == nil {
            error(node.mark, "step has no id")
        }
        let label = id.isEmpty ? "step" : "step '\(id)'"
        checkKeys(pairs, allowed: inRollback ? RunbookValidator.rollbackStepKeys : RunbookValidator.stepKeys,
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
                    error(a.mark, known.isEmpty ? "unknown action '\(s)'" : "unknown action '\(s)'; known actions: \(known.sorted().joined(separator: ", "))")
                }
            }
        } else {
            error(node.mark, "\(label) has no action")
        }

        let with = node["with"]
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
            checkReferences(when, step: id, ownIndex: ownIndex, mayReadOwn: false, extra: [])
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

    private mutating func checkRetry(_ node: YAMLNode) -> RetryPolicy? {
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

    private mutating func checkReferences(_ node: YAMLNode, step: String, ownIndex: Int, mayReadOwn: Bool, extra: Set<String>) {
        let (refs, diags) = Expressions.references(in: node, file: path)
        diagnostics += diags
        for ref in refs {
            switch ref.kind {
            case .variable(let name):
                if !declaredVars.contains(name) { error(ref.mark, "undeclared var '\(name)'") }
            case .stepOutput(let target, _):
                if extra.contains(target) { continue }
                guard let i = stepIndex[target] else {
                    error(ref.mark, "step '\(target)' does not exist")
                    continue
                }
                if i == ownIndex && !mayReadOwn {
                    error(ref.mark, "step '\(step)' cannot read its own outputs")
                } else if i > ownIndex {
                    error(ref.mark, "step '\(target)' does not come before step '\(step)'")
                }
            case .env, .runID:
                break
            }
        }
    }

    // MARK: helpers

    private mutating func mapping(_ node: YAMLNode, _ what: String) -> Pairs? {
        guard case .mapping(let pairs, _) = node else {
            error(node.mark, "\(what) must be a mapping")
            return nil
        }
        return pairs
    }

    private mutating func scalar(_ node: YAMLNode, _ what: String) -> String? {
        guard case .scalar(let s, _, _, _) = node else {
            error(node.mark, "\(what) must be a single value, not a \(node.isSequence ? "list" : "mapping")")
            return nil
        }
        return s
    }

    private mutating func flag(_ node: YAMLNode?, _ what: String) -> Bool {
        guard let node else { return false }
        if case .bool(let b) = node.toValue() { return b }
        error(node.mark, "\(what) must be true or false")
        return false
    }

    private mutating func duration(_ node: YAMLNode, _ what: String) -> TimeInterval? {
        let text: String
        switch node.toValue() {
        case .int(let i): text = String(i)
        case .double(let d): text = String(d)
        case .string(let s): text = s
        default: text = ""
        }
        guard let d = Duration.parse(text), d > 0, d.isFinite else {
            error(node.mark, "\(what) must be a duration like 30s, 2m or 1h, not '\(node.scalarText ?? "a \(node.isSequence ? "list" : "mapping")")'")
            return nil
        }
        return d
    }

    private mutating func checkKeys(_ pairs: Pairs, allowed: [String], context: String, sortAllowed: Bool = false) {
        var seen: Set<String> = []
        for (key, _) in pairs {
            let k = YAMLNode.keyString(key)
            if !seen.insert(k).inserted {
                error(key.mark, "duplicate key '\(k)' \(context)")
            } else if !allowed.contains(k) {
                let list = sortAllowed ? allowed.sorted() : allowed
                error(key.mark, "unknown key '\(k)' \(context); allowed: \(list.joined(separator: ", "))")
            }
        }
    }

    static func matches(_ s: String, first: (Character) -> Bool, rest: (Character) -> Bool) -> Bool {
        guard let f = s.first, f.isASCII, first(f) else { return false }
        return s.dropFirst().allSatisfy { $0.isASCII && rest($0) }
    }
}

extension YAMLNode {
    var isSequence: Bool { if case .sequence = self { return true } else { return false } }
}

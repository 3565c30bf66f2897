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
    var stepIndex: [String: Int] = [:]
    var declaredVars: Set<String> = []
    /// Steps of `foreach` bodies: their group's index and their place in the body.
    var groupOf: [String: (group: Int, sub: Int)] = [:]
    /// The action of each body step, by id (for what `steps.GROUP.outputs.results` can hold).
    var bodyActions: [String: String] = [:]
    /// While a body step is checked: its group (index and id) and its place in the body.
    var currentGroup: (index: Int, id: String, sub: Int)?
    /// Names bound by the enclosing `foreach` group (`as:`), readable in expressions.
    var locals: Set<String> = []

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
                    if s != baseName {
                        error(n.mark, "metadata.name '\(s)' must equal the file's base name '\(baseName)'")
                    } else if !Self.matches(s, first: { $0.isLetter || $0.isNumber }, rest: { $0.isLetter || $0.isNumber || "._-".contains($0) }) {
                        // The name becomes part of run ids and state paths.
                        error(n.mark, "metadata.name '\(s)' must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ (rename the file too)")
                    }
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

    // MARK: helpers

    mutating func mapping(_ node: YAMLNode, _ what: String) -> Pairs? {
        guard case .mapping(let pairs, _) = node else {
            error(node.mark, "\(what) must be a mapping")
            return nil
        }
        return pairs
    }

    mutating func scalar(_ node: YAMLNode, _ what: String) -> String? {
        guard case .scalar(let s, _, _, _) = node else {
            error(node.mark, "\(what) must be a single value, not a \(node.isSequence ? "list" : "mapping")")
            return nil
        }
        return s
    }

    mutating func flag(_ node: YAMLNode?, _ what: String) -> Bool {
        guard let node else { return false }
        if case .bool(let b) = node.toValue() { return b }
        error(node.mark, "\(what) must be true or false")
        return false
    }

    mutating func duration(_ node: YAMLNode, _ what: String) -> TimeInterval? {
        let text: String
        switch node.toValue() {
        case .int(let i): text = String(i)
        case .double(let d): text = String(d)
        case .string(let s): text = s
        default: text = ""
        }
        guard let d = DurationText.parse(text), d > 0, d.isFinite else {
            error(node.mark, "\(what) must be a duration like 30s, 2m or 1h, not '\(node.scalarText ?? "a \(node.isSequence ? "list" : "mapping")")'")
            return nil
        }
        return d
    }

    mutating func checkKeys(_ pairs: Pairs, allowed: [String], context: String, sortAllowed: Bool = false) {
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

import Foundation

/// The `vars:` block: names, types, defaults, flags.
extension ValidationPass {
    // MARK: vars

    mutating func checkVars(_ node: YAMLNode) -> [VarDecl] {
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

    mutating func checkVar(_ name: String, _ body: YAMLNode, mark: Mark) -> VarDecl? {
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

    static func inferKind(_ v: Value) -> VarDecl.Kind? {
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
}

/// List templates: inside a YAML list, an element that is a mapping with the key `$foreach`
/// stands for the elements it generates — for each element of the `$foreach` list (named `$as`,
/// its position `$index`), the elements of `$do`, evaluated, when `$when` is truthy:
///
/// ```yaml
/// patch:
///   - $foreach: "${{ item.refs }}"
///     $as: ref
///     $do:
///       - { op: replace, path: "${{ ref.path }}/name", value: "${{ ref.target }}" }
/// ```
///
/// Templates nest (a `$do` element may itself be a template), so a list can be built from a
/// list of lists, filtered and flattened. Nothing else runs: the parts are ordinary expressions.
struct ListTemplate {
    static let keys = ["$foreach", "$as", "$index", "$when", "$do"]
    /// At most this many elements come out of the templates of one list (hostile input).
    static let maxElements = 100_000

    let list: YAMLNode
    let name: String
    let index: String?
    let when: YAMLNode?
    let body: [YAMLNode]

    /// True for a mapping with a `$foreach` key.
    static func isTemplate(_ node: YAMLNode) -> Bool {
        guard case .mapping = node else { return false }
        return node["$foreach"] != nil
    }

    /// The template in `node`, with diagnostics for a malformed one (then nil).
    static func parse(_ node: YAMLNode, file: String) -> (ListTemplate?, [Diagnostic]) {
        guard case .mapping(let pairs, let mark) = node, let list = node["$foreach"] else { return (nil, []) }
        var diags: [Diagnostic] = []
        func fail(_ at: Mark, _ message: String) { diags.append(Diagnostic(file: file, mark: at, message: message)) }
        for p in pairs where !keys.contains(YAMLNode.keyString(p.key)) {
            fail(p.key.mark, "unknown key '\(YAMLNode.keyString(p.key))' in a list template; it takes \(keys.joined(separator: ", "))")
        }
        func name(_ key: String) -> String? {
            guard let n = node[key] else { return nil }
            guard case .scalar(let s, _, _, _) = n, s.first.map({ $0.isLetter || $0 == "_" }) == true,
                  s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
                  !["vars", "steps", "env", "run", "true", "false", "null"].contains(s)
            else {
                fail(n.mark, "\(key) must be a name matching ^[A-Za-z_][A-Za-z0-9_]*$ that expressions do not already use")
                return nil
            }
            return s
        }
        let as_ = name("$as")
        if node["$as"] == nil { fail(mark, "a list template needs $as: the name of each element inside $do") }
        let index = name("$index")
        var body: [YAMLNode] = []
        if let d = node["$do"] {
            if case .sequence(let items, _) = d { body = items } else { fail(d.mark, "$do must be a list: the elements added for each element") }
        } else {
            fail(mark, "a list template needs $do: the elements added for each element")
        }
        guard diags.isEmpty, let as_ else { return (nil, diags) }
        return (ListTemplate(list: list, name: as_, index: index, when: node["$when"], body: body), [])
    }

    /// Evaluates the elements of a YAML list, expanding templates.
    static func evaluateElements(_ items: [YAMLNode], scope: Scope, file: String) throws -> [Value] {
        var out: [Value] = []
        try append(items, scope: scope, file: file, into: &out)
        return out
    }

    private static func append(_ items: [YAMLNode], scope: Scope, file: String, into out: inout [Value]) throws {
        for item in items {
            guard isTemplate(item) else {
                out.append(try Expressions.evaluate(item, scope: scope, file: file))
                continue
            }
            let (t, diags) = parse(item, file: file)
            guard let t else { throw RunbookError.invalid(diags) }
            let list: [Value]
            switch try Expressions.evaluate(t.list, scope: scope, file: file) {
            case .array(let a): list = a
            case .null: list = []
            case let other:
                throw RunbookError.invalid([Diagnostic(file: file, mark: t.list.mark, message: "$foreach must give a list, not \(other.typeName)")])
            }
            for (k, element) in list.enumerated() {
                var s = scope
                s.locals[t.name] = element
                if let index = t.index { s.locals[index] = .int(k) }
                if let when = t.when, !(try Expressions.evaluate(when, scope: s, file: file).isTruthy) { continue }
                try append(t.body, scope: s, file: file, into: &out)
                guard out.count <= maxElements else {
                    throw RunbookError.invalid([Diagnostic(file: file, mark: item.mark,
                                                           message: "list templates give more than \(maxElements) elements")])
                }
            }
        }
    }

    /// The names a template binds inside `$when` and `$do`.
    var bound: Set<String> { Set([name] + (index.map { [$0] } ?? [])) }
}

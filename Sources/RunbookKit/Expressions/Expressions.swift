/// `${{ … }}` expressions (SPEC §2): `vars.NAME`, `steps.ID.outputs.KEY`, `env.NAME`, `run.id`,
/// the item of an enclosing `foreach` by its `as:` name, field and index access on any value
/// (`.name`, `[0]`, `['key']`), string/number/bool/null literals, `!`, `==`, `!=`, `&&`, `||` and
/// parentheses. Nothing else runs.
///
/// A scalar that is exactly one expression keeps the expression's type (`${{ vars.flag }}` is a
/// bool); a scalar with text around expressions becomes a string with each result interpolated
/// (`Value.interpolated`: null as empty, containers as JSON).
public enum Expressions {
    /// Evaluates every expression in a node tree and converts the rest with the YAML core schema.
    /// Mapping keys are not evaluated. Errors throw `RunbookError.invalid` pointing at the scalar.
    public static func evaluate(_ node: YAMLNode, scope: Scope, file: String) throws -> Value {
        switch node {
        case .scalar(let text, let plain, _, let mark):
            guard ExpressionParser.containsExpression(text) else { return node.toValue() }
            do {
                return try evaluate(text, scope: scope)
            } catch let error as ExpressionError {
                let at = position(of: error.offset, in: text, plain: plain, mark: mark)
                throw RunbookError.invalid([Diagnostic(file: file, mark: at, message: error.message)])
            }
        case .sequence(let items, _):
            return .array(try ListTemplate.evaluateElements(items, scope: scope, file: file))
        case .mapping(let pairs, let mark):
            if ListTemplate.isTemplate(node) {
                throw RunbookError.invalid([Diagnostic(file: file, mark: mark, message: Self.templateOutsideList)])
            }
            // Evaluate values in place, then let toValue() apply merge keys and key rules.
            var object = Object()
            for pair in pairs {
                let key = YAMLNode.keyString(pair.key)
                if key == "<<", case .scalar(_, true, nil, _) = pair.key {
                    if case .object(let merged) = try evaluate(pair.value, scope: scope, file: file) {
                        for m in merged where object[m.key] == nil { object[m.key] = m.value }
                    }
                    continue
                }
                object[key] = try evaluate(pair.value, scope: scope, file: file)
            }
            return .object(object)
        }
    }

    /// Evaluates a string that may contain expressions (same typing rule as for scalars).
    /// Throws `ExpressionError`. Text without `${{` comes back as a string unchanged.
    public static func evaluate(_ text: String, scope: Scope) throws -> Value {
        let parts = try ExpressionTemplateCache.shared.parts(of: text)
        if parts.count == 1, case .expression(let e, _, _) = parts[0] { return try e.evaluate(scope) }
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .expression(let e, _, _): out += try e.evaluate(scope).interpolated
            }
        }
        return .string(out)
    }

    /// The names every expression in a node tree reads, and diagnostics for syntax errors and
    /// malformed names. `locals` are the names bound by enclosing `foreach` groups; any other
    /// root is an unknown name. Mapping keys are skipped.
    public static func references(in node: YAMLNode, file: String,
                                  locals: Set<String> = []) -> ([ExpressionReference], [Diagnostic])
    {
        var refs: [ExpressionReference] = []
        var diags: [Diagnostic] = []
        collect(node, file: file, locals: locals, refs: &refs, diags: &diags)
        return (refs, diags)
    }

    private static func collect(_ node: YAMLNode, file: String, locals: Set<String>, refs: inout [ExpressionReference],
                                diags: inout [Diagnostic])
    {
        switch node {
        case .scalar(let text, let plain, _, let mark):
            guard ExpressionParser.containsExpression(text) else { return }
            // Once per scalar: asking per reference made 10,000 references in one scalar quadratic.
            let multiline = text.contains("\n")
            do {
                for case .expression(let e, _, _) in try ExpressionParser.parseTemplate(text) {
                    for (segments, offset, trail) in e.trails {
                        let at = multiline ? mark : position(of: offset, in: text, plain: plain, mark: mark)
                        do {
                            let kind = try Expression.checkShape(segments, offset: offset)
                            if case .local(let name, _) = kind, !locals.contains(name) {
                                throw Expression.unknownName(segments, offset: offset)
                            }
                            // `steps.ID.outputs.KEY.a.b` is one path: what follows KEY is trail too.
                            let rest = segments.first == "steps" ? Array(segments.dropFirst(4)) : []
                            refs.append(ExpressionReference(kind: kind, mark: at, trail: rest + trail))
                        } catch let error as ExpressionError {
                            diags.append(Diagnostic(file: file, mark: at, message: error.message))
                        } catch {}
                    }
                }
            } catch let error as ExpressionError {
                diags.append(Diagnostic(file: file, mark: position(of: error.offset, in: text, plain: plain, mark: mark),
                                        message: "invalid expression: \(error.message)"))
            } catch {}
        case .sequence(let items, _):
            for item in items {
                guard ListTemplate.isTemplate(item) else {
                    collect(item, file: file, locals: locals, refs: &refs, diags: &diags)
                    continue
                }
                let (t, problems) = ListTemplate.parse(item, file: file)
                diags += problems
                collect(item["$foreach"]!, file: file, locals: locals, refs: &refs, diags: &diags)
                let inner = locals.union(t?.bound ?? [])
                if let when = item["$when"] { collect(when, file: file, locals: inner, refs: &refs, diags: &diags) }
                if let body = item["$do"] { collect(body, file: file, locals: inner, refs: &refs, diags: &diags) }
            }
        case .mapping(let pairs, let mark):
            if ListTemplate.isTemplate(node) { diags.append(Diagnostic(file: file, mark: mark, message: templateOutsideList)) }
            for pair in pairs { collect(pair.value, file: file, locals: locals, refs: &refs, diags: &diags) }
        }
    }

    static let templateOutsideList = "a list template ($foreach) must be an element of a list: write it as '- $foreach: …'"


    /// The mark of a character inside a scalar: exact for single-line plain and quoted scalars
    /// (quoted ones start one column later), the scalar's own mark otherwise.
    static func position(of offset: Int, in text: String, plain: Bool, mark: Mark) -> Mark {
        guard !text.contains("\n") else { return mark }
        return Mark(line: mark.line, column: mark.column + offset + (plain ? 0 : 1))
    }
}

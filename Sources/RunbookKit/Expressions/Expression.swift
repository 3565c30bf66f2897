/// The syntax tree of one expression (the text between `${{` and `}}`).
indirect enum Expression: Equatable {
    case literal(Value)
    /// A dotted name such as `steps.read-db-url.outputs.value`; `offset` points at its start.
    case path([String], offset: Int)
    case not(Expression)
    case equal(Expression, Expression)
    case notEqual(Expression, Expression)
    case and(Expression, Expression)
    case or(Expression, Expression)
    /// `base[0].a.b['c']…`: accesses applied in turn (kept flat, so a long chain is no deep tree).
    case access(Expression, [Accessor])

    enum Accessor: Equatable {
        /// `[subscript]`: an array element by number or an object member by string.
        case index(Expression, offset: Int)
        /// `.a.b`: object members (or array elements by number) in turn.
        case member([String])
    }

    /// Every path in the tree with the names read after it (`*` for a number or computed index),
    /// in source order.
    var trails: [(segments: [String], offset: Int, trail: [String])] {
        switch self {
        case .literal: return []
        case .path(let s, let o): return [(s, o, [])]
        case .not(let e): return e.trails
        case .equal(let a, let b), .notEqual(let a, let b), .and(let a, let b), .or(let a, let b): return a.trails + b.trails
        case .access(let e, let accessors):
            var all = e.trails
            if case .path = e, !all.isEmpty {
                all[0].trail = accessors.flatMap { a -> [String] in
                    switch a {
                    case .member(let names): return names
                    case .index(.literal(.string(let k)), _): return [k]
                    case .index: return ["*"]
                    }
                }
            }
            for case .index(let sub, _) in accessors { all += sub.trails }
            return all
        }
    }

    /// Every path in the tree, in source order.
    var paths: [(segments: [String], offset: Int)] {
        switch self {
        case .literal: return []
        case .path(let s, let o): return [(s, o)]
        case .not(let e): return e.paths
        case .equal(let a, let b), .notEqual(let a, let b), .and(let a, let b), .or(let a, let b): return a.paths + b.paths
        case .access(let e, let accessors):
            var all = e.paths
            for case .index(let sub, _) in accessors { all += sub.paths }
            return all
        }
    }

    /// Evaluates against a scope. `&&` and `||` return one of their operands, as in GitHub
    /// Actions: `a || 'x'` gives `a` when truthy, else `'x'`.
    func evaluate(_ scope: Scope) throws -> Value {
        switch self {
        case .literal(let v): return v
        case .path(let segments, let offset): return try Expression.resolve(segments, offset: offset, scope: scope)
        case .not(let e): return .bool(!(try e.evaluate(scope).isTruthy))
        case .equal(let a, let b): return .bool(Expression.looselyEqual(try a.evaluate(scope), try b.evaluate(scope)))
        case .notEqual(let a, let b): return .bool(!Expression.looselyEqual(try a.evaluate(scope), try b.evaluate(scope)))
        case .and(let a, let b):
            let l = try a.evaluate(scope)
            return l.isTruthy ? try b.evaluate(scope) : l
        case .or(let a, let b):
            let l = try a.evaluate(scope)
            return l.isTruthy ? l : try b.evaluate(scope)
        case .access(let base, let accessors):
            var v = try base.evaluate(scope)
            for accessor in accessors {
                switch accessor {
                case .index(let sub, let offset): v = try Expression.subscripted(v, by: try sub.evaluate(scope), offset: offset)
                case .member(let names): v = v.lookup(names.joined(separator: ".")) ?? .null
                }
            }
            return v
        }
    }

    /// `v[sub]`: null when the element or member is missing (as a missing step output is).
    static func subscripted(_ v: Value, by sub: Value, offset: Int) throws -> Value {
        switch (v, sub) {
        case (.null, _): return .null
        case (.array(let a), .int(let i)): return a.indices.contains(i) ? a[i] : .null
        case (.object(let o), .string(let k)): return o[k] ?? .null
        case (.array, _): throw ExpressionError("a list is indexed by a number, not \(sub.typeName)", offset: offset)
        case (.object, _): throw ExpressionError("a mapping is indexed by a string, not \(sub.typeName)", offset: offset)
        default: throw ExpressionError("cannot index \(v.typeName) with '['", offset: offset)
        }
    }

    /// Equal when both have the same type and value (ints and floats compare as numbers), or when
    /// one is a string and the other a scalar whose interpolated text equals it (`'3' == 3`).
    static func looselyEqual(_ a: Value, _ b: Value) -> Bool {
        if let x = a.numberValue, let y = b.numberValue { return x == y }
        switch (a, b) {
        case (.string(let s), let other), (let other, .string(let s)):
            switch other {
            case .string(let t): return s == t
            case .array, .object: return false
            default: return other.interpolated == s
            }
        default: return a == b
        }
    }

    /// Validates the shape of a path (the root names and their parts) without a scope.
    static func checkShape(_ segments: [String], offset: Int) throws -> ExpressionReference.Kind {
        switch segments.first {
        case "vars":
            guard segments.count >= 2 else { throw ExpressionError("'vars' needs a name: vars.NAME", offset: offset) }
            return .variable(segments[1])
        case "steps":
            guard segments.count >= 4, segments[2] == "outputs" else {
                throw ExpressionError("a step output is written steps.ID.outputs.KEY", offset: offset)
            }
            return .stepOutput(step: segments[1], key: segments[3])
        case "env":
            guard segments.count == 2 else { throw ExpressionError("an environment variable is written env.NAME", offset: offset) }
            return .env(segments[1])
        case "run":
            guard segments == ["run", "id"] else { throw ExpressionError("'run' has only 'run.id'", offset: offset) }
            return .runID
        default:
            // Maybe a name bound by a `foreach` group (`as:`); the validator and the scope decide.
            return .local(segments[0], written: segments.joined(separator: "."))
        }
    }

    static func unknownName(_ segments: [String], offset: Int) -> ExpressionError {
        ExpressionError("unknown name '\(segments.joined(separator: "."))': expressions can read vars, steps, env and run", offset: offset)
    }

    private static func resolve(_ segments: [String], offset: Int, scope: Scope) throws -> Value {
        let kind = try checkShape(segments, offset: offset)
        let base: Value
        let rest: ArraySlice<String>
        switch kind {
        case .variable(let name):
            guard let v = scope.vars[name] else { throw ExpressionError("undeclared var '\(name)'", offset: offset) }
            base = v
            rest = segments.dropFirst(2)
        case .stepOutput(let step, let key):
            base = scope.outputs[step]?[key] ?? .null
            rest = segments.dropFirst(4)
        case .env(let name):
            return scope.env[name].map(Value.string) ?? .null
        case .runID:
            return .string(scope.runID)
        case .local(let name, _):
            guard let v = scope.locals[name] else { throw unknownName(segments, offset: offset) }
            base = v
            rest = segments.dropFirst(1)
        }
        if rest.isEmpty { return base }
        return base.lookup(rest.joined(separator: ".")) ?? .null
    }
}

extension Value {
    /// `a string`, `a list`… for messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }

    fileprivate var numberValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}

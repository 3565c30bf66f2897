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

    /// Every path in the tree, in source order.
    var paths: [(segments: [String], offset: Int)] {
        switch self {
        case .literal: return []
        case .path(let s, let o): return [(s, o)]
        case .not(let e): return e.paths
        case .equal(let a, let b), .notEqual(let a, let b), .and(let a, let b), .or(let a, let b): return a.paths + b.paths
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
            throw ExpressionError("unknown name '\(segments.joined(separator: "."))': expressions can read vars, steps, env and run", offset: offset)
        }
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
        }
        if rest.isEmpty { return base }
        return base.lookup(rest.joined(separator: ".")) ?? .null
    }
}

extension Value {
    fileprivate var numberValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}

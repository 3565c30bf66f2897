/// Splits text into literal parts and `${{ … }}` expressions, and parses expressions.
///
/// Offsets are character offsets into the whole text, so errors can point at a column.
enum ExpressionParser {
    enum Part: Equatable {
        case text(String)
        case expression(Expression, source: String, offset: Int)
    }

    /// The parts of a template. Throws on an unterminated `${{` or a bad expression.
    /// Input caps: an expression is input like any other, and a hostile one must be refused at
    /// once instead of exhausting the stack or the CPU.
    static let maxExpressionLength = 10_000
    static let maxExpressionsPerScalar = 1_000
    static let maxDepth = 100
    static let maxOperators = 200

    static func parseTemplate(_ text: String) throws -> [Part] {
        let chars = Array(text)
        var count = 0
        var parts: [Part] = []
        var literal = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "$", i + 2 < chars.count, chars[i + 1] == "{", chars[i + 2] == "{" {
                let start = i + 3
                var j = start
                var quote: Character?
                var quoteStart = 0
                var end: Int?
                while j < chars.count {
                    let c = chars[j]
                    if let q = quote {
                        if c == "\\" && q == "\"" { j += 2; continue }
                        if c == q { quote = nil }
                    } else if c == "'" || c == "\"" {
                        quote = c
                        quoteStart = j
                    } else if c == "}", j + 1 < chars.count, chars[j + 1] == "}" {
                        end = j
                        break
                    }
                    j += 1
                }
                guard let end else {
                    if quote != nil { throw ExpressionError("unterminated string", offset: quoteStart) }
                    throw ExpressionError("'${{' is not closed with '}}'", offset: i)
                }
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                count += 1
                guard count <= maxExpressionsPerScalar else {
                    throw ExpressionError("more than \(maxExpressionsPerScalar) expressions in one value", offset: i)
                }
                guard end - start <= maxExpressionLength else {
                    throw ExpressionError("expression longer than \(maxExpressionLength) characters", offset: start)
                }
                let source = String(chars[start..<end])
                parts.append(.expression(try parse(source, offset: start), source: source, offset: start))
                i = end + 2
            } else {
                literal.append(chars[i])
                i += 1
            }
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        return parts
    }

    /// True when the text holds at least one `${{`.
    static func containsExpression(_ text: String) -> Bool { text.contains("${{") }

    /// Parses one expression; `offset` is where `source` starts in the enclosing text.
    static func parse(_ source: String, offset: Int) throws -> Expression {
        var p = Parser(tokens: try ExpressionLexer.tokens(Array(source), base: offset), end: offset + source.count)
        guard !p.tokens.isEmpty else { throw ExpressionError("empty expression", offset: offset) }
        // Operator chains build trees as deep as they are long; evaluating one must not exhaust a stack.
        let binary = p.tokens.reduce(0) { n, t in
            if case .op(let o) = t.kind, ["&&", "||", "==", "!="].contains(o) { return n + 1 }
            return n
        }
        guard binary <= maxOperators else {
            throw ExpressionError("expression with more than \(maxOperators) operators; split it into steps or vars", offset: offset)
        }
        let e = try p.parseOr()
        if p.index < p.tokens.count {
            throw ExpressionError("unexpected '\(p.tokens[p.index].text)'", offset: p.tokens[p.index].offset)
        }
        return e
    }
}

/// Precedence, lowest first: `||`, `&&`, `==`/`!=`, `!`, then `[…]`/`.name` after literals, names
/// and parentheses.
private struct Parser {
    let tokens: [ExpressionToken]
    let end: Int
    var index = 0
    /// Nesting of parentheses, `!` and brackets: bounded so deep input cannot overflow the stack.
    var depth = 0

    mutating func nested<T>(_ offset: Int, _ body: (inout Parser) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= ExpressionParser.maxDepth else {
            throw ExpressionError("expression nested deeper than \(ExpressionParser.maxDepth) levels", offset: offset)
        }
        return try body(&self)
    }

    init(tokens: [ExpressionToken], end: Int) {
        self.tokens = tokens
        self.end = end
    }

    private func isOp(_ op: String) -> Bool { index < tokens.count && tokens[index].kind == .op(op) }

    mutating func parseOr() throws -> Expression {
        try nested(index < tokens.count ? tokens[index].offset : end) { p in try p.parseOrLevel() }
    }

    mutating func parseOrLevel() throws -> Expression {
        var left = try parseAnd()
        while isOp("||") { index += 1; left = .or(left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws -> Expression {
        var left = try parseEquality()
        while isOp("&&") { index += 1; left = .and(left, try parseEquality()) }
        return left
    }

    mutating func parseEquality() throws -> Expression {
        var left = try parseUnary()
        while true {
            if isOp("==") { index += 1; left = .equal(left, try parseUnary()) }
            else if isOp("!=") { index += 1; left = .notEqual(left, try parseUnary()) }
            else { return left }
        }
    }

    mutating func parseUnary() throws -> Expression {
        if isOp("!") {
            let at = tokens[index].offset
            index += 1
            return .not(try nested(at) { p in try p.parseUnary() })
        }
        return try parsePostfix()
    }

    /// A primary followed by any number of `[subscript]` and `.name` accesses.
    mutating func parsePostfix() throws -> Expression {
        let base = try parsePrimary()
        var accessors: [Expression.Accessor] = []
        while index < tokens.count {
            if isOp("[") {
                let open = tokens[index].offset
                index += 1
                let sub = try parseOr()
                guard isOp("]") else {
                    throw ExpressionError("missing ']'", offset: index < tokens.count ? tokens[index].offset : end)
                }
                index += 1
                accessors.append(.index(sub, offset: open))
            } else if isOp(".") {
                index += 1
                guard index < tokens.count, case .path(let names) = tokens[index].kind else {
                    throw ExpressionError("a name must follow '.'", offset: index < tokens.count ? tokens[index].offset : end)
                }
                index += 1
                accessors.append(.member(names))
            } else {
                break
            }
        }
        return accessors.isEmpty ? base : .access(base, accessors)
    }

    mutating func parsePrimary() throws -> Expression {
        guard index < tokens.count else { throw ExpressionError("expression ends too early", offset: end) }
        let t = tokens[index]
        index += 1
        switch t.kind {
        case .string(let s): return .literal(.string(s))
        case .number(let v): return .literal(v)
        case .path(let segments):
            if segments.count == 1 {
                switch segments[0] {
                case "true": return .literal(.bool(true))
                case "false": return .literal(.bool(false))
                case "null": return .literal(.null)
                default: break
                }
            }
            return .path(segments, offset: t.offset)
        case .op("("):
            let inner = try parseOr()
            guard isOp(")") else {
                throw ExpressionError("missing ')'", offset: index < tokens.count ? tokens[index].offset : end)
            }
            index += 1
            return inner
        case .op:
            throw ExpressionError("unexpected '\(t.text)'", offset: t.offset)
        }
    }
}

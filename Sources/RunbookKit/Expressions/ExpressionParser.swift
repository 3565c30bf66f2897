/// Splits text into literal parts and `${{ … }}` expressions, and parses expressions.
///
/// Offsets are character offsets into the whole text, so errors can point at a column.
enum ExpressionParser {
    enum Part: Equatable {
        case text(String)
        case expression(Expression, source: String, offset: Int)
    }

    /// The parts of a template. Throws on an unterminated `${{` or a bad expression.
    static func parseTemplate(_ text: String) throws -> [Part] {
        let chars = Array(text)
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
        var p = Parser(tokens: try Lexer.tokens(Array(source), base: offset), end: offset + source.count)
        guard !p.tokens.isEmpty else { throw ExpressionError("empty expression", offset: offset) }
        let e = try p.parseOr()
        if p.index < p.tokens.count {
            throw ExpressionError("unexpected '\(p.tokens[p.index].text)'", offset: p.tokens[p.index].offset)
        }
        return e
    }
}

private struct Token {
    enum Kind: Equatable { case path([String]), string(String), number(Value), op(String) }
    let kind: Kind
    let text: String
    let offset: Int
}

private enum Lexer {
    static func tokens(_ c: [Character], base: Int) throws -> [Token] {
        var out: [Token] = []
        var i = 0
        func isNameChar(_ ch: Character) -> Bool { ch.isASCII && (ch.isLetter || ch.isNumber || ch == "_" || ch == "-") }
        while i < c.count {
            let ch = c[i]
            let start = i
            if ch.isWhitespace { i += 1; continue }
            if ch == "'" || ch == "\"" {
                var s = ""
                i += 1
                var closed = false
                while i < c.count {
                    if c[i] == ch {
                        if ch == "'", i + 1 < c.count, c[i + 1] == "'" { s.append("'"); i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    if ch == "\"", c[i] == "\\", i + 1 < c.count {
                        switch c[i + 1] {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        default: s.append(c[i + 1])
                        }
                        i += 2
                        continue
                    }
                    s.append(c[i])
                    i += 1
                }
                guard closed else { throw ExpressionError("unterminated string", offset: base + start) }
                out.append(Token(kind: .string(s), text: String(c[start..<i]), offset: base + start))
                continue
            }
            if ch.isASCII && ch.isNumber || (ch == "-" && i + 1 < c.count && c[i + 1].isASCII && c[i + 1].isNumber) {
                i += 1
                while i < c.count, c[i].isASCII, c[i].isNumber || c[i] == "." || c[i] == "e" || c[i] == "E"
                    || ((c[i] == "-" || c[i] == "+") && (c[i - 1] == "e" || c[i - 1] == "E"))
                {
                    i += 1
                }
                let text = String(c[start..<i])
                let value: Value
                if let n = Int(text) { value = .int(n) } else if let d = Double(text) { value = .double(d) } else {
                    throw ExpressionError("bad number '\(text)'", offset: base + start)
                }
                if i < c.count, isNameChar(c[i]) { throw ExpressionError("bad number '\(text)\(c[i])'", offset: base + start) }
                out.append(Token(kind: .number(value), text: text, offset: base + start))
                continue
            }
            if ch.isASCII && (ch.isLetter || ch == "_") {
                var segments: [String] = []
                var seg = ""
                while i < c.count {
                    if isNameChar(c[i]) { seg.append(c[i]); i += 1; continue }
                    if c[i] == ".", !seg.isEmpty { segments.append(seg); seg = ""; i += 1; continue }
                    break
                }
                guard !seg.isEmpty else { throw ExpressionError("a name must not end with '.'", offset: base + i - 1) }
                segments.append(seg)
                out.append(Token(kind: .path(segments), text: String(c[start..<i]), offset: base + start))
                continue
            }
            let two = i + 1 < c.count ? String(c[i...i + 1]) : ""
            if ["==", "!=", "&&", "||"].contains(two) {
                out.append(Token(kind: .op(two), text: two, offset: base + start))
                i += 2
                continue
            }
            if ch == "!" || ch == "(" || ch == ")" {
                out.append(Token(kind: .op(String(ch)), text: String(ch), offset: base + start))
                i += 1
                continue
            }
            if ch == "=" { throw ExpressionError("use '==' to compare ('=' alone is not an operator)", offset: base + start) }
            throw ExpressionError("unexpected character '\(ch)'", offset: base + start)
        }
        return out
    }
}

/// Precedence, lowest first: `||`, `&&`, `==`/`!=`, `!`, then literals, names and parentheses.
private struct Parser {
    let tokens: [Token]
    let end: Int
    var index = 0

    init(tokens: [Token], end: Int) {
        self.tokens = tokens
        self.end = end
    }

    private func isOp(_ op: String) -> Bool { index < tokens.count && tokens[index].kind == .op(op) }

    mutating func parseOr() throws -> Expression {
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
        if isOp("!") { index += 1; return .not(try parseUnary()) }
        return try parsePrimary()
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

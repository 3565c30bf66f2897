/// Turns the text of one expression into tokens; offsets are into the enclosing text.
struct ExpressionToken {
    enum Kind: Equatable { case path([String]), string(String), number(Value), op(String) }
    let kind: Kind
    let text: String
    let offset: Int
}

enum ExpressionLexer {
    static func tokens(_ c: [Character], base: Int) throws -> [ExpressionToken] {
        var out: [ExpressionToken] = []
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
                out.append(ExpressionToken(kind: .string(s), text: String(c[start..<i]), offset: base + start))
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
                out.append(ExpressionToken(kind: .number(value), text: text, offset: base + start))
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
                out.append(ExpressionToken(kind: .path(segments), text: String(c[start..<i]), offset: base + start))
                continue
            }
            let two = i + 1 < c.count ? String(c[i...i + 1]) : ""
            if ["==", "!=", "&&", "||"].contains(two) {
                out.append(ExpressionToken(kind: .op(two), text: two, offset: base + start))
                i += 2
                continue
            }
            if ch == "!" || ch == "(" || ch == ")" || ch == "[" || ch == "]" || ch == "." {
                out.append(ExpressionToken(kind: .op(String(ch)), text: String(ch), offset: base + start))
                i += 1
                continue
            }
            if ch == "=" { throw ExpressionError("use '==' to compare ('=' alone is not an operator)", offset: base + start) }
            throw ExpressionError("unexpected character '\(ch)'", offset: base + start)
        }
        return out
    }
}

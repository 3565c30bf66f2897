import Foundation

extension Value {
    /// Block-style YAML for people (plans, diffs): keys in order, strings quoted only when a plain
    /// scalar would read back as something else, multi-line strings as `|` blocks.
    /// The text ends with a newline.
    public func yamlString() -> String {
        var out = ""
        switch self {
        case .array(let a) where !a.isEmpty: Value.writeSequence(a, indent: 0, to: &out)
        case .object(let o) where !o.isEmpty: Value.writeMapping(o, indent: 0, to: &out)
        default: out = Value.inline(self, indent: 2) + "\n"
        }
        return out
    }

    private static func pad(_ n: Int) -> String { String(repeating: " ", count: n) }

    private static func writeMapping(_ o: Object, indent: Int, to out: inout String) {
        for m in o {
            out += pad(indent) + yamlScalarString(m.key) + ":"
            writeChild(m.value, indent: indent, to: &out, underKey: true)
        }
    }

    private static func writeSequence(_ a: [Value], indent: Int, to out: inout String) {
        for v in a {
            out += pad(indent) + "-"
            switch v {
            case .object(let o) where !o.isEmpty:
                // First key on the dash line, the rest aligned under it.
                var inner = ""
                writeMapping(o, indent: indent + 2, to: &inner)
                out += " " + inner.dropFirst(indent + 2)
            case .array(let items) where !items.isEmpty:
                var inner = ""
                writeSequence(items, indent: indent + 2, to: &inner)
                out += " " + inner.dropFirst(indent + 2)
            default:
                out += " " + inline(v, indent: indent + 2) + "\n"
            }
        }
    }

    private static func writeChild(_ v: Value, indent: Int, to out: inout String, underKey: Bool) {
        switch v {
        case .object(let o) where !o.isEmpty:
            out += "\n"
            writeMapping(o, indent: indent + 2, to: &out)
        case .array(let a) where !a.isEmpty:
            out += "\n"
            writeSequence(a, indent: indent, to: &out)
        default:
            out += " " + inline(v, indent: indent + 2) + "\n"
        }
    }

    /// A scalar or empty container on one line (or a `|` block for multi-line strings).
    private static func inline(_ v: Value, indent: Int) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d.isNaN { return ".nan" }
            if d.isInfinite { return d > 0 ? ".inf" : "-.inf" }
            let s = String(d)
            return s.contains(".") || s.contains("e") ? s : s + ".0"
        case .string(let s): return blockOrScalar(s, indent: indent)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    private static func blockOrScalar(_ s: String, indent: Int) -> String {
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
        let body = s.hasSuffix("\n") ? lines.dropLast() : lines[...]
        let blockable = s.contains("\n") && body.contains(where: { !$0.isEmpty }) && !s.hasSuffix("\n\n") && !s.contains("\r")
            && body.allSatisfy { !$0.hasSuffix(" ") && !$0.contains("\t") }
            && !(body.first?.hasPrefix(" ") ?? true)
        guard blockable else { return yamlScalarString(s) }
        let header = s.hasSuffix("\n") ? "|" : "|-"
        return header + body.map { $0.isEmpty ? "\n" : "\n" + pad(indent) + $0 }.joined()
    }

    /// A string as a YAML scalar: plain when it reads back as the same string, else double-quoted.
    static func yamlScalarString(_ s: String) -> String {
        if needsQuotes(s) {
            var out = ""
            writeString(s, to: &out)
            return out
        }
        return s
    }

    private static func needsQuotes(_ s: String) -> Bool {
        guard let first = s.first, let last = s.last, s != "<<" else { return true }
        if YAMLNode.resolveScalar(s, plain: true, tag: nil) != .string(s) { return true }
        if "-?:,[]{}#&*!|>'\"%@`".contains(first) { return true }
        if first == " " || last == " " || last == ":" { return true }
        if s.contains(": ") || s.contains(" #") || s.contains("\t") { return true }
        return s.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{FEFF}" }
    }
}

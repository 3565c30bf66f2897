/// A unified-style line diff (`-` removed, `+` added, two lines of context) of two texts, for
/// dry-run previews of files.
public enum LineDiff {
    /// Beyond this many lines on a side the diff is summarised instead of computed.
    static let maxLines = 3000

    public static func render(old: String, new: String, context: Int = 2) -> String {
        let a = lines(old), b = lines(new)
        if a == b { return "" }
        if a.count > maxLines || b.count > maxLines {
            return "(\(a.count) lines → \(b.count) lines; too long to show line by line)"
        }
        // Longest common subsequence table, from the end.
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var ops: [(Character, String)] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] { ops.append((" ", a[i])); i += 1; j += 1 }
            else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] { ops.append(("-", a[i])); i += 1 }
            else { ops.append(("+", b[j])); j += 1 }
        }
        var keep = [Bool](repeating: false, count: ops.count)
        for (k, op) in ops.enumerated() where op.0 != " " {
            for m in max(0, k - context)...min(ops.count - 1, k + context) { keep[m] = true }
        }
        var out: [String] = []
        var skipped = false
        for (k, op) in ops.enumerated() {
            if keep[k] {
                if skipped { out.append("  …") }
                skipped = false
                out.append("\(op.0) \(op.1)")
            } else {
                skipped = true
            }
        }
        if skipped { out.append("  …") }
        return out.joined(separator: "\n")
    }

    private static func lines(_ s: String) -> [String] {
        if s.isEmpty { return [] }
        var parts = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }
}

import Foundation

/// Durations in runbooks: `500ms`, `30s`, `2m`, `1h`, `1m30s`, or a bare number of seconds.
public enum DurationText {
    /// Seconds in `text`, or nil when it is not a duration.
    public static func parse(_ text: String) -> TimeInterval? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if let d = Double(s) { return d }
        var total = 0.0
        var num = ""
        var i = s.startIndex
        var any = false
        while i < s.endIndex {
            let c = s[i]
            if c.isNumber || c == "." { num.append(c); i = s.index(after: i); continue }
            var unit = String(c)
            let n = s.index(after: i)
            if c == "m", n < s.endIndex, s[n] == "s" { unit = "ms"; i = s.index(after: n) } else { i = n }
            guard let v = Double(num) else { return nil }
            switch unit {
            case "ms": total += v / 1000
            case "s": total += v
            case "m": total += v * 60
            case "h": total += v * 3600
            default: return nil
            }
            num = ""
            any = true
        }
        return num.isEmpty && any ? total : nil
    }
}

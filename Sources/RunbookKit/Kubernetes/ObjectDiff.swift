/// A readable diff of a live object against the result of a change, one line per leaf field
/// (`spec.replicas: 2`). Server-managed noise (resourceVersion, managedFields, status…) is left
/// out, and a Secret's `data`/`stringData` values never appear: only their keys, marked
/// added, removed or changed.
public enum ObjectDiff {
    /// Fields that change on every write or belong to the server, not the user.
    static let ignored: Set<String> = [
        "metadata.resourceVersion", "metadata.generation", "metadata.managedFields", "metadata.uid",
        "metadata.creationTimestamp", "metadata.selfLink", "status",
    ]

    /// Lines prefixed `- ` (live only), `+ ` (result only); empty when nothing differs.
    /// `live` nil means the object would be created, `result` nil that it would be deleted.
    public static func render(live: Value?, result: Value?) -> String {
        let isSecret = (live ?? result)?["kind"] == "Secret"
        let a = live.map { flatten($0, secret: isSecret) } ?? []
        let b = result.map { flatten($0, secret: isSecret) } ?? []
        let bSet = Dictionary(b.map { ($0.path, $0.text) }, uniquingKeysWith: { x, _ in x })
        let aSet = Dictionary(a.map { ($0.path, $0.text) }, uniquingKeysWith: { x, _ in x })
        func show(_ l: Line) -> String { isSecret && isSecretData(l.path) ? "***" : l.text }
        var out: [String] = []
        // Walk the result's order, slotting removed lines in where they were.
        var ai = 0
        for line in b {
            while ai < a.count, bSet[a[ai].path] == nil {
                out.append("- \(a[ai].path): \(show(a[ai]))")
                ai += 1
            }
            if let old = aSet[line.path] {
                if old != line.text {
                    if isSecret && isSecretData(line.path) {
                        out.append("~ \(line.path): *** (changed)")
                    } else {
                        out.append("- \(line.path): \(old)")
                        out.append("+ \(line.path): \(show(line))")
                    }
                }
            } else {
                out.append("+ \(line.path): \(show(line))")
            }
            if ai < a.count, a[ai].path == line.path { ai += 1 }
        }
        while ai < a.count {
            if bSet[a[ai].path] == nil { out.append("- \(a[ai].path): \(show(a[ai]))") }
            ai += 1
        }
        return out.joined(separator: "\n")
    }

    struct Line { var path: String; var text: String }

    static func isSecretData(_ path: String) -> Bool { path.hasPrefix("data.") || path.hasPrefix("stringData.") }

    static func flatten(_ v: Value, secret: Bool) -> [Line] {
        var out: [Line] = []
        func walk(_ v: Value, _ path: String) {
            if ignored.contains(path) { return }
            if secret && (path == "data" || path == "stringData"), case .object(let o) = v {
                for m in o.members { out.append(Line(path: "\(path).\(m.key)", text: fingerprint(m.value))) }
                return
            }
            switch v {
            case .object(let o) where !o.isEmpty:
                for m in o.members { walk(m.value, path.isEmpty ? m.key : "\(path).\(m.key)") }
            case .array(let a) where !a.isEmpty:
                for (i, e) in a.enumerated() { walk(e, "\(path)[\(i)]") }
            default:
                out.append(Line(path: path, text: v.jsonString()))
            }
        }
        walk(v, "")
        return out
    }

    /// Distinguishes values without revealing them; only ever compared, never shown for use.
    static func fingerprint(_ v: Value) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in v.jsonString().utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }
}

/// Object names and label values derived from runbook names and run ids, which allow upper case
/// and `_` (invalid in Kubernetes names).
enum KubeName {
    /// A DNS subdomain: lower case, other characters → `-`, at most 253 characters.
    static func subdomain(_ s: String) -> String {
        let mapped = s.lowercased().map { c -> Character in
            (c.isASCII && (c.isLetter || c.isNumber)) || c == "." || c == "-" ? c : "-"
        }
        var out = String(mapped.prefix(253))
        while out.last == "-" || out.last == "." { out.removeLast() }
        return out.isEmpty ? "runbook" : out
    }

    /// A label value (≤ 63 characters, alphanumeric at both ends), or nil when `s` does not fit.
    static func labelValue(_ s: String) -> String? {
        guard s.count <= 63, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }),
              s.first.map({ $0.isLetter || $0.isNumber }) ?? true, s.last.map({ $0.isLetter || $0.isNumber }) ?? true
        else { return nil }
        return s
    }
}

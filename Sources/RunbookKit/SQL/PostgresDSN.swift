import CLibPQ
import Foundation

/// A PostgreSQL connection string as a user wrote it: a URL (`postgresql://user:pw@host/db`) or
/// keywords (`host=… user=… password=…`). It knows its password so that every message can be
/// scrubbed of it.
public struct PostgresDSN: Sendable, Hashable {
    public let text: String
    /// Parsed by libpq itself (`PQconninfoParse`), so URL and keyword forms agree with the driver.
    public let options: [String: String]

    public init(_ text: String) throws {
        self.text = text
        var err: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(text, &err) else {
            let reason = err.map { String(cString: $0) } ?? "unparsable"
            if let err { PQfreemem(err) }
            throw SQLError.invalidDSN(PostgresDSN.scrub(reason, secrets: PostgresDSN.textualPasswords(in: text))
                .trimmingCharacters(in: .whitespacesAndNewlines))
        }
        defer { PQconninfoFree(parsed) }
        var options: [String: String] = [:]
        var p = parsed
        while let keyword = p.pointee.keyword {
            if let val = p.pointee.val { options[String(cString: keyword)] = String(cString: val) }
            p = p.advanced(by: 1)
        }
        self.options = options
    }

    /// The password inside the DSN, if any.
    public var password: String? { options["password"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Where it connects, for messages: `user@host:port/dbname` (never the password).
    public var server: String {
        let host = options["host"] ?? options["hostaddr"] ?? "localhost"
        let port = options["port"].map { ":\($0)" } ?? ""
        let user = options["user"].map { "\($0)@" } ?? ""
        let db = options["dbname"].map { "/\($0)" } ?? ""
        return "\(user)\(host)\(port)\(db)"
    }

    /// Every form in which the password may appear in text: raw and percent-encoded.
    public var secretForms: [String] {
        var forms = PostgresDSN.textualPasswords(in: text)
        if let password { forms.append(password) }
        return Array(Set(forms.filter { !$0.isEmpty }))
    }

    /// The DSN with its password replaced by `***`.
    public var redacted: String { PostgresDSN.redact(text) }

    /// Replaces the password of a DSN written as a URL or as keywords with `***`.
    public static func redact(_ dsn: String) -> String {
        var out = dsn
        for range in passwordRanges(in: dsn).reversed() {
            out.replaceSubrange(range, with: Masker.placeholder)
        }
        return out
    }

    /// Removes every given secret (and its percent-decoded form) from a message.
    public static func scrub(_ message: String, secrets: [String]) -> String {
        var out = message
        var all = Set<String>()
        for s in secrets where !s.isEmpty {
            all.insert(s)
            if let d = s.removingPercentEncoding { all.insert(d) }
        }
        for s in all.sorted(by: { $0.count > $1.count }) where !s.isEmpty {
            out = out.replacingOccurrences(of: s, with: Masker.placeholder)
        }
        return out
    }

    /// The password texts as written in the DSN (URL userinfo, `?password=`, `password=` keyword).
    static func textualPasswords(in dsn: String) -> [String] {
        passwordRanges(in: dsn).map { range in
            var s = String(dsn[range])
            if s.hasPrefix("'"), s.hasSuffix("'"), s.count >= 2 {
                s = String(s.dropFirst().dropLast()).replacingOccurrences(of: "\\'", with: "'")
                    .replacingOccurrences(of: "\\\\", with: "\\")
            }
            return s
        }
    }

    private static func passwordRanges(in dsn: String) -> [Range<String.Index>] {
        let patterns: [String]
        if dsn.hasPrefix("postgres://") || dsn.hasPrefix("postgresql://") {
            // userinfo "user:password@" and the query parameter "password=…".
            patterns = [#"^[a-z]+://[^/@:?#]*:([^@/?#]*)@"#, #"[?&]password=([^&#]*)"#]
        } else {
            patterns = [#"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']+)"#]
        }
        var ranges: [Range<String.Index>] = []
        for pattern in patterns {
            guard let re = try? NSRegularExpression(pattern: pattern) else { continue }
            let ns = NSRange(dsn.startIndex..., in: dsn)
            for m in re.matches(in: dsn, range: ns) where m.numberOfRanges > 1 {
                if let r = Range(m.range(at: 1), in: dsn), !r.isEmpty { ranges.append(r) }
            }
        }
        return ranges.sorted { $0.lowerBound < $1.lowerBound }
    }
}

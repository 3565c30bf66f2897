import Foundation

/// `http.request`'s `expect:` — a status (one code or a list; default any 2xx), text the body
/// `contains`, and `json` paths (`a.b[0].c`) with the values they must hold.
struct HTTPExpectation: Sendable {
    var statuses: [Int]
    var contains: String?
    var json: [(path: String, value: Value)]

    init(_ v: Value?, stepID: String) throws {
        statuses = []
        json = []
        guard let v, !v.isNull else { return }
        guard v.objectValue != nil else { throw ActionError.invalidInput("\(stepID): expect must be a mapping of status, contains, json") }
        for key in v.objectValue!.keys where !["status", "contains", "json"].contains(key) {
            throw ActionError.invalidInput("\(stepID): expect has an unknown key \(key) (known: status, contains, json)")
        }
        if let s = v["status"] {
            let items = s.arrayValue ?? [s]
            statuses = try items.map { item in
                guard let n = item.intValue ?? item.stringValue.flatMap({ Int($0) }), (100...599).contains(n) else {
                    throw ActionError.invalidInput("\(stepID): expect.status must be an HTTP status code or a list of them, not \(item.interpolated)")
                }
                return n
            }
        }
        contains = v["contains"].map(\.interpolated)
        if let j = v["json"] {
            guard let o = j.objectValue else { throw ActionError.invalidInput("\(stepID): expect.json must be a mapping of path: value") }
            json = o.map { ($0.key, $0.value) }
        }
    }

    /// `a.b[0].c` → `a.b.0.c`, the form `Value.lookup` reads.
    static func lookupPath(_ path: String) -> String {
        path.replacingOccurrences(of: "[", with: ".").replacingOccurrences(of: "]", with: "")
    }

    /// Nil when `status`/`body` meet the expectation, else what differs, for people.
    func mismatch(status: Int, body: Data) -> String? {
        if statuses.isEmpty ? !(200..<300).contains(status) : !statuses.contains(status) {
            let want = statuses.isEmpty ? "a 2xx status" : "status " + statuses.map(String.init).joined(separator: " or ")
            return "expected \(want), got \(status)"
        }
        let text = String(decoding: body, as: UTF8.self)
        if let contains, !text.contains(contains) { return "the body does not contain \"\(contains)\"" }
        if json.isEmpty { return nil }
        guard let doc = try? Value.parseJSON(body) else { return "the body is not JSON" }
        for (path, want) in json {
            let got = doc.lookup(HTTPExpectation.lookupPath(path))
            let same = got.map { g in g == want || (want.stringValue != nil && g.interpolated == want.interpolated) } ?? false
            if !same { return "expected json \(path) = \(want.jsonString()), got \(got?.jsonString() ?? "nothing")" }
        }
        return nil
    }
}

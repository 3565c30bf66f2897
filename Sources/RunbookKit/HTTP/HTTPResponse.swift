import Foundation

/// One HTTP response. Header names are lowercased; repeated fields are joined with ", ".
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// True for 429, 502, 503 and 504: worth trying again after a pause.
    public var isRetryable: Bool { [429, 502, 503, 504].contains(status) }

    /// `Retry-After` in seconds (delta-seconds or an HTTP date), when present.
    public var retryAfter: TimeInterval? {
        guard let raw = headers["retry-after"]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let s = Double(raw) { return max(0, s) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let d = f.date(from: raw) { return max(0, d.timeIntervalSinceNow) }
        return nil
    }
}

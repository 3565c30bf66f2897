import Foundation

/// Replaces every known secret, and its base64 forms, with `***`.
///
/// The engine feeds it secret vars and secret outputs; actions add anything else they read
/// that is secret (e.g. Secret data seen while building a diff). Every line of output, every
/// event, the state file and every error message pass through `mask`.
public final class Masker: @unchecked Sendable {
    public static let placeholder = "***"
    private let lock = NSLock()
    /// The needles as UTF-8, by their first four bytes (every needle has at least four), longest
    /// first within a bucket: `mask` scans a text once, whatever the number of secrets — a
    /// thousand-item fan-out registers thousands, and every checkpoint and line is masked. Each
    /// form is kept once, here (a fan-out's secrets are a good part of its memory).
    private var index: [UInt32: [[UInt8]]] = [:]
    private var count = 0

    public init() {}

    /// Registers a secret. Values shorter than 4 characters are ignored, or masking would eat
    /// ordinary text; the base64 (standard and URL-safe, padded and not) forms are registered too.
    public func add(_ secret: String) {
        guard secret.count >= 4 else { return }
        var forms: Set<String> = [secret]
        let b64 = Data(secret.utf8).base64EncodedString()
        forms.insert(b64)
        forms.insert(b64.trimmingCharacters(in: CharacterSet(charactersIn: "=")))
        let url = b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        forms.insert(url)
        forms.insert(url.trimmingCharacters(in: CharacterSet(charactersIn: "=")))
        // JSON-escaped form, for values with quotes, backslashes or newlines.
        var escaped = ""
        Value.writeString(secret, to: &escaped)
        forms.insert(String(escaped.dropFirst().dropLast()))
        lock.lock()
        defer { lock.unlock() }
        for f in forms where f.utf8.count >= 4 {
            let bytes = Array(f.utf8)
            let key = Masker.key(bytes, 0)
            var bucket = index[key] ?? []
            if bucket.contains(bytes) { continue }
            // Longest first, so a secret containing another is replaced whole.
            let at = bucket.firstIndex { $0.count < bytes.count } ?? bucket.count
            bucket.insert(bytes, at: at)
            index[key] = bucket
            count += 1
        }
    }

    private static func key(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// Registers every string inside a value.
    public func add(all value: Value) {
        switch value {
        case .string(let s): add(s)
        case .array(let a): a.forEach { add(all: $0) }
        case .object(let o): o.forEach { add(all: $0.value) }
        default: break
        }
    }

    /// The text with every registered form replaced by `***` (leftmost, longest match first).
    public func mask(_ text: String) -> String {
        lock.lock()
        let index = self.index
        lock.unlock()
        if index.isEmpty { return text }
        let bytes = Array(text.utf8)
        let h = bytes.count
        var out: [UInt8]?
        var copied = 0, i = 0
        while i + 4 <= h {
            if let bucket = index[Masker.key(bytes, i)],
               let needle = bucket.first(where: { i + $0.count <= h && bytes[i..<i + $0.count].elementsEqual($0) })
            {
                if out == nil { out = []; out!.reserveCapacity(h) }
                out!.append(contentsOf: bytes[copied..<i])
                out!.append(contentsOf: Masker.placeholderBytes)
                i += needle.count
                copied = i
            } else {
                i += 1
            }
        }
        guard var result = out else { return text }
        result.append(contentsOf: bytes[copied..<h])
        return String(decoding: result, as: UTF8.self)
    }

    private static let placeholderBytes = Array(placeholder.utf8)

    /// The value with every string masked. A value with nothing to mask comes back as it was (the
    /// same storage, not a copy): large outputs — a thousand listed objects — are not duplicated.
    public func mask(_ value: Value) -> Value {
        lock.lock()
        let empty = index.isEmpty
        lock.unlock()
        return empty ? value : (masked(value) ?? value)
    }

    /// nil when nothing inside `value` changed.
    private func masked(_ value: Value) -> Value? {
        switch value {
        case .string(let s):
            let m = mask(s)
            return m == s ? nil : .string(m)
        case .array(let a):
            var out: [Value]?
            for (n, v) in a.enumerated() {
                if let m = masked(v) {
                    if out == nil { out = a }
                    out![n] = m
                }
            }
            return out.map(Value.array)
        case .object(let o):
            var members: [Object.Member]?
            for (n, member) in o.members.enumerated() {
                if let m = masked(member.value) {
                    if members == nil { members = o.members }
                    members![n].value = m
                }
            }
            return members.map { .object(Object($0)) }
        default:
            return nil
        }
    }

    /// Every registered form (secrets and their base64 forms), longest first.
    var registered: [String] {
        lock.lock()
        defer { lock.unlock() }
        return index.values.joined().map { String(decoding: $0, as: UTF8.self) }.sorted { ($0.utf8.count, $1) > ($1.utf8.count, $0) }
    }

    public var isEmpty: Bool {
        lock.lock()
        defer { lock.unlock() }
        return count == 0
    }
}

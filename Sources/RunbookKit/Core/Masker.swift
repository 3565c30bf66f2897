import Foundation

/// Replaces every known secret, and its base64 forms, with `***`.
///
/// The engine feeds it secret vars and secret outputs; actions add anything else they read
/// that is secret (e.g. Secret data seen while building a diff). Every line of output, every
/// event, the state file and every error message pass through `mask`.
public final class Masker: @unchecked Sendable {
    public static let placeholder = "***"
    private let lock = NSLock()
    private var needles: [String] = []
    /// The needles as UTF-8, in the same (longest first) order: matching is done on bytes,
    /// because masking runs over every checkpoint and output line.
    private var needleBytes: [[UInt8]] = []

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
        for f in forms where f.count >= 4 && !needles.contains(f) { needles.append(f) }
        // Longest first, so a secret containing another is replaced whole.
        needles.sort { $0.utf8.count > $1.utf8.count }
        needleBytes = needles.map { Array($0.utf8) }
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

    public func mask(_ text: String) -> String {
        lock.lock()
        let list = needleBytes
        lock.unlock()
        if list.isEmpty { return text }
        var bytes = Array(text.utf8)
        var changed = false
        for needle in list {
            if let replaced = Masker.replace(needle, in: bytes) {
                bytes = replaced
                changed = true
            }
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }

    private static let placeholderBytes = Array(placeholder.utf8)

    /// `haystack` with every occurrence of `needle` replaced by the placeholder, or nil if none.
    static func replace(_ needle: [UInt8], in haystack: [UInt8]) -> [UInt8]? {
        let n = needle.count, h = haystack.count
        guard n > 0, h >= n else { return nil }
        let first = needle[0]
        var out: [UInt8]? = nil
        var copied = 0, i = 0
        while i <= h - n {
            if haystack[i] == first, haystack[i..<i + n].elementsEqual(needle) {
                if out == nil { out = []; out!.reserveCapacity(h) }
                out!.append(contentsOf: haystack[copied..<i])
                out!.append(contentsOf: placeholderBytes)
                i += n
                copied = i
            } else {
                i += 1
            }
        }
        guard var result = out else { return nil }
        result.append(contentsOf: haystack[copied..<h])
        return result
    }

    public func mask(_ value: Value) -> Value {
        switch value {
        case .string(let s): return .string(mask(s))
        case .array(let a): return .array(a.map(mask))
        case .object(let o): return .object(Object(o.members.map { .init(key: $0.key, value: mask($0.value)) }))
        default: return value
        }
    }

    /// Every registered form (secrets and their base64 forms), longest first.
    var registered: [String] {
        lock.lock()
        defer { lock.unlock() }
        return needles
    }

    public var isEmpty: Bool {
        lock.lock()
        defer { lock.unlock() }
        return needles.isEmpty
    }
}

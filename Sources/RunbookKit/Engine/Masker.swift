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
        needles.sort { $0.count > $1.count }
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
        let list = needles
        lock.unlock()
        var out = text
        for n in list where out.contains(n) { out = out.replacingOccurrences(of: n, with: Masker.placeholder) }
        return out
    }

    public func mask(_ value: Value) -> Value {
        switch value {
        case .string(let s): return .string(mask(s))
        case .array(let a): return .array(a.map(mask))
        case .object(let o): return .object(Object(o.members.map { .init(key: $0.key, value: mask($0.value)) }))
        default: return value
        }
    }

    public var isEmpty: Bool {
        lock.lock()
        defer { lock.unlock() }
        return needles.isEmpty
    }
}

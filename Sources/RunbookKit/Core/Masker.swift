import Foundation

/// Replaces every known secret, and its base64 forms, with `***`.
///
/// The engine feeds it secret vars and secret outputs; actions add anything else they read
/// that is secret (e.g. Secret data seen while building a diff). Every line of output, every
/// event, the state file and every error message pass through `mask`.
public final class Masker: @unchecked Sendable {
    public static let placeholder = "***"
    private let lock = NSLock()
    /// The forms as UTF-8 (`NeedleIndex`): `mask` scans a text once, whatever the number of
    /// secrets — a thousand-item fan-out registers thousands, and every checkpoint and line is
    /// masked. Each form is kept once, here and in `added` (the same storage; a fan-out's secrets
    /// are a good part of its memory).
    private var index = NeedleIndex()
    /// Every form in the order registered: `generation` counts them, and `forms(since:)` gives
    /// the ones added after a given generation.
    private var added: [[UInt8]] = []

    public init() {}

    /// Registers a secret. Values shorter than 4 characters are ignored, or masking would eat
    /// ordinary text; the base64 (standard and URL-safe, padded and not) forms are registered too.
    public func add(_ secret: String) {
        guard secret.count >= 4 else { return }
        var forms: Set<String> = [secret]
        let b64 = Data(secret.utf8).base64EncodedString()
        forms.insert(b64)
        forms.insert(Masker.unpadded(b64))
        let url = String(decoding: b64.utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 },
                         as: UTF8.self)
        forms.insert(url)
        forms.insert(Masker.unpadded(url))
        // JSON-escaped form, for values with quotes, backslashes or newlines.
        var escaped: [UInt8] = []
        Value.writeString(secret, to: &escaped)
        forms.insert(String(decoding: escaped.dropFirst().dropLast(), as: UTF8.self))
        lock.withLock {
            for f in forms {
                let bytes = Array(f.utf8)
                if index.insert(bytes) { added.append(bytes) }
            }
        }
    }

    /// `text` without its trailing `=` padding.
    private static func unpadded(_ text: String) -> String {
        var t = Substring(text)
        while t.last == "=" { t.removeLast() }
        return String(t)
    }

    /// How many forms are registered; it only grows. A text masked at one generation holds no
    /// form of that generation; `forms(since:)` are the ones that may appear in it.
    public var generation: Int { lock.withLock { added.count } }

    /// The forms registered after `generation` (a value of `generation` read earlier), oldest
    /// first, and the generation they end at.
    public func forms(since generation: Int) -> (forms: ArraySlice<[UInt8]>, generation: Int) {
        lock.withLock { (added[min(generation, added.count)...], added.count) }
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
        var out: [UInt8]?
        bytes.withUnsafeBufferPointer { t in
            var copied = 0
            while let m = index.next(in: t, from: copied) {
                if out == nil { out = []; out!.reserveCapacity(t.count) }
                out!.append(contentsOf: t[copied..<m.at])
                out!.append(contentsOf: Masker.placeholderBytes)
                copied = m.at + m.length
            }
            out?.append(contentsOf: t[copied...])
        }
        return out.map { String(decoding: $0, as: UTF8.self) } ?? text
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
        return index.buckets.values.joined().map { String(decoding: $0, as: UTF8.self) }.sorted { ($0.utf8.count, $1) > ($1.utf8.count, $0) }
    }

    public var isEmpty: Bool { generation == 0 }
}

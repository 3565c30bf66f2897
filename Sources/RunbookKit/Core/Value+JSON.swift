import Foundation

/// JSON text for `Value`, keeping key order (Foundation's JSONSerialization does not).
extension Value {
    public struct JSONError: Error, CustomStringConvertible {
        public let offset: Int
        public let message: String
        public var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    public func jsonString(pretty: Bool = false) -> String {
        String(decoding: jsonBytes(pretty: pretty), as: UTF8.self)
    }

    public func jsonData(pretty: Bool = false) -> Data { Data(jsonBytes(pretty: pretty)) }

    /// JSON as UTF-8 bytes. Written into one byte buffer: checkpoints encode the whole run state
    /// before and after every step.
    func jsonBytes(pretty: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    /// Compact JSON appended to `out`, a buffer that `flush` empties whenever it holds
    /// `flushAt` bytes or more (between elements), so that a large document is written without
    /// ever being whole in memory; `substitute` may write a value itself (returning true), as a
    /// stand-in for text made elsewhere.
    func writeJSON(to out: inout [UInt8], flushAt: Int, flush: (inout [UInt8]) throws -> Void,
                   substitute: (Value, inout [UInt8]) throws -> Bool) throws
    {
        if try substitute(self, &out) { return }
        switch self {
        case .array(let a) where !a.isEmpty:
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try v.writeJSON(to: &out, flushAt: flushAt, flush: flush, substitute: substitute)
                if out.count >= flushAt { try flush(&out) }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o) where !o.isEmpty:
            out.append(UInt8(ascii: "{"))
            for (i, m) in o.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Value.writeString(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                try m.value.writeJSON(to: &out, flushAt: flushAt, flush: flush, substitute: substitute)
                if out.count >= flushAt { try flush(&out) }
            }
            out.append(UInt8(ascii: "}"))
        default:
            write(to: &out, pretty: false, indent: 0)
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: 2 * indent))
    }

    private func write(to out: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            let text = d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? "\(Int(d)).0" : String(d)) : "null"
            out.append(contentsOf: text.utf8)
        case .string(let s): Value.writeString(s, to: &out)
        case .array(let a):
            if a.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { Value.newline(&out, indent + 1) }
                v.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { Value.newline(&out, indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            if o.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (i, m) in o.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { Value.newline(&out, indent + 1) }
                Value.writeString(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(0x20) }
                m.value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { Value.newline(&out, indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        var bytes: [UInt8] = []
        writeString(s, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { writeString(utf8: $0, to: &out) }
    }

    /// Runs of bytes that need no escape (most of a text: base64, names) are copied at once.
    private static func writeString(utf8 bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var run = 0
        for (i, b) in bytes.enumerated() {
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
            if run < i { out.append(contentsOf: bytes[run..<i]) }
            run = i + 1
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            default:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 0xF)])
            }
        }
        if run < bytes.count { out.append(contentsOf: bytes[run...]) }  // UTF-8 bytes ≥ 0x80 pass through whole
        out.append(UInt8(ascii: "\""))
    }

    public static func parseJSON(_ text: String) throws -> Value { try parseJSON(Data(text.utf8)) }

    public static func parseJSON(_ data: Data) throws -> Value {
        try parseJSON(data, split: nil)
    }

    /// Parses `data`, handing every element of each array that is the value of `key` in an object
    /// `depth` levels down (the document itself is level 0) to `take` as soon as it is parsed;
    /// what `take` returns stands in its place. So a large document's big lists (the items of
    /// `state.json`'s `foreach` groups) never exist whole as values.
    public static func parseJSON(_ data: Data, splitting key: String, atDepth depth: Int,
                                 take: (Value) throws -> Value) throws -> Value
    {
        try withoutActuallyEscaping(take) { take in try parseJSON(data, split: (Array(key.utf8), depth, take)) }
    }

    private static func parseJSON(_ data: Data, split: JSONParser.Split?) throws -> Value {
        try data.withUnsafeBytes { raw in
            var p = JSONParser(bytes: raw.bindMemory(to: UInt8.self), split: split)
            p.skipWS()
            let v = try p.parseValue()
            p.skipWS()
            if p.i != p.bytes.count { throw JSONError(offset: p.i, message: "trailing characters") }
            return v
        }
    }
}

private struct JSONParser {
    typealias Split = (key: [UInt8], depth: Int, take: (Value) throws -> Value)
    /// The text, read in place (not copied).
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    let split: Split?
    /// Objects and arrays open around the value being parsed.
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, split: Split?) {
        self.bytes = bytes
        self.split = split
    }

    mutating func skipWS() {
        while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
    }

    func fail(_ m: String) -> Value.JSONError { Value.JSONError(offset: i, message: m) }

    mutating func parseValue() throws -> Value {
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            depth += 1
            defer { depth -= 1 }
            var o = Object()
            skipWS()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(Object()) }
            while true {
                skipWS()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let k = try parseString()
                skipWS()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipWS()
                let v: Value
                if let split, depth == split.depth + 1, i < bytes.count, bytes[i] == UInt8(ascii: "["), k.utf8.elementsEqual(split.key) {
                    v = try parseArray(take: split.take)
                } else {
                    v = try parseValue()
                }
                o[k] = v  // a repeated key: the last one wins, in the first one's place
                skipWS()
                guard i < bytes.count else { throw fail("unexpected end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(Object(JSONParser.exact(o.members))) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            return try parseArray(take: nil)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            return try parseNumber()
        }
    }

    /// An array (at its `[`), each element passed through `take` when given.
    mutating func parseArray(take: ((Value) throws -> Value)?) throws -> Value {
        i += 1
        depth += 1
        defer { depth -= 1 }
        var a: [Value] = []
        skipWS()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
        while true {
            skipWS()
            let v = try parseValue()
            a.append(try take?(v) ?? v)
            skipWS()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(JSONParser.exact(a)) }
            throw fail("expected ',' or ']'")
        }
    }

    /// A copy without the spare capacity appending left: parsed documents are kept (a thousand
    /// listed objects), and doubling leaves up to half of each list unused.
    static func exact<T>(_ list: [T]) -> [T] {
        list.capacity > list.count + list.count / 8 ? list.withUnsafeBufferPointer { Array($0) } : list
    }

    mutating func literal(_ s: String) throws {
        let u = Array(s.utf8)
        guard i + u.count <= bytes.count, Array(bytes[i..<i + u.count]) == u else { throw fail("invalid literal") }
        i += u.count
    }

    mutating func parseNumber() throws -> Value {
        let start = i
        var isInt = true
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        while i < bytes.count {
            let c = bytes[i]
            if c >= 0x30 && c <= 0x39 { i += 1 } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { isInt = false; i += 1 } else { break }
        }
        guard i > start, let s = String(bytes: bytes[start..<i], encoding: .utf8) else { throw fail("invalid value") }
        if isInt, let n = Int(s) { return .int(n) }
        guard let d = Double(s) else { throw fail("invalid number") }
        return .double(d)
    }

    mutating func parseString() throws -> String {
        i += 1  // opening quote
        // Most strings have no escape: they are made from their bytes at once.
        let start = i
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            i += 1
            return intern(String(decoding: bytes[start..<i - 1], as: UTF8.self))
        }
        var buf = Array(bytes[start..<i])
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return intern(String(decoding: buf, as: UTF8.self))
            }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): buf.append(0x0A)
                case UInt8(ascii: "t"): buf.append(0x09)
                case UInt8(ascii: "r"): buf.append(0x0D)
                case UInt8(ascii: "b"): buf.append(0x08)
                case UInt8(ascii: "f"): buf.append(0x0C)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    buf.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
                default: buf.append(e)
                }
            } else {
                buf.append(c)
                i += 1
            }
        }
        throw fail("unterminated string")
    }

    /// Strings too long to be stored inline (more than 15 UTF-8 bytes) that repeat in a document —
    /// keys such as `terminationMessagePolicy`, an image name in every listed object — share one
    /// storage instead of each keeping a copy.
    var interned: Set<String> = []

    mutating func intern(_ s: String) -> String {
        let n = s.utf8.count
        guard n > 15, n <= 96 else { return s }
        if let known = interned.firstIndex(of: s) { return interned[known] }
        if interned.count < 8192 { interned.insert(s) }
        return s
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let s = String(bytes: bytes[i..<i + 4], encoding: .ascii), let v = UInt32(s, radix: 16) else { throw fail("bad \\u escape") }
        i += 4
        return v
    }
}

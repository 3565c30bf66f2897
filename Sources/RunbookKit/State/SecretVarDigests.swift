import Foundation

/// Which secret var values a run started with, without the values: a salted SHA-256 of each
/// (salt random per run). `resume` and `rollback` must be given the same secret inputs (SPEC §4:
/// a resumed run cannot silently change its inputs), and this is how they can tell.
public struct SecretVarDigests: Sendable, Equatable {
    public var salt: String
    /// Var name → hex digest of salt, name and the value's JSON (`null` when it had none).
    public var digests: [String: String]

    public init(salt: String, digests: [String: String]) {
        self.salt = salt
        self.digests = digests
    }

    /// Digests of `values` (every secret var of the run) under a fresh salt.
    public static func make(_ values: [String: Value]) -> SecretVarDigests {
        let salt = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        var d = SecretVarDigests(salt: salt, digests: [:])
        for (name, value) in values { d.digests[name] = d.digest(name, value) }
        return d
    }

    func digest(_ name: String, _ value: Value) -> String {
        SHA256.hex(Data("runbook-secret-var\u{0}\(salt)\u{0}\(name)\u{0}\(value.jsonString())".utf8))
    }

    /// The names whose value in `values` (missing = null) differs from the run's.
    public func mismatches(_ values: [String: Value]) -> [String] {
        digests.keys.sorted().filter { digests[$0] != digest($0, values[$0] ?? .null) }
    }

    public func toValue() -> Value {
        .object(["salt": .string(salt),
                 "vars": .object(Object(digests.keys.sorted().map { .init(key: $0, value: .string(digests[$0]!)) }))])
    }

    public init?(value v: Value?) {
        guard let v, let salt = v["salt"]?.stringValue, let vars = v["vars"]?.objectValue else { return nil }
        var digests: [String: String] = [:]
        for m in vars { if let s = m.value.stringValue { digests[m.key] = s } }
        self.init(salt: salt, digests: digests)
    }
}

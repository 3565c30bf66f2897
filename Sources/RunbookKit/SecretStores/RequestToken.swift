import Foundation

/// A deterministic idempotency token (Secrets Manager `ClientRequestToken`, 32–64 characters):
/// the same run, step, name and value always give the same token, so a resumed step does not
/// create a second version.
enum RequestToken {
    static func make(runID: String, stepID: String, name: String, value: String) -> String {
        let key = Array("\(runID)\u{0}\(stepID)\u{0}\(name)\u{0}\(CRC32C.checksum(value.utf8))".utf8)
        let a = fnv1a(key, basis: 0xcbf2_9ce4_8422_2325)
        let b = fnv1a(key, basis: 0x84222325_cbf29ce4)
        let hex = String(format: "%016llx%016llx", a, b)
        let c = Array(hex)
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }

    private static func fnv1a(_ bytes: [UInt8], basis: UInt64) -> UInt64 {
        var h = basis
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}

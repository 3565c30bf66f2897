import COpenSSL
import Foundation

/// Why a value could not be sealed.
public enum SealingError: Error, Sendable, Equatable {
    /// The text holds no PEM certificate (or public key) that could be read.
    case unreadableCertificate(String)
    /// The certificate's key is not RSA (sealed-secrets only uses RSA).
    case notRSA
    /// The certificate expired: kubeseal refuses to seal to it, and so do we.
    case expired(notAfter: String)
    /// OpenSSL failed in `operation`.
    case openssl(operation: String, reason: String)

    /// OpenSSL's queued error reasons, newest last, cleared from the queue.
    static func drainReason() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? "no reason given" : reasons.joined(separator: "; ")
    }

    static func openssl(_ operation: String) -> SealingError {
        .openssl(operation: operation, reason: drainReason())
    }
}

extension SealingError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case .unreadableCertificate(let why):
            return "the sealing certificate could not be read (\(why)); give the controller's PEM certificate (what its /v1/cert.pem serves)"
        case .notRSA:
            return "the sealing certificate does not hold an RSA public key; sealed-secrets controllers only use RSA keys"
        case .expired(let notAfter):
            return "failed to encrypt using an expired certificate on \(notAfter); fetch the controller's current certificate"
        case .openssl(let op, let reason):
            return "sealing failed in OpenSSL (\(op)): \(reason)"
        }
    }
}

extension SealingError: RetryableError {
    /// Sealing fails the same way every time: nothing to retry.
    public var isTransient: Bool { false }
}

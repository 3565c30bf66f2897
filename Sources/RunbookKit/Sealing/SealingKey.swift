import COpenSSL
import Foundation

/// The public half of a sealed-secrets controller's key, read from its PEM certificate (what the
/// controller serves at `/v1/cert.pem`, and what `kubeseal --fetch-cert` prints). A bare PEM
/// `PUBLIC KEY` is accepted too.
///
/// The wrapped `EVP_PKEY` is never changed after `init`; OpenSSL allows concurrent encryptions
/// with one key, each through its own context.
public final class SealingKey: @unchecked Sendable {
    let pkey: OpaquePointer

    /// Reads the first certificate (or public key) in `pem`. Refuses non-RSA keys and expired
    /// certificates, as kubeseal does.
    public init(pem: String, now: Date = Date()) throws {
        let bytes = Array(pem.utf8)
        guard let cert = SealingKey.readPEM(bytes, PEM_read_bio_X509) else {
            guard let key = SealingKey.readPEM(bytes, PEM_read_bio_PUBKEY) else {
                let reason = SealingError.drainReason()
                throw SealingError.unreadableCertificate(pem.contains("-----BEGIN") ? reason : "no PEM block found")
            }
            _ = SealingError.drainReason()  // the failed certificate attempt
            pkey = key
            try checkRSA()
            return
        }
        _ = SealingError.drainReason()
        defer { X509_free(cert) }
        guard let key = X509_get_pubkey(cert) else { throw SealingError.openssl("X509_get_pubkey") }
        pkey = key
        try checkRSA()
        var nowT = time_t(now.timeIntervalSince1970)
        if let notAfter = X509_get0_notAfter(cert), X509_cmp_time(notAfter, &nowT) < 0 {
            throw SealingError.expired(notAfter: SealingKey.format(notAfter))
        }
    }

    deinit { EVP_PKEY_free(pkey) }

    /// The RSA modulus size in bytes (the length of every RSA ciphertext made with this key).
    public var modulusBytes: Int { Int(EVP_PKEY_get_size(pkey)) }

    private func checkRSA() throws {
        guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA else { throw SealingError.notRSA }
    }

    private static func readPEM<T>(_ bytes: [UInt8],
                                   _ reader: (OpaquePointer?, UnsafeMutablePointer<T?>?, (@convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32)?, UnsafeMutableRawPointer?) -> T?) -> T?
    {
        bytes.withUnsafeBytes { raw -> T? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return reader(bio, nil, nil, nil)
        }
    }

    /// "January 2, 2006", the form kubeseal's message uses.
    private static func format(_ t: UnsafePointer<ASN1_TIME>) -> String {
        var tm = tm()
        guard ASN1_TIME_to_tm(t, &tm) == 1 else { return "an unreadable date" }
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"]
        let month = (0..<12).contains(Int(tm.tm_mon)) ? months[Int(tm.tm_mon)] : "?"
        return "\(month) \(tm.tm_mday), \(Int(tm.tm_year) + 1900)"
    }
}

import COpenSSL
import Foundation

/// The controller's side of the sealed-secrets format, for tests: opens what `HybridSealer`
/// sealed, with the private key, the way the controller does (length prefix, RSA-OAEP SHA-256
/// with the label, AES-256-GCM with a zero nonce). Returns nil when it cannot be opened.
public enum SealedSecretOpener {
    public static func open(_ sealed: [UInt8], privateKeyPEM: String, label: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 2 else { return nil }
        let rsaLength = Int(sealed[0]) << 8 | Int(sealed[1])
        guard sealed.count >= 2 + rsaLength + 16 else { return nil }
        let wrapped = Array(sealed[2..<(2 + rsaLength)])
        let body = Array(sealed[(2 + rsaLength)...])
        guard let key = readKey(privateKeyPEM) else { return nil }
        defer { EVP_PKEY_free(key) }
        guard let sessionKey = rsaDecrypt(wrapped, key: key, label: label) else { return nil }
        return gcmOpen(body, key: sessionKey)
    }

    static func readKey(_ pem: String) -> OpaquePointer? {
        Array(pem.utf8).withUnsafeBytes { raw -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
    }

    static func rsaDecrypt(_ c: [UInt8], key: OpaquePointer, label: [UInt8]) -> [UInt8]? {
        guard let ctx = EVP_PKEY_CTX_new(key, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_decrypt_init(ctx) == 1, runbook_oaep_sha256(ctx, label, label.count) == 1 else { return nil }
        var length = 0
        guard EVP_PKEY_decrypt(ctx, nil, &length, c, c.count) == 1 else { return nil }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_decrypt(ctx, &out, &length, c, c.count) == 1 else { ERR_clear_error(); return nil }
        return Array(out.prefix(length))
    }

    static func gcmOpen(_ body: [UInt8], key: [UInt8]) -> [UInt8]? {
        guard key.count == 32, let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let nonce = [UInt8](repeating: 0, count: 12)
        var tag = Array(body.suffix(16))
        let cipher = Array(body.dropLast(16))
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { return nil }
        var out = [UInt8](repeating: 0, count: cipher.count + 16)
        var n: Int32 = 0
        if !cipher.isEmpty, EVP_DecryptUpdate(ctx, &out, &n, cipher, Int32(cipher.count)) != 1 { return nil }
        guard runbook_gcm_set_tag(ctx, &tag, 16) == 1 else { return nil }
        var last: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + Int(n), &last) == 1 }
        guard ok else { ERR_clear_error(); return nil }
        return Array(out.prefix(Int(n + last)))
    }
}

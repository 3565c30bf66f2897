import COpenSSL

/// The sealed-secrets ciphertext of one value, byte for byte as kubeseal makes it and the
/// controller opens it:
///
///     2-byte big-endian length of the RSA part || RSA-OAEP(SHA-256, label)(session key)
///       || AES-256-GCM(session key, 12 zero bytes as nonce)(value) with its 16-byte tag
///
/// A fresh random 32-byte session key is made for every value and used once, which is why the
/// zero nonce is safe. The label binds the value to its scope (see `SealingScope.label`).
public enum HybridSealer {
    static let sessionKeyBytes = 32
    static let nonceBytes = 12
    static let tagBytes = 16

    /// Seals `plaintext` for `key` under `label`.
    public static func seal(_ plaintext: [UInt8], label: [UInt8], key: SealingKey) throws -> [UInt8] {
        var sessionKey = [UInt8](repeating: 0, count: sessionKeyBytes)
        defer { for i in sessionKey.indices { sessionKey[i] = 0 } }
        guard RAND_bytes(&sessionKey, Int32(sessionKeyBytes)) == 1 else { throw SealingError.openssl("RAND_bytes") }
        let wrapped = try rsaEncrypt(sessionKey, label: label, key: key)
        guard wrapped.count <= Int(UInt16.max) else { throw SealingError.openssl(operation: "RSA-OAEP", reason: "ciphertext too long") }
        var out: [UInt8] = [UInt8(wrapped.count >> 8), UInt8(wrapped.count & 0xff)]
        out.reserveCapacity(2 + wrapped.count + plaintext.count + tagBytes)
        out += wrapped
        out += try aesGCM(plaintext, key: sessionKey)
        return out
    }

    static func rsaEncrypt(_ message: [UInt8], label: [UInt8], key: SealingKey) throws -> [UInt8] {
        guard let ctx = EVP_PKEY_CTX_new(key.pkey, nil) else { throw SealingError.openssl("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_encrypt_init(ctx) == 1 else { throw SealingError.openssl("EVP_PKEY_encrypt_init") }
        guard runbook_oaep_sha256(ctx, label, label.count) == 1 else { throw SealingError.openssl("RSA-OAEP parameters") }
        var length = 0
        guard EVP_PKEY_encrypt(ctx, nil, &length, message, message.count) == 1 else { throw SealingError.openssl("EVP_PKEY_encrypt") }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_encrypt(ctx, &out, &length, message, message.count) == 1 else { throw SealingError.openssl("EVP_PKEY_encrypt") }
        return Array(out.prefix(length))
    }

    static func aesGCM(_ plaintext: [UInt8], key: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw SealingError.openssl("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let nonce = [UInt8](repeating: 0, count: nonceBytes)  // 12 bytes is GCM's default IV length
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { throw SealingError.openssl("EVP_EncryptInit_ex") }
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(ctx, &out, &written, plaintext, Int32(plaintext.count)) == 1 else {
                throw SealingError.openssl("EVP_EncryptUpdate")
            }
        }
        var total = Int(written)
        let ok = out.withUnsafeMutableBufferPointer { buf -> Bool in
            var last: Int32 = 0
            guard EVP_EncryptFinal_ex(ctx, buf.baseAddress! + total, &last) == 1 else { return false }
            total += Int(last)
            return runbook_gcm_get_tag(ctx, buf.baseAddress! + total, Int32(tagBytes)) == 1
        }
        guard ok else { throw SealingError.openssl("AES-256-GCM") }
        return Array(out.prefix(total + tagBytes))
    }
}

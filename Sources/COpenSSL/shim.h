#ifndef RUNBOOK_COPENSSL_SHIM_H
#define RUNBOOK_COPENSSL_SHIM_H
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

/* OAEP with SHA-256 for both the digest and MGF1 (what Go's rsa.EncryptOAEP(sha256.New(), ...)
   does) and `label`. EVP_PKEY_CTX_set0_rsa_oaep_label takes ownership of a buffer that must come
   from OPENSSL_malloc, a macro Swift cannot call: this wrapper copies the label into one. */
static inline int runbook_oaep_sha256(EVP_PKEY_CTX *ctx, const unsigned char *label, size_t len) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0) return 0;
    if (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0) return 0;
    if (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0) return 0;
    if (len == 0) return 1;
    unsigned char *copy = OPENSSL_malloc(len);
    if (copy == NULL) return 0;
    memcpy(copy, label, len);
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, (int)len) <= 0) { OPENSSL_free(copy); return 0; }
    return 1;
}

/* AES-GCM tag get/set: EVP_CIPHER_CTX_ctrl with the AEAD control codes. */
static inline int runbook_gcm_get_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag, int len) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, len, tag);
}
static inline int runbook_gcm_set_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag, int len) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, len, tag);
}
#endif

/* crypto.h - the host's cryptography, over OpenSSL 3 libcrypto.
 *
 * Everything openwss on the host (emulator, cloud, tools) needs from crypto
 * lives here: random bytes and tokens, SHA-256, base64, constant-time
 * comparison, ECDSA P-256 keys and signatures, and a small local certificate
 * authority for the emulator's HTTPS. The firmware library has its own crypto
 * port and does not use this file.
 *
 * Ownership: every char * returned is heap memory the caller frees with free().
 * Every wss_crypto_key * is freed with wss_crypto_key_free(). Functions that take
 * an `err` buffer write a one-line reason there on failure (never key material). */
#ifndef WSS_COMMON_CRYPTO_H
#define WSS_COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "wss/err.h"

/* Fills buf with len cryptographically strong random bytes. */
wss_err wss_random_bytes(void *buf, size_t len);

/* A fresh random token: `prefix` (NULL means none) followed by the base64url
 * (no padding) of nbytes random bytes. NULL on allocation or RNG failure. */
char *wss_random_token(const char *prefix, size_t nbytes);

/* A random version-4 UUID in lower-case 8-4-4-4-12 form; out must hold 37 bytes. */
wss_err wss_uuid4(char out[37]);

/* A version-7 UUID (RFC 9562): unix_ms in its first 48 bits, then 74 bits
 * that differ from id to id, in lower-case 8-4-4-4-12 form; out must hold 37
 * bytes. For message ids, which must be unique and, in an index, grow at its
 * end; not for secrets: the 74 bits come from a generator of the calling
 * thread, seeded once from wss_random_bytes (OpenSSL 3.0 takes a global
 * write lock in every RAND_bytes, which many threads asking at once feel).
 * Cannot fail. */
void wss_uuid7(long long unix_ms, char out[37]);

/* SHA-256 of data; out receives 32 bytes. */
void wss_sha256(const void *data, size_t len, uint8_t out[32]);

/* Lower-case hex SHA-256 of a NUL-terminated string; out must hold 65 bytes.
 * Used to store tokens and secrets by digest rather than in the clear. */
void wss_sha256_hex(const char *s, char out[65]);

/* Constant-time equality of two byte strings; lengths may differ (then false,
 * still without an early exit on content). Returns 1 when equal, else 0. */
int wss_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Constant-time equality of two NUL-terminated strings; NULL equals nothing. */
int wss_ct_streq(const char *a, const char *b);

/* Standard base64 (RFC 4648 section 4, with padding). Returns NULL on failure. */
char *wss_base64_encode(const void *data, size_t len);

/* Decodes standard base64 (padding required, no whitespace, no other
 * characters). On success *out is malloc'd (free it) and *outlen set.
 * Rejects anything that is not canonical base64 with WSS_ERR_INVALID. */
wss_err wss_base64_decode(const char *s, uint8_t **out, size_t *outlen);

/* Base64url without padding (RFC 4648 section 5). Returns NULL on failure. */
char *wss_base64url_encode(const void *data, size_t len);

/* An EC P-256 key pair or public key. */
typedef struct wss_crypto_key wss_crypto_key;

/* A fresh P-256 key pair. */
wss_err wss_key_generate(wss_crypto_key **out);

/* Parses a P-256 public key given as PEM ("-----BEGIN PUBLIC KEY-----") or as
 * standard base64 of DER SubjectPublicKeyInfo (91 bytes uncompressed or 59 bytes
 * compressed). Any other curve or key type, explicit curve parameters, a point
 * off the curve, or text over 16 KiB is WSS_ERR_INVALID. */
wss_err wss_key_parse_public(const char *text, wss_crypto_key **out, char *err, size_t errlen);

/* Parses a P-256 private key in PEM (PKCS#8 or SEC1 "EC PRIVATE KEY").
 * Encrypted keys (never prompted for), other curves and keys whose public
 * point does not match the private scalar are WSS_ERR_INVALID. */
wss_err wss_key_parse_private_pem(const char *pem, wss_crypto_key **out, char *err, size_t errlen);

/* PEM text of the public key (SubjectPublicKeyInfo). */
char *wss_key_public_pem(const wss_crypto_key *key);

/* Standard base64 of the DER SubjectPublicKeyInfo (uncompressed point, 91 bytes),
 * whatever form the key was parsed from; wss_key_public_pem is uncompressed too. */
char *wss_key_public_b64(const wss_crypto_key *key);

/* Standard base64 of the DER SubjectPublicKeyInfo with the point in compressed
 * form (59 bytes for P-256): the form a package barcode's PUK field carries.
 * wss_key_parse_public reads it back. NULL on failure. */
char *wss_key_public_b64_compressed(const wss_crypto_key *key);

/* PEM text of the private key (PKCS#8, unencrypted). NULL for a public-only key. */
char *wss_key_private_pem(const wss_crypto_key *key);

void wss_key_free(wss_crypto_key *key);

/* ECDSA P-256 with SHA-256 over data; *sig_b64 receives standard base64 of the
 * DER signature (the form the SDAE's device.signature carries). A public-only
 * key is WSS_ERR_INVALID. */
wss_err wss_ecdsa_sign_b64(const wss_crypto_key *key, const void *data, size_t len, char **sig_b64);

/* Verifies a standard-base64 DER ECDSA P-256/SHA-256 signature over data.
 * WSS_OK when it verifies, WSS_ERR_INVALID when sig_b64 is not canonical base64
 * or not exactly one strict-DER signature, WSS_ERR_VERIFY when it is
 * well-formed but does not verify. */
wss_err wss_ecdsa_verify_b64(const wss_crypto_key *key, const void *data, size_t len, const char *sig_b64);

/* The local certificate authority of a state directory.
 *
 * wss_tls_ensure(dir, hosts, ...) makes sure that dir (created with mode 0700
 * if missing, without parents) holds:
 *   ca.pem / ca-key.pem       a self-signed P-256 CA (created once, kept)
 *   server.pem / server-key.pem  a P-256 server certificate signed by that CA
 * The server certificate (with a new key) is (re)issued when missing, when it
 * does not cover every name in `hosts` (a NULL-terminated, non-empty list of
 * DNS names or IP literals, put in subjectAltName as DNS or IP entries; its
 * first name is the subject CN), when it is not signed by the current CA or
 * does not match server-key.pem, or when it expires within 30 days. Private
 * key files are unencrypted PKCS#8 PEM with mode 0600, certificates 0644. The
 * CA lives 10 years, server certificates 1 year (never past the CA).
 *
 * An existing ca.pem is never replaced: if it is unreadable, expired, or
 * ca-key.pem is missing or does not match it, the result is WSS_ERR_CONFIG
 * (remove both files to start a new CA). A ca-key.pem alone is the trace of an
 * interrupted creation and is replaced. Malformed hosts are WSS_ERR_INVALID.
 * Calls on the same dir from several processes at once are not coordinated. */
wss_err wss_tls_ensure(const char *dir, const char *const *hosts, char *err, size_t errlen);

/* The same with other file names for the server certificate and its key (the
 * emulator's Device Setup Service has its own certificate from the same CA). */
wss_err wss_tls_ensure_named(const char *dir, const char *const *hosts, const char *cert_name, const char *key_name,
                             char *err, size_t errlen);

/* ECDH on P-256: out receives the raw 32-byte X coordinate of the shared
 * point of priv's private scalar and peer's public point. WSS_ERR_INVALID
 * when priv holds no private half. */
wss_err wss_ecdh_p256(const wss_crypto_key *priv, const wss_crypto_key *peer, uint8_t out[32]);

/* HMAC-SHA256 of data under key; out receives 32 bytes. */
wss_err wss_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[32]);

#endif

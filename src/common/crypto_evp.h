/* crypto_evp.h - OpenSSL-typed internals shared inside src/common.
 *
 * crypto.h and x509.h keep OpenSSL types out of their callers' sight; the few
 * files of src/common that build or read certificates themselves (crypto.c,
 * x509.c, tls_ca.c, httpd.c) share these pieces instead of each keeping its
 * own copy. Nothing outside src/common includes this header. */
#ifndef WSS_COMMON_CRYPTO_EVP_H
#define WSS_COMMON_CRYPTO_EVP_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/crypto.h"

/* The key's EVP_PKEY, still owned by key (EVP_PKEY_up_ref it to keep it
 * longer than key). NULL when key is NULL. */
EVP_PKEY *wss_key_evp(const wss_crypto_key *key);

/* Formats a one-line reason into err (nothing when err is NULL or errlen 0). */
void wss_crypto_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A PEM passphrase callback that refuses: encrypted PEM is never prompted for
 * on a terminal, it fails to load instead. */
int wss_pem_no_password(char *buf, int size, int rwflag, void *u);

/* The first certificate of PEM text (len bytes; the text need not be
 * NUL-terminated), or NULL when there is none. Clears OpenSSL's error queue. */
X509 *wss_x509_from_pem(const char *pem, size_t len);

/* PEM text of cert, malloc'd; NULL on failure. */
char *wss_x509_to_pem(X509 *cert);

/* Sets the subject to the single attribute CN=cn (UTF-8). 1 on success. */
int wss_x509_set_subject_cn(X509 *cert, const char *cn);

/* Adds the extension nid with an OpenSSL config-style value ("critical,CA:TRUE",
 * "keyid:always", ...), computed against issuer. 1 on success. */
int wss_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

/* A self-signed CA certificate for key: subject and issuer CN=cn, critical
 * basicConstraints CA:TRUE, critical keyUsage keyCertSign+cRLSign, a subject
 * key identifier, valid from an hour ago for `days` days, signed with SHA-256.
 * NULL on failure. */
X509 *wss_x509_self_signed_ca(EVP_PKEY *key, const char *cn, int days);

/* An unsigned end-entity certificate for pub issued by issuer: version 3, a
 * random serial, valid from an hour ago for `days` days but never past the
 * issuer, the issuer's subject as issuer name, critical basicConstraints
 * CA:FALSE, critical keyUsage digitalSignature, subject and authority key
 * identifiers. The caller sets the subject, adds what else it needs
 * (extendedKeyUsage, subjectAltName) and signs with X509_sign. */
X509 *wss_x509_new_leaf(EVP_PKEY *pub, X509 *issuer, int days);

/* The first value of attribute nid (NID_commonName, NID_serialNumber, ...) of
 * name as UTF-8 into out. 1 on success; 0 with out = "" when the attribute is
 * absent, holds a NUL byte, or does not fit. */
int wss_x509_name_attr(const X509_NAME *name, int nid, char *out, size_t outlen);

/* Standard base64 of cert's DER SubjectPublicKeyInfo, malloc'd. A P-256 key
 * gives exactly what wss_key_public_b64 gives for it (uncompressed point);
 * other keys come as the certificate encodes them. NULL on failure. */
char *wss_x509_spki_b64(X509 *cert);

#endif

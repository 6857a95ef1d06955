/* x509.h - issuing and checking X.509 certificates for mutual TLS, over OpenSSL 3.
 *
 * A maker runs a device CA; each device gets a client certificate from it
 * naming the device (CN) and its serial number (the subject's serialNumber
 * attribute), for the device's own P-256 key. The device presents that
 * certificate (with any intermediates) over TLS; the server checks the chain
 * against the CA and matches the certificate's public key to the device's
 * registered key.
 *
 * Ownership: every char * returned is heap memory the caller frees with
 * free(); keys are freed with wss_key_free(). Functions that take an `err`
 * buffer write a one-line reason there on failure (never key material). */
#ifndef WSS_COMMON_X509_H
#define WSS_COMMON_X509_H

#include <stddef.h>

#include "common/crypto.h"
#include "wss/err.h"

/* Longest CN (in characters) and serialNumber (in bytes) a certificate takes:
 * the X.520 upper bounds, which OpenSSL enforces. */
#define WSS_X509_CN_MAX 64
#define WSS_X509_SERIAL_MAX 64

/* Lifetimes accepted, in days. 0 makes a certificate that has already
 * expired (its notAfter is a second before the moment of issue): useful only
 * to test the refusal of expired certificates. */
#define WSS_X509_DAYS_MAX 36500

/* A new self-signed CA on a fresh P-256 key: subject CN=cn, critical
 * basicConstraints CA:TRUE, critical keyUsage keyCertSign+cRLSign, valid from
 * an hour ago (to absorb clock differences) for `days` days. *key_out receives
 * the key pair, *cert_pem_out the certificate's PEM. cn must be 1 to
 * WSS_X509_CN_MAX characters of UTF-8; days 0 to WSS_X509_DAYS_MAX. Bad
 * arguments are WSS_ERR_INVALID. */
wss_err wss_x509_make_ca(const char *cn, int days, wss_crypto_key **key_out, char **cert_pem_out, char *err,
                         size_t errlen);

/* A client certificate for subject_key (its public half is all that is used)
 * issued by the CA ca_cert_pem / ca_key: subject CN=cn plus, when
 * serial_number is neither NULL nor "", the serialNumber attribute; a random
 * 128-bit certificate serial; critical basicConstraints CA:FALSE, critical
 * keyUsage digitalSignature, extendedKeyUsage clientAuth, subject and
 * authority key identifiers; valid from an hour ago for `days` days, cut at
 * the CA's own notAfter; signed with SHA-256.
 *
 * ca_cert_pem must be a CA certificate (basicConstraints CA:TRUE) matching
 * ca_key, which must hold its private half; it may be an intermediate, in
 * which case devices present the issued certificate followed by it.
 * serial_number is 1 to WSS_X509_SERIAL_MAX characters of the PrintableString
 * set (letters, digits, space and '()+,-./:=?). Bad arguments are
 * WSS_ERR_INVALID. */
wss_err wss_x509_issue_client(const wss_crypto_key *ca_key, const char *ca_cert_pem, const wss_crypto_key *subject_key,
                              const char *cn, const char *serial_number, int days, char **cert_pem_out, char *err,
                              size_t errlen);

/* The subject of a certificate made by wss_x509_make_ca_named or
 * wss_x509_issue_client_named. cn is required: 1 to WSS_X509_CN_MAX
 * characters of UTF-8. organization (O, the same rule) and serial_number are
 * left out when NULL or "". serial_number is 1 to WSS_X509_SERIAL_MAX
 * characters of printable ASCII (space to '~'); it is encoded as a
 * PrintableString when every character belongs to that set (letters, digits,
 * space and '()+,-./:=?), else as a UTF8String, because device serial numbers
 * may hold characters PrintableString lacks (_ # ; @ &). Readers here take
 * either (wss_x509_subject). */
typedef struct wss_x509_name {
    const char *cn;
    const char *organization;
    const char *serial_number;
} wss_x509_name;

/* Like wss_x509_make_ca, with subject `subject` (issuer the same), critical
 * basicConstraints CA:TRUE with pathLenConstraint `pathlen` (0 to 8; 0 means
 * it signs end-entity certificates only), critical keyUsage keyCertSign
 * alone, a subject key identifier. Bad arguments are WSS_ERR_INVALID. */
wss_err wss_x509_make_ca_named(const wss_x509_name *subject, int pathlen, int days, wss_crypto_key **key_out,
                               char **cert_pem_out, char *err, size_t errlen);

/* Like wss_x509_issue_client, with subject `subject` (see wss_x509_name for
 * the attributes and their encodings); everything else is the same. */
wss_err wss_x509_issue_client_named(const wss_crypto_key *ca_key, const char *ca_cert_pem,
                                    const wss_crypto_key *subject_key, const wss_x509_name *subject, int days,
                                    char **cert_pem_out, char *err, size_t errlen);

/* Verifies chain_pem (the leaf certificate first, then any intermediates, as
 * a TLS client sends them) against the CA certificates of ca_pem, now, for
 * TLS client authentication: every certificate time-valid, each signed by the
 * next, the leaf's extendedKeyUsage (when it has one) allowing clientAuth.
 * Every certificate in ca_pem is a trust anchor, self-signed or not, so a
 * maker's device CA may itself be an intermediate of a maker root. No
 * revocation check.
 *
 * WSS_OK when it verifies; then, when subject_cn is not NULL, it receives the
 * leaf's CN ("" when absent or longer than cnlen - 1 bytes).
 * WSS_ERR_VERIFY when it does not (err says why, in OpenSSL's words).
 * WSS_ERR_INVALID when either text holds no certificate or a block that is not
 * a readable certificate, when chain_pem is over 64 KiB or 10 certificates, or
 * ca_pem over 1 MiB or 1000 certificates. */
wss_err wss_x509_verify_chain(const char *chain_pem, const char *ca_pem, char *subject_cn, size_t cnlen, char *err,
                              size_t errlen);

/* Standard base64 of the DER SubjectPublicKeyInfo of the first certificate of
 * cert_pem, into *out. For a P-256 key this is exactly the string
 * wss_key_public_b64 gives for the key (uncompressed point), so it can be
 * compared with a device's registered key. WSS_ERR_INVALID when cert_pem holds
 * no certificate. */
wss_err wss_x509_public_key_b64(const char *cert_pem, char **out);

/* The subject CN and serialNumber attribute of the first certificate of
 * cert_pem (either output may be NULL to skip it). An attribute that is absent
 * or does not fit its buffer reads as "". WSS_ERR_INVALID when cert_pem holds
 * no certificate. */
wss_err wss_x509_subject(const char *cert_pem, char *cn, size_t cnlen, char *serial, size_t seriallen);

#endif

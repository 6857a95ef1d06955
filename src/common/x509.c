/* x509.c - certificates for mutual TLS over OpenSSL 3: device CAs, client
 * certificates, chain checks, and the certificate-building pieces shared with
 * the local CA of tls_ca.c. */
#include "common/x509.h"
#include "common/crypto_evp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* Backdating absorbs small clock differences between the issuer and verifiers. */
#define BACKDATE_SECONDS (60L * 60)
/* A device's chain is a leaf and an intermediate or two; the caps keep
 * hostile input from reaching the parser at arbitrary size. */
#define CHAIN_TEXT_MAX 65536
#define CHAIN_CERTS_MAX 10
/* A CA bundle may be a little larger: several makers' CAs. */
#define CA_TEXT_MAX (1024 * 1024)
#define CA_CERTS_MAX 1000

/* ---- PEM --------------------------------------------------------------------- */

X509 *wss_x509_from_pem(const char *pem, size_t len)
{
    if (!pem || len > INT_MAX)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, wss_pem_no_password, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    return cert;
}

char *wss_x509_to_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    BUF_MEM *bm = NULL;
    char *s = NULL;
    if (bio && PEM_write_bio_X509(bio, cert) == 1)
        BIO_get_mem_ptr(bio, &bm);
    if (bm && (s = malloc(bm->length + 1)) != NULL) {
        memcpy(s, bm->data, bm->length);
        s[bm->length] = 0;
    }
    BIO_free(bio);
    ERR_clear_error();
    return s;
}

/* The first certificate of NUL-terminated text of at most max bytes. */
static X509 *first_cert(const char *pem, size_t max)
{
    size_t len = pem ? strnlen(pem, max + 1) : 0;
    return len && len <= max ? wss_x509_from_pem(pem, len) : NULL;
}

/* Every certificate of NUL-terminated PEM text, in order; NULL when there is
 * none, when a block is not a readable certificate, or beyond the caps. */
static STACK_OF(X509) * read_certs(const char *pem, size_t max_text, int max_certs)
{
    size_t len = pem ? strnlen(pem, max_text + 1) : 0;
    if (!len || len > max_text)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *certs = bio ? sk_X509_new_null() : NULL;
    X509 *c;
    ERR_clear_error();
    while (certs && (c = PEM_read_bio_X509(bio, NULL, wss_pem_no_password, NULL)) != NULL) {
        if (sk_X509_num(certs) >= max_certs || sk_X509_push(certs, c) <= 0) {
            X509_free(c);
            sk_X509_pop_free(certs, X509_free);
            certs = NULL;
        }
    }
    /* The loop ends on the first failure; only "no more PEM" is the normal end. */
    unsigned long e = ERR_peek_last_error();
    if (certs &&
        (sk_X509_num(certs) == 0 || ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)) {
        sk_X509_pop_free(certs, X509_free);
        certs = NULL;
    }
    BIO_free(bio);
    ERR_clear_error();
    return certs;
}

/* ---- building certificates ------------------------------------------------- */

/* 16 random bytes, kept positive and at full length (RFC 5280 allows 20 octets). */
static int set_random_serial(X509 *cert)
{
    unsigned char b[16];
    if (wss_random_bytes(b, sizeof b) != WSS_OK)
        return 0;
    b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok;
}

int wss_x509_set_subject_cn(X509 *cert, const char *cn)
{
    X509_NAME *name = X509_get_subject_name(cert);
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1;
}

/* A version-3 certificate for key, with a fresh serial, valid from a little
 * before now for `days`; subject and issuer are left to the caller. days = 0
 * ends it a second ago: validity includes the notAfter second itself (RFC
 * 5280), so "now" would still be valid for GnuTLS though not for OpenSSL. */
static X509 *new_cert(EVP_PKEY *key, int days)
{
    X509 *cert = X509_new();
    if (!cert)
        return NULL;
    if (X509_set_version(cert, X509_VERSION_3) != 1 || !set_random_serial(cert) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -BACKDATE_SECONDS) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), days, days ? 0 : -1, NULL) || X509_set_pubkey(cert, key) != 1) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

int wss_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* Never outlive the issuer: a chain with an expired CA fails anyway. */
static int clamp_to_issuer(X509 *cert, X509 *issuer)
{
    const ASN1_TIME *end = X509_get0_notAfter(issuer);
    if (ASN1_TIME_compare(X509_get0_notAfter(cert), end) <= 0)
        return 1;
    return X509_set1_notAfter(cert, end) == 1;
}

X509 *wss_x509_self_signed_ca(EVP_PKEY *key, const char *cn, int days)
{
    X509 *c = key ? new_cert(key, days) : NULL;
    if (!c || !wss_x509_set_subject_cn(c, cn) || X509_set_issuer_name(c, X509_get_subject_name(c)) != 1 ||
        !wss_x509_add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") ||
        !wss_x509_add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !wss_x509_add_ext(c, c, NID_subject_key_identifier, "hash") || X509_sign(c, key, EVP_sha256()) <= 0) {
        X509_free(c);
        ERR_clear_error();
        return NULL;
    }
    return c;
}

X509 *wss_x509_new_leaf(EVP_PKEY *pub, X509 *issuer, int days)
{
    X509 *c = pub && issuer ? new_cert(pub, days) : NULL;
    if (!c || !clamp_to_issuer(c, issuer) || X509_set_issuer_name(c, X509_get_subject_name(issuer)) != 1 ||
        !wss_x509_add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
        !wss_x509_add_ext(c, issuer, NID_key_usage, "critical,digitalSignature") ||
        !wss_x509_add_ext(c, issuer, NID_subject_key_identifier, "hash") ||
        !wss_x509_add_ext(c, issuer, NID_authority_key_identifier, "keyid:always")) {
        X509_free(c);
        ERR_clear_error();
        return NULL;
    }
    return c;
}

/* ---- reading certificates -------------------------------------------------- */

int wss_x509_name_attr(const X509_NAME *name, int nid, char *out, size_t outlen)
{
    if (!out || !outlen)
        return 0;
    out[0] = 0;
    int i = name ? X509_NAME_get_index_by_NID(name, nid, -1) : -1;
    if (i < 0)
        return 0;
    const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int n = v ? ASN1_STRING_to_UTF8(&utf8, v) : -1;
    int ok = n >= 0 && (size_t)n < outlen && (n == 0 || memchr(utf8, 0, (size_t)n) == NULL);
    if (ok) {
        memcpy(out, utf8, (size_t)n);
        out[n] = 0;
    }
    OPENSSL_free(utf8);
    ERR_clear_error();
    return ok;
}

char *wss_x509_spki_b64(X509 *cert)
{
    unsigned char *der = NULL;
    int len = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : -1;
    char *b64 = len > 0 ? wss_base64_encode(der, (size_t)len) : NULL;
    OPENSSL_free(der);
    ERR_clear_error();
    /* A P-256 key goes through the key code so that a compressed point reads
     * the same as wss_key_public_b64 of the key. */
    wss_crypto_key *key = NULL;
    if (b64 && wss_key_parse_public(b64, &key, NULL, 0) == WSS_OK) {
        char *same = wss_key_public_b64(key);
        if (same) {
            free(b64);
            b64 = same;
        }
    }
    wss_key_free(key);
    return b64;
}

/* ---- the public API ---------------------------------------------------------- */

static int cn_valid(const char *cn)
{
    return cn && ASN1_mbstring_ncopy(NULL, (const unsigned char *)cn, -1, MBSTRING_UTF8, B_ASN1_UTF8STRING, 1,
                                     WSS_X509_CN_MAX) > 0;
}

static int serial_valid(const char *s)
{
    return s && ASN1_mbstring_ncopy(NULL, (const unsigned char *)s, -1, MBSTRING_ASC, B_ASN1_PRINTABLESTRING, 1,
                                    WSS_X509_SERIAL_MAX) > 0;
}

static int days_valid(int days) { return days >= 0 && days <= WSS_X509_DAYS_MAX; }

wss_err wss_x509_make_ca(const char *cn, int days, wss_crypto_key **key_out, char **cert_pem_out, char *err,
                         size_t errlen)
{
    wss_crypto_set_err(err, errlen, "%s", "");
    if (key_out)
        *key_out = NULL;
    if (cert_pem_out)
        *cert_pem_out = NULL;
    if (!key_out || !cert_pem_out) {
        wss_crypto_set_err(err, errlen, "no place for the CA key and certificate");
        return WSS_ERR_INVALID;
    }
    int cn_ok = cn_valid(cn);
    ERR_clear_error();
    if (!cn_ok) {
        wss_crypto_set_err(err, errlen, "the CA name must be 1 to %d characters of UTF-8", WSS_X509_CN_MAX);
        return WSS_ERR_INVALID;
    }
    if (!days_valid(days)) {
        wss_crypto_set_err(err, errlen, "the CA lifetime must be 0 to %d days", WSS_X509_DAYS_MAX);
        return WSS_ERR_INVALID;
    }
    wss_crypto_key *key = NULL;
    wss_err rc = wss_key_generate(&key);
    X509 *cert = rc == WSS_OK ? wss_x509_self_signed_ca(wss_key_evp(key), cn, days) : NULL;
    char *pem = cert ? wss_x509_to_pem(cert) : NULL;
    X509_free(cert);
    if (!pem) {
        wss_key_free(key);
        wss_crypto_set_err(err, errlen, "cannot create the CA certificate");
        return rc == WSS_ERR_NOMEM ? rc : WSS_ERR_CRYPTO;
    }
    *key_out = key;
    *cert_pem_out = pem;
    return WSS_OK;
}

/* 1 when key holds a private scalar (keys here are always EC). */
static int has_private(const wss_crypto_key *key)
{
    BIGNUM *priv = NULL;
    EVP_PKEY *pk = wss_key_evp(key);
    int ok = pk && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1;
    BN_clear_free(priv);
    ERR_clear_error();
    return ok;
}

/* serialNumber text for the named variant: printable ASCII of the right length. */
static int serial_ascii_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > WSS_X509_SERIAL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* The PrintableString set of X.680: letters, digits, space and '()+,-./:=?. */
static int printable_string(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(" '()+,-./:=?", *s)))
            return 0;
    return 1;
}

static int present(const char *s) { return s && *s; }

/* Checks the issuing arguments; serial_any_ascii selects the named variant's
 * wider serialNumber rule. */
static wss_err check_issue_args(const wss_crypto_key *ca_key, const char *ca_cert_pem,
                                const wss_crypto_key *subject_key, const wss_x509_name *name, int serial_any_ascii,
                                int days, char *err, size_t errlen)
{
    int cn_ok = cn_valid(name->cn), org_ok = !present(name->organization) || cn_valid(name->organization);
    int serial_ok = !present(name->serial_number) ||
                    (serial_any_ascii ? serial_ascii_valid(name->serial_number) : serial_valid(name->serial_number));
    ERR_clear_error();
    if (!ca_key || !ca_cert_pem || !subject_key)
        wss_crypto_set_err(err, errlen, "the CA key, CA certificate and subject key are all required");
    else if (!has_private(ca_key))
        wss_crypto_set_err(err, errlen, "the CA key has no private half");
    else if (!cn_ok)
        wss_crypto_set_err(err, errlen, "the subject CN must be 1 to %d characters of UTF-8", WSS_X509_CN_MAX);
    else if (!org_ok)
        wss_crypto_set_err(err, errlen, "the subject O must be 1 to %d characters of UTF-8", WSS_X509_CN_MAX);
    else if (!serial_ok && serial_any_ascii)
        wss_crypto_set_err(err, errlen, "the serial number must be 1 to %d printable ASCII characters",
                           WSS_X509_SERIAL_MAX);
    else if (!serial_ok)
        wss_crypto_set_err(
            err, errlen, "the serial number must be 1 to %d printable characters (letters, digits, space, '()+,-./:=?)",
            WSS_X509_SERIAL_MAX);
    else if (!days_valid(days))
        wss_crypto_set_err(err, errlen, "the certificate lifetime must be 0 to %d days", WSS_X509_DAYS_MAX);
    else
        return WSS_OK;
    return WSS_ERR_INVALID;
}

/* Adds O and serialNumber (when given) after the CN already set. 1 on success. */
static int add_name_extras(X509 *c, const wss_x509_name *n)
{
    X509_NAME *name = X509_get_subject_name(c);
    if (present(n->organization) && X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                                               (const unsigned char *)n->organization, -1, -1, 0) != 1)
        return 0;
    if (!present(n->serial_number))
        return 1;
    /* A type without MBSTRING_FLAG stores the bytes as given, with that tag. */
    int type = printable_string(n->serial_number) ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING;
    return X509_NAME_add_entry_by_NID(name, NID_serialNumber, type, (const unsigned char *)n->serial_number, -1, -1,
                                      0) == 1;
}

static wss_err issue_client(const wss_crypto_key *ca_key, const char *ca_cert_pem, const wss_crypto_key *subject_key,
                            const wss_x509_name *subject, int serial_any_ascii, int days, char **cert_pem_out,
                            char *err, size_t errlen)
{
    wss_crypto_set_err(err, errlen, "%s", "");
    if (!cert_pem_out || !subject) {
        wss_crypto_set_err(err, errlen, "no place for the certificate, or no subject");
        return WSS_ERR_INVALID;
    }
    *cert_pem_out = NULL;
    wss_err rc = check_issue_args(ca_key, ca_cert_pem, subject_key, subject, serial_any_ascii, days, err, errlen);
    if (rc != WSS_OK)
        return rc;
    X509 *ca = first_cert(ca_cert_pem, CHAIN_TEXT_MAX);
    if (!ca) {
        wss_crypto_set_err(err, errlen, "the CA certificate is not a PEM certificate");
        return WSS_ERR_INVALID;
    }
    rc = WSS_ERR_INVALID;
    X509 *c = NULL;
    char *pem = NULL;
    if (X509_check_ca(ca) != 1)
        wss_crypto_set_err(err, errlen, "the CA certificate is not a CA (basicConstraints CA:TRUE)");
    else if (X509_check_private_key(ca, wss_key_evp(ca_key)) != 1)
        wss_crypto_set_err(err, errlen, "the CA key does not match the CA certificate");
    else {
        rc = WSS_ERR_CRYPTO;
        c = wss_x509_new_leaf(wss_key_evp(subject_key), ca, days);
        int ok = c && wss_x509_set_subject_cn(c, subject->cn) && add_name_extras(c, subject) &&
                 wss_x509_add_ext(c, ca, NID_ext_key_usage, "clientAuth") &&
                 X509_sign(c, wss_key_evp(ca_key), EVP_sha256()) > 0;
        pem = ok ? wss_x509_to_pem(c) : NULL;
        if (pem)
            rc = WSS_OK;
        else
            wss_crypto_set_err(err, errlen, "cannot issue the client certificate");
    }
    ERR_clear_error();
    X509_free(c);
    X509_free(ca);
    *cert_pem_out = pem;
    return rc;
}

wss_err wss_x509_issue_client(const wss_crypto_key *ca_key, const char *ca_cert_pem, const wss_crypto_key *subject_key,
                              const char *cn, const char *serial_number, int days, char **cert_pem_out, char *err,
                              size_t errlen)
{
    wss_x509_name name = {.cn = cn, .serial_number = serial_number};
    return issue_client(ca_key, ca_cert_pem, subject_key, &name, 0, days, cert_pem_out, err, errlen);
}

wss_err wss_x509_issue_client_named(const wss_crypto_key *ca_key, const char *ca_cert_pem,
                                    const wss_crypto_key *subject_key, const wss_x509_name *subject, int days,
                                    char **cert_pem_out, char *err, size_t errlen)
{
    return issue_client(ca_key, ca_cert_pem, subject_key, subject, 1, days, cert_pem_out, err, errlen);
}

/* The self-signed CA of wss_x509_make_ca_named; NULL on failure. */
static X509 *named_ca(EVP_PKEY *key, const wss_x509_name *subject, int pathlen, int days)
{
    char bc[48];
    snprintf(bc, sizeof bc, "critical,CA:TRUE,pathlen:%d", pathlen);
    X509 *c = key ? new_cert(key, days) : NULL;
    if (!c || !wss_x509_set_subject_cn(c, subject->cn) || !add_name_extras(c, subject) ||
        X509_set_issuer_name(c, X509_get_subject_name(c)) != 1 || !wss_x509_add_ext(c, c, NID_basic_constraints, bc) ||
        !wss_x509_add_ext(c, c, NID_key_usage, "critical,keyCertSign") ||
        !wss_x509_add_ext(c, c, NID_subject_key_identifier, "hash") || X509_sign(c, key, EVP_sha256()) <= 0) {
        X509_free(c);
        ERR_clear_error();
        return NULL;
    }
    return c;
}

wss_err wss_x509_make_ca_named(const wss_x509_name *subject, int pathlen, int days, wss_crypto_key **key_out,
                               char **cert_pem_out, char *err, size_t errlen)
{
    wss_crypto_set_err(err, errlen, "%s", "");
    if (key_out)
        *key_out = NULL;
    if (cert_pem_out)
        *cert_pem_out = NULL;
    if (!key_out || !cert_pem_out || !subject) {
        wss_crypto_set_err(err, errlen, "no subject, or no place for the CA key and certificate");
        return WSS_ERR_INVALID;
    }
    int cn_ok = cn_valid(subject->cn), org_ok = !present(subject->organization) || cn_valid(subject->organization);
    int serial_ok = !present(subject->serial_number) || serial_ascii_valid(subject->serial_number);
    ERR_clear_error();
    if (!cn_ok || !org_ok) {
        wss_crypto_set_err(err, errlen, "the CA's CN and O must be 1 to %d characters of UTF-8", WSS_X509_CN_MAX);
        return WSS_ERR_INVALID;
    }
    if (!serial_ok) {
        wss_crypto_set_err(err, errlen, "the CA's serial number must be 1 to %d printable ASCII characters",
                           WSS_X509_SERIAL_MAX);
        return WSS_ERR_INVALID;
    }
    if (pathlen < 0 || pathlen > 8 || !days_valid(days)) {
        wss_crypto_set_err(err, errlen, "the path length must be 0 to 8 and the lifetime 0 to %d days",
                           WSS_X509_DAYS_MAX);
        return WSS_ERR_INVALID;
    }
    wss_crypto_key *key = NULL;
    wss_err rc = wss_key_generate(&key);
    X509 *cert = rc == WSS_OK ? named_ca(wss_key_evp(key), subject, pathlen, days) : NULL;
    char *pem = cert ? wss_x509_to_pem(cert) : NULL;
    X509_free(cert);
    if (!pem) {
        wss_key_free(key);
        wss_crypto_set_err(err, errlen, "cannot create the CA certificate");
        return rc == WSS_ERR_NOMEM ? rc : WSS_ERR_CRYPTO;
    }
    *key_out = key;
    *cert_pem_out = pem;
    return WSS_OK;
}

wss_err wss_x509_verify_chain(const char *chain_pem, const char *ca_pem, char *subject_cn, size_t cnlen, char *err,
                              size_t errlen)
{
    wss_crypto_set_err(err, errlen, "%s", "");
    if (subject_cn && cnlen)
        subject_cn[0] = 0;
    STACK_OF(X509) *chain = read_certs(chain_pem, CHAIN_TEXT_MAX, CHAIN_CERTS_MAX);
    STACK_OF(X509) *roots = read_certs(ca_pem, CA_TEXT_MAX, CA_CERTS_MAX);
    if (!chain || !roots) {
        wss_crypto_set_err(err, errlen, "the %s is not PEM certificates (or is too large)",
                           chain ? "CA bundle" : "chain");
        sk_X509_pop_free(chain, X509_free);
        sk_X509_pop_free(roots, X509_free);
        return WSS_ERR_INVALID;
    }
    wss_err rc = WSS_ERR_CRYPTO;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = store && ctx;
    for (int i = 0; ok && i < sk_X509_num(roots); i++)
        ok = X509_STORE_add_cert(store, sk_X509_value(roots, i)) == 1;
    X509 *leaf = sk_X509_value(chain, 0);
    ok = ok && X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) == 1 &&
         X509_STORE_CTX_init(ctx, store, leaf, chain) == 1 &&
         X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1;
    if (!ok) {
        wss_crypto_set_err(err, errlen, "cannot set up the certificate check");
    } else if (X509_verify_cert(ctx) == 1) {
        rc = WSS_OK;
        if (subject_cn)
            wss_x509_name_attr(X509_get_subject_name(leaf), NID_commonName, subject_cn, cnlen);
    } else {
        rc = WSS_ERR_VERIFY;
        wss_crypto_set_err(err, errlen, "certificate chain does not verify: %s",
                           X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(roots, X509_free);
    return rc;
}

wss_err wss_x509_public_key_b64(const char *cert_pem, char **out)
{
    if (!out)
        return WSS_ERR_INVALID;
    X509 *cert = first_cert(cert_pem, CHAIN_TEXT_MAX);
    *out = cert ? wss_x509_spki_b64(cert) : NULL;
    X509_free(cert);
    return !cert ? WSS_ERR_INVALID : *out ? WSS_OK : WSS_ERR_CRYPTO;
}

wss_err wss_x509_subject(const char *cert_pem, char *cn, size_t cnlen, char *serial, size_t seriallen)
{
    if (cn && cnlen)
        cn[0] = 0;
    if (serial && seriallen)
        serial[0] = 0;
    X509 *cert = first_cert(cert_pem, CHAIN_TEXT_MAX);
    if (!cert)
        return WSS_ERR_INVALID;
    const X509_NAME *name = X509_get_subject_name(cert);
    if (cn)
        wss_x509_name_attr(name, NID_commonName, cn, cnlen);
    if (serial)
        wss_x509_name_attr(name, NID_serialNumber, serial, seriallen);
    X509_free(cert);
    return WSS_OK;
}

/* tls_ca.c - the local certificate authority and server certificate for the emulator's HTTPS. */
#include "common/crypto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto_evp.h"
#include "common/file.h"
#include "common/x509.h"

#define CA_DAYS 3650
#define SERVER_DAYS 365
#define RENEW_BEFORE_SECONDS (30L * 24 * 60 * 60)
#define PEM_FILE_MAX 65536
#define DNS_NAME_MAX 253
#define CA_CN "openwss local CA"

typedef struct tls_pair {
    X509 *cert;
    EVP_PKEY *key;
} tls_pair;

static void pair_free(tls_pair *p)
{
    X509_free(p->cert);
    EVP_PKEY_free(p->key);
    p->cert = NULL;
    p->key = NULL;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

/* ---- files ----------------------------------------------------------------- */

/* WSS_ERR_NOT_FOUND when the file is missing, WSS_ERR_INVALID when unreadable as PEM. */
static wss_err load_cert(const char *path, X509 **out)
{
    char *text = NULL;
    size_t len = 0;
    wss_err rc = wss_read_file(path, PEM_FILE_MAX, &text, &len);
    if (rc != WSS_OK)
        return rc;
    *out = wss_x509_from_pem(text, len);
    free(text);
    return *out ? WSS_OK : WSS_ERR_INVALID;
}

static wss_err load_key(const char *path, EVP_PKEY **out)
{
    char *text = NULL;
    size_t len = 0;
    wss_err rc = wss_read_file(path, PEM_FILE_MAX, &text, &len);
    if (rc != WSS_OK)
        return rc;
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, wss_pem_no_password, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(text, len);
    free(text);
    ERR_clear_error();
    return *out ? WSS_OK : WSS_ERR_INVALID;
}

/* Writes what a PEM writer put in a memory BIO to path, atomically. */
static wss_err save_bio(const char *path, BIO *bio, unsigned mode, int sensitive)
{
    BUF_MEM *bm = NULL;
    BIO_get_mem_ptr(bio, &bm);
    if (!bm)
        return WSS_ERR_CRYPTO;
    wss_err rc = wss_write_file_atomic(path, bm->data, bm->length, mode);
    if (sensitive)
        OPENSSL_cleanse(bm->data, bm->length);
    return rc;
}

static wss_err save_cert(const char *path, X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    wss_err rc = WSS_ERR_CRYPTO;
    if (bio && PEM_write_bio_X509(bio, cert) == 1)
        rc = save_bio(path, bio, 0644, 0);
    BIO_free(bio);
    return rc;
}

/* PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the form GnuTLS, and so
 * libmicrohttpd, loads without further options. */
static wss_err save_key(const char *path, EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    wss_err rc = WSS_ERR_CRYPTO;
    if (bio && PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
        rc = save_bio(path, bio, 0600, 1);
    BIO_free(bio);
    return rc;
}

/* Key first, then certificate: an interruption in between leaves a certificate
 * that no longer matches its key, which the next call detects and repairs. */
static wss_err save_pair(const char *dir, const char *cert_name, const char *key_name, const tls_pair *p)
{
    char *cert_path = join(dir, cert_name), *key_path = join(dir, key_name);
    wss_err rc = WSS_ERR_NOMEM;
    if (cert_path && key_path) {
        rc = save_key(key_path, p->key);
        if (rc == WSS_OK)
            rc = save_cert(cert_path, p->cert);
    }
    free(cert_path);
    free(key_path);
    return rc;
}

/* ---- building certificates ------------------------------------------------- */

static wss_err make_ca(tls_pair *ca)
{
    ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ca->cert = ca->key ? wss_x509_self_signed_ca(ca->key, CA_CN, CA_DAYS) : NULL;
    if (!ca->cert) {
        pair_free(ca);
        ERR_clear_error();
        return WSS_ERR_CRYPTO;
    }
    return WSS_OK;
}

/* ---- hosts ----------------------------------------------------------------- */

/* The binary address of an IP literal (4 or 16 bytes), or 0 for anything else. */
static int host_ip(const char *host, unsigned char addr[16])
{
    if (inet_pton(AF_INET, host, addr) == 1)
        return 4;
    if (inet_pton(AF_INET6, host, addr) == 1)
        return 16;
    return 0;
}

/* Only plain host names go into a DNS entry; anything else (spaces, commas,
 * brackets, an empty label) is a caller mistake better reported than signed. */
static int dns_name_valid(const char *host)
{
    size_t n = strlen(host), label = 0;
    if (n == 0 || n > DNS_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || ++label > 63)
            return 0;
    }
    return label > 0;
}

static int hosts_valid(const char *const *hosts)
{
    unsigned char addr[16];
    if (!hosts || !hosts[0])
        return 0;
    for (size_t i = 0; hosts[i]; i++)
        if (!host_ip(hosts[i], addr) && !dns_name_valid(hosts[i]))
            return 0;
    return 1;
}

static GENERAL_NAME *host_general_name(const char *host)
{
    unsigned char addr[16];
    int alen = host_ip(host, addr);
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_STRING *s = alen ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    int ok = gn && s && (alen ? ASN1_OCTET_STRING_set(s, addr, alen) : ASN1_STRING_set(s, host, -1)) == 1;
    if (!ok) {
        ASN1_STRING_free(s);
        GENERAL_NAME_free(gn);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, alen ? GEN_IPADD : GEN_DNS, s);
    return gn;
}

/* 1 when a and b name the same host (IP literals compared as addresses). */
static int same_host(const char *a, const char *b)
{
    unsigned char aa[16], ba[16];
    int alen = host_ip(a, aa), blen = host_ip(b, ba);
    if (alen || blen)
        return alen == blen && memcmp(aa, ba, (size_t)alen) == 0;
    return strcasecmp(a, b) == 0;
}

static int listed_before(const char *const *hosts, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (same_host(hosts[j], hosts[i]))
            return 1;
    return 0;
}

static int add_san(X509 *cert, const char *const *hosts)
{
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    int ok = names != NULL;
    for (size_t i = 0; ok && hosts[i]; i++) {
        if (listed_before(hosts, i)) /* callers often repeat localhost */
            continue;
        GENERAL_NAME *gn = host_general_name(hosts[i]);
        ok = gn && sk_GENERAL_NAME_push(names, gn) > 0;
        if (!ok)
            GENERAL_NAME_free(gn);
    }
    ok = ok && X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(names);
    return ok;
}

static int san_matches(const GENERAL_NAME *gn, const char *host)
{
    unsigned char addr[16];
    int alen = host_ip(host, addr);
    int type;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
    if (alen)
        return type == GEN_IPADD && ASN1_STRING_length(s) == alen &&
               memcmp(ASN1_STRING_get0_data(s), addr, (size_t)alen) == 0;
    return type == GEN_DNS && ASN1_STRING_length(s) == (int)strlen(host) &&
           strncasecmp((const char *)ASN1_STRING_get0_data(s), host, strlen(host)) == 0;
}

/* 1 when the certificate's subjectAltName lists every host. */
static int cert_covers(X509 *cert, const char *const *hosts)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int all = names != NULL;
    for (size_t i = 0; all && hosts[i]; i++) {
        int found = 0;
        for (int j = 0; !found && j < sk_GENERAL_NAME_num(names); j++)
            found = san_matches(sk_GENERAL_NAME_value(names, j), hosts[i]);
        all = found;
    }
    GENERAL_NAMES_free(names);
    return all;
}

/* ---- the CA and the server certificate ------------------------------------- */

/* 1 when cert is still valid `margin` seconds from now. */
static int valid_for(X509 *cert, long margin)
{
    time_t t = time(NULL) + margin;
    return X509_cmp_time(X509_get0_notAfter(cert), &t) > 0;
}

static wss_err load_pair(const char *dir, const char *cert_name, const char *key_name, tls_pair *p, wss_err *cert_rc,
                         wss_err *key_rc)
{
    char *cert_path = join(dir, cert_name), *key_path = join(dir, key_name);
    if (!cert_path || !key_path) {
        free(cert_path);
        free(key_path);
        return WSS_ERR_NOMEM;
    }
    *cert_rc = load_cert(cert_path, &p->cert);
    *key_rc = load_key(key_path, &p->key);
    free(cert_path);
    free(key_path);
    return WSS_OK;
}

/* Loads the CA, creating it only when there is none. An existing ca.pem is never
 * replaced: clients may already trust it. A ca-key.pem without ca.pem is the
 * trace of an interrupted creation (the key is written first), so it is
 * replaced. */
static wss_err ensure_ca(const char *dir, tls_pair *ca, char *err, size_t errlen)
{
    wss_err cert_rc, key_rc;
    wss_err rc = load_pair(dir, "ca.pem", "ca-key.pem", ca, &cert_rc, &key_rc);
    if (rc != WSS_OK)
        return rc;
    if (cert_rc == WSS_ERR_NOT_FOUND) {
        pair_free(ca);
        if ((rc = make_ca(ca)) != WSS_OK) {
            wss_crypto_set_err(err, errlen, "cannot create the local CA");
            return rc;
        }
        if ((rc = save_pair(dir, "ca.pem", "ca-key.pem", ca)) != WSS_OK)
            wss_crypto_set_err(err, errlen, "cannot write the local CA into %s: %s", dir, wss_strerror(rc));
        return rc;
    }
    if (cert_rc != WSS_OK || key_rc != WSS_OK) {
        wss_crypto_set_err(err, errlen, "%s in %s: %s", cert_rc != WSS_OK ? "ca.pem" : "ca-key.pem", dir,
                           wss_strerror(cert_rc != WSS_OK ? cert_rc : key_rc));
        return WSS_ERR_CONFIG;
    }
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        ERR_clear_error();
        wss_crypto_set_err(err, errlen, "ca.pem and ca-key.pem in %s do not match", dir);
        return WSS_ERR_CONFIG;
    }
    if (!valid_for(ca->cert, 0)) {
        wss_crypto_set_err(err, errlen, "the local CA in %s has expired; remove ca.pem and ca-key.pem", dir);
        return WSS_ERR_CONFIG;
    }
    return WSS_OK;
}

/* 1 when the existing server certificate can be kept. */
static int server_current(const tls_pair *srv, const tls_pair *ca, const char *const *hosts)
{
    EVP_PKEY *ca_pub = X509_get0_pubkey(ca->cert);
    int ok = srv->cert && srv->key && X509_check_private_key(srv->cert, srv->key) == 1 &&
             X509_check_issued(ca->cert, srv->cert) == X509_V_OK && ca_pub && X509_verify(srv->cert, ca_pub) == 1 &&
             valid_for(srv->cert, RENEW_BEFORE_SECONDS) && cert_covers(srv->cert, hosts);
    ERR_clear_error();
    return ok;
}

static wss_err make_server(const tls_pair *ca, const char *const *hosts, tls_pair *srv)
{
    /* CN is informational (clients match subjectAltName), so a name too long
     * for it gets a generic one rather than an error. */
    const char *cn = strlen(hosts[0]) <= WSS_X509_CN_MAX ? hosts[0] : "openwss server";
    srv->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    srv->cert = srv->key ? wss_x509_new_leaf(srv->key, ca->cert, SERVER_DAYS) : NULL;
    X509 *c = srv->cert;
    if (!c || !wss_x509_set_subject_cn(c, cn) || !add_san(c, hosts) ||
        !wss_x509_add_ext(c, ca->cert, NID_ext_key_usage, "serverAuth") || X509_sign(c, ca->key, EVP_sha256()) <= 0) {
        pair_free(srv);
        ERR_clear_error();
        return WSS_ERR_CRYPTO;
    }
    return WSS_OK;
}

static wss_err ensure_server(const char *dir, const tls_pair *ca, const char *const *hosts, const char *cert_name,
                             const char *key_name, char *err, size_t errlen)
{
    tls_pair srv = {0};
    wss_err cert_rc, key_rc;
    wss_err rc = load_pair(dir, cert_name, key_name, &srv, &cert_rc, &key_rc);
    if (rc == WSS_OK && !server_current(&srv, ca, hosts)) {
        pair_free(&srv);
        if ((rc = make_server(ca, hosts, &srv)) != WSS_OK)
            wss_crypto_set_err(err, errlen, "cannot issue the server certificate");
        else if ((rc = save_pair(dir, cert_name, key_name, &srv)) != WSS_OK)
            wss_crypto_set_err(err, errlen, "cannot write the server certificate into %s: %s", dir, wss_strerror(rc));
    }
    pair_free(&srv);
    return rc;
}

wss_err wss_tls_ensure(const char *dir, const char *const *hosts, char *err, size_t errlen)
{
    return wss_tls_ensure_named(dir, hosts, "server.pem", "server-key.pem", err, errlen);
}

wss_err wss_tls_ensure_named(const char *dir, const char *const *hosts, const char *cert_name, const char *key_name,
                             char *err, size_t errlen)
{
    wss_crypto_set_err(err, errlen, "%s", "");
    if (!dir || !*dir) {
        wss_crypto_set_err(err, errlen, "no state folder given");
        return WSS_ERR_INVALID;
    }
    if (!hosts_valid(hosts)) {
        wss_crypto_set_err(err, errlen, "hosts must be a non-empty list of DNS names or IP addresses");
        return WSS_ERR_INVALID;
    }
    wss_err rc = wss_mkdir(dir);
    if (rc != WSS_OK) {
        wss_crypto_set_err(err, errlen, "cannot create %s: %s", dir, wss_strerror(rc));
        return rc;
    }
    tls_pair ca = {0};
    rc = ensure_ca(dir, &ca, err, errlen);
    if (rc == WSS_OK)
        rc = ensure_server(dir, &ca, hosts, cert_name, key_name, err, errlen);
    pair_free(&ca);
    return rc;
}

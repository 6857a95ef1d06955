/* test_tls_ca.c - unit tests for the local CA and server certificate (wss_tls_ensure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/file.h"

static const char *const LOCAL_HOSTS[] = {"127.0.0.1", "localhost", NULL};

/* ---- a fresh temporary folder per test, removed afterwards ---------------- */

static int make_tmpdir(void **state)
{
    const char *base = getenv("TMPDIR");
    char *dir = malloc(4096);
    if (!dir)
        return -1;
    snprintf(dir, 4096, "%s/wss-test-tls-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int drop_tmpdir(void **state)
{
    wss_remove_tree(*state);
    free(*state);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static char *path_in(const char *dir, const char *name)
{
    static char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        fail_msg("path too long");
    return path;
}

static char *slurp(const char *dir, const char *name)
{
    char *text = NULL;
    assert_int_equal(wss_read_file(path_in(dir, name), 1 << 16, &text, NULL), WSS_OK);
    return text;
}

static unsigned mode_of(const char *dir, const char *name)
{
    struct stat st;
    assert_int_equal(stat(path_in(dir, name), &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static X509 *load_cert(const char *dir, const char *name)
{
    char *text = slurp(dir, name);
    BIO *bio = BIO_new_mem_buf(text, -1);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(text);
    assert_non_null(cert);
    return cert;
}

static EVP_PKEY *load_key(const char *dir, const char *name)
{
    char *text = slurp(dir, name);
    BIO *bio = BIO_new_mem_buf(text, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(text);
    assert_non_null(key);
    return key;
}

static void write_pem_cert(const char *dir, const char *name, X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    assert_int_equal(wss_write_file_atomic(path_in(dir, name), data, (size_t)n, 0644), WSS_OK);
    BIO_free(bio);
}

static void write_pem_key(const char *dir, const char *name, EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    assert_int_equal(wss_write_file_atomic(path_in(dir, name), data, (size_t)n, 0600), WSS_OK);
    BIO_free(bio);
}

/* Verifies server.pem against ca.pem as a TLS client would (chain, purpose, host). */
static int server_verifies(const char *dir, const char *host)
{
    X509 *ca = load_cert(dir, "ca.pem");
    X509 *srv = load_cert(dir, "server.pem");
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, srv, NULL), 1);
    assert_int_equal(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER), 1);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    if (strchr(host, ':') || strspn(host, "0123456789.") == strlen(host))
        X509_VERIFY_PARAM_set1_ip_asc(param, host);
    else
        X509_VERIFY_PARAM_set1_host(param, host, 0);
    int ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(srv);
    X509_free(ca);
    return ok;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* File contents compared without printing them: some are private keys. */
#define assert_same(a, b) assert_true(strcmp((a), (b)) == 0)
#define assert_differ(a, b) assert_true(strcmp((a), (b)) != 0)

static void ensure(const char *dir, const char *const *hosts)
{
    char err[256] = "";
    wss_err rc = wss_tls_ensure(dir, hosts, err, sizeof err);
    if (rc != WSS_OK)
        fail_msg("wss_tls_ensure: %s (%s)", wss_strerror(rc), err);
}

/* A server certificate for localhost made outside wss_tls_ensure: signed by
 * `signer`, naming `issuer` as its issuer, valid for `days` days. */
static void plant_server_cert(const char *dir, EVP_PKEY *signer, X509 *issuer, long days)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *c = X509_new();
    assert_non_null(key);
    assert_int_equal(X509_set_version(c, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(c), 42), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(c), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(c), days * 24 * 3600));
    assert_int_equal(X509_set_pubkey(c, key), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    assert_int_equal(X509_set_issuer_name(c, X509_get_subject_name(issuer)), 1);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, c, NULL, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_nconf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    assert_non_null(san);
    assert_int_equal(X509_add_ext(c, san, -1), 1);
    X509_EXTENSION_free(san);
    assert_true(X509_sign(c, signer, EVP_sha256()) > 0);
    write_pem_key(dir, "server-key.pem", key);
    write_pem_cert(dir, "server.pem", c);
    X509_free(c);
    EVP_PKEY_free(key);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_fresh_folder(void **state)
{
    const char *dir = *state;
    ensure(dir, LOCAL_HOSTS);

    assert_int_equal(count_entries(dir), 4);
    assert_int_equal(mode_of(dir, "ca.pem"), 0644);
    assert_int_equal(mode_of(dir, "server.pem"), 0644);
    assert_int_equal(mode_of(dir, "ca-key.pem"), 0600);
    assert_int_equal(mode_of(dir, "server-key.pem"), 0600);

    /* Unencrypted PKCS#8, which GnuTLS (and so libmicrohttpd) loads as is. */
    char *key = slurp(dir, "server-key.pem");
    assert_int_equal(strncmp(key, "-----BEGIN PRIVATE KEY-----", 27), 0);
    free(key);

    assert_true(server_verifies(dir, "127.0.0.1"));
    assert_true(server_verifies(dir, "localhost"));
    assert_false(server_verifies(dir, "example.com"));
    assert_false(server_verifies(dir, "127.0.0.2"));
}

static void test_certificate_contents(void **state)
{
    const char *dir = *state;
    ensure(dir, LOCAL_HOSTS);
    X509 *ca = load_cert(dir, "ca.pem");
    X509 *srv = load_cert(dir, "server.pem");
    char cn[128];

    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn) > 0);
    assert_string_equal(cn, "openwss local CA");
    assert_true(X509_check_ca(ca) >= 1);
    assert_true(X509_get_extension_flags(ca) & EXFLAG_CA);
    assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    assert_non_null(X509_get0_subject_key_id(ca));

    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(srv), NID_commonName, cn, sizeof cn) > 0);
    assert_string_equal(cn, "127.0.0.1");
    assert_int_equal(X509_check_ca(srv), 0);
    assert_true(X509_get_key_usage(srv) & KU_DIGITAL_SIGNATURE);
    assert_true(X509_get_extended_key_usage(srv) & XKU_SSL_SERVER);
    assert_non_null(X509_get0_authority_key_id(srv));
    assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);

    /* P-256 keys on both. */
    char group[64];
    assert_int_equal(EVP_PKEY_get_utf8_string_param(X509_get0_pubkey(srv), "group", group, sizeof group, NULL), 1);
    assert_string_equal(group, "prime256v1");

    /* Server certificates live a year, the CA ten. */
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(srv)), 1);
    assert_in_range(days, 360, 366);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(ca)), 1);
    assert_in_range(days, 3640, 3651);
    X509_free(srv);
    X509_free(ca);
}

static void test_second_call_keeps_everything(void **state)
{
    const char *dir = *state;
    static const char *const files[] = {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"};
    char *before[4];
    ensure(dir, LOCAL_HOSTS);
    for (int i = 0; i < 4; i++)
        before[i] = slurp(dir, files[i]);
    ensure(dir, LOCAL_HOSTS);
    /* A subset of the hosts is still covered. */
    static const char *const one[] = {"localhost", NULL};
    ensure(dir, one);
    for (int i = 0; i < 4; i++) {
        char *after = slurp(dir, files[i]);
        assert_same(after, before[i]);
        free(after);
        free(before[i]);
    }
}

static void test_new_host_reissues_server_only(void **state)
{
    const char *dir = *state;
    ensure(dir, LOCAL_HOSTS);
    char *ca = slurp(dir, "ca.pem"), *ca_key = slurp(dir, "ca-key.pem");
    char *srv = slurp(dir, "server.pem");

    static const char *const more[] = {"127.0.0.1", "localhost", "sim.example.test", "::1", NULL};
    ensure(dir, more);
    char *ca2 = slurp(dir, "ca.pem"), *ca_key2 = slurp(dir, "ca-key.pem");
    char *srv2 = slurp(dir, "server.pem");
    assert_same(ca2, ca);
    assert_same(ca_key2, ca_key);
    assert_differ(srv2, srv);
    assert_true(server_verifies(dir, "sim.example.test"));
    assert_true(server_verifies(dir, "::1"));
    assert_true(server_verifies(dir, "localhost"));
    assert_int_equal(count_entries(dir), 4);

    free(ca);
    free(ca_key);
    free(srv);
    free(ca2);
    free(ca_key2);
    free(srv2);
}

static void test_reissue_when_expiring_or_foreign(void **state)
{
    const char *dir = *state;
    ensure(dir, LOCAL_HOSTS);
    X509 *ca = load_cert(dir, "ca.pem");
    EVP_PKEY *ca_key = load_key(dir, "ca-key.pem");
    EVP_PKEY *stranger = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char *planted;

    /* Control: a planted certificate signed by the CA, valid 200 days, is kept. */
    plant_server_cert(dir, ca_key, ca, 200);
    planted = slurp(dir, "server.pem");
    ensure(dir, LOCAL_HOSTS);
    char *now = slurp(dir, "server.pem");
    assert_same(now, planted);
    free(now);
    free(planted);

    /* Expiring within 30 days: reissued. */
    plant_server_cert(dir, ca_key, ca, 10);
    planted = slurp(dir, "server.pem");
    ensure(dir, LOCAL_HOSTS);
    now = slurp(dir, "server.pem");
    assert_differ(now, planted);
    assert_true(server_verifies(dir, "localhost"));
    free(now);
    free(planted);

    /* Naming the CA as issuer but signed by another key: reissued. */
    plant_server_cert(dir, stranger, ca, 200);
    planted = slurp(dir, "server.pem");
    ensure(dir, LOCAL_HOSTS);
    now = slurp(dir, "server.pem");
    assert_differ(now, planted);
    assert_true(server_verifies(dir, "localhost"));
    free(now);
    free(planted);

    /* A server key that does not match the certificate: reissued. */
    planted = slurp(dir, "server.pem");
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    write_pem_key(dir, "server-key.pem", other);
    ensure(dir, LOCAL_HOSTS);
    now = slurp(dir, "server.pem");
    assert_differ(now, planted);
    free(now);
    free(planted);

    EVP_PKEY_free(other);
    EVP_PKEY_free(stranger);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
}

static void test_never_regenerates_ca(void **state)
{
    const char *dir = *state;
    char err[256] = "";
    ensure(dir, LOCAL_HOSTS);
    char *ca = slurp(dir, "ca.pem");

    /* The CA key is gone: refuse rather than replace a CA clients may trust. */
    assert_int_equal(unlink(path_in(dir, "ca-key.pem")), 0);
    assert_int_equal(wss_tls_ensure(dir, LOCAL_HOSTS, err, sizeof err), WSS_ERR_CONFIG);
    assert_true(err[0] != '\0');
    char *still = slurp(dir, "ca.pem");
    assert_same(still, ca);
    free(still);

    /* A damaged ca.pem is refused as well, and left alone. */
    assert_int_equal(wss_write_file_atomic(path_in(dir, "ca.pem"), "junk", 4, 0644), WSS_OK);
    assert_int_equal(wss_tls_ensure(dir, LOCAL_HOSTS, err, sizeof err), WSS_ERR_CONFIG);
    still = slurp(dir, "ca.pem");
    assert_string_equal(still, "junk");
    free(still);

    /* A CA key that does not belong to ca.pem is refused too. */
    assert_int_equal(wss_write_file_atomic(path_in(dir, "ca.pem"), ca, strlen(ca), 0644), WSS_OK);
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    write_pem_key(dir, "ca-key.pem", other);
    EVP_PKEY_free(other);
    assert_int_equal(wss_tls_ensure(dir, LOCAL_HOSTS, err, sizeof err), WSS_ERR_CONFIG);
    still = slurp(dir, "ca.pem");
    assert_same(still, ca);
    free(still);
    free(ca);
}

static void test_ca_key_without_cert_is_replaced(void **state)
{
    const char *dir = *state;
    ensure(dir, LOCAL_HOSTS);
    char *key = slurp(dir, "ca-key.pem"), *srv = slurp(dir, "server.pem");
    /* An interrupted creation leaves the key without the certificate. */
    assert_int_equal(unlink(path_in(dir, "ca.pem")), 0);
    ensure(dir, LOCAL_HOSTS);
    char *key2 = slurp(dir, "ca-key.pem"), *srv2 = slurp(dir, "server.pem");
    assert_differ(key2, key);
    assert_differ(srv2, srv); /* re-signed by the new CA */
    assert_true(server_verifies(dir, "localhost"));
    free(key);
    free(srv);
    free(key2);
    free(srv2);
}

/* The way `wss sim` calls it: the listen host first, then the usual local names. */
static void test_repeated_hosts_listed_once(void **state)
{
    const char *dir = *state;
    static const char *const hosts[] = {"127.0.0.1", "localhost", "127.0.0.1", "::1", "LOCALHOST", "0:0::1", NULL};
    ensure(dir, hosts);
    X509 *srv = load_cert(dir, "server.pem");
    GENERAL_NAMES *names = X509_get_ext_d2i(srv, NID_subject_alt_name, NULL, NULL);
    assert_non_null(names);
    assert_int_equal(sk_GENERAL_NAME_num(names), 3);
    GENERAL_NAMES_free(names);
    X509_free(srv);
    assert_true(server_verifies(dir, "::1"));
    char *before = slurp(dir, "server.pem");
    ensure(dir, hosts);
    char *after = slurp(dir, "server.pem");
    assert_same(after, before);
    free(before);
    free(after);
}

static void test_bad_arguments(void **state)
{
    const char *dir = *state;
    char err[256];
    static const char *const empty[] = {NULL};
    static const char *const spaced[] = {"bad host", NULL};
    static const char *const blank[] = {"localhost", "", NULL};
    static const char *const bracketed[] = {"[::1]", NULL};
    static const char *const comma[] = {"a.test,DNS:evil.test", NULL};
    assert_int_equal(wss_tls_ensure(dir, NULL, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_tls_ensure(dir, empty, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_tls_ensure(dir, spaced, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_tls_ensure(dir, blank, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_tls_ensure(dir, bracketed, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_tls_ensure(dir, comma, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_tls_ensure(NULL, LOCAL_HOSTS, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(count_entries(dir), 0);
}

static void test_creates_missing_folder(void **state)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/state", (const char *)*state);
    ensure(sub, LOCAL_HOSTS);
    assert_int_equal(mode_of(sub, "."), 0700);
    assert_int_equal(count_entries(sub), 4);
}

#define T(f) cmocka_unit_test_setup_teardown(f, make_tmpdir, drop_tmpdir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fresh_folder),
        T(test_certificate_contents),
        T(test_second_call_keeps_everything),
        T(test_new_host_reissues_server_only),
        T(test_reissue_when_expiring_or_foreign),
        T(test_never_regenerates_ca),
        T(test_ca_key_without_cert_is_replaced),
        T(test_repeated_hosts_listed_once),
        T(test_bad_arguments),
        T(test_creates_missing_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

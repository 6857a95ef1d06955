/* test_x509.c - unit tests for device CAs, client certificates and chain checks (x509.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/crypto_evp.h"
#include "common/file.h"
#include "common/x509.h"

/* A device CA and one device with a certificate from it, fresh per test. */
typedef struct fixture {
    wss_crypto_key *ca_key;
    char *ca_pem;
    wss_crypto_key *dev_key;
    char *dev_pem;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    if (!f || wss_x509_make_ca("Acme device CA", 30, &f->ca_key, &f->ca_pem, err, sizeof err) != WSS_OK ||
        wss_key_generate(&f->dev_key) != WSS_OK ||
        wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, "acme-plug-0001", "G0A1-B2C3", 7, &f->dev_pem, err,
                              sizeof err) != WSS_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    wss_key_free(f->ca_key);
    wss_key_free(f->dev_key);
    free(f->ca_pem);
    free(f->dev_pem);
    free(f);
    return 0;
}

static X509 *parse(const char *pem)
{
    X509 *c = wss_x509_from_pem(pem, strlen(pem));
    assert_non_null(c);
    return c;
}

static char *concat(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s%s", a, b);
    return s;
}

/* An intermediate CA under (root_key, root_pem): built as a self-signed CA,
 * then re-issued by the root. */
static char *make_intermediate(const wss_crypto_key *root_key, const char *root_pem, const char *cn,
                               wss_crypto_key **key_out)
{
    assert_int_equal(wss_key_generate(key_out), WSS_OK);
    X509 *root = parse(root_pem);
    X509 *c = wss_x509_self_signed_ca(wss_key_evp(*key_out), cn, 30);
    assert_non_null(c);
    assert_int_equal(X509_set_issuer_name(c, X509_get_subject_name(root)), 1);
    assert_true(wss_x509_add_ext(c, root, NID_authority_key_identifier, "keyid:always"));
    assert_true(X509_sign(c, wss_key_evp(root_key), EVP_sha256()) > 0);
    char *pem = wss_x509_to_pem(c);
    assert_non_null(pem);
    X509_free(c);
    X509_free(root);
    return pem;
}

/* ---- issuing ------------------------------------------------------------------ */

static void test_ca_is_a_self_signed_p256_ca(void **state)
{
    fixture *f = *state;
    X509 *ca = parse(f->ca_pem);
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
    assert_int_equal(X509_verify(ca, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_check_private_key(ca, wss_key_evp(f->ca_key)), 1);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(ca)), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(ca)), 256);
    assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    char cn[128];
    assert_true(wss_x509_name_attr(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn));
    assert_string_equal(cn, "Acme device CA");
    /* 30 days from an hour ago. */
    time_t later = time(NULL) + 29 * 86400, too_late = time(NULL) + 31 * 86400;
    assert_true(X509_cmp_time(X509_get0_notAfter(ca), &later) > 0);
    assert_true(X509_cmp_time(X509_get0_notAfter(ca), &too_late) < 0);
    X509_free(ca);
}

static void test_client_certificate_fields(void **state)
{
    fixture *f = *state;
    X509 *ca = parse(f->ca_pem), *dev = parse(f->dev_pem);
    assert_int_equal(X509_check_issued(ca, dev), X509_V_OK);
    assert_int_equal(X509_verify(dev, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_check_ca(dev), 0);
    assert_int_equal(X509_get_key_usage(dev), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_extended_key_usage(dev), XKU_SSL_CLIENT);
    assert_int_equal(X509_get_version(dev), X509_VERSION_3);
    assert_non_null(X509_get0_subject_key_id(dev));
    assert_non_null(X509_get0_authority_key_id(dev));
    /* The certificate serial is 128 random bits, positive. */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(dev), NULL);
    assert_non_null(bn);
    assert_int_equal(BN_num_bytes(bn), 16);
    assert_false(BN_is_negative(bn));
    BN_free(bn);

    char cn[128], serial[128];
    assert_int_equal(wss_x509_subject(f->dev_pem, cn, sizeof cn, serial, sizeof serial), WSS_OK);
    assert_string_equal(cn, "acme-plug-0001");
    assert_string_equal(serial, "G0A1-B2C3");
    X509_free(dev);
    X509_free(ca);
}

static void test_public_key_matches_the_device_key(void **state)
{
    fixture *f = *state;
    char *from_cert = NULL;
    assert_int_equal(wss_x509_public_key_b64(f->dev_pem, &from_cert), WSS_OK);
    char *from_key = wss_key_public_b64(f->dev_key);
    assert_non_null(from_key);
    assert_string_equal(from_cert, from_key);
    free(from_key);
    /* ...and not the CA's. */
    char *ca_b64 = wss_key_public_b64(f->ca_key);
    assert_string_not_equal(from_cert, ca_b64);
    free(ca_b64);
    free(from_cert);
}

static void test_serial_number_is_optional(void **state)
{
    fixture *f = *state;
    char *pem = NULL, cn[128], serial[128] = "x";
    char err[256];
    assert_int_equal(
        wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, "no-serial", NULL, 1, &pem, err, sizeof err), WSS_OK);
    assert_int_equal(wss_x509_subject(pem, cn, sizeof cn, serial, sizeof serial), WSS_OK);
    assert_string_equal(cn, "no-serial");
    assert_string_equal(serial, "");
    free(pem);
    assert_int_equal(
        wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, "empty-serial", "", 1, &pem, err, sizeof err), WSS_OK);
    assert_int_equal(wss_x509_subject(pem, NULL, 0, serial, sizeof serial), WSS_OK);
    assert_string_equal(serial, "");
    free(pem);
}

static void test_utf8_cn_round_trips(void **state)
{
    fixture *f = *state;
    const char *name = "Ger\xc3\xa4t K\xc3\xbc"
                       "che";
    char *pem = NULL, cn[128], err[256];
    assert_int_equal(wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, name, "1", 1, &pem, err, sizeof err),
                     WSS_OK);
    assert_int_equal(wss_x509_verify_chain(pem, f->ca_pem, cn, sizeof cn, err, sizeof err), WSS_OK);
    assert_string_equal(cn, name);
    free(pem);
}

static void test_lifetime_never_passes_the_ca(void **state)
{
    fixture *f = *state;
    char *pem = NULL, err[256];
    assert_int_equal(wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, "long", "1", 3650, &pem, err, sizeof err),
                     WSS_OK);
    X509 *ca = parse(f->ca_pem), *dev = parse(pem);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(dev), X509_get0_notAfter(ca)), 0);
    X509_free(dev);
    X509_free(ca);
    free(pem);
}

static void test_bad_issue_arguments(void **state)
{
    fixture *f = *state;
    char *pem = (char *)"unchanged", err[256];
    char long_cn[WSS_X509_CN_MAX + 2];
    memset(long_cn, 'a', sizeof long_cn - 1);
    long_cn[sizeof long_cn - 1] = 0;
    char max_cn[WSS_X509_CN_MAX + 1];
    memset(max_cn, 'b', sizeof max_cn - 1);
    max_cn[sizeof max_cn - 1] = 0;

    struct {
        const char *cn, *serial;
        int days;
    } bad[] = {
        {"", "1", 1},        {NULL, "1", 1},  {long_cn, "1", 1},
        {"bad\xff", "1", 1}, {"d", "a@b", 1}, {"d", "under_", 1},
        {"d", long_cn, 1},   {"d", "1", -1},  {"d", "1", WSS_X509_DAYS_MAX + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, bad[i].cn, bad[i].serial, bad[i].days,
                                               &pem, err, sizeof err),
                         WSS_ERR_INVALID);
        assert_null(pem);
        assert_true(err[0] != 0);
    }
    /* The limits themselves are fine. */
    assert_int_equal(
        wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, max_cn, "AZaz09 '()+,-./:=?", 1, &pem, err, sizeof err),
        WSS_OK);
    free(pem);

    /* A CA key without its private half, a key that is not the CA's, a
     * certificate that is not a CA, text that is no certificate. */
    char *ca_pub_b64 = wss_key_public_b64(f->ca_key);
    wss_crypto_key *ca_pub = NULL;
    assert_int_equal(wss_key_parse_public(ca_pub_b64, &ca_pub, NULL, 0), WSS_OK);
    assert_int_equal(wss_x509_issue_client(ca_pub, f->ca_pem, f->dev_key, "d", "1", 1, &pem, err, sizeof err),
                     WSS_ERR_INVALID);
    assert_non_null(strstr(err, "private"));
    assert_int_equal(wss_x509_issue_client(f->dev_key, f->ca_pem, f->dev_key, "d", "1", 1, &pem, err, sizeof err),
                     WSS_ERR_INVALID);
    assert_non_null(strstr(err, "does not match"));
    assert_int_equal(wss_x509_issue_client(f->dev_key, f->dev_pem, f->dev_key, "d", "1", 1, &pem, err, sizeof err),
                     WSS_ERR_INVALID);
    assert_non_null(strstr(err, "not a CA"));
    assert_int_equal(wss_x509_issue_client(f->ca_key, "junk", f->dev_key, "d", "1", 1, &pem, err, sizeof err),
                     WSS_ERR_INVALID);
    assert_int_equal(wss_x509_issue_client(f->ca_key, f->ca_pem, NULL, "d", "1", 1, &pem, err, sizeof err),
                     WSS_ERR_INVALID);
    assert_int_equal(wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, "d", "1", 1, NULL, err, sizeof err),
                     WSS_ERR_INVALID);
    assert_null(pem);
    wss_key_free(ca_pub);
    free(ca_pub_b64);
}

static void test_bad_ca_arguments(void **state)
{
    (void)state;
    wss_crypto_key *key = (wss_crypto_key *)1;
    char *pem = (char *)"unchanged", err[256];
    assert_int_equal(wss_x509_make_ca("", 1, &key, &pem, err, sizeof err), WSS_ERR_INVALID);
    assert_null(key);
    assert_null(pem);
    assert_int_equal(wss_x509_make_ca("x", -1, &key, &pem, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_x509_make_ca("x", 1, NULL, &pem, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_x509_make_ca(NULL, 1, &key, &pem, NULL, 0), WSS_ERR_INVALID);
}

/* ---- verifying ----------------------------------------------------------------- */

static void test_verify_ok(void **state)
{
    fixture *f = *state;
    char cn[128] = "x", err[256] = "x";
    assert_int_equal(wss_x509_verify_chain(f->dev_pem, f->ca_pem, cn, sizeof cn, err, sizeof err), WSS_OK);
    assert_string_equal(cn, "acme-plug-0001");
    assert_string_equal(err, "");
    /* subject_cn may be left out; a CN longer than the buffer reads as "". */
    assert_int_equal(wss_x509_verify_chain(f->dev_pem, f->ca_pem, NULL, 0, NULL, 0), WSS_OK);
    assert_int_equal(wss_x509_verify_chain(f->dev_pem, f->ca_pem, cn, 5, err, sizeof err), WSS_OK);
    assert_string_equal(cn, "");
}

static void test_verify_fails_with_another_ca(void **state)
{
    fixture *f = *state;
    wss_crypto_key *other_key = NULL;
    char *other_pem = NULL, cn[128] = "x", err[256];
    assert_int_equal(wss_x509_make_ca("Acme device CA", 30, &other_key, &other_pem, err, sizeof err), WSS_OK);
    assert_int_equal(wss_x509_verify_chain(f->dev_pem, other_pem, cn, sizeof cn, err, sizeof err), WSS_ERR_VERIFY);
    assert_string_equal(cn, "");
    assert_non_null(strstr(err, "does not verify"));
    /* A bundle holding both CAs is fine. */
    char *bundle = concat(other_pem, f->ca_pem);
    assert_int_equal(wss_x509_verify_chain(f->dev_pem, bundle, cn, sizeof cn, err, sizeof err), WSS_OK);
    assert_string_equal(cn, "acme-plug-0001");
    free(bundle);
    wss_key_free(other_key);
    free(other_pem);
}

static void test_verify_fails_when_expired(void **state)
{
    fixture *f = *state;
    char *pem = NULL, err[256];
    /* days = 0: notAfter is the moment of issue, so already past when checked. */
    assert_int_equal(wss_x509_issue_client(f->ca_key, f->ca_pem, f->dev_key, "expired", "1", 0, &pem, err, sizeof err),
                     WSS_OK);
    assert_int_equal(wss_x509_verify_chain(pem, f->ca_pem, NULL, 0, err, sizeof err), WSS_ERR_VERIFY);
    assert_non_null(strstr(err, "expired"));
    free(pem);

    /* An expired CA fails its certificates too. */
    wss_crypto_key *old_key = NULL;
    char *old_ca = NULL;
    assert_int_equal(wss_x509_make_ca("old CA", 0, &old_key, &old_ca, err, sizeof err), WSS_OK);
    assert_int_equal(wss_x509_issue_client(old_key, old_ca, f->dev_key, "d", "1", 30, &pem, err, sizeof err), WSS_OK);
    assert_int_equal(wss_x509_verify_chain(pem, old_ca, NULL, 0, err, sizeof err), WSS_ERR_VERIFY);
    assert_non_null(strstr(err, "expired"));
    free(pem);
    free(old_ca);
    wss_key_free(old_key);
}

static void test_verify_with_an_intermediate(void **state)
{
    fixture *f = *state;
    wss_crypto_key *int_key = NULL;
    char *int_pem = make_intermediate(f->ca_key, f->ca_pem, "Acme plug line CA", &int_key);
    char *leaf = NULL, cn[128], err[256];
    assert_int_equal(
        wss_x509_issue_client(int_key, int_pem, f->dev_key, "acme-plug-0002", "S2", 7, &leaf, err, sizeof err), WSS_OK);
    char *chain = concat(leaf, int_pem);
    assert_int_equal(wss_x509_verify_chain(chain, f->ca_pem, cn, sizeof cn, err, sizeof err), WSS_OK);
    assert_string_equal(cn, "acme-plug-0002");
    /* Without the intermediate the root cannot be reached... */
    assert_int_equal(wss_x509_verify_chain(leaf, f->ca_pem, cn, sizeof cn, err, sizeof err), WSS_ERR_VERIFY);
    /* ...but the intermediate alone is a trust anchor. */
    assert_int_equal(wss_x509_verify_chain(leaf, int_pem, cn, sizeof cn, err, sizeof err), WSS_OK);
    /* The public key is the leaf's. */
    char *b64 = NULL, *want = wss_key_public_b64(f->dev_key);
    assert_int_equal(wss_x509_public_key_b64(chain, &b64), WSS_OK);
    assert_string_equal(b64, want);
    free(b64);
    free(want);
    free(chain);
    free(leaf);
    free(int_pem);
    wss_key_free(int_key);
}

/* A server certificate (extendedKeyUsage serverAuth only) is no client certificate. */
static void test_verify_refuses_a_server_certificate(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/wss-test-x509-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    static const char *const hosts[] = {"localhost", NULL};
    char err[256], path[4200];
    assert_int_equal(wss_tls_ensure(dir, hosts, err, sizeof err), WSS_OK);
    char *ca = NULL, *srv = NULL;
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    assert_int_equal(wss_read_file(path, 1 << 16, &ca, NULL), WSS_OK);
    snprintf(path, sizeof path, "%s/server.pem", dir);
    assert_int_equal(wss_read_file(path, 1 << 16, &srv, NULL), WSS_OK);
    assert_int_equal(wss_x509_verify_chain(srv, ca, NULL, 0, err, sizeof err), WSS_ERR_VERIFY);
    assert_non_null(strstr(err, "purpose"));
    free(ca);
    free(srv);
    wss_remove_tree(dir);
}

static void test_verify_bad_input(void **state)
{
    fixture *f = *state;
    char err[256], cn[64];
    assert_int_equal(wss_x509_verify_chain("junk", f->ca_pem, cn, sizeof cn, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_x509_verify_chain(f->dev_pem, "", cn, sizeof cn, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_x509_verify_chain(NULL, f->ca_pem, cn, sizeof cn, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_x509_verify_chain(f->dev_pem, NULL, cn, sizeof cn, err, sizeof err), WSS_ERR_INVALID);
    /* A damaged block after a good certificate is not silently dropped. */
    char *damaged = concat(f->dev_pem, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert_int_equal(wss_x509_verify_chain(damaged, f->ca_pem, cn, sizeof cn, err, sizeof err), WSS_ERR_INVALID);
    free(damaged);
    /* Text around the PEM blocks is allowed, as in bundles with comments. */
    char *commented = concat("# Acme device CA\n", f->ca_pem);
    assert_int_equal(wss_x509_verify_chain(f->dev_pem, commented, cn, sizeof cn, err, sizeof err), WSS_OK);
    free(commented);
    /* Too many certificates in a chain. */
    size_t one = strlen(f->dev_pem);
    char *many = malloc(one * 11 + 1);
    assert_non_null(many);
    for (int i = 0; i < 11; i++)
        memcpy(many + one * (size_t)i, f->dev_pem, one);
    many[one * 11] = 0;
    assert_int_equal(wss_x509_verify_chain(many, f->ca_pem, cn, sizeof cn, err, sizeof err), WSS_ERR_INVALID);
    free(many);

    char *b64 = (char *)"unchanged";
    assert_int_equal(wss_x509_public_key_b64("junk", &b64), WSS_ERR_INVALID);
    assert_null(b64);
    assert_int_equal(wss_x509_public_key_b64(NULL, &b64), WSS_ERR_INVALID);
    assert_int_equal(wss_x509_subject("junk", cn, sizeof cn, NULL, 0), WSS_ERR_INVALID);
    assert_string_equal(cn, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ca_is_a_self_signed_p256_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_certificate_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_key_matches_the_device_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_number_is_optional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_cn_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifetime_never_passes_the_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_issue_arguments, setup, teardown),
        cmocka_unit_test(test_bad_ca_arguments),
        cmocka_unit_test_setup_teardown(test_verify_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_fails_with_another_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_fails_when_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_with_an_intermediate, setup, teardown),
        cmocka_unit_test(test_verify_refuses_a_server_certificate),
        cmocka_unit_test_setup_teardown(test_verify_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_mfg.c - unit tests for the manufacturing library (wss/mfg.h): the DAK,
 * device bundles, DSN continuation, barcodes, the control log, validation,
 * and that a failed call leaves the directory as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/file.h"
#include "common/x509.h"
#include "wss/mfg.h"

#define UPC_OK "841667145075"

typedef struct fixture {
    char root[256]; /* a fresh temporary folder */
    char dir[300];  /* root/mfg, the manufacturing directory */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/wss-mfg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/mfg", f->root);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    wss_remove_tree(f->root);
    free(f);
    return 0;
}

static void init_ok(fixture *f)
{
    wss_mfg_init_options o = {.dir = f->dir, .manufacturer = "Acme Corp", .product_index = "ebK3", .model = "P1"};
    char err[512];
    wss_err rc = wss_mfg_init(&o, err, sizeof err);
    if (rc != WSS_OK)
        fail_msg("init: %s", err);
}

static int setup_init(void **state)
{
    if (setup(state))
        return -1;
    init_ok(*state);
    return 0;
}

static wss_mfg_issued issue_ok(fixture *f, unsigned count, const char *prefix, const char *upc)
{
    wss_mfg_issue_options o = {.dir = f->dir, .count = count, .serial_prefix = prefix, .upc = upc};
    wss_mfg_issued out;
    char err[512];
    if (wss_mfg_issue(&o, &out, err, sizeof err) != WSS_OK)
        fail_msg("issue: %s", err);
    assert_int_equal(out.count, count);
    return out;
}

static char *read_at(const fixture *f, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    char *text = NULL;
    wss_err rc = wss_read_file(path, 1 << 24, &text, NULL);
    if (rc != WSS_OK)
        fail_msg("cannot read %s: %s", path, wss_strerror(rc));
    return text;
}

static int exists_at(const fixture *f, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    struct stat st;
    return lstat(path, &st) == 0;
}

static unsigned mode_at(const fixture *f, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static json_t *device_json(const fixture *f, const char *dsn)
{
    char rel[200];
    snprintf(rel, sizeof rel, "devices/%s/device.json", dsn);
    char *text = read_at(f, rel);
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    free(text);
    assert_non_null(doc);
    return doc;
}

static X509 *cert_of(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(c);
    return c;
}

static void assert_name_attr(X509 *c, int nid, const char *expected)
{
    char buf[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(c), nid, buf, sizeof buf);
    assert_string_equal(buf, expected);
}

/* ------------------------------------------------------------------ DAK */

static void test_init_makes_a_dak(void **state)
{
    fixture *f = *state;
    char *pem = read_at(f, "dak_certificate.pem");
    X509 *c = cert_of(pem);
    assert_int_equal(X509_check_ca(c), 1);
    assert_int_equal(X509_get_pathlen(c), 0);
    assert_true(X509_get_key_usage(c) & KU_KEY_CERT_SIGN);
    assert_false(X509_get_key_usage(c) & KU_DIGITAL_SIGNATURE);
    assert_name_attr(c, NID_commonName, "Acme Corp DAK ebK3");
    assert_name_attr(c, NID_organizationName, "Acme Corp");
    assert_int_equal(X509_check_issued(c, c), X509_V_OK);
    X509_free(c);

    assert_int_equal(mode_at(f, "dak_private_key.pem"), 0600);
    assert_int_equal(mode_at(f, "devices"), 0700);
    char *key_pem = read_at(f, "dak_private_key.pem");
    wss_crypto_key *key = NULL;
    assert_int_equal(wss_key_parse_private_pem(key_pem, &key, NULL, 0), WSS_OK);
    char *a = wss_key_public_b64(key), *b = NULL;
    assert_int_equal(wss_x509_public_key_b64(pem, &b), WSS_OK);
    assert_string_equal(a, b);
    free(a);
    free(b);
    wss_key_free(key);
    free(key_pem);
    free(pem);
}

static void test_init_never_replaces_a_dak(void **state)
{
    fixture *f = *state;
    char *before = read_at(f, "dak_certificate.pem");
    wss_mfg_init_options o = {.dir = f->dir, .manufacturer = "Other", .product_index = "ZZ99"};
    char err[512];
    assert_int_equal(wss_mfg_init(&o, err, sizeof err), WSS_ERR_EXISTS);
    assert_non_null(strstr(err, "never replaced"));
    char *after = read_at(f, "dak_certificate.pem");
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ------------------------------------------------------------------ devices */

static void test_issue_bundles_verify(void **state)
{
    fixture *f = *state;
    wss_mfg_issued out = issue_ok(f, 3, NULL, UPC_OK);
    assert_string_equal(out.dsns[0], "ebK3-00000001");
    assert_string_equal(out.dsns[2], "ebK3-00000003");
    char *dak = read_at(f, "dak_certificate.pem");
    for (unsigned i = 0; i < out.count; i++) {
        const char *dsn = out.dsns[i];
        char rel[200], cn[80], serial[80], err[256];
        snprintf(rel, sizeof rel, "devices/%s/certificate.pem", dsn);
        char *chain = read_at(f, rel);
        assert_int_equal(wss_x509_verify_chain(chain, dak, cn, sizeof cn, err, sizeof err), WSS_OK);
        assert_string_equal(cn, dsn);
        assert_int_equal(wss_x509_subject(chain, NULL, 0, serial, sizeof serial), WSS_OK);
        assert_string_equal(serial, dsn);
        /* Leaf first, then the DAK itself. */
        char *second = strstr(chain + 1, "-----BEGIN CERTIFICATE-----");
        assert_non_null(second);
        assert_string_equal(second, dak);
        X509 *leaf = cert_of(chain);
        assert_name_attr(leaf, NID_organizationName, "Acme Corp");
        assert_true(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT);
        assert_int_equal(X509_check_ca(leaf), 0);
        X509_free(leaf);

        snprintf(rel, sizeof rel, "devices/%s/private_key.pem", dsn);
        assert_int_equal(mode_at(f, rel), 0600);
        char *key_pem = read_at(f, rel);
        wss_crypto_key *key = NULL;
        assert_int_equal(wss_key_parse_private_pem(key_pem, &key, NULL, 0), WSS_OK);
        char *key_pub = wss_key_public_b64(key), *cert_pub = NULL;
        assert_int_equal(wss_x509_public_key_b64(chain, &cert_pub), WSS_OK);
        assert_string_equal(key_pub, cert_pub);

        json_t *dev = device_json(f, dsn);
        assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.SerialNumber")), dsn);
        assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.PublicKey")), key_pub);
        assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.ProductIndex")), "ebK3");
        assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.ManufacturerName")), "Acme Corp");
        assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.ModelNumber")), "P1");
        assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.HardwareVersion")), "1.0");
        assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.FirmwareVersion")), "1.0.0");
        assert_string_equal(json_string_value(json_object_get(dev, "DSS.Host")), "dp-sps-na.amazon.com");
        assert_string_equal(json_string_value(json_object_get(dev, "DSS.Port")), "443");
        assert_null(json_object_get(dev, "DSS.PublicKey"));
        uint8_t *der = NULL;
        size_t len = 0;
        assert_int_equal(wss_base64_decode(key_pub, &der, &len), WSS_OK);
        assert_int_equal(len, 91);
        free(der);
        json_decref(dev);
        free(key_pub);
        free(cert_pub);
        wss_key_free(key);
        free(key_pem);
        free(chain);
    }
    free(dak);
    wss_mfg_issued_free(&out);
}

static void test_dsn_continues_across_runs(void **state)
{
    fixture *f = *state;
    wss_mfg_issued a = issue_ok(f, 2, "LINE1-", NULL);
    wss_mfg_issued b = issue_ok(f, 3, "LINE1-", NULL);
    wss_mfg_issued c = issue_ok(f, 1, NULL, NULL);
    assert_string_equal(a.dsns[0], "LINE1-00000001");
    assert_string_equal(a.dsns[1], "LINE1-00000002");
    assert_string_equal(b.dsns[0], "LINE1-00000003");
    assert_string_equal(b.dsns[2], "LINE1-00000005");
    assert_string_equal(c.dsns[0], "ebK3-00000006");
    char *st = read_at(f, "state.json");
    json_t *doc = json_loads(st, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(doc, "next_serial")), 7);
    json_decref(doc);
    free(st);
    assert_true(exists_at(f, "devices/LINE1-00000005/device.json"));
    wss_mfg_issued_free(&a);
    wss_mfg_issued_free(&b);
    wss_mfg_issued_free(&c);
}

/* The 26 bytes before the point in a named-curve P-256 SPKI, compressed form. */
static const uint8_t compressed_header[26] = {0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                              0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                              0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00};

static void test_barcode_fields(void **state)
{
    fixture *f = *state;
    wss_mfg_issued out = issue_ok(f, 2, NULL, UPC_OK);
    for (unsigned i = 0; i < out.count; i++) {
        const char *dsn = out.dsns[i];
        char *bc = NULL, err[256];
        assert_int_equal(wss_mfg_barcode(f->dir, dsn, &bc, err, sizeof err), WSS_OK);
        json_t *dev = device_json(f, dsn);
        assert_string_equal(bc, json_string_value(json_object_get(dev, "barcode")));
        /* Fields in order, each "KEY:value;" */
        char *copy = strdup(bc), *save = NULL;
        const char *keys[] = {"ABV", "SERNUM", "PID", "PUK", "UPC"};
        const char *values[5] = {0};
        assert_int_equal(bc[strlen(bc) - 1], ';');
        int n = 0;
        for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save), n++) {
            assert_true(n < 5);
            char *colon = strchr(tok, ':');
            assert_non_null(colon);
            *colon = 0;
            assert_string_equal(tok, keys[n]);
            values[n] = colon + 1;
        }
        assert_int_equal(n, 5);
        assert_string_equal(values[0], "OB01");
        assert_string_equal(values[1], dsn);
        assert_string_equal(values[2], "ebK3");
        assert_string_equal(values[4], UPC_OK);
        uint8_t *puk = NULL, *full = NULL;
        size_t puk_len = 0, full_len = 0;
        const char *pub = json_string_value(json_object_get(dev, "DeviceInformation.PublicKey"));
        assert_int_equal(wss_base64_decode(values[3], &puk, &puk_len), WSS_OK);
        assert_int_equal(wss_base64_decode(pub, &full, &full_len), WSS_OK);
        assert_int_equal(puk_len, 59);
        assert_int_equal(full_len, 91);
        assert_memory_equal(puk, compressed_header, sizeof compressed_header);
        /* The same X, and the prefix carries the parity of Y. */
        assert_int_equal(full[26], 0x04);
        assert_memory_equal(puk + 27, full + 27, 32);
        assert_int_equal(puk[26], (full[90] & 1) ? 0x03 : 0x02);
        /* And the key library reads it back as the same key. */
        wss_crypto_key *k = NULL;
        assert_int_equal(wss_key_parse_public(values[3], &k, NULL, 0), WSS_OK);
        char *again = wss_key_public_b64(k);
        assert_string_equal(again, pub);
        free(again);
        wss_key_free(k);
        free(puk);
        free(full);
        free(copy);
        json_decref(dev);
        free(bc);
    }
    /* barcodes.txt holds the same strings, one a line. */
    char *lines = read_at(f, "barcodes.txt");
    char *first = NULL;
    assert_int_equal(wss_mfg_barcode(f->dir, out.dsns[0], &first, NULL, 0), WSS_OK);
    assert_int_equal(strncmp(lines, first, strlen(first)), 0);
    assert_int_equal(lines[strlen(first)], '\n');
    free(first);
    free(lines);
    wss_mfg_issued_free(&out);
}

static void test_barcode_without_upc(void **state)
{
    fixture *f = *state;
    wss_mfg_issued out = issue_ok(f, 1, NULL, NULL);
    char *bc = NULL;
    assert_int_equal(wss_mfg_barcode(f->dir, out.dsns[0], &bc, NULL, 0), WSS_OK);
    assert_null(strstr(bc, "UPC:"));
    assert_int_equal(strncmp(bc, "ABV:OB01;SERNUM:ebK3-00000001;PID:ebK3;PUK:", 43), 0);
    assert_int_equal(bc[strlen(bc) - 1], ';');
    free(bc);
    wss_mfg_issued_free(&out);
}

static void test_upc_check_digit(void **state)
{
    (void)state;
    assert_true(wss_mfg_upc_valid("841667145075"));
    assert_true(wss_mfg_upc_valid("036000291452"));
    assert_true(wss_mfg_upc_valid("000000000000"));
    assert_false(wss_mfg_upc_valid("841667145076")); /* wrong check digit */
    assert_false(wss_mfg_upc_valid("036000291451"));
    assert_false(wss_mfg_upc_valid("84166714507"));   /* 11 digits */
    assert_false(wss_mfg_upc_valid("8416671450750")); /* 13 */
    assert_false(wss_mfg_upc_valid("84166714507a"));
    assert_false(wss_mfg_upc_valid(" 84166714507"));
    assert_false(wss_mfg_upc_valid(""));
    assert_false(wss_mfg_upc_valid(NULL));
}

static void test_value_validation(void **state)
{
    (void)state;
    assert_true(wss_mfg_dsn_valid("A"));
    assert_true(wss_mfg_dsn_valid("aZ09_-=#;:?@&"));
    char longest[66];
    memset(longest, 'x', 64);
    longest[64] = 0;
    assert_true(wss_mfg_dsn_valid(longest));
    longest[64] = 'x';
    longest[65] = 0;
    assert_false(wss_mfg_dsn_valid(longest));
    assert_false(wss_mfg_dsn_valid(""));
    assert_false(wss_mfg_dsn_valid("a b"));
    assert_false(wss_mfg_dsn_valid("a/b"));
    assert_false(wss_mfg_dsn_valid(".."));
    assert_false(wss_mfg_dsn_valid("caf\xc3\xa9"));
    assert_true(wss_mfg_product_index_valid("ebK3"));
    assert_false(wss_mfg_product_index_valid("ebK"));
    assert_false(wss_mfg_product_index_valid("ebK34"));
    assert_false(wss_mfg_product_index_valid("eb-3"));
    assert_false(wss_mfg_product_index_valid(NULL));

    char *bc = NULL, err[256];
    wss_crypto_key *k = NULL;
    assert_int_equal(wss_key_generate(&k), WSS_OK);
    char *pub = wss_key_public_b64(k);
    assert_int_equal(wss_mfg_barcode_make("A;B", "ebK3", pub, NULL, &bc, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_mfg_barcode_make("AB", "ebK", pub, NULL, &bc, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_mfg_barcode_make("AB", "ebK3", pub, "123", &bc, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_mfg_barcode_make("AB", "ebK3", "bm90IGEga2V5", NULL, &bc, err, sizeof err), WSS_ERR_INVALID);
    assert_null(bc);
    assert_int_equal(wss_mfg_barcode_make("AB", "ebK3", pub, UPC_OK, &bc, err, sizeof err), WSS_OK);
    char *puk = wss_key_public_b64_compressed(k);
    char expect[256];
    snprintf(expect, sizeof expect, "ABV:OB01;SERNUM:AB;PID:ebK3;PUK:%s;UPC:%s;", puk, UPC_OK);
    assert_string_equal(bc, expect);
    free(puk);
    free(bc);
    free(pub);
    wss_key_free(k);
}

static void test_bad_init_rejected(void **state)
{
    fixture *f = *state;
    struct {
        const char *manufacturer, *pid, *model;
    } bad[] = {
        {"Acme", "ebK", NULL},
        {"Acme", "eb_3", NULL},
        {"", "ebK3", NULL},
        {"Ac\nme", "ebK3", NULL},
        {"Acme\xff", "ebK3", NULL},
        {"Acme", "ebK3", ""},
        {"A1234567890123456789012345678901234567890123456789012345", "ebK3", NULL}, /* 56 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        wss_mfg_init_options o = {
            .dir = f->dir, .manufacturer = bad[i].manufacturer, .product_index = bad[i].pid, .model = bad[i].model};
        char err[512] = "";
        assert_int_equal(wss_mfg_init(&o, err, sizeof err), WSS_ERR_INVALID);
        assert_true(strlen(err) > 0);
        assert_false(exists_at(f, "dak_private_key.pem"));
        assert_false(exists_at(f, "mfg.json"));
    }
    /* 55 bytes is the longest name. */
    wss_mfg_init_options o = {.dir = f->dir,
                              .manufacturer = "A123456789012345678901234567890123456789012345678901234",
                              .product_index = "A1b2"};
    assert_int_equal(wss_mfg_init(&o, NULL, 0), WSS_OK);
}

/* Asserts that a failed issue left no trace: no devices, no log lines, the
 * counter where it was. */
static void assert_untouched(const fixture *f, long long next)
{
    assert_false(exists_at(f, "devices/ebK3-00000001"));
    assert_false(exists_at(f, "control-log.jsonl"));
    assert_false(exists_at(f, "barcodes.txt"));
    char *st = read_at(f, "state.json");
    json_t *doc = json_loads(st, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(doc, "next_serial")), next);
    json_decref(doc);
    free(st);
    char *list = NULL;
    assert_int_equal(wss_mfg_describe(f->dir, NULL, &list, NULL, 0), WSS_OK);
    json_t *d = json_loads(list, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(d, "devices")), 0);
    json_decref(d);
    free(list);
}

static void test_bad_issue_rejected(void **state)
{
    fixture *f = *state;
    wss_mfg_issue_options bad[] = {
        {.dir = f->dir, .count = 0},
        {.dir = f->dir, .count = WSS_MFG_BATCH_MAX + 1},
        {.dir = f->dir, .count = 1, .serial_prefix = "A;B"},
        {.dir = f->dir, .count = 1, .serial_prefix = "A/B"},
        {.dir = f->dir, .count = 1, .serial_prefix = "A123456789012345678901234567890123456789012345678901234567"},
        {.dir = f->dir, .count = 1, .upc = "841667145076"},
        {.dir = f->dir, .count = 1, .dss_public_key = "not-a-key"},
        {.dir = f->dir, .count = 1, .dss_public_key = "@/nonexistent/dss.pem"},
        {.dir = f->dir, .count = 1, .dss_host = "bad host"},
        {.dir = f->dir, .count = 1, .dss_port = 70000},
        {.dir = f->dir, .count = 1, .hardware_version = "1\t0"},
        {.dir = f->dir, .count = 1, .firmware_version = ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[512] = "";
        wss_mfg_issued out;
        assert_int_equal(wss_mfg_issue(&bad[i], &out, err, sizeof err), WSS_ERR_INVALID);
        assert_true(strlen(err) > 0);
        assert_null(out.dsns);
    }
    assert_untouched(f, 1);
    /* Not a manufacturing directory. */
    wss_mfg_issue_options o = {.dir = f->root, .count = 1};
    assert_int_equal(wss_mfg_issue(&o, NULL, NULL, 0), WSS_ERR_NOT_FOUND);
}

static void test_failed_issue_leaves_nothing(void **state)
{
    fixture *f = *state;
    char path[1024];
    /* A DSN already taken: refused before anything is written. */
    snprintf(path, sizeof path, "%s/devices/ebK3-00000002", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    char err[512];
    wss_mfg_issue_options o = {.dir = f->dir, .count = 3};
    assert_int_equal(wss_mfg_issue(&o, NULL, err, sizeof err), WSS_ERR_EXISTS);
    assert_non_null(strstr(err, "ebK3-00000002"));
    assert_int_equal(rmdir(path), 0);
    assert_untouched(f, 1);

    /* The commit fails at the control log (a folder in its place): the
     * counter goes back, no bundle appears, barcodes.txt is not touched. */
    snprintf(path, sizeof path, "%s/control-log.jsonl", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(wss_mfg_issue(&o, NULL, err, sizeof err), WSS_ERR_IO);
    assert_non_null(strstr(err, "control-log.jsonl"));
    assert_int_equal(rmdir(path), 0);
    assert_untouched(f, 1);

    /* The commit fails after the control log (barcodes.txt is a folder): the
     * log's new lines are taken back. */
    wss_mfg_issued first = issue_ok(f, 1, NULL, NULL);
    char *log_before = read_at(f, "control-log.jsonl");
    snprintf(path, sizeof path, "%s/barcodes.txt", f->dir);
    char moved[1100];
    snprintf(moved, sizeof moved, "%s.away", path);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(wss_mfg_issue(&o, NULL, err, sizeof err), WSS_ERR_IO);
    char *log_after = read_at(f, "control-log.jsonl");
    assert_string_equal(log_before, log_after);
    assert_false(exists_at(f, "devices/ebK3-00000002"));
    /* No staging folder is left behind. */
    char *list = NULL;
    assert_int_equal(wss_mfg_describe(f->dir, NULL, &list, NULL, 0), WSS_OK);
    json_t *d = json_loads(list, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(d, "next_serial")), 2);
    assert_int_equal(json_array_size(json_object_get(d, "devices")), 1);
    json_decref(d);
    free(list);
    snprintf(path, sizeof path, "%s/devices", f->dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep -v '^ebK3-00000001$')\"", path);
    assert_int_equal(system(cmd), 0);
    free(log_before);
    free(log_after);
    wss_mfg_issued_free(&first);
}

static void test_locked_directory_refused(void **state)
{
    fixture *f = *state;
    char path[1024];
    snprintf(path, sizeof path, "%s/.lock", f->dir);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    wss_mfg_issue_options o = {.dir = f->dir, .count = 1};
    char err[512];
    assert_int_equal(wss_mfg_issue(&o, NULL, err, sizeof err), WSS_ERR_EXISTS);
    close(fd);
    assert_int_equal(wss_mfg_issue(&o, NULL, err, sizeof err), WSS_OK);
}

static void test_control_log_lines_parse(void **state)
{
    fixture *f = *state;
    wss_mfg_issued a = issue_ok(f, 2, NULL, NULL);
    wss_mfg_issued b = issue_ok(f, 2, "X@", NULL);
    const char *dsns[] = {a.dsns[0], a.dsns[1], b.dsns[0], b.dsns[1]};
    char *log = read_at(f, "control-log.jsonl");
    char *save = NULL;
    int n = 0;
    assert_int_equal(log[strlen(log) - 1], '\n');
    for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        assert_true(n < 4);
        json_error_t je;
        json_t *doc = json_loads(line, JSON_REJECT_DUPLICATES, &je);
        assert_non_null(doc);
        assert_int_equal(json_object_size(doc), 3);
        assert_string_equal(json_string_value(json_object_get(doc, "dsn")), dsns[n]);
        assert_string_equal(json_string_value(json_object_get(doc, "product_index")), "ebK3");
        json_t *dev = device_json(f, dsns[n]);
        assert_string_equal(json_string_value(json_object_get(doc, "public_key")),
                            json_string_value(json_object_get(dev, "DeviceInformation.PublicKey")));
        json_decref(dev);
        json_decref(doc);
    }
    assert_int_equal(n, 4);
    free(log);
    wss_mfg_issued_free(&a);
    wss_mfg_issued_free(&b);
}

static void test_dss_settings_and_special_dsns(void **state)
{
    fixture *f = *state;
    wss_crypto_key *dss = NULL;
    assert_int_equal(wss_key_generate(&dss), WSS_OK);
    char *pem = wss_key_public_pem(dss), *b64 = wss_key_public_b64(dss);
    char path[1024], at[1100];
    snprintf(path, sizeof path, "%s/dss.pem", f->root);
    assert_int_equal(wss_write_file_atomic(path, pem, strlen(pem), 0644), WSS_OK);
    snprintf(at, sizeof at, "@%s", path);
    /* Characters outside PrintableString still make a serialNumber. */
    wss_mfg_issue_options o = {.dir = f->dir,
                               .count = 1,
                               .serial_prefix = "a_b#c@d&e:",
                               .dss_public_key = at,
                               .dss_host = "dss.example.test",
                               .dss_port = 8443,
                               .hardware_version = "rev B",
                               .firmware_version = "2.3.4"};
    wss_mfg_issued out;
    char err[512];
    if (wss_mfg_issue(&o, &out, err, sizeof err) != WSS_OK)
        fail_msg("%s", err);
    assert_string_equal(out.dsns[0], "a_b#c@d&e:00000001");
    json_t *dev = device_json(f, out.dsns[0]);
    assert_string_equal(json_string_value(json_object_get(dev, "DSS.PublicKey")), b64);
    assert_string_equal(json_string_value(json_object_get(dev, "DSS.Host")), "dss.example.test");
    assert_string_equal(json_string_value(json_object_get(dev, "DSS.Port")), "8443");
    assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.HardwareVersion")), "rev B");
    assert_string_equal(json_string_value(json_object_get(dev, "DeviceInformation.FirmwareVersion")), "2.3.4");
    json_decref(dev);
    char rel[200], serial[80], cn[80];
    snprintf(rel, sizeof rel, "devices/%s/certificate.pem", out.dsns[0]);
    char *chain = read_at(f, rel), *dak = read_at(f, "dak_certificate.pem");
    assert_int_equal(wss_x509_verify_chain(chain, dak, cn, sizeof cn, NULL, 0), WSS_OK);
    assert_int_equal(wss_x509_subject(chain, NULL, 0, serial, sizeof serial), WSS_OK);
    assert_string_equal(serial, out.dsns[0]);
    assert_string_equal(cn, out.dsns[0]);
    free(chain);
    free(dak);
    free(pem);
    free(b64);
    wss_key_free(dss);
    wss_mfg_issued_free(&out);
}

static void test_describe_shows_no_secrets(void **state)
{
    fixture *f = *state;
    wss_mfg_issued out = issue_ok(f, 2, NULL, NULL);
    char *all = NULL, *one = NULL, err[256];
    assert_int_equal(wss_mfg_describe(f->dir, NULL, &all, err, sizeof err), WSS_OK);
    assert_int_equal(wss_mfg_describe(f->dir, out.dsns[1], &one, err, sizeof err), WSS_OK);
    json_t *a = json_loads(all, 0, NULL), *o = json_loads(one, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(a, "manufacturer")), "Acme Corp");
    assert_int_equal(json_integer_value(json_object_get(a, "next_serial")), 3);
    assert_int_equal(json_array_size(json_object_get(a, "devices")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(a, "devices"), 1), "dsn")),
                        out.dsns[1]);
    json_t *cert = json_object_get(o, "certificate");
    assert_true(json_is_true(json_object_get(cert, "chain_verifies")));
    assert_true(json_is_true(json_object_get(cert, "public_key_matches")));
    assert_string_equal(json_string_value(json_object_get(cert, "serial_number")), out.dsns[1]);
    /* No private key, neither the DAK's nor a device's, in either read-out. */
    const char *keys[] = {"dak_private_key.pem", "devices/ebK3-00000001/private_key.pem",
                          "devices/ebK3-00000002/private_key.pem"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char *pem = read_at(f, keys[i]);
        size_t body = strcspn(pem, "\n") + 1;
        assert_true(strlen(pem) > body + 40);
        pem[body + 40] = 0; /* the first 40 base64 characters of the key */
        assert_null(strstr(all, pem + body));
        assert_null(strstr(one, pem + body));
        free(pem);
    }
    assert_null(strstr(all, "PRIVATE"));
    assert_null(strstr(one, "PRIVATE"));
    /* A device that does not exist, and a name that is not a DSN. */
    char *none = NULL;
    assert_int_equal(wss_mfg_describe(f->dir, "ebK3-00000009", &none, err, sizeof err), WSS_ERR_NOT_FOUND);
    assert_int_equal(wss_mfg_describe(f->dir, "../mfg", &none, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_mfg_barcode(f->dir, "ebK3-00000009", &none, err, sizeof err), WSS_ERR_NOT_FOUND);
    assert_null(none);
    json_decref(a);
    json_decref(o);
    free(all);
    free(one);
    wss_mfg_issued_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_makes_a_dak, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_init_never_replaces_a_dak, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_issue_bundles_verify, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_dsn_continues_across_runs, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_barcode_fields, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_barcode_without_upc, setup_init, teardown),
        cmocka_unit_test(test_upc_check_digit),
        cmocka_unit_test(test_value_validation),
        cmocka_unit_test_setup_teardown(test_bad_init_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_issue_rejected, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_failed_issue_leaves_nothing, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_locked_directory_refused, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_control_log_lines_parse, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_dss_settings_and_special_dsns, setup_init, teardown),
        cmocka_unit_test_setup_teardown(test_describe_shows_no_secrets, setup_init, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

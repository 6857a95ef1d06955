/* test_setup_network.c - the computed setup network (docs/dss.md section 2):
 * the core, run over an OpenSSL crypto port, against an independent
 * computation in this file, and the fixed test vector of the docs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ossl_port.h"
#include "wss/device.h"

/* The vector of docs/dss.md section 2: the two keys of ossl_port.h, product
 * index "CbtN", nonce 00 01 02 ... 0b. */
#define VECTOR_SSID "Bg9LKf<ZBFHnlT>dj009c61o!#m2NH?C"
#define VECTOR_PASSPHRASE "1TBb6Ab8Pup/sfC8QeK0lXEB1i1XD2yXJVORFOKvHY4="

typedef struct tctx {
    EVP_PKEY *key; /* first: the OpenSSL crypto port finds it here */
    char device_spki_b64[129];
    char dss_spki_b64[129];
    const char *product_index;
} tctx;

static int st_read(void *ctx, const char *key, char *out, size_t cap, size_t *len)
{
    tctx *t = ctx;
    const char *v = NULL;
    if (strcmp(key, "DeviceInformation.PublicKey") == 0)
        v = t->device_spki_b64;
    else if (strcmp(key, "DSS.PublicKey") == 0)
        v = t->dss_spki_b64;
    else if (strcmp(key, "DeviceInformation.ProductIndex") == 0)
        v = t->product_index;
    if (!v || strlen(v) >= cap)
        return -1;
    strcpy(out, v);
    *len = strlen(v);
    return 0;
}
static int st_write(void *ctx, const char *key, const char *value, size_t len)
{
    (void)ctx, (void)key, (void)value, (void)len;
    return -1;
}
static int probe(void *ctx, const char *ssid) { return (void)ctx, (void)ssid, -1; }
static int scan(void *ctx, wss_dev_ap *aps, size_t cap, size_t *count)
{
    (void)ctx, (void)aps, (void)cap;
    *count = 0;
    return 0;
}
static int join(void *ctx, const char *ssid, wss_dev_security sec, const char *key, int hidden)
{
    (void)ctx, (void)ssid, (void)sec, (void)key, (void)hidden;
    return -1;
}
static void leave(void *ctx) { (void)ctx; }
static int post(void *ctx, const wss_dev_http_request *req, wss_dev_http_response *resp)
{
    (void)ctx, (void)req, (void)resp;
    return -1;
}
static uint64_t now(void *ctx) { return (void)ctx, 0; }
static void nap(void *ctx, uint32_t ms) { (void)ctx, (void)ms; }
static void ugs(void *ctx, wss_dev_fail f, const char *d) { (void)ctx, (void)f, (void)d; }

static void make_port(wss_dev_port *p, tctx *t)
{
    memset(p, 0, sizeof *p);
    p->ctx = t;
    p->wifi_probe = probe;
    p->wifi_scan = scan;
    p->wifi_join = join;
    p->wifi_leave = leave;
    p->https_post = post;
    p->storage_read = st_read;
    p->storage_write = st_write;
    p->now_ms = now;
    p->sleep_ms = nap;
    p->user_guided_setup = ugs;
    ossl_fill_port(p);
}

/* Z85 written a second way: the payload as one big-endian number per group,
 * digits found by repeated subtraction of powers of 85. */
static void z85_reference(const uint8_t *in, size_t len, char *out)
{
    static const char *alpha = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    static const uint32_t pow85[5] = {52200625u, 614125u, 7225u, 85u, 1u};
    for (size_t g = 0; g < len / 4; g++) {
        uint32_t v = 0;
        for (int i = 0; i < 4; i++)
            v = v * 256 + in[g * 4 + (size_t)i];
        for (int d = 0; d < 5; d++) {
            int digit = 0;
            while (v >= pow85[d]) {
                v -= pow85[d];
                digit++;
            }
            *out++ = alpha[digit];
        }
    }
    *out = '\0';
}

/* The whole derivation with OpenSSL only, from the DSS's side for the key
 * (ECDH is symmetric: DSS private key with the device's public key). */
static void reference(EVP_PKEY *dev_key, EVP_PKEY *dss_key, const char *pidx, const uint8_t nonce[12], char *ssid,
                      char *pass)
{
    uint8_t spki[128], hash[32], secret[32], key[32], mac[32], payload[24];
    int n = ossl_spki(dev_key, spki, sizeof spki);
    assert_int_equal(n, 91);
    EVP_Digest(spki, (size_t)n, hash, NULL, EVP_sha256(), NULL);
    const uint8_t *ami = hash + 23;
    uint8_t two[2] = {(uint8_t)(ami[0] >> 4), (uint8_t)(ami[0] << 4)};
    char b64[8];
    EVP_EncodeBlock((unsigned char *)b64, two, 2);
    memcpy(payload, ami + 1, 8);
    memcpy(payload + 8, pidx, 4);
    memcpy(payload + 12, nonce, 12);
    ssid[0] = b64[0];
    ssid[1] = b64[1];
    z85_reference(payload, 24, ssid + 2);

    assert_int_equal(ossl_spki(dev_key, spki, sizeof spki), 91);
    assert_int_equal(ossl_ecdh(dss_key, spki, 91, secret), 0);
    EVP_Digest(secret, 32, key, NULL, EVP_sha256(), NULL);
    unsigned int maclen = 32;
    assert_non_null(HMAC(EVP_sha256(), key, 32, nonce, 12, mac, &maclen));
    EVP_EncodeBlock((unsigned char *)pass, mac, 32);
}

typedef struct fixture {
    EVP_PKEY *dev_key, *dss_key;
    tctx t;
    wss_dev_port port;
    wss_dev dev;
} fixture;

static void setup_fixture(fixture *f, const char *pidx)
{
    uint8_t spki[128];
    memset(f, 0, sizeof *f);
    f->dev_key = ossl_load_key(test_device_key_pem);
    f->dss_key = ossl_load_key(test_dss_key_pem);
    assert_non_null(f->dev_key);
    assert_non_null(f->dss_key);
    f->t.key = f->dev_key;
    assert_int_equal(ossl_spki(f->dev_key, spki, sizeof spki), 91);
    ossl_b64(spki, 91, f->t.device_spki_b64, sizeof f->t.device_spki_b64);
    assert_int_equal(ossl_spki(f->dss_key, spki, sizeof spki), 91);
    ossl_b64(spki, 91, f->t.dss_spki_b64, sizeof f->t.dss_spki_b64);
    f->t.product_index = pidx;
    make_port(&f->port, &f->t);
}

static void teardown_fixture(fixture *f)
{
    EVP_PKEY_free(f->dev_key);
    EVP_PKEY_free(f->dss_key);
}

static void test_vector(void **state)
{
    (void)state;
    static fixture f;
    const uint8_t nonce[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    char ssid[WSS_DEV_SSID_MAX + 1], pass[45], rssid[64], rpass[64];
    char detail[128];
    setup_fixture(&f, "CbtN");
    assert_int_equal(wss_dev_init(&f.dev, &f.port, NULL, detail, sizeof detail), WSS_DEV_OK);
    assert_int_equal(wss_dev_setup_network(&f.dev, nonce, ssid, pass), WSS_DEV_OK);
    reference(f.dev_key, f.dss_key, "CbtN", nonce, rssid, rpass);
    if (getenv("WSS_PRINT_VECTOR"))
        printf("ssid %s\npassphrase %s\n", ssid, pass);
    assert_int_equal(strlen(ssid), 32);
    assert_int_equal(strlen(pass), 44);
    assert_string_equal(ssid, rssid);
    assert_string_equal(pass, rpass);
    assert_string_equal(ssid, VECTOR_SSID);
    assert_string_equal(pass, VECTOR_PASSPHRASE);
    teardown_fixture(&f);
}

static void test_random_nonces_match_reference(void **state)
{
    (void)state;
    static fixture f;
    char detail[128];
    setup_fixture(&f, "Ab9z");
    assert_int_equal(wss_dev_init(&f.dev, &f.port, NULL, detail, sizeof detail), WSS_DEV_OK);
    char first[WSS_DEV_SSID_MAX + 1] = "";
    for (int i = 0; i < 50; i++) {
        uint8_t nonce[12];
        char ssid[WSS_DEV_SSID_MAX + 1], pass[45], rssid[64], rpass[64];
        RAND_bytes(nonce, sizeof nonce);
        assert_int_equal(wss_dev_setup_network(&f.dev, nonce, ssid, pass), WSS_DEV_OK);
        reference(f.dev_key, f.dss_key, "Ab9z", nonce, rssid, rpass);
        assert_string_equal(ssid, rssid);
        assert_string_equal(pass, rpass);
        /* The first 12 characters carry the key hash and product index only. */
        if (!first[0])
            strcpy(first, ssid);
        assert_memory_equal(ssid, first, 12);
    }
    teardown_fixture(&f);
}

static void test_init_rejects_bad_storage(void **state)
{
    (void)state;
    static fixture f;
    char detail[128];
    setup_fixture(&f, "CbtNX"); /* 5 characters */
    assert_int_equal(wss_dev_init(&f.dev, &f.port, NULL, detail, sizeof detail), WSS_DEV_FAIL_PORT);
    assert_non_null(strstr(detail, "ProductIndex"));
    f.t.product_index = "CbtN";
    f.t.dss_spki_b64[10] = '!';
    assert_int_equal(wss_dev_init(&f.dev, &f.port, NULL, detail, sizeof detail), WSS_DEV_FAIL_PORT);
    assert_non_null(strstr(detail, "DSS.PublicKey"));
    f.port.ecdh_p256 = NULL;
    assert_int_equal(wss_dev_init(&f.dev, &f.port, NULL, detail, sizeof detail), WSS_DEV_FAIL_PORT);
    assert_non_null(strstr(detail, "lacks"));
    teardown_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_random_nonces_match_reference),
        cmocka_unit_test(test_init_rejects_bad_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

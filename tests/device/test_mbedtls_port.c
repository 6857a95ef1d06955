/* test_mbedtls_port.c - the mbedTLS crypto port against OpenSSL: signatures
 * both ways, ECDH agreement, hashes, key loading, and the setup network
 * computed through each port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ossl_port.h"
#include "wss/device.h"
#include "wss/device_mbedtls.h"

typedef struct env {
    wss_dev_mbedtls mb; /* first: the mbedTLS port's functions find it here */
    EVP_PKEY *dev_key, *dss_key;
    uint8_t dev_spki[91], dss_spki[91];
    wss_dev_port port;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->dev_key = ossl_load_key(test_device_key_pem);
    e->dss_key = ossl_load_key(test_dss_key_pem);
    assert_int_equal(ossl_spki(e->dev_key, e->dev_spki, 91), 91);
    assert_int_equal(ossl_spki(e->dss_key, e->dss_spki, 91), 91);
    assert_int_equal(wss_dev_mbedtls_init(&e->mb, (const uint8_t *)test_device_key_pem, strlen(test_device_key_pem)),
                     0);
    e->port.ctx = e;
    wss_dev_mbedtls_fill_port(&e->port);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    wss_dev_mbedtls_free(&e->mb);
    EVP_PKEY_free(e->dev_key);
    EVP_PKEY_free(e->dss_key);
    free(e);
    return 0;
}

static void test_public_key(void **state)
{
    env *e = *state;
    uint8_t spki[91];
    assert_int_equal(wss_dev_mbedtls_public_spki(&e->mb, spki), 0);
    assert_memory_equal(spki, e->dev_spki, 91);
}

static void test_key_formats(void **state)
{
    (void)state;
    static wss_dev_mbedtls m;
    uint8_t spki[91], dev_spki[91];
    EVP_PKEY *k = ossl_load_key(test_device_key_pem);
    assert_int_equal(ossl_spki(k, dev_spki, 91), 91);

    /* PEM with its NUL counted. */
    assert_int_equal(wss_dev_mbedtls_init(&m, (const uint8_t *)test_device_key_pem, sizeof test_device_key_pem), 0);
    assert_int_equal(wss_dev_mbedtls_public_spki(&m, spki), 0);
    assert_memory_equal(spki, dev_spki, 91);
    wss_dev_mbedtls_free(&m);

    /* DER (PKCS#8). */
    unsigned char *der = NULL;
    int n = i2d_PrivateKey(k, &der);
    assert_true(n > 0);
    assert_int_equal(wss_dev_mbedtls_init(&m, der, (size_t)n), 0);
    assert_int_equal(wss_dev_mbedtls_public_spki(&m, spki), 0);
    assert_memory_equal(spki, dev_spki, 91);
    wss_dev_mbedtls_free(&m);
    OPENSSL_free(der);
    EVP_PKEY_free(k);

    /* Not P-256, not a key, nothing. */
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_non_null(p384);
    der = NULL;
    n = i2d_PrivateKey(p384, &der);
    assert_true(n > 0);
    assert_int_equal(wss_dev_mbedtls_init(&m, der, (size_t)n), -1);
    assert_int_equal(wss_dev_mbedtls_public_spki(&m, spki), -1);
    OPENSSL_free(der);
    EVP_PKEY_free(p384);
    assert_int_equal(wss_dev_mbedtls_init(&m, (const uint8_t *)"-----BEGIN PRIVATE KEY-----\nAAAA\n", 33), -1);
    assert_int_equal(wss_dev_mbedtls_init(&m, NULL, 0), -1);
}

static void test_sign_mbedtls_verify_openssl(void **state)
{
    env *e = *state;
    const char *msg = "amzn1.ffs.wss-wifi-session-token.1234";
    uint8_t sig[80];
    size_t n = 0;
    assert_int_equal(e->port.ecdsa_sign(e->port.ctx, msg, strlen(msg), sig, sizeof sig, &n), 0);
    assert_true(n >= 64 && n <= 72);
    assert_int_equal(ossl_verify_spki(e->dev_spki, 91, msg, strlen(msg), sig, n), 0);
    assert_int_equal(ossl_verify_spki(e->dev_spki, 91, msg, strlen(msg) - 1, sig, n), -1);
    assert_int_equal(ossl_verify_spki(e->dss_spki, 91, msg, strlen(msg), sig, n), -1);
    /* A buffer too small is a failure, not a cut signature. */
    assert_int_equal(e->port.ecdsa_sign(e->port.ctx, msg, strlen(msg), sig, 10, &n), -1);
}

static void test_sign_openssl_verify_mbedtls(void **state)
{
    env *e = *state;
    const char body[] = "{\"nonce\":\"abc\",\"canProceed\":true}";
    uint8_t sig[80], longer[81];
    size_t n = sizeof sig;
    assert_int_equal(ossl_sign(e->dss_key, body, strlen(body), sig, &n), 0);
    assert_int_equal(e->port.ecdsa_verify(e->port.ctx, e->dss_spki, 91, body, strlen(body), sig, n), 0);
    /* Another body, another key, a flipped bit, trailing bytes, a bad key: all refused. */
    assert_int_equal(e->port.ecdsa_verify(e->port.ctx, e->dss_spki, 91, body, strlen(body) - 1, sig, n), -1);
    assert_int_equal(e->port.ecdsa_verify(e->port.ctx, e->dev_spki, 91, body, strlen(body), sig, n), -1);
    sig[n - 1] ^= 1;
    assert_int_equal(e->port.ecdsa_verify(e->port.ctx, e->dss_spki, 91, body, strlen(body), sig, n), -1);
    sig[n - 1] ^= 1;
    memcpy(longer, sig, n);
    longer[n] = 0;
    assert_int_equal(e->port.ecdsa_verify(e->port.ctx, e->dss_spki, 91, body, strlen(body), longer, n + 1), -1);
    uint8_t bad_spki[91];
    memcpy(bad_spki, e->dss_spki, 91);
    bad_spki[60] ^= 0x55; /* no longer a point on the curve */
    assert_int_equal(e->port.ecdsa_verify(e->port.ctx, bad_spki, 91, body, strlen(body), sig, n), -1);
    assert_int_equal(e->port.ecdsa_verify(e->port.ctx, e->dss_spki, 90, body, strlen(body), sig, n), -1);
}

static void test_ecdh_agrees(void **state)
{
    env *e = *state;
    uint8_t a[32], b[32];
    assert_int_equal(e->port.ecdh_p256(e->port.ctx, e->dss_spki, 91, a), 0);
    assert_int_equal(ossl_ecdh(e->dss_key, e->dev_spki, 91, b), 0);
    assert_memory_equal(a, b, 32);
    assert_int_equal(ossl_ecdh(e->dev_key, e->dss_spki, 91, b), 0);
    assert_memory_equal(a, b, 32);
    /* A peer key of another curve is refused. */
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    uint8_t spki[160];
    int n = ossl_spki(p384, spki, sizeof spki);
    assert_true(n > 91);
    assert_int_equal(e->port.ecdh_p256(e->port.ctx, spki, (size_t)n, a), -1);
    EVP_PKEY_free(p384);
}

static void test_hashes_and_random(void **state)
{
    env *e = *state;
    uint8_t out[32], want[32];
    /* FIPS 180-2 "abc". */
    const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                             0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                             0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    assert_int_equal(e->port.sha256(e->port.ctx, "abc", 3, out), 0);
    assert_memory_equal(out, abc, 32);
    /* RFC 4231 test case 2. */
    const uint8_t jefe[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                              0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                              0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    const char *data = "what do ya want for nothing?";
    assert_int_equal(e->port.hmac_sha256(e->port.ctx, (const uint8_t *)"Jefe", 4, data, strlen(data), out), 0);
    assert_memory_equal(out, jefe, 32);
    unsigned int len = 32;
    HMAC(EVP_sha256(), "Jefe", 4, (const unsigned char *)data, strlen(data), want, &len);
    assert_memory_equal(out, want, 32);

    static uint8_t r1[3000], r2[3000];
    assert_int_equal(e->port.random(e->port.ctx, r1, sizeof r1), 0);
    assert_int_equal(e->port.random(e->port.ctx, r2, sizeof r2), 0);
    assert_memory_not_equal(r1, r2, sizeof r1);
    int nonzero = 0;
    for (size_t i = 2000; i < sizeof r1; i++)
        nonzero += r1[i] != 0;
    assert_true(nonzero > 900); /* the tail past one DRBG request is filled too */
}

/* ---- the setup network through each port -------------------------------------- */

typedef struct store {
    char dev_b64[129], dss_b64[129];
} store;

typedef struct mb_ctx {
    wss_dev_mbedtls mb;
    store *st;
} mb_ctx;
typedef struct os_ctx {
    EVP_PKEY *key;
    store *st;
} os_ctx;

static int read_common(store *s, const char *key, char *out, size_t cap, size_t *len)
{
    const char *v = strcmp(key, "DeviceInformation.PublicKey") == 0      ? s->dev_b64
                    : strcmp(key, "DSS.PublicKey") == 0                  ? s->dss_b64
                    : strcmp(key, "DeviceInformation.ProductIndex") == 0 ? "CbtN"
                                                                         : NULL;
    if (!v || strlen(v) >= cap)
        return -1;
    strcpy(out, v);
    *len = strlen(v);
    return 0;
}
static int mb_read(void *ctx, const char *key, char *out, size_t cap, size_t *len)
{
    return read_common(((mb_ctx *)ctx)->st, key, out, cap, len);
}
static int os_read(void *ctx, const char *key, char *out, size_t cap, size_t *len)
{
    return read_common(((os_ctx *)ctx)->st, key, out, cap, len);
}
static int no_write(void *ctx, const char *k, const char *v, size_t n)
{
    return (void)ctx, (void)k, (void)v, (void)n, -1;
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
    return (void)ctx, (void)ssid, (void)sec, (void)key, (void)hidden, -1;
}
static void leave(void *ctx) { (void)ctx; }
static int post(void *ctx, const wss_dev_http_request *req, wss_dev_http_response *resp)
{
    return (void)ctx, (void)req, (void)resp, -1;
}
static uint64_t now(void *ctx) { return (void)ctx, 0; }
static void nap(void *ctx, uint32_t ms) { (void)ctx, (void)ms; }
static void ugs(void *ctx, wss_dev_fail f, const char *d) { (void)ctx, (void)f, (void)d; }

static void base_port(wss_dev_port *p)
{
    memset(p, 0, sizeof *p);
    p->wifi_probe = probe;
    p->wifi_scan = scan;
    p->wifi_join = join;
    p->wifi_leave = leave;
    p->https_post = post;
    p->storage_write = no_write;
    p->now_ms = now;
    p->sleep_ms = nap;
    p->user_guided_setup = ugs;
}

static void test_setup_network_same_on_both_ports(void **state)
{
    env *e = *state;
    static store st;
    static mb_ctx mctx;
    static os_ctx octx;
    static wss_dev dm, dos;
    wss_dev_port pm, po;
    char detail[128];
    ossl_b64(e->dev_spki, 91, st.dev_b64, sizeof st.dev_b64);
    ossl_b64(e->dss_spki, 91, st.dss_b64, sizeof st.dss_b64);
    assert_int_equal(wss_dev_mbedtls_init(&mctx.mb, (const uint8_t *)test_device_key_pem, strlen(test_device_key_pem)),
                     0);
    mctx.st = &st;
    octx.key = e->dev_key;
    octx.st = &st;
    base_port(&pm);
    pm.ctx = &mctx;
    pm.storage_read = mb_read;
    wss_dev_mbedtls_fill_port(&pm);
    base_port(&po);
    po.ctx = &octx;
    po.storage_read = os_read;
    ossl_fill_port(&po);
    assert_int_equal(wss_dev_init(&dm, &pm, NULL, detail, sizeof detail), WSS_DEV_OK);
    assert_int_equal(wss_dev_init(&dos, &po, NULL, detail, sizeof detail), WSS_DEV_OK);

    const uint8_t vector_nonce[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    char s1[33], p1[45], s2[33], p2[45];
    assert_int_equal(wss_dev_setup_network(&dm, vector_nonce, s1, p1), WSS_DEV_OK);
    assert_string_equal(s1, "Bg9LKf<ZBFHnlT>dj009c61o!#m2NH?C");
    assert_string_equal(p1, "1TBb6Ab8Pup/sfC8QeK0lXEB1i1XD2yXJVORFOKvHY4=");
    for (int i = 0; i < 20; i++) {
        uint8_t nonce[12];
        assert_int_equal(pm.random(pm.ctx, nonce, sizeof nonce), 0);
        assert_int_equal(wss_dev_setup_network(&dm, nonce, s1, p1), WSS_DEV_OK);
        assert_int_equal(wss_dev_setup_network(&dos, nonce, s2, p2), WSS_DEV_OK);
        assert_string_equal(s1, s2);
        assert_string_equal(p1, p2);
    }
    wss_dev_mbedtls_free(&mctx.mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_public_key, setup, teardown),
        cmocka_unit_test(test_key_formats),
        cmocka_unit_test_setup_teardown(test_sign_mbedtls_verify_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_openssl_verify_mbedtls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecdh_agrees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hashes_and_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setup_network_same_on_both_ports, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

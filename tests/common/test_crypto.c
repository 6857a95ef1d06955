/* test_crypto.c - unit tests for random values, hashing, base64 and ECDSA P-256 keys. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/crypto.h"

/* ---- helpers ---------------------------------------------------------------- */

static EVP_PKEY *gen(const char *type, const char *curve)
{
    EVP_PKEY *k =
        curve ? EVP_PKEY_Q_keygen(NULL, NULL, type, curve) : EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)2048);
    assert_non_null(k);
    return k;
}

static char *spki_b64(EVP_PKEY *k, int *derlen)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(k, &der);
    assert_true(len > 0);
    char *b64 = wss_base64_encode(der, (size_t)len);
    OPENSSL_free(der);
    if (derlen)
        *derlen = len;
    return b64;
}

static char *spki_pem(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(bio);
    return s;
}

static void assert_decodes(const char *b64, const char *want)
{
    uint8_t *out = NULL;
    size_t len = 99;
    assert_int_equal(wss_base64_decode(b64, &out, &len), WSS_OK);
    assert_non_null(out);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    free(out);
}

static void assert_rejected(const char *b64)
{
    uint8_t *out = (uint8_t *)1;
    size_t len = 99;
    if (wss_base64_decode(b64, &out, &len) != WSS_ERR_INVALID)
        fail_msg("base64 \"%s\" was accepted", b64);
    assert_null(out);
    assert_int_equal(len, 0);
}

static int is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* ---- hashing ---------------------------------------------------------------- */

static void test_sha256_vectors(void **state)
{
    (void)state;
    static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                    0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                    0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t d[32];
    wss_sha256("abc", 3, d);
    assert_memory_equal(d, abc, 32);

    char hex[65];
    wss_sha256_hex("abc", hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    wss_sha256_hex("", hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_int_equal(wss_ct_equal("abcd", 4, "abcd", 4), 1);
    assert_int_equal(wss_ct_equal("abcd", 4, "abce", 4), 0);
    assert_int_equal(wss_ct_equal("abcd", 4, "abc", 3), 0);
    assert_int_equal(wss_ct_equal("abc", 3, "abcd", 4), 0);
    assert_int_equal(wss_ct_equal("", 0, "", 0), 1);
    assert_int_equal(wss_ct_equal(NULL, 0, NULL, 0), 1);
    assert_int_equal(wss_ct_equal("a", 1, NULL, 0), 0);

    assert_int_equal(wss_ct_streq("secret", "secret"), 1);
    assert_int_equal(wss_ct_streq("secret", "secreT"), 0);
    assert_int_equal(wss_ct_streq("secret", "secret2"), 0);
    assert_int_equal(wss_ct_streq("", ""), 1);
    assert_int_equal(wss_ct_streq(NULL, ""), 0);
    assert_int_equal(wss_ct_streq("", NULL), 0);
    assert_int_equal(wss_ct_streq(NULL, NULL), 0);
}

/* ---- random values ---------------------------------------------------------- */

static void test_random_bytes(void **state)
{
    (void)state;
    uint8_t a[32] = {0}, b[32] = {0};
    assert_int_equal(wss_random_bytes(a, sizeof a), WSS_OK);
    assert_int_equal(wss_random_bytes(b, sizeof b), WSS_OK);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(wss_random_bytes(NULL, 0), WSS_OK);
}

static void test_uuid4(void **state)
{
    (void)state;
    char u[37], v[37];
    assert_int_equal(wss_uuid4(u), WSS_OK);
    assert_int_equal(wss_uuid4(v), WSS_OK);
    assert_int_equal(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else
            assert_true(is_hex_lower(u[i]));
    }
    assert_int_equal(u[14], '4');
    assert_non_null(strchr("89ab", u[19]));
    assert_string_not_equal(u, v);
}

/* Version-7 ids: the layout, the time in front, and no repeats, neither
 * within a thread nor between threads (each has its own generator). */
#define UUID7_PER_THREAD 20000
#define UUID7_THREADS 4
static char uuid7_ids[UUID7_THREADS * UUID7_PER_THREAD][37];

static void *uuid7_thread(void *arg)
{
    char(*ids)[37] = arg;
    for (int i = 0; i < UUID7_PER_THREAD; i++)
        wss_uuid7(1793491200123LL, ids[i]);
    return NULL;
}

static int by_text(const void *a, const void *b) { return strcmp(a, b); }

static void test_uuid7(void **state)
{
    (void)state;
    char u[37];
    /* 2026-11-01T00:00:00.123Z: 0x01a19467e87b milliseconds. */
    wss_uuid7(1793491200123LL, u);
    assert_int_equal(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else
            assert_true(is_hex_lower(u[i]));
    }
    char ms_hex[16];
    snprintf(ms_hex, sizeof ms_hex, "%012llx", 1793491200123LL);
    assert_memory_equal(u, ms_hex, 8);
    assert_memory_equal(u + 9, ms_hex + 8, 4);
    assert_int_equal(u[14], '7');
    assert_non_null(strchr("89ab", u[19]));
    /* Later milliseconds sort after earlier ones, whatever the random part. */
    char later[37];
    wss_uuid7(1793491200124LL, later);
    assert_true(strcmp(later, u) > 0);

    pthread_t t[UUID7_THREADS];
    for (int i = 0; i < UUID7_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, uuid7_thread, uuid7_ids[i * UUID7_PER_THREAD]), 0);
    for (int i = 0; i < UUID7_THREADS; i++)
        pthread_join(t[i], NULL);
    size_t n = UUID7_THREADS * UUID7_PER_THREAD;
    qsort(uuid7_ids, n, sizeof *uuid7_ids, by_text);
    for (size_t i = 1; i < n; i++)
        assert_string_not_equal(uuid7_ids[i - 1], uuid7_ids[i]);
}

static void test_random_token(void **state)
{
    (void)state;
    char *t = wss_random_token("wss_", 32);
    char *t2 = wss_random_token("wss_", 32);
    assert_non_null(t);
    assert_non_null(t2);
    assert_int_equal(strncmp(t, "wss_", 4), 0);
    assert_int_equal(strlen(t), 4 + 43); /* 32 bytes -> 43 unpadded base64url characters */
    for (size_t i = 4; t[i]; i++)
        assert_true(is_b64url(t[i]));
    assert_string_not_equal(t, t2);
    free(t);
    free(t2);

    t = wss_random_token("p", 0);
    assert_string_equal(t, "p");
    free(t);
    t = wss_random_token("", 3);
    assert_int_equal(strlen(t), 4);
    free(t);
}

/* ---- base64 ----------------------------------------------------------------- */

static const char *const RFC4648[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_base64_rfc4648(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof RFC4648 / sizeof RFC4648[0]; i++) {
        char *enc = wss_base64_encode(RFC4648[i][0], strlen(RFC4648[i][0]));
        assert_non_null(enc);
        assert_string_equal(enc, RFC4648[i][1]);
        free(enc);
        assert_decodes(RFC4648[i][1], RFC4648[i][0]);
    }
}

static void test_base64_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg=",  "Zg==\n", "Z===",  "Zh==",   "!!!!",     "Zg",   "Zm8",  "Zm9=",      "=Zg=",      "Zg==Zg==",
        "Zm=v", " Zm9v",  "Zm9v ", "Zm9v\n", "Zm9v\r\n", "Zm-_", "====", "Zm9vYmFy=", "Zm9vYg===", "Zm9vY===",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_rejected(bad[i]);
    uint8_t *out = NULL;
    size_t len;
    assert_int_equal(wss_base64_decode(NULL, &out, &len), WSS_ERR_INVALID);
}

static void test_base64_binary_roundtrip(void **state)
{
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    for (size_t n = 0; n <= sizeof all; n++) {
        char *enc = wss_base64_encode(all + (256 - n), n);
        assert_non_null(enc);
        assert_int_equal(strlen(enc), (n + 2) / 3 * 4);
        uint8_t *dec = NULL;
        size_t len = 0;
        assert_int_equal(wss_base64_decode(enc, &dec, &len), WSS_OK);
        assert_int_equal(len, n);
        if (n)
            assert_memory_equal(dec, all + (256 - n), n);
        free(dec);
        free(enc);
    }
}

static void test_base64url(void **state)
{
    (void)state;
    static const uint8_t fbff[] = {0xfb, 0xff};
    char *s = wss_base64_encode(fbff, sizeof fbff);
    assert_string_equal(s, "+/8=");
    free(s);
    s = wss_base64url_encode(fbff, sizeof fbff);
    assert_string_equal(s, "-_8");
    free(s);
    s = wss_base64url_encode("f", 1);
    assert_string_equal(s, "Zg");
    free(s);
    s = wss_base64url_encode("fo", 2);
    assert_string_equal(s, "Zm8");
    free(s);
    s = wss_base64url_encode("foobar", 6);
    assert_string_equal(s, "Zm9vYmFy");
    free(s);
    s = wss_base64url_encode("", 0);
    assert_string_equal(s, "");
    free(s);
}

/* ---- keys ------------------------------------------------------------------- */

static void test_key_pem_roundtrip(void **state)
{
    (void)state;
    wss_crypto_key *k = NULL, *priv = NULL, *pub = NULL;
    char err[128];
    assert_int_equal(wss_key_generate(&k), WSS_OK);

    char *priv_pem = wss_key_private_pem(k);
    char *pub_pem = wss_key_public_pem(k);
    char *pub_b64 = wss_key_public_b64(k);
    assert_non_null(priv_pem);
    assert_non_null(pub_pem);
    assert_non_null(pub_b64);
    assert_non_null(strstr(priv_pem, "-----BEGIN PRIVATE KEY-----"));
    assert_non_null(strstr(pub_pem, "-----BEGIN PUBLIC KEY-----"));

    assert_int_equal(wss_key_parse_private_pem(priv_pem, &priv, err, sizeof err), WSS_OK);
    char *again = wss_key_public_pem(priv);
    assert_string_equal(again, pub_pem);
    free(again);

    assert_int_equal(wss_key_parse_public(pub_pem, &pub, err, sizeof err), WSS_OK);
    again = wss_key_public_b64(pub);
    assert_string_equal(again, pub_b64);
    free(again);
    assert_null(wss_key_private_pem(pub)); /* public-only */
    wss_key_free(pub);

    assert_int_equal(wss_key_parse_public(pub_b64, &pub, err, sizeof err), WSS_OK);
    again = wss_key_public_pem(pub);
    assert_string_equal(again, pub_pem);
    free(again);

    wss_key_free(pub);
    wss_key_free(priv);
    wss_key_free(k);
    free(priv_pem);
    free(pub_pem);
    free(pub_b64);
}

static void test_public_b64_is_uncompressed_spki(void **state)
{
    (void)state;
    wss_crypto_key *k = NULL;
    assert_int_equal(wss_key_generate(&k), WSS_OK);
    char *b64 = wss_key_public_b64(k);
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(wss_base64_decode(b64, &der, &len), WSS_OK);
    assert_int_equal(len, 91);
    assert_int_equal(der[0], 0x30);
    assert_int_equal(der[26], 0x04); /* uncompressed point marker */
    free(der);
    free(b64);
    wss_key_free(k);
}

static void test_parse_compressed_spki(void **state)
{
    (void)state;
    EVP_PKEY *ossl = gen("EC", "P-256");
    char *full = spki_b64(ossl, NULL);
    assert_int_equal(EVP_PKEY_set_utf8_string_param(ossl, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
    int derlen = 0;
    char *compressed = spki_b64(ossl, &derlen);
    assert_int_equal(derlen, 59);

    wss_crypto_key *k = NULL;
    char err[128];
    assert_int_equal(wss_key_parse_public(compressed, &k, err, sizeof err), WSS_OK);
    /* Re-exported in the 91-byte uncompressed form, the same key. */
    char *out = wss_key_public_b64(k);
    assert_string_equal(out, full);
    free(out);
    wss_key_free(k);

    char *pem = spki_pem(ossl); /* compressed point in PEM, too */
    assert_int_equal(wss_key_parse_public(pem, &k, err, sizeof err), WSS_OK);
    out = wss_key_public_b64(k);
    assert_string_equal(out, full);
    free(out);
    wss_key_free(k);

    free(pem);
    free(compressed);
    free(full);
    EVP_PKEY_free(ossl);
}

static void assert_public_rejected(EVP_PKEY *ossl)
{
    wss_crypto_key *k = (wss_crypto_key *)1;
    char err[128] = "";
    char *b64 = spki_b64(ossl, NULL);
    char *pem = spki_pem(ossl);
    assert_int_equal(wss_key_parse_public(b64, &k, err, sizeof err), WSS_ERR_INVALID);
    assert_null(k);
    assert_true(err[0] != '\0');
    assert_int_equal(wss_key_parse_public(pem, &k, err, sizeof err), WSS_ERR_INVALID);
    assert_null(k);
    free(b64);
    free(pem);
}

static void test_reject_other_keys(void **state)
{
    (void)state;
    EVP_PKEY *rsa = gen("RSA", NULL);
    assert_public_rejected(rsa);
    EVP_PKEY_free(rsa);

    EVP_PKEY *p384 = gen("EC", "P-384");
    assert_public_rejected(p384);
    EVP_PKEY_free(p384);

    /* P-256 spelled out as explicit parameters rather than the named curve. */
    EVP_PKEY *explicit = gen("EC", "P-256");
    assert_int_equal(
        EVP_PKEY_set_utf8_string_param(explicit, OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT), 1);
    assert_public_rejected(explicit);
    EVP_PKEY_free(explicit);
}

static void test_reject_malformed_public(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not base64",
        "AAAA",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    };
    wss_crypto_key *k = NULL;
    char err[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(wss_key_parse_public(bad[i], &k, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wss_key_parse_public(NULL, &k, err, sizeof err), WSS_ERR_INVALID);

    /* A valid SPKI with one byte changed in the point is off the curve. */
    wss_crypto_key *good = NULL;
    assert_int_equal(wss_key_generate(&good), WSS_OK);
    char *b64 = wss_key_public_b64(good);
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(wss_base64_decode(b64, &der, &len), WSS_OK);
    der[90] ^= 0x01;
    char *broken = wss_base64_encode(der, len);
    assert_int_equal(wss_key_parse_public(broken, &k, err, sizeof err), WSS_ERR_INVALID);
    free(broken);

    /* Trailing bytes after the SPKI are not accepted either. */
    der[90] ^= 0x01;
    uint8_t longer[92];
    memcpy(longer, der, 91);
    longer[91] = 0;
    broken = wss_base64_encode(longer, sizeof longer);
    assert_int_equal(wss_key_parse_public(broken, &k, err, sizeof err), WSS_ERR_INVALID);
    free(broken);
    free(der);
    free(b64);
    wss_key_free(good);
}

static void test_private_pem_forms(void **state)
{
    (void)state;
    EVP_PKEY *ossl = gen("EC", "P-256");
    wss_crypto_key *k = NULL;
    char err[128];

    /* SEC1 "EC PRIVATE KEY". */
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, ossl, NULL, NULL, 0, NULL, NULL), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *sec1 = strndup(data, (size_t)n);
    BIO_free(bio);
    assert_non_null(strstr(sec1, "BEGIN EC PRIVATE KEY"));
    assert_int_equal(wss_key_parse_private_pem(sec1, &k, err, sizeof err), WSS_OK);
    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(k, "m", 1, &sig), WSS_OK);
    free(sig);
    wss_key_free(k);
    free(sec1);

    /* An encrypted key is refused, never prompted for. */
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, ossl, EVP_aes_256_cbc(), "pw", 2, NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &data);
    char *enc = strndup(data, (size_t)n);
    BIO_free(bio);
    assert_int_equal(wss_key_parse_private_pem(enc, &k, err, sizeof err), WSS_ERR_INVALID);
    assert_null(k);
    free(enc);
    EVP_PKEY_free(ossl);

    /* A P-384 private key is refused. */
    EVP_PKEY *p384 = gen("EC", "P-384");
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, p384, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &data);
    char *pem384 = strndup(data, (size_t)n);
    BIO_free(bio);
    assert_int_equal(wss_key_parse_private_pem(pem384, &k, err, sizeof err), WSS_ERR_INVALID);
    free(pem384);
    EVP_PKEY_free(p384);

    assert_int_equal(wss_key_parse_private_pem("garbage", &k, err, sizeof err), WSS_ERR_INVALID);
}

/* A SEC1 key whose embedded public point belongs to another key: signing with it
 * would produce signatures that its advertised public key does not verify. */
static void test_private_pem_mismatched_point(void **state)
{
    (void)state;
    EVP_PKEY *a = gen("EC", "P-256"), *b = gen("EC", "P-256");
    unsigned char *der = NULL;
    int len = i2d_PrivateKey(a, &der); /* SEC1 ECPrivateKey; the point is its last 65 bytes */
    assert_true(len > 65);
    unsigned char point[65];
    size_t plen = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(b, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &plen), 1);
    assert_int_equal(plen, 65);
    assert_int_equal(der[len - 65], 0x04);
    memcpy(der + len - 65, point, 65);

    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio(bio, "EC PRIVATE KEY", "", der, len) > 0);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *pem = strndup(data, (size_t)n);
    BIO_free(bio);

    wss_crypto_key *k = NULL;
    char err[128];
    assert_int_equal(wss_key_parse_private_pem(pem, &k, err, sizeof err), WSS_ERR_INVALID);
    assert_null(k);

    free(pem);
    OPENSSL_free(der);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
}

/* ---- ECDSA ------------------------------------------------------------------ */

static void test_sign_verify(void **state)
{
    (void)state;
    static const char msg[] = "device.signature payload";
    wss_crypto_key *k = NULL, *pub = NULL, *other = NULL;
    char err[128];
    assert_int_equal(wss_key_generate(&k), WSS_OK);
    assert_int_equal(wss_key_generate(&other), WSS_OK);
    char *b64 = wss_key_public_b64(k);
    assert_int_equal(wss_key_parse_public(b64, &pub, err, sizeof err), WSS_OK);

    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(k, msg, strlen(msg), &sig), WSS_OK);
    assert_non_null(sig);
    assert_int_equal(wss_ecdsa_verify_b64(pub, msg, strlen(msg), sig), WSS_OK);
    assert_int_equal(wss_ecdsa_verify_b64(k, msg, strlen(msg), sig), WSS_OK);

    assert_int_equal(wss_ecdsa_verify_b64(other, msg, strlen(msg), sig), WSS_ERR_VERIFY);
    assert_int_equal(wss_ecdsa_verify_b64(pub, "device.signature paylOad", strlen(msg), sig), WSS_ERR_VERIFY);
    assert_int_equal(wss_ecdsa_verify_b64(pub, msg, strlen(msg) - 1, sig), WSS_ERR_VERIFY);

    /* A public-only key cannot sign. */
    char *none = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(pub, msg, strlen(msg), &none), WSS_ERR_INVALID);
    assert_null(none);

    free(sig);
    free(b64);
    wss_key_free(pub);
    wss_key_free(other);
    wss_key_free(k);
}

/* Our signatures verify with plain OpenSSL, so they are real DER ECDSA/SHA-256. */
static void test_sign_interop(void **state)
{
    (void)state;
    wss_crypto_key *k = NULL;
    assert_int_equal(wss_key_generate(&k), WSS_OK);
    char *pem = wss_key_public_pem(k);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *ossl = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(ossl);

    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(k, "abc", 3, &sig), WSS_OK);
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(wss_base64_decode(sig, &der, &len), WSS_OK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, ossl), 1);
    assert_int_equal(EVP_DigestVerify(ctx, der, len, (const unsigned char *)"abc", 3), 1);
    EVP_MD_CTX_free(ctx);

    free(der);
    free(sig);
    EVP_PKEY_free(ossl);
    free(pem);
    wss_key_free(k);
}

static void test_malformed_signature(void **state)
{
    (void)state;
    wss_crypto_key *k = NULL;
    assert_int_equal(wss_key_generate(&k), WSS_OK);
    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(k, "m", 1, &sig), WSS_OK);

    static const char *const bad[] = {"", "not base64!", "AAAA", "MAA=", "Zg==\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(wss_ecdsa_verify_b64(k, "m", 1, bad[i]), WSS_ERR_INVALID);
    assert_int_equal(wss_ecdsa_verify_b64(k, "m", 1, NULL), WSS_ERR_INVALID);

    /* A valid signature with a byte appended is not one DER signature. */
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(wss_base64_decode(sig, &der, &len), WSS_OK);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    char *trailing = wss_base64_encode(longer, len + 1);
    assert_int_equal(wss_ecdsa_verify_b64(k, "m", 1, trailing), WSS_ERR_INVALID);

    /* Well-formed DER but a different s: does not verify. */
    der[len - 1] ^= 0x01;
    char *flipped = wss_base64_encode(der, len);
    assert_int_equal(wss_ecdsa_verify_b64(k, "m", 1, flipped), WSS_ERR_VERIFY);

    free(flipped);
    free(trailing);
    free(longer);
    free(der);
    free(sig);
    wss_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_uuid4),
        cmocka_unit_test(test_uuid7),
        cmocka_unit_test(test_random_token),
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_base64_rejects),
        cmocka_unit_test(test_base64_binary_roundtrip),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_key_pem_roundtrip),
        cmocka_unit_test(test_public_b64_is_uncompressed_spki),
        cmocka_unit_test(test_parse_compressed_spki),
        cmocka_unit_test(test_reject_other_keys),
        cmocka_unit_test(test_reject_malformed_public),
        cmocka_unit_test(test_private_pem_forms),
        cmocka_unit_test(test_private_pem_mismatched_point),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_sign_interop),
        cmocka_unit_test(test_malformed_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* crypto.c - random values, hashing, base64 and ECDSA P-256 over OpenSSL 3 libcrypto. */
#include "common/crypto.h"
#include "common/crypto_evp.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

struct wss_crypto_key {
    EVP_PKEY *pkey;
    int has_private;
};

/* Largest key text accepted; real P-256 PEM is a few hundred bytes, and the cap
 * keeps hostile input from reaching the ASN.1 parser at arbitrary size. */
#define KEY_TEXT_MAX 16384

/* DER SubjectPublicKeyInfo sizes of a named-curve P-256 key. */
#define SPKI_P256_UNCOMPRESSED 91
#define SPKI_P256_COMPRESSED 59

void wss_crypto_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int wss_pem_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* ---- random values -------------------------------------------------------- */

wss_err wss_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    if (!buf && len)
        return WSS_ERR_INVALID;
    while (len) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(p, chunk) != 1)
            return WSS_ERR_CRYPTO;
        p += chunk;
        len -= (size_t)chunk;
    }
    return WSS_OK;
}

char *wss_random_token(const char *prefix, size_t nbytes)
{
    if (!prefix)
        prefix = "";
    unsigned char *raw = malloc(nbytes ? nbytes : 1);
    if (!raw)
        return NULL;
    char *tail = NULL, *token = NULL;
    if (wss_random_bytes(raw, nbytes) == WSS_OK)
        tail = wss_base64url_encode(raw, nbytes);
    OPENSSL_cleanse(raw, nbytes);
    free(raw);
    if (!tail)
        return NULL;
    size_t plen = strlen(prefix), tlen = strlen(tail);
    token = malloc(plen + tlen + 1);
    if (token) {
        memcpy(token, prefix, plen);
        memcpy(token + plen, tail, tlen + 1);
    }
    OPENSSL_cleanse(tail, tlen);
    free(tail);
    return token;
}

/* splitmix64's finaliser: a bijection of 64-bit values that spreads every
 * input bit over the output. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void hex_bytes(const unsigned char *b, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = 0;
}

wss_err wss_uuid4(char out[37])
{
    unsigned char b[16];
    if (!out)
        return WSS_ERR_INVALID;
    if (wss_random_bytes(b, sizeof b) != WSS_OK)
        return WSS_ERR_CRYPTO;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    hex_bytes(b, out);
    return WSS_OK;
}

void wss_uuid7(long long unix_ms, char out[37])
{
    /* Per thread: a random key and a counter. mix64 of key + n * odd is one
     * to one in n, so a thread never repeats itself within 2^64 ids; threads
     * differ by their keys. */
    static _Thread_local uint64_t key, n;
    static _Thread_local int seeded;
    if (!seeded) {
        if (wss_random_bytes(&key, sizeof key) != WSS_OK) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            key = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)&key);
        }
        seeded = 1;
    }
    uint64_t r1 = mix64(key + ++n * 0x9e3779b97f4a7c15ULL), r2 = mix64(r1 ^ key);
    uint64_t ms = unix_ms < 0 ? 0 : (uint64_t)unix_ms;
    unsigned char b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | ((r2 >> 8) & 0x0f)); /* version 7, then 12 bits */
    b[7] = (unsigned char)r2;
    for (int i = 8; i < 16; i++)
        b[i] = (unsigned char)(r1 >> (8 * (15 - i)));
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant, 62 bits left */
    hex_bytes(b, out);
}

/* ---- hashing and comparison ----------------------------------------------- */

/* SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the implementation
 * up, under its locks, on every digest. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

void wss_sha256(const void *data, size_t len, uint8_t out[32])
{
    static const unsigned char empty = 0;
    if (!data)
        data = &empty, len = 0;
    pthread_once(&sha256_once, sha256_fetch);
    /* There is no error to return: a made-up digest (say all zeros) would let
     * unrelated secrets compare equal when stored by digest, so stop instead. */
    if (EVP_Digest(data, len, out, NULL, sha256_md ? sha256_md : EVP_sha256(), NULL) != 1)
        abort();
}

void wss_sha256_hex(const char *s, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[32];
    if (!s)
        s = "";
    wss_sha256(s, strlen(s), d);
    for (size_t i = 0; i < sizeof d; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 0x0f];
    }
    out[64] = '\0';
}

int wss_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if ((!a && alen) || (!b && blen))
        return 0;
    if (alen != blen) {
        /* Spend the same work as a real comparison so the time taken does not
         * reveal how far a guess matched; only the length is revealed. */
        (void)CRYPTO_memcmp(a, a, alen);
        return 0;
    }
    if (alen == 0)
        return 1;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

int wss_ct_streq(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    return wss_ct_equal(a, strlen(a), b, strlen(b));
}

/* ---- base64 ---------------------------------------------------------------- */

static const char B64_STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(const void *data, size_t len, const char *alphabet, int pad)
{
    const unsigned char *in = data;
    if (!in && len)
        return NULL;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    size_t rest = len - i;
    if (rest) {
        uint32_t v = (uint32_t)in[i] << 16 | (rest == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (rest == 2)
            out[o++] = alphabet[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

char *wss_base64_encode(const void *data, size_t len) { return b64_encode(data, len, B64_STD, 1); }

char *wss_base64url_encode(const void *data, size_t len) { return b64_encode(data, len, B64_URL, 0); }

/* Value of a standard-alphabet character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Number of '=' at the end of a quartet-aligned string, or -1 when the padding
 * is malformed ('=' anywhere else, or more than two). */
static int b64_padding(const char *s, size_t n)
{
    int pad = 0;
    if (n && s[n - 1] == '=')
        pad = (n >= 2 && s[n - 2] == '=') ? 2 : 1;
    for (size_t i = 0; i < n - (size_t)pad; i++)
        if (s[i] == '=')
            return -1;
    return pad;
}

wss_err wss_base64_decode(const char *s, uint8_t **out, size_t *outlen)
{
    if (!out || !outlen)
        return WSS_ERR_INVALID;
    *out = NULL;
    *outlen = 0;
    if (!s)
        return WSS_ERR_INVALID;
    size_t n = strlen(s);
    int pad;
    if (n % 4 != 0 || (pad = b64_padding(s, n)) < 0)
        return WSS_ERR_INVALID;

    size_t len = n / 4 * 3 - (size_t)pad;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return WSS_ERR_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int bad = 0;
        for (int k = 0; k < 4; k++) {
            int c = s[i + k] == '=' ? 0 : b64_value((unsigned char)s[i + k]);
            bad |= c < 0;
            v = v << 6 | (uint32_t)(c & 63);
        }
        /* Canonical form: the bits the padding leaves over must be zero, so
         * that each byte string has exactly one accepted encoding. */
        if (i + 4 == n && ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff))))
            bad = 1;
        if (bad) {
            free(buf);
            return WSS_ERR_INVALID;
        }
        uint8_t tri[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        for (int k = 0; k < 3 && o < len; k++)
            buf[o++] = tri[k];
    }
    *out = buf;
    *outlen = len;
    return WSS_OK;
}

/* ---- keys ------------------------------------------------------------------ */

static wss_err key_wrap(EVP_PKEY *pkey, int has_private, wss_crypto_key **out)
{
    wss_crypto_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return WSS_ERR_NOMEM;
    }
    k->pkey = pkey;
    k->has_private = has_private;
    *out = k;
    return WSS_OK;
}

/* 1 when pkey is an EC key on the named curve P-256 (explicit curve parameters
 * are refused even when they describe P-256: nothing legitimate sends them). */
static int is_p256(const EVP_PKEY *pkey)
{
    char group[64], encoding[32];
    size_t glen = 0, elen = 0;
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
        return 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen) != 1)
        return 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding, sizeof encoding, &elen) == 1 &&
        strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
        return 0;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* Decoding already rejects points off the curve; the explicit check keeps that
 * guarantee independent of how the key arrived. */
static int public_ok(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* A damaged key file whose private scalar and public point disagree would sign
 * with one and advertise the other; refuse it at load time instead. */
static int pair_ok(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx && EVP_PKEY_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

wss_err wss_key_generate(wss_crypto_key **out)
{
    if (!out)
        return WSS_ERR_INVALID;
    *out = NULL;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!pkey)
        return WSS_ERR_CRYPTO;
    return key_wrap(pkey, 1, out);
}

static int looks_like_pem(const char *text)
{
    while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
        text++;
    return strncmp(text, "-----BEGIN", 10) == 0;
}

static EVP_PKEY *public_from_pem(const char *text, char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(text, -1);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, wss_pem_no_password, NULL) : NULL;
    BIO_free(bio);
    if (!pkey)
        wss_crypto_set_err(err, errlen, "not a PEM public key (expected BEGIN PUBLIC KEY)");
    return pkey;
}

static EVP_PKEY *public_from_b64(const char *text, char *err, size_t errlen)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (wss_base64_decode(text, &der, &len) != WSS_OK) {
        wss_crypto_set_err(err, errlen, "public key is neither PEM nor canonical base64");
        return NULL;
    }
    EVP_PKEY *pkey = NULL;
    if (len != SPKI_P256_UNCOMPRESSED && len != SPKI_P256_COMPRESSED) {
        wss_crypto_set_err(err, errlen, "public key DER is %zu bytes, expected 91 or 59", len);
    } else {
        const unsigned char *p = der;
        pkey = d2i_PUBKEY(NULL, &p, (long)len);
        if (pkey && p != der + len) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        if (!pkey)
            wss_crypto_set_err(err, errlen, "public key is not a DER SubjectPublicKeyInfo");
    }
    free(der);
    return pkey;
}

/* Public keys seen before, by their base64 text. OpenSSL 3's decoders take
 * global locks and allocate heavily, and servers see the same few device and
 * DSS keys on every request, so a parsed key is kept (shared, reference
 * counted; an EVP_PKEY is safe to use from many threads once built). A
 * direct-mapped table: a collision just replaces the older entry. */
#define KEY_CACHE_SLOTS 4096
static struct {
    char *text;
    EVP_PKEY *pkey;
} key_cache[KEY_CACHE_SLOTS];
static pthread_mutex_t key_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t key_cache_slot(const char *text)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h % KEY_CACHE_SLOTS);
}

static EVP_PKEY *key_cache_get(const char *text)
{
    size_t i = key_cache_slot(text);
    EVP_PKEY *found = NULL;
    pthread_mutex_lock(&key_cache_lock);
    if (key_cache[i].text && strcmp(key_cache[i].text, text) == 0 && EVP_PKEY_up_ref(key_cache[i].pkey) == 1)
        found = key_cache[i].pkey;
    pthread_mutex_unlock(&key_cache_lock);
    return found;
}

static void key_cache_put(const char *text, EVP_PKEY *pkey)
{
    char *copy = strdup(text);
    if (!copy || EVP_PKEY_up_ref(pkey) != 1) {
        free(copy);
        return;
    }
    size_t i = key_cache_slot(text);
    pthread_mutex_lock(&key_cache_lock);
    char *old_text = key_cache[i].text;
    EVP_PKEY *old_key = key_cache[i].pkey;
    key_cache[i].text = copy;
    key_cache[i].pkey = pkey;
    pthread_mutex_unlock(&key_cache_lock);
    free(old_text);
    EVP_PKEY_free(old_key);
}

wss_err wss_key_parse_public(const char *text, wss_crypto_key **out, char *err, size_t errlen)
{
    wss_crypto_set_err(err, errlen, "%s", "");
    if (!out)
        return WSS_ERR_INVALID;
    *out = NULL;
    if (!text || !*text || strlen(text) > KEY_TEXT_MAX) {
        wss_crypto_set_err(err, errlen, "public key missing or too long");
        return WSS_ERR_INVALID;
    }
    int pem = looks_like_pem(text);
    EVP_PKEY *cached = pem ? NULL : key_cache_get(text);
    if (cached)
        return key_wrap(cached, 0, out);
    EVP_PKEY *pkey = pem ? public_from_pem(text, err, errlen) : public_from_b64(text, err, errlen);
    ERR_clear_error();
    if (!pkey)
        return WSS_ERR_INVALID;
    if (!is_p256(pkey) || !public_ok(pkey)) {
        wss_crypto_set_err(err, errlen, "public key is not an EC P-256 key");
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return WSS_ERR_INVALID;
    }
    if (!pem)
        key_cache_put(text, pkey);
    return key_wrap(pkey, 0, out);
}

wss_err wss_key_parse_private_pem(const char *pem, wss_crypto_key **out, char *err, size_t errlen)
{
    wss_crypto_set_err(err, errlen, "%s", "");
    if (!out)
        return WSS_ERR_INVALID;
    *out = NULL;
    if (!pem || strlen(pem) > KEY_TEXT_MAX) {
        wss_crypto_set_err(err, errlen, "private key missing or too long");
        return WSS_ERR_INVALID;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio)
        return WSS_ERR_NOMEM;
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, wss_pem_no_password, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!pkey) {
        wss_crypto_set_err(err, errlen, "not an unencrypted PEM private key");
        return WSS_ERR_INVALID;
    }
    if (!is_p256(pkey) || !pair_ok(pkey)) {
        wss_crypto_set_err(err, errlen, "private key is not a valid EC P-256 key");
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return WSS_ERR_INVALID;
    }
    return key_wrap(pkey, 1, out);
}

/* Copies a memory BIO's contents into a NUL-terminated string, wiping the BIO's
 * buffer first when it may hold private material. */
static char *bio_to_string(BIO *bio, int sensitive)
{
    BUF_MEM *bm = NULL;
    char *s = NULL;
    BIO_get_mem_ptr(bio, &bm);
    if (bm && (s = malloc(bm->length + 1)) != NULL) {
        memcpy(s, bm->data, bm->length);
        s[bm->length] = '\0';
    }
    if (bm && sensitive)
        OPENSSL_cleanse(bm->data, bm->length);
    return s;
}

/* A public-only copy of key with the point in uncompressed form: the key may
 * have been parsed from a compressed SPKI, and OpenSSL keeps that form. */
static EVP_PKEY *public_uncompressed(const wss_crypto_key *key)
{
    unsigned char *der = NULL;
    int len = key && key->pkey ? i2d_PUBKEY(key->pkey, &der) : -1;
    if (len <= 0)
        return NULL;
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, len);
    OPENSSL_free(der);
    if (pub && EVP_PKEY_set_utf8_string_param(pub, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                              OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 1) {
        EVP_PKEY_free(pub);
        pub = NULL;
    }
    return pub;
}

char *wss_key_public_pem(const wss_crypto_key *key)
{
    EVP_PKEY *pub = public_uncompressed(key);
    BIO *bio = pub ? BIO_new(BIO_s_mem()) : NULL;
    char *s = NULL;
    if (bio && PEM_write_bio_PUBKEY(bio, pub) == 1)
        s = bio_to_string(bio, 0);
    BIO_free(bio);
    EVP_PKEY_free(pub);
    return s;
}

char *wss_key_public_b64(const wss_crypto_key *key)
{
    EVP_PKEY *pub = public_uncompressed(key);
    unsigned char *der = NULL;
    int len = pub ? i2d_PUBKEY(pub, &der) : -1;
    char *s = len == SPKI_P256_UNCOMPRESSED ? wss_base64_encode(der, (size_t)len) : NULL;
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
    return s;
}

char *wss_key_public_b64_compressed(const wss_crypto_key *key)
{
    EVP_PKEY *pub = public_uncompressed(key);
    unsigned char *der = NULL;
    int compressed = pub && EVP_PKEY_set_utf8_string_param(pub, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                                           OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED) == 1;
    int len = compressed ? i2d_PUBKEY(pub, &der) : -1;
    char *s = len == SPKI_P256_COMPRESSED ? wss_base64_encode(der, (size_t)len) : NULL;
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
    ERR_clear_error();
    return s;
}

char *wss_key_private_pem(const wss_crypto_key *key)
{
    if (!key || !key->pkey || !key->has_private)
        return NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (bio && PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) == 1)
        s = bio_to_string(bio, 1);
    BIO_free(bio);
    return s;
}

EVP_PKEY *wss_key_evp(const wss_crypto_key *key) { return key ? key->pkey : NULL; }

void wss_key_free(wss_crypto_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* ---- ECDSA ----------------------------------------------------------------- */

wss_err wss_ecdsa_sign_b64(const wss_crypto_key *key, const void *data, size_t len, char **sig_b64)
{
    if (!sig_b64)
        return WSS_ERR_INVALID;
    *sig_b64 = NULL;
    if (!key || !key->pkey || !key->has_private || (!data && len))
        return WSS_ERR_INVALID;

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    wss_err rc = WSS_ERR_CRYPTO;
    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
        EVP_DigestSign(ctx, NULL, &siglen, data, len) == 1 && (sig = OPENSSL_malloc(siglen)) != NULL &&
        EVP_DigestSign(ctx, sig, &siglen, data, len) == 1) {
        *sig_b64 = wss_base64_encode(sig, siglen);
        rc = *sig_b64 ? WSS_OK : WSS_ERR_NOMEM;
    }
    OPENSSL_free(sig);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

/* 1 when der is exactly one strict-DER ECDSA-Sig-Value (SEQUENCE of r and s). */
static int is_der_signature(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (!sig)
        return 0;
    int ok = p == der + len;
    unsigned char *again = NULL;
    /* Re-encoding must reproduce the input, which rejects BER leniencies. */
    int alen = ok ? i2d_ECDSA_SIG(sig, &again) : -1;
    ok = ok && alen > 0 && (size_t)alen == len && memcmp(again, der, len) == 0;
    OPENSSL_free(again);
    ECDSA_SIG_free(sig);
    return ok;
}

wss_err wss_ecdsa_verify_b64(const wss_crypto_key *key, const void *data, size_t len, const char *sig_b64)
{
    if (!key || !key->pkey || (!data && len) || !sig_b64)
        return WSS_ERR_INVALID;
    uint8_t *der = NULL;
    size_t derlen = 0;
    if (wss_base64_decode(sig_b64, &der, &derlen) != WSS_OK)
        return WSS_ERR_INVALID;
    /* A P-256 DER signature is at most 72 bytes; the slack allows for nothing
     * legitimate but keeps the check simple. */
    if (derlen == 0 || derlen > 80 || !is_der_signature(der, derlen)) {
        free(der);
        ERR_clear_error();
        return WSS_ERR_INVALID;
    }

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    wss_err rc = WSS_ERR_CRYPTO;
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1)
        rc = EVP_DigestVerify(ctx, der, derlen, data, len) == 1 ? WSS_OK : WSS_ERR_VERIFY;
    EVP_MD_CTX_free(ctx);
    free(der);
    ERR_clear_error();
    return rc;
}

/* ---- ECDH and HMAC ------------------------------------------------------------ */

wss_err wss_ecdh_p256(const wss_crypto_key *priv, const wss_crypto_key *peer, uint8_t out[32])
{
    if (!priv || !priv->pkey || !priv->has_private || !peer || !peer->pkey || !out)
        return WSS_ERR_INVALID;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv->pkey, NULL);
    size_t len = 32;
    wss_err rc = WSS_ERR_CRYPTO;
    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer->pkey) == 1 &&
        EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32)
        rc = WSS_OK;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

wss_err wss_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[32])
{
    if ((!key && keylen) || (!data && len) || !out)
        return WSS_ERR_INVALID;
    size_t outlen = 0;
    static const uint8_t empty[1] = {0};
    int ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key ? key : empty, keylen, data ? data : empty, len, out, 32,
                       &outlen) != NULL &&
             outlen == 32;
    ERR_clear_error();
    return ok ? WSS_OK : WSS_ERR_CRYPTO;
}

/* crypto_openssl.c - the crypto functions of the host port, on OpenSSL 3.
 * The device key stays in an EVP_PKEY here; the library only ever asks for
 * ECDH and signatures with it. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "device/port_host/internal.h"

wss_err host_crypto_load(host_crypto *c, const char *private_key_pem, char *err, size_t errlen)
{
    c->device_key = NULL;
    BIO *bio = BIO_new_mem_buf(private_key_pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!key || !EVP_PKEY_is_a(key, "EC") || EVP_PKEY_get_bits(key) != 256) {
        EVP_PKEY_free(key);
        snprintf(err, errlen, "the device key is not a P-256 private key in PEM");
        return WSS_ERR_CRYPTO;
    }
    c->device_key = key;
    return WSS_OK;
}

void host_crypto_free(host_crypto *c)
{
    EVP_PKEY_free(c->device_key);
    EVP_PKEY_free(c->peer_key);
    c->device_key = NULL;
    c->peer_key = NULL;
}

int host_sha256(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

int host_hmac_sha256(void *ctx, const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    unsigned int n = 0;
    return HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) && n == 32 ? 0 : -1;
}

int host_random(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

static EVP_PKEY *public_from_spki(const uint8_t *spki, size_t len)
{
    const unsigned char *p = spki;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
    if (k && (p != spki + len || !EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256)) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

int host_crypto_ecdh(host_crypto *c, const uint8_t *peer_spki, size_t peer_len, uint8_t secret[32])
{
    EVP_PKEY *peer = public_from_spki(peer_spki, peer_len);
    EVP_PKEY_CTX *pctx = peer ? EVP_PKEY_CTX_new(c->device_key, NULL) : NULL;
    size_t n = 32;
    int ok = pctx && EVP_PKEY_derive_init(pctx) == 1 && EVP_PKEY_derive_set_peer(pctx, peer) == 1 &&
             EVP_PKEY_derive(pctx, secret, &n) == 1 && n == 32;
    EVP_PKEY_CTX_free(pctx);
    EVP_PKEY_free(peer);
    return ok ? 0 : -1;
}

int host_crypto_sign(host_crypto *c, const void *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = 0;
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, c->device_key) == 1 &&
             EVP_DigestSign(md, NULL, &n, msg, len) == 1 && n <= cap && EVP_DigestSign(md, sig, &n, msg, len) == 1;
    EVP_MD_CTX_free(md);
    if (ok)
        *sig_len = n;
    return ok ? 0 : -1;
}

static int verify_with(EVP_PKEY *k, const void *msg, size_t len, const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *md = k ? EVP_MD_CTX_new() : NULL;
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

int host_crypto_verify(host_crypto *c, const uint8_t *spki, size_t spki_len, const void *msg, size_t len,
                       const uint8_t *sig, size_t sig_len)
{
    if (!c->peer_key || c->peer_len != spki_len || spki_len > sizeof c->peer_spki ||
        memcmp(c->peer_spki, spki, spki_len) != 0) {
        EVP_PKEY_free(c->peer_key);
        c->peer_key = public_from_spki(spki, spki_len);
        c->peer_len = c->peer_key && spki_len <= sizeof c->peer_spki ? spki_len : 0;
        if (c->peer_len)
            memcpy(c->peer_spki, spki, spki_len);
    }
    return verify_with(c->peer_key, msg, len, sig, sig_len);
}

int host_ecdsa_verify(const uint8_t *spki, size_t spki_len, const void *msg, size_t len, const uint8_t *sig,
                      size_t sig_len)
{
    EVP_PKEY *k = public_from_spki(spki, spki_len);
    EVP_MD_CTX *md = k ? EVP_MD_CTX_new() : NULL;
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

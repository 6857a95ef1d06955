/* ossl_port.h - for the device tests: fixed P-256 test keys and a crypto port
 * on OpenSSL, written independently of the core and of the mbedTLS port so
 * that each checks the others. Every function is static: include it once per
 * test program. */
#ifndef WSS_TESTS_DEVICE_OSSL_PORT_H
#define WSS_TESTS_DEVICE_OSSL_PORT_H

#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "wss/device.h"

/* The fixed keys of the setup network test vector (docs/dss.md section 2). */
static const char test_device_key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7FXoJGalFNyoEZAs\n"
                                          "A0y8ArNmbTC1sVsaM7ppJ18FpnChRANCAARdQxfjTAc14PlRUfj7JbmVJeXclilj\n"
                                          "H9zH7wznUdI2iTOK/ccR73vFNhkbkFF+A3mo04xrMykKioCRm7nCWJZg\n"
                                          "-----END PRIVATE KEY-----\n";
static const char test_dss_key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                                       "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxd2i39RJ3isEK++0\n"
                                       "SPdKrYM/mH7KmSPB1zD4jlF4zTqhRANCAAS95sALnfvDvLuzKEs50Nw76S4ElrsZ\n"
                                       "coz4NTwkxjTHNiPlGTaN5IUW8wLSY2T6PJjrfvznZ/Sx5Fg4acN1Mg0U\n"
                                       "-----END PRIVATE KEY-----\n";

static EVP_PKEY *ossl_load_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return k;
}

/* The DER SPKI of a key; returns its length (91 for P-256) or -1. */
static int ossl_spki(EVP_PKEY *k, uint8_t *out, size_t cap)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    if (n <= 0 || (size_t)n > cap) {
        OPENSSL_free(der);
        return -1;
    }
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    return n;
}

static int ossl_b64(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (cap < (len + 2) / 3 * 4 + 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return 0;
}

static int ossl_sign(EVP_PKEY *k, const void *msg, size_t len, uint8_t *sig, size_t *sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestSign(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

static int ossl_verify_spki(const uint8_t *spki, size_t spki_len, const void *msg, size_t len, const uint8_t *sig,
                            size_t sig_len)
{
    const unsigned char *p = spki;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (!k)
        return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

static int ossl_ecdh(EVP_PKEY *ours, const uint8_t *peer_spki, size_t peer_len, uint8_t secret[32])
{
    const unsigned char *p = peer_spki;
    EVP_PKEY *peer = d2i_PUBKEY(NULL, &p, (long)peer_len);
    EVP_PKEY_CTX *c = peer ? EVP_PKEY_CTX_new(ours, NULL) : NULL;
    size_t n = 32;
    int ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
             EVP_PKEY_derive(c, secret, &n) == 1 && n == 32;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(peer);
    return ok ? 0 : -1;
}

/* ---- the crypto members of a port; ctx points to a struct whose first member is
 * the device key (EVP_PKEY *). ---- */

static EVP_PKEY *ossl_port_key(void *ctx) { return *(EVP_PKEY **)ctx; }

static int op_sha256(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

static int op_hmac(void *ctx, const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    unsigned int n = 32;
    return HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) && n == 32 ? 0 : -1;
}

static int op_ecdh(void *ctx, const uint8_t *peer, size_t peer_len, uint8_t secret[32])
{
    return ossl_ecdh(ossl_port_key(ctx), peer, peer_len, secret);
}

static int op_sign(void *ctx, const void *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    uint8_t tmp[80];
    size_t n = sizeof tmp;
    if (ossl_sign(ossl_port_key(ctx), msg, len, tmp, &n) < 0 || n > cap)
        return -1;
    memcpy(sig, tmp, n);
    *sig_len = n;
    return 0;
}

static int op_verify(void *ctx, const uint8_t *spki, size_t spki_len, const void *msg, size_t len, const uint8_t *sig,
                     size_t sig_len)
{
    (void)ctx;
    return ossl_verify_spki(spki, spki_len, msg, len, sig, sig_len);
}

static int op_random(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

static void ossl_fill_port(wss_dev_port *p)
{
    p->sha256 = op_sha256;
    p->hmac_sha256 = op_hmac;
    p->ecdh_p256 = op_ecdh;
    p->ecdsa_sign = op_sign;
    p->ecdsa_verify = op_verify;
    p->random = op_random;
}

#endif

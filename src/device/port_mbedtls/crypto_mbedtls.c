/* crypto_mbedtls.c - the crypto members of a wss_dev_port on mbedTLS 2.28
 * (include/wss/device_mbedtls.h): SHA-256, HMAC-SHA256, P-256 ECDH and ECDSA
 * with the device key, and random bytes from a CTR-DRBG. */
#include <string.h>

#include <mbedtls/ecdh.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "wss/device_mbedtls.h"

static const char personalization[] = "openwss-device";

int wss_dev_mbedtls_init(wss_dev_mbedtls *m, const uint8_t *key, size_t key_len)
{
    uint8_t pem[2048];
    memset(m, 0, sizeof *m);
    mbedtls_pk_init(&m->key);
    mbedtls_entropy_init(&m->entropy);
    mbedtls_ctr_drbg_init(&m->drbg);
    if (!key || key_len == 0)
        goto fail;
    /* mbedTLS wants PEM with its NUL counted: add it when the caller did not. */
    if (key_len > 10 && memcmp(key, "-----BEGIN", 10) == 0 && key[key_len - 1] != '\0') {
        if (key_len + 1 > sizeof pem)
            goto fail;
        memcpy(pem, key, key_len);
        pem[key_len] = '\0';
        key = pem;
        key_len++;
    }
    int rc = mbedtls_pk_parse_key(&m->key, key, key_len, NULL, 0);
    mbedtls_platform_zeroize(pem, sizeof pem);
    if (rc != 0 || mbedtls_pk_get_type(&m->key) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(m->key)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
        goto fail;
    if (mbedtls_ctr_drbg_seed(&m->drbg, mbedtls_entropy_func, &m->entropy, (const unsigned char *)personalization,
                              sizeof personalization - 1) != 0)
        goto fail;
    m->ready = 1;
    return 0;
fail:
    wss_dev_mbedtls_free(m);
    return -1;
}

void wss_dev_mbedtls_free(wss_dev_mbedtls *m)
{
    mbedtls_pk_free(&m->key);
    mbedtls_ctr_drbg_free(&m->drbg);
    mbedtls_entropy_free(&m->entropy);
    m->ready = 0;
}

int wss_dev_mbedtls_public_spki(wss_dev_mbedtls *m, uint8_t spki[WSS_DEV_SPKI_LEN])
{
    uint8_t buf[160];
    if (!m->ready)
        return -1;
    int n = mbedtls_pk_write_pubkey_der(&m->key, buf, sizeof buf); /* written at the end of buf */
    if (n != WSS_DEV_SPKI_LEN)
        return -1;
    memcpy(spki, buf + sizeof buf - WSS_DEV_SPKI_LEN, WSS_DEV_SPKI_LEN);
    return 0;
}

static int mb_sha256(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    return mbedtls_sha256_ret(data, len, out, 0) == 0 ? 0 : -1;
}

static int mb_hmac_sha256(void *ctx, const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    return md && mbedtls_md_hmac(md, key, key_len, data, len, out) == 0 ? 0 : -1;
}

/* Parses a peer's SPKI and insists on P-256. */
static int parse_p256(mbedtls_pk_context *pk, const uint8_t *spki, size_t len)
{
    mbedtls_pk_init(pk);
    if (mbedtls_pk_parse_public_key(pk, spki, len) != 0 || mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(*pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        mbedtls_pk_free(pk);
        return -1;
    }
    return 0;
}

static int mb_ecdh_p256(void *ctx, const uint8_t *peer_spki, size_t peer_len, uint8_t secret[32])
{
    wss_dev_mbedtls *m = ctx;
    mbedtls_pk_context peer;
    mbedtls_mpi z;
    if (!m->ready || parse_p256(&peer, peer_spki, peer_len) < 0)
        return -1;
    const mbedtls_ecp_keypair *ours = mbedtls_pk_ec(m->key);
    mbedtls_mpi_init(&z);
    int rc = mbedtls_ecdh_compute_shared((mbedtls_ecp_group *)&ours->grp, &z, &mbedtls_pk_ec(peer)->Q, &ours->d,
                                         mbedtls_ctr_drbg_random, &m->drbg);
    if (rc == 0)
        rc = mbedtls_mpi_write_binary(&z, secret, 32);
    mbedtls_mpi_free(&z);
    mbedtls_pk_free(&peer);
    return rc == 0 ? 0 : -1;
}

static int mb_ecdsa_sign(void *ctx, const void *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    wss_dev_mbedtls *m = ctx;
    uint8_t hash[32], out[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t n = 0;
    if (!m->ready || mbedtls_sha256_ret(msg, len, hash, 0) != 0)
        return -1;
    if (mbedtls_pk_sign(&m->key, MBEDTLS_MD_SHA256, hash, sizeof hash, out, &n, mbedtls_ctr_drbg_random, &m->drbg) !=
            0 ||
        n > cap)
        return -1;
    memcpy(sig, out, n);
    *sig_len = n;
    return 0;
}

static int mb_ecdsa_verify(void *ctx, const uint8_t *spki, size_t spki_len, const void *msg, size_t len,
                           const uint8_t *sig, size_t sig_len)
{
    (void)ctx;
    mbedtls_pk_context pk;
    uint8_t hash[32];
    if (mbedtls_sha256_ret(msg, len, hash, 0) != 0 || parse_p256(&pk, spki, spki_len) < 0)
        return -1;
    /* Trailing bytes after the DER signature make this fail too. */
    int rc = mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, sig_len);
    mbedtls_pk_free(&pk);
    return rc == 0 ? 0 : -1;
}

static int mb_random(void *ctx, uint8_t *out, size_t len)
{
    wss_dev_mbedtls *m = ctx;
    if (!m->ready)
        return -1;
    while (len > 0) {
        size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        if (mbedtls_ctr_drbg_random(&m->drbg, out, n) != 0)
            return -1;
        out += n;
        len -= n;
    }
    return 0;
}

void wss_dev_mbedtls_fill_port(wss_dev_port *port)
{
    port->sha256 = mb_sha256;
    port->hmac_sha256 = mb_hmac_sha256;
    port->ecdh_p256 = mb_ecdh_p256;
    port->ecdsa_sign = mb_ecdsa_sign;
    port->ecdsa_verify = mb_ecdsa_verify;
    port->random = mb_random;
}

/* device_mbedtls.h - the crypto part of a libwss-device port on mbedTLS 2.28.
 *
 * wss_dev_mbedtls holds the device's P-256 private key and a CTR-DRBG.
 * wss_dev_mbedtls_fill_port sets sha256, hmac_sha256, ecdh_p256, ecdsa_sign,
 * ecdsa_verify and random of a wss_dev_port; the firmware supplies the rest.
 *
 * Those functions receive the port's ctx. It must point to a wss_dev_mbedtls,
 * or to the firmware's own context struct whose FIRST member is a
 * wss_dev_mbedtls (C lets a pointer to a struct stand for its first member):
 *
 *     struct my_port { wss_dev_mbedtls crypto; ...radio, storage... };
 *     port.ctx = &my;   wss_dev_mbedtls_fill_port(&port);
 *
 * This part of the port uses mbedTLS's own allocator; the library's core does
 * not allocate. One wss_dev_mbedtls serves one thread at a time. */
#ifndef WSS_DEVICE_MBEDTLS_H
#define WSS_DEVICE_MBEDTLS_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>

#include "wss/device.h"

typedef struct wss_dev_mbedtls {
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    int ready;
} wss_dev_mbedtls;

/* Loads the device's private key: PEM (with or without its NUL) or DER,
 * SEC1 or PKCS#8, unencrypted, and it must be P-256. Seeds the DRBG from the
 * platform's entropy. Returns 0, or -1 (m is then released). */
int wss_dev_mbedtls_init(wss_dev_mbedtls *m, const uint8_t *key, size_t key_len);

/* Releases what init took. Safe on a context whose init failed. */
void wss_dev_mbedtls_free(wss_dev_mbedtls *m);

/* The 91-byte DER SubjectPublicKeyInfo of the loaded key
 * (DeviceInformation.PublicKey). Returns 0, or -1. */
int wss_dev_mbedtls_public_spki(wss_dev_mbedtls *m, uint8_t spki[WSS_DEV_SPKI_LEN]);

/* Sets the six crypto members of port (port->ctx is the caller's, see above). */
void wss_dev_mbedtls_fill_port(wss_dev_port *port);

#endif

/* internal.h - what the host port's modules share.
 *
 *   radio.c           the scenario's world: homes, access points, provisioners
 *   host.c            the port functions: Wi-Fi through the radio, HTTPS on
 *                     libcurl, storage, clock, log, the fallback
 *   crypto_openssl.c  the crypto port functions on OpenSSL */
#ifndef WSS_DEVICE_PORT_HOST_INTERNAL_H
#define WSS_DEVICE_PORT_HOST_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "wss/device_host.h"

#define RADIO_SETUP_SSID "simple_setup"

typedef enum radio_band { RADIO_BAND_24 = 1, RADIO_BAND_5 = 2, RADIO_BAND_DUAL = 3 } radio_band;

typedef struct radio_ap {
    char ssid[WSS_DEV_SSID_MAX + 1];
    char bssid[18];
    wss_dev_security security;
    char passphrase[WSS_DEV_WIFI_KEY_MAX + 1];
    radio_band band;
    int channel;
    int rssi;
    int hidden;
    int refuses_join; /* the router refuses every association (a broken home network) */
} radio_ap;

typedef struct radio_latency {
    uint32_t scan, probe, join, join_fail;
} radio_latency;

typedef struct radio_home {
    char id[64];
    radio_ap *aps;
    size_t naps;
    int has_provisioner;
    char provisioner_id[64];
    int provisioner_online;
    radio_band provisioner_band;
    int provisioner_rssi;
    radio_band device_bands; /* what the devices of this home can hear */
    radio_latency latency;
    /* Setup access points devices brought up for their own user-guided setup. */
    char (*fallback_ssids)[40];
    size_t nfallback, capfallback;
} radio_home;

typedef struct radio_host_entry {
    char name[WSS_DEV_HOST_MAX];
    int port;
    char address[64]; /* "127.0.0.1:40123" */
} radio_host_entry;

struct wss_radio {
    pthread_mutex_t lock;
    radio_home *homes;
    size_t nhomes;
    wss_radio_probe_fn probe;
    void *probe_ctx;
    radio_host_entry *hosts;
    size_t nhosts;
};

/* radio.c */
radio_home *radio_home_find(wss_radio *radio, const char *home_id);
/* The MHz of a channel of a band. */
int radio_frequency(radio_band band, int channel);
/* "name:port" -> "address:port" of the simulated name service; NULL when not listed. */
const char *radio_resolve(const wss_radio *radio, const char *name, int port);
/* Locks around the mutable parts of a home (provisioner state, fallback APs). */
void radio_lock(wss_radio *radio);
void radio_unlock(wss_radio *radio);
void radio_add_fallback_ap(wss_radio *radio, radio_home *home, const char *ssid);

/* crypto_openssl.c: fills the crypto members of port; ctx must start with
 * the device key loaded by host_crypto_load. */
typedef struct host_crypto {
    void *device_key; /* EVP_PKEY * */
    void *peer_key;   /* EVP_PKEY * of peer_spki: the DSS key, verified against on every response */
    uint8_t peer_spki[WSS_DEV_SPKI_LEN];
    size_t peer_len;
} host_crypto;
wss_err host_crypto_load(host_crypto *c, const char *private_key_pem, char *err, size_t errlen);
void host_crypto_free(host_crypto *c);
int host_sha256(void *ctx, const void *data, size_t len, uint8_t out[32]);
int host_hmac_sha256(void *ctx, const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32]);
int host_random(void *ctx, uint8_t *out, size_t len);
/* These take the host_crypto itself. */
int host_crypto_ecdh(host_crypto *c, const uint8_t *peer_spki, size_t peer_len, uint8_t secret[32]);
int host_crypto_sign(host_crypto *c, const void *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len);
int host_ecdsa_verify(const uint8_t *spki, size_t spki_len, const void *msg, size_t len, const uint8_t *sig,
                      size_t sig_len);
/* The same, keeping the last key parsed. */
int host_crypto_verify(host_crypto *c, const uint8_t *spki, size_t spki_len, const void *msg, size_t len,
                       const uint8_t *sig, size_t sig_len);

#endif

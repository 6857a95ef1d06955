/* device.h - libwss-device: the provisionee side of Wi-Fi Simple Setup.
 *
 * The library runs Zero Touch Setup on a device: it finds a provisioner by
 * its computed hidden setup network (or the open `simple_setup` network),
 * walks the Device Setup Service (DSS) operations over mutual TLS, verifies
 * the signature of every response before using it, asks for credentials only
 * for networks it sees, joins the home network, reports success and finally
 * sends its association report (the signed FFS.SessionToken) to the maker's
 * cloud. Any failure ends in a precise reason and in the device's own
 * user-guided setup. The protocol as openwss defines it is in docs/dss.md.
 *
 * Rules of the library (C11):
 *   - no dynamic allocation: the caller owns one wss_dev per device and the
 *     library never calls malloc;
 *   - no global state: many devices run in one process, from many threads,
 *     each wss_dev used by one thread at a time;
 *   - everything the device touches goes through wss_dev_port, which the
 *     firmware implements (src/device/port_host/ is the host port, and
 *     src/device/port_mbedtls/ supplies the crypto part on mbedTLS).
 *
 * Port functions return 0 on success and a negative value on failure unless
 * their comment says otherwise. */
#ifndef WSS_DEVICE_H
#define WSS_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#define WSS_DEV_SSID_MAX 32        /* bytes of an SSID */
#define WSS_DEV_WIFI_KEY_MAX 64    /* bytes of a passphrase or WEP key */
#define WSS_DEV_HOST_MAX 256       /* a DSS or cloud host name */
#define WSS_DEV_SESSION_ID_MAX 256 /* a DSS sessionId */
#define WSS_DEV_TOKEN_MAX 256      /* FFS.SessionToken */
#define WSS_DEV_URL_MAX 256        /* SmartHome.AlexaEventGatewayEndpoint, DSS.ReportUrl */
#define WSS_DEV_CONFIG_VALUE_MAX 256
#define WSS_DEV_BODY_MAX 4096   /* one request or response body */
#define WSS_DEV_SIG_B64_MAX 128 /* base64 of a DER ECDSA P-256 signature (at most 72 bytes) */
#define WSS_DEV_SCAN_MAX 24     /* access points kept from one scan */
#define WSS_DEV_CRED_MAX 8      /* credentials kept from the DSS */
#define WSS_DEV_SPKI_LEN 91     /* DER SubjectPublicKeyInfo of a P-256 key */

typedef enum wss_dev_security {
    WSS_DEV_SEC_OPEN = 0,
    WSS_DEV_SEC_WPA_PSK,
    WSS_DEV_SEC_WEP,
    WSS_DEV_SEC_OTHER,
} wss_dev_security;

/* The wire names: "OPEN", "WPA_PSK", "WEP", "OTHER". */
const char *wss_dev_security_name(wss_dev_security sec);

/* One access point of a scan. A hidden network has ssid "" (it is never
 * posted to the DSS). */
typedef struct wss_dev_ap {
    char ssid[WSS_DEV_SSID_MAX + 1];
    char bssid[18]; /* "AA:BB:CC:DD:EE:FF" */
    wss_dev_security security;
    int rssi;          /* dBm */
    int frequency_mhz; /* 2412..2484 for 2.4 GHz, 5150..5895 for 5 GHz */
} wss_dev_ap;

typedef struct wss_dev_http_request {
    const char *host; /* also the TLS server name (SNI) and the name the certificate must carry */
    uint16_t port;
    const char *path;
    const char *body; /* JSON, Content-Type: application/json */
    size_t body_len;
} wss_dev_http_request;

typedef struct wss_dev_http_response {
    int status;                          /* the HTTP status, filled by the port */
    char *body;                          /* the library's buffer; the port writes the body and a NUL after it */
    size_t body_cap;                     /* bytes available in body, NUL included */
    size_t body_len;                     /* bytes written; a body that does not fit is a port failure */
    char signature[WSS_DEV_SIG_B64_MAX]; /* the x-amzn-dss-signature header; "" when absent */
    int signature_headers;               /* how many x-amzn-dss-signature headers came (2 or more is refused) */
    char location[WSS_DEV_URL_MAX];      /* the Location header of a 307/308; "" when absent */
} wss_dev_http_response;

/* Why a setup ended. WSS_DEV_OK is success. */
typedef enum wss_dev_fail {
    WSS_DEV_OK = 0,
    WSS_DEV_FAIL_NO_PROVISIONER, /* neither setup network could be joined */
    WSS_DEV_FAIL_REFUSED,        /* the DSS answered canProceed=false (not bought, not registered, ...) */
    WSS_DEV_FAIL_NO_CREDENTIALS, /* the DSS holds no credentials for any network the device sees */
    WSS_DEV_FAIL_JOIN,           /* credentials came, but no home network could be joined */
    WSS_DEV_FAIL_BAD_SIGNATURE,  /* a DSS response was unsigned, signed twice or did not verify */
    WSS_DEV_FAIL_TIMEOUT,        /* the overall time budget was spent */
    WSS_DEV_FAIL_TRANSPORT,      /* the DSS could not be reached, after the retries */
    WSS_DEV_FAIL_PROTOCOL,       /* a response was malformed, too large or out of order */
    WSS_DEV_FAIL_REPORT,         /* provisioned, but the maker cloud refused or missed the association report */
    WSS_DEV_FAIL_PORT,           /* a port function failed (storage, crypto, randomness) */
} wss_dev_fail;

/* "ok", "no_provisioner", "refused", "no_credentials", "join", "bad_signature",
 * "timeout", "transport", "protocol", "report", "port". */
const char *wss_dev_fail_name(wss_dev_fail fail);

typedef enum wss_dev_log_level {
    WSS_DEV_LOG_DEBUG,
    WSS_DEV_LOG_INFO,
    WSS_DEV_LOG_WARN,
    WSS_DEV_LOG_ERROR,
    WSS_DEV_LOG_OFF, /* only as a threshold of a port: nothing is logged */
} wss_dev_log_level;

/* What the firmware implements. Every function receives ctx. The device's
 * private key never leaves the port: the library asks for ECDH and
 * signatures with it, never for the key. */
typedef struct wss_dev_port {
    void *ctx;

    /* Wi-Fi. A directed probe asks for a hidden network by name (a
     * provisioner that recognises the computed name brings it up). scan
     * fills at most cap entries and sets *count. join returns 0 once
     * associated and authenticated; key is "" for an open network. */
    int (*wifi_probe)(void *ctx, const char *ssid);
    int (*wifi_scan)(void *ctx, wss_dev_ap *aps, size_t cap, size_t *count);
    int (*wifi_join)(void *ctx, const char *ssid, wss_dev_security sec, const char *key, int hidden);
    void (*wifi_leave)(void *ctx);

    /* HTTPS POST with mutual TLS: the device certificate chain (leaf first)
     * and its key are the port's; the server is verified against the port's
     * trust store and req->host. A negative value means no HTTP answer came
     * (connection, TLS or timeout); any HTTP status is a 0 return. */
    int (*https_post)(void *ctx, const wss_dev_http_request *req, wss_dev_http_response *resp);

    /* Crypto. ecdh_p256 computes the raw shared secret (the X coordinate,
     * 32 bytes) of the device key and peer_spki (DER SubjectPublicKeyInfo).
     * ecdsa_sign signs SHA-256(msg) with the device key, DER output.
     * ecdsa_verify returns 0 only for a valid DER signature over SHA-256(msg). */
    int (*sha256)(void *ctx, const void *data, size_t len, uint8_t out[32]);
    int (*hmac_sha256)(void *ctx, const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32]);
    int (*ecdh_p256)(void *ctx, const uint8_t *peer_spki, size_t peer_len, uint8_t secret[32]);
    int (*ecdsa_sign)(void *ctx, const void *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len);
    int (*ecdsa_verify)(void *ctx, const uint8_t *spki, size_t spki_len, const void *msg, size_t len,
                        const uint8_t *sig, size_t sig_len);
    int (*random)(void *ctx, uint8_t *out, size_t len);

    /* Storage of the configuration map (docs/dss.md lists the keys), values
     * as text. read returns -1 when the key is absent; *len excludes the NUL. */
    int (*storage_read)(void *ctx, const char *key, char *out, size_t cap, size_t *len);
    int (*storage_write)(void *ctx, const char *key, const char *value, size_t len);

    /* Clock and waits: a simulation may advance a simulated clock in sleep_ms. */
    uint64_t (*now_ms)(void *ctx);
    void (*sleep_ms)(void *ctx, uint32_t ms);
    void (*log)(void *ctx, wss_dev_log_level level, const char *msg);

    /* The fallback: start the device's own user-guided setup (SoftAP, BLE,
     * app) because Zero Touch Setup ended with `fail`. */
    void (*user_guided_setup)(void *ctx, wss_dev_fail fail, const char *detail);
} wss_dev_port;

/* Retry and time policy (docs/dss.md, "Retries and time budget"). A zero
 * budget_ms, http_attempts, probe_attempts, join_attempts or setup_proxy_port
 * means its default; the other fields are taken as given. */
typedef struct wss_dev_policy {
    uint32_t budget_ms;        /* the whole setup, default 180000 */
    uint32_t http_attempts;    /* tries per DSS or cloud call on transport errors and 5xx, default 3 */
    uint32_t retry_backoff_ms; /* wait before the 2nd try, doubled each time, default 1000 */
    uint32_t probe_attempts;   /* directed probes for the computed network, default 3 */
    uint32_t join_attempts;    /* tries per network join, default 2 */
    uint32_t max_redirects;    /* 307/308 followed per call, default 3 */
    uint32_t max_wait_ms;      /* cap on a DSS waitTime, default 10000 */
    uint16_t setup_proxy_port; /* the DSS port on the computed setup network, default 8888 */
} wss_dev_policy;

void wss_dev_policy_default(wss_dev_policy *policy);

typedef struct wss_dev_config {
    wss_dev_policy policy;
    const char *cloud_host; /* the maker cloud's intake, reached over the home network */
    uint16_t cloud_port;
    const char *cloud_path;      /* default "/v1/devices/association-report" when NULL */
    const char *naming_category; /* the device's display category, e.g. "SWITCH" */
} wss_dev_config;

typedef struct wss_dev_result {
    wss_dev_fail fail;
    char state[32];    /* the provisioning state reached, e.g. "GET_WIFI_LIST" */
    char detail[160];  /* one line for people: what failed and why */
    int setup_network; /* 1: the computed network, 2: simple_setup, 0: none */
    char home_ssid[WSS_DEV_SSID_MAX + 1];
    uint64_t elapsed_ms; /* by the port's clock, from start to the end */
    uint32_t dss_calls;  /* HTTP requests made to the DSS, retries included */
} wss_dev_result;

/* One device. Treat the fields as private; the type is complete so that the
 * caller can place it (static, stack of a task, an array for a fleet). */
typedef struct wss_dev {
    wss_dev_port port;
    wss_dev_config config;
    char cloud_host[WSS_DEV_HOST_MAX];
    char cloud_path[64];
    char naming_category[32];
    char dss_host[WSS_DEV_HOST_MAX];
    uint16_t dss_port;
    int on_setup_network; /* 1 computed, 2 simple_setup, 0 home/none */
    uint64_t started_ms;
    char state[32];
    char session_id[WSS_DEV_SESSION_ID_MAX];
    char nonce[32];
    uint32_t sequence;
    uint32_t dss_calls;
    uint8_t device_spki[WSS_DEV_SPKI_LEN];
    uint8_t dss_spki[WSS_DEV_SPKI_LEN];
    char product_index[8];
    char serial[64];
    char manufacturer[64];                 /* DeviceInformation.ManufacturerName, "" when absent */
    char model[64];                        /* DeviceInformation.ModelNumber */
    char sw_version_index[8];              /* DeviceInformation.SoftwareVersionIndex */
    char firmware_version[32];             /* DeviceInformation.FirmwareVersion */
    char hardware_version[32];             /* DeviceInformation.HardwareVersion */
    uint16_t dss_normal_port;              /* DSS.Port: the port off the computed setup network */
    char setup_ssid[WSS_DEV_SSID_MAX + 1]; /* the setup network joined, to rejoin it after a failed home join */
    char setup_key[WSS_DEV_WIFI_KEY_MAX + 1];
    char registration_state[16];          /* registrationState sent in reports */
    wss_dev_fail fail;                    /* why the run ended so far */
    char detail[160];                     /* one line on the failure */
    char home_ssid[WSS_DEV_SSID_MAX + 1]; /* the home network joined */
    int ready;                            /* wss_dev_init succeeded */
    wss_dev_ap scan[WSS_DEV_SCAN_MAX];
    size_t nscan;
    struct {
        char ssid[WSS_DEV_SSID_MAX + 1];
        wss_dev_security security;
        char key[WSS_DEV_WIFI_KEY_MAX + 1];
        int priority;
    } creds[WSS_DEV_CRED_MAX];
    size_t ncreds;
    char session_token[WSS_DEV_TOKEN_MAX];
    char gateway_endpoint[WSS_DEV_URL_MAX];
    char request[WSS_DEV_BODY_MAX];
    char response[WSS_DEV_BODY_MAX];
} wss_dev;

/* Prepares dev: copies the port and config, reads the device's public key,
 * the DSS public key and the device details from storage. Returns WSS_DEV_OK
 * or WSS_DEV_FAIL_PORT with detail (if detail is not NULL). */
wss_dev_fail wss_dev_init(wss_dev *dev, const wss_dev_port *port, const wss_dev_config *config, char *detail,
                          size_t detail_len);

/* Runs Zero Touch Setup to the end: setup network, DSS operations, home
 * network, association report to the cloud. On failure it calls the port's
 * user_guided_setup before returning. res is filled in either case. */
wss_dev_fail wss_dev_run(wss_dev *dev, wss_dev_result *res);

/* The computed setup network for a nonce (docs/dss.md): a 32-character SSID
 * and a 44-character passphrase, each NUL-terminated. */
wss_dev_fail wss_dev_setup_network(wss_dev *dev, const uint8_t nonce[12], char ssid[WSS_DEV_SSID_MAX + 1],
                                   char passphrase[45]);

#endif

/* dss_request.h - the Device Setup Service's request parser and the setup
 * network name decoder (pure functions: no store, no I/O).
 *
 * sim_dss_request_parse() reads one request body of a DSS operation
 * (docs/dss.md sections 4 and 5) and checks every field the emulator uses.
 * It refuses, with a one-line reason for the 400 INVALID_REQUEST answer:
 *   - a body that is not one JSON object, has a repeated key, or is over
 *     SIM_DSS_MAX_BODY bytes;
 *   - a key the operation does not define (a typo in device code should fail
 *     loudly), at the top level, in deviceDetails, in a scan entry, in a
 *     wifiNetworkInfoList entry or in its errorDetails;
 *   - a nonce that is not 8..64 characters of the Base64 alphabet;
 *   - a missing or malformed sessionId (every operation but
 *     startProvisioningSession), sequenceNumber (postWifiScanData,
 *     getWifiCredentials, report: an integer 1..2^31-1);
 *   - strings holding a NUL byte, or longer than their limit (deviceDetails
 *     values 128 bytes, SSIDs 1..32 bytes);
 *   - a wifiScanDataList that is not 1..SIM_DSS_MAX_SCANS entries of
 *     {ssid, bssid "AA:BB:CC:DD:EE:FF", securityProtocol OPEN|WPA_PSK|WEP,
 *     rssi -200..0, frequency 1..100000};
 *   - a report without a known currentProvisioningState or with a
 *     stateTransitionResult other than SUCCESS or FAILURE.
 *
 * sim_dss_ssid_decode() reverses the computed setup network name (docs/dss.md
 * section 2): the ami, the product index and the nonce it carries. */
#ifndef WSS_SIM_DSS_REQUEST_H
#define WSS_SIM_DSS_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_DSS_MAX_BODY (16u * 1024u)
#define SIM_DSS_MAX_SCANS 64
#define SIM_DSS_NONCE_MIN 8
#define SIM_DSS_NONCE_MAX 64
#define SIM_DSS_SESSION_ID_MAX 128

typedef enum sim_dss_op {
    SIM_DSS_START = 0,   /* startProvisioningSession */
    SIM_DSS_COMPUTE,     /* computeConfigurationData */
    SIM_DSS_SCAN,        /* postWifiScanData */
    SIM_DSS_CREDENTIALS, /* getWifiCredentials */
    SIM_DSS_REPORT,      /* report */
    SIM_DSS_NOPS
} sim_dss_op;

/* The operation named by the last segment of /api/v1/<name>; -1 when unknown. */
int sim_dss_op_parse(const char *name);
/* "startProvisioningSession", ...; "" for an unknown op. */
const char *sim_dss_op_name(int op);

/* The provisioning states of docs/dss.md section 5, plus DONE and FAILURE. */
extern const char *const sim_dss_states[];
/* 1 when name is one of sim_dss_states. */
int sim_dss_state_known(const char *name);

typedef struct sim_dss_scan {
    const char *ssid;
    const char *bssid;
    const char *security; /* OPEN, WPA_PSK, WEP */
    long long rssi;
    long long frequency;
} sim_dss_scan;

typedef struct sim_dss_request {
    int op;
    json_t *root;           /* the parsed body; every pointer below points into it */
    const char *nonce;      /* always set */
    const char *session_id; /* NULL for startProvisioningSession */
    long long sequence;     /* 0 when the operation carries none */
    const char *ssid;       /* getWifiCredentials: the one network asked for, or NULL */
    sim_dss_scan scans[SIM_DSS_MAX_SCANS];
    size_t nscans;
    const char *current_state; /* report */
    const char *result;        /* report: "SUCCESS" or "FAILURE" */
    const json_t *wifi_info;   /* report: wifiNetworkInfoList (an array) or NULL */
} sim_dss_request;

/* Parses body (len bytes, no NUL needed) as a request of op. 0 on success
 * (release with sim_dss_request_free), -1 with the reason in why. */
int sim_dss_request_parse(int op, const char *body, size_t len, sim_dss_request *out, char *why, size_t whylen);
void sim_dss_request_free(sim_dss_request *r);

/* Z85 (ZeroMQ RFC 32) decoding of len characters (a multiple of 5) into
 * out (len / 5 * 4 bytes). 0 on success, -1 for a length that is not a
 * multiple of 5, a character outside the alphabet or a group over 2^32 - 1. */
int sim_z85_decode(const char *in, size_t len, uint8_t *out);

/* What a computed setup network's SSID carries. */
typedef struct sim_setup_ssid {
    uint8_t ami[9];
    char product_index[5]; /* 4 bytes and a NUL */
    uint8_t nonce[12];
} sim_setup_ssid;

/* Decodes a 32-character computed SSID. 0 on success, -1 when it is not one. */
int sim_dss_ssid_decode(const char *ssid, size_t len, sim_setup_ssid *out);

#endif

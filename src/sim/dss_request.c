/* dss_request.c - parsing and checking Device Setup Service requests, and
 * decoding computed setup network names. Pure: what it rejects and why is in
 * dss_request.h. */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "sim/dss_request.h"

static const char *const op_names[SIM_DSS_NOPS] = {
    "startProvisioningSession", "computeConfigurationData", "postWifiScanData", "getWifiCredentials", "report",
};

const char *const sim_dss_states[] = {
    "START_PROVISIONING",
    "COMPUTE_CONFIGURATION",
    "POST_WIFI_SCAN_DATA",
    "GET_WIFI_LIST",
    "CONNECTING_TO_USER_NETWORK",
    "CONNECTED_TO_USER_NETWORK",
    "DONE",
    "FAILURE",
    NULL,
};

int sim_dss_op_parse(const char *name)
{
    for (int i = 0; name && i < SIM_DSS_NOPS; i++)
        if (strcmp(name, op_names[i]) == 0)
            return i;
    return -1;
}

const char *sim_dss_op_name(int op) { return op >= 0 && op < SIM_DSS_NOPS ? op_names[op] : ""; }

int sim_dss_state_known(const char *name)
{
    for (const char *const *s = sim_dss_states; name && *s; s++)
        if (strcmp(*s, name) == 0)
            return 1;
    return 0;
}

/* Refuses keys of obj not in the NULL-terminated list allowed. */
static int only_keys(const json_t *obj, const char *const *allowed, const char *where, char *why, size_t whylen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            /* Keys are printed cut short: they come from the client. */
            snprintf(why, whylen, "%s: unknown key \"%.40s\"", where, key);
            return -1;
        }
    }
    return 0;
}

/* The string at key: NULL when absent; *bad set when present but not a string
 * of minlen..maxlen bytes without NUL. */
static const char *get_str(const json_t *obj, const char *key, size_t minlen, size_t maxlen, int *bad)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return NULL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!s || strlen(s) != n || n < minlen || n > maxlen) {
        *bad = 1;
        return NULL;
    }
    return s;
}

static int is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

static int nonce_valid(const char *n)
{
    size_t len = strlen(n);
    if (len < SIM_DSS_NONCE_MIN || len > SIM_DSS_NONCE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_b64_char(n[i]))
            return 0;
    return 1;
}

static int session_id_valid(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > SIM_DSS_SESSION_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._-:", c)))
            return 0;
    }
    return 1;
}

static int bssid_valid(const char *b)
{
    if (strlen(b) != 17)
        return 0;
    for (int i = 0; i < 17; i++) {
        char c = b[i];
        int hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
        if (i % 3 == 2 ? c != ':' : !hex)
            return 0;
    }
    return 1;
}

static int security_valid(const char *s)
{
    return s && (strcmp(s, "OPEN") == 0 || strcmp(s, "WPA_PSK") == 0 || strcmp(s, "WEP") == 0);
}

static int get_int(const json_t *obj, const char *key, long long min, long long max, long long *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int check_device_details(const json_t *root, char *why, size_t whylen)
{
    static const char *const keys[] = {"manufacturer",         "deviceModel",     "deviceSerial",    "productIndex",
                                       "softwareVersionIndex", "firmwareVersion", "hardwareVersion", NULL};
    json_t *dd = json_object_get(root, "deviceDetails");
    if (!dd)
        return 0;
    if (!json_is_object(dd)) {
        snprintf(why, whylen, "deviceDetails must be an object");
        return -1;
    }
    if (only_keys(dd, keys, "deviceDetails", why, whylen) != 0)
        return -1;
    for (const char *const *k = keys; *k; k++) {
        int bad = 0;
        get_str(dd, *k, 0, 128, &bad);
        if (bad) {
            snprintf(why, whylen, "deviceDetails.%s must be a string of at most 128 bytes", *k);
            return -1;
        }
    }
    return 0;
}

static int parse_scans(const json_t *root, sim_dss_request *out, char *why, size_t whylen)
{
    static const char *const keys[] = {"ssid", "bssid", "securityProtocol", "rssi", "frequency", NULL};
    json_t *list = json_object_get(root, "wifiScanDataList");
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > SIM_DSS_MAX_SCANS) {
        snprintf(why, whylen, "wifiScanDataList must be an array of 1..%d networks", SIM_DSS_MAX_SCANS);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        char where[48];
        snprintf(where, sizeof where, "wifiScanDataList[%zu]", i);
        if (!json_is_object(e)) {
            snprintf(why, whylen, "%s must be an object", where);
            return -1;
        }
        if (only_keys(e, keys, where, why, whylen) != 0)
            return -1;
        sim_dss_scan *sc = &out->scans[i];
        int bad = 0;
        sc->ssid = get_str(e, "ssid", 1, 32, &bad);
        if (!sc->ssid) {
            snprintf(why, whylen, "%s.ssid must be 1..32 bytes (hidden networks are not posted)", where);
            return -1;
        }
        sc->bssid = get_str(e, "bssid", 17, 17, &bad);
        if (!sc->bssid || !bssid_valid(sc->bssid)) {
            snprintf(why, whylen, "%s.bssid must look like AA:BB:CC:DD:EE:FF", where);
            return -1;
        }
        sc->security = get_str(e, "securityProtocol", 1, 16, &bad);
        if (!security_valid(sc->security)) {
            snprintf(why, whylen, "%s.securityProtocol must be OPEN, WPA_PSK or WEP", where);
            return -1;
        }
        if (get_int(e, "rssi", -200, 0, &sc->rssi) != 0 || get_int(e, "frequency", 1, 100000, &sc->frequency) != 0) {
            snprintf(why, whylen, "%s needs an integer rssi (dBm, -200..0) and frequency (MHz, 1..100000)", where);
            return -1;
        }
    }
    out->nscans = json_array_size(list);
    return 0;
}

static int check_error_details(const json_t *ed, const char *where, char *why, size_t whylen)
{
    static const char *const keys[] = {"operation", "details", "cause", "code", NULL};
    if (!json_is_object(ed)) {
        snprintf(why, whylen, "%s.errorDetails must be an object", where);
        return -1;
    }
    if (only_keys(ed, keys, where, why, whylen) != 0)
        return -1;
    for (const char *const *k = keys; *k; k++) {
        json_t *v = json_object_get(ed, *k);
        int bad = !json_is_string(v);
        if (!bad)
            get_str(ed, *k, 0, 256, &bad);
        if (v && !json_is_integer(v) && bad) {
            snprintf(why, whylen, "%s.errorDetails.%s must be a string (at most 256 bytes) or an integer", where, *k);
            return -1;
        }
    }
    return 0;
}

static int parse_report(const json_t *root, sim_dss_request *out, char *why, size_t whylen)
{
    static const char *const keys[] = {"ssid", "securityProtocol", "wifiConnectionState", "errorDetails", NULL};
    int bad = 0;
    out->current_state = get_str(root, "currentProvisioningState", 1, 64, &bad);
    if (!out->current_state || !sim_dss_state_known(out->current_state)) {
        snprintf(why, whylen, "currentProvisioningState must be one of the provisioning states");
        return -1;
    }
    out->result = get_str(root, "stateTransitionResult", 1, 16, &bad);
    if (!out->result || (strcmp(out->result, "SUCCESS") && strcmp(out->result, "FAILURE"))) {
        snprintf(why, whylen, "stateTransitionResult must be SUCCESS or FAILURE");
        return -1;
    }
    get_str(root, "registrationState", 0, 64, &bad);
    if (bad) {
        snprintf(why, whylen, "registrationState must be a string of at most 64 bytes");
        return -1;
    }
    json_t *list = json_object_get(root, "wifiNetworkInfoList");
    if (!list)
        return 0;
    if (!json_is_array(list) || json_array_size(list) > SIM_DSS_MAX_SCANS) {
        snprintf(why, whylen, "wifiNetworkInfoList must be an array of at most %d entries", SIM_DSS_MAX_SCANS);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        char where[48];
        snprintf(where, sizeof where, "wifiNetworkInfoList[%zu]", i);
        if (!json_is_object(e)) {
            snprintf(why, whylen, "%s must be an object", where);
            return -1;
        }
        if (only_keys(e, keys, where, why, whylen) != 0)
            return -1;
        bad = 0;
        if (!get_str(e, "ssid", 1, 32, &bad) || bad) {
            snprintf(why, whylen, "%s.ssid must be 1..32 bytes", where);
            return -1;
        }
        get_str(e, "securityProtocol", 0, 16, &bad);
        get_str(e, "wifiConnectionState", 0, 64, &bad);
        if (bad) {
            snprintf(why, whylen, "%s: securityProtocol and wifiConnectionState must be short strings", where);
            return -1;
        }
        json_t *ed = json_object_get(e, "errorDetails");
        if (ed && check_error_details(ed, where, why, whylen) != 0)
            return -1;
    }
    out->wifi_info = list;
    return 0;
}

int sim_dss_request_parse(int op, const char *body, size_t len, sim_dss_request *out, char *why, size_t whylen)
{
    static const char *const keys[SIM_DSS_NOPS][10] = {
        [SIM_DSS_START] = {"nonce", NULL},
        [SIM_DSS_COMPUTE] = {"nonce", "sessionId", "deviceDetails", NULL},
        [SIM_DSS_SCAN] = {"nonce", "sessionId", "sequenceNumber", "deviceDetails", "wifiScanDataList", NULL},
        [SIM_DSS_CREDENTIALS] = {"nonce", "sessionId", "sequenceNumber", "deviceDetails", "ssid", NULL},
        [SIM_DSS_REPORT] = {"nonce", "sessionId", "deviceDetails", "sequenceNumber", "currentProvisioningState",
                            "registrationState", "stateTransitionResult", "wifiNetworkInfoList", NULL},
    };
    memset(out, 0, sizeof *out);
    out->op = op;
    if (op < 0 || op >= SIM_DSS_NOPS) {
        snprintf(why, whylen, "unknown operation");
        return -1;
    }
    if (len > SIM_DSS_MAX_BODY) {
        snprintf(why, whylen, "the body is over %u bytes", SIM_DSS_MAX_BODY);
        return -1;
    }
    json_t *root = wss_json_parse_object(body, len, why, whylen);
    if (!root)
        return -1;
    out->root = root;
    int bad = 0;
    if (only_keys(root, keys[op], "request", why, whylen) != 0)
        goto fail;
    out->nonce = get_str(root, "nonce", SIM_DSS_NONCE_MIN, SIM_DSS_NONCE_MAX, &bad);
    if (!out->nonce || !nonce_valid(out->nonce)) {
        snprintf(why, whylen, "nonce must be %d..%d characters of the Base64 alphabet", SIM_DSS_NONCE_MIN,
                 SIM_DSS_NONCE_MAX);
        goto fail;
    }
    if (op != SIM_DSS_START) {
        out->session_id = get_str(root, "sessionId", 1, SIM_DSS_SESSION_ID_MAX, &bad);
        if (!out->session_id || !session_id_valid(out->session_id)) {
            snprintf(why, whylen, "sessionId is required (the one startProvisioningSession gave)");
            goto fail;
        }
        if (check_device_details(root, why, whylen) != 0)
            goto fail;
    }
    if (op == SIM_DSS_SCAN || op == SIM_DSS_CREDENTIALS || op == SIM_DSS_REPORT) {
        if (get_int(root, "sequenceNumber", 1, 2147483647LL, &out->sequence) != 0) {
            snprintf(why, whylen, "sequenceNumber must be an integer from 1");
            goto fail;
        }
    }
    if (op == SIM_DSS_SCAN && parse_scans(root, out, why, whylen) != 0)
        goto fail;
    if (op == SIM_DSS_CREDENTIALS) {
        out->ssid = get_str(root, "ssid", 1, 32, &bad);
        if (bad) {
            snprintf(why, whylen, "ssid must be 1..32 bytes");
            goto fail;
        }
    }
    if (op == SIM_DSS_REPORT && parse_report(root, out, why, whylen) != 0)
        goto fail;
    return 0;
fail:
    sim_dss_request_free(out);
    return -1;
}

void sim_dss_request_free(sim_dss_request *r)
{
    if (!r)
        return;
    json_decref(r->root);
    memset(r, 0, sizeof *r);
}

/* --- the computed setup network's name --- */

static const char z85_alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static int z85_value(char c)
{
    const char *p = c ? strchr(z85_alphabet, c) : NULL;
    return p ? (int)(p - z85_alphabet) : -1;
}

int sim_z85_decode(const char *in, size_t len, uint8_t *out)
{
    if (len % 5 != 0)
        return -1;
    for (size_t g = 0; g < len / 5; g++) {
        unsigned long long v = 0;
        for (size_t i = 0; i < 5; i++) {
            int d = z85_value(in[g * 5 + i]);
            if (d < 0)
                return -1;
            v = v * 85 + (unsigned long long)d;
        }
        if (v > 0xFFFFFFFFull)
            return -1;
        for (int i = 3; i >= 0; i--) {
            out[g * 4 + (size_t)i] = (uint8_t)(v & 0xFF);
            v >>= 8;
        }
    }
    return 0;
}

static int b64_value(char c)
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

int sim_dss_ssid_decode(const char *ssid, size_t len, sim_setup_ssid *out)
{
    /* prefix: Base64 of [ami0 >> 4, (ami0 << 4) & 0xF0], first two characters:
     * the first carries ami0's top 2 bits (so it is 'A'..'D'), the second its
     * low 6 bits. */
    if (!ssid || len != 32)
        return -1;
    int hi = b64_value(ssid[0]), lo = b64_value(ssid[1]);
    if (hi < 0 || hi > 3 || lo < 0)
        return -1;
    uint8_t payload[24];
    if (sim_z85_decode(ssid + 2, 30, payload) != 0)
        return -1;
    out->ami[0] = (uint8_t)((hi << 6) | lo);
    memcpy(out->ami + 1, payload, 8);
    for (int i = 0; i < 4; i++) {
        if (payload[8 + i] < 0x20 || payload[8 + i] > 0x7E)
            return -1;
        out->product_index[i] = (char)payload[8 + i];
    }
    out->product_index[4] = 0;
    memcpy(out->nonce, payload + 12, 12);
    return 0;
}

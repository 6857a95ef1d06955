/* flow.c - wss_dev_run: Zero Touch Setup from the setup network to the
 * association report (docs/dss.md sections 5, 8 and 9). Each step records its
 * failure in dev (wss_devi_fail) and returns it; the run then falls back to the
 * device's user-guided setup. */
#include <string.h>

#include "device/b64.h"
#include "device/internal.h"

#define FLOW_MAX_STEPS 16     /* DSS state changes in one run: more means the DSS loops */
#define FLOW_MAX_CRED_CALLS 8 /* getWifiCredentials calls until allCredentialsReturned */
#define FLOW_SCAN_PER_POST 64 /* docs/dss.md: at most 64 entries per postWifiScanData */
#define FLOW_SIMPLE_SETUP "simple_setup"

/* The outcome of the joins of one home network, for wifiNetworkInfoList. */
typedef struct join_note {
    uint8_t cred; /* index in dev->creds */
    uint8_t ok;   /* 1 when associated */
    int code;     /* the port's last wifi_join result */
} join_note;

/* ---- the setup network ---------------------------------------------------------- */

static int join_tries(wss_dev *dev, const char *ssid, wss_dev_security sec, const char *key, int hidden, int *last_rc)
{
    int rc = -1;
    for (uint32_t i = 0; i < dev->config.policy.join_attempts; i++) {
        if (wss_devi_budget(dev, "joining a network") != WSS_DEV_OK)
            break;
        rc = dev->port.wifi_join(dev->port.ctx, ssid, sec, key, hidden);
        if (rc == 0)
            break;
    }
    if (last_rc)
        *last_rc = rc;
    return rc == 0 ? 0 : -1;
}

static wss_dev_fail join_setup_network(wss_dev *dev)
{
    uint8_t nonce[12];
    for (uint32_t probe = 0; probe < dev->config.policy.probe_attempts; probe++) {
        wss_dev_fail f = wss_devi_budget(dev, "probing for a provisioner");
        if (f != WSS_DEV_OK)
            return f;
        if (dev->port.random(dev->port.ctx, nonce, sizeof nonce) < 0)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "random failed for the setup network nonce", NULL, NULL);
        if (wss_dev_setup_network(dev, nonce, dev->setup_ssid, dev->setup_key) != WSS_DEV_OK)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "crypto failed computing the setup network", NULL, NULL);
        wss_devi_log(dev, WSS_DEV_LOG_INFO, "probing for setup network ", dev->setup_ssid, NULL);
        if (dev->port.wifi_probe(dev->port.ctx, dev->setup_ssid) < 0)
            continue;
        if (join_tries(dev, dev->setup_ssid, WSS_DEV_SEC_WPA_PSK, dev->setup_key, 1, NULL) == 0) {
            dev->on_setup_network = 1;
            dev->dss_port = dev->config.policy.setup_proxy_port;
            return WSS_DEV_OK;
        }
    }
    wss_dev_fail f = wss_devi_budget(dev, "joining simple_setup");
    if (f != WSS_DEV_OK)
        return f;
    wss_devi_copy(dev->setup_ssid, sizeof dev->setup_ssid, FLOW_SIMPLE_SETUP);
    dev->setup_key[0] = '\0';
    if (join_tries(dev, dev->setup_ssid, WSS_DEV_SEC_OPEN, "", 1, NULL) == 0) {
        dev->on_setup_network = 2;
        dev->dss_port = dev->dss_normal_port;
        return WSS_DEV_OK;
    }
    dev->setup_ssid[0] = '\0';
    if ((f = wss_devi_budget(dev, "joining simple_setup")) != WSS_DEV_OK)
        return f;
    return wss_devi_fail(dev, WSS_DEV_FAIL_NO_PROVISIONER,
                         "neither the computed setup network nor simple_setup could be joined", NULL, NULL);
}

static int rejoin_setup_network(wss_dev *dev)
{
    if (!dev->setup_ssid[0])
        return -1;
    wss_dev_security sec = dev->on_setup_network == 1 ? WSS_DEV_SEC_WPA_PSK : WSS_DEV_SEC_OPEN;
    dev->port.wifi_leave(dev->port.ctx);
    return join_tries(dev, dev->setup_ssid, sec, dev->setup_key, 1, NULL);
}

/* ---- reports ------------------------------------------------------------------------- */

static void network_info(wss_dev *dev, wss_jw *w, const join_note *notes, size_t n)
{
    wss_jw_key(w, "wifiNetworkInfoList");
    wss_jw_array_open(w);
    for (size_t i = 0; i < n; i++) {
        const char *ssid = dev->creds[notes[i].cred].ssid;
        wss_jw_object_open(w);
        wss_jw_kv_string(w, "ssid", ssid);
        wss_jw_kv_string(w, "securityProtocol", wss_dev_security_name(dev->creds[notes[i].cred].security));
        wss_jw_kv_string(w, "wifiConnectionState", notes[i].ok ? "ASSOCIATED" : "FAILED");
        if (!notes[i].ok) {
            wss_devi_text code;
            wss_devi_text_init(&code);
            wss_devi_text_num(&code, notes[i].code);
            wss_jw_key(w, "errorDetails");
            wss_jw_object_open(w);
            wss_jw_kv_string(w, "operation", "JOIN");
            wss_jw_kv_string(w, "details", "could not associate with the network");
            wss_jw_kv_string(w, "cause", "WIFI_JOIN_FAILED");
            wss_jw_kv_string(w, "code", code.s);
            wss_jw_object_close(w);
        }
        wss_jw_object_close(w);
    }
    wss_jw_array_close(w);
}

/* Reports on dev->state. On SUCCESS the DSS's answer decides: its
 * nextProvisioningState becomes dev->state, canProceed false stops the run,
 * waitTime is honoured. A FAILURE report is a courtesy to the DSS on the way
 * out: its answer is not used and its own failures do not replace the reason
 * already recorded. */
static wss_dev_fail report(wss_dev *dev, int success, const join_note *notes, size_t n)
{
    wss_jw w;
    wss_jr_val root, v;
    wss_dev_fail f = wss_devi_dss_begin(dev, &w, 1, 1);
    if (f != WSS_DEV_OK)
        return f;
    wss_jw_kv_string(&w, "currentProvisioningState", dev->state);
    wss_jw_kv_string(&w, "registrationState", success ? dev->registration_state : "FAILED");
    wss_jw_kv_string(&w, "stateTransitionResult", success ? "SUCCESS" : "FAILURE");
    if (notes)
        network_info(dev, &w, notes, n);
    wss_jw_object_close(&w);
    if (!success) {
        wss_dev_fail keep = dev->fail;
        char detail[sizeof dev->detail];
        memcpy(detail, dev->detail, sizeof detail);
        dev->fail = WSS_DEV_OK;
        f = wss_devi_dss_call(dev, "report", &w, &root);
        dev->fail = keep;
        memcpy(dev->detail, detail, sizeof detail);
        return f;
    }
    if ((f = wss_devi_dss_call(dev, "report", &w, &root)) != WSS_DEV_OK)
        return f;

    int proceed = 0;
    char reason[64];
    if (wss_jr_get(&root, "canProceed", &v) < 0 || wss_jr_bool(&v, &proceed) < 0)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "report ", dev->state, ": canProceed missing");
    reason[0] = '\0';
    if (wss_jr_get(&root, "reason", &v) == 0 && wss_jr_string(&v, reason, sizeof reason, NULL) < 0)
        wss_devi_copy(reason, sizeof reason, "(unreadable reason)");
    if (!proceed) {
        wss_devi_text t;
        wss_devi_text_init(&t);
        wss_devi_text_add(&t, dev->state);
        wss_devi_text_add(&t, ": ");
        wss_devi_text_add(&t, reason[0] ? reason : "(no reason)");
        return wss_devi_fail(dev, wss_devi_dss_refusal(reason), "the DSS stopped the setup after report ", t.s, NULL);
    }
    char next[sizeof dev->state];
    if (wss_jr_get(&root, "nextProvisioningState", &v) < 0 || wss_jr_string(&v, next, sizeof next, NULL) < 0 ||
        !next[0])
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "report ", dev->state, ": no nextProvisioningState");
    memcpy(dev->state, next, sizeof next);
    int64_t wait = 0;
    if (wss_jr_get(&root, "waitTime", &v) == 0) {
        if (wss_jr_int(&v, &wait) < 0 || wait < 0)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "report: bad waitTime", NULL, NULL);
        if (wait > dev->config.policy.max_wait_ms)
            wait = dev->config.policy.max_wait_ms;
        if (wait > 0)
            dev->port.sleep_ms(dev->port.ctx, (uint32_t)wait);
    }
    return WSS_DEV_OK;
}

/* canProceed of an operation's answer: absent means yes; false stops the run. */
static wss_dev_fail check_proceed(wss_dev *dev, const char *op, const wss_jr_val *root)
{
    wss_jr_val v;
    int proceed = 1;
    if (wss_jr_get(root, "canProceed", &v) == 0 && wss_jr_bool(&v, &proceed) < 0)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, op, ": canProceed is not a boolean", NULL);
    if (proceed)
        return WSS_DEV_OK;
    char reason[64] = "";
    if (wss_jr_get(root, "reason", &v) == 0 && wss_jr_string(&v, reason, sizeof reason, NULL) < 0)
        reason[0] = '\0';
    return wss_devi_fail(dev, wss_devi_dss_refusal(reason), op, ": canProceed=false ",
                         reason[0] ? reason : "(no reason)");
}

/* sequenceNumber of an answer, when present, echoes the request's. */
static wss_dev_fail check_sequence(wss_dev *dev, const char *op, const wss_jr_val *root)
{
    wss_jr_val v;
    int64_t seq;
    if (wss_jr_get(root, "sequenceNumber", &v) < 0)
        return WSS_DEV_OK;
    if (wss_jr_int(&v, &seq) < 0 || seq != (int64_t)dev->sequence - 1)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, op, ": sequenceNumber does not echo the request", NULL);
    return WSS_DEV_OK;
}

/* ---- operations --------------------------------------------------------------------- */

static wss_dev_fail op_start(wss_dev *dev)
{
    wss_jw w;
    wss_jr_val root, v;
    dev->session_id[0] = '\0';
    wss_devi_copy(dev->state, sizeof dev->state, "START_PROVISIONING");
    wss_dev_fail f = wss_devi_dss_begin(dev, &w, 0, 0);
    if (f != WSS_DEV_OK)
        return f;
    wss_jw_object_close(&w);
    if ((f = wss_devi_dss_call(dev, "startProvisioningSession", &w, &root)) != WSS_DEV_OK)
        return f;
    int proceed;
    if (wss_jr_get(&root, "canProceed", &v) < 0 || wss_jr_bool(&v, &proceed) < 0)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "startProvisioningSession: canProceed missing", NULL, NULL);
    if ((f = check_proceed(dev, "startProvisioningSession", &root)) != WSS_DEV_OK)
        return f;
    if (wss_jr_get(&root, "sessionId", &v) < 0 ||
        wss_jr_string(&v, dev->session_id, sizeof dev->session_id, NULL) < 0 || !dev->session_id[0])
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "startProvisioningSession: no usable sessionId", NULL, NULL);
    dev->sequence = 1;
    wss_devi_log(dev, WSS_DEV_LOG_INFO, "DSS session ", dev->session_id, NULL);
    return report(dev, 1, NULL, 0);
}

/* The configuration keys the library stores (docs/dss.md section 10). */
static int known_key(const char *key)
{
    static const char *const keys[] = {
        "LocaleConfiguration.CountryCode",
        "LocaleConfiguration.Realm",
        "LocaleConfiguration.Marketplace",
        "LocaleConfiguration.LanguageLocale",
        "LocaleConfiguration.CountryOfResidence",
        "LocaleConfiguration.Region",
        "DSS.ReportUrl",
        "DSS.Host",
        "DSS.Port",
        "SmartHome.AlexaEventGatewayEndpoint",
        "FFS.SessionToken",
        "Time.UTC",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i], key) == 0)
            return 1;
    }
    return 0;
}

static wss_dev_fail op_configuration(wss_dev *dev)
{
    wss_jw w;
    wss_jr_val root, conf, k, v;
    wss_jr_iter it;
    wss_dev_fail f = wss_devi_dss_begin(dev, &w, 1, 0);
    if (f != WSS_DEV_OK)
        return f;
    wss_jw_object_close(&w);
    if ((f = wss_devi_dss_call(dev, "computeConfigurationData", &w, &root)) != WSS_DEV_OK)
        return f;
    if (wss_jr_get(&root, "configuration", &conf) < 0 || conf.type != WSS_JR_OBJECT)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "computeConfigurationData: no configuration object", NULL,
                             NULL);
    dev->session_token[0] = '\0';
    dev->gateway_endpoint[0] = '\0';
    wss_jr_iter_init(&it, &conf);
    while (wss_jr_next(&it, &k, &v)) {
        char key[48], value[WSS_DEV_CONFIG_VALUE_MAX];
        size_t len = 0;
        if (wss_jr_string(&k, key, sizeof key, NULL) < 0 || !known_key(key))
            continue;
        if (v.type == WSS_JR_STRING) {
            if (wss_jr_string(&v, value, sizeof value, &len) < 0)
                return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "computeConfigurationData: value too long for ", key,
                                     NULL);
        } else if (v.type == WSS_JR_NUMBER && v.len < sizeof value) {
            memcpy(value, v.p, v.len);
            value[v.len] = '\0';
            len = v.len;
        } else
            continue;
        if (strcmp(key, "FFS.SessionToken") == 0 &&
            wss_devi_copy(dev->session_token, sizeof dev->session_token, value) < 0)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "computeConfigurationData: session token too long", NULL,
                                 NULL);
        if (strcmp(key, "SmartHome.AlexaEventGatewayEndpoint") == 0 &&
            wss_devi_copy(dev->gateway_endpoint, sizeof dev->gateway_endpoint, value) < 0)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "computeConfigurationData: endpoint too long", NULL, NULL);
        if (dev->port.storage_write(dev->port.ctx, key, value, len) < 0)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "storage: cannot write ", key, NULL);
    }
    if (!dev->session_token[0])
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "computeConfigurationData: no FFS.SessionToken", NULL, NULL);
    wss_devi_copy(dev->registration_state, sizeof dev->registration_state, "COMPLETE");
    return report(dev, 1, NULL, 0);
}

static int postable(const wss_dev_ap *ap)
{
    size_t n = strlen(ap->ssid);
    return n > 0 && ap->security != WSS_DEV_SEC_OTHER && (unsigned)ap->security <= WSS_DEV_SEC_WEP &&
           wss_jr_utf8_valid(ap->ssid, n);
}

static wss_dev_fail scan(wss_dev *dev)
{
    size_t n = 0;
    wss_dev_fail f = wss_devi_budget(dev, "the Wi-Fi scan");
    if (f != WSS_DEV_OK)
        return f;
    dev->nscan = 0;
    if (dev->port.wifi_scan(dev->port.ctx, dev->scan, WSS_DEV_SCAN_MAX, &n) < 0)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "the Wi-Fi scan failed", NULL, NULL);
    dev->nscan = n < WSS_DEV_SCAN_MAX ? n : WSS_DEV_SCAN_MAX;
    for (size_t i = 0; i < dev->nscan; i++) {
        dev->scan[i].ssid[WSS_DEV_SSID_MAX] = '\0';
        dev->scan[i].bssid[sizeof dev->scan[i].bssid - 1] = '\0';
    }
    return WSS_DEV_OK;
}

static void scan_entry(wss_jw *w, const wss_dev_ap *ap)
{
    wss_jw_object_open(w);
    wss_jw_kv_string(w, "ssid", ap->ssid);
    wss_jw_kv_string(w, "bssid", ap->bssid);
    wss_jw_kv_string(w, "securityProtocol", wss_dev_security_name(ap->security));
    wss_jw_kv_int(w, "rssi", ap->rssi);
    wss_jw_kv_int(w, "frequency", ap->frequency_mhz);
    wss_jw_object_close(w);
}

static wss_dev_fail fail_with_report(wss_dev *dev, wss_dev_fail f, const char *a, const char *b)
{
    wss_devi_fail(dev, f, a, b, NULL);
    report(dev, 0, NULL, 0);
    return f;
}

static wss_dev_fail op_scan_data(wss_dev *dev)
{
    wss_dev_fail f = scan(dev);
    if (f != WSS_DEV_OK)
        return f;
    size_t idx = 0, posted = 0;
    for (;;) {
        while (idx < dev->nscan && !postable(&dev->scan[idx]))
            idx++;
        if (idx >= dev->nscan)
            break;
        wss_jw w;
        wss_jr_val root, v;
        if ((f = wss_devi_dss_begin(dev, &w, 1, 1)) != WSS_DEV_OK)
            return f;
        wss_jw_key(&w, "wifiScanDataList");
        wss_jw_array_open(&w);
        w.cap -= 3; /* keep room for "]}" and the NUL */
        size_t count = 0;
        for (; idx < dev->nscan && count < FLOW_SCAN_PER_POST; idx++) {
            if (!postable(&dev->scan[idx]))
                continue;
            wss_jw_mark m = wss_jw_save(&w);
            scan_entry(&w, &dev->scan[idx]);
            if (wss_jw_ok(&w) < 0) {
                wss_jw_rollback(&w, m);
                break; /* the rest goes in the next post */
            }
            count++;
        }
        w.cap += 3;
        wss_jw_array_close(&w);
        wss_jw_object_close(&w);
        if (count == 0)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "postWifiScanData: request buffer too small", NULL, NULL);
        if ((f = wss_devi_dss_call(dev, "postWifiScanData", &w, &root)) != WSS_DEV_OK ||
            (f = check_proceed(dev, "postWifiScanData", &root)) != WSS_DEV_OK ||
            (f = check_sequence(dev, "postWifiScanData", &root)) != WSS_DEV_OK)
            return f;
        posted += count;
        int all = 0;
        if (wss_jr_get(&root, "allCredentialsFound", &v) == 0 && wss_jr_bool(&v, &all) < 0)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "postWifiScanData: bad allCredentialsFound", NULL, NULL);
        if (all)
            break;
    }
    if (posted == 0)
        return fail_with_report(dev, WSS_DEV_FAIL_NO_CREDENTIALS, "no visible network to post to the DSS", NULL);
    return report(dev, 1, NULL, 0);
}

static int parse_security(const wss_jr_val *v, wss_dev_security *sec)
{
    static const wss_dev_security all[] = {WSS_DEV_SEC_OPEN, WSS_DEV_SEC_WPA_PSK, WSS_DEV_SEC_WEP};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (wss_jr_streq(v, wss_dev_security_name(all[i]))) {
            *sec = all[i];
            return 0;
        }
    }
    return -1;
}

static int in_scan(const wss_dev *dev, const char *ssid, wss_dev_security sec)
{
    for (size_t i = 0; i < dev->nscan; i++) {
        if (dev->scan[i].security == sec && strcmp(dev->scan[i].ssid, ssid) == 0 && postable(&dev->scan[i]))
            return 1;
    }
    return 0;
}

/* Keeps one credential: only for a network of the scan, one per network (the
 * preferred), and when full the WSS_DEV_CRED_MAX preferred ones. */
static void keep_credential(wss_dev *dev, const wss_jr_val *entry)
{
    wss_jr_val v;
    char ssid[WSS_DEV_SSID_MAX + 1], key[WSS_DEV_WIFI_KEY_MAX + 1];
    wss_dev_security sec;
    int64_t priority = 0;
    if (wss_jr_get(entry, "ssid", &v) < 0 || wss_jr_string(&v, ssid, sizeof ssid, NULL) < 0 || !ssid[0] ||
        wss_jr_get(entry, "securityProtocol", &v) < 0 || parse_security(&v, &sec) < 0)
        return;
    key[0] = '\0';
    if (wss_jr_get(entry, "key", &v) == 0 && wss_jr_string(&v, key, sizeof key, NULL) < 0)
        return;
    if (sec != WSS_DEV_SEC_OPEN && !key[0])
        return;
    if (wss_jr_get(entry, "priority", &v) == 0 &&
        (wss_jr_int(&v, &priority) < 0 || priority < -1000000 || priority > 1000000))
        return;
    if (!in_scan(dev, ssid, sec)) {
        wss_devi_log(dev, WSS_DEV_LOG_WARN, "ignoring a credential for a network not in the scan: ", ssid, NULL);
        return;
    }
    size_t slot = dev->ncreds;
    for (size_t i = 0; i < dev->ncreds; i++) {
        if (strcmp(dev->creds[i].ssid, ssid) == 0 && dev->creds[i].security == sec) {
            if (dev->creds[i].priority <= priority)
                return;
            slot = i;
        }
    }
    if (slot == WSS_DEV_CRED_MAX) {
        size_t worst = 0;
        for (size_t i = 1; i < dev->ncreds; i++) {
            if (dev->creds[i].priority > dev->creds[worst].priority)
                worst = i;
        }
        if (dev->creds[worst].priority <= priority)
            return;
        slot = worst;
    }
    memcpy(dev->creds[slot].ssid, ssid, sizeof ssid);
    memcpy(dev->creds[slot].key, key, sizeof key);
    dev->creds[slot].security = sec;
    dev->creds[slot].priority = (int)priority;
    if (slot == dev->ncreds)
        dev->ncreds++;
}

static wss_dev_fail op_credentials(wss_dev *dev)
{
    wss_dev_fail f;
    if (dev->nscan == 0 && (f = scan(dev)) != WSS_DEV_OK)
        return f;
    dev->ncreds = 0;
    for (int call = 0; call < FLOW_MAX_CRED_CALLS; call++) {
        wss_jw w;
        wss_jr_val root, list, entry, v;
        wss_jr_iter it;
        if ((f = wss_devi_dss_begin(dev, &w, 1, 1)) != WSS_DEV_OK)
            return f;
        wss_jw_object_close(&w);
        if ((f = wss_devi_dss_call(dev, "getWifiCredentials", &w, &root)) != WSS_DEV_OK ||
            (f = check_proceed(dev, "getWifiCredentials", &root)) != WSS_DEV_OK ||
            (f = check_sequence(dev, "getWifiCredentials", &root)) != WSS_DEV_OK)
            return f;
        if (wss_jr_get(&root, "wifiCredentialsList", &list) == 0) {
            if (list.type != WSS_JR_ARRAY)
                return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "getWifiCredentials: list is not an array", NULL,
                                     NULL);
            wss_jr_iter_init(&it, &list);
            while (wss_jr_next(&it, NULL, &entry)) {
                if (entry.type == WSS_JR_OBJECT)
                    keep_credential(dev, &entry);
            }
        }
        int all = 1;
        if (wss_jr_get(&root, "allCredentialsReturned", &v) == 0 && wss_jr_bool(&v, &all) < 0)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "getWifiCredentials: bad allCredentialsReturned", NULL,
                                 NULL);
        if (all)
            break;
    }
    if (dev->ncreds == 0)
        return fail_with_report(dev, WSS_DEV_FAIL_NO_CREDENTIALS, "no usable credentials for a visible network", NULL);
    return report(dev, 1, NULL, 0);
}

static void swap_bytes(void *a, void *b, size_t n)
{
    uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        uint8_t t = x[i];
        x[i] = y[i];
        y[i] = t;
    }
}

static void sort_credentials(wss_dev *dev)
{
    /* Insertion sort, stable: equal priorities keep the DSS's order. */
    for (size_t i = 1; i < dev->ncreds; i++) {
        for (size_t j = i; j > 0 && dev->creds[j - 1].priority > dev->creds[j].priority; j--)
            swap_bytes(&dev->creds[j], &dev->creds[j - 1], sizeof dev->creds[0]);
    }
}

static wss_dev_fail step_connect(wss_dev *dev)
{
    join_note notes[WSS_DEV_CRED_MAX];
    size_t n = 0;
    int joined = 0;
    sort_credentials(dev);
    dev->port.wifi_leave(dev->port.ctx);
    for (size_t i = 0; i < dev->ncreds && !joined; i++) {
        wss_dev_fail f = wss_devi_budget(dev, "joining the home network");
        if (f != WSS_DEV_OK)
            return f;
        int rc = -1;
        joined = join_tries(dev, dev->creds[i].ssid, dev->creds[i].security, dev->creds[i].key, 0, &rc) == 0;
        notes[n].cred = (uint8_t)i;
        notes[n].ok = (uint8_t)joined;
        notes[n].code = rc;
        n++;
        wss_devi_log(dev, joined ? WSS_DEV_LOG_INFO : WSS_DEV_LOG_WARN, joined ? "joined " : "could not join ",
                     dev->creds[i].ssid, NULL);
    }
    if (!joined) {
        wss_dev_fail f = wss_devi_budget(dev, "rejoining the setup network");
        if (f != WSS_DEV_OK)
            return f;
        wss_devi_text t;
        wss_devi_text_init(&t);
        wss_devi_text_add(&t, "no home network could be joined (");
        wss_devi_text_num(&t, (int64_t)n);
        wss_devi_text_add(&t, n == 1 ? " network tried)" : " networks tried)");
        wss_devi_fail(dev, WSS_DEV_FAIL_JOIN, t.s, NULL, NULL);
        if (rejoin_setup_network(dev) == 0)
            report(dev, 0, notes, n);
        else
            wss_devi_log(dev, WSS_DEV_LOG_WARN, "could not rejoin the setup network to report the failure", NULL, NULL);
        return WSS_DEV_FAIL_JOIN;
    }
    wss_devi_copy(dev->home_ssid, sizeof dev->home_ssid, dev->creds[notes[n - 1].cred].ssid);
    dev->on_setup_network = 0;
    dev->dss_port = dev->dss_normal_port; /* the DSS directly, over the home network */
    return report(dev, 1, notes, n);
}

/* ---- the association report (docs/dss.md section 9) -------------------------------- */

static wss_dev_fail association_report(wss_dev *dev)
{
    uint8_t sig[80];
    char sig_b64[112];
    size_t sig_len = 0;
    wss_dev_fail f = wss_devi_budget(dev, "the association report");
    if (f != WSS_DEV_OK)
        return f;
    if (dev->port.ecdsa_sign(dev->port.ctx, dev->session_token, strlen(dev->session_token), sig, sizeof sig, &sig_len) <
            0 ||
        sig_len == 0 || sig_len > sizeof sig || wss_dev_b64_encode(sig, sig_len, sig_b64, sizeof sig_b64) < 0)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "signing the session token failed", NULL, NULL);
    wss_jw w;
    wss_jw_init(&w, dev->request, sizeof dev->request);
    wss_jw_object_open(&w);
    wss_jw_key(&w, "device");
    wss_jw_object_open(&w);
    wss_jw_kv_string(&w, "sessionToken", dev->session_token);
    wss_jw_kv_string(&w, "signature", sig_b64);
    wss_jw_key(&w, "namingCategories");
    wss_jw_array_open(&w);
    wss_jw_string(&w, dev->naming_category);
    wss_jw_array_close(&w);
    wss_jw_object_close(&w);
    if (dev->gateway_endpoint[0])
        wss_jw_kv_string(&w, "eventGatewayEndpoint", dev->gateway_endpoint);
    wss_jw_object_close(&w);
    if (wss_jw_ok(&w) < 0)
        return wss_devi_fail(dev, WSS_DEV_FAIL_REPORT, "association report does not fit the buffer", NULL, NULL);
    return wss_devi_cloud_post(dev);
}

/* ---- the run ---------------------------------------------------------------------------- */

static wss_dev_fail read_dss_target(wss_dev *dev)
{
    size_t len = 0;
    char *tmp = dev->response; /* scratch */
    if (dev->port.storage_read(dev->port.ctx, "DSS.Host", dev->dss_host, sizeof dev->dss_host, &len) < 0 || len == 0 ||
        len >= sizeof dev->dss_host)
        wss_devi_copy(dev->dss_host, sizeof dev->dss_host, "dp-sps-na.amazon.com");
    else
        dev->dss_host[len] = '\0';
    dev->dss_normal_port = 443;
    if (dev->port.storage_read(dev->port.ctx, "DSS.Port", tmp, 8, &len) == 0 && len > 0 && len < 6) {
        uint32_t port = 0;
        for (size_t i = 0; i < len; i++) {
            if (tmp[i] < '0' || tmp[i] > '9')
                return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "storage: DSS.Port is not a number", NULL, NULL);
            port = port * 10 + (uint32_t)(tmp[i] - '0');
        }
        if (port == 0 || port > 65535)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "storage: DSS.Port out of range", NULL, NULL);
        dev->dss_normal_port = (uint16_t)port;
    }
    tmp[0] = '\0';
    return WSS_DEV_OK;
}

static wss_dev_fail provision(wss_dev *dev)
{
    wss_dev_fail f;
    if ((f = read_dss_target(dev)) != WSS_DEV_OK)
        return f;
    wss_devi_copy(dev->state, sizeof dev->state, "CONNECTING_TO_SETUP_NETWORK");
    if ((f = join_setup_network(dev)) != WSS_DEV_OK)
        return f;
    if ((f = op_start(dev)) != WSS_DEV_OK)
        return f;
    for (int step = 0; step < FLOW_MAX_STEPS; step++) {
        const char *s = dev->state;
        if (strcmp(s, "DONE") == 0)
            return association_report(dev);
        if (strcmp(s, "COMPUTE_CONFIGURATION") == 0)
            f = op_configuration(dev);
        else if (strcmp(s, "POST_WIFI_SCAN_DATA") == 0)
            f = op_scan_data(dev);
        else if (strcmp(s, "GET_WIFI_LIST") == 0)
            f = op_credentials(dev);
        else if (strcmp(s, "CONNECTING_TO_USER_NETWORK") == 0)
            f = step_connect(dev);
        else if (strcmp(s, "CONNECTED_TO_USER_NETWORK") == 0)
            f = report(dev, 1, NULL, 0);
        else
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "the DSS led to an unexpected state ", s, NULL);
        if (f != WSS_DEV_OK)
            return f;
    }
    return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "the DSS kept the session going for too many steps", NULL, NULL);
}

wss_dev_fail wss_dev_run(wss_dev *dev, wss_dev_result *res)
{
    wss_dev_result scratch;
    if (!res)
        res = &scratch;
    memset(res, 0, sizeof *res);
    if (!dev || !dev->ready) {
        res->fail = WSS_DEV_FAIL_PORT;
        wss_devi_copy(res->detail, sizeof res->detail, "the device was not initialised");
        return WSS_DEV_FAIL_PORT;
    }
    dev->fail = WSS_DEV_OK;
    dev->detail[0] = '\0';
    dev->state[0] = '\0';
    dev->session_id[0] = '\0';
    dev->session_token[0] = '\0';
    dev->gateway_endpoint[0] = '\0';
    dev->setup_ssid[0] = '\0';
    dev->setup_key[0] = '\0';
    dev->home_ssid[0] = '\0';
    dev->sequence = 0;
    dev->dss_calls = 0;
    dev->nscan = 0;
    dev->ncreds = 0;
    dev->on_setup_network = 0;
    wss_devi_copy(dev->registration_state, sizeof dev->registration_state, "NOT_REGISTERED");
    dev->started_ms = dev->port.now_ms(dev->port.ctx);

    wss_dev_fail f = provision(dev);
    if (f != WSS_DEV_OK && dev->fail == WSS_DEV_OK)
        wss_devi_fail(dev, f, "setup failed", NULL, NULL);

    res->fail = dev->fail;
    wss_devi_copy(res->state, sizeof res->state, dev->state);
    memcpy(res->detail, dev->detail, sizeof res->detail);
    res->setup_network = dev->setup_ssid[0] ? (strcmp(dev->setup_ssid, FLOW_SIMPLE_SETUP) == 0 ? 2 : 1) : 0;
    wss_devi_copy(res->home_ssid, sizeof res->home_ssid, dev->home_ssid);
    res->elapsed_ms = wss_devi_elapsed(dev);
    res->dss_calls = dev->dss_calls;
    /* The passphrases are the radio's business once the run is over. */
    memset(dev->setup_key, 0, sizeof dev->setup_key);
    for (size_t i = 0; i < WSS_DEV_CRED_MAX; i++)
        memset(dev->creds[i].key, 0, sizeof dev->creds[i].key);
    if (dev->fail != WSS_DEV_OK) {
        dev->port.user_guided_setup(dev->port.ctx, dev->fail, dev->detail);
        return dev->fail;
    }
    wss_devi_log(dev, WSS_DEV_LOG_INFO, "setup done on ", res->home_ssid, NULL);
    return WSS_DEV_OK;
}

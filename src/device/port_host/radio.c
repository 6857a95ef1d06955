/* radio.c - the simulated air: homes read from a scenario document
 * (docs/radio.md), their access points and provisioners, and the name
 * service of the simulated network. Devices ask it what they hear; the
 * per-device view (which network a device joined) lives in host.c. */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "device/port_host/internal.h"

#define SCENARIO_MAX_HOMES 10000
#define SCENARIO_MAX_APS 64

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Only the keys listed in `allowed` (space separated). */
static int only_keys(const json_t *obj, const char *allowed, const char *where, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t n = strlen(k);
        const char *p = allowed;
        int found = 0;
        while (!found && (p = strstr(p, k)) != NULL) {
            found = (p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0');
            p += n;
        }
        if (!found)
            return fail(err, errlen, "scenario: unknown key \"%s\" in %s", k, where);
    }
    return 0;
}

static int parse_band(const json_t *v, radio_band def, radio_band *out)
{
    if (!v) {
        *out = def;
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    if (!strcmp(s, "2.4"))
        *out = RADIO_BAND_24;
    else if (!strcmp(s, "5"))
        *out = RADIO_BAND_5;
    else if (!strcmp(s, "dual"))
        *out = RADIO_BAND_DUAL;
    else
        return -1;
    return 0;
}

static int parse_security(const char *s, wss_dev_security *out)
{
    if (!s)
        return -1;
    if (!strcmp(s, "OPEN"))
        *out = WSS_DEV_SEC_OPEN;
    else if (!strcmp(s, "WPA_PSK"))
        *out = WSS_DEV_SEC_WPA_PSK;
    else if (!strcmp(s, "WEP"))
        *out = WSS_DEV_SEC_WEP;
    else if (!strcmp(s, "OTHER"))
        *out = WSS_DEV_SEC_OTHER;
    else
        return -1;
    return 0;
}

static int bssid_valid(const char *s)
{
    if (!s || strlen(s) != 17)
        return 0;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int int_in(const json_t *v, long long lo, long long hi, long long def, long long *out)
{
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int parse_latency(const json_t *v, const radio_latency *def, radio_latency *out, const char *where, char *err,
                         size_t errlen)
{
    *out = *def;
    if (!v)
        return 0;
    if (!json_is_object(v) || only_keys(v, "scan probe join join_fail", where, err, errlen))
        return v && !json_is_object(v) ? fail(err, errlen, "scenario: %s must be an object", where) : -1;
    long long x;
    const char *names[] = {"scan", "probe", "join", "join_fail"};
    uint32_t *fields[] = {&out->scan, &out->probe, &out->join, &out->join_fail};
    for (int i = 0; i < 4; i++) {
        if (int_in(json_object_get(v, names[i]), 0, 600000, *fields[i], &x))
            return fail(err, errlen, "scenario: %s.%s must be 0..600000 milliseconds", where, names[i]);
        *fields[i] = (uint32_t)x;
    }
    return 0;
}

static int parse_ap(const json_t *v, radio_ap *ap, const char *where, char *err, size_t errlen)
{
    if (!json_is_object(v))
        return fail(err, errlen, "scenario: %s must be an object", where);
    if (only_keys(v, "ssid bssid security passphrase band channel rssi hidden refuses_join", where, err, errlen))
        return -1;
    const char *ssid = json_string_value(json_object_get(v, "ssid"));
    if (!ssid || !*ssid || strlen(ssid) > WSS_DEV_SSID_MAX)
        return fail(err, errlen, "scenario: %s.ssid must be 1..32 bytes", where);
    snprintf(ap->ssid, sizeof ap->ssid, "%s", ssid);
    const char *bssid = json_string_value(json_object_get(v, "bssid"));
    if (!bssid_valid(bssid))
        return fail(err, errlen, "scenario: %s.bssid must look like 02:00:00:00:00:01", where);
    snprintf(ap->bssid, sizeof ap->bssid, "%s", bssid);
    const char *sec = json_string_value(json_object_get(v, "security"));
    if (parse_security(sec ? sec : "WPA_PSK", &ap->security))
        return fail(err, errlen, "scenario: %s.security must be OPEN, WPA_PSK, WEP or OTHER", where);
    const char *pass = json_string_value(json_object_get(v, "passphrase"));
    if (ap->security == WSS_DEV_SEC_OPEN) {
        if (pass && *pass)
            return fail(err, errlen, "scenario: %s is OPEN and cannot have a passphrase", where);
        ap->passphrase[0] = '\0';
    } else {
        if (!pass || strlen(pass) < (ap->security == WSS_DEV_SEC_WPA_PSK ? 8u : 5u) ||
            strlen(pass) > WSS_DEV_WIFI_KEY_MAX - 1)
            return fail(err, errlen, "scenario: %s.passphrase must be 8..63 characters (WEP: 5..63)", where);
        snprintf(ap->passphrase, sizeof ap->passphrase, "%s", pass);
    }
    if (parse_band(json_object_get(v, "band"), RADIO_BAND_24, &ap->band) || ap->band == RADIO_BAND_DUAL)
        return fail(err, errlen, "scenario: %s.band must be \"2.4\" or \"5\"", where);
    long long ch, rssi;
    if (int_in(json_object_get(v, "channel"), 1, 196, ap->band == RADIO_BAND_24 ? 6 : 36, &ch) ||
        (ap->band == RADIO_BAND_24 && ch > 14) || (ap->band == RADIO_BAND_5 && ch < 32))
        return fail(err, errlen, "scenario: %s.channel is not a channel of its band", where);
    if (int_in(json_object_get(v, "rssi"), -100, 0, -50, &rssi))
        return fail(err, errlen, "scenario: %s.rssi must be -100..0 dBm", where);
    ap->channel = (int)ch;
    ap->rssi = (int)rssi;
    json_t *hidden = json_object_get(v, "hidden"), *refuses = json_object_get(v, "refuses_join");
    if ((hidden && !json_is_boolean(hidden)) || (refuses && !json_is_boolean(refuses)))
        return fail(err, errlen, "scenario: %s.hidden and .refuses_join are true or false", where);
    ap->hidden = json_is_true(hidden);
    ap->refuses_join = json_is_true(refuses);
    return 0;
}

static int parse_home(const json_t *v, radio_home *h, const radio_latency *deflat, size_t index, char *err,
                      size_t errlen)
{
    char where[96];
    snprintf(where, sizeof where, "homes[%zu]", index);
    if (!json_is_object(v))
        return fail(err, errlen, "scenario: %s must be an object", where);
    if (only_keys(v, "id access_points provisioner device_bands latency_ms", where, err, errlen))
        return -1;
    const char *id = json_string_value(json_object_get(v, "id"));
    if (!id || !*id || strlen(id) >= sizeof h->id)
        return fail(err, errlen, "scenario: %s.id must be 1..63 characters", where);
    snprintf(h->id, sizeof h->id, "%s", id);
    json_t *aps = json_object_get(v, "access_points");
    if (aps && (!json_is_array(aps) || json_array_size(aps) > SCENARIO_MAX_APS))
        return fail(err, errlen, "scenario: %s.access_points must be an array of at most 64", where);
    h->naps = aps ? json_array_size(aps) : 0;
    h->aps = calloc(h->naps ? h->naps : 1, sizeof *h->aps);
    if (!h->aps)
        return fail(err, errlen, "scenario: out of memory");
    for (size_t i = 0; i < h->naps; i++) {
        char apwhere[160];
        snprintf(apwhere, sizeof apwhere, "%s.access_points[%zu]", where, i);
        if (parse_ap(json_array_get(aps, i), &h->aps[i], apwhere, err, errlen))
            return -1;
    }
    json_t *p = json_object_get(v, "provisioner");
    if (p) {
        if (!json_is_object(p) || only_keys(p, "id online band rssi", where, err, errlen))
            return p && !json_is_object(p) ? fail(err, errlen, "scenario: %s.provisioner must be an object", where)
                                           : -1;
        const char *pid = json_string_value(json_object_get(p, "id"));
        if (!pid || !*pid || strlen(pid) >= sizeof h->provisioner_id)
            return fail(err, errlen, "scenario: %s.provisioner.id must be 1..63 characters", where);
        json_t *online = json_object_get(p, "online");
        long long rssi;
        if ((online && !json_is_boolean(online)) ||
            parse_band(json_object_get(p, "band"), RADIO_BAND_24, &h->provisioner_band) ||
            int_in(json_object_get(p, "rssi"), -100, 0, -40, &rssi))
            return fail(err, errlen,
                        "scenario: %s.provisioner: online is true or false, band \"2.4\", \"5\" or \"dual\", "
                        "rssi -100..0",
                        where);
        h->has_provisioner = 1;
        snprintf(h->provisioner_id, sizeof h->provisioner_id, "%s", pid);
        h->provisioner_online = online ? json_is_true(online) : 1;
        h->provisioner_rssi = (int)rssi;
    }
    json_t *bands = json_object_get(v, "device_bands");
    h->device_bands = RADIO_BAND_24;
    if (bands) {
        if (!json_is_array(bands) || json_array_size(bands) == 0)
            return fail(err, errlen, "scenario: %s.device_bands must be a non-empty array", where);
        h->device_bands = 0;
        size_t i;
        json_t *b;
        json_array_foreach(bands, i, b)
        {
            radio_band one;
            if (parse_band(b, RADIO_BAND_24, &one) || one == RADIO_BAND_DUAL)
                return fail(err, errlen, "scenario: %s.device_bands holds \"2.4\" and/or \"5\"", where);
            h->device_bands |= one;
        }
    }
    char latwhere[128];
    snprintf(latwhere, sizeof latwhere, "%s.latency_ms", where);
    return parse_latency(json_object_get(v, "latency_ms"), deflat, &h->latency, latwhere, err, errlen);
}

static int parse_hosts(wss_radio *r, const char *const *hosts, char *err, size_t errlen)
{
    size_t n = 0;
    while (hosts && hosts[n])
        n++;
    r->hosts = calloc(n ? n : 1, sizeof *r->hosts);
    if (!r->hosts)
        return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(hosts[i], '=');
        const char *colon = eq ? memchr(hosts[i], ':', (size_t)(eq - hosts[i])) : NULL;
        radio_host_entry *e = &r->hosts[i];
        if (!eq || !colon || (size_t)(colon - hosts[i]) >= sizeof e->name || strlen(eq + 1) >= sizeof e->address ||
            !strchr(eq + 1, ':'))
            return fail(err, errlen, "name service entry \"%s\" is not name:port=address:port", hosts[i]);
        memcpy(e->name, hosts[i], (size_t)(colon - hosts[i]));
        e->name[colon - hosts[i]] = '\0';
        e->port = atoi(colon + 1);
        if (e->port <= 0 || e->port > 65535)
            return fail(err, errlen, "name service entry \"%s\" has a bad port", hosts[i]);
        snprintf(e->address, sizeof e->address, "%s", eq + 1);
    }
    r->nhosts = n;
    return 0;
}

wss_err wss_radio_new(const wss_radio_options *opts, wss_radio **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!opts || !opts->scenario_json) {
        snprintf(err, errlen, "a scenario is required");
        return WSS_ERR_INVALID;
    }
    json_t *doc = wss_json_parse_object(opts->scenario_json, strlen(opts->scenario_json), err, errlen);
    if (!doc)
        return WSS_ERR_INVALID;
    wss_radio *r = calloc(1, sizeof *r);
    if (!r) {
        json_decref(doc);
        return WSS_ERR_NOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->probe = opts->probe;
    r->probe_ctx = opts->probe_ctx;
    radio_latency deflat = {.scan = 2000, .probe = 300, .join = 1500, .join_fail = 5000};
    json_t *homes = json_object_get(doc, "homes");
    int bad = only_keys(doc, "homes latency_ms", "the scenario", err, errlen) ||
              parse_latency(json_object_get(doc, "latency_ms"), &deflat, &deflat, "latency_ms", err, errlen) ||
              parse_hosts(r, opts->hosts, err, errlen);
    if (!bad && (!json_is_array(homes) || json_array_size(homes) == 0 || json_array_size(homes) > SCENARIO_MAX_HOMES))
        bad = fail(err, errlen, "scenario: \"homes\" must be an array of 1..10000 homes");
    if (!bad) {
        r->nhomes = json_array_size(homes);
        r->homes = calloc(r->nhomes, sizeof *r->homes);
        if (!r->homes)
            bad = fail(err, errlen, "out of memory");
    }
    for (size_t i = 0; !bad && i < r->nhomes; i++) {
        bad = parse_home(json_array_get(homes, i), &r->homes[i], &deflat, i, err, errlen);
        for (size_t j = 0; !bad && j < i; j++) {
            if (!strcmp(r->homes[j].id, r->homes[i].id))
                bad = fail(err, errlen, "scenario: two homes are called \"%s\"", r->homes[i].id);
        }
        if (!bad && r->homes[i].has_provisioner && !r->probe)
            bad = fail(err, errlen,
                       "scenario: home \"%s\" has a provisioner but the radio has no provisioner "
                       "link",
                       r->homes[i].id);
    }
    json_decref(doc);
    if (bad) {
        wss_radio_free(r);
        return WSS_ERR_INVALID;
    }
    *out = r;
    return WSS_OK;
}

void wss_radio_free(wss_radio *radio)
{
    if (!radio)
        return;
    for (size_t i = 0; i < radio->nhomes; i++) {
        free(radio->homes[i].aps);
        free(radio->homes[i].fallback_ssids);
    }
    free(radio->homes);
    free(radio->hosts);
    pthread_mutex_destroy(&radio->lock);
    free(radio);
}

size_t wss_radio_homes(const wss_radio *radio) { return radio->nhomes; }

const char *wss_radio_home_id(const wss_radio *radio, size_t i) { return i < radio->nhomes ? radio->homes[i].id : ""; }

radio_home *radio_home_find(wss_radio *radio, const char *home_id)
{
    for (size_t i = 0; home_id && i < radio->nhomes; i++) {
        if (!strcmp(radio->homes[i].id, home_id))
            return &radio->homes[i];
    }
    return NULL;
}

void radio_lock(wss_radio *radio) { pthread_mutex_lock(&radio->lock); }
void radio_unlock(wss_radio *radio) { pthread_mutex_unlock(&radio->lock); }

int radio_frequency(radio_band band, int channel)
{
    if (band == RADIO_BAND_24)
        return channel == 14 ? 2484 : 2407 + 5 * channel;
    return 5000 + 5 * channel;
}

const char *radio_resolve(const wss_radio *radio, const char *name, int port)
{
    for (size_t i = 0; i < radio->nhosts; i++) {
        if (radio->hosts[i].port == port && !strcmp(radio->hosts[i].name, name))
            return radio->hosts[i].address;
    }
    return NULL;
}

void radio_add_fallback_ap(wss_radio *radio, radio_home *home, const char *ssid)
{
    radio_lock(radio);
    if (home->nfallback == home->capfallback) {
        size_t cap = home->capfallback ? home->capfallback * 2 : 8;
        char(*grown)[40] = realloc(home->fallback_ssids, cap * sizeof *grown);
        if (!grown) {
            radio_unlock(radio);
            return;
        }
        home->fallback_ssids = grown;
        home->capfallback = cap;
    }
    snprintf(home->fallback_ssids[home->nfallback++], 40, "%s", ssid);
    radio_unlock(radio);
}

int wss_radio_ssid_visible(wss_radio *radio, const char *home_id, const char *ssid)
{
    radio_home *h = radio_home_find(radio, home_id);
    if (!h || !ssid)
        return 0;
    int seen = 0;
    radio_lock(radio);
    for (size_t i = 0; !seen && i < h->naps; i++)
        seen = !h->aps[i].hidden && !strcmp(h->aps[i].ssid, ssid);
    for (size_t i = 0; !seen && i < h->nfallback; i++)
        seen = !strcmp(h->fallback_ssids[i], ssid);
    radio_unlock(radio);
    return seen;
}

wss_err wss_radio_set_provisioner_online(wss_radio *radio, const char *home_id, int online)
{
    radio_home *h = radio_home_find(radio, home_id);
    if (!h || !h->has_provisioner)
        return WSS_ERR_NOT_FOUND;
    radio_lock(radio);
    h->provisioner_online = online != 0;
    radio_unlock(radio);
    return WSS_OK;
}

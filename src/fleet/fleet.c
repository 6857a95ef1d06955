/* fleet.c - a simulated fleet doing Zero Touch Setup (see wss/fleet.h).
 *
 * The order of the world: the maker's device CA first (the emulator's DSS
 * trusts it from its start), then the emulator, then the cloud (which needs
 * the emulator's LWA and gateway URLs; the skill's endpoint is pointed at the
 * cloud once it listens), the customer's account linking, the provisioners
 * of the homes, the devices (issued with the emulator's DSS key, their
 * control log imported, sold), the fault profile; then the run. */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/file.h"
#include "common/httpc.h"
#include "sim/client.h"
#include "wss/cloud.h"
#include "wss/fleet.h"
#include "wss/mfg.h"
#include "wss/sim.h"

#define FLEET_MAX_DEVICES 100000
#define FLEET_CLIENT_ID "amzn1.application-oa2-client.openwss-demo"
#define FLEET_SECRET_ENV "WSS_FLEET_SKILL_SECRET"
#define FLEET_MAKER_USER "demo-customer"
#define FLEET_HOME_KEY "demo-home-passphrase"
#define FLEET_PRODUCT_INDEX "Dm01"
#define FLEET_ALEXA_WAIT_S 60.0
#define FLEET_GRANT_WAIT_S 15.0
/* Devices per household in the built-in homes: Alexa lists at most 300
 * endpoints per customer, and a home has a few dozen devices at most. */
#define FLEET_HOUSEHOLD_DEVICES 25

typedef struct profile {
    const char *name;
    const char *summary;
    double dss_5xx, gateway_5xx;   /* rates of injected 503s, which devices and the cloud retry */
    double offline_home, far_home; /* shares of devices in the two harder homes */
} profile;

static const profile profiles[] = {
    {"none", "no faults", 0, 0, 0, 0},
    {"flaky", "503 on 5 % of DSS calls and of gateway events; retries recover them", 0.05, 0.05, 0, 0},
    {"harsh", "flaky, plus 8 % of devices in a home whose Echo is offline and 5 % where no locker network is in range",
     0.05, 0.05, 0.08, 0.05},
};

const char *wss_fleet_profile_name(size_t i)
{
    return i < sizeof profiles / sizeof *profiles ? profiles[i].name : NULL;
}

const char *wss_fleet_profile_summary(size_t i)
{
    return i < sizeof profiles / sizeof *profiles ? profiles[i].summary : NULL;
}

typedef struct slot {
    wss_fleet_device pub;
    wss_fleet_plan plan;
    char home[64];
} slot;

struct wss_fleet {
    wss_fleet_options o;
    const profile *prof;
    char root[PATH_MAX];
    char mfg_dir[PATH_MAX];
    char ca_bundle[PATH_MAX];
    char *scenario;
    unsigned households;            /* customers with a home each (1 with a scenario of the caller's) */
    char (*household_home)[32];     /* "home", "home-2", ... */
    char (*household_customer)[64]; /* WSS_FLEET_CUSTOMER_ID, then WSS_FLEET_CUSTOMER_ID "-2", ... */
    json_t *home_owner;             /* home id -> customer id */
    wss_sim *sim;
    wss_cloud *cloud;
    sim_client client;
    int client_loaded;
    wss_radio *radio;
    slot *slots;
    atomic_uint next, finished, reported;
    char cloud_host[64];
    int cloud_port;
    char dss_address[64];
    char dss_host[256];
    double wall_s;
};

static void progress(wss_fleet *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(wss_fleet *f, const char *fmt, ...)
{
    if (!f->o.progress)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    f->o.progress(f->o.progress_ctx, line);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int path_join(char *out, size_t cap, const char *a, const char *b)
{
    return snprintf(out, cap, "%s/%s", a, b) < (int)cap ? 0 : -1;
}

static int write_json(const char *path, json_t *doc, char *err, size_t errlen)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    wss_err rc = text ? wss_write_file_atomic(path, text, strlen(text), 0600) : WSS_ERR_NOMEM;
    free(text);
    if (rc != WSS_OK)
        snprintf(err, errlen, "cannot write %s: %s", path, wss_strerror(rc));
    return rc == WSS_OK ? 0 : -1;
}

int wss_fleet_control(wss_fleet *f, const char *method, const char *path, const json_t *body, json_t **answer)
{
    char why[256];
    return sim_client_control(&f->client, method, path, body, answer, why, sizeof why);
}

/* Calls the control API, steals body, and checks the status. */
static int control(wss_fleet *f, const char *method, const char *path, json_t *body, int expect, json_t **out,
                   char *err, size_t errlen)
{
    json_t *answer = NULL;
    char why[512] = "";
    int status = sim_client_control(&f->client, method, path, body, &answer, why, sizeof why);
    json_decref(body);
    if (status != expect) {
        const char *msg = json_string_value(json_object_get(answer, "error"));
        snprintf(err, errlen, "%s /control/v1%s: %d %s", method, path, status, msg ? msg : why);
        json_decref(answer);
        return -1;
    }
    if (out)
        *out = answer;
    else
        json_decref(answer);
    return 0;
}

/* --- the built-in homes --- */

static json_t *ap(const char *ssid, const char *bssid, const char *security, const char *pass, const char *band,
                  int channel, int rssi, int hidden)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:b}", "ssid", ssid, "bssid", bssid, "security", security,
                          "band", band, "channel", channel, "rssi", rssi, "hidden", hidden);
    if (a && pass)
        json_object_set_new(a, "passphrase", json_string(pass));
    return a;
}

/* The households' homes (each: the Echo online on 2.4 GHz; the home
 * network in the locker; its 5 GHz twin the devices cannot hear; a hidden
 * lab network; a neighbour's), a home like them whose Echo is offline, and a
 * cottage where no locker network is in range (both the first household's). */
static char *default_scenario(const wss_fleet *f)
{
    json_t *home_aps = json_pack(
        "[o, o, o, o]", ap(WSS_FLEET_HOME_SSID, "02:00:00:00:01:01", "WPA_PSK", FLEET_HOME_KEY, "2.4", 6, -48, 0),
        ap(WSS_FLEET_HOME_SSID " 5G", "02:00:00:00:01:02", "WPA_PSK", FLEET_HOME_KEY, "5", 36, -55, 0),
        ap("Demo Lab", "02:00:00:00:01:03", "WPA_PSK", "lab-network-key", "2.4", 11, -60, 1),
        ap("Neighbour", "02:00:00:00:02:01", "WPA_PSK", "not-our-business", "2.4", 1, -78, 0));
    json_t *cottage_aps = json_pack("[o]", ap("Cafe Guest", "02:00:00:00:03:01", "OPEN", NULL, "2.4", 1, -70, 0));
    json_t *homes = json_array();
    for (unsigned h = 0; homes && h < f->households; h++) {
        char echo[48];
        snprintf(echo, sizeof echo, "echo-%s", f->household_home[h]);
        json_array_append_new(homes,
                              json_pack("{s:s, s:O, s:{s:s, s:b, s:s}}", "id", f->household_home[h], "access_points",
                                        home_aps, "provisioner", "id", echo, "online", 1, "band", "2.4"));
    }
    json_array_append_new(homes, json_pack("{s:s, s:O, s:{s:s, s:b, s:s}}", "id", "home-echo-offline", "access_points",
                                           home_aps, "provisioner", "id", "echo-offline", "online", 0, "band", "2.4"));
    json_array_append_new(homes,
                          json_pack("{s:s, s:O, s:{s:s, s:b, s:s}}", "id", "cottage", "access_points", cottage_aps,
                                    "provisioner", "id", "echo-cottage", "online", 1, "band", "2.4"));
    json_t *doc = json_pack("{s:{s:i, s:i, s:i, s:i}, s:o}", "latency_ms", "scan", 2200, "probe", 300, "join", 1800,
                            "join_fail", 6000, "homes", homes);
    json_decref(home_aps);
    json_decref(cottage_aps);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    return text;
}

/* Households, and who owns each home of the scenario: a home with a
 * provisioner whose id starts with "neighbour-" is the other customer's; the
 * built-in households' homes are theirs; any other home is the first
 * household's. */
static int plan_households(wss_fleet *f)
{
    f->households = f->o.scenario_json ? 1 : (f->o.devices + FLEET_HOUSEHOLD_DEVICES - 1) / FLEET_HOUSEHOLD_DEVICES;
    f->household_home = calloc(f->households, sizeof *f->household_home);
    f->household_customer = calloc(f->households, sizeof *f->household_customer);
    f->home_owner = json_object();
    if (!f->household_home || !f->household_customer || !f->home_owner)
        return -1;
    for (unsigned h = 0; h < f->households; h++) {
        if (h == 0) {
            snprintf(f->household_home[h], sizeof f->household_home[h], "home");
            snprintf(f->household_customer[h], sizeof f->household_customer[h], "%s", WSS_FLEET_CUSTOMER_ID);
        } else {
            snprintf(f->household_home[h], sizeof f->household_home[h], "home-%u", h + 1);
            snprintf(f->household_customer[h], sizeof f->household_customer[h], "%s-%u", WSS_FLEET_CUSTOMER_ID, h + 1);
        }
        json_object_set_new(f->home_owner, f->household_home[h], json_string(f->household_customer[h]));
    }
    return 0;
}

/* Homes whose provisioner's id starts with "neighbour-" belong to the other customer. */
static int map_neighbours(wss_fleet *f)
{
    json_t *doc = json_loads(f->scenario, 0, NULL);
    size_t i;
    json_t *home;
    json_array_foreach(json_object_get(doc, "homes"), i, home)
    {
        const char *id = json_string_value(json_object_get(json_object_get(home, "provisioner"), "id"));
        const char *home_id = json_string_value(json_object_get(home, "id"));
        if (id && home_id && !strncmp(id, "neighbour-", 10))
            json_object_set_new(f->home_owner, home_id, json_string(WSS_FLEET_OTHER_CUSTOMER_ID));
    }
    int ok = doc != NULL;
    json_decref(doc);
    return ok ? 0 : -1;
}

static const char *home_owner(const wss_fleet *f, const char *home)
{
    const char *o = json_string_value(json_object_get(f->home_owner, home ? home : ""));
    return o ? o : WSS_FLEET_CUSTOMER_ID;
}

/* --- building the world --- */

static int make_device_ca(wss_fleet *f, char *err, size_t errlen)
{
    wss_mfg_init_options io = {.dir = f->mfg_dir,
                               .manufacturer = "openwss demo",
                               .product_index = FLEET_PRODUCT_INDEX,
                               .model = "Demo Switch"};
    return wss_mfg_init(&io, err, errlen) == WSS_OK ? 0 : -1;
}

static int start_emulator(wss_fleet *f, char *err, size_t errlen)
{
    char config_path[PATH_MAX], sim_dir[PATH_MAX], dak[PATH_MAX];
    if (path_join(config_path, sizeof config_path, f->root, "sim.json") ||
        path_join(sim_dir, sizeof sim_dir, f->root, "sim") ||
        path_join(dak, sizeof dak, f->mfg_dir, "dak_certificate.pem")) {
        snprintf(err, errlen, "state directory path too long");
        return -1;
    }
    char *secret = wss_random_token("", 24);
    int set = secret && setenv(FLEET_SECRET_ENV, secret, 1) == 0;
    free(secret);
    if (!set) {
        snprintf(err, errlen, "cannot make the skill's client secret");
        return -1;
    }
    /* The skill's endpoint is the cloud's, known once the cloud listens. */
    json_t *locker =
        json_pack("[{s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:i}]", "ssid", WSS_FLEET_HOME_SSID,
                  "securityProtocol", "WPA_PSK", "key", FLEET_HOME_KEY, "priority", 1, "ssid",
                  WSS_FLEET_HOME_SSID " 5G", "securityProtocol", "WPA_PSK", "key", FLEET_HOME_KEY, "priority", 2,
                  "ssid", "Demo Lab", "securityProtocol", "WPA_PSK", "key", "lab-network-key", "priority", 3);
    json_t *customers = json_array();
    for (unsigned h = 0; locker && customers && h < f->households; h++) {
        char name[64];
        snprintf(name, sizeof name, "Demo Customer %u", h + 1);
        json_array_append_new(customers, json_pack("{s:s, s:s, s:O}", "customer_id", f->household_customer[h], "name",
                                                   name, "wifi", locker));
    }
    json_decref(locker);
    json_array_append_new(customers,
                          json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:i}]}", "customer_id", WSS_FLEET_OTHER_CUSTOMER_ID,
                                    "name", "Neighbour", "wifi", "ssid", "Neighbour", "securityProtocol", "WPA_PSK",
                                    "key", "not-our-business", "priority", 1));
    json_t *config =
        json_pack("{s:{s:f, s:i}, s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:f, s:i}}], s:o, s:{s:[s]}}",
                  "default_rate_limit", "per_second", 100000.0, "burst", 100000, "skills", "skill_id",
                  WSS_FLEET_SKILL_ID, "client_id", FLEET_CLIENT_ID, "client_secret_env", FLEET_SECRET_ENV, "endpoint",
                  "https://127.0.0.1:9/alexa/skill", "stage", "live", "marketplace", "US", "rate_limit", "per_second",
                  100000.0, "burst", 100000, "customers", customers, "dss", "device_ca_files", dak);
    if (!config) {
        snprintf(err, errlen, "cannot build the emulator's configuration");
        return -1;
    }
    if (write_json(config_path, config, err, errlen))
        return -1;
    wss_sim_options so = {.state_dir = sim_dir, .listen = "127.0.0.1:0", .config_path = config_path};
    if (wss_sim_start(&so, &f->sim, err, errlen) != WSS_OK)
        return -1;
    if (sim_client_load(&f->client, sim_dir, 0, err, errlen) != WSS_OK)
        return -1;
    f->client_loaded = 1;
    const char *dss_url = json_string_value(json_object_get(f->client.credentials, "dss_url"));
    const char *dss_host = json_string_value(json_object_get(f->client.credentials, "dss_host"));
    if (!dss_url || strncmp(dss_url, "https://", 8) || strlen(dss_url + 8) >= sizeof f->dss_address || !dss_host ||
        strlen(dss_host) >= sizeof f->dss_host) {
        snprintf(err, errlen, "the emulator's credentials.json names no DSS (dss_url, dss_host)");
        return -1;
    }
    snprintf(f->dss_address, sizeof f->dss_address, "%s", dss_url + 8);
    snprintf(f->dss_host, sizeof f->dss_host, "%s", dss_host);
    return 0;
}

/* Concatenates two PEM files into out. */
static int concat_files(const char *a_path, const char *b_path, const char *out)
{
    char *a = NULL, *b = NULL, *both = NULL;
    size_t la = 0, lb = 0;
    wss_err rc = wss_read_file(a_path, 1 << 20, &a, &la);
    if (rc == WSS_OK)
        rc = wss_read_file(b_path, 1 << 20, &b, &lb);
    if (rc == WSS_OK && !(both = malloc(la + lb + 2)))
        rc = WSS_ERR_NOMEM;
    if (rc == WSS_OK) {
        memcpy(both, a, la);
        both[la] = '\n';
        memcpy(both + la + 1, b, lb);
        rc = wss_write_file_atomic(out, both, la + lb + 1, 0644);
    }
    free(a);
    free(b);
    free(both);
    return rc == WSS_OK ? 0 : -1;
}

static int start_cloud(wss_fleet *f, char *err, size_t errlen)
{
    char config_path[PATH_MAX], cloud_dir[PATH_MAX], dak[PATH_MAX], cloud_ca[PATH_MAX];
    if (path_join(config_path, sizeof config_path, f->root, "cloud.json") ||
        path_join(cloud_dir, sizeof cloud_dir, f->root, "cloud") ||
        path_join(dak, sizeof dak, f->mfg_dir, "dak_certificate.pem") ||
        path_join(cloud_ca, sizeof cloud_ca, cloud_dir, "ca.pem") ||
        path_join(f->ca_bundle, sizeof f->ca_bundle, f->root, "device-trust.pem")) {
        snprintf(err, errlen, "state directory path too long");
        return -1;
    }
    const json_t *creds = f->client.credentials;
    const char *lwa = json_string_value(json_object_get(creds, "lwa_token_url"));
    const char *gateway = json_string_value(json_object_get(creds, "event_gateway_url"));
    if (!lwa || !gateway) {
        snprintf(err, errlen, "the emulator's credentials.json lacks lwa_token_url or event_gateway_url");
        return -1;
    }
    json_t *config =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "listen", "127.0.0.1:0", "state_dir", cloud_dir,
                  "lwa_client_id", FLEET_CLIENT_ID, "lwa_token_url", lwa, "gateway_url", gateway,
                  "lwa_client_secret_env", FLEET_SECRET_ENV, "outbound_ca_file", f->client.ca_file, "device_ca_file",
                  dak, "manufacturer_name", "openwss demo", "retry_delay_ms", 200);
    if (write_json(config_path, config, err, errlen))
        return -1;
    wss_cloud_options co = {.config_path = config_path};
    if (wss_cloud_start(&co, &f->cloud, err, errlen) != WSS_OK)
        return -1;
    const char *url = wss_cloud_base_url(f->cloud);
    const char *colon = strrchr(url, ':');
    if (strncmp(url, "https://", 8) || !colon || (size_t)(colon - url - 8) >= sizeof f->cloud_host) {
        snprintf(err, errlen, "unexpected cloud address %s", url);
        return -1;
    }
    memcpy(f->cloud_host, url + 8, (size_t)(colon - url - 8));
    f->cloud_host[colon - url - 8] = '\0';
    f->cloud_port = atoi(colon + 1);

    /* Alexa calls the skill at the cloud, trusting the cloud's CA. */
    char endpoint[600], path[300];
    snprintf(endpoint, sizeof endpoint, "%s/alexa/skill", url);
    snprintf(path, sizeof path, "/skills/%s", WSS_FLEET_SKILL_ID);
    if (control(f, "PATCH", path, json_pack("{s:s, s:s}", "endpoint", endpoint, "endpoint_ca_file", cloud_ca), 200,
                NULL, err, errlen))
        return -1;
    if (concat_files(f->client.ca_file, cloud_ca, f->ca_bundle)) {
        snprintf(err, errlen, "cannot write the devices' trust bundle %s", f->ca_bundle);
        return -1;
    }
    return 0;
}

/* The customer links the skill in the maker's app: the maker's token for the
 * customer goes to Alexa's Skill Activation; the emulator then sends
 * AcceptGrant to the cloud. Waits for the cloud's answer. */
static int link_customers(wss_fleet *f, char *err, size_t errlen)
{
    char path[400];
    for (unsigned h = 0; h < f->households; h++) {
        char user[64];
        snprintf(user, sizeof user, "%s-%u", FLEET_MAKER_USER, h + 1);
        char *token = NULL;
        if (wss_cloud_user_token(f->cloud, user, 24 * 3600, &token) != WSS_OK) {
            snprintf(err, errlen, "the cloud cannot make the customer's token");
            return -1;
        }
        snprintf(path, sizeof path, "/customers/%s/skills/%s", f->household_customer[h], WSS_FLEET_SKILL_ID);
        int rc = control(f, "PUT", path, json_pack("{s:s}", "access_token", token), 200, NULL, err, errlen);
        memset(token, 0, strlen(token));
        free(token);
        if (rc)
            return -1;
    }
    double deadline = mono_s() + FLEET_GRANT_WAIT_S;
    snprintf(path, sizeof path, "/skills/%s/requests", WSS_FLEET_SKILL_ID);
    for (;;) {
        json_t *r = NULL;
        if (control(f, "GET", path, NULL, 200, &r, err, errlen))
            return -1;
        long long ok = json_integer_value(json_object_get(r, "ok"));
        long long bad = json_integer_value(json_object_get(r, "errors")) +
                        json_integer_value(json_object_get(r, "invalid_responses"));
        json_decref(r);
        if (ok >= (long long)f->households)
            return 0;
        if (bad > 0 || mono_s() > deadline) {
            snprintf(err, errlen, "the cloud did not accept the grants (AcceptGrant %s)",
                     bad ? "was answered with an error" : "had no answer in 15 s");
            return -1;
        }
        sleep_ms(50);
    }
}

/* Registers every home's provisioner with the emulator. */
static int provisioners(wss_fleet *f, char *err, size_t errlen)
{
    json_t *doc = json_loads(f->scenario, 0, NULL);
    size_t i;
    json_t *home;
    int rc = doc ? 0 : -1;
    json_array_foreach(json_object_get(doc, "homes"), i, home)
    {
        json_t *p = json_object_get(home, "provisioner");
        const char *id = json_string_value(json_object_get(p, "id"));
        if (!id || rc)
            continue;
        json_t *online = json_object_get(p, "online");
        const char *band = json_string_value(json_object_get(p, "band"));
        const char *owner = home_owner(f, json_string_value(json_object_get(home, "id")));
        rc = control(f, "POST", "/provisioners",
                     json_pack("{s:s, s:s, s:b, s:s}", "provisioner_id", id, "customer_id", owner, "online",
                               online ? json_is_true(online) : 1, "band", band ? band : "2.4"),
                     201, NULL, err, errlen);
    }
    json_decref(doc);
    if (!doc)
        snprintf(err, errlen, "the scenario is not JSON");
    return rc;
}

static int issue_and_sell(wss_fleet *f, char *err, size_t errlen)
{
    const char *dss_key = json_string_value(json_object_get(f->client.credentials, "dss_public_key"));
    if (!dss_key) {
        snprintf(err, errlen, "the emulator's credentials.json has no dss_public_key");
        return -1;
    }
    for (unsigned done = 0; done < f->o.devices;) {
        unsigned batch = f->o.devices - done > WSS_MFG_BATCH_MAX ? WSS_MFG_BATCH_MAX : f->o.devices - done;
        wss_mfg_issue_options opts = {.dir = f->mfg_dir,
                                      .count = batch,
                                      .serial_prefix = "DEMO-",
                                      .dss_public_key = dss_key,
                                      .dss_host = f->dss_host,
                                      .upc = "036000291452"};
        wss_mfg_issued issued = {0};
        if (wss_mfg_issue(&opts, &issued, err, errlen) != WSS_OK)
            return -1;
        for (unsigned i = 0; i < issued.count; i++) {
            wss_fleet_device *d = &f->slots[done + i].pub;
            snprintf(d->dsn, sizeof d->dsn, "%s", issued.dsns[i]);
            if (snprintf(d->bundle_dir, sizeof d->bundle_dir, "%.3900s/devices/%s", f->mfg_dir, d->dsn) >=
                (int)sizeof d->bundle_dir) {
                snprintf(err, errlen, "state directory path too long");
                wss_mfg_issued_free(&issued);
                return -1;
            }
        }
        done += issued.count;
        wss_mfg_issued_free(&issued);
    }
    /* The control log registers the keys with Amazon. */
    char log_path[PATH_MAX];
    char *log = NULL;
    size_t len = 0;
    if (path_join(log_path, sizeof log_path, f->mfg_dir, "control-log.jsonl") ||
        wss_read_file(log_path, 256u << 20, &log, &len) != WSS_OK) {
        snprintf(err, errlen, "cannot read the control log");
        return -1;
    }
    wss_httpc_response resp;
    char why[256];
    int status = sim_client_post(&f->client, "/control/v1/devices/import", f->client.control_token,
                                 "application/x-ndjson", log, len, &resp, why, sizeof why);
    free(log);
    if (status < 0) {
        snprintf(err, errlen, "importing the control log: %s", why);
        return -1;
    }
    if (status != 200 && status != 201) {
        snprintf(err, errlen, "importing the control log: %d %.300s", status, resp.body ? resp.body : "");
        wss_httpc_response_free(&resp);
        return -1;
    }
    wss_httpc_response_free(&resp);
    /* The package barcode scan at fulfilment records each purchase. */
    for (unsigned i = 0; i < f->o.devices; i++) {
        slot *s = &f->slots[i];
        if (s->plan.buyer &&
            control(f, "POST", "/purchases", json_pack("{s:s, s:s}", "dsn", s->pub.dsn, "customer_id", s->plan.buyer),
                    201, NULL, err, errlen))
            return -1;
    }
    return 0;
}

static int inject_faults(wss_fleet *f, char *err, size_t errlen)
{
    const profile *p = f->prof;
    if (p->dss_5xx > 0 &&
        control(f, "POST", "/faults", json_pack("{s:s, s:i, s:f}", "route", "dss", "status", 503, "rate", p->dss_5xx),
                201, NULL, err, errlen))
        return -1;
    if (p->gateway_5xx > 0 &&
        control(f, "POST", "/faults",
                json_pack("{s:s, s:i, s:f}", "route", "events", "status", 503, "rate", p->gateway_5xx), 201, NULL, err,
                errlen))
        return -1;
    return 0;
}

static void plan_devices(wss_fleet *f)
{
    uint64_t s = f->o.seed * 0x9E3779B97F4A7C15ULL + 1;
    const profile *p = f->prof;
    for (unsigned i = 0; i < f->o.devices; i++) {
        slot *sl = &f->slots[i];
        double x = (double)(rng_next(&s) >> 11) / 9007199254740992.0;
        unsigned h = f->o.scenario_json ? 0 : i / FLEET_HOUSEHOLD_DEVICES;
        sl->plan.home = x < p->offline_home                 ? "home-echo-offline"
                        : x < p->offline_home + p->far_home ? "cottage"
                                                            : f->household_home[h];
        sl->plan.buyer = home_owner(f, sl->plan.home);
        sl->plan.naming_category = "SWITCH";
        wss_dev_policy_default(&sl->plan.policy);
        if (f->o.plan)
            f->o.plan(f->o.plan_ctx, i, &sl->plan);
        snprintf(sl->home, sizeof sl->home, "%s", sl->plan.home ? sl->plan.home : "");
        sl->pub.home = sl->home;
    }
}

/* The provisioners live in the emulator, which runs in this process. */
static int probe_link(void *ctx, const char *provisioner_id, const char *ssid, char *passphrase, size_t plen, char *dsn,
                      size_t dlen)
{
    wss_fleet *f = ctx;
    return wss_sim_provisioner_probe(f->sim, provisioner_id, ssid, passphrase, plen, dsn, dlen);
}

wss_err wss_fleet_start(const wss_fleet_options *opts, wss_fleet **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!opts || !opts->state_dir || opts->devices == 0 || opts->devices > FLEET_MAX_DEVICES) {
        snprintf(err, errlen, "a state directory and 1..%d devices are required", FLEET_MAX_DEVICES);
        return WSS_ERR_INVALID;
    }
    const profile *prof = NULL;
    const char *name = opts->faults ? opts->faults : "none";
    for (size_t i = 0; i < sizeof profiles / sizeof *profiles; i++) {
        if (!strcmp(profiles[i].name, name))
            prof = &profiles[i];
    }
    if (!prof) {
        snprintf(err, errlen, "unknown fault profile \"%s\" (none, flaky, harsh)", name);
        return WSS_ERR_INVALID;
    }
    wss_fleet *f = calloc(1, sizeof *f);
    if (!f)
        return WSS_ERR_NOMEM;
    f->o = *opts;
    f->prof = prof;
    if (snprintf(f->root, sizeof f->root, "%s", opts->state_dir) >= (int)sizeof f->root ||
        path_join(f->mfg_dir, sizeof f->mfg_dir, f->root, "mfg")) {
        snprintf(err, errlen, "state directory path too long");
        free(f);
        return WSS_ERR_INVALID;
    }
    if (wss_mkdir(f->root) != WSS_OK) {
        snprintf(err, errlen, "cannot create the state directory %s (it must not exist)", f->root);
        free(f);
        return WSS_ERR_IO;
    }
    f->slots = calloc(opts->devices, sizeof *f->slots);
    if (plan_households(f) != 0) {
        snprintf(err, errlen, "out of memory");
        wss_fleet_stop(f);
        return WSS_ERR_NOMEM;
    }
    f->scenario = opts->scenario_json ? strdup(opts->scenario_json) : default_scenario(f);
    char scenario_path[PATH_MAX];
    if (!f->slots || !f->scenario || map_neighbours(f) != 0 ||
        path_join(scenario_path, sizeof scenario_path, f->root, "scenario.json") ||
        wss_write_file_atomic(scenario_path, f->scenario, strlen(f->scenario), 0644) != WSS_OK) {
        snprintf(err, errlen, "cannot write the scenario");
        wss_fleet_stop(f);
        return WSS_ERR_IO;
    }
    plan_devices(f);

    int bad = 0;
    progress(f, "manufacturing line: the device CA (DAK)");
    bad = make_device_ca(f, err, errlen);
    if (!bad) {
        progress(f, "starting the emulator (LWA, DSS, event gateway) and the cloud on 127.0.0.1");
        bad = start_emulator(f, err, errlen) || start_cloud(f, err, errlen);
    }
    if (!bad) {
        progress(f, "%u customer%s link the skill (AcceptGrant to the cloud); Echo devices registered", f->households,
                 f->households == 1 ? "" : "s");
        bad = link_customers(f, err, errlen) || provisioners(f, err, errlen);
    }
    if (!bad) {
        progress(f, "manufacturing %u devices; control log imported; sold to the customers", f->o.devices);
        bad = issue_and_sell(f, err, errlen) || inject_faults(f, err, errlen);
    }
    if (!bad) {
        char dss443[600], dss8888[600];
        snprintf(dss443, sizeof dss443, "%s:443=%s", f->dss_host, f->dss_address);
        snprintf(dss8888, sizeof dss8888, "%s:8888=%s", f->dss_host, f->dss_address);
        const char *hosts[] = {dss443, dss8888, NULL};
        wss_radio_options ro = {.scenario_json = f->scenario, .probe = probe_link, .probe_ctx = f, .hosts = hosts};
        bad = wss_radio_new(&ro, &f->radio, err, errlen) != WSS_OK;
    }
    if (bad) {
        wss_fleet_stop(f);
        return WSS_ERR_INVALID;
    }
    *out = f;
    return WSS_OK;
}

/* --- the run --- */

static void run_one(wss_fleet *f, slot *s)
{
    wss_fleet_device *d = &s->pub;
    char err[256] = "";
    wss_dev_host_options ho = {.bundle_dir = d->bundle_dir,
                               .ca_file = f->ca_bundle,
                               .radio = f->radio,
                               .home_id = s->home,
                               .log_level = WSS_DEV_LOG_OFF, /* outcomes are in the results */
                               .seed = f->o.seed * 1000003u + (uint64_t)(s - f->slots) + 1};
    wss_dev_host *host = NULL;
    if (wss_dev_host_new(&ho, &host, err, sizeof err) != WSS_OK) {
        d->result.fail = WSS_DEV_FAIL_PORT;
        snprintf(d->result.detail, sizeof d->result.detail, "%.150s", err);
        return;
    }
    wss_dev_config cfg = {.policy = s->plan.policy,
                          .cloud_host = f->cloud_host,
                          .cloud_port = (uint16_t)f->cloud_port,
                          .naming_category = s->plan.naming_category};
    if (f->o.runner) {
        f->o.runner(f->o.runner_ctx, wss_dev_host_port(host), &cfg, &d->result);
    } else {
        wss_dev *dev = malloc(sizeof *dev);
        if (!dev)
            d->result.fail = WSS_DEV_FAIL_PORT;
        else if (wss_dev_init(dev, wss_dev_host_port(host), &cfg, d->result.detail, sizeof d->result.detail) !=
                 WSS_DEV_OK)
            d->result.fail = WSS_DEV_FAIL_PORT;
        else
            wss_dev_run(dev, &d->result);
        free(dev);
    }
    wss_dev_host_stats_get(host, &d->stats);
    char *token = wss_dev_host_storage_get(host, "FFS.SessionToken");
    snprintf(d->session_token, sizeof d->session_token, "%s", token ? token : "");
    free(token);
    if (f->o.keep_storage)
        wss_dev_host_save(host, err, sizeof err);
    wss_dev_host_free(host);
}

static void *worker(void *arg)
{
    wss_fleet *f = arg;
    for (;;) {
        unsigned i = atomic_fetch_add(&f->next, 1);
        if (i >= f->o.devices)
            return NULL;
        run_one(f, &f->slots[i]);
        if (f->slots[i].pub.result.fail == WSS_DEV_OK)
            atomic_fetch_add(&f->reported, 1);
        atomic_fetch_add(&f->finished, 1);
    }
}

/* Marks the devices the customers' Alexa accounts list; returns how many. */
static unsigned mark_alexa(wss_fleet *f)
{
    char path[300];
    snprintf(path, sizeof path, "/alexa-devices");
    json_t *r = NULL;
    if (wss_fleet_control(f, "GET", path, NULL, &r) != 200) {
        json_decref(r);
        return 0;
    }
    /* Endpoint ids are "<DSN>:<session token>" (the cloud's choice). */
    json_t *seen = json_object();
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(r, "devices"), k, e)
    {
        const char *id = json_string_value(json_object_get(e, "endpoint_id"));
        const char *colon = id ? strchr(id, ':') : NULL;
        if (colon)
            json_object_setn_new(seen, id, (size_t)(colon - id), json_true());
    }
    unsigned found = 0;
    for (unsigned i = 0; i < f->o.devices; i++) {
        wss_fleet_device *d = &f->slots[i].pub;
        d->in_alexa = json_object_get(seen, d->dsn) != NULL;
        found += d->in_alexa;
    }
    json_decref(seen);
    json_decref(r);
    return found;
}

wss_err wss_fleet_run(wss_fleet *f, char *err, size_t errlen)
{
    unsigned jobs = f->o.jobs ? f->o.jobs : 16;
    if (jobs > f->o.devices)
        jobs = f->o.devices;
    pthread_t *threads = calloc(jobs, sizeof *threads);
    if (!threads)
        return WSS_ERR_NOMEM;
    progress(f, "powering %u devices on (%u at a time)", f->o.devices, jobs);
    double t0 = mono_s();
    unsigned started = 0;
    while (started < jobs && pthread_create(&threads[started], NULL, worker, f) == 0)
        started++;
    unsigned shown = 0;
    while (started > 0 && atomic_load(&f->finished) < f->o.devices) {
        sleep_ms(100);
        unsigned done = atomic_load(&f->finished);
        if (done - shown >= (f->o.devices + 9) / 10 || (done == f->o.devices && done != shown)) {
            progress(f, "devices finished %u/%u, %u reported to the cloud", done, f->o.devices,
                     atomic_load(&f->reported));
            shown = done;
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    f->wall_s = mono_s() - t0;
    if (started == 0) {
        snprintf(err, errlen, "cannot start worker threads");
        return WSS_ERR_NOMEM;
    }
    progress(f, "waiting for the cloud's SDAE, the CDAD and proactive discovery");
    unsigned want = atomic_load(&f->reported), found = 0, last = 0;
    double deadline = mono_s() + FLEET_ALEXA_WAIT_S, last_change = mono_s();
    while ((found = mark_alexa(f)) < want && mono_s() < deadline && mono_s() - last_change < 15) {
        if (found != last) {
            last = found;
            last_change = mono_s();
        }
        sleep_ms(200);
    }
    progress(f, "%u of %u reported devices are in their customers' Alexa accounts", found, want);
    return WSS_OK;
}

/* --- read-outs --- */

const wss_fleet_device *wss_fleet_device_get(const wss_fleet *f, unsigned i)
{
    return f && i < f->o.devices ? &f->slots[i].pub : NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void wss_fleet_summarize(const wss_fleet *f, wss_fleet_summary *out)
{
    memset(out, 0, sizeof *out);
    unsigned n = f->o.devices;
    uint64_t *times = calloc(n, sizeof *times);
    size_t nt = 0;
    out->devices = n;
    for (unsigned i = 0; i < n; i++) {
        const wss_fleet_device *d = &f->slots[i].pub;
        if (d->result.fail == WSS_DEV_OK && d->in_alexa) {
            out->set_up++;
            if (times)
                times[nt++] = d->result.elapsed_ms;
        } else {
            out->by_reason[d->result.fail]++;
        }
    }
    if (times && nt) {
        qsort(times, nt, sizeof *times, cmp_u64);
        out->setup_s_p50 = (double)times[(nt - 1) / 2] / 1000.0;
        out->setup_s_p95 = (double)times[(size_t)(0.95 * (double)(nt - 1) + 0.5)] / 1000.0;
    }
    free(times);
    out->success_rate = n ? (double)out->set_up / n : 0;
    out->wall_s = f->wall_s;
    out->flows_per_s = f->wall_s > 0 ? n / f->wall_s : 0;
}

wss_radio *wss_fleet_radio(wss_fleet *f) { return f->radio; }
const char *wss_fleet_state_dir(const wss_fleet *f) { return f->root; }
const char *wss_fleet_ca_bundle(const wss_fleet *f) { return f->ca_bundle; }
const json_t *wss_fleet_credentials(const wss_fleet *f) { return f->client_loaded ? f->client.credentials : NULL; }

void wss_fleet_stop(wss_fleet *f)
{
    if (!f)
        return;
    if (f->cloud)
        wss_cloud_stop(f->cloud);
    if (f->sim)
        wss_sim_stop(f->sim);
    if (f->client_loaded)
        sim_client_free(&f->client);
    wss_radio_free(f->radio);
    free(f->slots);
    free(f->scenario);
    free(f->household_home);
    free(f->household_customer);
    json_decref(f->home_owner);
    free(f);
}

/* config.c - the emulator's configuration file (JSON; format in docs/sim.md).
 *
 * Unknown keys are refused rather than ignored: a typo in a test setup should
 * fail loudly, not silently run with a default. Secrets may be given inline
 * or, better, through an environment variable named by "client_secret_env". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "sim/internal.h"

#define CONFIG_MAX_BYTES (4u * 1024u * 1024u)

void sim_config_defaults(sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->token_lifetime_s = 3600;
    cfg->code_lifetime_s = 300;
    cfg->retention_s = 30LL * 24 * 3600;
    cfg->skill_timeout_ms = 8000;
    cfg->max_event_bytes = 256 * 1024;
    cfg->default_rate_per_s = 50;
    cfg->default_rate_burst = 100;
}

static int only_keys(const json_t *obj, const char *const *allowed, const char *where, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(key, *a) == 0;
        if (!ok) {
            snprintf(err, errlen, "%s: unknown key \"%s\"", where, key);
            return -1;
        }
    }
    return 0;
}

static int get_string(const json_t *obj, const char *key, int required, char **out, const char *where, char *err,
                      size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required) {
            snprintf(err, errlen, "%s: \"%s\" is required", where, key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errlen, "%s: \"%s\" must be a non-empty string", where, key);
        return -1;
    }
    free(*out);
    *out = strdup(json_string_value(v));
    return *out ? 0 : -1;
}

static int get_number(const json_t *obj, const char *key, double min, double max, double *out, const char *where,
                      char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max) {
        snprintf(err, errlen, "%s: \"%s\" must be a number from %g to %g", where, key, min, max);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

static int get_ll(const json_t *obj, const char *key, double min, double max, long long *out, const char *where,
                  char *err, size_t errlen)
{
    double d = (double)*out;
    if (get_number(obj, key, min, max, &d, where, err, errlen) != 0)
        return -1;
    *out = (long long)d;
    return 0;
}

static int load_skill(const json_t *j, sim_skill_config *sk, const sim_config *cfg, size_t i, char *err, size_t errlen)
{
    static const char *const keys[] = {
        "skill_id", "client_id",   "client_secret", "client_secret_env", "endpoint", "endpoint_ca_file",
        "stage",    "marketplace", "enabled",       "rate_limit",        NULL};
    char where[64];
    snprintf(where, sizeof where, "skills[%zu]", i);
    if (!json_is_object(j)) {
        snprintf(err, errlen, "%s: must be an object", where);
        return -1;
    }
    sk->rate_per_s = cfg->default_rate_per_s;
    sk->rate_burst = cfg->default_rate_burst;
    sk->enabled = 1;
    char *secret_env = NULL;
    if (only_keys(j, keys, where, err, errlen) || get_string(j, "skill_id", 1, &sk->skill_id, where, err, errlen) ||
        get_string(j, "client_id", 1, &sk->client_id, where, err, errlen) ||
        get_string(j, "client_secret", 0, &sk->client_secret, where, err, errlen) ||
        get_string(j, "client_secret_env", 0, &secret_env, where, err, errlen) ||
        get_string(j, "endpoint", 1, &sk->endpoint, where, err, errlen) ||
        get_string(j, "endpoint_ca_file", 0, &sk->endpoint_ca_file, where, err, errlen) ||
        get_string(j, "stage", 0, &sk->stage, where, err, errlen) ||
        get_string(j, "marketplace", 0, &sk->marketplace, where, err, errlen)) {
        free(secret_env);
        return -1;
    }
    if (secret_env) {
        const char *v = getenv(secret_env);
        if (!v || !*v) {
            snprintf(err, errlen, "%s: environment variable %s (client_secret_env) is not set", where, secret_env);
            free(secret_env);
            return -1;
        }
        free(sk->client_secret);
        sk->client_secret = strdup(v);
        free(secret_env);
    }
    if (!sk->client_secret) {
        snprintf(err, errlen, "%s: give \"client_secret\" or \"client_secret_env\"", where);
        return -1;
    }
    if (strncmp(sk->endpoint, "https://", 8) != 0 && strncmp(sk->endpoint, "http://", 7) != 0) {
        snprintf(err, errlen, "%s: \"endpoint\" must be an http:// or https:// URL", where);
        return -1;
    }
    if (!sk->stage)
        sk->stage = strdup("live");
    if (strcmp(sk->stage, "live") != 0 && strcmp(sk->stage, "development") != 0) {
        snprintf(err, errlen, "%s: \"stage\" must be \"live\" or \"development\"", where);
        return -1;
    }
    if (!sk->marketplace)
        sk->marketplace = strdup("US");
    json_t *en = json_object_get(j, "enabled");
    if (en && !json_is_boolean(en)) {
        snprintf(err, errlen, "%s: \"enabled\" must be true or false", where);
        return -1;
    }
    if (en)
        sk->enabled = json_is_true(en);
    json_t *rl = json_object_get(j, "rate_limit");
    if (rl) {
        static const char *const rkeys[] = {"per_second", "burst", NULL};
        double burst = sk->rate_burst;
        if (!json_is_object(rl) || only_keys(rl, rkeys, where, err, errlen) ||
            get_number(rl, "per_second", 0.001, 1e6, &sk->rate_per_s, where, err, errlen) ||
            get_number(rl, "burst", 1, 1e6, &burst, where, err, errlen)) {
            if (!json_is_object(rl))
                snprintf(err, errlen, "%s: \"rate_limit\" must be an object", where);
            return -1;
        }
        sk->rate_burst = (int)burst;
    }
    return 0;
}

static int load_customer(const json_t *j, sim_customer_config *c, size_t i, char *err, size_t errlen)
{
    static const char *const keys[] = {"customer_id", "name", "wifi", "skills", NULL};
    char where[64];
    snprintf(where, sizeof where, "customers[%zu]", i);
    if (!json_is_object(j)) {
        snprintf(err, errlen, "%s: must be an object", where);
        return -1;
    }
    if (only_keys(j, keys, where, err, errlen) ||
        get_string(j, "customer_id", 1, &c->customer_id, where, err, errlen) ||
        get_string(j, "name", 0, &c->name, where, err, errlen))
        return -1;
    if (!c->name)
        c->name = strdup(c->customer_id);
    json_t *wifi = json_object_get(j, "wifi");
    json_t *skills = json_object_get(j, "skills");
    if ((wifi && !json_is_array(wifi)) || (skills && !json_is_array(skills))) {
        snprintf(err, errlen, "%s: \"wifi\" and \"skills\" must be arrays", where);
        return -1;
    }
    c->wifi = json_incref(wifi);
    c->skills = json_incref(skills);
    return 0;
}

/* "dss": {"device_ca_files": [PEM paths]}: the maker's registered device CAs. */
static int load_dss(const json_t *dss, sim_config *cfg, char *err, size_t errlen)
{
    static const char *const keys[] = {"device_ca_files", NULL};
    if (!dss)
        return 0;
    if (!json_is_object(dss)) {
        snprintf(err, errlen, "configuration: \"dss\" must be an object");
        return -1;
    }
    if (only_keys(dss, keys, "dss", err, errlen) != 0)
        return -1;
    json_t *files = json_object_get(dss, "device_ca_files");
    if (!files)
        return 0;
    if (!json_is_array(files) || json_array_size(files) > 100) {
        snprintf(err, errlen, "dss: \"device_ca_files\" must be an array of at most 100 PEM file paths");
        return -1;
    }
    cfg->dss_device_ca_files = calloc(json_array_size(files) + 1, sizeof *cfg->dss_device_ca_files);
    if (!cfg->dss_device_ca_files)
        return -1;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *path = json_string_value(f);
        if (!path || !*path || strlen(path) != json_string_length(f)) {
            snprintf(err, errlen, "dss.device_ca_files[%zu] must be a non-empty path", i);
            return -1;
        }
        if (!(cfg->dss_device_ca_files[i] = strdup(path)))
            return -1;
        cfg->ndss_device_ca_files = i + 1;
    }
    return 0;
}

wss_err sim_config_load(const char *path, sim_config *cfg, char *err, size_t errlen)
{
    static const char *const keys[] = {"token_lifetime_s",
                                       "code_lifetime_s",
                                       "association_retention_s",
                                       "skill_timeout_ms",
                                       "max_event_bytes",
                                       "default_rate_limit",
                                       "skills",
                                       "customers",
                                       "faults",
                                       "dss",
                                       NULL};
    json_t *root = wss_json_load_object_file(path, CONFIG_MAX_BYTES, err, errlen);
    if (!root)
        return WSS_ERR_CONFIG;
    const char *where = "configuration";
    int bad = only_keys(root, keys, where, err, errlen) ||
              get_ll(root, "token_lifetime_s", 1, 1e7, &cfg->token_lifetime_s, where, err, errlen) ||
              get_ll(root, "code_lifetime_s", 1, 1e7, &cfg->code_lifetime_s, where, err, errlen) ||
              get_ll(root, "association_retention_s", 1, 1e9, &cfg->retention_s, where, err, errlen) ||
              get_ll(root, "skill_timeout_ms", 1, 600000, &cfg->skill_timeout_ms, where, err, errlen) ||
              get_ll(root, "max_event_bytes", 256, 64.0 * 1024 * 1024, &cfg->max_event_bytes, where, err, errlen);
    json_t *drl = json_object_get(root, "default_rate_limit");
    if (!bad && drl) {
        double burst = cfg->default_rate_burst;
        bad = !json_is_object(drl) ||
              get_number(drl, "per_second", 0.001, 1e6, &cfg->default_rate_per_s, where, err, errlen) ||
              get_number(drl, "burst", 1, 1e6, &burst, where, err, errlen);
        if (!json_is_object(drl))
            snprintf(err, errlen, "configuration: \"default_rate_limit\" must be an object");
        cfg->default_rate_burst = (int)burst;
    }
    json_t *skills = json_object_get(root, "skills");
    json_t *customers = json_object_get(root, "customers");
    json_t *faults = json_object_get(root, "faults");
    if (!bad && ((skills && !json_is_array(skills)) || (customers && !json_is_array(customers)) ||
                 (faults && !json_is_array(faults)))) {
        snprintf(err, errlen, "configuration: \"skills\", \"customers\" and \"faults\" must be arrays");
        bad = 1;
    }
    if (!bad && skills && json_array_size(skills)) {
        cfg->nskills = json_array_size(skills);
        cfg->skills = calloc(cfg->nskills, sizeof *cfg->skills);
        for (size_t i = 0; !bad && i < cfg->nskills; i++)
            bad = load_skill(json_array_get(skills, i), &cfg->skills[i], cfg, i, err, errlen);
    }
    if (!bad && customers && json_array_size(customers)) {
        cfg->ncustomers = json_array_size(customers);
        cfg->customers = calloc(cfg->ncustomers, sizeof *cfg->customers);
        for (size_t i = 0; !bad && i < cfg->ncustomers; i++)
            bad = load_customer(json_array_get(customers, i), &cfg->customers[i], i, err, errlen);
    }
    if (!bad)
        cfg->faults = json_incref(faults);
    if (!bad)
        bad = load_dss(json_object_get(root, "dss"), cfg, err, errlen);
    json_decref(root);
    return bad ? WSS_ERR_CONFIG : WSS_OK;
}

void sim_config_free(sim_config *cfg)
{
    for (size_t i = 0; i < cfg->nskills; i++) {
        sim_skill_config *sk = &cfg->skills[i];
        free(sk->skill_id);
        free(sk->client_id);
        if (sk->client_secret) {
            memset(sk->client_secret, 0, strlen(sk->client_secret));
            free(sk->client_secret);
        }
        free(sk->endpoint);
        free(sk->endpoint_ca_file);
        free(sk->stage);
        free(sk->marketplace);
    }
    free(cfg->skills);
    for (size_t i = 0; i < cfg->ncustomers; i++) {
        free(cfg->customers[i].customer_id);
        free(cfg->customers[i].name);
        json_decref(cfg->customers[i].wifi);
        json_decref(cfg->customers[i].skills);
    }
    free(cfg->customers);
    for (size_t i = 0; i < cfg->ndss_device_ca_files; i++)
        free(cfg->dss_device_ca_files[i]);
    free(cfg->dss_device_ca_files);
    json_decref(cfg->faults);
    memset(cfg, 0, sizeof *cfg);
}

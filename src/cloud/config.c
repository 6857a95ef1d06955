/* config.c - the cloud's configuration file (JSON; format in docs/cloud.md).
 *
 * Secrets never sit in the file or on the command line: the LWA client
 * secret comes from the environment variable the file names
 * ("lwa_client_secret_env"). Unknown keys are refused so a typo fails loudly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/internal.h"
#include "common/json.h"

#define CONFIG_MAX_BYTES (1024u * 1024u)

void cloud_config_defaults(cloud_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->retry_delay_ms = 1000;
    cfg->max_retries = 3;
    cfg->backoff_max_ms = 60000;
    cfg->token_margin_s = 300;
    cfg->max_in_flight = 64;
    cfg->request_timeout_ms = 10000;
}

const char *cloud_region_gateway(const char *region)
{
    if (region && strcmp(region, "EU") == 0)
        return "https://api.eu.amazonalexa.com/v3/events";
    if (region && strcmp(region, "FE") == 0)
        return "https://api.fe.amazonalexa.com/v3/events";
    return "https://api.amazonalexa.com/v3/events";
}

static int set_string(json_t *root, const char *key, char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || !json_string_length(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errlen, "configuration: \"%s\" must be a non-empty string", key);
        return -1;
    }
    free(*out);
    *out = strdup(json_string_value(v));
    return 0;
}

static int set_number(json_t *root, const char *key, double min, double max, long long *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(err, errlen, "configuration: \"%s\" must be an integer from %.0f to %.0f", key, min, max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static int check_keys(json_t *root, char *err, size_t errlen)
{
    static const char *const keys[] = {"listen",         "state_dir",          "plain_http",
                                       "lwa_token_url",  "lwa_client_id",      "lwa_client_secret_env",
                                       "region",         "gateway_url",        "outbound_ca_file",
                                       "device_ca_file", "manufacturer_name",  "retry_delay_ms",
                                       "max_retries",    "backoff_max_ms",     "token_margin_s",
                                       "max_in_flight",  "request_timeout_ms", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        int known = 0;
        for (const char *const *k = keys; *k; k++)
            known |= strcmp(*k, key) == 0;
        if (!known) {
            snprintf(err, errlen, "configuration: unknown key \"%s\"", key);
            return -1;
        }
    }
    return 0;
}

static int load_values(json_t *root, cloud_config *cfg, char *err, size_t errlen)
{
    char *secret_env = NULL;
    long long in_flight = cfg->max_in_flight, retries = cfg->max_retries;
    json_t *plain = json_object_get(root, "plain_http");
    if (plain && !json_is_boolean(plain)) {
        snprintf(err, errlen, "configuration: \"plain_http\" must be true or false");
        return -1;
    }
    cfg->plain_http = json_is_true(plain);
    if (check_keys(root, err, errlen) || set_string(root, "listen", &cfg->listen, err, errlen) ||
        set_string(root, "state_dir", &cfg->state_dir, err, errlen) ||
        set_string(root, "lwa_token_url", &cfg->lwa_token_url, err, errlen) ||
        set_string(root, "lwa_client_id", &cfg->lwa_client_id, err, errlen) ||
        set_string(root, "lwa_client_secret_env", &secret_env, err, errlen) ||
        set_string(root, "region", &cfg->region, err, errlen) ||
        set_string(root, "gateway_url", &cfg->gateway_url, err, errlen) ||
        set_string(root, "outbound_ca_file", &cfg->outbound_ca_file, err, errlen) ||
        set_string(root, "device_ca_file", &cfg->device_ca_file, err, errlen) ||
        set_string(root, "manufacturer_name", &cfg->manufacturer_name, err, errlen) ||
        set_number(root, "retry_delay_ms", 0, 600000, &cfg->retry_delay_ms, err, errlen) ||
        set_number(root, "max_retries", 0, 100, &retries, err, errlen) ||
        set_number(root, "backoff_max_ms", 1, 3600000, &cfg->backoff_max_ms, err, errlen) ||
        set_number(root, "token_margin_s", 0, 3000, &cfg->token_margin_s, err, errlen) ||
        set_number(root, "max_in_flight", 1, 4096, &in_flight, err, errlen) ||
        set_number(root, "request_timeout_ms", 100, 600000, &cfg->request_timeout_ms, err, errlen)) {
        free(secret_env);
        return -1;
    }
    cfg->max_in_flight = (int)in_flight;
    cfg->max_retries = (int)retries;
    if (secret_env) {
        const char *secret = getenv(secret_env);
        if (!secret || !*secret) {
            snprintf(err, errlen, "configuration: environment variable %s (lwa_client_secret_env) is not set",
                     secret_env);
            free(secret_env);
            return -1;
        }
        cfg->lwa_client_secret = strdup(secret);
        free(secret_env);
    }
    return 0;
}

static int complete(cloud_config *cfg, char *err, size_t errlen)
{
    if (!cfg->region)
        cfg->region = strdup("NA");
    if (strcmp(cfg->region, "NA") && strcmp(cfg->region, "EU") && strcmp(cfg->region, "FE")) {
        snprintf(err, errlen, "configuration: \"region\" must be NA, EU or FE");
        return -1;
    }
    if (!cfg->listen)
        cfg->listen = strdup("127.0.0.1:8080");
    if (!cfg->state_dir)
        cfg->state_dir = strdup("wss-cloud-state");
    if (!cfg->lwa_token_url)
        cfg->lwa_token_url = strdup("https://api.amazon.com/auth/o2/token");
    if (!cfg->manufacturer_name)
        cfg->manufacturer_name = strdup("openwss");
    if (!cfg->lwa_client_id || !cfg->lwa_client_secret) {
        snprintf(err, errlen, "configuration: \"lwa_client_id\" and \"lwa_client_secret_env\" are required");
        return -1;
    }
    return 0;
}

wss_err cloud_config_load(const char *path, cloud_config *cfg, char *err, size_t errlen)
{
    json_t *root = wss_json_load_object_file(path, CONFIG_MAX_BYTES, err, errlen);
    if (!root)
        return WSS_ERR_CONFIG;
    int bad = load_values(root, cfg, err, errlen) || complete(cfg, err, errlen);
    json_decref(root);
    return bad ? WSS_ERR_CONFIG : WSS_OK;
}

void cloud_config_free(cloud_config *cfg)
{
    char **strings[] = {&cfg->listen,           &cfg->state_dir,      &cfg->lwa_token_url,
                        &cfg->lwa_client_id,    &cfg->region,         &cfg->gateway_url,
                        &cfg->outbound_ca_file, &cfg->device_ca_file, &cfg->manufacturer_name};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        free(*strings[i]);
    if (cfg->lwa_client_secret) {
        memset(cfg->lwa_client_secret, 0, strlen(cfg->lwa_client_secret));
        free(cfg->lwa_client_secret);
    }
    memset(cfg, 0, sizeof *cfg);
}

/* cloud.c - the cloud's lifecycle (store, token cache, outbox, HTTP server)
 * and its routes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/internal.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/file.h"
#include "common/log.h"

static void route(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    cloud *c = ctx;
    if (strcmp(req->path, "/alexa/skill") == 0)
        cloud_skill_handle(c, req, resp);
    else if (strcmp(req->path, "/v1/devices/association-report") == 0)
        cloud_intake_handle(c, req, resp);
    else if (strcmp(req->path, "/metrics") == 0)
        cloud_metrics_handle(c, req, resp);
    else if (strcmp(req->path, "/healthz") == 0)
        wss_http_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
    else
        wss_http_reply_json(resp, 404, json_pack("{s:s}", "error", "no such route"));
}

/* Reads a PEM file named by the configuration; NULL when not configured. */
static wss_err read_pem(const char *path, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!path)
        return WSS_OK;
    wss_err rc = wss_read_file(path, 1 << 20, out, NULL);
    if (rc != WSS_OK)
        snprintf(err, errlen, "cannot read %s: %s", path, wss_strerror(rc));
    return rc;
}

static wss_err start_http(cloud *c, char *err, size_t errlen)
{
    char host[256];
    int port;
    if (wss_http_parse_listen(c->cfg.listen, host, &port) != WSS_OK) {
        snprintf(err, errlen, "bad listen address \"%s\": use HOST:PORT", c->cfg.listen);
        return WSS_ERR_CONFIG;
    }
    wss_http_options ho = {.host = host, .port = port};
    char *cert = NULL, *key = NULL, *device_ca = NULL;
    wss_err rc = WSS_OK;
    if (!c->cfg.plain_http) {
        const char *hosts[] = {host, "localhost", "127.0.0.1", NULL};
        char path[4200];
        rc = wss_tls_ensure(c->cfg.state_dir, hosts, err, errlen);
        snprintf(path, sizeof path, "%s/server.pem", c->cfg.state_dir);
        if (rc == WSS_OK)
            rc = read_pem(path, &cert, err, errlen);
        snprintf(path, sizeof path, "%s/server-key.pem", c->cfg.state_dir);
        if (rc == WSS_OK)
            rc = read_pem(path, &key, err, errlen);
        if (rc == WSS_OK)
            rc = read_pem(c->cfg.device_ca_file, &device_ca, err, errlen);
        ho.tls_cert_pem = cert;
        ho.tls_key_pem = key;
        ho.client_ca_pem = device_ca;
    }
    if (rc == WSS_OK && (c->cfg.plain_http || !device_ca))
        wss_log(WSS_LOG_WARN, "cloud", "%s: every device report will be refused (401)",
                c->cfg.plain_http ? "plain HTTP has no client certificates"
                                  : "no device_ca_file is configured to verify device certificates against");
    if (rc == WSS_OK)
        rc = wss_http_start(&ho, route, c, &c->http, err, errlen);
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    free(cert);
    free(device_ca);
    if (rc == WSS_OK) {
        int bracket = strchr(host, ':') != NULL;
        snprintf(c->base_url, sizeof c->base_url, "%s://%s%s%s:%d", c->cfg.plain_http ? "http" : "https",
                 bracket ? "[" : "", host, bracket ? "]" : "", wss_http_port(c->http));
    }
    return rc;
}

wss_err wss_cloud_start(const wss_cloud_options *opts, wss_cloud **out, char *err, size_t errlen)
{
    if (!opts || !opts->config_path) {
        snprintf(err, errlen, "a configuration file is required");
        return WSS_ERR_CONFIG;
    }
    cloud *c = calloc(1, sizeof *c);
    if (!c)
        return WSS_ERR_NOMEM;
    cloud_config_defaults(&c->cfg);
    wss_err rc = cloud_config_load(opts->config_path, &c->cfg, err, errlen);
    if (rc == WSS_OK && opts->state_dir) {
        free(c->cfg.state_dir);
        if (!(c->cfg.state_dir = strdup(opts->state_dir)))
            rc = WSS_ERR_NOMEM;
    }
    if (rc == WSS_OK && opts->listen) {
        free(c->cfg.listen);
        if (!(c->cfg.listen = strdup(opts->listen)))
            rc = WSS_ERR_NOMEM;
    }
    if (rc == WSS_OK && wss_mkdir(c->cfg.state_dir) != WSS_OK) {
        snprintf(err, errlen, "cannot create state directory %s", c->cfg.state_dir);
        rc = WSS_ERR_IO;
    }
    if (rc == WSS_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/cloud.db", c->cfg.state_dir);
        rc = cloud_store_open_sqlite(path, &c->store, err, errlen);
    }
    if (rc == WSS_OK &&
        (!(c->metrics = cloud_metrics_new()) || !(c->token = cloud_token_cache_new(&c->cfg, c->metrics)) ||
         !(c->users = cloud_user_cache_new())))
        rc = WSS_ERR_NOMEM;
    if (rc == WSS_OK && !(c->outbox = cloud_outbox_start(c, err, errlen)))
        rc = WSS_ERR_NOMEM;
    if (rc == WSS_OK)
        rc = start_http(c, err, errlen);
    if (rc != WSS_OK) {
        wss_cloud_stop(c);
        return rc;
    }
    wss_log(WSS_LOG_INFO, "cloud", "listening on %s (state in %s)", c->base_url, c->cfg.state_dir);
    *out = c;
    return WSS_OK;
}

const char *wss_cloud_base_url(const wss_cloud *c) { return c ? c->base_url : ""; }

wss_err cloud_user_token_mint(cloud_store *st, const char *user_id, long long expires_in_s, char **token_out,
                              long long *expires_ms)
{
    char *token = wss_random_token("wss-user.", 32);
    char sha[65];
    if (!token)
        return WSS_ERR_NOMEM;
    wss_sha256_hex(token, sha);
    *expires_ms = wss_wall_ms() + expires_in_s * 1000;
    wss_err rc = st->ops->user_token_add(st, sha, user_id, *expires_ms);
    if (rc != WSS_OK) {
        free(token);
        return rc;
    }
    *token_out = token;
    return WSS_OK;
}

wss_err wss_cloud_user_token(wss_cloud *c, const char *user_id, long long expires_in_s, char **token)
{
    *token = NULL;
    if (!c || !user_id || !*user_id || expires_in_s <= 0)
        return WSS_ERR_INVALID;
    wss_err rc = c->store->ops->user_add(c->store, user_id, user_id, wss_wall_ms());
    if (rc != WSS_OK && rc != WSS_ERR_EXISTS)
        return rc;
    long long expires_ms;
    return cloud_user_token_mint(c->store, user_id, expires_in_s, token, &expires_ms);
}

void wss_cloud_stop(wss_cloud *c)
{
    if (!c)
        return;
    wss_http_stop(c->http); /* no new reports or directives */
    if (c->outbox)
        cloud_outbox_stop(c->outbox); /* finishes deliveries in flight */
    cloud_token_cache_free(c->token);
    if (c->store)
        c->store->ops->close(c->store);
    cloud_metrics_free(c->metrics);
    cloud_user_cache_free(c->users);
    cloud_config_free(&c->cfg);
    free(c);
}

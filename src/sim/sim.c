/* sim.c - the emulator's lifecycle: state directory, configuration applied to
 * the store, HTTPS with the local CA, routing, the Device Setup Service's own
 * listener, and credentials.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "sim/internal.h"

#define DEFAULT_SKILL_ENDPOINT "http://127.0.0.1:8080/alexa/skill"
#define CREDENTIALS_MAX_BYTES (1024u * 1024u)
#define SERVER_MAX_BODY (1024u * 1024u)

json_t *sim_parse_body(const wss_http_request *req, char *why, size_t whylen)
{
    return wss_json_parse_object(req->body, req->body_len, why, whylen);
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(out, outlen, "%s", v ? (const char *)v : "");
}

static wss_err skill_row(sim *s, const char *where, const char *value, sim_skill_row *out)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT skill_id, client_id, secret_sha, endpoint, endpoint_ca_file, stage, marketplace, enabled,"
             " rate_per_s, rate_burst FROM skills WHERE %s = ?",
             where);
    sqlite3_stmt *st = wss_db_prepare(s->db, sql, "t", value);
    wss_err rc = WSS_ERR_NOT_FOUND;
    if (!st)
        return WSS_ERR_STORE;
    if (sqlite3_step(st) == SQLITE_ROW) {
        copy_col(st, 0, out->skill_id, sizeof out->skill_id);
        copy_col(st, 1, out->client_id, sizeof out->client_id);
        copy_col(st, 2, out->secret_sha, sizeof out->secret_sha);
        copy_col(st, 3, out->endpoint, sizeof out->endpoint);
        copy_col(st, 4, out->endpoint_ca_file, sizeof out->endpoint_ca_file);
        copy_col(st, 5, out->stage, sizeof out->stage);
        copy_col(st, 6, out->marketplace, sizeof out->marketplace);
        out->enabled = sqlite3_column_int(st, 7);
        out->rate_per_s = sqlite3_column_double(st, 8);
        out->rate_burst = sqlite3_column_int(st, 9);
        rc = WSS_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

wss_err sim_skill_by_client(sim *s, const char *client_id, sim_skill_row *out)
{
    return skill_row(s, "client_id", client_id, out);
}

wss_err sim_skill_by_id(sim *s, const char *skill_id, sim_skill_row *out)
{
    return skill_row(s, "skill_id", skill_id, out);
}

static void route(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    sim *s = ctx;
    if (strcmp(req->path, "/auth/o2/token") == 0)
        sim_lwa_handle(s, req, resp);
    else if (strcmp(req->path, "/v3/events") == 0)
        sim_gateway_handle(s, req, resp);
    else if (strncmp(req->path, "/control/v1/", 12) == 0 || strcmp(req->path, "/control/v1") == 0)
        sim_control_handle(s, req, resp);
    else if (strcmp(req->path, "/healthz") == 0)
        wss_http_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
    else
        wss_http_reply_json(resp, 404, json_pack("{s:s}", "message", "no such route"));
}

/* --- applying the configuration to the store --- */

static int upsert_skill(sim *s, const sim_skill_config *sk)
{
    char sha[65];
    wss_sha256_hex(sk->client_secret, sha);
    return wss_db_run(s->db,
                      "INSERT INTO skills (skill_id, client_id, secret_sha, endpoint, endpoint_ca_file, stage,"
                      " marketplace, enabled, rate_per_s, rate_burst) VALUES (?,?,?,?,?,?,?,?,?,?)"
                      " ON CONFLICT(skill_id) DO UPDATE SET client_id=excluded.client_id,"
                      " secret_sha=excluded.secret_sha, endpoint=excluded.endpoint,"
                      " endpoint_ca_file=excluded.endpoint_ca_file, stage=excluded.stage,"
                      " marketplace=excluded.marketplace, enabled=excluded.enabled,"
                      " rate_per_s=excluded.rate_per_s, rate_burst=excluded.rate_burst",
                      "tttttttidi", sk->skill_id, sk->client_id, sha, sk->endpoint, sk->endpoint_ca_file, sk->stage,
                      sk->marketplace, (long long)sk->enabled, sk->rate_per_s, (long long)sk->rate_burst) < 0
               ? -1
               : 0;
}

static int add_customer(sim *s, const char *id, const char *name)
{
    return wss_db_run(s->db,
                      "INSERT INTO customers (customer_id, name, created_ms) VALUES (?,?,?)"
                      " ON CONFLICT(customer_id) DO UPDATE SET name = excluded.name",
                      "tti", id, name, sim_now_ms_locked(s)) < 0
               ? -1
               : 0;
}

static int apply_customer(sim *s, const sim_customer_config *c, char *err, size_t errlen)
{
    if (add_customer(s, c->customer_id, c->name) != 0) {
        snprintf(err, errlen, "customer %s: %s", c->customer_id, sqlite3_errmsg(s->db));
        return -1;
    }
    size_t i;
    json_t *w;
    json_array_foreach(c->wifi, i, w)
    {
        const char *ssid = json_string_value(json_object_get(w, "ssid"));
        const char *sec = json_string_value(json_object_get(w, "securityProtocol"));
        if (!ssid || !sec) {
            snprintf(err, errlen, "customer %s: wifi[%zu] needs \"ssid\" and \"securityProtocol\"", c->customer_id, i);
            return -1;
        }
        wss_db_run(s->db,
                   "INSERT OR REPLACE INTO wifi_locker (customer_id, ssid, security, key, priority)"
                   " VALUES (?,?,?,?,?)",
                   "tttti", c->customer_id, ssid, sec, json_string_value(json_object_get(w, "key")),
                   (long long)json_integer_value(json_object_get(w, "priority")));
    }
    json_array_foreach(c->skills, i, w)
    {
        const char *skill = json_string_value(json_object_get(w, "skill_id"));
        const char *token = json_string_value(json_object_get(w, "access_token"));
        char why[256];
        if (!skill || !token) {
            snprintf(err, errlen, "customer %s: skills[%zu] needs \"skill_id\" and \"access_token\"", c->customer_id,
                     i);
            return -1;
        }
        /* Only a link the store does not know yet: a later start must not
         * re-enable a skill the customer disabled, nor send AcceptGrant again. */
        sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT 1 FROM skill_links WHERE customer_id = ? AND skill_id = ?",
                                          "tt", c->customer_id, skill);
        int known = !st || sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (known)
            continue;
        if (sim_link_skill(s, c->customer_id, skill, token, why, sizeof why) != WSS_OK) {
            snprintf(err, errlen, "customer %s: %s", c->customer_id, why);
            return -1;
        }
    }
    return 0;
}

static int count_rows(sim *s, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *st = wss_db_prepare(s->db, sql, "");
    int n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return n;
}

static void random_upper(char *out, size_t n)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char r[64];
    wss_random_bytes(r, n);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[r[i] % 36];
    out[n] = 0;
}

/* The first start with no skills at all creates one, with fresh credentials
 * whose secret is only ever written to credentials.json. */
static int create_default_skill(sim *s, json_t *secrets)
{
    char uuid[37], client[40];
    wss_uuid4(uuid);
    random_upper(client, 32);
    char skill_id[80], client_id[80];
    snprintf(skill_id, sizeof skill_id, "amzn1.ask.skill.%s", uuid);
    snprintf(client_id, sizeof client_id, "amzn1.application-oa2-client.%s", client);
    char *secret = wss_random_token("amzn1.oa2-cs.v1.", 32);
    if (!secret)
        return -1;
    sim_skill_config sk = {.skill_id = skill_id,
                           .client_id = client_id,
                           .client_secret = secret,
                           .endpoint = DEFAULT_SKILL_ENDPOINT,
                           .stage = "live",
                           .marketplace = "US",
                           .enabled = 1,
                           .rate_per_s = s->cfg.default_rate_per_s,
                           .rate_burst = s->cfg.default_rate_burst};
    int rc = upsert_skill(s, &sk);
    json_object_set_new(secrets, skill_id, json_string(secret));
    free(secret);
    return rc;
}

static int create_default_customer(sim *s)
{
    char id[64], rnd[32];
    random_upper(rnd, 14);
    snprintf(id, sizeof id, "amzn1.account.%s", rnd);
    return add_customer(s, id, "Test Customer");
}

/* Secrets already handed out in an earlier credentials.json, by skill id,
 * kept when they still match the store's digest. */
static json_t *previous_secrets(sim *s, json_t *old)
{
    json_t *secrets = json_object();
    size_t i;
    json_t *sk;
    json_array_foreach(json_object_get(old, "skills"), i, sk)
    {
        const char *id = json_string_value(json_object_get(sk, "skill_id"));
        const char *secret = json_string_value(json_object_get(sk, "client_secret"));
        sim_skill_row row;
        char sha[65];
        if (!id || !secret || sim_skill_by_id(s, id, &row) != WSS_OK)
            continue;
        wss_sha256_hex(secret, sha);
        if (wss_ct_streq(sha, row.secret_sha))
            json_object_set_new(secrets, id, json_string(secret));
    }
    return secrets;
}

static char *control_token(sim *s, json_t *old)
{
    const char *prev = json_string_value(json_object_get(old, "control_token"));
    char *sha = sim_meta_get(s, "control_token_sha");
    char prev_sha[65];
    if (prev && sha) {
        wss_sha256_hex(prev, prev_sha);
        if (wss_ct_streq(prev_sha, sha)) {
            free(sha);
            return strdup(prev);
        }
    }
    free(sha);
    char *token = wss_random_token("wss-control.", 24);
    if (!token)
        return NULL;
    wss_sha256_hex(token, prev_sha);
    sim_meta_set(s, "control_token_sha", prev_sha);
    return token;
}

static json_t *credentials_document(sim *s, json_t *secrets, const char *control)
{
    char url[400];
    json_t *doc = json_object();
    json_object_set_new(doc, "pid", json_integer(getpid()));
    json_object_set_new(doc, "base_url", json_string(s->base_url));
    snprintf(url, sizeof url, "%s/auth/o2/token", s->base_url);
    json_object_set_new(doc, "lwa_token_url", json_string(url));
    snprintf(url, sizeof url, "%s/v3/events", s->base_url);
    json_object_set_new(doc, "event_gateway_url", json_string(url));
    snprintf(url, sizeof url, "%s/control/v1", s->base_url);
    json_object_set_new(doc, "control_url", json_string(url));
    json_object_set_new(doc, "ca_file", s->plain_http ? json_null() : json_string(s->ca_file));
    json_object_set_new(doc, "control_token", json_string(control));
    json_object_set_new(doc, "dss_url", json_string(s->dss_url));
    json_object_set_new(doc, "dss_host", json_string(SIM_DSS_HOST));
    json_object_set_new(doc, "dss_public_key", json_string(s->dss_public_b64));
    json_object_set_new(doc, "dss_ca_file", json_string(s->dss_ca_file));

    json_t *skills = json_array();
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT skill_id, client_id, endpoint, stage, marketplace, enabled"
                                      " FROM skills ORDER BY skill_id",
                                      "");
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        json_t *secret = json_object_get(secrets, id);
        json_array_append_new(skills, json_pack("{s:s, s:s, s:O?, s:s, s:s, s:s, s:b}", "skill_id", id, "client_id",
                                                (const char *)sqlite3_column_text(st, 1), "client_secret", secret,
                                                "endpoint", (const char *)sqlite3_column_text(st, 2), "stage",
                                                (const char *)sqlite3_column_text(st, 3), "marketplace",
                                                (const char *)sqlite3_column_text(st, 4), "enabled",
                                                sqlite3_column_int(st, 5)));
    }
    sqlite3_finalize(st);
    json_object_set_new(doc, "skills", skills);

    json_t *customers = json_array();
    st = wss_db_prepare(s->db, "SELECT customer_id, name FROM customers ORDER BY created_ms, customer_id", "");
    while (st && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(customers,
                              json_pack("{s:s, s:s}", "customer_id", (const char *)sqlite3_column_text(st, 0), "name",
                                        (const char *)sqlite3_column_text(st, 1)));
    sqlite3_finalize(st);
    json_object_set_new(doc, "customers", customers);
    return doc;
}

static wss_err prepare_state(sim *s, json_t **secrets_out, json_t **old_out, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/credentials.json", s->state_dir);
    char *old_text = NULL;
    json_t *old = NULL;
    if (wss_read_file(path, CREDENTIALS_MAX_BYTES, &old_text, NULL) == WSS_OK)
        old = json_loads(old_text, 0, NULL);
    free(old_text);

    sim_lock(s);
    int bad = sim_begin(s);
    for (size_t i = 0; !bad && i < s->cfg.nskills; i++)
        if (upsert_skill(s, &s->cfg.skills[i]) != 0) {
            snprintf(err, errlen, "skill %s: %s", s->cfg.skills[i].skill_id, sqlite3_errmsg(s->db));
            bad = 1;
        }
    json_t *secrets = previous_secrets(s, old);
    for (size_t i = 0; i < s->cfg.nskills; i++)
        json_object_set_new(secrets, s->cfg.skills[i].skill_id, json_string(s->cfg.skills[i].client_secret));
    if (!bad && count_rows(s, "skills") == 0 && create_default_skill(s, secrets) != 0) {
        snprintf(err, errlen, "cannot create the default skill: %s", sqlite3_errmsg(s->db));
        bad = 1;
    }
    for (size_t i = 0; !bad && i < s->cfg.ncustomers; i++)
        bad = apply_customer(s, &s->cfg.customers[i], err, errlen);
    if (!bad && count_rows(s, "customers") == 0 && create_default_customer(s) != 0) {
        snprintf(err, errlen, "cannot create the default customer: %s", sqlite3_errmsg(s->db));
        bad = 1;
    }
    if (!bad && s->cfg.faults) {
        wss_db_run(s->db, "DELETE FROM faults WHERE origin = 'config'", "");
        size_t i;
        json_t *rule;
        json_array_foreach(s->cfg.faults, i, rule)
        {
            char why[256];
            if (sim_faults_add(s, rule, "config", why, sizeof why) < 0) {
                snprintf(err, errlen, "faults[%zu]: %s", i, why);
                bad = 1;
                break;
            }
        }
    }
    if (!bad && sim_commit(s) != 0) {
        snprintf(err, errlen, "cannot commit the configuration: %s", sqlite3_errmsg(s->db));
        bad = 1;
    }
    if (bad)
        sim_rollback(s);
    sim_unlock(s);
    if (bad) {
        json_decref(old);
        json_decref(secrets);
        return WSS_ERR_CONFIG;
    }
    *secrets_out = secrets;
    *old_out = old;
    return WSS_OK;
}

/* Writes credentials.json; `old` is the previous document (may be NULL),
 * whose control token is kept while the store still knows its digest. */
static wss_err write_credentials(sim *s, json_t *secrets, json_t *old, char *err, size_t errlen)
{
    sim_lock(s);
    char *control = control_token(s, old);
    json_t *doc = control ? credentials_document(s, secrets, control) : NULL;
    sim_unlock(s);
    if (control) {
        memset(control, 0, strlen(control));
        free(control);
    }
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text)
        return WSS_ERR_NOMEM;
    char path[4200];
    snprintf(path, sizeof path, "%s/credentials.json", s->state_dir);
    size_t len = strlen(text);
    text[len] = 0;
    wss_err rc = wss_write_file_atomic(path, text, len, 0600);
    memset(text, 0, len);
    free(text);
    if (rc != WSS_OK)
        snprintf(err, errlen, "cannot write %s: %s", path, wss_strerror(rc));
    return rc;
}

static wss_err start_http(sim *s, const char *host, int port, char *err, size_t errlen)
{
    /* The server's limit covers every route; the gateway applies max_event_bytes itself. */
    size_t max_body =
        (size_t)s->cfg.max_event_bytes > SERVER_MAX_BODY ? (size_t)s->cfg.max_event_bytes : SERVER_MAX_BODY;
    wss_http_options ho = {.host = host, .port = port, .max_body = max_body};
    char *cert = NULL, *key = NULL;
    if (!s->plain_http) {
        const char *hosts[] = {host, "localhost", "127.0.0.1", "::1", NULL};
        wss_err rc = wss_tls_ensure(s->state_dir, hosts, err, errlen);
        if (rc != WSS_OK)
            return rc;
        char path[4200];
        snprintf(path, sizeof path, "%s/server.pem", s->state_dir);
        wss_read_file(path, 1 << 20, &cert, NULL);
        snprintf(path, sizeof path, "%s/server-key.pem", s->state_dir);
        wss_read_file(path, 1 << 20, &key, NULL);
        /* Absolute, so that credentials.json works from any working directory. */
        char *abs_dir = realpath(s->state_dir, NULL);
        snprintf(s->ca_file, sizeof s->ca_file, "%s/ca.pem", abs_dir ? abs_dir : s->state_dir);
        free(abs_dir);
        if (!cert || !key) {
            free(cert);
            free(key);
            snprintf(err, errlen, "cannot read the server certificate or key in %s", s->state_dir);
            return WSS_ERR_IO;
        }
        ho.tls_cert_pem = cert;
        ho.tls_key_pem = key;
    }
    wss_err rc = wss_http_start(&ho, route, s, &s->http, err, errlen);
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    free(cert);
    if (rc != WSS_OK)
        return rc;
    int bracket = strchr(host, ':') != NULL;
    snprintf(s->base_url, sizeof s->base_url, "%s://%s%s%s:%d", s->plain_http ? "http" : "https", bracket ? "[" : "",
             host, bracket ? "]" : "", wss_http_port(s->http));
    return WSS_OK;
}

/* The DSS listener: dss_listen, else the main listener's host on a free port. */
static wss_err start_dss(sim *s, const char *dss_listen, const char *main_host, char *err, size_t errlen)
{
    char host[256];
    int port = 0;
    snprintf(host, sizeof host, "%s", main_host);
    if (dss_listen && wss_http_parse_listen(dss_listen, host, &port) != WSS_OK) {
        snprintf(err, errlen, "bad DSS listen address \"%s\": use HOST:PORT", dss_listen);
        return WSS_ERR_INVALID;
    }
    return sim_dss_start(s, host, port, err, errlen);
}

wss_err wss_sim_start(const wss_sim_options *opts, wss_sim **out, char *err, size_t errlen)
{
    if (!opts || !opts->state_dir || !*opts->state_dir) {
        snprintf(err, errlen, "a state directory is required");
        return WSS_ERR_INVALID;
    }
    char host[256];
    int port;
    if (wss_http_parse_listen(opts->listen ? opts->listen : "127.0.0.1:8443", host, &port) != WSS_OK) {
        snprintf(err, errlen, "bad listen address \"%s\": use HOST:PORT", opts->listen);
        return WSS_ERR_INVALID;
    }
    if (wss_mkdir(opts->state_dir) != WSS_OK) {
        snprintf(err, errlen, "cannot create state directory %s: %s", opts->state_dir, strerror(errno));
        return WSS_ERR_IO;
    }
    sim *s = calloc(1, sizeof *s);
    if (!s)
        return WSS_ERR_NOMEM;
    s->state_dir = strdup(opts->state_dir);
    s->plain_http = opts->plain_http;
    pthread_mutex_init(&s->wake_lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    sim_config_defaults(&s->cfg);
    json_t *secrets = NULL, *old = NULL;
    wss_err rc = WSS_OK;
    if (opts->config_path)
        rc = sim_config_load(opts->config_path, &s->cfg, err, errlen);
    if (rc == WSS_OK)
        rc = sim_store_open(s, err, errlen);
    if (rc == WSS_OK)
        rc = prepare_state(s, &secrets, &old, err, errlen);
    if (rc == WSS_OK && !(s->ratelimit = sim_ratelimit_new()))
        rc = WSS_ERR_NOMEM;
    if (rc == WSS_OK)
        rc = sim_dss_key_load(s, err, errlen);
    if (rc == WSS_OK)
        rc = start_http(s, host, port, err, errlen);
    if (rc == WSS_OK)
        rc = start_dss(s, opts->dss_listen, host, err, errlen);
    if (rc == WSS_OK && (rc = sim_dispatch_start(s)) != WSS_OK)
        snprintf(err, errlen, "cannot start the directive dispatcher");
    if (rc == WSS_OK)
        rc = write_credentials(s, secrets, old, err, errlen);
    json_decref(secrets);
    json_decref(old);
    if (rc != WSS_OK) {
        wss_sim_stop(s);
        return rc;
    }
    wss_log(WSS_LOG_INFO, "sim", "listening on %s, Device Setup Service on %s (state in %s)", s->base_url, s->dss_url,
            s->state_dir);
    *out = s;
    return WSS_OK;
}

const char *wss_sim_base_url(const wss_sim *s) { return s ? s->base_url : ""; }

void wss_sim_stop(wss_sim *s)
{
    if (!s)
        return;
    wss_http_stop(s->http);
    s->http = NULL;
    sim_dss_stop(s);
    sim_dispatch_stop(s);
    sim_ratelimit_free(s->ratelimit);
    if (s->db)
        sim_store_close(s);
    sim_config_free(&s->cfg);
    sim_dss_key_free(s);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->wake_lock);
    free(s->state_dir);
    free(s);
}

/* control.c - the emulator's control API under /control/v1/.
 *
 * What a test or a maker uses to set the world up and look at it: customers
 * and their Wi-Fi locker, the manufacturer's control log (device public
 * keys), purchases (the fulfilment scan of the package barcode), skill
 * enablement, session tokens (the Device Setup Service issues them too),
 * faults, the clock, directives sent to a skill on demand, and read-outs of
 * associations, discovered endpoints, per-skill directive outcomes and the
 * event log. Every call needs the
 * control token from credentials.json as a bearer token. JSON keys are
 * snake_case; errors are {"error": "..."} with a 4xx status. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/log.h"
#include "sim/internal.h"
#include "sim/validate.h"

#define MAX_SEGMENTS 6

typedef struct route_ctx {
    sim *s;
    const wss_http_request *req;
    wss_http_response *resp;
    char *seg[MAX_SEGMENTS];
    int nseg;
    json_t *body; /* parsed body for POST/PUT/PATCH */
} route_ctx;

static void ok(route_ctx *c, int status, json_t *body) { wss_http_reply_json(c->resp, status, body); }

static int is(route_ctx *c, const char *method, int nseg, const char *s0, const char *s2)
{
    return strcmp(c->req->method, method) == 0 && c->nseg == nseg && strcmp(c->seg[0], s0) == 0 &&
           (!s2 || (nseg > 2 && strcmp(c->seg[2], s2) == 0));
}

static const char *str(route_ctx *c, const char *key)
{
    json_t *v = json_object_get(c->body, key);
    const char *s = json_string_value(v);
    if (s && strlen(s) != json_string_length(v))
        return NULL; /* embedded NUL */
    return s && *s ? s : NULL;
}

static long long now(route_ctx *c) { return sim_now_ms_locked(c->s); }

static int type_matches(const json_t *v, char type)
{
    switch (type) {
    case 's': return json_is_string(v);
    case 'i': return json_is_integer(v);
    case 'n': return json_is_number(v);
    case 'b': return json_is_boolean(v);
    default: return 0;
    }
}

/* Checks the body against spec, a space-separated list of "key:type" (type
 * s string, i integer, n number, b boolean): unknown keys and wrong types are
 * refused with 400, so a typo never passes silently. Returns 1 when the body
 * is acceptable. */
static int body_matches(route_ctx *c, const char *spec)
{
    static const char *const type_names[] = {
        ['s'] = "a string", ['i'] = "an integer", ['n'] = "a number", ['b'] = "true or false"};
    const char *key;
    json_t *v;
    json_object_foreach(c->body, key, v)
    {
        size_t klen = strlen(key);
        const char *p = spec;
        char type = 0;
        while (*p && !type) {
            const char *colon = strchr(p, ':');
            if (!colon)
                break;
            if ((size_t)(colon - p) == klen && strncmp(p, key, klen) == 0)
                type = colon[1];
            p = colon + 2;
            while (*p == ' ')
                p++;
        }
        if (!type) {
            wss_http_reply_error(c->resp, 400, "unknown key \"%.64s\"", key);
            return 0;
        }
        if (!type_matches(v, type)) {
            wss_http_reply_error(c->resp, 400, "\"%s\" must be %s", key, type_names[(unsigned char)type]);
            return 0;
        }
    }
    return 1;
}

/* Customer ids look like Amazon's ("amzn1.account.AEXAMPLE"): 1..128 letters,
 * digits and . _ - : @ */
static int customer_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("._-:@", ch)))
            return 0;
    }
    return 1;
}

static int exists(sim *s, const char *sql, const char *value)
{
    sqlite3_stmt *st = wss_db_prepare(s->db, sql, "t", value);
    int found = st && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static json_t *rows(sqlite3_stmt *st, const char *const *json_cols) { return sim_rows(st, json_cols); }

json_t *sim_rows(sqlite3_stmt *st, const char *const *json_cols)
{
    json_t *list = json_array();
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        json_t *row = json_object();
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            json_t *v;
            int is_json = 0;
            for (const char *const *j = json_cols; j && *j; j++)
                is_json |= strcmp(*j, name) == 0;
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
            case SQLITE_FLOAT: v = json_real(sqlite3_column_double(st, i)); break;
            case SQLITE_NULL: v = json_null(); break;
            default:
                v = is_json ? json_loads((const char *)sqlite3_column_text(st, i), 0, NULL)
                            : json_string((const char *)sqlite3_column_text(st, i));
                if (!v)
                    v = json_null();
            }
            json_object_set_new(row, name, v);
        }
        json_array_append_new(list, row);
    }
    sqlite3_finalize(st);
    return list;
}

/* --- customers and their Wi-Fi locker --- */

static void customers_create(route_ctx *c)
{
    if (!body_matches(c, "customer_id:s name:s"))
        return;
    const char *id = str(c, "customer_id");
    const char *name = str(c, "name");
    char generated[64];
    if (!id) {
        char uuid[37];
        wss_uuid4(uuid);
        snprintf(generated, sizeof generated, "amzn1.account.%.8s%.4s", uuid, uuid + 9);
        id = generated;
    }
    if (!customer_id_valid(id)) {
        wss_http_reply_error(c->resp, 400, "customer_id must be 1..128 letters, digits or . _ - : @");
        return;
    }
    if (exists(c->s, "SELECT 1 FROM customers WHERE customer_id = ?", id)) {
        wss_http_reply_error(c->resp, 409, "customer %s already exists", id);
        return;
    }
    if (wss_db_run(c->s->db, "INSERT INTO customers (customer_id, name, created_ms) VALUES (?,?,?)", "tti", id,
                   name ? name : id, now(c)) < 0) {
        wss_http_reply_error(c->resp, 500, "cannot store the customer");
        return;
    }
    sim_event(c->s, "customer.created", json_pack("{s:s}", "customer_id", id));
    ok(c, 201, json_pack("{s:s, s:s}", "customer_id", id, "name", name ? name : id));
}

static void wifi_add(route_ctx *c)
{
    if (!body_matches(c, "ssid:s security_protocol:s key:s priority:i"))
        return;
    const char *cid = c->seg[1];
    const char *ssid = str(c, "ssid");
    const char *sec = str(c, "security_protocol");
    const char *key = str(c, "key");
    json_t *prio = json_object_get(c->body, "priority");
    if (!exists(c->s, "SELECT 1 FROM customers WHERE customer_id = ?", cid)) {
        wss_http_reply_error(c->resp, 404, "no customer %s", cid);
        return;
    }
    if (!ssid || strlen(ssid) > 32 || !sec ||
        (strcmp(sec, "OPEN") && strcmp(sec, "WPA_PSK") && strcmp(sec, "WEP") && strcmp(sec, "OTHER")) ||
        (strcmp(sec, "OPEN") != 0 && !key) || (prio && !json_is_integer(prio))) {
        wss_http_reply_error(c->resp, 400,
                             "need ssid (1..32 bytes), security_protocol (OPEN, WPA_PSK, WEP, OTHER), key unless OPEN,"
                             " and an integer priority");
        return;
    }
    wss_db_run(c->s->db,
               "INSERT OR REPLACE INTO wifi_locker (customer_id, ssid, security, key, priority) VALUES (?,?,?,?,?)",
               "tttti", cid, ssid, sec, key, (long long)json_integer_value(prio));
    sim_event(c->s, "wifi_locker.saved", json_pack("{s:s, s:s}", "customer_id", cid, "ssid", ssid));
    ok(c, 201,
       json_pack("{s:s, s:s, s:s, s:I}", "customer_id", cid, "ssid", ssid, "security_protocol", sec, "priority",
                 (json_int_t)json_integer_value(prio)));
}

wss_err sim_link_skill(sim *s, const char *customer_id, const char *skill_id, const char *access_token, char *why,
                       size_t whylen)
{
    sim_skill_row skill;
    if (sim_skill_by_id(s, skill_id, &skill) != WSS_OK) {
        snprintf(why, whylen, "no skill %s", skill_id);
        return WSS_ERR_NOT_FOUND;
    }
    if (!exists(s, "SELECT 1 FROM customers WHERE customer_id = ?", customer_id)) {
        snprintf(why, whylen, "no customer %s", customer_id);
        return WSS_ERR_NOT_FOUND;
    }
    if (wss_db_run(s->db,
                   "INSERT INTO skill_links (customer_id, skill_id, enabled, access_token, updated_ms)"
                   " VALUES (?,?,1,?,?) ON CONFLICT DO UPDATE SET enabled = 1,"
                   " access_token = excluded.access_token, updated_ms = excluded.updated_ms",
                   "ttti", customer_id, skill_id, access_token, sim_now_ms_locked(s)) < 0) {
        snprintf(why, whylen, "cannot store the skill link");
        return WSS_ERR_STORE;
    }
    sim_event(s, "skill.enabled", json_pack("{s:s, s:s}", "customer_id", customer_id, "skill_id", skill_id));
    sim_dispatch_on_skill_enabled(s, customer_id, skill_id);
    return WSS_OK;
}

static void skill_enable(route_ctx *c)
{
    if (!body_matches(c, "access_token:s"))
        return;
    const char *token = str(c, "access_token");
    char why[256];
    if (!token || strlen(token) > 4096) {
        wss_http_reply_error(c->resp, 400,
                             "access_token (the maker's token from account linking, 1..4096 bytes) is required");
        return;
    }
    wss_err rc = sim_link_skill(c->s, c->seg[1], c->seg[3], token, why, sizeof why);
    if (rc != WSS_OK) {
        wss_http_reply_error(c->resp, rc == WSS_ERR_NOT_FOUND ? 404 : 500, "%s", why);
        return;
    }
    ok(c, 200, json_pack("{s:s, s:s, s:b}", "customer_id", c->seg[1], "skill_id", c->seg[3], "enabled", 1));
}

static void skill_disable(route_ctx *c)
{
    int n = wss_db_run(c->s->db,
                       "UPDATE skill_links SET enabled = 0, updated_ms = ? WHERE customer_id = ? AND skill_id = ?",
                       "itt", now(c), c->seg[1], c->seg[3]);
    if (n <= 0) {
        wss_http_reply_error(c->resp, 404, "customer %s has no link to skill %s", c->seg[1], c->seg[3]);
        return;
    }
    sim_lwa_revoke_customer(c->s, c->seg[3], c->seg[1]);
    sim_event(c->s, "skill.disabled", json_pack("{s:s, s:s}", "customer_id", c->seg[1], "skill_id", c->seg[3]));
    ok(c, 200, json_pack("{s:s, s:s, s:b}", "customer_id", c->seg[1], "skill_id", c->seg[3], "enabled", 0));
}

/* --- skills --- */

static void skill_update(route_ctx *c)
{
    if (!body_matches(c, "endpoint:s endpoint_ca_file:s stage:s enabled:b"))
        return;
    sim_skill_row skill;
    if (sim_skill_by_id(c->s, c->seg[1], &skill) != WSS_OK) {
        wss_http_reply_error(c->resp, 404, "no skill %s", c->seg[1]);
        return;
    }
    const char *endpoint = str(c, "endpoint");
    const char *ca = str(c, "endpoint_ca_file");
    const char *stage = str(c, "stage");
    json_t *enabled = json_object_get(c->body, "enabled");
    if ((endpoint && strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8)) ||
        (stage && strcmp(stage, "live") && strcmp(stage, "development")) || (enabled && !json_is_boolean(enabled))) {
        wss_http_reply_error(c->resp, 400,
                             "endpoint must be an http(s) URL, stage live or development, enabled a boolean");
        return;
    }
    wss_db_run(c->s->db,
               "UPDATE skills SET endpoint = coalesce(?, endpoint), endpoint_ca_file = coalesce(?, endpoint_ca_file),"
               " stage = coalesce(?, stage), enabled = coalesce(?, enabled) WHERE skill_id = ?",
               "ttttt", endpoint, ca, stage, enabled ? (json_is_true(enabled) ? "1" : "0") : NULL, c->seg[1]);
    sim_event(c->s, "skill.updated", json_pack("{s:s}", "skill_id", c->seg[1]));
    json_t *list = rows(wss_db_prepare(c->s->db,
                                       "SELECT skill_id, client_id, endpoint, endpoint_ca_file, stage, marketplace,"
                                       " enabled FROM skills WHERE skill_id = ?",
                                       "t", c->seg[1]),
                        NULL);
    ok(c, 200, json_incref(json_array_get(list, 0)));
    json_decref(list);
}

static void skill_requests(route_ctx *c)
{
    sim_skill_row skill;
    if (sim_skill_by_id(c->s, c->seg[1], &skill) != WSS_OK) {
        wss_http_reply_error(c->resp, 404, "no skill %s", c->seg[1]);
        return;
    }
    const char *since = wss_http_query(c->req, "since_ms");
    const char *until = wss_http_query(c->req, "until_ms");
    const char *after = wss_http_query(c->req, "after_id");
    const char *limit = wss_http_query(c->req, "limit");
    long long from = since ? strtoll(since, NULL, 10) : 0;
    long long to = until ? strtoll(until, NULL, 10) : 9223372036854775807LL;
    long long after_id = after ? strtoll(after, NULL, 10) : 0;
    long long lim = limit ? strtoll(limit, NULL, 10) : 10000;
    if (lim <= 0 || lim > 10000)
        lim = 10000;
    sqlite3_stmt *st = wss_db_prepare(c->s->db,
                                      "SELECT count(*), sum(outcome = 'ok'), sum(outcome = 'error'),"
                                      " sum(outcome = 'invalid') FROM skill_requests WHERE skill_id = ?"
                                      " AND at_ms >= ? AND at_ms < ?",
                                      "tii", c->seg[1], from, to);
    json_t *out = json_object();
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        json_object_set_new(out, "requests", json_integer(sqlite3_column_int64(st, 0)));
        json_object_set_new(out, "ok", json_integer(sqlite3_column_int64(st, 1)));
        json_object_set_new(out, "errors", json_integer(sqlite3_column_int64(st, 2)));
        json_object_set_new(out, "invalid_responses", json_integer(sqlite3_column_int64(st, 3)));
    }
    sqlite3_finalize(st);
    json_object_set_new(out, "skill_id", json_string(c->seg[1]));
    /* The counts above cover the time window; the records also start after
     * after_id and stop at limit, so that a reader can page through them by id. */
    json_object_set_new(out, "records",
                        rows(wss_db_prepare(c->s->db,
                                            "SELECT id, at_ms, directive, outcome, http_status, reason"
                                            " FROM skill_requests WHERE skill_id = ? AND at_ms >= ?"
                                            " AND at_ms < ? AND id > ? ORDER BY id LIMIT ?",
                                            "tiiii", c->seg[1], from, to, after_id, lim),
                             NULL));
    ok(c, 200, out);
}

/* POST /skills/{id}/directives {"customer_id", "name": "Discover", "count"}:
 * traffic on demand, sent now and judged like any other directive. */
static void skill_directives(route_ctx *c)
{
    if (!body_matches(c, "customer_id:s name:s count:i"))
        return;
    const char *cid = str(c, "customer_id");
    const char *name = str(c, "name");
    json_t *count = json_object_get(c->body, "count");
    long long n = count ? json_integer_value(count) : 1;
    if (!cid || !name || n < 1 || n > 1000) {
        wss_http_reply_error(c->resp, 400, "need customer_id, name (\"Discover\") and a count from 1 to 1000");
        return;
    }
    int status = 500;
    char why[300];
    json_t *out = sim_dispatch_now(c->s, c->seg[1], cid, name, n, &status, why, sizeof why);
    if (!out) {
        wss_http_reply_error(c->resp, status, "%s", why);
        return;
    }
    json_object_set_new(out, "skill_id", json_string(c->seg[1]));
    json_object_set_new(out, "customer_id", json_string(cid));
    json_object_set_new(out, "name", json_string(name));
    ok(c, 200, out);
}

/* --- devices, purchases, session tokens --- */

static void devices_register(route_ctx *c)
{
    if (!body_matches(c, "dsn:s public_key:s product_index:s"))
        return;
    const char *dsn = str(c, "dsn");
    const char *pid = str(c, "product_index");
    char why[300];
    if (sim_device_store(c->s, dsn, str(c, "public_key"), pid, why, sizeof why) != 0) {
        wss_http_reply_error(c->resp, 400, "%s", why);
        return;
    }
    ok(c, 201, json_pack("{s:s, s:s?}", "dsn", dsn, "product_index", pid));
}

int sim_device_store(sim *s, const char *dsn, const char *pk, const char *pid, char *why, size_t whylen)
{
    char reason[256];
    wss_crypto_key *key = NULL;
    if (!dsn || strlen(dsn) > 64 || !wss_alexa_id_valid(dsn)) {
        snprintf(why, whylen, "dsn (device serial number, 1..64 letters, digits or _-=#;:?@&) is required");
        return -1;
    }
    if (pid && strlen(pid) > 64) {
        snprintf(why, whylen, "product_index must be at most 64 bytes");
        return -1;
    }
    if (!pk || wss_key_parse_public(pk, &key, reason, sizeof reason) != WSS_OK) {
        snprintf(why, whylen, "public_key must be a P-256 public key (PEM or base64 DER): %s", pk ? reason : "missing");
        return -1;
    }
    wss_key_free(key);
    /* The setup network names a device by ami (docs/dss.md section 2); it is
     * kept with the device so that a probe finds it by index. */
    uint8_t ami[9];
    char ami_hex[19];
    if (sim_dss_ami(pk, ami) != WSS_OK) {
        snprintf(why, whylen, "public_key cannot be hashed into its setup network id");
        return -1;
    }
    sim_hex(ami, sizeof ami, ami_hex);
    if (wss_db_run(s->db,
                   "INSERT INTO devices (dsn, product_index, public_key, registered_ms, ami) VALUES (?,?,?,?,?)"
                   " ON CONFLICT DO UPDATE SET product_index = excluded.product_index,"
                   " public_key = excluded.public_key, ami = excluded.ami",
                   "tttit", dsn, pid, pk, sim_now_ms_locked(s), ami_hex) < 0) {
        snprintf(why, whylen, "cannot store the device");
        return -1;
    }
    sim_event(s, "device.registered", json_pack("{s:s, s:s?}", "dsn", dsn, "product_index", pid));
    return 0;
}

static void purchases_record(route_ctx *c)
{
    if (!body_matches(c, "dsn:s customer_id:s"))
        return;
    const char *dsn = str(c, "dsn");
    const char *cid = str(c, "customer_id");
    if (!dsn || !cid) {
        wss_http_reply_error(c->resp, 400, "dsn and customer_id are required");
        return;
    }
    if (!exists(c->s, "SELECT 1 FROM devices WHERE dsn = ?", dsn)) {
        wss_http_reply_error(c->resp, 404, "device %s is not in the control log: register its key first", dsn);
        return;
    }
    if (!exists(c->s, "SELECT 1 FROM customers WHERE customer_id = ?", cid)) {
        wss_http_reply_error(c->resp, 404, "no customer %s", cid);
        return;
    }
    wss_db_run(c->s->db,
               "INSERT INTO purchases (dsn, customer_id, purchased_ms) VALUES (?,?,?) ON CONFLICT DO UPDATE"
               " SET customer_id = excluded.customer_id, purchased_ms = excluded.purchased_ms",
               "tti", dsn, cid, now(c));
    sim_event(c->s, "purchase.recorded", json_pack("{s:s, s:s}", "dsn", dsn, "customer_id", cid));
    ok(c, 201, json_pack("{s:s, s:s}", "dsn", dsn, "customer_id", cid));
}

static void session_token_issue(route_ctx *c)
{
    if (!body_matches(c, "dsn:s"))
        return;
    const char *dsn = str(c, "dsn");
    if (!dsn || !exists(c->s, "SELECT 1 FROM devices WHERE dsn = ?", dsn)) {
        wss_http_reply_error(c->resp, dsn ? 404 : 400, "dsn of a registered device is required");
        return;
    }
    char uuid[37], token[80];
    wss_uuid4(uuid);
    snprintf(token, sizeof token, "amzn1.ffs.wss-wifi-session-token.%s", uuid);
    wss_db_run(c->s->db, "INSERT INTO session_tokens (token, dsn, issued_ms) VALUES (?,?,?)", "tti", token, dsn,
               now(c));
    sim_event(c->s, "session_token.issued", json_pack("{s:s}", "dsn", dsn));
    ok(c, 201, json_pack("{s:s, s:s}", "dsn", dsn, "session_token", token));
}

/* --- faults, clock, read-outs --- */

static void faults_add(route_ctx *c)
{
    char why[256];
    long long id = sim_faults_add(c->s, c->body, "control", why, sizeof why);
    if (id < 0) {
        wss_http_reply_error(c->resp, 400, "%s", why);
        return;
    }
    sim_event(c->s, "fault.added", json_pack("{s:I}", "id", (json_int_t)id));
    ok(c, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

static void clock_move(route_ctx *c)
{
    if (!body_matches(c, "advance_s:n"))
        return;
    json_t *adv = json_object_get(c->body, "advance_s");
    if (!json_is_number(adv) || json_number_value(adv) < 0 || json_number_value(adv) > 100.0 * 365 * 86400) {
        wss_http_reply_error(c->resp, 400,
                             "advance_s must be a number of seconds from 0 to 100 years (the clock never goes back)");
        return;
    }
    sim_unlock(c->s);
    wss_err rc = sim_clock_advance(c->s, (long long)(json_number_value(adv) * 1000));
    sim_lock(c->s);
    if (rc != WSS_OK) {
        wss_http_reply_error(c->resp, 500, "cannot move the clock");
        return;
    }
    ok(c, 200, json_pack("{s:I}", "now_ms", (json_int_t)now(c)));
}

static void events_list(route_ctx *c)
{
    const char *after = wss_http_query(c->req, "after");
    const char *limit = wss_http_query(c->req, "limit");
    const char *kind = wss_http_query(c->req, "kind");
    long long lim = limit ? strtoll(limit, NULL, 10) : 1000;
    if (lim <= 0 || lim > 10000)
        lim = 1000;
    static const char *const json_cols[] = {"details", NULL};
    ok(c, 200,
       json_pack("{s:o}", "events",
                 rows(wss_db_prepare(c->s->db,
                                     "SELECT seq, at_ms, kind, details FROM event_log WHERE seq > ?"
                                     " AND (? IS NULL OR kind = ?) ORDER BY seq LIMIT ?",
                                     "itti", after ? strtoll(after, NULL, 10) : 0LL, kind, kind, lim),
                      json_cols)));
}

static void counters(route_ctx *c)
{
    json_t *out = json_object();
    sqlite3_stmt *st =
        wss_db_prepare(c->s->db, "SELECT count(*), coalesce(sum(duplicates), 0) FROM gateway_messages", "");
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        json_object_set_new(out, "gateway_messages_accepted", json_integer(sqlite3_column_int64(st, 0)));
        json_object_set_new(out, "gateway_duplicates", json_integer(sqlite3_column_int64(st, 1)));
    }
    sqlite3_finalize(st);
    json_t *states = json_object();
    st = wss_db_prepare(c->s->db, "SELECT state, count(*) FROM associations GROUP BY state", "");
    while (st && sqlite3_step(st) == SQLITE_ROW)
        json_object_set_new(states, (const char *)sqlite3_column_text(st, 0),
                            json_integer(sqlite3_column_int64(st, 1)));
    sqlite3_finalize(st);
    json_object_set_new(out, "associations", states);
    json_object_set_new(
        out, "skills",
        rows(wss_db_prepare(
                 c->s->db,
                 "SELECT skill_id, count(*) AS requests, sum(outcome = 'ok') AS ok, sum(outcome = 'error') AS errors,"
                 " sum(outcome = 'invalid') AS invalid_responses FROM skill_requests GROUP BY skill_id",
                 ""),
             NULL));
    ok(c, 200, out);
}

static void route_locked(route_ctx *c)
{
    sim *s = c->s;
    static const char *const assoc_json[] = {"naming_categories", NULL};
    static const char *const ep_json[] = {"display_categories", "endpoint", NULL};
    static const char *const fault_json[] = {"schedule", NULL};
    (void)fault_json;
    const char *cust = wss_http_query(c->req, "customer_id");
    if (is(c, "GET", 1, "customers", NULL))
        ok(c, 200,
           json_pack("{s:o}", "customers",
                     rows(wss_db_prepare(s->db,
                                         "SELECT customer_id, name, created_ms FROM"
                                         " customers ORDER BY created_ms",
                                         ""),
                          NULL)));
    else if (is(c, "POST", 1, "customers", NULL))
        customers_create(c);
    else if (is(c, "POST", 3, "customers", "wifi"))
        wifi_add(c);
    else if (is(c, "GET", 3, "customers", "wifi") &&
             !exists(s, "SELECT 1 FROM customers WHERE customer_id = ?", c->seg[1]))
        wss_http_reply_error(c->resp, 404, "no customer %s", c->seg[1]);
    else if (is(c, "GET", 3, "customers", "wifi"))
        ok(c, 200,
           json_pack("{s:o}", "wifi",
                     rows(wss_db_prepare(s->db,
                                         "SELECT ssid, security AS security_protocol,"
                                         " priority FROM wifi_locker WHERE customer_id = ?"
                                         " ORDER BY priority DESC, ssid",
                                         "t", c->seg[1]),
                          NULL)));
    else if (is(c, "PUT", 4, "customers", "skills"))
        skill_enable(c);
    else if (is(c, "DELETE", 4, "customers", "skills"))
        skill_disable(c);
    else if (is(c, "GET", 1, "skills", NULL))
        ok(c, 200,
           json_pack("{s:o}", "skills",
                     rows(wss_db_prepare(s->db,
                                         "SELECT skill_id, client_id, endpoint,"
                                         " endpoint_ca_file, stage, marketplace, enabled"
                                         " FROM skills ORDER BY skill_id",
                                         ""),
                          NULL)));
    else if (is(c, "PATCH", 2, "skills", NULL))
        skill_update(c);
    else if (is(c, "GET", 3, "skills", "requests"))
        skill_requests(c);
    else if (is(c, "POST", 3, "skills", "directives"))
        skill_directives(c);
    else if (is(c, "POST", 1, "devices", NULL))
        devices_register(c);
    else if (is(c, "GET", 1, "devices", NULL))
        ok(c, 200,
           json_pack("{s:o}", "devices",
                     rows(wss_db_prepare(s->db,
                                         "SELECT d.dsn, d.product_index, d.registered_ms,"
                                         " p.customer_id FROM devices d LEFT JOIN purchases p"
                                         " ON p.dsn = d.dsn ORDER BY d.dsn",
                                         ""),
                          NULL)));
    else if (is(c, "POST", 1, "purchases", NULL))
        purchases_record(c);
    else if (is(c, "POST", 1, "session-tokens", NULL))
        session_token_issue(c);
    else if (is(c, "GET", 1, "associations", NULL))
        ok(c, 200,
           json_pack("{s:o}", "associations",
                     rows(wss_db_prepare(s->db,
                                         "SELECT id, device_id, dsn, customer_id, skill_id, naming_categories,"
                                         " friendly_name, state, detail, created_ms, expires_ms, updated_ms"
                                         " FROM associations WHERE (? IS NULL OR customer_id = ?) ORDER BY id",
                                         "tt", cust, cust),
                          assoc_json)));
    else if (is(c, "GET", 1, "alexa-devices", NULL))
        ok(c, 200,
           json_pack("{s:o}", "devices",
                     rows(wss_db_prepare(s->db,
                                         "SELECT customer_id, skill_id, endpoint_id, friendly_name,"
                                         " display_categories, endpoint, updated_ms FROM alexa_endpoints"
                                         " WHERE (? IS NULL OR customer_id = ?) ORDER BY customer_id, friendly_name",
                                         "tt", cust, cust),
                          ep_json)));
    else if (is(c, "GET", 1, "faults", NULL))
        ok(c, 200, json_pack("{s:o}", "faults", sim_faults_list(s)));
    else if (is(c, "POST", 1, "faults", NULL))
        faults_add(c);
    else if (is(c, "DELETE", 1, "faults", NULL)) {
        sim_faults_clear(s, -1);
        ok(c, 200, json_pack("{s:b}", "cleared", 1));
    } else if (is(c, "DELETE", 2, "faults", NULL)) {
        if (sim_faults_clear(s, strtoll(c->seg[1], NULL, 10)) <= 0)
            wss_http_reply_error(c->resp, 404, "no fault rule %s", c->seg[1]);
        else
            ok(c, 200, json_pack("{s:b}", "cleared", 1));
    } else if (is(c, "GET", 1, "clock", NULL)) {
        char *off = sim_meta_get(s, "clock_offset_ms");
        ok(c, 200,
           json_pack("{s:I, s:I}", "now_ms", (json_int_t)now(c), "offset_ms",
                     (json_int_t)(off ? strtoll(off, NULL, 10) : 0)));
        free(off);
    } else if (is(c, "POST", 1, "clock", NULL))
        clock_move(c);
    else if (is(c, "GET", 1, "events", NULL))
        events_list(c);
    else if (is(c, "GET", 1, "counters", NULL))
        counters(c);
    else if (is(c, "POST", 2, "devices", NULL) && strcmp(c->seg[1], "import") == 0)
        sim_devices_import(s, c->req, c->resp);
    else if (sim_dss_control(s, c->req, c->resp, c->seg, c->nseg, c->body))
        ;
    else
        wss_http_reply_error(c->resp, 404, "no control route %s %s", c->req->method, c->req->path);
}

static int authorized(sim *s, const wss_http_request *req)
{
    const char *auth = wss_http_header(req, "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    char sha[65];
    wss_sha256_hex(auth + 7, sha);
    sim_lock(s);
    char *expected = sim_meta_get(s, "control_token_sha");
    sim_unlock(s);
    int ok = expected && wss_ct_streq(sha, expected);
    free(expected);
    return ok;
}

void sim_control_handle(sim *s, const wss_http_request *req, wss_http_response *resp)
{
    route_ctx c = {.s = s, .req = req, .resp = resp};
    char why[256];
    if (!authorized(s, req)) {
        wss_http_reply_error(c.resp, 401,
                             "the control API needs the control_token from credentials.json as a bearer token");
        return;
    }
    if (req->body_too_large) {
        wss_http_reply_error(c.resp, 413, "request body too large");
        return;
    }
    char *path = strdup(req->path + strlen("/control/v1"));
    if (!path)
        return;
    for (char *save = NULL, *p = strtok_r(path, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (c.nseg == MAX_SEGMENTS) {
            wss_http_reply_error(c.resp, 404, "no such control route");
            free(path);
            return;
        }
        c.seg[c.nseg++] = p;
    }
    /* The control log import is JSON lines, not one object: its route reads the body itself. */
    int has_body =
        (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0) &&
        strcmp(req->path, "/control/v1/devices/import") != 0;
    if (c.nseg == 0)
        wss_http_reply_error(c.resp, 404, "no such control route");
    else if (has_body && !(c.body = req->body_len ? sim_parse_body(req, why, sizeof why) : json_object()))
        wss_http_reply_error(c.resp, 400, "%s", why);
    else {
        sim_lock(s);
        route_locked(&c);
        sim_unlock(s);
        sim_dispatch_wake(s);
    }
    json_decref(c.body);
    free(path);
}

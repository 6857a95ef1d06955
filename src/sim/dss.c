/* dss.c - the emulated Device Setup Service (docs/dss.md): its own HTTPS
 * listener with client certificates, POST /api/v1/<operation>, provisioning
 * sessions and their state table.
 *
 * Checks run cheapest first: the operation (404), the method and body size
 * (400, 413), injected faults (route "dss.<operation>", client = the DSN of
 * the client certificate), the client certificate (403), the body (400),
 * then, under the store lock, the session (401), the nonce (400) and the
 * state (409). Every answer, errors included, is signed with the DSS key in
 * x-amzn-dss-signature; every call is recorded with its TLS details. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/file.h"
#include "common/log.h"
#include "sim/dss_request.h"
#include "sim/internal.h"

#define API_PREFIX "/api/v1/"
#define PROVISIONER_HEADER "X-Openwss-Provisioner"
#define CA_FILE_MAX (1024u * 1024u)

typedef struct dss_call {
    sim *s;
    const wss_http_request *req;
    wss_http_response *resp;
    int op;
    char dsn[128];           /* the client certificate's serialNumber, else its CN; "" when too long */
    const char *provisioner; /* the X-Openwss-Provisioner header, or NULL */
    char session_id[160];    /* the session the call belongs to, "" when none */
    const char *error_code;  /* recorded with the call */
} dss_call;

typedef struct dss_session {
    char id[160];
    char dsn[128];
    char customer[256];
    char state[40];
    int op_done; /* the current state's operation was called */
    char token[128];
    long long started_ms, expires_ms;
} dss_session;

/* --- answers --- */

static void dss_error(dss_call *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void dss_error(dss_call *c, int status, const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    c->error_code = code;
    wss_http_reply_json(c->resp, status, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
}

static void dss_ok(dss_call *c, json_t *body)
{
    c->error_code = NULL;
    wss_http_reply_json(c->resp, 200, body);
}

static void iso8601(long long ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void copy_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(out, outlen, "%s", v ? (const char *)v : "");
}

/* --- who is calling --- */

/* 1 when the client certificate verified and its key is the one the control
 * log registered for its DSN. Needs db_lock. */
static int authenticated(dss_call *c)
{
    const wss_http_tls *t = &c->req->tls;
    if (!t->peer_cert_verified || !*c->dsn || !*t->peer_pubkey_b64)
        return 0;
    sqlite3_stmt *st = wss_db_prepare(c->s->db, "SELECT public_key FROM devices WHERE dsn = ?", "t", c->dsn);
    char *registered = st && sqlite3_step(st) == SQLITE_ROW ? wss_db_column_strdup(st, 0) : NULL;
    sqlite3_finalize(st);
    wss_crypto_key *key = NULL;
    char why[256];
    char *b64 = NULL;
    if (registered && wss_key_parse_public(registered, &key, why, sizeof why) == WSS_OK)
        b64 = wss_key_public_b64(key);
    int ok = b64 && wss_ct_streq(b64, t->peer_pubkey_b64);
    wss_key_free(key);
    free(b64);
    free(registered);
    return ok;
}

static void record_call(dss_call *c, int status)
{
    const wss_http_tls *t = &c->req->tls;
    wss_db_run(c->s->db,
               "INSERT INTO dss_calls (session_id, dsn, at_ms, operation, http_status, error_code, provisioner_id,"
               " tls_version, cipher, sni, client_subject, client_serial, client_cert_present, client_cert_verified)"
               " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               "ttititttttttii", *c->session_id ? c->session_id : NULL, *c->dsn ? c->dsn : NULL,
               sim_now_ms_locked(c->s), c->op >= 0 ? sim_dss_op_name(c->op) : c->req->path, (long long)status,
               c->error_code, c->provisioner, t->version, t->cipher, t->sni, t->peer_subject_cn, t->peer_serial,
               (long long)t->peer_cert_present, (long long)t->peer_cert_verified);
}

/* --- sessions --- */

static int load_session(dss_call *c, const char *id, dss_session *out)
{
    sqlite3_stmt *st = wss_db_prepare(c->s->db,
                                      "SELECT session_id, dsn, customer_id, state, op_done, session_token,"
                                      " started_ms, expires_ms FROM dss_sessions WHERE session_id = ?",
                                      "t", id);
    int found = st && sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        copy_text(st, 0, out->id, sizeof out->id);
        copy_text(st, 1, out->dsn, sizeof out->dsn);
        copy_text(st, 2, out->customer, sizeof out->customer);
        copy_text(st, 3, out->state, sizeof out->state);
        out->op_done = sqlite3_column_int(st, 4);
        copy_text(st, 5, out->token, sizeof out->token);
        out->started_ms = sqlite3_column_int64(st, 6);
        out->expires_ms = sqlite3_column_int64(st, 7);
    }
    sqlite3_finalize(st);
    return found;
}

static void set_state(dss_call *c, const dss_session *ses, const char *state, const char *result, const char *reason)
{
    wss_db_run(c->s->db,
               "UPDATE dss_sessions SET state = ?, op_done = 0, result = coalesce(?, result), reason = ?,"
               " updated_ms = ? WHERE session_id = ?",
               "tttit", state, result, reason, sim_now_ms_locked(c->s), ses->id);
}

static void mark_op_done(dss_call *c, const dss_session *ses)
{
    wss_db_run(c->s->db, "UPDATE dss_sessions SET op_done = 1, updated_ms = ? WHERE session_id = ?", "it",
               sim_now_ms_locked(c->s), ses->id);
}

/* 1 when the nonce is new in this session (and now remembered). */
static int fresh_nonce(dss_call *c, const char *session_id, const char *nonce)
{
    return wss_db_run(c->s->db, "INSERT INTO dss_nonces (session_id, nonce) VALUES (?,?) ON CONFLICT DO NOTHING", "tt",
                      session_id, nonce) == 1;
}

/* Locker entries of the customer matching a network posted in the session. */
static long long matched_credentials(dss_call *c, const dss_session *ses, long long *total)
{
    sqlite3_stmt *st = wss_db_prepare(c->s->db,
                                      "SELECT count(*), coalesce(sum(EXISTS (SELECT 1 FROM dss_scans d WHERE"
                                      " d.session_id = ? AND d.ssid = l.ssid AND d.security = l.security)), 0)"
                                      " FROM wifi_locker l WHERE l.customer_id = ?",
                                      "tt", ses->id, ses->customer);
    long long matched = 0;
    *total = 0;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        *total = sqlite3_column_int64(st, 0);
        matched = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return matched;
}

/* --- startProvisioningSession --- */

/* Why the device may not proceed ("" when it may); fills customer and provisioner. */
static const char *start_refusal(dss_call *c, char customer[256])
{
    customer[0] = 0;
    sqlite3_stmt *st = wss_db_prepare(c->s->db, "SELECT customer_id FROM purchases WHERE dsn = ?", "t", c->dsn);
    if (st && sqlite3_step(st) == SQLITE_ROW)
        copy_text(st, 0, customer, 256);
    sqlite3_finalize(st);
    if (!c->provisioner)
        return "NO_PROVISIONER";
    st = wss_db_prepare(c->s->db, "SELECT customer_id, online, band FROM provisioners WHERE provisioner_id = ?", "t",
                        c->provisioner);
    const char *reason = "NO_PROVISIONER";
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *owner = (const char *)sqlite3_column_text(st, 0);
        const char *band = (const char *)sqlite3_column_text(st, 2);
        if (!sqlite3_column_int(st, 1))
            reason = "PROVISIONER_OFFLINE";
        else if (band && strcmp(band, "5") == 0)
            reason = "PROVISIONER_5GHZ_ONLY";
        else if (!*customer)
            reason = "NOT_PURCHASED";
        else if (!owner || strcmp(owner, customer) != 0)
            reason = "OTHER_CUSTOMER";
        else
            reason = "";
    }
    sqlite3_finalize(st);
    return reason;
}

static void op_start(dss_call *c, const sim_dss_request *r)
{
    char customer[256], uuid[37];
    const char *reason = start_refusal(c, customer);
    wss_uuid4(uuid);
    snprintf(c->session_id, sizeof c->session_id, "amzn1.dss.session.%s", uuid);
    long long now = sim_now_ms_locked(c->s);
    if (wss_db_run(c->s->db,
                   "INSERT INTO dss_sessions (session_id, dsn, customer_id, provisioner_id, state, op_done, result,"
                   " reason, started_ms, expires_ms, updated_ms) VALUES (?,?,?,?,?,1,?,?,?,?,?)",
                   "tttttttiii", c->session_id, c->dsn, *customer ? customer : NULL, c->provisioner,
                   *reason ? "FAILURE" : "START_PROVISIONING", *reason ? "FAILURE" : NULL, reason, now,
                   now + SIM_DSS_SESSION_MS, now) < 0 ||
        !fresh_nonce(c, c->session_id, r->nonce)) {
        c->session_id[0] = 0;
        dss_error(c, 500, "INTERNAL_ERROR", "cannot store the session");
        return;
    }
    uint8_t salt_bytes[16];
    wss_random_bytes(salt_bytes, sizeof salt_bytes);
    char *salt = wss_base64_encode(salt_bytes, sizeof salt_bytes);
    sim_event(c->s, *reason ? "dss.session.refused" : "dss.session.started",
              json_pack("{s:s, s:s, s:s?, s:s}", "session_id", c->session_id, "dsn", c->dsn, "provisioner_id",
                        c->provisioner, "reason", reason));
    dss_ok(c, json_pack("{s:s, s:s, s:b, s:s, s:s}", "nonce", r->nonce, "sessionId", c->session_id, "canProceed",
                        !*reason, "salt", salt ? salt : "", "reason", reason));
    free(salt);
}

/* --- computeConfigurationData --- */

static void op_compute(dss_call *c, const sim_dss_request *r, dss_session *ses)
{
    if (!*ses->token) {
        char uuid[37];
        wss_uuid4(uuid);
        snprintf(ses->token, sizeof ses->token, "amzn1.ffs.wss-wifi-session-token.%s", uuid);
        if (wss_db_run(c->s->db, "INSERT INTO session_tokens (token, dsn, issued_ms) VALUES (?,?,?)", "tti", ses->token,
                       ses->dsn, sim_now_ms_locked(c->s)) < 0 ||
            wss_db_run(c->s->db, "UPDATE dss_sessions SET session_token = ? WHERE session_id = ?", "tt", ses->token,
                       ses->id) < 0) {
            dss_error(c, 500, "INTERNAL_ERROR", "cannot issue the session token");
            return;
        }
        sim_event(c->s, "session_token.issued", json_pack("{s:s, s:s}", "dsn", ses->dsn, "session_id", ses->id));
    }
    mark_op_done(c, ses);
    char gateway[400], now_iso[32], expires_iso[32];
    snprintf(gateway, sizeof gateway, "%s/v3/events", c->s->base_url);
    iso8601(sim_now_ms_locked(c->s), now_iso);
    iso8601(ses->expires_ms, expires_iso);
    char *registration = wss_random_token("amzn1.dss.registration.", 24);
    /* The customer's marketplace: the emulator's customers live in the US one. */
    json_t *config = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "FFS.SessionToken", ses->token,
                               "SmartHome.AlexaEventGatewayEndpoint", gateway, "LocaleConfiguration.CountryCode", "US",
                               "LocaleConfiguration.Realm", "USAmazon", "LocaleConfiguration.Marketplace",
                               "ATVPDKIKX0DER", "LocaleConfiguration.LanguageLocale", "en-US", "Time.UTC", now_iso);
    dss_ok(c, json_pack("{s:s, s:o, s:{s:s, s:s}}", "nonce", r->nonce, "configuration", config, "registrationDetails",
                        "registrationToken", registration ? registration : "", "expiresAt", expires_iso));
    free(registration);
}

/* --- postWifiScanData --- */

static void op_scan(dss_call *c, const sim_dss_request *r, dss_session *ses)
{
    long long now = sim_now_ms_locked(c->s);
    for (size_t i = 0; i < r->nscans; i++) {
        const sim_dss_scan *sc = &r->scans[i];
        wss_db_run(c->s->db,
                   "INSERT INTO dss_scans (session_id, ssid, bssid, security, rssi, frequency, at_ms)"
                   " VALUES (?,?,?,?,?,?,?)",
                   "ttttiii", ses->id, sc->ssid, sc->bssid, sc->security, sc->rssi, sc->frequency, now);
    }
    mark_op_done(c, ses);
    long long total;
    long long matched = matched_credentials(c, ses, &total);
    dss_ok(c, json_pack("{s:s, s:s, s:b, s:I, s:I, s:b}", "nonce", r->nonce, "sessionId", ses->id, "canProceed", 1,
                        "sequenceNumber", (json_int_t)r->sequence, "totalCredentialsFound", (json_int_t)matched,
                        "allCredentialsFound", total > 0 && matched == total));
}

/* --- getWifiCredentials --- */

static void op_credentials(dss_call *c, const sim_dss_request *r, dss_session *ses)
{
    long long now = sim_now_ms_locked(c->s);
    if (r->ssid) {
        sqlite3_stmt *st = wss_db_prepare(c->s->db, "SELECT 1 FROM dss_scans WHERE session_id = ? AND ssid = ?", "tt",
                                          ses->id, r->ssid);
        int posted = st && sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (!posted) {
            wss_db_run(c->s->db, "INSERT INTO dss_refusals (session_id, ssid, code, at_ms) VALUES (?,?,?,?)", "ttti",
                       ses->id, r->ssid, "NETWORK_NOT_REPORTED", now);
            sim_event(c->s, "dss.credentials.refused",
                      json_pack("{s:s, s:s, s:s}", "session_id", ses->id, "dsn", ses->dsn, "ssid", r->ssid));
            dss_error(c, 403, "NETWORK_NOT_REPORTED", "the device did not post that network in this session");
            return;
        }
    }
    /* Locker priority: higher first; the DSS's priority: smaller first. */
    sqlite3_stmt *st = wss_db_prepare(
        c->s->db,
        "SELECT l.ssid, l.security, coalesce(l.key, ''), (SELECT d.frequency FROM dss_scans d WHERE"
        " d.session_id = ?1 AND d.ssid = l.ssid AND d.security = l.security ORDER BY d.rssi DESC, d.id LIMIT 1)"
        " FROM wifi_locker l WHERE l.customer_id = ?2 AND EXISTS (SELECT 1 FROM dss_scans d WHERE"
        " d.session_id = ?1 AND d.ssid = l.ssid AND d.security = l.security) AND (?3 IS NULL OR l.ssid = ?3)"
        " ORDER BY l.priority DESC, l.ssid",
        "ttt", ses->id, ses->customer, r->ssid);
    json_t *list = json_array();
    long long priority = 0;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *ssid = (const char *)sqlite3_column_text(st, 0);
        const char *sec = (const char *)sqlite3_column_text(st, 1);
        priority++;
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:i, s:I, s:I}", "ssid", ssid, "securityProtocol", sec, "key",
                                        (const char *)sqlite3_column_text(st, 2), "keyIndex", 0, "priority",
                                        (json_int_t)priority, "frequency", (json_int_t)sqlite3_column_int64(st, 3)));
        wss_db_run(c->s->db,
                   "INSERT INTO dss_credentials (session_id, ssid, security, priority, at_ms) VALUES (?,?,?,?,?)",
                   "tttii", ses->id, ssid, sec, priority, now);
    }
    sqlite3_finalize(st);
    mark_op_done(c, ses);
    dss_ok(c, json_pack("{s:s, s:s, s:b, s:I, s:b, s:o}", "nonce", r->nonce, "sessionId", ses->id, "canProceed", 1,
                        "sequenceNumber", (json_int_t)r->sequence, "allCredentialsReturned", 1, "wifiCredentialsList",
                        list));
}

/* --- report --- */

/* The state a SUCCESS report of `state` leads to; NULL when state has no row. */
static const char *next_state(const char *state)
{
    static const char *const table[][2] = {
        {"START_PROVISIONING", "COMPUTE_CONFIGURATION"},
        {"COMPUTE_CONFIGURATION", "POST_WIFI_SCAN_DATA"},
        {"POST_WIFI_SCAN_DATA", "GET_WIFI_LIST"},
        {"GET_WIFI_LIST", "CONNECTING_TO_USER_NETWORK"},
        {"CONNECTING_TO_USER_NETWORK", "CONNECTED_TO_USER_NETWORK"},
        {"CONNECTED_TO_USER_NETWORK", "DONE"},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i][0], state) == 0)
            return table[i][1];
    return NULL;
}

static void op_report(dss_call *c, const sim_dss_request *r, dss_session *ses)
{
    const char *next = next_state(ses->state);
    if (!next) {
        dss_error(c, 409, "INVALID_STATE", "the session has ended (%s)", ses->state);
        return;
    }
    if (strcmp(r->current_state, ses->state) != 0) {
        dss_error(c, 409, "INVALID_STATE", "currentProvisioningState is %s but the session is in %s", r->current_state,
                  ses->state);
        return;
    }
    int has_op = strcmp(ses->state, "COMPUTE_CONFIGURATION") == 0 || strcmp(ses->state, "POST_WIFI_SCAN_DATA") == 0 ||
                 strcmp(ses->state, "GET_WIFI_LIST") == 0;
    if (has_op && !ses->op_done) {
        dss_error(c, 409, "INVALID_STATE", "a report of %s must follow its operation", ses->state);
        return;
    }
    if (strcmp(ses->state, "CONNECTED_TO_USER_NETWORK") == 0 && c->provisioner) {
        dss_error(c, 409, "INVALID_STATE", "the report of CONNECTED_TO_USER_NETWORK comes over the home network");
        return;
    }
    int success = strcmp(r->result, "SUCCESS") == 0;
    if (success && strcmp(ses->state, "CONNECTING_TO_USER_NETWORK") == 0 && json_array_size(r->wifi_info) == 0) {
        dss_error(c, 400, "INVALID_REQUEST", "the report of CONNECTING_TO_USER_NETWORK needs wifiNetworkInfoList");
        return;
    }
    const char *reason = "";
    if (!success) {
        next = "FAILURE";
        reason = "DEVICE_REPORTED_FAILURE";
    } else if (strcmp(ses->state, "POST_WIFI_SCAN_DATA") == 0) {
        long long total;
        if (matched_credentials(c, ses, &total) == 0) {
            next = "FAILURE";
            reason = "NO_CREDENTIALS_FOR_VISIBLE_NETWORKS";
        }
    }
    int ended = strcmp(next, "FAILURE") == 0 || strcmp(next, "DONE") == 0;
    set_state(c, ses, next, ended ? (strcmp(next, "DONE") == 0 ? "SUCCESS" : "FAILURE") : NULL, reason);
    sim_event(c->s, "dss.report",
              json_pack("{s:s, s:s, s:s, s:s, s:s}", "session_id", ses->id, "state", r->current_state, "result",
                        r->result, "next", next, "reason", reason));
    dss_ok(c, json_pack("{s:s, s:s, s:b, s:i, s:s}", "nonce", r->nonce, "nextProvisioningState", next, "canProceed",
                        strcmp(next, "FAILURE") != 0, "waitTime", 0, "reason", reason));
}

/* --- one request --- */

/* The operation allowed in each state, besides report. */
static int op_allowed(int op, const char *state)
{
    return (op == SIM_DSS_COMPUTE && strcmp(state, "COMPUTE_CONFIGURATION") == 0) ||
           (op == SIM_DSS_SCAN && strcmp(state, "POST_WIFI_SCAN_DATA") == 0) ||
           (op == SIM_DSS_CREDENTIALS && strcmp(state, "GET_WIFI_LIST") == 0);
}

static void run_op(dss_call *c, const sim_dss_request *r)
{
    if (r->op == SIM_DSS_START) {
        op_start(c, r);
        return;
    }
    dss_session ses;
    if (!load_session(c, r->session_id, &ses) || strcmp(ses.dsn, c->dsn) != 0) {
        dss_error(c, 401, "UNKNOWN_SESSION", "no such session for this device");
        return;
    }
    snprintf(c->session_id, sizeof c->session_id, "%s", ses.id);
    if (sim_now_ms_locked(c->s) >= ses.expires_ms) {
        dss_error(c, 401, "SESSION_EXPIRED", "the session expired 10 minutes after it started");
        return;
    }
    if (!fresh_nonce(c, ses.id, r->nonce)) {
        dss_error(c, 400, "INVALID_REQUEST", "this nonce was already used in this session");
        return;
    }
    if (r->op == SIM_DSS_REPORT)
        op_report(c, r, &ses);
    else if (!op_allowed(r->op, ses.state))
        dss_error(c, 409, "INVALID_STATE", "%s is not allowed in state %s", sim_dss_op_name(r->op), ses.state);
    else if (r->op == SIM_DSS_COMPUTE)
        op_compute(c, r, &ses);
    else if (r->op == SIM_DSS_SCAN)
        op_scan(c, r, &ses);
    else
        op_credentials(c, r, &ses);
}

static void reply_fault(dss_call *c, const sim_fault_hit *hit)
{
    if (hit->status == 429)
        dss_error(c, 429, "THROTTLED", "too many requests (injected fault)");
    else if (hit->status == 503)
        dss_error(c, 503, "SERVICE_UNAVAILABLE", "service unavailable (injected fault)");
    else
        dss_error(c, 500, "INTERNAL_ERROR", "internal error (injected fault)");
    if (hit->retry_after_s) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", hit->retry_after_s);
        wss_http_add_header(c->resp, "Retry-After", ra);
    }
}

/* Handles one request up to its answer (not yet signed); returns the fault action to apply. */
static int handle(dss_call *c)
{
    const wss_http_request *req = c->req;
    if (c->op < 0) {
        dss_error(c, 404, "UNKNOWN_OPERATION", "no such operation");
        return 0;
    }
    if (strcmp(req->method, "POST") != 0) {
        dss_error(c, 400, "INVALID_REQUEST", "operations are called with POST");
        return 0;
    }
    if (req->body_too_large || req->body_len > SIM_DSS_MAX_BODY) {
        dss_error(c, 413, "TOO_LARGE", "request bodies are at most %u bytes", SIM_DSS_MAX_BODY);
        return 0;
    }
    char route[64];
    snprintf(route, sizeof route, "%s.%s", SIM_ROUTE_DSS, sim_dss_op_name(c->op));
    sim_fault_hit hit = sim_faults_check(c->s, route, *c->dsn ? c->dsn : "-");
    sim_faults_delay(&hit);
    if (hit.status) {
        reply_fault(c, &hit);
        return 0;
    }
    if (hit.action == SIM_FAULT_DROP) {
        c->error_code = "DROPPED";
        return SIM_FAULT_DROP;
    }
    sim_dss_request r;
    char why[256];
    sim_lock(c->s);
    int ok = authenticated(c);
    sim_unlock(c->s);
    if (!ok)
        dss_error(c, 403, "UNAUTHENTICATED",
                  "a client certificate from a registered device CA, for the key the control log registered for "
                  "its DSN, is required");
    else if (sim_dss_request_parse(c->op, req->body, req->body_len, &r, why, sizeof why) != 0)
        dss_error(c, 400, "INVALID_REQUEST", "%s", why);
    else {
        sim_lock(c->s);
        int tx = sim_begin(c->s);
        run_op(c, &r);
        if (tx == 0 && sim_commit(c->s) != 0) {
            sim_rollback(c->s);
            dss_error(c, 500, "INTERNAL_ERROR", "cannot store the call");
        }
        sim_unlock(c->s);
        sim_dss_request_free(&r);
    }
    return hit.action;
}

static void dss_route(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    dss_call c = {.s = ctx, .req = req, .resp = resp, .op = -1};
    const char *who = *req->tls.peer_serial ? req->tls.peer_serial : req->tls.peer_subject_cn;
    if (strlen(who) < sizeof c.dsn)
        memcpy(c.dsn, who, strlen(who) + 1);
    if (strncmp(req->path, API_PREFIX, strlen(API_PREFIX)) == 0)
        c.op = sim_dss_op_parse(req->path + strlen(API_PREFIX));
    const char *prov = wss_http_header(req, PROVISIONER_HEADER);
    c.provisioner = prov && *prov && strlen(prov) <= 128 ? prov : NULL;
    int action = handle(&c);
    if (action == SIM_FAULT_DROP) {
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
        resp->drop_connection = 1;
    } else
        sim_dss_sign(c.s, resp, action == SIM_FAULT_BAD_SIGNATURE);
    sim_lock(c.s);
    record_call(&c, action == SIM_FAULT_DROP ? 0 : resp->status);
    sim_unlock(c.s);
}

/* --- the listener --- */

/* The maker's device CAs, concatenated; NULL when none are configured. */
static char *device_ca_pem(sim *s, char *err, size_t errlen)
{
    size_t total = 0;
    char *all = NULL;
    for (size_t i = 0; i < s->cfg.ndss_device_ca_files; i++) {
        char *text = NULL;
        size_t len = 0;
        wss_err rc = wss_read_file(s->cfg.dss_device_ca_files[i], CA_FILE_MAX, &text, &len);
        if (rc != WSS_OK) {
            snprintf(err, errlen, "dss.device_ca_files: cannot read %s: %s", s->cfg.dss_device_ca_files[i],
                     wss_strerror(rc));
            free(all);
            return NULL;
        }
        char *grown = realloc(all, total + len + 2);
        if (!grown) {
            free(text);
            free(all);
            return NULL;
        }
        all = grown;
        memcpy(all + total, text, len);
        total += len;
        all[total++] = '\n';
        all[total] = 0;
        free(text);
    }
    return all;
}

wss_err sim_dss_start(sim *s, const char *host, int port, char *err, size_t errlen)
{
    const char *hosts[] = {SIM_DSS_HOST, "localhost", "127.0.0.1", host, NULL};
    wss_err rc = wss_tls_ensure_named(s->state_dir, hosts, "dss-server.pem", "dss-server-key.pem", err, errlen);
    if (rc != WSS_OK)
        return rc;
    char path[4200], *cert = NULL, *key = NULL, *client_ca = NULL;
    snprintf(path, sizeof path, "%s/dss-server.pem", s->state_dir);
    wss_read_file(path, 1 << 20, &cert, NULL);
    snprintf(path, sizeof path, "%s/dss-server-key.pem", s->state_dir);
    wss_read_file(path, 1 << 20, &key, NULL);
    char *abs_dir = realpath(s->state_dir, NULL);
    snprintf(s->dss_ca_file, sizeof s->dss_ca_file, "%s/ca.pem", abs_dir ? abs_dir : s->state_dir);
    free(abs_dir);
    if (!cert || !key) {
        snprintf(err, errlen, "cannot read the DSS certificate or key in %s", s->state_dir);
        rc = WSS_ERR_IO;
    } else if (s->cfg.ndss_device_ca_files && !(client_ca = device_ca_pem(s, err, errlen)))
        rc = WSS_ERR_CONFIG;
    if (rc == WSS_OK) {
        wss_http_options ho = {.host = host,
                               .port = port,
                               .tls_cert_pem = cert,
                               .tls_key_pem = key,
                               .client_ca_pem = client_ca,
                               .max_body = SIM_DSS_MAX_BODY};
        rc = wss_http_start(&ho, dss_route, s, &s->dss_http, err, errlen);
    }
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    free(cert);
    free(client_ca);
    if (rc != WSS_OK)
        return rc;
    int bracket = strchr(host, ':') != NULL;
    snprintf(s->dss_url, sizeof s->dss_url, "https://%s%s%s:%d", bracket ? "[" : "", host, bracket ? "]" : "",
             wss_http_port(s->dss_http));
    return WSS_OK;
}

void sim_dss_stop(sim *s)
{
    wss_http_stop(s->dss_http);
    s->dss_http = NULL;
}

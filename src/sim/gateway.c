/* gateway.c - the emulated Alexa event gateway, POST /v3/events.
 *
 * Takes the Skill-Device Association Event (Alexa.SimpleSetup
 * AddOrUpdateDeviceAssociationReport) and proactive discovery reports
 * (Alexa.Discovery AddOrUpdateReport / DeleteReport). Checks run in the order
 * a real gateway would meet them, cheapest first: size (413), bearer token
 * (401), injected faults, per-client rate (429), content type and JSON (400),
 * token permission (403), skill live and enabled (404), message shape (400),
 * duplicate messageId (202, not applied again), then the state checks that
 * tie the event to the Device Setup Service (400). Success is 202 with an
 * empty body; every error is the seed's System.Exception body. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/log.h"
#include "sim/internal.h"
#include "sim/validate.h"

#define MAX_ENDPOINTS_PER_CUSTOMER 300

void sim_gateway_error(wss_http_response *resp, int status, const char *code, const char *fmt, ...)
{
    char description[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(description, sizeof description, fmt, ap);
    va_end(ap);
    char id[37];
    wss_uuid4(id);
    wss_http_reply_json(resp, status,
                        json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s}}", "header", "namespace", "System", "name",
                                  "Exception", "messageId", id, "payload", "code", code, "description", description));
}

static void reply_fault(wss_http_response *resp, const sim_fault_hit *hit)
{
    if (hit->status == 429)
        sim_gateway_error(resp, 429, "THROTTLING_EXCEPTION", "Your request is throttled (injected fault)");
    else if (hit->status == 503)
        sim_gateway_error(resp, 503, "SERVICE_UNAVAILABLE_EXCEPTION", "Service Unavailable (injected fault)");
    else
        sim_gateway_error(resp, 500, "INTERNAL_SERVICE_EXCEPTION", "Internal Service Exception (injected fault)");
    if (hit->retry_after_s) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", hit->retry_after_s);
        wss_http_add_header(resp, "Retry-After", ra);
    }
}

static const char *bearer_token(const wss_http_request *req)
{
    const char *auth = wss_http_header(req, "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return NULL;
    auth += 7;
    while (*auth == ' ')
        auth++;
    return *auth ? auth : NULL;
}

/* Records (client, messageId); returns 1 when it was already accepted once. Needs db_lock. */
static int duplicate_message(sim *s, const char *client_id, const char *message_id)
{
    int changed = wss_db_run(s->db,
                             "INSERT INTO gateway_messages (client_id, message_id, received_ms) VALUES (?,?,?)"
                             " ON CONFLICT DO NOTHING",
                             "tti", client_id, message_id, sim_now_ms_locked(s));
    if (changed != 0)
        return 0;
    wss_db_run(s->db, "UPDATE gateway_messages SET duplicates = duplicates + 1 WHERE client_id = ? AND message_id = ?",
               "tt", client_id, message_id);
    return 1;
}

/* The state checks of an SDAE and the association it creates. Needs db_lock
 * inside a transaction; returns the HTTP status it replied with. */
static int apply_sdae(sim *s, const sim_sdae *ev, const sim_token_info *tok, wss_http_response *resp)
{
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT t.dsn, t.used_ms, d.public_key FROM session_tokens t"
                                      " JOIN devices d ON d.dsn = t.dsn WHERE t.token = ?",
                                      "t", ev->session_token);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION",
                          "payload.device.sessionToken was not issued by the Device Setup Service");
        return 400;
    }
    char *dsn = wss_db_column_strdup(st, 0);
    int used = sqlite3_column_type(st, 1) != SQLITE_NULL;
    char *public_key = wss_db_column_strdup(st, 2);
    sqlite3_finalize(st);

    int status = 202;
    wss_crypto_key *key = NULL;
    char why[256];
    wss_err vrc;
    if (used) {
        sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION",
                          "payload.device.sessionToken was already used by another association report");
        status = 400;
    } else if (wss_key_parse_public(public_key, &key, why, sizeof why) != WSS_OK) {
        sim_gateway_error(resp, 500, "INTERNAL_SERVICE_EXCEPTION", "the device's registered key is unusable");
        status = 500;
    } else if ((vrc = wss_ecdsa_verify_b64(key, ev->session_token, strlen(ev->session_token), ev->signature)) !=
               WSS_OK) {
        sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION",
                          vrc == WSS_ERR_VERIFY
                              ? "payload.device.signature does not verify with the key registered for this device"
                              : "payload.device.signature is not a base64 DER ECDSA P-256 signature");
        status = 400;
    }
    wss_key_free(key);
    free(public_key);
    if (status != 202) {
        free(dsn);
        return status;
    }

    st = wss_db_prepare(s->db, "SELECT 1 FROM associations WHERE device_id = ?", "t", ev->device_id);
    int id_reused = !st || sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (id_reused) {
        sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION",
                          "payload.device.id was already reported for another provisioning session; it must be "
                          "unique per session (a global device id joined with the session token)");
        free(dsn);
        return 400;
    }

    st = wss_db_prepare(s->db,
                        "SELECT p.customer_id, l.enabled FROM purchases p LEFT JOIN skill_links l"
                        " ON l.customer_id = p.customer_id AND l.skill_id = ? WHERE p.dsn = ?",
                        "tt", tok->skill_id, dsn);
    char *customer = NULL;
    int linked = 0;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        customer = wss_db_column_strdup(st, 0);
        linked = sqlite3_column_int(st, 1) == 1;
    }
    sqlite3_finalize(st);

    const char *category = json_string_value(json_array_get(ev->naming_categories, 0));
    char *name = customer ? sim_names_next(s, customer, category) : NULL;
    const char *state = !customer ? "unowned" : linked ? "dispatching" : "waiting_for_skill";
    char *categories = json_dumps(ev->naming_categories, JSON_COMPACT);
    long long now = sim_now_ms_locked(s);
    int rc =
        wss_db_run(s->db,
                   "INSERT INTO associations (device_id, session_token, dsn, customer_id, skill_id, naming_categories,"
                   " friendly_name, state, created_ms, expires_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   "ttttttttiii", ev->device_id, ev->session_token, dsn, customer, tok->skill_id, categories, name,
                   state, now, now + s->cfg.retention_s * 1000, now);
    long long assoc = sqlite3_last_insert_rowid(s->db);
    if (rc >= 0)
        rc = wss_db_run(s->db, "UPDATE session_tokens SET used_ms = ? WHERE token = ?", "it", now, ev->session_token);
    if (rc < 0) {
        sim_gateway_error(resp, 500, "INTERNAL_SERVICE_EXCEPTION", "cannot store the association");
        status = 500;
    } else {
        sim_event(s, "sdae.accepted",
                  json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?, s:I}", "message_id", ev->message_id, "device_id",
                            ev->device_id, "dsn", dsn, "customer_id", customer, "association", state, "friendly_name",
                            name, "association_id", (json_int_t)assoc));
        if (linked)
            sim_dispatch_queue_cdad(s, assoc, customer, tok->skill_id);
    }
    free(categories);
    free(name);
    free(customer);
    free(dsn);
    return status;
}

static int customer_endpoint_count(sim *s, const char *customer_id)
{
    sqlite3_stmt *st =
        wss_db_prepare(s->db, "SELECT count(*) FROM alexa_endpoints WHERE customer_id = ?", "t", customer_id);
    int n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return n;
}

/* Records or deletes the reported endpoints in the customer's Alexa account.
 * Needs db_lock inside a transaction; returns the HTTP status it replied with. */
static int apply_discovery(sim *s, const sim_discovery_report *ev, const sim_token_info *tok, wss_http_response *resp)
{
    long long now = sim_now_ms_locked(s);
    size_t i;
    json_t *ep;
    json_array_foreach(ev->endpoints, i, ep)
    {
        const char *id = json_string_value(json_object_get(ep, "endpointId"));
        int rc;
        if (ev->kind == SIM_EVENT_DISCOVERY_DELETE) {
            rc = wss_db_run(s->db,
                            "DELETE FROM alexa_endpoints WHERE customer_id = ? AND skill_id = ? AND endpoint_id = ?",
                            "ttt", tok->customer_id, tok->skill_id, id);
        } else {
            const char *name = json_string_value(json_object_get(ep, "friendlyName"));
            char *cats = json_dumps(json_object_get(ep, "displayCategories"), JSON_COMPACT);
            char *text = json_dumps(ep, JSON_COMPACT);
            rc = wss_db_run(s->db,
                            "INSERT INTO alexa_endpoints (customer_id, skill_id, endpoint_id, friendly_name,"
                            " display_categories, endpoint, updated_ms) VALUES (?,?,?,?,?,?,?)"
                            " ON CONFLICT DO UPDATE SET friendly_name = excluded.friendly_name,"
                            " display_categories = excluded.display_categories, endpoint = excluded.endpoint,"
                            " updated_ms = excluded.updated_ms",
                            "tttttti", tok->customer_id, tok->skill_id, id, name, cats, text, now);
            free(cats);
            free(text);
        }
        if (rc < 0) {
            sim_gateway_error(resp, 500, "INTERNAL_SERVICE_EXCEPTION", "cannot store the endpoints");
            return 500;
        }
    }
    if (customer_endpoint_count(s, tok->customer_id) > MAX_ENDPOINTS_PER_CUSTOMER) {
        sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION", "the customer would have more than %d endpoints",
                          MAX_ENDPOINTS_PER_CUSTOMER);
        return 400;
    }
    json_array_foreach(ev->endpoints, i, ep)
    {
        const char *id = json_string_value(json_object_get(ep, "endpointId"));
        const char *name = json_string_value(json_object_get(ep, "friendlyName"));
        sqlite3_stmt *st =
            wss_db_prepare(s->db, "SELECT friendly_name FROM associations WHERE device_id = ? AND customer_id = ?",
                           "tt", id, tok->customer_id);
        char *preferred = st && sqlite3_step(st) == SQLITE_ROW ? wss_db_column_strdup(st, 0) : NULL;
        sqlite3_finalize(st);
        json_t *details = json_pack("{s:s, s:s, s:s, s:s?}", "customer_id", tok->customer_id, "skill_id", tok->skill_id,
                                    "endpoint_id", id, "friendly_name", name);
        if (preferred && name)
            json_object_set_new(details, "preferred_friendly_name_used", json_boolean(strcmp(preferred, name) == 0));
        free(preferred);
        sim_event(s, ev->kind == SIM_EVENT_DISCOVERY_DELETE ? "discovery.deleted" : "discovery.recorded", details);
    }
    return 202;
}

static int skill_usable(sim *s, const sim_token_info *tok, wss_http_response *resp)
{
    sim_skill_row skill;
    if (sim_skill_by_id(s, tok->skill_id, &skill) != WSS_OK || !skill.enabled) {
        sim_gateway_error(resp, 404, "SKILL_NOT_FOUND_EXCEPTION", "The skill does not exist or is disabled");
        return 0;
    }
    if (strcmp(skill.stage, "live") != 0) {
        sim_gateway_error(resp, 404, "SKILL_NOT_FOUND_EXCEPTION", "The skill does not exist in the live stage");
        return 0;
    }
    return 1;
}

static int customer_linked(sim *s, const sim_token_info *tok)
{
    sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT enabled FROM skill_links WHERE customer_id = ? AND skill_id = ?",
                                      "tt", tok->customer_id, tok->skill_id);
    int ok = st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    return ok;
}

/* Everything after the token and rate checks, with db_lock held. */
static void handle_event(sim *s, const wss_http_request *req, const char *bearer, const sim_token_info *tok,
                         wss_http_response *resp)
{
    char why[512];
    const char *ct = wss_http_header(req, "Content-Type");
    if (!ct || strncmp(ct, "application/json", 16) != 0) {
        sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION", "Content-Type must be application/json");
        return;
    }
    json_t *root = sim_parse_body(req, why, sizeof why);
    if (!root) {
        sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION", "%s", why);
        return;
    }
    sim_event_kind kind = sim_event_classify(root);
    int sdae = kind == SIM_EVENT_DEVICE_ASSOCIATION_REPORT;
    if (kind == SIM_EVENT_UNKNOWN) {
        sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION",
                          "event.header namespace/name is not an event this gateway accepts");
    } else if (sdae && strcmp(tok->scope, SIM_SCOPE_ASSOCIATION) != 0) {
        sim_gateway_error(resp, 403, "INSUFFICIENT_PERMISSION_EXCEPTION",
                          "Access token does not have sufficient permission: " SIM_SCOPE_ASSOCIATION " is required");
    } else if (!sdae && (strcmp(tok->scope, SIM_SCOPE_ASYNC_EVENT) != 0 || !tok->customer_id[0])) {
        sim_gateway_error(resp, 403, "INSUFFICIENT_PERMISSION_EXCEPTION",
                          "Discovery reports need the customer's token from AcceptGrant");
    } else if (skill_usable(s, tok, resp)) {
        sim_sdae ev;
        sim_discovery_report dr;
        int ok = sdae ? sim_validate_sdae(root, &ev, why, sizeof why)
                      : sim_validate_discovery_report(root, &dr, why, sizeof why);
        const char *scope_token = sdae ? ev.scope_token : dr.scope_token;
        const char *message_id = sdae ? ev.message_id : dr.message_id;
        if (!ok)
            sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION", "%s", why);
        else if (!wss_ct_streq(scope_token, bearer))
            sim_gateway_error(resp, 400, "INVALID_REQUEST_EXCEPTION",
                              "payload.scope.token must be the same token as the Authorization header");
        else if (!sdae && !customer_linked(s, tok))
            sim_gateway_error(resp, 403, "SKILL_DISABLED_EXCEPTION", "The customer has disabled the skill");
        else if (sim_begin(s) != 0)
            sim_gateway_error(resp, 500, "INTERNAL_SERVICE_EXCEPTION", "store busy");
        else {
            int status;
            if (duplicate_message(s, tok->client_id, message_id)) {
                sim_event(s, "gateway.duplicate",
                          json_pack("{s:s, s:s}", "client_id", tok->client_id, "message_id", message_id));
                status = 202;
            } else
                status = sdae ? apply_sdae(s, &ev, tok, resp) : apply_discovery(s, &dr, tok, resp);
            if (status == 202 && sim_commit(s) == 0)
                wss_http_reply_text(resp, 202, "");
            else {
                sim_rollback(s);
                if (status == 202)
                    sim_gateway_error(resp, 500, "INTERNAL_SERVICE_EXCEPTION", "cannot commit");
            }
        }
    }
    if (resp->status >= 400) {
        json_t *error = json_loadb(resp->body, resp->body_len, 0, NULL);
        sim_event(s, sdae ? "sdae.refused" : "gateway.refused",
                  json_pack("{s:i, s:s, s:O?}", "status", resp->status, "client_id", tok->client_id, "error",
                            json_object_get(error, "payload")));
        json_decref(error);
    }
    json_decref(root);
}

void sim_gateway_handle(sim *s, const wss_http_request *req, wss_http_response *resp)
{
    if (strcmp(req->method, "POST") != 0) {
        sim_gateway_error(resp, 405, "INVALID_REQUEST_EXCEPTION", "use POST");
        return;
    }
    if (req->body_too_large || req->body_len > (size_t)s->cfg.max_event_bytes) {
        sim_gateway_error(resp, 413, "REQUEST_ENTITY_TOO_LARGE_EXCEPTION",
                          "Request size is too large: the limit is %lld bytes", s->cfg.max_event_bytes);
        return;
    }
    const char *bearer = bearer_token(req);
    sim_token_info tok;
    sim_skill_row skill;
    sim_lock(s);
    wss_err rc = bearer ? sim_lwa_lookup(s, bearer, &tok) : WSS_ERR_NOT_FOUND;
    if (rc == WSS_OK)
        rc = sim_skill_by_id(s, tok.skill_id, &skill);
    sim_unlock(s);
    if (!bearer || rc != WSS_OK) {
        sim_gateway_error(resp, 401, "INVALID_ACCESS_TOKEN_EXCEPTION",
                          !bearer              ? "The access token is not present"
                          : rc == WSS_ERR_AUTH ? "The access token is expired"
                                               : "The access token is invalid");
        return;
    }
    sim_fault_hit hit = sim_faults_check(s, SIM_ROUTE_EVENTS, tok.client_id);
    sim_faults_delay(&hit);
    if (hit.status) {
        reply_fault(resp, &hit);
        return;
    }
    if (!sim_ratelimit_allow(s->ratelimit, tok.client_id, skill.rate_per_s, skill.rate_burst)) {
        sim_gateway_error(resp, 429, "THROTTLING_EXCEPTION", "Your request is throttled");
        wss_http_add_header(resp, "Retry-After", "1");
        sim_lock(s);
        sim_event(s, "gateway.throttled", json_pack("{s:s}", "client_id", tok.client_id));
        sim_unlock(s);
        return;
    }
    sim_lock(s);
    handle_event(s, req, bearer, &tok, resp);
    sim_unlock(s);
    sim_dispatch_wake(s);
}

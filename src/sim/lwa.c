/* lwa.c - the emulated Login with Amazon token endpoint, POST /auth/o2/token.
 *
 * Grants: client_credentials (the skill's own token for device association
 * reports), authorization_code (the code Alexa hands a skill in AcceptGrant)
 * and refresh_token. Bodies may be JSON or form-encoded. Errors follow OAuth 2
 * (RFC 6749 section 5.2): {"error","error_description"}, 400, or 401 for
 * invalid_client. Tokens are stored by SHA-256 digest only, so the store
 * never holds a usable bearer token. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/log.h"
#include "sim/internal.h"

#define REFRESH_LIFETIME_MS (10LL * 365 * 24 * 3600 * 1000)

static void oauth_error(wss_http_response *resp, int status, const char *error, const char *description)
{
    wss_http_reply_json(resp, status, json_pack("{s:s, s:s}", "error", error, "error_description", description));
    wss_http_add_header(resp, "Cache-Control", "no-store");
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes one application/x-www-form-urlencoded component; NULL when malformed. */
static char *form_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+')
            out[o++] = ' ';
        else if (s[i] == '%') {
            int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) { /* malformed escape, or an embedded NUL */
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else
            out[o++] = s[i];
    }
    out[o] = 0;
    return out;
}

/* The token request's parameters as a flat JSON object of strings. */
static json_t *token_params(const wss_http_request *req, char *why, size_t whylen)
{
    const char *ct = wss_http_header(req, "Content-Type");
    if (ct && strncmp(ct, "application/json", 16) == 0) {
        json_t *obj = sim_parse_body(req, why, whylen);
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v)
        {
            if (!json_is_string(v)) {
                snprintf(why, whylen, "parameter %s must be a string", k);
                json_decref(obj);
                return NULL;
            }
        }
        return obj;
    }
    if (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        snprintf(why, whylen, "Content-Type must be application/x-www-form-urlencoded or application/json");
        return NULL;
    }
    return sim_form_decode(req->body, req->body_len, why, whylen);
}

json_t *sim_form_decode(const char *body, size_t len, char *why, size_t whylen)
{
    if (memchr(body, 0, len)) {
        snprintf(why, whylen, "body contains a NUL byte");
        return NULL;
    }
    json_t *obj = json_object();
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop > p) {
            char *k = form_decode(p, (size_t)((eq ? eq : stop) - p));
            char *v = eq ? form_decode(eq + 1, (size_t)(stop - eq - 1)) : strdup("");
            json_t *js = v ? json_string(v) : NULL;
            if (!k || !v || !js || json_object_get(obj, k)) {
                snprintf(why, whylen, js ? "a parameter is repeated or malformed" : "a parameter is not valid UTF-8");
                json_decref(js);
                free(k);
                free(v);
                json_decref(obj);
                return NULL;
            }
            json_object_set_new(obj, k, js);
            free(k);
            free(v);
        }
        p = stop + 1;
    }
    return obj;
}

static const char *param(const json_t *params, const char *name)
{
    const char *v = json_string_value(json_object_get(params, name));
    return v && *v ? v : NULL;
}

/* Stores a new token's digest and returns the token. Needs db_lock. */
static char *issue(sim *s, const char *kind, const char *prefix, size_t nbytes, const sim_skill_row *skill,
                   const char *customer_id, const char *scope, long long lifetime_ms)
{
    char *token = wss_random_token(prefix, nbytes);
    if (!token)
        return NULL;
    char sha[65];
    wss_sha256_hex(token, sha);
    long long now = sim_now_ms_locked(s);
    if (wss_db_run(s->db,
                   "INSERT INTO tokens (sha, kind, client_id, skill_id, customer_id, scope, expires_ms, created_ms)"
                   " VALUES (?,?,?,?,?,?,?,?)",
                   "ttttttii", sha, kind, skill->client_id, skill->skill_id, customer_id, scope, now + lifetime_ms,
                   now) < 0) {
        free(token);
        return NULL;
    }
    return token;
}

char *sim_lwa_issue_code(sim *s, const char *skill_id, const char *customer_id)
{
    sim_skill_row skill;
    if (sim_skill_by_id(s, skill_id, &skill) != WSS_OK)
        return NULL;
    return issue(s, "code", "ANcode", 18, &skill, customer_id, SIM_SCOPE_ASYNC_EVENT, s->cfg.code_lifetime_s * 1000);
}

void sim_lwa_revoke_customer(sim *s, const char *skill_id, const char *customer_id)
{
    /* Access tokens run out on their own: until then the gateway answers
     * SKILL_DISABLED_EXCEPTION; the refresh token and codes die at once. */
    wss_db_run(s->db,
               "UPDATE tokens SET revoked = 1 WHERE skill_id = ? AND customer_id = ? AND kind IN ('refresh', 'code')",
               "tt", skill_id, customer_id);
}

static wss_err lookup(sim *s, const char *token, const char *kind, sim_token_info *info)
{
    char sha[65];
    wss_sha256_hex(token, sha);
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT kind, client_id, skill_id, customer_id, scope, expires_ms, revoked"
                                      " FROM tokens WHERE sha = ? AND kind = ?",
                                      "tt", sha, kind);
    wss_err rc = WSS_ERR_NOT_FOUND;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *cols[5];
        for (int i = 0; i < 5; i++)
            cols[i] = (const char *)sqlite3_column_text(st, i);
        snprintf(info->kind, sizeof info->kind, "%s", cols[0]);
        snprintf(info->client_id, sizeof info->client_id, "%s", cols[1]);
        snprintf(info->skill_id, sizeof info->skill_id, "%s", cols[2]);
        snprintf(info->customer_id, sizeof info->customer_id, "%s", cols[3] ? cols[3] : "");
        snprintf(info->scope, sizeof info->scope, "%s", cols[4]);
        info->expires_ms = sqlite3_column_int64(st, 5);
        info->revoked = sqlite3_column_int(st, 6);
        rc = info->revoked ? WSS_ERR_NOT_FOUND : info->expires_ms <= sim_now_ms_locked(s) ? WSS_ERR_AUTH : WSS_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

wss_err sim_lwa_lookup(sim *s, const char *token, sim_token_info *info) { return lookup(s, token, "access", info); }

static void token_reply(wss_http_response *resp, const char *access, const char *refresh, const char *scope,
                        long long expires_in)
{
    json_t *body = json_pack("{s:s, s:s, s:s, s:I}", "access_token", access, "scope", scope, "token_type", "bearer",
                             "expires_in", (json_int_t)expires_in);
    if (refresh)
        json_object_set_new(body, "refresh_token", json_string(refresh));
    wss_http_reply_json(resp, 200, body);
    wss_http_add_header(resp, "Cache-Control", "no-store");
}

static int scope_allowed(const char *scope) { return strcmp(scope, SIM_SCOPE_ASSOCIATION) == 0; }

static void grant_client_credentials(sim *s, const json_t *params, const sim_skill_row *skill, wss_http_response *resp)
{
    const char *scope = param(params, "scope");
    if (!scope) {
        oauth_error(resp, 400, "invalid_scope", "scope is required for client_credentials (" SIM_SCOPE_ASSOCIATION ")");
        return;
    }
    if (!scope_allowed(scope)) {
        oauth_error(resp, 400, "invalid_scope", "this client may request only " SIM_SCOPE_ASSOCIATION);
        return;
    }
    char *token = issue(s, "access", "Atza|", 270, skill, NULL, scope, s->cfg.token_lifetime_s * 1000);
    if (!token) {
        oauth_error(resp, 500, "server_error", "cannot store the token");
        return;
    }
    sim_event(s, "lwa.token_issued",
              json_pack("{s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id", skill->client_id, "scope",
                        scope));
    token_reply(resp, token, NULL, scope, s->cfg.token_lifetime_s);
    free(token);
}

/* authorization_code and refresh_token both end in a customer token pair. */
static void grant_customer_tokens(sim *s, const char *grant, const char *presented, const char *kind,
                                  const sim_skill_row *skill, wss_http_response *resp)
{
    sim_token_info info;
    char what[64];
    snprintf(what, sizeof what, "%s", strcmp(kind, "code") == 0 ? "code" : "refresh_token");
    if (!presented) {
        char d[96];
        snprintf(d, sizeof d, "%s is required", what);
        oauth_error(resp, 400, "invalid_request", d);
        return;
    }
    wss_err rc = lookup(s, presented, kind, &info);
    if (rc != WSS_OK || strcmp(info.client_id, skill->client_id) != 0) {
        char d[128];
        snprintf(d, sizeof d, "The request has an invalid grant parameter : %s", what);
        oauth_error(resp, 400, "invalid_grant", d);
        return;
    }
    if (strcmp(kind, "code") == 0) {
        char sha[65];
        wss_sha256_hex(presented, sha);
        wss_db_run(s->db, "UPDATE tokens SET revoked = 1 WHERE sha = ?", "t", sha); /* codes are single-use */
    }
    char *access = issue(s, "access", "Atza|", 270, skill, info.customer_id, SIM_SCOPE_ASYNC_EVENT,
                         s->cfg.token_lifetime_s * 1000);
    char *refresh =
        issue(s, "refresh", "Atzr|", 270, skill, info.customer_id, SIM_SCOPE_ASYNC_EVENT, REFRESH_LIFETIME_MS);
    if (access && refresh) {
        sim_event(s, "lwa.token_issued",
                  json_pack("{s:s, s:s, s:s}", "grant_type", grant, "client_id", skill->client_id, "customer_id",
                            info.customer_id));
        token_reply(resp, access, refresh, SIM_SCOPE_ASYNC_EVENT, s->cfg.token_lifetime_s);
    } else
        oauth_error(resp, 500, "server_error", "cannot store the token");
    free(access);
    free(refresh);
}

void sim_lwa_handle(sim *s, const wss_http_request *req, wss_http_response *resp)
{
    char why[256];
    if (strcmp(req->method, "POST") != 0) {
        oauth_error(resp, 405, "invalid_request", "use POST");
        return;
    }
    if (req->body_too_large) {
        oauth_error(resp, 413, "invalid_request", "request body too large");
        return;
    }
    json_t *params = token_params(req, why, sizeof why);
    if (!params) {
        oauth_error(resp, 400, "invalid_request", why);
        return;
    }
    const char *client_id = param(params, "client_id");
    sim_fault_hit hit = sim_faults_check(s, SIM_ROUTE_LWA, client_id ? client_id : "");
    sim_faults_delay(&hit);
    if (hit.status) {
        oauth_error(resp, hit.status,
                    hit.status == 429   ? "slow_down"
                    : hit.status == 503 ? "temporarily_unavailable"
                                        : "server_error",
                    "injected fault");
        if (hit.retry_after_s) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", hit.retry_after_s);
            wss_http_add_header(resp, "Retry-After", ra);
        }
        json_decref(params);
        return;
    }
    const char *grant = param(params, "grant_type");
    const char *secret = param(params, "client_secret");
    sim_skill_row skill;
    sim_lock(s);
    if (!grant)
        oauth_error(resp, 400, "invalid_request", "grant_type is required");
    else if (strcmp(grant, "client_credentials") != 0 && strcmp(grant, "authorization_code") != 0 &&
             strcmp(grant, "refresh_token") != 0)
        oauth_error(resp, 400, "unsupported_grant_type",
                    "grant_type must be client_credentials, authorization_code or refresh_token");
    else if (!client_id || !secret || sim_skill_by_client(s, client_id, &skill) != WSS_OK)
        oauth_error(resp, 401, "invalid_client", "Client authentication failed");
    else {
        char sha[65];
        wss_sha256_hex(secret, sha);
        if (!wss_ct_streq(sha, skill.secret_sha))
            oauth_error(resp, 401, "invalid_client", "Client authentication failed");
        else if (strcmp(grant, "client_credentials") == 0)
            grant_client_credentials(s, params, &skill, resp);
        else if (strcmp(grant, "authorization_code") == 0)
            grant_customer_tokens(s, grant, param(params, "code"), "code", &skill, resp);
        else
            grant_customer_tokens(s, grant, param(params, "refresh_token"), "refresh", &skill, resp);
    }
    if (resp->status >= 400)
        sim_event(s, "lwa.refused",
                  json_pack("{s:s?, s:s?, s:i}", "grant_type", grant, "client_id", client_id, "status", resp->status));
    sim_unlock(s);
    json_decref(params);
}

/* dispatch.c - directives from Alexa to skills, and how Alexa judges the answers.
 *
 * Queued in the store (table dispatches) by whoever decides a directive is due:
 * the gateway after an SDAE whose customer has the skill, the control API when
 * a customer enables a skill (AcceptGrant first, then the CDADs waiting for
 * it). One worker thread sends them in order, each once, and judges the
 * synchronous answer: a transport failure, a timeout, a non-2xx status or a
 * body that is neither the right Alexa.Response nor a well-formed
 * Alexa.ErrorResponse counts as an INVALID_SKILL_RESPONSE_EXCEPTION for the
 * skill (table skill_requests, read by the badge monitor). A directive that
 * was being sent when the emulator stopped is sent again after a restart.
 *
 * The control API can also send traffic on demand (sim_dispatch_now):
 * Alexa.Discovery Discover directives, sent at once and judged the same way
 * (a right answer is a Discover.Response with an endpoints array). A fault
 * rule on the route "skill" may turn any judged answer into an invalid one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/httpc.h"
#include "common/log.h"
#include "sim/internal.h"
#include "sim/validate.h"

typedef struct directive {
    long long id;
    char kind[16]; /* "cdad", "accept_grant" or "discover" */
    char skill_id[256];
    char customer_id[256];
    long long association_id;
    sim_skill_row skill;
    char *body; /* the directive JSON */
    char correlation[64];
} directive;

void sim_dispatch_wake(sim *s)
{
    pthread_mutex_lock(&s->wake_lock);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->wake_lock);
}

void sim_dispatch_queue_cdad(sim *s, long long association_id, const char *customer_id, const char *skill_id)
{
    wss_db_run(s->db,
               "INSERT INTO dispatches (kind, skill_id, customer_id, association_id, state, created_ms)"
               " VALUES ('cdad', ?, ?, ?, 'pending', ?)",
               "ttii", skill_id, customer_id, association_id, sim_now_ms_locked(s));
}

void sim_dispatch_on_skill_enabled(sim *s, const char *customer_id, const char *skill_id)
{
    long long now = sim_now_ms_locked(s);
    wss_db_run(s->db,
               "INSERT INTO dispatches (kind, skill_id, customer_id, state, created_ms)"
               " VALUES ('accept_grant', ?, ?, 'pending', ?)",
               "tti", skill_id, customer_id, now);
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT id FROM associations WHERE customer_id = ? AND skill_id = ?"
                                      " AND state = 'waiting_for_skill' AND expires_ms > ? ORDER BY id",
                                      "tti", customer_id, skill_id, now);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(st, 0);
        sim_dispatch_queue_cdad(s, id, customer_id, skill_id);
        wss_db_run(s->db, "UPDATE associations SET state = 'dispatching', updated_ms = ? WHERE id = ?", "ii", now, id);
    }
    sqlite3_finalize(st);
}

void sim_dispatch_expire(sim *s)
{
    long long now = sim_now_ms_locked(s);
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT id, device_id, customer_id FROM associations"
                                      " WHERE state IN ('waiting_for_skill', 'unowned') AND expires_ms <= ?",
                                      "i", now);
    while (st && sqlite3_step(st) == SQLITE_ROW)
        sim_event(s, "association.expired",
                  json_pack("{s:I, s:s, s:s?}", "association_id", (json_int_t)sqlite3_column_int64(st, 0), "device_id",
                            sqlite3_column_text(st, 1), "customer_id", sqlite3_column_text(st, 2)));
    sqlite3_finalize(st);
    wss_db_run(s->db,
               "UPDATE associations SET state = 'expired', updated_ms = ?"
               " WHERE state IN ('waiting_for_skill', 'unowned') AND expires_ms <= ?",
               "ii", now, now);
}

static json_t *header(const char *ns, const char *name, const char *correlation)
{
    char id[37];
    wss_uuid4(id);
    json_t *h =
        json_pack("{s:s, s:s, s:s, s:s}", "namespace", ns, "name", name, "payloadVersion", "3", "messageId", id);
    if (correlation)
        json_object_set_new(h, "correlationToken", json_string(correlation));
    return h;
}

static char *link_token(sim *s, const char *customer_id, const char *skill_id)
{
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT access_token FROM skill_links WHERE customer_id = ? AND skill_id = ?"
                                      " AND enabled = 1",
                                      "tt", customer_id, skill_id);
    char *token = st && sqlite3_step(st) == SQLITE_ROW ? wss_db_column_strdup(st, 0) : NULL;
    sqlite3_finalize(st);
    return token;
}

/* Builds the directive's JSON. Needs db_lock. Returns 0, or -1 when it can no
 * longer be sent (skill disabled meanwhile, association gone). */
static int build(sim *s, directive *d)
{
    if (sim_skill_by_id(s, d->skill_id, &d->skill) != WSS_OK)
        return -1;
    char *token = link_token(s, d->customer_id, d->skill_id);
    if (!token)
        return -1;
    json_t *doc = NULL;
    if (strcmp(d->kind, "discover") == 0) {
        doc =
            json_pack("{s:{s:o, s:{s:{s:s, s:s}}}}", "directive", "header", header("Alexa.Discovery", "Discover", NULL),
                      "payload", "scope", "type", "BearerToken", "token", token);
    } else if (strcmp(d->kind, "accept_grant") == 0) {
        char *code = sim_lwa_issue_code(s, d->skill_id, d->customer_id);
        if (code)
            doc = json_pack("{s:{s:o, s:{s:{s:s, s:s}, s:{s:s, s:s}}}}", "directive", "header",
                            header("Alexa.Authorization", "AcceptGrant", NULL), "payload", "grant", "type",
                            "OAuth2.AuthorizationCode", "code", code, "grantee", "type", "BearerToken", "token", token);
        free(code);
    } else {
        sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT device_id, friendly_name FROM associations WHERE id = ?", "i",
                                          d->association_id);
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            char *raw = wss_random_token("", 48);
            snprintf(d->correlation, sizeof d->correlation, "%s", raw ? raw : "correlation");
            free(raw);
            const char *name = (const char *)sqlite3_column_text(st, 1);
            json_t *names = json_array();
            if (name)
                json_array_append_new(names, json_pack("{s:s, s:{s:s, s:s}}", "@type", "text", "value", "text", name,
                                                       "locale", sim_names_locale(d->skill.marketplace)));
            doc = json_pack("{s:{s:o, s:{s:{s:s, s:s}, s:{s:s, s:o}}}}", "directive", "header",
                            header("Alexa.SimpleSetup", "AssociateCustomerDevice", d->correlation), "payload", "scope",
                            "type", "BearerToken", "token", token, "device", "id", sqlite3_column_text(st, 0),
                            "preferredFriendlyNames", names);
        }
        sqlite3_finalize(st);
    }
    free(token);
    d->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return d->body ? 0 : -1;
}

/* Claims the oldest pending directive. Needs db_lock. 1 when one was claimed. */
static int claim(sim *s, directive *d)
{
    for (;;) {
        sqlite3_stmt *st = wss_db_prepare(s->db,
                                          "SELECT id, kind, skill_id, customer_id, association_id FROM dispatches"
                                          " WHERE state = 'pending' ORDER BY id LIMIT 1",
                                          "");
        if (!st || sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_finalize(st);
            return 0;
        }
        memset(d, 0, sizeof *d);
        d->id = sqlite3_column_int64(st, 0);
        snprintf(d->kind, sizeof d->kind, "%s", sqlite3_column_text(st, 1));
        snprintf(d->skill_id, sizeof d->skill_id, "%s", sqlite3_column_text(st, 2));
        snprintf(d->customer_id, sizeof d->customer_id, "%s", sqlite3_column_text(st, 3));
        d->association_id = sqlite3_column_int64(st, 4);
        sqlite3_finalize(st);
        if (build(s, d) == 0) {
            wss_db_run(s->db, "UPDATE dispatches SET state = 'sending' WHERE id = ?", "i", d->id);
            return 1;
        }
        wss_db_run(s->db, "UPDATE dispatches SET state = 'cancelled' WHERE id = ?", "i", d->id);
        if (d->association_id)
            wss_db_run(s->db,
                       "UPDATE associations SET state = 'waiting_for_skill' WHERE id = ? AND state = 'dispatching'",
                       "i", d->association_id);
        sim_event(
            s, "directive.cancelled",
            json_pack("{s:s, s:s, s:s}", "kind", d->kind, "skill_id", d->skill_id, "customer_id", d->customer_id));
    }
}

typedef struct verdict {
    sim_skill_verdict outcome;
    long status;
    char reason[512];
    long long record_id; /* the skill_requests row, once recorded */
} verdict;

static int str_is(const json_t *obj, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v && strcmp(v, want) == 0;
}

/* A Discover answer: Alexa.Discovery Discover.Response (payloadVersion "3",
 * a valid messageId, payload.endpoints an array), or else whatever the
 * AssociateCustomerDevice judge takes as a well-formed Alexa.ErrorResponse
 * (Discover carries no correlation token, so none is compared). */
static sim_skill_verdict judge_discover(const char *body, size_t len, char *why, size_t whylen)
{
    json_t *root = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const json_t *event = json_object_get(root, "event");
    const json_t *hdr = json_object_get(event, "header");
    int success = str_is(hdr, "namespace", "Alexa.Discovery") && str_is(hdr, "name", "Discover.Response");
    int right = success && str_is(hdr, "payloadVersion", "3") &&
                wss_alexa_message_id_valid(json_string_value(json_object_get(hdr, "messageId"))) &&
                json_is_array(json_object_get(json_object_get(event, "payload"), "endpoints"));
    json_decref(root);
    if (right) {
        why[0] = '\0';
        return SIM_SKILL_RESPONSE_OK;
    }
    if (success) {
        snprintf(why, whylen,
                 "a Discover.Response needs payloadVersion \"3\", a valid messageId and payload.endpoints");
        return SIM_SKILL_RESPONSE_INVALID;
    }
    sim_skill_verdict v =
        sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, body, len, NULL, why, whylen);
    if (v == SIM_SKILL_RESPONSE_OK) {
        snprintf(why, whylen, "an Alexa.Response is not an answer to Discover");
        v = SIM_SKILL_RESPONSE_INVALID;
    }
    return v;
}

/* A fault rule on the route "skill" counts this answer as invalid. Locks. */
static void apply_faults(sim *s, const directive *d, verdict *v)
{
    sim_fault_hit hit = sim_faults_check(s, SIM_ROUTE_SKILL, d->skill_id);
    if (hit.action != SIM_FAULT_INVALID_RESPONSE || v->outcome == SIM_SKILL_RESPONSE_INVALID)
        return;
    v->outcome = SIM_SKILL_RESPONSE_INVALID;
    snprintf(v->reason, sizeof v->reason, "INVALID_SKILL_RESPONSE_EXCEPTION injected by fault rule %lld", hit.rule_id);
}

static void send_and_judge(sim *s, const directive *d, verdict *v)
{
    wss_httpc_request req = {
        .method = "POST",
        .url = d->skill.endpoint,
        .body = d->body,
        .body_len = strlen(d->body),
        .ca_file = d->skill.endpoint_ca_file[0] ? d->skill.endpoint_ca_file : NULL,
        .timeout_ms = s->cfg.skill_timeout_ms,
    };
    wss_httpc_response resp;
    char err[400];
    wss_err rc = wss_httpc_perform(&req, &resp, err, sizeof err);
    v->status = resp.status;
    if (rc == WSS_ERR_TIMEOUT) {
        v->outcome = SIM_SKILL_RESPONSE_INVALID;
        snprintf(v->reason, sizeof v->reason, "SKILL_RESPONSE_TIMEOUT: no answer within %lld ms",
                 s->cfg.skill_timeout_ms);
    } else if (rc != WSS_OK) {
        v->outcome = SIM_SKILL_RESPONSE_INVALID;
        snprintf(v->reason, sizeof v->reason, "endpoint unreachable: %s", err);
    } else if (resp.status < 200 || resp.status > 299) {
        v->outcome = SIM_SKILL_RESPONSE_INVALID;
        snprintf(v->reason, sizeof v->reason, "HTTP status %ld", resp.status);
    } else if (strcmp(d->kind, "discover") == 0) {
        v->outcome = judge_discover(resp.body, resp.body_len, v->reason, sizeof v->reason);
    } else {
        sim_directive_kind kind =
            strcmp(d->kind, "cdad") == 0 ? SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE : SIM_DIRECTIVE_ACCEPT_GRANT;
        v->outcome =
            sim_judge_skill_response(kind, resp.body, resp.body_len, d->correlation, v->reason, sizeof v->reason);
    }
    wss_httpc_response_free(&resp);
    apply_faults(s, d, v);
}

static const char *directive_name_of(const directive *d)
{
    return strcmp(d->kind, "cdad") == 0       ? "AssociateCustomerDevice"
           : strcmp(d->kind, "discover") == 0 ? "Discover"
                                              : "AcceptGrant";
}

static void record(sim *s, const directive *d, verdict *v)
{
    static const char *const outcome_names[] = {"ok", "error", "invalid"};
    const char *outcome = outcome_names[v->outcome];
    const char *directive_name = directive_name_of(d);
    long long now = sim_now_ms_locked(s);
    if (wss_db_run(s->db,
                   "INSERT INTO skill_requests (skill_id, at_ms, directive, outcome, http_status, reason)"
                   " VALUES (?,?,?,?,?,?)",
                   "tittit", d->skill_id, now, directive_name, outcome, (long long)v->status,
                   v->reason[0] ? v->reason : NULL) > 0)
        v->record_id = sqlite3_last_insert_rowid(s->db);
    wss_db_run(s->db, "UPDATE dispatches SET state = 'done' WHERE id = ?", "i", d->id);
    if (d->association_id) {
        const char *state = v->outcome == SIM_SKILL_RESPONSE_OK      ? "associated"
                            : v->outcome == SIM_SKILL_RESPONSE_ERROR ? "refused"
                                                                     : "failed";
        wss_db_run(s->db, "UPDATE associations SET state = ?, detail = ?, updated_ms = ? WHERE id = ?", "ttii", state,
                   v->reason[0] ? v->reason : NULL, now, d->association_id);
    }
    if (strcmp(d->kind, "accept_grant") == 0 && v->outcome != SIM_SKILL_RESPONSE_OK) {
        /* Enablement fails with AcceptGrant: the CDADs queued behind it are
         * cancelled when claimed, and their associations wait again. */
        wss_db_run(s->db, "UPDATE skill_links SET enabled = 0, updated_ms = ? WHERE customer_id = ? AND skill_id = ?",
                   "itt", now, d->customer_id, d->skill_id);
        sim_event(s, "skill.enable_failed",
                  json_pack("{s:s, s:s, s:s}", "customer_id", d->customer_id, "skill_id", d->skill_id, "reason",
                            v->reason[0] ? v->reason : outcome));
    }
    sim_event(s, v->outcome == SIM_SKILL_RESPONSE_INVALID ? "skill.invalid_response" : "skill.response",
              json_pack("{s:s, s:s, s:s, s:s, s:i, s:s?}", "skill_id", d->skill_id, "customer_id", d->customer_id,
                        "directive", directive_name, "outcome", outcome, "http_status", (int)v->status, "reason",
                        v->reason[0] ? v->reason : NULL));
}

static void *worker(void *arg)
{
    sim *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->wake_lock);
        if (s->stopping) {
            pthread_mutex_unlock(&s->wake_lock);
            break;
        }
        struct timeval now;
        gettimeofday(&now, NULL);
        struct timespec until = {.tv_sec = now.tv_sec + 1, .tv_nsec = now.tv_usec * 1000L};
        pthread_cond_timedwait(&s->wake, &s->wake_lock, &until);
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->wake_lock);
        if (stopping)
            break;

        sim_lock(s);
        sim_dispatch_expire(s);
        sim_unlock(s);
        directive d;
        for (;;) {
            sim_lock(s);
            int got = claim(s, &d);
            if (got)
                sim_event(s, "directive.sent",
                          json_pack("{s:s, s:s, s:s, s:I}", "kind", d.kind, "skill_id", d.skill_id, "customer_id",
                                    d.customer_id, "association_id", (json_int_t)d.association_id));
            sim_unlock(s);
            if (!got)
                break;
            verdict v = {0};
            send_and_judge(s, &d, &v);
            sim_lock(s);
            record(s, &d, &v);
            sim_unlock(s);
            free(d.body);
        }
    }
    return NULL;
}

json_t *sim_dispatch_now(sim *s, const char *skill_id, const char *customer_id, const char *name, long long count,
                         int *status, char *why, size_t whylen)
{
    sim_skill_row skill;
    if (strcmp(name, "Discover") != 0) {
        *status = 400;
        snprintf(why, whylen, "name must be \"Discover\"");
        return NULL;
    }
    if (sim_skill_by_id(s, skill_id, &skill) != WSS_OK) {
        *status = 404;
        snprintf(why, whylen, "no skill %s", skill_id);
        return NULL;
    }
    long long counts[3] = {0, 0, 0}, first = 0, last = 0, sent = 0;
    for (long long i = 0; i < count; i++) {
        directive d;
        memset(&d, 0, sizeof d);
        snprintf(d.kind, sizeof d.kind, "discover");
        snprintf(d.skill_id, sizeof d.skill_id, "%s", skill_id);
        snprintf(d.customer_id, sizeof d.customer_id, "%s", customer_id);
        if (!skill.enabled || build(s, &d) != 0) {
            if (sent > 0)
                break; /* the link went away meanwhile: report what was sent */
            *status = 409;
            snprintf(why, whylen, "skill %s is disabled or not enabled for customer %s", skill_id, customer_id);
            return NULL;
        }
        sim_event(s, "directive.sent",
                  json_pack("{s:s, s:s, s:s}", "kind", d.kind, "skill_id", d.skill_id, "customer_id", d.customer_id));
        sim_unlock(s);
        verdict v = {0};
        send_and_judge(s, &d, &v);
        sim_lock(s);
        record(s, &d, &v);
        free(d.body);
        counts[v.outcome]++;
        sent++;
        if (!first)
            first = v.record_id;
        last = v.record_id;
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "sent", (json_int_t)sent, "ok", (json_int_t)counts[0], "errors",
                     (json_int_t)counts[1], "invalid_responses", (json_int_t)counts[2], "first_id", (json_int_t)first,
                     "last_id", (json_int_t)last);
}

wss_err sim_dispatch_start(sim *s)
{
    sim_lock(s);
    /* A directive that was on the wire when we stopped is sent again. */
    wss_db_run(s->db, "UPDATE dispatches SET state = 'pending' WHERE state = 'sending'", "");
    sim_unlock(s);
    if (pthread_create(&s->dispatcher, NULL, worker, s) != 0)
        return WSS_ERR_NOMEM;
    s->dispatcher_started = 1;
    sim_dispatch_wake(s);
    return WSS_OK;
}

void sim_dispatch_stop(sim *s)
{
    if (!s->dispatcher_started)
        return;
    pthread_mutex_lock(&s->wake_lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->wake_lock);
    pthread_join(s->dispatcher, NULL);
    s->dispatcher_started = 0;
}

/* faults.c - failures injected on purpose, per route and per client.
 *
 * A rule matches a route ("lwa", "events", "dss", "dss.<operation>" or "*")
 * and a client id (or "*"; on the DSS the client is the device's DSN)
 * and either fails a deterministic fraction of matching requests ("rate":
 * request n, counted from 0, fails when floor((n+1)*rate) > floor(n*rate), so
 * 0.25 fails every fourth request exactly) or follows a fixed "schedule" of
 * statuses, one per matching request, 0 meaning "let it through"; a spent
 * schedule stops matching. "latency_ms" delays every matching request. The
 * first matching rule (lowest id) decides. Hit counts live in the store, so a
 * restart continues the same sequence.
 *
 * DSS rules may carry an "action" instead of a status: "drop" closes the
 * connection without an answer, "bad_signature" signs other bytes than the
 * body sent. Such a rule acts on every matching request ("rate" 1), on a
 * fraction ("rate"), or by "schedule" where 1 means act and 0 let through.
 *
 * The route "skill" is the emulator's own directives to a skill (the client
 * is the skill id). Its one action, "invalid_response", counts the skill's
 * answer as an INVALID_SKILL_RESPONSE_EXCEPTION whatever it was, so that a
 * badge monitor can be tested against an exact error share. Rules for "*"
 * never match "skill": they speak HTTP statuses, which a directive's
 * judging has no use for. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "sim/internal.h"

static int status_allowed(long long st) { return st == 0 || st == 429 || st == 500 || st == 503; }

/* "dss" or "dss.<operation>". */
static int dss_route_valid(const char *route)
{
    static const char *const ops[] = {"startProvisioningSession",
                                      "computeConfigurationData",
                                      "postWifiScanData",
                                      "getWifiCredentials",
                                      "report",
                                      NULL};
    if (strcmp(route, SIM_ROUTE_DSS) == 0)
        return 1;
    if (strncmp(route, "dss.", 4) != 0)
        return 0;
    for (const char *const *op = ops; *op; op++)
        if (strcmp(route + 4, *op) == 0)
            return 1;
    return 0;
}

long long sim_faults_add(sim *s, const json_t *rule, const char *origin, char *why, size_t whylen)
{
    static const char *const keys[] = {"route",      "client",        "status", "rate", "schedule",
                                       "latency_ms", "retry_after_s", "action", NULL};
    if (!json_is_object(rule)) {
        snprintf(why, whylen, "a fault rule must be an object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rule, k, v)
    {
        int ok = 0;
        for (const char *const *a = keys; *a; a++)
            ok |= strcmp(k, *a) == 0;
        if (!ok) {
            snprintf(why, whylen, "unknown key \"%s\" in fault rule", k);
            return -1;
        }
    }
    const char *route = json_string_value(json_object_get(rule, "route"));
    const char *client = json_string_value(json_object_get(rule, "client"));
    json_t *status = json_object_get(rule, "status");
    json_t *rate = json_object_get(rule, "rate");
    json_t *schedule = json_object_get(rule, "schedule");
    json_t *latency = json_object_get(rule, "latency_ms");
    json_t *retry = json_object_get(rule, "retry_after_s");
    if (!route)
        route = "*";
    if (!client)
        client = "*";
    if (strcmp(route, "*") && strcmp(route, SIM_ROUTE_LWA) && strcmp(route, SIM_ROUTE_EVENTS) &&
        strcmp(route, SIM_ROUTE_SKILL) && !dss_route_valid(route)) {
        snprintf(why, whylen,
                 "\"route\" must be \"lwa\", \"events\", \"dss\", \"dss.<operation>\", \"skill\" or \"*\"");
        return -1;
    }
    json_t *action_v = json_object_get(rule, "action");
    const char *action = json_string_value(action_v);
    if (action_v && (!action || (strcmp(action, "drop") && strcmp(action, "bad_signature") &&
                                 strcmp(action, "invalid_response")))) {
        snprintf(why, whylen, "\"action\" must be \"drop\", \"bad_signature\" or \"invalid_response\"");
        return -1;
    }
    int skill_route = strcmp(route, SIM_ROUTE_SKILL) == 0;
    if (skill_route != (action && strcmp(action, "invalid_response") == 0) ||
        (skill_route && json_object_get(rule, "latency_ms"))) {
        snprintf(why, whylen, "the \"skill\" route takes exactly the action \"invalid_response\" (no latency)");
        return -1;
    }
    if (action && ((!skill_route && strncmp(route, SIM_ROUTE_DSS, 3) != 0) || json_object_get(rule, "status") ||
                   json_object_get(rule, "retry_after_s"))) {
        snprintf(why, whylen, "an \"action\" rule needs a \"dss\" route and takes no \"status\" or \"retry_after_s\"");
        return -1;
    }
    if ((status && (!json_is_integer(status) || !status_allowed(json_integer_value(status)))) ||
        (latency &&
         (!json_is_integer(latency) || json_integer_value(latency) < 0 || json_integer_value(latency) > 600000)) ||
        (retry && (!json_is_integer(retry) || json_integer_value(retry) < 0 || json_integer_value(retry) > 3600))) {
        snprintf(why, whylen,
                 "\"status\" must be 0, 429, 500 or 503; \"latency_ms\" 0..600000; \"retry_after_s\" 0..3600");
        return -1;
    }
    if (rate && (!json_is_number(rate) || json_number_value(rate) < 0 || json_number_value(rate) > 1)) {
        snprintf(why, whylen, "\"rate\" must be a number from 0 to 1");
        return -1;
    }
    if (schedule) {
        size_t i;
        json_t *e;
        if (!json_is_array(schedule) || json_array_size(schedule) == 0 || json_array_size(schedule) > 10000) {
            snprintf(why, whylen, "\"schedule\" must be an array of 1..10000 statuses");
            return -1;
        }
        json_array_foreach(schedule, i, e)
        {
            long long v = json_integer_value(e);
            if (!json_is_integer(e) || (action ? v != 0 && v != 1 : !status_allowed(v))) {
                snprintf(why, whylen,
                         action ? "schedule[%zu] of an \"action\" rule must be 0 or 1"
                                : "schedule[%zu] must be 0, 429, 500 or 503",
                         i);
                return -1;
            }
        }
    }
    if (rate && schedule) {
        snprintf(why, whylen, "give \"rate\" or \"schedule\", not both");
        return -1;
    }
    long long st = status ? json_integer_value(status) : 0;
    if (!schedule && st == 0 && !latency && !action) {
        snprintf(why, whylen, "a rule needs a \"status\" with a \"rate\", a \"schedule\" or a \"latency_ms\"");
        return -1;
    }
    char *sched = schedule ? json_dumps(schedule, JSON_COMPACT) : NULL;
    int rc = wss_db_run(s->db,
                        "INSERT INTO faults (route, client, status, rate, schedule, latency_ms, retry_after_s, origin,"
                        " action) VALUES (?,?,?,?,?,?,?,?,?)",
                        "ttidtiitt", route, client, action ? 1LL : st,
                        rate ? json_number_value(rate) : (status || action ? 1.0 : 0.0), sched,
                        latency ? (long long)json_integer_value(latency) : 0LL,
                        retry ? (long long)json_integer_value(retry) : 0LL, origin, action);
    free(sched);
    if (rc < 0) {
        snprintf(why, whylen, "cannot store the rule: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    atomic_store(&s->fault_rules, 1);
    return sqlite3_last_insert_rowid(s->db);
}

json_t *sim_faults_list(sim *s)
{
    json_t *list = json_array();
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT id, route, client, status, rate, schedule, latency_ms,"
                                      " retry_after_s, hits, origin, action FROM faults ORDER BY id",
                                      "");
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *sched = (const char *)sqlite3_column_text(st, 5);
        json_t *rule =
            json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:s}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                      "route", sqlite3_column_text(st, 1), "client", sqlite3_column_text(st, 2), "status",
                      (json_int_t)sqlite3_column_int64(st, 3), "latency_ms", (json_int_t)sqlite3_column_int64(st, 6),
                      "retry_after_s", (json_int_t)sqlite3_column_int64(st, 7), "hits",
                      (json_int_t)sqlite3_column_int64(st, 8), "origin", sqlite3_column_text(st, 9));
        if (sqlite3_column_type(st, 10) != SQLITE_NULL) {
            json_object_set_new(rule, "action", json_string((const char *)sqlite3_column_text(st, 10)));
            json_object_set_new(rule, "status", json_integer(0));
        }
        if (sched)
            json_object_set_new(rule, "schedule", json_loads(sched, 0, NULL));
        else
            json_object_set_new(rule, "rate", json_real(sqlite3_column_double(st, 4)));
        json_array_append_new(list, rule);
    }
    sqlite3_finalize(st);
    return list;
}

/* Counts the rules again (needs db_lock). */
static void recount(sim *s)
{
    sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT count(*) FROM faults", "");
    int known = st && sqlite3_step(st) == SQLITE_ROW;
    atomic_store(&s->fault_rules, known ? sqlite3_column_int64(st, 0) > 0 : -1);
    sqlite3_finalize(st);
}

int sim_faults_clear(sim *s, long long id)
{
    int rc = id < 0 ? wss_db_run(s->db, "DELETE FROM faults", "")
                    : wss_db_run(s->db, "DELETE FROM faults WHERE id = ?", "i", id);
    recount(s);
    return rc;
}

/* What rule `id` says about its hit number n; -1 when the rule no longer applies. */
static int decide(long long status, double rate, const char *schedule, long long n)
{
    if (schedule) {
        json_t *arr = json_loads(schedule, 0, NULL);
        int out = n < (long long)json_array_size(arr) ? (int)json_integer_value(json_array_get(arr, (size_t)n)) : -1;
        json_decref(arr);
        return out;
    }
    if (status == 0)
        return 0;
    return floor((double)(n + 1) * rate) > floor((double)n * rate) ? (int)status : 0;
}

sim_fault_hit sim_faults_check(sim *s, const char *route, const char *client)
{
    sim_fault_hit hit = {0};
    if (atomic_load(&s->fault_rules) == 0)
        return hit;
    sim_lock(s);
    if (atomic_load(&s->fault_rules) < 0)
        recount(s);
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT id, status, rate, schedule, latency_ms, retry_after_s, hits, action"
                                      " FROM faults WHERE (route = ? OR (route = '*' AND ? <> 'skill') OR"
                                      " (route = 'dss' AND ? LIKE 'dss.%')) AND (client = ? OR client = '*')"
                                      " ORDER BY id",
                                      "tttt", route, route, route, client);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(st, 0);
        const char *sched = (const char *)sqlite3_column_text(st, 3);
        int verdict =
            decide(sqlite3_column_int64(st, 1), sqlite3_column_double(st, 2), sched, sqlite3_column_int64(st, 6));
        if (verdict < 0)
            continue; /* a spent schedule */
        hit.rule_id = id;
        hit.status = verdict;
        const char *action = (const char *)sqlite3_column_text(st, 7);
        if (action && verdict) {
            hit.status = 0;
            hit.action = strcmp(action, "drop") == 0               ? SIM_FAULT_DROP
                         : strcmp(action, "invalid_response") == 0 ? SIM_FAULT_INVALID_RESPONSE
                                                                   : SIM_FAULT_BAD_SIGNATURE;
        }
        hit.latency_ms = sqlite3_column_int64(st, 4);
        hit.retry_after_s = verdict == 429 ? sqlite3_column_int(st, 5) : 0;
        break;
    }
    sqlite3_finalize(st);
    if (hit.rule_id) {
        wss_db_run(s->db, "UPDATE faults SET hits = hits + 1 WHERE id = ?", "i", hit.rule_id);
        if (hit.status || hit.action)
            sim_event(s, "fault.injected",
                      json_pack("{s:I, s:s, s:s, s:i, s:s?}", "rule", (json_int_t)hit.rule_id, "route", route, "client",
                                client, "status", hit.status, "action",
                                hit.action == SIM_FAULT_DROP               ? "drop"
                                : hit.action == SIM_FAULT_BAD_SIGNATURE    ? "bad_signature"
                                : hit.action == SIM_FAULT_INVALID_RESPONSE ? "invalid_response"
                                                                           : NULL));
    }
    sim_unlock(s);
    return hit;
}

void sim_faults_delay(const sim_fault_hit *hit)
{
    if (hit->latency_ms <= 0)
        return;
    struct timespec ts = {.tv_sec = hit->latency_ms / 1000, .tv_nsec = (hit->latency_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

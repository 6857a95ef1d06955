/* alerts.c - the alerts in force at an instant and their delivery, once each.
 *
 * An alert is a condition with a stable key (a badge removal with its cause
 * and start, a burn-rate rule, a warning of the engine with what it is
 * about). DIR/alerts.db holds the alerts in force at the last evaluation and,
 * per sink, whether each one was delivered: an alert is delivered once to
 * each sink while it stays in force; a failed delivery is tried again at the
 * next evaluation; an alert that is no longer in force is forgotten, so if
 * it comes back it is delivered again. Each evaluation runs in one SQLite
 * write transaction, so two evaluators (`wss wwa serve` and `wss wwa alerts`)
 * never deliver the same alert twice. Every delivery is also logged in the
 * table `deliveries`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/db.h"
#include "common/httpc.h"
#include "wwa/internal.h"
#include "wwa/live.h"

extern char **environ;

#define DEFAULT_TIMEOUT_MS 10000L

/* ------------------------------------------------------------ evaluation */

typedef struct alert_list {
    wwa_alert *items;
    size_t n, cap;
    int nomem;
} alert_list;

static void add(alert_list *l, const char *kind, const char *severity, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(alert_list *l, const char *kind, const char *severity, const char *key, const char *fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        wwa_alert *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown) {
            l->nomem = 1;
            return;
        }
        l->items = grown;
        l->cap = cap;
    }
    wwa_alert *a = &l->items[l->n++];
    memset(a, 0, sizeof *a);
    snprintf(a->kind, sizeof a->kind, "%s", kind);
    snprintf(a->severity, sizeof a->severity, "%s", severity);
    snprintf(a->key, sizeof a->key, "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->summary, sizeof a->summary, fmt, ap);
    va_end(ap);
}

static void eval_removals(alert_list *l, const wss_wwa_state *s)
{
    for (size_t i = 0; i < s->nreasons; i++) {
        const wss_wwa_reason *r = &s->reasons[i];
        char key[384];
        snprintf(key, sizeof key, "badge_removed:%s:%s:%lld", wss_wwa_reason_name(r->kind), r->subject, r->since_ms);
        add(l, "badge_removed", "critical", key, "badge removed (%s): %s", wss_wwa_reason_name(r->kind), r->text);
    }
}

static void eval_warnings(alert_list *l, const wss_wwa_state *s)
{
    const wss_wwa_availability *a = &s->availability;
    char key[384], when[32];
    if (a->warn_downtime) {
        snprintf(key, sizeof key, "downtime_warning:%d", a->year);
        add(l, "warning", "warning", key, "availability %d: %lld of %lld s of the downtime allowance used", a->year,
            a->downtime_ms / 1000, a->allowance_ms / 1000);
    }
    if (a->warn_outages) {
        /* One per outage from the warning level on: the fifth is news after the fourth. */
        snprintf(key, sizeof key, "outages_warning:%d:%d", a->year, a->outages);
        add(l, "warning", "warning", key, "availability %d: %d of %d outages", a->year, a->outages,
            WSS_WWA_MAX_OUTAGES);
    }
    for (size_t i = 0; i < s->nskills; i++) {
        const wss_wwa_skill_state *k = &s->skills[i];
        if (k->breach && !k->removed) {
            wss_wwa_format_time(k->deadline_ms, when);
            snprintf(key, sizeof key, "isre_breach:%s:%lld", k->skill, k->breach_start_ms);
            add(l, "warning", "ticket", key, "skill %s: %.2f %% invalid responses over 30 days; mitigate before %s",
                k->skill, k->percent, when);
        } else if (k->warn && !k->breach) {
            snprintf(key, sizeof key, "isre_warning:%s", k->skill);
            add(l, "warning", "warning", key, "skill %s: %.2f %% invalid responses over 30 days (limit 3 %%)", k->skill,
                k->percent);
        }
    }
    for (size_t i = 0; i < s->nincidents; i++) {
        const wss_wwa_incident_state *n = &s->incidents[i];
        if (!n->overdue)
            continue;
        wss_wwa_format_time(n->fix_deadline_ms, when);
        snprintf(key, sizeof key, "incident_overdue:%s", n->id);
        add(l, "warning", "warning", key, "incident %s (%s) not fixed by its deadline %s: Amazon may remove the badge",
            n->id, wss_wwa_severity_name(n->severity), when);
    }
    if (s->high_this_year == 1) {
        int y, m;
        wwa_year_month(s->at_ms, &y, &m);
        snprintf(key, sizeof key, "high_incident:%d", y);
        add(l, "warning", "warning", key, "one high incident in %d: a second one removes all badges", y);
    }
    if (!s->checklist_ok && s->nasins == 0)
        add(l, "warning", "warning", "checklist_gaps",
            "product checklist: no ASIN attested yet; a badge request would be rejected");
    else if (!s->checklist_ok)
        add(l, "warning", "warning", "checklist_gaps", "product checklist: %zu gaps; a badge request would be rejected",
            s->checklist_gaps);
}

static void eval_burn(alert_list *l, const wwa_burn *b)
{
    for (int r = 0; r < WWA_BURN_RULES; r++) {
        if (!b->firing[r])
            continue;
        const wwa_burn_rule *rule = &wwa_burn_rules[r];
        char key[384];
        snprintf(key, sizeof key, "burn_rate:%s", rule->name);
        add(l, "burn_rate", rule->severity, key,
            "availability budget burning at %.1fx over %s and %.1fx over %s (alert above %lld.%02lldx): %lld s down "
            "in the last %s",
            b->rate[rule->long_w], wwa_window_names[rule->long_w], b->rate[rule->short_w],
            wwa_window_names[rule->short_w], rule->factor_x100 / 100, rule->factor_x100 % 100,
            b->downtime_ms[rule->long_w] / 1000, wwa_window_names[rule->long_w]);
    }
}

wss_err wwa_alerts_eval(wss_wwa *e, long long t, wwa_alert **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    wss_wwa_state s;
    wwa_burn b;
    wss_err rc = wss_wwa_state_at(e, t, &s);
    if (rc != WSS_OK)
        return rc;
    rc = wwa_burn_at(e, t, &b);
    if (rc != WSS_OK) {
        wss_wwa_state_free(&s);
        return rc;
    }
    alert_list l = {0};
    eval_removals(&l, &s);
    eval_burn(&l, &b);
    eval_warnings(&l, &s);
    wss_wwa_state_free(&s);
    if (l.nomem) {
        free(l.items);
        return WSS_ERR_NOMEM;
    }
    *out = l.items;
    *n = l.n;
    return WSS_OK;
}

json_t *wwa_alert_json(const wwa_alert *a, long long t)
{
    char when[32];
    wss_wwa_format_time(t, when);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "source", "wss wwa", "key", a->key, "kind", a->kind, "severity",
                     a->severity, "summary", a->summary, "at", when);
}

/* ------------------------------------------------------------ delivery */

static wss_err deliver_webhook(const char *url, const char *body, long timeout_ms, char *why, size_t whylen)
{
    wss_httpc_request req = {
        .method = "POST", .url = url, .body = body, .body_len = strlen(body), .timeout_ms = timeout_ms};
    wss_httpc_response resp;
    char err[256];
    wss_err rc = wss_httpc_perform(&req, &resp, err, sizeof err);
    if (rc != WSS_OK) {
        snprintf(why, whylen, "%s", err);
        return rc;
    }
    long status = resp.status;
    wss_httpc_response_free(&resp);
    if (status < 200 || status > 299) {
        snprintf(why, whylen, "the webhook answered %ld", status);
        return WSS_ERR_NETWORK;
    }
    snprintf(why, whylen, "HTTP %ld", status);
    return WSS_OK;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid up to timeout_ms, then kills it. The exit status, or -1. */
static int wait_child(pid_t pid, long timeout_ms, int *timed_out)
{
    long long deadline = mono_ms() + timeout_ms;
    int status;
    *timed_out = 0;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return status;
        if (got < 0 && errno != EINTR)
            return -1;
        if (mono_ms() > deadline) {
            *timed_out = 1;
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        struct timespec nap = {0, 5 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

/* Runs argv (no shell: the program is looked up in PATH and gets argv as
 * given) with body on its standard input and its standard output sent to
 * our standard error. The caller ignores SIGPIPE (wss does), so a command
 * that does not read its input cannot kill us. */
static wss_err deliver_command(const char *const *argv, const char *body, long timeout_ms, char *why, size_t whylen)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return WSS_ERR_IO;
    }
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    pid_t pid;
    int sp = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (sp != 0) {
        close(fds[1]);
        snprintf(why, whylen, "cannot run %s: %s", argv[0], strerror(sp));
        return WSS_ERR_IO;
    }
    size_t len = strlen(body), off = 0;
    while (off < len) {
        ssize_t w = write(fds[1], body + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the command closed its input: its exit status decides */
        off += (size_t)w;
    }
    close(fds[1]);
    int timed_out, status = wait_child(pid, timeout_ms, &timed_out);
    if (timed_out) {
        snprintf(why, whylen, "%s did not finish within %ld ms (killed)", argv[0], timeout_ms);
        return WSS_ERR_TIMEOUT;
    }
    if (status < 0 || !WIFEXITED(status)) {
        snprintf(why, whylen, "%s ended abnormally", argv[0]);
        return WSS_ERR_IO;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(why, whylen, "%s exited with %d", argv[0], WEXITSTATUS(status));
        return WSS_ERR_IO;
    }
    snprintf(why, whylen, "exit 0");
    return WSS_OK;
}

/* ------------------------------------------------------------ the alert store */

static const char *const migrations[] = {
    "CREATE TABLE alerts ("
    "  key TEXT PRIMARY KEY,"
    "  first_at INTEGER NOT NULL," /* the instant evaluated when it first was in force */
    "  body TEXT NOT NULL,"        /* the JSON delivered */
    "  webhook_at INTEGER,"        /* wall-clock time of its delivery to the webhook, NULL before */
    "  command_at INTEGER"         /* the same for the command */
    ");"
    "CREATE TABLE deliveries ("
    "  seq INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL,"
    "  sink TEXT NOT NULL," /* "webhook" or "command" */
    "  at INTEGER NOT NULL,"
    "  ok INTEGER NOT NULL,"
    "  detail TEXT NOT NULL"
    ");",
};

static int in_list(const wwa_alert *a, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].key, key) == 0)
            return 1;
    return 0;
}

/* Forgets the alerts no longer in force. */
static wss_err forget_resolved(sqlite3 *db, const wwa_alert *a, size_t n, FILE *log)
{
    sqlite3_stmt *st = wss_db_prepare(db, "SELECT key FROM alerts", "");
    if (!st)
        return WSS_ERR_STORE;
    char **gone = NULL;
    size_t ngone = 0;
    wss_err rc = WSS_OK;
    while (rc == WSS_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (!key || in_list(a, n, key))
            continue;
        char **grown = realloc(gone, (ngone + 1) * sizeof *gone);
        if (!grown || !(grown[ngone] = strdup(key))) {
            gone = grown ? grown : gone;
            rc = WSS_ERR_NOMEM;
            break;
        }
        gone = grown;
        ngone++;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < ngone; i++) {
        if (rc == WSS_OK && wss_db_run(db, "DELETE FROM alerts WHERE key = ?", "t", gone[i]) < 0)
            rc = WSS_ERR_STORE;
        if (rc == WSS_OK && log)
            fprintf(log, "resolved  %s\n", gone[i]);
        free(gone[i]);
    }
    free(gone);
    return rc;
}

/* The stored body of key (malloc'd) and whether each sink has it; inserts
 * the alert when it is new. */
static wss_err remember(sqlite3 *db, const wwa_alert *a, long long t, char **body, int *webhook_done, int *command_done,
                        int *is_new)
{
    sqlite3_stmt *st = wss_db_prepare(
        db, "SELECT body, webhook_at IS NOT NULL, command_at IS NOT NULL FROM alerts WHERE key = ?", "t", a->key);
    if (!st)
        return WSS_ERR_STORE;
    *is_new = sqlite3_step(st) != SQLITE_ROW;
    if (!*is_new) {
        *body = wss_db_column_strdup(st, 0);
        *webhook_done = sqlite3_column_int(st, 1);
        *command_done = sqlite3_column_int(st, 2);
    }
    sqlite3_finalize(st);
    if (!*is_new)
        return *body ? WSS_OK : WSS_ERR_NOMEM;
    json_t *doc = wwa_alert_json(a, t);
    *body = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!*body)
        return WSS_ERR_NOMEM;
    *webhook_done = *command_done = 0;
    if (wss_db_run(db, "INSERT INTO alerts (key, first_at, body) VALUES (?, ?, ?)", "tit", a->key, t, *body) != 1) {
        free(*body);
        *body = NULL;
        return WSS_ERR_STORE;
    }
    return WSS_OK;
}

static wss_err record(sqlite3 *db, const char *key, const char *sink, int ok, const char *detail)
{
    long long now = wss_wall_ms();
    if (wss_db_run(db, "INSERT INTO deliveries (key, sink, at, ok, detail) VALUES (?, ?, ?, ?, ?)", "ttiit", key, sink,
                   now, (long long)ok, detail) != 1)
        return WSS_ERR_STORE;
    if (ok && wss_db_run(db,
                         strcmp(sink, "webhook") == 0 ? "UPDATE alerts SET webhook_at = ? WHERE key = ?"
                                                      : "UPDATE alerts SET command_at = ? WHERE key = ?",
                         "it", now, key) != 1)
        return WSS_ERR_STORE;
    return WSS_OK;
}

static wss_err deliver_all(sqlite3 *db, const wwa_alert *alerts, size_t n, long long t, const wwa_alert_sinks *sinks,
                           FILE *log, wwa_alert_report *rep)
{
    long timeout = sinks && sinks->timeout_ms > 0 ? sinks->timeout_ms : DEFAULT_TIMEOUT_MS;
    int want_webhook = sinks && sinks->webhook_url, want_command = sinks && sinks->command && sinks->command[0];
    for (size_t i = 0; i < n; i++) {
        const wwa_alert *a = &alerts[i];
        char *body = NULL, why[512];
        int webhook_done, command_done, is_new;
        wss_err rc = remember(db, a, t, &body, &webhook_done, &command_done, &is_new);
        if (rc != WSS_OK)
            return rc;
        if (log)
            fprintf(log, "%-9s %s [%s] %s\n", is_new ? "new" : "in force", a->key, a->severity, a->summary);
        for (int sink = 0; sink < 2 && rc == WSS_OK; sink++) {
            if (sink == 0 ? !want_webhook || webhook_done : !want_command || command_done)
                continue;
            wss_err d = sink == 0 ? deliver_webhook(sinks->webhook_url, body, timeout, why, sizeof why)
                                  : deliver_command(sinks->command, body, timeout, why, sizeof why);
            if (d == WSS_OK)
                rep->delivered++;
            else
                rep->failed++;
            if (log)
                fprintf(log, "          %s: %s (%s)\n", sink == 0 ? "webhook" : "command",
                        d == WSS_OK ? "delivered" : "FAILED", why);
            rc = record(db, a->key, sink == 0 ? "webhook" : "command", d == WSS_OK, why);
        }
        free(body);
        if (rc != WSS_OK)
            return rc;
    }
    return WSS_OK;
}

wss_err wwa_alerts_run(const char *state_dir, wss_wwa *e, long long t, const wwa_alert_sinks *sinks, FILE *log,
                       wwa_alert_report *report, char *err, size_t errlen)
{
    wwa_alert_report rep = {0};
    if (report)
        *report = rep;
    wwa_alert *alerts = NULL;
    size_t n = 0;
    wss_err rc = wwa_alerts_eval(e, t, &alerts, &n);
    if (rc != WSS_OK) {
        snprintf(err, errlen, "cannot evaluate the alerts: %s", wss_strerror(rc));
        return rc;
    }
    rep.firing = n;
    char path[4200];
    snprintf(path, sizeof path, "%s/alerts.db", state_dir);
    sqlite3 *db = NULL;
    rc = wss_db_open(path, migrations, sizeof migrations / sizeof *migrations, &db, err, errlen);
    if (rc == WSS_OK) {
        rc = wss_db_exec(db, "BEGIN IMMEDIATE", err, errlen);
        if (rc == WSS_OK) {
            rc = forget_resolved(db, alerts, n, log);
            if (rc == WSS_OK)
                rc = deliver_all(db, alerts, n, t, sinks, log, &rep);
            if (rc != WSS_OK)
                snprintf(err, errlen, "alert store %s: %s", path, sqlite3_errmsg(db));
            if (rc == WSS_OK)
                rc = wss_db_exec(db, "COMMIT", err, errlen);
            else
                wss_db_exec(db, "ROLLBACK", path, sizeof path);
        }
    }
    sqlite3_close(db);
    free(alerts);
    if (report)
        *report = rep;
    return rc;
}

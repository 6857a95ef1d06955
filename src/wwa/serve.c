/* serve.c - `wss wwa serve`: the dashboard, the metrics and the status over
 * HTTP, and the periodic alert evaluation.
 *
 * Routes (GET only; anything else is 405, a body is refused):
 *   /             the dashboard page (HTML, inline SVG, no script)
 *   /metrics      Prometheus text
 *   /api/status   the document of `wss wwa status --json`
 *   /api/series   the chart data of the year (days, skills, outages)
 *   /healthz      "ok"
 * Every route but /healthz takes ?at=TIME (UTC) to look at another instant.
 *
 * The store is read afresh when its files change (an import while serving
 * shows up at the next request); the engine is rebuilt from it then and
 * kept otherwise. Requests are answered one at a time (the engine sorts
 * lazily and is not shared between threads); the alert thread has its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/httpd.h"
#include "wwa/internal.h"
#include "wwa/live.h"
#include "wwa/store.h"

#define MAX_REQUEST_BODY 1024

/* ------------------------------------------------------------ the engine of the store */

typedef struct file_id {
    long long mtime_ns, size, ino;
} file_id;

typedef struct engine_cache {
    char db[4200], wal[4210];
    file_id seen_db, seen_wal;
    wss_wwa *e;
} engine_cache;

static file_id identify(const char *path)
{
    struct stat sb;
    file_id id = {-1, -1, -1};
    if (stat(path, &sb) == 0) {
        id.mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
        id.size = (long long)sb.st_size;
        id.ino = (long long)sb.st_ino;
    }
    return id;
}

static int same(file_id a, file_id b) { return a.mtime_ns == b.mtime_ns && a.size == b.size && a.ino == b.ino; }

static void cache_init(engine_cache *c, const char *state_dir)
{
    memset(c, 0, sizeof *c);
    snprintf(c->db, sizeof c->db, "%s/wwa.db", state_dir);
    snprintf(c->wal, sizeof c->wal, "%s-wal", c->db);
}

static void cache_free(engine_cache *c)
{
    wss_wwa_free(c->e);
    c->e = NULL;
}

/* The engine holding every stored event, rebuilt when the store changed. */
static wss_err cache_engine(engine_cache *c, wss_wwa **out, char *err, size_t errlen)
{
    file_id db = identify(c->db), wal = identify(c->wal);
    if (c->e && same(db, c->seen_db) && same(wal, c->seen_wal)) {
        *out = c->e;
        return WSS_OK;
    }
    wwa_store *st = NULL;
    wss_wwa *e = NULL;
    wss_err rc = wwa_store_open(c->db, &st, err, errlen);
    if (rc == WSS_OK && (rc = wss_wwa_new(NULL, &e)) != WSS_OK)
        snprintf(err, errlen, "%s", wss_strerror(rc));
    if (rc == WSS_OK)
        rc = wwa_store_load(st, e, NULL, err, errlen);
    wwa_store_close(st);
    if (rc != WSS_OK) {
        wss_wwa_free(e);
        return rc;
    }
    cache_free(c);
    c->e = e;
    /* Identified before reading: a change during the read is seen next time. */
    c->seen_db = db;
    c->seen_wal = wal;
    *out = e;
    return WSS_OK;
}

/* ------------------------------------------------------------ the server */

struct wwa_server {
    wwa_serve_options o;
    wss_http_server *http;
    pthread_mutex_t lock; /* requests, one at a time */
    engine_cache cache;
    int alerts_on;
    pthread_t alert_thread;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    int stopping;
    engine_cache alert_cache;
};

static long long now_ms(const wwa_server *s) { return s->o.at_ms >= 0 ? s->o.at_ms : wss_wall_ms(); }

static void reply_owned(wss_http_response *resp, int status, char *body, size_t len, const char *type)
{
    if (!body) {
        wss_http_reply_error(resp, 500, "out of memory");
        return;
    }
    resp->status = status;
    resp->body = body;
    resp->body_len = len;
    resp->content_type = type;
}

static void route(wwa_server *s, const wss_http_request *req, wss_http_response *resp, long long t)
{
    char err[512];
    wss_wwa *e;
    if (cache_engine(&s->cache, &e, err, sizeof err) != WSS_OK) {
        wss_http_reply_error(resp, 503, "the store is unusable: %s", err);
        return;
    }
    wss_wwa_state st;
    wss_err rc = wss_wwa_state_at(e, t, &st);
    if (rc != WSS_OK) {
        wss_http_reply_error(resp, 500, "cannot compute the state: %s", wss_strerror(rc));
        return;
    }
    if (strcmp(req->path, "/api/status") == 0) {
        json_t *doc = wwa_status_json(&st);
        if (doc)
            wss_http_reply_json(resp, 200, doc);
        else
            wss_http_reply_error(resp, 500, "out of memory");
        wss_wwa_state_free(&st);
        return;
    }
    wwa_burn b;
    wwa_series series;
    int is_metrics = strcmp(req->path, "/metrics") == 0, is_series = strcmp(req->path, "/api/series") == 0;
    rc = is_series ? WSS_OK : wwa_burn_at(e, t, &b);
    if (rc == WSS_OK && !is_metrics)
        rc = wwa_series_at(e, t, &series);
    if (rc != WSS_OK) {
        wss_wwa_state_free(&st);
        wss_http_reply_error(resp, 500, "cannot compute the series: %s", wss_strerror(rc));
        return;
    }
    if (is_metrics) {
        char *text = wwa_metrics_text(&st, &b);
        reply_owned(resp, 200, text, text ? strlen(text) : 0, "text/plain; version=0.0.4; charset=utf-8");
    } else if (is_series) {
        json_t *doc = wwa_series_json(&series);
        if (doc)
            wss_http_reply_json(resp, 200, doc);
        else
            wss_http_reply_error(resp, 500, "out of memory");
    } else {
        size_t len;
        char *html = wwa_dashboard_html(&st, &b, &series, &len);
        reply_owned(resp, 200, html, len, "text/html; charset=utf-8");
        wss_http_add_header(resp, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    }
    if (!is_metrics)
        wwa_series_free(&series);
    wss_wwa_state_free(&st);
}

static void handle(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    wwa_server *s = ctx;
    if (req->body_too_large) {
        wss_http_reply_error(resp, 413, "a request here carries no body");
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        wss_http_reply_error(resp, 405, "only GET is served here");
        wss_http_add_header(resp, "Allow", "GET");
        return;
    }
    if (req->body_len > 0) {
        wss_http_reply_error(resp, 400, "a GET request carries no body");
        return;
    }
    const char *p = req->path;
    if (strcmp(p, "/healthz") == 0) {
        wss_http_reply_text(resp, 200, "ok\n");
        return;
    }
    if (strcmp(p, "/") != 0 && strcmp(p, "/metrics") != 0 && strcmp(p, "/api/status") != 0 &&
        strcmp(p, "/api/series") != 0) {
        wss_http_reply_error(resp, 404, "no such page (try /, /metrics, /api/status, /api/series, /healthz)");
        return;
    }
    long long t = now_ms(s);
    const char *at = wss_http_query(req, "at");
    if (at && wss_wwa_parse_time(at, &t) != WSS_OK) {
        wss_http_reply_error(resp, 400, "at must be a UTC time like 2027-06-30T12:00:00Z");
        return;
    }
    pthread_mutex_lock(&s->lock);
    route(s, req, resp, t);
    pthread_mutex_unlock(&s->lock);
    wss_http_add_header(resp, "Cache-Control", "no-store");
    wss_http_add_header(resp, "X-Content-Type-Options", "nosniff");
}

/* ------------------------------------------------------------ periodic alerts */

static void evaluate_alerts(wwa_server *s)
{
    char err[512];
    wss_wwa *e;
    if (cache_engine(&s->alert_cache, &e, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa: alerts: %s\n", err);
        return;
    }
    wwa_alert_report rep;
    if (wwa_alerts_run(s->o.state_dir, e, now_ms(s), &s->o.sinks, stderr, &rep, err, sizeof err) != WSS_OK)
        fprintf(stderr, "wss wwa: alerts: %s\n", err);
    else if (rep.failed)
        fprintf(stderr, "wss wwa: alerts: %zu deliveries failed; they are tried again in %d s\n", rep.failed,
                s->o.alert_interval_s);
    fflush(stderr);
}

static void *alert_loop(void *arg)
{
    wwa_server *s = arg;
    pthread_mutex_lock(&s->stop_lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->stop_lock);
        evaluate_alerts(s);
        pthread_mutex_lock(&s->stop_lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->o.alert_interval_s;
        while (!s->stopping && pthread_cond_timedwait(&s->stop_cond, &s->stop_lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&s->stop_lock);
    return NULL;
}

/* ------------------------------------------------------------ lifetime */

wss_err wwa_serve_start(const wwa_serve_options *o, wwa_server **out, char *err, size_t errlen)
{
    wwa_server *s = calloc(1, sizeof *s);
    if (!s)
        return WSS_ERR_NOMEM;
    s->o = *o;
    if (!s->o.host)
        s->o.host = "127.0.0.1";
    if (s->o.alert_interval_s <= 0)
        s->o.alert_interval_s = 60;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->stop_lock, NULL);
    pthread_cond_init(&s->stop_cond, NULL);
    cache_init(&s->cache, o->state_dir);
    cache_init(&s->alert_cache, o->state_dir);
    wss_err rc = wss_mkdir(o->state_dir);
    if (rc != WSS_OK)
        snprintf(err, errlen, "cannot create %s: %s", o->state_dir, wss_strerror(rc));
    wss_wwa *e;
    if (rc == WSS_OK)
        rc = cache_engine(&s->cache, &e, err, errlen); /* creates an empty store, proves it readable */
    wss_http_options ho = {.host = s->o.host, .port = s->o.port, .max_body = MAX_REQUEST_BODY};
    if (rc == WSS_OK)
        rc = wss_http_start(&ho, handle, s, &s->http, err, errlen);
    if (rc == WSS_OK && (s->o.sinks.webhook_url || (s->o.sinks.command && s->o.sinks.command[0]))) {
        if (pthread_create(&s->alert_thread, NULL, alert_loop, s) != 0) {
            snprintf(err, errlen, "cannot start the alert thread");
            rc = WSS_ERR_NOMEM;
        } else {
            s->alerts_on = 1;
        }
    }
    if (rc != WSS_OK) {
        wwa_serve_stop(s);
        return rc;
    }
    *out = s;
    return WSS_OK;
}

int wwa_serve_port(const wwa_server *s) { return wss_http_port(s->http); }

void wwa_serve_stop(wwa_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->stop_lock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->stop_cond);
    pthread_mutex_unlock(&s->stop_lock);
    if (s->alerts_on)
        pthread_join(s->alert_thread, NULL);
    wss_http_stop(s->http);
    cache_free(&s->cache);
    cache_free(&s->alert_cache);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->stop_lock);
    pthread_cond_destroy(&s->stop_cond);
    free(s);
}

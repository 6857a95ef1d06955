/* live.h - the live outputs of `wss wwa`: what machines and people watch.
 *
 *   metrics.c    downtime in any interval, burn rates against the annual
 *                budget and their multi-window alerts, the Prometheus text,
 *                the status document (`wss wwa status --json`)
 *   alerts.c     the alerts in force at an instant, each delivered once to a
 *                webhook and/or a command, remembered in DIR/alerts.db
 *   dashboard.c  the chart series of a year and the dashboard page (HTML with
 *                inline SVG drawn here, no script, no external resource)
 *   serve.c      `wss wwa serve`: the HTTP server over the store
 *
 * Everything is computed through wss_wwa_state_at(), so what these outputs
 * say always agrees with `wss wwa status`. */
#ifndef WSS_WWA_LIVE_H
#define WSS_WWA_LIVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "wss/wwa.h"

/* ------------------------------------------------------------ metrics.c */

/* A growing text: appends never fail loudly; an allocation failure sets
 * nomem and later appends do nothing (the caller checks nomem once). */
typedef struct wwa_text {
    char *buf;
    size_t len, cap;
    int nomem;
} wwa_text;

void wwa_text_printf(wwa_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wwa_text_put(wwa_text *t, const char *s);
/* Appends s with &, <, >, " and ' escaped for HTML text and attributes. */
void wwa_text_html(wwa_text *t, const char *s);
/* The buffer, handed over (NULL after an allocation failure); t is reset. */
char *wwa_text_take(wwa_text *t, size_t *len);

/* The windows burn rates are reported over, shortest first. */
typedef enum wwa_window {
    WWA_W5M = 0,
    WWA_W30M,
    WWA_W1H,
    WWA_W6H,
    WWA_W1D,
    WWA_W3D,
    WWA_W7D,
    WWA_W30D,
    WWA_WINDOW__COUNT
} wwa_window;

extern const char *const wwa_window_names[WWA_WINDOW__COUNT]; /* "5m", "30m", ... */
extern const long long wwa_window_ms[WWA_WINDOW__COUNT];

/* A multi-window burn-rate alert: it fires when the burn rate exceeds
 * factor_x100 / 100 over both the long and the short window (docs/wwa.md
 * says which and why). */
typedef struct wwa_burn_rule {
    const char *name;     /* "availability_fast_burn", ... */
    const char *severity; /* "page" or "ticket" */
    wwa_window long_w, short_w;
    long long factor_x100;
} wwa_burn_rule;

#define WWA_BURN_RULES 4
extern const wwa_burn_rule wwa_burn_rules[WWA_BURN_RULES];

typedef struct wwa_burn {
    long long at_ms;
    long long downtime_ms[WWA_WINDOW__COUNT]; /* downtime in [at - window, at) */
    double rate[WWA_WINDOW__COUNT];           /* (downtime / window) / (1 - 0.9993) */
    int firing[WWA_BURN_RULES];
} wwa_burn;

/* Downtime in [a, b) (a <= b, both in 1970..9999), across year boundaries. */
wss_err wwa_downtime_between(wss_wwa *e, long long a, long long b, long long *out);

/* Whether downtime_ms over window_ms is a burn rate above factor_x100 / 100
 * (exact integer arithmetic). */
int wwa_burn_exceeds(long long downtime_ms, long long window_ms, long long factor_x100);

/* Burn rates and rule states at instant t. Windows reaching before 1970 are
 * cut at 1970-01-01. */
wss_err wwa_burn_at(wss_wwa *e, long long t, wwa_burn *out);

/* The Prometheus text exposition (version 0.0.4) of the state s and burn
 * rates b; malloc'd, NUL-terminated. NULL when out of memory. */
char *wwa_metrics_text(const wss_wwa_state *s, const wwa_burn *b);

/* The document `wss wwa status --json` prints (a new reference; NULL when
 * out of memory). */
json_t *wwa_status_json(const wss_wwa_state *s);
/* An instant as "2027-06-30T12:00:00.250Z", or JSON null for a negative one (never). */
json_t *wwa_time_json(long long ms);

/* ------------------------------------------------------------ alerts.c */

typedef struct wwa_alert {
    char key[384];     /* stable identity: the same condition keeps the same key while it lasts */
    char kind[32];     /* "warning", "burn_rate", "badge_removed" */
    char severity[16]; /* "critical" (badge removed), "page", "ticket", "warning" */
    char summary[512]; /* one line for people */
} wwa_alert;

/* The alerts in force at t (malloc'd array, *n of them; NULL when none). */
wss_err wwa_alerts_eval(wss_wwa *e, long long t, wwa_alert **out, size_t *n);

/* The JSON a webhook or a command receives for one alert (new reference). */
json_t *wwa_alert_json(const wwa_alert *a, long long t);

/* Where alerts go. Either may be absent. */
typedef struct wwa_alert_sinks {
    const char *webhook_url;    /* HTTP(S) POST of the alert JSON; a 2xx answer is delivery */
    const char *const *command; /* argv (NULL-terminated) run with the alert JSON on stdin; exit 0 is delivery */
    long timeout_ms;            /* per delivery; 0 means 10 s */
} wwa_alert_sinks;

typedef struct wwa_alert_report {
    size_t firing;    /* alerts in force */
    size_t delivered; /* deliveries made now */
    size_t failed;    /* deliveries that failed now (retried at the next evaluation) */
} wwa_alert_report;

/* Evaluates the alerts at t and delivers each one not yet delivered to each
 * sink, remembering deliveries in DIR/alerts.db. An alert no longer in force
 * is forgotten, so if it comes back it is new again. log (may be NULL) gets
 * one line per alert and delivery. WSS_OK even when deliveries failed (see
 * report); an error for an unusable alert store. */
wss_err wwa_alerts_run(const char *state_dir, wss_wwa *e, long long t, const wwa_alert_sinks *sinks, FILE *log,
                       wwa_alert_report *report, char *err, size_t errlen);

/* ------------------------------------------------------------ dashboard.c */

typedef struct wwa_series_skill {
    char skill[WSS_WWA_ID_MAX];
    double *percent;       /* 30-day invalid share at the end of each day, ndays values */
    long long breach_ms;   /* breach in progress at the instant: its start, else -1 */
    long long deadline_ms; /* its 90-day deadline, else -1 */
    int removed;
} wwa_series_skill;

typedef struct wwa_series_outage {
    long long start_ms, end_ms; /* [start, end), cut to the year */
    int ongoing;                /* still down at the instant */
} wwa_series_outage;

/* The year of instant t, day by day up to t. */
typedef struct wwa_series {
    int year;
    long long at_ms, year_start_ms, year_ms, allowance_ms;
    size_t ndays;            /* days of the year begun by t */
    long long *day_downtime; /* downtime of each day */
    long long *ytd_downtime; /* year's downtime at the end of each day */
    wwa_series_skill *skills;
    size_t nskills;
    wwa_series_outage *outages;
    size_t noutages;
} wwa_series;

wss_err wwa_series_at(wss_wwa *e, long long t, wwa_series *out);
void wwa_series_free(wwa_series *s);
json_t *wwa_series_json(const wwa_series *s);

/* The dashboard page (malloc'd, NUL-terminated; *len its length). */
char *wwa_dashboard_html(const wss_wwa_state *st, const wwa_burn *b, const wwa_series *s, size_t *len);

/* ------------------------------------------------------------ serve.c */

typedef struct wwa_serve_options {
    const char *state_dir; /* holds wwa.db (and alerts.db) */
    const char *host;      /* default "127.0.0.1" */
    int port;              /* 0 picks one */
    long long at_ms;       /* a fixed instant to report; -1 means the wall clock */
    wwa_alert_sinks sinks; /* alerts are evaluated periodically when a sink is set */
    int alert_interval_s;  /* 0 means 60 */
} wwa_serve_options;

typedef struct wwa_server wwa_server;

wss_err wwa_serve_start(const wwa_serve_options *o, wwa_server **out, char *err, size_t errlen);
int wwa_serve_port(const wwa_server *s);
void wwa_serve_stop(wwa_server *s);

#endif

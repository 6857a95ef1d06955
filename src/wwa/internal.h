/* internal.h - the modules of the Works with Alexa engine and what they share.
 *
 *   calendar.c  UTC calendar: years, months, leap years, ISO 8601 times
 *   probes.c    availability samples stored as arithmetic runs; stretches of downtime
 *   engine.c    the events, the rules and wss_wwa_state_at()
 *   line.c      one import line (JSON or CSV) to an event, and an event to its JSON line
 *   store.c     the SQLite store of events behind `wss wwa` */
#ifndef WSS_WWA_INTERNAL_H
#define WSS_WWA_INTERNAL_H

#include <stddef.h>

#include "wss/wwa.h"

#define WWA_DAY_MS 86400000LL
#define WWA_MIN_YEAR 1970
#define WWA_MAX_YEAR 9999
#define WWA_INF_MS 0x3fffffffffffffffLL /* "still going": later than any valid time */

/* ---- calendar.c ---- */

int wwa_is_leap(int year);
/* Milliseconds at 1 January 00:00 of year (year 10000 gives the end of 9999). */
long long wwa_year_start(int year);
/* Milliseconds at the first instant of month (1..12) of year; month 13 is the next January. */
long long wwa_month_start(int year, int month);
/* The calendar year and month (1..12) that contain ms (ms >= 0). */
void wwa_year_month(long long ms, int *year, int *month);
/* The first instant of the month after the one containing ms. */
long long wwa_next_month_start(long long ms);
/* Whether ms lies in 1970..9999. */
int wwa_time_ok(long long ms);

/* ---- probes.c ---- */

/* A run of samples with one state at start, start+step, ..., start+(count-1)*step.
 * Runs are sorted and their times distinct: at most one effective sample per
 * instant (a down sample wins over an up one at the same instant). */
typedef struct wwa_run {
    long long start, step, count;
    int down;
} wwa_run;

typedef struct wwa_probes {
    wwa_run *runs;
    size_t n, cap;
} wwa_probes;

/* A stretch of downtime [start, end); end is WWA_INF_MS while it lasts. */
typedef struct wwa_span {
    long long start, end;
} wwa_span;

void wwa_probes_free(wwa_probes *p);
wss_err wwa_probes_add(wwa_probes *p, long long t, int up);
/* The stretches of downtime from the samples at or before t (malloc'd, *n of them). */
wss_err wwa_probes_stretches(const wwa_probes *p, long long t, wwa_span **out, size_t *n);
/* Whether the latest sample at or before t says down. */
int wwa_probes_down_at(const wwa_probes *p, long long t);
/* Merges stretches whose gap is shorter than gap into outages (in place; *n shrinks). */
void wwa_merge_outages(wwa_span *s, size_t *n, long long gap);
/* Downtime inside [a, b) of sorted, disjoint spans. */
long long wwa_downtime_in(const wwa_span *s, size_t n, long long a, long long b);

/* ---- line.c ---- */

typedef enum wwa_format { WWA_FORMAT_JSONL = 0, WWA_FORMAT_CSV } wwa_format;

/* The exact header line a CSV file starts with. */
#define WWA_CSV_HEADER "type,at,skill,value"

/* Parses one line (len bytes, no newline, no NUL needed) into ev. Returns
 * WSS_ERR_INVALID with the reason in why for anything but a well-formed
 * event: unknown keys or types, missing or mistyped fields, bad times,
 * identifiers that are empty, too long or hold control characters. */
wss_err wwa_parse_line(wwa_format fmt, const char *line, size_t len, wss_wwa_event *ev, char *why, size_t whylen);
/* The event as one compact JSON line (malloc'd, no newline) that
 * wwa_parse_line(WWA_FORMAT_JSONL) reads back to the same event. */
char *wwa_event_to_json(const wss_wwa_event *ev);

#endif

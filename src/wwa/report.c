/* report.c - the monthly compliance report: built from the engine as JSON,
 * drawn with cairo on one A4 page (PDF, PNG).
 *
 * Every number comes from wss_wwa_state_at(): the downtime of an interval is
 * the difference of the year-to-date downtime at its two ends, so the report
 * agrees with `wss wwa status` at the same instants by construction. */
#include "wwa/report.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wwa/internal.h"
#include "wwa/live.h"

#define HOUR_MS 3600000LL

/* ------------------------------------------------------------ layout */

#define MARGIN 40.0
#define CONTENT_W (WWA_REPORT_W - 2 * MARGIN)
#define CHART_Y 300.0
#define CHART_H 110.0
#define TIMELINE_Y 462.0
#define TIMELINE_H 16.0
#define BAR_MIN_H 3.0

wwa_rect wwa_report_status_box(void) { return (wwa_rect){MARGIN, 72.0, CONTENT_W, 56.0}; }

wwa_rect wwa_report_day_column(int day, int ndays)
{
    double slot = CONTENT_W / (ndays > 0 ? ndays : 1);
    return (wwa_rect){MARGIN + (day - 1) * slot + 1.0, CHART_Y, slot - 2.0, CHART_H};
}

wwa_rect wwa_report_timeline(void) { return (wwa_rect){MARGIN, TIMELINE_Y, CONTENT_W, TIMELINE_H}; }

int wwa_report_parse_month(const char *text, int *year, int *month)
{
    if (!text || strlen(text) != 7 || text[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (text[i] < '0' || text[i] > '9'))
            return -1;
    int y = atoi(text), m = atoi(text + 5);
    if (y < WWA_MIN_YEAR || y > WWA_MAX_YEAR || m < 1 || m > 12)
        return -1;
    *year = y;
    *month = m;
    return 0;
}

/* ------------------------------------------------------------ the numbers */

/* Downtime and outages of the calendar year `year` before instant t, with t
 * in [start of year, start of year + 1]. The engine answers for the year
 * containing t, so the year's very end is read 1 ms earlier, plus that last
 * millisecond when it was down. */
typedef struct ytd {
    long long down_ms;
    int outages;
} ytd;

static wss_err year_to(wss_wwa *e, int year, long long t, ytd *out)
{
    memset(out, 0, sizeof *out);
    if (t <= wwa_year_start(year))
        return WSS_OK;
    int at_end = t >= wwa_year_start(year + 1);
    wss_wwa_state s;
    wss_err rc = wss_wwa_state_at(e, at_end ? t - 1 : t, &s);
    if (rc != WSS_OK)
        return rc;
    out->down_ms = s.availability.downtime_ms + (at_end && s.availability.down_now ? 1 : 0);
    out->outages = s.availability.outages;
    wss_wwa_state_free(&s);
    return WSS_OK;
}

/* 100 x (1 - down / len), never below 0. */
static double percent_up(long long down, long long len)
{
    if (len <= 0)
        return 100.0;
    double p = 100.0 * (1.0 - (double)down / (double)len);
    return p < 0 ? 0 : p;
}

/* 0.07 % of len, exactly as the engine computes the allowance. */
static long long allowance_of(long long len) { return len * (10000 - WSS_WWA_TARGET_PERMYRIAD) / 10000; }

static json_t *badge_json(const wss_wwa_state *s)
{
    json_t *reasons = json_array(), *warnings = json_array();
    for (size_t i = 0; i < s->nreasons; i++)
        json_array_append_new(reasons,
                              json_pack("{s:s, s:o, s:s, s:s}", "kind", wss_wwa_reason_name(s->reasons[i].kind),
                                        "since", wwa_time_json(s->reasons[i].since_ms), "subject",
                                        s->reasons[i].subject, "text", s->reasons[i].text));
    for (size_t i = 0; i < s->nwarnings; i++)
        json_array_append_new(warnings, json_string(s->warnings[i].text));
    return json_pack("{s:b, s:b, s:o, s:o}", "held", s->badge_held, "requests_suspended", s->requests_suspended,
                     "reasons", reasons, "warnings", warnings);
}

static json_t *skills_json(const wss_wwa_state *s)
{
    json_t *list = json_array();
    for (size_t i = 0; i < s->nskills; i++) {
        const wss_wwa_skill_state *k = &s->skills[i];
        if (k->total == 0 && !k->breach && !k->removed)
            continue; /* no traffic in the 30 days, nothing in force */
        long long left = k->deadline_ms >= 0 && !k->removed ? k->deadline_ms - s->at_ms : -1;
        json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:f, s:b, s:b, s:o, s:o, s:o, s:b}", "skill", k->skill,
                                              "requests_30d", (json_int_t)k->total, "invalid_30d",
                                              (json_int_t)k->invalid, "percent", k->percent, "breach", k->breach,
                                              "warn", k->warn, "breach_start", wwa_time_json(k->breach_start_ms),
                                              "mitigate_by", wwa_time_json(k->deadline_ms), "mitigate_left_ms",
                                              left >= 0 ? json_integer(left) : json_null(), "removed", k->removed));
    }
    return list;
}

static json_t *incidents_json(const wss_wwa_state *s, long long from)
{
    json_t *list = json_array();
    for (size_t i = 0; i < s->nincidents; i++) {
        const wss_wwa_incident_state *n = &s->incidents[i];
        json_array_append_new(list,
                              json_pack("{s:s, s:o, s:s, s:b, s:o, s:o, s:b, s:b, s:b}", "id", n->id, "at",
                                        wwa_time_json(n->at_ms), "severity", wss_wwa_severity_name(n->severity),
                                        "in_month", n->at_ms >= from, "fix_deadline", wwa_time_json(n->fix_deadline_ms),
                                        "fixed_at", wwa_time_json(n->fixed_at_ms), "overdue", n->overdue, "removal",
                                        n->removal, "cleared", n->cleared));
    }
    return list;
}

static json_t *checklist_json(const wss_wwa_state *s)
{
    json_t *asins = json_array();
    for (size_t i = 0; i < s->nasins; i++)
        json_array_append_new(asins, json_pack("{s:s, s:s, s:i}", "asin", s->asins[i].asin, "marketplace",
                                               s->asins[i].market, "gaps", s->asins[i].gaps));
    return json_pack("{s:b, s:I, s:o}", "complete", s->checklist_ok, "gaps", (json_int_t)s->checklist_gaps, "asins",
                     asins);
}

/* The downtime of each hour of the month: hours[i] for [from + i h, from + (i+1) h). */
static wss_err hourly_downtime(wss_wwa *e, int year, long long from, int nhours, long long *hours)
{
    ytd prev, next;
    wss_err rc = year_to(e, year, from, &prev);
    for (int i = 0; rc == WSS_OK && i < nhours; i++) {
        rc = year_to(e, year, from + (i + 1) * HOUR_MS, &next);
        hours[i] = next.down_ms - prev.down_ms;
        prev = next;
    }
    return rc;
}

json_t *wwa_report_build(wss_wwa *e, int year, int month, char *err, size_t errlen)
{
    long long from = wwa_month_start(year, month), to = wwa_month_start(year, month + 1);
    int ndays = (int)((to - from) / WWA_DAY_MS), nhours = ndays * 24;
    long long *hours = calloc((size_t)nhours, sizeof *hours);
    ytd at_from, at_to;
    wss_wwa_state s;
    memset(&s, 0, sizeof s);
    wss_err rc = hours ? WSS_OK : WSS_ERR_NOMEM;
    if (rc == WSS_OK)
        rc = hourly_downtime(e, year, from, nhours, hours);
    if (rc == WSS_OK)
        rc = year_to(e, year, from, &at_from);
    if (rc == WSS_OK)
        rc = year_to(e, year, to, &at_to);
    if (rc == WSS_OK)
        rc = wss_wwa_state_at(e, to - 1, &s);
    if (rc != WSS_OK) {
        snprintf(err, errlen, "cannot compute the month: %s", wss_strerror(rc));
        free(hours);
        return NULL;
    }

    json_t *daily = json_array(), *down_hours = json_array();
    long long day_allow = allowance_of(WWA_DAY_MS);
    for (int d = 0; d < ndays; d++) {
        long long down = 0;
        for (int h = 0; h < 24; h++) {
            long long ms = hours[d * 24 + h];
            down += ms;
            if (ms > 0)
                json_array_append_new(down_hours,
                                      json_pack("{s:i, s:I}", "hour", d * 24 + h, "downtime_ms", (json_int_t)ms));
        }
        char date[32];
        snprintf(date, sizeof date, "%04d-%02d-%02d", year, month, d + 1);
        json_array_append_new(daily, json_pack("{s:s, s:I, s:f, s:b}", "date", date, "downtime_ms", (json_int_t)down,
                                               "percent", percent_up(down, WWA_DAY_MS), "met", down <= day_allow));
    }
    free(hours);

    long long month_len = to - from, month_down = at_to.down_ms - at_from.down_ms;
    long long month_allow = allowance_of(month_len);
    long long year_len = wwa_year_start(year + 1) - wwa_year_start(year), year_allow = allowance_of(year_len);
    long long elapsed = to - wwa_year_start(year);
    char month_text[16];
    snprintf(month_text, sizeof month_text, "%04d-%02d", year, month);
    json_t *month_avail = json_pack("{s:f, s:I, s:I, s:b, s:i}", "percent", percent_up(month_down, month_len),
                                    "downtime_ms", (json_int_t)month_down, "allowance_ms", (json_int_t)month_allow,
                                    "met", month_down <= month_allow, "outages_new", at_to.outages - at_from.outages);
    json_t *year_avail = json_pack("{s:i, s:f, s:I, s:I, s:I, s:i, s:i, s:b, s:o, s:o}", "year", year, "percent",
                                   percent_up(at_to.down_ms, elapsed), "downtime_ms", (json_int_t)at_to.down_ms,
                                   "allowance_ms", (json_int_t)year_allow, "left_ms",
                                   (json_int_t)(at_to.down_ms < year_allow ? year_allow - at_to.down_ms : 0), "outages",
                                   at_to.outages, "outages_max", WSS_WWA_MAX_OUTAGES, "met",
                                   at_to.down_ms <= year_allow && at_to.outages <= WSS_WWA_MAX_OUTAGES,
                                   "breach_downtime_at", wwa_time_json(s.availability.breach_downtime_at_ms),
                                   "breach_outages_at", wwa_time_json(s.availability.breach_outages_at_ms));
    json_t *report =
        json_pack("{s:s, s:o, s:o, s:o, s:i, s:o, s:{s:o, s:o, s:o, s:o}, s:o, s:i, s:o, s:o}", "month", month_text,
                  "from", wwa_time_json(from), "to", wwa_time_json(to), "state_at", wwa_time_json(to - 1), "days",
                  ndays, "badge", badge_json(&s), "availability", "month", month_avail, "year_to_date", year_avail,
                  "daily", daily, "down_hours", down_hours, "skills", skills_json(&s), "high_incidents_this_year",
                  s.high_this_year, "incidents", incidents_json(&s, from), "checklist", checklist_json(&s));
    wss_wwa_state_free(&s);
    if (!report)
        snprintf(err, errlen, "out of memory");
    return report;
}

/* ------------------------------------------------------------ drawing */

static const double GREEN[3] = {0.13, 0.55, 0.13}, RED[3] = {0.80, 0.10, 0.10}, AMBER[3] = {0.95, 0.65, 0.10},
                    GREY[3] = {0.85, 0.85, 0.85}, INK[3] = {0.10, 0.10, 0.10}, MUTED[3] = {0.40, 0.40, 0.40};

static void color(cairo_t *cr, const double c[3]) { cairo_set_source_rgb(cr, c[0], c[1], c[2]); }

static void fill_rect(cairo_t *cr, wwa_rect r, const double c[3])
{
    color(cr, c);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_fill(cr);
}

/* Draws text with its baseline at y; gives the x where it ended. */
static double text_at(cairo_t *cr, double x, double y, double size, int bold, const double c[3], const char *text)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    color(cr, c);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, text);
    double end_x, end_y;
    cairo_get_current_point(cr, &end_x, &end_y);
    return end_x;
}

static long long jint(const json_t *root, const char *a, const char *b)
{
    const json_t *v = json_object_get(root, a);
    return json_integer_value(b ? json_object_get(v, b) : v);
}

/* "6h 07m 55.2s" */
static void duration(long long ms, char *buf, size_t len)
{
    snprintf(buf, len, "%lldh %02lldm %02lld.%01llds", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000 / 100);
}

static const char *const month_names[] = {"January", "February", "March",     "April",   "May",      "June",
                                          "July",    "August",   "September", "October", "November", "December"};

static void draw_header(cairo_t *cr, const json_t *r)
{
    const char *month = json_string_value(json_object_get(r, "month"));
    int y = atoi(month), m = atoi(month + 5);
    char line[256];
    snprintf(line, sizeof line, "Works with Alexa compliance report: %s %d", month_names[m - 1], y);
    text_at(cr, MARGIN, 46, 18, 1, INK, line);
    snprintf(line, sizeof line, "%s (UTC), product state at %s", month,
             json_string_value(json_object_get(r, "state_at")));
    text_at(cr, MARGIN, 62, 9, 0, MUTED, line);

    const json_t *badge = json_object_get(r, "badge");
    int held = json_is_true(json_object_get(badge, "held"));
    wwa_rect box = wwa_report_status_box();
    fill_rect(cr, box, held ? GREEN : RED);
    const double white[3] = {1, 1, 1};
    text_at(cr, box.x + 16, box.y + 24, 16, 1, white, held ? "BADGE HELD" : "BADGE REMOVED");
    const json_t *reasons = json_object_get(badge, "reasons");
    if (json_array_size(reasons) > 0)
        snprintf(line, sizeof line, "%.200s", json_string_value(json_object_get(json_array_get(reasons, 0), "text")));
    else
        snprintf(line, sizeof line, "no removal reason at the month's end");
    text_at(cr, box.x + 16, box.y + 42, 8, 0, white, line);
    if (json_is_true(json_object_get(badge, "requests_suspended")))
        text_at(cr, box.x + box.w - 150, box.y + 24, 9, 1, white, "new badge requests suspended");
}

static void draw_numbers(cairo_t *cr, const json_t *r)
{
    const json_t *av = json_object_get(r, "availability");
    const json_t *mo = json_object_get(av, "month"), *yr = json_object_get(av, "year_to_date");
    char line[256], d1[48], d2[48], d3[48];
    double x2 = MARGIN + CONTENT_W / 2;

    text_at(cr, MARGIN, 156, 10, 1, INK, "Availability this month (target 99.93 %)");
    snprintf(line, sizeof line, "%.4f %%", json_real_value(json_object_get(mo, "percent")));
    text_at(cr, MARGIN, 182, 22, 1, json_is_true(json_object_get(mo, "met")) ? GREEN : RED, line);
    duration(jint(mo, "downtime_ms", NULL), d1, sizeof d1);
    duration(jint(mo, "allowance_ms", NULL), d2, sizeof d2);
    snprintf(line, sizeof line, "downtime %s of %s allowed", d1, d2);
    text_at(cr, MARGIN, 200, 9, 0, INK, line);
    snprintf(line, sizeof line, "outages begun this month: %lld", jint(mo, "outages_new", NULL));
    text_at(cr, MARGIN, 214, 9, 0, INK, line);

    snprintf(line, sizeof line, "Year to date %lld (target 99.93 %%, 5 outages)", jint(yr, "year", NULL));
    text_at(cr, x2, 156, 10, 1, INK, line);
    snprintf(line, sizeof line, "%.4f %%", json_real_value(json_object_get(yr, "percent")));
    text_at(cr, x2, 182, 22, 1, json_is_true(json_object_get(yr, "met")) ? GREEN : RED, line);
    duration(jint(yr, "downtime_ms", NULL), d1, sizeof d1);
    duration(jint(yr, "allowance_ms", NULL), d2, sizeof d2);
    duration(jint(yr, "left_ms", NULL), d3, sizeof d3);
    snprintf(line, sizeof line, "downtime %s of %s, %s left", d1, d2, d3);
    text_at(cr, x2, 200, 9, 0, INK, line);
    snprintf(line, sizeof line, "outages %lld of %d", jint(yr, "outages", NULL), WSS_WWA_MAX_OUTAGES);
    text_at(cr, x2, 214, 9, 0, INK, line);

    const json_t *incidents = json_object_get(r, "incidents");
    size_t in_month = 0;
    for (size_t i = 0; i < json_array_size(incidents); i++)
        in_month += json_is_true(json_object_get(json_array_get(incidents, i), "in_month"));
    const json_t *cl = json_object_get(r, "checklist");
    snprintf(line, sizeof line, "security incidents this month: %zu (high this year: %lld)   product checklist: %s",
             in_month, jint(r, "high_incidents_this_year", NULL),
             json_is_true(json_object_get(cl, "complete")) ? "complete" : "INCOMPLETE");
    text_at(cr, MARGIN, 240, 9, 0, INK, line);
    snprintf(line, sizeof line, "checklist gaps: %lld   warnings at the month's end: %zu", jint(cl, "gaps", NULL),
             json_array_size(json_object_get(json_object_get(r, "badge"), "warnings")));
    text_at(cr, MARGIN, 254, 9, 0, INK, line);
}

static void draw_chart(cairo_t *cr, const json_t *r)
{
    const json_t *daily = json_object_get(json_object_get(r, "availability"), "daily");
    int ndays = (int)json_array_size(daily);
    double x = text_at(cr, MARGIN, CHART_Y - 12, 10, 1, INK, "Daily availability");
    text_at(cr, x + 10, CHART_Y - 12, 8, 0, MUTED,
            "bar height from 99 % (bottom) to 100 % (top); red: over the day's 0.07 % share");
    color(cr, GREY);
    cairo_set_line_width(cr, 0.5);
    cairo_move_to(cr, MARGIN, CHART_Y + CHART_H + 0.25);
    cairo_line_to(cr, MARGIN + CONTENT_W, CHART_Y + CHART_H + 0.25);
    cairo_stroke(cr);
    for (int d = 1; d <= ndays; d++) {
        const json_t *day = json_array_get(daily, (size_t)d - 1);
        double pct = json_real_value(json_object_get(day, "percent"));
        double frac = (pct - 99.0) / 1.0;
        if (frac > 1)
            frac = 1;
        wwa_rect col = wwa_report_day_column(d, ndays);
        double h = frac * CHART_H;
        if (h < BAR_MIN_H)
            h = BAR_MIN_H;
        fill_rect(cr, (wwa_rect){col.x, col.y + col.h - h, col.w, h},
                  json_is_true(json_object_get(day, "met")) ? GREEN : RED);
        if (d == 1 || d % 5 == 0) {
            char label[16];
            snprintf(label, sizeof label, "%d", d);
            text_at(cr, col.x, CHART_Y + CHART_H + 11, 7, 0, MUTED, label);
        }
    }
}

static void draw_timeline(cairo_t *cr, const json_t *r)
{
    const json_t *hours = json_object_get(json_object_get(r, "availability"), "down_hours");
    int ndays = (int)jint(r, "days", NULL);
    wwa_rect t = wwa_report_timeline();
    double x = text_at(cr, MARGIN, t.y - 8, 10, 1, INK, "Downtime in the month");
    text_at(cr, x + 10, t.y - 8, 8, 0, MUTED, "red: an hour with downtime (wider with more of it)");
    fill_rect(cr, t, GREY);
    double per_hour = t.w / (ndays * 24.0);
    for (size_t i = 0; i < json_array_size(hours); i++) {
        const json_t *h = json_array_get(hours, i);
        double share = (double)jint(h, "downtime_ms", NULL) / (double)HOUR_MS;
        double w = per_hour * share;
        if (w < 1.0)
            w = 1.0; /* a second of downtime stays visible */
        fill_rect(cr, (wwa_rect){t.x + jint(h, "hour", NULL) * per_hour, t.y, w, t.h}, RED);
    }
    for (int d = 1; d <= ndays; d++)
        if (d == 1 || d % 5 == 0) {
            char label[16];
            snprintf(label, sizeof label, "%d", d);
            text_at(cr, t.x + (d - 1) * 24 * per_hour, t.y + t.h + 10, 7, 0, MUTED, label);
        }
}

static void draw_skills(cairo_t *cr, const json_t *r)
{
    const json_t *skills = json_object_get(r, "skills");
    double y = 520;
    double x = text_at(cr, MARGIN, y, 10, 1, INK, "INVALID_SKILL_RESPONSE_EXCEPTION per skill");
    text_at(cr, x + 10, y, 8, 0, MUTED, "30 days to the month's end; limit 3 %, 90 days to mitigate");
    y += 18;
    const double cols[] = {MARGIN, MARGIN + 230, MARGIN + 290, MARGIN + 340, MARGIN + 430};
    const char *heads[] = {"skill", "requests", "invalid", "state", "mitigate by"};
    for (int i = 0; i < 5; i++)
        text_at(cr, cols[i], y, 8, 1, MUTED, heads[i]);
    if (json_array_size(skills) == 0)
        text_at(cr, MARGIN, y + 16, 9, 0, INK, "no directive outcomes");
    for (size_t i = 0; i < json_array_size(skills) && i < 12; i++) {
        const json_t *k = json_array_get(skills, i);
        y += 16;
        int removed = json_is_true(json_object_get(k, "removed")), breach = json_is_true(json_object_get(k, "breach"));
        if (removed || breach)
            fill_rect(cr, (wwa_rect){MARGIN - 4, y - 11, CONTENT_W + 8, 15}, removed ? RED : AMBER);
        const double *ink = removed ? (const double[3]){1, 1, 1} : INK;
        char cell[160];
        snprintf(cell, sizeof cell, "%.44s", json_string_value(json_object_get(k, "skill")));
        text_at(cr, cols[0], y, 8, 0, ink, cell);
        snprintf(cell, sizeof cell, "%lld", jint(k, "requests_30d", NULL));
        text_at(cr, cols[1], y, 8, 0, ink, cell);
        snprintf(cell, sizeof cell, "%.2f %%", json_real_value(json_object_get(k, "percent")));
        text_at(cr, cols[2], y, 8, 0, ink, cell);
        text_at(cr, cols[3], y, 8, 1, ink, removed ? "BADGE REMOVED" : breach ? "IN BREACH" : "ok");
        const char *by = json_string_value(json_object_get(k, "mitigate_by"));
        snprintf(cell, sizeof cell, "%.19s", by ? by : "-");
        text_at(cr, cols[4], y, 8, 0, ink, cell);
    }
    if (json_array_size(skills) > 12) {
        char more[64];
        snprintf(more, sizeof more, "... and %zu more skills (see the JSON report)", json_array_size(skills) - 12);
        text_at(cr, MARGIN, y + 16, 8, 0, MUTED, more);
    }
}

static void draw_page(cairo_t *cr, const json_t *r)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    draw_header(cr, r);
    draw_numbers(cr, r);
    draw_chart(cr, r);
    draw_timeline(cr, r);
    draw_skills(cr, r);
    text_at(cr, MARGIN, WWA_REPORT_H - 24, 7, 0, MUTED,
            "openwss `wss wwa report`: the rules and what each number means are in docs/wwa.md");
}

/* The fields draw_page() reads unchecked. */
static int drawable(const json_t *r)
{
    const json_t *av = json_object_get(r, "availability");
    const char *month = json_string_value(json_object_get(r, "month"));
    int y, m;
    return month && wwa_report_parse_month(month, &y, &m) == 0 && json_is_string(json_object_get(r, "state_at")) &&
           json_is_object(json_object_get(r, "badge")) && json_is_object(json_object_get(av, "month")) &&
           json_is_object(json_object_get(av, "year_to_date")) && json_is_array(json_object_get(av, "daily")) &&
           json_array_size(json_object_get(av, "daily")) <= 31 && json_is_integer(json_object_get(r, "days")) &&
           jint(r, "days", NULL) >= 1 && jint(r, "days", NULL) <= 31;
}

static wss_err finish(cairo_t *cr, cairo_surface_t *surface, const char *png_path, const char *path, char *err,
                      size_t errlen)
{
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && png_path)
        st = cairo_surface_write_to_png(surface, png_path);
    cairo_surface_finish(surface);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "cannot write %s: %s", path, cairo_status_to_string(st));
        return WSS_ERR_IO;
    }
    return WSS_OK;
}

wss_err wwa_report_pdf(const json_t *report, const char *path, char *err, size_t errlen)
{
    if (!drawable(report)) {
        snprintf(err, errlen, "the report lacks fields to draw");
        return WSS_ERR_INVALID;
    }
    cairo_surface_t *surface = cairo_pdf_surface_create(path, WWA_REPORT_W, WWA_REPORT_H);
    cairo_t *cr = cairo_create(surface);
    draw_page(cr, report);
    cairo_show_page(cr);
    return finish(cr, surface, NULL, path, err, errlen);
}

wss_err wwa_report_png(const json_t *report, const char *path, double scale, char *err, size_t errlen)
{
    if (!drawable(report) || !(scale > 0 && scale <= 8)) {
        snprintf(err, errlen, "the report lacks fields to draw, or the scale is not in (0, 8]");
        return WSS_ERR_INVALID;
    }
    cairo_surface_t *surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(WWA_REPORT_W * scale), (int)(WWA_REPORT_H * scale));
    cairo_t *cr = cairo_create(surface);
    cairo_scale(cr, scale, scale);
    draw_page(cr, report);
    return finish(cr, surface, path, path, err, errlen);
}

void wwa_report_release(void)
{
    cairo_debug_reset_static_data();
    FcFini(); /* fontconfig keeps its configuration and patterns until told */
}

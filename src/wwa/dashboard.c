/* dashboard.c - the chart series of a year and the dashboard page.
 *
 * The series are the engine's answers at the end of each day of the year
 * (wss_wwa_state_at), so every point agrees with `wss wwa status --at` at
 * that instant. Outages are located to the millisecond by bisection on the
 * engine's outage count and year-to-date downtime, both monotonic within a
 * year. The page is one HTML document with inline CSS and SVG drawn here:
 * no script, no font or style sheet from elsewhere, so it works offline and
 * renders the same in any browser. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wwa/internal.h"
#include "wwa/live.h"

/* Outages drawn on the timeline at most; the count is always exact. */
#define MAX_OUTAGES 64

/* The colours the page promises (tests look for them in a screenshot). */
#define COLOR_HELD "#1a7f37"
#define COLOR_REMOVED "#cf222e"
#define COLOR_LINE "#0969da"
#define COLOR_BUDGET "#8250df"
#define COLOR_OUTAGE "#e36209"
#define COLOR_LIMIT "#cf222e"
#define COLOR_GRID "#d0d7de"
#define COLOR_PACE "#6e7781"

static const char *const skill_colors[] = {"#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#0a3069"};

/* ------------------------------------------------------------ series */

typedef struct point {
    long long ytd;
    int outages;
    int down;
} point;

static wss_err point_at(wss_wwa *e, long long x, point *p, wss_wwa_state *keep)
{
    wss_wwa_state s;
    wss_err rc = wss_wwa_state_at(e, x, &s);
    if (rc != WSS_OK)
        return rc;
    p->ytd = s.availability.downtime_ms;
    p->outages = s.availability.outages;
    p->down = s.availability.down_now;
    if (keep)
        *keep = s;
    else
        wss_wwa_state_free(&s);
    return WSS_OK;
}

/* The first x in [lo, hi] at which the year's outage count (by_outages) or
 * year-to-date downtime reaches `target`; it does at hi. Both only grow
 * within a year, so bisection finds the instant to the millisecond. */
static wss_err first_reaching(wss_wwa *e, int by_outages, long long lo, long long hi, long long target, long long *out)
{
    while (lo < hi) {
        long long mid = lo + (hi - lo) / 2;
        point p;
        wss_err rc = point_at(e, mid, &p, NULL);
        if (rc != WSS_OK)
            return rc;
        if ((by_outages ? (long long)p.outages : p.ytd) >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    *out = lo;
    return WSS_OK;
}

void wwa_series_free(wwa_series *s)
{
    if (!s)
        return;
    free(s->day_downtime);
    free(s->ytd_downtime);
    for (size_t i = 0; i < s->nskills; i++)
        free(s->skills[i].percent);
    free(s->skills);
    free(s->outages);
    memset(s, 0, sizeof *s);
}

/* Locates the first outages of the year (MAX_OUTAGES at most): each starts
 * at the first instant the count reaches its number and ends at the first
 * instant the year's downtime reaches what it is when the next one starts. */
static wss_err series_outages(wss_wwa *e, wwa_series *s, const int *day_outages, int total, int down_now)
{
    int n = total < MAX_OUTAGES ? total : MAX_OUTAGES, m = total > n ? n + 1 : n;
    if (n == 0)
        return WSS_OK;
    long long *starts = calloc((size_t)m, sizeof *starts);
    s->outages = calloc((size_t)n, sizeof *s->outages);
    wss_err rc = starts && s->outages ? WSS_OK : WSS_ERR_NOMEM;
    size_t d = 0;
    for (int k = 1; k <= m && rc == WSS_OK; k++) {
        while (d + 1 < s->ndays && day_outages[d] < k)
            d++;
        long long lo = s->year_start_ms + (long long)d * WWA_DAY_MS;
        long long hi = s->year_start_ms + (long long)(d + 1) * WWA_DAY_MS;
        rc = first_reaching(e, 1, lo, hi < s->at_ms ? hi : s->at_ms, k, &starts[k - 1]);
    }
    for (int k = 1; k <= n && rc == WSS_OK; k++) {
        wwa_series_outage *o = &s->outages[k - 1];
        o->start_ms = starts[k - 1];
        if (k == total && down_now) {
            o->end_ms = s->at_ms;
            o->ongoing = 1;
            continue;
        }
        long long until = k < m ? starts[k] : s->at_ms;
        point p;
        rc = point_at(e, until, &p, NULL);
        if (rc == WSS_OK)
            rc = first_reaching(e, 0, o->start_ms, until, p.ytd, &o->end_ms);
    }
    free(starts);
    s->noutages = rc == WSS_OK ? (size_t)n : 0;
    return rc;
}

wss_err wwa_series_at(wss_wwa *e, long long t, wwa_series *out)
{
    memset(out, 0, sizeof *out);
    wss_wwa_state fin;
    point last;
    wss_err rc = point_at(e, t, &last, &fin);
    if (rc != WSS_OK)
        return rc;
    out->year = fin.availability.year;
    out->at_ms = t;
    out->year_start_ms = wwa_year_start(out->year);
    out->year_ms = fin.availability.year_ms;
    out->allowance_ms = fin.availability.allowance_ms;
    out->ndays = (size_t)((t - out->year_start_ms) / WWA_DAY_MS) + 1;
    out->day_downtime = calloc(out->ndays, sizeof *out->day_downtime);
    out->ytd_downtime = calloc(out->ndays, sizeof *out->ytd_downtime);
    int *day_outages = calloc(out->ndays, sizeof *day_outages);
    if (fin.nskills)
        out->skills = calloc(fin.nskills, sizeof *out->skills);
    rc =
        out->day_downtime && out->ytd_downtime && day_outages && (out->skills || !fin.nskills) ? WSS_OK : WSS_ERR_NOMEM;
    for (size_t i = 0; rc == WSS_OK && i < fin.nskills; i++) {
        wwa_series_skill *k = &out->skills[out->nskills++];
        snprintf(k->skill, sizeof k->skill, "%s", fin.skills[i].skill);
        k->breach_ms = fin.skills[i].breach ? fin.skills[i].breach_start_ms : -1;
        k->deadline_ms = fin.skills[i].breach ? fin.skills[i].deadline_ms : -1;
        k->removed = fin.skills[i].removed;
        if (!(k->percent = calloc(out->ndays, sizeof *k->percent)))
            rc = WSS_ERR_NOMEM;
    }
    long long prev = 0;
    for (size_t d = 0; rc == WSS_OK && d < out->ndays; d++) {
        long long x = out->year_start_ms + (long long)(d + 1) * WWA_DAY_MS;
        if (x > t)
            x = t;
        wss_wwa_state s;
        point p;
        rc = point_at(e, x, &p, &s);
        if (rc != WSS_OK)
            break;
        out->ytd_downtime[d] = p.ytd;
        out->day_downtime[d] = p.ytd - prev;
        prev = p.ytd;
        day_outages[d] = p.outages;
        for (size_t i = 0; i < s.nskills; i++)
            for (size_t j = 0; j < out->nskills; j++)
                if (strcmp(s.skills[i].skill, out->skills[j].skill) == 0)
                    out->skills[j].percent[d] = s.skills[i].percent;
        wss_wwa_state_free(&s);
    }
    if (rc == WSS_OK)
        rc = series_outages(e, out, day_outages, fin.availability.outages, fin.availability.down_now);
    free(day_outages);
    wss_wwa_state_free(&fin);
    if (rc != WSS_OK)
        wwa_series_free(out);
    return rc;
}

static json_t *iso(long long ms)
{
    char buf[32];
    if (ms < 0)
        return json_null();
    wss_wwa_format_time(ms, buf);
    return json_string(buf);
}

json_t *wwa_series_json(const wwa_series *s)
{
    json_t *days = json_array(), *skills = json_array(), *outages = json_array();
    for (size_t d = 0; d < s->ndays; d++) {
        long long end = s->year_start_ms + (long long)(d + 1) * WWA_DAY_MS;
        if (end > s->at_ms)
            end = s->at_ms;
        long long elapsed = end - s->year_start_ms;
        double avail = elapsed > 0 ? 100.0 * (1.0 - (double)s->ytd_downtime[d] / (double)elapsed) : 100.0;
        char day[32];
        wss_wwa_format_time(s->year_start_ms + (long long)d * WWA_DAY_MS, day);
        day[10] = '\0';
        long long left = s->allowance_ms - s->ytd_downtime[d];
        json_array_append_new(days, json_pack("{s:s, s:I, s:I, s:I, s:f}", "day", day, "downtime_ms",
                                              (json_int_t)s->day_downtime[d], "ytd_downtime_ms",
                                              (json_int_t)s->ytd_downtime[d], "left_ms", (json_int_t)left,
                                              "availability_percent", avail));
    }
    for (size_t i = 0; i < s->nskills; i++) {
        const wwa_series_skill *k = &s->skills[i];
        json_t *pct = json_array();
        for (size_t d = 0; d < s->ndays; d++)
            json_array_append_new(pct, json_real(k->percent[d]));
        json_array_append_new(skills, json_pack("{s:s, s:o, s:o, s:o, s:b}", "skill", k->skill, "percent_30d", pct,
                                                "breach_start", iso(k->breach_ms), "mitigate_by", iso(k->deadline_ms),
                                                "removed", k->removed));
    }
    for (size_t i = 0; i < s->noutages; i++)
        json_array_append_new(outages, json_pack("{s:o, s:o, s:I, s:b}", "start", iso(s->outages[i].start_ms), "end",
                                                 iso(s->outages[i].end_ms), "duration_ms",
                                                 (json_int_t)(s->outages[i].end_ms - s->outages[i].start_ms), "ongoing",
                                                 s->outages[i].ongoing));
    return json_pack("{s:i, s:o, s:I, s:I, s:o, s:o, s:o}", "year", s->year, "at", iso(s->at_ms), "year_ms",
                     (json_int_t)s->year_ms, "allowance_ms", (json_int_t)s->allowance_ms, "days", days, "skills",
                     skills, "outages", outages);
}

/* ------------------------------------------------------------ drawing */

#define CW 1200 /* chart width */
#define ML 64   /* left margin: the y labels */
#define MR 16
#define PW (CW - ML - MR)

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* The x of instant ms on a chart spanning the year. */
static double xat(const wwa_series *s, long long ms)
{
    return ML + (double)PW * (double)(ms - s->year_start_ms) / (double)s->year_ms;
}

static double xday(const wwa_series *s, size_t d)
{
    long long end = s->year_start_ms + (long long)(d + 1) * WWA_DAY_MS;
    return xat(s, end < s->at_ms ? end : s->at_ms);
}

static void month_axis(wwa_text *t, const wwa_series *s, int top, int bottom)
{
    for (int m = 1; m <= 12; m++) {
        double x = xat(s, wwa_month_start(s->year, m));
        wwa_text_printf(t, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"" COLOR_GRID "\"/>", x, top, x,
                        bottom);
        wwa_text_printf(t, "<text x=\"%.1f\" y=\"%d\" class=\"ax\">%s</text>", x + 3, bottom + 14, month_names[m - 1]);
    }
    wwa_text_printf(t, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"" COLOR_PACE "\"/>", ML, bottom, ML + PW,
                    bottom);
}

static double scale(double v, double lo, double hi, int top, int bottom)
{
    if (hi <= lo)
        return bottom;
    return bottom - (double)(bottom - top) * (v - lo) / (hi - lo);
}

static void hline(wwa_text *t, double y, const char *color, int dashed, const char *text)
{
    wwa_text_printf(t, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\"%s/>", ML,
                    y, ML + PW, y, color, dashed ? " stroke-dasharray=\"6 4\"" : "");
    wwa_text_printf(t, "<text x=\"%d\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">", ML - 6, y + 4);
    wwa_text_html(t, text);
    wwa_text_put(t, "</text>");
}

static void chart_availability(wwa_text *t, const wwa_series *s)
{
    const int top = 12, bottom = 188;
    double minv = 100.0;
    double *v = malloc(s->ndays * sizeof *v);
    if (!v) {
        t->nomem = 1;
        return;
    }
    for (size_t d = 0; d < s->ndays; d++) {
        long long end = s->year_start_ms + (long long)(d + 1) * WWA_DAY_MS;
        long long elapsed = (end < s->at_ms ? end : s->at_ms) - s->year_start_ms;
        v[d] = elapsed > 0 ? 100.0 * (1.0 - (double)s->ytd_downtime[d] / (double)elapsed) : 100.0;
        if (v[d] < minv)
            minv = v[d];
    }
    double lo = floor((minv < 99.9 ? minv - 0.01 : 99.9) * 100.0) / 100.0;
    wwa_text_printf(t, "<svg id=\"chart-availability\" width=\"%d\" height=\"210\" viewBox=\"0 0 %d 210\">", CW, CW);
    month_axis(t, s, top, bottom);
    char label[32];
    snprintf(label, sizeof label, "%.2f %%", lo);
    hline(t, scale(lo, lo, 100.0, top, bottom), COLOR_GRID, 0, label);
    hline(t, scale(100.0, lo, 100.0, top, bottom), COLOR_GRID, 0, "100 %");
    hline(t, scale(99.93, lo, 100.0, top, bottom), COLOR_LIMIT, 1, "99.93 %");
    wwa_text_put(t, "<polyline fill=\"none\" stroke=\"" COLOR_LINE "\" stroke-width=\"3\" points=\"");
    wwa_text_printf(t, "%d,%.1f ", ML, scale(100.0, lo, 100.0, top, bottom));
    for (size_t d = 0; d < s->ndays; d++)
        wwa_text_printf(t, "%.1f,%.1f ", xday(s, d), scale(v[d], lo, 100.0, top, bottom));
    wwa_text_put(t, "\"/></svg>");
    free(v);
}

static void chart_budget(wwa_text *t, const wwa_series *s)
{
    const int top = 12, bottom = 188;
    double allow = (double)s->allowance_ms / 60000.0, lo = 0.0;
    for (size_t d = 0; d < s->ndays; d++) {
        double left = (double)(s->allowance_ms - s->ytd_downtime[d]) / 60000.0;
        if (left < lo)
            lo = left;
    }
    lo = floor(lo / 30.0) * 30.0;
    wwa_text_printf(t, "<svg id=\"chart-budget\" width=\"%d\" height=\"210\" viewBox=\"0 0 %d 210\">", CW, CW);
    month_axis(t, s, top, bottom);
    double y0 = scale(0.0, lo, allow, top, bottom);
    /* What is left in purple; what is overspent, below zero, in red. */
    for (int over = 0; over < 2; over++) {
        wwa_text_printf(t, "<polygon fill=\"%s\" stroke=\"none\" points=\"", over ? COLOR_REMOVED : COLOR_BUDGET);
        wwa_text_printf(t, "%d,%.1f %d,%.1f ", ML, y0, ML, over ? y0 : scale(allow, lo, allow, top, bottom));
        for (size_t d = 0; d < s->ndays; d++) {
            double left = (double)(s->allowance_ms - s->ytd_downtime[d]) / 60000.0;
            if (over ? left > 0 : left < 0)
                left = 0;
            wwa_text_printf(t, "%.1f,%.1f ", xday(s, d), scale(left, lo, allow, top, bottom));
        }
        wwa_text_printf(t, "%.1f,%.1f\"/>", xday(s, s->ndays - 1), y0);
    }
    wwa_text_printf(t,
                    "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"" COLOR_PACE
                    "\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
                    ML, scale(allow, lo, allow, top, bottom), ML + PW, y0);
    char label[48];
    snprintf(label, sizeof label, "%.0f min", allow);
    hline(t, scale(allow, lo, allow, top, bottom), COLOR_GRID, 0, label);
    hline(t, y0, COLOR_PACE, 0, "0");
    if (lo < 0) {
        snprintf(label, sizeof label, "%.0f min", lo);
        hline(t, scale(lo, lo, allow, top, bottom), COLOR_GRID, 0, label);
    }
    wwa_text_put(t, "</svg>");
}

static void chart_isre(wwa_text *t, const wwa_series *s)
{
    const int top = 12, bottom = 188;
    double hi = 5.0;
    for (size_t i = 0; i < s->nskills; i++)
        for (size_t d = 0; d < s->ndays; d++)
            if (s->skills[i].percent[d] + 1.0 > hi)
                hi = ceil(s->skills[i].percent[d] + 1.0);
    wwa_text_printf(t, "<svg id=\"chart-isre\" width=\"%d\" height=\"210\" viewBox=\"0 0 %d 210\">", CW, CW);
    month_axis(t, s, top, bottom);
    char label[32];
    snprintf(label, sizeof label, "%.0f %%", hi);
    hline(t, scale(hi, 0, hi, top, bottom), COLOR_GRID, 0, label);
    hline(t, scale(0, 0, hi, top, bottom), COLOR_PACE, 0, "0 %");
    hline(t, scale(3.0, 0, hi, top, bottom), COLOR_LIMIT, 1, "3 %");
    for (size_t i = 0; i < s->nskills; i++) {
        wwa_text_printf(t, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                        skill_colors[i % (sizeof skill_colors / sizeof *skill_colors)]);
        for (size_t d = 0; d < s->ndays; d++)
            wwa_text_printf(t, "%.1f,%.1f ", xday(s, d), scale(s->skills[i].percent[d], 0, hi, top, bottom));
        wwa_text_put(t, "\"/>");
    }
    wwa_text_put(t, "</svg>");
}

static void chart_outages(wwa_text *t, const wwa_series *s, int total)
{
    const int top = 24, bottom = 64;
    wwa_text_printf(t, "<svg id=\"chart-outages\" width=\"%d\" height=\"86\" viewBox=\"0 0 %d 86\">", CW, CW);
    month_axis(t, s, top - 8, bottom);
    double now = xat(s, s->at_ms);
    wwa_text_printf(t, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"" COLOR_PACE "\"/>", now, top - 12,
                    now, bottom);
    for (size_t i = 0; i < s->noutages; i++) {
        double x0 = xat(s, s->outages[i].start_ms), x1 = xat(s, s->outages[i].end_ms);
        if (x1 - x0 < 4)
            x1 = x0 + 4;
        wwa_text_printf(t, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"" COLOR_OUTAGE "\"/>", x0,
                        top, x1 - x0, bottom - top);
        wwa_text_printf(t, "<text x=\"%.1f\" y=\"%d\" class=\"ax\">%zu</text>", x0, top - 4, i + 1);
    }
    if (total == 0)
        wwa_text_printf(t, "<text x=\"%d\" y=\"%d\" class=\"ax\">no outage this year</text>", ML + 8, top + 24);
    wwa_text_put(t, "</svg>");
}

/* ------------------------------------------------------------ the page */

static void duration(wwa_text *t, long long ms)
{
    if (ms < 0) {
        wwa_text_put(t, "-");
        ms = -ms;
    }
    wwa_text_printf(t, "%lldh %02lldm %02llds", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60);
}

static void when(wwa_text *t, long long ms)
{
    char buf[32];
    if (ms < 0) {
        wwa_text_put(t, "-");
        return;
    }
    wss_wwa_format_time(ms, buf);
    buf[19] = '\0';
    wwa_text_printf(t, "%s", buf);
    wwa_text_put(t, "Z");
}

static const char style[] =
    "*{box-sizing:border-box}"
    "body{margin:0;background:#ffffff;color:#1f2328;font:14px 'DejaVu Sans',Arial,sans-serif}"
    "#badge{height:72px;padding:14px 24px;color:#ffffff}"
    "#badge h1{margin:0;font-size:24px}#badge p{margin:2px 0 0 0}"
    ".held{background:" COLOR_HELD "}.removed{background:" COLOR_REMOVED "}"
    "main{padding:8px 24px 24px 24px;width:1280px}"
    "h2{font-size:16px;margin:14px 0 4px 0}"
    ".cards{display:flex;gap:12px;margin-top:8px}"
    ".card{border:1px solid " COLOR_GRID ";border-radius:6px;padding:8px 12px;width:196px;height:70px}"
    ".card b{display:block;font-size:20px}.card span{color:#59636e;font-size:12px}"
    ".ax{font-size:11px;fill:#59636e}"
    ".legend{display:flex;gap:16px;font-size:12px;margin:2px 0}"
    ".sw{display:inline-block;width:14px;height:14px;vertical-align:middle;margin-right:4px}"
    "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid " COLOR_GRID
    ";padding:2px 8px;text-align:left}"
    ".fire{color:" COLOR_REMOVED ";font-weight:bold}.gap{color:" COLOR_REMOVED "}";

static void card(wwa_text *t, const char *id, const char *value, const char *caption)
{
    wwa_text_printf(t, "<div class=\"card\" id=\"%s\"><b>", id);
    wwa_text_html(t, value);
    wwa_text_put(t, "</b><span>");
    wwa_text_html(t, caption);
    wwa_text_put(t, "</span></div>");
}

static void section_cards(wwa_text *t, const wss_wwa_state *st, const wwa_burn *b)
{
    const wss_wwa_availability *a = &st->availability;
    char v[64], c[96];
    wwa_text_put(t, "<div class=\"cards\">");
    snprintf(v, sizeof v, "%.4f %%", a->percent);
    snprintf(c, sizeof c, "availability %d so far (target 99.93 %%)", a->year);
    card(t, "card-availability", v, c);
    snprintf(v, sizeof v, "%lld of %lld min", a->downtime_ms / 60000, a->allowance_ms / 60000);
    card(t, "card-downtime", v, a->breach_downtime ? "downtime: allowance EXCEEDED" : "downtime used of the allowance");
    snprintf(v, sizeof v, "%d of %d", a->outages, WSS_WWA_MAX_OUTAGES);
    card(t, "card-outages", v, a->down_now ? "outages this year (DOWN NOW)" : "outages this year");
    snprintf(v, sizeof v, "%.1fx / %.1fx", b->rate[WWA_W1H], b->rate[WWA_W30D]);
    card(t, "card-burn", v, "burn rate 1h / 30d (1x spends the year's budget in a year)");
    snprintf(v, sizeof v, "%zu", st->checklist_gaps);
    card(t, "card-checklist", v, st->checklist_ok ? "checklist gaps" : "checklist gaps (badge request rejected)");
    wwa_text_put(t, "</div>");
}

static void section_burn(wwa_text *t, const wwa_burn *b)
{
    wwa_text_put(t, "<h2>Burn rate of the annual downtime budget</h2><table><tr><th>window</th>");
    for (int w = 0; w < WWA_WINDOW__COUNT; w++)
        wwa_text_printf(t, "<th>%s</th>", wwa_window_names[w]);
    wwa_text_put(t, "</tr><tr><td>downtime</td>");
    for (int w = 0; w < WWA_WINDOW__COUNT; w++) {
        wwa_text_put(t, "<td>");
        duration(t, b->downtime_ms[w]);
        wwa_text_put(t, "</td>");
    }
    wwa_text_put(t, "</tr><tr><td>burn rate</td>");
    for (int w = 0; w < WWA_WINDOW__COUNT; w++)
        wwa_text_printf(t, "<td>%.1fx</td>", b->rate[w]);
    wwa_text_put(t, "</tr></table><table style=\"margin-top:6px\"><tr><th>alert</th><th>severity</th><th>windows</th>"
                    "<th>fires above</th><th>state</th></tr>");
    for (int r = 0; r < WWA_BURN_RULES; r++) {
        const wwa_burn_rule *rule = &wwa_burn_rules[r];
        wwa_text_printf(t, "<tr><td>%s</td><td>%s</td><td>%s and %s</td><td>%lld.%02lldx</td><td%s>%s</td></tr>",
                        rule->name, rule->severity, wwa_window_names[rule->long_w], wwa_window_names[rule->short_w],
                        rule->factor_x100 / 100, rule->factor_x100 % 100, b->firing[r] ? " class=\"fire\"" : "",
                        b->firing[r] ? "FIRING" : "ok");
    }
    wwa_text_put(t, "</table>");
}

static void section_skills(wwa_text *t, const wss_wwa_state *st, const wwa_series *s)
{
    wwa_text_put(t, "<div class=\"legend\">");
    for (size_t i = 0; i < s->nskills; i++) {
        wwa_text_printf(t, "<span><i class=\"sw\" style=\"background:%s\"></i>",
                        skill_colors[i % (sizeof skill_colors / sizeof *skill_colors)]);
        wwa_text_html(t, s->skills[i].skill);
        wwa_text_put(t, "</span>");
    }
    wwa_text_put(t, "<span><i class=\"sw\" style=\"background:" COLOR_LIMIT "\"></i>3 % limit</span></div>");
    for (size_t i = 0; i < st->nskills; i++) {
        const wss_wwa_skill_state *k = &st->skills[i];
        wwa_text_put(t, "<div>");
        wwa_text_html(t, k->skill);
        wwa_text_printf(t, ": %.2f %% (%lld of %lld)", k->percent, k->invalid, k->total);
        if (k->removed) {
            wwa_text_put(t, " <span class=\"fire\">over 3 % since ");
            when(t, k->breach_start_ms);
            wwa_text_put(t, ": 90 days passed, badge removed</span>");
        } else if (k->breach) {
            long long left = k->deadline_ms - st->at_ms;
            wwa_text_put(t, " <span class=\"fire\">over 3 % since ");
            when(t, k->breach_start_ms);
            wwa_text_printf(t, ": 90-day clock, %lld days %lld h left (mitigate by ", left / WWA_DAY_MS,
                            left % WWA_DAY_MS / 3600000);
            when(t, k->deadline_ms);
            wwa_text_put(t, ")</span>");
        }
        wwa_text_put(t, "</div>");
    }
    if (st->nskills == 0)
        wwa_text_put(t, "<div>no directive outcomes</div>");
}

static void section_lists(wwa_text *t, const wss_wwa_state *st)
{
    wwa_text_put(t, "<h2>Security incidents</h2>");
    if (st->nincidents == 0)
        wwa_text_put(t, "<div>none</div>");
    else
        wwa_text_put(t, "<table><tr><th>id</th><th>severity</th><th>at</th><th>fix deadline</th><th>fixed</th>"
                        "<th>state</th></tr>");
    for (size_t i = 0; i < st->nincidents; i++) {
        const wss_wwa_incident_state *n = &st->incidents[i];
        wwa_text_put(t, "<tr><td>");
        wwa_text_html(t, n->id);
        wwa_text_printf(t, "</td><td>%s</td><td>", wss_wwa_severity_name(n->severity));
        when(t, n->at_ms);
        wwa_text_put(t, "</td><td>");
        when(t, n->fix_deadline_ms);
        wwa_text_put(t, "</td><td>");
        when(t, n->fixed_at_ms);
        wwa_text_printf(t, "</td><td%s>%s</td></tr>",
                        n->overdue || (n->removal && !n->cleared) ? " class=\"fire\"" : "",
                        n->removal   ? (n->cleared ? "removal lifted" : "badges removed")
                        : n->overdue ? "OVERDUE"
                                     : "ok");
    }
    if (st->nincidents)
        wwa_text_put(t, "</table>");

    wwa_text_put(t, "<h2>Product checklist</h2>");
    if (st->nasins == 0)
        wwa_text_put(t, "<div class=\"gap\">no ASIN attested yet: a badge request would be rejected</div>");
    else {
        wwa_text_put(t, "<table><tr><th>ASIN</th><th>marketplace</th>");
        for (int c = 0; c < WSS_WWA_CHECK__COUNT; c++)
            wwa_text_printf(t, "<th>%s</th>", wss_wwa_check_name((wss_wwa_check)c));
        wwa_text_put(t, "</tr>");
    }
    for (size_t i = 0; i < st->nasins; i++) {
        const wss_wwa_asin_state *as = &st->asins[i];
        wwa_text_put(t, "<tr><td>");
        wwa_text_html(t, as->asin);
        wwa_text_put(t, "</td><td>");
        wwa_text_html(t, as->market);
        wwa_text_put(t, "</td>");
        for (int c = 0; c < WSS_WWA_CHECK__COUNT; c++) {
            const wss_wwa_check_state *cs = &as->checks[c];
            if (!cs->attested)
                wwa_text_put(t, "<td class=\"gap\">GAP: not attested</td>");
            else
                wwa_text_printf(t, "<td%s>%s</td>", cs->result == WSS_WWA_FAIL ? " class=\"gap\"" : "",
                                wss_wwa_result_name(cs->result));
        }
        wwa_text_put(t, "</tr>");
    }
    if (st->nasins)
        wwa_text_put(t, "</table>");

    wwa_text_put(t, "<h2>Warnings</h2>");
    if (st->nwarnings == 0)
        wwa_text_put(t, "<div>none</div>");
    wwa_text_put(t, "<ul>");
    for (size_t i = 0; i < st->nwarnings; i++) {
        wwa_text_put(t, "<li>");
        wwa_text_html(t, st->warnings[i].text);
        wwa_text_put(t, "</li>");
    }
    wwa_text_put(t, "</ul>");
}

char *wwa_dashboard_html(const wss_wwa_state *st, const wwa_burn *b, const wwa_series *s, size_t *len)
{
    wwa_text t = {0};
    wwa_text_printf(&t,
                    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<title>Works with Alexa %d</title><style>%s</style></head><body>",
                    s->year, style);
    wwa_text_printf(&t, "<header id=\"badge\" class=\"%s\"><h1>Works with Alexa badge: %s</h1><p>",
                    st->badge_held ? "held" : "removed", st->badge_held ? "held" : "REMOVED");
    for (size_t i = 0; i < st->nreasons; i++) {
        wwa_text_printf(&t, "%s%s: ", i ? "; " : "", wss_wwa_reason_name(st->reasons[i].kind));
        wwa_text_html(&t, st->reasons[i].text);
    }
    if (st->nreasons == 0)
        wwa_text_put(&t, "every rule holds");
    wwa_text_printf(&t, "%s</p></header><main>", st->requests_suspended ? " (new badge requests suspended)" : "");
    wwa_text_put(&t, "<div>State at ");
    when(&t, st->at_ms);
    wwa_text_put(&t, "</div>");
    section_cards(&t, st, b);

    wwa_text_printf(&t, "<h2>Outages in %d (%d of %d allowed)</h2>", s->year, st->availability.outages,
                    WSS_WWA_MAX_OUTAGES);
    chart_outages(&t, s, st->availability.outages);
    wwa_text_printf(&t, "<h2>Availability in %d so far</h2>", s->year);
    wwa_text_put(&t, "<div class=\"legend\"><span><i class=\"sw\" style=\"background:" COLOR_LINE
                     "\"></i>availability since 1 January</span><span><i class=\"sw\" style=\"background:" COLOR_LIMIT
                     "\"></i>99.93 % target</span></div>");
    chart_availability(&t, s);
    wwa_text_printf(&t, "<h2>Downtime budget left in %d</h2>", s->year);
    wwa_text_put(&t, "<div class=\"legend\"><span><i class=\"sw\" style=\"background:" COLOR_BUDGET
                     "\"></i>allowance left</span><span><i class=\"sw\" style=\"background:" COLOR_REMOVED
                     "\"></i>overspent</span><span><i class=\"sw\" style=\"background:" COLOR_PACE
                     "\"></i>even pace over the year</span><span>allowance ");
    duration(&t, s->allowance_ms);
    wwa_text_put(&t, ", used ");
    duration(&t, st->availability.downtime_ms);
    wwa_text_put(&t, "</span></div>");
    chart_budget(&t, s);
    wwa_text_put(&t, "<h2>INVALID_SKILL_RESPONSE_EXCEPTION, rolling 30 days</h2>");
    section_skills(&t, st, s);
    chart_isre(&t, s);
    section_burn(&t, b);
    section_lists(&t, st);
    wwa_text_put(&t, "</main></body></html>\n");
    return wwa_text_take(&t, len);
}

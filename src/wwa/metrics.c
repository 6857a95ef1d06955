/* metrics.c - the state as machines read it: downtime over any interval,
 * burn rates against the annual downtime budget with their multi-window
 * alerts, the Prometheus text exposition and the status JSON document.
 *
 * Downtime over an interval is derived from the year-to-date downtime the
 * engine reports (wss_wwa_state_at), so it agrees with `wss wwa status` to
 * the millisecond, including across 1 January. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wwa/internal.h"
#include "wwa/live.h"

/* ------------------------------------------------------------ text buffer */

static int text_reserve(wwa_text *t, size_t more)
{
    if (t->nomem)
        return -1;
    if (t->len + more + 1 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *grown = realloc(t->buf, cap);
    if (!grown) {
        t->nomem = 1;
        return -1;
    }
    t->buf = grown;
    t->cap = cap;
    return 0;
}

void wwa_text_printf(wwa_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || text_reserve(t, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void wwa_text_put(wwa_text *t, const char *s)
{
    size_t n = strlen(s);
    if (text_reserve(t, n) != 0)
        return;
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
}

void wwa_text_html(wwa_text *t, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': wwa_text_put(t, "&amp;"); break;
        case '<': wwa_text_put(t, "&lt;"); break;
        case '>': wwa_text_put(t, "&gt;"); break;
        case '"': wwa_text_put(t, "&quot;"); break;
        case '\'': wwa_text_put(t, "&#39;"); break;
        default:
            if (text_reserve(t, 1) == 0) {
                t->buf[t->len++] = *s;
                t->buf[t->len] = '\0';
            }
        }
    }
}

char *wwa_text_take(wwa_text *t, size_t *len)
{
    char *out = NULL;
    if (text_reserve(t, 0) == 0) {
        t->buf[t->len] = '\0';
        out = t->buf;
    } else {
        free(t->buf);
    }
    if (len)
        *len = out ? t->len : 0;
    memset(t, 0, sizeof *t);
    return out;
}

/* ------------------------------------------------------------ downtime over an interval */

const char *const wwa_window_names[WWA_WINDOW__COUNT] = {"5m", "30m", "1h", "6h", "1d", "3d", "7d", "30d"};
const long long wwa_window_ms[WWA_WINDOW__COUNT] = {
    5 * 60000LL, 30 * 60000LL, 3600000LL, 6 * 3600000LL, WWA_DAY_MS, 3 * WWA_DAY_MS, 7 * WWA_DAY_MS, 30 * WWA_DAY_MS,
};

/* The annual budget is 0.07 % of the year; docs/wwa.md explains the choice
 * of windows and factors. */
const wwa_burn_rule wwa_burn_rules[WWA_BURN_RULES] = {
    {"availability_fast_burn", "page", WWA_W1H, WWA_W5M, 17520},    /* 175.2x: 2 % of the year's budget in 1 h */
    {"availability_slow_burn", "page", WWA_W6H, WWA_W30M, 7300},    /* 73x: 5 % in 6 h */
    {"availability_budget_burn", "ticket", WWA_W3D, WWA_W6H, 1220}, /* 12.2x: 10 % in 3 days */
    {"availability_month_pace", "ticket", WWA_W30D, WWA_W3D, 100},  /* 1x: the year's pace over 30 days */
};

/* The year-to-date downtime at x, and whether x itself is down. */
static wss_err ytd_at(wss_wwa *e, long long x, long long *downtime, int *down)
{
    wss_wwa_state s;
    wss_err rc = wss_wwa_state_at(e, x, &s);
    if (rc != WSS_OK)
        return rc;
    *downtime = s.availability.downtime_ms;
    if (down)
        *down = s.availability.down_now;
    wss_wwa_state_free(&s);
    return WSS_OK;
}

/* Downtime in [ys of x's year, y) for y up to that year's end, both
 * included: the engine reports [year start, y) for an instant y of the
 * year, and the last millisecond of the year is down when its state is. */
static wss_err ytd_until(wss_wwa *e, long long y, long long year_end, long long *out)
{
    if (y < year_end)
        return ytd_at(e, y, out, NULL);
    int down;
    wss_err rc = ytd_at(e, year_end - 1, out, &down);
    if (rc == WSS_OK && down)
        (*out)++;
    return rc;
}

wss_err wwa_downtime_between(wss_wwa *e, long long a, long long b, long long *out)
{
    *out = 0;
    if (!wwa_time_ok(a) || b < a || (b > a && !wwa_time_ok(b - 1)))
        return WSS_ERR_INVALID;
    long long total = 0;
    for (long long x = a; x < b;) {
        int y, m;
        wwa_year_month(x, &y, &m);
        long long ys = wwa_year_start(y), ye = wwa_year_start(y + 1);
        long long to = b < ye ? b : ye, d_from = 0, d_to;
        wss_err rc = x > ys ? ytd_at(e, x, &d_from, NULL) : WSS_OK;
        if (rc == WSS_OK)
            rc = ytd_until(e, to, ye, &d_to);
        if (rc != WSS_OK)
            return rc;
        total += d_to - d_from;
        x = to;
    }
    *out = total;
    return WSS_OK;
}

/* ------------------------------------------------------------ burn rates */

/* downtime / window > (factor_x100 / 100) x (7 / 10000), in integers: the
 * windows are at most 30 days, so every product stays far below 2^63. */
int wwa_burn_exceeds(long long downtime_ms, long long window_ms, long long factor_x100)
{
    return downtime_ms * 1000000LL > factor_x100 * (10000 - WSS_WWA_TARGET_PERMYRIAD) * window_ms;
}

wss_err wwa_burn_at(wss_wwa *e, long long t, wwa_burn *out)
{
    memset(out, 0, sizeof *out);
    out->at_ms = t;
    for (int w = 0; w < WWA_WINDOW__COUNT; w++) {
        long long from = t - wwa_window_ms[w];
        wss_err rc = wwa_downtime_between(e, from > 0 ? from : 0, t, &out->downtime_ms[w]);
        if (rc != WSS_OK)
            return rc;
        out->rate[w] = (double)out->downtime_ms[w] * 10000.0 /
                       ((double)(10000 - WSS_WWA_TARGET_PERMYRIAD) * (double)wwa_window_ms[w]);
    }
    for (int r = 0; r < WWA_BURN_RULES; r++) {
        const wwa_burn_rule *rule = &wwa_burn_rules[r];
        out->firing[r] =
            wwa_burn_exceeds(out->downtime_ms[rule->long_w], wwa_window_ms[rule->long_w], rule->factor_x100) &&
            wwa_burn_exceeds(out->downtime_ms[rule->short_w], wwa_window_ms[rule->short_w], rule->factor_x100);
    }
    return WSS_OK;
}

/* ------------------------------------------------------------ Prometheus text */

/* A label value with \, " and newline escaped as the exposition format asks. */
static void label(wwa_text *t, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            wwa_text_put(t, "\\\\");
        else if (*v == '"')
            wwa_text_put(t, "\\\"");
        else if (*v == '\n')
            wwa_text_put(t, "\\n");
        else
            wwa_text_printf(t, "%c", *v);
    }
}

static void family(wwa_text *t, const char *name, const char *help)
{
    wwa_text_printf(t, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void seconds(wwa_text *t, long long ms) { wwa_text_printf(t, "%lld.%03lld\n", ms / 1000, ms % 1000); }

static void metrics_availability(wwa_text *t, const wss_wwa_state *s)
{
    const wss_wwa_availability *a = &s->availability;
    family(t, "wss_wwa_availability_ratio", "Availability so far in the calendar year (1 - downtime / elapsed).");
    wwa_text_printf(t, "wss_wwa_availability_ratio{year=\"%d\"} %.9f\n", a->year, a->percent / 100.0);
    family(t, "wss_wwa_availability_target_ratio", "The yearly availability the badge needs.");
    wwa_text_printf(t, "wss_wwa_availability_target_ratio %d.%04d\n", WSS_WWA_TARGET_PERMYRIAD / 10000,
                    WSS_WWA_TARGET_PERMYRIAD % 10000);
    family(t, "wss_wwa_downtime_seconds", "Downtime in the calendar year so far.");
    wwa_text_printf(t, "wss_wwa_downtime_seconds{year=\"%d\"} ", a->year);
    seconds(t, a->downtime_ms);
    family(t, "wss_wwa_downtime_allowance_seconds", "The year's downtime budget: 0.07 % of its real length.");
    wwa_text_printf(t, "wss_wwa_downtime_allowance_seconds{year=\"%d\"} ", a->year);
    seconds(t, a->allowance_ms);
    family(t, "wss_wwa_downtime_left_seconds", "Downtime budget left in the year (0 when spent).");
    wwa_text_printf(t, "wss_wwa_downtime_left_seconds{year=\"%d\"} ", a->year);
    seconds(t, a->left_ms);
    family(t, "wss_wwa_outages", "Outages overlapping the calendar year so far.");
    wwa_text_printf(t, "wss_wwa_outages{year=\"%d\"} %d\n", a->year, a->outages);
    family(t, "wss_wwa_outages_limit", "Outages allowed per calendar year.");
    wwa_text_printf(t, "wss_wwa_outages_limit %d\n", WSS_WWA_MAX_OUTAGES);
    family(t, "wss_wwa_down", "1 while the latest availability sample says down.");
    wwa_text_printf(t, "wss_wwa_down %d\n", a->down_now);
    family(t, "wss_wwa_availability_breach", "1 when the year's threshold is crossed (downtime or outages).");
    wwa_text_printf(t, "wss_wwa_availability_breach{threshold=\"downtime\"} %d\n", a->breach_downtime);
    wwa_text_printf(t, "wss_wwa_availability_breach{threshold=\"outages\"} %d\n", a->breach_outages);
    family(t, "wss_wwa_availability_warning", "1 when the year approaches a threshold (the engine's warnings).");
    wwa_text_printf(t, "wss_wwa_availability_warning{threshold=\"downtime\"} %d\n", a->warn_downtime);
    wwa_text_printf(t, "wss_wwa_availability_warning{threshold=\"outages\"} %d\n", a->warn_outages);
    family(t, "wss_wwa_compliant_months", "While removed for availability: consecutive compliant months so far.");
    wwa_text_printf(t, "wss_wwa_compliant_months %d\n", a->compliant_months);
}

static void metrics_skills(wwa_text *t, const wss_wwa_state *s)
{
    static const char *const names[] = {"wss_wwa_skill_requests_30d", "wss_wwa_skill_invalid_responses_30d",
                                        "wss_wwa_skill_invalid_ratio_30d", "wss_wwa_skill_breach",
                                        "wss_wwa_skill_removed"};
    static const char *const helps[] = {
        "Directive outcomes of the skill in the last 30 days.",
        "INVALID_SKILL_RESPONSE_EXCEPTION outcomes of the skill in the last 30 days.",
        "Share of invalid responses over the rolling 30 days.",
        "1 while the skill is above 3 % (the 90-day clock runs).",
        "1 when the 90 days passed with the breach in progress (badge removed).",
    };
    family(t, "wss_wwa_skill_invalid_limit_ratio", "The share of invalid responses a skill may not exceed.");
    wwa_text_printf(t, "wss_wwa_skill_invalid_limit_ratio %d.%02d\n", WSS_WWA_ISRE_MAX_PERMYRIAD / 10000,
                    WSS_WWA_ISRE_MAX_PERMYRIAD / 100);
    for (int m = 0; m < 5; m++) {
        family(t, names[m], helps[m]);
        for (size_t i = 0; i < s->nskills; i++) {
            const wss_wwa_skill_state *k = &s->skills[i];
            wwa_text_printf(t, "%s{skill=\"", names[m]);
            label(t, k->skill);
            wwa_text_put(t, "\"} ");
            switch (m) {
            case 0: wwa_text_printf(t, "%lld\n", k->total); break;
            case 1: wwa_text_printf(t, "%lld\n", k->invalid); break;
            case 2: wwa_text_printf(t, "%.9f\n", k->total ? (double)k->invalid / (double)k->total : 0.0); break;
            case 3: wwa_text_printf(t, "%d\n", k->breach); break;
            default: wwa_text_printf(t, "%d\n", k->removed); break;
            }
        }
    }
    family(t, "wss_wwa_skill_mitigation_seconds_left",
           "Time left on the 90-day clock of a skill in breach (0 once it ran out); absent without a breach.");
    for (size_t i = 0; i < s->nskills; i++) {
        const wss_wwa_skill_state *k = &s->skills[i];
        if (!k->breach || k->deadline_ms < 0)
            continue;
        long long left = k->deadline_ms > s->at_ms ? k->deadline_ms - s->at_ms : 0;
        wwa_text_put(t, "wss_wwa_skill_mitigation_seconds_left{skill=\"");
        label(t, k->skill);
        wwa_text_put(t, "\"} ");
        seconds(t, left);
    }
}

static void metrics_badge(wwa_text *t, const wss_wwa_state *s)
{
    family(t, "wss_wwa_badge_held", "1 while no removal reason is active.");
    wwa_text_printf(t, "wss_wwa_badge_held %d\n", s->badge_held);
    family(t, "wss_wwa_badge_removal", "1 per active removal reason (reason, subject), valued since when (Unix s).");
    for (size_t i = 0; i < s->nreasons; i++) {
        wwa_text_printf(t, "wss_wwa_badge_removal{reason=\"%s\",subject=\"", wss_wwa_reason_name(s->reasons[i].kind));
        label(t, s->reasons[i].subject);
        wwa_text_put(t, "\"} 1\n");
    }
    family(t, "wss_wwa_badge_removal_since_seconds", "When each active removal began (Unix time).");
    for (size_t i = 0; i < s->nreasons; i++) {
        wwa_text_printf(t, "wss_wwa_badge_removal_since_seconds{reason=\"%s\",subject=\"",
                        wss_wwa_reason_name(s->reasons[i].kind));
        label(t, s->reasons[i].subject);
        wwa_text_put(t, "\"} ");
        seconds(t, s->reasons[i].since_ms);
    }
    family(t, "wss_wwa_badge_requests_suspended", "1 while new badge requests are suspended (availability removal).");
    wwa_text_printf(t, "wss_wwa_badge_requests_suspended %d\n", s->requests_suspended);
    family(t, "wss_wwa_warnings", "Warnings the engine raises at the instant.");
    wwa_text_printf(t, "wss_wwa_warnings %zu\n", s->nwarnings);
}

static void metrics_incidents(wwa_text *t, const wss_wwa_state *s)
{
    long long total[4] = {0}, year[4] = {0};
    int overdue = 0, removal = 0, y, m;
    wwa_year_month(s->at_ms, &y, &m);
    for (size_t i = 0; i < s->nincidents; i++) {
        const wss_wwa_incident_state *n = &s->incidents[i];
        int iy, im;
        wwa_year_month(n->at_ms, &iy, &im);
        total[n->severity & 3]++;
        if (iy == y)
            year[n->severity & 3]++;
        overdue += n->overdue;
        removal += n->removal && !n->cleared;
    }
    family(t, "wss_wwa_incidents", "Security incidents recorded so far, by severity.");
    for (int v = 0; v < 4; v++)
        wwa_text_printf(t, "wss_wwa_incidents{severity=\"%s\"} %lld\n", wss_wwa_severity_name((wss_wwa_severity)v),
                        total[v]);
    family(t, "wss_wwa_incidents_this_year", "Security incidents in the calendar year, by severity.");
    for (int v = 0; v < 4; v++)
        wwa_text_printf(t, "wss_wwa_incidents_this_year{severity=\"%s\",year=\"%d\"} %lld\n",
                        wss_wwa_severity_name((wss_wwa_severity)v), y, year[v]);
    family(t, "wss_wwa_incidents_overdue", "Low and medium incidents past their fix deadline without a timely fix.");
    wwa_text_printf(t, "wss_wwa_incidents_overdue %d\n", overdue);
    family(t, "wss_wwa_incidents_removing", "Incidents whose badge removal is in force.");
    wwa_text_printf(t, "wss_wwa_incidents_removing %d\n", removal);
}

static void metrics_checklist(wwa_text *t, const wss_wwa_state *s)
{
    family(t, "wss_wwa_checklist_ok", "1 when at least one ASIN is attested and no check is missing or failing.");
    wwa_text_printf(t, "wss_wwa_checklist_ok %d\n", s->checklist_ok);
    family(t, "wss_wwa_checklist_gaps", "Product checks unattested or failing, over every ASIN.");
    wwa_text_printf(t, "wss_wwa_checklist_gaps %zu\n", s->checklist_gaps);
    family(t, "wss_wwa_asin_checklist_gaps", "Product checks unattested or failing, per ASIN and marketplace.");
    for (size_t i = 0; i < s->nasins; i++) {
        wwa_text_put(t, "wss_wwa_asin_checklist_gaps{asin=\"");
        label(t, s->asins[i].asin);
        wwa_text_put(t, "\",marketplace=\"");
        label(t, s->asins[i].market);
        wwa_text_printf(t, "\"} %d\n", s->asins[i].gaps);
    }
}

static void metrics_burn(wwa_text *t, const wwa_burn *b)
{
    family(t, "wss_wwa_window_downtime_seconds", "Downtime in the window ending at the instant.");
    for (int w = 0; w < WWA_WINDOW__COUNT; w++) {
        wwa_text_printf(t, "wss_wwa_window_downtime_seconds{window=\"%s\"} ", wwa_window_names[w]);
        seconds(t, b->downtime_ms[w]);
    }
    family(t, "wss_wwa_burn_rate",
           "Downtime share of the window divided by the annual budget's share (1 - 0.9993): 1 spends the year's "
           "budget exactly in a year.");
    for (int w = 0; w < WWA_WINDOW__COUNT; w++)
        wwa_text_printf(t, "wss_wwa_burn_rate{window=\"%s\"} %.6f\n", wwa_window_names[w], b->rate[w]);
    family(t, "wss_wwa_burn_rate_alert", "1 while the burn rate exceeds the factor over both windows.");
    for (int r = 0; r < WWA_BURN_RULES; r++) {
        const wwa_burn_rule *rule = &wwa_burn_rules[r];
        wwa_text_printf(t,
                        "wss_wwa_burn_rate_alert{alert=\"%s\",severity=\"%s\",long_window=\"%s\","
                        "short_window=\"%s\"} %d\n",
                        rule->name, rule->severity, wwa_window_names[rule->long_w], wwa_window_names[rule->short_w],
                        b->firing[r]);
    }
    family(t, "wss_wwa_burn_rate_alert_factor", "The burn rate each alert fires above.");
    for (int r = 0; r < WWA_BURN_RULES; r++)
        wwa_text_printf(t, "wss_wwa_burn_rate_alert_factor{alert=\"%s\"} %lld.%02lld\n", wwa_burn_rules[r].name,
                        wwa_burn_rules[r].factor_x100 / 100, wwa_burn_rules[r].factor_x100 % 100);
}

char *wwa_metrics_text(const wss_wwa_state *s, const wwa_burn *b)
{
    wwa_text t = {0};
    family(&t, "wss_wwa_evaluated_at_seconds", "The instant the values describe (Unix time).");
    wwa_text_put(&t, "wss_wwa_evaluated_at_seconds ");
    seconds(&t, s->at_ms);
    metrics_badge(&t, s);
    metrics_availability(&t, s);
    metrics_burn(&t, b);
    metrics_skills(&t, s);
    metrics_incidents(&t, s);
    metrics_checklist(&t, s);
    return wwa_text_take(&t, NULL);
}

/* ------------------------------------------------------------ the status document */

json_t *wwa_time_json(long long ms)
{
    if (ms < 0)
        return json_null();
    char buf[32];
    wss_wwa_format_time(ms, buf);
    return json_string(buf);
}

static json_t *asins_json(const wss_wwa_state *s)
{
    json_t *asins = json_array();
    for (size_t i = 0; asins && i < s->nasins; i++) {
        json_t *checks = json_object();
        for (int c = 0; checks && c < WSS_WWA_CHECK__COUNT; c++) {
            const wss_wwa_check_state *cs = &s->asins[i].checks[c];
            json_object_set_new(checks, wss_wwa_check_name((wss_wwa_check)c),
                                cs->attested
                                    ? json_pack("{s:s, s:s, s:o, s:s}", "result", wss_wwa_result_name(cs->result), "by",
                                                cs->who, "at", wwa_time_json(cs->at_ms), "note", cs->note)
                                    : json_null());
        }
        json_array_append_new(asins, json_pack("{s:s, s:s, s:i, s:o}", "asin", s->asins[i].asin, "marketplace",
                                               s->asins[i].market, "gaps", s->asins[i].gaps, "checks", checks));
    }
    return asins;
}

json_t *wwa_status_json(const wss_wwa_state *s)
{
    const wss_wwa_availability *a = &s->availability;
    json_t *reasons = json_array(), *warnings = json_array(), *skills = json_array(), *incidents = json_array();
    for (size_t i = 0; i < s->nreasons; i++)
        json_array_append_new(reasons,
                              json_pack("{s:s, s:o, s:s, s:s}", "kind", wss_wwa_reason_name(s->reasons[i].kind),
                                        "since", wwa_time_json(s->reasons[i].since_ms), "subject",
                                        s->reasons[i].subject, "text", s->reasons[i].text));
    for (size_t i = 0; i < s->nwarnings; i++)
        json_array_append_new(warnings, json_string(s->warnings[i].text));
    for (size_t i = 0; i < s->nskills; i++) {
        const wss_wwa_skill_state *k = &s->skills[i];
        json_array_append_new(skills, json_pack("{s:s, s:I, s:I, s:f, s:b, s:b, s:o, s:o, s:b}", "skill", k->skill,
                                                "requests_30d", (json_int_t)k->total, "invalid_30d",
                                                (json_int_t)k->invalid, "percent", k->percent, "breach", k->breach,
                                                "warn", k->warn, "breach_start", wwa_time_json(k->breach_start_ms),
                                                "mitigate_by", wwa_time_json(k->deadline_ms), "removed", k->removed));
    }
    for (size_t i = 0; i < s->nincidents; i++) {
        const wss_wwa_incident_state *n = &s->incidents[i];
        json_array_append_new(
            incidents, json_pack("{s:s, s:o, s:s, s:o, s:o, s:b, s:b, s:b}", "id", n->id, "at", wwa_time_json(n->at_ms),
                                 "severity", wss_wwa_severity_name(n->severity), "fix_deadline",
                                 wwa_time_json(n->fix_deadline_ms), "fixed_at", wwa_time_json(n->fixed_at_ms),
                                 "overdue", n->overdue, "removal", n->removal, "cleared", n->cleared));
    }
    json_t *avail = json_pack(
        "{s:i, s:f, s:I, s:I, s:I, s:i, s:i, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:i, s:o}", "year", a->year, "percent",
        a->percent, "downtime_ms", (json_int_t)a->downtime_ms, "allowance_ms", (json_int_t)a->allowance_ms, "left_ms",
        (json_int_t)a->left_ms, "outages", a->outages, "outages_max", WSS_WWA_MAX_OUTAGES, "down_now", a->down_now,
        "warn_downtime", a->warn_downtime, "warn_outages", a->warn_outages, "breach_downtime", a->breach_downtime,
        "breach_outages", a->breach_outages, "breach_downtime_at", wwa_time_json(a->breach_downtime_at_ms),
        "breach_outages_at", wwa_time_json(a->breach_outages_at_ms), "compliant_months", a->compliant_months,
        "reinstated_at", wwa_time_json(a->reinstated_at_ms));
    json_t *doc = json_pack("{s:o, s:b, s:b, s:b, s:o, s:o, s:o, s:o, s:i, s:o, s:I}", "at", wwa_time_json(s->at_ms),
                            "badge_held", s->badge_held, "requests_suspended", s->requests_suspended, "checklist_ok",
                            s->checklist_ok, "reasons", reasons, "warnings", warnings, "availability", avail, "skills",
                            skills, "high_incidents_this_year", s->high_this_year, "incidents", incidents,
                            "checklist_gaps", (json_int_t)s->checklist_gaps);
    json_t *asins = asins_json(s);
    if (!doc || !asins) {
        json_decref(doc);
        json_decref(asins);
        return NULL;
    }
    if (json_object_set_new(doc, "asins", asins) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

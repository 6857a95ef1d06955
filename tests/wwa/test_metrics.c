/* test_metrics.c - the live outputs' arithmetic: downtime over intervals
 * (across 1 January, to the millisecond), burn rates and the multi-window
 * alerts exactly at and one millisecond past their thresholds, the
 * Prometheus text (well-formed, and the values of known states), the status
 * document, the chart series (outages located exactly) and the page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>
#include <ctype.h>

#include "wwa/live.h"
#include "wwa_test_util.h"

/* ------------------------------------------------------------ a tiny exposition reader */

/* Checks the whole text is well-formed exposition: every sample line is
 * NAME or NAME{k="v",...}, a space and a number, and its family was
 * declared by # HELP and # TYPE ... gauge lines before it. */
static void assert_well_formed(const char *text)
{
    char declared[256][96];
    size_t ndeclared = 0;
    const char *line = text;
    int samples = 0;
    while (*line) {
        const char *end = strchr(line, '\n');
        assert_non_null(end); /* every line ends with a newline */
        char buf[2048];
        size_t len = (size_t)(end - line);
        assert_true(len < sizeof buf);
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = end + 1;
        if (strncmp(buf, "# HELP ", 7) == 0)
            continue;
        if (strncmp(buf, "# TYPE ", 7) == 0) {
            char name[96], type[32];
            assert_int_equal(sscanf(buf + 7, "%95s %31s", name, type), 2);
            assert_string_equal(type, "gauge");
            assert_true(ndeclared < 256);
            snprintf(declared[ndeclared++], sizeof declared[0], "%s", name);
            continue;
        }
        size_t n = 0;
        assert_true(isalpha((unsigned char)buf[0]) || buf[0] == '_');
        while (isalnum((unsigned char)buf[n]) || buf[n] == '_' || buf[n] == ':')
            n++;
        int known = 0;
        for (size_t i = 0; i < ndeclared; i++)
            known |= strlen(declared[i]) == n && strncmp(declared[i], buf, n) == 0;
        if (!known)
            fail_msg("sample of an undeclared family: %s", buf);
        const char *p = buf + n;
        if (*p == '{') {
            p++;
            while (*p != '}') {
                while (isalnum((unsigned char)*p) || *p == '_')
                    p++;
                assert_int_equal(*p++, '=');
                assert_int_equal(*p++, '"');
                while (*p && *p != '"') {
                    if (*p == '\\') {
                        p++;
                        assert_true(*p == '\\' || *p == '"' || *p == 'n');
                    }
                    p++;
                }
                assert_int_equal(*p++, '"');
                if (*p == ',')
                    p++;
                else
                    assert_int_equal(*p, '}');
            }
            p++;
        }
        assert_int_equal(*p++, ' ');
        char *num_end;
        strtod(p, &num_end);
        if (num_end == p || *num_end != '\0')
            fail_msg("not a number in: %s", buf);
        samples++;
    }
    assert_true(samples > 20);
}

/* The value of the sample written exactly as series, or -1 when absent. */
static double metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    return -1;
}

static char *metrics_at(wss_wwa *e, long long t)
{
    wss_wwa_state s;
    wwa_burn b;
    assert_int_equal(wss_wwa_state_at(e, t, &s), WSS_OK);
    assert_int_equal(wwa_burn_at(e, t, &b), WSS_OK);
    char *text = wwa_metrics_text(&s, &b);
    assert_non_null(text);
    wss_wwa_state_free(&s);
    assert_well_formed(text);
    return text;
}

static long long between(wss_wwa *e, long long a, long long b)
{
    long long d = -1;
    assert_int_equal(wwa_downtime_between(e, a, b, &d), WSS_OK);
    return d;
}

/* ------------------------------------------------------------ downtime over intervals */

static void test_downtime_across_new_year(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    downtime(e, T("2027-12-31T23:00:00Z"), T("2028-01-01T01:00:00Z"));
    downtime(e, T("2028-03-01T10:00:00Z"), T("2028-03-01T10:00:00.250Z"));
    assert_int_equal(between(e, T("2027-12-31T22:00:00Z"), T("2028-01-01T02:00:00Z")), 2 * HOUR_MS);
    assert_int_equal(between(e, T("2027-12-31T23:30:00Z"), T("2028-01-01T00:00:00Z")), 30 * MIN_MS);
    assert_int_equal(between(e, T("2028-01-01T00:00:00Z"), T("2028-01-01T00:30:00Z")), 30 * MIN_MS);
    assert_int_equal(between(e, T("2027-06-01T00:00:00Z"), T("2028-06-01T00:00:00Z")), 2 * HOUR_MS + 250);
    assert_int_equal(between(e, T("2028-03-01T10:00:00.100Z"), T("2028-03-01T10:00:00.200Z")), 100);
    assert_int_equal(between(e, T("2028-03-01T10:00:00Z"), T("2028-03-01T10:00:00Z")), 0);
    long long d;
    assert_int_equal(wwa_downtime_between(e, 10, 5, &d), WSS_ERR_INVALID);
    wss_wwa_free(e);
}

/* The last millisecond of a year is counted in that year. */
static void test_downtime_last_millisecond(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    long long ny = T("2028-01-01T00:00:00Z");
    downtime(e, ny - 1, ny);
    assert_int_equal(between(e, ny - 10, ny), 1);
    assert_int_equal(between(e, ny - 10, ny + 10), 1);
    assert_int_equal(between(e, ny, ny + 10), 0);
    wss_wwa_free(e);
}

/* ------------------------------------------------------------ burn rates at their thresholds */

static int firing(wss_wwa *e, long long t, const char *name)
{
    wwa_burn b;
    assert_int_equal(wwa_burn_at(e, t, &b), WSS_OK);
    for (int r = 0; r < WWA_BURN_RULES; r++)
        if (strcmp(wwa_burn_rules[r].name, name) == 0)
            return b.firing[r];
    fail_msg("no rule %s", name);
    return -1;
}

static void test_burn_exceeds_is_exact(void **state)
{
    (void)state;
    /* 175.2x over 1 h: 175.2 x 0.0007 x 3 600 000 ms = 441 504 ms, 2 % of 2027's 22 075 200. */
    assert_false(wwa_burn_exceeds(441504, HOUR_MS, 17520));
    assert_true(wwa_burn_exceeds(441505, HOUR_MS, 17520));
    /* 1x over 30 days: 30 days' share of the budget, 1 814 400 ms. */
    assert_false(wwa_burn_exceeds(1814400, 30 * DAY_MS, 100));
    assert_true(wwa_burn_exceeds(1814401, 30 * DAY_MS, 100));
    assert_false(wwa_burn_exceeds(0, 5 * MIN_MS, 0));
    assert_true(wwa_burn_exceeds(1, 5 * MIN_MS, 0));
}

/* One outage ending at t of exactly the fast rule's long-window threshold:
 * the 5-minute window is all down, the hour exactly at 175.2x: no page;
 * one more millisecond pages. */
static void test_fast_burn_long_window_threshold(void **state)
{
    (void)state;
    long long t = T("2027-05-10T12:00:00Z");
    for (long long extra = 0; extra <= 1; extra++) {
        wss_wwa *e = engine_new();
        downtime(e, t - 441504 - extra, t);
        wwa_burn b;
        assert_int_equal(wwa_burn_at(e, t, &b), WSS_OK);
        assert_int_equal(b.downtime_ms[WWA_W1H], 441504 + extra);
        assert_int_equal(b.downtime_ms[WWA_W5M], 5 * MIN_MS);
        if (extra == 0)
            assert_true(b.rate[WWA_W1H] > 175.1999 && b.rate[WWA_W1H] < 175.2001);
        assert_int_equal(firing(e, t, "availability_fast_burn"), (int)extra);
        wss_wwa_free(e);
    }
}

/* The short window decides once the long one is over: 36 792 ms down in the
 * last 5 minutes is exactly 175.2x. */
static void test_fast_burn_short_window_threshold(void **state)
{
    (void)state;
    long long t = T("2027-05-10T12:00:00Z");
    for (long long extra = 0; extra <= 1; extra++) {
        wss_wwa *e = engine_new();
        long long end = t - 5 * MIN_MS + 36792 + extra;
        downtime(e, end - 15 * MIN_MS, end);
        wwa_burn b;
        assert_int_equal(wwa_burn_at(e, t, &b), WSS_OK);
        assert_int_equal(b.downtime_ms[WWA_W5M], 36792 + extra);
        assert_true(b.downtime_ms[WWA_W1H] == 15 * MIN_MS);
        assert_int_equal(firing(e, t, "availability_fast_burn"), (int)extra);
        /* 6 h at 73x is 1 103 760 ms: 15 minutes are not enough for the slow page. */
        assert_int_equal(firing(e, t, "availability_slow_burn"), 0);
        wss_wwa_free(e);
    }
}

/* The slow page: 1 103 760 ms (5 % of the year's budget) over 6 h, and
 * 91 980 ms over the last 30 minutes. */
static void test_slow_burn_thresholds(void **state)
{
    (void)state;
    long long t = T("2027-09-01T06:00:00Z");
    for (long long extra = 0; extra <= 1; extra++) {
        wss_wwa *e = engine_new();
        /* Three stretches in the last 6 h: 1 103 760 + extra ms in all, the
         * last one 91 980 + 1 ms inside the last 30 minutes. */
        long long last = 91981, first = 1103760 + extra - last - 500000;
        downtime(e, t - 5 * HOUR_MS, t - 5 * HOUR_MS + first);
        downtime(e, t - 3 * HOUR_MS, t - 3 * HOUR_MS + 500000);
        downtime(e, t - last, t);
        assert_int_equal(between(e, t - 6 * HOUR_MS, t), 1103760 + extra);
        assert_int_equal(firing(e, t, "availability_slow_burn"), (int)extra);
        wss_wwa_free(e);
    }
    wss_wwa *e = engine_new();
    downtime(e, t - 5 * HOUR_MS, t - 5 * HOUR_MS + 2 * HOUR_MS);
    downtime(e, t - 91980, t);
    assert_int_equal(firing(e, t, "availability_slow_burn"), 0); /* short window exactly at 73x */
    wss_wwa_free(e);
}

/* The monthly pace ticket: 1x over 30 days (1 814 400 ms) and over 3 days (181 440 ms). */
static void test_month_pace_thresholds(void **state)
{
    (void)state;
    long long t = T("2027-03-31T00:00:00Z");
    for (long long extra = 0; extra <= 1; extra++) {
        wss_wwa *e = engine_new();
        downtime(e, t - 20 * DAY_MS, t - 20 * DAY_MS + 1814400 - 181440);
        downtime(e, t - DAY_MS, t - DAY_MS + 181440 + extra);
        assert_int_equal(firing(e, t, "availability_month_pace"), (int)extra);
        /* 3 days at 12.2x is 2 213 568 ms: the budget ticket stays quiet. */
        assert_int_equal(firing(e, t, "availability_budget_burn"), 0);
        wss_wwa_free(e);
    }
}

/* Windows reaching over 1 January: the burn over 1 h at 00:30 counts the
 * half hour of the old year. */
static void test_burn_across_new_year(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    long long ny = T("2028-01-01T00:00:00Z");
    downtime(e, ny - 30 * MIN_MS, ny + 30 * MIN_MS);
    wwa_burn b;
    assert_int_equal(wwa_burn_at(e, ny + 30 * MIN_MS, &b), WSS_OK);
    assert_int_equal(b.downtime_ms[WWA_W1H], HOUR_MS);
    assert_int_equal(b.downtime_ms[WWA_W30D], HOUR_MS);
    assert_true(b.firing[0]);
    wss_wwa_free(e);
}

/* ------------------------------------------------------------ the exposition */

static void test_metrics_known_state(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    attest_all(e, T("2027-01-02T00:00:00Z"), "B0TESTASIN");
    attest(e, T("2027-01-03T00:00:00Z"), "B0TESTASIN", WSS_WWA_CHECK_BRAND, WSS_WWA_FAIL, "qa@maker.example");
    downtime(e, T("2027-03-01T10:00:00Z"), T("2027-03-01T17:00:00Z")); /* 7 h: over the allowance */
    downtime(e, T("2027-04-01T10:00:00Z"), T("2027-04-01T10:10:00Z"));
    /* A skill at 1 of 10 invalid since 1 May, with a quote and a backslash in its id. */
    const char *skill = "amzn1.ask.skill.\"q\\";
    for (int i = 0; i < 10; i++)
        assert_int_equal(wss_wwa_directive(e, T("2027-05-01T00:00:00Z") + i, skill, i != 0), WSS_OK);
    assert_int_equal(
        incident(e, "INC-1", T("2027-04-01T00:00:00Z"), facts(WSS_WWA_ACCESS_POTENTIAL, WSS_WWA_DATA_NONE, 1, 0)),
        WSS_OK);
    assert_int_equal(incident(e, "INC-2", T("2027-04-02T00:00:00Z"),
                              facts(WSS_WWA_ACCESS_SIGNIFICANT, WSS_WWA_DATA_SENSITIVE, 20000, 0)),
                     WSS_OK);
    long long t = T("2027-05-10T00:00:00Z");
    char *text = metrics_at(e, t);
    assert_true(metric(text, "wss_wwa_badge_held") == 0);
    assert_true(metric(text, "wss_wwa_badge_removal{reason=\"availability\",subject=\"\"}") == 1);
    assert_true(metric(text, "wss_wwa_badge_requests_suspended") == 1);
    assert_true(metric(text, "wss_wwa_downtime_seconds{year=\"2027\"}") == 7 * 3600 + 600);
    assert_true(metric(text, "wss_wwa_downtime_allowance_seconds{year=\"2027\"}") == 22075.2);
    assert_true(metric(text, "wss_wwa_downtime_left_seconds{year=\"2027\"}") == 0);
    assert_true(metric(text, "wss_wwa_outages{year=\"2027\"}") == 2);
    assert_true(metric(text, "wss_wwa_outages_limit") == 5);
    assert_true(metric(text, "wss_wwa_availability_breach{threshold=\"downtime\"}") == 1);
    assert_true(metric(text, "wss_wwa_availability_target_ratio") == 0.9993);
    assert_true(metric(text, "wss_wwa_skill_invalid_ratio_30d{skill=\"amzn1.ask.skill.\\\"q\\\\\"}") == 0.1);
    assert_true(metric(text, "wss_wwa_skill_requests_30d{skill=\"amzn1.ask.skill.\\\"q\\\\\"}") == 10);
    assert_true(metric(text, "wss_wwa_skill_breach{skill=\"amzn1.ask.skill.\\\"q\\\\\"}") == 1);
    /* The clock started on 1 May at the first outcome: 90 days from then, 9 days gone. */
    assert_true(metric(text, "wss_wwa_skill_mitigation_seconds_left{skill=\"amzn1.ask.skill.\\\"q\\\\\"}") ==
                81.0 * 86400);
    assert_true(metric(text, "wss_wwa_skill_invalid_limit_ratio") == 0.03);
    assert_true(metric(text, "wss_wwa_incidents{severity=\"medium\"}") == 1);
    assert_true(metric(text, "wss_wwa_incidents{severity=\"high\"}") == 1);
    assert_true(metric(text, "wss_wwa_incidents{severity=\"critical\"}") == 0);
    assert_true(metric(text, "wss_wwa_incidents_this_year{severity=\"high\",year=\"2027\"}") == 1);
    assert_true(metric(text, "wss_wwa_incidents_overdue") == 1); /* medium: 30 days to fix */
    assert_true(metric(text, "wss_wwa_checklist_gaps") == 1);
    assert_true(metric(text, "wss_wwa_checklist_ok") == 0);
    assert_true(metric(text, "wss_wwa_asin_checklist_gaps{asin=\"B0TESTASIN\",marketplace=\"US\"}") == 1);
    assert_true(metric(text, "wss_wwa_burn_rate{window=\"1h\"}") == 0);
    assert_true(metric(text, "wss_wwa_burn_rate_alert_factor{alert=\"availability_fast_burn\"}") == 175.2);
    assert_true(metric(text,
                       "wss_wwa_burn_rate_alert{alert=\"availability_fast_burn\",severity=\"page\",long_window=\"1h\","
                       "short_window=\"5m\"}") == 0);
    assert_true(metric(text, "wss_wwa_evaluated_at_seconds") == (double)(t / 1000));
    free(text);

    /* Ten minutes into an outage: 1 h and 5 m both burning at 1428.6x. */
    wss_wwa_probe(e, T("2027-05-10T00:00:00Z"), 0);
    text = metrics_at(e, T("2027-05-10T00:10:00Z"));
    double rate = metric(text, "wss_wwa_burn_rate{window=\"5m\"}");
    assert_true(rate > 1428.57 && rate < 1428.58);
    assert_true(metric(text, "wss_wwa_window_downtime_seconds{window=\"1h\"}") == 600);
    assert_true(metric(text, "wss_wwa_down") == 1);
    assert_true(metric(text,
                       "wss_wwa_burn_rate_alert{alert=\"availability_fast_burn\",severity=\"page\",long_window=\"1h\","
                       "short_window=\"5m\"}") == 1);
    assert_true(metric(text,
                       "wss_wwa_burn_rate_alert{alert=\"availability_slow_burn\",severity=\"page\",long_window=\"6h\","
                       "short_window=\"30m\"}") == 0);
    free(text);
    wss_wwa_free(e);
}

static void test_metrics_empty_engine(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    char *text = metrics_at(e, T("2028-02-29T12:00:00Z"));
    assert_true(metric(text, "wss_wwa_badge_held") == 1);
    assert_true(metric(text, "wss_wwa_downtime_allowance_seconds{year=\"2028\"}") == 22135.68);
    assert_true(metric(text, "wss_wwa_availability_ratio{year=\"2028\"}") == 1);
    assert_true(metric(text, "wss_wwa_checklist_ok") == 0);
    free(text);
    wss_wwa_free(e);
}

/* ------------------------------------------------------------ status, series, page */

static void test_status_json(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    attest_all(e, T("2027-01-02T00:00:00Z"), "B0TESTASIN");
    downtime(e, T("2027-03-01T10:00:00Z"), T("2027-03-01T11:00:00Z"));
    wss_wwa_state s;
    assert_int_equal(wss_wwa_state_at(e, T("2027-04-01T00:00:00Z"), &s), WSS_OK);
    json_t *doc = wwa_status_json(&s);
    assert_non_null(doc);
    assert_true(json_is_true(json_object_get(doc, "badge_held")));
    json_t *a = json_object_get(doc, "availability");
    assert_int_equal(json_integer_value(json_object_get(a, "downtime_ms")), HOUR_MS);
    assert_int_equal(json_integer_value(json_object_get(a, "outages")), 1);
    json_t *asin = json_array_get(json_object_get(doc, "asins"), 0);
    assert_string_equal(json_string_value(json_object_get(asin, "asin")), "B0TESTASIN");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(asin, "checks"), "brand"), "result")),
        "pass");
    assert_string_equal(json_string_value(json_object_get(doc, "at")), "2027-04-01T00:00:00.000Z");
    json_decref(doc);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
}

static void test_series_locates_outages(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    /* One carried over from 2026, two stretches merged into one outage (gap
     * under 5 minutes), a short one, and one still going at the instant. */
    downtime(e, T("2026-12-31T23:00:00Z"), T("2027-01-01T00:20:00.500Z"));
    downtime(e, T("2027-02-10T03:00:00Z"), T("2027-02-10T03:30:00Z"));
    downtime(e, T("2027-02-10T03:32:00Z"), T("2027-02-10T04:00:00.001Z"));
    downtime(e, T("2027-06-15T08:00:00.123Z"), T("2027-06-15T08:00:01Z"));
    wss_wwa_probe(e, T("2027-07-01T10:00:00Z"), 0);
    wwa_series s;
    long long t = T("2027-07-01T12:00:00Z");
    assert_int_equal(wwa_series_at(e, t, &s), WSS_OK);
    assert_int_equal(s.year, 2027);
    assert_int_equal(s.ndays, 182);
    assert_int_equal(s.allowance_ms, 22075200);
    assert_int_equal(s.noutages, 4);
    assert_true(s.outages[0].start_ms <= T("2027-01-01T00:00:00.001Z"));
    assert_int_equal(s.outages[0].end_ms, T("2027-01-01T00:20:00.500Z"));
    assert_int_equal(s.outages[1].start_ms, T("2027-02-10T03:00:00Z"));
    assert_int_equal(s.outages[1].end_ms, T("2027-02-10T04:00:00.001Z"));
    assert_int_equal(s.outages[2].start_ms, T("2027-06-15T08:00:00.123Z"));
    assert_int_equal(s.outages[2].end_ms, T("2027-06-15T08:00:01Z"));
    assert_int_equal(s.outages[3].start_ms, T("2027-07-01T10:00:00Z"));
    assert_true(s.outages[3].ongoing);
    assert_int_equal(s.outages[3].end_ms, t);
    /* Day by day: the sum is the year's downtime, 10 February holds its 58 minutes. */
    long long sum = 0;
    for (size_t d = 0; d < s.ndays; d++)
        sum += s.day_downtime[d];
    assert_int_equal(sum, 20 * MIN_MS + 500 + 58 * MIN_MS + 1 + 877 + 2 * HOUR_MS);
    assert_int_equal(s.day_downtime[40], 58 * MIN_MS + 1);
    assert_int_equal(s.ytd_downtime[s.ndays - 1], sum);
    json_t *doc = wwa_series_json(&s);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "days")), 182);
    assert_int_equal(json_array_size(json_object_get(doc, "outages")), 4);
    json_decref(doc);
    wwa_series_free(&s);
    wss_wwa_free(e);
}

static void test_page_escapes_and_draws(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    downtime(e, T("2027-03-01T10:00:00Z"), T("2027-03-01T17:00:00Z"));
    assert_int_equal(wss_wwa_directive(e, T("2027-03-02T00:00:00Z"), "<script>alert(1)</script>", 0), WSS_OK);
    long long t = T("2027-03-10T00:00:00Z");
    wss_wwa_state st;
    wwa_burn b;
    wwa_series s;
    assert_int_equal(wss_wwa_state_at(e, t, &st), WSS_OK);
    assert_int_equal(wwa_burn_at(e, t, &b), WSS_OK);
    assert_int_equal(wwa_series_at(e, t, &s), WSS_OK);
    size_t len;
    char *html = wwa_dashboard_html(&st, &b, &s, &len);
    assert_non_null(html);
    assert_int_equal(strlen(html), len);
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "class=\"removed\""));
    assert_non_null(strstr(html, "id=\"chart-outages\""));
    assert_non_null(strstr(html, "id=\"chart-availability\""));
    assert_non_null(strstr(html, "id=\"chart-budget\""));
    assert_non_null(strstr(html, "id=\"chart-isre\""));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    free(html);
    wwa_series_free(&s);
    wss_wwa_state_free(&st);
    wss_wwa_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_downtime_across_new_year),
        cmocka_unit_test(test_downtime_last_millisecond),
        cmocka_unit_test(test_burn_exceeds_is_exact),
        cmocka_unit_test(test_fast_burn_long_window_threshold),
        cmocka_unit_test(test_fast_burn_short_window_threshold),
        cmocka_unit_test(test_slow_burn_thresholds),
        cmocka_unit_test(test_month_pace_thresholds),
        cmocka_unit_test(test_burn_across_new_year),
        cmocka_unit_test(test_metrics_known_state),
        cmocka_unit_test(test_metrics_empty_engine),
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_series_locates_outages),
        cmocka_unit_test(test_page_escapes_and_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

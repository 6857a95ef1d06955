/* test_rules.c - one table-driven test per sentence of the seed's Works with
 * Alexa rules (seed 000), each named after its sentence, plus the definitions
 * docs/wwa.md adds (sampling, outages, calendar). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include "wwa_test_util.h"

#define Y2027_ALLOWANCE 22075200LL /* 0.0007 x 365 days */
#define Y2028_ALLOWANCE 22135680LL /* 0.0007 x 366 days */

static void state_at(wss_wwa *e, long long t, wss_wwa_state *s) { assert_int_equal(wss_wwa_state_at(e, t, s), WSS_OK); }

/* ================================================================ product requirements */

/* "Your product has an Amazon Standard Identification Number (ASIN)." */
static void test_product_has_an_asin(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    wss_wwa_state s;
    state_at(e, T("2027-01-01T00:00:00Z"), &s);
    assert_int_equal(s.nasins, 0);
    assert_false(s.checklist_ok);
    assert_true(warned(&s, "no ASIN attested"));
    wss_wwa_state_free(&s);
    attest_all(e, T("2027-01-02T00:00:00Z"), "B0TESTASIN");
    state_at(e, T("2027-01-02T00:00:00Z"), &s);
    assert_int_equal(s.nasins, 1);
    assert_true(s.checklist_ok);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
}

/* A table of one check's attestations: the results in time order (one a day
 * from 1 March) and what the checklist says on 1 April. */
typedef struct check_case {
    const char *name;
    wss_wwa_check check;
    int n;
    wss_wwa_result results[3];
    int expect_gap;
    wss_wwa_result expect_result;
} check_case;

static void run_check_cases(const check_case *cases, size_t ncases)
{
    for (size_t i = 0; i < ncases; i++) {
        const check_case *c = &cases[i];
        wss_wwa *e = engine_new();
        for (int k = 0; k < WSS_WWA_CHECK__COUNT; k++)
            if (k != (int)c->check)
                attest(e, T("2027-02-01T00:00:00Z"), "B0TESTASIN", (wss_wwa_check)k, WSS_WWA_PASS, "qa");
        for (int k = 0; k < c->n; k++) {
            char who[32];
            snprintf(who, sizeof who, "person%d", k);
            attest(e, T("2027-03-01T00:00:00Z") + k * DAY_MS, "B0TESTASIN", c->check, c->results[k], who);
        }
        wss_wwa_state s;
        state_at(e, T("2027-04-01T00:00:00Z"), &s);
        assert_int_equal(s.nasins, 1);
        const wss_wwa_check_state *cs = &s.asins[0].checks[c->check];
        if (s.asins[0].gaps != c->expect_gap)
            fail_msg("case %s: %d gaps, expected %d", c->name, s.asins[0].gaps, c->expect_gap);
        assert_int_equal(s.checklist_ok, !c->expect_gap);
        if (c->n > 0) {
            char who[32];
            snprintf(who, sizeof who, "person%d", c->n - 1);
            assert_int_equal(cs->result, c->expect_result);
            assert_string_equal(cs->who, who);
            assert_int_equal(cs->at_ms, T("2027-03-01T00:00:00Z") + (c->n - 1) * DAY_MS);
        } else {
            assert_false(cs->attested);
        }
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

/* "The ASIN is available on the Amazon retail website, in the marketplace
 * requested, and can't be unavailable, not valid, or suppressed." */
static void test_asin_is_available_in_the_marketplace_requested(void **state)
{
    (void)state;
    static const check_case cases[] = {
        {"never attested", WSS_WWA_CHECK_ASIN_AVAILABLE, 0, {0}, 1, 0},
        {"available", WSS_WWA_CHECK_ASIN_AVAILABLE, 1, {WSS_WWA_PASS}, 0, WSS_WWA_PASS},
        {"suppressed", WSS_WWA_CHECK_ASIN_AVAILABLE, 1, {WSS_WWA_FAIL}, 1, WSS_WWA_FAIL},
        {"suppressed then back", WSS_WWA_CHECK_ASIN_AVAILABLE, 2, {WSS_WWA_FAIL, WSS_WWA_PASS}, 0, WSS_WWA_PASS},
        {"available then gone", WSS_WWA_CHECK_ASIN_AVAILABLE, 2, {WSS_WWA_PASS, WSS_WWA_FAIL}, 1, WSS_WWA_FAIL},
    };
    run_check_cases(cases, sizeof cases / sizeof *cases);
    /* The same ASIN in another marketplace is another checklist. */
    wss_wwa *e = engine_new();
    attest_all(e, T("2027-01-01T00:00:00Z"), "B0TESTASIN");
    wss_wwa_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WSS_WWA_ATTESTATION;
    ev.at_ms = T("2027-01-01T00:00:00Z");
    strcpy(ev.asin, "B0TESTASIN");
    strcpy(ev.market, "DE");
    strcpy(ev.who, "qa");
    ev.check = WSS_WWA_CHECK_ASIN_AVAILABLE;
    assert_int_equal(wss_wwa_add(e, &ev), WSS_OK);
    wss_wwa_state s;
    state_at(e, T("2027-01-02T00:00:00Z"), &s);
    assert_int_equal(s.nasins, 2);
    assert_string_equal(s.asins[0].market, "DE");
    assert_int_equal(s.asins[0].gaps, WSS_WWA_CHECK__COUNT - 1);
    assert_int_equal(s.asins[1].gaps, 0);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
}

/* "The brand, model number, and product image listed on the ASIN detail page
 * must match the certified device." */
static void test_detail_page_brand_model_and_image_match_the_certified_device(void **state)
{
    (void)state;
    static const check_case cases[] = {
        {"brand unattested", WSS_WWA_CHECK_BRAND, 0, {0}, 1, 0},
        {"brand matches", WSS_WWA_CHECK_BRAND, 1, {WSS_WWA_PASS}, 0, WSS_WWA_PASS},
        {"brand differs", WSS_WWA_CHECK_BRAND, 1, {WSS_WWA_FAIL}, 1, WSS_WWA_FAIL},
        {"model matches", WSS_WWA_CHECK_MODEL, 1, {WSS_WWA_PASS}, 0, WSS_WWA_PASS},
        {"model differs", WSS_WWA_CHECK_MODEL, 1, {WSS_WWA_FAIL}, 1, WSS_WWA_FAIL},
        {"image matches", WSS_WWA_CHECK_IMAGE, 1, {WSS_WWA_PASS}, 0, WSS_WWA_PASS},
        {"image changed", WSS_WWA_CHECK_IMAGE, 2, {WSS_WWA_PASS, WSS_WWA_FAIL}, 1, WSS_WWA_FAIL},
    };
    run_check_cases(cases, sizeof cases / sizeof *cases);
    /* Not applicable is no answer for the detail page. */
    wss_wwa_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WSS_WWA_ATTESTATION;
    ev.at_ms = T("2027-01-01T00:00:00Z");
    strcpy(ev.asin, "B0TESTASIN");
    strcpy(ev.market, "US");
    strcpy(ev.who, "qa");
    ev.result = WSS_WWA_NOT_APPLICABLE;
    wss_wwa *e = engine_new();
    for (wss_wwa_check c = WSS_WWA_CHECK_ASIN_AVAILABLE; c <= WSS_WWA_CHECK_IMAGE; c++) {
        ev.check = c;
        assert_int_equal(wss_wwa_add(e, &ev), WSS_ERR_INVALID);
    }
    wss_wwa_free(e);
}

/* "If your product connects to Alexa with a hub, the hub ASIN must be the
 * same as the hub tested during WWA certification." */
static void test_hub_asin_is_the_hub_tested(void **state)
{
    (void)state;
    static const check_case cases[] = {
        {"hub unattested", WSS_WWA_CHECK_HUB, 0, {0}, 1, 0},
        {"same hub", WSS_WWA_CHECK_HUB, 1, {WSS_WWA_PASS}, 0, WSS_WWA_PASS},
        {"hub changed", WSS_WWA_CHECK_HUB, 1, {WSS_WWA_FAIL}, 1, WSS_WWA_FAIL},
        {"no hub", WSS_WWA_CHECK_HUB, 1, {WSS_WWA_NOT_APPLICABLE}, 0, WSS_WWA_NOT_APPLICABLE},
    };
    run_check_cases(cases, sizeof cases / sizeof *cases);
}

/* "If your product has an Alexa skill, the skill is available in the Amazon
 * Alexa skill store, in the marketplace requested, and can't be unavailable,
 * not valid, or suppressed." */
static void test_skill_is_available_in_the_marketplace_skill_store(void **state)
{
    (void)state;
    static const check_case cases[] = {
        {"skill unattested", WSS_WWA_CHECK_SKILL_AVAILABLE, 0, {0}, 1, 0},
        {"skill live", WSS_WWA_CHECK_SKILL_AVAILABLE, 1, {WSS_WWA_PASS}, 0, WSS_WWA_PASS},
        {"skill suppressed", WSS_WWA_CHECK_SKILL_AVAILABLE, 1, {WSS_WWA_FAIL}, 1, WSS_WWA_FAIL},
        {"no skill", WSS_WWA_CHECK_SKILL_AVAILABLE, 1, {WSS_WWA_NOT_APPLICABLE}, 0, WSS_WWA_NOT_APPLICABLE},
        {"fixed, then suppressed, then back",
         WSS_WWA_CHECK_SKILL_AVAILABLE,
         3,
         {WSS_WWA_PASS, WSS_WWA_FAIL, WSS_WWA_PASS},
         0,
         WSS_WWA_PASS},
    };
    run_check_cases(cases, sizeof cases / sizeof *cases);
}

/* "If your product doesn't meet these requirements, Amazon will reject your
 * badge request." A gap says a request would be rejected; it removes nothing. */
static void test_badge_request_rejected_when_product_requirements_unmet(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    attest_all(e, T("2027-01-01T00:00:00Z"), "B0TESTASIN");
    /* Two attestations at one instant: the failing one counts. */
    attest(e, T("2027-02-01T00:00:00Z"), "B0TESTASIN", WSS_WWA_CHECK_IMAGE, WSS_WWA_PASS, "a");
    attest(e, T("2027-02-01T00:00:00Z"), "B0TESTASIN", WSS_WWA_CHECK_IMAGE, WSS_WWA_FAIL, "b");
    wss_wwa_state s;
    state_at(e, T("2027-01-31T00:00:00Z"), &s);
    assert_true(s.checklist_ok);
    assert_int_equal(s.checklist_gaps, 0);
    wss_wwa_state_free(&s);
    state_at(e, T("2027-02-01T00:00:00Z"), &s);
    assert_false(s.checklist_ok);
    assert_int_equal(s.checklist_gaps, 1);
    assert_string_equal(s.asins[0].checks[WSS_WWA_CHECK_IMAGE].who, "b");
    assert_true(warned(&s, "badge request would be rejected"));
    assert_true(s.badge_held);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
}

/* ================================================================ availability */

/* "Maintain 99.93 percent availability annually." Downtime at, just under and
 * just over the allowance, in a common and in a leap year. */
static void test_availability_at_least_99_93_percent_per_calendar_year(void **state)
{
    (void)state;
    static const struct {
        const char *year_start, *year_end;
        long long downtime;
        int breach;
    } cases[] = {
        {"2027-01-01T00:00:00Z", "2027-12-31T23:59:59.999Z", Y2027_ALLOWANCE - 1, 0},
        {"2027-01-01T00:00:00Z", "2027-12-31T23:59:59.999Z", Y2027_ALLOWANCE, 0},
        {"2027-01-01T00:00:00Z", "2027-12-31T23:59:59.999Z", Y2027_ALLOWANCE + 1, 1},
        {"2028-01-01T00:00:00Z", "2028-12-31T23:59:59.999Z", Y2027_ALLOWANCE + 1, 0},
        {"2028-01-01T00:00:00Z", "2028-12-31T23:59:59.999Z", Y2028_ALLOWANCE, 0},
        {"2028-01-01T00:00:00Z", "2028-12-31T23:59:59.999Z", Y2028_ALLOWANCE + 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        long long from = T(cases[i].year_start) + 40 * DAY_MS;
        /* Two stretches: the breach comes in the second. */
        downtime(e, from, from + HOUR_MS);
        downtime(e, from + DAY_MS, from + DAY_MS + cases[i].downtime - HOUR_MS);
        wss_wwa_state s;
        state_at(e, T(cases[i].year_end), &s);
        assert_int_equal(s.availability.downtime_ms, cases[i].downtime);
        assert_int_equal(s.availability.breach_downtime, cases[i].breach);
        assert_int_equal(s.badge_held, !cases[i].breach);
        if (cases[i].breach) {
            long long allow = s.availability.allowance_ms;
            /* The crossing: the first millisecond beyond the allowance. */
            assert_int_equal(s.availability.breach_downtime_at_ms, from + DAY_MS + allow - HOUR_MS + 1);
            assert_int_equal(reason_of(&s, WSS_WWA_REASON_AVAILABILITY)->since_ms, from + DAY_MS + allow - HOUR_MS + 1);
            assert_int_equal(s.availability.left_ms, 0);
        } else {
            assert_int_equal(s.availability.left_ms, s.availability.allowance_ms - cases[i].downtime);
        }
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

/* "This availability measurement equates to no more than 6 hours 8 minutes of
 * downtime per year." The exact allowance is 0.07 % of the year's length:
 * 6 h 7 min 55.2 s in a common year (6 h 8 min rounded), 6 h 8 min 55.68 s in
 * a leap year. */
static void test_allowance_equates_to_6_hours_8_minutes_per_year(void **state)
{
    (void)state;
    static const struct {
        const char *at;
        long long year_ms, allowance;
    } cases[] = {
        {"2027-06-01T00:00:00Z", 365 * DAY_MS, Y2027_ALLOWANCE},
        {"2028-06-01T00:00:00Z", 366 * DAY_MS, Y2028_ALLOWANCE},
        {"2100-06-01T00:00:00Z", 365 * DAY_MS, Y2027_ALLOWANCE}, /* not a leap year */
        {"2400-06-01T00:00:00Z", 366 * DAY_MS, Y2028_ALLOWANCE}, /* a leap year */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        wss_wwa_state s;
        state_at(e, T(cases[i].at), &s);
        assert_int_equal(s.availability.year_ms, cases[i].year_ms);
        assert_int_equal(s.availability.allowance_ms, cases[i].allowance);
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
    /* 6 h 8 min to the nearest minute in a common year. */
    assert_int_equal((Y2027_ALLOWANCE + 30000) / MIN_MS, 6 * 60 + 8);
    assert_true(Y2027_ALLOWANCE <= 6 * HOUR_MS + 8 * MIN_MS);
}

/* "Have no more than five outages annually." With the definition: a maximal
 * stretch of downtime, stretches less than the merge gap (5 min) apart being one. */
static void test_no_more_than_five_outages_per_year(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int stretches;
        long long spacing; /* from one stretch's end to the next one's start */
        int outages, breach;
    } cases[] = {
        {"five outages", 5, HOUR_MS, 5, 0},
        {"six outages", 6, HOUR_MS, 6, 1},
        {"six stretches 4:59.999 apart are one outage", 6, 5 * MIN_MS - 1, 1, 0},
        {"six stretches exactly 5 min apart are six", 6, 5 * MIN_MS, 6, 1},
        {"ten stretches, pairs merged", 10, 0 /* see below */, 5, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        long long at = T("2027-03-01T00:00:00Z"), sixth = -1;
        int started = 0;
        for (int k = 0; k < cases[i].stretches; k++) {
            long long spacing = cases[i].spacing ? cases[i].spacing : (k % 2 == 0 ? MIN_MS : HOUR_MS);
            if (k == 0 || spacing >= 5 * MIN_MS)
                started++;
            if (started == 6 && sixth < 0)
                sixth = at;
            downtime(e, at, at + MIN_MS);
            at += MIN_MS + spacing;
        }
        wss_wwa_state s;
        state_at(e, T("2027-12-31T00:00:00Z"), &s);
        if (s.availability.outages != cases[i].outages)
            fail_msg("%s: %d outages", cases[i].name, s.availability.outages);
        assert_int_equal(s.availability.breach_outages, cases[i].breach);
        assert_int_equal(s.badge_held, !cases[i].breach);
        if (cases[i].breach) {
            assert_int_equal(s.availability.breach_outages_at_ms, sixth);
            assert_int_equal(reason_of(&s, WSS_WWA_REASON_AVAILABILITY)->since_ms, sixth);
        }
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

/* "Amazon resets availability and outage measurements annually on January 1." */
static void test_measurements_reset_on_january_1(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    /* Seven hours down in December 2027, then one outage across midnight. */
    downtime(e, T("2027-12-01T00:00:00Z"), T("2027-12-01T07:00:00Z"));
    downtime(e, T("2027-12-31T23:00:00Z"), T("2028-01-01T01:00:00Z"));
    static const struct {
        const char *at;
        int year;
        long long downtime;
        int outages, breach;
    } cases[] = {
        {"2027-12-31T23:59:59.999Z", 2027, 8 * HOUR_MS - 1, 2, 1},
        {"2028-01-01T00:00:00Z", 2028, 0, 1, 0},
        {"2028-01-01T00:30:00Z", 2028, 30 * MIN_MS, 1, 0},
        {"2028-01-01T01:00:00Z", 2028, HOUR_MS, 1, 0},
        {"2028-06-01T00:00:00Z", 2028, HOUR_MS, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa_state s;
        state_at(e, T(cases[i].at), &s);
        assert_int_equal(s.availability.year, cases[i].year);
        assert_int_equal(s.availability.downtime_ms, cases[i].downtime);
        assert_int_equal(s.availability.outages, cases[i].outages);
        assert_int_equal(s.availability.breach_downtime, cases[i].breach);
        /* The reset is of the measurements: the removal stays until reinstated. */
        assert_false(s.badge_held);
        wss_wwa_state_free(&s);
    }
    wss_wwa_free(e);
}

/* "If your WWA-certified devices approach the availability thresholds listed
 * in (1.) ... Amazon sends you an email warning." We warn at 80 % of the
 * allowance and at the fourth outage (configurable). */
static void test_approaching_thresholds_warns(void **state)
{
    (void)state;
    static const struct {
        long long downtime;
        int outages;
        int warn_downtime, warn_outages;
    } cases[] = {
        {Y2027_ALLOWANCE * 8 / 10 - 1, 1, 0, 0},
        {Y2027_ALLOWANCE * 8 / 10, 1, 1, 0},
        {Y2027_ALLOWANCE, 1, 1, 0},
        {Y2027_ALLOWANCE + 1, 1, 0, 0}, /* crossed: a removal, no longer a warning */
        {10 * MIN_MS, 3, 0, 0},
        {10 * MIN_MS, 4, 0, 1},
        {10 * MIN_MS, 5, 0, 1},
        {10 * MIN_MS, 6, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        long long at = T("2027-02-01T00:00:00Z");
        long long each = cases[i].downtime / cases[i].outages;
        for (int k = 0; k < cases[i].outages; k++) {
            long long len = k == 0 ? cases[i].downtime - each * (cases[i].outages - 1) : each;
            downtime(e, at, at + len);
            at += len + DAY_MS;
        }
        wss_wwa_state s;
        state_at(e, T("2027-11-01T00:00:00Z"), &s);
        assert_int_equal(s.availability.downtime_ms, cases[i].downtime);
        if (s.availability.warn_downtime != cases[i].warn_downtime ||
            s.availability.warn_outages != cases[i].warn_outages)
            fail_msg("case %zu: warn %d/%d", i, s.availability.warn_downtime, s.availability.warn_outages);
        assert_int_equal(warned(&s, "downtime allowance used"), cases[i].warn_downtime);
        assert_int_equal(warned(&s, "outages in 2027"), cases[i].warn_outages);
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
    /* The thresholds are configurable. */
    wss_wwa_config cfg;
    wss_wwa_config_default(&cfg);
    cfg.warn_downtime_permyriad = 5000;
    cfg.warn_outages = 1;
    wss_wwa *e;
    assert_int_equal(wss_wwa_new(&cfg, &e), WSS_OK);
    downtime(e, T("2027-02-01T00:00:00Z"), T("2027-02-01T00:00:00Z") + Y2027_ALLOWANCE / 2);
    wss_wwa_state s;
    state_at(e, T("2027-03-01T00:00:00Z"), &s);
    assert_true(s.availability.warn_downtime);
    assert_true(s.availability.warn_outages);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
    cfg.warn_outages = 6;
    assert_int_equal(wss_wwa_new(&cfg, &e), WSS_ERR_INVALID);
}

/* "If the availability metric continues to decline and goes below the
 * required thresholds, the ASINs associated with the WWA-certified devices
 * will lose eligibility for the WWA program and have their WWA badge removed." */
static void test_below_thresholds_removes_badge(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    long long from = T("2027-05-10T12:00:00Z");
    wss_wwa_probe(e, from, 0); /* still down: no up sample yet */
    long long crossing = from + Y2027_ALLOWANCE + 1;
    static const struct {
        long long offset;
        int held, down_now;
    } cases[] = {{-1, 1, 0}, {0, 1, 1}, {Y2027_ALLOWANCE, 1, 1}, {Y2027_ALLOWANCE + 1, 0, 1}, {30 * DAY_MS, 0, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa_state s;
        state_at(e, from + cases[i].offset, &s);
        assert_int_equal(s.badge_held, cases[i].held);
        assert_int_equal(s.availability.down_now, cases[i].down_now);
        if (!cases[i].held) {
            const wss_wwa_reason *r = reason_of(&s, WSS_WWA_REASON_AVAILABILITY);
            assert_non_null(r);
            assert_int_equal(r->since_ms, crossing);
            assert_int_equal(s.nreasons, 1);
        }
        wss_wwa_state_free(&s);
    }
    wss_wwa_free(e);
}

/* "Also, Amazon will suspend your ability to request WWA badges in the WWA
 * console for new ASINs." Only an availability removal suspends requests. */
static void test_below_thresholds_suspends_new_badge_requests(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    downtime(e, T("2027-03-01T00:00:00Z"), T("2027-03-01T07:00:00Z"));
    assert_int_equal(incident(e, "C1", T("2027-02-01T00:00:00Z"), (wss_wwa_incident_facts){.remote_control = 1}),
                     WSS_OK);
    static const struct {
        const char *at;
        int held, suspended;
    } cases[] = {
        {"2027-01-15T00:00:00Z", 1, 0},
        {"2027-02-15T00:00:00Z", 0, 0}, /* removed for security: requests not suspended */
        {"2027-03-01T06:00:00Z", 0, 0},
        {"2027-03-01T07:00:00Z", 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa_state s;
        state_at(e, T(cases[i].at), &s);
        assert_int_equal(s.badge_held, cases[i].held);
        assert_int_equal(s.requests_suspended, cases[i].suspended);
        wss_wwa_state_free(&s);
    }
    wss_wwa_free(e);
}

/* "To reinstate WWA eligibility, the impacted devices must maintain 99.93
 * percent availability for three consecutive months and continue to meet all
 * existing WWA certification requirements." */
static void test_reinstated_after_three_consecutive_compliant_months(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *breach_from; /* seven hours down from here */
        const char *bad_from;    /* then, if set, an hour down from here (a non-compliant month) */
        long long bad_len;
        const char *fail_from, *fail_to; /* the ASIN unavailable from, available again at */
        const char *reinstated;
    } cases[] = {
        {"three good months", "2027-01-10T00:00:00Z", NULL, 0, NULL, NULL, "2027-05-01T00:00:00Z"},
        {"a bad March restarts the count", "2027-01-10T00:00:00Z", "2027-03-05T00:00:00Z", HOUR_MS, NULL, NULL,
         "2027-07-01T00:00:00Z"},
        {"March exactly at 99.93 % counts", "2027-01-10T00:00:00Z", "2027-03-05T00:00:00Z", 1874880, NULL, NULL,
         "2027-05-01T00:00:00Z"},
        {"March 1 ms over does not", "2027-01-10T00:00:00Z", "2027-03-05T00:00:00Z", 1874881, NULL, NULL,
         "2027-07-01T00:00:00Z"},
        {"the checklist must hold too", "2027-01-10T00:00:00Z", NULL, 0, "2027-04-20T00:00:00Z", "2027-06-10T00:00:00Z",
         "2027-07-01T00:00:00Z"},
        {"across the new year and a leap February", "2027-11-20T00:00:00Z", NULL, 0, NULL, NULL,
         "2028-03-01T00:00:00Z"},
        {"a breach on the first instant of a month", "2027-01-31T17:52:04.799Z", NULL, 0, NULL, NULL,
         "2027-06-01T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        attest_all(e, T("2026-12-01T00:00:00Z"), "B0TESTASIN");
        long long from = T(cases[i].breach_from);
        downtime(e, from, from + 7 * HOUR_MS);
        if (cases[i].bad_from)
            downtime(e, T(cases[i].bad_from), T(cases[i].bad_from) + cases[i].bad_len);
        if (cases[i].fail_from) {
            attest(e, T(cases[i].fail_from), "B0TESTASIN", WSS_WWA_CHECK_ASIN_AVAILABLE, WSS_WWA_FAIL, "ops");
            attest(e, T(cases[i].fail_to), "B0TESTASIN", WSS_WWA_CHECK_ASIN_AVAILABLE, WSS_WWA_PASS, "ops");
        }
        long long back = T(cases[i].reinstated);
        wss_wwa_state s;
        state_at(e, back - 1, &s);
        if (s.badge_held)
            fail_msg("%s: held before %s", cases[i].name, cases[i].reinstated);
        assert_true(s.requests_suspended);
        wss_wwa_state_free(&s);
        state_at(e, back, &s);
        if (!s.badge_held)
            fail_msg("%s: not reinstated at %s (%s)", cases[i].name, cases[i].reinstated,
                     s.nreasons ? s.reasons[0].text : "");
        assert_int_equal(s.availability.reinstated_at_ms, back);
        assert_false(s.requests_suspended);
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
    /* The progress shows while removed. */
    wss_wwa *e = engine_new();
    attest_all(e, T("2026-12-01T00:00:00Z"), "B0TESTASIN");
    downtime(e, T("2027-01-10T00:00:00Z"), T("2027-01-10T07:00:00Z"));
    wss_wwa_state s;
    state_at(e, T("2027-04-15T00:00:00Z"), &s);
    assert_int_equal(s.availability.compliant_months, 2);
    assert_non_null(strstr(reason_of(&s, WSS_WWA_REASON_AVAILABILITY)->text, "2 of 3"));
    wss_wwa_state_free(&s);
    /* Without any attested ASIN, the other requirements are not shown to hold. */
    wss_wwa_free(e);
    e = engine_new();
    downtime(e, T("2027-01-10T00:00:00Z"), T("2027-01-10T07:00:00Z"));
    state_at(e, T("2027-08-01T00:00:00Z"), &s);
    assert_false(s.badge_held);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
}

/* ================================================================ security */

/* "You must identify and respond to security incidents that impact your
 * WWA-certified product and customer data promptly." Recorded incidents show
 * from their time on, with their severity. */
static void test_incidents_are_identified_and_recorded(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    assert_int_equal(incident(e, "INC-2", T("2027-03-02T00:00:00Z"), facts(0, 0, 0, 0)), WSS_OK);
    assert_int_equal(incident(e, "INC-1", T("2027-03-01T00:00:00Z"), facts(WSS_WWA_ACCESS_POTENTIAL, 0, 0, 0)), WSS_OK);
    assert_int_equal(incident(e, "INC-1", T("2027-03-05T00:00:00Z"), facts(0, 0, 0, 0)), WSS_ERR_EXISTS);
    assert_int_equal(incident(e, "", T("2027-03-05T00:00:00Z"), facts(0, 0, 0, 0)), WSS_ERR_INVALID);
    assert_int_equal(incident(e, "X", T("2027-03-05T00:00:00Z"), facts(0, 0, -1, 0)), WSS_ERR_INVALID);
    wss_wwa_state s;
    state_at(e, T("2027-03-01T12:00:00Z"), &s);
    assert_int_equal(s.nincidents, 1);
    wss_wwa_state_free(&s);
    state_at(e, T("2027-03-03T00:00:00Z"), &s);
    assert_int_equal(s.nincidents, 2);
    assert_string_equal(s.incidents[0].id, "INC-1");
    assert_int_equal(s.incidents[0].severity, WSS_WWA_MEDIUM);
    assert_int_equal(s.incidents[1].severity, WSS_WWA_LOW);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
}

typedef struct severity_case {
    const char *name;
    wss_wwa_incident_facts f;
    wss_wwa_severity expect;
} severity_case;

static void run_severity_cases(const severity_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (wss_wwa_classify(&cases[i].f) != cases[i].expect)
            fail_msg("%s: %s, expected %s", cases[i].name, wss_wwa_severity_name(wss_wwa_classify(&cases[i].f)),
                     wss_wwa_severity_name(cases[i].expect));
}

#define F(access, data, affected, duration)                                                                            \
    {                                                                                                                  \
        WSS_WWA_ACCESS_##access, WSS_WWA_DATA_##data, affected, duration, 0, 0, 0                                      \
    }

/* "Low severity – Minor vulnerabilities that do not significantly impact
 * device functionality or compromise customer data, such as temporary service
 * interruptions or minor bugs." */
static void test_low_severity_is_a_minor_vulnerability_without_data_compromise(void **state)
{
    (void)state;
    static const severity_case cases[] = {
        {"a minor bug", F(NONE, NONE, 0, 0), WSS_WWA_LOW},
        {"a long, wide service interruption", F(NONE, NONE, 1000000, 10 * HOUR_MS), WSS_WWA_LOW},
    };
    run_severity_cases(cases, sizeof cases / sizeof *cases);
}

/* "Medium severity – Incidents that could potentially lead to unauthorized
 * access or minor data exposure, affecting individual device settings or user
 * preferences without widespread impact." */
static void test_medium_severity_is_potential_access_or_minor_exposure(void **state)
{
    (void)state;
    static const severity_case cases[] = {
        {"potential access", F(POTENTIAL, NONE, 0, 0), WSS_WWA_MEDIUM},
        {"minor data", F(NONE, MINOR, 5, 0), WSS_WWA_MEDIUM},
        {"settings of a few devices", F(LIMITED, MINOR, 100, 10 * MIN_MS), WSS_WWA_MEDIUM},
        {"limited access, widespread", F(LIMITED, MINOR, 50000, 2 * HOUR_MS), WSS_WWA_MEDIUM},
        {"significant but exactly 10,000 and one hour", F(SIGNIFICANT, NONE, 10000, HOUR_MS), WSS_WWA_MEDIUM},
        {"sensitive data, not widespread", F(NONE, SENSITIVE, 3, MIN_MS), WSS_WWA_MEDIUM},
    };
    run_severity_cases(cases, sizeof cases / sizeof *cases);
}

/* "High severity – Breaches that result in significant unauthorized access to
 * sensitive user data, including personal information or device controls,
 * impacting more than 10,000 devices or customers or lasting for over one hour." */
static void test_high_severity_is_significant_access_over_10000_or_over_one_hour(void **state)
{
    (void)state;
    static const severity_case cases[] = {
        {"10,001 affected", F(SIGNIFICANT, NONE, 10001, 0), WSS_WWA_HIGH},
        {"one hour and a millisecond", F(SIGNIFICANT, NONE, 1, HOUR_MS + 1), WSS_WWA_HIGH},
        {"personal information of 20,000", F(NONE, SENSITIVE, 20000, 0), WSS_WWA_HIGH},
        {"exactly 10,000", F(SIGNIFICANT, SENSITIVE, 10000, 0), WSS_WWA_MEDIUM},
        {"exactly one hour", F(SIGNIFICANT, SENSITIVE, 0, HOUR_MS), WSS_WWA_MEDIUM},
    };
    run_severity_cases(cases, sizeof cases / sizeof *cases);
}

/* "Critical severity – Severe breaches that enable complete remote control of
 * devices by unauthorized parties, posing significant safety risks, or
 * allowing malicious activities, such as surveillance or manipulation of
 * smart home systems." */
static void test_critical_severity_is_remote_control_safety_or_surveillance(void **state)
{
    (void)state;
    severity_case cases[] = {
        {"remote control", F(NONE, NONE, 1, 0), WSS_WWA_CRITICAL},
        {"safety", F(NONE, NONE, 1, 0), WSS_WWA_CRITICAL},
        {"surveillance", F(SIGNIFICANT, SENSITIVE, 50000, 5 * HOUR_MS), WSS_WWA_CRITICAL},
    };
    cases[0].f.remote_control = 1;
    cases[1].f.safety_risk = 1;
    cases[2].f.surveillance = 1;
    run_severity_cases(cases, sizeof cases / sizeof *cases);
}

/* "In general low and medium severity incidents should have minimal or no
 * exposure of Alexa customer data. Amazon reserves the right to remove WWA
 * badges from products that fail to apply a timely fix to remediate minor
 * vulnerabilities." Deadlines: 90 days (low), 30 days (medium); overdue is a
 * warning, since removal is at Amazon's discretion. */
static void test_low_and_medium_incidents_need_a_timely_fix(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        wss_wwa_access access;
        long long fixed_after; /* -1: never */
        long long query_after;
        int overdue;
    } cases[] = {
        {"low, unfixed, day 90", WSS_WWA_ACCESS_NONE, -1, 90 * DAY_MS, 0},
        {"low, unfixed, day 90 + 1 ms", WSS_WWA_ACCESS_NONE, -1, 90 * DAY_MS + 1, 1},
        {"low, fixed on the deadline", WSS_WWA_ACCESS_NONE, 90 * DAY_MS, 200 * DAY_MS, 0},
        {"low, fixed late", WSS_WWA_ACCESS_NONE, 90 * DAY_MS + 1, 200 * DAY_MS, 1},
        {"medium, unfixed, day 30 + 1 ms", WSS_WWA_ACCESS_POTENTIAL, -1, 30 * DAY_MS + 1, 1},
        {"medium, fixed day 29", WSS_WWA_ACCESS_POTENTIAL, 29 * DAY_MS, 60 * DAY_MS, 0},
        {"medium, fix recorded after the query", WSS_WWA_ACCESS_POTENTIAL, 50 * DAY_MS, 40 * DAY_MS, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        long long at = T("2027-04-01T00:00:00Z");
        assert_int_equal(incident(e, "I", at, facts(cases[i].access, 0, 0, 0)), WSS_OK);
        if (cases[i].fixed_after >= 0)
            simple_event(e, WSS_WWA_INCIDENT_FIXED, at + cases[i].fixed_after, "I");
        wss_wwa_state s;
        state_at(e, at + cases[i].query_after, &s);
        assert_int_equal(s.nincidents, 1);
        assert_int_equal(s.incidents[0].fix_deadline_ms,
                         at + (cases[i].access == WSS_WWA_ACCESS_NONE ? 90 : 30) * DAY_MS);
        if (s.incidents[0].overdue != cases[i].overdue)
            fail_msg("%s: overdue %d", cases[i].name, s.incidents[0].overdue);
        assert_int_equal(warned(&s, "not fixed by its deadline"), cases[i].overdue);
        assert_true(s.badge_held);
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

#define HIGH_FACTS facts(WSS_WWA_ACCESS_SIGNIFICANT, WSS_WWA_DATA_SENSITIVE, 20000, 0)

/* "Amazon permits up to one high severity incident per calendar year." */
static void test_one_high_incident_per_calendar_year_is_permitted(void **state)
{
    (void)state;
    static const struct {
        const char *first, *second, *query;
        int held, high_this_year;
    } cases[] = {
        {"2027-06-01T00:00:00Z", NULL, "2027-12-31T00:00:00Z", 1, 1},
        {"2027-12-31T23:59:59.999Z", "2028-01-01T00:00:00Z", "2028-02-01T00:00:00Z", 1, 1},
        {"2028-01-01T00:00:00Z", "2028-12-31T23:59:59.999Z", "2029-01-01T00:00:00Z", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        assert_int_equal(incident(e, "H1", T(cases[i].first), HIGH_FACTS), WSS_OK);
        if (cases[i].second)
            assert_int_equal(incident(e, "H2", T(cases[i].second), HIGH_FACTS), WSS_OK);
        wss_wwa_state s;
        state_at(e, T(cases[i].query), &s);
        assert_int_equal(s.badge_held, cases[i].held);
        assert_int_equal(s.high_this_year, cases[i].high_this_year);
        assert_int_equal(warned(&s, "a second one removes all badges"), cases[i].high_this_year == 1);
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

/* "When more than one high severity incident occurs in a calendar year,
 * Amazon will immediately remove WWA badges for all certified ASINs linked to
 * your product." */
static void test_second_high_incident_in_a_year_removes_all_badges(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    /* Added out of order; a medium one between does not count. */
    assert_int_equal(incident(e, "H3", T("2027-09-01T00:00:00Z"), HIGH_FACTS), WSS_OK);
    assert_int_equal(incident(e, "H1", T("2027-02-01T00:00:00Z"), HIGH_FACTS), WSS_OK);
    assert_int_equal(incident(e, "M1", T("2027-03-01T00:00:00Z"), facts(WSS_WWA_ACCESS_LIMITED, 0, 0, 0)), WSS_OK);
    static const struct {
        const char *at;
        int held;
    } cases[] = {{"2027-08-31T23:59:59.999Z", 1}, {"2027-09-01T00:00:00Z", 0}, {"2028-09-01T00:00:00Z", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa_state s;
        state_at(e, T(cases[i].at), &s);
        assert_int_equal(s.badge_held, cases[i].held);
        if (!cases[i].held) {
            const wss_wwa_reason *r = reason_of(&s, WSS_WWA_REASON_SECURITY);
            assert_non_null(r);
            assert_string_equal(r->subject, "H3");
            assert_int_equal(r->since_ms, T("2027-09-01T00:00:00Z"));
            assert_false(s.requests_suspended);
        }
        wss_wwa_state_free(&s);
    }
    wss_wwa_free(e);
}

/* "After a full security audit performed by an independent test lab confirms
 * that you remediated the vulnerabilities, Amazon may reinstate the WWA badge." */
static void test_audit_reinstates_after_second_high_incident(void **state)
{
    (void)state;
    static const struct {
        const char *audit;
        int held_after;
    } cases[] = {
        {NULL, 0},
        {"2027-08-01T00:00:00Z", 0}, /* before the removal: does not count */
        {"2027-09-01T00:00:00Z", 1}, /* the same instant counts */
        {"2027-10-01T00:00:00Z", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        assert_int_equal(incident(e, "H1", T("2027-02-01T00:00:00Z"), HIGH_FACTS), WSS_OK);
        assert_int_equal(incident(e, "H2", T("2027-09-01T00:00:00Z"), HIGH_FACTS), WSS_OK);
        if (cases[i].audit)
            simple_event(e, WSS_WWA_AUDIT, T(cases[i].audit), "Independent Lab GmbH");
        wss_wwa_state s;
        state_at(e, T("2027-11-01T00:00:00Z"), &s);
        assert_int_equal(s.badge_held, cases[i].held_after);
        assert_int_equal(s.incidents[1].removal, 1);
        assert_int_equal(s.incidents[1].cleared, cases[i].held_after);
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

/* "When a critical severity incident occurs, Amazon will immediately remove
 * WWA badges for all certified ASINs linked to your product." */
static void test_critical_incident_removes_all_badges(void **state)
{
    (void)state;
    wss_wwa *e = engine_new();
    wss_wwa_incident_facts f = facts(0, 0, 1, 0);
    f.surveillance = 1;
    assert_int_equal(incident(e, "C1", T("2027-05-05T05:05:05Z"), f), WSS_OK);
    static const struct {
        const char *at;
        int held;
    } cases[] = {{"2027-05-05T05:05:04.999Z", 1}, {"2027-05-05T05:05:05Z", 0}, {"2030-01-01T00:00:00Z", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa_state s;
        state_at(e, T(cases[i].at), &s);
        assert_int_equal(s.badge_held, cases[i].held);
        if (!cases[i].held)
            assert_string_equal(reason_of(&s, WSS_WWA_REASON_SECURITY)->subject, "C1");
        wss_wwa_state_free(&s);
    }
    wss_wwa_free(e);
}

/* "After a full security audit performed by an independent test lab confirms
 * that you remediated the vulnerabilities, you must request Amazon to
 * reinstate the WWA badge." */
static void test_critical_reinstatement_needs_audit_then_request(void **state)
{
    (void)state;
    static const struct {
        const char *name, *audit, *request;
        int held;
    } cases[] = {
        {"nothing", NULL, NULL, 0},
        {"audit only", "2027-06-01T00:00:00Z", NULL, 0},
        {"request only", NULL, "2027-06-01T00:00:00Z", 0},
        {"request before audit", "2027-07-01T00:00:00Z", "2027-06-01T00:00:00Z", 0},
        {"audit before the incident", "2027-04-01T00:00:00Z", "2027-06-01T00:00:00Z", 0},
        {"audit then request", "2027-06-01T00:00:00Z", "2027-07-01T00:00:00Z", 1},
        {"audit and request at one instant", "2027-06-01T00:00:00Z", "2027-06-01T00:00:00Z", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        wss_wwa_incident_facts f = facts(0, 0, 1, 0);
        f.remote_control = 1;
        assert_int_equal(incident(e, "C1", T("2027-05-01T00:00:00Z"), f), WSS_OK);
        if (cases[i].audit)
            simple_event(e, WSS_WWA_AUDIT, T(cases[i].audit), "Lab");
        if (cases[i].request)
            simple_event(e, WSS_WWA_REINSTATE_REQUEST, T(cases[i].request), "maker");
        wss_wwa_state s;
        state_at(e, T("2027-08-01T00:00:00Z"), &s);
        if (s.badge_held != cases[i].held)
            fail_msg("%s: held %d", cases[i].name, s.badge_held);
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

/* ================================================================ other requirements */

#define SKILL_A "amzn1.ask.skill.aaaa"
#define SKILL_B "amzn1.ask.skill.bbbb"

/* "The number of INVALID_SKILL_RESPONSE_EXCEPTION errors associated with a
 * single skill must not exceed a threshold of three percent of total request
 * volume when measured on a rolling basis over a 30-day period." */
static void test_invalid_responses_at_most_3_percent_over_rolling_30_days(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int total, invalid;
        long long query_after; /* after the first directive */
        long long expect_total, expect_invalid;
        int breach;
    } cases[] = {
        {"3 of 100", 100, 3, DAY_MS, 100, 3, 0},
        {"4 of 100", 100, 4, DAY_MS, 100, 4, 1},
        {"30 of 1000", 1000, 30, DAY_MS, 1000, 30, 0},
        {"31 of 1000", 1000, 31, DAY_MS, 1000, 31, 1},
        /* The invalid ones come first, one a minute; the window is (t - 30 d, t]. */
        {"4 of 130, the first still in the window", 130, 4, 30 * DAY_MS - 1, 130, 4, 1},
        {"4 of 130, the first just out", 130, 4, 30 * DAY_MS, 129, 3, 0},
        {"4 of 100, the first out: 3 of 99 is over", 100, 4, 30 * DAY_MS, 99, 3, 1},
        {"no traffic left in the window", 5, 5, 31 * DAY_MS, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        long long at = T("2027-03-01T00:00:00Z");
        /* Added newest first, to show that order does not matter. */
        for (int k = cases[i].total - 1; k >= 0; k--)
            assert_int_equal(wss_wwa_directive(e, at + k * MIN_MS, SKILL_A, k >= cases[i].invalid), WSS_OK);
        for (int k = 0; k < 100; k++) /* another skill, all invalid: its own share */
            assert_int_equal(wss_wwa_directive(e, at - 40 * DAY_MS + k, SKILL_B, 0), WSS_OK);
        wss_wwa_state s;
        state_at(e, at + cases[i].query_after, &s);
        assert_int_equal(s.nskills, 2);
        const wss_wwa_skill_state *k = &s.skills[0];
        assert_string_equal(k->skill, SKILL_A);
        if (k->total != cases[i].expect_total || k->invalid != cases[i].expect_invalid || k->breach != cases[i].breach)
            fail_msg("%s: %lld/%lld breach %d", cases[i].name, k->invalid, k->total, k->breach);
        assert_int_equal(s.skills[1].total, 0); /* B's directives left the window */
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

/* "If you don't mitigate the error within 90 days of the initial breach,
 * devices related to your skill will lose eligibility for the WWA program and
 * Amazon will remove the WWA badges." */
static void test_unmitigated_breach_for_90_days_removes_badges(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        long long mitigated_after; /* -1: never */
        long long query_after;
        int breach, removed;
    } cases[] = {
        {"day 89, unmitigated", -1, 89 * DAY_MS, 1, 0},
        {"90 days minus 1 ms", -1, 90 * DAY_MS - 1, 1, 0},
        {"90 days", -1, 90 * DAY_MS, 1, 1},
        {"day 100", -1, 100 * DAY_MS, 1, 1},
        {"mitigated on day 89", 89 * DAY_MS, 95 * DAY_MS, 0, 0},
        {"mitigated exactly at 90 days", 90 * DAY_MS, 90 * DAY_MS, 0, 0},
        {"mitigated after removal", 95 * DAY_MS, 96 * DAY_MS, 0, 0},
        {"before mitigation, after removal", 95 * DAY_MS, 95 * DAY_MS - 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa *e = engine_new();
        long long start = T("2027-01-15T00:00:00Z");
        /* One invalid answer a day (every share 100 %) ... */
        for (int d = 0; d <= 120; d++)
            assert_int_equal(wss_wwa_directive(e, start + d * DAY_MS, SKILL_A, 0), WSS_OK);
        /* ... until enough valid ones bring the share to 30 in 10030 or less. */
        if (cases[i].mitigated_after >= 0)
            for (int k = 0; k < 10000; k++)
                assert_int_equal(wss_wwa_directive(e, start + cases[i].mitigated_after, SKILL_A, 1), WSS_OK);
        wss_wwa_state s;
        state_at(e, start + cases[i].query_after, &s);
        const wss_wwa_skill_state *k = &s.skills[0];
        if (k->breach != cases[i].breach || k->removed != cases[i].removed)
            fail_msg("%s: breach %d removed %d", cases[i].name, k->breach, k->removed);
        assert_int_equal(s.badge_held, !cases[i].removed);
        if (k->breach) {
            /* The clock: started at the first invalid answer, 90 days to run. */
            assert_int_equal(k->breach_start_ms, start);
            assert_int_equal(k->deadline_ms, start + 90 * DAY_MS);
        }
        if (cases[i].removed) {
            const wss_wwa_reason *r = reason_of(&s, WSS_WWA_REASON_ISRE);
            assert_string_equal(r->subject, SKILL_A);
            assert_int_equal(r->since_ms, start + 90 * DAY_MS);
        } else if (k->breach) {
            assert_true(warned(&s, "mitigate before"));
        }
        wss_wwa_state_free(&s);
        wss_wwa_free(e);
    }
}

/* ================================================================ our definitions */

/* Sampling: the state at an instant is the latest sample's at or before it;
 * at one instant down wins; a later up ends the stretch; the order in which
 * samples arrive does not matter. */
static void test_sampling_semantics_down_until_next_up(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int n;
        struct {
            long long at;
            int up;
        } samples[6];
        long long query, downtime;
    } cases[] = {
        {"down then up", 2, {{0, 0}, {1000, 1}}, 5000, 1000},
        {"repeated downs", 4, {{0, 0}, {500, 0}, {700, 0}, {1000, 1}}, 5000, 1000},
        {"up alone", 1, {{0, 1}}, 5000, 0},
        {"still down at the query", 1, {{1000, 0}}, 5000, 4000},
        {"down and up at one instant: down", 3, {{0, 0}, {1000, 1}, {1000, 0}}, 5000, 5000},
        {"samples after the query are unknown", 2, {{1000, 0}, {9000, 1}}, 5000, 4000},
        {"up, down, up, down, up", 5, {{0, 1}, {1000, 0}, {2000, 1}, {3000, 0}, {3500, 1}}, 5000, 1500},
    };
    long long base = T("2027-07-01T00:00:00Z");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int reversed = 0; reversed < 2; reversed++) {
            wss_wwa *e = engine_new();
            for (int k = 0; k < cases[i].n; k++) {
                int j = reversed ? cases[i].n - 1 - k : k;
                assert_int_equal(wss_wwa_probe(e, base + cases[i].samples[j].at, cases[i].samples[j].up), WSS_OK);
            }
            wss_wwa_state s;
            state_at(e, base + cases[i].query, &s);
            if (s.availability.downtime_ms != cases[i].downtime)
                fail_msg("%s (%s): %lld", cases[i].name, reversed ? "reversed" : "in order",
                         s.availability.downtime_ms);
            wss_wwa_state_free(&s);
            wss_wwa_free(e);
        }
}

/* The calendar: leap years, month and year boundaries, strict ISO 8601. */
static void test_calendar_and_times(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        long long ms; /* -1: refused */
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2000-03-01T00:00:00Z", 951868800000LL},
        {"2028-02-29T12:00:00.5Z", 1835438400500LL},
        {"2027-02-29T00:00:00Z", -1},
        {"2100-02-29T00:00:00Z", -1},
        {"2400-02-29T00:00:00Z", 13574563200000LL},
        {"2027-01-01T00:00:00+00:00", -1},
        {"2027-01-01 00:00:00Z", -1},
        {"2027-13-01T00:00:00Z", -1},
        {"2027-01-01T24:00:00Z", -1},
        {"2027-01-01T00:00:60Z", -1},
        {"2027-01-01T00:00:00.1234Z", -1},
        {"1969-12-31T23:59:59Z", -1},
        {"9999-12-31T23:59:59.999Z", 253402300799999LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long long ms = -1;
        wss_err rc = wss_wwa_parse_time(cases[i].text, &ms);
        if (cases[i].ms < 0) {
            if (rc == WSS_OK)
                fail_msg("%s accepted", cases[i].text);
            continue;
        }
        if (rc != WSS_OK || ms != cases[i].ms)
            fail_msg("%s: %lld", cases[i].text, ms);
        char back[32];
        wss_wwa_format_time(ms, back);
        long long again;
        assert_int_equal(wss_wwa_parse_time(back, &again), WSS_OK);
        assert_int_equal(again, ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_product_has_an_asin),
        cmocka_unit_test(test_asin_is_available_in_the_marketplace_requested),
        cmocka_unit_test(test_detail_page_brand_model_and_image_match_the_certified_device),
        cmocka_unit_test(test_hub_asin_is_the_hub_tested),
        cmocka_unit_test(test_skill_is_available_in_the_marketplace_skill_store),
        cmocka_unit_test(test_badge_request_rejected_when_product_requirements_unmet),
        cmocka_unit_test(test_availability_at_least_99_93_percent_per_calendar_year),
        cmocka_unit_test(test_allowance_equates_to_6_hours_8_minutes_per_year),
        cmocka_unit_test(test_no_more_than_five_outages_per_year),
        cmocka_unit_test(test_measurements_reset_on_january_1),
        cmocka_unit_test(test_approaching_thresholds_warns),
        cmocka_unit_test(test_below_thresholds_removes_badge),
        cmocka_unit_test(test_below_thresholds_suspends_new_badge_requests),
        cmocka_unit_test(test_reinstated_after_three_consecutive_compliant_months),
        cmocka_unit_test(test_incidents_are_identified_and_recorded),
        cmocka_unit_test(test_low_severity_is_a_minor_vulnerability_without_data_compromise),
        cmocka_unit_test(test_medium_severity_is_potential_access_or_minor_exposure),
        cmocka_unit_test(test_high_severity_is_significant_access_over_10000_or_over_one_hour),
        cmocka_unit_test(test_critical_severity_is_remote_control_safety_or_surveillance),
        cmocka_unit_test(test_low_and_medium_incidents_need_a_timely_fix),
        cmocka_unit_test(test_one_high_incident_per_calendar_year_is_permitted),
        cmocka_unit_test(test_second_high_incident_in_a_year_removes_all_badges),
        cmocka_unit_test(test_audit_reinstates_after_second_high_incident),
        cmocka_unit_test(test_critical_incident_removes_all_badges),
        cmocka_unit_test(test_critical_reinstatement_needs_audit_then_request),
        cmocka_unit_test(test_invalid_responses_at_most_3_percent_over_rolling_30_days),
        cmocka_unit_test(test_unmitigated_breach_for_90_days_removes_badges),
        cmocka_unit_test(test_sampling_semantics_down_until_next_up),
        cmocka_unit_test(test_calendar_and_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

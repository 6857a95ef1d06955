/* test_property.c - the engine against a brute-force reference on random
 * event streams (fixed seed): year boundaries, the leap year 2028, events
 * added out of order, and values placed exactly at each threshold.
 *
 * The reference below shares no code with the engine: its own calendar (years
 * and months counted one by one), the state at an instant found by scanning
 * every sample, downtime summed over every breakpoint, crossing instants found
 * by bisection on that sum, window counts by scanning every directive. It is
 * slow on purpose and only fit for small streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include "wwa_test_util.h"

#define STREAMS 2000
#define QUERIES 12
#define MAX_EVENTS 1200
#define GAP_MS (5 * MIN_MS)
#define WINDOW_MS (30 * DAY_MS)
#define MITIGATE_MS (90 * DAY_MS)
#define INF_MS 0x3fffffffffffffffLL

/* ------------------------------------------------------------ random numbers */

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static long long below(long long n) { return n > 0 ? (long long)(rnd() % (uint64_t)n) : 0; }

/* ------------------------------------------------------------ the reference's calendar */

static int ref_leap(int y) { return y % 400 == 0 || (y % 100 != 0 && y % 4 == 0); }

static long long ref_year_start(int year)
{
    long long days = 0;
    for (int y = 1970; y < year; y++)
        days += ref_leap(y) ? 366 : 365;
    return days * DAY_MS;
}

static int ref_year_of(long long ms)
{
    int y = 1970;
    while (ref_year_start(y + 1) <= ms)
        y++;
    return y;
}

/* The start of the month containing ms, and of the one after. */
static void ref_month_of(long long ms, long long *start, long long *next)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = ref_year_of(ms);
    long long at = ref_year_start(y);
    for (int m = 0; m < 12; m++) {
        long long days = len[m] + (m == 1 && ref_leap(y));
        if (ms < at + days * DAY_MS) {
            *start = at;
            *next = at + days * DAY_MS;
            return;
        }
        at += days * DAY_MS;
    }
    abort();
}

/* ------------------------------------------------------------ a stream */

typedef struct stream {
    wss_wwa_event ev[MAX_EVENTS];
    size_t n;
} stream;

static wss_wwa_event *push(stream *s, wss_wwa_event_kind kind, long long at)
{
    if (s->n == MAX_EVENTS)
        return NULL;
    wss_wwa_event *e = &s->ev[s->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->at_ms = at;
    return e;
}

static void push_probe(stream *s, long long at, int up)
{
    wss_wwa_event *e = push(s, WSS_WWA_PROBE, at);
    if (e)
        e->up = up;
}

/* ------------------------------------------------------------ the reference */

typedef struct ref_view {
    const stream *s;
    long long x;              /* the instant */
    long long bp[MAX_EVENTS]; /* distinct probe times <= x, sorted */
    int down[MAX_EVENTS];     /* the state from bp[i] on */
    size_t nbp;
    wss_wwa_state st; /* what the reference says, in the engine's terms */
} ref_view;

static int ref_down_at(const stream *s, long long t)
{
    long long best = -1;
    int down = 0;
    for (size_t i = 0; i < s->n; i++) {
        const wss_wwa_event *e = &s->ev[i];
        if (e->kind != WSS_WWA_PROBE || e->at_ms > t)
            continue;
        if (e->at_ms > best) {
            best = e->at_ms;
            down = !e->up;
        } else if (e->at_ms == best && !e->up) {
            down = 1;
        }
    }
    return best >= 0 && down;
}

static void ref_breakpoints(ref_view *v)
{
    v->nbp = 0;
    for (size_t i = 0; i < v->s->n; i++) {
        const wss_wwa_event *e = &v->s->ev[i];
        if (e->kind != WSS_WWA_PROBE || e->at_ms > v->x)
            continue;
        size_t j = 0;
        while (j < v->nbp && v->bp[j] < e->at_ms)
            j++;
        if (j < v->nbp && v->bp[j] == e->at_ms)
            continue;
        memmove(v->bp + j + 1, v->bp + j, (v->nbp - j) * sizeof *v->bp);
        v->bp[j] = e->at_ms;
        v->nbp++;
    }
    for (size_t i = 0; i < v->nbp; i++)
        v->down[i] = ref_down_at(v->s, v->bp[i]);
}

/* Downtime in [a, b), b no later than the instant. */
static long long ref_downtime(const ref_view *v, long long a, long long b)
{
    if (b > v->x)
        b = v->x;
    long long sum = 0;
    for (size_t i = 0; i < v->nbp; i++) {
        if (!v->down[i])
            continue;
        long long from = v->bp[i], to = i + 1 < v->nbp ? v->bp[i + 1] : INF_MS;
        if (from < a)
            from = a;
        if (to > b)
            to = b;
        if (to > from)
            sum += to - from;
    }
    return sum;
}

typedef struct span {
    long long start, end;
} span;

/* Outages: maximal down stretches, merged when less than GAP_MS apart. */
static size_t ref_outages(const ref_view *v, span *out)
{
    size_t n = 0;
    int down = 0;
    for (size_t i = 0; i < v->nbp; i++) {
        if (v->down[i] == down)
            continue;
        down = v->down[i];
        if (down) {
            if (n > 0 && out[n - 1].end != INF_MS && v->bp[i] - out[n - 1].end < GAP_MS)
                out[n - 1].end = INF_MS; /* reopened: merged */
            else
                out[n++] = (span){v->bp[i], INF_MS};
        } else {
            out[n - 1].end = v->bp[i];
        }
    }
    return n;
}

static long long ref_allowance(long long len) { return len * 7 / 10000; }

static void ref_crossings(const ref_view *v, const span *out, size_t nout, int y, long long *down_at,
                          long long *outage_at)
{
    long long ys = ref_year_start(y), ye = ref_year_start(y + 1);
    long long hi = v->x < ye ? v->x : ye, allow = ref_allowance(ye - ys);
    *down_at = *outage_at = -1;
    if (ref_downtime(v, ys, hi) > allow) {
        long long lo = ys; /* downtime in [ys, lo) <= allow < downtime in [ys, hi) */
        while (hi - lo > 1) {
            long long mid = lo + (hi - lo) / 2;
            if (ref_downtime(v, ys, mid) > allow)
                hi = mid;
            else
                lo = mid;
        }
        *down_at = hi;
    }
    int count = 0;
    for (size_t i = 0; i < nout; i++)
        if (out[i].start < ye && out[i].end > ys && ++count == 6)
            *outage_at = out[i].start < ys ? ys : out[i].start;
}

static void ref_window(const stream *s, const char *skill, long long x, long long *total, long long *invalid)
{
    *total = *invalid = 0;
    for (size_t i = 0; i < s->n; i++) {
        const wss_wwa_event *e = &s->ev[i];
        if (e->kind == WSS_WWA_DIRECTIVE && strcmp(e->skill, skill) == 0 && e->at_ms <= x && e->at_ms > x - WINDOW_MS) {
            (*total)++;
            *invalid += !e->valid;
        }
    }
}

static int ref_over(long long invalid, long long total) { return total > 0 && invalid * 100 > total * 3; }

static const char *const skills[] = {"amzn1.ask.skill.one", "amzn1.ask.skill.two"};
static const char *const asins[] = {"B0AAAAAAA1", "B0AAAAAAA2"};

static int ref_isre_any(const stream *s, long long x)
{
    for (size_t k = 0; k < 2; k++) {
        long long total, invalid;
        ref_window(s, skills[k], x, &total, &invalid);
        if (ref_over(invalid, total))
            return 1;
    }
    return 0;
}

static wss_wwa_severity ref_classify(const wss_wwa_incident_facts *f)
{
    if (f->remote_control || f->safety_risk || f->surveillance)
        return WSS_WWA_CRITICAL;
    int big = f->affected >= 10001 || f->duration_ms >= HOUR_MS + 1;
    if (big && (f->access == WSS_WWA_ACCESS_SIGNIFICANT || f->data == WSS_WWA_DATA_SENSITIVE))
        return WSS_WWA_HIGH;
    return f->access == WSS_WWA_ACCESS_NONE && f->data == WSS_WWA_DATA_NONE ? WSS_WWA_LOW : WSS_WWA_MEDIUM;
}

static int before(const wss_wwa_event *a, const wss_wwa_event *b)
{
    return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && strcmp(a->id, b->id) < 0);
}

static int ref_removes(const stream *s, const wss_wwa_event *in)
{
    wss_wwa_severity sev = ref_classify(&in->facts);
    if (sev == WSS_WWA_CRITICAL)
        return 1;
    if (sev != WSS_WWA_HIGH)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        const wss_wwa_event *o = &s->ev[i];
        if (o->kind == WSS_WWA_INCIDENT && o != in && ref_classify(&o->facts) == WSS_WWA_HIGH &&
            ref_year_of(o->at_ms) == ref_year_of(in->at_ms) && before(o, in))
            return 1;
    }
    return 0;
}

static long long ref_cleared_at(const stream *s, const wss_wwa_event *in)
{
    long long best = INF_MS;
    int critical = ref_classify(&in->facts) == WSS_WWA_CRITICAL;
    for (size_t i = 0; i < s->n; i++) {
        const wss_wwa_event *a = &s->ev[i];
        if (a->kind != WSS_WWA_AUDIT || a->at_ms < in->at_ms)
            continue;
        if (!critical) {
            if (a->at_ms < best)
                best = a->at_ms;
            continue;
        }
        for (size_t j = 0; j < s->n; j++) {
            const wss_wwa_event *r = &s->ev[j];
            if (r->kind == WSS_WWA_REINSTATE_REQUEST && r->at_ms >= a->at_ms && r->at_ms < best)
                best = r->at_ms;
        }
    }
    return best;
}

static int ref_security_active(const stream *s, long long x)
{
    for (size_t i = 0; i < s->n; i++) {
        const wss_wwa_event *e = &s->ev[i];
        if (e->kind == WSS_WWA_INCIDENT && e->at_ms <= x && ref_removes(s, e) && ref_cleared_at(s, e) > x)
            return 1;
    }
    return 0;
}

static int ref_rank(wss_wwa_result r) { return r == WSS_WWA_FAIL ? 2 : r == WSS_WWA_PASS ? 1 : 0; }

/* The checklist: ASINs seen, gaps; *ok as the engine's checklist_ok. */
static void ref_checklist(const stream *s, long long x, size_t *nasins, size_t *gaps, int *ok)
{
    *nasins = *gaps = 0;
    for (size_t k = 0; k < 2; k++) {
        int seen = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->ev[i].kind == WSS_WWA_ATTESTATION && s->ev[i].at_ms <= x && !strcmp(s->ev[i].asin, asins[k]))
                seen = 1;
        if (!seen)
            continue;
        (*nasins)++;
        for (int c = 0; c < WSS_WWA_CHECK__COUNT; c++) {
            const wss_wwa_event *best = NULL;
            for (size_t i = 0; i < s->n; i++) {
                const wss_wwa_event *e = &s->ev[i];
                if (e->kind != WSS_WWA_ATTESTATION || e->at_ms > x || strcmp(e->asin, asins[k]) || (int)e->check != c)
                    continue;
                if (!best || e->at_ms > best->at_ms ||
                    (e->at_ms == best->at_ms &&
                     (ref_rank(e->result) > ref_rank(best->result) ||
                      (ref_rank(e->result) == ref_rank(best->result) &&
                       (strcmp(e->who, best->who) < 0 ||
                        (strcmp(e->who, best->who) == 0 && strcmp(e->note, best->note) < 0))))))
                    best = e;
            }
            if (!best || best->result == WSS_WWA_FAIL)
                (*gaps)++;
        }
    }
    *ok = *nasins > 0 && *gaps == 0;
}

static int ref_others_hold(const stream *s, long long x)
{
    size_t n, gaps;
    int ok;
    ref_checklist(s, x, &n, &gaps, &ok);
    return ok && !ref_isre_any(s, x) && !ref_security_active(s, x);
}

/* What the reference says at v->x, in v->st (no arrays but skills and incidents). */
static void ref_state(ref_view *v)
{
    const stream *s = v->s;
    long long x = v->x;
    wss_wwa_state *st = &v->st;
    wss_wwa_availability *a = &st->availability;
    memset(st, 0, sizeof *st);
    ref_breakpoints(v);
    static span out[MAX_EVENTS];
    size_t nout = ref_outages(v, out);

    int y = ref_year_of(x);
    long long ys = ref_year_start(y), ye = ref_year_start(y + 1);
    a->year = y;
    a->allowance_ms = ref_allowance(ye - ys);
    a->downtime_ms = ref_downtime(v, ys, x);
    for (size_t i = 0; i < nout; i++)
        a->outages += out[i].start < ye && out[i].end > ys;
    a->down_now = ref_down_at(s, x);
    ref_crossings(v, out, nout, y, &a->breach_downtime_at_ms, &a->breach_outages_at_ms);
    a->breach_downtime = a->breach_downtime_at_ms >= 0;
    a->breach_outages = a->breach_outages_at_ms >= 0;
    a->warn_downtime = !a->breach_downtime && a->downtime_ms * 10 >= a->allowance_ms * 8;
    a->warn_outages = !a->breach_outages && a->outages >= 4;

    /* Every crossing instant up to x, sorted. */
    long long trig[64];
    size_t ntrig = 0;
    if (v->nbp > 0)
        for (int yy = ref_year_of(v->bp[0]); yy <= y; yy++) {
            long long d, o;
            ref_crossings(v, out, nout, yy, &d, &o);
            if (d >= 0)
                trig[ntrig++] = d;
            if (o >= 0)
                trig[ntrig++] = o;
        }
    for (size_t i = 1; i < ntrig; i++)
        for (size_t j = i; j > 0 && trig[j - 1] > trig[j]; j--) {
            long long tmp = trig[j];
            trig[j] = trig[j - 1];
            trig[j - 1] = tmp;
        }
    /* Month by month from the first crossing's month. */
    int removed = 0, streak = 0;
    long long cand = -1, since = -1, reinstated = -1;
    if (ntrig > 0) {
        long long m, next;
        ref_month_of(trig[0], &m, &next);
        size_t k = 0;
        while (m <= x) {
            ref_month_of(m, &m, &next);
            for (; k < ntrig && trig[k] < next; k++) {
                if (!removed) {
                    removed = 1;
                    since = trig[k];
                }
                cand = next;
                streak = 0;
            }
            if (removed && m >= cand && next <= x) {
                int ok = ref_downtime(v, m, next) <= ref_allowance(next - m);
                streak = ok ? streak + 1 : 0;
                int trigger_at_end = k < ntrig && trig[k] == next;
                if (streak >= 3 && !trigger_at_end && ref_others_hold(s, next)) {
                    removed = 0;
                    reinstated = next;
                    streak = 0;
                }
            }
            m = next;
        }
    }
    a->compliant_months = removed ? streak : 0;
    a->reinstated_at_ms = reinstated;
    st->requests_suspended = removed;
    int held = !removed;
    (void)since;
    st->reasons = NULL;
    st->nreasons = removed; /* the availability reason's since goes in at_ms below */
    st->at_ms = since;

    /* Skills. */
    static wss_wwa_skill_state sk[2];
    st->skills = sk;
    st->nskills = 0;
    for (size_t k = 0; k < 2; k++) {
        long long cands[2 * MAX_EVENTS];
        size_t nc = 0;
        int any = 0;
        for (size_t i = 0; i < s->n; i++) {
            const wss_wwa_event *e = &s->ev[i];
            if (e->kind != WSS_WWA_DIRECTIVE || strcmp(e->skill, skills[k]))
                continue;
            any = 1;
            if (e->at_ms <= x)
                cands[nc++] = e->at_ms;
            if (e->at_ms + WINDOW_MS <= x)
                cands[nc++] = e->at_ms + WINDOW_MS;
        }
        if (!any)
            continue;
        wss_wwa_skill_state *o = &sk[st->nskills++];
        memset(o, 0, sizeof *o);
        snprintf(o->skill, sizeof o->skill, "%s", skills[k]);
        /* Scan instants in order (a selection over the unsorted candidates). */
        long long start = -1, prev = -1;
        for (;;) {
            long long c = INF_MS;
            for (size_t i = 0; i < nc; i++)
                if (cands[i] > prev && cands[i] < c)
                    c = cands[i];
            if (c == INF_MS)
                break;
            long long total, invalid;
            ref_window(s, skills[k], c, &total, &invalid);
            if (!ref_over(invalid, total))
                start = -1;
            else if (start < 0)
                start = c;
            prev = c;
        }
        ref_window(s, skills[k], x, &o->total, &o->invalid);
        o->breach = start >= 0;
        o->breach_start_ms = start;
        o->removed = start >= 0 && x >= start + MITIGATE_MS;
        if (o->removed)
            held = 0;
    }

    /* Incidents. */
    static wss_wwa_incident_state inc[MAX_EVENTS];
    st->incidents = inc;
    st->nincidents = 0;
    for (size_t i = 0; i < s->n; i++) {
        const wss_wwa_event *e = &s->ev[i];
        if (e->kind != WSS_WWA_INCIDENT || e->at_ms > x)
            continue;
        /* Placed in (time, id) order. */
        size_t j = st->nincidents;
        while (j > 0 &&
               (inc[j - 1].at_ms > e->at_ms || (inc[j - 1].at_ms == e->at_ms && strcmp(inc[j - 1].id, e->id) > 0))) {
            inc[j] = inc[j - 1];
            j--;
        }
        wss_wwa_incident_state *o = &inc[j];
        st->nincidents++;
        memset(o, 0, sizeof *o);
        snprintf(o->id, sizeof o->id, "%s", e->id);
        o->at_ms = e->at_ms;
        o->severity = ref_classify(&e->facts);
        o->removal = ref_removes(s, e);
        o->cleared = o->removal && ref_cleared_at(s, e) <= x;
        if (o->removal && !o->cleared)
            held = 0;
        if (o->severity == WSS_WWA_HIGH && ref_year_of(e->at_ms) == y)
            st->high_this_year++;
        if (o->severity <= WSS_WWA_MEDIUM) {
            long long deadline = e->at_ms + (o->severity == WSS_WWA_LOW ? 90 : 30) * DAY_MS, fixed = INF_MS;
            for (size_t f = 0; f < s->n; f++)
                if (s->ev[f].kind == WSS_WWA_INCIDENT_FIXED && !strcmp(s->ev[f].id, e->id) && s->ev[f].at_ms <= x &&
                    s->ev[f].at_ms < fixed)
                    fixed = s->ev[f].at_ms;
            o->overdue = x > deadline && fixed > deadline;
        }
    }
    ref_checklist(s, x, &st->nasins, &st->checklist_gaps, &st->checklist_ok);
    st->badge_held = held;
}

/* ------------------------------------------------------------ generating streams */

static void gen_probes(stream *s, long long base)
{
    int mode = (int)below(4);
    int k = (int)below(9);
    long long at = base - below(20 * DAY_MS);
    long long target = -1;
    if (mode == 0) { /* the year's total placed at its allowance, -1, or +1 */
        int y = ref_year_of(base);
        at = ref_year_start(y) + below(30 * DAY_MS);
        target = ref_allowance(ref_year_start(y + 1) - ref_year_start(y)) + below(3) - 1;
        k = 1 + (int)below(5);
    }
    static const long long gaps[] = {1, GAP_MS - 1, GAP_MS, GAP_MS + 1, HOUR_MS, 3 * DAY_MS, 40 * DAY_MS};
    long long sum = 0;
    for (int i = 0; i < k; i++) {
        long long len;
        if (target >= 0)
            len = i == k - 1 ? target - sum : below((target - sum) / 2 + 1);
        else {
            static const long long scale[] = {1000, 10 * MIN_MS, 3 * HOUR_MS, 8 * HOUR_MS};
            len = 1 + below(scale[below(4)]);
        }
        if (len <= 0)
            len = 1;
        sum += len;
        if (mode == 1 && len < 4 * HOUR_MS) { /* a regular probe over the stretch and around it */
            long long step = below(2) ? 60000 : 47000;
            long long from = at - step * below(20), to = at + len + step * below(20);
            for (long long t = from; t <= to; t += step)
                push_probe(s, t, !(t >= at && t < at + len));
            /* Exact edges, as a real probe would not give them: the state changes at them. */
            push_probe(s, at, 0);
            push_probe(s, at + len, 1);
        } else {
            push_probe(s, at, 0);
            push_probe(s, at + len, 1);
            if (below(3) == 0) /* a redundant down inside */
                push_probe(s, at + below(len), 0);
            if (below(10) == 0) /* an up at the same instant as the down: down wins */
                push_probe(s, at, 1);
            if (below(12) == 0) /* a down at the instant of the up: the stretch goes on */
                push_probe(s, at + len, 0);
        }
        at += len + gaps[below(7)];
    }
    if (below(4) == 0) /* still down at the end */
        push_probe(s, at, 0);
}

static void gen_directives(stream *s, long long base)
{
    for (int k = 0; k < 2; k++) {
        if (below(3) == 0)
            continue;
        if (below(4) == 0) { /* a long breach: one invalid a day, maybe mitigated around day 90 */
            long long at = base + below(30 * DAY_MS);
            int days = 60 + (int)below(70);
            for (int d = 0; d < days; d++) {
                wss_wwa_event *e = push(s, WSS_WWA_DIRECTIVE, at + d * DAY_MS);
                if (!e)
                    return;
                snprintf(e->skill, sizeof e->skill, "%s", skills[k]);
            }
            if (below(2)) {
                long long fix = at + 85 * DAY_MS + below(10 * DAY_MS);
                for (int i = 0; i < 200; i++) {
                    wss_wwa_event *e = push(s, WSS_WWA_DIRECTIVE, fix);
                    if (!e)
                        return;
                    snprintf(e->skill, sizeof e->skill, "%s", skills[k]);
                    e->valid = 1;
                }
            }
            continue;
        }
        int blocks = 1 + (int)below(4);
        for (int b = 0; b < blocks; b++) {
            long long at = base + below(200 * DAY_MS);
            int n = below(2) ? 100 : 1 + (int)below(30);
            int bad = n == 100 ? 2 + (int)below(3) : (int)below(3); /* 2, 3 or 4 of 100 */
            for (int i = 0; i < n; i++) {
                wss_wwa_event *e = push(s, WSS_WWA_DIRECTIVE, at + (below(2) ? i * 1000 : below(40 * DAY_MS)));
                if (!e)
                    return;
                snprintf(e->skill, sizeof e->skill, "%s", skills[k]);
                e->valid = i >= bad;
            }
        }
    }
}

static void gen_incidents(stream *s, long long base)
{
    int n = (int)below(5);
    for (int i = 0; i < n; i++) {
        wss_wwa_event *e = push(s, WSS_WWA_INCIDENT, base + below(200 * DAY_MS) - below(2) * 40 * DAY_MS);
        if (!e)
            return;
        snprintf(e->id, sizeof e->id, "INC-%d", i);
        static const long long affected[] = {0, 10000, 10001, 500};
        static const long long duration[] = {0, HOUR_MS, HOUR_MS + 1, MIN_MS};
        e->facts.access = (wss_wwa_access)below(4);
        e->facts.data = (wss_wwa_data)below(3);
        e->facts.affected = affected[below(4)];
        e->facts.duration_ms = duration[below(4)];
        e->facts.remote_control = below(12) == 0;
        e->facts.safety_risk = below(12) == 0;
        e->facts.surveillance = below(12) == 0;
        if (below(2)) {
            wss_wwa_event *f = push(s, WSS_WWA_INCIDENT_FIXED, e->at_ms + below(60 * DAY_MS));
            if (f)
                snprintf(f->id, sizeof f->id, "INC-%d", i);
        }
    }
    for (int i = (int)below(3); i > 0; i--)
        push(s, WSS_WWA_AUDIT, base + below(220 * DAY_MS));
    for (int i = (int)below(3); i > 0; i--)
        push(s, WSS_WWA_REINSTATE_REQUEST, base + below(220 * DAY_MS));
}

static void gen_attestations(stream *s, long long base)
{
    int n = (int)below(16);
    for (int i = 0; i < n; i++) {
        wss_wwa_event *e = push(s, WSS_WWA_ATTESTATION, base - 30 * DAY_MS + below(8) * 30 * DAY_MS);
        if (!e)
            return;
        snprintf(e->asin, sizeof e->asin, "%s", asins[below(2)]);
        snprintf(e->market, sizeof e->market, "US");
        snprintf(e->who, sizeof e->who, "%s", below(2) ? "alice" : "bob");
        e->check = (wss_wwa_check)below(WSS_WWA_CHECK__COUNT);
        e->result = (wss_wwa_result)below(3);
        if (e->result == WSS_WWA_NOT_APPLICABLE && e->check != WSS_WWA_CHECK_HUB &&
            e->check != WSS_WWA_CHECK_SKILL_AVAILABLE)
            e->result = WSS_WWA_PASS;
    }
    if (below(2)) /* everything attested once, early */
        for (int k = 0; k < 2; k++)
            for (int c = 0; c < WSS_WWA_CHECK__COUNT; c++) {
                wss_wwa_event *e = push(s, WSS_WWA_ATTESTATION, base - 60 * DAY_MS);
                if (!e)
                    return;
                snprintf(e->asin, sizeof e->asin, "%s", asins[k]);
                snprintf(e->market, sizeof e->market, "US");
                snprintf(e->who, sizeof e->who, "carol");
                e->check = (wss_wwa_check)c;
            }
}

static void shuffle(stream *s)
{
    for (size_t i = s->n; i > 1; i--) {
        size_t j = (size_t)below((long long)i);
        wss_wwa_event tmp = s->ev[i - 1];
        s->ev[i - 1] = s->ev[j];
        s->ev[j] = tmp;
    }
}

/* ------------------------------------------------------------ comparing */

static int failures;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            char when[32];                                                                                             \
            wss_wwa_format_time(x, when);                                                                              \
            fprintf(stderr, "stream %d at %s: ", stream_no, when);                                                     \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n");                                                                                     \
            failures++;                                                                                                \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

/* How often each interesting situation came up, so that a generator that
 * stopped producing one is noticed. */
static struct {
    long long at_allowance, crossed_downtime, crossed_outages, removed, reinstated, isre_breach, isre_removed,
        security_removed, checklist_ok, not_held, warned, leap_year;
} seen;

static void count(const wss_wwa_state *w)
{
    const wss_wwa_availability *a = &w->availability;
    seen.at_allowance += a->downtime_ms == a->allowance_ms;
    seen.crossed_downtime += a->breach_downtime;
    seen.crossed_outages += a->breach_outages;
    seen.removed += w->nreasons == 1;
    seen.reinstated += a->reinstated_at_ms >= 0;
    seen.checklist_ok += w->checklist_ok;
    seen.not_held += !w->badge_held;
    seen.warned += a->warn_downtime || a->warn_outages;
    seen.leap_year += a->year == 2028;
    for (size_t i = 0; i < w->nskills; i++) {
        seen.isre_breach += w->skills[i].breach;
        seen.isre_removed += w->skills[i].removed;
    }
    for (size_t i = 0; i < w->nincidents; i++)
        seen.security_removed += w->incidents[i].removal && !w->incidents[i].cleared;
}

static void compare(int stream_no, long long x, const wss_wwa_state *got, const wss_wwa_state *want)
{
    count(want);
    const wss_wwa_availability *g = &got->availability, *w = &want->availability;
    CHECK(g->year == w->year, "year %d vs %d", g->year, w->year);
    CHECK(g->allowance_ms == w->allowance_ms, "allowance %lld vs %lld", g->allowance_ms, w->allowance_ms);
    CHECK(g->downtime_ms == w->downtime_ms, "downtime %lld vs %lld", g->downtime_ms, w->downtime_ms);
    CHECK(g->outages == w->outages, "outages %d vs %d", g->outages, w->outages);
    CHECK(g->down_now == w->down_now, "down_now %d vs %d", g->down_now, w->down_now);
    CHECK(g->breach_downtime_at_ms == w->breach_downtime_at_ms, "downtime crossing %lld vs %lld",
          g->breach_downtime_at_ms, w->breach_downtime_at_ms);
    CHECK(g->breach_outages_at_ms == w->breach_outages_at_ms, "outage crossing %lld vs %lld", g->breach_outages_at_ms,
          w->breach_outages_at_ms);
    CHECK(g->warn_downtime == w->warn_downtime && g->warn_outages == w->warn_outages, "warnings %d/%d vs %d/%d",
          g->warn_downtime, g->warn_outages, w->warn_downtime, w->warn_outages);
    const wss_wwa_reason *r = reason_of(got, WSS_WWA_REASON_AVAILABILITY);
    CHECK((r != NULL) == (want->nreasons == 1), "availability removal %d vs %d", r != NULL, (int)want->nreasons);
    CHECK(!r || r->since_ms == want->at_ms, "removed since %lld vs %lld", r->since_ms, want->at_ms);
    CHECK(g->reinstated_at_ms == w->reinstated_at_ms, "reinstated %lld vs %lld", g->reinstated_at_ms,
          w->reinstated_at_ms);
    CHECK(g->compliant_months == w->compliant_months, "compliant months %d vs %d", g->compliant_months,
          w->compliant_months);
    CHECK(got->requests_suspended == want->requests_suspended, "suspended %d vs %d", got->requests_suspended,
          want->requests_suspended);
    CHECK(got->nskills == want->nskills, "skills %zu vs %zu", got->nskills, want->nskills);
    for (size_t i = 0; i < got->nskills; i++) {
        const wss_wwa_skill_state *a = &got->skills[i], *b = &want->skills[i];
        CHECK(!strcmp(a->skill, b->skill), "skill %s vs %s", a->skill, b->skill);
        CHECK(a->total == b->total && a->invalid == b->invalid, "%s window %lld/%lld vs %lld/%lld", a->skill,
              a->invalid, a->total, b->invalid, b->total);
        CHECK(a->breach == b->breach && a->breach_start_ms == b->breach_start_ms, "%s breach %d@%lld vs %d@%lld",
              a->skill, a->breach, a->breach_start_ms, b->breach, b->breach_start_ms);
        CHECK(a->removed == b->removed, "%s removed %d vs %d", a->skill, a->removed, b->removed);
    }
    CHECK(got->nincidents == want->nincidents, "incidents %zu vs %zu", got->nincidents, want->nincidents);
    for (size_t i = 0; i < got->nincidents; i++) {
        const wss_wwa_incident_state *a = &got->incidents[i], *b = &want->incidents[i];
        CHECK(!strcmp(a->id, b->id) && a->severity == b->severity, "incident %s/%d vs %s/%d", a->id, a->severity, b->id,
              b->severity);
        CHECK(a->removal == b->removal && a->cleared == b->cleared && a->overdue == b->overdue,
              "incident %s removal %d cleared %d overdue %d vs %d %d %d", a->id, a->removal, a->cleared, a->overdue,
              b->removal, b->cleared, b->overdue);
    }
    CHECK(got->high_this_year == want->high_this_year, "highs %d vs %d", got->high_this_year, want->high_this_year);
    CHECK(got->nasins == want->nasins && got->checklist_gaps == want->checklist_gaps &&
              got->checklist_ok == want->checklist_ok,
          "checklist %zu/%zu/%d vs %zu/%zu/%d", got->nasins, got->checklist_gaps, got->checklist_ok, want->nasins,
          want->checklist_gaps, want->checklist_ok);
    CHECK(got->badge_held == want->badge_held, "held %d vs %d", got->badge_held, want->badge_held);
}

/* ------------------------------------------------------------ the tests */

static const char *const bases[] = {
    "2027-12-01T00:00:00Z", /* into the leap year 2028 */
    "2028-01-20T00:00:00Z", /* through 29 February */
    "2028-11-15T00:00:00Z", /* out of the leap year */
    "2027-04-01T00:00:00Z", /* inside a common year */
};

static void test_engine_matches_brute_force_reference(void **state)
{
    (void)state;
    static stream s;
    static ref_view v;
    long long checked = 0;
    for (int n = 0; n < STREAMS && failures < 5; n++) {
        memset(&s, 0, sizeof s);
        long long base = T(bases[below(4)]);
        gen_probes(&s, base);
        gen_directives(&s, base);
        gen_incidents(&s, base);
        gen_attestations(&s, base);
        if (below(3))
            shuffle(&s);
        wss_wwa *e = engine_new();
        for (size_t i = 0; i < s.n; i++)
            assert_int_equal(wss_wwa_add(e, &s.ev[i]), WSS_OK);
        long long queries[QUERIES + 8];
        size_t nq = 0;
        for (int q = 0; q < QUERIES; q++)
            queries[nq++] = base - 30 * DAY_MS + below(260 * DAY_MS);
        int y = ref_year_of(base);
        queries[nq++] = ref_year_start(y + 1) - 1;
        queries[nq++] = ref_year_start(y + 1);
        wss_wwa_state last;
        assert_int_equal(wss_wwa_state_at(e, base + 240 * DAY_MS, &last), WSS_OK);
        /* Each side of every crossing the engine reports. */
        long long edges[] = {last.availability.breach_downtime_at_ms, last.availability.breach_outages_at_ms};
        for (size_t i = 0; i < 2; i++)
            if (edges[i] > 0) {
                queries[nq++] = edges[i] - 1;
                queries[nq++] = edges[i];
            }
        if (last.availability.reinstated_at_ms > 0)
            queries[nq++] = last.availability.reinstated_at_ms - 1;
        wss_wwa_state_free(&last);
        for (size_t q = 0; q < nq && failures < 5; q++) {
            wss_wwa_state got;
            assert_int_equal(wss_wwa_state_at(e, queries[q], &got), WSS_OK);
            v.s = &s;
            v.x = queries[q];
            ref_state(&v);
            compare(n, queries[q], &got, &v.st);
            wss_wwa_state_free(&got);
            checked++;
        }
        wss_wwa_free(e);
    }
    fprintf(stderr,
            "%d streams, %lld instants compared; at the allowance %lld, downtime crossed %lld, outages crossed %lld, "
            "removed for availability %lld, reinstated %lld, ISRE breach %lld, ISRE removal %lld, security removal "
            "%lld, checklist ok %lld, not held %lld, warned %lld, in 2028 %lld\n",
            STREAMS, checked, seen.at_allowance, seen.crossed_downtime, seen.crossed_outages, seen.removed,
            seen.reinstated, seen.isre_breach, seen.isre_removed, seen.security_removed, seen.checklist_ok,
            seen.not_held, seen.warned, seen.leap_year);
    assert_int_equal(failures, 0);
    long long *each = (long long *)&seen;
    for (size_t i = 0; i < sizeof seen / sizeof *each; i++)
        if (each[i] < 10)
            fail_msg("situation %zu came up only %lld times", i, each[i]);
}

/* The same events in another order give the same answers, field by field. */
static void test_order_of_events_does_not_matter(void **state)
{
    (void)state;
    static stream s;
    for (int n = 0; n < 300; n++) {
        memset(&s, 0, sizeof s);
        long long base = T(bases[below(4)]);
        gen_probes(&s, base);
        gen_directives(&s, base);
        gen_incidents(&s, base);
        gen_attestations(&s, base);
        wss_wwa *a = engine_new(), *b = engine_new();
        for (size_t i = 0; i < s.n; i++)
            assert_int_equal(wss_wwa_add(a, &s.ev[i]), WSS_OK);
        shuffle(&s);
        for (size_t i = 0; i < s.n; i++)
            assert_int_equal(wss_wwa_add(b, &s.ev[i]), WSS_OK);
        for (int q = 0; q < 5; q++) {
            long long x = base + below(240 * DAY_MS);
            wss_wwa_state sa, sb;
            assert_int_equal(wss_wwa_state_at(a, x, &sa), WSS_OK);
            assert_int_equal(wss_wwa_state_at(b, x, &sb), WSS_OK);
            assert_memory_equal(&sa.availability, &sb.availability, sizeof sa.availability);
            assert_int_equal(sa.nreasons, sb.nreasons);
            for (size_t i = 0; i < sa.nreasons; i++)
                assert_string_equal(sa.reasons[i].text, sb.reasons[i].text);
            assert_int_equal(sa.nwarnings, sb.nwarnings);
            for (size_t i = 0; i < sa.nwarnings; i++)
                assert_string_equal(sa.warnings[i].text, sb.warnings[i].text);
            assert_int_equal(sa.nskills, sb.nskills);
            assert_memory_equal(sa.skills, sb.skills, sa.nskills * sizeof *sa.skills);
            assert_int_equal(sa.nasins, sb.nasins);
            assert_memory_equal(sa.asins, sb.asins, sa.nasins * sizeof *sa.asins);
            wss_wwa_state_free(&sa);
            wss_wwa_state_free(&sb);
        }
        wss_wwa_free(a);
        wss_wwa_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_matches_brute_force_reference),
        cmocka_unit_test(test_order_of_events_does_not_matter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

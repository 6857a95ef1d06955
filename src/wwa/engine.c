/* engine.c - the Works with Alexa rules over the events of one product.
 *
 * Events are kept as they come (probes as runs, directive outcomes per skill);
 * wss_wwa_state_at() recomputes everything it reports from the events at or
 * before the instant, replaying removals and reinstatements in time order.
 * Every quantity at an instant x depends only on events at or before x, so
 * the history replayed by a later query is the history an earlier query saw. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wwa/internal.h"

#define ALLOW_PERMYRIAD (10000 - WSS_WWA_TARGET_PERMYRIAD)

typedef struct wwa_skill {
    char id[WSS_WWA_ID_MAX];
    long long *ev;         /* at_ms * 2 + invalid, sorted when `sorted` */
    long long *inv_prefix; /* inv_prefix[i]: invalid outcomes among ev[0..i-1] */
    size_t n, cap;
    int sorted;
} wwa_skill;

typedef struct wwa_incident {
    char id[WSS_WWA_ID_MAX];
    long long at;
    wss_wwa_severity severity;
} wwa_incident;

typedef struct wwa_fix {
    char id[WSS_WWA_ID_MAX];
    long long at;
} wwa_fix;

typedef struct wwa_attest {
    long long at;
    char asin[WSS_WWA_ASIN_MAX];
    char market[WSS_WWA_MARKET_MAX];
    wss_wwa_check check;
    wss_wwa_result result;
    char who[WSS_WWA_ID_MAX];
    char note[WSS_WWA_NOTE_MAX];
} wwa_attest;

/* A growable array of fixed-size items. */
typedef struct vec {
    void *items;
    size_t n, cap;
} vec;

struct wss_wwa {
    wss_wwa_config cfg;
    wwa_probes probes;
    vec skills; /* wwa_skill */
    size_t last_skill;
    vec incidents; /* wwa_incident */
    vec fixes;     /* wwa_fix */
    vec audits;    /* long long */
    vec requests;  /* long long */
    vec attests;   /* wwa_attest */
    int incidents_sorted, audits_sorted, requests_sorted;
};

static void *vec_push(vec *v, size_t size)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void *grown = realloc(v->items, cap * size);
        if (!grown)
            return NULL;
        v->items = grown;
        v->cap = cap;
    }
    return (char *)v->items + size * v->n++;
}

/* ------------------------------------------------------------ configuration and names */

void wss_wwa_config_default(wss_wwa_config *c)
{
    c->outage_merge_gap_ms = 300000;
    c->warn_downtime_permyriad = 8000;
    c->warn_outages = 4;
    c->warn_isre_permyriad = 250;
    c->fix_low_ms = 90 * WWA_DAY_MS;
    c->fix_medium_ms = 30 * WWA_DAY_MS;
}

const char *wss_wwa_severity_name(wss_wwa_severity s)
{
    static const char *const names[] = {"low", "medium", "high", "critical"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

const char *wss_wwa_check_name(wss_wwa_check c)
{
    static const char *const names[] = {"asin_available", "brand", "model", "image", "hub", "skill_available"};
    return (unsigned)c < WSS_WWA_CHECK__COUNT ? names[c] : "unknown";
}

const char *wss_wwa_result_name(wss_wwa_result r)
{
    static const char *const names[] = {"pass", "fail", "n/a"};
    return (unsigned)r < 3 ? names[r] : "unknown";
}

const char *wss_wwa_reason_name(wss_wwa_reason_kind k)
{
    static const char *const names[] = {"availability", "isre", "security"};
    return (unsigned)k < 3 ? names[k] : "unknown";
}

/* ------------------------------------------------------------ lifetime */

wss_err wss_wwa_new(const wss_wwa_config *cfg, wss_wwa **out)
{
    wss_wwa_config c;
    if (cfg)
        c = *cfg;
    else
        wss_wwa_config_default(&c);
    if (c.outage_merge_gap_ms < 0 || c.fix_low_ms < 0 || c.fix_medium_ms < 0 || c.warn_downtime_permyriad < 0 ||
        c.warn_downtime_permyriad > 10000 || c.warn_isre_permyriad < 0 || c.warn_isre_permyriad > 10000 ||
        c.warn_outages < 1 || c.warn_outages > WSS_WWA_MAX_OUTAGES)
        return WSS_ERR_INVALID;
    wss_wwa *e = calloc(1, sizeof *e);
    if (!e)
        return WSS_ERR_NOMEM;
    e->cfg = c;
    *out = e;
    return WSS_OK;
}

void wss_wwa_free(wss_wwa *e)
{
    if (!e)
        return;
    wwa_probes_free(&e->probes);
    wwa_skill *sk = e->skills.items;
    for (size_t i = 0; i < e->skills.n; i++) {
        free(sk[i].ev);
        free(sk[i].inv_prefix);
    }
    free(e->skills.items);
    free(e->incidents.items);
    free(e->fixes.items);
    free(e->audits.items);
    free(e->requests.items);
    free(e->attests.items);
    free(e);
}

/* ------------------------------------------------------------ adding events */

/* A NUL-terminated, non-empty string of printable characters within size. */
static int id_ok(const char *s, size_t size, int may_be_empty)
{
    size_t len = strnlen(s, size);
    if (len == size || (len == 0 && !may_be_empty))
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static wwa_skill *find_skill(wss_wwa *e, const char *id, int create)
{
    wwa_skill *sk = e->skills.items;
    if (e->last_skill < e->skills.n && strcmp(sk[e->last_skill].id, id) == 0)
        return &sk[e->last_skill];
    for (size_t i = 0; i < e->skills.n; i++)
        if (strcmp(sk[i].id, id) == 0) {
            e->last_skill = i;
            return &sk[i];
        }
    if (!create)
        return NULL;
    wwa_skill *s = vec_push(&e->skills, sizeof *s);
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->sorted = 1;
    e->last_skill = e->skills.n - 1;
    return s;
}

static wss_err add_directive(wss_wwa *e, long long at, const char *skill, int valid)
{
    wwa_skill *s = find_skill(e, skill, 1);
    if (!s)
        return WSS_ERR_NOMEM;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        long long *grown = realloc(s->ev, cap * sizeof *grown);
        if (!grown)
            return WSS_ERR_NOMEM;
        s->ev = grown;
        s->cap = cap;
    }
    long long v = at * 2 + (valid ? 0 : 1);
    if (s->n > 0 && v < s->ev[s->n - 1])
        s->sorted = 0;
    s->ev[s->n++] = v;
    free(s->inv_prefix);
    s->inv_prefix = NULL;
    return WSS_OK;
}

static int incident_exists(const wss_wwa *e, const char *id)
{
    const wwa_incident *in = e->incidents.items;
    for (size_t i = 0; i < e->incidents.n; i++)
        if (strcmp(in[i].id, id) == 0)
            return 1;
    return 0;
}

wss_err wss_wwa_add(wss_wwa *e, const wss_wwa_event *ev)
{
    if (!e || !ev || !wwa_time_ok(ev->at_ms))
        return WSS_ERR_INVALID;
    switch (ev->kind) {
    case WSS_WWA_PROBE: return wwa_probes_add(&e->probes, ev->at_ms, ev->up != 0);
    case WSS_WWA_DIRECTIVE:
        if (!id_ok(ev->skill, sizeof ev->skill, 0))
            return WSS_ERR_INVALID;
        return add_directive(e, ev->at_ms, ev->skill, ev->valid != 0);
    case WSS_WWA_INCIDENT: {
        const wss_wwa_incident_facts *f = &ev->facts;
        if (!id_ok(ev->id, sizeof ev->id, 0) || (unsigned)f->access > WSS_WWA_ACCESS_SIGNIFICANT ||
            (unsigned)f->data > WSS_WWA_DATA_SENSITIVE || f->affected < 0 || f->duration_ms < 0)
            return WSS_ERR_INVALID;
        if (incident_exists(e, ev->id))
            return WSS_ERR_EXISTS;
        wwa_incident *in = vec_push(&e->incidents, sizeof *in);
        if (!in)
            return WSS_ERR_NOMEM;
        snprintf(in->id, sizeof in->id, "%s", ev->id);
        in->at = ev->at_ms;
        in->severity = wss_wwa_classify(f);
        e->incidents_sorted = 0;
        return WSS_OK;
    }
    case WSS_WWA_INCIDENT_FIXED: {
        if (!id_ok(ev->id, sizeof ev->id, 0))
            return WSS_ERR_INVALID;
        wwa_fix *fx = vec_push(&e->fixes, sizeof *fx);
        if (!fx)
            return WSS_ERR_NOMEM;
        snprintf(fx->id, sizeof fx->id, "%s", ev->id);
        fx->at = ev->at_ms;
        return WSS_OK;
    }
    case WSS_WWA_AUDIT:
    case WSS_WWA_REINSTATE_REQUEST: {
        if (!id_ok(ev->who, sizeof ev->who, 1))
            return WSS_ERR_INVALID;
        vec *v = ev->kind == WSS_WWA_AUDIT ? &e->audits : &e->requests;
        long long *at = vec_push(v, sizeof *at);
        if (!at)
            return WSS_ERR_NOMEM;
        *at = ev->at_ms;
        e->audits_sorted = e->requests_sorted = 0;
        return WSS_OK;
    }
    case WSS_WWA_ATTESTATION: {
        if (!id_ok(ev->asin, sizeof ev->asin, 0) || !id_ok(ev->market, sizeof ev->market, 0) ||
            !id_ok(ev->who, sizeof ev->who, 0) || !id_ok(ev->note, sizeof ev->note, 1) ||
            (unsigned)ev->check >= WSS_WWA_CHECK__COUNT || (unsigned)ev->result > WSS_WWA_NOT_APPLICABLE)
            return WSS_ERR_INVALID;
        if (ev->result == WSS_WWA_NOT_APPLICABLE && ev->check != WSS_WWA_CHECK_HUB &&
            ev->check != WSS_WWA_CHECK_SKILL_AVAILABLE)
            return WSS_ERR_INVALID;
        wwa_attest *a = vec_push(&e->attests, sizeof *a);
        if (!a)
            return WSS_ERR_NOMEM;
        a->at = ev->at_ms;
        snprintf(a->asin, sizeof a->asin, "%s", ev->asin);
        snprintf(a->market, sizeof a->market, "%s", ev->market);
        snprintf(a->who, sizeof a->who, "%s", ev->who);
        snprintf(a->note, sizeof a->note, "%s", ev->note);
        a->check = ev->check;
        a->result = ev->result;
        return WSS_OK;
    }
    default: return WSS_ERR_INVALID;
    }
}

wss_err wss_wwa_probe(wss_wwa *e, long long at_ms, int up)
{
    if (!e || !wwa_time_ok(at_ms))
        return WSS_ERR_INVALID;
    return wwa_probes_add(&e->probes, at_ms, up != 0);
}

wss_err wss_wwa_directive(wss_wwa *e, long long at_ms, const char *skill, int valid)
{
    if (!e || !skill || !wwa_time_ok(at_ms) || !id_ok(skill, WSS_WWA_ID_MAX, 0))
        return WSS_ERR_INVALID;
    return add_directive(e, at_ms, skill, valid);
}

/* ------------------------------------------------------------ classification */

wss_wwa_severity wss_wwa_classify(const wss_wwa_incident_facts *f)
{
    if (f->remote_control || f->safety_risk || f->surveillance)
        return WSS_WWA_CRITICAL;
    int significant = f->access == WSS_WWA_ACCESS_SIGNIFICANT || f->data == WSS_WWA_DATA_SENSITIVE;
    int widespread = f->affected > WSS_WWA_HIGH_AFFECTED || f->duration_ms > WSS_WWA_HIGH_DURATION_MS;
    if (significant && widespread)
        return WSS_WWA_HIGH;
    if (f->access != WSS_WWA_ACCESS_NONE || f->data != WSS_WWA_DATA_NONE)
        return WSS_WWA_MEDIUM;
    return WSS_WWA_LOW;
}

/* ------------------------------------------------------------ sorting */

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int cmp_incident(const void *a, const void *b)
{
    const wwa_incident *x = a, *y = b;
    if (x->at != y->at)
        return (x->at > y->at) - (x->at < y->at);
    return strcmp(x->id, y->id);
}

/* qsort() that accepts an empty (NULL) array. */
static void sort(void *items, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(items, n, size, cmp);
}

static wss_err prepare(wss_wwa *e)
{
    wwa_skill *sk = e->skills.items;
    for (size_t i = 0; i < e->skills.n; i++) {
        wwa_skill *s = &sk[i];
        if (!s->sorted) {
            sort(s->ev, s->n, sizeof *s->ev, cmp_ll);
            s->sorted = 1;
        }
        if (!s->inv_prefix) {
            s->inv_prefix = malloc((s->n + 1) * sizeof *s->inv_prefix);
            if (!s->inv_prefix)
                return WSS_ERR_NOMEM;
            s->inv_prefix[0] = 0;
            for (size_t j = 0; j < s->n; j++)
                s->inv_prefix[j + 1] = s->inv_prefix[j] + (s->ev[j] & 1);
        }
    }
    if (!e->incidents_sorted) {
        sort(e->incidents.items, e->incidents.n, sizeof(wwa_incident), cmp_incident);
        e->incidents_sorted = 1;
    }
    if (!e->audits_sorted) {
        sort(e->audits.items, e->audits.n, sizeof(long long), cmp_ll);
        sort(e->requests.items, e->requests.n, sizeof(long long), cmp_ll);
        e->audits_sorted = e->requests_sorted = 1;
    }
    return WSS_OK;
}

/* The first index whose value is >= v in a sorted array. */
static size_t lower_bound(const long long *a, size_t n, long long v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ------------------------------------------------------------ INVALID_SKILL_RESPONSE_EXCEPTION */

static int isre_breach(long long invalid, long long total)
{
    return invalid * 10000 > total * WSS_WWA_ISRE_MAX_PERMYRIAD;
}

/* Directives of s in (x - 30 days, x]. */
static void isre_window(const wwa_skill *s, long long x, long long *total, long long *invalid)
{
    size_t hi = lower_bound(s->ev, s->n, x * 2 + 2);
    size_t lo = lower_bound(s->ev, s->n, (x - WSS_WWA_ISRE_WINDOW_MS) * 2 + 2);
    *total = (long long)(hi - lo);
    *invalid = s->inv_prefix[hi] - s->inv_prefix[lo];
}

/* Replays the share of s up to t: the window at t and the start of the breach
 * in progress at t (-1 when none). The share changes only when an outcome
 * enters the window (at its time) or leaves it (30 days later). */
static void isre_replay(const wwa_skill *s, long long t, wss_wwa_skill_state *out)
{
    size_t i = 0, j = 0;
    long long total = 0, invalid = 0, start = -1;
    for (;;) {
        long long x = WWA_INF_MS;
        if (i < s->n && (s->ev[i] >> 1) <= t)
            x = s->ev[i] >> 1;
        if (j < i && (s->ev[j] >> 1) + WSS_WWA_ISRE_WINDOW_MS < x)
            x = (s->ev[j] >> 1) + WSS_WWA_ISRE_WINDOW_MS;
        if (x > t)
            break;
        for (; i < s->n && (s->ev[i] >> 1) == x; i++) {
            total++;
            invalid += s->ev[i] & 1;
        }
        for (; j < i && (s->ev[j] >> 1) + WSS_WWA_ISRE_WINDOW_MS == x; j++) {
            total--;
            invalid -= s->ev[j] & 1;
        }
        if (!isre_breach(invalid, total))
            start = -1;
        else if (start < 0)
            start = x;
    }
    snprintf(out->skill, sizeof out->skill, "%s", s->id);
    out->total = total;
    out->invalid = invalid;
    out->percent = total ? 100.0 * (double)invalid / (double)total : 0.0;
    out->breach = start >= 0;
    out->breach_start_ms = start;
    out->deadline_ms = start >= 0 ? start + WSS_WWA_ISRE_MITIGATE_MS : -1;
    out->removed = start >= 0 && t >= start + WSS_WWA_ISRE_MITIGATE_MS;
    out->warn = out->breach; /* fill_isre adds the configured early warning */
}

static int isre_any_breach_at(const wss_wwa *e, long long x)
{
    const wwa_skill *sk = e->skills.items;
    for (size_t i = 0; i < e->skills.n; i++) {
        long long total, invalid;
        isre_window(&sk[i], x, &total, &invalid);
        if (isre_breach(invalid, total))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ security incidents */

/* When the removal by an incident at `at` of this severity is lifted: the
 * first audit at or after it (high), then for critical the first request at
 * or after that audit; WWA_INF_MS when not (yet) recorded. */
static long long security_cleared_at(const wss_wwa *e, const wwa_incident *in)
{
    const long long *audits = e->audits.items, *requests = e->requests.items;
    size_t a = lower_bound(audits, e->audits.n, in->at);
    if (a == e->audits.n)
        return WWA_INF_MS;
    if (in->severity != WSS_WWA_CRITICAL)
        return audits[a];
    size_t r = lower_bound(requests, e->requests.n, audits[a]);
    return r == e->requests.n ? WWA_INF_MS : requests[r];
}

/* Marks in removal[] the incidents (sorted) that remove the badges: every
 * critical one, and every high one after the first of its calendar year. */
static void security_removals(const wss_wwa *e, int *removal)
{
    const wwa_incident *in = e->incidents.items;
    int year = -1, highs = 0;
    for (size_t i = 0; i < e->incidents.n; i++) {
        int y, m;
        wwa_year_month(in[i].at, &y, &m);
        if (y != year) {
            year = y;
            highs = 0;
        }
        removal[i] = 0;
        if (in[i].severity == WSS_WWA_CRITICAL)
            removal[i] = 1;
        else if (in[i].severity == WSS_WWA_HIGH && ++highs > 1)
            removal[i] = 1;
    }
}

static int security_active_at(const wss_wwa *e, const int *removal, long long x)
{
    const wwa_incident *in = e->incidents.items;
    for (size_t i = 0; i < e->incidents.n && in[i].at <= x; i++)
        if (removal[i] && security_cleared_at(e, &in[i]) > x)
            return 1;
    return 0;
}

/* ------------------------------------------------------------ the product checklist */

static int rank(wss_wwa_result r) { return r == WSS_WWA_FAIL ? 2 : r == WSS_WWA_PASS ? 1 : 0; }

/* Whether attestation a replaces the current state c: later, or at the same
 * instant worse (fail over pass over n/a), then by who and note for a fixed order. */
static int supersedes(const wwa_attest *a, const wss_wwa_check_state *c)
{
    if (!c->attested || a->at != c->at_ms)
        return !c->attested || a->at > c->at_ms;
    if (rank(a->result) != rank(c->result))
        return rank(a->result) > rank(c->result);
    int w = strcmp(a->who, c->who);
    return w < 0 || (w == 0 && strcmp(a->note, c->note) < 0);
}

static int cmp_asin(const void *a, const void *b)
{
    const wss_wwa_asin_state *x = a, *y = b;
    int c = strcmp(x->asin, y->asin);
    return c ? c : strcmp(x->market, y->market);
}

/* The checklist of every ASIN attested at or before x (malloc'd, sorted). */
static wss_err checklist_at(const wss_wwa *e, long long x, wss_wwa_asin_state **out, size_t *n, size_t *gaps)
{
    const wwa_attest *at = e->attests.items;
    wss_wwa_asin_state *list = NULL;
    size_t k = 0, cap = 0;
    for (size_t i = 0; i < e->attests.n; i++) {
        const wwa_attest *a = &at[i];
        if (a->at > x)
            continue;
        size_t j = 0;
        while (j < k && (strcmp(list[j].asin, a->asin) || strcmp(list[j].market, a->market)))
            j++;
        if (j == k) {
            if (k == cap) {
                cap = cap ? cap * 2 : 8;
                wss_wwa_asin_state *grown = realloc(list, cap * sizeof *grown);
                if (!grown) {
                    free(list);
                    return WSS_ERR_NOMEM;
                }
                list = grown;
            }
            memset(&list[k], 0, sizeof list[k]);
            snprintf(list[k].asin, sizeof list[k].asin, "%s", a->asin);
            snprintf(list[k].market, sizeof list[k].market, "%s", a->market);
            k++;
        }
        wss_wwa_check_state *c = &list[j].checks[a->check];
        if (supersedes(a, c)) {
            memset(c, 0, sizeof *c);
            c->attested = 1;
            c->result = a->result;
            c->at_ms = a->at;
            snprintf(c->who, sizeof c->who, "%s", a->who);
            snprintf(c->note, sizeof c->note, "%s", a->note);
        }
    }
    size_t total = 0;
    for (size_t j = 0; j < k; j++) {
        list[j].gaps = 0;
        for (int c = 0; c < WSS_WWA_CHECK__COUNT; c++)
            if (!list[j].checks[c].attested || list[j].checks[c].result == WSS_WWA_FAIL)
                list[j].gaps++;
        total += (size_t)list[j].gaps;
    }
    sort(list, k, sizeof *list, cmp_asin);
    *out = list;
    *n = k;
    *gaps = total;
    return WSS_OK;
}

/* ------------------------------------------------------------ availability */

static long long allowance(long long len) { return len / 10000 * ALLOW_PERMYRIAD; }

/* Everything the availability replay needs, computed once per query. */
typedef struct avail_ctx {
    const wss_wwa *e;
    const int *removal; /* security removals, for "every other rule holds" */
    long long t;
    wwa_span *down; /* stretches of downtime */
    size_t ndown;
    wwa_span *outage; /* merged into outages */
    size_t noutage;
    long long *triggers; /* crossing instants, sorted */
    size_t ntriggers;
} avail_ctx;

/* The crossing instants of year y: the first millisecond at which the year's
 * downtime exceeds the allowance, and the start of the sixth outage. */
static void year_crossings(const avail_ctx *c, int y, long long *down_at, long long *outage_at)
{
    long long ys = wwa_year_start(y), ye = wwa_year_start(y + 1);
    long long end = c->t < ye ? c->t : ye, allow = allowance(ye - ys), sum = 0;
    *down_at = *outage_at = -1;
    for (size_t i = 0; i < c->ndown && c->down[i].start < end; i++) {
        long long from = c->down[i].start > ys ? c->down[i].start : ys;
        long long to = c->down[i].end < end ? c->down[i].end : end;
        if (to <= from)
            continue;
        if (sum + (to - from) > allow) {
            *down_at = from + (allow - sum) + 1;
            break;
        }
        sum += to - from;
    }
    int count = 0;
    for (size_t i = 0; i < c->noutage && c->outage[i].start < ye; i++) {
        if (c->outage[i].end <= ys)
            continue;
        if (++count == WSS_WWA_MAX_OUTAGES + 1) {
            *outage_at = c->outage[i].start > ys ? c->outage[i].start : ys;
            break;
        }
    }
}

static int month_compliant(const avail_ctx *c, long long ms, long long me)
{
    return wwa_downtime_in(c->down, c->ndown, ms, me) <= allowance(me - ms);
}

static int others_hold(const avail_ctx *c, long long x)
{
    if (isre_any_breach_at(c->e, x) || security_active_at(c->e, c->removal, x))
        return 0;
    wss_wwa_asin_state *list;
    size_t n, gaps;
    if (checklist_at(c->e, x, &list, &n, &gaps) != WSS_OK)
        return 0;
    free(list);
    return n > 0 && gaps == 0;
}

/* Replays removals and reinstatements for availability up to c->t. */
static void availability_replay(const avail_ctx *c, int *removed, long long *since, int *streak_out,
                                long long *reinstated)
{
    int out = 0, streak = 0;
    long long cand = -1;
    *since = *reinstated = -1;
    for (size_t k = 0; k <= c->ntriggers; k++) {
        long long next = k < c->ntriggers ? c->triggers[k] : WWA_INF_MS;
        if (out) {
            streak = 0;
            for (long long ms = cand;;) {
                long long me = wwa_next_month_start(ms);
                if (me > c->t || me >= next)
                    break;
                streak = month_compliant(c, ms, me) ? streak + 1 : 0;
                if (streak >= WSS_WWA_REINSTATE_MONTHS && others_hold(c, me)) {
                    out = 0;
                    *reinstated = me;
                    break;
                }
                ms = me;
            }
        }
        if (k == c->ntriggers)
            break;
        if (!out) {
            out = 1;
            *since = c->triggers[k];
        }
        cand = wwa_next_month_start(c->triggers[k]);
    }
    *removed = out;
    *streak_out = out ? streak : 0;
}

/* ------------------------------------------------------------ the state */

typedef struct builder {
    wss_wwa_state *s;
    size_t rcap, wcap;
    int nomem;
} builder;

static void add_reason(builder *b, wss_wwa_reason_kind kind, long long since, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_warning(builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_reason(builder *b, wss_wwa_reason_kind kind, long long since, const char *subject, const char *fmt, ...)
{
    if (b->s->nreasons == b->rcap) {
        size_t cap = b->rcap ? b->rcap * 2 : 4;
        wss_wwa_reason *grown = realloc(b->s->reasons, cap * sizeof *grown);
        if (!grown) {
            b->nomem = 1;
            return;
        }
        b->s->reasons = grown;
        b->rcap = cap;
    }
    wss_wwa_reason *r = &b->s->reasons[b->s->nreasons++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->since_ms = since;
    snprintf(r->subject, sizeof r->subject, "%s", subject ? subject : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof r->text, fmt, ap);
    va_end(ap);
}

static void add_warning(builder *b, const char *fmt, ...)
{
    if (b->s->nwarnings == b->wcap) {
        size_t cap = b->wcap ? b->wcap * 2 : 4;
        wss_wwa_warning *grown = realloc(b->s->warnings, cap * sizeof *grown);
        if (!grown) {
            b->nomem = 1;
            return;
        }
        b->s->warnings = grown;
        b->wcap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->s->warnings[b->s->nwarnings++].text, sizeof b->s->warnings[0].text, fmt, ap);
    va_end(ap);
}

void wss_wwa_state_free(wss_wwa_state *s)
{
    if (!s)
        return;
    free(s->reasons);
    free(s->warnings);
    free(s->skills);
    free(s->incidents);
    free(s->asins);
    memset(s, 0, sizeof *s);
}

static int cmp_skill_state(const void *a, const void *b)
{
    return strcmp(((const wss_wwa_skill_state *)a)->skill, ((const wss_wwa_skill_state *)b)->skill);
}

static void fill_availability(builder *b, avail_ctx *c)
{
    wss_wwa_availability *a = &b->s->availability;
    long long t = c->t;
    int y, m;
    wwa_year_month(t, &y, &m);
    long long ys = wwa_year_start(y), ye = wwa_year_start(y + 1);
    a->year = y;
    a->year_ms = ye - ys;
    a->allowance_ms = allowance(a->year_ms);
    a->downtime_ms = wwa_downtime_in(c->down, c->ndown, ys, t);
    a->left_ms = a->downtime_ms < a->allowance_ms ? a->allowance_ms - a->downtime_ms : 0;
    a->percent = t > ys ? 100.0 * (1.0 - (double)a->downtime_ms / (double)(t - ys)) : 100.0;
    a->outages = 0;
    for (size_t i = 0; i < c->noutage; i++)
        if (c->outage[i].start < ye && c->outage[i].end > ys)
            a->outages++;
    a->down_now = wwa_probes_down_at(&c->e->probes, t);
    year_crossings(c, y, &a->breach_downtime_at_ms, &a->breach_outages_at_ms);
    a->breach_downtime = a->breach_downtime_at_ms >= 0;
    a->breach_outages = a->breach_outages_at_ms >= 0;
    const wss_wwa_config *cfg = &c->e->cfg;
    a->warn_downtime = !a->breach_downtime && a->downtime_ms * 10000 >= a->allowance_ms * cfg->warn_downtime_permyriad;
    a->warn_outages = !a->breach_outages && a->outages >= cfg->warn_outages;
    if (a->warn_downtime)
        add_warning(b, "availability: %lld of %lld s of the %d downtime allowance used", a->downtime_ms / 1000,
                    a->allowance_ms / 1000, y);
    if (a->warn_outages)
        add_warning(b, "availability: %d of %d outages in %d", a->outages, WSS_WWA_MAX_OUTAGES, y);

    int removed, streak;
    long long since, reinstated;
    availability_replay(c, &removed, &since, &streak, &reinstated);
    a->compliant_months = streak;
    a->reinstated_at_ms = reinstated;
    if (removed) {
        char when[32];
        wss_wwa_format_time(since, when);
        add_reason(b, WSS_WWA_REASON_AVAILABILITY, since, "",
                   "availability threshold crossed at %s; %d of %d consecutive compliant months since", when, streak,
                   WSS_WWA_REINSTATE_MONTHS);
        b->s->requests_suspended = 1;
    }
}

static wss_err collect_triggers(avail_ctx *c)
{
    if (c->ndown == 0)
        return WSS_OK;
    int y0, y1, m;
    wwa_year_month(c->down[0].start, &y0, &m);
    wwa_year_month(c->t, &y1, &m);
    c->triggers = malloc(sizeof *c->triggers * 2 * (size_t)(y1 - y0 + 1));
    if (!c->triggers)
        return WSS_ERR_NOMEM;
    for (int y = y0; y <= y1; y++) {
        long long d, o;
        year_crossings(c, y, &d, &o);
        if (d >= 0)
            c->triggers[c->ntriggers++] = d;
        if (o >= 0)
            c->triggers[c->ntriggers++] = o;
    }
    sort(c->triggers, c->ntriggers, sizeof *c->triggers, cmp_ll);
    return WSS_OK;
}

static wss_err fill_isre(wss_wwa *e, builder *b, long long t)
{
    wss_wwa_state *s = b->s;
    const wwa_skill *sk = e->skills.items;
    if (e->skills.n == 0)
        return WSS_OK;
    s->skills = calloc(e->skills.n, sizeof *s->skills);
    if (!s->skills)
        return WSS_ERR_NOMEM;
    for (size_t i = 0; i < e->skills.n; i++) {
        wss_wwa_skill_state *k = &s->skills[s->nskills++];
        isre_replay(&sk[i], t, k);
        k->warn = k->breach || (k->total > 0 && k->invalid * 10000 >= k->total * e->cfg.warn_isre_permyriad);
    }
    sort(s->skills, s->nskills, sizeof *s->skills, cmp_skill_state);
    for (size_t i = 0; i < s->nskills; i++) {
        wss_wwa_skill_state *k = &s->skills[i];
        char when[32];
        if (k->removed) {
            wss_wwa_format_time(k->breach_start_ms, when);
            add_reason(b, WSS_WWA_REASON_ISRE, k->deadline_ms, k->skill,
                       "skill %s above 3 %% invalid responses since %s, not mitigated within 90 days", k->skill, when);
        } else if (k->breach) {
            wss_wwa_format_time(k->deadline_ms, when);
            add_warning(b, "skill %s: %.2f %% invalid responses over 30 days; mitigate before %s", k->skill, k->percent,
                        when);
        } else if (k->warn) {
            add_warning(b, "skill %s: %.2f %% invalid responses over 30 days (limit 3 %%)", k->skill, k->percent);
        }
    }
    return WSS_OK;
}

static wss_err fill_security(wss_wwa *e, builder *b, const int *removal, long long t)
{
    wss_wwa_state *s = b->s;
    const wwa_incident *in = e->incidents.items;
    const wwa_fix *fx = e->fixes.items;
    size_t n = 0;
    while (n < e->incidents.n && in[n].at <= t)
        n++;
    if (n == 0)
        return WSS_OK;
    s->incidents = calloc(n, sizeof *s->incidents);
    if (!s->incidents)
        return WSS_ERR_NOMEM;
    int y, m;
    wwa_year_month(t, &y, &m);
    for (size_t i = 0; i < n; i++) {
        wss_wwa_incident_state *o = &s->incidents[s->nincidents++];
        snprintf(o->id, sizeof o->id, "%s", in[i].id);
        o->at_ms = in[i].at;
        o->severity = in[i].severity;
        o->fixed_at_ms = -1;
        for (size_t j = 0; j < e->fixes.n; j++)
            if (strcmp(fx[j].id, in[i].id) == 0 && fx[j].at <= t && (o->fixed_at_ms < 0 || fx[j].at < o->fixed_at_ms))
                o->fixed_at_ms = fx[j].at;
        o->fix_deadline_ms = -1;
        if (o->severity == WSS_WWA_LOW || o->severity == WSS_WWA_MEDIUM) {
            o->fix_deadline_ms = o->at_ms + (o->severity == WSS_WWA_LOW ? e->cfg.fix_low_ms : e->cfg.fix_medium_ms);
            o->overdue = t > o->fix_deadline_ms && (o->fixed_at_ms < 0 || o->fixed_at_ms > o->fix_deadline_ms);
        }
        o->removal = removal[i];
        o->cleared = removal[i] && security_cleared_at(e, &in[i]) <= t;
        int iy, im;
        wwa_year_month(o->at_ms, &iy, &im);
        if (iy == y && o->severity == WSS_WWA_HIGH)
            s->high_this_year++;
        char when[32];
        wss_wwa_format_time(o->fix_deadline_ms, when);
        if (o->overdue)
            add_warning(b, "incident %s (%s) not fixed by its deadline %s: Amazon may remove the badge", o->id,
                        wss_wwa_severity_name(o->severity), when);
        if (o->removal && !o->cleared)
            add_reason(b, WSS_WWA_REASON_SECURITY, o->at_ms, o->id,
                       o->severity == WSS_WWA_CRITICAL
                           ? "critical incident %s: an independent audit, then a reinstatement request, lift it"
                           : "second high incident of the year (%s): an independent audit lifts it",
                       o->id);
    }
    if (s->high_this_year == 1)
        add_warning(b, "one high incident in %d: a second one removes all badges", y);
    return WSS_OK;
}

wss_err wss_wwa_state_at(wss_wwa *e, long long t, wss_wwa_state *out)
{
    memset(out, 0, sizeof *out);
    if (!e || !wwa_time_ok(t))
        return WSS_ERR_INVALID;
    wss_err rc = prepare(e);
    if (rc != WSS_OK)
        return rc;
    builder b = {.s = out};
    out->at_ms = t;
    avail_ctx c = {.e = e, .t = t};
    int *removal = calloc(e->incidents.n + 1, sizeof *removal);
    if (!removal)
        return WSS_ERR_NOMEM;
    security_removals(e, removal);
    c.removal = removal;
    rc = wwa_probes_stretches(&e->probes, t, &c.down, &c.ndown);
    if (rc == WSS_OK && c.ndown) {
        c.outage = malloc(c.ndown * sizeof *c.outage);
        if (!c.outage)
            rc = WSS_ERR_NOMEM;
        else {
            memcpy(c.outage, c.down, c.ndown * sizeof *c.down);
            c.noutage = c.ndown;
            wwa_merge_outages(c.outage, &c.noutage, e->cfg.outage_merge_gap_ms);
        }
    }
    if (rc == WSS_OK)
        rc = collect_triggers(&c);
    if (rc == WSS_OK)
        fill_availability(&b, &c);
    if (rc == WSS_OK)
        rc = fill_isre(e, &b, t);
    if (rc == WSS_OK)
        rc = fill_security(e, &b, removal, t);
    if (rc == WSS_OK)
        rc = checklist_at(e, t, &out->asins, &out->nasins, &out->checklist_gaps);
    if (rc == WSS_OK) {
        out->checklist_ok = out->nasins > 0 && out->checklist_gaps == 0;
        if (out->nasins == 0)
            add_warning(&b, "product checklist: no ASIN attested yet; a badge request would be rejected");
        else if (out->checklist_gaps)
            add_warning(&b, "product checklist: %zu gaps; a badge request would be rejected", out->checklist_gaps);
    }
    free(removal);
    free(c.down);
    free(c.outage);
    free(c.triggers);
    if (rc == WSS_OK && b.nomem)
        rc = WSS_ERR_NOMEM;
    if (rc != WSS_OK) {
        wss_wwa_state_free(out);
        return rc;
    }
    out->badge_held = out->nreasons == 0;
    return WSS_OK;
}

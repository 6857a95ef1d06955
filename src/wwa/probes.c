/* probes.c - availability samples and the downtime they describe.
 *
 * Samples are kept exactly (any arrival order) but compactly: a regular probe
 * (one sample a second) is one run of start, step and count, so a year of
 * samples in order costs a few bytes. The state at an instant is the state of
 * the latest sample at or before it; at one instant a down sample wins over an
 * up one, so the result never depends on arrival order. */
#include <stdlib.h>
#include <string.h>

#include "wwa/internal.h"

void wwa_probes_free(wwa_probes *p)
{
    free(p->runs);
    memset(p, 0, sizeof *p);
}

static long long run_last(const wwa_run *r) { return r->start + (r->count - 1) * r->step; }

/* Makes room for extra more runs at index i (moving the tail). */
static wss_err open_gap(wwa_probes *p, size_t i, size_t extra)
{
    if (p->n + extra > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        while (cap < p->n + extra)
            cap *= 2;
        wwa_run *r = realloc(p->runs, cap * sizeof *r);
        if (!r)
            return WSS_ERR_NOMEM;
        p->runs = r;
        p->cap = cap;
    }
    memmove(p->runs + i + extra, p->runs + i, (p->n - i) * sizeof *p->runs);
    p->n += extra;
    return WSS_OK;
}

static wss_err insert_single(wwa_probes *p, size_t i, long long t, int down)
{
    wss_err rc = open_gap(p, i, 1);
    if (rc == WSS_OK)
        p->runs[i] = (wwa_run){t, 0, 1, down};
    return rc;
}

/* The index of the last run starting at or before t, or -1. */
static long find_run(const wwa_probes *p, long long t)
{
    long lo = 0, hi = (long)p->n - 1, found = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (p->runs[mid].start <= t) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

/* Puts a sample at t inside run i, whose span holds t: it becomes its own run
 * between what comes before and after it. */
static wss_err split_run(wwa_probes *p, size_t i, long long t, int down)
{
    wwa_run r = p->runs[i];
    long long off = t - r.start, k = off / r.step;
    int on_grid = off % r.step == 0;
    if (on_grid && (r.down || !down))
        return WSS_OK; /* the effective sample at t does not change */
    wwa_run left = {r.start, r.step, on_grid ? k : k + 1, r.down};
    wwa_run right = {r.start + (k + 1) * r.step, r.step, r.count - k - 1, r.down};
    wwa_run mid = {t, 0, 1, on_grid ? (r.down || down) : down};
    wwa_run parts[3];
    size_t np = 0;
    if (left.count > 0)
        parts[np++] = left;
    parts[np++] = mid;
    if (right.count > 0)
        parts[np++] = right;
    wss_err rc = open_gap(p, i + 1, np - 1);
    if (rc != WSS_OK)
        return rc;
    memcpy(p->runs + i, parts, np * sizeof *parts);
    return WSS_OK;
}

wss_err wwa_probes_add(wwa_probes *p, long long t, int up)
{
    int down = !up;
    if (p->n == 0)
        return insert_single(p, 0, t, down);
    wwa_run *last = &p->runs[p->n - 1];
    if (t > run_last(last)) {
        if (last->down == down) {
            if (last->count == 1) {
                last->step = t - last->start;
                last->count = 2;
                return WSS_OK;
            }
            if (t == run_last(last) + last->step) {
                last->count++;
                return WSS_OK;
            }
        }
        return insert_single(p, p->n, t, down);
    }
    long i = find_run(p, t);
    if (i < 0)
        return insert_single(p, 0, t, down);
    wwa_run *r = &p->runs[i];
    if (t > run_last(r))
        return insert_single(p, (size_t)i + 1, t, down);
    if (r->count == 1) { /* t is its only sample */
        r->down = r->down || down;
        return WSS_OK;
    }
    return split_run(p, (size_t)i, t, down);
}

int wwa_probes_down_at(const wwa_probes *p, long long t)
{
    long i = find_run(p, t);
    return i >= 0 && p->runs[i].down;
}

wss_err wwa_probes_stretches(const wwa_probes *p, long long t, wwa_span **out, size_t *n)
{
    size_t cap = 0, k = 0;
    wwa_span *s = NULL;
    int down = 0;
    for (size_t i = 0; i < p->n && p->runs[i].start <= t; i++) {
        const wwa_run *r = &p->runs[i];
        if (r->down == down)
            continue;
        down = r->down;
        if (down) {
            if (k == cap) {
                cap = cap ? cap * 2 : 16;
                wwa_span *grown = realloc(s, cap * sizeof *s);
                if (!grown) {
                    free(s);
                    return WSS_ERR_NOMEM;
                }
                s = grown;
            }
            s[k++] = (wwa_span){r->start, WWA_INF_MS};
        } else {
            s[k - 1].end = r->start;
        }
    }
    *out = s;
    *n = k;
    return WSS_OK;
}

void wwa_merge_outages(wwa_span *s, size_t *n, long long gap)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (k > 0 && s[k - 1].end != WWA_INF_MS && s[i].start - s[k - 1].end < gap)
            s[k - 1].end = s[i].end;
        else
            s[k++] = s[i];
    }
    *n = k;
}

long long wwa_downtime_in(const wwa_span *s, size_t n, long long a, long long b)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first span ending after a */
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    long long sum = 0;
    for (size_t i = lo; i < n && s[i].start < b; i++) {
        long long from = s[i].start > a ? s[i].start : a;
        long long to = s[i].end < b ? s[i].end : b;
        if (to > from)
            sum += to - from;
    }
    return sum;
}

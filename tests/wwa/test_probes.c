/* test_probes.c - the compact sample store against a per-millisecond
 * timeline: random regular and irregular samples, added in random order,
 * must give the state of every millisecond and the stretches of downtime
 * that a plain array of every sample gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wwa/internal.h"

#define SPAN 2000 /* milliseconds of timeline per case */
#define CASES 3000

static uint64_t rng = 88172645463325252ULL;

static long long below(long long n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (long long)(rng % (uint64_t)n);
}

typedef struct sample {
    long long t;
    int up;
} sample;

static void test_runs_match_a_per_millisecond_timeline(void **state)
{
    (void)state;
    static sample samples[4096];
    static int down[SPAN];
    for (int c = 0; c < CASES; c++) {
        size_t n = 0;
        /* A few regular series (as a probe gives), then a few stray samples. */
        for (int series = (int)below(4); series > 0; series--) {
            long long start = below(SPAN), step = 1 + below(40), count = 1 + below(60);
            int up = (int)below(2);
            for (long long k = 0; k < count && start + k * step < SPAN; k++)
                samples[n++] = (sample){start + k * step, below(8) ? up : !up};
        }
        for (int k = (int)below(30); k > 0; k--)
            samples[n++] = (sample){below(SPAN), (int)below(2)};
        if (below(2)) /* out of order */
            for (size_t i = n; i > 1; i--) {
                size_t j = (size_t)below((long long)i);
                sample tmp = samples[i - 1];
                samples[i - 1] = samples[j];
                samples[j] = tmp;
            }
        else /* in time order: the fast path */
            for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && samples[j - 1].t > samples[j].t; j--) {
                    sample tmp = samples[j];
                    samples[j] = samples[j - 1];
                    samples[j - 1] = tmp;
                }
        wwa_probes p = {0};
        for (size_t i = 0; i < n; i++)
            assert_int_equal(wwa_probes_add(&p, samples[i].t, samples[i].up), WSS_OK);
        /* The timeline: each millisecond takes the latest sample at or before it, down winning ties. */
        int cur = 0;
        for (long long ms = 0; ms < SPAN; ms++) {
            int any = 0, any_down = 0;
            for (size_t i = 0; i < n; i++)
                if (samples[i].t == ms) {
                    any = 1;
                    any_down |= !samples[i].up;
                }
            if (any)
                cur = any_down;
            down[ms] = cur;
            if (wwa_probes_down_at(&p, ms) != cur)
                fail_msg("case %d: state at %lld is %d, expected %d", c, ms, wwa_probes_down_at(&p, ms), cur);
        }
        /* Stretches known at a random instant q, and the downtime they hold. */
        long long q = below(SPAN);
        wwa_span *s;
        size_t ns;
        assert_int_equal(wwa_probes_stretches(&p, q, &s, &ns), WSS_OK);
        long long a = below(SPAN), b = a + below(SPAN - a + 1);
        if (b > q)
            b = q;
        long long want = 0;
        for (long long ms = a; ms < b; ms++)
            want += down[ms];
        assert_int_equal(wwa_downtime_in(s, ns, a, b), want);
        for (size_t i = 0; i < ns; i++) {
            assert_true(s[i].start <= q);
            assert_true(down[s[i].start] && (s[i].start == 0 || !down[s[i].start - 1]));
            if (s[i].end != WWA_INF_MS)
                assert_true(s[i].end <= q && !down[s[i].end]);
            else
                assert_true(i == ns - 1 && down[q]);
        }
        /* Merging with a gap joins exactly the stretches whose up time between is shorter. */
        long long gap = below(50);
        size_t nm = ns;
        wwa_merge_outages(s, &nm, gap);
        size_t expect = ns;
        free(s);
        assert_int_equal(wwa_probes_stretches(&p, q, &s, &ns), WSS_OK);
        for (size_t i = 1; i < ns; i++)
            expect -= s[i].start - s[i - 1].end < gap;
        assert_int_equal(nm, expect);
        free(s);
        wwa_probes_free(&p);
    }
}

/* A year of samples a second, in order, is a handful of runs. */
static void test_regular_samples_stay_compact(void **state)
{
    (void)state;
    wwa_probes p = {0};
    for (long long t = 0; t < 365LL * 86400; t++)
        assert_int_equal(wwa_probes_add(&p, t * 1000, (t / 3600) % 500 != 7), WSS_OK);
    /* Two runs per outage (down, then up again), one to start. */
    assert_true(p.n <= 2 * (365 * 24 / 500 + 2) + 1);
    wwa_probes_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_match_a_per_millisecond_timeline),
        cmocka_unit_test(test_regular_samples_stay_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

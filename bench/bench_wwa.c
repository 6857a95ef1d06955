/* bench_wwa.c - how fast the Works with Alexa engine takes in events and
 * answers, against a baseline measured in the same run.
 *
 *   baseline   the same probe samples written to a plain array (one store
 *              per sample): what merely touching every sample costs
 *   probes     a year (2028, a leap year) of one sample a second for each of
 *              S products, each with its own engine, a few outages each
 *   directives D outcomes spread over the S skills (2 % invalid, bursts
 *              over 3 %), added out of order in blocks
 *   queries    wss_wwa_state_at at random instants of the year, per engine:
 *              median and 99th percentile latency
 *
 * Numbers are printed, never asserted.
 * Usage: bench_wwa [S=100] [D=1000000] [STEP_S=1] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wss/wwa.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;
static unsigned long long next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int skills = argc > 1 ? atoi(argv[1]) : 100;
    long long directives = argc > 2 ? atoll(argv[2]) : 1000000;
    long long step_s = argc > 3 ? atoll(argv[3]) : 1;
    if (skills < 1 || directives < 0 || step_s < 1) {
        fprintf(stderr, "usage: bench_wwa [SKILLS] [DIRECTIVES] [STEP_SECONDS]\n");
        return 2;
    }
    long long year_start, year_end;
    wss_wwa_parse_time("2028-01-01T00:00:00Z", &year_start);
    wss_wwa_parse_time("2029-01-01T00:00:00Z", &year_end);
    long long samples = (year_end - year_start) / 1000 / step_s;

    /* Baseline: one store per sample into a plain array, for one product. */
    unsigned char *flat = malloc((size_t)samples);
    if (!flat)
        return 1;
    double t0 = now_s();
    for (long long i = 0; i < samples; i++)
        flat[i] = (unsigned char)((i / 3600) % 997 != 5);
    double base_s = now_s() - t0;
    unsigned sum = 0;
    for (long long i = 0; i < samples; i += 4096)
        sum += flat[i];
    free(flat);

    wss_wwa **e = calloc((size_t)skills, sizeof *e);
    char(*names)[64] = calloc((size_t)skills, sizeof *names);
    if (!e || !names)
        return 1;
    for (int k = 0; k < skills; k++) {
        if (wss_wwa_new(NULL, &e[k]) != WSS_OK)
            return 1;
        snprintf(names[k], sizeof names[k], "amzn1.ask.skill.bench-%03d", k);
    }

    /* Probes: a year, one sample per step, each product down a few hours a year. */
    t0 = now_s();
    for (int k = 0; k < skills; k++) {
        long long phase = (long long)(next() % 2003);
        for (long long i = 0; i < samples; i++) {
            long long hour = i * step_s / 3600 + phase;
            if (wss_wwa_probe(e[k], year_start + i * step_s * 1000, hour % 2003 != 5 || (i * step_s) % 3600 > 600) !=
                WSS_OK)
                return 1;
        }
    }
    double probe_s = now_s() - t0;
    long long probe_events = samples * skills;

    /* Directives: blocks of 1000 a skill at a random time, added in random order. */
    t0 = now_s();
    for (long long done = 0; done < directives;) {
        int k = (int)(next() % (unsigned)skills);
        long long at = year_start + (long long)(next() % (unsigned long long)(year_end - year_start - 86400000));
        int burst = next() % 50 == 0;
        for (int i = 0; i < 1000 && done < directives; i++, done++) {
            int valid = (long long)(next() % 1000) >= (burst ? 60 : 20);
            if (wss_wwa_directive(e[k], at + i * 1000, names[k], valid) != WSS_OK)
                return 1;
        }
    }
    double dir_s = now_s() - t0;

    /* Queries: the first one per engine sorts what came out of order. */
    t0 = now_s();
    for (int k = 0; k < skills; k++) {
        wss_wwa_state s;
        if (wss_wwa_state_at(e[k], year_end - 1, &s) != WSS_OK)
            return 1;
        wss_wwa_state_free(&s);
    }
    double first_s = now_s() - t0;
    int nq = 20 * skills;
    double *lat = malloc((size_t)nq * sizeof *lat);
    long long removed = 0;
    if (!lat)
        return 1;
    for (int q = 0; q < nq; q++) {
        int k = q % skills;
        long long at = year_start + (long long)(next() % (unsigned long long)(year_end - year_start));
        wss_wwa_state s;
        double q0 = now_s();
        if (wss_wwa_state_at(e[k], at, &s) != WSS_OK)
            return 1;
        lat[q] = now_s() - q0;
        removed += !s.badge_held;
        wss_wwa_state_free(&s);
    }
    qsort(lat, (size_t)nq, sizeof *lat, cmp_double);

    printf("bench_wwa: %d products, a year of probes every %lld s, %lld directive outcomes\n", skills, step_s,
           directives);
    printf("  baseline (plain array)  %12.0f samples/s\n", (double)samples / base_s);
    printf("  probes                  %12.0f events/s  (%.2f x baseline, %lld events in %.2f s)\n",
           (double)probe_events / probe_s, ((double)probe_events / probe_s) / ((double)samples / base_s), probe_events,
           probe_s);
    printf("  directives              %12.0f events/s  (%lld in %.2f s)\n", directives / dir_s, directives, dir_s);
    printf("  first query per engine  %12.3f ms (sorting included)\n", first_s * 1000 / skills);
    printf("  query latency           %12.3f ms median, %.3f ms p99 (%d queries; %lld found the badge removed)\n",
           lat[nq / 2] * 1000, lat[nq * 99 / 100] * 1000, nq, removed);
    (void)sum;
    free(lat);
    for (int k = 0; k < skills; k++)
        wss_wwa_free(e[k]);
    free(e);
    free(names);
    return 0;
}

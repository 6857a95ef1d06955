/* metrics.c - the cloud's counters and directive latency histogram, served
 * as Prometheus text on GET /metrics.
 *
 * Counters are plain atomics; dead letters are counted per gateway error code
 * in a small fixed table (codes are few), and the histogram has fixed
 * buckets per directive name. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/internal.h"
#include "common/clock.h"

#define MAX_CODES 32
#define MAX_DIRECTIVES 8

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NBUCKETS (sizeof buckets / sizeof *buckets)

typedef struct histogram {
    char name[48];
    unsigned long long count[NBUCKETS + 1]; /* the last one is +Inf */
    unsigned long long total;
    double sum;
} histogram;

struct cloud_metrics {
    atomic_ullong counters[CLOUD_COUNTER__COUNT];
    pthread_mutex_t lock; /* guards the two tables below */
    char codes[MAX_CODES][64];
    unsigned long long code_counts[MAX_CODES];
    histogram directives[MAX_DIRECTIVES];
};

static const struct {
    const char *name;
    const char *help;
} counter_info[CLOUD_COUNTER__COUNT] = {
    [CLOUD_REPORTS_ACCEPTED] = {"wss_cloud_reports_accepted_total", "Device association reports accepted."},
    [CLOUD_EVENTS_SENT] = {"wss_cloud_events_sent_total", "Events the gateway accepted (2xx)."},
    [CLOUD_EVENTS_RETRIED] = {"wss_cloud_events_retried_total", "Event deliveries scheduled for another try."},
    [CLOUD_TOKEN_REFRESHES] = {"wss_cloud_token_refreshes_total", "client_credentials tokens fetched from LWA."},
    [CLOUD_DIRECTIVES] = {"wss_cloud_directives_total", "Alexa directives handled by the skill endpoint."},
};

long long cloud_now_ms(void) { return wss_wall_ms(); }

struct cloud_metrics *cloud_metrics_new(void)
{
    struct cloud_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

void cloud_metrics_free(struct cloud_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void cloud_metrics_inc(struct cloud_metrics *m, cloud_counter which)
{
    if (m && which < CLOUD_COUNTER__COUNT)
        atomic_fetch_add(&m->counters[which], 1);
}

/* Codes come from the gateway: keep only label-safe characters. */
static void label_safe(char *out, size_t outlen, const char *in)
{
    size_t o = 0;
    for (; in && *in && o + 1 < outlen; in++)
        out[o++] = (*in >= 'A' && *in <= 'Z') || (*in >= 'a' && *in <= 'z') || (*in >= '0' && *in <= '9') ? *in : '_';
    out[o] = 0;
    if (!o)
        snprintf(out, outlen, "UNKNOWN");
}

void cloud_metrics_dead_letter(struct cloud_metrics *m, const char *code)
{
    if (!m)
        return;
    char safe[64];
    label_safe(safe, sizeof safe, code);
    pthread_mutex_lock(&m->lock);
    int i;
    for (i = 0; i < MAX_CODES && m->codes[i][0]; i++)
        if (strcmp(m->codes[i], safe) == 0)
            break;
    if (i == MAX_CODES)
        i = MAX_CODES - 1; /* the table is full: the last slot collects the rest */
    else if (!m->codes[i][0])
        snprintf(m->codes[i], sizeof m->codes[i], "%s", safe);
    m->code_counts[i]++;
    pthread_mutex_unlock(&m->lock);
}

void cloud_metrics_directive_latency(struct cloud_metrics *m, const char *directive, double seconds)
{
    if (!m)
        return;
    char safe[48];
    label_safe(safe, sizeof safe, directive);
    pthread_mutex_lock(&m->lock);
    histogram *h = NULL;
    for (int i = 0; i < MAX_DIRECTIVES && !h; i++)
        if (!m->directives[i].name[0] || strcmp(m->directives[i].name, safe) == 0)
            h = &m->directives[i];
    if (!h)
        h = &m->directives[MAX_DIRECTIVES - 1];
    if (!h->name[0])
        snprintf(h->name, sizeof h->name, "%s", safe);
    size_t b = 0;
    while (b < NBUCKETS && seconds > buckets[b])
        b++;
    h->count[b]++;
    h->total++;
    h->sum += seconds;
    pthread_mutex_unlock(&m->lock);
}

/* Appends printf-formatted text to a growing buffer. */
static void emit(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void emit(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (*buf && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return;
        }
        size_t ncap = (*cap ? *cap * 2 : 4096) + (size_t)n;
        char *p = realloc(*buf, ncap);
        if (!p)
            return;
        *buf = p;
        *cap = ncap;
    }
}

void cloud_metrics_handle(cloud *c, const wss_http_request *req, wss_http_response *resp)
{
    struct cloud_metrics *m = c->metrics;
    if (strcmp(req->method, "GET") != 0) {
        wss_http_reply_text(resp, 405, "use GET\n");
        return;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < CLOUD_COUNTER__COUNT; i++)
        emit(&buf, &len, &cap, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counter_info[i].name, counter_info[i].help,
             counter_info[i].name, counter_info[i].name, (unsigned long long)atomic_load(&m->counters[i]));
    pthread_mutex_lock(&m->lock);
    emit(&buf, &len, &cap,
         "# HELP wss_cloud_events_dead_lettered_total Events given up on, by the gateway's code.\n"
         "# TYPE wss_cloud_events_dead_lettered_total counter\n");
    for (int i = 0; i < MAX_CODES && m->codes[i][0]; i++)
        emit(&buf, &len, &cap, "wss_cloud_events_dead_lettered_total{code=\"%s\"} %llu\n", m->codes[i],
             m->code_counts[i]);
    emit(&buf, &len, &cap,
         "# HELP wss_cloud_directive_seconds Time to answer an Alexa directive.\n"
         "# TYPE wss_cloud_directive_seconds histogram\n");
    for (int i = 0; i < MAX_DIRECTIVES && m->directives[i].name[0]; i++) {
        const histogram *h = &m->directives[i];
        unsigned long long cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += h->count[b];
            emit(&buf, &len, &cap, "wss_cloud_directive_seconds_bucket{directive=\"%s\",le=\"%g\"} %llu\n", h->name,
                 buckets[b], cumulative);
        }
        emit(&buf, &len, &cap,
             "wss_cloud_directive_seconds_bucket{directive=\"%s\",le=\"+Inf\"} %llu\n"
             "wss_cloud_directive_seconds_sum{directive=\"%s\"} %.6f\n"
             "wss_cloud_directive_seconds_count{directive=\"%s\"} %llu\n",
             h->name, h->total, h->name, h->sum, h->name, h->total);
    }
    pthread_mutex_unlock(&m->lock);
    resp->status = buf ? 200 : 500;
    resp->body = buf;
    resp->body_len = len;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

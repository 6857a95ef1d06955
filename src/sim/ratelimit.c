/* ratelimit.c - per-client token buckets for the event gateway.
 *
 * Buckets live in memory only: after a restart every client starts with a
 * full bucket, which is what a fresh gateway host would give it too. The
 * table is bounded; when full, the least recently used bucket is reused. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/internal.h"

#define BUCKETS 1024

typedef struct bucket {
    char client[256];
    double tokens;
    double last_s;
} bucket;

struct sim_ratelimit {
    pthread_mutex_t lock;
    bucket b[BUCKETS];
    int used;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sim_ratelimit *sim_ratelimit_new(void)
{
    struct sim_ratelimit *rl = calloc(1, sizeof *rl);
    if (rl)
        pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void sim_ratelimit_free(struct sim_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static bucket *find(struct sim_ratelimit *rl, const char *client, int burst, double now)
{
    bucket *oldest = NULL;
    for (int i = 0; i < rl->used; i++) {
        if (strcmp(rl->b[i].client, client) == 0)
            return &rl->b[i];
        if (!oldest || rl->b[i].last_s < oldest->last_s)
            oldest = &rl->b[i];
    }
    bucket *b = rl->used < BUCKETS ? &rl->b[rl->used++] : oldest;
    strncpy(b->client, client, sizeof b->client - 1);
    b->client[sizeof b->client - 1] = 0;
    b->tokens = burst;
    b->last_s = now;
    return b;
}

int sim_ratelimit_allow(struct sim_ratelimit *rl, const char *client, double per_s, int burst)
{
    double now = mono_s();
    pthread_mutex_lock(&rl->lock);
    bucket *b = find(rl, client, burst, now);
    b->tokens += (now - b->last_s) * per_s;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_s = now;
    int ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

/* bench_cloud_store.c - how fast the cloud store binds devices to users
 * (CDAD), against a baseline measured in the same run.
 *
 *   baseline  one binding per transaction: a plain INSERT + COMMIT loop on a
 *             separate database with the same pragmas (WAL, synchronous=FULL)
 *   bind xT   N binds through cloud_store's bind from T threads at once
 *             (1, 2, 8, 64), which the store commits in groups
 *
 * Each measurement starts from a copy of one store seeded with N device
 * reports and two users, in a temporary folder (under $TMPDIR, else /tmp).
 * Three interleaved rounds; prints the median binds per second (and the
 * range), the ratio to the baseline's median and how many binds shared a
 * transaction. Numbers are printed, never asserted.
 * Usage: bench_cloud_store [N] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloud/store.h"
#include "cloud/store_sqlite_test.h"
#include "common/db.h"
#include "common/file.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Removes a database with its WAL and shared-memory files. */
static void remove_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        wss_remove_tree(p);
    }
}

static void device_name(char *out, size_t size, int i) { snprintf(out, size, "amzn1.device.bench-%08d", i); }

/* ---- the baseline: one transaction per binding ---------------------------------- */

static const char *const baseline_schema[] = {
    "CREATE TABLE bindings (device_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, friendly_name TEXT,"
    "  created_ms INTEGER NOT NULL);",
};

static double baseline(const char *dir, int n)
{
    char path[4200], err[256];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/baseline.db", dir);
    remove_db(path);
    if (wss_db_open(path, baseline_schema, 1, &db, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "baseline: %s\n", err);
        exit(1);
    }
    sqlite3_stmt *begin = wss_db_prepare(db, "BEGIN IMMEDIATE", "");
    sqlite3_stmt *commit = wss_db_prepare(db, "COMMIT", "");
    sqlite3_stmt *insert = wss_db_prepare(
        db, "INSERT INTO bindings (device_id, user_id, friendly_name, created_ms) VALUES (?, 'user-0', 'Lamp', 1)", "");
    double start = now_s();
    for (int i = 0; i < n; i++) {
        char device[64];
        device_name(device, sizeof device, i);
        sqlite3_bind_text(insert, 1, device, -1, SQLITE_TRANSIENT);
        int ok = sqlite3_step(begin) == SQLITE_DONE && sqlite3_step(insert) == SQLITE_DONE &&
                 sqlite3_step(commit) == SQLITE_DONE;
        sqlite3_reset(begin);
        sqlite3_reset(insert);
        sqlite3_reset(commit);
        if (!ok) {
            fprintf(stderr, "baseline: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
    }
    double elapsed = now_s() - start;
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    remove_db(path);
    return (double)n / elapsed;
}

/* ---- binds through the store, from T threads ------------------------------------- */

typedef struct binder {
    cloud_store *st;
    int first, count;
    int failed;
} binder;

static void *bind_range(void *arg)
{
    binder *b = arg;
    for (int i = b->first; i < b->first + b->count; i++) {
        char device[64];
        device_name(device, sizeof device, i);
        if (b->st->ops->bind(b->st, device, i % 2 ? "user-1" : "user-0", "Lamp", NULL, 2000, NULL) != WSS_OK)
            b->failed++;
    }
    return NULL;
}

static cloud_store *open_store(const char *path)
{
    char err[256];
    cloud_store *st = NULL;
    if (cloud_store_open_sqlite(path, &st, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "store: %s\n", err);
        exit(1);
    }
    return st;
}

/* A store with n device reports and two users, closed (so checkpointed into
 * one file) and kept as the template every measurement starts from. */
static void seed_template(const char *path, int n)
{
    cloud_store *st = open_store(path);
    int ok = st->ops->user_add(st, "user-0", "Bench zero", 1) == WSS_OK &&
             st->ops->user_add(st, "user-1", "Bench one", 1) == WSS_OK;
    for (int i = 0; ok && i < n; i++) {
        char device[64], message_id[64];
        device_name(device, sizeof device, i);
        snprintf(message_id, sizeof message_id, "msg-%d", i);
        cloud_report r = {.device_id = device,
                          .global_device_id = "G030QC0000000001",
                          .session_token = "session-token",
                          .signature = "MEUCIQ==",
                          .naming_categories = "[\"LIGHT\"]",
                          .gateway_url = "https://api.amazonalexa.com/v3/events"};
        ok = st->ops->report_add(st, &r, message_id, "{\"event\":{}}", 1) == WSS_OK;
    }
    st->ops->close(st);
    if (!ok) {
        fprintf(stderr, "store: cannot seed the reports\n");
        exit(1);
    }
}

static void copy_file(const char *from, const char *to)
{
    char *data = NULL;
    size_t len = 0;
    if (wss_read_file(from, (size_t)1 << 30, &data, &len) != WSS_OK ||
        wss_write_file_atomic(to, data, len, 0600) != WSS_OK) {
        fprintf(stderr, "cannot copy the template store\n");
        exit(1);
    }
    free(data);
}

typedef struct result {
    double rate;       /* binds per second */
    double per_commit; /* binds per transaction */
    int failed;
} result;

static result bench_binds(const char *dir, const char *template_path, int nthreads, int n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/store-%d.db", dir, nthreads);
    remove_db(path);
    copy_file(template_path, path);
    cloud_store *st = open_store(path);
    pthread_t *threads = calloc((size_t)nthreads, sizeof *threads);
    binder *binders = calloc((size_t)nthreads, sizeof *binders);
    if (!threads || !binders) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    result res = {0};
    double start = now_s();
    for (int t = 0, first = 0; t < nthreads; t++) {
        int count = n / nthreads + (t < n % nthreads);
        binders[t] = (binder){.st = st, .first = first, .count = count};
        first += count;
        if (pthread_create(&threads[t], NULL, bind_range, &binders[t]) != 0) {
            fprintf(stderr, "cannot start thread %d\n", t);
            exit(1);
        }
    }
    for (int t = 0; t < nthreads; t++) {
        pthread_join(threads[t], NULL);
        res.failed += binders[t].failed;
    }
    res.rate = (double)n / (now_s() - start);

    cloud_store_sqlite_stats stats;
    cloud_store_sqlite_get_stats(st, &stats);
    res.per_commit = stats.bind_transactions ? (double)stats.binds / (double)stats.bind_transactions : 0.0;
    st->ops->close(st);
    remove_db(path);
    free(threads);
    free(binders);
    return res;
}

/* ---- rounds and the report ------------------------------------------------------- */

#define ROUNDS 3
#define CONFIGS 4
static const int thread_counts[CONFIGS] = {1, 2, 8, 64};

static int by_rate(const void *a, const void *b)
{
    double x = ((const result *)a)->rate, y = ((const result *)b)->rate;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_cloud_store [N]\n");
        return 2;
    }
    const char *base_dir = getenv("TMPDIR");
    char dir[4096], template_path[4200];
    snprintf(dir, sizeof dir, "%s/wss-bench-cloud-store-XXXXXX", base_dir && *base_dir ? base_dir : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(template_path, sizeof template_path, "%s/template.db", dir);
    seed_template(template_path, n);

    /* Rounds interleave the measurements so that a disk or a neighbour that
     * slows down for a while affects all of them alike; medians are shown. */
    result base[ROUNDS], binds[CONFIGS][ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        base[round] = (result){.rate = baseline(dir, n), .per_commit = 1.0};
        for (int c = 0; c < CONFIGS; c++)
            binds[c][round] = bench_binds(dir, template_path, thread_counts[c], n);
    }

    qsort(base, ROUNDS, sizeof *base, by_rate);
    double base_rate = base[ROUNDS / 2].rate;
    printf("%d binds per measurement, median of %d rounds; WAL, synchronous=FULL\n", n, ROUNDS);
    printf("baseline  %9.0f binds/s  (%.0f..%.0f)  one INSERT + COMMIT per binding\n", base_rate, base[0].rate,
           base[ROUNDS - 1].rate);
    for (int c = 0; c < CONFIGS; c++) {
        int failed = 0;
        for (int round = 0; round < ROUNDS; round++)
            failed += binds[c][round].failed;
        qsort(binds[c], ROUNDS, sizeof *binds[c], by_rate);
        result *mid = &binds[c][ROUNDS / 2];
        printf("bind x%-3d %9.0f binds/s  (%.0f..%.0f)  %5.2fx baseline  %6.1f binds per transaction%s\n",
               thread_counts[c], mid->rate, binds[c][0].rate, binds[c][ROUNDS - 1].rate, mid->rate / base_rate,
               mid->per_commit, failed ? "  (some binds failed)" : "");
    }

    wss_remove_tree(dir);
    return 0;
}

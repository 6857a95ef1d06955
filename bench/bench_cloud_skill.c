/* bench_cloud_skill.c - the cloud's Smart Home skill endpoint under
 * AssociateCustomerDevice (CDAD) load, against a trivial route of the same
 * server measured in the same run.
 *
 * Starts `wss cloud` in-process (wss_cloud_start) on 127.0.0.1 over plain
 * HTTP: in production the skill endpoint sits behind a TLS-terminating proxy,
 * so TLS is not the cloud's work. Before the cloud starts, its store is
 * seeded through the store interface with U users (each with an
 * account-linking token and an Alexa grant) and N device reports; the
 * reports' SDAEs are then marked delivered, so the outbox starts empty. Then,
 * over C keep-alive connections (default 64):
 *   baseline  GET /healthz
 *   cdad      POST /alexa/skill, N distinct CDADs (device i for user i % U):
 *             each a new binding, committed before the answer (the store
 *             batches concurrent binds into one transaction), with its
 *             proactive discovery event queued in the same transaction
 * Each measurement stops after N requests (default 200,000) or --max-seconds
 * (default 60), whichever comes first; every answer is checked (200 and, for
 * CDAD, an Alexa.Response). Prints requests/s, p50 and p99 latency, CPU time
 * per request, the ratio cdad / baseline and the target (50,000 CDAD/s on 2
 * CPUs), met or not: printed, never asserted. --only runs one of the two.
 *
 * The load generator runs in this process on the same CPUs as the server, and
 * its share of the CPU time is printed. By default it is a small epoll client
 * over raw sockets in 2 threads (as wrk -t2 would be); --client curl uses one
 * libcurl easy handle per connection, each in its own thread, which costs
 * about 4 times the CPU per request (9 us against 2.3 us for /healthz), CPU
 * the server then lacks: it halves the baseline.
 *
 * The outbox sends the discovery events to a closed port on 127.0.0.1 (LWA
 * is configured there too, unused while the users' grants are fresh): each
 * event is tried once and rescheduled 5 to 10 minutes later, one store write
 * per event, as a delivery costs in production. How many were tried during
 * the CDAD measurement is printed.
 *
 * Usage: bench_cloud_skill [N] [--connections C] [--users U] [--client raw|curl]
 *                          [--client-threads T] [--max-seconds S]
 *                          [--only baseline|cdad] [--log LEVEL] */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT: the CPUs this run may use */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cloud/internal.h"
#include "cloud/store.h"
#include "cloud/store_sqlite_test.h"
#include "common/crypto.h"
#include "common/db.h"
#include "common/file.h"
#include "common/log.h"
#include "wss/cloud.h"

#define TARGET_PER_S 50000.0
#define SECRET_ENV "WSS_BENCH_SKILL_LWA_SECRET"
#define REQ_MAX 2048
#define RESP_MAX 16384

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double process_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_cloud_skill: %s\n", what);
    exit(1);
}

/* ---- what is sent ------------------------------------------------------------ */

typedef enum phase_kind { PHASE_HEALTHZ, PHASE_CDAD } phase_kind;

typedef struct bench_config {
    long n;
    int connections;
    int users;
    int curl_client;
    int client_threads;
    double max_seconds;
    int port;
} bench_config;

static void device_id(char *out, size_t size, long i) { snprintf(out, size, "BENCH%08ld:bench-session", i); }
static void user_id(char *out, size_t size, long u) { snprintf(out, size, "bench-user-%ld", u); }
static void user_token(char *out, size_t size, long u) { snprintf(out, size, "bench-linking-token-%ld", u); }

/* The body of CDAD number i. */
static int cdad_body(char *out, size_t size, const bench_config *cfg, long i)
{
    char device[64], token[64];
    device_id(device, sizeof device, i);
    user_token(token, sizeof token, i % cfg->users);
    return snprintf(
        out, size,
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\","
        "\"payloadVersion\":\"3\",\"messageId\":\"bench-message-%ld\",\"correlationToken\":\"bench-corr-%ld\"},"
        "\"payload\":{\"scope\":{\"type\":\"BearerToken\",\"token\":\"%s\"},"
        "\"device\":{\"id\":\"%s\",\"preferredFriendlyNames\":[{\"@type\":\"text\","
        "\"value\":{\"text\":\"Lamp %ld\",\"locale\":\"en-US\"}}]}}}}",
        i, i, token, device, i);
}

/* The whole HTTP/1.1 request number i; its length. */
static size_t raw_request(char *out, size_t size, const bench_config *cfg, phase_kind kind, long i)
{
    if (kind == PHASE_HEALTHZ)
        return (size_t)snprintf(out, size, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", cfg->port);
    char body[REQ_MAX];
    int blen = cdad_body(body, sizeof body, cfg, i);
    return (size_t)snprintf(out, size,
                            "POST /alexa/skill HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n%s",
                            cfg->port, blen, body);
}

/* A CDAD answered with success: Alexa.Response (an error is ErrorResponse). */
static int answer_ok(phase_kind kind, int status, const char *body)
{
    if (status != 200)
        return 0;
    return kind == PHASE_HEALTHZ || strstr(body, "\"name\":\"Response\"") != NULL;
}

/* ---- one measurement --------------------------------------------------------- */

typedef struct phase {
    const bench_config *cfg;
    phase_kind kind;
    long n;
    atomic_long next;   /* the next request index to send */
    double deadline;    /* no request is started after this */
    double *latency;    /* seconds per request index; < 0: failed or not sent */
    atomic_long failed; /* answered wrongly, or the connection broke */
    atomic_long first_error_logged;
    _Atomic double client_cpu; /* CPU seconds of the load generator's threads */
} phase;

typedef struct loader {
    phase *ph;
    int nconns;
    pthread_t thread;
} loader;

/* The next request index, or -1 when the phase is over. */
static long claim(phase *ph)
{
    if (now_s() > ph->deadline)
        return -1;
    long i = atomic_fetch_add(&ph->next, 1);
    return i < ph->n ? i : -1;
}

static void fail(phase *ph, long i, const char *why, const char *body)
{
    atomic_fetch_add(&ph->failed, 1);
    if (atomic_fetch_add(&ph->first_error_logged, 1) == 0)
        fprintf(stderr, "bench_cloud_skill: request %ld failed: %s%s%.300s\n", i, why, body ? ": " : "",
                body ? body : "");
}

static void add_cpu(phase *ph, double s)
{
    double old = atomic_load(&ph->client_cpu);
    while (!atomic_compare_exchange_weak(&ph->client_cpu, &old, old + s))
        ;
}

/* -- the raw-socket client: one epoll loop over a share of the connections -- */

typedef struct conn {
    int fd;
    long idx; /* the request on the wire, -1 when idle */
    double t0;
    char out[REQ_MAX + 256];
    char in[RESP_MAX];
    size_t in_len;
} conn;

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, 1000);
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends the next request on c, or leaves it idle when there is none. */
static void raw_send_next(phase *ph, conn *c)
{
    c->idx = claim(ph);
    if (c->idx < 0)
        return;
    size_t len = raw_request(c->out, sizeof c->out, ph->cfg, ph->kind, c->idx);
    c->in_len = 0;
    c->t0 = now_s();
    if (write_all(c->fd, c->out, len) != 0) {
        fail(ph, c->idx, "cannot send", NULL);
        c->idx = -1;
    }
}

/* 1 when c->in holds a whole response (then *status and *body are set), 0
 * when more is needed, -1 when it cannot be read. */
static int raw_response_complete(conn *c, int *status, const char **body)
{
    c->in[c->in_len] = 0;
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end)
        return c->in_len + 1 >= sizeof c->in ? -1 : 0;
    if (strncmp(c->in, "HTTP/1.1 ", 9) != 0)
        return -1;
    *status = atoi(c->in + 9);
    long clen = -1;
    for (char *line = strstr(c->in, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            clen = atol(line + 2 + 15);
    if (clen < 0)
        return -1;
    size_t total = (size_t)(end + 4 - c->in) + (size_t)clen;
    if (total >= sizeof c->in)
        return -1;
    if (c->in_len < total)
        return 0;
    if (c->in_len > total)
        return -1; /* nothing is pipelined: more bytes than asked for */
    *body = end + 4;
    return 1;
}

static void *raw_loader_main(void *arg)
{
    loader *ld = arg;
    phase *ph = ld->ph;
    double cpu0 = thread_cpu_s();
    int ep = epoll_create1(EPOLL_CLOEXEC);
    conn *conns = calloc((size_t)ld->nconns, sizeof *conns);
    if (ep < 0 || !conns)
        die("cannot set up the load generator");
    int busy = 0;
    for (int k = 0; k < ld->nconns; k++) {
        conn *c = &conns[k];
        c->fd = connect_local(ph->cfg->port);
        if (c->fd < 0)
            die("cannot connect to the cloud");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        raw_send_next(ph, c);
        busy += c->idx >= 0;
    }
    struct epoll_event evs[64];
    while (busy > 0) {
        int n = epoll_wait(ep, evs, 64, 1000);
        if (n < 0 && errno != EINTR)
            die("epoll_wait failed");
        if (n == 0 && now_s() > ph->deadline + 30) {
            fprintf(stderr, "bench_cloud_skill: %d requests got no answer within 30 s of the deadline\n", busy);
            break;
        }
        for (int e = 0; e < n; e++) {
            conn *c = evs[e].data.ptr;
            ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            int status = 0, done = -1;
            const char *body = NULL;
            if (r > 0) {
                c->in_len += (size_t)r;
                done = raw_response_complete(c, &status, &body);
            }
            if (done == 0)
                continue;
            if (c->idx < 0) { /* the server closed an idle connection */
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                continue;
            }
            if (done == 1 && answer_ok(ph->kind, status, body))
                ph->latency[c->idx] = now_s() - c->t0;
            else {
                fail(ph, c->idx, done == 1 ? "unexpected answer" : "connection broken", done == 1 ? body : NULL);
                if (done != 1) { /* start over on a new connection */
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->fd = connect_local(ph->cfg->port);
                    if (c->fd < 0)
                        die("cannot reconnect to the cloud");
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                }
            }
            raw_send_next(ph, c);
            if (c->idx < 0)
                busy--;
        }
    }
    for (int k = 0; k < ld->nconns; k++)
        if (conns[k].fd >= 0)
            close(conns[k].fd);
    close(ep);
    free(conns);
    add_cpu(ph, thread_cpu_s() - cpu0);
    return NULL;
}

/* -- the libcurl client: one easy handle (one connection) per thread -- */

typedef struct curl_buf {
    char data[RESP_MAX];
    size_t len;
} curl_buf;

static size_t curl_collect(char *p, size_t size, size_t nmemb, void *userdata)
{
    curl_buf *b = userdata;
    size_t n = size * nmemb;
    size_t keep = b->len + n < sizeof b->data ? n : sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, p, keep);
    b->len += keep;
    b->data[b->len] = 0;
    return n;
}

static void *curl_loader_main(void *arg)
{
    loader *ld = arg;
    phase *ph = ld->ph;
    double cpu0 = thread_cpu_s();
    char url[128], body[REQ_MAX];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", ph->cfg->port,
             ph->kind == PHASE_HEALTHZ ? "/healthz" : "/alexa/skill");
    curl_buf *buf = malloc(sizeof *buf);
    CURL *h = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (!buf || !h || !headers)
        die("cannot set up the load generator");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, buf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (ph->kind == PHASE_CDAD)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    for (long i; (i = claim(ph)) >= 0;) {
        if (ph->kind == PHASE_CDAD) {
            int blen = cdad_body(body, sizeof body, ph->cfg, i);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)blen);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        }
        buf->len = 0;
        buf->data[0] = 0;
        double t0 = now_s();
        long status = 0;
        CURLcode rc = curl_easy_perform(h);
        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && answer_ok(ph->kind, (int)status, buf->data))
            ph->latency[i] = now_s() - t0;
        else
            fail(ph, i, rc == CURLE_OK ? "unexpected answer" : curl_easy_strerror(rc), buf->data);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    free(buf);
    add_cpu(ph, thread_cpu_s() - cpu0);
    return NULL;
}

typedef struct result {
    long requests; /* answered as expected */
    long failed;
    double seconds;
    double rate;
    double p50_ms, p99_ms;
    double client_cpu_share; /* of all the CPU time the process used */
    double cpu_busy;         /* CPU seconds used by the process per wall second */
} result;

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static result run_phase(const bench_config *cfg, phase_kind kind)
{
    phase *ph = calloc(1, sizeof *ph);
    if (!ph || !(ph->latency = malloc((size_t)cfg->n * sizeof *ph->latency)))
        die("out of memory");
    ph->cfg = cfg;
    ph->kind = kind;
    ph->n = cfg->n;
    for (long i = 0; i < cfg->n; i++)
        ph->latency[i] = -1;

    int nthreads = cfg->curl_client ? cfg->connections : cfg->client_threads;
    if (nthreads > cfg->connections)
        nthreads = cfg->connections;
    loader *loaders = calloc((size_t)nthreads, sizeof *loaders);
    if (!loaders)
        die("out of memory");
    double cpu0 = process_cpu_s(), start = now_s();
    ph->deadline = start + cfg->max_seconds;
    for (int t = 0; t < nthreads; t++) {
        loaders[t] = (loader){.ph = ph, .nconns = cfg->connections / nthreads + (t < cfg->connections % nthreads)};
        if (pthread_create(&loaders[t].thread, NULL, cfg->curl_client ? curl_loader_main : raw_loader_main,
                           &loaders[t]) != 0)
            die("cannot start the load generator's threads");
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(loaders[t].thread, NULL);
    double elapsed = now_s() - start, cpu = process_cpu_s() - cpu0;

    result res = {.failed = atomic_load(&ph->failed), .seconds = elapsed};
    for (long i = 0; i < cfg->n; i++)
        if (ph->latency[i] >= 0)
            ph->latency[res.requests++] = ph->latency[i];
    qsort(ph->latency, (size_t)res.requests, sizeof *ph->latency, by_value);
    if (res.requests > 0) {
        res.p50_ms = ph->latency[(res.requests - 1) * 50 / 100] * 1e3;
        res.p99_ms = ph->latency[(res.requests - 1) * 99 / 100] * 1e3;
    }
    res.rate = (double)res.requests / elapsed;
    res.client_cpu_share = cpu > 0 ? atomic_load(&ph->client_cpu) / cpu : 0;
    res.cpu_busy = cpu / elapsed;
    free(loaders);
    free(ph->latency);
    free(ph);
    return res;
}

/* ---- the cloud and its store ---------------------------------------------------- */

/* A port on 127.0.0.1 that refuses connections for as long as fd stays open:
 * bound, never listening. */
static int closed_port(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(*fd, (struct sockaddr *)&sa, &len) != 0)
        die("cannot reserve a closed port");
    return ntohs(sa.sin_port);
}

static void write_config(const char *path, const char *state_dir, int dead_port)
{
    char url[128], token_url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v3/events", dead_port);
    snprintf(token_url, sizeof token_url, "http://127.0.0.1:%d/auth/o2/token", dead_port);
    json_t *cfg =
        json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:i}", "listen", "127.0.0.1:0", "state_dir", state_dir,
                  "plain_http", 1, "lwa_client_id", "amzn1.application-oa2-client.bench", "lwa_client_secret_env",
                  SECRET_ENV, "lwa_token_url", token_url, "gateway_url", url, "retry_delay_ms", (json_int_t)600000,
                  "backoff_max_ms", (json_int_t)600000, "max_in_flight", 64);
    if (!cfg || json_dump_file(cfg, path, JSON_INDENT(2)) != 0)
        die("cannot write the configuration");
    json_decref(cfg);
}

/* U users with a token and a grant, and N reports (whose SDAEs are then
 * marked delivered: the outbox starts with nothing to send). */
static void seed(const char *db_path, const bench_config *cfg, long reports)
{
    char err[256];
    cloud_store *st = NULL;
    if (cloud_store_open_sqlite(db_path, &st, err, sizeof err) != WSS_OK)
        die(err);
    long long now = cloud_now_ms(), far = now + 30LL * 24 * 3600 * 1000;
    int ok = 1;
    for (long u = 0; ok && u < cfg->users; u++) {
        char id[64], token[64], sha[65];
        user_id(id, sizeof id, u);
        user_token(token, sizeof token, u);
        wss_sha256_hex(token, sha);
        ok = st->ops->user_add(st, id, "Bench user", now) == WSS_OK &&
             st->ops->user_token_add(st, sha, id, far) == WSS_OK &&
             st->ops->grant_put(st, id, "bench-alexa-access-token", "bench-alexa-refresh-token", far) == WSS_OK;
    }
    for (long i = 0; ok && i < reports; i++) {
        char device[64], message[64];
        device_id(device, sizeof device, i);
        snprintf(message, sizeof message, "bench-sdae-%ld", i);
        cloud_report r = {.device_id = device,
                          .global_device_id = "G030QC0000000001",
                          .session_token = "amzn1.ffs.wss-wifi-session-token.bench",
                          .signature = "MEUCIQ==",
                          .naming_categories = "[\"LIGHT\"]",
                          .gateway_url = "https://api.amazonalexa.com/v3/events"};
        ok = st->ops->report_add(st, &r, message, "{\"event\":{}}", now) == WSS_OK;
    }
    st->ops->close(st);
    if (!ok)
        die("cannot seed the store");

    sqlite3 *db = NULL;
    if (sqlite3_open(db_path, &db) != SQLITE_OK ||
        wss_db_exec(db, "UPDATE outbox SET state = 'delivered' WHERE kind = 'sdae'", err, sizeof err) != WSS_OK)
        die("cannot mark the seeded SDAEs delivered");
    sqlite3_close(db);
}

static long long count_rows(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_open(db_path, &db) == SQLITE_OK && (st = wss_db_prepare(db, sql, "")) && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* ---- main --------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: bench_cloud_skill [N] [--connections C] [--users U] [--client raw|curl]\n"
                    "                         [--client-threads T] [--max-seconds S] [--only baseline|cdad]\n"
                    "                         [--log LEVEL]\n");
    exit(2);
}

static void print_row(const char *name, const result *r)
{
    printf("  %-23s %8ld %9.0f %8.2f %8.2f %7.0f%% %8.1f %6.0f%%%s\n", name, r->requests, r->rate, r->p50_ms, r->p99_ms,
           r->cpu_busy * 100, r->rate > 0 ? r->cpu_busy / r->rate * 1e6 : 0.0, r->client_cpu_share * 100,
           r->failed ? "  (some failed)" : "");
}

int main(int argc, char **argv)
{
    bench_config cfg = {.n = 200000, .connections = 64, .users = 1, .client_threads = 2, .max_seconds = 60};
    int log_level = WSS_LOG_WARN, run_baseline = 1, run_cdad = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--connections") && v)
            cfg.connections = atoi(argv[++i]);
        else if (!strcmp(a, "--users") && v)
            cfg.users = atoi(argv[++i]);
        else if (!strcmp(a, "--client") && v && (!strcmp(v, "raw") || !strcmp(v, "curl")))
            cfg.curl_client = !strcmp(argv[++i], "curl");
        else if (!strcmp(a, "--client-threads") && v)
            cfg.client_threads = atoi(argv[++i]);
        else if (!strcmp(a, "--max-seconds") && v)
            cfg.max_seconds = atof(argv[++i]);
        else if (!strcmp(a, "--only") && v && (!strcmp(v, "baseline") || !strcmp(v, "cdad"))) {
            run_baseline = !strcmp(v, "baseline");
            run_cdad = !run_baseline;
            i++;
        } else if (!strcmp(a, "--log") && v && wss_log_level_parse(v) >= 0)
            log_level = wss_log_level_parse(argv[++i]);
        else if (a[0] != '-' && atol(a) > 0)
            cfg.n = atol(a);
        else
            usage();
    }
    if (cfg.connections <= 0 || cfg.users <= 0 || cfg.client_threads <= 0 || cfg.max_seconds <= 0)
        usage();
    wss_log_set_level((wss_log_level)log_level);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    const char *base_dir = getenv("TMPDIR");
    char dir[4096], state[4200], config_path[4200], db_path[4300], err[512];
    snprintf(dir, sizeof dir, "%s/wss-bench-cloud-skill-XXXXXX", base_dir && *base_dir ? base_dir : "/tmp");
    if (!mkdtemp(dir))
        die("cannot make a temporary folder");
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(config_path, sizeof config_path, "%s/cloud.json", dir);
    snprintf(db_path, sizeof db_path, "%s/cloud.db", state);
    if (wss_mkdir(state) != WSS_OK)
        die("cannot make the state folder");
    setenv(SECRET_ENV, "bench-lwa-client-secret", 1);
    int dead_fd, dead_port = closed_port(&dead_fd);
    write_config(config_path, state, dead_port);

    double t = now_s();
    seed(db_path, &cfg, run_cdad ? cfg.n : 0);
    double seed_s = now_s() - t;

    wss_cloud *cloud_ = NULL;
    wss_cloud_options opts = {.config_path = config_path};
    if (wss_cloud_start(&opts, &cloud_, err, sizeof err) != WSS_OK)
        die(err);
    const char *base = wss_cloud_base_url(cloud_);
    cfg.port = atoi(strrchr(base, ':') + 1);

    result healthz = {0}, cdad = {0};
    cloud_store_sqlite_stats before, after;
    long long tried = 0;
    if (run_baseline)
        healthz = run_phase(&cfg, PHASE_HEALTHZ);
    if (run_cdad) {
        cloud_store_sqlite_get_stats(cloud_->store, &before);
        cdad = run_phase(&cfg, PHASE_CDAD);
        cloud_store_sqlite_get_stats(cloud_->store, &after);
        tried = count_rows(db_path, "SELECT count(*) FROM outbox WHERE kind = 'discovery' AND attempts > 0");
    }
    wss_cloud_stop(cloud_);
    close(dead_fd);
    long long bound = count_rows(db_path, "SELECT count(*) FROM bindings");
    long long queued = count_rows(db_path, "SELECT count(*) FROM outbox WHERE kind = 'discovery'");

    cpu_set_t set;
    int usable = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench_cloud_skill: the cloud's skill endpoint under AssociateCustomerDevice (CDAD) load\n");
    printf("  server: wss cloud in-process on 127.0.0.1, plain HTTP (in production the skill endpoint sits\n"
           "          behind a TLS-terminating proxy); SQLite store, WAL, synchronous=FULL\n");
    printf("  load:   %d keep-alive connections from %s,\n"
           "          in this process, sharing the same %d CPU%s with the server\n",
           cfg.connections,
           cfg.curl_client ? "libcurl (one easy handle and thread per connection)" : "a raw-socket epoll client",
           usable, usable == 1 ? "" : "s");
    if (!cfg.curl_client)
        printf("          (%d client thread%s)\n", cfg.client_threads, cfg.client_threads > 1 ? "s" : "");
    if (usable != 2)
        printf("          (the target is for 2 CPUs: taskset -c 0,1 bench_cloud_skill measures on 2)\n");
    printf("  data:   %ld device reports, %d user%s with a token and an Alexa grant, seeded in %.1f s;\n"
           "          each CDAD binds a new device; at most %ld requests or %.0f s per measurement\n",
           run_cdad ? cfg.n : 0, cfg.users, cfg.users > 1 ? "s" : "", seed_s, cfg.n, cfg.max_seconds);
    printf("\n  %-23s %8s %9s %8s %8s %8s %8s %7s\n", "", "requests", "req/s", "p50 ms", "p99 ms", "CPU", "us/req",
           "client");
    if (run_baseline)
        print_row("baseline GET /healthz", &healthz);
    if (run_cdad)
        print_row("CDAD POST /alexa/skill", &cdad);
    printf("\n  CPU: CPU time of the whole process (server and load generator) per second of the run, out of\n"
           "  %d00%%; us/req: that CPU time per request; client: the load generator's share of it\n",
           usable);
    if (run_baseline && run_cdad)
        printf("\n  ratio CDAD / baseline: %.2f\n", healthz.rate > 0 ? cdad.rate / healthz.rate : 0.0);
    if (run_cdad) {
        printf("  target: %.0f CDAD/s on 2 CPUs, each binding committed before its answer: %s (%.0f%% of it)\n",
               TARGET_PER_S, cdad.rate >= TARGET_PER_S ? "met" : "NOT met", cdad.rate / TARGET_PER_S * 100);
        unsigned long long binds = after.binds - before.binds;
        unsigned long long txns = after.bind_transactions - before.bind_transactions;
        printf("  binds:  %llu in %llu transactions (%.1f per commit); %lld bindings in the store afterwards\n", binds,
               txns, txns ? (double)binds / (double)txns : 0.0, bound);
        printf("  outbox: %lld discovery events queued, %lld of them tried during the CDAD run (the gateway is\n"
               "          a closed port: each try, one store write as a delivery would be, reschedules the event)\n",
               queued, tried);
    }

    wss_remove_tree(dir);
    curl_global_cleanup();
    return (run_baseline && healthz.requests == 0) || (run_cdad && cdad.requests == 0);
}

/* bench_device.c - libwss-device: complete Zero Touch Setup flows per second
 * on this machine, and the library's footprint.
 *
 *   bench_device [DEVICES [JOBS]]        (defaults 1000 and 8)
 *
 * 1. Footprint of one device flow, run against the real emulator and cloud:
 *    the context size, the stack high-water mark of the library (the device
 *    runs on a painted stack while every port call is carried out on another
 *    thread, so only the library's own frames touch it) and the heap the
 *    library allocates on its thread during init and during the flow.
 * 2. Code size of the core built with -Os (`size` of the archive, no OpenSSL
 *    or curl inside).
 * 3. A fleet of DEVICES devices (`wss demo`'s world): flows/s, next to a
 *    baseline measured in the same run: new mutual-TLS requests per second
 *    to the emulator's DSS with the same concurrency (each flow needs three
 *    such connections: setup network, home network, cloud).
 * Numbers only; nothing here passes or fails. */
#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"
#include "common/httpc.h"
#include "common/log.h"
#include "wss/fleet.h"

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_NO_MALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_NO_MALLOC_HOOK 1
#endif
#endif

#define STACK_SIZE (512 * 1024)
#define STACK_PAINT 0xA5
#define TARGET_TEXT_BYTES (48 * 1024)
#define TARGET_STACK_BYTES (8 * 1024)

/* ------------------------------------------------------------ heap counting */

static _Thread_local int counting;
static atomic_ullong heap_allocs, heap_bytes;

#ifndef BENCH_NO_MALLOC_HOOK
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static void count(size_t n)
{
    if (counting) {
        atomic_fetch_add(&heap_allocs, 1);
        atomic_fetch_add(&heap_bytes, n);
    }
}
void *malloc(size_t n)
{
    count(n);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    count(a * b);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    count(n);
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
#endif

/* ------------------------------------------------------------ the port proxy */

/* Every port call of the measured device runs on the proxy thread, so the
 * device thread's stack holds only the library's frames. */
typedef struct proxy {
    wss_dev_port real;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void (*job)(struct proxy *, void *);
    void *arg;
    int done, stop;
} proxy;

static void *proxy_main(void *arg)
{
    proxy *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->job && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stop && !p->job)
            break;
        void (*job)(proxy *, void *) = p->job;
        pthread_mutex_unlock(&p->lock);
        job(p, p->arg);
        pthread_mutex_lock(&p->lock);
        p->job = NULL;
        p->done = 1;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void on_proxy(proxy *p, void (*job)(proxy *, void *), void *arg)
{
    int was = counting;
    counting = 0;
    pthread_mutex_lock(&p->lock);
    p->job = job;
    p->arg = arg;
    p->done = 0;
    pthread_cond_broadcast(&p->cond);
    while (!p->done)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    counting = was;
}

typedef struct call {
    const void *a, *b, *c;
    void *out, *out2;
    size_t n1, n2, n3;
    int i;
    int rc;
    uint64_t u;
} call;

#define P(ctx) ((proxy *)(ctx))

static void j_probe(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.wifi_probe(p->real.ctx, c->a);
}
static int x_probe(void *ctx, const char *ssid)
{
    call c = {.a = ssid};
    on_proxy(P(ctx), j_probe, &c);
    return c.rc;
}
static void j_scan(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.wifi_scan(p->real.ctx, c->out, c->n1, c->out2);
}
static int x_scan(void *ctx, wss_dev_ap *aps, size_t cap, size_t *count_out)
{
    call c = {.out = aps, .n1 = cap, .out2 = count_out};
    on_proxy(P(ctx), j_scan, &c);
    return c.rc;
}
static void j_join(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.wifi_join(p->real.ctx, c->a, (wss_dev_security)c->n1, c->b, c->i);
}
static int x_join(void *ctx, const char *ssid, wss_dev_security sec, const char *key, int hidden)
{
    call c = {.a = ssid, .b = key, .n1 = (size_t)sec, .i = hidden};
    on_proxy(P(ctx), j_join, &c);
    return c.rc;
}
static void j_leave(proxy *p, void *a)
{
    (void)a;
    p->real.wifi_leave(p->real.ctx);
}
static void x_leave(void *ctx) { on_proxy(P(ctx), j_leave, NULL); }
static void j_post(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.https_post(p->real.ctx, c->a, c->out);
}
static int x_post(void *ctx, const wss_dev_http_request *req, wss_dev_http_response *resp)
{
    call c = {.a = req, .out = resp};
    on_proxy(P(ctx), j_post, &c);
    return c.rc;
}
static void j_sha(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.sha256(p->real.ctx, c->a, c->n1, c->out);
}
static int x_sha(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    call c = {.a = data, .n1 = len, .out = out};
    on_proxy(P(ctx), j_sha, &c);
    return c.rc;
}
static void j_hmac(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.hmac_sha256(p->real.ctx, c->a, c->n1, c->b, c->n2, c->out);
}
static int x_hmac(void *ctx, const uint8_t *key, size_t klen, const void *data, size_t len, uint8_t out[32])
{
    call c = {.a = key, .n1 = klen, .b = data, .n2 = len, .out = out};
    on_proxy(P(ctx), j_hmac, &c);
    return c.rc;
}
static void j_ecdh(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.ecdh_p256(p->real.ctx, c->a, c->n1, c->out);
}
static int x_ecdh(void *ctx, const uint8_t *peer, size_t len, uint8_t secret[32])
{
    call c = {.a = peer, .n1 = len, .out = secret};
    on_proxy(P(ctx), j_ecdh, &c);
    return c.rc;
}
static void j_sign(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.ecdsa_sign(p->real.ctx, c->a, c->n1, c->out, c->n2, c->out2);
}
static int x_sign(void *ctx, const void *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    call c = {.a = msg, .n1 = len, .out = sig, .n2 = cap, .out2 = sig_len};
    on_proxy(P(ctx), j_sign, &c);
    return c.rc;
}
static void j_verify(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.ecdsa_verify(p->real.ctx, c->a, c->n1, c->b, c->n2, c->c, c->n3);
}
static int x_verify(void *ctx, const uint8_t *spki, size_t spki_len, const void *msg, size_t len, const uint8_t *sig,
                    size_t sig_len)
{
    call c = {.a = spki, .n1 = spki_len, .b = msg, .n2 = len, .c = sig, .n3 = sig_len};
    on_proxy(P(ctx), j_verify, &c);
    return c.rc;
}
static void j_random(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.random(p->real.ctx, c->out, c->n1);
}
static int x_random(void *ctx, uint8_t *out, size_t len)
{
    call c = {.out = out, .n1 = len};
    on_proxy(P(ctx), j_random, &c);
    return c.rc;
}
static void j_read(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.storage_read(p->real.ctx, c->a, c->out, c->n1, c->out2);
}
static int x_read(void *ctx, const char *key, char *out, size_t cap, size_t *len)
{
    call c = {.a = key, .out = out, .n1 = cap, .out2 = len};
    on_proxy(P(ctx), j_read, &c);
    return c.rc;
}
static void j_write(proxy *p, void *a)
{
    call *c = a;
    c->rc = p->real.storage_write(p->real.ctx, c->a, c->b, c->n1);
}
static int x_write(void *ctx, const char *key, const char *value, size_t len)
{
    call c = {.a = key, .b = value, .n1 = len};
    on_proxy(P(ctx), j_write, &c);
    return c.rc;
}
static void j_now(proxy *p, void *a)
{
    call *c = a;
    c->u = p->real.now_ms(p->real.ctx);
}
static uint64_t x_now(void *ctx)
{
    call c = {0};
    on_proxy(P(ctx), j_now, &c);
    return c.u;
}
static void j_sleep(proxy *p, void *a)
{
    call *c = a;
    p->real.sleep_ms(p->real.ctx, (uint32_t)c->n1);
}
static void x_sleep(void *ctx, uint32_t ms)
{
    call c = {.n1 = ms};
    on_proxy(P(ctx), j_sleep, &c);
}
static void j_log(proxy *p, void *a)
{
    call *c = a;
    p->real.log(p->real.ctx, (wss_dev_log_level)c->n1, c->a);
}
static void x_log(void *ctx, wss_dev_log_level level, const char *msg)
{
    call c = {.n1 = (size_t)level, .a = msg};
    on_proxy(P(ctx), j_log, &c);
}
static void j_fallback(proxy *p, void *a)
{
    call *c = a;
    p->real.user_guided_setup(p->real.ctx, (wss_dev_fail)c->n1, c->a);
}
static void x_fallback(void *ctx, wss_dev_fail fail, const char *detail)
{
    call c = {.n1 = (size_t)fail, .a = detail};
    on_proxy(P(ctx), j_fallback, &c);
}

/* ------------------------------------------------------------ the measured device */

typedef struct measured {
    wss_dev_port port; /* the proxying port */
    wss_dev_config config;
    wss_dev_result *res;
    wss_dev_fail fail;
    unsigned long long init_allocs, init_bytes, run_allocs, run_bytes;
} measured;

static wss_dev the_device; /* static: the context is not on the measured stack */

static void *device_main(void *arg)
{
    measured *m = arg;
    char detail[160];
    atomic_store(&heap_allocs, 0);
    atomic_store(&heap_bytes, 0);
    counting = 1;
    wss_dev_fail rc = wss_dev_init(&the_device, &m->port, &m->config, detail, sizeof detail);
    counting = 0;
    m->init_allocs = atomic_load(&heap_allocs);
    m->init_bytes = atomic_load(&heap_bytes);
    atomic_store(&heap_allocs, 0);
    atomic_store(&heap_bytes, 0);
    counting = 1;
    m->fail = rc == WSS_DEV_OK ? wss_dev_run(&the_device, m->res) : rc;
    counting = 0;
    m->run_allocs = atomic_load(&heap_allocs);
    m->run_bytes = atomic_load(&heap_bytes);
    return NULL;
}

/* The harness alone: a thread that only makes port calls through the
 * proxy, to tell its own stack use from the library's. */
static void *harness_main(void *arg)
{
    measured *m = arg;
    m->port.now_ms(m->port.ctx);
    m->port.log(m->port.ctx, WSS_DEV_LOG_DEBUG, "harness");
    return NULL;
}

/* Runs fn on a fresh painted stack; returns how many bytes of it were touched. */
static size_t on_painted_stack(void *(*fn)(void *), void *arg)
{
    unsigned char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
        return 0;
    memset(stack, STACK_PAINT, STACK_SIZE);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, STACK_SIZE);
    pthread_t t;
    if (pthread_create(&t, &attr, fn, arg) == 0)
        pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    size_t untouched = 0;
    while (untouched < STACK_SIZE && stack[untouched] == STACK_PAINT)
        untouched++;
    munmap(stack, STACK_SIZE);
    return STACK_SIZE - untouched;
}

typedef struct footprint {
    size_t stack_used, harness_stack;
    measured m;
    int ran;
} footprint;

static wss_dev_fail measuring_runner(void *ctx, const wss_dev_port *port, const wss_dev_config *config,
                                     wss_dev_result *res)
{
    footprint *fp = ctx;
    proxy px = {.real = *port};
    pthread_mutex_init(&px.lock, NULL);
    pthread_cond_init(&px.cond, NULL);
    pthread_create(&px.thread, NULL, proxy_main, &px);
    fp->m.port = (wss_dev_port){.ctx = &px,
                                .wifi_probe = x_probe,
                                .wifi_scan = x_scan,
                                .wifi_join = x_join,
                                .wifi_leave = x_leave,
                                .https_post = x_post,
                                .sha256 = x_sha,
                                .hmac_sha256 = x_hmac,
                                .ecdh_p256 = x_ecdh,
                                .ecdsa_sign = x_sign,
                                .ecdsa_verify = x_verify,
                                .random = x_random,
                                .storage_read = x_read,
                                .storage_write = x_write,
                                .now_ms = x_now,
                                .sleep_ms = x_sleep,
                                .log = x_log,
                                .user_guided_setup = x_fallback};
    fp->m.config = *config;
    fp->m.res = res;

    fp->stack_used = on_painted_stack(device_main, &fp->m);
    fp->harness_stack = on_painted_stack(harness_main, &fp->m);

    pthread_mutex_lock(&px.lock);
    px.stop = 1;
    pthread_cond_broadcast(&px.cond);
    pthread_mutex_unlock(&px.lock);
    pthread_join(px.thread, NULL);
    pthread_mutex_destroy(&px.lock);
    pthread_cond_destroy(&px.cond);
    fp->ran = 1;
    return fp->m.fail;
}

/* ------------------------------------------------------------ helpers */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_root(char *out, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "%s/wss-bench-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(out) || rmdir(out) != 0) {
        perror("mkdtemp");
        exit(1);
    }
}

/* The core's text size from `size -t` of the -Os archive. */
static long core_text_bytes(void)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "size -t '%s' 2>/dev/null", WSS_DEVICE_OS_ARCHIVE);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    long text = -1;
    while (fgets(line, sizeof line, p)) {
        long t;
        if (strstr(line, "(TOTALS)") && sscanf(line, "%ld", &t) == 1)
            text = t;
    }
    pclose(p);
    return text;
}

/* The baseline: new mutual-TLS connections, one request each, to the DSS. */
typedef struct baseline {
    const char *url, *cert, *key, *ca;
    double until;
    atomic_uint done;
} baseline;

static size_t discard(char *d, size_t s, size_t n, void *u)
{
    (void)d;
    (void)u;
    return s * n;
}

static void *baseline_worker(void *arg)
{
    baseline *b = arg;
    CURL *c = curl_easy_init();
    while (mono_s() < b->until) {
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, b->url);
        curl_easy_setopt(c, CURLOPT_SSLCERT, b->cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, b->key);
        curl_easy_setopt(c, CURLOPT_CAINFO, b->ca);
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        if (curl_easy_perform(c) == CURLE_OK)
            atomic_fetch_add(&b->done, 1);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static double baseline_rate(wss_fleet *f, unsigned jobs)
{
    const json_t *creds = wss_fleet_credentials(f);
    const char *dss = json_string_value(json_object_get(creds, "dss_url"));
    const wss_fleet_device *d = wss_fleet_device_get(f, 0);
    if (!dss || !d)
        return 0;
    char url[512], cert[PATH_MAX + 32], key[PATH_MAX + 32];
    snprintf(url, sizeof url, "%s/api/v1/healthz", dss);
    snprintf(cert, sizeof cert, "%.4000s/certificate.pem", d->bundle_dir);
    snprintf(key, sizeof key, "%.4000s/private_key.pem", d->bundle_dir);
    baseline b = {.url = url, .cert = cert, .key = key, .ca = wss_fleet_ca_bundle(f)};
    double t0 = mono_s();
    b.until = t0 + 3.0;
    pthread_t *t = calloc(jobs, sizeof *t);
    for (unsigned i = 0; i < jobs; i++)
        pthread_create(&t[i], NULL, baseline_worker, &b);
    for (unsigned i = 0; i < jobs; i++)
        pthread_join(t[i], NULL);
    free(t);
    return atomic_load(&b.done) / (mono_s() - t0);
}

int main(int argc, char **argv)
{
    unsigned devices = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
    unsigned jobs = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 8;
    if (devices == 0 || jobs == 0) {
        fprintf(stderr, "usage: bench_device [DEVICES [JOBS]]\n");
        return 2;
    }
    wss_httpc_global_init();
    wss_log_set_level(WSS_LOG_ERROR);
    char err[512] = "";

    /* 1. footprint */
    footprint fp = {0};
    char root[PATH_MAX];
    make_root(root, sizeof root, "footprint");
    wss_fleet_options fo = {.state_dir = root, .devices = 1, .seed = 7, .runner = measuring_runner, .runner_ctx = &fp};
    wss_fleet *f = NULL;
    if (wss_fleet_start(&fo, &f, err, sizeof err) != WSS_OK || wss_fleet_run(f, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "bench_device: %s\n", err);
        return 1;
    }
    const wss_fleet_device *d = wss_fleet_device_get(f, 0);
    printf("libwss-device footprint (one complete flow against the emulator and the cloud)\n");
    printf("  flow result                       %s (%s)\n", wss_dev_fail_name(d->result.fail),
           d->in_alexa ? "in the Alexa account" : "not in the Alexa account");
    printf("  context (sizeof wss_dev)          %zu bytes, owned by the caller\n", sizeof(wss_dev));
    size_t own = fp.stack_used > fp.harness_stack ? fp.stack_used - fp.harness_stack : 0;
    printf("  stack high-water mark             %zu bytes of the library (target at most %d; ratio %.2f)\n", own,
           TARGET_STACK_BYTES, (double)own / TARGET_STACK_BYTES);
    printf("                                    = %zu on the device thread - %zu of the thread and the port proxy\n",
           fp.stack_used, fp.harness_stack);
#ifdef BENCH_NO_MALLOC_HOOK
    printf("  heap                              not measured in a sanitizer build\n");
#else
    printf("  heap during init                  %llu allocations, %llu bytes\n", fp.m.init_allocs, fp.m.init_bytes);
    printf("  heap during the flow              %llu allocations, %llu bytes (target 0)\n", fp.m.run_allocs,
           fp.m.run_bytes);
#endif
    wss_fleet_stop(f);
    wss_remove_tree(root);

    /* 2. code size */
    long text = core_text_bytes();
    if (text >= 0)
        printf("  core code size (-Os, text)        %ld bytes (target at most %d; ratio %.2f)\n", text,
               TARGET_TEXT_BYTES, (double)text / TARGET_TEXT_BYTES);
    else
        printf("  core code size                    unknown (`size` failed on %s)\n", WSS_DEVICE_OS_ARCHIVE);

    /* 3. fleet throughput and the baseline */
    make_root(root, sizeof root, "fleet");
    fo = (wss_fleet_options){.state_dir = root, .devices = devices, .seed = 1, .jobs = jobs};
    f = NULL;
    if (wss_fleet_start(&fo, &f, err, sizeof err) != WSS_OK || wss_fleet_run(f, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "bench_device: %s\n", err);
        return 1;
    }
    wss_fleet_summary s;
    wss_fleet_summarize(f, &s);
    double base = baseline_rate(f, jobs);
    printf("\nfleet of %u devices, %u at a time (2 cores)\n", devices, jobs);
    printf("  complete flows/s                  %.1f (target at least 100; set up %u/%u, %.1f %%)\n", s.flows_per_s,
           s.set_up, s.devices, 100 * s.success_rate);
    printf("  simulated setup time p50 / p95    %.1f s / %.1f s\n", s.setup_s_p50, s.setup_s_p95);
    printf("  baseline: new mTLS requests/s     %.1f (to the emulator's DSS, same concurrency)\n", base);
    printf("  ratio flows/s : baseline          %.3f (a flow opens 3 mTLS connections and makes ~12 requests)\n",
           base > 0 ? s.flows_per_s / base : 0);
    wss_fleet_stop(f);
    wss_remove_tree(root);
    return 0;
}

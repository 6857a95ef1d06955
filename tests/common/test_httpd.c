/* test_httpd.c - the HTTP glue's threading promises: a handler may block
 * without holding up other connections, stopping the server answers the
 * requests in progress, and connections whose descriptors lie past
 * FD_SETSIZE are served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "common/httpc.h"
#include "common/httpd.h"

#define SLOW_MS 1500

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* GET /slow sleeps SLOW_MS before answering; anything else answers at once. */
static void handler(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    (void)ctx;
    if (strcmp(req->path, "/slow") == 0) {
        struct timespec ts = {.tv_sec = SLOW_MS / 1000, .tv_nsec = (SLOW_MS % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    wss_http_reply_text(resp, 200, req->path);
}

static wss_http_server *start(void)
{
    wss_http_options o = {.host = "127.0.0.1"};
    wss_http_server *srv = NULL;
    char err[256];
    assert_int_equal(wss_http_start(&o, handler, NULL, &srv, err, sizeof err), WSS_OK);
    return srv;
}

static long get(const wss_http_server *srv, const char *path, char *body, size_t bodylen)
{
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", wss_http_port(srv), path);
    wss_httpc_request req = {.method = "GET", .url = url, .timeout_ms = 10000};
    wss_httpc_response resp;
    memset(&resp, 0, sizeof resp);
    long status = wss_httpc_perform(&req, &resp, err, sizeof err) == WSS_OK ? resp.status : 0;
    if (body)
        snprintf(body, bodylen, "%s", resp.body ? resp.body : "");
    wss_httpc_response_free(&resp);
    return status;
}

typedef struct slow_call {
    const wss_http_server *srv;
    long status;
} slow_call;

static void *slow_main(void *arg)
{
    slow_call *c = arg;
    c->status = get(c->srv, "/slow", NULL, 0);
    return NULL;
}

static void blocked_handler_holds_up_only_its_connection(void **state)
{
    (void)state;
    wss_http_server *srv = start();
    slow_call slow = {.srv = srv};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_main, &slow), 0);
    struct timespec settle = {.tv_nsec = 200 * 1000000L};
    nanosleep(&settle, NULL); /* the slow request is in its handler by now */

    double start_ms = now_ms();
    char body[64];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(get(srv, "/fast", body, sizeof body), 200);
        assert_string_equal(body, "/fast");
    }
    double fast_ms = now_ms() - start_ms;
    pthread_join(t, NULL);
    assert_int_equal(slow.status, 200);
    /* Five requests on fresh connections, all while the slow one waits. */
    if (fast_ms >= SLOW_MS - 300)
        fail_msg("fast requests took %.0f ms while a handler slept %d ms", fast_ms, SLOW_MS);
    wss_http_stop(srv);
}

static void stop_answers_requests_in_progress(void **state)
{
    (void)state;
    wss_http_server *srv = start();
    int port = wss_http_port(srv);
    slow_call slow = {.srv = srv};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_main, &slow), 0);
    struct timespec settle = {.tv_nsec = 300 * 1000000L};
    nanosleep(&settle, NULL); /* the slow request is in its handler by now */

    double start_ms = now_ms();
    wss_http_stop(srv); /* waits for the handler, and for its answer to go out */
    double stop_ms = now_ms() - start_ms;
    pthread_join(t, NULL);
    assert_int_equal(slow.status, 200);
    if (stop_ms < SLOW_MS - 500)
        fail_msg("the server stopped in %.0f ms, before its handler returned", stop_ms);

    /* Nothing listens any more. */
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/after-stop", port);
    wss_httpc_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
    wss_httpc_response resp;
    memset(&resp, 0, sizeof resp);
    assert_int_equal(wss_httpc_perform(&req, &resp, err, sizeof err), WSS_ERR_NETWORK);
    wss_httpc_response_free(&resp);
}

static void serves_descriptors_past_fd_setsize(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t want = FD_SETSIZE + 64;
    if (rl.rlim_cur < want) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
            skip();
        struct rlimit more = {.rlim_cur = want, .rlim_max = rl.rlim_max};
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &more), 0);
    }
    wss_http_server *srv = start();
    /* Take every descriptor below FD_SETSIZE, so that the server's end of the
     * next connection (and the client's) lies past it. */
    int *held = calloc(FD_SETSIZE, sizeof *held);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_non_null(held);
    assert_true(null_fd >= 0);
    int nheld = 0;
    for (;;) {
        int fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 0);
        assert_true(fd >= 0);
        held[nheld++] = fd;
        if (fd >= FD_SETSIZE - 1 || nheld == FD_SETSIZE)
            break;
    }
    char body[64];
    long status = get(srv, "/past-fd-setsize", body, sizeof body);
    for (int i = 0; i < nheld; i++)
        close(held[i]);
    close(null_fd);
    free(held);
    wss_http_stop(srv);
    setrlimit(RLIMIT_NOFILE, &rl);
    assert_int_equal(status, 200);
    assert_string_equal(body, "/past-fd-setsize");
}

int main(void)
{
    wss_httpc_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocked_handler_holds_up_only_its_connection),
        cmocka_unit_test(stop_answers_requests_in_progress),
        cmocka_unit_test(serves_descriptors_past_fd_setsize),
    };
    return cmocka_run_group_tests_name("common: HTTP glue threads", tests, NULL, NULL);
}

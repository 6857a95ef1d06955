/* httpd.c - HTTP(S) server glue over libmicrohttpd: body buffering with a
 * limit, one handler per server, JSON replies, and what each TLS connection
 * negotiated (libmicrohttpd's TLS is GnuTLS).
 *
 * Threads: one per connection (MHD_USE_THREAD_PER_CONNECTION), each waiting
 * in poll() rather than select(), so that descriptors past FD_SETSIZE work.
 * Handlers block: the cloud's CDAD waits for its group commit, AcceptGrant
 * for Login with Amazon, the emulator sleeps for injected latency. A handler
 * that waits holds up its own connection only, and the store's group commit
 * gets a bind to batch from every connection waiting. Stopping lets the
 * handlers in progress finish and their answers go out (see drain()).
 *
 * The alternatives, measured with bench/bench_cloud_skill: in-process cloud,
 * 64 keep-alive connections, the load generator on the same 2 CPUs; medians
 * of 5 to 7 interleaved runs (on the machine used a run swings by 2x from
 * one minute to the next: compare rows, not single runs). CDAD once with the
 * store as it is, where CDAD is held up by the outbox's claim query scanning
 * every pending event, and once with a prototype of the store that claims
 * through the due-events index and reads on connections of their own:
 *
 *                               GET /healthz   CDAD, store    CDAD, prototype
 *                                    req/s    req/s  binds/tx  req/s  binds/tx
 *   thread per connection,          141k       4.5k    13      21.5k    27
 *     select()
 *   thread per connection,          151k       4.8k    12      19.1k    25
 *     poll() (this)
 *   epoll, pool of 2 threads        282k       0.9k     1       4.6k     1
 *   epoll, pool of 16 threads         -        2.0k     3      10.2k     3
 *   epoll, 2 threads, suspend and    64k       5.0k    15      23.2k    21
 *     resume, handlers on worker
 *     threads made on demand
 *
 * A pool runs the handlers on its few threads: a CDAD waiting for its commit
 * stalls every connection of its thread, so the group commit has little to
 * batch, and an injected latency would delay unrelated requests. Handing each
 * request to a worker thread (suspend, handle, resume) keeps waiting safe and
 * is no better for CDAD within the noise, but two hand-offs per request halve
 * the rate of trivial requests and add code. Thread per connection costs a
 * thread wake-up per request: the server's CPU time goes to the kernel's
 * scheduler and TCP, a few percent to this file and libmicrohttpd. What
 * limits CDAD is the cloud behind the glue. */
#include "common/httpd.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/crypto_evp.h"
#include "common/log.h"

#define DEFAULT_MAX_BODY (1024u * 1024u)
#define DRAIN_LIMIT (64u * 1024u * 1024u)
/* The first body buffer holds what Content-Length announced up to this much
 * (one allocation for a typical body; a client cannot make the server hold
 * more than it sends), else starts at BODY_MIN_CAP and doubles. */
#define BODY_FIRST_CAP_MAX (16u * 1024u)
#define BODY_MIN_CAP 1024u
/* wss_http_stop waits this long for answers to go out once no handler runs
 * any more (a client that does not read them must not hold up the stop). */
#define STOP_SEND_GRACE_MS 2000

struct wss_http_server {
    struct MHD_Daemon *daemon;
    wss_http_handler handler;
    void *ctx;
    size_t max_body;
    int port;
    char *cert;
    char *key;
    char *client_ca;
    MHD_socket listen_fd; /* from MHD_quiesce_daemon; closed after MHD_stop_daemon */
    atomic_int stopping;
    atomic_int handling;  /* handlers running */
    atomic_int answering; /* requests from their handler's call until their answer went out or failed */
};

/* Per-request state kept by libmicrohttpd between the calls of one request. */
typedef struct request_state {
    char *body;
    size_t len;
    size_t cap;
    size_t announced; /* Content-Length, 0 when absent */
    size_t received;
    int too_large;
    int answered;
    int counted; /* in srv->answering */
} request_state;

static void request_state_free(request_state *st)
{
    if (!st)
        return;
    free(st->body);
    free(st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)conn, (void)toe;
    wss_http_server *srv = cls;
    request_state *st = *con_cls;
    if (st && st->counted)
        atomic_fetch_sub(&srv->answering, 1);
    request_state_free(st);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    wss_log(WSS_LOG_DEBUG, "httpd", "%s", msg);
}

static int append_body(request_state *st, const char *data, size_t n, size_t max)
{
    if (st->len + n > max)
        return -1;
    if (st->len + n + 1 > st->cap) {
        size_t cap = st->cap;
        if (!cap)
            cap = st->announced && st->announced < BODY_FIRST_CAP_MAX ? st->announced + 1 : BODY_MIN_CAP;
        while (cap < st->len + n + 1)
            cap *= 2;
        char *p = realloc(st->body, cap);
        if (!p)
            return -1;
        st->body = p;
        st->cap = cap;
    }
    memcpy(st->body + st->len, data, n);
    st->len += n;
    st->body[st->len] = 0;
    return 0;
}

static void client_address(struct MHD_Connection *conn, char out[64])
{
    out[0] = 0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, len, out, 64, NULL, 0, NI_NUMERICHOST) != 0)
        out[0] = 0;
}

/* Copies s into out when it fits, else leaves out "". */
static void copy_field(char *out, size_t outlen, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    out[0] = 0;
    if (s && n < outlen)
        memcpy(out, s, n + 1);
}

/* What was read from recent client leaf certificates, by their DER: a
 * device makes many requests with one certificate, and decoding it is the
 * most expensive part of a request. Direct-mapped; collisions replace. */
#define PEER_CACHE_SLOTS 1024
#define PEER_CACHE_DER_MAX 2048
static struct {
    unsigned char der[PEER_CACHE_DER_MAX];
    unsigned len;
    char cn[sizeof(((wss_http_tls *)0)->peer_subject_cn)];
    char serial[sizeof(((wss_http_tls *)0)->peer_serial)];
    char pubkey[sizeof(((wss_http_tls *)0)->peer_pubkey_b64)];
} *peer_cache;
static pthread_mutex_t peer_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t peer_slot(const gnutls_datum_t *der)
{
    uint64_t h = 1469598103934665603ULL;
    for (unsigned i = 0; i < der->size; i++)
        h = (h ^ der->data[i]) * 1099511628211ULL;
    return (size_t)(h % PEER_CACHE_SLOTS);
}

static int peer_cache_get(const gnutls_datum_t *der, wss_http_tls *t)
{
    int hit = 0;
    size_t i = peer_slot(der);
    pthread_mutex_lock(&peer_cache_lock);
    if (peer_cache && peer_cache[i].len == der->size && memcmp(peer_cache[i].der, der->data, der->size) == 0) {
        memcpy(t->peer_subject_cn, peer_cache[i].cn, sizeof t->peer_subject_cn);
        memcpy(t->peer_serial, peer_cache[i].serial, sizeof t->peer_serial);
        memcpy(t->peer_pubkey_b64, peer_cache[i].pubkey, sizeof t->peer_pubkey_b64);
        hit = 1;
    }
    pthread_mutex_unlock(&peer_cache_lock);
    return hit;
}

static void peer_cache_put(const gnutls_datum_t *der, const wss_http_tls *t)
{
    if (der->size > PEER_CACHE_DER_MAX)
        return;
    size_t i = peer_slot(der);
    pthread_mutex_lock(&peer_cache_lock);
    if (!peer_cache)
        peer_cache = calloc(PEER_CACHE_SLOTS, sizeof *peer_cache);
    if (peer_cache) {
        memcpy(peer_cache[i].der, der->data, der->size);
        peer_cache[i].len = der->size;
        memcpy(peer_cache[i].cn, t->peer_subject_cn, sizeof t->peer_subject_cn);
        memcpy(peer_cache[i].serial, t->peer_serial, sizeof t->peer_serial);
        memcpy(peer_cache[i].pubkey, t->peer_pubkey_b64, sizeof t->peer_pubkey_b64);
    }
    pthread_mutex_unlock(&peer_cache_lock);
}

/* The names, serial and key of the client's leaf certificate (DER). */
static void read_peer_leaf(const gnutls_datum_t *der, wss_http_tls *t)
{
    if (peer_cache_get(der, t))
        return;
    const unsigned char *p = der->data;
    X509 *leaf = d2i_X509(NULL, &p, (long)der->size);
    if (leaf) {
        wss_x509_name_attr(X509_get_subject_name(leaf), NID_commonName, t->peer_subject_cn, sizeof t->peer_subject_cn);
        wss_x509_name_attr(X509_get_subject_name(leaf), NID_serialNumber, t->peer_serial, sizeof t->peer_serial);
        char *b64 = wss_x509_spki_b64(leaf);
        copy_field(t->peer_pubkey_b64, sizeof t->peer_pubkey_b64, b64);
        free(b64);
        X509_free(leaf);
        peer_cache_put(der, t);
    }
    ERR_clear_error();
}

/* Fills t from the connection's GnuTLS session; leaves it zero on plain HTTP.
 * libmicrohttpd only asks for a client certificate (GNUTLS_CERT_REQUEST) and
 * never checks it, so the check against client_ca_pem happens here. */
static void tls_info(struct MHD_Connection *conn, wss_http_tls *t)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    t->tls = 1;
    copy_field(t->version, sizeof t->version, gnutls_protocol_get_name(gnutls_protocol_get_version(s)));
    const char *suite = gnutls_ciphersuite_get(s);
    copy_field(t->cipher, sizeof t->cipher, suite ? suite : gnutls_cipher_get_name(gnutls_cipher_get(s)));
    size_t len = sizeof t->sni - 1;
    unsigned type = 0;
    if (gnutls_server_name_get(s, t->sni, &len, &type, 0) == GNUTLS_E_SUCCESS && type == GNUTLS_NAME_DNS &&
        len < sizeof t->sni)
        t->sni[len] = 0;
    else
        t->sni[0] = 0;

    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
    if (!certs || n == 0)
        return;
    t->peer_cert_present = 1;
    gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                     .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
    unsigned status = 0;
    t->peer_cert_verified = gnutls_certificate_verify_peers(s, &purpose, 1, &status) == GNUTLS_E_SUCCESS && status == 0;
    read_peer_leaf(&certs[0], t);
}

static enum MHD_Result send_response(wss_http_server *srv, struct MHD_Connection *conn, wss_http_response *resp)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(resp->body_len, resp->body ? resp->body : (char *)"",
                                        resp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(resp->body);
        return MHD_NO;
    }
    resp->body = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "application/json");
    for (int i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i][0], resp->headers[i][1]);
    if (atomic_load(&srv->stopping)) /* the last answer on this connection */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result dispatch(wss_http_server *srv, struct MHD_Connection *conn, const char *url, const char *method,
                                request_state *st)
{
    wss_http_request req = {
        .method = method,
        .path = url,
        .body = st->body ? st->body : "",
        .body_len = st->too_large ? 0 : st->len,
        .body_too_large = st->too_large,
        .conn = conn,
    };
    client_address(conn, req.client_ip);
    tls_info(conn, &req.tls);
    wss_http_response resp = {.status = 500};
    st->counted = 1;
    atomic_fetch_add(&srv->answering, 1);
    atomic_fetch_add(&srv->handling, 1);
    srv->handler(srv->ctx, &req, &resp);
    atomic_fetch_sub(&srv->handling, 1);
    st->answered = 1;
    if (resp.drop_connection) {
        free(resp.body);
        return MHD_NO; /* libmicrohttpd closes the connection without an answer */
    }
    return send_response(srv, conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    wss_http_server *srv = cls;
    request_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        *con_cls = st;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
        if (announced > DRAIN_LIMIT) {
            /* Not worth reading: answer now, and the connection closes. */
            st->too_large = 1;
            return dispatch(srv, conn, url, method, st);
        }
        st->announced = (size_t)announced;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* An oversized body is read and dropped so that the client, still
         * sending, gets the 413 rather than a reset connection; past
         * DRAIN_LIMIT we stop being polite and close. */
        st->received += *upload_data_size;
        if (st->received > DRAIN_LIMIT)
            return MHD_NO;
        if (!st->too_large && append_body(st, upload_data, *upload_data_size, srv->max_body) != 0) {
            st->too_large = 1;
            free(st->body);
            st->body = NULL;
            st->len = st->cap = 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->answered)
        return MHD_YES;
    return dispatch(srv, conn, url, method, st);
}

/* 1 when pem is one or more certificates GnuTLS reads (it takes a bundle
 * with none as an empty trust list, which would refuse every client). */
static int pem_has_certs(const char *pem)
{
    gnutls_x509_crt_t *list = NULL;
    unsigned n = 0;
    gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};
    if (gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0) < 0)
        return 0;
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(list[i]);
    gnutls_free(list);
    return n > 0;
}

wss_err wss_http_parse_listen(const char *listen, char host[256], int *port)
{
    if (!listen || !*listen)
        return WSS_ERR_INVALID;
    const char *colon;
    const char *h = listen;
    size_t hlen;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':')
            return WSS_ERR_INVALID;
        h = listen + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return WSS_ERR_INVALID;
        hlen = (size_t)(colon - listen);
    }
    if (hlen >= 256)
        return WSS_ERR_INVALID;
    if (hlen == 0)
        snprintf(host, 256, "127.0.0.1");
    else {
        memcpy(host, h, hlen);
        host[hlen] = 0;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == 0 || *end || p < 0 || p > 65535)
        return WSS_ERR_INVALID;
    *port = (int)p;
    return WSS_OK;
}

wss_err wss_http_start(const wss_http_options *opts, wss_http_handler handler, void *ctx, wss_http_server **out,
                       char *err, size_t errlen)
{
    if (opts->client_ca_pem && !(opts->tls_cert_pem && opts->tls_key_pem)) {
        snprintf(err, errlen, "client certificates need TLS: a server certificate and key");
        return WSS_ERR_CONFIG;
    }
    if (opts->client_ca_pem && !pem_has_certs(opts->client_ca_pem)) {
        snprintf(err, errlen, "the client CA bundle holds no readable PEM certificate");
        return WSS_ERR_CONFIG;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", opts->port);
    int gai = getaddrinfo(opts->host ? opts->host : "127.0.0.1", portstr, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, errlen, "cannot resolve listen address %s: %s", opts->host, gai_strerror(gai));
        return WSS_ERR_CONFIG;
    }

    wss_http_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        freeaddrinfo(ai);
        return WSS_ERR_NOMEM;
    }
    srv->handler = handler;
    srv->ctx = ctx;
    srv->max_body = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
    srv->listen_fd = MHD_INVALID_SOCKET;

    /* MHD_USE_ITC lets wss_http_stop quiesce the daemon. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    int tls = opts->tls_cert_pem && opts->tls_key_pem;
    /* libmicrohttpd keeps pointers to the PEM texts: the server owns copies. */
    struct MHD_OptionItem tls_opts[4];
    int ntls = 0;
    if (tls) {
        flags |= MHD_USE_TLS;
        srv->cert = strdup(opts->tls_cert_pem);
        srv->key = strdup(opts->tls_key_pem);
        srv->client_ca = opts->client_ca_pem ? strdup(opts->client_ca_pem) : NULL;
        tls_opts[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key};
        tls_opts[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert};
        /* With a trust list, libmicrohttpd asks each client for a certificate
         * (optional: GNUTLS_CERT_REQUEST); tls_info() checks what comes. */
        if (srv->client_ca)
            tls_opts[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->client_ca};
        if (!srv->cert || !srv->key || (opts->client_ca_pem && !srv->client_ca)) {
            freeaddrinfo(ai);
            wss_http_stop(srv);
            snprintf(err, errlen, "out of memory");
            return WSS_ERR_NOMEM;
        }
    }
    tls_opts[ntls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(opts->connection_timeout_s ? opts->connection_timeout_s : 30),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use, or bad TLS key/certificate)",
                 opts->host ? opts->host : "127.0.0.1", opts->port);
        wss_http_stop(srv);
        return WSS_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : opts->port;
    *out = srv;
    return WSS_OK;
}

int wss_http_port(const wss_http_server *srv) { return srv ? srv->port : 0; }

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Stops accepting at once, then lets the requests whose handler was called
 * finish and their answers go out (libmicrohttpd's stop would cut them
 * off): the handlers may take as long as they take, their answers get
 * STOP_SEND_GRACE_MS once the last handler returned. A request that arrives
 * meanwhile on an open connection is answered, with Connection: close. */
static void drain(wss_http_server *srv)
{
    atomic_store(&srv->stopping, 1);
    srv->listen_fd = MHD_quiesce_daemon(srv->daemon);
    if (srv->listen_fd != MHD_INVALID_SOCKET)
        shutdown(srv->listen_fd, SHUT_RDWR); /* refuse new connections now rather than leave them queued */
    long idle_ms = 0;
    while (atomic_load(&srv->answering) > 0 && idle_ms < STOP_SEND_GRACE_MS) {
        idle_ms = atomic_load(&srv->handling) > 0 ? 0 : idle_ms + 5;
        sleep_ms(5);
    }
}

void wss_http_stop(wss_http_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        drain(srv);
        MHD_stop_daemon(srv->daemon);
    }
    if (srv->listen_fd != MHD_INVALID_SOCKET)
        close(srv->listen_fd);
    free(srv->cert);
    free(srv->key);
    free(srv->client_ca);
    free(srv);
}

const char *wss_http_header(const wss_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *wss_http_query(const wss_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void wss_http_reply_json(wss_http_response *resp, int status, json_t *body)
{
    free(resp->body);
    resp->status = status;
    resp->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    resp->content_type = "application/json";
    json_decref(body);
    if (body && !resp->body)
        resp->status = 500;
}

void wss_http_reply_error(wss_http_response *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* json_string() refuses invalid UTF-8, which a quoted input could carry. */
    json_t *text = json_string(msg);
    wss_http_reply_json(resp, status, json_pack("{s:o}", "error", text ? text : json_string("(unprintable message)")));
}

void wss_http_reply_text(wss_http_response *resp, int status, const char *text)
{
    free(resp->body);
    resp->status = status;
    resp->body = strdup(text ? text : "");
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    resp->content_type = "text/plain; charset=utf-8";
}

void wss_http_add_header(wss_http_response *resp, const char *name, const char *value)
{
    if (resp->nheaders >= WSS_HTTP_MAX_HEADERS)
        return;
    snprintf(resp->headers[resp->nheaders][0], sizeof resp->headers[0][0], "%s", name);
    snprintf(resp->headers[resp->nheaders][1], sizeof resp->headers[0][1], "%s", value);
    resp->nheaders++;
}

/* httpd.h - the one HTTP(S) server glue of openwss, over libmicrohttpd.
 *
 * A server is one handler function called once per request with the whole
 * body already read (up to a limit). The handler fills a response; the glue
 * sends it. Bodies larger than the limit are not buffered: the handler sees
 * req->body_too_large and answers 413 in its own error format. Each
 * connection has its own thread, so a handler may block (the emulator's
 * injected latency does). */
#ifndef WSS_COMMON_HTTPD_H
#define WSS_COMMON_HTTPD_H

#include <jansson.h>
#include <stddef.h>

#include "wss/err.h"

#define WSS_HTTP_MAX_HEADERS 8

/* What a request's TLS connection negotiated. All zero/"" on plain HTTP.
 *
 * Client certificates: with wss_http_options.client_ca_pem set, the server
 * asks every client for a certificate but does not require one, and the
 * handshake succeeds whatever the client sends (nothing, or a certificate
 * from an unknown CA), as long as the client proves it holds the
 * certificate's key. Each route decides: one that needs a device checks
 * peer_cert_verified (and matches peer_pubkey_b64 to the device's key) and
 * refuses otherwise. The fields are computed afresh for every request. */
typedef struct wss_http_tls {
    int tls;                   /* 1 when the connection is TLS */
    char version[16];          /* "TLS1.3", "TLS1.2" */
    char cipher[64];           /* the IANA cipher suite name, e.g. "TLS_AES_256_GCM_SHA384" */
    char sni[256];             /* the server name the client asked for (SNI); "" when none */
    int peer_cert_present;     /* the client sent a certificate */
    int peer_cert_verified;    /* its chain leads to a certificate of client_ca_pem, every certificate is
                                * time-valid, and the leaf's extendedKeyUsage (if any) allows clientAuth */
    char peer_subject_cn[256]; /* the leaf's subject CN; "" when absent */
    char peer_serial[128];     /* the leaf's subject serialNumber attribute; "" when absent */
    char peer_pubkey_b64[256]; /* standard base64 of the leaf's DER SubjectPublicKeyInfo, as
                                * wss_key_public_b64 gives it for a P-256 key; "" for keys too large */
} wss_http_tls;

typedef struct wss_http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* the URL path, without the query string */
    const char *body;   /* NUL-terminated copy of the body ("" when none) */
    size_t body_len;    /* bytes of body, not counting the NUL */
    int body_too_large; /* the body exceeded the server's limit and was dropped */
    char client_ip[64]; /* the peer's address, for logs and rate limits */
    wss_http_tls tls;   /* the connection's TLS parameters and client certificate */
    void *conn;         /* glue-private */
} wss_http_request;

typedef struct wss_http_response {
    int status;
    char *body; /* malloc'd; the glue frees it */
    size_t body_len;
    const char *content_type; /* static string; "application/json" when NULL */
    int nheaders;
    char headers[WSS_HTTP_MAX_HEADERS][2][128]; /* extra headers (name, value) */
    int drop_connection; /* 1: send nothing and close the connection (an injected fault); body is freed */
} wss_http_response;

typedef void (*wss_http_handler)(void *ctx, const wss_http_request *req, wss_http_response *resp);

typedef struct wss_http_options {
    const char *host;              /* address to bind, e.g. "127.0.0.1", "::1", "localhost" */
    int port;                      /* 0 picks a free port; read it back with wss_http_port() */
    const char *tls_cert_pem;      /* PEM text of the server certificate chain; NULL serves plain HTTP */
    const char *tls_key_pem;       /* PEM text of its private key */
    const char *client_ca_pem;     /* PEM CA certificates for client certificates (TLS only); NULL asks for none.
                                    * See wss_http_tls: a certificate is requested, never required. */
    size_t max_body;               /* bodies above this set body_too_large; 0 means 1 MiB */
    unsigned connection_timeout_s; /* idle keep-alive connections are closed after this; 0 means 30 */
} wss_http_options;

typedef struct wss_http_server wss_http_server;

/* Starts serving in background threads. err receives the reason on failure. */
wss_err wss_http_start(const wss_http_options *opts, wss_http_handler handler, void *ctx, wss_http_server **out,
                       char *err, size_t errlen);

/* The port actually bound. */
int wss_http_port(const wss_http_server *srv);

/* Stops accepting, waits for the handlers in progress and lets their answers
 * go out (with Connection: close), frees the server. NULL is ignored. */
void wss_http_stop(wss_http_server *srv);

/* A request header (case-insensitive name) or NULL. */
const char *wss_http_header(const wss_http_request *req, const char *name);

/* A query-string argument (already URL-decoded) or NULL. */
const char *wss_http_query(const wss_http_request *req, const char *name);

/* Sets the response to status and the compact JSON of body; takes the reference to body. */
void wss_http_reply_json(wss_http_response *resp, int status, json_t *body);

/* Sets the response to status and {"error": "<printf-formatted message>"},
 * the error body of openwss's own APIs. */
void wss_http_reply_error(wss_http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the response to status with a plain-text body. */
void wss_http_reply_text(wss_http_response *resp, int status, const char *text);

/* Adds a response header; silently ignored beyond WSS_HTTP_MAX_HEADERS. */
void wss_http_add_header(wss_http_response *resp, const char *name, const char *value);

/* Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (host "127.0.0.1"); host must hold 256 bytes. */
wss_err wss_http_parse_listen(const char *listen, char host[256], int *port);

#endif

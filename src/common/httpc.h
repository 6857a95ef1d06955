/* httpc.h - the one HTTP(S) client glue of openwss, over libcurl.
 *
 * Blocking single requests for tools, tests and the emulator's directive
 * dispatch. Callers that need many requests in flight (the cloud's outbox)
 * build on libcurl's multi interface with the same options. */
#ifndef WSS_COMMON_HTTPC_H
#define WSS_COMMON_HTTPC_H

#include <stddef.h>

#include "wss/err.h"

#define WSS_HTTPC_MAX_BODY (4u * 1024u * 1024u)

typedef struct wss_httpc_request {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *url;
    const char *body; /* may be NULL */
    size_t body_len;
    const char *content_type;   /* default "application/json" when body is set */
    const char *bearer;         /* sent as "Authorization: Bearer <bearer>" when set */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated; may be NULL */
    const char *ca_file;        /* PEM bundle to trust for https; NULL uses the system's */
    /* A client certificate for mutual TLS, from files or from memory (not
     * both for the same item: the file wins). The certificate is PEM, the
     * leaf first, then any intermediates, all sent to the server; the key is
     * unencrypted PEM (PKCS#8 or SEC1). NULL sends none. */
    const char *client_cert_file;
    const char *client_key_file;
    const char *client_cert_pem;
    const char *client_key_pem;
    long timeout_ms; /* whole-request limit; 0 means 30 s */
} wss_httpc_request;

typedef struct wss_httpc_response {
    long status; /* HTTP status; 0 when no answer came */
    char *body;  /* NUL-terminated, malloc'd; free with wss_httpc_response_free */
    size_t body_len;
    char retry_after[32]; /* the Retry-After header, "" when absent */
    char content_type[128];
    double total_s; /* time the request took */
} wss_httpc_response;

/* Performs the request. WSS_OK means an HTTP answer arrived (any status);
 * WSS_ERR_TIMEOUT and WSS_ERR_NETWORK mean none did, with curl's reason in
 * err. Bodies above WSS_HTTPC_MAX_BODY are WSS_ERR_TOO_LARGE. */
wss_err wss_httpc_perform(const wss_httpc_request *req, wss_httpc_response *resp, char *err, size_t errlen);

void wss_httpc_response_free(wss_httpc_response *resp);

/* Call once at program start, before threads (curl_global_init). */
void wss_httpc_global_init(void);

#endif

/* httpc.c - blocking HTTP(S) requests over libcurl's easy interface. */
#include "common/httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct body_buffer {
    char *data;
    size_t len;
    size_t cap;
    int overflow;
} body_buffer;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body_buffer *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > WSS_HTTPC_MAX_BODY) {
        b->overflow = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = 0;
    return n;
}

static void copy_header_value(const char *line, size_t n, size_t namelen, char *out, size_t outlen)
{
    const char *v = line + namelen;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, v, len);
    out[len] = 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    wss_httpc_response *resp = userdata;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(line, "Retry-After:", 12) == 0)
        copy_header_value(line, n, 12, resp->retry_after, sizeof resp->retry_after);
    else if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0)
        copy_header_value(line, n, 13, resp->content_type, sizeof resp->content_type);
    return n;
}

/* The client certificate and key, from files or copied from memory. */
static void set_client_cert(CURL *curl, const wss_httpc_request *req)
{
    if (req->client_cert_file) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, req->client_cert_file);
    } else if (req->client_cert_pem) {
        struct curl_blob blob = {(void *)req->client_cert_pem, strlen(req->client_cert_pem), CURL_BLOB_COPY};
        curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &blob);
    }
    if (req->client_key_file) {
        curl_easy_setopt(curl, CURLOPT_SSLKEY, req->client_key_file);
    } else if (req->client_key_pem) {
        struct curl_blob blob = {(void *)req->client_key_pem, strlen(req->client_key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &blob);
    }
    if (req->client_cert_file || req->client_cert_pem)
        curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    if (req->client_key_file || req->client_key_pem)
        curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
}

void wss_httpc_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

wss_err wss_httpc_perform(const wss_httpc_request *req, wss_httpc_response *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    CURL *curl = curl_easy_init();
    if (!curl)
        return WSS_ERR_NOMEM;
    body_buffer body = {0};
    struct curl_slist *headers = NULL;
    char line[4096];
    wss_err rc = WSS_OK;

    if (req->body) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type ? req->content_type : "application/json");
        headers = curl_slist_append(headers, line);
    }
    if (req->bearer) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", req->bearer);
        headers = curl_slist_append(headers, line);
        memset(line, 0, sizeof line);
    }
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    for (const char *const *h = req->headers; h && *h; h++)
        headers = curl_slist_append(headers, *h);

    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
    if (req->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 30000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_file);
    set_client_cert(curl, req);

    CURLcode cc = curl_easy_perform(curl);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->body = body.data ? body.data : strdup("");
        resp->body_len = body.len;
        body.data = NULL;
    } else {
        rc = body.overflow ? WSS_ERR_TOO_LARGE : cc == CURLE_OPERATION_TIMEDOUT ? WSS_ERR_TIMEOUT : WSS_ERR_NETWORK;
        snprintf(err, errlen, "%s %s: %s", req->method ? req->method : "GET", req->url,
                 body.overflow ? "response body too large" : curl_easy_strerror(cc));
    }
    curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &resp->total_s);
    free(body.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

void wss_httpc_response_free(wss_httpc_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

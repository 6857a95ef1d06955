/* internal.h - what the files of libwss-device's core share.
 *
 * device.c: names, policy, init, the setup network, text and log helpers;
 * transport.c: HTTPS calls to the DSS and the cloud (retries, redirects,
 * signatures, nonces); flow.c: wss_dev_run and the provisioning steps. */
#ifndef WSS_DEVICE_INTERNAL_H
#define WSS_DEVICE_INTERNAL_H

#include "device/json.h"
#include "wss/device.h"

/* A bounded line of text for details and logs (no printf in the core). */
typedef struct wss_devi_text {
    char s[160];
    size_t len;
} wss_devi_text;

void wss_devi_text_init(wss_devi_text *t);
void wss_devi_text_add(wss_devi_text *t, const char *s);
void wss_devi_text_num(wss_devi_text *t, int64_t v);

/* Copies a NUL-terminated s into out (cap bytes); -1 (and out "") when it does not fit. */
int wss_devi_copy(char *out, size_t cap, const char *s);

/* Logs a + b + c (NULL parts are skipped). */
void wss_devi_log(wss_dev *dev, wss_dev_log_level level, const char *a, const char *b, const char *c);

/* Records the first failure: sets dev->fail and dev->detail to a + b + c and
 * logs it. Returns f, so that callers write `return wss_devi_fail(...)`. */
wss_dev_fail wss_devi_fail(wss_dev *dev, wss_dev_fail f, const char *a, const char *b, const char *c);

/* WSS_DEV_OK while the budget lasts, else records a timeout at `step`. */
wss_dev_fail wss_devi_budget(wss_dev *dev, const char *step);

/* Milliseconds since the run started, by the port's clock. */
uint64_t wss_devi_elapsed(wss_dev *dev);

/* Starts a DSS request in dev->request: a fresh nonce, the sessionId (once
 * known), deviceDetails and a sequenceNumber when asked. The caller adds its
 * fields and closes the object. */
wss_dev_fail wss_devi_dss_begin(wss_dev *dev, wss_jw *w, int details, int sequence);

/* POSTs dev->request (written through w, refused if it overflowed) to
 * /api/v1/<op> on the DSS with the retries and
 * redirects of the policy, verifies the signature, refuses 4xx, parses the
 * body and checks the echoed nonce. On WSS_DEV_OK *root is the response
 * object (in dev->response). */
wss_dev_fail wss_devi_dss_call(wss_dev *dev, const char *op, const wss_jw *w, wss_jr_val *root);

/* POSTs dev->request to the maker cloud; WSS_DEV_OK on 202. */
wss_dev_fail wss_devi_cloud_post(wss_dev *dev);

/* The failure for a DSS refusal reason (canProceed false). */
wss_dev_fail wss_devi_dss_refusal(const char *reason);

#endif

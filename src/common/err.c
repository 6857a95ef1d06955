/* err.c - descriptions for the shared wss_err status codes. */
#include "wss/err.h"

const char *wss_strerror(wss_err rc)
{
    static const char *const text[WSS_ERR__COUNT] = {
        [WSS_OK] = "success",
        [WSS_ERR_NOMEM] = "out of memory",
        [WSS_ERR_INVALID] = "invalid input",
        [WSS_ERR_TOO_LARGE] = "input too large",
        [WSS_ERR_NOT_FOUND] = "not found",
        [WSS_ERR_EXISTS] = "already exists",
        [WSS_ERR_IO] = "input/output error",
        [WSS_ERR_CRYPTO] = "cryptographic operation failed",
        [WSS_ERR_VERIFY] = "verification failed",
        [WSS_ERR_STORE] = "storage error",
        [WSS_ERR_NETWORK] = "network error",
        [WSS_ERR_TIMEOUT] = "timed out",
        [WSS_ERR_PROTOCOL] = "protocol error",
        [WSS_ERR_CONFIG] = "configuration error",
        [WSS_ERR_AUTH] = "authentication failed",
    };
    if ((unsigned)rc >= WSS_ERR__COUNT || !text[rc])
        return "unknown error";
    return text[rc];
}

/* err.h - the one status type shared by every openwss library.
 *
 * Every function that can fail returns a wss_err; WSS_OK is zero so that
 * `if (rc)` reads as "if it failed". wss_strerror() gives a fixed English
 * phrase for logs and CLI messages; callers that need detail pass an error
 * buffer of their own (see each function's comment). */
#ifndef WSS_ERR_H
#define WSS_ERR_H

typedef enum wss_err {
    WSS_OK = 0,
    WSS_ERR_NOMEM,     /* an allocation failed */
    WSS_ERR_INVALID,   /* input was malformed or out of range */
    WSS_ERR_TOO_LARGE, /* input exceeded a size limit */
    WSS_ERR_NOT_FOUND, /* the named thing does not exist */
    WSS_ERR_EXISTS,    /* the thing to create already exists */
    WSS_ERR_IO,        /* a file or socket operation failed */
    WSS_ERR_CRYPTO,    /* a key, certificate or signature operation failed */
    WSS_ERR_VERIFY,    /* a signature or certificate did not verify */
    WSS_ERR_STORE,     /* the database refused or failed */
    WSS_ERR_NETWORK,   /* a connection could not be made or broke */
    WSS_ERR_TIMEOUT,   /* the peer did not answer in time */
    WSS_ERR_PROTOCOL,  /* the peer answered with something unexpected */
    WSS_ERR_CONFIG,    /* the configuration is unusable */
    WSS_ERR_AUTH,      /* credentials missing, wrong or expired */
    WSS_ERR__COUNT
} wss_err;

/* A static, never-NULL description of rc. Unknown values give "unknown error". */
const char *wss_strerror(wss_err rc);

#endif

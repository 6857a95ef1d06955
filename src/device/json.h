/* json.h - the device's bounded JSON reader and writer.
 *
 * The reader never allocates and never copies the document: wss_jr_parse
 * checks the whole text once (RFC 8259 grammar, UTF-8, nesting at most
 * WSS_JR_MAX_DEPTH) and the lookups then walk spans of the caller's buffer.
 * It rejects: anything but one value surrounded by whitespace, control
 * characters and invalid UTF-8 in strings, bad escapes, lone surrogates and
 * \u0000 when a string is decoded, numbers outside the grammar, nesting deeper
 * than the limit, and (in wss_jr_get) a key present twice in one object.
 *
 * The writer appends to a caller buffer, escapes strings and keeps the text
 * NUL-terminated; once something does not fit it records the overflow and
 * writes nothing more. */
#ifndef WSS_DEVICE_JSON_H
#define WSS_DEVICE_JSON_H

#include <stddef.h>
#include <stdint.h>

#define WSS_JR_MAX_DEPTH 16

typedef enum wss_jr_type {
    WSS_JR_NONE = 0,
    WSS_JR_OBJECT,
    WSS_JR_ARRAY,
    WSS_JR_STRING,
    WSS_JR_NUMBER,
    WSS_JR_TRUE,
    WSS_JR_FALSE,
    WSS_JR_NULL,
} wss_jr_type;

/* A value: its text in the document (a string includes its quotes). */
typedef struct wss_jr_val {
    const char *p;
    size_t len;
    wss_jr_type type;
} wss_jr_val;

/* Walks the members of an object or the elements of an array. */
typedef struct wss_jr_iter {
    const char *p;
    const char *end;
    int first;
    int object;
} wss_jr_iter;

/* Checks buf[0..len) and sets *root. Returns 0, or -1 when the text is not
 * one valid JSON value (see the rejections above). */
int wss_jr_parse(const char *buf, size_t len, wss_jr_val *root);

/* Finds key in an object. Returns 0 and sets *out; -1 when obj is not an
 * object or the key is absent; -2 when the key appears more than once. */
int wss_jr_get(const wss_jr_val *obj, const char *key, wss_jr_val *out);

/* Starts a walk over an object or array (a walk over anything else is empty). */
void wss_jr_iter_init(wss_jr_iter *it, const wss_jr_val *container);

/* The next member (key is set for objects; pass NULL for arrays) or element.
 * Returns 1 when one came, 0 at the end. */
int wss_jr_next(wss_jr_iter *it, wss_jr_val *key, wss_jr_val *val);

/* Decodes a string value into out (cap bytes, NUL included) and sets *len
 * (if not NULL) to its length. Returns -1 for a non-string, a string that
 * does not fit, a lone surrogate or an escaped NUL. */
int wss_jr_string(const wss_jr_val *v, char *out, size_t cap, size_t *len);

/* 1 when v is a string whose decoded bytes are exactly s, else 0. */
int wss_jr_streq(const wss_jr_val *v, const char *s);

/* An integer value (no fraction, no exponent) in int64 range: 0, else -1. */
int wss_jr_int(const wss_jr_val *v, int64_t *out);

/* true or false: 0 and *out = 1 or 0, else -1. */
int wss_jr_bool(const wss_jr_val *v, int *out);

/* 1 when s[0..len) is valid UTF-8 (no overlong forms, no surrogates). */
int wss_jr_utf8_valid(const char *s, size_t len);

typedef struct wss_jw {
    char *buf;
    size_t cap; /* bytes of buf, NUL included */
    size_t len;
    int comma;    /* a value was written at this level: the next one needs a ',' */
    int overflow; /* something did not fit; sticky until a rollback */
} wss_jw;

typedef struct wss_jw_mark {
    size_t len;
    int comma;
} wss_jw_mark;

void wss_jw_init(wss_jw *w, char *buf, size_t cap);
void wss_jw_object_open(wss_jw *w);
void wss_jw_object_close(wss_jw *w);
void wss_jw_array_open(wss_jw *w);
void wss_jw_array_close(wss_jw *w);
void wss_jw_key(wss_jw *w, const char *key);
void wss_jw_string(wss_jw *w, const char *s);
void wss_jw_int(wss_jw *w, int64_t v);
void wss_jw_bool(wss_jw *w, int v);
void wss_jw_kv_string(wss_jw *w, const char *key, const char *s);
void wss_jw_kv_int(wss_jw *w, const char *key, int64_t v);
void wss_jw_kv_bool(wss_jw *w, const char *key, int v);

/* Where the text is now, to come back to it (drops an entry that did not fit). */
wss_jw_mark wss_jw_save(const wss_jw *w);
void wss_jw_rollback(wss_jw *w, wss_jw_mark m);

/* 0 when everything fit, -1 after an overflow. */
int wss_jw_ok(const wss_jw *w);

#endif

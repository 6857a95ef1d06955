/* json.c - the bounded JSON reader and writer (see json.h). */
#include "device/json.h"

#include <string.h>

/* ---- reader: grammar ------------------------------------------------------ */

static const char *jr_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int jr_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 when it is invalid. */
static size_t jr_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    }
    return n;
}

int wss_jr_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        size_t n = jr_utf8_seq(p, end);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

/* p is at '"'. Returns the position after the closing quote, or NULL. */
static const char *jr_scan_string(const char *p, const char *end)
{
    p++;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (++p >= end)
                return NULL;
            switch (*p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't': p++; break;
            case 'u':
                if (end - p < 5)
                    return NULL;
                for (int i = 1; i <= 4; i++) {
                    if (jr_hex(p[i]) < 0)
                        return NULL;
                }
                p += 5;
                break;
            default: return NULL;
            }
            continue;
        }
        size_t n = jr_utf8_seq((const unsigned char *)p, (const unsigned char *)end);
        if (n == 0)
            return NULL;
        p += n;
    }
    return NULL;
}

static const char *jr_digits(const char *p, const char *end)
{
    const char *s = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p == s ? NULL : p;
}

static const char *jr_scan_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (!(p = jr_digits(p, end)))
        return NULL;
    if (p < end && *p == '.') {
        if (!(p = jr_digits(p + 1, end)))
            return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = jr_digits(p, end)))
            return NULL;
    }
    return p;
}

static const char *jr_scan_literal(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
        return NULL;
    return p + n;
}

/* A scalar at p: the position after it, or NULL. */
static const char *jr_scan_scalar(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    switch (*p) {
    case '"': return jr_scan_string(p, end);
    case 't': return jr_scan_literal(p, end, "true");
    case 'f': return jr_scan_literal(p, end, "false");
    case 'n': return jr_scan_literal(p, end, "null");
    default: return (*p == '-' || (*p >= '0' && *p <= '9')) ? jr_scan_number(p, end) : NULL;
    }
}

static wss_jr_type jr_type_of(char c)
{
    switch (c) {
    case '{': return WSS_JR_OBJECT;
    case '[': return WSS_JR_ARRAY;
    case '"': return WSS_JR_STRING;
    case 't': return WSS_JR_TRUE;
    case 'f': return WSS_JR_FALSE;
    case 'n': return WSS_JR_NULL;
    default: return WSS_JR_NUMBER;
    }
}

/* The whole-document check. Iterative: the nesting is a bit stack (1 = object),
 * so hostile depth costs no C stack. */
int wss_jr_parse(const char *buf, size_t len, wss_jr_val *root)
{
    enum { VALUE, KEY, AFTER } st = VALUE;
    const char *p = buf, *end = buf + len;
    uint32_t objects = 0;
    int depth = 0;

    root->p = NULL;
    root->len = 0;
    root->type = WSS_JR_NONE;
    if (!buf)
        return -1;
    p = jr_ws(p, end);
    const char *start = p;
    for (;;) {
        if (st == VALUE) {
            p = jr_ws(p, end);
            if (p >= end)
                return -1;
            if (*p == '{' || *p == '[') {
                if (depth == WSS_JR_MAX_DEPTH)
                    return -1;
                int is_obj = *p == '{';
                objects = (objects << 1) | (uint32_t)is_obj;
                depth++;
                p = jr_ws(p + 1, end);
                if (p < end && *p == (is_obj ? '}' : ']')) {
                    objects >>= 1;
                    depth--;
                    p++;
                    st = AFTER;
                } else
                    st = is_obj ? KEY : VALUE;
                continue;
            }
            if (!(p = jr_scan_scalar(p, end)))
                return -1;
            st = AFTER;
        } else if (st == KEY) {
            p = jr_ws(p, end);
            if (p >= end || *p != '"' || !(p = jr_scan_string(p, end)))
                return -1;
            p = jr_ws(p, end);
            if (p >= end || *p != ':')
                return -1;
            p++;
            st = VALUE;
        } else {
            p = jr_ws(p, end);
            if (depth == 0)
                break;
            if (p >= end)
                return -1;
            int in_obj = objects & 1;
            if (*p == ',') {
                p++;
                st = in_obj ? KEY : VALUE;
            } else if (*p == (in_obj ? '}' : ']')) {
                p++;
                objects >>= 1;
                depth--;
            } else
                return -1;
        }
    }
    const char *value_end = p;
    while (value_end > start &&
           (value_end[-1] == ' ' || value_end[-1] == '\t' || value_end[-1] == '\n' || value_end[-1] == '\r'))
        value_end--;
    if (p != end)
        return -1;
    root->p = start;
    root->len = (size_t)(value_end - start);
    root->type = jr_type_of(*start);
    return 0;
}

/* ---- reader: walking a checked document ------------------------------------ */

/* The end of the value at p in checked text (NULL if the text is cut). */
static const char *jr_skip(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p != '{' && *p != '[')
        return jr_scan_scalar(p, end);
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if (!(p = jr_scan_string(p, end)))
                return NULL;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (--depth == 0)
                return p + 1;
        }
        p++;
    }
    return NULL;
}

void wss_jr_iter_init(wss_jr_iter *it, const wss_jr_val *c)
{
    it->first = 1;
    it->object = c->type == WSS_JR_OBJECT;
    if (c->type == WSS_JR_OBJECT || c->type == WSS_JR_ARRAY) {
        it->p = c->p + 1;
        it->end = c->p + c->len - 1; /* the closing bracket */
    } else {
        it->p = it->end = c->p;
    }
}

static int jr_value_at(const char **pp, const char *end, wss_jr_val *v)
{
    const char *p = jr_ws(*pp, end);
    const char *e = jr_skip(p, end);
    if (!e)
        return -1;
    v->p = p;
    v->len = (size_t)(e - p);
    v->type = jr_type_of(*p);
    *pp = e;
    return 0;
}

int wss_jr_next(wss_jr_iter *it, wss_jr_val *key, wss_jr_val *val)
{
    const char *p = jr_ws(it->p, it->end);
    if (p >= it->end)
        return 0;
    if (!it->first) {
        if (*p != ',')
            return 0;
        p++;
    }
    wss_jr_val k;
    if (it->object) {
        if (jr_value_at(&p, it->end, &k) < 0 || k.type != WSS_JR_STRING)
            return 0;
        p = jr_ws(p, it->end);
        if (p >= it->end || *p != ':')
            return 0;
        p++;
        if (key)
            *key = k;
    }
    if (jr_value_at(&p, it->end, val) < 0)
        return 0;
    it->p = p;
    it->first = 0;
    return 1;
}

/* Decodes one character of a string's body at *q into u (1..4 bytes).
 * Returns the byte count, or -1 for a lone surrogate or \u0000. */
static int jr_unit(const char **q, const char *end, char u[4])
{
    const char *p = *q;
    if (*p != '\\') {
        u[0] = *p;
        *q = p + 1;
        return 1;
    }
    p++;
    char c = *p++;
    uint32_t cp;
    switch (c) {
    case 'b': u[0] = '\b'; break;
    case 'f': u[0] = '\f'; break;
    case 'n': u[0] = '\n'; break;
    case 'r': u[0] = '\r'; break;
    case 't': u[0] = '\t'; break;
    case 'u':
        cp = (uint32_t)(jr_hex(p[0]) << 12 | jr_hex(p[1]) << 8 | jr_hex(p[2]) << 4 | jr_hex(p[3]));
        p += 4;
        if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return -1;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                return -1;
            uint32_t lo = (uint32_t)(jr_hex(p[2]) << 12 | jr_hex(p[3]) << 8 | jr_hex(p[4]) << 4 | jr_hex(p[5]));
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        *q = p;
        if (cp < 0x80) {
            u[0] = (char)cp;
            return 1;
        }
        if (cp < 0x800) {
            u[0] = (char)(0xC0 | cp >> 6);
            u[1] = (char)(0x80 | (cp & 0x3F));
            return 2;
        }
        if (cp < 0x10000) {
            u[0] = (char)(0xE0 | cp >> 12);
            u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
            u[2] = (char)(0x80 | (cp & 0x3F));
            return 3;
        }
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
    default: u[0] = c; break; /* '"', '\\', '/' */
    }
    *q = p;
    return 1;
}

int wss_jr_string(const wss_jr_val *v, char *out, size_t cap, size_t *len)
{
    if (cap > 0)
        out[0] = '\0';
    if (v->type != WSS_JR_STRING || v->len < 2 || cap == 0)
        return -1;
    const char *q = v->p + 1, *end = v->p + v->len - 1;
    size_t o = 0;
    while (q < end) {
        char u[4];
        int n = jr_unit(&q, end, u);
        if (n < 0 || o + (size_t)n >= cap) {
            out[0] = '\0';
            return -1;
        }
        memcpy(out + o, u, (size_t)n);
        o += (size_t)n;
    }
    out[o] = '\0';
    if (len)
        *len = o;
    return 0;
}

int wss_jr_streq(const wss_jr_val *v, const char *s)
{
    if (v->type != WSS_JR_STRING || v->len < 2)
        return 0;
    const char *q = v->p + 1, *end = v->p + v->len - 1;
    size_t i = 0, n = strlen(s);
    while (q < end) {
        char u[4];
        int k = jr_unit(&q, end, u);
        if (k < 0 || i + (size_t)k > n || memcmp(s + i, u, (size_t)k) != 0)
            return 0;
        i += (size_t)k;
    }
    return i == n;
}

int wss_jr_get(const wss_jr_val *obj, const char *key, wss_jr_val *out)
{
    if (obj->type != WSS_JR_OBJECT)
        return -1;
    wss_jr_iter it;
    wss_jr_val k, v;
    int found = 0;
    wss_jr_iter_init(&it, obj);
    while (wss_jr_next(&it, &k, &v)) {
        if (wss_jr_streq(&k, key)) {
            if (found)
                return -2;
            *out = v;
            found = 1;
        }
    }
    return found ? 0 : -1;
}

int wss_jr_int(const wss_jr_val *v, int64_t *out)
{
    if (v->type != WSS_JR_NUMBER || v->len == 0)
        return -1;
    const char *p = v->p, *end = v->p + v->len;
    int neg = *p == '-';
    if (neg)
        p++;
    if (p >= end)
        return -1;
    uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1; /* a fraction or an exponent */
        uint64_t d = (uint64_t)(*p - '0');
        if (acc > (limit - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (neg)
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    else
        *out = (int64_t)acc;
    return 0;
}

int wss_jr_bool(const wss_jr_val *v, int *out)
{
    if (v->type != WSS_JR_TRUE && v->type != WSS_JR_FALSE)
        return -1;
    *out = v->type == WSS_JR_TRUE;
    return 0;
}

/* ---- writer ----------------------------------------------------------------- */

void wss_jw_init(wss_jw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->comma = 0;
    w->overflow = cap == 0;
    if (cap > 0)
        buf[0] = '\0';
}

static void jw_raw(wss_jw *w, const char *s, size_t n)
{
    if (w->overflow)
        return;
    if (n >= w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void jw_sep(wss_jw *w)
{
    if (w->comma)
        jw_raw(w, ",", 1);
}

void wss_jw_object_open(wss_jw *w)
{
    jw_sep(w);
    jw_raw(w, "{", 1);
    w->comma = 0;
}

void wss_jw_object_close(wss_jw *w)
{
    jw_raw(w, "}", 1);
    w->comma = 1;
}

void wss_jw_array_open(wss_jw *w)
{
    jw_sep(w);
    jw_raw(w, "[", 1);
    w->comma = 0;
}

void wss_jw_array_close(wss_jw *w)
{
    jw_raw(w, "]", 1);
    w->comma = 1;
}

static void jw_quoted(wss_jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    jw_raw(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c >= 0x20) {
                jw_raw(w, s, 1);
                continue;
            }
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        jw_raw(w, esc, n);
    }
    jw_raw(w, "\"", 1);
}

void wss_jw_key(wss_jw *w, const char *key)
{
    jw_sep(w);
    jw_quoted(w, key);
    jw_raw(w, ":", 1);
    w->comma = 0;
}

void wss_jw_string(wss_jw *w, const char *s)
{
    jw_sep(w);
    jw_quoted(w, s);
    w->comma = 1;
}

void wss_jw_int(wss_jw *w, int64_t v)
{
    char tmp[21];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    jw_sep(w);
    jw_raw(w, tmp + i, sizeof tmp - i);
    w->comma = 1;
}

void wss_jw_bool(wss_jw *w, int v)
{
    jw_sep(w);
    if (v)
        jw_raw(w, "true", 4);
    else
        jw_raw(w, "false", 5);
    w->comma = 1;
}

void wss_jw_kv_string(wss_jw *w, const char *key, const char *s)
{
    wss_jw_key(w, key);
    wss_jw_string(w, s);
}

void wss_jw_kv_int(wss_jw *w, const char *key, int64_t v)
{
    wss_jw_key(w, key);
    wss_jw_int(w, v);
}

void wss_jw_kv_bool(wss_jw *w, const char *key, int v)
{
    wss_jw_key(w, key);
    wss_jw_bool(w, v);
}

wss_jw_mark wss_jw_save(const wss_jw *w)
{
    wss_jw_mark m = {w->len, w->comma};
    return m;
}

void wss_jw_rollback(wss_jw *w, wss_jw_mark m)
{
    w->len = m.len;
    w->comma = m.comma;
    w->overflow = 0;
    if (w->cap > 0)
        w->buf[w->len] = '\0';
}

int wss_jw_ok(const wss_jw *w) { return w->overflow ? -1 : 0; }

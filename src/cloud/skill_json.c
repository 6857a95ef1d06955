/* skill_json.c - the skill endpoint's JSON without a document tree (see
 * skill_json.h): one pass over a CDAD body, no allocation, values copied into
 * fixed buffers; and a writer that appends to one buffer.
 *
 * The reader is a recursive descent over the whole document (every value is
 * checked, not only the ones it keeps), so that it accepts nothing jansson
 * would refuse. It refuses more than jansson does (see skill_json.h): such a
 * body goes to jansson, which either reads it or says why not. */
#include "cloud/skill_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16
#define MAX_KEYS 32
#define MAX_NUMBER_DIGITS 15

/* Where a value sits in a CDAD; what the reader keeps depends on it. */
typedef enum node {
    N_OTHER = 0,
    N_ROOT,
    N_DIRECTIVE, /* directive */
    N_HEADER,    /* directive.header */
    N_PAYLOAD,   /* directive.payload */
    N_SCOPE,     /* directive.payload.scope */
    N_DEVICE,    /* directive.payload.device */
    N_NAMES,     /* directive.payload.device.preferredFriendlyNames */
    N_LABEL,     /* one of its elements */
    N_VALUE,     /* the element's value */
} node;

typedef struct span {
    const char *p;
    size_t n;
} span;

/* A field the reader keeps: seen at its place, and whether as a string. */
typedef struct field {
    int present, is_string;
    span s;
} field;

typedef struct reader {
    const char *p, *end;
    int depth;
    field ns, name, version, message_id, correlation, scope_type, token, device_id;
    int has_directive, has_header, has_payload, has_scope, has_device;
    cloud_cdad *out;
    int named;
} reader;

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* The length of the UTF-8 sequence at p (at most end), 0 when it is not a
 * valid one (overlong forms, surrogates and code points past U+10FFFF are
 * invalid, as jansson holds). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A string without escapes or control characters, in valid UTF-8: its
 * content (between the quotes). */
static int read_string(reader *r, span *out)
{
    if (r->p >= r->end || *r->p != '"')
        return 0;
    const unsigned char *p = (const unsigned char *)r->p + 1, *end = (const unsigned char *)r->end;
    const unsigned char *start = p;
    while (p < end && *p != '"') {
        if (*p < 0x20 || *p == '\\')
            return 0;
        size_t n = utf8_len(p, end);
        if (!n)
            return 0;
        p += n;
    }
    if (p >= end)
        return 0;
    out->p = (const char *)start;
    out->n = (size_t)(p - start);
    r->p = (const char *)p + 1;
    return 1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* -?(0|[1-9][0-9]*)(.[0-9]+)? with at most MAX_NUMBER_DIGITS digits in each
 * part: jansson reads any such number without overflow. */
static int read_number(reader *r)
{
    const char *p = r->p;
    if (p < r->end && *p == '-')
        p++;
    const char *digits = p;
    if (p < r->end && *p == '0')
        p++;
    else
        while (p < r->end && is_digit(*p))
            p++;
    if (p == digits || p - digits > MAX_NUMBER_DIGITS)
        return 0;
    if (p < r->end && *p == '.') {
        const char *frac = ++p;
        while (p < r->end && is_digit(*p))
            p++;
        if (p == frac || p - frac > MAX_NUMBER_DIGITS)
            return 0;
    }
    if (p < r->end && (*p == 'e' || *p == 'E' || is_digit(*p)))
        return 0;
    r->p = p;
    return 1;
}

static int read_word(reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return 0;
    r->p += n;
    return 1;
}

static int span_is(span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int read_value(reader *r, node at);

/* The node of the value under key in an object at `at`, and the field it
 * fills if any. */
static node child_of(reader *r, node at, span key, field **f)
{
    *f = NULL;
    switch (at) {
    case N_ROOT: return span_is(key, "directive") ? N_DIRECTIVE : N_OTHER;
    case N_DIRECTIVE:
        if (span_is(key, "header"))
            return N_HEADER;
        return span_is(key, "payload") ? N_PAYLOAD : N_OTHER;
    case N_HEADER:
        if (span_is(key, "namespace"))
            *f = &r->ns;
        else if (span_is(key, "name"))
            *f = &r->name;
        else if (span_is(key, "payloadVersion"))
            *f = &r->version;
        else if (span_is(key, "messageId"))
            *f = &r->message_id;
        else if (span_is(key, "correlationToken"))
            *f = &r->correlation;
        return N_OTHER;
    case N_PAYLOAD:
        if (span_is(key, "scope"))
            return N_SCOPE;
        return span_is(key, "device") ? N_DEVICE : N_OTHER;
    case N_SCOPE:
        if (span_is(key, "type"))
            *f = &r->scope_type;
        else if (span_is(key, "token"))
            *f = &r->token;
        return N_OTHER;
    case N_DEVICE:
        if (span_is(key, "id"))
            *f = &r->device_id;
        return span_is(key, "preferredFriendlyNames") ? N_NAMES : N_OTHER;
    case N_LABEL: return span_is(key, "value") ? N_VALUE : N_OTHER;
    default: return N_OTHER;
    }
}

/* A friendly name candidate: the first one that copies to something wins,
 * as the jansson path walks the list in order. */
static void name_candidate(reader *r, span text)
{
    if (!r->named && cloud_copy_text(r->out->name, text.p, text.n, CLOUD_TEXT_MAX_CHARS))
        r->named = 1;
}

static int read_object(reader *r, node at)
{
    span keys[MAX_KEYS];
    int nkeys = 0;
    r->p++; /* '{' */
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return 1;
    }
    for (;;) {
        span key;
        if (!read_string(r, &key) || nkeys == MAX_KEYS)
            return 0;
        for (int i = 0; i < nkeys; i++)
            if (keys[i].n == key.n && memcmp(keys[i].p, key.p, key.n) == 0)
                return 0; /* a duplicate key: jansson refuses the body */
        keys[nkeys++] = key;
        skip_ws(r);
        if (r->p >= r->end || *r->p != ':')
            return 0;
        r->p++;
        skip_ws(r);
        field *f;
        node child = child_of(r, at, key, &f);
        int is_string = r->p < r->end && *r->p == '"';
        if (f) {
            f->present = 1;
            f->is_string = is_string;
        }
        if (f && is_string) {
            if (!read_string(r, &f->s))
                return 0;
        } else if (at == N_VALUE && is_string && span_is(key, "text")) {
            span text;
            if (!read_string(r, &text))
                return 0;
            name_candidate(r, text);
        } else if (!read_value(r, child))
            return 0;
        skip_ws(r);
        if (r->p >= r->end)
            return 0;
        if (*r->p == '}') {
            r->p++;
            return 1;
        }
        if (*r->p != ',')
            return 0;
        r->p++;
        skip_ws(r);
    }
}

static int read_array(reader *r, node at)
{
    r->p++; /* '[' */
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return 1;
    }
    for (;;) {
        if (!read_value(r, at == N_NAMES ? N_LABEL : N_OTHER))
            return 0;
        skip_ws(r);
        if (r->p >= r->end)
            return 0;
        if (*r->p == ']') {
            r->p++;
            return 1;
        }
        if (*r->p != ',')
            return 0;
        r->p++;
        skip_ws(r);
    }
}

/* One value at r->p (no leading space); `at` is where it sits. */
static int read_value(reader *r, node at)
{
    if (r->p >= r->end)
        return 0;
    int ok;
    switch (*r->p) {
    case '{':
        if (r->depth == MAX_DEPTH)
            return 0;
        r->depth++;
        r->has_directive |= at == N_DIRECTIVE;
        r->has_header |= at == N_HEADER;
        r->has_payload |= at == N_PAYLOAD;
        r->has_scope |= at == N_SCOPE;
        r->has_device |= at == N_DEVICE;
        ok = read_object(r, at);
        r->depth--;
        return ok;
    case '[':
        if (r->depth == MAX_DEPTH)
            return 0;
        r->depth++;
        ok = read_array(r, at);
        r->depth--;
        return ok;
    case '"': {
        span s;
        return read_string(r, &s);
    }
    case 't': return read_word(r, "true");
    case 'f': return read_word(r, "false");
    case 'n': return read_word(r, "null");
    default: return read_number(r);
    }
}

/* Copies a string field into a buffer of size bytes: 0 when it is not a
 * string or does not fit. */
static int copy_field(const field *f, char *buf, size_t size)
{
    if (!f->present || !f->is_string || f->s.n >= size)
        return 0;
    memcpy(buf, f->s.p, f->s.n);
    buf[f->s.n] = 0;
    return 1;
}

int cloud_cdad_read(const char *body, size_t len, cloud_cdad *out)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.p = body;
    r.end = body + len;
    r.out = out;
    out->name[0] = 0;
    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{' || !read_value(&r, N_ROOT))
        return 0;
    skip_ws(&r);
    if (r.p != r.end)
        return 0;
    /* The envelope and the payload, as the jansson path checks them; it
     * also takes every case that would be refused. */
    char message_id[WSS_ALEXA_MESSAGE_ID_MAX + 2], scope_type[16];
    if (!r.has_directive || !r.has_header || !r.has_payload || !r.has_scope || !r.has_device)
        return 0;
    if (!r.ns.is_string || !span_is(r.ns.s, "Alexa.SimpleSetup") || !r.name.is_string ||
        !span_is(r.name.s, "AssociateCustomerDevice") || !r.version.is_string || !span_is(r.version.s, "3"))
        return 0;
    if (!copy_field(&r.message_id, message_id, sizeof message_id) || !wss_alexa_message_id_valid(message_id))
        return 0;
    if (r.correlation.present) {
        if (!copy_field(&r.correlation, out->correlation, sizeof out->correlation) || !out->correlation[0])
            return 0;
    } else
        out->correlation[0] = 0;
    if (!copy_field(&r.scope_type, scope_type, sizeof scope_type) || strcmp(scope_type, "BearerToken") != 0 ||
        !copy_field(&r.token, out->token, sizeof out->token) || !out->token[0])
        return 0;
    if (!copy_field(&r.device_id, out->device_id, sizeof out->device_id) || !wss_alexa_id_valid(out->device_id))
        return 0;
    return 1;
}

/* ---- naming categories ------------------------------------------------------ */

void cloud_categories_add(cloud_categories *cats, const char *category)
{
    if (!category || strlen(category) >= sizeof cats->names[0] || !wss_alexa_display_category_known(category))
        return;
    for (int i = 0; i < cats->n; i++)
        if (strcmp(cats->names[i], category) == 0)
            return;
    if (cats->n < (int)(sizeof cats->names / sizeof cats->names[0]))
        snprintf(cats->names[cats->n++], sizeof cats->names[0], "%s", category);
}

int cloud_categories_read(const char *naming, cloud_categories *cats)
{
    reader r;
    memset(&r, 0, sizeof r);
    memset(cats, 0, sizeof *cats);
    r.p = naming;
    r.end = naming + strlen(naming);
    skip_ws(&r);
    if (r.p >= r.end || *r.p != '[')
        return 0;
    r.p++;
    skip_ws(&r);
    if (r.p < r.end && *r.p == ']')
        r.p++;
    else
        for (;;) {
            span s;
            char name[sizeof cats->names[0]];
            if (!read_string(&r, &s))
                return 0;
            if (s.n < sizeof name) {
                memcpy(name, s.p, s.n);
                name[s.n] = 0;
                cloud_categories_add(cats, name);
            }
            skip_ws(&r);
            if (r.p < r.end && *r.p == ']') {
                r.p++;
                break;
            }
            if (r.p >= r.end || *r.p != ',')
                return 0;
            r.p++;
            skip_ws(&r);
        }
    skip_ws(&r);
    return r.p == r.end;
}

/* ---- text and the writer ----------------------------------------------------- */

size_t cloud_copy_text(char *out, const char *in, size_t n, size_t max_chars)
{
    const char *end = in + n;
    size_t o = 0, chars = 0;
    while (in < end && (*in == ' ' || (*in > 0 && *in < 0x20)))
        in++;
    for (; in < end && *in; in++) {
        unsigned char ch = (unsigned char)*in;
        if ((ch & 0xC0) != 0x80 && chars++ == max_chars)
            break;
        out[o++] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = 0;
    return o;
}

static int jw_room(cloud_jw *w, size_t more)
{
    if (w->failed)
        return 0;
    if (w->len + more + 1 <= w->cap)
        return 1;
    size_t cap = w->cap ? w->cap : 512;
    while (cap < w->len + more + 1)
        cap *= 2;
    char *p = realloc(w->buf, cap);
    if (!p) {
        free(w->buf);
        memset(w, 0, sizeof *w);
        w->failed = 1;
        return 0;
    }
    w->buf = p;
    w->cap = cap;
    return 1;
}

static void jw_bytes(cloud_jw *w, const char *s, size_t n)
{
    if (!jw_room(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

void cloud_jw_raw(cloud_jw *w, const char *s) { jw_bytes(w, s, strlen(s)); }

void cloud_jw_str(cloud_jw *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF"; /* upper case, as jansson writes them */
    jw_bytes(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jw_bytes(w, run, (size_t)(s - run));
        run = s + 1;
        char esc[7] = {'\\', 0};
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15]; break;
        }
        jw_bytes(w, esc, strlen(esc));
    }
    jw_bytes(w, run, (size_t)(s - run));
    jw_bytes(w, "\"", 1);
}

char *cloud_jw_take(cloud_jw *w, size_t *len)
{
    char *buf = w->failed ? NULL : w->buf;
    if (len)
        *len = buf ? w->len : 0;
    memset(w, 0, sizeof *w);
    return buf;
}

/* skill_json.h - the skill endpoint's JSON without a document tree: a strict
 * reader for the common AssociateCustomerDevice body, a reader for a device's
 * naming categories, and a small JSON writer for the answers and events.
 *
 * The readers accept only a subset of what jansson accepts and return 0 for
 * anything else; the caller then takes the general path (jansson), which
 * produces every error answer. So a body is either read here with exactly
 * the values jansson would give, or not read here at all. */
#ifndef WSS_CLOUD_SKILL_JSON_H
#define WSS_CLOUD_SKILL_JSON_H

#include <stddef.h>

#include "common/alexa.h"

#define CLOUD_TEXT_MAX_CHARS 128 /* friendlyName, manufacturerName, description */
#define CLOUD_TEXT_BUF (CLOUD_TEXT_MAX_CHARS * 4 + 1)
#define CLOUD_CDAD_TOKEN_MAX 1024
#define CLOUD_CDAD_CORRELATION_MAX 4096

/* What a well-formed CDAD carries, NUL-terminated. */
typedef struct cloud_cdad {
    char token[CLOUD_CDAD_TOKEN_MAX + 1];             /* payload.scope.token, non-empty */
    char device_id[WSS_ALEXA_ID_MAX + 1];             /* payload.device.id, wss_alexa_id_valid */
    char correlation[CLOUD_CDAD_CORRELATION_MAX + 1]; /* header.correlationToken; "" when absent */
    char name[CLOUD_TEXT_BUF]; /* the first preferredFriendlyNames[].value.text that cloud_copy_text
                                * leaves non-empty, copied by it; "" when none */
} cloud_cdad;

/* Reads body[0..len) as a CDAD: 1 when it is one JSON object that jansson
 * would parse (with duplicate keys rejected) into a directive with a valid
 * envelope (namespace Alexa.SimpleSetup, name AssociateCustomerDevice,
 * payloadVersion "3", a valid messageId, a correlationToken absent or a
 * non-empty string, a payload object) whose payload has a BearerToken scope
 * and a valid device.id, and that stays within this reader's limits. Not
 * accepted, to be read by jansson: escapes in strings, numbers with an
 * exponent or of more than 15 digits, nesting beyond 16 levels, objects of
 * more than 32 keys, fields longer than out's buffers, and everything
 * malformed or different. 0 leaves out undefined. */
int cloud_cdad_read(const char *body, size_t len, cloud_cdad *out);

/* The distinct known display categories of a device, in order of first
 * appearance. */
typedef struct cloud_categories {
    int n;
    char names[64][48];
} cloud_categories;

/* Adds category to cats when it is a known display category not yet in it. */
void cloud_categories_add(cloud_categories *cats, const char *category);

/* Reads naming (the JSON array text of a device's naming categories) when it
 * is an array of strings without escapes: 1 with cats filled (zeroed
 * first), else 0. */
int cloud_categories_read(const char *naming, cloud_categories *cats);

/* Copies at most max_chars UTF-8 characters of in[0..n) (valid UTF-8
 * without NUL), turning control characters into spaces and trimming spaces
 * at both ends. out must hold max_chars * 4 + 1 bytes. Returns the length. */
size_t cloud_copy_text(char *out, const char *in, size_t n, size_t max_chars);

/* A growing buffer of JSON text. After an allocation failed, `failed` is set
 * and further writes do nothing. */
typedef struct cloud_jw {
    char *buf; /* malloc'd, NUL-terminated; the caller frees it (or takes it) */
    size_t len, cap;
    int failed;
} cloud_jw;

/* Appends s as it is (JSON punctuation and keys). */
void cloud_jw_raw(cloud_jw *w, const char *s);
/* Appends s (valid UTF-8) as a JSON string, escaped as jansson escapes it. */
void cloud_jw_str(cloud_jw *w, const char *s);
/* The text written (malloc'd, the writer is left empty), or NULL (and
 * nothing to free) after a failed allocation. */
char *cloud_jw_take(cloud_jw *w, size_t *len);

#endif

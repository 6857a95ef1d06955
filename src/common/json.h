/* json.h - reading JSON objects from files and request bodies, strictly:
 * duplicate keys are refused, and the top level must be an object. */
#ifndef WSS_COMMON_JSON_H
#define WSS_COMMON_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "wss/err.h"

/* Parses the file at path (at most max bytes) as a JSON object. On failure
 * returns NULL with "<path>:<line>:<column>: <reason>" (or why the file could
 * not be read) in err. */
json_t *wss_json_load_object_file(const char *path, size_t max, char *err, size_t errlen);

/* Parses len bytes (no NUL needed) as a JSON object; NULL with the reason in why. */
json_t *wss_json_parse_object(const char *text, size_t len, char *why, size_t whylen);

#endif

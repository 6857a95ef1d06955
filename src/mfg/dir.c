/* dir.c - the manufacturing directory: file names, the lock that keeps two
 * issuers apart, and the two small JSON files that describe it (mfg.json,
 * written once at init; state.json, the DSN counter). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/file.h"
#include "common/json.h"
#include "mfg/internal.h"

void mfg_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int mfg_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap;
}

void mfg_free_secret(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}

wss_err mfg_write_json(const char *path, const json_t *doc, unsigned mode)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return WSS_ERR_NOMEM;
    size_t len = strlen(text);
    char *line = malloc(len + 2);
    wss_err rc = WSS_ERR_NOMEM;
    if (line) {
        memcpy(line, text, len);
        line[len] = '\n';
        rc = wss_write_file_atomic(path, line, len + 1, mode);
    }
    free(line);
    free(text);
    return rc;
}

wss_err mfg_write_state(const char *dir, unsigned long long next_serial)
{
    char path[MFG_PATH_MAX];
    if (!mfg_path(path, sizeof path, dir, MFG_STATE))
        return WSS_ERR_INVALID;
    json_t *doc = json_pack("{s:i, s:I}", "format", MFG_FORMAT, "next_serial", (json_int_t)next_serial);
    wss_err rc = doc ? mfg_write_json(path, doc, 0644) : WSS_ERR_NOMEM;
    json_decref(doc);
    return rc;
}

/* A string member of doc copied into out (of cap bytes), checked by valid. */
static int take_string(const json_t *doc, const char *key, char *out, size_t cap, int (*valid)(const char *))
{
    const char *v = json_string_value(json_object_get(doc, key));
    if (!v || strlen(v) >= cap || !valid(v))
        return 0;
    memcpy(out, v, strlen(v) + 1);
    return 1;
}

static int manufacturer_ok(const char *s) { return mfg_text_valid(s, WSS_MFG_MANUFACTURER_MAX); }
static int model_ok(const char *s) { return mfg_text_valid(s, WSS_MFG_TEXT_MAX); }

wss_err mfg_dir_load(const char *dir, mfg_dir *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (!dir || !*dir || strlen(dir) > MFG_DIR_MAX) {
        mfg_set_err(err, errlen, "the directory must be a path of 1 to %d bytes", MFG_DIR_MAX);
        return WSS_ERR_INVALID;
    }
    memcpy(d->path, dir, strlen(dir) + 1);
    char path[MFG_PATH_MAX], why[512];
    mfg_path(path, sizeof path, dir, MFG_CONFIG);
    if (access(path, F_OK) != 0) {
        mfg_set_err(err, errlen, "%s is not a manufacturing directory (no %s; run wss mfg init first)", dir,
                    MFG_CONFIG);
        return WSS_ERR_NOT_FOUND;
    }
    json_t *cfg = wss_json_load_object_file(path, MFG_SMALL_FILE_MAX, why, sizeof why);
    if (!cfg) {
        mfg_set_err(err, errlen, "%s", why);
        return WSS_ERR_CONFIG;
    }
    int ok =
        json_integer_value(json_object_get(cfg, "format")) == MFG_FORMAT &&
        take_string(cfg, "manufacturer", d->manufacturer, sizeof d->manufacturer, manufacturer_ok) &&
        take_string(cfg, "product_index", d->product_index, sizeof d->product_index, wss_mfg_product_index_valid) &&
        take_string(cfg, "model", d->model, sizeof d->model, model_ok);
    json_decref(cfg);
    if (!ok) {
        mfg_set_err(err, errlen, "%s: needs format %d and a valid manufacturer, product_index and model", path,
                    MFG_FORMAT);
        return WSS_ERR_CONFIG;
    }
    mfg_path(path, sizeof path, dir, MFG_STATE);
    json_t *st = wss_json_load_object_file(path, MFG_SMALL_FILE_MAX, why, sizeof why);
    if (!st) {
        mfg_set_err(err, errlen, "%s", why);
        return WSS_ERR_CONFIG;
    }
    json_t *next = json_object_get(st, "next_serial");
    int is_int = json_is_integer(next) && json_integer_value(json_object_get(st, "format")) == MFG_FORMAT;
    json_int_t n = json_integer_value(next);
    json_decref(st);
    if (!is_int || n < 1 || n > 100000000) {
        mfg_set_err(err, errlen, "%s: needs format %d and next_serial, an integer from 1 to 100000000", path,
                    MFG_FORMAT);
        return WSS_ERR_CONFIG;
    }
    d->next_serial = (unsigned long long)n;
    return WSS_OK;
}

wss_err mfg_lock(const char *dir, int *fd, char *err, size_t errlen)
{
    char path[MFG_PATH_MAX];
    *fd = -1;
    if (!mfg_path(path, sizeof path, dir, MFG_LOCK))
        return WSS_ERR_INVALID;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0) {
        mfg_set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return errno == ENOENT ? WSS_ERR_NOT_FOUND : WSS_ERR_IO;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(f);
        mfg_set_err(err, errlen, "%s is in use by another wss mfg (%s)", dir,
                    e == EWOULDBLOCK ? "its lock is held" : strerror(e));
        return e == EWOULDBLOCK ? WSS_ERR_EXISTS : WSS_ERR_IO;
    }
    *fd = f;
    return WSS_OK;
}

void mfg_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing releases the flock */
}

/* internal.h - the modules of src/mfg and what they share.
 *
 *   ids.c      validation of single values (DSN, product index, UPC, texts)
 *              and the package barcode string
 *   dir.c      the manufacturing directory: its file names, the lock, loading
 *              mfg.json and state.json, small file helpers
 *   init.c     wss_mfg_init: the DAK
 *   issue.c    wss_mfg_issue: device bundles, control log, barcodes
 *   describe.c wss_mfg_describe and wss_mfg_barcode: read-outs without secrets */
#ifndef WSS_MFG_INTERNAL_H
#define WSS_MFG_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "wss/err.h"
#include "wss/mfg.h"

#define MFG_CONFIG "mfg.json"
#define MFG_STATE "state.json"
#define MFG_DAK_CERT "dak_certificate.pem"
#define MFG_DAK_KEY "dak_private_key.pem"
#define MFG_DEVICES "devices"
#define MFG_CONTROL_LOG "control-log.jsonl"
#define MFG_BARCODES "barcodes.txt"
#define MFG_LOCK ".lock"
/* Staging folders of an issue in progress: devices/.issue-<pid>. */
#define MFG_STAGING_PREFIX ".issue-"

#define MFG_FORMAT 1
/* Room for the directory's path plus "/devices/<DSN>/private_key.pem.tmp.<pid>". */
#define MFG_PATH_MAX 4096
#define MFG_DIR_MAX 3800
/* Largest mfg.json, state.json, device.json or PEM file read back. */
#define MFG_SMALL_FILE_MAX (64 * 1024)

/* ---- ids.c ---- */

/* 1..max bytes of UTF-8 without control characters (below 0x20, or 0x7f). */
int mfg_text_valid(const char *s, size_t max);
/* A serial prefix: 0..WSS_MFG_PREFIX_MAX DSN characters other than ';'. */
int mfg_prefix_valid(const char *s);
/* A DNS host name: 1..253 bytes of letters, digits, '-' and '.', labels of 1..63. */
int mfg_host_valid(const char *s);

/* ---- dir.c ---- */

void mfg_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "<dir>/<name>" into out; 0 when it does not fit. */
int mfg_path(char *out, size_t cap, const char *dir, const char *name);

/* What mfg.json and state.json say. */
typedef struct mfg_dir {
    char path[MFG_DIR_MAX + 1];
    char manufacturer[WSS_MFG_MANUFACTURER_MAX + 1];
    char product_index[5];
    char model[WSS_MFG_TEXT_MAX + 1];
    unsigned long long next_serial;
} mfg_dir;

/* Loads the directory (WSS_ERR_NOT_FOUND when it has no mfg.json,
 * WSS_ERR_CONFIG when a file is malformed). */
wss_err mfg_dir_load(const char *dir, mfg_dir *d, char *err, size_t errlen);

/* state.json with next_serial, written atomically. */
wss_err mfg_write_state(const char *dir, unsigned long long next_serial);

/* Takes the directory's exclusive lock (the file .lock, flock). WSS_ERR_EXISTS
 * when another process holds it. *fd is closed by mfg_unlock. */
wss_err mfg_lock(const char *dir, int *fd, char *err, size_t errlen);
void mfg_unlock(int fd);

/* doc as indented JSON (keys in insertion order) plus a newline, written
 * atomically with mode. */
wss_err mfg_write_json(const char *path, const json_t *doc, unsigned mode);

/* Zeroes and frees a string that may hold key material. */
void mfg_free_secret(char *s);

#endif

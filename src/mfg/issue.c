/* issue.c - wss_mfg_issue: a batch of devices under the directory's DAK.
 *
 * A batch is all or nothing. Every bundle is first written in a staging
 * folder (devices/.issue-<pid>/, mode 0700) that nothing reads; then, in this
 * order: state.json takes the new counter (so a crash never hands a DSN out
 * twice), the control log and barcodes.txt get their lines (appended,
 * fsynced), and the bundles are renamed into devices/. An error at any of
 * these steps undoes the earlier ones. A crash between them can leave lines
 * in the control log for devices that have no bundle (a key registered that
 * no device holds, which is harmless), never a bundle whose key is not in
 * the log. Private keys are created with mode 0600 (never wider, even for a
 * moment) and are never printed. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/file.h"
#include "common/x509.h"
#include "mfg/internal.h"

/* 25 years; wss_x509 cuts it at the DAK's own end. */
#define DEVICE_DAYS_DEFAULT (25 * 365 + 6)
#define SERIAL_LIMIT 100000000ULL /* 10^WSS_MFG_SERIAL_DIGITS */
#define DSS_KEY_TEXT_MAX 16384

/* A growing text buffer for the lines appended at commit. */
typedef struct text_buf {
    char *p;
    size_t len, cap;
} text_buf;

static int buf_add(text_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
    return 1;
}

/* Everything one issue needs, resolved and checked before anything is written. */
typedef struct batch {
    const wss_mfg_issue_options *o;
    mfg_dir d;
    char prefix[WSS_MFG_PREFIX_MAX + 1];
    char *dss_key_b64; /* normalised DSS.PublicKey, or NULL */
    const char *dss_host, *hw, *fw;
    unsigned dss_port;
    wss_crypto_key *dak_key;
    char *dak_pem;
    char devices[MFG_PATH_MAX];
    char staging[MFG_PATH_MAX];
    int staging_made;
    text_buf log, barcodes;
    char (*dsns)[WSS_MFG_DSN_MAX + 1];
    unsigned made;  /* bundles staged */
    unsigned moved; /* bundles renamed into devices/ */
} batch;

/* Reads the --dss-public-key value: base64 or PEM text, or "@FILE". */
static wss_err load_dss_key(batch *b, const char *arg, char *err, size_t errlen)
{
    char *text = NULL;
    if (arg[0] == '@') {
        wss_err rc = wss_read_file(arg + 1, DSS_KEY_TEXT_MAX, &text, NULL);
        if (rc != WSS_OK) {
            mfg_set_err(err, errlen, "cannot read the DSS public key from %s: %s", arg + 1, wss_strerror(rc));
            return rc == WSS_ERR_NOT_FOUND ? WSS_ERR_INVALID : rc;
        }
        /* A file from `base64` or an editor ends with a newline. */
        size_t n = strlen(text);
        while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
            text[--n] = 0;
    }
    wss_crypto_key *key = NULL;
    char why[160];
    wss_err rc = wss_key_parse_public(text ? text : arg, &key, why, sizeof why);
    free(text);
    if (rc != WSS_OK) {
        mfg_set_err(err, errlen, "the DSS public key: %s", why);
        return WSS_ERR_INVALID;
    }
    b->dss_key_b64 = wss_key_public_b64(key);
    wss_key_free(key);
    return b->dss_key_b64 ? WSS_OK : WSS_ERR_CRYPTO;
}

static wss_err check_options(batch *b, char *err, size_t errlen)
{
    const wss_mfg_issue_options *o = b->o;
    if (!o || !o->dir || !*o->dir || strlen(o->dir) > MFG_DIR_MAX)
        mfg_set_err(err, errlen, "the directory must be a path of 1 to %d bytes", MFG_DIR_MAX);
    else if (o->count < 1 || o->count > WSS_MFG_BATCH_MAX)
        mfg_set_err(err, errlen, "the count must be 1 to %d", WSS_MFG_BATCH_MAX);
    else if (o->serial_prefix && !mfg_prefix_valid(o->serial_prefix))
        mfg_set_err(err, errlen, "the serial prefix must be 0 to %d of letters, digits and _-=#:?@& (not ';')",
                    WSS_MFG_PREFIX_MAX);
    else if (o->upc && !wss_mfg_upc_valid(o->upc))
        mfg_set_err(err, errlen, "the UPC must be 12 digits whose last is the UPC-A check digit");
    else if (o->hardware_version && !mfg_text_valid(o->hardware_version, WSS_MFG_TEXT_MAX))
        mfg_set_err(err, errlen, "the hardware version must be 1 to %d bytes of UTF-8 without control characters",
                    WSS_MFG_TEXT_MAX);
    else if (o->firmware_version && !mfg_text_valid(o->firmware_version, WSS_MFG_TEXT_MAX))
        mfg_set_err(err, errlen, "the firmware version must be 1 to %d bytes of UTF-8 without control characters",
                    WSS_MFG_TEXT_MAX);
    else if (o->dss_host && !mfg_host_valid(o->dss_host))
        mfg_set_err(err, errlen, "the DSS host must be a DNS name (letters, digits, '-' and '.')");
    else if (o->dss_port > 65535)
        mfg_set_err(err, errlen, "the DSS port must be 1 to 65535");
    else if (o->device_days < 0 || o->device_days > WSS_X509_DAYS_MAX)
        mfg_set_err(err, errlen, "the device certificate lifetime must be 1 to %d days", WSS_X509_DAYS_MAX);
    else {
        b->dss_host = o->dss_host ? o->dss_host : WSS_MFG_DEFAULT_DSS_HOST;
        b->dss_port = o->dss_port ? o->dss_port : 443;
        b->hw = o->hardware_version ? o->hardware_version : "1.0";
        b->fw = o->firmware_version ? o->firmware_version : "1.0.0";
        return o->dss_public_key ? load_dss_key(b, o->dss_public_key, err, errlen) : WSS_OK;
    }
    return WSS_ERR_INVALID;
}

static wss_err load_dak(batch *b, char *err, size_t errlen)
{
    char path[MFG_PATH_MAX], why[160];
    char *key_pem = NULL;
    mfg_path(path, sizeof path, b->d.path, MFG_DAK_CERT);
    wss_err rc = wss_read_file(path, MFG_SMALL_FILE_MAX, &b->dak_pem, NULL);
    if (rc == WSS_OK) {
        mfg_path(path, sizeof path, b->d.path, MFG_DAK_KEY);
        rc = wss_read_file(path, MFG_SMALL_FILE_MAX, &key_pem, NULL);
    }
    if (rc != WSS_OK) {
        mfg_set_err(err, errlen, "cannot read %s: %s", path, wss_strerror(rc));
        return WSS_ERR_CONFIG;
    }
    rc = wss_key_parse_private_pem(key_pem, &b->dak_key, why, sizeof why);
    mfg_free_secret(key_pem);
    if (rc != WSS_OK) {
        mfg_set_err(err, errlen, "%s: %s", path, why);
        return WSS_ERR_CONFIG;
    }
    return WSS_OK;
}

/* Removes staging folders left by an issue that crashed (the lock is ours,
 * so none of them belongs to a live issue). */
static void remove_stale_staging(const char *devices)
{
    DIR *dh = opendir(devices);
    struct dirent *e;
    char path[MFG_PATH_MAX];
    while (dh && (e = readdir(dh)) != NULL)
        if (strncmp(e->d_name, MFG_STAGING_PREFIX, strlen(MFG_STAGING_PREFIX)) == 0 &&
            mfg_path(path, sizeof path, devices, e->d_name))
            wss_remove_tree(path);
    if (dh)
        closedir(dh);
}

/* The storage map of docs/mfg.md, keys in their documented order. */
static json_t *device_json(const batch *b, const char *dsn, const char *pub_b64, const char *barcode)
{
    json_t *m = json_object();
    char port[8];
    snprintf(port, sizeof port, "%u", b->dss_port);
    int ok = m && !json_object_set_new(m, "DeviceInformation.SerialNumber", json_string(dsn)) &&
             !json_object_set_new(m, "DeviceInformation.PublicKey", json_string(pub_b64)) &&
             !json_object_set_new(m, "DeviceInformation.ProductIndex", json_string(b->d.product_index)) &&
             !json_object_set_new(m, "DeviceInformation.ManufacturerName", json_string(b->d.manufacturer)) &&
             !json_object_set_new(m, "DeviceInformation.ModelNumber", json_string(b->d.model)) &&
             !json_object_set_new(m, "DeviceInformation.HardwareVersion", json_string(b->hw)) &&
             !json_object_set_new(m, "DeviceInformation.FirmwareVersion", json_string(b->fw)) &&
             (!b->dss_key_b64 || !json_object_set_new(m, "DSS.PublicKey", json_string(b->dss_key_b64))) &&
             !json_object_set_new(m, "DSS.Host", json_string(b->dss_host)) &&
             !json_object_set_new(m, "DSS.Port", json_string(port)) &&
             !json_object_set_new(m, "barcode", json_string(barcode));
    if (!ok) {
        json_decref(m);
        return NULL;
    }
    return m;
}

/* The control log line: {"dsn","product_index","public_key"} and a newline. */
static int add_log_line(batch *b, const char *dsn, const char *pub_b64)
{
    json_t *line = json_pack("{s:s, s:s, s:s}", "dsn", dsn, "product_index", b->d.product_index, "public_key", pub_b64);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int ok = text && buf_add(&b->log, text) && buf_add(&b->log, "\n");
    free(text);
    json_decref(line);
    return ok;
}

/* Writes the three files of one device into staging/<dsn>/. */
static wss_err write_bundle(const char *folder, const char *chain, const char *key_pem, const json_t *dev)
{
    char path[MFG_PATH_MAX];
    wss_err rc = wss_mkdir(folder);
    if (rc == WSS_OK && mfg_path(path, sizeof path, folder, "private_key.pem"))
        rc = wss_write_file_atomic(path, key_pem, strlen(key_pem), 0600);
    if (rc == WSS_OK && mfg_path(path, sizeof path, folder, "certificate.pem"))
        rc = wss_write_file_atomic(path, chain, strlen(chain), 0644);
    if (rc == WSS_OK && mfg_path(path, sizeof path, folder, "device.json"))
        rc = mfg_write_json(path, dev, 0644);
    return rc;
}

/* Makes and stages device i: key, certificate chain, device.json, barcode. */
static wss_err stage_device(batch *b, unsigned i, char *err, size_t errlen)
{
    char *dsn = b->dsns[i];
    char folder[MFG_PATH_MAX], why[256];
    mfg_path(folder, sizeof folder, b->staging, dsn);
    wss_crypto_key *key = NULL;
    char *leaf = NULL, *pub = NULL, *key_pem = NULL, *barcode = NULL, *chain = NULL;
    json_t *dev = NULL;
    wss_x509_name subject = {.cn = dsn, .organization = b->d.manufacturer, .serial_number = dsn};
    int days = b->o->device_days ? b->o->device_days : DEVICE_DAYS_DEFAULT;
    wss_err rc = wss_key_generate(&key);
    if (rc == WSS_OK)
        rc = wss_x509_issue_client_named(b->dak_key, b->dak_pem, key, &subject, days, &leaf, why, sizeof why);
    else
        snprintf(why, sizeof why, "cannot make a key");
    if (rc == WSS_OK) {
        pub = wss_key_public_b64(key);
        key_pem = wss_key_private_pem(key);
        size_t n = strlen(leaf) + strlen(b->dak_pem) + 1;
        if ((chain = malloc(n)) != NULL)
            snprintf(chain, n, "%s%s", leaf, b->dak_pem);
        rc = pub && key_pem && chain ? WSS_OK : WSS_ERR_NOMEM;
        snprintf(why, sizeof why, "out of memory");
    }
    if (rc == WSS_OK)
        rc = wss_mfg_barcode_make(dsn, b->d.product_index, pub, b->o->upc, &barcode, why, sizeof why);
    if (rc == WSS_OK && (!(dev = device_json(b, dsn, pub, barcode)) || !add_log_line(b, dsn, pub) ||
                         !buf_add(&b->barcodes, barcode) || !buf_add(&b->barcodes, "\n"))) {
        rc = WSS_ERR_NOMEM;
        snprintf(why, sizeof why, "out of memory");
    }
    if (rc == WSS_OK && (rc = write_bundle(folder, chain, key_pem, dev)) != WSS_OK)
        snprintf(why, sizeof why, "cannot write its bundle in the staging folder: %s", wss_strerror(rc));
    if (rc != WSS_OK)
        mfg_set_err(err, errlen, "device %s: %s", dsn, why);
    json_decref(dev);
    free(barcode);
    free(chain);
    free(pub);
    free(leaf);
    mfg_free_secret(key_pem);
    wss_key_free(key);
    return rc;
}

/* Appends data to path, fsynced; *old_size receives the size before, for
 * truncate_back. A file whose last line lacks its newline gets one first. */
static wss_err append_file(const char *path, const char *data, size_t len, off_t *old_size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    struct stat st;
    if (fd < 0)
        return WSS_ERR_IO;
    wss_err rc = WSS_ERR_IO;
    char last = '\n';
    if (fstat(fd, &st) == 0 && (st.st_size == 0 || pread(fd, &last, 1, st.st_size - 1) == 1)) {
        *old_size = st.st_size;
        rc = WSS_OK;
        if (last != '\n' && write(fd, "\n", 1) != 1)
            rc = WSS_ERR_IO;
        while (rc == WSS_OK && len) {
            ssize_t n = write(fd, data, len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                rc = WSS_ERR_IO;
            else
                data += n, len -= (size_t)n;
        }
        if (rc == WSS_OK && fsync(fd) != 0)
            rc = WSS_ERR_IO;
        if (rc != WSS_OK && ftruncate(fd, *old_size) == 0)
            fsync(fd);
    }
    if (close(fd) != 0 && rc == WSS_OK)
        rc = WSS_ERR_IO;
    return rc;
}

static void truncate_back(const char *path, off_t size)
{
    if (size == 0)
        unlink(path);
    else if (truncate(path, size) != 0)
        fprintf(stderr, "wss mfg: could not undo the append to %s\n", path);
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Publishes the staged batch; undoes every step on failure. */
static wss_err commit(batch *b, char *err, size_t errlen)
{
    char log_path[MFG_PATH_MAX], bc_path[MFG_PATH_MAX], from[MFG_PATH_MAX], to[MFG_PATH_MAX];
    mfg_path(log_path, sizeof log_path, b->d.path, MFG_CONTROL_LOG);
    mfg_path(bc_path, sizeof bc_path, b->d.path, MFG_BARCODES);
    off_t log_size = 0, bc_size = 0;
    int log_done = 0, bc_done = 0;
    wss_err rc = mfg_write_state(b->d.path, b->d.next_serial + b->o->count);
    if (rc != WSS_OK) {
        mfg_set_err(err, errlen, "cannot write %s/%s: %s", b->d.path, MFG_STATE, wss_strerror(rc));
        return rc;
    }
    if ((rc = append_file(log_path, b->log.p, b->log.len, &log_size)) == WSS_OK)
        log_done = 1;
    else
        mfg_set_err(err, errlen, "cannot append to %s: %s", log_path, wss_strerror(rc));
    if (rc == WSS_OK && (rc = append_file(bc_path, b->barcodes.p, b->barcodes.len, &bc_size)) == WSS_OK)
        bc_done = 1;
    else if (rc == WSS_OK)
        mfg_set_err(err, errlen, "cannot append to %s: %s", bc_path, wss_strerror(rc));
    for (; rc == WSS_OK && b->moved < b->o->count; b->moved++) {
        mfg_path(from, sizeof from, b->staging, b->dsns[b->moved]);
        mfg_path(to, sizeof to, b->devices, b->dsns[b->moved]);
        if (rename(from, to) != 0) {
            mfg_set_err(err, errlen, "cannot move the bundle to %s: %s", to, strerror(errno));
            rc = WSS_ERR_IO;
        }
    }
    if (rc == WSS_OK) {
        fsync_dir(b->devices);
        return WSS_OK;
    }
    while (b->moved > 0) {
        b->moved--;
        mfg_path(to, sizeof to, b->devices, b->dsns[b->moved]);
        wss_remove_tree(to);
    }
    if (bc_done)
        truncate_back(bc_path, bc_size);
    if (log_done)
        truncate_back(log_path, log_size);
    mfg_write_state(b->d.path, b->d.next_serial);
    return rc;
}

/* Names the batch's DSNs and checks that none is taken. */
static wss_err name_devices(batch *b, char *err, size_t errlen)
{
    unsigned count = b->o->count;
    if (b->d.next_serial + count > SERIAL_LIMIT) {
        mfg_set_err(err, errlen, "the serial counter would pass %llu (next is %llu): use another directory",
                    SERIAL_LIMIT - 1, b->d.next_serial);
        return WSS_ERR_TOO_LARGE;
    }
    snprintf(b->prefix, sizeof b->prefix, "%s", b->o->serial_prefix ? b->o->serial_prefix : b->d.product_index);
    if (!b->o->serial_prefix)
        strcat(b->prefix, "-");
    if (!(b->dsns = calloc(count, sizeof *b->dsns)))
        return WSS_ERR_NOMEM;
    struct stat st;
    char path[MFG_PATH_MAX];
    for (unsigned i = 0; i < count; i++) {
        snprintf(b->dsns[i], sizeof b->dsns[i], "%s%0*llu", b->prefix, WSS_MFG_SERIAL_DIGITS, b->d.next_serial + i);
        mfg_path(path, sizeof path, b->devices, b->dsns[i]);
        if (lstat(path, &st) == 0) {
            mfg_set_err(err, errlen, "%s already exists: refusing to issue DSN %s twice", path, b->dsns[i]);
            return WSS_ERR_EXISTS;
        }
    }
    return WSS_OK;
}

static wss_err run(batch *b, char *err, size_t errlen)
{
    wss_err rc = mfg_dir_load(b->o->dir, &b->d, err, errlen);
    if (rc != WSS_OK || (rc = load_dak(b, err, errlen)) != WSS_OK)
        return rc;
    mfg_path(b->devices, sizeof b->devices, b->d.path, MFG_DEVICES);
    if ((rc = wss_mkdir(b->devices)) != WSS_OK) {
        mfg_set_err(err, errlen, "cannot create %s: %s", b->devices, wss_strerror(rc));
        return rc;
    }
    if ((rc = name_devices(b, err, errlen)) != WSS_OK)
        return rc;
    remove_stale_staging(b->devices);
    char name[64];
    snprintf(name, sizeof name, "%s%ld", MFG_STAGING_PREFIX, (long)getpid());
    mfg_path(b->staging, sizeof b->staging, b->devices, name);
    if ((rc = wss_mkdir(b->staging)) != WSS_OK) {
        mfg_set_err(err, errlen, "cannot create %s: %s", b->staging, wss_strerror(rc));
        return rc;
    }
    b->staging_made = 1;
    for (; b->made < b->o->count; b->made++)
        if ((rc = stage_device(b, b->made, err, errlen)) != WSS_OK)
            return rc;
    return commit(b, err, errlen);
}

wss_err wss_mfg_issue(const wss_mfg_issue_options *o, wss_mfg_issued *out, char *err, size_t errlen)
{
    mfg_set_err(err, errlen, "%s", "");
    if (out)
        memset(out, 0, sizeof *out);
    batch b = {.o = o};
    wss_err rc = check_options(&b, err, errlen);
    int lock = -1;
    if (rc == WSS_OK)
        rc = mfg_lock(o->dir, &lock, err, errlen);
    if (rc == WSS_ERR_NOT_FOUND)
        mfg_set_err(err, errlen, "%s is not a manufacturing directory (run wss mfg init first)", o->dir);
    if (rc == WSS_OK)
        rc = run(&b, err, errlen);
    if (b.staging_made)
        wss_remove_tree(b.staging);
    mfg_unlock(lock);
    if (rc == WSS_OK && out) {
        out->count = o->count;
        out->dsns = b.dsns;
        b.dsns = NULL;
    }
    free(b.dsns);
    free(b.log.p);
    free(b.barcodes.p);
    free(b.dss_key_b64);
    free(b.dak_pem);
    wss_key_free(b.dak_key);
    return rc;
}

void wss_mfg_issued_free(wss_mfg_issued *issued)
{
    if (!issued)
        return;
    free(issued->dsns);
    issued->dsns = NULL;
    issued->count = 0;
}

/* describe.c - read-outs of a manufacturing directory without secrets:
 * wss_mfg_describe (the directory, or one device) and wss_mfg_barcode.
 * Nothing here opens a private key file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "common/json.h"
#include "common/x509.h"
#include "mfg/internal.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The DSNs under devices/, sorted; staging folders and stray names skipped. */
static wss_err list_dsns(const char *devices, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *dh = opendir(devices);
    if (!dh)
        return WSS_OK; /* no devices yet */
    size_t cap = 0;
    wss_err rc = WSS_OK;
    struct dirent *e;
    while (rc == WSS_OK && (e = readdir(dh)) != NULL) {
        if (!wss_mfg_dsn_valid(e->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **bigger = realloc(*out, cap * sizeof *bigger);
            if (!bigger) {
                rc = WSS_ERR_NOMEM;
                break;
            }
            *out = bigger;
        }
        if (((*out)[*n] = strdup(e->d_name)) == NULL)
            rc = WSS_ERR_NOMEM;
        else
            (*n)++;
    }
    closedir(dh);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_str);
    return rc;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static json_t *load_device_json(const char *dir, const char *dsn, char *err, size_t errlen, wss_err *rc)
{
    char path[MFG_PATH_MAX], why[512];
    snprintf(path, sizeof path, "%s/%s/%s/device.json", dir, MFG_DEVICES, dsn);
    json_t *doc = wss_json_load_object_file(path, MFG_SMALL_FILE_MAX, why, sizeof why);
    if (!doc) {
        char folder[MFG_PATH_MAX];
        snprintf(folder, sizeof folder, "%s/%s/%s", dir, MFG_DEVICES, dsn);
        int missing = access(folder, F_OK) != 0;
        *rc = missing ? WSS_ERR_NOT_FOUND : WSS_ERR_CONFIG;
        if (missing)
            mfg_set_err(err, errlen, "no device %s in %s", dsn, dir);
        else
            mfg_set_err(err, errlen, "%s", why);
    }
    return doc;
}

static wss_err print_doc(json_t *doc, char **json_out)
{
    *json_out = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return *json_out ? WSS_OK : WSS_ERR_NOMEM;
}

static wss_err describe_dir(const mfg_dir *d, char **json_out, char *err, size_t errlen)
{
    char path[MFG_PATH_MAX], cn[128] = "";
    char *dak = NULL, *dak_pub = NULL;
    mfg_path(path, sizeof path, d->path, MFG_DAK_CERT);
    if (wss_read_file(path, MFG_SMALL_FILE_MAX, &dak, NULL) != WSS_OK ||
        wss_x509_subject(dak, cn, sizeof cn, NULL, 0) != WSS_OK || wss_x509_public_key_b64(dak, &dak_pub) != WSS_OK) {
        free(dak);
        mfg_set_err(err, errlen, "%s is missing or not a certificate", path);
        return WSS_ERR_CONFIG;
    }
    free(dak);
    json_t *devices = json_array();
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:I, s:o}", "dir", d->path, "manufacturer",
                            d->manufacturer, "product_index", d->product_index, "model", d->model, "dak", "subject_cn",
                            cn, "public_key", dak_pub, "next_serial", (json_int_t)d->next_serial, "devices", devices);
    free(dak_pub);
    char **dsns = NULL;
    size_t n = 0;
    mfg_path(path, sizeof path, d->path, MFG_DEVICES);
    wss_err rc = doc ? list_dsns(path, &dsns, &n) : WSS_ERR_NOMEM;
    for (size_t i = 0; rc == WSS_OK && i < n; i++) {
        json_t *dev = load_device_json(d->path, dsns[i], err, errlen, &rc);
        if (dev)
            json_array_append_new(devices, json_pack("{s:s, s:O?}", "dsn", dsns[i], "public_key",
                                                     json_object_get(dev, "DeviceInformation.PublicKey")));
        json_decref(dev);
    }
    free_list(dsns, n);
    if (rc != WSS_OK) {
        json_decref(doc);
        return rc;
    }
    return print_doc(doc, json_out);
}

static wss_err describe_device(const mfg_dir *d, const char *dsn, char **json_out, char *err, size_t errlen)
{
    wss_err rc = WSS_OK;
    json_t *dev = load_device_json(d->path, dsn, err, errlen, &rc);
    if (!dev)
        return rc;
    char path[MFG_PATH_MAX], cn[WSS_MFG_DSN_MAX + 1] = "", serial[WSS_MFG_DSN_MAX + 1] = "", why[256] = "";
    char *chain = NULL, *dak = NULL, *cert_pub = NULL;
    snprintf(path, sizeof path, "%s/%s/%s/certificate.pem", d->path, MFG_DEVICES, dsn);
    wss_err read_rc = wss_read_file(path, MFG_SMALL_FILE_MAX, &chain, NULL);
    mfg_path(path, sizeof path, d->path, MFG_DAK_CERT);
    if (read_rc == WSS_OK)
        read_rc = wss_read_file(path, MFG_SMALL_FILE_MAX, &dak, NULL);
    int verifies = 0, key_matches = 0;
    if (read_rc == WSS_OK) {
        verifies = wss_x509_verify_chain(chain, dak, NULL, 0, why, sizeof why) == WSS_OK;
        wss_x509_subject(chain, cn, sizeof cn, serial, sizeof serial);
        const char *pub = json_string_value(json_object_get(dev, "DeviceInformation.PublicKey"));
        key_matches = wss_x509_public_key_b64(chain, &cert_pub) == WSS_OK && pub && strcmp(pub, cert_pub) == 0;
    } else {
        snprintf(why, sizeof why, "cannot read the certificate chain or the DAK: %s", wss_strerror(read_rc));
    }
    json_t *cert = json_pack("{s:s, s:s, s:b, s:b}", "subject_cn", cn, "serial_number", serial, "chain_verifies",
                             verifies, "public_key_matches", key_matches);
    if (cert && !verifies)
        json_object_set_new(cert, "problem", json_string(why));
    json_t *doc = json_pack("{s:s, s:o, s:o}", "dsn", dsn, "certificate", cert, "device", dev);
    free(cert_pub);
    free(chain);
    free(dak);
    return print_doc(doc, json_out);
}

wss_err wss_mfg_describe(const char *dir, const char *dsn, char **json_out, char *err, size_t errlen)
{
    mfg_set_err(err, errlen, "%s", "");
    if (!json_out)
        return WSS_ERR_INVALID;
    *json_out = NULL;
    if (dsn && !wss_mfg_dsn_valid(dsn)) {
        mfg_set_err(err, errlen, "\"%s\" is not a DSN (1 to %d letters, digits or _-=#;:?@&)", dsn, WSS_MFG_DSN_MAX);
        return WSS_ERR_INVALID;
    }
    mfg_dir d;
    wss_err rc = mfg_dir_load(dir, &d, err, errlen);
    if (rc != WSS_OK)
        return rc;
    return dsn ? describe_device(&d, dsn, json_out, err, errlen) : describe_dir(&d, json_out, err, errlen);
}

wss_err wss_mfg_barcode(const char *dir, const char *dsn, char **out, char *err, size_t errlen)
{
    mfg_set_err(err, errlen, "%s", "");
    if (!out)
        return WSS_ERR_INVALID;
    *out = NULL;
    if (!wss_mfg_dsn_valid(dsn)) {
        mfg_set_err(err, errlen, "\"%s\" is not a DSN (1 to %d letters, digits or _-=#;:?@&)", dsn ? dsn : "",
                    WSS_MFG_DSN_MAX);
        return WSS_ERR_INVALID;
    }
    mfg_dir d;
    wss_err rc = mfg_dir_load(dir, &d, err, errlen);
    if (rc != WSS_OK)
        return rc;
    json_t *dev = load_device_json(d.path, dsn, err, errlen, &rc);
    if (!dev)
        return rc;
    const char *bc = json_string_value(json_object_get(dev, "barcode"));
    if (!bc || strncmp(bc, "ABV:", 4) != 0) {
        mfg_set_err(err, errlen, "%s/%s/%s/device.json has no barcode", d.path, MFG_DEVICES, dsn);
        rc = WSS_ERR_CONFIG;
    } else if (!(*out = strdup(bc))) {
        rc = WSS_ERR_NOMEM;
    }
    json_decref(dev);
    return rc;
}

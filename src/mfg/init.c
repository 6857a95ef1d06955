/* init.c - wss_mfg_init: a manufacturing directory and its device attestation
 * key (DAK), the device type's CA.
 *
 * mfg.json is written last: a directory without it is not a manufacturing
 * directory, so an interrupted init leaves nothing that a later issue would
 * use, and a later init may start over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/file.h"
#include "common/x509.h"
#include "mfg/internal.h"

/* 30 years: a DAK outlives every device it signs. */
#define DAK_DAYS_DEFAULT (30 * 365 + 7)

static wss_err check_init(const wss_mfg_init_options *o, char *err, size_t errlen)
{
    if (!o || !o->dir || !*o->dir || strlen(o->dir) > MFG_DIR_MAX)
        mfg_set_err(err, errlen, "the directory must be a path of 1 to %d bytes", MFG_DIR_MAX);
    else if (!mfg_text_valid(o->manufacturer, WSS_MFG_MANUFACTURER_MAX))
        mfg_set_err(err, errlen, "the manufacturer must be 1 to %d bytes of UTF-8 without control characters",
                    WSS_MFG_MANUFACTURER_MAX);
    else if (!wss_mfg_product_index_valid(o->product_index))
        mfg_set_err(err, errlen, "the product index must be exactly 4 letters or digits (the Advertised Product ID)");
    else if (o->model && !mfg_text_valid(o->model, WSS_MFG_TEXT_MAX))
        mfg_set_err(err, errlen, "the model must be 1 to %d bytes of UTF-8 without control characters",
                    WSS_MFG_TEXT_MAX);
    else if (o->dak_days < 0 || o->dak_days > WSS_X509_DAYS_MAX)
        mfg_set_err(err, errlen, "the DAK lifetime must be 1 to %d days", WSS_X509_DAYS_MAX);
    else
        return WSS_OK;
    return WSS_ERR_INVALID;
}

static wss_err refuse_existing(const char *dir, char *err, size_t errlen)
{
    static const char *const names[] = {MFG_CONFIG, MFG_DAK_CERT};
    char path[MFG_PATH_MAX];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        mfg_path(path, sizeof path, dir, names[i]);
        if (access(path, F_OK) == 0) {
            mfg_set_err(err, errlen, "%s already exists: a DAK is never replaced (use another directory)", path);
            return WSS_ERR_EXISTS;
        }
    }
    return WSS_OK;
}

/* Writes the DAK, the state, devices/ and mfg.json; on failure removes what
 * it wrote. */
static wss_err write_all(const wss_mfg_init_options *o, const char *key_pem, const char *cert_pem, const char *cn,
                         char *err, size_t errlen)
{
    const char *dir = o->dir;
    char key_path[MFG_PATH_MAX], cert_path[MFG_PATH_MAX], state_path[MFG_PATH_MAX], dev_path[MFG_PATH_MAX],
        cfg_path[MFG_PATH_MAX];
    mfg_path(key_path, sizeof key_path, dir, MFG_DAK_KEY);
    mfg_path(cert_path, sizeof cert_path, dir, MFG_DAK_CERT);
    mfg_path(state_path, sizeof state_path, dir, MFG_STATE);
    mfg_path(dev_path, sizeof dev_path, dir, MFG_DEVICES);
    mfg_path(cfg_path, sizeof cfg_path, dir, MFG_CONFIG);
    int made_devices = access(dev_path, F_OK) != 0;
    json_t *cfg =
        json_pack("{s:i, s:s, s:s, s:s, s:s}", "format", MFG_FORMAT, "manufacturer", o->manufacturer, "product_index",
                  o->product_index, "model", o->model ? o->model : o->product_index, "dak_subject_cn", cn);
    const char *failed = NULL;
    wss_err rc = cfg ? WSS_OK : WSS_ERR_NOMEM;
    if (rc == WSS_OK && (rc = wss_write_file_atomic(key_path, key_pem, strlen(key_pem), 0600)) != WSS_OK)
        failed = key_path;
    if (rc == WSS_OK && (rc = wss_write_file_atomic(cert_path, cert_pem, strlen(cert_pem), 0644)) != WSS_OK)
        failed = cert_path;
    if (rc == WSS_OK && (rc = mfg_write_state(dir, 1)) != WSS_OK)
        failed = state_path;
    if (rc == WSS_OK && (rc = wss_mkdir(dev_path)) != WSS_OK)
        failed = dev_path;
    if (rc == WSS_OK && (rc = mfg_write_json(cfg_path, cfg, 0644)) != WSS_OK)
        failed = cfg_path;
    json_decref(cfg);
    if (rc != WSS_OK) {
        mfg_set_err(err, errlen, "cannot write %s: %s", failed ? failed : "mfg.json", wss_strerror(rc));
        unlink(cfg_path);
        if (made_devices)
            rmdir(dev_path);
        unlink(state_path);
        unlink(cert_path);
        unlink(key_path);
    }
    return rc;
}

wss_err wss_mfg_init(const wss_mfg_init_options *o, char *err, size_t errlen)
{
    mfg_set_err(err, errlen, "%s", "");
    wss_err rc = check_init(o, err, errlen);
    if (rc != WSS_OK)
        return rc;
    if ((rc = wss_mkdir(o->dir)) != WSS_OK) {
        mfg_set_err(err, errlen, "cannot create the directory %s: %s", o->dir,
                    rc == WSS_ERR_EXISTS ? "something else has that name" : wss_strerror(rc));
        return rc;
    }
    int lock = -1;
    if ((rc = mfg_lock(o->dir, &lock, err, errlen)) != WSS_OK)
        return rc;
    if ((rc = refuse_existing(o->dir, err, errlen)) != WSS_OK) {
        mfg_unlock(lock);
        return rc;
    }
    char cn[WSS_MFG_MANUFACTURER_MAX + 16];
    snprintf(cn, sizeof cn, "%s DAK %s", o->manufacturer, o->product_index);
    wss_x509_name subject = {.cn = cn, .organization = o->manufacturer};
    wss_crypto_key *key = NULL;
    char *cert_pem = NULL, *key_pem = NULL;
    char why[256];
    rc = wss_x509_make_ca_named(&subject, 0, o->dak_days ? o->dak_days : DAK_DAYS_DEFAULT, &key, &cert_pem, why,
                                sizeof why);
    if (rc != WSS_OK)
        mfg_set_err(err, errlen, "cannot make the DAK: %s", why);
    else if (!(key_pem = wss_key_private_pem(key))) {
        mfg_set_err(err, errlen, "cannot encode the DAK's private key");
        rc = WSS_ERR_CRYPTO;
    } else {
        rc = write_all(o, key_pem, cert_pem, cn, err, errlen);
    }
    mfg_free_secret(key_pem);
    free(cert_pem);
    wss_key_free(key);
    mfg_unlock(lock);
    return rc;
}

/* mfg.h - device identity on the manufacturing line (`wss mfg`).
 *
 * A manufacturing directory holds one device type's attestation key (the DAK,
 * a P-256 device CA) and every device issued under it. wss_mfg_init creates
 * the DAK; wss_mfg_issue gives each new device a serial number (DSN), a fresh
 * P-256 key, a certificate signed by the DAK, its initial storage map
 * (device.json) and its package barcode, and appends it to the control log
 * that registers the device's key with Amazon (or the emulator). The files
 * and their formats are described in docs/mfg.md.
 *
 * Every function returns WSS_OK or an error, with a one-line reason in err
 * (never key material) when err is not NULL. A failed call leaves the
 * directory as it was. Strings returned through char ** are malloc'd; free
 * them with free(). */
#ifndef WSS_MFG_H
#define WSS_MFG_H

#include <stddef.h>

#include "wss/err.h"

#define WSS_MFG_DSN_MAX 64      /* characters of a device serial number */
#define WSS_MFG_SERIAL_DIGITS 8 /* the zero-padded counter at the end of a DSN */
#define WSS_MFG_PREFIX_MAX (WSS_MFG_DSN_MAX - WSS_MFG_SERIAL_DIGITS)
#define WSS_MFG_MANUFACTURER_MAX 55 /* bytes; "<manufacturer> DAK <pid>" is the DAK's 64-character CN */
#define WSS_MFG_TEXT_MAX 64         /* bytes of a model, hardware or firmware version */
#define WSS_MFG_BATCH_MAX 10000     /* devices one wss_mfg_issue call makes */
#define WSS_MFG_DEFAULT_DSS_HOST "dp-sps-na.amazon.com"

/* Validation of single values; each returns 1 when s is acceptable, else 0. */

/* A DSN: 1 to WSS_MFG_DSN_MAX characters of [A-Za-z0-9] and _ - = # ; : ? @ &. */
int wss_mfg_dsn_valid(const char *s);
/* A product index (Advertised Product ID): exactly 4 ASCII letters or digits. */
int wss_mfg_product_index_valid(const char *s);
/* A UPC-A: exactly 12 ASCII digits whose last is the check digit of the
 * first 11 (3 x the odd positions + the even positions, to a multiple of 10). */
int wss_mfg_upc_valid(const char *s);

/* The package barcode content string
 *   ABV:OB01;SERNUM:<dsn>;PID:<product_index>;PUK:<b64>;UPC:<upc>;
 * where PUK is standard base64 of the device key's 59-byte DER
 * SubjectPublicKeyInfo with the compressed point, computed from public_key
 * (a P-256 public key, PEM or base64 DER in either point form). upc NULL or
 * "" leaves the UPC field out. The DSN must not hold ';' (the separator).
 * Bad values are WSS_ERR_INVALID. */
wss_err wss_mfg_barcode_make(const char *dsn, const char *product_index, const char *public_key, const char *upc,
                             char **out, char *err, size_t errlen);

typedef struct wss_mfg_init_options {
    const char *dir;           /* created (mode 0700, without parents) when missing */
    const char *manufacturer;  /* 1..WSS_MFG_MANUFACTURER_MAX bytes of UTF-8, no control characters */
    const char *product_index; /* 4 letters or digits */
    const char *model;         /* DeviceInformation.ModelNumber; NULL: the product index */
    int dak_days;              /* the DAK's lifetime; 0: 30 years */
} wss_mfg_init_options;

/* Creates the DAK (dak_private_key.pem 0600, dak_certificate.pem), mfg.json,
 * state.json and devices/ in opts->dir. WSS_ERR_EXISTS when the directory
 * already holds a DAK or mfg.json (a DAK is never replaced). */
wss_err wss_mfg_init(const wss_mfg_init_options *opts, char *err, size_t errlen);

typedef struct wss_mfg_issue_options {
    const char *dir;
    unsigned count;               /* 1..WSS_MFG_BATCH_MAX */
    const char *serial_prefix;    /* NULL: "<product index>-"; 0..WSS_MFG_PREFIX_MAX DSN characters, no ';' */
    const char *dss_public_key;   /* DSS.PublicKey: P-256 public key, PEM or base64 DER; NULL: left out */
    const char *dss_host;         /* DSS.Host; NULL: WSS_MFG_DEFAULT_DSS_HOST */
    unsigned dss_port;            /* DSS.Port; 0: 443 */
    const char *upc;              /* the barcode's UPC; NULL: no UPC field */
    const char *hardware_version; /* NULL: "1.0" */
    const char *firmware_version; /* NULL: "1.0.0" */
    int device_days;              /* device certificate lifetime; 0: 25 years (never past the DAK) */
} wss_mfg_issue_options;

/* What one wss_mfg_issue call made: the DSNs in order. */
typedef struct wss_mfg_issued {
    unsigned count;
    char (*dsns)[WSS_MFG_DSN_MAX + 1];
} wss_mfg_issued;

/* Issues opts->count devices: DSNs continue the directory's counter (a
 * prefix followed by WSS_MFG_SERIAL_DIGITS digits), each bundle goes to
 * devices/<DSN>/, one line per device is appended to control-log.jsonl and
 * barcodes.txt. Either every device of the call is issued or none.
 * Concurrent calls on one directory are refused with WSS_ERR_EXISTS (the
 * directory's lock is held). out may be NULL; otherwise free it with
 * wss_mfg_issued_free. */
wss_err wss_mfg_issue(const wss_mfg_issue_options *opts, wss_mfg_issued *out, char *err, size_t errlen);
void wss_mfg_issued_free(wss_mfg_issued *issued);

/* A JSON description without secrets: with dsn NULL, the directory (maker,
 * product index, model, DAK subject and key, next serial, every device's DSN
 * and public key); with a DSN, that device's device.json and its
 * certificate's subject and whether its chain verifies against the DAK.
 * WSS_ERR_NOT_FOUND when the directory or the device does not exist. */
wss_err wss_mfg_describe(const char *dir, const char *dsn, char **json_out, char *err, size_t errlen);

/* The package barcode content string of an issued device (as in its
 * device.json). WSS_ERR_NOT_FOUND when there is no such device. */
wss_err wss_mfg_barcode(const char *dir, const char *dsn, char **out, char *err, size_t errlen);

#endif

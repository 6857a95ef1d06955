/* mfg_cmd.c - `wss mfg`: device identity on the manufacturing line (the DAK,
 * device keys and certificates, storage maps, control log, package barcodes).
 * The work is done by the library (wss/mfg.h); this file parses the command
 * line and prints. Nothing here prints a private key. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "wss/mfg.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: wss mfg init --dir DIR --manufacturer NAME --product-index PID [--model M]\n"
                 "       wss mfg issue --dir DIR --count N [--serial-prefix P] [--dss-public-key B64|@FILE]\n"
                 "                     [--upc 12DIGITS] [--hardware-version V] [--firmware-version V]\n"
                 "                     [--dss-host HOST] [--dss-port PORT]\n"
                 "       wss mfg show --dir DIR [DSN]\n"
                 "       wss mfg barcode DSN --dir DIR\n"
                 "\n"
                 "Creates device identity for one device type in a manufacturing directory. See docs/mfg.md.\n"
                 "\n"
                 "  init     creates DIR (if missing) with the device attestation key (DAK): a P-256 CA,\n"
                 "           dak_certificate.pem and dak_private_key.pem (mode 0600); never replaces one.\n"
                 "           --manufacturer NAME  1 to 55 bytes; the DAK's subject is \"NAME DAK PID\", O=NAME\n"
                 "           --product-index PID  the Advertised Product ID: exactly 4 letters or digits\n"
                 "           --model M            DeviceInformation.ModelNumber (default: the product index)\n"
                 "  issue    makes N devices (1 to 10000), all or none: a P-256 key and a DAK-signed certificate\n"
                 "           each, in DIR/devices/<DSN>/ (certificate.pem, private_key.pem 0600, device.json);\n"
                 "           appends to DIR/control-log.jsonl and DIR/barcodes.txt; prints the DSNs as JSON.\n"
                 "           --serial-prefix P    DSN = P + an 8-digit counter that continues across runs\n"
                 "                                (default prefix: \"PID-\"); letters, digits and _-=#:?@&\n"
                 "           --dss-public-key K   DSS.PublicKey: base64 DER or PEM, or @FILE (default: left out)\n"
                 "           --upc 12DIGITS       the UPC-A in the package barcode, check digit verified\n"
                 "                                (default: no UPC field)\n"
                 "           --hardware-version V, --firmware-version V   (defaults 1.0 and 1.0.0)\n"
                 "           --dss-host HOST      DSS.Host (default dp-sps-na.amazon.com)\n"
                 "           --dss-port PORT      DSS.Port (default 443)\n"
                 "  show     the directory and its devices as JSON, or one device (its device.json and whether\n"
                 "           its certificate chain verifies); never private keys\n"
                 "  barcode  prints the package barcode content string of DSN\n"
                 "\n"
                 "Exit status: 0 done, 1 failed (nothing written), 2 wrong command line.\n");
}

enum {
    OPT_DIR = 256,
    OPT_MANUFACTURER,
    OPT_PRODUCT_INDEX,
    OPT_MODEL,
    OPT_COUNT,
    OPT_PREFIX,
    OPT_DSS_KEY,
    OPT_UPC,
    OPT_HW,
    OPT_FW,
    OPT_DSS_HOST,
    OPT_DSS_PORT,
};

typedef struct mfg_args {
    const char *dir, *manufacturer, *product_index, *model, *prefix, *dss_key, *upc, *hw, *fw, *dss_host;
    long count;    /* -1: not given */
    long dss_port; /* 0: not given */
    char **rest;   /* positional arguments after the verb */
    int nrest;
    int help;
} mfg_args;

/* A whole decimal number in [lo, hi], or -1. */
static long parse_number(const char *s, long lo, long hi)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    long v = strtol(s, &end, 10);
    return *end || v < lo || v > hi ? -1 : v;
}

/* Parses argv (argv[0] is the verb); returns CLI_OK or CLI_USAGE. */
static int parse(int argc, char **argv, mfg_args *a)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, OPT_DIR},
        {"manufacturer", required_argument, NULL, OPT_MANUFACTURER},
        {"product-index", required_argument, NULL, OPT_PRODUCT_INDEX},
        {"model", required_argument, NULL, OPT_MODEL},
        {"count", required_argument, NULL, OPT_COUNT},
        {"serial-prefix", required_argument, NULL, OPT_PREFIX},
        {"dss-public-key", required_argument, NULL, OPT_DSS_KEY},
        {"upc", required_argument, NULL, OPT_UPC},
        {"hardware-version", required_argument, NULL, OPT_HW},
        {"firmware-version", required_argument, NULL, OPT_FW},
        {"dss-host", required_argument, NULL, OPT_DSS_HOST},
        {"dss-port", required_argument, NULL, OPT_DSS_PORT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->count = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DIR: a->dir = optarg; break;
        case OPT_MANUFACTURER: a->manufacturer = optarg; break;
        case OPT_PRODUCT_INDEX: a->product_index = optarg; break;
        case OPT_MODEL: a->model = optarg; break;
        case OPT_COUNT:
            if ((a->count = parse_number(optarg, 1, WSS_MFG_BATCH_MAX)) < 0) {
                fprintf(stderr, "wss mfg: --count must be a number from 1 to %d\n", WSS_MFG_BATCH_MAX);
                return CLI_USAGE;
            }
            break;
        case OPT_PREFIX: a->prefix = optarg; break;
        case OPT_DSS_KEY: a->dss_key = optarg; break;
        case OPT_UPC: a->upc = optarg; break;
        case OPT_HW: a->hw = optarg; break;
        case OPT_FW: a->fw = optarg; break;
        case OPT_DSS_HOST: a->dss_host = optarg; break;
        case OPT_DSS_PORT:
            if ((a->dss_port = parse_number(optarg, 1, 65535)) < 0) {
                fprintf(stderr, "wss mfg: --dss-port must be a number from 1 to 65535\n");
                return CLI_USAGE;
            }
            break;
        case 'h': a->help = 1; break;
        default: return CLI_USAGE;
        }
    }
    a->rest = argv + optind;
    a->nrest = argc - optind;
    return CLI_OK;
}

/* Refuses options that do not belong to the verb: a misplaced option is a
 * mistake worth stopping for on a production line. */
static int only(const char *verb, const mfg_args *a, const char *allowed)
{
    const struct {
        const char *name;
        int given;
    } opts[] = {
        {"manufacturer", a->manufacturer != NULL},
        {"product-index", a->product_index != NULL},
        {"model", a->model != NULL},
        {"count", a->count >= 0},
        {"serial-prefix", a->prefix != NULL},
        {"dss-public-key", a->dss_key != NULL},
        {"upc", a->upc != NULL},
        {"hardware-version", a->hw != NULL},
        {"firmware-version", a->fw != NULL},
        {"dss-host", a->dss_host != NULL},
        {"dss-port", a->dss_port > 0},
    };
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        if (opts[i].given && !strstr(allowed, opts[i].name)) {
            fprintf(stderr, "wss mfg %s: --%s does not apply here (see wss mfg --help)\n", verb, opts[i].name);
            return 0;
        }
    }
    return 1;
}

static int failed(const char *verb, wss_err rc, const char *err)
{
    fprintf(stderr, "wss mfg %s: %s\n", verb, *err ? err : wss_strerror(rc));
    /* Bad values are the command line's fault; everything else is a failure. */
    return rc == WSS_ERR_INVALID ? CLI_USAGE : CLI_FAILED;
}

static int do_init(const mfg_args *a)
{
    if (!a->dir || !a->manufacturer || !a->product_index || a->nrest) {
        fprintf(stderr, "wss mfg init: --dir, --manufacturer and --product-index are required, nothing else\n");
        return CLI_USAGE;
    }
    if (!only("init", a, "manufacturer product-index model"))
        return CLI_USAGE;
    wss_mfg_init_options o = {
        .dir = a->dir, .manufacturer = a->manufacturer, .product_index = a->product_index, .model = a->model};
    char err[512];
    wss_err rc = wss_mfg_init(&o, err, sizeof err);
    if (rc != WSS_OK)
        return failed("init", rc, err);
    char *doc = NULL;
    if (wss_mfg_describe(a->dir, NULL, &doc, err, sizeof err) == WSS_OK)
        printf("%s\n", doc);
    free(doc);
    return CLI_OK;
}

static int do_issue(const mfg_args *a)
{
    if (!a->dir || a->count < 0 || a->nrest) {
        fprintf(stderr, "wss mfg issue: --dir and --count are required (see wss mfg --help)\n");
        return CLI_USAGE;
    }
    if (!only("issue", a, "count serial-prefix dss-public-key upc hardware-version firmware-version dss-host dss-port"))
        return CLI_USAGE;
    wss_mfg_issue_options o = {
        .dir = a->dir,
        .count = (unsigned)a->count,
        .serial_prefix = a->prefix,
        .dss_public_key = a->dss_key,
        .dss_host = a->dss_host,
        .dss_port = (unsigned)a->dss_port,
        .upc = a->upc,
        .hardware_version = a->hw,
        .firmware_version = a->fw,
    };
    wss_mfg_issued out;
    char err[512];
    wss_err rc = wss_mfg_issue(&o, &out, err, sizeof err);
    if (rc != WSS_OK)
        return failed("issue", rc, err);
    json_t *dsns = json_array();
    for (unsigned i = 0; dsns && i < out.count; i++)
        json_array_append_new(dsns, json_string(out.dsns[i]));
    json_t *doc = json_pack("{s:s, s:i, s:o?}", "dir", a->dir, "issued", (int)out.count, "dsns", dsns);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(doc);
    wss_mfg_issued_free(&out);
    return CLI_OK;
}

static int do_show(const mfg_args *a)
{
    if (!a->dir || a->nrest > 1) {
        fprintf(stderr, "wss mfg show: --dir is required, and at most one DSN\n");
        return CLI_USAGE;
    }
    if (!only("show", a, ""))
        return CLI_USAGE;
    char *doc = NULL, err[512];
    wss_err rc = wss_mfg_describe(a->dir, a->nrest ? a->rest[0] : NULL, &doc, err, sizeof err);
    if (rc != WSS_OK)
        return failed("show", rc, err);
    printf("%s\n", doc);
    free(doc);
    return CLI_OK;
}

static int do_barcode(const mfg_args *a)
{
    if (!a->dir || a->nrest != 1) {
        fprintf(stderr, "wss mfg barcode: one DSN and --dir are required\n");
        return CLI_USAGE;
    }
    if (!only("barcode", a, ""))
        return CLI_USAGE;
    char *bc = NULL, err[512];
    wss_err rc = wss_mfg_barcode(a->dir, a->rest[0], &bc, err, sizeof err);
    if (rc != WSS_OK)
        return failed("barcode", rc, err);
    printf("%s\n", bc);
    free(bc);
    return CLI_OK;
}

int cli_mfg(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*run)(const mfg_args *a);
    } verbs[] = {{"init", do_init}, {"issue", do_issue}, {"show", do_show}, {"barcode", do_barcode}};
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++) {
        if (strcmp(verb, verbs[i].name) != 0)
            continue;
        mfg_args a;
        if (parse(argc - 1, argv + 1, &a) != CLI_OK) {
            fprintf(stderr, "see wss mfg --help\n");
            return CLI_USAGE;
        }
        if (a.help) {
            usage(stdout);
            return CLI_OK;
        }
        return verbs[i].run(&a);
    }
    fprintf(stderr, "wss mfg: unknown verb \"%s\" (init, issue, show, barcode; see wss mfg --help)\n", verb);
    return CLI_USAGE;
}

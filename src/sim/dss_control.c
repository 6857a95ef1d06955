/* dss_control.c - the control routes around the Device Setup Service
 * (docs/dss.md section 7, docs/sim.md): the simulated provisioners (an Echo
 * in a customer's home) and their directed probe, the import of a
 * manufacturer's control log, the DSS public key and the recorded sessions.
 * Called by control.c with db_lock held; errors are the control API's
 * {"error": "..."}, with a "reason" code where docs/dss.md names one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/json.h"
#include "sim/dss_request.h"
#include "sim/internal.h"

#define IMPORT_MAX_LINES 100000

static int id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("._-:@", ch)))
            return 0;
    }
    return 1;
}

/* Refuses keys of body outside allowed (NULL-terminated); 1 when acceptable. */
static int known_keys(const json_t *body, const char *const *allowed, wss_http_response *resp)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            wss_http_reply_error(resp, 400, "unknown key \"%.64s\"", key);
            return 0;
        }
    }
    return 1;
}

static void reply_reason(wss_http_response *resp, int status, const char *reason, const char *message)
{
    wss_http_reply_json(resp, status, json_pack("{s:s, s:s}", "error", message, "reason", reason));
}

static int band_valid(const char *band)
{
    return band && (strcmp(band, "2.4") == 0 || strcmp(band, "5") == 0 || strcmp(band, "dual") == 0);
}

/* Provisioner rows (all, or the one of id), "online" as true or false. */
static json_t *provisioner_rows(sim *s, const char *id)
{
    json_t *list = sim_rows(wss_db_prepare(s->db,
                                           "SELECT provisioner_id, customer_id, online, band, created_ms, updated_ms"
                                           " FROM provisioners WHERE (? IS NULL OR provisioner_id = ?)"
                                           " ORDER BY provisioner_id",
                                           "tt", id, id),
                            NULL);
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        json_object_set_new(row, "online", json_boolean(json_integer_value(json_object_get(row, "online"))));
    }
    return list;
}

static json_t *provisioner_row(sim *s, const char *id)
{
    json_t *list = provisioner_rows(s, id);
    json_t *row = json_incref(json_array_get(list, 0));
    json_decref(list);
    return row;
}

/* --- provisioners --- */

static void provisioner_add(sim *s, wss_http_response *resp, const json_t *body)
{
    static const char *const keys[] = {"provisioner_id", "customer_id", "online", "band", NULL};
    if (!known_keys(body, keys, resp))
        return;
    const char *id = json_string_value(json_object_get(body, "provisioner_id"));
    const char *cid = json_string_value(json_object_get(body, "customer_id"));
    json_t *online = json_object_get(body, "online");
    json_t *band_v = json_object_get(body, "band");
    const char *band = band_v ? json_string_value(band_v) : "dual";
    if (!id_valid(id) || !cid || (online && !json_is_boolean(online)) || !band_valid(band)) {
        wss_http_reply_error(resp, 400,
                             "need provisioner_id (1..128 letters, digits or . _ - : @), customer_id, online"
                             " (true or false) and band (\"2.4\", \"5\" or \"dual\")");
        return;
    }
    sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT 1 FROM customers WHERE customer_id = ?", "t", cid);
    int known = st && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!known) {
        wss_http_reply_error(resp, 404, "no customer %s", cid);
        return;
    }
    long long now = sim_now_ms_locked(s);
    int n = wss_db_run(s->db,
                       "INSERT INTO provisioners (provisioner_id, customer_id, online, band, created_ms, updated_ms)"
                       " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                       "ttitii", id, cid, (long long)(!online || json_is_true(online)), band, now, now);
    if (n < 0) {
        wss_http_reply_error(resp, 500, "cannot store the provisioner");
        return;
    }
    if (n == 0) {
        wss_http_reply_error(resp, 409, "provisioner %s already exists (change it with PATCH)", id);
        return;
    }
    sim_event(s, "provisioner.added",
              json_pack("{s:s, s:s, s:s}", "provisioner_id", id, "customer_id", cid, "band", band));
    wss_http_reply_json(resp, 201, provisioner_row(s, id));
}

static void provisioner_set(sim *s, wss_http_response *resp, const char *id, const json_t *body)
{
    static const char *const keys[] = {"online", "band", NULL};
    if (!known_keys(body, keys, resp))
        return;
    json_t *online = json_object_get(body, "online");
    json_t *band_v = json_object_get(body, "band");
    const char *band = json_string_value(band_v);
    if ((online && !json_is_boolean(online)) || (band_v && !band_valid(band))) {
        wss_http_reply_error(resp, 400, "online must be true or false, band \"2.4\", \"5\" or \"dual\"");
        return;
    }
    int n = wss_db_run(s->db,
                       "UPDATE provisioners SET online = coalesce(?, online), band = coalesce(?, band),"
                       " updated_ms = ? WHERE provisioner_id = ?",
                       "ttit", online ? (json_is_true(online) ? "1" : "0") : NULL, band, sim_now_ms_locked(s), id);
    if (n <= 0) {
        wss_http_reply_error(resp, 404, "no provisioner %s", id);
        return;
    }
    json_t *row = provisioner_row(s, id);
    sim_event(s, "provisioner.changed",
              json_pack("{s:s, s:O, s:O}", "provisioner_id", id, "online", json_object_get(row, "online"), "band",
                        json_object_get(row, "band")));
    wss_http_reply_json(resp, 200, row);
}

/* The registered device whose key hashes to ami, with this product index; malloc'd dsn and key. */
static int device_by_ami(sim *s, const sim_setup_ssid *net, char **dsn, char **key)
{
    char ami_hex[19];
    sim_hex(net->ami, sizeof net->ami, ami_hex);
    sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT dsn, public_key FROM devices WHERE ami = ? AND product_index = ?",
                                      "tt", ami_hex, net->product_index);
    int found = 0;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        *dsn = wss_db_column_strdup(st, 0);
        *key = wss_db_column_strdup(st, 1);
        found = *dsn && *key;
    }
    sqlite3_finalize(st);
    return found;
}

/* The probe itself: 200 with passphrase (45 bytes) and dsn (65 bytes) filled,
 * or the HTTP status of the refusal with its reason code and message.
 * Needs db_lock. */
static int probe(sim *s, const char *id, const char *ssid, size_t ssid_len, char *passphrase, char *dsn_out,
                 char *product_index, const char **reason, const char **message)
{
    sqlite3_stmt *st =
        wss_db_prepare(s->db, "SELECT customer_id, online, band FROM provisioners WHERE provisioner_id = ?", "t", id);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        *reason = "UNKNOWN_PROVISIONER", *message = "no such provisioner";
        return 404;
    }
    char customer[256];
    snprintf(customer, sizeof customer, "%s", (const char *)sqlite3_column_text(st, 0));
    int online = sqlite3_column_int(st, 1);
    int five_only = strcmp((const char *)sqlite3_column_text(st, 2), "5") == 0;
    sqlite3_finalize(st);
    if (!online) {
        *reason = "PROVISIONER_OFFLINE", *message = "the provisioner is offline";
        return 409;
    }
    if (five_only) {
        *reason = "PROVISIONER_5GHZ_ONLY", *message = "the provisioner serves 5 GHz only";
        return 409;
    }
    sim_setup_ssid net;
    char *dsn = NULL, *key = NULL;
    if (sim_dss_ssid_decode(ssid, ssid_len, &net) != 0) {
        *reason = "UNKNOWN_NETWORK", *message = "the SSID is not a computed setup network";
        return 404;
    }
    if (!device_by_ami(s, &net, &dsn, &key)) {
        *reason = "UNKNOWN_DEVICE", *message = "no registered device with that product index has that key";
        return 404;
    }
    st = wss_db_prepare(s->db, "SELECT customer_id FROM purchases WHERE dsn = ?", "t", dsn);
    int bought = st && sqlite3_step(st) == SQLITE_ROW;
    int ours = bought && strcmp((const char *)sqlite3_column_text(st, 0), customer) == 0;
    sqlite3_finalize(st);
    int status = 200;
    if (!bought) {
        *reason = "NOT_PURCHASED", *message = "the device has no purchase record";
        status = 409;
    } else if (!ours) {
        *reason = "OTHER_CUSTOMER", *message = "the device was bought by another customer";
        status = 409;
    } else if (sim_dss_passphrase(s, key, net.nonce, passphrase) != WSS_OK) {
        *reason = "INTERNAL", *message = "cannot derive the passphrase";
        status = 500;
    } else {
        snprintf(dsn_out, 65, "%s", dsn);
        memcpy(product_index, net.product_index, sizeof net.product_index);
        sim_event(s, "provisioner.probe.answered", json_pack("{s:s, s:s}", "provisioner_id", id, "dsn", dsn));
    }
    free(dsn);
    free(key);
    return status;
}

static void provisioner_probe(sim *s, wss_http_response *resp, const char *id, const json_t *body)
{
    static const char *const keys[] = {"ssid", NULL};
    if (!known_keys(body, keys, resp))
        return;
    json_t *ssid_v = json_object_get(body, "ssid");
    const char *ssid = json_string_value(ssid_v);
    if (!ssid || json_string_length(ssid_v) == 0 || json_string_length(ssid_v) > 32) {
        wss_http_reply_error(resp, 400, "ssid (the probed network's name, 1..32 bytes) is required");
        return;
    }
    char passphrase[45], dsn[65], pid[5];
    const char *reason = "", *message = "";
    int status = probe(s, id, ssid, json_string_length(ssid_v), passphrase, dsn, pid, &reason, &message);
    if (status != 200) {
        reply_reason(resp, status, reason, message);
        return;
    }
    wss_http_reply_json(resp, 200,
                        json_pack("{s:s, s:s, s:s}", "dsn", dsn, "product_index", pid, "passphrase", passphrase));
    memset(passphrase, 0, sizeof passphrase);
}

int wss_sim_provisioner_probe(wss_sim *s, const char *provisioner_id, const char *ssid, char *passphrase,
                              size_t passphrase_len, char *dsn, size_t dsn_len)
{
    if (!s || !provisioner_id || !ssid || !*ssid || strlen(ssid) > 32 || passphrase_len < 45 || dsn_len < 1)
        return -1;
    char pass[45], who[65], pid[5];
    const char *reason, *message;
    sim_lock(s);
    int status = probe(s, provisioner_id, ssid, strlen(ssid), pass, who, pid, &reason, &message);
    sim_unlock(s);
    if (status != 200)
        return -1;
    snprintf(passphrase, passphrase_len, "%s", pass);
    snprintf(dsn, dsn_len, "%s", who);
    memset(pass, 0, sizeof pass);
    return 0;
}

/* --- the control log --- */

void sim_devices_import(sim *s, const wss_http_request *req, wss_http_response *resp)
{
    static const char *const keys[] = {"dsn", "product_index", "public_key", NULL};
    if (sim_begin(s) != 0) {
        wss_http_reply_error(resp, 500, "cannot start a transaction");
        return;
    }
    const char *p = req->body, *end = req->body + req->body_len;
    long long line = 0, imported = 0;
    char why[400];
    int bad = 0;
    while (!bad && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line++;
        size_t len = (size_t)(stop - p);
        while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        size_t lead = 0;
        while (lead < len && (p[lead] == ' ' || p[lead] == '\t'))
            lead++;
        if (line > IMPORT_MAX_LINES) {
            snprintf(why, sizeof why, "line %lld: at most %d lines", line, IMPORT_MAX_LINES);
            bad = 1;
        } else if (len > lead) {
            char reason[300];
            json_t *obj = wss_json_parse_object(p + lead, len - lead, reason, sizeof reason);
            const char *key;
            json_t *v;
            if (!obj) {
                snprintf(why, sizeof why, "line %lld: %s", line, reason);
                bad = 1;
            }
            json_object_foreach(obj, key, v)
            {
                int ok = 0;
                for (const char *const *a = keys; *a && !ok; a++)
                    ok = strcmp(*a, key) == 0;
                if (!bad && (!ok || !json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))) {
                    snprintf(why, sizeof why, "line %lld: %s \"%.64s\"", line,
                             ok ? "a string without NUL is needed for" : "unknown key", key);
                    bad = 1;
                }
            }
            if (!bad && sim_device_store(s, json_string_value(json_object_get(obj, "dsn")),
                                         json_string_value(json_object_get(obj, "public_key")),
                                         json_string_value(json_object_get(obj, "product_index")), reason,
                                         sizeof reason) != 0) {
                snprintf(why, sizeof why, "line %lld: %s", line, reason);
                bad = 1;
            }
            json_decref(obj);
            imported += !bad;
        }
        p = nl ? nl + 1 : end;
    }
    if (!bad && imported == 0) {
        snprintf(why, sizeof why, "the control log holds no device (one JSON object per line)");
        bad = 1;
    }
    if (bad || sim_commit(s) != 0) {
        sim_rollback(s);
        wss_http_reply_error(resp, bad ? 400 : 500, "%s", bad ? why : "cannot commit the import");
        return;
    }
    sim_event(s, "devices.imported", json_pack("{s:I}", "devices", (json_int_t)imported));
    wss_http_reply_json(resp, 200, json_pack("{s:I}", "imported", (json_int_t)imported));
}

/* --- read-outs --- */

#define SESSION_COLUMNS                                                                                                \
    "session_id, dsn, customer_id, provisioner_id, state, result, reason, session_token, started_ms, expires_ms,"      \
    " updated_ms"

static void session_detail(sim *s, wss_http_response *resp, const char *id)
{
    json_t *list = sim_rows(
        wss_db_prepare(s->db, "SELECT " SESSION_COLUMNS " FROM dss_sessions WHERE session_id = ?", "t", id), NULL);
    json_t *ses = json_incref(json_array_get(list, 0));
    json_decref(list);
    if (!ses) {
        wss_http_reply_error(resp, 404, "no DSS session %s", id);
        return;
    }
    json_object_set_new(
        ses, "calls",
        sim_rows(wss_db_prepare(s->db,
                                "SELECT at_ms, operation, http_status, error_code, provisioner_id,"
                                " provisioner_id IS NOT NULL AS via_provisioner, tls_version, cipher, sni,"
                                " client_subject, client_serial, client_cert_present, client_cert_verified"
                                " FROM dss_calls WHERE session_id = ? ORDER BY id",
                                "t", id),
                 NULL));
    json_object_set_new(ses, "scans",
                        sim_rows(wss_db_prepare(s->db,
                                                "SELECT ssid, bssid, security AS security_protocol, rssi, frequency,"
                                                " at_ms FROM dss_scans WHERE session_id = ? ORDER BY id",
                                                "t", id),
                                 NULL));
    json_object_set_new(ses, "credentials",
                        sim_rows(wss_db_prepare(s->db,
                                                "SELECT ssid, security AS security_protocol, priority, at_ms"
                                                " FROM dss_credentials WHERE session_id = ? ORDER BY id",
                                                "t", id),
                                 NULL));
    json_object_set_new(ses, "refusals",
                        sim_rows(wss_db_prepare(s->db,
                                                "SELECT ssid, code, at_ms FROM dss_refusals WHERE session_id = ?"
                                                " ORDER BY id",
                                                "t", id),
                                 NULL));
    wss_http_reply_json(resp, 200, ses);
}

int sim_dss_control(sim *s, const wss_http_request *req, wss_http_response *resp, char **seg, int nseg, json_t *body)
{
    const char *m = req->method;
    if (nseg >= 1 && strcmp(seg[0], "provisioners") == 0) {
        if (nseg == 1 && strcmp(m, "POST") == 0)
            provisioner_add(s, resp, body);
        else if (nseg == 1 && strcmp(m, "GET") == 0)
            wss_http_reply_json(resp, 200, json_pack("{s:o}", "provisioners", provisioner_rows(s, NULL)));
        else if (nseg == 2 && strcmp(m, "PATCH") == 0)
            provisioner_set(s, resp, seg[1], body);
        else if (nseg == 3 && strcmp(m, "POST") == 0 && strcmp(seg[2], "probe") == 0)
            provisioner_probe(s, resp, seg[1], body);
        else
            return 0;
        return 1;
    }
    if (nseg >= 2 && strcmp(seg[0], "dss") == 0 && strcmp(m, "GET") == 0) {
        const char *dsn = wss_http_query(req, "dsn");
        if (nseg == 2 && strcmp(seg[1], "public-key") == 0) {
            wss_crypto_key *key = NULL;
            char why[128], *pem = NULL;
            if (wss_key_parse_public(s->dss_public_b64, &key, why, sizeof why) == WSS_OK)
                pem = wss_key_public_pem(key);
            wss_key_free(key);
            wss_http_reply_json(
                resp, 200,
                json_pack("{s:s, s:s?, s:s}", "public_key", s->dss_public_b64, "pem", pem, "dss_host", SIM_DSS_HOST));
            free(pem);
        } else if (nseg == 2 && strcmp(seg[1], "sessions") == 0)
            wss_http_reply_json(resp, 200,
                                json_pack("{s:o}", "sessions",
                                          sim_rows(wss_db_prepare(s->db,
                                                                  "SELECT " SESSION_COLUMNS " FROM dss_sessions"
                                                                  " WHERE (? IS NULL OR dsn = ?)"
                                                                  " ORDER BY started_ms, session_id LIMIT 10000",
                                                                  "tt", dsn, dsn),
                                                   NULL)));
        else if (nseg == 3 && strcmp(seg[1], "sessions") == 0)
            session_detail(s, resp, seg[2]);
        else
            return 0;
        return 1;
    }
    return 0;
}

/*
 * accounts.c — the account of the API key (balance, currency, region,
 * quiet hours), its webhook secret's rotation, and the operator's admin
 * routes: creating an account with its first key, crediting a balance.
 *
 * The webhook secret (what the provider signs its webhooks with) is enough
 * to forge them, so it is answered only when it is made: on the account's
 * creation and on a rotation. Reading the account never shows it. accounts_create and
 * accounts_credit are also what `outdial-api bootstrap` and `outdial-api
 * credit` run.
 */
#include "accounts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "jsonio.h"
#include "legal_slot.h"
#include "log.h"
#include "phone.h"
#include "resource.h"
#include "freqcap.h"
#include "settings.h"
#include "xmalloc.h"

#define ACCOUNT_COLUMNS                                                                            \
    "SELECT id, name, balance_minor, currency, default_region, quiet_hours_start_min,"             \
    " quiet_hours_end_min, od_us(created_at), od_us(updated_at), legal_profile,"                   \
    " legal_overrides::text, calls_per_24h FROM account"

/* The account row (ACCOUNT_COLUMNS) as the API shows it. */
static const resource_field_t account_fields_out[] = {
    {"id", api_col_string},
    {"name", api_col_string},
    {"balance_minor", api_col_int},
    {"currency", api_col_string},
    {"default_region", api_col_string},
    {"quiet_hours_start", api_col_hhmm},
    {"quiet_hours_end", api_col_hhmm_end},
    {"created_at", api_col_time},
    {"updated_at", api_col_time},
    {"legal_profile", api_col_string},
    {"legal_overrides", api_col_json},
    {"calls_per_24h", api_col_int},
};

RESOURCE_STMTS(account, "account", ACCOUNT_COLUMNS, "id = $1::uuid", 1);

static const pg_stmt_t account_update_stmt = {
    "account_update",
    "UPDATE account SET name = $2, default_region = $3, quiet_hours_start_min = $4::smallint,"
    " quiet_hours_end_min = $5::smallint, legal_profile = $6, legal_overrides = $7::jsonb,"
    " calls_per_24h = $8::smallint, updated_at = now() WHERE id = $1::uuid",
    8};

static const pg_stmt_t account_insert_stmt = {
    "account_insert",
    "INSERT INTO account (name, balance_minor, default_region, currency, webhook_secret)"
    " VALUES ($1, $2::bigint, $3, $4, $5) RETURNING id",
    5};

static const pg_stmt_t account_secret_stmt = {
    "account_secret_rotate",
    "UPDATE account SET webhook_secret = $2, updated_at = now() WHERE id = $1::uuid RETURNING id",
    2};

static const pg_stmt_t account_credit_stmt = {
    "account_credit",
    "UPDATE account SET balance_minor = balance_minor + $2::bigint, updated_at = now()"
    " WHERE id = $1::uuid RETURNING balance_minor, currency",
    2};

static const resource_t account_resource = {
    .not_found = "account not found",
    .get = &account_get_stmt,
    .lock = &account_lock_stmt,
    RESOURCE_FIELDS(account_fields_out),
};

void accounts_get(api_ctx_t *ctx)
{
    const char *key[] = {ctx->account_id};
    resource_row_reply(ctx, &account_resource, key, 200);
}

void accounts_secret_rotate(api_ctx_t *ctx)
{
    char secret[ACCOUNTS_SECRET_LEN + 1];
    auth_random_hex(secret, ACCOUNTS_SECRET_LEN / 2);
    const char *params[] = {ctx->account_id, secret};
    PGresult *res =
        resource_row_fetch(ctx, account_resource.not_found, &account_secret_stmt, params);
    if (!res)
        return;
    PQclear(res);
    log_info("account_webhook_secret_rotated", "account %s: webhook secret rotated",
             ctx->account_id);
    json_t *out = json_object();
    json_object_set_new(out, "webhook_secret", json_string(secret));
    api_reply_json(ctx, 200, out);
}

/* A region libphonenumber knows, upper case, into out[3]; answers 400. */
static bool region_parse(api_ctx_t *ctx, const char *field, const char *value, char out[3])
{
    if (strlen(value) != 2 || !phone_region_known(value)) {
        api_reply_error(ctx, 400, "invalid", field,
                        "%s '%.16s' is not a region code (ISO 3166 alpha-2 in capitals, e.g. US, "
                        "GB, DE)",
                        field, value);
        return false;
    }
    snprintf(out, 3, "%s", value);
    return true;
}

/* The quiet hours of a PATCH (qs, qe: both set or both NULL) as minutes of
 * the day into start_min and end_min (left empty for none); answers 400. */
static bool quiet_hours_read(api_ctx_t *ctx, const char *qs, const char *qe, char start_min[8],
                             char end_min[8])
{
    if ((qs == NULL) != (qe == NULL)) {
        const char *missing = qs ? "quiet_hours_end" : "quiet_hours_start";
        api_reply_error(ctx, 400, "invalid", missing,
                        "quiet_hours_start and quiet_hours_end go together: set both (\"08:00\", "
                        "\"21:00\") or both null for no quiet hours");
        return false;
    }
    if (!qs)
        return true;
    window_spec_t spec;
    settings_problems_t problems;
    if (settings_quiet_hours_check(qs, qe, &spec, &problems) != OD_OK) {
        api_reply_error(ctx, 400, "invalid", problems.items[0].field, "%s",
                        problems.items[0].message);
        return false;
    }
    snprintf(start_min, 8, "%d", spec.start_min);
    snprintf(end_min, 8, "%d", spec.end_min);
    return true;
}

/* The legal fields of a PATCH over the current row's: legal_profile one of
 * none, us_federal, us_states; legal_overrides an array of overrides of the
 * compiled-in pack's entries (lib/rules/legal.h), checked against it. Fills
 * profile (borrowed from the body or row) and *overrides (a new string the
 * caller frees); answers 400 and returns false on a bad value. */
static bool legal_fields_read(api_ctx_t *ctx, const json_t *body, const PGresult *row,
                              const char **profile, char **overrides)
{
    char msg[512];
    *profile = PQgetvalue(row, 0, 9);
    *overrides = NULL;
    const char *s = NULL;
    jsonio_got_t got = jsonio_string(ctx, body, "legal_profile", NULL, 32, &s);
    if (got == JSONIO_ERROR)
        return false;
    legal_profile_t p;
    if (got == JSONIO_NULL || (got == JSONIO_SET && legal_profile_parse(s, &p, msg, sizeof(msg)))) {
        api_reply_error(ctx, 400, "invalid", "legal_profile",
                        "legal_profile must be one of none, us_federal, us_states");
        return false;
    }
    if (got == JSONIO_SET)
        *profile = s;
    const json_t *ov = json_object_get(body, "legal_overrides");
    if (!ov) {
        *overrides = xstrdup(PQgetvalue(row, 0, 10));
        return true;
    }
    const legal_pack_t *pack = legal_pack_builtin();
    if (!pack) {
        api_reply_failure(ctx, OD_ERR_INTERNAL, legal_pack_builtin_error());
        return false;
    }
    char *text = json_is_null(ov) ? xstrdup("[]") : json_dumps(ov, JSON_COMPACT | JSON_ENCODE_ANY);
    legal_entry_t *entries = NULL;
    size_t n = 0;
    if (!text || legal_overrides_parse(pack, text, &entries, &n, msg, sizeof(msg)) != OD_OK) {
        char codes[256];
        legal_pack_codes(pack, codes, sizeof(codes));
        api_reply_error(ctx, 400, "invalid", "legal_overrides",
                        "%s (each override: code of a state the pack has, one of %s; any of "
                        "hours, holidays, calls_per_24h, note)",
                        text ? msg : "legal_overrides must be an array", codes);
        free(text);
        return false;
    }
    legal_entries_free(entries, n);
    *overrides = text;
    return true;
}

/* accounts_update's step under the lock: the body over the current row. */
static int account_update_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *row,
                                char *err, size_t errlen)
{
    (void)ch;
    const json_t *body = ctx->body;
    const char *name = PQgetvalue(row, 0, 1);
    char region[3];
    snprintf(region, sizeof(region), "%s", PQgetvalue(row, 0, 4));
    char qs_buf[8] = "", qe_buf[8] = "";
    const char *qs = NULL, *qe = NULL;
    if (!PQgetisnull(row, 0, 5)) {
        window_time_format(atoi(PQgetvalue(row, 0, 5)), qs_buf, sizeof(qs_buf));
        window_time_format(atoi(PQgetvalue(row, 0, 6)), qe_buf, sizeof(qe_buf));
        qs = qs_buf;
        qe = qe_buf;
    }
    const char *s = NULL;
    jsonio_got_t got = jsonio_string(ctx, body, "name", NULL, API_TEXT_MAX, &s);
    if (got == JSONIO_NULL)
        api_reply_error(ctx, 400, "invalid", "name", "name must be a non-empty string");
    if (got == JSONIO_ERROR || got == JSONIO_NULL)
        return OD_OK;
    if (got == JSONIO_SET)
        name = s;
    got = jsonio_string(ctx, body, "default_region", NULL, 8, &s);
    if (got == JSONIO_NULL)
        api_reply_error(ctx, 400, "invalid", "default_region",
                        "default_region must be a region code (ISO 3166 alpha-2, e.g. US)");
    if (got == JSONIO_ERROR || got == JSONIO_NULL ||
        (got == JSONIO_SET && !region_parse(ctx, "default_region", s, region)))
        return OD_OK;
    char start_min[8] = "", end_min[8] = "";
    if (!jsonio_string_or_null(ctx, body, "quiet_hours_start", 16, &qs) ||
        !jsonio_string_or_null(ctx, body, "quiet_hours_end", 16, &qe) ||
        !quiet_hours_read(ctx, qs, qe, start_min, end_min))
        return OD_OK;
    char cap[12] = "";
    if (!PQgetisnull(row, 0, 11))
        snprintf(cap, sizeof(cap), "%s", PQgetvalue(row, 0, 11));
    int64_t n = 0;
    got = jsonio_int(ctx, body, "calls_per_24h", NULL, FREQCAP_CALLS_MIN, FREQCAP_CALLS_MAX, &n);
    if (got == JSONIO_ERROR)
        return OD_OK;
    if (got == JSONIO_NULL)
        cap[0] = '\0';
    else if (got == JSONIO_SET)
        snprintf(cap, sizeof(cap), "%" PRId64, n);
    const char *profile = NULL;
    char *overrides = NULL;
    if (!legal_fields_read(ctx, body, row, &profile, &overrides))
        return OD_OK;
    const char *params[] = {ctx->account_id,     name,    region,    qs ? start_min : NULL,
                            qs ? end_min : NULL, profile, overrides, cap[0] ? cap : NULL};
    int rc = pg_stmt_exec(ctx->db, &account_update_stmt, params, NULL, err, errlen);
    free(overrides);
    return rc;
}

void accounts_update(api_ctx_t *ctx)
{
    static const char *const allowed[] = {
        "name",          "default_region",  "quiet_hours_start", "quiet_hours_end",
        "legal_profile", "legal_overrides", "calls_per_24h",     NULL};
    const char *key[] = {ctx->account_id};
    resource_patch_run(ctx, &account_resource, key, allowed, account_update_apply);
}

int accounts_create(pg_conn_t *db, const char *name, int64_t balance_minor, const char *region,
                    const char *currency, char account_id[UUID_STR_LEN], char key[AUTH_KEY_LEN + 1],
                    char secret[ACCOUNTS_SECRET_LEN + 1], char *errbuf, size_t errlen)
{
    if (!name || !*name)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "an account needs a name");
    if (!region || strlen(region) != 2 || !phone_region_known(region))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "region '%s' is not a region code (ISO 3166 alpha-2 in capitals, e.g. US)",
                       region ? region : "");
    if (!currency || strlen(currency) != 3 || currency[0] < 'A' || currency[0] > 'Z' ||
        currency[1] < 'A' || currency[1] > 'Z' || currency[2] < 'A' || currency[2] > 'Z')
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "currency '%s' is not an ISO 4217 code (e.g. USD)",
                       currency ? currency : "");
    auth_random_hex(secret, ACCOUNTS_SECRET_LEN / 2);
    char balance[24];
    snprintf(balance, sizeof(balance), "%" PRId64, balance_minor);
    PGresult *res = NULL;
    int rc = pg_tx_begin(db, errbuf, errlen);
    if (rc)
        return rc;
    const char *params[] = {name, balance, region, currency, secret};
    rc = pg_stmt_exec(db, &account_insert_stmt, params, &res, errbuf, errlen);
    if (rc)
        goto fail;
    snprintf(account_id, UUID_STR_LEN, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    rc = auth_key_create(db, account_id, "bootstrap", key, errbuf, errlen);
    if (rc)
        goto fail;
    rc = pg_tx_commit(db, errbuf, errlen);
    if (rc)
        goto fail;
    log_info("account_created", "account %s created", account_id);
    return OD_OK;
fail:
    PQclear(res);
    pg_tx_rollback(db);
    account_id[0] = '\0';
    key[0] = '\0';
    secret[0] = '\0';
    return rc;
}

int accounts_credit(pg_conn_t *db, const char *account_id, int64_t amount_minor,
                    int64_t *balance_out, char *errbuf, size_t errlen)
{
    if (!uuid_str_valid(account_id))
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "account %s not found", account_id);
    if (amount_minor == 0 || amount_minor < -ACCOUNTS_CREDIT_MAX ||
        amount_minor > ACCOUNTS_CREDIT_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "amount_minor must be a non-zero integer between %lld and %lld (got %" PRId64
                       ")",
                       -ACCOUNTS_CREDIT_MAX, ACCOUNTS_CREDIT_MAX, amount_minor);
    char amount[24];
    snprintf(amount, sizeof(amount), "%" PRId64, amount_minor);
    const char *params[] = {account_id, amount};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &account_credit_stmt, params, &res, errbuf, errlen);
    if (rc)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "account %s not found", account_id);
    }
    if (balance_out)
        *balance_out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    log_info("account_credit", "account %s credited %" PRId64, account_id, amount_minor);
    return OD_OK;
}

void accounts_admin_create(api_ctx_t *ctx)
{
    static const char *const allowed[] = {"name", "balance_minor", "default_region", "currency",
                                          NULL};
    json_t *body = jsonio_body_fields(ctx, allowed);
    if (!body)
        return;
    const char *name = NULL, *region = "US", *currency = "USD";
    int64_t balance = 0;
    jsonio_got_t got = jsonio_string(ctx, body, "name", NULL, API_TEXT_MAX, &name);
    if (got == JSONIO_ERROR)
        return;
    if (got != JSONIO_SET) {
        api_reply_error(ctx, 400, "invalid", "name", "name is required");
        return;
    }
    if (jsonio_int(ctx, body, "balance_minor", NULL, -ACCOUNTS_CREDIT_MAX, ACCOUNTS_CREDIT_MAX,
                   &balance) == JSONIO_ERROR ||
        jsonio_string(ctx, body, "default_region", NULL, 8, &region) == JSONIO_ERROR ||
        jsonio_string(ctx, body, "currency", NULL, 8, &currency) == JSONIO_ERROR)
        return;
    char r[3];
    if (!region_parse(ctx, "default_region", region, r))
        return;
    char err[512], account_id[UUID_STR_LEN], key[AUTH_KEY_LEN + 1], secret[ACCOUNTS_SECRET_LEN + 1];
    int rc = accounts_create(ctx->db, name, balance, r, currency, account_id, key, secret, err,
                             sizeof(err));
    if (rc == OD_ERR_INVALID) {
        api_reply_error(ctx, 400, "invalid", "currency", "%s", err);
        return;
    }
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return;
    }
    json_t *out = json_object();
    json_object_set_new(out, "account_id", json_string(account_id));
    json_object_set_new(out, "api_key", json_string(key));
    json_object_set_new(out, "webhook_secret", json_string(secret));
    api_reply_json(ctx, 201, out);
}

void accounts_admin_credit(api_ctx_t *ctx)
{
    static const char *const allowed[] = {"amount_minor", NULL};
    json_t *body = jsonio_body_fields(ctx, allowed);
    if (!body)
        return;
    int64_t amount = 0;
    jsonio_got_t got = jsonio_int_any(ctx, body, "amount_minor", NULL, &amount);
    if (got == JSONIO_ERROR)
        return;
    if (got != JSONIO_SET) {
        api_reply_error(ctx, 400, "invalid", "amount_minor",
                        "amount_minor is required (an integer in minor units, e.g. 5000 = 50.00)");
        return;
    }
    char err[512];
    int64_t balance = 0;
    int rc = accounts_credit(ctx->db, ctx->params[0], amount, &balance, err, sizeof(err));
    if (rc == OD_ERR_INVALID) {
        api_reply_error(ctx, 400, "invalid", "amount_minor", "%s", err);
        return;
    }
    if (rc == OD_ERR_NOT_FOUND) {
        api_reply_not_found(ctx, "account");
        return;
    }
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return;
    }
    json_t *out = json_object();
    json_object_set_new(out, "account_id", json_string(ctx->params[0]));
    json_object_set_new(out, "balance_minor", json_integer(balance));
    api_reply_json(ctx, 200, out);
}

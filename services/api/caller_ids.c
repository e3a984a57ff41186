/*
 * caller_ids.c — an assistant's caller-ID pool (docs/dialer.md, "Caller-ID
 * pools"): the outbound numbers the dialer picks a call's caller id from,
 * each with the provider's id of it, an optional daily cap and the
 * timezone whose midnight starts its next day.
 *
 *   GET    /v1/assistants/{assistant_id}/caller-ids          the pool
 *   POST   /v1/assistants/{assistant_id}/caller-ids          add a number
 *   DELETE /v1/assistants/{assistant_id}/caller-ids/{phone}  remove one
 *
 * A change takes the assistant's row lock, so two requests adding the
 * pool's last number cannot both succeed. A change reaches the dialers
 * with the scheduler's next job of each lead (the pool rides in DialJob).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caller_id.h"
#include "handlers.h"
#include "jsonio.h"
#include "lead_map.h"
#include "lead_tz.h"
#include "phone.h"
#include "resource.h"
#include "window.h"

#define CALLER_ID_COLUMNS                                                                          \
    "SELECT e164, provider_phone_number_id, daily_cap, timezone, od_us(created_at)"                \
    " FROM assistant_caller_id"

static const resource_field_t caller_id_fields_out[] = {
    {"phone_number", api_col_string}, {"provider_phone_number_id", api_col_string},
    {"daily_cap", api_col_int},       {"timezone", api_col_string},
    {"created_at", api_col_time},
};

static const pg_stmt_t caller_id_get_stmt = {
    "caller_id_get", CALLER_ID_COLUMNS " WHERE assistant_id = $1::uuid AND e164 = $2", 2};

static const resource_t caller_id_resource = {
    .not_found = "caller id not found in the assistant's pool",
    RESOURCE_FIELDS(caller_id_fields_out),
    .get = &caller_id_get_stmt,
};

/* The pool, after a check that the assistant is the account's. */
static const pg_stmt_t caller_id_list_stmt = {
    "caller_id_list",
    CALLER_ID_COLUMNS " WHERE assistant_id = $1::uuid"
                      " AND EXISTS (SELECT 1 FROM assistant a WHERE a.id = $1::uuid"
                      "   AND a.account_id = $2::uuid) ORDER BY created_at, e164",
    2};

static const pg_stmt_t caller_id_assistant_lock_stmt = {
    "caller_id_assistant_lock",
    "SELECT a.timezone, (SELECT count(*) FROM assistant_caller_id p WHERE p.assistant_id = a.id),"
    " a.provider FROM assistant a WHERE a.id = $1::uuid AND a.account_id = $2::uuid FOR UPDATE",
    2};

static const pg_stmt_t caller_id_insert_stmt = {
    "caller_id_insert",
    "INSERT INTO assistant_caller_id (assistant_id, e164, provider_phone_number_id, daily_cap,"
    " timezone) VALUES ($1::uuid, $2, $3, $4::int, $5) ON CONFLICT DO NOTHING RETURNING e164",
    5};

static const pg_stmt_t caller_id_delete_stmt = {
    "caller_id_delete",
    "DELETE FROM assistant_caller_id p USING assistant a WHERE p.assistant_id = $1::uuid"
    " AND p.e164 = $3 AND a.id = p.assistant_id AND a.account_id = $2::uuid RETURNING p.e164",
    3};

static const char ASSISTANT_NOT_FOUND[] = "assistant not found";

void caller_ids_list(api_ctx_t *ctx)
{
    const char *params[] = {ctx->params[0], ctx->account_id};
    PGresult *res = resource_query(ctx, &caller_id_list_stmt, params);
    if (!res)
        return;
    if (PQntuples(res) == 0) {
        /* An empty pool, or no such assistant: tell them apart. */
        PQclear(res);
        static const pg_stmt_t exists_stmt = {
            "caller_id_assistant_exists",
            "SELECT 1 FROM assistant WHERE id = $1::uuid AND account_id = $2::uuid", 2};
        res = resource_row_fetch(ctx, ASSISTANT_NOT_FOUND, &exists_stmt, params);
        if (!res)
            return;
        PQclear(res);
        api_reply_json(ctx, 200, api_page(json_array(), NULL));
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(items, resource_row_json(&caller_id_resource, res, i, 0));
    PQclear(res);
    api_reply_json(ctx, 200, api_page(items, NULL));
}

/* A number to add, read from the body; strings borrow from it or the
 * buffers here. */
typedef struct caller_id_input {
    char e164[PHONE_E164_MAX + 1];
    const char *provider_phone_number_id; /* NULL: none */
    int64_t daily_cap;                    /* 0: none */
    char zone[WINDOW_ZONE_MAX];           /* "": from the number, else the assistant's */
} caller_id_input_t;

/* Reads and checks the request body; answers 400. */
static bool caller_id_read(api_ctx_t *ctx, caller_id_input_t *in)
{
    static const char *const allowed[] = {"phone_number", "provider_phone_number_id", "daily_cap",
                                          "timezone", NULL};
    const json_t *body = jsonio_body_fields(ctx, allowed);
    if (!body)
        return false;
    const char *s = NULL;
    jsonio_got_t got = jsonio_string(ctx, body, "phone_number", NULL, 64, &s);
    if (got == JSONIO_ERROR)
        return false;
    if (got != JSONIO_SET) {
        api_reply_error(ctx, 400, "invalid", "phone_number",
                        "phone_number is required (the outbound number, E.164 or national)");
        return false;
    }
    if (!api_phone_parse(ctx, s, "phone_number", in->e164))
        return false;
    if (!jsonio_string_or_null(ctx, body, "provider_phone_number_id", 128,
                               &in->provider_phone_number_id))
        return false;
    got = jsonio_int(ctx, body, "daily_cap", NULL, CALLER_ID_DAILY_CAP_MIN, CALLER_ID_DAILY_CAP_MAX,
                     &in->daily_cap);
    if (got == JSONIO_ERROR)
        return false;
    const char *zone = NULL;
    got = jsonio_string(ctx, body, "timezone", NULL, WINDOW_ZONE_MAX, &zone);
    if (got == JSONIO_ERROR)
        return false;
    char err[128];
    if (got == JSONIO_SET &&
        lead_map_zone_canonical_one(zone, in->zone, err, sizeof(err)) != OD_OK) {
        api_reply_error(ctx, 400, "invalid", "timezone",
                        "timezone '%.64s' is not an IANA time zone name (e.g. America/New_York)",
                        zone);
        return false;
    }
    return true;
}

/* The add's work under the assistant's lock: 404, 409 pool full, 409
 * already in the pool, else the row. */
static int caller_id_add_tx(api_ctx_t *ctx, void *arg, char *err, size_t errlen)
{
    caller_id_input_t *in = arg;
    const char *key[] = {ctx->params[0], ctx->account_id};
    PGresult *a = resource_row_fetch(ctx, ASSISTANT_NOT_FOUND, &caller_id_assistant_lock_stmt, key);
    if (!a)
        return OD_OK;
    int rc = OD_OK;
    if (atoi(PQgetvalue(a, 0, 1)) >= CALLER_ID_POOL_MAX) {
        api_reply_error(ctx, 409, "pool_full", "phone_number",
                        "the assistant's pool has %d numbers, the most it may have: remove one "
                        "first",
                        CALLER_ID_POOL_MAX);
        goto out;
    }
    if (!in->zone[0]) {
        /* The number's own zone when its prefix names one, else the
         * assistant's: its day ends at its own midnight. */
        lead_tz_t tz;
        char why[128];
        if (lead_tz_from_prefix(in->e164, api_now_us(ctx), &tz, why, sizeof(why)) == OD_OK &&
            tz.source == LEAD_TZ_SOURCE_PREFIX)
            snprintf(in->zone, sizeof(in->zone), "%s", tz.zones[0]);
        else
            snprintf(in->zone, sizeof(in->zone), "%s", PQgetvalue(a, 0, 0));
    }
    char cap[24];
    snprintf(cap, sizeof(cap), "%lld", (long long)in->daily_cap);
    const char *p[] = {ctx->params[0], in->e164, in->provider_phone_number_id,
                       in->daily_cap ? cap : NULL, in->zone};
    PGresult *res = NULL;
    rc = pg_stmt_exec(ctx->db, &caller_id_insert_stmt, p, &res, err, errlen);
    if (rc == OD_OK && PQntuples(res) == 0)
        api_reply_error(ctx, 409, "conflict", "phone_number",
                        "%s is already in the assistant's pool: remove it first to change it",
                        in->e164);
    PQclear(res);
out:
    PQclear(a);
    return rc;
}

void caller_ids_add(api_ctx_t *ctx)
{
    caller_id_input_t in = {0};
    if (!caller_id_read(ctx, &in))
        return;
    if (!resource_tx_run(ctx, caller_id_add_tx, &in))
        return;
    const char *key[] = {ctx->params[0], in.e164};
    resource_row_reply(ctx, &caller_id_resource, key, 201);
}

void caller_ids_remove(api_ctx_t *ctx)
{
    char e164[PHONE_E164_MAX + 1];
    const char *raw = ctx->params[1];
    if (phone_parse(raw, strlen(raw), ctx->region, e164) != PHONE_OK) {
        api_reply_not_found(ctx, caller_id_resource.not_found);
        return;
    }
    const char *p[] = {ctx->params[0], ctx->account_id, e164};
    PGresult *res =
        resource_row_fetch(ctx, caller_id_resource.not_found, &caller_id_delete_stmt, p);
    if (!res)
        return;
    PQclear(res);
    api_reply_empty(ctx);
}

/*
 * calls.c — the calls of a campaign or a lead (one per attempt): status
 * and its history, answered_by, duration, cost, ended reason, post-call
 * variables and times. Read only: the scheduler writes them from the
 * dialer's call events.
 *
 * Pages are in the order the calls were made (created_at, then attempt
 * id); the cursor is "<created_at µs>_<attempt id>" of the last call of
 * the previous page.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "model.h"

#define CALL_COLUMNS                                                                               \
    "SELECT k.attempt_id, k.lead_id, k.campaign_id, k.attempt_number, k.e164, k.status,"           \
    " k.status_history::text, k.answered_by, k.provider_call_id, k.failure_class,"                 \
    " od_us(k.issued_at), od_us(k.started_at), od_us(k.ended_at), k.duration_s, k.cost_minor,"     \
    " k.ended_reason, k.post_call_variables::text, od_us(k.created_at), od_us(k.updated_at)"       \
    " FROM call k JOIN campaign c ON c.id = k.campaign_id"

#define CALL_PAGE                                                                                  \
    " AND ($3::bigint IS NULL OR (k.created_at, k.attempt_id) > (od_ts($3::bigint), $4::uuid))"    \
    " AND ($5::call_status IS NULL OR k.status = $5::call_status)"                                 \
    " ORDER BY k.created_at, k.attempt_id LIMIT $6::int"

static const pg_stmt_t call_get_stmt = {
    "call_get", CALL_COLUMNS " WHERE k.attempt_id = $1::uuid AND c.account_id = $2::uuid", 2};

static const pg_stmt_t call_list_campaign_stmt = {
    "call_list_campaign",
    CALL_COLUMNS " WHERE k.campaign_id = $1::uuid AND c.account_id = $2::uuid" CALL_PAGE, 6};

static const pg_stmt_t call_list_lead_stmt = {
    "call_list_lead",
    CALL_COLUMNS " WHERE k.lead_id = $1::uuid AND c.account_id = $2::uuid" CALL_PAGE, 6};

static const pg_stmt_t lead_owned_stmt = {
    "call_lead_owned",
    "SELECT 1 FROM lead l JOIN campaign c ON c.id = l.campaign_id"
    " WHERE l.id = $1::uuid AND c.account_id = $2::uuid",
    2};

static json_t *call_json(const PGresult *res, int row)
{
    json_t *k = json_object();
    json_object_set_new(k, "id", api_col_string(res, row, 0));
    json_object_set_new(k, "lead_id", api_col_string(res, row, 1));
    json_object_set_new(k, "campaign_id", api_col_string(res, row, 2));
    json_object_set_new(k, "attempt_number", api_col_int(res, row, 3));
    json_object_set_new(k, "phone", api_col_string(res, row, 4));
    json_object_set_new(k, "status", api_col_string(res, row, 5));
    json_object_set_new(k, "status_history", api_col_json(res, row, 6));
    json_object_set_new(k, "answered_by", api_col_string(res, row, 7));
    json_object_set_new(k, "provider_call_id", api_col_string(res, row, 8));
    json_object_set_new(k, "failure_class", api_col_string(res, row, 9));
    json_object_set_new(k, "issued_at", api_col_time(res, row, 10));
    json_object_set_new(k, "started_at", api_col_time(res, row, 11));
    json_object_set_new(k, "ended_at", api_col_time(res, row, 12));
    json_object_set_new(k, "duration_s", api_col_int(res, row, 13));
    json_object_set_new(k, "cost_minor", api_col_int(res, row, 14));
    json_object_set_new(k, "ended_reason", api_col_string(res, row, 15));
    json_object_set_new(k, "post_call_variables", api_col_json(res, row, 16));
    json_object_set_new(k, "created_at", api_col_time(res, row, 17));
    json_object_set_new(k, "updated_at", api_col_time(res, row, 18));
    return k;
}

void calls_get(api_ctx_t *ctx)
{
    char err[512];
    PGresult *res = NULL;
    const char *params[] = {ctx->params[0], ctx->account_id};
    int rc = pg_stmt_exec(ctx->db, &call_get_stmt, params, &res, err, sizeof(err));
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return;
    }
    if (PQntuples(res) != 1)
        api_reply_not_found(ctx, "call");
    else
        api_reply_json(ctx, 200, call_json(res, 0));
    PQclear(res);
}

/* One page of calls of the campaign or lead `owner`. */
static void calls_page(api_ctx_t *ctx, const pg_stmt_t *stmt, const char *owner)
{
    int limit;
    if (!api_query_limit(ctx, &limit))
        return;
    char cursor_us[24] = "", cursor_id[UUID_STR_LEN] = "";
    const char *cursor = http_request_query(ctx->req, "cursor");
    if (cursor && *cursor) {
        const char *sep = strchr(cursor, '_');
        char *end = NULL;
        long long us = strtoll(cursor, &end, 10);
        if (!sep || end != sep || !uuid_str_valid(sep + 1)) {
            api_reply_error(ctx, 400, "invalid", "cursor",
                            "cursor must be the next_cursor of a previous page");
            return;
        }
        snprintf(cursor_us, sizeof(cursor_us), "%lld", us);
        snprintf(cursor_id, sizeof(cursor_id), "%s", sep + 1);
    }
    const char *status = http_request_query(ctx->req, "status");
    status = status && *status ? status : NULL;
    model_call_status_t st;
    char why[256];
    if (status && model_call_status_parse(status, &st, why, sizeof(why)) != OD_OK) {
        api_reply_error(ctx, 400, "invalid", "status", "status: %s", why);
        return;
    }
    char lim[16], err[512];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[] = {owner,
                            ctx->account_id,
                            cursor_us[0] ? cursor_us : NULL,
                            cursor_id[0] ? cursor_id : NULL,
                            status,
                            lim};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(ctx->db, stmt, params, &res, err, sizeof(err));
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return;
    }
    json_t *items = json_array();
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        json_array_append_new(items, call_json(res, i));
    char last[80] = "";
    if (n)
        snprintf(last, sizeof(last), "%s_%s", PQgetvalue(res, n - 1, 17),
                 PQgetvalue(res, n - 1, 0));
    api_reply_json(ctx, 200, api_page(items, limit, n ? last : NULL));
    PQclear(res);
}

void calls_list_campaign(api_ctx_t *ctx)
{
    if (!campaigns_owned(ctx, ctx->params[0], false, NULL))
        return;
    calls_page(ctx, &call_list_campaign_stmt, ctx->params[0]);
}

void calls_list_lead(api_ctx_t *ctx)
{
    char err[512];
    PGresult *res = NULL;
    const char *params[] = {ctx->params[0], ctx->account_id};
    int rc = pg_stmt_exec(ctx->db, &lead_owned_stmt, params, &res, err, sizeof(err));
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return;
    }
    bool found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        api_reply_not_found(ctx, "lead");
        return;
    }
    calls_page(ctx, &call_list_lead_stmt, ctx->params[0]);
}

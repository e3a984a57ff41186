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
#include "resource.h"

#define CALL_COLUMNS                                                                               \
    "SELECT k.attempt_id, k.lead_id, k.campaign_id, k.attempt_number, k.e164, k.status,"           \
    " k.status_history::text, k.answered_by, k.provider_call_id, k.failure_class,"                 \
    " od_us(k.issued_at), od_us(k.started_at), od_us(k.ended_at), k.duration_s, k.cost_minor,"     \
    " k.ended_reason, k.post_call_variables::text, od_us(k.created_at), od_us(k.updated_at),"      \
    " CASE WHEN k.predial_result IS NOT NULL THEN json_build_object('result', k.predial_result,"   \
    "   'reason', k.predial_reason, 'latency_ms', k.predial_latency_ms)::text END,"                \
    " k.callback, k.caller_id"                                                                     \
    " FROM call k JOIN campaign c ON c.id = k.campaign_id"

#define CALL_PAGE                                                                                  \
    " AND ($3::bigint IS NULL OR (k.created_at, k.attempt_id) > (od_ts($3::bigint), $4::uuid))"    \
    " AND ($5::call_status IS NULL OR k.status = $5::call_status)"                                 \
    " ORDER BY k.created_at, k.attempt_id LIMIT $6::int"

/* The JSON members, one per column of CALL_COLUMNS in its order. */
static const resource_field_t call_fields_out[] = {
    {"id", api_col_string},
    {"lead_id", api_col_string},
    {"campaign_id", api_col_string},
    {"attempt_number", api_col_int},
    {"phone", api_col_string},
    {"status", api_col_string},
    {"status_history", api_col_json},
    {"answered_by", api_col_string},
    {"provider_call_id", api_col_string},
    {"failure_class", api_col_string},
    {"issued_at", api_col_time},
    {"started_at", api_col_time},
    {"ended_at", api_col_time},
    {"duration_s", api_col_int},
    {"cost_minor", api_col_int},
    {"ended_reason", api_col_string},
    {"post_call_variables", api_col_json},
    {"created_at", api_col_time},
    {"updated_at", api_col_time},
    {"predial", api_col_json}, /* the pre-dial check's answer; null: none was made */
    {"callback", api_col_bool},
    {"caller_id", api_col_string}, /* the number the call came from; null: not recorded */
};

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

/* A page's cursor: "<created_at µs>_<attempt id>" of its last call. */
static void call_cursor(const PGresult *res, int row, char *buf, size_t len)
{
    snprintf(buf, len, "%s_%s", PQgetvalue(res, row, 17), PQgetvalue(res, row, 0));
}

static const resource_t call_resource = {
    .not_found = "call not found",
    .get = &call_get_stmt,
    RESOURCE_FIELDS(call_fields_out),
    .cursor = call_cursor,
};

void calls_get(api_ctx_t *ctx)
{
    resource_id_reply(ctx, &call_resource);
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
    const char *params[] = {owner, ctx->account_id, cursor_us[0] ? cursor_us : NULL,
                            cursor_id[0] ? cursor_id : NULL, status};
    resource_page_reply(ctx, &call_resource, stmt, params, limit);
}

void calls_list_campaign(api_ctx_t *ctx)
{
    if (!campaigns_owned(ctx, ctx->params[0], false, NULL))
        return;
    calls_page(ctx, &call_list_campaign_stmt, ctx->params[0]);
}

void calls_list_lead(api_ctx_t *ctx)
{
    const char *params[] = {ctx->params[0], ctx->account_id};
    PGresult *res = resource_row_fetch(ctx, "lead not found", &lead_owned_stmt, params);
    if (!res)
        return;
    PQclear(res);
    calls_page(ctx, &call_list_lead_stmt, ctx->params[0]);
}

#include "resource.h"

#include <stdio.h>
#include <string.h>

#include "jsonio.h"

/* Parameters of a list statement, page size included. */
#define RESOURCE_PARAMS_MAX 16

json_t *resource_row_json(const resource_t *rs, const PGresult *res, int row, int64_t now_us)
{
    if (rs->json)
        return rs->json(res, row, now_us);
    json_t *obj = json_object();
    resource_fields_set(obj, rs->fields, 0, rs->n_fields, res, row);
    return obj;
}

void resource_fields_set(json_t *obj, const resource_field_t *fields, size_t first, size_t end,
                         const PGresult *res, int row)
{
    for (size_t i = first; i < end; i++)
        json_object_set_new(obj, fields[i].name, fields[i].value(res, row, (int)i));
}

PGresult *resource_query(api_ctx_t *ctx, const pg_stmt_t *stmt, const char *const *params)
{
    char err[512];
    PGresult *res = NULL;
    int rc = pg_stmt_exec(ctx->db, stmt, params, &res, err, sizeof(err));
    if (rc)
        api_reply_failure(ctx, rc, err);
    return res;
}

PGresult *resource_row_fetch(api_ctx_t *ctx, const char *not_found, const pg_stmt_t *stmt,
                             const char *const *params)
{
    PGresult *res = resource_query(ctx, stmt, params);
    if (!res)
        return NULL;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_reply_error(ctx, 404, "not_found", NULL, "%s", not_found);
        return NULL;
    }
    return res;
}

void resource_row_reply(api_ctx_t *ctx, const resource_t *rs, const char *const *key, int status)
{
    PGresult *res = resource_row_fetch(ctx, rs->not_found, rs->get, key);
    if (!res)
        return;
    api_reply_json(ctx, status, resource_row_json(rs, res, 0, api_now_us(ctx)));
    PQclear(res);
}

void resource_id_reply(api_ctx_t *ctx, const resource_t *rs)
{
    const char *key[] = {ctx->params[0], ctx->account_id};
    resource_row_reply(ctx, rs, key, 200);
}

void resource_created_reply(api_ctx_t *ctx, const resource_t *rs, const pg_stmt_t *insert,
                            const char *const *params)
{
    PGresult *res = resource_query(ctx, insert, params);
    if (!res)
        return;
    char id[UUID_STR_LEN];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *key[] = {id, ctx->account_id};
    resource_row_reply(ctx, rs, key, 201);
}

void resource_page_reply(api_ctx_t *ctx, const resource_t *rs, const pg_stmt_t *list,
                         const char *const *params, int limit)
{
    const char *all[RESOURCE_PARAMS_MAX];
    if (list->nparams < 1 || list->nparams > RESOURCE_PARAMS_MAX) {
        api_reply_failure(ctx, OD_ERR_INTERNAL, "resource_page_reply: too many parameters");
        return;
    }
    size_t n_given = (size_t)list->nparams - 1;
    memcpy(all, params, n_given * sizeof(*all));
    /* One row more than the page: a cursor only when a further row exists,
     * never one to an empty page. */
    char lim[16];
    all[n_given] = api_i64(lim, sizeof(lim), (int64_t)limit + 1);
    PGresult *res = resource_query(ctx, list, all);
    if (!res)
        return;
    int64_t now_us = api_now_us(ctx);
    json_t *items = json_array();
    int n = PQntuples(res);
    bool more = n > limit;
    if (more)
        n = limit;
    for (int i = 0; i < n; i++)
        json_array_append_new(items, resource_row_json(rs, res, i, now_us));
    char last[128] = "";
    if (more && rs->cursor)
        rs->cursor(res, n - 1, last, sizeof(last));
    else if (more)
        snprintf(last, sizeof(last), "%s", PQgetvalue(res, n - 1, 0));
    api_reply_json(ctx, 200, api_page(items, more ? last : NULL));
    PQclear(res);
}

void resource_account_page_reply(api_ctx_t *ctx, const resource_t *rs, const pg_stmt_t *list)
{
    int limit;
    const char *cursor;
    if (!api_query_page(ctx, &limit, &cursor))
        return;
    const char *params[] = {ctx->account_id, cursor};
    resource_page_reply(ctx, rs, list, params, limit);
}

bool resource_tx_run(api_ctx_t *ctx, resource_tx_fn fn, void *arg)
{
    char err[512];
    int rc = pg_tx_begin(ctx->db, err, sizeof(err));
    if (rc == OD_OK)
        rc = fn(ctx, arg, err, sizeof(err));
    if (rc == OD_OK && !ctx->replied)
        rc = pg_tx_commit(ctx->db, err, sizeof(err));
    if (rc && !ctx->replied)
        api_reply_failure(ctx, rc, err);
    /* A no-op after COMMIT and after a failed BEGIN. */
    pg_tx_rollback(ctx->db);
    return !ctx->replied;
}

/* resource_change_run's transaction: the lock, then the resource's step. */
static int change_tx(api_ctx_t *ctx, void *arg, char *err, size_t errlen)
{
    resource_change_t *ch = arg;
    PGresult *row = NULL;
    int rc = pg_stmt_exec(ctx->db, ch->rs->lock, ch->key, &row, err, errlen);
    if (rc)
        return rc;
    if (PQntuples(row) != 1)
        api_reply_error(ctx, 404, "not_found", NULL, "%s", ch->rs->not_found);
    else
        rc = ch->apply(ctx, ch, row, err, errlen);
    PQclear(row);
    return rc;
}

void resource_change_run(api_ctx_t *ctx, resource_change_t *ch)
{
    if (!resource_tx_run(ctx, change_tx, ch)) {
        json_decref(ch->reply);
        ch->reply = NULL;
        return;
    }
    if (ch->reply_status == 0)
        resource_row_reply(ctx, ch->rs, ch->key, 200);
    else if (ch->reply_status == 204)
        api_reply_empty(ctx);
    else
        api_reply_json(ctx, ch->reply_status, ch->reply);
    ch->reply = NULL;
}

void resource_id_change_run(api_ctx_t *ctx, const resource_t *rs, resource_apply_fn apply,
                            void *arg)
{
    const char *key[] = {ctx->params[0], ctx->account_id};
    resource_change_t ch = {.rs = rs, .key = key, .apply = apply, .arg = arg};
    resource_change_run(ctx, &ch);
}

void resource_patch_run(api_ctx_t *ctx, const resource_t *rs, const char *const *key,
                        const char *const *allowed, resource_apply_fn apply)
{
    json_t *body = jsonio_body_fields(ctx, allowed);
    if (!body)
        return;
    resource_change_t ch = {.rs = rs, .key = key, .apply = apply};
    resource_change_run(ctx, &ch);
}

void resource_id_patch_run(api_ctx_t *ctx, const resource_t *rs, const char *const *allowed,
                           resource_apply_fn apply)
{
    const char *key[] = {ctx->params[0], ctx->account_id};
    resource_patch_run(ctx, rs, key, allowed, apply);
}

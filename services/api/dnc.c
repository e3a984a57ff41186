/*
 * dnc.c — the account's do-not-call list, in Postgres (the truth) and
 * mirrored to the Redis set rkeys_dnc(<account>) that dialers check just
 * before dialing (invariant 4).
 *
 * A change is written to Postgres first and committed, then to Redis. A
 * Redis write that fails (Redis down, the process killed in between) is
 * repaired by dnc_sync_all, which the API runs at start and every
 * OUTDIAL_API_DNC_SYNC_S seconds: it adds every number Postgres has and
 * removes what Postgres no longer has. The removal reads Redis before
 * Postgres, so a number added concurrently (in Postgres after our read)
 * is not yet in our Redis snapshot either and is never removed by mistake;
 * a number removed concurrently may be re-added for one period, which errs
 * on the side of not calling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "jsonio.h"
#include "log.h"
#include "phone.h"
#include "resource.h"
#include "rkeys.h"
#include "xmalloc.h"

/* Members per SADD/SREM command while syncing: bounded command size. */
#define DNC_SYNC_BATCH 1000
/* A reason is a short note ("asked not to be called", "complaint #123"). */
#define DNC_REASON_MAX 500

/* An entry as the API shows it: the columns of DNC_COLUMNS, in order.
 * created_at is added_at's older name, kept for clients that read it. */
#define DNC_COLUMNS                                                                                \
    "SELECT e164, reason, od_us(created_at), source, call_id, list_date::text, od_us(created_at)"  \
    " FROM dnc"
static const resource_field_t dnc_fields_out[] = {
    {"phone", api_col_string},  {"reason", api_col_string},  {"created_at", api_col_time},
    {"source", api_col_string}, {"call_id", api_col_string}, {"list_date", api_col_string},
    {"added_at", api_col_time},
};

static const pg_stmt_t dnc_insert_stmt = {
    "dnc_insert",
    "INSERT INTO dnc (account_id, e164, reason) VALUES ($1::uuid, $2, $3)"
    " ON CONFLICT DO NOTHING RETURNING e164",
    3};

static const pg_stmt_t dnc_get_stmt = {"dnc_get",
                                       DNC_COLUMNS " WHERE account_id = $1::uuid AND e164 = $2", 2};

static const pg_stmt_t dnc_list_stmt = {
    "dnc_list",
    DNC_COLUMNS " WHERE account_id = $1::uuid AND ($2::text IS NULL OR e164 > $2)"
                " ORDER BY e164 LIMIT $3::int",
    3};

static const pg_stmt_t dnc_delete_stmt = {
    "dnc_delete", "DELETE FROM dnc WHERE account_id = $1::uuid AND e164 = $2 RETURNING e164", 2};

static const pg_stmt_t dnc_accounts_stmt = {"dnc_sync_accounts",
                                            "SELECT id FROM account ORDER BY id", 0};

static const pg_stmt_t dnc_numbers_stmt = {
    "dnc_sync_numbers", "SELECT e164 FROM dnc WHERE account_id = $1::uuid ORDER BY e164", 1};

/* An entry of the list, by (account, number); the cursor is the number. */
static const resource_t dnc_resource = {
    .not_found = "the number is not on the do-not-call list",
    .get = &dnc_get_stmt,
    RESOURCE_FIELDS(dnc_fields_out),
};

/* Runs "<cmd> key member..." on Redis (SADD or SREM). */
static int redis_set_cmd(redis_t *r, const char *cmd, const char *key, const char *const *members,
                         size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return OD_OK;
    const char **argv = xcalloc(n + 2, sizeof(*argv));
    argv[0] = cmd;
    argv[1] = key;
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = members[i];
    redisReply *reply = NULL;
    int rc = redis_command_argv(r, true, (int)(n + 2), argv, NULL, &reply, err, errlen);
    if (reply)
        freeReplyObject(reply);
    free(argv);
    return rc;
}

/* Mirrors numbers of ctx's account to Redis; failures are logged and left
 * to the periodic sync. */
static void mirror(api_ctx_t *ctx, const char *cmd, const char *const *numbers, size_t n)
{
    redis_t *r = atomic_load(&ctx->api->redis);
    char key[RKEYS_KEY_MAX], err[256];
    rkeys_dnc(ctx->api->redis_prefix, ctx->account_id, key);
    if (!r) {
        log_warn("dnc_mirror", "account %s: Redis is not connected; the DNC sync repairs it",
                 ctx->account_id);
        return;
    }
    if (redis_set_cmd(r, cmd, key, numbers, n, err, sizeof(err)) != OD_OK) {
        atomic_store(&ctx->api->redis_ok, false);
        log_warn("dnc_mirror", "account %s: %s not mirrored (%s); the DNC sync repairs it",
                 ctx->account_id, cmd, err);
    }
}

/* A number from a path or body as E.164 (the account's region for
 * numbers without a country code); answers 400 naming field, or 404 when
 * it comes from the path. */
static bool number_parse(api_ctx_t *ctx, const char *raw, const char *field, bool from_path,
                         char e164[PHONE_E164_MAX + 1])
{
    phone_reason_t why = phone_parse(raw, strlen(raw), ctx->region, e164);
    if (why == PHONE_OK)
        return true;
    if (from_path)
        api_reply_error(ctx, 404, "not_found", NULL,
                        "'%.32s' is not a phone number (%s) and so not on the do-not-call list",
                        raw, phone_reason_code(why));
    else
        api_reply_error(ctx, 400, "invalid", field, "%s '%.32s': %s", field, raw,
                        phone_reason_message(why));
    return false;
}

/* The numbers of a dnc_add request, read and then inserted. */
typedef struct dnc_batch {
    size_t n;
    char (*numbers)[PHONE_E164_MAX + 1];
    const char **reasons;
    const char **members; /* numbers[i], for the mirror */
    json_t *results;      /* [{"phone", "result"}] */
    size_t added;
} dnc_batch_t;

/* Reads entry i of the body (an object, or an array of them) into b;
 * answers 400. */
static bool dnc_entry_read(api_ctx_t *ctx, bool many, size_t i, dnc_batch_t *b)
{
    static const char *const allowed[] = {"phone", "reason", NULL};
    json_t *obj = many ? json_array_get(ctx->body, i) : ctx->body;
    char where[32] = "", label[64];
    if (many)
        snprintf(where, sizeof(where), "[%zu]", i);
    if (!json_is_object(obj)) {
        api_reply_error(ctx, 400, "invalid", many ? where : NULL,
                        "each entry must be an object {\"phone\": ..., \"reason\": ...}");
        return false;
    }
    if (!jsonio_fields_check(ctx, obj, allowed, where))
        return false;
    const char *phone = NULL;
    jsonio_label(label, sizeof(label), where, "phone");
    jsonio_got_t got = jsonio_string(ctx, obj, "phone", label, 64, &phone);
    if (got == JSONIO_ERROR)
        return false;
    if (got != JSONIO_SET) {
        api_reply_error(ctx, 400, "invalid", label, "%s is required", label);
        return false;
    }
    if (!number_parse(ctx, phone, label, false, b->numbers[i]))
        return false;
    jsonio_label(label, sizeof(label), where, "reason");
    b->reasons[i] = "";
    if (jsonio_string(ctx, obj, "reason", label, DNC_REASON_MAX, &b->reasons[i]) == JSONIO_ERROR)
        return false;
    if (!b->reasons[i])
        b->reasons[i] = "";
    b->members[i] = b->numbers[i];
    return true;
}

/* dnc_add's transaction: every number, inserted unless listed already. */
static int dnc_batch_insert_tx(api_ctx_t *ctx, void *arg, char *err, size_t errlen)
{
    dnc_batch_t *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        PGresult *res = NULL;
        const char *params[] = {ctx->account_id, b->numbers[i], b->reasons[i]};
        int rc = pg_stmt_exec(ctx->db, &dnc_insert_stmt, params, &res, err, errlen);
        if (rc)
            return rc;
        bool inserted = PQntuples(res) == 1;
        PQclear(res);
        b->added += inserted;
        json_t *item = json_object();
        json_object_set_new(item, "phone", json_string(b->numbers[i]));
        json_object_set_new(item, "result", json_string(inserted ? "added" : "already_listed"));
        json_array_append_new(b->results, item);
    }
    return OD_OK;
}

void dnc_add(api_ctx_t *ctx)
{
    if (!ctx->body) {
        api_reply_error(ctx, 400, "invalid_json", NULL,
                        "a JSON object {\"phone\": ..., \"reason\": ...} or an array of them is "
                        "required");
        return;
    }
    bool many = json_is_array(ctx->body);
    size_t n = many ? json_array_size(ctx->body) : 1;
    if (n == 0 || n > API_BATCH_MAX) {
        api_reply_error(ctx, 400, "invalid", NULL, "send 1 to %d numbers per request",
                        API_BATCH_MAX);
        return;
    }
    dnc_batch_t b = {.n = n};
    b.numbers = xcalloc(n, sizeof(*b.numbers));
    b.reasons = xcalloc(n, sizeof(*b.reasons));
    b.members = xcalloc(n, sizeof(*b.members));
    b.results = json_array();
    for (size_t i = 0; i < n; i++)
        if (!dnc_entry_read(ctx, many, i, &b))
            goto out;
    if (!resource_tx_run(ctx, dnc_batch_insert_tx, &b))
        goto out;
    /* Every number, also those already listed: a missing mirror entry is
     * repaired at once. */
    mirror(ctx, "SADD", b.members, n);
    json_t *out = json_object();
    json_object_set_new(out, "added", json_integer((json_int_t)b.added));
    json_object_set_new(out, "results", b.results);
    b.results = NULL;
    api_reply_json(ctx, b.added > 0 ? 201 : 200, out);
out:
    json_decref(b.results);
    free(b.members);
    free(b.reasons);
    free(b.numbers);
}

void dnc_list(api_ctx_t *ctx)
{
    int limit;
    if (!api_query_limit(ctx, &limit))
        return;
    const char *cursor = http_request_query(ctx->req, "cursor");
    cursor = cursor && *cursor ? cursor : NULL;
    if (cursor && (cursor[0] != '+' || strlen(cursor) > PHONE_E164_MAX ||
                   strspn(cursor + 1, "0123456789") != strlen(cursor + 1))) {
        api_reply_error(ctx, 400, "invalid", "cursor",
                        "cursor must be the next_cursor of a previous page");
        return;
    }
    const char *params[] = {ctx->account_id, cursor};
    resource_page_reply(ctx, &dnc_resource, &dnc_list_stmt, params, limit);
}

void dnc_get(api_ctx_t *ctx)
{
    char e164[PHONE_E164_MAX + 1];
    if (!number_parse(ctx, ctx->params[0], "phone", true, e164))
        return;
    const char *key[] = {ctx->account_id, e164};
    resource_row_reply(ctx, &dnc_resource, key, 200);
}

void dnc_remove(api_ctx_t *ctx)
{
    char e164[PHONE_E164_MAX + 1];
    if (!number_parse(ctx, ctx->params[0], "phone", true, e164))
        return;
    const char *params[] = {ctx->account_id, e164};
    PGresult *res = resource_row_fetch(ctx, dnc_resource.not_found, &dnc_delete_stmt, params);
    if (!res)
        return;
    PQclear(res);
    const char *members[] = {e164};
    mirror(ctx, "SREM", members, 1);
    api_reply_empty(ctx);
}

/* ---- sync ------------------------------------------------------------------ */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool sorted_has(const char *const *sorted, size_t n, const char *s)
{
    return n > 0 && bsearch(&s, sorted, n, sizeof(*sorted), str_cmp) != NULL;
}

/* Sends members in batches of DNC_SYNC_BATCH. */
static int redis_set_batches(redis_t *r, const char *cmd, const char *key,
                             const char *const *members, size_t n, char *err, size_t errlen)
{
    for (size_t off = 0; off < n; off += DNC_SYNC_BATCH) {
        size_t k = n - off < DNC_SYNC_BATCH ? n - off : DNC_SYNC_BATCH;
        int rc = redis_set_cmd(r, cmd, key, members + off, k, err, errlen);
        if (rc)
            return rc;
    }
    return OD_OK;
}

static int dnc_sync_account(pg_conn_t *db, redis_t *r, const char *prefix, const char *account_id,
                            char *err, size_t errlen)
{
    char key[RKEYS_KEY_MAX];
    rkeys_dnc(prefix, account_id, key);
    redisReply *members = NULL;
    PGresult *res = NULL;
    const char **in_redis = NULL, **in_pg = NULL, **todo = NULL;
    /* Redis first, then Postgres: see the file comment. */
    const char *argv[] = {"SMEMBERS", key};
    int rc = redis_command_argv(r, true, 2, argv, NULL, &members, err, errlen);
    if (rc)
        goto out;
    const char *p[] = {account_id};
    rc = pg_stmt_exec(db, &dnc_numbers_stmt, p, &res, err, errlen);
    if (rc)
        goto out;
    size_t n_redis = members->type == REDIS_REPLY_ARRAY ? members->elements : 0;
    size_t n_pg = (size_t)PQntuples(res);
    in_redis = xcalloc(n_redis + 1, sizeof(*in_redis));
    in_pg = xcalloc(n_pg + 1, sizeof(*in_pg));
    todo = xcalloc(n_redis + n_pg + 1, sizeof(*todo));
    for (size_t i = 0; i < n_redis; i++)
        in_redis[i] = members->element[i]->str ? members->element[i]->str : "";
    for (size_t i = 0; i < n_pg; i++)
        in_pg[i] = PQgetvalue(res, (int)i, 0);
    qsort(in_redis, n_redis, sizeof(*in_redis), str_cmp);
    qsort(in_pg, n_pg, sizeof(*in_pg), str_cmp);
    size_t n = 0;
    for (size_t i = 0; i < n_pg; i++)
        if (!sorted_has(in_redis, n_redis, in_pg[i]))
            todo[n++] = in_pg[i];
    rc = redis_set_batches(r, "SADD", key, todo, n, err, errlen);
    if (rc)
        goto out;
    if (n > 0)
        log_info("dnc_sync", "account %s: %zu numbers restored in Redis", account_id, n);
    n = 0;
    for (size_t i = 0; i < n_redis; i++)
        if (!sorted_has(in_pg, n_pg, in_redis[i]))
            todo[n++] = in_redis[i];
    rc = redis_set_batches(r, "SREM", key, todo, n, err, errlen);
    if (rc == OD_OK && n > 0)
        log_info("dnc_sync", "account %s: %zu numbers removed from Redis", account_id, n);
out:
    free(todo);
    free(in_pg);
    free(in_redis);
    PQclear(res);
    if (members)
        freeReplyObject(members);
    return rc;
}

int dnc_sync_all(pg_conn_t *db, redis_t *r, const char *redis_prefix, size_t *n_accounts,
                 char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    *n_accounts = 0;
    int rc = pg_stmt_exec(db, &dnc_accounts_stmt, NULL, &res, errbuf, errlen);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res) && rc == OD_OK; i++) {
        rc = dnc_sync_account(db, r, redis_prefix, PQgetvalue(res, i, 0), errbuf, errlen);
        if (rc == OD_OK)
            (*n_accounts)++;
    }
    PQclear(res);
    return rc;
}

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
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnc_list.h"
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
    if (!from_path)
        return api_phone_parse(ctx, raw, field, e164);
    phone_reason_t why = phone_parse(raw, strlen(raw), ctx->region, e164);
    if (why == PHONE_OK)
        return true;
    api_reply_error(ctx, 404, "not_found", NULL,
                    "'%.32s' is not a phone number (%s) and so not on the do-not-call list", raw,
                    phone_reason_code(why));
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

/* ---- bulk lists -------------------------------------------------------------- */

/* Lines per request: 20,000 registry lines are about 400 KB of JSON, under
 * the API's body limit; outdialctl sends a larger file in such chunks. */
#define DNC_IMPORT_LINES_MAX 20000
/* Invalid lines named in the answer: enough to see what is wrong. */
#define DNC_IMPORT_INVALID_SHOWN 20

static const pg_stmt_t dnc_import_numbers_stmt = {
    "dnc_import_numbers",
    "INSERT INTO dnc (account_id, e164, reason, source, list_date)"
    " SELECT $1::uuid, n, '', $3::dnc_source, $4::date FROM unnest($2::text[]) AS n"
    " ON CONFLICT DO NOTHING RETURNING e164",
    4};

static const pg_stmt_t dnc_import_record_stmt = {
    "dnc_import_record",
    "INSERT INTO dnc_import (account_id, source, list_date, numbers_read, numbers_added,"
    " numbers_invalid) VALUES ($1::uuid, $2::dnc_source, $3::date, $4::int, $5::int, $6::int)"
    " RETURNING id, od_us(imported_at)",
    6};

/* The account's legal profile when it has one (read through to_jsonb, so
 * that an account table without the column answers NULL), its newest
 * registry list and today, as days since 1970. */
static const pg_stmt_t dnc_registry_stmt = {
    "dnc_registry",
    "SELECT to_jsonb(a)->>'legal_profile', max(i.list_date)::text,"
    " max(i.list_date) - DATE '1970-01-01', current_date - DATE '1970-01-01'"
    " FROM account a LEFT JOIN dnc_import i ON i.account_id = a.id AND i.source = 'registry'"
    " WHERE a.id = $1::uuid GROUP BY a.id",
    1};

/* The registry scrub's state: {"scrub_required", "last_registry_list_date",
 * "age_days", "max_age_days", "warning"}; NULL after answering 500. */
static json_t *registry_status(api_ctx_t *ctx)
{
    char err[256];
    PGresult *res = NULL;
    const char *p[] = {ctx->account_id};
    int rc = pg_stmt_exec(ctx->db, &dnc_registry_stmt, p, &res, err, sizeof(err));
    if (rc == OD_OK && PQntuples(res) != 1)
        rc = od_fail(err, sizeof(err), OD_ERR_NOT_FOUND, "account not found");
    if (rc) {
        PQclear(res);
        api_reply_failure(ctx, rc, err);
        return NULL;
    }
    const char *profile = PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);
    bool has_list = !PQgetisnull(res, 0, 1);
    int64_t list_day = has_list ? strtoll(PQgetvalue(res, 0, 2), NULL, 10) : 0;
    int64_t today = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    bool required = dnc_registry_required(profile);
    json_t *out = json_object();
    json_object_set_new(out, "scrub_required", json_boolean(required));
    json_object_set_new(out, "last_registry_list_date",
                        has_list ? json_string(PQgetvalue(res, 0, 1)) : json_null());
    json_object_set_new(out, "age_days",
                        has_list ? json_integer((json_int_t)(today - list_day)) : json_null());
    json_object_set_new(out, "max_age_days", json_integer(DNC_REGISTRY_MAX_AGE_DAYS));
    json_t *warning = json_null();
    if (dnc_registry_stale(required, has_list, list_day, today)) {
        char msg[256];
        if (has_list)
            snprintf(msg, sizeof(msg),
                     "the account's legal profile (%s) requires a national registry scrub every "
                     "%d days; the newest registry list imported is %" PRId64 " days old",
                     profile, DNC_REGISTRY_MAX_AGE_DAYS, today - list_day);
        else
            snprintf(msg, sizeof(msg),
                     "the account's legal profile (%s) requires a national registry scrub every "
                     "%d days; no registry list was imported",
                     profile, DNC_REGISTRY_MAX_AGE_DAYS);
        warning = json_string(msg);
    }
    json_object_set_new(out, "warning", warning);
    PQclear(res);
    return out;
}

void dnc_registry(api_ctx_t *ctx)
{
    json_t *out = registry_status(ctx);
    if (out)
        api_reply_json(ctx, 200, out);
}

/* A bulk list as read: the valid numbers as a Postgres array literal (E.164
 * needs no quoting) and for the mirror, the invalid lines named. */
typedef struct dnc_import {
    const char *source, *list_date;
    size_t read, n_numbers, invalid;
    char (*numbers)[PHONE_E164_MAX + 1];
    const char **members;
    char *array;
    json_t *invalid_lines;
    char id[UUID_STR_LEN];
    int64_t imported_us;
    size_t added;
} dnc_import_t;

/* dnc_import's transaction: the numbers not listed yet, and the import's row. */
static int dnc_import_tx(api_ctx_t *ctx, void *arg, char *err, size_t errlen)
{
    dnc_import_t *im = arg;
    PGresult *res = NULL;
    const char *p[] = {ctx->account_id, im->array, im->source, im->list_date};
    int rc = pg_stmt_exec(ctx->db, &dnc_import_numbers_stmt, p, &res, err, errlen);
    if (rc)
        return rc;
    im->added = (size_t)PQntuples(res);
    PQclear(res);
    char read[24], added[24], invalid[24];
    snprintf(read, sizeof(read), "%zu", im->read);
    snprintf(added, sizeof(added), "%zu", im->added);
    snprintf(invalid, sizeof(invalid), "%zu", im->invalid);
    const char *q[] = {ctx->account_id, im->source, im->list_date, read, added, invalid};
    rc = pg_stmt_exec(ctx->db, &dnc_import_record_stmt, q, &res, err, errlen);
    if (rc)
        return rc;
    snprintf(im->id, sizeof(im->id), "%s", PQgetvalue(res, 0, 0));
    im->imported_us = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return OD_OK;
}

/* Reads the body's lines into im; answers 400. */
static bool dnc_import_read(api_ctx_t *ctx, json_t *lines, dnc_import_t *im)
{
    size_t n = json_array_size(lines);
    if (n == 0 || n > DNC_IMPORT_LINES_MAX) {
        api_reply_error(ctx, 400, "invalid", "lines",
                        "lines must hold 1 to %d lines of the file (send a larger file in parts)",
                        DNC_IMPORT_LINES_MAX);
        return false;
    }
    im->numbers = xcalloc(n, sizeof(*im->numbers));
    im->members = xcalloc(n, sizeof(*im->members));
    im->array = xmalloc(n * (PHONE_E164_MAX + 1) + 3);
    size_t len = 0;
    im->array[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        json_t *line = json_array_get(lines, i);
        if (!json_is_string(line)) {
            api_reply_error(ctx, 400, "invalid", "lines", "lines[%zu] must be a string", i);
            return false;
        }
        const char *why = NULL;
        char *e164 = im->numbers[im->n_numbers];
        dnc_line_t kind = dnc_list_line_parse(json_string_value(line), json_string_length(line),
                                              ctx->region, e164, &why);
        if (kind == DNC_LINE_SKIP)
            continue;
        im->read++;
        if (kind == DNC_LINE_INVALID) {
            if (im->invalid++ < DNC_IMPORT_INVALID_SHOWN) {
                json_t *bad = json_object();
                json_object_set_new(bad, "line", json_integer((json_int_t)i + 1));
                json_object_set_new(
                    bad, "text",
                    json_stringn(json_string_value(line),
                                 json_string_length(line) > 64 ? 64 : json_string_length(line)));
                json_object_set_new(bad, "reason", json_string(why));
                json_array_append_new(im->invalid_lines, bad);
            }
            continue;
        }
        if (im->n_numbers)
            im->array[len++] = ',';
        size_t l = strlen(e164);
        memcpy(im->array + len, e164, l);
        len += l;
        im->members[im->n_numbers++] = e164;
    }
    im->array[len++] = '}';
    im->array[len] = '\0';
    return true;
}

void dnc_import(api_ctx_t *ctx)
{
    static const char *const allowed[] = {"source", "list_date", "lines", NULL};
    json_t *body = jsonio_body_fields(ctx, allowed);
    if (!body)
        return;
    dnc_import_t im = {.source = "import", .invalid_lines = json_array()};
    json_t *lines = NULL;
    int64_t day;
    if (!jsonio_string_not_null(ctx, body, "source", 16, "source must be import or registry",
                                &im.source) ||
        jsonio_string(ctx, body, "list_date", NULL, 16, &im.list_date) == JSONIO_ERROR ||
        jsonio_array(ctx, body, "lines", NULL, &lines) == JSONIO_ERROR)
        goto out;
    if (strcmp(im.source, "import") != 0 && strcmp(im.source, "registry") != 0) {
        api_reply_error(ctx, 400, "invalid", "source",
                        "source must be import (the account's own list) or registry (the "
                        "national registry's), not '%.16s'",
                        im.source);
        goto out;
    }
    if (!im.list_date || !dnc_list_date_parse(im.list_date, &day)) {
        api_reply_error(ctx, 400, "invalid", "list_date",
                        "list_date is required: the date of the list, YYYY-MM-DD");
        goto out;
    }
    if (!dnc_import_read(ctx, lines, &im) || !resource_tx_run(ctx, dnc_import_tx, &im))
        goto out;
    mirror(ctx, "SADD", im.members, im.n_numbers);
    json_t *registry = registry_status(ctx);
    if (!registry)
        goto out;
    char at[40];
    od_time_format_rfc3339(im.imported_us, at, sizeof(at));
    json_t *out = json_object();
    json_object_set_new(out, "id", json_string(im.id));
    json_object_set_new(out, "source", json_string(im.source));
    json_object_set_new(out, "list_date", json_string(im.list_date));
    json_object_set_new(out, "numbers_read", json_integer((json_int_t)im.read));
    json_object_set_new(out, "numbers_added", json_integer((json_int_t)im.added));
    json_object_set_new(out, "numbers_invalid", json_integer((json_int_t)im.invalid));
    json_object_set_new(out, "invalid_lines", im.invalid_lines);
    im.invalid_lines = NULL;
    json_object_set_new(out, "imported_at", json_string(at));
    json_object_set_new(out, "registry", registry);
    api_reply_json(ctx, 201, out);
out:
    json_decref(im.invalid_lines);
    free(im.array);
    free(im.members);
    free(im.numbers);
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

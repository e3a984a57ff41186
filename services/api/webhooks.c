/*
 * webhooks.c — an account's outbound webhook endpoints and their
 * deliveries (docs/webhooks.md): the endpoints with their event filter
 * (lib/web/webhook_filter.h), the signing secret (shown on create and on
 * rotate only), the deliveries by status — "dead" is the endpoint's
 * dead-letter list — and the replay of dead deliveries. outdial-notifier
 * sends what these rows say; the API never sends a webhook itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "jsonio.h"
#include "log.h"
#include "resource.h"
#include "webhook_filter.h"
#include "xmalloc.h"

/* 24 random bytes: 192 bits, beyond guessing. */
#define WEBHOOK_SECRET_BYTES  24
#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_SECRET_LEN    (sizeof(WEBHOOK_SECRET_PREFIX) - 1 + 2 * WEBHOOK_SECRET_BYTES)
/* The longest URL kept (the table's CHECK): what browsers and proxies
 * commonly accept. */
#define WEBHOOK_URL_MAX 2048

#define ENDPOINT_COLUMNS                                                                           \
    "SELECT id, url, to_json(events)::text, description, enabled, disabled_reason,"                \
    " od_us(created_at), od_us(updated_at) FROM webhook_endpoint"

static const resource_field_t endpoint_fields_out[] = {
    {"id", api_col_string},       {"url", api_col_string},
    {"events", api_col_json},     {"description", api_col_string},
    {"enabled", api_col_bool},    {"disabled_reason", api_col_string},
    {"created_at", api_col_time}, {"updated_at", api_col_time},
};

RESOURCE_STMTS(endpoint, "webhook_endpoint", ENDPOINT_COLUMNS,
               "id = $1::uuid AND account_id = $2::uuid", 2);

static const pg_stmt_t endpoint_list_stmt = {
    "webhook_endpoint_list",
    ENDPOINT_COLUMNS " WHERE account_id = $1::uuid AND ($2::uuid IS NULL OR id > $2::uuid)"
                     " ORDER BY id LIMIT $3::int",
    3};

static const pg_stmt_t endpoint_insert_stmt = {
    "webhook_endpoint_insert",
    "INSERT INTO webhook_endpoint (account_id, url, events, description, enabled, secret)"
    " VALUES ($1::uuid, $2, $3::text[], $4, $5::boolean, $6) RETURNING id",
    6};

/* A field not given keeps its value ($3, $4, $6 NULL; $7 false keeps the
 * description). Enabling clears the reason it was disabled (a 410 from the
 * receiver). */
static const pg_stmt_t endpoint_update_stmt = {
    "webhook_endpoint_update",
    "UPDATE webhook_endpoint SET url = COALESCE($3, url), events = COALESCE($4::text[], events),"
    " description = CASE WHEN $7::boolean THEN $5 ELSE description END,"
    " enabled = COALESCE($6::boolean, enabled),"
    " disabled_reason = CASE WHEN $6::boolean THEN NULL ELSE disabled_reason END,"
    " updated_at = now() WHERE id = $1::uuid AND account_id = $2::uuid",
    7};

static const pg_stmt_t endpoint_delete_stmt = {
    "webhook_endpoint_delete",
    "DELETE FROM webhook_endpoint WHERE id = $1::uuid AND account_id = $2::uuid", 2};

static const pg_stmt_t endpoint_secret_stmt = {
    "webhook_endpoint_secret",
    "UPDATE webhook_endpoint SET secret = $3, updated_at = now()"
    " WHERE id = $1::uuid AND account_id = $2::uuid RETURNING id",
    3};

static const resource_t endpoint_resource = {
    .not_found = "webhook endpoint not found",
    .get = &endpoint_get_stmt,
    .lock = &endpoint_lock_stmt,
    RESOURCE_FIELDS(endpoint_fields_out),
};

#define DELIVERY_COLUMNS                                                                           \
    "SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status::text, d.attempts,"            \
    " od_us(d.first_attempt_at), od_us(d.last_attempt_at),"                                        \
    " CASE WHEN d.status = 'pending' THEN od_us(d.next_attempt_at) END, d.last_status_code,"       \
    " d.last_error, od_us(d.delivered_at), od_us(d.created_at), d.body"                            \
    " FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id"

static const resource_field_t delivery_fields_out[] = {
    {"id", api_col_string},
    {"endpoint_id", api_col_string},
    {"event_id", api_col_string},
    {"event_type", api_col_string},
    {"status", api_col_string},
    {"attempts", api_col_int},
    {"first_attempt_at", api_col_time},
    {"last_attempt_at", api_col_time},
    {"next_attempt_at", api_col_time},
    {"last_status_code", api_col_int},
    {"last_error", api_col_string},
    {"delivered_at", api_col_time},
    {"created_at", api_col_time},
    {"payload", api_col_json},
};

/* By (delivery, account). */
static const pg_stmt_t delivery_get_stmt = {
    "webhook_delivery_get", DELIVERY_COLUMNS " WHERE d.id = $1::uuid AND e.account_id = $2::uuid",
    2};

static const pg_stmt_t delivery_list_stmt = {
    "webhook_delivery_list",
    DELIVERY_COLUMNS " WHERE d.endpoint_id = $1::uuid AND e.account_id = $2::uuid"
                     " AND ($3::webhook_delivery_status IS NULL OR d.status = $3)"
                     " AND ($4::uuid IS NULL OR d.id > $4::uuid) ORDER BY d.id LIMIT $5::int",
    5};

/* A replay starts the delivery over: a new 24 h of retries from its next
 * try, due now. */
#define REPLAY_SET                                                                                 \
    "UPDATE webhook_delivery d SET status = 'pending', attempts = 0, first_attempt_at = NULL,"     \
    " next_attempt_at = now(), last_error = NULL FROM webhook_endpoint e"                          \
    " WHERE e.id = d.endpoint_id AND d.status = 'dead' AND d.endpoint_id = $1::uuid"               \
    " AND e.account_id = $2::uuid"

static const pg_stmt_t delivery_replay_stmt = {"webhook_delivery_replay",
                                               REPLAY_SET " AND d.id = $3::uuid RETURNING d.id", 3};

static const pg_stmt_t delivery_replay_all_stmt = {"webhook_delivery_replay_all", REPLAY_SET, 2};

static const resource_t delivery_resource = {
    .not_found = "webhook delivery not found",
    .get = &delivery_get_stmt,
    RESOURCE_FIELDS(delivery_fields_out),
};

static const char *const endpoint_fields[] = {"url", "events", "description", "enabled", NULL};

/* An endpoint's fields as they will be written; strings borrow from the
 * body or the current row. */
typedef struct endpoint_input {
    const char *url;
    char *events; /* a PostgreSQL array literal, owned */
    const char *description;
    bool description_set;
    const char *enabled; /* "true", "false", or NULL when not given */
} endpoint_input_t;

static void problem_add(json_t *problems, const char *field, const char *message)
{
    json_t *p = json_object();
    json_object_set_new(p, "field", json_string(field));
    json_object_set_new(p, "message", json_string(message));
    json_array_append_new(problems, p);
}

/* The readers of endpoint_input_read: member v of the body over in, or a
 * problem in problems. */
typedef void (*endpoint_member_read_fn)(const json_t *v, endpoint_input_t *in, json_t *problems);

static void endpoint_url_read(const json_t *v, endpoint_input_t *in, json_t *problems)
{
    const char *url = json_string_value(v);
    size_t len = url ? strlen(url) : 0;
    if (!url || strncmp(url, "https://", 8) != 0 || len <= 8 || len > WEBHOOK_URL_MAX ||
        strpbrk(url, " \t\r\n"))
        problem_add(problems, "url",
                    "url must be an https:// URL of at most 2048 characters, without spaces");
    else
        in->url = url;
}

static void endpoint_events_read(const json_t *v, endpoint_input_t *in, json_t *problems)
{
    unsigned filter = 0;
    bool ok = json_is_array(v) && json_array_size(v) > 0;
    size_t i;
    json_t *name;
    json_array_foreach(v, i, name)
    {
        char err[160];
        if (webhook_filter_add(&filter, json_string_value(name), err, sizeof(err)) != OD_OK) {
            char field[32];
            snprintf(field, sizeof(field), "events[%zu]", i);
            problem_add(problems, field, err);
            ok = false;
        }
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        problem_add(problems, "events",
                    "events must be a non-empty array of lead.finished, call.ended, "
                    "campaign.status_changed, import.finished");
    if (!ok)
        return;
    /* The set, in the filter's order, without repeats. */
    char buf[128] = "{";
    for (unsigned bit = 1; bit <= WEBHOOK_EVENT_ALL; bit <<= 1)
        if (filter & bit)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[1] ? "," : "",
                     webhook_event_name((webhook_event_t)bit));
    strcat(buf, "}");
    free(in->events);
    in->events = xstrdup(buf);
}

static void endpoint_description_read(const json_t *v, endpoint_input_t *in, json_t *problems)
{
    const char *d = json_string_value(v);
    in->description_set = true;
    if (json_is_null(v))
        in->description = NULL;
    else if (!d || strlen(d) > API_TEXT_MAX)
        problem_add(problems, "description",
                    "description must be a string of at most 200 bytes, or null");
    else
        in->description = d;
}

static void endpoint_enabled_read(const json_t *v, endpoint_input_t *in, json_t *problems)
{
    if (!json_is_boolean(v))
        problem_add(problems, "enabled", "enabled must be true or false");
    else
        in->enabled = json_is_true(v) ? "true" : "false";
}

/* Member name of body, when present, over in with read. */
static void endpoint_member_read(const json_t *body, const char *name, endpoint_member_read_fn read,
                                 endpoint_input_t *in, json_t *problems)
{
    const json_t *v = json_object_get(body, name);
    if (v)
        read(v, in, problems);
}

/* Reads url, events, description and enabled of body over in, collecting
 * every problem in problems (the API's {"field", "message"} items), in
 * this order. */
static void endpoint_input_read(const json_t *body, endpoint_input_t *in, json_t *problems)
{
    endpoint_member_read(body, "url", endpoint_url_read, in, problems);
    endpoint_member_read(body, "events", endpoint_events_read, in, problems);
    endpoint_member_read(body, "description", endpoint_description_read, in, problems);
    endpoint_member_read(body, "enabled", endpoint_enabled_read, in, problems);
}

/* Answers 400 with every problem ({"error": {"code": "invalid", "field"
 * and "message" of the first, "problems": [...]}}) and returns false, or
 * returns true when there is none. Takes problems. */
static bool problems_reply(api_ctx_t *ctx, json_t *problems)
{
    if (json_array_size(problems) == 0) {
        json_decref(problems);
        return true;
    }
    json_t *first = json_array_get(problems, 0);
    char field[64], message[256];
    snprintf(field, sizeof(field), "%s", json_string_value(json_object_get(first, "field")));
    snprintf(message, sizeof(message), "%s", json_string_value(json_object_get(first, "message")));
    json_t *extra = json_object();
    json_object_set_new(extra, "problems", problems);
    api_reply_error_with(ctx, 400, "invalid", field, message, extra);
    return false;
}

/* A new secret: "whsec_" + 48 hex digits. */
static void secret_new(char out[WEBHOOK_SECRET_LEN + 1])
{
    memcpy(out, WEBHOOK_SECRET_PREFIX, sizeof(WEBHOOK_SECRET_PREFIX) - 1);
    auth_random_hex(out + sizeof(WEBHOOK_SECRET_PREFIX) - 1, WEBHOOK_SECRET_BYTES);
}

/* The endpoint row by (id, account) with "secret" added: the answer of
 * create and rotate, the only ones that show it. */
static void endpoint_with_secret_reply(api_ctx_t *ctx, const char *id, const char *secret,
                                       int status)
{
    const char *key[] = {id, ctx->account_id};
    PGresult *res = resource_row_fetch(ctx, endpoint_resource.not_found, &endpoint_get_stmt, key);
    if (!res)
        return;
    json_t *out = resource_row_json(&endpoint_resource, res, 0, api_now_us(ctx));
    PQclear(res);
    json_object_set_new(out, "secret", json_string(secret));
    api_reply_json(ctx, status, out);
}

void webhooks_create(api_ctx_t *ctx)
{
    json_t *body = jsonio_body_fields(ctx, endpoint_fields);
    if (!body)
        return;
    endpoint_input_t in = {.enabled = "true"};
    json_t *problems = json_array();
    endpoint_input_read(body, &in, problems);
    if (!json_object_get(body, "url"))
        problem_add(problems, "url", "url is required");
    if (!json_object_get(body, "events"))
        problem_add(problems, "events", "events is required");
    if (!problems_reply(ctx, problems))
        goto out;
    char secret[WEBHOOK_SECRET_LEN + 1];
    secret_new(secret);
    const char *params[] = {ctx->account_id, in.url, in.events, in.description, in.enabled, secret};
    PGresult *res = resource_query(ctx, &endpoint_insert_stmt, params);
    if (!res)
        goto out;
    char id[UUID_STR_LEN];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    log_info("webhook_endpoint_created", "account %s: webhook endpoint %s", ctx->account_id, id);
    endpoint_with_secret_reply(ctx, id, secret, 201);
out:
    free(in.events);
}

void webhooks_list(api_ctx_t *ctx)
{
    resource_account_page_reply(ctx, &endpoint_resource, &endpoint_list_stmt);
}

void webhooks_get(api_ctx_t *ctx)
{
    resource_id_reply(ctx, &endpoint_resource);
}

/* webhooks_update's step under the lock: the fields the body gives. */
static int endpoint_update_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *row,
                                 char *err, size_t errlen)
{
    (void)row;
    endpoint_input_t in = {0};
    json_t *problems = json_array();
    endpoint_input_read(ctx->body, &in, problems);
    int rc = OD_OK;
    if (problems_reply(ctx, problems)) {
        const char *params[] = {ch->key[0],
                                ctx->account_id,
                                in.url,
                                in.events,
                                in.description,
                                in.enabled,
                                in.description_set ? "true" : "false"};
        rc = pg_stmt_exec(ctx->db, &endpoint_update_stmt, params, NULL, err, errlen);
    }
    free(in.events);
    return rc;
}

void webhooks_update(api_ctx_t *ctx)
{
    resource_id_patch_run(ctx, &endpoint_resource, endpoint_fields, endpoint_update_apply);
}

void webhooks_delete(api_ctx_t *ctx)
{
    const char *params[] = {ctx->params[0], ctx->account_id};
    PGresult *res = resource_query(ctx, &endpoint_delete_stmt, params);
    if (!res)
        return;
    bool gone = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!gone) {
        api_reply_not_found(ctx, "webhook endpoint");
        return;
    }
    api_reply_empty(ctx);
}

void webhooks_secret_rotate(api_ctx_t *ctx)
{
    char secret[WEBHOOK_SECRET_LEN + 1];
    secret_new(secret);
    const char *params[] = {ctx->params[0], ctx->account_id, secret};
    PGresult *res =
        resource_row_fetch(ctx, endpoint_resource.not_found, &endpoint_secret_stmt, params);
    if (!res)
        return;
    PQclear(res);
    log_info("webhook_secret_rotated", "account %s: webhook endpoint %s secret rotated",
             ctx->account_id, ctx->params[0]);
    endpoint_with_secret_reply(ctx, ctx->params[0], secret, 200);
}

/* 404 unless the path's endpoint is the account's; true when it is. */
static bool endpoint_exists(api_ctx_t *ctx)
{
    const char *key[] = {ctx->params[0], ctx->account_id};
    PGresult *res = resource_row_fetch(ctx, endpoint_resource.not_found, &endpoint_get_stmt, key);
    PQclear(res);
    return res != NULL;
}

void webhooks_deliveries(api_ctx_t *ctx)
{
    int limit;
    const char *cursor;
    if (!api_query_page(ctx, &limit, &cursor))
        return;
    const char *status = http_request_query(ctx->req, "status");
    if (status && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0 &&
        strcmp(status, "dead") != 0) {
        api_reply_error(ctx, 400, "invalid", "status", "status must be pending, delivered or dead");
        return;
    }
    if (!endpoint_exists(ctx))
        return;
    const char *params[] = {ctx->params[0], ctx->account_id, status, cursor};
    resource_page_reply(ctx, &delivery_resource, &delivery_list_stmt, params, limit);
}

void webhooks_delivery_replay(api_ctx_t *ctx)
{
    if (!endpoint_exists(ctx))
        return;
    const char *params[] = {ctx->params[0], ctx->account_id, ctx->params[1]};
    PGresult *res = resource_query(ctx, &delivery_replay_stmt, params);
    if (!res)
        return;
    bool replayed = PQntuples(res) == 1;
    PQclear(res);
    const char *key[] = {ctx->params[1], ctx->account_id};
    if (!replayed) {
        /* Missing, or not dead: say which. */
        PGresult *row =
            resource_row_fetch(ctx, delivery_resource.not_found, &delivery_get_stmt, key);
        if (row)
            api_reply_error(ctx, 409, "invalid_state", NULL,
                            "only a dead delivery can be replayed; this one is %s",
                            PQgetvalue(row, 0, 4));
        PQclear(row);
        return;
    }
    resource_row_reply(ctx, &delivery_resource, key, 200);
}

void webhooks_deliveries_replay(api_ctx_t *ctx)
{
    if (!endpoint_exists(ctx))
        return;
    const char *params[] = {ctx->params[0], ctx->account_id};
    PGresult *res = resource_query(ctx, &delivery_replay_all_stmt, params);
    if (!res)
        return;
    long long n = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    log_info("webhook_replayed", "account %s: endpoint %s: %lld dead deliveries replayed",
             ctx->account_id, ctx->params[0], n);
    json_t *out = json_object();
    json_object_set_new(out, "replayed", json_integer(n));
    api_reply_json(ctx, 200, out);
}

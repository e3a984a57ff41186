/*
 * api.h — what every part of outdial-api shares: the service (api_t), the
 * context of one request (api_ctx_t) and the answers a handler gives.
 *
 * A request goes: lib/http -> router.c (route match, path parameters, a
 * pooled Postgres connection, authentication, the JSON body) -> one handler
 * of a resource file (accounts.c, assistants.c, campaigns.c, leads.c,
 * imports.c, calls.c, dnc.c), built from the shapes of resource.h (a row,
 * a page, a locked change) -> an answer set with api_reply_*.
 *
 * Every handler runs on one of lib/http's request threads with its own
 * connection from the pool, so handlers share nothing but api_t, whose
 * members are either set before the server starts and read-only after, or
 * guarded (producer_mu, redis pointer).
 */
#ifndef OUTDIAL_API_API_H
#define OUTDIAL_API_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "http.h"
#include "kafka.h"
#include "metrics.h"
#include "pg.h"
#include "phone.h"
#include "pool.h"
#include "redis.h"
#include "topics.h"
#include "uuid.h"

/* Default HTTP port (OUTDIAL_API_HTTP_PORT). */
#define API_HTTP_PORT_DEFAULT 8080
/* Largest CSV upload (OUTDIAL_API_IMPORT_MAX_BYTES): 200 MiB holds a few
 * million leads; bigger lists are split or loaded with outdial-importer. */
#define API_IMPORT_MAX_BYTES_DEFAULT (200LL * 1024 * 1024)
/* Leads (or DNC numbers) in one JSON request: more belongs in a CSV import,
 * whose progress is visible; this keeps one request's transaction short. */
#define API_BATCH_MAX 1000
/* Page sizes of the list routes (?limit=). */
#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX     1000
/* Live streams open at once (OUTDIAL_API_LIVE_MAX): each holds a
 * connection and runs the statistics' queries every LIVE_TICK_MS, so a
 * tenth of the default 512 connections, far more than the people who
 * watch campaigns at once. */
#define API_LIVE_MAX_DEFAULT 50
/* Longest text field we store (names, ids of the provider). */
#define API_TEXT_MAX 200

typedef struct api {
    const char *dsn;
    od_clock_t clk;
    const char *redis_prefix;
    char topic_import_requests[TOPIC_NAME_MAX + 1];
    const char *admin_token; /* NULL: the admin routes answer 403 */
    int64_t import_max_bytes;
    size_t body_max; /* largest JSON body (lib/http's body_max) */
    api_pool_t *pool;
    /* Set once (at start, or later by the sync thread when Redis was down
     * at start) and never freed before the server stops. */
    _Atomic(redis_t *) redis;
    pthread_mutex_t producer_mu; /* kafka_producer_t is used by one thread at a time */
    kafka_producer_t *producer;
    atomic_bool pg_ok;
    atomic_bool redis_ok;
    metrics_registry_t *metrics;
    metrics_family_t *leads_added; /* {result} */
    metrics_counter_t *import_uploads;
    metrics_counter_t *import_bytes;
    metrics_counter_t *dnc_syncs;
    /* Live streams (live.c): open now, and the most allowed at once
     * (OUTDIAL_API_LIVE_MAX). */
    atomic_int live_streams;
    int live_max;
    /* The dashboard's files (dashboard.c); NULL: none to serve. */
    struct dashboard *dashboard;
} api_t;

#define API_PARAMS_MAX 2
#define API_PARAM_LEN  64

typedef struct api_route api_route_t;

/* One request, from the router to the handler. */
typedef struct api_ctx {
    api_t *api;
    http_request_t *req;
    http_response_t *resp;
    const api_route_t *route;
    /* Path parameters in the order of the route's pattern. */
    char params[API_PARAMS_MAX][API_PARAM_LEN];
    /* The authenticated account (empty for admin routes). */
    char account_id[UUID_STR_LEN];
    char region[3]; /* the account's default region */
    pg_conn_t *db;  /* from the pool for the whole request */
    json_t *body;   /* the parsed JSON body, NULL when there was none */
    bool replied;
} api_ctx_t;

/* ---- answers ---------------------------------------------------------- */

/* Answers with obj as JSON (compact), taking the reference. */
void api_reply_json(api_ctx_t *ctx, int status, json_t *obj);
/* Answers 204 without a body. */
void api_reply_empty(api_ctx_t *ctx);
/* {"error":{"code","message","field"}}; field may be NULL. */
void api_reply_error(api_ctx_t *ctx, int status, const char *code, const char *field,
                     const char *fmt, ...) OD_PRINTF(5, 6);
/* The same with extra members in the error object (e.g. "problems"),
 * whose reference is taken. */
void api_reply_error_with(api_ctx_t *ctx, int status, const char *code, const char *field,
                          const char *message, json_t *extra);
/* 404 "<what> not found". */
void api_reply_not_found(api_ctx_t *ctx, const char *what);
/* A failed database or Redis operation: 503 unavailable when the
 * dependency is away or busy, 500 internal otherwise (logged, the message
 * is not shown to the client). */
void api_reply_failure(api_ctx_t *ctx, int rc, const char *errbuf);

/* ---- request helpers --------------------------------------------------- */

/* Campaign time now. */
int64_t api_now_us(const api_ctx_t *ctx);

/* ?limit= (1..API_PAGE_MAX, default API_PAGE_DEFAULT). False (answered
 * 400) when malformed. */
bool api_query_limit(api_ctx_t *ctx, int *limit);
/* ?cursor= when it must be a UUID (an id of the list): NULL when absent;
 * false (answered 400) when malformed. */
bool api_query_uuid_cursor(api_ctx_t *ctx, const char **cursor);
/* Both: the page of a list ordered by id. */
bool api_query_page(api_ctx_t *ctx, int *limit, const char **cursor);

/* ---- phone numbers from the body ---------------------------------------- */

/* raw, the body's member field, as E.164 in e164 (the account's region
 * for a number without a country code); false once answered 400 "<field>
 * '<raw>': <why it is not a number>". */
bool api_phone_parse(api_ctx_t *ctx, const char *raw, const char *field,
                     char e164[PHONE_E164_MAX + 1]);

/* ---- JSON from result rows --------------------------------------------- */

/* Column col of row as a JSON value of the given kind; SQL NULL -> null. */
json_t *api_col_string(const PGresult *res, int row, int col);
json_t *api_col_int(const PGresult *res, int row, int col);
json_t *api_col_bool(const PGresult *res, int row, int col);
/* A jsonb column, parsed. */
json_t *api_col_json(const PGresult *res, int row, int col);
/* A time column selected as od_us(...) (microseconds): RFC 3339 text,
 * null for SQL NULL and for the infinities. */
json_t *api_col_time(const PGresult *res, int row, int col);
/* A minute of day as "HH:MM", null for SQL NULL. */
json_t *api_col_hhmm(const PGresult *res, int row, int col);
/* The same for a window's end: midnight is "24:00" (lib/rules/window.h). */
json_t *api_col_hhmm_end(const PGresult *res, int row, int col);
/* A set of days (lib/window's bits) as an array of day names, Monday
 * first. */
json_t *api_col_days(const PGresult *res, int row, int col);

/* The page envelope {"data": items, "next_cursor": next or null},
 * taking items. next (copied) is the cursor after the page's last item,
 * given only when a further item exists; NULL on the last page. */
json_t *api_page(json_t *items, const char *next);

/* Formats an int64 as text into buf (>= 24 bytes); returns buf. */
const char *api_i64(char *buf, size_t len, int64_t v);

#endif

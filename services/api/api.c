#include "api.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "window.h"
#include "xmalloc.h"

/* ---- answers ---------------------------------------------------------- */

void api_reply_json(api_ctx_t *ctx, int status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(obj);
    if (!text) {
        http_response_error(ctx->resp, 500, "internal", "the answer could not be encoded", NULL);
        ctx->replied = true;
        return;
    }
    /* jansson allocates with malloc; lib/http frees with free(). */
    http_response_take(ctx->resp, status, "application/json", text, strlen(text));
    ctx->replied = true;
}

void api_reply_empty(api_ctx_t *ctx)
{
    http_response_set(ctx->resp, 204, "application/json", NULL, 0);
    ctx->replied = true;
}

void api_reply_error_with(api_ctx_t *ctx, int status, const char *code, const char *field,
                          const char *message, json_t *extra)
{
    json_t *err = json_object();
    json_object_set_new(err, "code", json_string(code));
    json_object_set_new(err, "message", json_string(message ? message : ""));
    if (field)
        json_object_set_new(err, "field", json_string(field));
    if (extra) {
        json_object_update(err, extra);
        json_decref(extra);
    }
    json_t *obj = json_object();
    json_object_set_new(obj, "error", err);
    api_reply_json(ctx, status, obj);
    if (status == 401)
        http_response_header_add(ctx->resp, "WWW-Authenticate", "Bearer");
}

void api_reply_error(api_ctx_t *ctx, int status, const char *code, const char *field,
                     const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* json_string refuses invalid UTF-8 (a message quoting client input cut
     * in the middle of a character): fall back to a plain message. */
    json_t *probe = json_string(msg);
    if (!probe)
        snprintf(msg, sizeof(msg), "the request was refused (%s)", code);
    json_decref(probe);
    api_reply_error_with(ctx, status, code, field, msg, NULL);
}

void api_reply_not_found(api_ctx_t *ctx, const char *what)
{
    api_reply_error(ctx, 404, "not_found", NULL, "%s not found", what);
}

bool api_phone_parse(api_ctx_t *ctx, const char *raw, const char *field,
                     char e164[PHONE_E164_MAX + 1])
{
    phone_reason_t why = phone_parse(raw, strlen(raw), ctx->region, e164);
    if (why == PHONE_OK)
        return true;
    api_reply_error(ctx, 400, "invalid", field, "%s '%.32s': %s", field, raw,
                    phone_reason_message(why));
    return false;
}

void api_reply_failure(api_ctx_t *ctx, int rc, const char *errbuf)
{
    if (rc == OD_ERR_UNAVAILABLE || rc == OD_ERR_TIMEOUT) {
        atomic_store(&ctx->api->pg_ok, !ctx->db || !pg_conn_lost(ctx->db));
        log_warn("unavailable", "%s %s: %s", http_request_method(ctx->req),
                 http_request_path(ctx->req), errbuf ? errbuf : "");
        api_reply_error(ctx, 503, "unavailable", NULL,
                        "a service the API depends on is unavailable; try again shortly");
        http_response_header_add(ctx->resp, "Retry-After", "1");
        return;
    }
    if (rc == OD_ERR_INVALID) {
        /* The database refused a value (a CHECK, a text it cannot store):
         * the request's fault. pg.h keeps row values out of the message. */
        log_info("refused", "%s %s: %s", http_request_method(ctx->req), http_request_path(ctx->req),
                 errbuf ? errbuf : "");
        api_reply_error(ctx, 400, "invalid", NULL, "a value was refused: %s", errbuf ? errbuf : "");
        return;
    }
    if (rc == OD_ERR_NOT_FOUND) {
        /* A foreign key: something the request refers to went away. */
        api_reply_error(ctx, 404, "not_found", NULL,
                        "something the request refers to no longer exists");
        return;
    }
    if (rc == OD_ERR_CONFLICT) {
        /* Serialization failure or deadlock with a concurrent writer. */
        log_warn("conflict", "%s %s: %s", http_request_method(ctx->req),
                 http_request_path(ctx->req), errbuf ? errbuf : "");
        api_reply_error(ctx, 409, "conflict", NULL,
                        "a concurrent change got in the way; try again");
        return;
    }
    log_error("internal", "%s %s: %s (%s)", http_request_method(ctx->req),
              http_request_path(ctx->req), errbuf ? errbuf : "", od_err_name(rc));
    api_reply_error(ctx, 500, "internal", NULL, "internal error");
}

/* ---- request helpers --------------------------------------------------- */

int64_t api_now_us(const api_ctx_t *ctx)
{
    return od_clock_now_us(&ctx->api->clk);
}

bool api_query_limit(api_ctx_t *ctx, int *limit)
{
    *limit = API_PAGE_DEFAULT;
    const char *v = http_request_query(ctx->req, "limit");
    if (!v)
        return true;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 1 || n > API_PAGE_MAX) {
        api_reply_error(ctx, 400, "invalid", "limit", "limit must be between 1 and %d",
                        API_PAGE_MAX);
        return false;
    }
    *limit = (int)n;
    return true;
}

bool api_query_uuid_cursor(api_ctx_t *ctx, const char **cursor)
{
    *cursor = http_request_query(ctx->req, "cursor");
    if (*cursor && !**cursor)
        *cursor = NULL;
    if (*cursor && !uuid_str_valid(*cursor)) {
        api_reply_error(ctx, 400, "invalid", "cursor",
                        "cursor must be the next_cursor of a previous page");
        return false;
    }
    return true;
}

bool api_query_page(api_ctx_t *ctx, int *limit, const char **cursor)
{
    return api_query_limit(ctx, limit) && api_query_uuid_cursor(ctx, cursor);
}

/* ---- JSON from result rows --------------------------------------------- */

json_t *api_col_string(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    json_t *s = json_string(PQgetvalue(res, row, col));
    return s ? s : json_null();
}

json_t *api_col_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    return json_integer((json_int_t)strtoll(PQgetvalue(res, row, col), NULL, 10));
}

json_t *api_col_bool(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    return json_boolean(PQgetvalue(res, row, col)[0] == 't');
}

json_t *api_col_json(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    json_error_t jerr;
    json_t *v = json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, &jerr);
    return v ? v : json_null();
}

json_t *api_col_time(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    int64_t us = strtoll(PQgetvalue(res, row, col), NULL, 10);
    /* od_us() maps the infinities to the int64 extremes. */
    if (us <= -INT64_MAX || us >= INT64_MAX)
        return json_null();
    char buf[40];
    od_time_format_rfc3339(us, buf, sizeof(buf));
    return json_string(buf);
}

/* A minute of the day as "HH:MM" in format's way (a window's start or
 * its end), or null. */
static json_t *col_minute(const PGresult *res, int row, int col,
                          void (*format)(int minute, char *buf, size_t len))
{
    if (PQgetisnull(res, row, col))
        return json_null();
    char buf[8];
    format(atoi(PQgetvalue(res, row, col)), buf, sizeof(buf));
    return json_string(buf);
}

json_t *api_col_hhmm(const PGresult *res, int row, int col)
{
    return col_minute(res, row, col, window_time_format);
}

json_t *api_col_hhmm_end(const PGresult *res, int row, int col)
{
    return col_minute(res, row, col, window_time_format_end);
}

json_t *api_col_days(const PGresult *res, int row, int col)
{
    json_t *days = json_array();
    unsigned bits = (unsigned)atoi(PQgetvalue(res, row, col));
    for (unsigned b = 0; b < 7; b++)
        if (bits & (1u << b))
            json_array_append_new(days, json_string(window_day_name(1u << b)));
    return days;
}

json_t *api_page(json_t *items, const char *next)
{
    json_t *page = json_object();
    json_object_set_new(page, "data", items);
    json_object_set_new(page, "next_cursor", next ? json_string(next) : json_null());
    return page;
}

const char *api_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
    return buf;
}

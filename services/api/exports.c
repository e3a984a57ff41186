/*
 * exports.c — a campaign's leads or calls as a CSV file, streamed:
 *   GET /v1/campaigns/{campaign_id}/leads.csv
 *   GET /v1/campaigns/{campaign_id}/calls.csv
 *
 * Postgres writes the CSV itself (COPY (SELECT ...) TO STDOUT, FORMAT csv:
 * RFC 4180 quoting of commas, quotes and line breaks), one row per
 * PQgetCopyData, and lib/http sends it on as the client takes it
 * (http_response_stream): the API holds one row and one write's piece at a
 * time, whatever the campaign's size. Records end in CRLF (RFC 4180); a
 * line break inside a quoted field is kept as it was stored.
 *
 * Post-call variables are columns "post_call.<name>", one per name any
 * call of the campaign reported, in name order: a first query collects the
 * distinct names (DISTINCT over jsonb_object_keys, which Postgres does
 * without sending the rows), then the COPY selects each one. Both run in
 * one REPEATABLE READ transaction, so the columns are those of the rows.
 * A lead's columns are its last call's variables (the highest attempt
 * that reported any).
 *
 * The request keeps its pooled connection until the body ends; a client
 * that goes away mid-body leaves the COPY running, and the pool closes
 * that connection instead of reusing it (pool.h).
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "xmalloc.h"

/* Distinct post-call variable names exported as columns. 200: far above
 * any assistant's schema (a handful of fields); a campaign over it holds
 * free-form keys, and a CSV of thousands of sparse columns helps no one. */
#define EXPORT_VARIABLES_MAX 200

/* Campaign time as RFC 3339 UTC text, as the JSON routes show it. */
#define EXPORT_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

typedef enum export_kind { EXPORT_LEADS, EXPORT_CALLS } export_kind_t;

/* The fixed columns of each export, then its FROM clause (%s: the
 * campaign id as a literal). The variables' expression prefix is "pv.v" for
 * leads (their last call's), "c.post_call_variables" for calls. */
static const char *const leads_select =
    "SELECT l.id, l.e164, l.raw_phone, l.invalid_reason, l.name, l.external_id,"
    " l.parent_lead_id, l.contact_order, l.status, l.outcome, l.attempts,"
    " l.last_call_status AS last_call_result, l.last_answered_by,"
    " " EXPORT_TS("l.last_call_at") " AS last_call_at,"
                                    " l.goal_result::text AS goal_reached";
static const char *const leads_from =
    " FROM lead l LEFT JOIN LATERAL (SELECT c.post_call_variables AS v FROM call c"
    " WHERE c.lead_id = l.id AND c.post_call_variables IS NOT NULL"
    " ORDER BY c.attempt_number DESC, c.created_at DESC LIMIT 1) pv ON true"
    " WHERE l.campaign_id = %s ORDER BY l.id";
static const char *const calls_select =
    "SELECT c.attempt_id AS call_id, c.lead_id, c.attempt_number, c.e164, c.caller_id, c.status,"
    " c.answered_by, c.failure_class, c.provider_call_id,"
    " " EXPORT_TS(
        "c.issued_at") " AS issued_at,"
                       " " EXPORT_TS(
                           "c.started_at") " AS started_at,"
                                           " " EXPORT_TS(
                                               "c.ended_at") " AS ended_at,"
                                                             " c.duration_s, c.cost_minor, "
                                                             "c.ended_reason";
static const char *const calls_from =
    " FROM call c WHERE c.campaign_id = %s ORDER BY c.created_at, c.attempt_id";

static const char *const variables_sql =
    "SELECT DISTINCT k FROM call c CROSS JOIN LATERAL jsonb_object_keys(c.post_call_variables) k"
    " WHERE c.campaign_id = $1 ORDER BY k LIMIT $2";

/* The body being streamed: the request's connection in COPY OUT, and the
 * row taken from it that is not yet all sent. */
typedef struct export_stream {
    api_pool_t *pool;
    pg_conn_t *db; /* owned: given back to the pool by export_stream_free */
    char *row;     /* PQgetCopyData's row (PQfreemem), without its '\n' */
    size_t row_len;
    size_t row_off;
    int eol; /* bytes of "\r\n" still to send after row */
    bool done;
} export_stream_t;

static void export_stream_free(void *arg)
{
    export_stream_t *st = arg;
    if (!st)
        return;
    if (st->row)
        PQfreemem(st->row);
    api_pool_release(st->pool, st->db); /* closed, not reused, if the COPY is still on */
    free(st);
}

/* http_stream_fn: as many whole or partial rows as fit in buf; blocks on
 * Postgres for the next row rather than suspending (a COPY's rows come as
 * fast as the client takes them). */
static ssize_t export_stream_next(void *arg, char *buf, size_t max, int *retry_ms)
{
    (void)retry_ms;
    export_stream_t *st = arg;
    PGconn *conn = pg_conn_get(st->db);
    size_t n = 0;
    while (n < max) {
        if (st->row && st->row_off < st->row_len) {
            size_t take = st->row_len - st->row_off;
            if (take > max - n)
                take = max - n;
            memcpy(buf + n, st->row + st->row_off, take);
            st->row_off += take;
            n += take;
            continue;
        }
        if (st->eol > 0) {
            buf[n++] = "\r\n"[2 - st->eol];
            st->eol--;
            continue;
        }
        if (st->row) {
            PQfreemem(st->row);
            st->row = NULL;
        }
        if (st->done)
            break;
        char *row = NULL;
        int len = PQgetCopyData(conn, &row, 0);
        if (len > 0) {
            st->row = row;
            st->row_len = (size_t)len;
            st->row_off = 0;
            if (row[len - 1] == '\n') {
                st->row_len--;
                st->eol = 2;
            }
            continue;
        }
        char err[512];
        int rc = OD_ERR_INTERNAL;
        if (len == -1) {
            rc = pg_result_check(st->db, PQgetResult(conn), "export", NULL, err, sizeof(err));
            PGresult *rest;
            while ((rest = PQgetResult(conn)) != NULL)
                PQclear(rest);
        } else {
            snprintf(err, sizeof(err), "export: %s", PQerrorMessage(conn));
        }
        if (rc) {
            log_error("export_failed", "%s", err);
            return HTTP_STREAM_FAILED;
        }
        st->done = true;
    }
    return n > 0 ? (ssize_t)n : HTTP_STREAM_END;
}

/* The COPY statement of kind for campaign_id with a column per variable
 * name; literals and names quoted by libpq. NULL (errbuf set) when libpq
 * refuses a name. Caller frees. */
static char *export_sql(PGconn *conn, export_kind_t kind, const char *campaign_id,
                        const PGresult *names, char *errbuf, size_t errlen)
{
    char *sql = NULL;
    size_t len = 0, cap = 0;
    const char *head = kind == EXPORT_LEADS ? leads_select : calls_select;
    const char *vars = kind == EXPORT_LEADS ? "pv.v" : "c.post_call_variables";
    xbuf_put(&sql, &len, &cap, "COPY (", 6);
    xbuf_put(&sql, &len, &cap, head, strlen(head));
    for (int i = 0; i < PQntuples(names); i++) {
        const char *name = PQgetvalue(names, i, 0);
        char *header = xasprintf("post_call.%s", name);
        char *lit = PQescapeLiteral(conn, name, strlen(name));
        char *ident = PQescapeIdentifier(conn, header, strlen(header));
        free(header);
        if (!lit || !ident) {
            snprintf(errbuf, errlen, "export: %s", PQerrorMessage(conn));
            PQfreemem(lit);
            PQfreemem(ident);
            free(sql);
            return NULL;
        }
        char *col = xasprintf(", %s->>%s AS %s", vars, lit, ident);
        xbuf_put(&sql, &len, &cap, col, strlen(col));
        free(col);
        PQfreemem(lit);
        PQfreemem(ident);
    }
    char *lit = PQescapeLiteral(conn, campaign_id, strlen(campaign_id));
    if (!lit) {
        snprintf(errbuf, errlen, "export: %s", PQerrorMessage(conn));
        free(sql);
        return NULL;
    }
    char *from = xasprintf(kind == EXPORT_LEADS ? leads_from : calls_from, lit);
    PQfreemem(lit);
    xbuf_put(&sql, &len, &cap, from, strlen(from));
    free(from);
    static const char tail[] = ") TO STDOUT (FORMAT csv, HEADER)";
    xbuf_put(&sql, &len, &cap, tail, sizeof(tail)); /* with the NUL */
    return sql;
}

static void export_csv(api_ctx_t *ctx, export_kind_t kind)
{
    const char *campaign_id = ctx->params[0];
    char err[512];
    char *sql = NULL;
    PGresult *names = NULL;
    /* One snapshot for the names and the rows. */
    int rc = pg_tx_begin(ctx->db, err, sizeof(err));
    if (rc == OD_OK)
        rc = pg_exec(ctx->db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL,
                     err, sizeof(err));
    if (rc)
        goto fail;
    if (!campaigns_owned(ctx, campaign_id, false, NULL))
        goto out;
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", EXPORT_VARIABLES_MAX + 1);
    const char *params[] = {campaign_id, limit};
    rc = pg_exec_params(ctx->db, variables_sql, 2, params, &names, err, sizeof(err));
    if (rc)
        goto fail;
    if (PQntuples(names) > EXPORT_VARIABLES_MAX) {
        api_reply_error(ctx, 422, "too_many_variables", NULL,
                        "the campaign's calls report more than %d distinct post-call variable "
                        "names, too many to export as columns",
                        EXPORT_VARIABLES_MAX);
        goto out;
    }
    PGconn *conn = pg_conn_get(ctx->db);
    sql = export_sql(conn, kind, campaign_id, names, err, sizeof(err));
    if (!sql) {
        rc = OD_ERR_INTERNAL;
        goto fail;
    }
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        rc = pg_result_check(ctx->db, r, "export", NULL, err, sizeof(err));
        if (rc == OD_OK) {
            rc = OD_ERR_INTERNAL;
            snprintf(err, sizeof(err), "export: the COPY did not start");
        }
        goto fail;
    }
    PQclear(r);
    export_stream_t *st = xcalloc(1, sizeof(*st));
    st->pool = ctx->api->pool;
    st->db = ctx->db;
    ctx->db = NULL; /* now owned by st, until the body ends */
    http_response_stream(ctx->resp, 200, "text/csv; charset=utf-8", export_stream_next, st,
                         export_stream_free);
    char disposition[128];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"campaign-%s-%s.csv\"",
             campaign_id, kind == EXPORT_LEADS ? "leads" : "calls");
    http_response_header_add(ctx->resp, "Content-Disposition", disposition);
    ctx->replied = true;
    goto out;
fail:
    api_reply_failure(ctx, rc, err);
out:
    PQclear(names);
    free(sql);
}

void exports_leads_csv(api_ctx_t *ctx)
{
    export_csv(ctx, EXPORT_LEADS);
}

void exports_calls_csv(api_ctx_t *ctx)
{
    export_csv(ctx, EXPORT_CALLS);
}

/*
 * resource.h — the shapes every resource file (accounts.c, assistants.c,
 * campaigns.c, calls.c, dnc.c, imports.c, leads.c) shares, written once:
 *
 *   - a query, or its failure answered: resource_query
 *   - a row or a 404:      resource_row_fetch, resource_row_reply
 *   - a created row:       resource_created_reply (INSERT ... RETURNING id)
 *   - a page with a cursor: resource_page_reply (resource_account_page_reply:
 *                          the account's rows, page from the query)
 *   - a transaction:       resource_tx_run (BEGIN, the work, COMMIT)
 *   - a locked change:     resource_change_run (BEGIN, the row FOR UPDATE
 *                          or 404, the resource's apply step, COMMIT, the
 *                          answer); resource_patch_run for a PATCH
 *
 * The *_id_* forms key the row by (the path's id, ctx's account), the key
 * of most resources (resource_id_reply, resource_id_change_run,
 * resource_id_patch_run).
 *
 * so that a resource file holds only its columns, its statements, its JSON
 * and the checks particular to it. Every helper answers on ctx what goes
 * wrong (api_reply_failure for a failed database step, 404 for a missing
 * row); the handler then just returns.
 */
#ifndef OUTDIAL_API_RESOURCE_H
#define OUTDIAL_API_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "pg.h"

/* A member of a row's JSON: its name, and how its column becomes a value
 * (api.h's api_col_*). The column is the member's position in its table. */
typedef struct resource_field {
    const char *name;
    json_t *(*value)(const PGresult *res, int row, int col);
} resource_field_t;

/* A kind of row the API shows. */
typedef struct resource {
    /* The 404 message ("assistant not found"). */
    const char *not_found;
    /* The row as the API shows it: column i is member fields[i]... */
    const resource_field_t *fields;
    size_t n_fields;
    /* ...or, for members computed from several columns, json (not NULL):
     * row `row` of res as a new reference. now_us is the request's
     * campaign time, taken once per answer (a lead's "due"). */
    json_t *(*json)(const PGresult *res, int row, int64_t now_us);
    /* The row by its key (the parameters the caller gives; for
     * resource_created_reply: (id, account)). */
    const pg_stmt_t *get;
    /* The same row FOR UPDATE, by the same key (resource_change_run). */
    const pg_stmt_t *lock;
    /* The next_cursor of a page whose last row is `row`, into buf; NULL:
     * the text of column 0 (the id). */
    void (*cursor)(const PGresult *res, int row, char *buf, size_t len);
} resource_t;

/* The statements of a resource_t's get and lock: static pg_stmt_t
 * <prefix>_get_stmt (named name "_get": the row, select WHERE where, n
 * parameters) and <prefix>_lock_stmt (name "_lock": the same row FOR
 * UPDATE), written once so that the two always read one row by one key. */
#define RESOURCE_STMTS(prefix, name, select, where, n)                                             \
    static const pg_stmt_t prefix##_get_stmt = {name "_get", select " WHERE " where, n};           \
    static const pg_stmt_t prefix##_lock_stmt = {name "_lock",                                     \
                                                 select " WHERE " where " FOR UPDATE", n}

/* The members of a resource_t from a table of resource_field_t. */
#define RESOURCE_FIELDS(table) .fields = (table), .n_fields = sizeof(table) / sizeof((table)[0])

/* Sets on obj the members fields[first..end) from the same columns of
 * row; for json functions that put computed members between plain ones. */
void resource_fields_set(json_t *obj, const resource_field_t *fields, size_t first, size_t end,
                         const PGresult *res, int row);

/* Row `row` of res as rs shows it (a new reference). */
json_t *resource_row_json(const resource_t *rs, const PGresult *res, int row, int64_t now_us);

/* Runs stmt with params: its result (the caller PQclears it), or NULL once
 * the failure is answered (api_reply_failure). */
PGresult *resource_query(api_ctx_t *ctx, const pg_stmt_t *stmt, const char *const *params);

/* Runs stmt with params and returns its result when it has exactly one
 * row; otherwise answers (the failure, or 404 with not_found) and returns
 * NULL. The caller PQclears the result. */
PGresult *resource_row_fetch(api_ctx_t *ctx, const char *not_found, const pg_stmt_t *stmt,
                             const char *const *params);

/* Answers rs's row by key (rs->get) with status, or 404 / the failure. */
void resource_row_reply(api_ctx_t *ctx, const resource_t *rs, const char *const *key, int status);

/* Answers rs's row whose id is the path's first parameter, in ctx's
 * account (rs->get by (id, account)), with 200. */
void resource_id_reply(api_ctx_t *ctx, const resource_t *rs);

/* Runs insert (which returns the new row's id as column 0) and answers the
 * new row, read back by (id, ctx's account), with 201. */
void resource_created_reply(api_ctx_t *ctx, const resource_t *rs, const pg_stmt_t *insert,
                            const char *const *params);

/* Runs list, whose last parameter is the page size: params holds the
 * others (list->nparams - 1, at most 15), limit is appended. Answers the
 * page envelope (api_page) of rs's rows with 200. */
void resource_page_reply(api_ctx_t *ctx, const resource_t *rs, const pg_stmt_t *list,
                         const char *const *params, int limit);

/* The page the query asks for (api_query_page; else 400) of the rows of
 * ctx's account: resource_page_reply of list with parameters (account,
 * cursor, page size). */
void resource_account_page_reply(api_ctx_t *ctx, const resource_t *rs, const pg_stmt_t *list);

/* The work of a transaction, between BEGIN and COMMIT: answers a refusal
 * itself (400, 404, 409: ctx->replied; then what it returns does not
 * matter), otherwise returns OD_OK or the failed operation's code with its
 * message in err. */
typedef int (*resource_tx_fn)(api_ctx_t *ctx, void *arg, char *err, size_t errlen);

/* BEGIN, fn, COMMIT (ctx has not answered yet). True once committed (the caller answers). False
 * once answered: fn's refusal, or the failure of a step (api_reply_failure); the transaction is
 * rolled back. */
bool resource_tx_run(api_ctx_t *ctx, resource_tx_fn fn, void *arg);

typedef struct resource_change resource_change_t;

/* A locked change's own step: reads the request over the locked row
 * (borrowed, valid until it returns), checks it and writes, in the
 * transaction. Answers and returns as a resource_tx_fn. */
typedef int (*resource_apply_fn)(api_ctx_t *ctx, resource_change_t *ch, const PGresult *row,
                                 char *err, size_t errlen);

/* A change of one row under its lock (PATCH and the actions on a row). */
struct resource_change {
    const resource_t *rs;   /* not_found, and the row answered after the commit */
    const pg_stmt_t *lock;  /* the row FOR UPDATE, by key */
    const char *const *key; /* parameters of lock and of rs->get */
    resource_apply_fn apply;
    void *arg; /* apply's own */
    /* The answer after the commit, which apply may set: reply_status 0
     * (the default) answers the row by key with 200; 204 answers no body;
     * any other status answers reply (taken; freed if the commit fails). */
    int reply_status;
    json_t *reply;
};

/* BEGIN, lock the row (404: rs->not_found), ch->apply, COMMIT, then the
 * answer ch asks for. */
void resource_change_run(api_ctx_t *ctx, resource_change_t *ch);

/* resource_change_run of rs's row whose id is the path's first parameter,
 * in ctx's account (the key of resource_id_reply), with apply and its arg
 * and the default answer (apply may set another). */
void resource_id_change_run(api_ctx_t *ctx, const resource_t *rs, resource_apply_fn apply,
                            void *arg);

/* A PATCH of rs's row by key: the body must be a JSON object of allowed
 * fields only (NULL-terminated; else 400), then resource_change_run with
 * apply, which reads the body (ctx->body) over the locked row. */
void resource_patch_run(api_ctx_t *ctx, const resource_t *rs, const char *const *key,
                        const char *const *allowed, resource_apply_fn apply);

/* resource_patch_run of rs's row whose id is the path's first parameter,
 * in ctx's account (the key of resource_id_reply). */
void resource_id_patch_run(api_ctx_t *ctx, const resource_t *rs, const char *const *allowed,
                           resource_apply_fn apply);

#endif

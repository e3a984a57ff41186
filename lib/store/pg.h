/*
 * pg.h — PostgreSQL connections, statements and transactions over libpq.
 *
 * A pg_conn_t wraps one PGconn and what this module must remember about it:
 * how to reconnect, which named statements are prepared on the current
 * server session, whether the caller has a transaction open, and the
 * SQLSTATE of the last error.
 *
 * Lost connections. A statement that fails because the server went away
 * (connection closed, admin shutdown, crash) returns OD_ERR_UNAVAILABLE and
 * is never re-sent: it may have been committed before the connection broke.
 * Inside a transaction the transaction is lost; the caller's pg_tx_rollback
 * ends it locally. The next statement issued outside a transaction, or the
 * next pg_tx_begin, reconnects first (with the connect retry policy), and
 * statements are prepared again on the new session. So a service loop that
 * treats OD_ERR_UNAVAILABLE as "try this unit of work again later" recovers
 * without further code.
 *
 * Error codes (od_err_t) from SQLSTATE classes:
 *   08xxx, 57P01..57P03, connection gone   OD_ERR_UNAVAILABLE
 *   23505 unique, 40001 serialization,
 *   40P01 deadlock                          OD_ERR_CONFLICT (retry may succeed)
 *   23503 foreign key                       OD_ERR_NOT_FOUND
 *   22xxx data, 23502/23514 not null/check  OD_ERR_INVALID
 *   57014 canceled, 55P03 lock not avail.   OD_ERR_TIMEOUT
 *   anything else                           OD_ERR_INTERNAL
 * The message in errbuf is the server's primary message with the constraint
 * name (when there is one) and the SQLSTATE; never the DETAIL, which can
 * hold row values (phone numbers) that must not end up in logs.
 *
 * A pg_conn_t is used by one thread at a time.
 */
#ifndef OUTDIAL_PG_H
#define OUTDIAL_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "deps.h"
#include "err.h"

/* Connect (and reconnect) retry policy: `attempts` tries in all, sleeping
 * backoff_first_ms after the first failure, doubling up to backoff_max_ms.
 *
 * The defaults ride out a Postgres that is still starting or restarting
 * (services and database start together under compose, k8s or
 * deploy/local; a restart or failover takes a few seconds): 8 attempts
 * sleep 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 5 = 11.3 s between them, plus up
 * to PG_CONNECT_TIMEOUT_S per attempt. A wrong DSN or a database that is
 * really down is reported within about that time instead of hanging: a
 * supervisor restarts the service and the error is visible. No jitter: the
 * few replicas of a deployment reconnecting together are no load for
 * Postgres. */
#define PG_CONNECT_ATTEMPTS         8
#define PG_CONNECT_BACKOFF_FIRST_MS 100
#define PG_CONNECT_BACKOFF_MAX_MS   5000
/* libpq's connect_timeout when the DSN sets none: without one, a host that
 * drops packets blocks in connect() for the kernel's TCP timeout (about two
 * minutes). 5 s is far above a loopback or LAN handshake. */
#define PG_CONNECT_TIMEOUT_S "5"

typedef struct pg_retry {
    int attempts;         /* >= 1 */
    int backoff_first_ms; /* >= 0 */
    int backoff_max_ms;   /* >= backoff_first_ms */
} pg_retry_t;

/* The default policy above. */
pg_retry_t pg_retry_default(void);

typedef struct pg_conn pg_conn_t;

/* Connects to dsn (a libpq URI or key=value string), retrying by retry
 * (NULL = pg_retry_default()). app_name (may be NULL) is the
 * application_name shown in pg_stat_activity. Unless the DSN says
 * otherwise, the session gets connect_timeout PG_CONNECT_TIMEOUT_S. No
 * session settings are sent as startup options (PgBouncer refuses them);
 * timestamptz text carries its offset whatever the server's TimeZone.
 *
 * Errors: OD_ERR_INVALID for a DSN that does not parse (no retry),
 * OD_ERR_UNAVAILABLE when every attempt failed; the message names the host,
 * port and database (never the password), the attempts and libpq's last
 * error. On success *out is a new connection the caller frees with
 * pg_conn_free(). */
int pg_conn_new(const char *dsn, const char *app_name, const pg_retry_t *retry, pg_conn_t **out,
                char *errbuf, size_t errlen) OD_WUR;

/* Closes the connection and frees everything; NULL is a no-op. */
void pg_conn_free(pg_conn_t *db);

/* The underlying libpq connection, for what this module does not wrap
 * (COPY, LISTEN, PQescapeLiteral). Borrowed: do not PQfinish it. It may
 * change after a reconnect, so do not keep it across calls of this module. */
PGconn *pg_conn_get(pg_conn_t *db);

/* SQLSTATE of the last failed statement ("23514"), or "" if the last
 * statement succeeded or failed without one (connection lost). */
const char *pg_conn_sqlstate(const pg_conn_t *db);

/* Whether the server connection is known to be gone (the last statement
 * found it closed). The next statement outside a transaction reconnects. */
bool pg_conn_lost(const pg_conn_t *db);

/* Reconnects now (PQreset) with the connection's retry policy, forgetting
 * its prepared statements and any open transaction. OD_ERR_UNAVAILABLE when
 * every attempt failed. */
int pg_conn_reset(pg_conn_t *db, char *errbuf, size_t errlen) OD_WUR;

/* A statement prepared once per server session under `name` and then
 * executed by name. Define them as static constants:
 *   static const pg_stmt_t lead_claim = {"lead_claim", "UPDATE lead ...", 3};
 * Names must be unique in the process. Parameters are text, types inferred
 * by the server (cast in SQL where needed: $1::uuid). */
typedef struct pg_stmt {
    const char *name;
    const char *sql;
    int nparams;
} pg_stmt_t;

/* Executes stmt with stmt->nparams text parameters (params[i] NULL = SQL
 * NULL; params may be NULL when nparams is 0), preparing it first if this
 * server session has not seen it. Success is PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK. If res is non-NULL, *res receives the result on success
 * (caller PQclears it) and NULL on failure; if res is NULL the result is
 * cleared here. Errors as in the header comment, message prefixed by the
 * statement name. */
int pg_stmt_exec(pg_conn_t *db, const pg_stmt_t *stmt, const char *const *params, PGresult **res,
                 char *errbuf, size_t errlen) OD_WUR;

/* pg_stmt_exec of a statement that looks up one row by its first
 * parameter: OD_ERR_NOT_FOUND, "<what> <params[0]> not found", when it
 * returns no row or more than one (*res is then NULL). res is required. */
int pg_stmt_exec_row(pg_conn_t *db, const pg_stmt_t *stmt, const char *const *params,
                     const char *what, PGresult **res, char *errbuf, size_t errlen) OD_WUR;

/* One statement of a pipeline (pg_pipeline_exec). */
typedef struct pg_pipe_stmt {
    const pg_stmt_t *stmt;
    const char *const *params; /* stmt->nparams text parameters, as for pg_stmt_exec */
    PGresult **res;            /* receives the result (caller PQclears); NULL: cleared here */
} pg_pipe_stmt_t;

#define PG_PIPE_BEGIN  0x1u /* BEGIN before the statements (as pg_tx_begin) */
#define PG_PIPE_COMMIT 0x2u /* COMMIT after them (as pg_tx_commit) */

/* Runs n statements, with BEGIN and COMMIT around them as flags say, in one
 * round trip (libpq pipeline mode): all are sent, then the results read.
 * The server runs them in order, each as pg_stmt_exec would (its own
 * snapshot, prepared on first use), and stops at the first failure: the
 * statements after it are not run. So a statement must not need what the
 * caller would learn from an earlier one's result; this saves the round
 * trips of statements whose parameters are known up front.
 *
 * OD_OK when everything succeeded: each *res (where asked) holds its
 * statement's result. Otherwise the first failure's error, as pg_stmt_exec
 * or pg_tx_commit report it, and every *res NULL.
 *
 * Transaction state: PG_PIPE_BEGIN needs none open and leaves one open as
 * pg_tx_begin does once BEGIN succeeded, even when a statement after it
 * failed (end it with pg_tx_rollback). Without PG_PIPE_BEGIN, PG_PIPE_COMMIT
 * needs one open. COMMIT runs only if every statement succeeded; then the
 * transaction is over whatever COMMIT answered. For a few small statements:
 * nothing is read until all are sent. */
int pg_pipeline_exec(pg_conn_t *db, unsigned flags, const pg_pipe_stmt_t *stmts, size_t n,
                     char *errbuf, size_t errlen) OD_WUR;

/* Runs sql with nparams text parameters (unnamed statement; for statements
 * run rarely). Results and errors as pg_stmt_exec. */
int pg_exec_params(pg_conn_t *db, const char *sql, int nparams, const char *const *params,
                   PGresult **res, char *errbuf, size_t errlen) OD_WUR;

/* Runs sql without parameters through the simple query protocol: it may
 * hold several statements separated by ';' (a migration file). Results and
 * errors as pg_stmt_exec; *res is the last statement's result. */
int pg_exec(pg_conn_t *db, const char *sql, PGresult **res, char *errbuf, size_t errlen) OD_WUR;

/* Checks a result the caller got from libpq directly on pg_conn_get(db)
 * (PQexec of a COPY's final result, PQgetResult, ...) like the functions
 * above do: r (may be NULL) is consumed; on success *res receives it if res
 * is non-NULL (caller PQclears), else it is cleared. what (may be NULL)
 * prefixes the message. Also notices a lost connection. */
int pg_result_check(pg_conn_t *db, PGresult *r, const char *what, PGresult **res, char *errbuf,
                    size_t errlen) OD_WUR;

/* BEGIN. Reconnects first if the connection was lost. OD_ERR_CONFLICT if a
 * transaction is already open (a bug in the caller). */
int pg_tx_begin(pg_conn_t *db, char *errbuf, size_t errlen) OD_WUR;

/* COMMIT. A COMMIT of a transaction that had failed reports the failure
 * (the server answers it with ROLLBACK): OD_ERR_CONFLICT. On a lost
 * connection OD_ERR_UNAVAILABLE, and whether the commit happened is unknown:
 * the work must be idempotent. Either way the transaction is over. */
int pg_tx_commit(pg_conn_t *db, char *errbuf, size_t errlen) OD_WUR;

/* ROLLBACK if a transaction is open; otherwise nothing. Best effort and
 * void, for cleanup paths: if the connection is gone the server has rolled
 * back already, and the next statement reconnects. */
void pg_tx_rollback(pg_conn_t *db);

/* Whether a transaction opened with pg_tx_begin is open. */
bool pg_tx_open(const pg_conn_t *db);

/*
 * Adds PostgreSQL at dsn (copied) to d as "postgres" (lib/core/deps.h) and
 * returns its index. Its check runs SELECT 1 on a connection of its own
 * (application_name outdial-check), opened with one attempt when there is
 * none and dropped after a failure; the reason of a failure is
 * pg_conn_new's or the statement's (host, port, database, never the
 * password).
 */
int pg_deps_add(deps_t *d, const char *dsn);

/*
 * Connects as pg_conn_new does, but waits while PostgreSQL does not answer
 * (dependency dep of d, added by pg_deps_add) instead of failing: waits
 * for dep to be up, connects, and after a failure marks dep down and
 * waits again, until connected or *stop is set. OD_OK with *out as from
 * pg_conn_new; OD_ERR_UNAVAILABLE ("stopped while waiting for
 * PostgreSQL") when stopped first.
 */
int pg_conn_await(deps_t *d, int dep, const atomic_bool *stop, const char *dsn,
                  const char *app_name, pg_conn_t **out, char *errbuf, size_t errlen) OD_WUR;

#endif

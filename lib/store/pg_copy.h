/*
 * pg_copy.h — COPY ... FROM STDIN on a pg_conn_t, for the writers that load
 * many rows at once (the import run's batches, an import's staged bytes).
 *
 * A COPY runs inside the caller's transaction: pg_copy_begin starts it,
 * pg_copy_put sends data (any number of times, COPY's own format as the
 * statement says), pg_copy_end ends it, or pg_copy_abort after an error.
 * Between begin and end nothing else may run on the connection. An aborted
 * or failed COPY fails the transaction: the caller rolls it back.
 */
#ifndef OUTDIAL_PG_COPY_H
#define OUTDIAL_PG_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pg.h"

/* Starts sql, a COPY ... FROM STDIN. Errors as pg_stmt_exec, the message
 * prefixed by what; OD_ERR_INTERNAL if the statement is not a COPY FROM
 * STDIN. */
int pg_copy_begin(pg_conn_t *db, const char *sql, const char *what, char *errbuf,
                  size_t errlen) OD_WUR;

/* Sends len bytes (queued by libpq, which blocks while the server is
 * behind). OD_ERR_UNAVAILABLE when the connection failed; then end the COPY
 * with pg_copy_abort. */
int pg_copy_put(pg_conn_t *db, const char *data, size_t len, const char *what, char *errbuf,
                size_t errlen) OD_WUR;

/* Ends the COPY: sends the end of data and reports what the server said
 * of the whole COPY (a unique violation is OD_ERR_CONFLICT with
 * pg_conn_sqlstate "23505", as pg_stmt_exec reports it). *rows (may be
 * NULL) receives the rows COPY took. */
int pg_copy_end(pg_conn_t *db, const char *what, int64_t *rows, char *errbuf, size_t errlen) OD_WUR;

/* Aborts the COPY (for cleanup paths; the caller has its error already):
 * the transaction has failed, and the connection is ready for its
 * ROLLBACK. */
void pg_copy_abort(pg_conn_t *db);

#endif

/*
 * pool.h — a bounded pool of Postgres connections for the request threads.
 *
 * A request takes one connection for its whole life (a CSV upload keeps
 * its transaction and COPY open across many body pieces) and gives it back
 * when it ends. Connections are opened on demand up to `max` and kept; a
 * connection whose server went away stays in the pool and reconnects on
 * its next statement (lib/pg). When every connection is taken, a request
 * waits up to API_POOL_WAIT_MS, then gets OD_ERR_UNAVAILABLE (503).
 */
#ifndef OUTDIAL_API_POOL_H
#define OUTDIAL_API_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "pg.h"

/* 5 s: far above any queueing of an API that answers in milliseconds, and
 * short enough that a client learns of an overload instead of timing out. */
#define API_POOL_WAIT_MS 5000

typedef struct api_pool api_pool_t;

/* A pool for dsn with at most max connections (>= 1). Opens none yet. */
api_pool_t *api_pool_new(const char *dsn, int max);

/* Closes every idle connection and frees the pool; every connection must
 * have been released. NULL is a no-op. */
void api_pool_free(api_pool_t *pool);

/* Takes a connection (an idle one, a new one, or the next released one).
 * Errors: OD_ERR_UNAVAILABLE when Postgres cannot be reached or the pool
 * stayed exhausted for API_POOL_WAIT_MS; message in errbuf. */
int api_pool_acquire(api_pool_t *pool, pg_conn_t **out, char *errbuf, size_t errlen) OD_WUR;

/* Gives db back (rolling back a transaction left open). A connection in a
 * state that cannot be reused (a COPY still running) is closed instead.
 * NULL is a no-op. */
void api_pool_release(api_pool_t *pool, pg_conn_t *db);

#endif

#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "xmalloc.h"

struct api_pool {
    char *dsn;
    int max;
    int open; /* connections that exist (idle or taken) */
    int n_idle;
    pg_conn_t **idle;
    pthread_mutex_t mu;
    pthread_cond_t released;
};

/* A request must not hang on a database that is down: two tries 100 ms
 * apart (plus libpq's connect timeout), then 503. The pool's next request
 * tries again. */
static const pg_retry_t request_retry = {
    .attempts = 2, .backoff_first_ms = 100, .backoff_max_ms = 100};

api_pool_t *api_pool_new(const char *dsn, int max)
{
    api_pool_t *pool = xcalloc(1, sizeof(*pool));
    pool->dsn = xstrdup(dsn);
    pool->max = max < 1 ? 1 : max;
    pool->idle = xcalloc((size_t)pool->max, sizeof(*pool->idle));
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->released, NULL);
    return pool;
}

void api_pool_free(api_pool_t *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->n_idle; i++)
        pg_conn_free(pool->idle[i]);
    pthread_cond_destroy(&pool->released);
    pthread_mutex_destroy(&pool->mu);
    free(pool->idle);
    free(pool->dsn);
    free(pool);
}

int api_pool_acquire(api_pool_t *pool, pg_conn_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    /* released is a default condition variable: its deadline is real time. */
    struct timespec deadline = od_timespec_after_ms(CLOCK_REALTIME, API_POOL_WAIT_MS);
    pthread_mutex_lock(&pool->mu);
    while (pool->n_idle == 0 && pool->open >= pool->max) {
        if (pthread_cond_timedwait(&pool->released, &pool->mu, &deadline) == ETIMEDOUT &&
            pool->n_idle == 0 && pool->open >= pool->max) {
            pthread_mutex_unlock(&pool->mu);
            return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                           "all %d database connections are busy", pool->max);
        }
    }
    if (pool->n_idle > 0) {
        *out = pool->idle[--pool->n_idle];
        pthread_mutex_unlock(&pool->mu);
        return OD_OK;
    }
    pool->open++; /* reserve the slot, connect outside the lock */
    pthread_mutex_unlock(&pool->mu);
    int rc = pg_conn_new(pool->dsn, "outdial-api", &request_retry, out, errbuf, errlen);
    if (rc != OD_OK) {
        pthread_mutex_lock(&pool->mu);
        pool->open--;
        pthread_cond_signal(&pool->released);
        pthread_mutex_unlock(&pool->mu);
        *out = NULL;
        return rc == OD_ERR_INVALID ? rc : OD_ERR_UNAVAILABLE;
    }
    return OD_OK;
}

void api_pool_release(api_pool_t *pool, pg_conn_t *db)
{
    if (!db)
        return;
    bool keep = true;
    PGconn *conn = pg_conn_get(db);
    if (conn && PQtransactionStatus(conn) == PQTRANS_ACTIVE) {
        /* A statement or COPY still running: the session cannot be reused. */
        keep = false;
    } else {
        pg_tx_rollback(db);
        if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE &&
            PQtransactionStatus(conn) != PQTRANS_UNKNOWN)
            keep = false;
    }
    pthread_mutex_lock(&pool->mu);
    if (keep && pool->n_idle < pool->max) {
        pool->idle[pool->n_idle++] = db;
    } else {
        pool->open--;
        pg_conn_free(db);
        log_warn("pg_pool", "closed a database connection left in an unusable state");
    }
    pthread_cond_signal(&pool->released);
    pthread_mutex_unlock(&pool->mu);
}

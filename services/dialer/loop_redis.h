/*
 * loop_redis.h — the dial loop's Redis client and its health: whether the
 * last command of the loop worked (readiness reads it from the HTTP
 * threads) and how many failed (a metric). The checks, the line locks,
 * reconciliation and the registry all run their commands on this client.
 */
#ifndef OUTDIAL_DIALER_LOOP_REDIS_H
#define OUTDIAL_DIALER_LOOP_REDIS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "err.h"
#include "metrics.h"
#include "redis.h"

typedef struct loop_redis {
    redis_t *redis;            /* the dial loop's own client */
    atomic_bool ok;            /* the last command worked (any thread reads it) */
    metrics_counter_t *errors; /* commands that failed */
} loop_redis_t;

/* Records a command's outcome (dial loop). A refused lock (CONFLICT) and a
 * missing key (NOT_FOUND) are answers from a Redis that works. */
static inline void loop_redis_result(loop_redis_t *lr, int rc)
{
    bool ok = rc == OD_OK || rc == OD_ERR_CONFLICT || rc == OD_ERR_NOT_FOUND;
    atomic_store(&lr->ok, ok);
    if (!ok)
        metrics_counter_add(lr->errors, 1);
}

#endif

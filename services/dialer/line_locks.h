/*
 * line_locks.h — a number's line lock while its call runs: its lease
 * extended, its release when the call is over (compare-and-delete with the
 * attempt id as the token, docs/dialer.md), and retrying the releases that failed because Redis
 * could not be reached, so that a Redis restart does not leave the number busy for the rest of the
 * lock's lease.
 */
#ifndef OUTDIAL_DIALER_LINE_LOCKS_H
#define OUTDIAL_DIALER_LINE_LOCKS_H

#include <pthread.h>
#include <stdint.h>

#include "loop_redis.h"

struct line_retry;

typedef struct line_locks {
    loop_redis_t *lr; /* the dial loop's client */
    pthread_mutex_t mu;
    struct line_retry *retries; /* under mu */
    int64_t next_retry_real_us; /* dial loop */
} line_locks_t;

void line_locks_init(line_locks_t *ll, loop_redis_t *lr);
/* Logs the releases still queued (their locks expire with their lease)
 * and frees them. */
void line_locks_destroy(line_locks_t *ll);

/* Dial loop: releases line_key held with attempt_id; when Redis cannot be
 * reached, queues the release. */
void line_locks_release(line_locks_t *ll, const char *line_key, const char *attempt_id);

/* Dial loop: extends line_key's lease to lease_ms while attempt_id holds
 * it. OD_ERR_CONFLICT when it does not (any more); another error (logged)
 * when Redis failed. */
int line_locks_extend(line_locks_t *ll, const char *line_key, const char *attempt_id,
                      int64_t lease_ms);

/* Any thread: queues a release that failed on another client. */
void line_locks_release_later(line_locks_t *ll, const char *line_key, const char *attempt_id);

/* Dial loop, every turn: once a second, tries the queued releases again;
 * those that fail stay queued. */
void line_locks_retry_due(line_locks_t *ll);

#endif

/*
 * line_locks.c — line lock renewals, releases and their retries
 * (line_locks.h).
 */
#include "line_locks.h"

#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "rkeys.h"
#include "uuid.h"
#include "xmalloc.h"

/* Retries of failed releases: once a second while Redis fails. */
#define LINE_RETRY_US (1000 * 1000)

struct line_retry {
    struct line_retry *next;
    char key[RKEYS_KEY_MAX];
    char attempt_id[UUID_STR_LEN];
};

void line_locks_init(line_locks_t *ll, loop_redis_t *lr)
{
    ll->lr = lr;
    pthread_mutex_init(&ll->mu, NULL);
    ll->retries = NULL;
    ll->next_retry_real_us = 0;
}

void line_locks_destroy(line_locks_t *ll)
{
    while (ll->retries) {
        struct line_retry *retry = ll->retries;
        ll->retries = retry->next;
        log_warn("line_lock", "release %s not done at exit (it expires with its lease)",
                 retry->key);
        free(retry);
    }
    pthread_mutex_destroy(&ll->mu);
}

static void retry_push(line_locks_t *ll, struct line_retry *retry)
{
    pthread_mutex_lock(&ll->mu);
    retry->next = ll->retries;
    ll->retries = retry;
    pthread_mutex_unlock(&ll->mu);
}

void line_locks_release_later(line_locks_t *ll, const char *line_key, const char *attempt_id)
{
    struct line_retry *retry = xcalloc(1, sizeof(*retry));
    snprintf(retry->key, sizeof(retry->key), "%s", line_key);
    snprintf(retry->attempt_id, sizeof(retry->attempt_id), "%s", attempt_id);
    retry_push(ll, retry);
}

void line_locks_release(line_locks_t *ll, const char *line_key, const char *attempt_id)
{
    char err[256];
    int rc = redis_lock_release(ll->lr->redis, line_key, attempt_id, err, sizeof(err));
    loop_redis_result(ll->lr, rc);
    if (rc && rc != OD_ERR_CONFLICT) {
        log_warn("line_lock", "release %s: %s (tried again every second)", line_key, err);
        line_locks_release_later(ll, line_key, attempt_id);
    }
}

int line_locks_extend(line_locks_t *ll, const char *line_key, const char *attempt_id,
                      int64_t lease_ms)
{
    char err[512];
    int rc = redis_lock_extend(ll->lr->redis, line_key, attempt_id, lease_ms, err, sizeof(err));
    loop_redis_result(ll->lr, rc);
    if (rc && rc != OD_ERR_CONFLICT)
        log_warn("line_lock", "extend %s: %s", line_key, err);
    return rc;
}

void line_locks_retry_due(line_locks_t *ll)
{
    int64_t now = od_clock_real_us();
    if (now < ll->next_retry_real_us)
        return;
    pthread_mutex_lock(&ll->mu);
    struct line_retry *list = ll->retries;
    ll->retries = NULL;
    pthread_mutex_unlock(&ll->mu);
    if (!list)
        return;
    ll->next_retry_real_us = now + LINE_RETRY_US;
    while (list) {
        struct line_retry *retry = list;
        list = retry->next;
        char err[256];
        int rc = redis_lock_release(ll->lr->redis, retry->key, retry->attempt_id, err, sizeof(err));
        loop_redis_result(ll->lr, rc);
        if (rc && rc != OD_ERR_CONFLICT)
            retry_push(ll, retry);
        else
            free(retry);
    }
}

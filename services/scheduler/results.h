/*
 * results.h — applying call events to calls and leads (docs/architecture.md §4–§6).
 *
 * One event, one transaction. The lead row is locked first, so the events
 * of one lead apply one at a time whatever consumer they reach. Idempotent:
 *   - the call row is keyed by attempt id; an event id already in its
 *     status history is a replay and changes nothing;
 *   - a call's status only moves forward (initiated < ringing < in_progress
 *     < a terminal status), and the first terminal status wins;
 *   - the lead moves only for its current attempt: an event for any other
 *     attempt (late, replayed, recovered) is recorded on its call row only,
 *     so a lead never moves backwards.
 * Terminal results go through the retry policy (retry.h), record the goal,
 * charge the cost to the account once (pausing the account's running
 * campaigns when the balance reaches zero), activate or complete secondary
 * contacts (contacts.h) and queue a CampaignEvent for a finished lead.
 */
#ifndef OUTDIAL_RESULTS_H
#define OUTDIAL_RESULTS_H

#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "pg.h"
#include "redis.h"

typedef enum results_effect {
    RESULTS_APPLIED = 0,  /* the lead moved (or the call row advanced) */
    RESULTS_DUPLICATE,    /* the event was applied before */
    RESULTS_STALE,        /* not the lead's current attempt: recorded on the call only */
    RESULTS_UNKNOWN_LEAD, /* no such lead (deleted): nothing to do */
} results_effect_t;

typedef struct results_outcome {
    results_effect_t effect;
    bool lead_finished;   /* the lead reached completed or max_retries */
    int paused_campaigns; /* campaigns paused for insufficient balance */
} results_outcome_t;

/* Applies ev at campaign time now_us in its own transaction. r (may be NULL)
 * receives the Redis mirror of campaigns paused for balance. A database
 * error leaves nothing applied (the caller retries; its offset is not
 * stored). An event that can never apply (lead of another campaign) is
 * OD_ERR_INVALID with the reason, for the caller to log and skip. */
int results_apply(pg_conn_t *db, redis_t *r, const char *redis_prefix, const callevent_t *ev,
                  int64_t now_us, results_outcome_t *out, char *errbuf, size_t errlen) OD_WUR;

#endif

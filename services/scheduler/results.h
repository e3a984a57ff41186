/*
 * results.h — applying call events to calls and leads (docs/architecture.md
 * §4–§6, docs/scheduler.md "Results"): the write step around
 * results_decide.h, which holds the whole decision as a table.
 *
 * Events apply in batches, one transaction per batch: the events' leads
 * are locked in event order, so the events of one lead apply one at a time
 * whatever consumer they reach. An event whose contact group (the lead, its
 * primary and secondaries) an earlier event of the transaction touched
 * starts the next transaction, so that each event reads the rows as every
 * event before it left them, as if each had its own transaction.
 * Idempotent per event:
 *   - the call row is keyed by attempt id; an event id already in its
 *     status history is a replay and changes nothing;
 *   - a call's status only moves forward, and the first terminal status wins;
 *   - the lead moves only for its current attempt, so it never moves
 *     backwards;
 *   - a call's cost is charged once (its charged_at).
 * Terminal results go through the retry policy (retry.h), record the goal,
 * charge the cost to the account (pausing the account's running campaigns
 * when the balance reaches zero), activate or complete secondary contacts
 * and queue a CampaignEvent for a finished lead (lead_finish.h).
 */
#ifndef OUTDIAL_RESULTS_H
#define OUTDIAL_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "pg.h"
#include "redis.h"
#include "results_decide.h"

/* Events per transaction at most. A batch holds its leads' row locks until
 * it commits; 128 events are a few milliseconds of work, and past about a
 * hundred the round trips and commits saved no longer show (bench_results). */
#define RESULTS_BATCH_MAX 128

typedef struct results_outcome {
    bool rejected;   /* the event can never apply (error says why): nothing written */
    char error[256]; /* for rejected */
    results_effect_t effect;
    bool lead_finished;   /* the lead reached completed or max_retries */
    int paused_campaigns; /* campaigns paused for insufficient balance */
    bool opted_out;       /* the callee opted out: the number is on the DNC list (opt_out.h) */
    size_t leads_stopped; /* for opted_out: the account's other leads of the number ended */
} results_outcome_t;

/* Applies evs[0..n) (n >= 1, any number: they are cut into transactions
 * of at most RESULTS_BATCH_MAX) at campaign time now_us; outs[i] receives
 * what evs[i] did. r (may be NULL) receives the Redis mirror of campaigns
 * paused for balance and of numbers opted out (the DNC set). An event that can never apply (lead of
 * another campaign, no number, data the database refuses) is rejected in its outcome and the others
 * apply.
 *
 * OD_OK when every event was applied or rejected. A database error (the
 * database is away, a deadlock) returns its code: the events of the failed
 * transaction are not applied, those before it may be; the caller applies
 * the whole batch again (idempotent) and does not store its offsets until
 * this returns OD_OK. The caller keeps evs and outs. */
int results_apply_batch(pg_conn_t *db, redis_t *r, const char *redis_prefix,
                        const callevent_t *const *evs, size_t n, int64_t now_us,
                        results_outcome_t *outs, char *errbuf, size_t errlen) OD_WUR;

/* One event (a batch of one). A rejected event is OD_ERR_INVALID with the
 * reason in errbuf, for the caller to log and skip. */
int results_apply(pg_conn_t *db, redis_t *r, const char *redis_prefix, const callevent_t *ev,
                  int64_t now_us, results_outcome_t *out, char *errbuf, size_t errlen) OD_WUR;

#endif

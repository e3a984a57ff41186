/*
 * dispatch.h — turning due leads into dial jobs (docs/architecture.md §4–§6).
 *
 * For a running campaign whose window is open, dispatch claims due leads
 * (created or rescheduled, next_attempt_at reached, valid number) in
 * batches with FOR UPDATE SKIP LOCKED, never more than max_concurrent_calls
 * scheduled + processing and within the calls-per-minute token bucket, marks
 * them scheduled with a new attempt id and produces one DialJob each, with
 * not_after = the close of the lead's current window and the number's
 * frequency cap (DialJob.calls_per_24h). A lead whose number's cap is full
 * is not claimed either: its next_attempt_at moves to the instant the cap
 * frees and its window is open (dispatch_plan.h).
 *
 * The campaign row is locked (FOR UPDATE SKIP LOCKED) for the whole claim,
 * so several scheduler replicas serialise per campaign and never issue two
 * jobs for one attempt, and the concurrency cap holds across replicas.
 * Leads whose own window (timezone mode lead, quiet hours, the callee's
 * legal rules under a legal profile) is closed are not claimed: their
 * next_attempt_at moves to the first moment all of it opens.
 *
 * What to claim is decided by the pure functions of dispatch_plan.h (slots,
 * tokens, windows); this module locks, claims, writes and produces.
 *
 * Jobs are produced after the claim commits. A crash between the commit and
 * the delivery leaves leads scheduled without a job; recovery.c re-issues
 * them with the same attempt id (the dialer dials an attempt at most once).
 */
#ifndef OUTDIAL_DISPATCH_H
#define OUTDIAL_DISPATCH_H

#include <stdint.h>

#include "campaign_legal.h"
#include "dispatch_plan.h"
#include "err.h"
#include "item_backoff.h"
#include "kafka.h"
#include "pg.h"
#include "redis.h"
#include "sched_campaign.h"

/* Leads claimed per statement: large enough to amortise the round trip,
 * small enough that a batch's row locks are held for milliseconds. */
#define DISPATCH_BATCH_DEFAULT 500
#define DISPATCH_BATCH_MAX     10000

typedef struct dispatch_stats {
    uint64_t jobs_issued;    /* dial jobs produced (delivery not yet confirmed) */
    uint64_t leads_deferred; /* due leads whose own window was closed, or capped */
    uint64_t deferred_by_rule[DISPATCH_DEFER_RULE_COUNT]; /* the same, by what held them */
    uint64_t campaigns;        /* campaigns dispatched (owned and running) */
    uint64_t campaigns_failed; /* campaigns whose pass failed and that were skipped */
    uint64_t campaigns_held;   /* campaigns left out while their backoff runs */
    int64_t next_wake_us;      /* earliest known future instant with work; INT64_MAX if none */
} dispatch_stats_t;

void dispatch_stats_init(dispatch_stats_t *st);

/* Where dispatch reads the calls placed to a number (lib/cache/callslots.h)
 * to plan with frequency caps. NULL, or a NULL redis: no planning (a
 * capped lead is dispatched and the dialer's atomic check refuses it when
 * full); a Redis error is logged and the same. */
typedef struct dispatch_caps {
    redis_t *redis;     /* borrowed */
    const char *prefix; /* OUTDIAL_REDIS_PREFIX */
} dispatch_caps_t;

/* Dispatches one campaign at campaign time now_us. Returns OD_OK also when
 * the campaign is not running, closed or owned by another replica (nothing
 * to do). Jobs are queued on producer; the caller flushes (see
 * dispatch_flush). dial_topic is the full topic name. */
int dispatch_campaign(pg_conn_t *db, kafka_producer_t *producer, const char *dial_topic,
                      const dispatch_caps_t *caps, const char *campaign_id, int64_t now_us,
                      int batch_size, dispatch_stats_t *st, char *errbuf, size_t errlen) OD_WUR;

/* Dispatches every running campaign. A campaign whose pass fails (its
 * settings cannot be read, a row the database refuses) is logged, counted
 * in st->campaigns_failed and skipped, and the others are dispatched; skip
 * (may be NULL: no memory between passes) then holds it back for its
 * backoff (item_backoff.h). caps as dispatch_campaign. Errors: the list of
 * running campaigns cannot be read, or a dependency is away
 * (item_backoff_pass_fails), which ends the pass. */
int dispatch_all(pg_conn_t *db, kafka_producer_t *producer, const char *dial_topic,
                 const dispatch_caps_t *caps, int64_t now_us, int batch_size, item_backoff_t *skip,
                 dispatch_stats_t *st, char *errbuf, size_t errlen) OD_WUR;

/* Builds the DialJob for a claimed lead; shared with recovery.c's re-issue.
 * Encodes into *out (caller frees). variables_json is the lead's JSONB text;
 * sticky_caller_id the lead's (NULL or "": none); acct and legal (either
 * NULL: profile none) give the job's legal rules. The job's caller-ID pool
 * (DialJob.caller_ids): for the strategy single, or an assistant without a
 * pool, its outbound number alone (with the daily cap and zone of its pool
 * entry when it has one); else the assistant's pool. */
int dispatch_job_encode(const sched_campaign_t *c, const char *lead_id, const char *attempt_id,
                        int attempt_number, const char *e164, const char *lead_name,
                        const char *variables_json, const char *sticky_caller_id,
                        const legal_account_t *acct, const lead_legal_t *legal,
                        int64_t not_after_us, int64_t now_us, uint8_t **out, size_t *out_len,
                        char *errbuf, size_t errlen) OD_WUR;

#endif

/*
 * checks.h — what the dialer verifies in Redis just before placing a call
 * (docs/architecture.md §6, invariants 1 to 4), in this order:
 *
 *   1. not_after_us has not passed (campaign clock)  else skipped outside_window
 *   2. the campaign's mirror key says "in_progress"  else skipped campaign_not_running
 *   3. the number is not in the account's DNC set    else skipped dnc
 *   4. SET NX the attempt key (value: a token of this job in this process,
 *      "<instance id>/<uuid>", 7 days):
 *      taken already → a duplicate: nothing is published, the job is done
 *   5. the line lock of the number (token = the attempt id, so whichever
 *      dialer gets the end-of-call webhook can release it)
 *                                                    else skipped number_busy
 *   6. when the job carries a frequency cap (DialJob.calls_per_24h): a slot
 *      among the calls to the number in the last 24 h, across the account's
 *      campaigns, taken atomically (lib/cache/callslots.h, judged as
 *      lib/rules/freqcap.h judges)          else skipped frequency_cap
 *      (the detail says when the cap frees; the line lock is let go)
 *   7. the caller id: the strategy's order of the job's caller-ID pool
 *      (lib/rules/caller_id.h; round_robin reads its turn with an INCR),
 *      then one call of the first number below its daily cap, taken
 *      atomically (lib/cache/callerday.h)
 *                                                    else skipped caller_id_exhausted
 *      (not_before_us: when the first number of the order wakes; the line
 *      lock and the frequency-cap slot are let go)
 *
 * A refusal at 1–3 takes the attempt key too (SET NX, as step 4) before
 * its skipped event is published: the scheduler gives a skipped attempt
 * back, so no later copy of the job (a Kafka re-delivery, a recovery
 * re-issue with the window open again) may dial that attempt id. If the
 * key is taken already, some dialer placed or skipped this attempt, or the
 * scheduler fenced it, and a skipped event would wrongly hand the attempt
 * back — so nothing is published then either.
 *
 * Redis errors are CHECK_RETRY: the job waits and runs the checks again,
 * resuming after the attempt key if it was already taken (st keeps that).
 *
 * Steps 6 and 7 are the last: a slot and a number's call are taken only
 * by a job that will be sent to the provider at once. A job that is then
 * certainly not placed (the window guard, a provider refusal, shutdown)
 * gives both back (checks_slot_release). One that was or may have been
 * placed counts from when the provider answered its create-call request
 * (checks_slot_placed): the request may go out well after the slot was
 * taken (a 429 and its back-off, a busy dialer), and a call counts from
 * when it is placed.
 */
#ifndef OUTDIAL_DIALER_CHECKS_H
#define OUTDIAL_DIALER_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "codec.h"
#include "err.h"
#include "model.h"
#include "redis.h"
#include "rkeys.h"

/* The attempt key lives 7 days, as long as any attempt can be re-delivered
 * or re-issued (the scheduler's fence uses the same TTL). */
#define CHECKS_ATTEMPT_TTL_MS (7LL * 24 * 3600 * 1000)

typedef enum check_verdict {
    CHECK_DIAL = 0,  /* every check passed; the attempt key and line lock are held */
    CHECK_SKIP,      /* refused: publish skipped with reason and detail */
    CHECK_DUPLICATE, /* the attempt key exists: publish nothing */
    CHECK_RETRY,     /* Redis failed: try again later (detail says why) */
} check_verdict_t;

/* The attempt key's value: "<instance id>/<uuid>", the instance id cut
 * to CHECKS_TOKEN_ID_MAX bytes (it names the dialer in logs only). */
#define CHECKS_TOKEN_ID_MAX 80
#define CHECKS_TOKEN_MAX    (CHECKS_TOKEN_ID_MAX + 1 + 37)

typedef struct check_state {
    char attempt_token[CHECKS_TOKEN_MAX]; /* step 4's value, made at its first try ("": none yet) */
    bool holds_attempt_key;               /* step 4 passed earlier */
    bool holds_line;                      /* step 5 passed earlier */
    bool holds_slot;                      /* step 6 took a frequency-cap slot */
    bool holds_caller;              /* step 7 picked the caller id (and took its day's call) */
    int caller_index;               /* step 7's pick: an index of caller_ids, or -1 (caller_id) */
    char caller_key[RKEYS_KEY_MAX]; /* the picked number's day set ("": uncapped) */
} check_state_t;

typedef struct check_result {
    check_verdict_t verdict;
    model_skip_reason_t reason; /* for CHECK_SKIP */
    char detail[256];
    int64_t not_before_us; /* caller_id_exhausted: when the first number wakes */
} check_result_t;

typedef struct checks_env {
    redis_t *redis;
    const char *prefix;      /* Redis key prefix */
    const char *instance_id; /* the first part of the attempt key's value */
    const od_clock_t *clk;
} checks_env_t;

/* What the attempt key's SET NX (set_rc) and, after an error, the read
 * back (get_rc, value: its value when OD_OK) say. Pure:
 *
 *   | set_rc          | get_rc     | value             | verdict        |
 *   |-----------------|------------|-------------------|----------------|
 *   | OD_OK           | —          | —                 | OURS           |
 *   | OD_ERR_CONFLICT | —          | —                 | TAKEN          |
 *   | another error   | OD_OK      | token             | OURS (the SET  |
 *   |                 |            |                   | happened)      |
 *   | another error   | OD_OK      | anything else     | TAKEN          |
 *   | another error   | not OD_OK  | —                 | UNKNOWN: retry |
 *
 * token is this job's own (check_state_t.attempt_token), made anew for
 * every job a process reads, never the instance id alone:
 * OUTDIAL_DIALER_INSTANCE_ID is the same across restarts, and a job
 * re-delivered from Kafka after its dialer died (or after a rebalance)
 * whose SET then fails with an unknown outcome would read back the value
 * its first delivery wrote; with the instance id as the value it took
 * that placement for its own and dialed the attempt a second time. A
 * conflict is never read back. */
typedef enum checks_key {
    CHECKS_KEY_OURS = 0,
    CHECKS_KEY_TAKEN,
    CHECKS_KEY_UNKNOWN,
} checks_key_t;

checks_key_t checks_attempt_key_decide(int set_rc, int get_rc, const char *value,
                                       const char *token);

/* Runs the checks for job; lease_ms is the line lock's lease (real ms). */
void checks_run(const checks_env_t *env, const dialjob_t *job, int64_t lease_ms, check_state_t *st,
                check_result_t *out);

/* Checks 1 and 2 again, before a create-call request is repeated after a
 * 429. CHECK_DIAL, CHECK_SKIP (reason outside_window or
 * campaign_not_running), or CHECK_RETRY on a Redis error. */
void checks_recheck(const checks_env_t *env, const dialjob_t *job, check_result_t *out);

/* Gives a frequency-cap slot (step 6) and a number's call of the day (step
 * 7) back for a job that was certainly not placed; a Redis error is logged
 * (the slot or call then counts until it ages out: stricter, never laxer). */
void checks_slot_release(const checks_env_t *env, const dialjob_t *job, check_state_t *st);

/* After the create-call request of a job holding a slot was answered (or
 * failed after it was sent): the slot counts from now (callslots_placed).
 * A Redis error is logged: the slot then counts from when it was taken,
 * up to the request's delay early. */
void checks_slot_placed(const checks_env_t *env, const dialjob_t *job, const check_state_t *st);

/* The number step 7 picked: its E.164 and provider id (may be ""), borrowed
 * from job; the job's own caller_id before step 7 or with an empty pool. */
void checks_caller_id(const dialjob_t *job, const check_state_t *st, const char **e164,
                      const char **provider_phone_number_id);

/* The line lock's key for a number. */
void checks_line_key(const checks_env_t *env, const char *e164, char out[RKEYS_KEY_MAX]);

#endif

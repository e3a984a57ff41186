/*
 * callslots.h — the calls placed to one number of one account in the last
 * 24 hours, kept in Redis for frequency caps (lib/rules/freqcap.h): a
 * sorted set per account and number (rkeys_calls), member the attempt id,
 * score the campaign-time microsecond the dialer took the slot, moved to when
 * the provider answered the create-call request once it has.
 *
 * callslots_take() is the dialer's last check before the create-call
 * request; callslots_placed() moves the slot's time to when the provider
 * answered the request, so that a call counts from no earlier than the
 * provider got it (a request refused with 429 and sent again later, or one
 * delayed in a busy dialer, was placed after its slot was taken). One Lua
 * script drops the calls older than the period, counts the
 * rest and, below the cap, adds this attempt. Redis runs a script alone, so
 * no two dialers can both take the last slot, however many there are. An
 * attempt already in the set holds its slot (a re-sent script after a lost
 * answer takes nothing twice), which also makes the script safe to re-send.
 * The key expires ttl_ms after the last slot taken (callers pass the period
 * in real time plus a margin): a number nobody calls leaves nothing behind.
 *
 * Times are what the caller says now is (the campaign clock, which may run
 * faster than real time in a demo); every dialer and the scheduler read the
 * same clock settings.
 */
#ifndef OUTDIAL_CALLSLOTS_H
#define OUTDIAL_CALLSLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "redis.h"

/* Most call times an answer carries: the newest ones, which are all a cap
 * of up to this many needs to say when it clears. */
#define CALLSLOTS_TIMES_MAX 64

typedef struct callslots_answer {
    bool taken;                            /* this attempt holds a slot */
    int64_t times_us[CALLSLOTS_TIMES_MAX]; /* refused: the newest calls counting, oldest first */
    size_t n_times;
} callslots_answer_t;

/* Takes a slot for attempt_id under cap (>= 1) calls per period_us at
 * now_us, atomically (see above). OD_OK with out->taken, or out->times_us
 * when refused; Redis errors as redis.h (OD_ERR_UNAVAILABLE, ...). */
int callslots_take(redis_t *r, const char *key, const char *attempt_id, int cap, int64_t now_us,
                   int64_t period_us, int64_t ttl_ms, callslots_answer_t *out, char *errbuf,
                   size_t errlen) OD_WUR;

/* The attempt's slot, if it still holds one, counts from at_us when that is
 * later than its time (the instant the provider answered the create-call
 * request, or found it failed after it was sent); the key then lives at
 * least ttl_ms more. Atomic (one script); idempotent. OD_OK whether or not
 * the slot was there. */
int callslots_placed(redis_t *r, const char *key, const char *attempt_id, int64_t at_us,
                     int64_t ttl_ms, char *errbuf, size_t errlen) OD_WUR;

/* Gives the slot of an attempt that was certainly not placed back (ZREM;
 * idempotent). OD_OK whether or not it was there. */
int callslots_release(redis_t *r, const char *key, const char *attempt_id, char *errbuf,
                      size_t errlen) OD_WUR;

/* The times of the calls newer than since_us (the newest
 * CALLSLOTS_TIMES_MAX, oldest first) into out->times_us, for the
 * scheduler's planning; out->taken is false. */
int callslots_read(redis_t *r, const char *key, int64_t since_us, callslots_answer_t *out,
                   char *errbuf, size_t errlen) OD_WUR;

#endif

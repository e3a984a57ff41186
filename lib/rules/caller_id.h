/*
 * caller_id.h — which of an assistant's outbound numbers a call comes from
 * (docs/dialer.md, "Caller-ID pools").
 *
 * A campaign's strategy orders the pool; the dialer then takes the first
 * number of that order that is not resting (at its daily cap), atomically
 * in Redis (lib/cache/callerday.h), as caller_id_pick() judges:
 *
 *   | strategy       | order tried                                          |
 *   |----------------|------------------------------------------------------|
 *   | single         | the first number only (the scheduler sends the       |
 *   |                | assistant's outbound number alone)                   |
 *   | local_presence | numbers with the callee's area code, then those of   |
 *   |                | the callee's state or province, then every other;    |
 *   |                | within a tier from a place set by the lead id, so    |
 *   |                | leads spread over equal numbers and a lead's retries |
 *   |                | keep its place                                       |
 *   | sticky         | the lead's sticky number alone, while it is in the   |
 *   |                | pool (a callback reaches the line that called);      |
 *   |                | else as local_presence (the first call)              |
 *   | round_robin    | every number, from the pool's turn counter on        |
 *
 * A number's area code is its three digits after "+1" (NANP numbers only:
 * others have no area code and no region, so they are in the last tier);
 * its state is lead_region_from_e164()'s. A capped number rests from its
 * cap-th call of a local day until the next midnight of its own timezone
 * (caller_id_day). When every number of the order rests, the lead is
 * deferred (skip reason caller_id_exhausted, no attempt used) to the
 * earliest wake of those numbers.
 *
 * Pure: no clock, no I/O; thread-safe. Pool strings are borrowed.
 */
#ifndef OUTDIAL_CALLER_ID_H
#define OUTDIAL_CALLER_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Most numbers in an assistant's pool. 32 covers a number per large US
 * metro of a national campaign, and bounds a DialJob's size and the
 * dialer's one Redis script (a key per number). */
#define CALLER_ID_POOL_MAX 32

/* The daily cap's range: 1 call, to 10000 (a number placing one call
 * every 9 s around the clock; more is a typo, not a wish). */
#define CALLER_ID_DAILY_CAP_MIN 1
#define CALLER_ID_DAILY_CAP_MAX 10000

typedef enum caller_id_strategy {
    CALLER_ID_SINGLE = 0,
    CALLER_ID_LOCAL_PRESENCE,
    CALLER_ID_STICKY,
    CALLER_ID_ROUND_ROBIN,
    CALLER_ID_STRATEGY_COUNT,
} caller_id_strategy_t;

/* "single", "local_presence", "sticky", "round_robin". */
const char *caller_id_strategy_name(caller_id_strategy_t s);

/* OD_ERR_INVALID with "'<s>' is not single, local_presence, sticky or
 * round_robin" for anything else. */
int caller_id_strategy_parse(const char *s, caller_id_strategy_t *out, char *errbuf,
                             size_t errlen) OD_WUR;

/* What the order depends on, of the call. */
typedef struct caller_id_callee {
    const char *e164;    /* the number called */
    const char *region;  /* its state or province ("FL"); NULL or "": from its area code */
    const char *sticky;  /* the lead's sticky number; NULL or "": none */
    const char *lead_id; /* places the lead within a local_presence tier */
    uint64_t turn;       /* round_robin: the pool's turn counter */
} caller_id_callee_t;

/* The order in which the numbers pool[0..n) are tried (indexes into pool)
 * into order; returns how many (0 only when n is 0). n above
 * CALLER_ID_POOL_MAX counts as CALLER_ID_POOL_MAX. */
size_t caller_id_order(caller_id_strategy_t strategy, const char *const *pool, size_t n,
                       const caller_id_callee_t *callee, size_t order[CALLER_ID_POOL_MAX]);

typedef struct caller_id_pick {
    bool exhausted;   /* every number tried rests */
    size_t index;     /* !exhausted: the pool index picked */
    int64_t wakes_us; /* exhausted: the earliest wake of the numbers tried */
} caller_id_pick_t;

/* Picks the first of order[0..n_order) whose resting[i] is false (indexes
 * of the pool); else exhausted, wakes_us the least wakes_us[i] of them.
 * n_order 0 is exhausted with wakes_us INT64_MAX. */
void caller_id_pick(const size_t *order, size_t n_order, const bool *resting,
                    const int64_t *wakes_us, caller_id_pick_t *out);

/* The local day of instant now_us in zone (days since 1970-01-01 of its
 * calendar) and the instant its next local midnight begins (the first
 * instant after a DST gap there). OD_ERR_INVALID for an unknown zone. */
int caller_id_day(const char *zone, int64_t now_us, int64_t *day, int64_t *next_midnight_us,
                  char *errbuf, size_t errlen) OD_WUR;

#endif

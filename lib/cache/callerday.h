/*
 * callerday.h — the calls each number of a caller-ID pool placed on its
 * local day, kept in Redis for daily caps (lib/rules/caller_id.h): a set
 * per account, number and day (rkeys_caller_day), members the attempt ids.
 *
 * callerday_take() is the dialer's last check before the create-call
 * request, as callslots_take() is for frequency caps: one Lua script walks
 * the numbers in the order the strategy gave and takes the first whose set
 * is below its cap (a cap of 0: no cap, taken without counting). Redis
 * runs a script alone, so no two dialers can both take a number's last
 * call of the day, however many there are. An attempt already in one of
 * the sets holds that number (a re-sent script after a lost answer takes
 * nothing twice). A set expires ttl_ms after its last call (callers pass a
 * day and a half of real time: the day's set is read only on that day).
 */
#ifndef OUTDIAL_CALLERDAY_H
#define OUTDIAL_CALLERDAY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "redis.h"

/* Most numbers one take walks (lib/rules/caller_id.h: CALLER_ID_POOL_MAX). */
#define CALLERDAY_MAX 32

/* Takes a call of the first of keys[0..n) whose set holds fewer than
 * caps[i] attempts (caps[i] 0: none) for attempt_id. OD_OK with *taken the
 * index taken, or -1 when every number is at its cap; Redis errors as
 * redis.h. */
int callerday_take(redis_t *r, const char *const *keys, const int *caps, size_t n,
                   const char *attempt_id, int64_t ttl_ms, int *taken, char *errbuf,
                   size_t errlen) OD_WUR;

/* Gives the call of an attempt that was certainly not placed back (SREM;
 * idempotent). */
int callerday_release(redis_t *r, const char *key, const char *attempt_id, char *errbuf,
                      size_t errlen) OD_WUR;

#endif

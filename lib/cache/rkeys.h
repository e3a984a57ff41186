/*
 * rkeys.h — the Redis keys the services share, in one place.
 *
 * Every key starts with a prefix (OUTDIAL_REDIS_PREFIX, default "outdial:")
 * so several deployments can share a Redis.
 *
 *   <p>campaign:<id>        the campaign's status ("in_progress", "paused", ...),
 *                           mirrored from Postgres by the lifecycle and the
 *                           scheduler; the dialer dials only for "in_progress"
 *   <p>dnc:<account id>     set of E.164 numbers never to call (mirrored by the API)
 *   <p>attempt:<id>         SET NX by the dialer: an attempt is dialed at most once
 *   <p>line:<e164>          token lock held while a call to the number is in flight
 *   <p>calls:<account>:<e164>  sorted set of the calls placed to the number in
 *                           the last 24 h (member attempt id, score campaign-time
 *                           microseconds), for frequency caps (callslots.h)
 *   <p>cid:<account>:<e164>:<day>  set of the attempts a caller-ID pool number placed
 *                           on a local day of its zone (days since 1970), for its
 *                           daily cap (callerday.h)
 *   <p>cidturn:<campaign>   the round_robin strategy's turn counter (INCR)
 *   <p>dialers              set of dialer instance ids that may hold calls in flight
 *   <p>alive:<instance>     a dialer's heartbeat (expires 10 s after its last beat)
 *   <p>inflight:<instance>  hash attempt id -> call, the calls a dialer has in flight
 *                           (services/dialer/registry.h)
 *   <p>takeover:<instance>  SET NX by the dialer that takes a dead dialer's calls over
 */
#ifndef OUTDIAL_RKEYS_H
#define OUTDIAL_RKEYS_H

#include <stddef.h>

#include "err.h"

#define RKEYS_PREFIX_ENV     "OUTDIAL_REDIS_PREFIX"
#define RKEYS_PREFIX_DEFAULT "outdial:"
#define RKEYS_KEY_MAX        160

/* The prefix from the environment (letters, digits, ':', '_', '-', '.'; at
 * most 32 characters), or an error naming the variable. */
int rkeys_prefix_from_env(const char **out, char *errbuf, size_t errlen) OD_WUR;

void rkeys_campaign(const char *prefix, const char *campaign_id, char out[RKEYS_KEY_MAX]);
void rkeys_dnc(const char *prefix, const char *account_id, char out[RKEYS_KEY_MAX]);
void rkeys_attempt(const char *prefix, const char *attempt_id, char out[RKEYS_KEY_MAX]);
void rkeys_line(const char *prefix, const char *e164, char out[RKEYS_KEY_MAX]);
void rkeys_calls(const char *prefix, const char *account_id, const char *e164,
                 char out[RKEYS_KEY_MAX]);
void rkeys_caller_day(const char *prefix, const char *account_id, const char *e164, long long day,
                      char out[RKEYS_KEY_MAX]);
void rkeys_caller_turn(const char *prefix, const char *campaign_id, char out[RKEYS_KEY_MAX]);
void rkeys_dialers(const char *prefix, char out[RKEYS_KEY_MAX]);
void rkeys_alive(const char *prefix, const char *instance_id, char out[RKEYS_KEY_MAX]);
void rkeys_inflight(const char *prefix, const char *instance_id, char out[RKEYS_KEY_MAX]);
void rkeys_takeover(const char *prefix, const char *instance_id, char out[RKEYS_KEY_MAX]);

#endif

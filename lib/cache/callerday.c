#include "callerday.h"

#include <inttypes.h>
#include <stdio.h>

/*
 * KEYS the numbers' day sets in order; ARGV: attempt id, ttl ms, then a cap
 * per key. Answers the 1-based index of the number taken (the one already
 * holding the attempt, else the first below its cap), or 0 when all are at
 * their caps.
 */
static const char TAKE_LUA[] =
    "for i = 1, #KEYS do "
    "  if redis.call('sismember', KEYS[i], ARGV[1]) == 1 then return i end "
    "end "
    "for i = 1, #KEYS do "
    "  local cap = tonumber(ARGV[2 + i]) "
    "  if cap == 0 then return i end "
    "  if redis.call('scard', KEYS[i]) < cap then "
    "    redis.call('sadd', KEYS[i], ARGV[1]) "
    "    redis.call('pexpire', KEYS[i], ARGV[2]) "
    "    return i "
    "  end "
    "end "
    "return 0";

int callerday_take(redis_t *r, const char *const *keys, const int *caps, size_t n,
                   const char *attempt_id, int64_t ttl_ms, int *taken, char *errbuf, size_t errlen)
{
    *taken = -1;
    if (n == 0)
        return OD_OK;
    if (n > CALLERDAY_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "caller-ID pool: %zu numbers, most %d", n,
                       CALLERDAY_MAX);
    char ttl[24], cap_text[CALLERDAY_MAX][12];
    const char *args[2 * CALLERDAY_MAX + 2];
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_ms < 1 ? 1 : ttl_ms);
    for (size_t i = 0; i < n; i++) {
        args[i] = keys[i];
        snprintf(cap_text[i], sizeof(cap_text[i]), "%d", caps[i] < 0 ? 0 : caps[i]);
        args[n + 2 + i] = cap_text[i];
    }
    args[n] = attempt_id;
    args[n + 1] = ttl;
    redisReply *reply = NULL;
    int rc = redis_script_run(r, TAKE_LUA, NULL, true, (int)n, (int)(2 * n + 2), args, &reply, NULL,
                              errbuf, errlen);
    if (rc)
        return rc;
    if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0 || (size_t)reply->integer > n)
        rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "redis caller-ID pool: unexpected answer");
    else
        *taken = (int)reply->integer - 1;
    freeReplyObject(reply);
    return rc;
}

int callerday_release(redis_t *r, const char *key, const char *attempt_id, char *errbuf,
                      size_t errlen)
{
    return redis_srem(r, key, attempt_id, errbuf, errlen);
}

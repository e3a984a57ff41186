#include "callslots.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * KEYS[1] the set; ARGV: attempt id, now, period, cap, ttl ms, times max.
 * Answers {1} when the attempt holds a slot, else {0, score, score, ...}:
 * the newest counting calls, newest first. A call counts while its time is
 * after now - period (ZREMRANGEBYSCORE drops those at or before it), as
 * freqcap_check() counts.
 */
static const char TAKE_LUA[] =
    "local now = tonumber(ARGV[2]) "
    "redis.call('zremrangebyscore', KEYS[1], '-inf', now - tonumber(ARGV[3])) "
    "if redis.call('zscore', KEYS[1], ARGV[1]) then return {1} end "
    "if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[4]) then "
    "  local newest = redis.call('zrevrange', KEYS[1], 0, tonumber(ARGV[6]) - 1, 'withscores') "
    "  local out = {0} "
    "  for i = 2, #newest, 2 do out[#out + 1] = newest[i] end "
    "  return out "
    "end "
    "redis.call('zadd', KEYS[1], now, ARGV[1]) "
    "redis.call('pexpire', KEYS[1], ARGV[5]) "
    "return {1}";

/*
 * KEYS[1] the set; ARGV: attempt id, at, ttl ms. Moves the attempt's score
 * to at when later (nothing when it holds no slot), and makes the key live
 * at least ttl ms more.
 */
static const char PLACED_LUA[] = "local score = redis.call('zscore', KEYS[1], ARGV[1]) "
                                 "if not score then return 0 end "
                                 "if tonumber(ARGV[2]) > tonumber(score) then "
                                 "  redis.call('zadd', KEYS[1], ARGV[2], ARGV[1]) "
                                 "end "
                                 "if redis.call('pttl', KEYS[1]) < tonumber(ARGV[3]) then "
                                 "  redis.call('pexpire', KEYS[1], ARGV[3]) "
                                 "end "
                                 "return 1";

/* Scores of a reply's elements from first, step apart, newest first, into
 * out oldest first. */
static int times_from_reply(const redisReply *reply, size_t first, size_t step,
                            callslots_answer_t *out, char *errbuf, size_t errlen)
{
    size_t n = 0;
    for (size_t i = first; i < reply->elements && n < CALLSLOTS_TIMES_MAX; i += step) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "redis call slots: a score of type %d",
                           e->type);
        n++;
    }
    out->n_times = n;
    size_t k = 0;
    for (size_t i = first; k < n; i += step, k++)
        out->times_us[n - 1 - k] = (int64_t)llround(strtod(reply->element[i]->str, NULL));
    return OD_OK;
}

int callslots_take(redis_t *r, const char *key, const char *attempt_id, int cap, int64_t now_us,
                   int64_t period_us, int64_t ttl_ms, callslots_answer_t *out, char *errbuf,
                   size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char now[24], period[24], cap_text[12], ttl[24], max[12];
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    snprintf(period, sizeof(period), "%" PRId64, period_us);
    snprintf(cap_text, sizeof(cap_text), "%d", cap);
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_ms < 1 ? 1 : ttl_ms);
    snprintf(max, sizeof(max), "%d", CALLSLOTS_TIMES_MAX);
    const char *args[] = {key, attempt_id, now, period, cap_text, ttl, max};
    redisReply *reply = NULL;
    int rc = redis_script_run(r, TAKE_LUA, NULL, true, 1, 7, args, &reply, NULL, errbuf, errlen);
    if (rc)
        return rc;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        rc =
            od_fail(errbuf, errlen, OD_ERR_INTERNAL, "redis call slots %s: unexpected answer", key);
    } else if (reply->element[0]->integer == 1) {
        out->taken = true;
    } else {
        rc = times_from_reply(reply, 1, 1, out, errbuf, errlen);
    }
    freeReplyObject(reply);
    return rc;
}

int callslots_placed(redis_t *r, const char *key, const char *attempt_id, int64_t at_us,
                     int64_t ttl_ms, char *errbuf, size_t errlen)
{
    char at[24], ttl[24];
    snprintf(at, sizeof(at), "%" PRId64, at_us);
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_ms < 1 ? 1 : ttl_ms);
    const char *args[] = {key, attempt_id, at, ttl};
    redisReply *reply = NULL;
    int rc = redis_script_run(r, PLACED_LUA, NULL, true, 1, 4, args, &reply, NULL, errbuf, errlen);
    if (rc)
        return rc;
    if (reply->type != REDIS_REPLY_INTEGER)
        rc =
            od_fail(errbuf, errlen, OD_ERR_INTERNAL, "redis call slots %s: unexpected answer", key);
    freeReplyObject(reply);
    return rc;
}

int callslots_release(redis_t *r, const char *key, const char *attempt_id, char *errbuf,
                      size_t errlen)
{
    const char *argv[] = {"ZREM", key, attempt_id};
    redisReply *reply = NULL;
    int rc = redis_command_argv(r, true, 3, argv, NULL, &reply, errbuf, errlen);
    if (rc == OD_OK)
        freeReplyObject(reply);
    return rc;
}

int callslots_read(redis_t *r, const char *key, int64_t since_us, callslots_answer_t *out,
                   char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char since[26], max[12];
    snprintf(since, sizeof(since), "(%" PRId64, since_us);
    snprintf(max, sizeof(max), "%d", CALLSLOTS_TIMES_MAX);
    const char *argv[] = {"ZREVRANGEBYSCORE", key, "+inf", since, "WITHSCORES", "LIMIT", "0", max};
    redisReply *reply = NULL;
    int rc = redis_command_argv(r, true, 8, argv, NULL, &reply, errbuf, errlen);
    if (rc)
        return rc;
    if (reply->type != REDIS_REPLY_ARRAY)
        rc =
            od_fail(errbuf, errlen, OD_ERR_INTERNAL, "redis call slots %s: unexpected answer", key);
    else
        rc = times_from_reply(reply, 1, 2, out, errbuf, errlen);
    freeReplyObject(reply);
    return rc;
}

/*
 * clock_sync.c — the dialer's clock kept to Redis's (clock_sync.h).
 */
#include "clock_sync.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"

/* Redis's TIME answer (seconds, microseconds) in microseconds. */
static bool time_reply_us(const redisReply *r, int64_t *out)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING)
        return false;
    char *end0, *end1;
    long long s = strtoll(r->element[0]->str, &end0, 10);
    long long us = strtoll(r->element[1]->str, &end1, 10);
    if (*end0 || *end1 || s < 0 || us < 0 || us >= 1000000)
        return false;
    *out = (int64_t)s * OD_USEC_PER_SEC + us;
    return true;
}

/* One TIME round trip: false when Redis failed or answered too slowly. */
static bool sample(clock_sync_t *cs, int64_t *rtt_out, int64_t *offset_out)
{
    const char *argv[] = {"TIME"};
    redisReply *reply = NULL;
    char err[256];
    int64_t before = od_clock_host_us(cs->clk);
    int rc = redis_command_argv(cs->lr->redis, true, 1, argv, NULL, &reply, err, sizeof(err));
    int64_t after = od_clock_host_us(cs->clk);
    loop_redis_result(cs->lr, rc);
    int64_t shared = 0;
    bool ok = rc == OD_OK && time_reply_us(reply, &shared) &&
              od_clock_offset_estimate(before, shared, after, CLOCK_SYNC_MAX_RTT_MS * 1000LL,
                                       CLOCK_SYNC_DEADBAND_MS * 1000LL, offset_out);
    freeReplyObject(reply);
    *rtt_out = after - before;
    return ok;
}

void clock_sync_tick(clock_sync_t *cs)
{
    int64_t now = od_clock_real_us();
    if (now < cs->next_real_us)
        return;
    cs->next_real_us = now + CLOCK_SYNC_RETRY_MS * 1000LL;
    int64_t best_rtt = INT64_MAX, offset = 0;
    for (int i = 0; i < CLOCK_SYNC_SAMPLES; i++) {
        int64_t rtt, off;
        if (sample(cs, &rtt, &off) && rtt < best_rtt) {
            best_rtt = rtt;
            offset = off;
        }
    }
    if (best_rtt == INT64_MAX)
        return; /* the last correction stands; try again soon */
    if (llabs(offset - od_clock_correction_us(cs->clk)) >= CLOCK_SYNC_WARN_MS * 1000LL)
        log_warn("clock", "this host's clock is %" PRId64 " ms %s Redis's: correcting it",
                 (int64_t)(llabs(offset) / 1000), offset > 0 ? "behind" : "ahead of");
    od_clock_correct(cs->clk, offset);
    metrics_gauge_set(cs->offset_ms, (double)offset / 1000.0);
    atomic_store(&cs->synced, true);
    cs->next_real_us = now + CLOCK_SYNC_EVERY_MS * 1000LL;
}

#include "checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caller_id.h"
#include "callerday.h"
#include "callslots.h"
#include "freqcap.h"
#include "log.h"
#include "uuid.h"

static void verdict(check_result_t *out, check_verdict_t v, const char *fmt, ...) OD_PRINTF(3, 4);

static void verdict(check_result_t *out, check_verdict_t v, const char *fmt, ...)
{
    out->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
    va_end(ap);
}

void checks_line_key(const checks_env_t *env, const char *e164, char out[RKEYS_KEY_MAX])
{
    rkeys_line(env->prefix, e164, out);
}

/* Checks 1 and 2. true when both pass; otherwise out is set. */
static bool window_and_campaign(const checks_env_t *env, const dialjob_t *job, check_result_t *out)
{
    char err[256];
    int64_t now = od_clock_now_us(env->clk);
    if (now >= job->not_after_us) {
        char at[40], until[40];
        od_time_format_rfc3339(now, at, sizeof(at));
        od_time_format_rfc3339(job->not_after_us, until, sizeof(until));
        out->reason = MODEL_SKIP_OUTSIDE_WINDOW;
        verdict(out, CHECK_SKIP, "the calling window closed at %s (now %s)", until, at);
        return false;
    }
    char key[RKEYS_KEY_MAX];
    rkeys_campaign(env->prefix, job->campaign_id, key);
    char *status = NULL;
    int rc = redis_get(env->redis, key, &status, NULL, err, sizeof(err));
    if (rc == OD_ERR_NOT_FOUND) {
        out->reason = MODEL_SKIP_CAMPAIGN_NOT_RUNNING;
        verdict(out, CHECK_SKIP, "campaign %s has no status in Redis (not started)",
                job->campaign_id);
        return false;
    }
    if (rc) {
        verdict(out, CHECK_RETRY, "redis: campaign status: %s", err);
        return false;
    }
    bool running = strcmp(status, "in_progress") == 0;
    if (!running) {
        out->reason = MODEL_SKIP_CAMPAIGN_NOT_RUNNING;
        verdict(out, CHECK_SKIP, "campaign %s is %.40s", job->campaign_id, status);
    }
    free(status);
    return running;
}

checks_key_t checks_attempt_key_decide(int set_rc, int get_rc, const char *value, const char *token)
{
    if (set_rc == OD_OK)
        return CHECKS_KEY_OURS;
    if (set_rc == OD_ERR_CONFLICT)
        return CHECKS_KEY_TAKEN;
    if (get_rc != OD_OK)
        return CHECKS_KEY_UNKNOWN;
    return strcmp(value, token) == 0 ? CHECKS_KEY_OURS : CHECKS_KEY_TAKEN;
}

/* Step 4, and a refusal at 1-3 (checks.h): SET NX the attempt key. Sets
 * st->holds_attempt_key when it is ours; otherwise out says DUPLICATE or
 * RETRY (a refusal's SKIP is overwritten then: nothing is published). */
static void take_attempt(const checks_env_t *env, const dialjob_t *job, check_state_t *st,
                         check_result_t *out)
{
    char key[RKEYS_KEY_MAX], err[256], err2[256] = "";
    rkeys_attempt(env->prefix, job->attempt_id, key);
    if (!st->attempt_token[0]) {
        char uuid[UUID_STR_LEN];
        uuid_str_new(uuid);
        snprintf(st->attempt_token, sizeof(st->attempt_token), "%.*s/%s", CHECKS_TOKEN_ID_MAX,
                 env->instance_id, uuid);
    }
    int rc =
        redis_set_nx(env->redis, key, st->attempt_token, CHECKS_ATTEMPT_TTL_MS, err, sizeof(err));
    char *value = NULL;
    int rc2 = OD_ERR_NOT_FOUND;
    if (rc != OD_OK && rc != OD_ERR_CONFLICT) /* the SET may or may not have happened */
        rc2 = redis_get(env->redis, key, &value, NULL, err2, sizeof(err2));
    switch (checks_attempt_key_decide(rc, rc2, value, st->attempt_token)) {
    case CHECKS_KEY_OURS:
        st->holds_attempt_key = true;
        break;
    case CHECKS_KEY_TAKEN:
        /* The whole token fits the detail (a cut one would name no job). */
        verdict(out, CHECK_DUPLICATE, "attempt %s was dialed or skipped already (or fenced)%s%.*s",
                job->attempt_id, value ? ": taken by " : "", CHECKS_TOKEN_MAX - 1,
                value ? value : "");
        break;
    case CHECKS_KEY_UNKNOWN:
        verdict(out, CHECK_RETRY, "redis: attempt key: %s", rc2 == OD_ERR_NOT_FOUND ? err : err2);
        break;
    }
    free(value);
}

/* Step 5: SET NX with the attempt id as the token; a lock already holding
 * our token (a retry after an unknown outcome) is ours. */
static void take_line(const checks_env_t *env, const dialjob_t *job, int64_t lease_ms,
                      check_state_t *st, check_result_t *out)
{
    char key[RKEYS_KEY_MAX], err[256];
    checks_line_key(env, job->e164, key);
    int rc = redis_set_nx(env->redis, key, job->attempt_id, lease_ms, err, sizeof(err));
    if (rc == OD_OK) {
        st->holds_line = true;
        return;
    }
    char *holder = NULL;
    char err2[256];
    int rc2 = redis_get(env->redis, key, &holder, NULL, err2, sizeof(err2));
    if (rc2 == OD_OK && strcmp(holder, job->attempt_id) == 0) {
        st->holds_line = true;
    } else if (rc == OD_ERR_CONFLICT && rc2 == OD_OK) {
        out->reason = MODEL_SKIP_NUMBER_BUSY;
        verdict(out, CHECK_SKIP, "another call to %s is in flight (attempt %.40s)", job->e164,
                holder);
    } else if (rc == OD_ERR_CONFLICT && rc2 == OD_ERR_NOT_FOUND) {
        /* Released between our SET and GET: try again at once next time. */
        verdict(out, CHECK_RETRY, "line lock of %s changed hands during the check", job->e164);
    } else {
        verdict(out, CHECK_RETRY, "redis: line lock: %s", rc ? err : err2);
    }
    free(holder);
}

/* The slots' key of the job's number. */
static void slot_key(const checks_env_t *env, const dialjob_t *job, char out[RKEYS_KEY_MAX])
{
    rkeys_calls(env->prefix, job->account_id, job->e164, out);
}

/* The set's lifetime from now: a period of real time and a minute more. */
static int64_t slot_ttl_ms(const checks_env_t *env)
{
    return od_clock_real_duration_us(env->clk, FREQCAP_PERIOD_US) / 1000 + 60000;
}

/* Step 6. The set's key lives a period of real time (the campaign clock
 * may run faster) and a minute more after its last slot. */
static void take_slot(const checks_env_t *env, const dialjob_t *job, check_state_t *st,
                      check_result_t *out)
{
    char key[RKEYS_KEY_MAX], err[256];
    slot_key(env, job, key);
    int64_t now = od_clock_now_us(env->clk);
    int64_t ttl_ms = slot_ttl_ms(env);
    int cap = job->calls_per_24h > FREQCAP_TIMES_MAX ? FREQCAP_TIMES_MAX : (int)job->calls_per_24h;
    callslots_answer_t ans;
    int rc = callslots_take(env->redis, key, job->attempt_id, cap, now, FREQCAP_PERIOD_US, ttl_ms,
                            &ans, err, sizeof(err));
    if (rc) {
        verdict(out, CHECK_RETRY, "redis: frequency cap: %s", err);
        return;
    }
    if (ans.taken) {
        st->holds_slot = true;
        return;
    }
    freqcap_verdict_t v;
    freqcap_check(cap, ans.times_us, ans.n_times, now, &v);
    char until[40];
    od_time_format_rfc3339(v.clears_us, until, sizeof(until));
    out->reason = MODEL_SKIP_FREQUENCY_CAP;
    verdict(out, CHECK_SKIP, "%s had %d calls in the last 24 h (cap %d); the next is allowed at %s",
            job->e164, v.counted, cap, until);
}

void checks_slot_placed(const checks_env_t *env, const dialjob_t *job, const check_state_t *st)
{
    if (!st->holds_slot)
        return;
    char key[RKEYS_KEY_MAX], err[256];
    slot_key(env, job, key);
    if (callslots_placed(env->redis, key, job->attempt_id, od_clock_now_us(env->clk),
                         slot_ttl_ms(env), err, sizeof(err)))
        log_warn("frequency_cap",
                 "attempt %s: slot not moved to the time the call was placed (it counts from "
                 "its check): %s",
                 job->attempt_id, err);
}

/* A day's set lives a day and a half of real time after its last call:
 * it is read only on its own local day, and the margin covers a clock
 * a few hours off. */
#define CALLER_DAY_TTL_US (36LL * 3600 * 1000000)

/* The round_robin turn (an INCR per campaign: spreading needs no more
 * than a counter, and the cap is judged by the take that follows). */
static int caller_turn(const checks_env_t *env, const dialjob_t *job, uint64_t *turn, char *errbuf,
                       size_t errlen)
{
    char key[RKEYS_KEY_MAX];
    rkeys_caller_turn(env->prefix, job->campaign_id, key);
    const char *argv[] = {"INCR", key};
    redisReply *reply = NULL;
    int rc = redis_command_argv(env->redis, false, 2, argv, NULL, &reply, errbuf, errlen);
    if (rc)
        return rc;
    *turn = reply->type == REDIS_REPLY_INTEGER ? (uint64_t)reply->integer : 0;
    freeReplyObject(reply);
    return OD_OK;
}

/* Step 7: the strategy's order (caller_id.h), then the first number below
 * its daily cap, taken in one script (callerday.h). A zone the rule cannot
 * read (the API checks every zone; defence only) counts days in UTC. */
static void take_caller(const checks_env_t *env, const dialjob_t *job, check_state_t *st,
                        check_result_t *out)
{
    size_t n = job->n_caller_ids < CALLER_ID_POOL_MAX ? job->n_caller_ids : CALLER_ID_POOL_MAX;
    st->caller_index = -1;
    st->caller_key[0] = '\0';
    if (n == 0) {
        st->holds_caller = true; /* the job's own caller_id */
        return;
    }
    char err[256];
    caller_id_strategy_t strategy = CALLER_ID_SINGLE; /* the codec checked the name */
    if (caller_id_strategy_parse(job->caller_id_strategy, &strategy, err, sizeof(err)))
        log_warn("caller_id", "attempt %s: %s; single", job->attempt_id, err);
    const char *pool[CALLER_ID_POOL_MAX];
    for (size_t i = 0; i < n; i++)
        pool[i] = job->caller_ids[i]->e164;
    caller_id_callee_t callee = {.e164 = job->e164,
                                 .region = job->legal ? job->legal->jurisdiction : NULL,
                                 .sticky = job->sticky_caller_id,
                                 .lead_id = job->lead_id};
    if (strategy == CALLER_ID_ROUND_ROBIN &&
        caller_turn(env, job, &callee.turn, err, sizeof(err))) {
        verdict(out, CHECK_RETRY, "redis: caller-ID turn: %s", err);
        return;
    }
    size_t order[CALLER_ID_POOL_MAX];
    size_t k = caller_id_order(strategy, pool, n, &callee, order);
    int64_t now = od_clock_now_us(env->clk);
    char keys[CALLER_ID_POOL_MAX][RKEYS_KEY_MAX];
    const char *key_ptrs[CALLER_ID_POOL_MAX];
    int caps[CALLER_ID_POOL_MAX];
    int64_t wakes[CALLER_ID_POOL_MAX];
    bool resting[CALLER_ID_POOL_MAX];
    for (size_t j = 0; j < k; j++) {
        const dialjob_caller_id_t *c = job->caller_ids[order[j]];
        /* An uncapped number never rests: its day (an ICU calendar) is
         * not needed, and the script never reads its key. */
        int64_t day = 0;
        wakes[order[j]] = now;
        if (c->daily_cap > 0 &&
            caller_id_day(c->timezone, now, &day, &wakes[order[j]], err, sizeof(err)) &&
            caller_id_day("UTC", now, &day, &wakes[order[j]], err, sizeof(err)))
            day = now / (24LL * 3600 * 1000000);
        rkeys_caller_day(env->prefix, job->account_id, c->e164, (long long)day, keys[j]);
        key_ptrs[j] = keys[j];
        caps[j] = (int)c->daily_cap;
        resting[order[j]] = true; /* read only when every number refused */
    }
    /* Without a capped number the first of the order is the pick (as the
     * script would answer): no Redis round trip for a job that needs none,
     * such as every job of the strategy single without a cap. */
    bool capped = false;
    for (size_t j = 0; j < k; j++)
        capped = capped || caps[j] > 0;
    int64_t ttl_ms = od_clock_real_duration_us(env->clk, CALLER_DAY_TTL_US) / 1000 + 60000;
    int taken = capped ? -1 : 0;
    if (capped && callerday_take(env->redis, key_ptrs, caps, k, job->attempt_id, ttl_ms, &taken,
                                 err, sizeof(err))) {
        verdict(out, CHECK_RETRY, "redis: caller-ID pool: %s", err);
        return;
    }
    if (taken >= 0) {
        st->holds_caller = true;
        st->caller_index = (int)order[taken];
        if (caps[taken] > 0)
            snprintf(st->caller_key, sizeof(st->caller_key), "%s", keys[taken]);
        return;
    }
    caller_id_pick_t pick;
    caller_id_pick(order, k, resting, wakes, &pick);
    char until[40];
    od_time_format_rfc3339(pick.wakes_us, until, sizeof(until));
    out->reason = MODEL_SKIP_CALLER_ID_EXHAUSTED;
    out->not_before_us = pick.wakes_us;
    verdict(out, CHECK_SKIP,
            "every number the %s strategy may call %s from is at its daily cap (%zu); the first "
            "wakes at %s",
            caller_id_strategy_name(strategy), job->e164, k, until);
}

void checks_caller_id(const dialjob_t *job, const check_state_t *st, const char **e164,
                      const char **provider_phone_number_id)
{
    if (st->holds_caller && st->caller_index >= 0 && (size_t)st->caller_index < job->n_caller_ids) {
        const dialjob_caller_id_t *c = job->caller_ids[st->caller_index];
        *e164 = c->e164;
        *provider_phone_number_id = c->provider_phone_number_id ? c->provider_phone_number_id : "";
        return;
    }
    *e164 = job->caller_id;
    *provider_phone_number_id = job->provider_phone_number_id ? job->provider_phone_number_id : "";
}

void checks_slot_release(const checks_env_t *env, const dialjob_t *job, check_state_t *st)
{
    char key[RKEYS_KEY_MAX], err[256];
    if (st->holds_caller && st->caller_key[0]) {
        if (callerday_release(env->redis, st->caller_key, job->attempt_id, err, sizeof(err)))
            log_warn("caller_id", "attempt %s: the number's call not given back (counts today): %s",
                     job->attempt_id, err);
        else
            st->caller_key[0] = '\0';
    }
    if (!st->holds_slot)
        return;
    slot_key(env, job, key);
    if (callslots_release(env->redis, key, job->attempt_id, err, sizeof(err)))
        log_warn("frequency_cap", "attempt %s: slot not given back (counts until it ages out): %s",
                 job->attempt_id, err);
    else
        st->holds_slot = false;
}

void checks_run(const checks_env_t *env, const dialjob_t *job, int64_t lease_ms, check_state_t *st,
                check_result_t *out)
{
    memset(out, 0, sizeof(*out));
    char err[256];
    if (!st->holds_attempt_key) {
        if (!window_and_campaign(env, job, out)) {
            if (out->verdict == CHECK_SKIP)
                take_attempt(env, job, st, out);
            return;
        }
        char key[RKEYS_KEY_MAX];
        rkeys_dnc(env->prefix, job->account_id, key);
        bool listed = false;
        int rc = redis_sismember(env->redis, key, job->e164, &listed, err, sizeof(err));
        if (rc) {
            verdict(out, CHECK_RETRY, "redis: DNC set: %s", err);
            return;
        }
        if (listed) {
            out->reason = MODEL_SKIP_DNC;
            verdict(out, CHECK_SKIP, "%s is on the account's do-not-call list", job->e164);
            take_attempt(env, job, st, out);
            return;
        }
        take_attempt(env, job, st, out);
        if (!st->holds_attempt_key)
            return;
    }
    if (!st->holds_line) {
        take_line(env, job, lease_ms, st, out);
        if (!st->holds_line)
            return;
    }
    if (!st->holds_slot && job->calls_per_24h != DIALJOB_NO_FREQUENCY_CAP) {
        take_slot(env, job, st, out);
        if (!st->holds_slot)
            return;
    }
    if (!st->holds_caller) {
        take_caller(env, job, st, out);
        if (!st->holds_caller)
            return;
    }
    verdict(out, CHECK_DIAL, "ok");
}

void checks_recheck(const checks_env_t *env, const dialjob_t *job, check_result_t *out)
{
    memset(out, 0, sizeof(*out));
    if (window_and_campaign(env, job, out))
        verdict(out, CHECK_DIAL, "ok");
}

/*
 * A dialer dies with calls in flight whose webhooks then go nowhere; the
 * other dialer takes its calls over from the registry in Redis and records
 * every one of their results (services/dialer/registry.h).
 *
 * Two dialers share 40 jobs. Once every call is placed, dialer "tk-1" is
 * SIGKILLed: its calls end while nobody listens on its webhook URL, so the
 * simulator's messages about them fail. Within the heartbeat's expiry
 * "tk-2" must take them over, look each up and publish its real terminal
 * event (completed, as the rules make every call), release its line lock,
 * and remove tk-1 from the registry. When tk-2 stops cleanly it leaves
 * the registry empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "support.h"
#include "test_dialer_support.h"
#include "test_main.h"

#define ACCOUNT  "a0000000-0000-4000-8000-0000000000cc"
#define CAMPAIGN "c0000000-0000-4000-8000-0000000000cc"
#define JOBS     40

/* Calls of 3-4 s real time (x60): long enough to kill a dialer mid-call. */
static const char rules[] = "seed 9\n"
                            "ring 1s-2s\n"
                            "talk 180s-240s\n"
                            "cost-per-minute 10\n"
                            "default human:1\n";

static long long redis_int(ds_world_t *w, int argc, const char **argv)
{
    char err[256];
    redisReply *reply = NULL;
    if (redis_command_argv(w->redis, true, argc, argv, NULL, &reply, err, sizeof(err)))
        ds_fail("redis %s: %s", argv[0], err);
    long long v = reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    freeReplyObject(reply);
    return v;
}

/* How many of the jobs have their initiated event. */
static int initiated(ds_world_t *w, const ds_job_t *jobs)
{
    int n = 0;
    for (int i = 0; i < JOBS; i++)
        n += ds_count_status(w, jobs[i].attempt_id,
                             OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED) > 0;
    return n;
}

/* Whether the key exists. */
static bool key_exists(ds_world_t *w, const char *key)
{
    const char *argv[] = {"EXISTS", key};
    return redis_int(w, 2, argv) != 0;
}

static void test_dead_dialers_calls_taken_over(void **state)
{
    (void)state;
    ds_sim_t sim;
    int port1;
    ds_world_t *w = ds_world_running("dialer_takeover", CAMPAIGN, rules, &sim, &port1);
    int port2 = harness_free_port();
    ds_dialer_t dl[2];
    static const char *const env1[] = {"OUTDIAL_DIALER_INSTANCE_ID=tk-1", "OUTDIAL_LOG_LEVEL=warn",
                                       NULL};
    static const char *const env2[] = {"OUTDIAL_DIALER_INSTANCE_ID=tk-2", "OUTDIAL_LOG_LEVEL=warn",
                                       NULL};
    ds_dialer_start(&dl[0], &sim, port1, env1);
    ds_dialer_start(&dl[1], &sim, port2, env2);

    /* Both members share the jobs before they go out. */
    ds_wait_group(w, dl, 2, CAMPAIGN, ACCOUNT, "+155539999", 60000);

    ds_job_t jobs[JOBS];
    for (int i = 0; i < JOBS; i++) {
        char e164[20];
        snprintf(e164, sizeof(e164), "+1555300%04d", i);
        ds_job_init(w, &jobs[i], CAMPAIGN, ACCOUNT, e164);
        ds_job_produce(w, &jobs[i]);
    }
    ds_jobs_flush(w);
    HARNESS_WAIT(initiated(w, jobs) == JOBS, 30000, "every call to be placed");
    kill(dl[0].pid, SIGKILL);
    waitpid(dl[0].pid, NULL, 0);
    int64_t killed_at = harness_ms();

    /* Which calls the dead dialer placed: their attempt keys name it. */
    int of_killed = 0;
    for (int i = 0; i < JOBS; i++) {
        int held = ds_attempt_held_by(w, jobs[i].attempt_id, "tk-1");
        if (held < 0)
            fail_msg("attempt %s has no attempt key", jobs[i].attempt_id);
        of_killed += held;
    }
    print_message("%d of %d calls were placed by the killed dialer\n", of_killed, JOBS);
    assert_true(of_killed > 0);

    /* Every call's real result is recorded, the dead dialer's too. */
    for (int i = 0; i < JOBS; i++) {
        ds_event_t t = ds_wait_terminal(w, jobs[i].attempt_id, 60000);
        if (t.status != OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED)
            fail_msg("attempt %s ended with status %d, not completed", jobs[i].attempt_id,
                     t.status);
    }
    print_message("every result recorded %lld ms after the kill\n",
                  (long long)(harness_ms() - killed_at));
    double adopted = metric_value(port2, "outdial_dialer_calls_adopted_total");
    print_message("calls taken over by tk-2: %.0f\n", adopted);
    assert_true(adopted >= 1);
    assert_true(adopted <= of_killed);

    /* tk-1 is out of the registry, and every number's line is free. */
    char key[RKEYS_KEY_MAX];
    rkeys_inflight(w->redis_prefix, "tk-1", key);
    assert_false(key_exists(w, key));
    char dialers[RKEYS_KEY_MAX];
    rkeys_dialers(w->redis_prefix, dialers);
    const char *member1[] = {"SISMEMBER", dialers, "tk-1"};
    assert_int_equal(redis_int(w, 3, member1), 0);
    for (int i = 0; i < JOBS; i++) {
        char what[64];
        snprintf(what, sizeof(what), "the line of %s to be free", jobs[i].e164);
        rkeys_line(w->redis_prefix, jobs[i].e164, key);
        HARNESS_WAIT(!key_exists(w, key), 10000, what);
    }
    ds_sim_invariants_ok(&sim);

    /* A clean stop with nothing in flight leaves no trace. */
    assert_int_equal(WEXITSTATUS(harness_stop(dl[1].pid, SIGTERM)), 0);
    rkeys_inflight(w->redis_prefix, "tk-2", key);
    assert_false(key_exists(w, key));
    const char *card[] = {"SCARD", dialers};
    assert_int_equal(redis_int(w, 2, card), 0);

    ds_sim_stop(&sim);
    ds_world_free(w);
}

OD_TEST_MAIN(NULL, NULL, test_dead_dialers_calls_taken_over)

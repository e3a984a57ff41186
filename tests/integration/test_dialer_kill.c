/*
 * Three dialers share 2,000 dial jobs; one is killed with SIGKILL half-way.
 *
 * Every job must end in exactly one call or one skip; the simulator's log
 * must show no attempt dialed twice and no number with two calls at once.
 * The one exception is a job the killed dialer had taken (its attempt key
 * in Redis holds the killed dialer's instance id) but not yet placed: a
 * survivor that receives it again stays silent, as it must (it cannot know
 * whether the call was placed), and in the full system the scheduler's
 * recovery fences and closes that attempt (docs/scheduler.md). The test
 * proves every such silent job was taken by the killed dialer.
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

#define ACCOUNT  "a0000000-0000-4000-8000-0000000000bb"
#define CAMPAIGN "c0000000-0000-4000-8000-0000000000bb"
#define JOBS     2000
#define SHARED   100 /* the last SHARED jobs reuse earlier jobs' numbers */

/* Short calls on the scaled clock (x60): well under a second each. */
static const char rules[] = "seed 5\n"
                            "ring 1s-3s\n"
                            "talk 10s-40s\n"
                            "cost-per-minute 10\n"
                            "default human:3 busy:1 no-answer:1\n";

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Attempts that reached an end at the dialer: a call placed (initiated),
 * refused by the provider (failed) or refused before dialing (skipped). */
static size_t settled(ds_world_t *w, ds_job_t *jobs)
{
    size_t n = 0;
    for (int i = 0; i < JOBS; i++)
        if (ds_count_status(w, jobs[i].attempt_id,
                            OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED) ||
            ds_count_status(w, jobs[i].attempt_id, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_FAILED) ||
            ds_count_status(w, jobs[i].attempt_id, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED))
            n++;
    return n;
}

static void test_three_dialers_one_killed(void **state)
{
    (void)state;
    ds_world_t *w = ds_world_new("dialer_kill");
    ds_campaign_set(w, CAMPAIGN, "in_progress");
    int webhook_port = ds_free_port();
    ds_sim_t sim;
    ds_sim_start(&sim, rules, webhook_port);
    ds_dialer_t dl[3];
    static const char *const env1[] = {"OUTDIAL_DIALER_INSTANCE_ID=dialer-1",
                                       "OUTDIAL_LOG_LEVEL=warn", NULL};
    static const char *const env2[] = {"OUTDIAL_DIALER_INSTANCE_ID=dialer-2",
                                       "OUTDIAL_LOG_LEVEL=warn", NULL};
    static const char *const env3[] = {"OUTDIAL_DIALER_INSTANCE_ID=dialer-3",
                                       "OUTDIAL_LOG_LEVEL=warn", NULL};
    ds_dialer_start(&dl[0], &sim, webhook_port, env1);
    ds_dialer_start(&dl[1], &sim, ds_free_port(), env2);
    ds_dialer_start(&dl[2], &sim, ds_free_port(), env3);

    /* Let the group settle: one job through, then a few seconds for the
     * three members' rebalances. */
    ds_job_t warm;
    ds_job_init(w, &warm, CAMPAIGN, ACCOUNT, "+15552999999");
    ds_job_send(w, &warm);
    ds_wait_terminal(w, warm.attempt_id, 30000);
    ds_sleep_ms(4000);

    ds_job_t *jobs = calloc(JOBS, sizeof(*jobs));
    char numbers[JOBS - SHARED][20];
    for (int i = 0; i < JOBS; i++) {
        if (i < JOBS - SHARED)
            snprintf(numbers[i], sizeof(numbers[i]), "+1555200%04d", i);
        ds_job_init(w, &jobs[i], CAMPAIGN, ACCOUNT,
                    numbers[i < JOBS - SHARED ? i : i - (JOBS - SHARED)]);
        ds_job_produce(w, &jobs[i]);
    }
    ds_jobs_flush(w);

    int64_t deadline = harness_ms() + 60000;
    while (settled(w, jobs) < JOBS / 2 && harness_ms() < deadline)
        ds_sleep_ms(20);
    kill(dl[0].pid, SIGKILL);
    waitpid(dl[0].pid, NULL, 0);
    print_message("killed dialer-1 after %zu of %d jobs settled\n", settled(w, jobs), JOBS);

    /* The survivors take over the killed member's partitions after its
     * session times out (10 s); wait until nothing changes for 15 s. */
    size_t last = 0;
    int64_t quiet_since = harness_ms();
    deadline = harness_ms() + 120000;
    while (harness_ms() < deadline) {
        size_t now = settled(w, jobs);
        if (now != last) {
            last = now;
            quiet_since = harness_ms();
        }
        if (now == JOBS || harness_ms() - quiet_since > 15000)
            break;
        ds_sleep_ms(250);
    }

    /* The simulator's side: calls per attempt. */
    json_t *log = ds_get_json(sim.port, "/sim/calls");
    json_t *calls = json_object_get(log, "calls");
    size_t n_calls = json_array_size(calls), placed = 0;
    const char **placed_ids = calloc(n_calls ? n_calls : 1, sizeof(*placed_ids));
    for (size_t i = 0; i < n_calls; i++) {
        json_t *c = json_array_get(calls, i);
        if (json_is_true(json_object_get(c, "placed")))
            placed_ids[placed++] = json_string_value(json_object_get(c, "attempt_id"));
    }
    qsort(placed_ids, placed, sizeof(*placed_ids), cmp_str);
    for (size_t i = 1; i < placed; i++)
        if (placed_ids[i] && placed_ids[i - 1] && strcmp(placed_ids[i], placed_ids[i - 1]) == 0)
            fail_msg("attempt %s dialed twice", placed_ids[i]);
    ds_sim_invariants_ok(&sim);

    size_t one_call = 0, one_skip = 0, refused = 0, taken_by_killed = 0;
    for (int i = 0; i < JOBS; i++) {
        const char *id = jobs[i].attempt_id;
        bool call = bsearch(&id, placed_ids, placed, sizeof(*placed_ids), cmp_str) != NULL;
        size_t skips = ds_count_status(w, id, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED);
        size_t fails = ds_count_status(w, id, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_FAILED);
        if (call && skips)
            fail_msg("job %d (attempt %s) was both called and skipped", i, id);
        if (skips > 1)
            fail_msg("job %d (attempt %s) skipped %zu times", i, id, skips);
        if (call) {
            one_call++;
        } else if (skips) {
            one_skip++;
        } else if (fails) {
            refused++; /* the provider refused the POST: no call */
        } else {
            /* Neither: only allowed when the killed dialer holds its key. */
            char key[RKEYS_KEY_MAX], err[256];
            char *holder = NULL;
            size_t len = 0;
            rkeys_attempt(w->redis_prefix, id, key);
            if (redis_get(w->redis, key, &holder, &len, err, sizeof(err)) != OD_OK ||
                strcmp(holder, "dialer-1") != 0)
                fail_msg("job %d (attempt %s) ended in neither a call nor a skip, and its "
                         "attempt key is held by %s",
                         i, id, holder ? holder : "nobody");
            free(holder);
            taken_by_killed++;
        }
    }
    print_message("jobs=%d one_call=%zu one_skip=%zu provider_refused=%zu "
                  "taken_by_killed_dialer=%zu\n",
                  JOBS, one_call, one_skip, refused, taken_by_killed);
    assert_int_equal(one_call + one_skip + refused + taken_by_killed, JOBS);
    /* Killed half-way, the dead dialer cannot have been holding more than
     * it had in flight. */
    assert_true(taken_by_killed < JOBS / 4);

    assert_int_equal(WEXITSTATUS(harness_stop(dl[1].pid, SIGTERM)), 0);
    assert_int_equal(WEXITSTATUS(harness_stop(dl[2].pid, SIGTERM)), 0);
    free(placed_ids);
    json_decref(log);
    free(jobs);
    ds_sim_stop(&sim);
    ds_world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_dialers_one_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Load check of one dialer: 2,000 calls in flight at once through one
 * outdial-dialer against outdial-voice-sim (instant ring, 20 minutes of
 * talk = 20 s real at x60), with the stack's Kafka and Redis. Reports, in
 * the test log:
 *   - jobs/s from the first job produced to the last "initiated" event
 *   - calls in flight as the dialer and the simulator count them
 *   - the dialer's peak and current resident set (VmHWM, VmRSS from
 *     /proc/<pid>/status; an ASan build, so several times a release one)
 * and checks that every call ends with one terminal event and that the
 * simulator saw no double dial and no overlapping calls.
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

#define ACCOUNT  "a0000000-0000-4000-8000-0000000000aa"
#define CAMPAIGN "c0000000-0000-4000-8000-0000000000aa"
#define CALLS    2000

static const char rules[] = "seed 3\n"
                            "ring 0\n"
                            "talk 20min\n"
                            "cost-per-minute 10\n"
                            "default human\n";

/* Attempts (of ids) with at least one event of status; ids must be sorted. */
static size_t attempts_with(ds_world_t *w, int status, char (*ids)[UUID_STR_LEN], size_t n)
{
    size_t found = 0;
    char *seen = calloc(n, 1);
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n_events; i++) {
        if (w->events[i].status != status)
            continue;
        char(*hit)[UUID_STR_LEN] = bsearch(w->events[i].attempt_id, ids, n, UUID_STR_LEN,
                                           (int (*)(const void *, const void *))strcmp);
        if (hit && !seen[hit - ids]) {
            seen[hit - ids] = 1;
            found++;
        }
    }
    pthread_mutex_unlock(&w->mu);
    free(seen);
    return found;
}

static size_t events_with(ds_world_t *w, int status)
{
    size_t n = 0;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n_events; i++)
        n += w->events[i].status == status;
    pthread_mutex_unlock(&w->mu);
    return n;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_two_thousand_calls_in_flight(void **state)
{
    (void)state;
    ds_sim_t sim;
    int port;
    ds_world_t *w = ds_world_running("dialer_load", CAMPAIGN, rules, &sim, &port);
    static const char *const env[] = {"OUTDIAL_DIALER_MAX_INFLIGHT=2000", "OUTDIAL_LOG_LEVEL=warn",
                                      NULL};
    ds_dialer_t dl;
    ds_dialer_start(&dl, &sim, port, env);
    /* One call first, so that the dialer's consumer has its partitions
     * before the clock starts. */
    ds_job_t warm;
    ds_job_init(w, &warm, CAMPAIGN, ACCOUNT, "+15551009999");
    warm.max_call_duration_s = 3600;
    ds_job_send(w, &warm);
    int64_t until = harness_ms() + 30000;
    while (ds_count_status(w, warm.attempt_id, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED) ==
               0 &&
           harness_ms() < until)
        harness_sleep_ms(20);
    long hwm0 = 0, rss0 = 0;
    ds_rss_kb(dl.pid, &hwm0, &rss0);

    ds_job_t *jobs = calloc(CALLS, sizeof(*jobs));
    char(*ids)[UUID_STR_LEN] = calloc(CALLS, UUID_STR_LEN);
    int64_t t0 = harness_ms();
    for (int i = 0; i < CALLS; i++) {
        ds_job_initf(w, &jobs[i], CAMPAIGN, ACCOUNT, "+1555100%04d", i);
        jobs[i].max_call_duration_s = 3600;
        ds_job_produce(w, &jobs[i]);
        memcpy(ids[i], jobs[i].attempt_id, UUID_STR_LEN);
    }
    ds_jobs_flush(w);
    qsort(ids, CALLS, UUID_STR_LEN, cmp_id);
    int64_t produced = harness_ms() - t0;

    int64_t deadline = harness_ms() + 60000;
    size_t initiated = 0;
    while ((initiated = attempts_with(w, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED, ids,
                                      CALLS)) < CALLS &&
           harness_ms() < deadline)
        harness_sleep_ms(50);
    int64_t all_placed = harness_ms() - t0;
    if (initiated < CALLS)
        fail_msg("only %zu of %d calls initiated within 60 s", initiated, CALLS);
    /* The ringing and in-progress webhooks of 2,000 calls. */
    while (events_with(w, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS) < CALLS + 1 &&
           harness_ms() < deadline)
        harness_sleep_ms(50);
    int64_t all_answered = harness_ms() - t0;

    json_t *stats = ds_get_json(sim.port, "/sim/stats");
    json_int_t sim_in_flight = json_integer_value(json_object_get(stats, "in_flight"));
    json_int_t sim_max = json_integer_value(json_object_get(stats, "max_concurrent_seen"));
    json_decref(stats);
    double tracked = metric_value(dl.port, "outdial_dialer_calls_in_flight");
    long hwm = 0, rss = 0;
    ds_rss_kb(dl.pid, &hwm, &rss);
    print_message("load: %d jobs produced in %lld ms; all initiated after %lld ms (%.0f jobs/s); "
                  "all answered after %lld ms\n",
                  CALLS, (long long)produced, (long long)all_placed,
                  CALLS * 1000.0 / (double)(all_placed > 0 ? all_placed : 1),
                  (long long)all_answered);
    print_message("load: calls in flight: simulator %lld (max seen %lld), dialer tracking %.0f\n",
                  (long long)sim_in_flight, (long long)sim_max, tracked);
    print_message("load: dialer RSS: VmHWM %ld kB, VmRSS %ld kB (idle before: %ld kB)\n", hwm, rss,
                  rss0);
    assert_true(sim_in_flight >= CALLS - 10); /* a few may have ended: talk is 20 min */
    assert_true(tracked >= CALLS - 10);

    /* Every call ends once, with its report (20 s real of talk). */
    deadline = harness_ms() + 60000;
    size_t ended = 0;
    while ((ended = attempts_with(w, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED, ids, CALLS)) <
               CALLS &&
           harness_ms() < deadline)
        harness_sleep_ms(100);
    print_message("load: %zu calls completed after %lld ms\n", ended,
                  (long long)(harness_ms() - t0));
    assert_int_equal(ended, CALLS);
    assert_int_equal(events_with(w, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED), CALLS + 1);
    assert_int_equal(events_with(w, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED), 0);
    ds_sim_invariants_ok(&sim);
    ds_rss_kb(dl.pid, &hwm, &rss);
    print_message("load: dialer RSS after the calls ended: VmHWM %ld kB, VmRSS %ld kB\n", hwm, rss);

    int status = harness_stop(dl.pid, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ds_sim_stop(&sim);
    ds_world_free(w);
    free(jobs);
    free(ids);
}

OD_TEST_MAIN(NULL, NULL, test_two_thousand_calls_in_flight)

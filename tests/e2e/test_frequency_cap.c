/*
 * End to end: an account's frequency cap holds across campaigns, through
 * the real services (API, scheduler, importer, three dialers) and the
 * voice simulator.
 *
 * The account allows 2 calls per number in any 24 hours. Two campaigns
 * each have a lead on the same number, which never answers (every call is
 * retried, 10 campaign minutes later, up to 5 retries): without the cap
 * the number would get a dozen calls within the first hours. The campaign
 * clock runs an hour per real second, so the test sees 30 hours.
 *
 *   - the API refuses a cap out of 1..50 and shows the one set;
 *   - in the first 24 hours after the first call the number gets exactly 2
 *     calls; the scheduler defers the waiting lead to the instant the first
 *     call ages out (its next_attempt_at, checked), and no attempt is used
 *     meanwhile;
 *   - after it the calls resume, never more than 2 in any 24 hours
 *     (outdial-audit's over_frequency_cap = 0, with every other count).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_support.h"
#include "test_main.h"

#define NUMBER "+13055550142"
#define H_US   (3600LL * 1000000)

static const char rules[] = "seed 17\n"
                            "ring no-answer 25s-40s\n"
                            "default no-answer\n";

static void cap_setting(const e2e_stack_t *st)
{
    e2e_resp_t r = e2e_api(st, "PATCH", "/v1/account", "{\"calls_per_24h\":0}");
    e2e_expect(&r, 400, "calls_per_24h 0");
    assert_string_equal(e2e_str(r.json, "error.field"), "calls_per_24h");
    e2e_resp_free(&r);
    r = e2e_api(st, "PATCH", "/v1/account", "{\"calls_per_24h\":51}");
    e2e_expect(&r, 400, "calls_per_24h 51");
    e2e_resp_free(&r);
    r = e2e_api(st, "PATCH", "/v1/account", "{\"calls_per_24h\":2}");
    e2e_expect(&r, 200, "calls_per_24h 2");
    assert_int_equal(e2e_int(r.json, "calls_per_24h"), 2);
    e2e_resp_free(&r);
}

static void test_frequency_cap_across_campaigns(void **state)
{
    (void)state;
    static e2e_stack_t st;
    e2e_opts_t opts = {
        .tag = "e2efcap", .rules = rules, .balance = 1000000, .clock_scale = 3600, .dialers = 3};
    e2e_stack_start(&st, &opts);
    cap_setting(&st);

    char assistant[37], campaigns[2][37], leads[2][37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    for (int k = 0; k < 2; k++) {
        e2e_campaign_create(&st, assistant,
                            E2E_WINDOW_ALWAYS ",\"max_retries\":5,\"retry_interval_minutes\":10",
                            campaigns[k]);
        e2e_lead_add(&st, campaigns[k], "{\"phone\":\"" NUMBER "\"}", leads[k]);
        e2e_campaign_must(&st, campaigns[k], "start");
    }

    /* Two calls, then the cap holds the number. */
    int64_t t[32];
    HARNESS_WAIT(e2e_sim_placed_times(&st, NUMBER, t, 32, NULL) >= 2, 60000,
                 "two calls to the number");
    int64_t first = t[0];
    /* Both leads wait: one (the one called last, or a skipped one) for the
     * first call to age out. Let 18 campaign hours pass. */
    e2e_sleep_until(&st, first + 18 * H_US);
    size_t n = e2e_sim_placed_times(&st, NUMBER, t, 32, NULL);
    if (n != 2)
        fail_msg("%zu calls to %s within 18 h of the first; the cap is 2", n, NUMBER);
    int attempts = 0;
    bool deferred_to_cap = false;
    for (int k = 0; k < 2; k++) {
        json_t *l = e2e_lead(&st, leads[k]);
        attempts += (int)e2e_int(l, "attempts");
        const char *next = e2e_str(l, "next_attempt_at");
        /* Waiting: rescheduled after its call, or still created when the
         * cap held it before its first call. */
        const char *status = e2e_str(l, "status");
        if (strcmp(status, "rescheduled") != 0 && strcmp(status, "created") != 0)
            fail_msg("lead %s is %s, not waiting", leads[k], status);
        if (next && next[0]) {
            int64_t at = e2e_utc_us(next);
            /* The slot's time is the dialer's clock when the provider
             * answered the create-call request: a few campaign seconds
             * after the simulator received the call, never before. */
            if (at >= first + 24 * H_US && at < first + 24 * H_US + 5 * 60 * 1000000LL)
                deferred_to_cap = true;
        }
        json_decref(l);
    }
    assert_int_equal(attempts, 2); /* the held lead used no attempt */
    if (!deferred_to_cap)
        fail_msg("no lead was deferred to the instant the first call ages out");

    /* Past 24 h the calls resume, two per 24 h. */
    HARNESS_WAIT(e2e_sim_placed_times(&st, NUMBER, t, 32, NULL) >= 3, 60000,
                 "a third call once the first aged out");
    n = e2e_sim_placed_times(&st, NUMBER, t, 32, NULL);
    assert_true(t[2] >= first + 24 * H_US - 5 * 60 * 1000000LL);
    for (size_t i = 2; i < n; i++)
        if (t[i] - t[i - 2] < 24 * H_US - 5 * 60 * 1000000LL)
            fail_msg("calls %zu and %zu to %s are less than 24 h apart with one between", i - 2, i,
                     NUMBER);

    e2e_campaign_must(&st, campaigns[0], "pause");
    e2e_campaign_must(&st, campaigns[1], "pause");
    /* A call under way at the pause ends and is recorded before the audit. */
    HARNESS_WAIT(!e2e_lead_in_flight(&st, leads[0]) && !e2e_lead_in_flight(&st, leads[1]), 60000,
                 "the last calls to be recorded");
    e2e_audit(&st, campaigns[0]);
    e2e_audit(&st, campaigns[1]);

    /* The audit counts a state's cap too: under a Florida cap of 1 (the
     * number is a Miami one), as the audit judges by the rules as they are
     * when it runs, the second call of every 24 h is over it. */
    e2e_resp_t r = e2e_api(&st, "PATCH", "/v1/account",
                           "{\"legal_profile\":\"us_states\",\"legal_overrides\":"
                           "[{\"code\":\"FL\",\"calls_per_24h\":1}]}");
    e2e_expect(&r, 200, "a Florida cap of 1");
    e2e_resp_free(&r);
    long over = e2e_audit_count(&st, campaigns[0], "over_frequency_cap");
    if (over < (long)n / 2)
        fail_msg("over_frequency_cap=%ld under a state cap of 1 for %zu calls, two per 24 h", over,
                 n);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_frequency_cap_across_campaigns)

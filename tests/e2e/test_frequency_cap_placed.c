/*
 * End to end: a call counts for its number's frequency cap from when the
 * provider got it, not from when the dialer took its slot, through the real
 * services and the voice simulator.
 *
 * The account allows 1 call per number in any 24 hours. The simulator takes
 * one call at a time (max-concurrent 1) and answers a second create-call
 * request 429 with Retry-After: 1 s, an hour of campaign time here (the
 * clock runs an hour per real second). Two leads on two numbers that never
 * answer are dialed at once: one call is placed, the other request is
 * refused and sent again an hour later, when the first call has ended. Its
 * slot was taken at the first request; the call was placed an hour after.
 *
 *   - the number whose first request was refused is called again only a
 *     full 24 hours after the call the provider got (outdial-audit's
 *     over_frequency_cap = 0, with every other count); counted from the
 *     slot, the second call came an hour early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_support.h"
#include "test_main.h"

#define H_US (3600LL * 1000000)

static const char rules[] = "seed 23\n"
                            "max-concurrent 1\n"
                            "ring no-answer 40m-45m\n"
                            "default no-answer\n";

static const char *const numbers[] = {"+13055550150", "+13055550151"};

static void test_cap_counts_from_placement(void **state)
{
    (void)state;
    static e2e_stack_t st;
    e2e_opts_t opts = {
        .tag = "e2efcapp", .rules = rules, .balance = 1000000, .clock_scale = 3600, .dialers = 2};
    e2e_stack_start(&st, &opts);
    e2e_resp_t r = e2e_api(&st, "PATCH", "/v1/account", "{\"calls_per_24h\":1}");
    e2e_expect(&r, 200, "calls_per_24h 1");
    e2e_resp_free(&r);

    char assistant[37], campaign[37], leads[2][37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    e2e_campaign_create(&st, assistant,
                        E2E_WINDOW_ALWAYS ",\"max_retries\":5,\"retry_interval_minutes\":10",
                        campaign);
    for (int k = 0; k < 2; k++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"phone\":\"%s\"}", numbers[k]);
        e2e_lead_add(&st, campaign, body, leads[k]);
    }
    e2e_campaign_must(&st, campaign, "start");

    /* One request refused, its call placed later. */
    int64_t t[2][16] = {{0}};
    size_t n[2] = {0}, refused[2] = {0};
    HARNESS_WAIT((n[0] = e2e_sim_placed_times(&st, numbers[0], t[0], 16, &refused[0])) >= 1 &&
                     (n[1] = e2e_sim_placed_times(&st, numbers[1], t[1], 16, &refused[1])) >= 1,
                 60000, "a call to each number");
    int late = refused[0] > 0 ? 0 : refused[1] > 0 ? 1 : -1;
    if (late < 0)
        fail_msg("no create-call request was refused: the test proves nothing");
    if (t[late][0] < t[1 - late][0] + H_US / 2)
        fail_msg("the refused number's call came %.1f min after the other's, not about an hour",
                 (double)(t[late][0] - t[1 - late][0]) / 60e6);

    /* Its second call: a full 24 hours after the first was placed. */
    int64_t first = t[late][0];
    HARNESS_WAIT(e2e_sim_placed_times(&st, numbers[late], t[late], 16, &refused[late]) >= 2, 90000,
                 "a second call to the number whose first request was refused");
    e2e_sleep_until(&st, first + 26 * H_US);
    e2e_campaign_must(&st, campaign, "pause");
    HARNESS_WAIT(!e2e_lead_in_flight(&st, leads[0]) && !e2e_lead_in_flight(&st, leads[1]), 60000,
                 "the last calls to be recorded");
    n[late] = e2e_sim_placed_times(&st, numbers[late], t[late], 16, &refused[late]);
    if (t[late][1] - t[late][0] < 24 * H_US)
        fail_msg("the second call to %s came %.2f h after the first, under the cap of 1 per 24 h",
                 numbers[late], (double)(t[late][1] - t[late][0]) / (double)H_US);
    e2e_audit(&st, campaign);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_cap_counts_from_placement)

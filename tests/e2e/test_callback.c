/*
 * End to end: callbacks the callee asks for, through the real services and
 * the voice simulator (docs/rules.md "Callbacks").
 *
 * The campaign calls 09:00-18:00 on weekdays in New York and names the
 * assistant's string post-call variable callback_at. On the first call
 * (the simulator's `data-first` lines):
 *   - ASKS_INSIDE asks for 11:00 the same day, without an offset (read in
 *     the lead's zone, New York): it is called at 11:00, not earlier,
 *     although the dialers were calling meanwhile (NO_ANSWER, never
 *     answering, is retried every 10 minutes in between);
 *   - ASKS_OUTSIDE asks for 19:30-04:00, after the window closes: it is
 *     called when the window opens next, Wednesday 09:00, and the lead says
 *     why the time moved (window).
 *   - ASKS_LATE_FL, a Miami number in a second campaign that calls
 *     08:00-21:00 on weekdays, asks for 20:30 the same day: the campaign's
 *     window is open then, but Florida's hours (08:00-20:00, the account
 *     runs the us_states profile: docs/compliance.md) are not, so it is
 *     called at Florida's next opening, Wednesday 08:00, and the lead says
 *     why (legal_hours).
 * No callback uses an attempt of the retry budget; each lead ends
 * answered with one attempt counted and two calls, the second marked as the
 * callback. The API refuses a callback_variable that is not one of the
 * assistant's string variables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "e2e_support.h"
#include "test_main.h"

#define ASKS_INSIDE  "+12125550191"
#define ASKS_OUTSIDE "+12125550192"
#define NO_ANSWER    "+12125550193"
#define ASKS_LATE_FL "+13055550194"

/* Tuesday 2026-03-10 in New York (EDT, UTC-4). */
#define TUE_0845 "2026-03-10T12:45:00Z"
#define TUE_1100 "2026-03-10T15:00:00Z"
#define TUE_1930 "2026-03-10T23:30:00Z"
#define TUE_2030 "2026-03-11T00:30:00Z"
#define WED_0800 "2026-03-11T12:00:00Z"
#define WED_0900 "2026-03-11T13:00:00Z"
#define LATE_US  (15LL * 60 * 1000000) /* a dispatch tick and a ring, with room */

static const char rules[] = "seed 19\n"
                            "ring 10s\n"
                            "ring no-answer 30s\n"
                            "talk human 1m\n"
                            "match +12125550193 no-answer\n"
                            "default human\n"
                            "data-first +12125550191 callback_at \"2026-03-10T11:00\"\n"
                            "data-first +12125550192 callback_at \"2026-03-10T19:30:00-04:00\"\n"
                            "data-first +13055550194 callback_at \"2026-03-10T20:30\"\n";

/* The time member (RFC 3339) of j at path, to the second, is want. */
static void expect_time(json_t *j, const char *path, const char *want)
{
    const char *got = e2e_str(j, path);
    if (!got || strncmp(got, want, 19) != 0)
        fail_msg("%s is %s, want %s", path, got ? got : "null", want);
}

/* A lead after its first call, waiting for the callback it asked for:
 * rescheduled, the callback pending, asked for asked_for and set for at,
 * moved for reason (NULL: not moved). The lead, for the caller's own
 * checks (caller decrefs). */
static json_t *expect_callback_pending(const e2e_stack_t *st, const char *lead_id,
                                       const char *asked_for, const char *at, const char *reason)
{
    e2e_wait_lead(st, lead_id, "rescheduled", NULL, 60000);
    json_t *l = e2e_lead(st, lead_id);
    assert_string_equal(e2e_str(l, "callback.status"), "pending");
    expect_time(l, "callback.asked_for", asked_for);
    expect_time(l, "callback.at", at);
    if (reason)
        assert_string_equal(e2e_str(l, "callback.reason"), reason);
    else
        assert_true(json_is_null(e2e_get(l, "callback.reason")));
    return l;
}

/* A lead after its callback: answered, one attempt counted, two calls and
 * the second the callback, placed at [want, want + LATE_US). */
static void expect_called_back(const e2e_stack_t *st, const char *lead_id, const char *e164,
                               const char *want)
{
    e2e_wait_lead(st, lead_id, "completed", "answered", 150000);
    json_t *l = e2e_lead(st, lead_id);
    assert_int_equal(e2e_int(l, "attempts"), 1);
    assert_string_equal(e2e_str(l, "callback.status"), "called");
    json_decref(l);
    json_t *calls = e2e_lead_calls(st, lead_id);
    assert_int_equal(json_array_size(calls), 2);
    assert_false(json_is_true(json_object_get(json_array_get(calls, 0), "callback")));
    assert_true(json_is_true(json_object_get(json_array_get(calls, 1), "callback")));
    json_decref(calls);
    int64_t at[4];
    assert_int_equal(e2e_sim_placed_times(st, e164, at, 4, NULL), 2);
    if (at[1] < e2e_utc_us(want) || at[1] >= e2e_utc_us(want) + LATE_US)
        fail_msg("%s called back at %lld, want %s (%lld) or just after", e164, (long long)at[1],
                 want, (long long)e2e_utc_us(want));
}

static void test_callback_placed_at_the_asked_time(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    /* 02:00 in New York, 20 campaign minutes per real second: the window
     * opens 21 s later (the stack's start under ASan and load takes some of
     * it); Wednesday 09:00 is 93 s away. */
    e2e_opts_t opts = {.tag = "e2ecallback",
                       .rules = rules,
                       .clock_start = "2026-03-10T06:00:00Z",
                       .clock_scale = 1200,
                       .balance = 1000000,
                       .dialers = 2};
    e2e_stack_start(&st, &opts);

    char assistant[37], campaign[37], inside[37], outside[37], no_answer[37];
    char late_campaign[37], late_fl[37];
    e2e_resp_t r = e2e_api(&st, "PATCH", "/v1/account", "{\"legal_profile\":\"us_states\"}");
    e2e_expect(&r, 200, "the us_states profile");
    e2e_resp_free(&r);
    static const char *const bad[] = {"\"callback_variable\":\"call_me\"",
                                      "\"callback_variable\":\"" E2E_GOAL "\""};
    e2e_assistant_with_schema(&st, "Callback bot",
                              "\"" E2E_GOAL "\":\"boolean\",\"callback_at\":\"string\"", assistant);
    e2e_campaign_refused_each(&st, assistant, "callback_variable", bad, 2);
    e2e_campaign_create(&st, assistant,
                        "\"window_start\":\"09:00\",\"window_end\":\"18:00\","
                        "\"allowed_days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
                        "\"max_retries\":5,\"retry_interval_minutes\":10,"
                        "\"callback_variable\":\"callback_at\"",
                        campaign);
    e2e_campaign_expect_str(&st, campaign, "callback_variable", "callback_at");
    e2e_lead_add(&st, campaign, "{\"phone\":\"" ASKS_INSIDE "\",\"name\":\"Ines\"}", inside);
    e2e_lead_add(&st, campaign, "{\"phone\":\"" ASKS_OUTSIDE "\",\"name\":\"Otto\"}", outside);
    e2e_lead_add(&st, campaign, "{\"phone\":\"" NO_ANSWER "\",\"name\":\"Nora\"}", no_answer);
    e2e_campaign_create(&st, assistant,
                        "\"window_start\":\"08:00\",\"window_end\":\"21:00\","
                        "\"allowed_days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
                        "\"callback_variable\":\"callback_at\"",
                        late_campaign);
    e2e_lead_add(&st, late_campaign, "{\"phone\":\"" ASKS_LATE_FL "\",\"name\":\"Flo\"}", late_fl);
    if (e2e_now_us(&st) > e2e_utc_us(TUE_0845))
        fail_msg("the stack took too long to start for the callback test");
    e2e_campaign_must(&st, campaign, "start");
    e2e_campaign_must(&st, late_campaign, "start");

    /* The first calls: both ask, and the leads wait for their callbacks. */
    json_t *l = expect_callback_pending(&st, inside, TUE_1100, TUE_1100, NULL);
    expect_time(l, "next_attempt_at", TUE_1100);
    assert_int_equal(e2e_int(l, "attempts"), 1);
    json_decref(l);
    l = expect_callback_pending(&st, outside, TUE_1930, WED_0900, "window");
    json_t *calls = e2e_lead_calls(&st, outside);
    assert_string_equal(e2e_str(l, "callback.call_id"), e2e_str(json_array_get(calls, 0), "id"));
    json_decref(calls);
    json_decref(l);

    /* Inside the campaign's window but after Florida's hours: the lead
     * waits for Florida's next opening, and says why. */
    json_decref(expect_callback_pending(&st, late_fl, TUE_2030, WED_0800, "legal_hours"));

    /* Inside the window: at 11:00, not before, though calls went out
     * between the first call and 11:00 (the unanswered lead's retries). */
    expect_called_back(&st, inside, ASKS_INSIDE, TUE_1100);
    int64_t first[2], tries[8];
    assert_int_equal(e2e_sim_placed_times(&st, ASKS_INSIDE, first, 2, NULL), 2);
    size_t n = e2e_sim_placed_times(&st, NO_ANSWER, tries, 8, NULL);
    size_t between = 0;
    for (size_t i = 0; i < n; i++)
        between += tries[i] > first[0] && tries[i] < e2e_utc_us(TUE_1100);
    if (between == 0)
        fail_msg("no call went out between the first call and the callback: the test proves "
                 "nothing about its timing");

    /* Outside the window: at its next opening, Wednesday 09:00. */
    expect_called_back(&st, late_fl, ASKS_LATE_FL, WED_0800);
    expect_called_back(&st, outside, ASKS_OUTSIDE, WED_0900);
    e2e_wait_campaign(&st, campaign, "completed", 60000);
    e2e_wait_campaign(&st, late_campaign, "completed", 60000);
    e2e_audit(&st, campaign);
    e2e_audit(&st, late_campaign);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_callback_placed_at_the_asked_time)

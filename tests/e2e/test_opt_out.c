/*
 * End to end: a callee who opts out on a call is never called again by the
 * account, through the real services and the voice simulator.
 *
 * The simulator reports the post-call variable `opted_out` (its goal
 * variable) true for one number. Campaign A names it as its opt-out
 * variable and calls the number; campaign B of the same account holds a
 * lead on the same number, not started yet, and a second lead of A on
 * another number answers without opting out.
 *
 *   - the API refuses an opt-out variable the assistant does not declare,
 *     or one that is not boolean;
 *   - the call's result puts the number on the DNC list at once: source
 *     call, call_id the call; the lead ends completed (opted_out);
 *   - B's lead on the number ends max_retries (dnc) before B ever starts;
 *     started, B calls its other lead and never the number (one call to it
 *     in all, outdial-audit's called_after_opt_out and dnc_calls 0);
 *   - the other lead of A ends as usual (answered).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_support.h"
#include "test_main.h"

#define OPTS_OUT "+12125550177"
#define ANSWERS  "+12125550178"
#define OTHER    "+12125550179"

static const char rules[] = "seed 5\n"
                            "goal-variable opted_out\n"
                            "talk human-goal 30s-1m\n"
                            "talk human-no-goal 30s-1m\n"
                            "match +12125550177 human-goal\n"
                            "default human-no-goal\n";

static void test_opt_out_stops_the_account(void **state)
{
    (void)state;
    static e2e_stack_t st;
    e2e_opts_t opts = {.tag = "e2eoptout", .rules = rules, .balance = 1000000, .dialers = 2};
    e2e_stack_start(&st, &opts);

    char assistant[37], a[37], b[37], a_out[37], a_answers[37], b_out[37], b_other[37];
    static const char *const bad[] = {"\"opt_out_variable\":\"unsubscribed\"",
                                      "\"opt_out_variable\":\"notes\""};
    e2e_assistant_with_schema(&st, "Survey bot", "\"opted_out\":\"boolean\",\"notes\":\"string\"",
                              assistant);
    e2e_campaign_refused_each(&st, assistant, "opt_out_variable", bad, 2);
    e2e_campaign_create(&st, assistant, E2E_WINDOW_ALWAYS ",\"opt_out_variable\":\"opted_out\"", a);
    e2e_campaign_create(&st, assistant, E2E_WINDOW_ALWAYS, b);
    e2e_campaign_expect_str(&st, a, "opt_out_variable", "opted_out");
    e2e_lead_add(&st, a, "{\"phone\":\"" OPTS_OUT "\"}", a_out);
    e2e_lead_add(&st, a, "{\"phone\":\"" ANSWERS "\"}", a_answers);
    e2e_lead_add(&st, b, "{\"phone\":\"" OPTS_OUT "\"}", b_out);
    e2e_lead_add(&st, b, "{\"phone\":\"" OTHER "\"}", b_other);

    e2e_campaign_must(&st, a, "start");
    e2e_wait_lead(&st, a_out, "completed", "opted_out", 60000);
    e2e_wait_lead(&st, a_answers, "completed", "answered", 60000);

    /* On the DNC list, from the call. */
    json_t *calls = e2e_lead_calls(&st, a_out);
    assert_int_equal(json_array_size(calls), 1);
    char call_id[40];
    snprintf(call_id, sizeof(call_id), "%s", e2e_str(json_array_get(calls, 0), "id"));
    json_decref(calls);
    json_t *entry = e2e_get_json(&st, "/v1/dnc/%%2B%s", OPTS_OUT + 1);
    assert_string_equal(e2e_str(entry, "source"), "call");
    assert_string_equal(e2e_str(entry, "call_id"), call_id);
    assert_non_null(e2e_str(entry, "added_at"));
    json_decref(entry);

    /* B's lead on the number stopped before B started. */
    json_t *held = e2e_lead(&st, b_out);
    assert_string_equal(e2e_str(held, "status"), "max_retries");
    assert_string_equal(e2e_str(held, "outcome"), "dnc");
    assert_int_equal(e2e_int(held, "attempts"), 0);
    json_decref(held);
    e2e_campaign_must(&st, b, "start");
    e2e_wait_lead(&st, b_other, "completed", "answered", 60000);
    e2e_wait_campaign(&st, b, "completed", 60000);
    e2e_wait_campaign(&st, a, "completed", 60000);
    assert_int_equal(e2e_sim_placed_to(&st, OPTS_OUT), 1);
    assert_int_equal(e2e_sim_placed_to(&st, OTHER), 1);

    e2e_audit(&st, a);
    e2e_audit(&st, b);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_opt_out_stops_the_account)

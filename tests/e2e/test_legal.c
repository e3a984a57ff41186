/*
 * End to end: the callee's legal calling rules (docs/compliance.md) on the
 * real services and the simulator.
 *
 * The account takes the us_states profile through the API (bad values are
 * refused with the allowed ones named) and GET /v1/account/legal-rules
 * shows the effective rules. A campaign open all day every day is started
 * early on Saturday 2026-03-14 in New York, with leads:
 *   Florida (305)   allowed 08:00-20:00: called on Saturday, not before
 *                   08:00;
 *   Rhode Island    added at 17:30, after its Saturday hours (10:00-17:00),
 *   (401)           and no call on Sunday: not called before Monday 09:00;
 *                   the scheduler sets its next_attempt_at to that
 *                   instant, and on Sunday GET /v1/leads/{id}/eligibility
 *                   says why (closed_day, clearing Monday 09:00) with that
 *                   earliest instant;
 *   toll-free (888) added with it; no state: the strictest rules, also
 *                   Monday 09:00.
 * Every call started inside its callee's rules, and outdial-audit finds
 * outside_legal_hours=0 and on_holiday=0 with the other counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/e2e_support.h"
#include "test_main.h"

#define FL_NUMBER  "+13055550112"
#define RI_NUMBER  "+14015550111"
#define TOLL_FREE  "+18885550113"
#define MONDAY_9AM "2026-03-16T13:00:00Z" /* 09:00 EDT */

static const char legal_rules[] = "seed 11\n"
                                  "ring 30s\n"
                                  "talk human 2m\n"
                                  "default human\n";

/* When the first call the simulator placed to a number arrived. */
static int64_t first_call_us(const e2e_stack_t *st, const char *e164)
{
    json_t *calls = e2e_sim_calls_placed_to(st, e164);
    int64_t first = json_integer_value(json_object_get(json_array_get(calls, 0), "received_at_us"));
    json_decref(calls);
    return first;
}

/* The account's legal settings through the API: errors first, then the
 * profile, then the effective rules. */
static void account_legal_setup(const e2e_stack_t *st)
{
    e2e_resp_t r = e2e_api(st, "PATCH", "/v1/account", "{\"legal_profile\":\"strict\"}");
    e2e_expect(&r, 400, "a profile that is not one");
    assert_non_null(strstr(r.body, "none, us_federal, us_states"));
    e2e_resp_free(&r);
    r = e2e_api(st, "PATCH", "/v1/account",
                "{\"legal_overrides\":[{\"code\":\"TX\",\"calls_per_24h\":2}]}");
    e2e_expect(&r, 400, "an override of a state the pack has no entry for");
    assert_non_null(strstr(r.body, "no entry for TX"));
    assert_non_null(strstr(r.body, "FL")); /* the allowed codes are named */
    e2e_resp_free(&r);

    r = e2e_api(st, "PATCH", "/v1/account",
                "{\"legal_profile\":\"us_states\",\"legal_overrides\":"
                "[{\"code\":\"MD\",\"note\":\"checked by counsel\"}]}");
    e2e_expect(&r, 200, "the us_states profile");
    assert_string_equal(e2e_str(r.json, "legal_profile"), "us_states");
    e2e_resp_free(&r);

    json_t *rules = e2e_get_json(st, "/v1/account/legal-rules");
    assert_string_equal(e2e_str(rules, "profile"), "us_states");
    assert_string_equal(e2e_str(rules, "federal.hours.mon"), "08:00-21:00");
    json_t *list = json_object_get(rules, "jurisdictions");
    bool ri = false, md = false;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (strcmp(e2e_str(e, "code"), "RI") == 0) {
            ri = true;
            assert_string_equal(e2e_str(e, "hours.sun"), "closed");
            assert_string_equal(e2e_str(e, "hours.sat"), "10:00-17:00");
            assert_true(json_array_size(json_object_get(e, "sources")) > 0);
        }
        if (strcmp(e2e_str(e, "code"), "MD") == 0) {
            md = true;
            assert_true(json_is_true(json_object_get(e, "overridden")));
            assert_string_equal(e2e_str(e, "note"), "checked by counsel");
        }
    }
    assert_true(ri && md);
    json_decref(rules);
}

static void test_legal(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    /* Saturday 2026-03-14 05:00 in New York (EDT, UTC-4); half a campaign
     * hour per real second: Florida opens 6 s later, Monday 09:00 is 104 s
     * away (the stack's start under ASan and load takes some of the
     * Saturday). */
    e2e_opts_t opts = {.tag = "e2elegal",
                       .rules = legal_rules,
                       .clock_start = "2026-03-14T09:00:00Z",
                       .clock_scale = 1800,
                       .balance = 1000000};
    e2e_stack_start(&st, &opts);
    account_legal_setup(&st);

    char assistant[37], campaign[37], fl[37], ri[37], toll[37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    e2e_campaign_create(&st, assistant,
                        E2E_WINDOW_ALWAYS ",\"max_retries\":1,\"timezone_mode\":\"lead\"",
                        campaign);
    e2e_lead_add(&st, campaign, "{\"phone\":\"" FL_NUMBER "\",\"name\":\"Flo\"}", fl);
    json_t *l = e2e_lead(&st, fl);
    assert_string_equal(e2e_str(l, "state"), "FL"); /* from the number */
    json_decref(l);
    if (e2e_now_us(&st) > e2e_utc_us("2026-03-14T19:00:00Z"))
        fail_msg("the stack took too long to start for the legal test");
    e2e_campaign_must(&st, campaign, "start");

    /* Saturday: Florida is called within its 08:00-20:00. */
    e2e_wait_lead(&st, fl, "completed", "answered", 30000);
    int64_t fl_at = first_call_us(&st, FL_NUMBER);
    assert_true(fl_at >= e2e_utc_us("2026-03-14T12:00:00Z"));
    assert_true(fl_at < e2e_utc_us("2026-03-15T00:00:00Z"));

    /* 17:30: Rhode Island's Saturday hours are over. The campaign has
     * completed with Florida; the new leads reopen it (the scheduler's
     * reopening pass, once a second: a resume here would race it). */
    e2e_sleep_until(&st, e2e_utc_us("2026-03-14T21:30:00Z"));
    e2e_wait_campaign(&st, campaign, "completed", 20000);
    e2e_lead_add(&st, campaign, "{\"phone\":\"" RI_NUMBER "\",\"name\":\"Rhody\"}", ri);
    e2e_lead_add(
        &st, campaign,
        "{\"phone\":\"" TOLL_FREE "\",\"name\":\"Toll\",\"timezone\":\"America/New_York\"}", toll);
    /* The state comes from the number; a toll-free number has none. */
    l = e2e_lead(&st, ri);
    assert_string_equal(e2e_str(l, "state"), "RI");
    json_decref(l);
    l = e2e_lead(&st, toll);
    assert_true(json_is_null(e2e_get(l, "state")));
    json_decref(l);
    e2e_wait_campaign(&st, campaign, "in_progress", 20000);

    /* Sunday noon: Rhode Island and the toll-free number wait for Monday
     * 09:00, and the API says why. */
    e2e_sleep_until(&st, e2e_utc_us("2026-03-15T16:00:00Z"));
    assert_int_equal(e2e_sim_placed_to(&st, RI_NUMBER), 0);
    assert_int_equal(e2e_sim_placed_to(&st, TOLL_FREE), 0);
    l = e2e_lead(&st, ri);
    if (strncmp(e2e_str(l, "next_attempt_at"), "2026-03-16T13:00:00", 19) != 0)
        fail_msg("next attempt of the Rhode Island lead is %s, not Monday 09:00 New York",
                 e2e_str(l, "next_attempt_at"));
    json_decref(l);
    json_t *why = e2e_get_json(&st, "/v1/leads/%s/eligibility", ri);
    assert_false(json_is_true(json_object_get(why, "callable_now")));
    assert_string_equal(e2e_str(why, "jurisdiction"), "RI");
    assert_string_equal(e2e_str(why, "legal_profile"), "us_states");
    bool closed_day = false;
    size_t i;
    json_t *reason;
    json_array_foreach(json_object_get(why, "reasons"), i, reason)
    {
        if (strcmp(e2e_str(reason, "rule"), "closed_day") == 0) {
            closed_day = true;
            assert_int_equal(strncmp(e2e_str(reason, "clears_at"), MONDAY_9AM, 19), 0);
        }
    }
    assert_true(closed_day);
    assert_int_equal(strncmp(e2e_str(why, "earliest_callable_at"), MONDAY_9AM, 19), 0);
    json_decref(why);

    /* Monday: both are called, at or after 09:00. */
    e2e_wait_lead(&st, ri, "completed", "answered", 90000);
    e2e_wait_lead(&st, toll, "completed", "answered", 30000);
    assert_true(first_call_us(&st, RI_NUMBER) >= e2e_utc_us(MONDAY_9AM));
    assert_true(first_call_us(&st, TOLL_FREE) >= e2e_utc_us(MONDAY_9AM));
    why = e2e_get_json(&st, "/v1/leads/%s/eligibility", ri);
    assert_string_equal(e2e_str(json_array_get(json_object_get(why, "reasons"), 0), "rule"),
                        "lead_status");
    json_decref(why);
    e2e_wait_campaign(&st, campaign, "completed", 20000);

    e2e_audit(&st, campaign);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN_EACH(NULL, NULL, NULL, e2e_teardown, test_legal)

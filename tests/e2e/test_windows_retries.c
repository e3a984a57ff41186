/*
 * End to end: calling windows and retry rules on the real services.
 *
 *   window   a campaign open 09:00-12:00 Mon-Fri (assistant timezone
 *            America/New_York) started on a Sunday evening: no call at the
 *            simulator on Sunday (disallowed day) nor on Monday before 09:00;
 *            calls begin when the window opens; after 12:00 a retry waits for
 *            Tuesday 09:00 (next_attempt_at) and is placed then; every call
 *            started inside the window.
 *   retries  retry on voicemail on (called until max_retries) and off
 *            (completed, outcome voicemail); goal-based retry (a human
 *            without the goal is retried, with the goal completed
 *            goal_achieved); secondary contacts called in order only after
 *            the primary ends max_retries, and not at all when the primary
 *            is reached; a DNC number never called (refused when added,
 *            skipped when put on the list after the lead was added).
 *
 * Each case runs its own stack; outdial-audit closes every campaign.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/e2e_support.h"
#include "test_main.h"

static int64_t call_us(json_t *call, const char *member)
{
    return json_integer_value(json_object_get(call, member));
}

/* ---- calling window ------------------------------------------------------- */

static const char window_rules[] = "seed 3\n"
                                   "ring 30s\n"
                                   "talk human 2m\n"
                                   "match +12125550111 human\n"
                                   "match +12125550112 busy\n"
                                   "default human\n";

static void test_window(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    /* Sunday 2026-03-15 14:00 in New York (EDT, UTC-4); one campaign hour
     * per real second, so Monday 09:00 is 19 s away and Tuesday 09:00 43 s
     * (the stack's start under ASan takes some of the Sunday). */
    e2e_opts_t opts = {.tag = "e2ewin",
                       .rules = window_rules,
                       .clock_start = "2026-03-15T18:00:00Z",
                       .clock_scale = 3600,
                       .balance = 1000000};
    e2e_stack_start(&st, &opts);
    const int64_t mon_open = e2e_utc_us("2026-03-16T13:00:00Z");
    const int64_t mon_close = e2e_utc_us("2026-03-16T16:00:00Z");
    const int64_t tue_open = e2e_utc_us("2026-03-17T13:00:00Z");
    const int64_t tue_close = e2e_utc_us("2026-03-17T16:00:00Z");

    char assistant[37], campaign[37], human[37], busy[37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    /* One retry three hours after the first call: that call is placed
     * between 09:00 and 12:00 (the window is three real seconds wide, room
     * for the pipeline's latency under ASan), so the retry falls after the
     * close and moves to Tuesday 09:00. */
    e2e_campaign_create(&st, assistant,
                        "\"window_start\":\"09:00\",\"window_end\":\"12:00\","
                        "\"allowed_days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
                        "\"max_retries\":1,\"retry_interval_minutes\":180",
                        campaign);
    e2e_lead_add(&st, campaign, "{\"phone\":\"+12125550111\",\"name\":\"Ann\"}", human);
    e2e_lead_add(&st, campaign, "{\"phone\":\"+12125550112\",\"name\":\"Ben\"}", busy);
    if (e2e_now_us(&st) > e2e_utc_us("2026-03-16T06:00:00Z"))
        fail_msg("the stack took too long to start for the window test");
    e2e_campaign_must(&st, campaign, "start");
    assert_true(e2e_campaign_is(&st, campaign, "in_progress"));

    /* Sunday (disallowed) and Monday before 09:00: nothing is called. */
    e2e_sleep_until(&st, e2e_utc_us("2026-03-16T12:50:00Z"));
    assert_int_equal(e2e_sim_placed_total(&st), 0);
    assert_true(e2e_lead_is(&st, human, "created", NULL));
    assert_true(e2e_lead_is(&st, busy, "created", NULL));

    /* The window opens: calls begin. */
    e2e_wait_lead(&st, human, "completed", "answered", 20000);
    json_t *calls = e2e_sim_calls_placed_to(&st, "+12125550111");
    assert_int_equal(json_array_size(calls), 1);
    int64_t first = call_us(json_array_get(calls, 0), "received_at_us");
    assert_true(first >= mon_open && first < mon_close);
    print_message("first call %lld campaign-s after the window opened\n",
                  (long long)(first - mon_open) / 1000000);
    json_decref(calls);

    /* After 12:00 the busy lead waits for Tuesday's window. */
    e2e_sleep_until(&st, e2e_utc_us("2026-03-16T18:00:00Z"));
    json_t *l = e2e_lead(&st, busy);
    assert_string_equal(e2e_str(l, "status"), "rescheduled");
    if (strncmp(e2e_str(l, "next_attempt_at"), "2026-03-17T13:00:00", 19) != 0)
        fail_msg("next attempt of the busy lead is %s, not Tuesday 09:00 New York",
                 e2e_str(l, "next_attempt_at"));
    assert_int_equal(e2e_int(l, "attempts"), 1);
    json_decref(l);
    e2e_sleep_until(&st, e2e_utc_us("2026-03-17T12:50:00Z"));
    assert_int_equal(e2e_sim_placed_to(&st, "+12125550112"), 1);

    /* Tuesday: the remaining attempts, then max_retries. */
    e2e_wait_lead(&st, busy, "max_retries", "exhausted", 30000);
    e2e_wait_campaign(&st, campaign, "completed", 20000);
    calls = e2e_sim_calls_placed_to(&st, "+12125550112");
    assert_int_equal(json_array_size(calls), 2);
    size_t i, tuesday = 0;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        int64_t at = call_us(c, "received_at_us");
        bool mon = at >= mon_open && at < mon_close, tue = at >= tue_open && at < tue_close;
        if (!mon && !tue)
            fail_msg("call %zu to the busy lead started outside the window (%lld)", i,
                     (long long)at);
        tuesday += tue;
    }
    assert_int_equal(tuesday, 1);
    json_decref(calls);

    e2e_audit(&st, campaign);
    e2e_stack_stop(&st);
}

/* ---- retry rules, secondary contacts, DNC -------------------------------- */

static const char retry_rules[] = "seed 5\n"
                                  "ring 30s\n"
                                  "ring no-answer 30s\n"
                                  "talk voicemail 1m\n"
                                  "talk human 1m\n"
                                  "talk human-goal 1m\n"
                                  "talk human-no-goal 1m\n"
                                  "match +12125550121 voicemail\n"
                                  "match +12125550122 voicemail\n"
                                  "match +12125550123 human-no-goal\n"
                                  "match +12125550124 human-goal\n"
                                  "match +12125550131 busy\n"
                                  "match +12125550132 no-answer\n"
                                  "match +12125550133 human\n"
                                  "match +12125550134 human\n"
                                  "match +12125550135 human\n"
                                  "default human\n";

static void campaign_with(const e2e_stack_t *st, const char *assistant, const char *settings,
                          char out[37])
{
    char all[512];
    snprintf(all, sizeof(all), E2E_WINDOW_ALWAYS ",\"retry_interval_minutes\":10,%s", settings);
    e2e_campaign_create(st, assistant, all, out);
}

static void add_dnc(const e2e_stack_t *st, const char *e164)
{
    e2e_resp_t r =
        e2e_api(st, "POST", "/v1/dnc", "[{\"phone\":\"%s\",\"reason\":\"asked\"}]", e164);
    if (r.status != 200 && r.status != 201)
        fail_msg("add to DNC: %ld %s", r.status, r.body);
    e2e_resp_free(&r);
}

/* A lead of the goal-based retry campaign, once it is status/outcome
 * (waited for at most ms): its goal_result is goal and e164 was called
 * n_calls times. Its calls (caller decrefs). */
static json_t *goal_lead_ended(const e2e_stack_t *st, const char *lead_id, const char *status,
                               const char *outcome, int ms, bool goal, const char *e164,
                               size_t n_calls)
{
    e2e_wait_lead(st, lead_id, status, outcome, ms);
    json_t *l = e2e_lead(st, lead_id);
    assert_true(json_is_boolean(json_object_get(l, "goal_result")));
    assert_int_equal(json_is_true(json_object_get(l, "goal_result")), goal);
    json_decref(l);
    assert_int_equal(e2e_sim_placed_to(st, e164), n_calls);
    return e2e_lead_calls(st, lead_id);
}

static void test_retries(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    e2e_opts_t opts = {.tag = "e2eretry", .rules = retry_rules, .dialers = 2, .balance = 1000000};
    e2e_stack_start(&st, &opts);
    char assistant[37];
    e2e_assistant_create(&st, "+12125550100", assistant);

    char vm_on[37], vm_off[37], goal[37], sec[37], dnc[37];
    campaign_with(&st, assistant, "\"max_retries\":2,\"retry_on_voicemail\":true", vm_on);
    campaign_with(&st, assistant, "\"max_retries\":2,\"retry_on_voicemail\":false", vm_off);
    campaign_with(&st, assistant,
                  "\"max_retries\":2,\"goal_variable\":\"" E2E_GOAL "\",\"goal_based_retry\":true",
                  goal);
    campaign_with(&st, assistant, "\"max_retries\":1", sec);
    campaign_with(&st, assistant, "\"max_retries\":1", dnc);

    char l_vm_on[37], l_vm_off[37], l_nogoal[37], l_goal[37];
    e2e_lead_add(&st, vm_on, "{\"phone\":\"+12125550121\"}", l_vm_on);
    e2e_lead_add(&st, vm_off, "{\"phone\":\"+12125550122\"}", l_vm_off);
    e2e_lead_add(&st, goal, "{\"phone\":\"+12125550123\"}", l_nogoal);
    e2e_lead_add(&st, goal, "{\"phone\":\"+12125550124\"}", l_goal);

    /* Secondary contacts: a busy primary with two contacts, and a primary
     * who answers, whose contact is never called. */
    e2e_resp_t r = e2e_leads_add(&st, sec,
                                 "[{\"phone\":\"+12125550131\",\"name\":\"Primary\","
                                 "\"secondary_phones\":[\"+12125550132\",\"+12125550133\"]},"
                                 "{\"phone\":\"+12125550134\",\"name\":\"Reached\",\"secondary_"
                                 "phones\":[\"+12125550135\"]}]");
    assert_int_equal(e2e_int(r.json, "created"), 5); /* primaries and contacts */
    json_t *results = json_object_get(r.json, "results");
    char p1[37], s1[37], s2[37], p2[37], s3[37];
    json_t *res0 = json_array_get(results, 0), *res1 = json_array_get(results, 1);
    snprintf(p1, 37, "%s", e2e_str(res0, "lead_id"));
    snprintf(s1, 37, "%s",
             e2e_str(json_array_get(json_object_get(res0, "secondary_contacts"), 0), "lead_id"));
    snprintf(s2, 37, "%s",
             e2e_str(json_array_get(json_object_get(res0, "secondary_contacts"), 1), "lead_id"));
    snprintf(p2, 37, "%s", e2e_str(res1, "lead_id"));
    snprintf(s3, 37, "%s",
             e2e_str(json_array_get(json_object_get(res1, "secondary_contacts"), 0), "lead_id"));
    e2e_resp_free(&r);
    assert_int_equal(strlen(s1), 36);
    assert_int_equal(strlen(s3), 36);

    /* DNC: one number listed before it is added (refused), one listed after
     * its lead was added (skipped by the dialer). */
    add_dnc(&st, "+12125550141");
    r = e2e_leads_add(&st, dnc, "[{\"phone\":\"+12125550141\"},{\"phone\":\"+12125550142\"}]");
    assert_string_equal(e2e_str(json_array_get(json_object_get(r.json, "results"), 0), "result"),
                        "dnc");
    char l_ok[37];
    snprintf(l_ok, 37, "%s",
             e2e_str(json_array_get(json_object_get(r.json, "results"), 1), "lead_id"));
    e2e_resp_free(&r);
    char l_late_dnc[37];
    e2e_lead_add(&st, dnc, "{\"phone\":\"+12125550143\"}", l_late_dnc);
    add_dnc(&st, "+12125550143");

    const char *campaigns[] = {vm_on, vm_off, goal, sec, dnc};
    for (size_t i = 0; i < 5; i++)
        e2e_campaign_must(&st, campaigns[i], "start");
    json_t *l = e2e_lead(&st, s1);
    assert_string_equal(e2e_str(l, "status"), "created");
    assert_true(json_is_false(json_object_get(l, "due")));
    json_decref(l);

    /* Retry on voicemail on: every attempt used. Off: completed. */
    e2e_wait_lead(&st, l_vm_on, "max_retries", "exhausted", 60000);
    assert_int_equal(e2e_sim_placed_to(&st, "+12125550121"), 3);
    json_t *calls = e2e_lead_calls(&st, l_vm_on);
    assert_int_equal(json_array_size(calls), 3);
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        assert_string_equal(e2e_str(c, "status"), "completed");
        assert_string_equal(e2e_str(c, "answered_by"), "voicemail");
    }
    json_decref(calls);
    e2e_wait_lead(&st, l_vm_off, "completed", "voicemail", 30000);
    assert_int_equal(e2e_sim_placed_to(&st, "+12125550122"), 1);

    /* Goal-based retry. */
    calls =
        goal_lead_ended(&st, l_goal, "completed", "goal_achieved", 30000, true, "+12125550124", 1);
    assert_true(json_is_true(e2e_get(json_array_get(calls, 0), "post_call_variables." E2E_GOAL)));
    json_decref(calls);
    calls =
        goal_lead_ended(&st, l_nogoal, "max_retries", "exhausted", 60000, false, "+12125550123", 3);
    json_array_foreach(calls, i, c) assert_string_equal(e2e_str(c, "answered_by"), "human");
    json_decref(calls);

    /* Secondary contacts, in order, after the primary's last attempt. */
    e2e_wait_lead(&st, p2, "completed", "answered", 30000);
    e2e_wait_lead(&st, s3, "completed", "answered", 5000);
    e2e_wait_lead(&st, p1, "max_retries", "exhausted", 60000);
    e2e_wait_lead(&st, s1, "max_retries", "exhausted", 60000);
    e2e_wait_lead(&st, s2, "completed", "answered", 60000);
    json_t *cp = e2e_sim_calls_placed_to(&st, "+12125550131");
    json_t *c1 = e2e_sim_calls_placed_to(&st, "+12125550132");
    json_t *c2 = e2e_sim_calls_placed_to(&st, "+12125550133");
    assert_int_equal(json_array_size(cp), 2);
    assert_int_equal(json_array_size(c1), 2);
    assert_int_equal(json_array_size(c2), 1);
    assert_true(call_us(json_array_get(c1, 0), "received_at_us") >=
                call_us(json_array_get(cp, 1), "ended_at_us"));
    assert_true(call_us(json_array_get(c2, 0), "received_at_us") >=
                call_us(json_array_get(c1, 1), "ended_at_us"));
    json_decref(cp);
    json_decref(c1);
    json_decref(c2);
    assert_int_equal(e2e_sim_placed_to(&st, "+12125550135"), 0);

    /* DNC: never called. */
    e2e_wait_lead(&st, l_ok, "completed", "answered", 30000);
    json_t *late = NULL;
    int64_t deadline = harness_ms() + 30000;
    for (;;) {
        late = e2e_lead(&st, l_late_dnc);
        if (strcmp(e2e_str(late, "outcome"), "dnc") == 0)
            break;
        json_decref(late);
        if (harness_ms() > deadline)
            fail_msg("the lead put on the DNC list did not end with outcome dnc");
        harness_sleep_ms(100);
    }
    print_message("lead put on the DNC list after it was added: %s/%s\n", e2e_str(late, "status"),
                  e2e_str(late, "outcome"));
    json_decref(late);
    assert_int_equal(e2e_sim_placed_to(&st, "+12125550141"), 0);
    assert_int_equal(e2e_sim_placed_to(&st, "+12125550143"), 0);

    for (size_t k = 0; k < 5; k++) {
        e2e_wait_campaign(&st, campaigns[k], "completed", 30000);
        e2e_audit(&st, campaigns[k]);
    }
    e2e_stack_stop(&st);
}

OD_TEST_MAIN_EACH(NULL, NULL, NULL, e2e_teardown, test_window, test_retries)

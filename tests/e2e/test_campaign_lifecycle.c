/*
 * End to end: a campaign's life through the real services and the API.
 *
 *   - every start requirement failing on its own, with its code and message
 *     in the 409 (no phone number, no balance, no leads, an invalid lead),
 *     the campaign staying draft;
 *   - draft → in_progress → paused → in_progress → completed, the campaign
 *     completing by itself; no call placed more than one second after the
 *     pause was acknowledged; no attempt lost or repeated across the pause
 *     (the simulator's call log against the API's calls list);
 *   - a lead added to the completed campaign reopens it by itself, and it
 *     completes again;
 *   - outdial-audit reports every invariant at 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/e2e_support.h"
#include "test_main.h"

#define N_LEADS 60

/* Every call is a person who answers: 30 s of ringing, 5 minutes of talk
 * (at 600x: 50 ms and 0.5 s real), so a call is under way long enough for
 * the pause to find some in flight. */
static const char rules[] = "seed 7\n"
                            "ring 30s\n"
                            "talk human 5m\n"
                            "default human\n";

/* The problem codes of a requirements_unmet answer, comma-joined in order. */
static void problem_codes(const e2e_resp_t *r, char *out, size_t len)
{
    out[0] = '\0';
    json_t *problems = e2e_get(r->json, "error.problems");
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        if (strlen(e2e_str(p, "message")) < 10)
            fail_msg("problem %s has no message: %s", e2e_str(p, "code"), r->body);
        if (out[0])
            strncat(out, ",", len - strlen(out) - 1);
        strncat(out, e2e_str(p, "code"), len - strlen(out) - 1);
    }
}

/* Start must fail with exactly these problem codes; the campaign stays
 * draft. */
static void expect_start_refused(const e2e_stack_t *st, const char *campaign_id, const char *codes)
{
    e2e_resp_t r = e2e_campaign_do(st, campaign_id, "start");
    e2e_expect(&r, 409, "start with unmet requirements");
    assert_string_equal(e2e_str(r.json, "error.code"), "requirements_unmet");
    assert_true(strlen(e2e_str(r.json, "error.message")) > 10);
    char got[256];
    problem_codes(&r, got, sizeof(got));
    if (strcmp(got, codes) != 0)
        fail_msg("start: expected problems %s, got %s (%s)", codes, got, r.body);
    e2e_resp_free(&r);
    assert_true(e2e_campaign_is(st, campaign_id, "draft"));
}

/* A problem's message (for the report and to check it names the fix). */
static void expect_message_mentions(const e2e_stack_t *st, const char *campaign_id,
                                    const char *code, const char *words)
{
    e2e_resp_t r = e2e_campaign_do(st, campaign_id, "start");
    json_t *problems = e2e_get(r.json, "error.problems");
    size_t i;
    json_t *p;
    bool found = false;
    json_array_foreach(problems, i, p) if (strcmp(e2e_str(p, "code"), code) == 0)
    {
        found = true;
        if (!strstr(e2e_str(p, "message"), words))
            fail_msg("%s's message does not mention \"%s\": %s", code, words, r.body);
    }
    if (!found)
        fail_msg("no %s problem in %s", code, r.body);
    e2e_resp_free(&r);
}

static bool no_lead_in_flight(const e2e_stack_t *st, const char *campaign_id)
{
    json_t *s = e2e_get_json(st, "/v1/campaigns/%s/stats", campaign_id);
    long long sched = e2e_int(s, "leads.by_status.scheduled");
    long long proc = e2e_int(s, "leads.by_status.processing");
    json_decref(s);
    return sched <= 0 && proc <= 0;
}

static long long calls_ended(const e2e_stack_t *st, const char *campaign_id)
{
    json_t *s = e2e_get_json(st, "/v1/campaigns/%s/stats", campaign_id);
    long long n = e2e_int(s, "calls.by_status.completed");
    json_decref(s);
    return n;
}

static void test_lifecycle(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    e2e_opts_t opts = {.tag = "e2elife", .rules = rules, .dialers = 2, .balance = 0};
    e2e_stack_start(&st, &opts);

    /* Requirements, each failing and then met in turn. */
    char assistant[37], campaign[37];
    e2e_assistant_create(&st, NULL, assistant);
    e2e_campaign_create(&st, assistant,
                        "\"window_start\":\"09:00\",\"window_end\":\"18:00\","
                        "\"max_concurrent_calls\":5,\"max_retries\":2,"
                        "\"retry_interval_minutes\":10",
                        campaign);
    assert_true(e2e_campaign_is(&st, campaign, "draft"));
    {
        e2e_resp_t r = e2e_campaign_do(&st, campaign, "pause");
        e2e_expect(&r, 409, "pause a draft");
        e2e_resp_free(&r);
    }
    expect_start_refused(&st, campaign, "no_phone_number,insufficient_balance,no_leads");
    expect_message_mentions(&st, campaign, "no_phone_number", "phone number");
    expect_message_mentions(&st, campaign, "insufficient_balance", "balance");

    char path[128];
    snprintf(path, sizeof(path), "/v1/assistants/%s", assistant);
    e2e_resp_t r = e2e_api(&st, "PATCH", path, "{\"outbound_phone_number\":\"+12125550100\"}");
    e2e_expect(&r, 200, "set the assistant's phone number");
    e2e_resp_free(&r);
    expect_start_refused(&st, campaign, "insufficient_balance,no_leads");

    e2e_credit(&st, 1000000);
    expect_start_refused(&st, campaign, "no_leads");
    expect_message_mentions(&st, campaign, "no_leads", "add leads");

    /* An invalid number is stored and blocks the start until corrected. */
    r = e2e_leads_add(&st, campaign, "{\"phone\":\"+1 212 555\",\"name\":\"Typo\"}");
    json_t *first = json_array_get(json_object_get(r.json, "results"), 0);
    assert_string_equal(e2e_str(first, "result"), "invalid");
    char invalid_lead[37];
    snprintf(invalid_lead, sizeof(invalid_lead), "%s", e2e_str(first, "lead_id"));
    e2e_resp_free(&r);
    expect_start_refused(&st, campaign, "no_leads,invalid_leads");
    expect_message_mentions(&st, campaign, "invalid_leads", "1 lead of the campaign has no valid");

    /* The leads: +1 646 555 0100..0158 and the corrected one. */
    char body[16384];
    size_t off = (size_t)snprintf(body, sizeof(body), "[");
    for (int i = 0; i < N_LEADS - 1; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off,
                                "%s{\"phone\":\"+1646555%04d\",\"name\":\"Lead %d\"}", i ? "," : "",
                                100 + i, i);
    snprintf(body + off, sizeof(body) - off, "]");
    r = e2e_leads_add(&st, campaign, body);
    assert_int_equal(e2e_int(r.json, "created"), N_LEADS - 1);
    e2e_resp_free(&r);
    expect_start_refused(&st, campaign, "invalid_leads");

    snprintf(path, sizeof(path), "/v1/leads/%s", invalid_lead);
    r = e2e_api(&st, "PATCH", path, "{\"phone\":\"+16465550199\"}");
    e2e_expect(&r, 200, "correct the invalid lead");
    e2e_resp_free(&r);

    /* Start: in_progress. */
    e2e_campaign_must(&st, campaign, "start");
    assert_true(e2e_campaign_is(&st, campaign, "in_progress"));
    r = e2e_campaign_do(&st, campaign, "start");
    e2e_expect(&r, 409, "start a running campaign");
    assert_string_equal(e2e_str(r.json, "error.code"), "invalid_state");
    e2e_resp_free(&r);

    /* Pause part-way. */
    HARNESS_WAIT(calls_ended(&st, campaign) >= 15, 60000, "15 calls to end");
    e2e_campaign_must(&st, campaign, "pause");
    int64_t paused_at_us = e2e_now_us(&st);
    assert_true(e2e_campaign_is(&st, campaign, "paused"));
    /* Calls already under way finish; nothing else starts. */
    HARNESS_WAIT(no_lead_in_flight(&st, campaign), 30000, "the calls in flight to finish");
    /* The marker: a one-lead campaign started after the pause goes the same
     * way (the scheduler's dispatch, a dial job, a dialer, the simulator);
     * once its call has ended, a call of the paused campaign would be in
     * the simulator's log too. */
    char marker[37], marker_lead[37];
    e2e_campaign_create(&st, assistant, "\"window_start\":\"09:00\",\"window_end\":\"18:00\"",
                        marker);
    e2e_lead_add(&st, marker, "{\"phone\":\"+16465550197\",\"name\":\"Marker\"}", marker_lead);
    e2e_campaign_must(&st, marker, "start");
    e2e_wait_lead(&st, marker_lead, "completed", "answered", 60000);
    assert_true(e2e_campaign_is(&st, campaign, "paused"));
    char query[128];
    snprintf(query, sizeof(query), "campaign_id=%s", campaign);
    json_t *sim = e2e_sim_calls(&st, query);
    size_t i, placed_paused = 0;
    json_t *c;
    json_array_foreach(sim, i, c)
    {
        placed_paused += json_is_true(json_object_get(c, "placed"));
        int64_t at = json_integer_value(json_object_get(c, "received_at_us"));
        if (at > paused_at_us + 1000000LL * st.opts.clock_scale)
            fail_msg("a call started %lld campaign-ms after the pause was acknowledged",
                     (long long)(at - paused_at_us) / 1000);
    }
    json_decref(sim);
    assert_true(placed_paused < N_LEADS);
    print_message("paused after %zu calls\n", placed_paused);

    /* Resume: it completes by itself. */
    e2e_campaign_must(&st, campaign, "resume");
    assert_true(e2e_campaign_is(&st, campaign, "in_progress") ||
                e2e_campaign_is(&st, campaign, "completed"));
    e2e_wait_campaign(&st, campaign, "completed", 90000);

    /* No attempt lost or repeated: the simulator's placed calls are the
     * API's calls, one attempt each, one per lead. */
    snprintf(path, sizeof(path), "/v1/campaigns/%s/calls", campaign);
    json_t *calls = e2e_list(&st, path);
    sim = e2e_sim_calls(&st, query);
    size_t placed = 0;
    json_array_foreach(sim, i, c)
    {
        if (!json_is_true(json_object_get(c, "placed")))
            continue;
        placed++;
        const char *attempt = e2e_str(c, "attempt_id");
        if (!e2e_has(calls, "id", attempt))
            fail_msg("the simulator placed attempt %s, which the API does not list", attempt);
        for (size_t k = i + 1; k < json_array_size(sim); k++) {
            json_t *o = json_array_get(sim, k);
            if (json_is_true(json_object_get(o, "placed")) &&
                strcmp(e2e_str(o, "attempt_id"), attempt) == 0)
                fail_msg("attempt %s placed twice", attempt);
            if (strcmp(e2e_str(o, "number"), e2e_str(c, "number")) == 0)
                fail_msg("%s called twice", e2e_str(c, "number"));
        }
    }
    assert_int_equal(placed, N_LEADS);
    size_t completed_calls = 0;
    json_array_foreach(calls, i, c)
    {
        if (strcmp(e2e_str(c, "status"), "skipped") == 0)
            continue;
        assert_string_equal(e2e_str(c, "status"), "completed");
        completed_calls++;
    }
    assert_int_equal(completed_calls, N_LEADS);
    json_decref(calls);
    json_decref(sim);
    json_t *stats = e2e_get_json(&st, "/v1/campaigns/%s/stats", campaign);
    assert_int_equal(e2e_int(stats, "leads.by_status.completed"), N_LEADS);
    assert_int_equal(e2e_int(stats, "leads.by_outcome.answered"), N_LEADS);
    json_decref(stats);

    /* A lead added to the campaign that completed by itself reopens it (no
     * resume): it is called, and the campaign completes again. */
    char late[37];
    e2e_lead_add(&st, campaign, "{\"phone\":\"+16465550198\",\"name\":\"Late\"}", late);
    e2e_wait_lead(&st, late, "completed", "answered", 60000);
    e2e_wait_campaign(&st, campaign, "completed", 60000);
    assert_int_equal(e2e_sim_placed_to(&st, "+16465550198"), 1);

    e2e_audit(&st, campaign);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN_EACH(NULL, NULL, NULL, e2e_teardown, test_lifecycle)

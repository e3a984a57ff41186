/*
 * End to end: every lead status and every call result of the product,
 * observed through the API while a campaign runs on the real services.
 *
 *   lead statuses  created (before start, and after "set to created"),
 *                  scheduled (the provider slow to answer the create-call
 *                  request), processing, completed, rescheduled, max_retries
 *   manual actions set to created (reset) of a max_retries lead, which is
 *                  then called again; set to completed of a rescheduled lead,
 *                  which is then never called again; both refused while a
 *                  call is under way (409 lead_in_flight)
 *   call results   initiated, ringing, in_progress, completed in a call's
 *                  status history; busy, unanswered, failed as call statuses
 *
 * The simulator pins each number's outcome; the audit closes the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/e2e_support.h"
#include "test_main.h"

/* At 600x: a 20-minute conversation lasts 2 s real, so "processing" is
 * long enough to be seen by polling; no-answer rings 30 s (50 ms). */
static const char rules[] = "seed 11\n"
                            "ring 30s\n"
                            "ring no-answer 30s\n"
                            "talk human 20m\n"
                            "match +12125550101 human\n"
                            "match +12125550102 busy\n"
                            "match +12125550103 no-answer\n"
                            "match +12125550104 fail-permanent\n"
                            "default human\n";

enum { L_HUMAN, L_BUSY, L_NOANSWER, L_FAIL, L_MANUAL, L_COUNT };
static const char *const phones[L_COUNT] = {"+12125550101", "+12125550102", "+12125550103",
                                            "+12125550104", "+12125550105"};
static const char *const statuses[] = {"created",   "scheduled",   "processing",
                                       "completed", "rescheduled", "max_retries"};
#define N_STATUSES 6

typedef struct seen {
    char ids[L_COUNT][37];
    bool status[L_COUNT][N_STATUSES];
    bool call_status[16];
} seen_t;

static const char *const call_statuses[] = {"initiated", "ringing",    "in_progress", "completed",
                                            "busy",      "unanswered", "failed"};
#define N_CALL_STATUSES 7

static int status_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* One look at the campaign's leads and calls, remembering every status
 * seen. */
static void observe(const e2e_stack_t *st, const char *campaign, seen_t *seen)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign);
    json_t *leads = e2e_list(st, path);
    size_t i;
    json_t *l;
    json_array_foreach(leads, i, l)
    {
        for (int k = 0; k < L_COUNT; k++) {
            if (strcmp(e2e_str(l, "id"), seen->ids[k]) != 0)
                continue;
            int s = status_index(e2e_str(l, "status"), statuses, N_STATUSES);
            assert_true(s >= 0);
            seen->status[k][s] = true;
        }
    }
    json_decref(leads);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/calls", campaign);
    json_t *calls = e2e_list(st, path);
    json_array_foreach(calls, i, l)
    {
        int s = status_index(e2e_str(l, "status"), call_statuses, N_CALL_STATUSES);
        if (s >= 0)
            seen->call_status[s] = true;
    }
    json_decref(calls);
}

/* Observes until the lead has been seen with the status (at most ms). */
static void observe_until(const e2e_stack_t *st, const char *campaign, seen_t *seen, int lead,
                          const char *status, int ms)
{
    int s = status_index(status, statuses, N_STATUSES);
    int64_t deadline = harness_ms() + ms;
    for (;;) {
        observe(st, campaign, seen);
        if (seen->status[lead][s])
            return;
        if (harness_ms() > deadline) {
            json_t *j = e2e_lead(st, seen->ids[lead]);
            char *text = json_dumps(j, JSON_COMPACT);
            fail_msg("lead %s never seen %s within %d ms; now %s", phones[lead], status, ms, text);
        }
        harness_sleep_ms(40);
    }
}

/* The statuses of a call's history, in order, comma-joined. */
static void history_of(json_t *call, char *out, size_t len)
{
    out[0] = '\0';
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(call, "status_history"), i, h)
    {
        if (out[0])
            strncat(out, ",", len - strlen(out) - 1);
        strncat(out, e2e_str(h, "status"), len - strlen(out) - 1);
    }
}

static void lead_action(const e2e_stack_t *st, const char *lead_id, const char *action, long expect)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/leads/%s/%s", lead_id, action);
    e2e_resp_t r = e2e_api(st, "POST", path, NULL);
    e2e_expect(&r, expect, action);
    if (expect == 409)
        assert_string_equal(e2e_str(r.json, "error.code"), "lead_in_flight");
    e2e_resp_free(&r);
}

static void test_lead_statuses(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    e2e_opts_t opts = {.tag = "e2elead", .rules = rules, .balance = 1000000};
    e2e_stack_start(&st, &opts);

    char assistant[37], campaign[37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    /* One retry 60 campaign minutes (6 s real) later: "rescheduled" lasts
     * long enough to be seen and acted on. */
    e2e_campaign_create(&st, assistant,
                        E2E_WINDOW_ALWAYS ",\"max_retries\":1,\"retry_interval_minutes\":60,"
                                          "\"max_concurrent_calls\":10",
                        campaign);
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    for (int k = 0; k < L_COUNT; k++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"phone\":\"%s\",\"name\":\"Lead %d\"}", phones[k], k);
        e2e_lead_add(&st, campaign, body, seen.ids[k]);
    }
    observe(&st, campaign, &seen);
    for (int k = 0; k < L_COUNT; k++)
        assert_true(seen.status[k][0]); /* created */

    /* Set to completed before any call: never called. */
    lead_action(&st, seen.ids[L_MANUAL], "complete", 200);
    assert_true(e2e_lead_is(&st, seen.ids[L_MANUAL], "completed", "manual"));

    /* The provider answers create-call requests 1.5 s late: the leads wait
     * "scheduled" meanwhile (the job issued, no call event yet). */
    e2e_sim_faults(&st, "{\"slow\":{\"p\":1,\"min_ms\":1500,\"max_ms\":1500}}");
    e2e_campaign_must(&st, campaign, "start");
    observe_until(&st, campaign, &seen, L_HUMAN, "scheduled", 20000);
    e2e_sim_faults(&st, "{\"slow\":{\"p\":0}}");

    observe_until(&st, campaign, &seen, L_HUMAN, "processing", 20000);
    /* Manual actions wait while a call is under way. */
    lead_action(&st, seen.ids[L_HUMAN], "reset", 409);
    lead_action(&st, seen.ids[L_HUMAN], "complete", 409);
    observe_until(&st, campaign, &seen, L_HUMAN, "completed", 30000);
    e2e_wait_lead(&st, seen.ids[L_HUMAN], "completed", "answered", 1000);

    /* No answer: rescheduled; set to completed, it is never called again. */
    observe_until(&st, campaign, &seen, L_NOANSWER, "rescheduled", 20000);
    lead_action(&st, seen.ids[L_NOANSWER], "complete", 200);
    e2e_wait_lead(&st, seen.ids[L_NOANSWER], "completed", "manual", 1000);

    /* Busy: rescheduled, then busy again: max_retries (exhausted). */
    observe_until(&st, campaign, &seen, L_BUSY, "rescheduled", 20000);
    observe_until(&st, campaign, &seen, L_BUSY, "max_retries", 30000);
    e2e_wait_lead(&st, seen.ids[L_BUSY], "max_retries", "exhausted", 1000);

    /* A permanent failure ends the lead at once; set to created, it is
     * called again from attempt 1 and ends the same way. */
    observe_until(&st, campaign, &seen, L_FAIL, "max_retries", 20000);
    e2e_wait_lead(&st, seen.ids[L_FAIL], "max_retries", "permanent_failure", 1000);
    assert_int_equal(e2e_sim_placed_to(&st, phones[L_FAIL]), 1);
    e2e_wait_campaign(&st, campaign, "completed", 30000);
    lead_action(&st, seen.ids[L_FAIL], "reset", 200);
    json_t *l = e2e_lead(&st, seen.ids[L_FAIL]);
    assert_string_equal(e2e_str(l, "status"), "created");
    assert_int_equal(e2e_int(l, "attempts"), 0);
    assert_true(json_is_null(json_object_get(l, "outcome")));
    json_decref(l);
    /* The campaign had completed: the reset reopens it (the scheduler's
     * reopening pass, once a second: a resume here would race it), and the
     * lead is called again. */
    e2e_wait_lead(&st, seen.ids[L_FAIL], "max_retries", "permanent_failure", 30000);
    assert_int_equal(e2e_sim_placed_to(&st, phones[L_FAIL]), 2);
    e2e_wait_campaign(&st, campaign, "completed", 30000);

    for (int k = 0; k < N_STATUSES; k++) {
        bool any = false;
        for (int lead = 0; lead < L_COUNT; lead++)
            any = any || seen.status[lead][k];
        if (!any)
            fail_msg("lead status %s never observed", statuses[k]);
    }

    /* Calls: one per attempt, as the simulator placed them. */
    assert_int_equal(e2e_sim_placed_to(&st, phones[L_HUMAN]), 1);
    assert_int_equal(e2e_sim_placed_to(&st, phones[L_BUSY]), 2);
    assert_int_equal(e2e_sim_placed_to(&st, phones[L_NOANSWER]), 1);
    assert_int_equal(e2e_sim_placed_to(&st, phones[L_MANUAL]), 0);

    json_t *calls = e2e_lead_calls(&st, seen.ids[L_HUMAN]);
    assert_int_equal(json_array_size(calls), 1);
    json_t *call = json_array_get(calls, 0);
    assert_string_equal(e2e_str(call, "status"), "completed");
    assert_string_equal(e2e_str(call, "answered_by"), "human");
    char history[256];
    history_of(call, history, sizeof(history));
    print_message("human call history: %s\n", history);
    for (int k = 0; k < 4; k++) /* initiated, ringing, in_progress, completed */
        if (!strstr(history, call_statuses[k]))
            fail_msg("call status %s not in the history %s", call_statuses[k], history);
    assert_true(strstr(history, "initiated") < strstr(history, "in_progress"));
    json_decref(calls);

    calls = e2e_lead_calls(&st, seen.ids[L_BUSY]);
    assert_int_equal(json_array_size(calls), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(e2e_str(json_array_get(calls, i), "status"), "busy");
        assert_int_equal(e2e_int(json_array_get(calls, i), "attempt_number"), (long long)i + 1);
    }
    json_decref(calls);
    calls = e2e_lead_calls(&st, seen.ids[L_NOANSWER]);
    assert_int_equal(json_array_size(calls), 1);
    assert_string_equal(e2e_str(json_array_get(calls, 0), "status"), "unanswered");
    json_decref(calls);
    calls = e2e_lead_calls(&st, seen.ids[L_FAIL]);
    assert_int_equal(json_array_size(calls), 2);
    assert_string_equal(e2e_str(json_array_get(calls, 0), "status"), "failed");
    assert_string_equal(e2e_str(json_array_get(calls, 0), "failure_class"), "permanent");
    json_decref(calls);

    observe(&st, campaign, &seen);
    for (int k = 0; k < N_CALL_STATUSES; k++)
        print_message("call status %-11s seen live in the calls list: %s\n", call_statuses[k],
                      seen.call_status[k] ? "yes" : "no (in the history)");
    for (int k = 3; k < N_CALL_STATUSES; k++) /* the final results */
        assert_true(seen.call_status[k]);

    json_t *stats = e2e_get_json(&st, "/v1/campaigns/%s/stats", campaign);
    assert_int_equal(e2e_int(stats, "leads.by_status.completed"), 3);
    assert_int_equal(e2e_int(stats, "leads.by_status.max_retries"), 2);
    assert_int_equal(e2e_int(stats, "leads.by_outcome.manual"), 2);
    json_decref(stats);

    e2e_audit(&st, campaign);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN_EACH(NULL, NULL, NULL, e2e_teardown, test_lead_statuses)

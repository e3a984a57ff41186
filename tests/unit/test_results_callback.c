/* Callbacks in the results decision (results_decide.h, the callback table):
 * a time with and without an offset, in the past, outside the campaign
 * window, outside the callee's state hours, a request that replaces the
 * pending one, junk, too far ahead; and the callback call itself, which
 * uses no attempt of the retry budget. Without a database.
 *
 * The lead: a Florida number, the campaign window 09:00-21:00 every day in
 * New York; Florida's legal hours are 08:00-20:00 (rules/us.json). Now is
 * Wednesday 2024-06-05 10:00 in New York (EDT, -04:00). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "results_decide.h"
#include "test_main.h"
#include "test_rules_support.h"

#define CAMPAIGN "c0000000-0000-4000-8000-000000000001"
#define ATTEMPT  "a0000000-0000-4000-8000-000000000001"
#define LEAD     "10000000-0000-4000-8000-000000000001"
#define NOW      T("2024-06-05T10:00-04:00")
#define ENDED    T("2024-06-05T09:59-04:00")
#define INTERVAL 30

static const char *const ny[] = {"America/New_York"};

typedef enum call_kind { ANSWERED, UNANSWERED, SKIPPED_WINDOW, SKIPPED_DNC } call_kind_t;

typedef struct fixture {
    results_event_t ev;
    results_lead_t lead;
    results_call_t call;
    results_campaign_t c;
    legal_account_t acct;
    lead_legal_t legal;
    char vars[256];
} fixture_t;

/* The current attempt of a lead that made `attempts` calls before (the
 * ending one not counted), with its callback pending or not, ends as kind
 * and reports vars_json; legal: Florida's rules apply. */
static void fixture_build(fixture_t *f, call_kind_t kind, int attempts, bool pending,
                          const char *vars_json, bool legal)
{
    memset(f, 0, sizeof(*f));
    if (vars_json)
        snprintf(f->vars, sizeof(f->vars), "%s", vars_json);
    f->ev = (results_event_t){.event_id = "event-1",
                              .attempt_id = ATTEMPT,
                              .lead_id = LEAD,
                              .campaign_id = CAMPAIGN,
                              .attempt_number = (uint32_t)attempts + 1,
                              .status = kind == ANSWERED     ? MODEL_CALL_COMPLETED
                                        : kind == UNANSWERED ? MODEL_CALL_UNANSWERED
                                                             : MODEL_CALL_SKIPPED,
                              .answered_by_reported = kind == ANSWERED,
                              .answered_by = MODEL_ANSWERED_BY_HUMAN,
                              .skip_reason =
                                  kind == SKIPPED_DNC ? MODEL_SKIP_DNC : MODEL_SKIP_OUTSIDE_WINDOW,
                              .post_call_variables_json = vars_json ? f->vars : NULL,
                              .ended_at_us = ENDED,
                              .occurred_at_us = ENDED};

    f->lead = (results_lead_t){.found = true,
                               .campaign_id = CAMPAIGN,
                               .status = MODEL_LEAD_PROCESSING,
                               .attempts = attempts,
                               .current_attempt_id = ATTEMPT,
                               .e164 = "+13055550100",
                               .callback_pending = pending};
    f->call = (results_call_t){.found = true, .status = MODEL_CALL_RINGING, .ended_reason = ""};

    results_campaign_t *c = &f->c;
    c->account_id = "acc";
    c->retry = (retry_policy_t){2, INTERVAL, true, false};
    c->goal_variable = "";
    c->callback_variable = "callback_at";
    c->callee_zone = "America/New_York";
    c->window.rules[0] = (window_rule_t){{9 * 60, 21 * 60, WINDOW_DAYS_ALL}, ny, 1};
    c->window.n_rules = 1;
    if (legal) {
        char err[256];
        sched_campaign_t sc = {.tz_mode = MODEL_TZ_MODE_ASSISTANT};
        snprintf(sc.assistant_tz, sizeof(sc.assistant_tz), "America/New_York");
        assert_int_equal(
            legal_account_init(&f->acct, legal_pack_builtin(), "us_states", NULL, err, sizeof(err)),
            OD_OK);
        sc.legal_profile = f->acct.profile;
        if (campaign_lead_legal(&sc, &f->acct, "", f->lead.e164, "FL", NOW, &f->legal, err,
                                sizeof(err)))
            fail_msg("legal: %s", err);
        c->legal = &f->legal;
    }
}

static void decide(fixture_t *f, results_writes_t *w)
{
    char err[256];
    if (results_decide(&f->ev, &f->lead, &f->call, &f->c, NOW, w, err, sizeof(err)) != OD_OK)
        fail_msg("results_decide: %s", err);
    legal_account_clear(&f->acct);
}

static const char *str_or_null(const char *s)
{
    return s ? s : "(null)";
}

/* A request on an answered call (the lead's first, no callback pending):
 * pending at the time planned with its reason, or refused. */
static void test_request(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *vars;
        bool legal;
        const char *zone; /* the lead's own (NULL: New York) */
        bool pending;
        const char *at; /* pending: the time planned */
        const char *asked_for;
        const char *reason;
    } cases[] = {
        {"offset, inside the window", "{\"callback_at\": \"2024-06-05T15:00:00-04:00\"}", false,
         NULL, true, "2024-06-05T15:00-04:00", "2024-06-05T15:00-04:00", NULL},
        {"Z", "{\"callback_at\": \"2024-06-05T19:00:00Z\"}", false, NULL, true,
         "2024-06-05T15:00-04:00", "2024-06-05T15:00-04:00", NULL},
        {"no offset: the lead's zone", "{\"callback_at\": \"2024-06-05T15:00\"}", false, NULL, true,
         "2024-06-05T15:00-04:00", "2024-06-05T15:00-04:00", NULL},
        {"no offset, a lead in Los Angeles", "{\"callback_at\": \"2024-06-05 15:00:00\"}", false,
         "America/Los_Angeles", true, "2024-06-05T15:00-07:00", "2024-06-05T15:00-07:00", NULL},
        {"past: as soon as allowed", "{\"callback_at\": \"2024-06-04T15:00:00-04:00\"}", false,
         NULL, true, "2024-06-05T10:00-04:00", "2024-06-04T15:00-04:00", "past"},
        {"past, window closed then open now", "{\"callback_at\": \"2024-06-05T03:00\"}", false,
         NULL, true, "2024-06-05T10:00-04:00", "2024-06-05T03:00-04:00", "past"},
        {"outside the window: its next opening", "{\"callback_at\": \"2024-06-05T22:00:00-04:00\"}",
         false, NULL, true, "2024-06-06T09:00-04:00", "2024-06-05T22:00-04:00", "window"},
        {"outside the state hours: their next opening",
         "{\"callback_at\": \"2024-06-05T20:30:00-04:00\"}", true, NULL, true,
         "2024-06-06T09:00-04:00", "2024-06-05T20:30-04:00", "legal_hours"},
        {"inside the state hours: as asked", "{\"callback_at\": \"2024-06-05T19:30:00-04:00\"}",
         true, NULL, true, "2024-06-05T19:30-04:00", "2024-06-05T19:30-04:00", NULL},
        {"junk text", "{\"callback_at\": \"Thursday at 3\"}", false, NULL, false, NULL, NULL,
         "not_a_time"},
        {"an impossible date", "{\"callback_at\": \"2024-02-30T10:00:00Z\"}", false, NULL, false,
         NULL, NULL, "not_a_time"},
        {"a number", "{\"callback_at\": 1717599600}", false, NULL, false, NULL, NULL, "not_a_time"},
        {"too far ahead", "{\"callback_at\": \"2024-07-10T10:00:00-04:00\"}", false, NULL, false,
         NULL, "2024-07-10T10:00-04:00", "too_far_ahead"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_t f;
        fixture_build(&f, ANSWERED, 0, false, cases[i].vars, cases[i].legal);
        if (cases[i].zone)
            f.c.callee_zone = cases[i].zone;
        results_writes_t w;
        decide(&f, &w);
        const results_callback_t *cb = &w.callback;
        if (cb->write != RESULTS_CALLBACK_REQUEST || cb->pending != cases[i].pending)
            fail_msg("%s: write %d pending %d", cases[i].name, cb->write, cb->pending);
        if ((cb->reason || cases[i].reason) &&
            (!cb->reason || !cases[i].reason || strcmp(cb->reason, cases[i].reason) != 0))
            fail_msg("%s: reason %s, want %s", cases[i].name, str_or_null(cb->reason),
                     str_or_null(cases[i].reason));
        int64_t asked = cases[i].asked_for ? T(cases[i].asked_for) : 0;
        if (cb->asked_for_us != asked)
            fail_msg("%s: asked for %lld, want %lld", cases[i].name, (long long)cb->asked_for_us,
                     (long long)asked);
        assert_int_equal(cb->asked_at_us, ENDED);
        assert_int_equal(w.end.attempts, 1); /* the asking call counts */
        if (cases[i].pending) {
            if (cb->at_us != T(cases[i].at))
                fail_msg("%s: at %lld, want %s", cases[i].name, (long long)cb->at_us, cases[i].at);
            /* The lead stays open for it, whatever the answer would do. */
            assert_int_equal(w.end.status, MODEL_LEAD_RESCHEDULED);
            assert_int_equal(w.end.outcome, MODEL_OUTCOME_NONE);
            assert_true(w.end.has_next);
            assert_int_equal(w.end.next_attempt_us, cb->at_us);
            assert_false(w.lead_finished);
        } else {
            /* Refused: the lead goes on as the answer says. */
            assert_int_equal(w.end.status, MODEL_LEAD_COMPLETED);
            assert_int_equal(w.end.outcome, MODEL_OUTCOME_ANSWERED);
            assert_true(w.lead_finished);
        }
    }
}

/* No request: the variable absent, null or "", or the campaign names none. */
static void test_no_request(void **state)
{
    (void)state;
    static const char *const vars[] = {NULL, "{}", "{\"callback_at\": null}",
                                       "{\"callback_at\": \"\"}", "not json"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        fixture_t f;
        fixture_build(&f, ANSWERED, 0, false, vars[i], false);
        results_writes_t w;
        decide(&f, &w);
        assert_int_equal(w.callback.write, RESULTS_CALLBACK_KEEP);
        assert_int_equal(w.end.status, MODEL_LEAD_COMPLETED);
    }
    fixture_t f;
    fixture_build(&f, ANSWERED, 0, false, "{\"callback_at\": \"2024-06-05T15:00\"}", false);
    f.c.callback_variable = "";
    results_writes_t w;
    decide(&f, &w);
    assert_int_equal(w.callback.write, RESULTS_CALLBACK_KEEP);
    /* An opt-out on the same call wins: no callback. */
    fixture_build(&f, ANSWERED, 0, false,
                  "{\"callback_at\": \"2024-06-05T15:00\", \"opted_out\": true}", false);
    f.c.opt_out_variable = "opted_out";
    decide(&f, &w);
    assert_int_equal(w.callback.write, RESULTS_CALLBACK_KEEP);
    assert_int_equal(w.end.outcome, MODEL_OUTCOME_OPTED_OUT);
}

/* The callback call: it uses no attempt; its callback becomes called, or a
 * new request replaces it; unanswered, the retry rules go on from the
 * lead's counted attempts; skipped, it stays pending; a lead that ends
 * with it pending has it cancelled. */
static void test_callback_call(void **state)
{
    (void)state;
    const struct { /* not static: T() is computed */
        const char *name;
        call_kind_t kind;
        int attempts; /* counted before it (max_retries 2: three in all) */
        const char *vars;
        results_callback_write_t write;
        bool pending;
        model_lead_status_t status;
        model_outcome_t outcome;
        int64_t next_us; /* 0: not checked */
    } cases[] = {
        {"answered: called, the lead completes", ANSWERED, 1, "{}", RESULTS_CALLBACK_CALLED, false,
         MODEL_LEAD_COMPLETED, MODEL_OUTCOME_ANSWERED, 0},
        {"asks again: the new one replaces it", ANSWERED, 1,
         "{\"callback_at\": \"2024-06-06T11:00:00-04:00\"}", RESULTS_CALLBACK_REQUEST, true,
         MODEL_LEAD_RESCHEDULED, MODEL_OUTCOME_NONE, T("2024-06-06T11:00-04:00")},
        {"unanswered: retried, no attempt used", UNANSWERED, 1, NULL, RESULTS_CALLBACK_CALLED,
         false, MODEL_LEAD_RESCHEDULED, MODEL_OUTCOME_NONE, ENDED + INTERVAL * 60000000LL},
        {"unanswered, budget used up before: exhausted", UNANSWERED, 3, NULL,
         RESULTS_CALLBACK_CALLED, false, MODEL_LEAD_MAX_RETRIES, MODEL_OUTCOME_EXHAUSTED, 0},
        {"answered after the budget was used up", ANSWERED, 3, "{}", RESULTS_CALLBACK_CALLED, false,
         MODEL_LEAD_COMPLETED, MODEL_OUTCOME_ANSWERED, 0},
        {"skipped: still pending", SKIPPED_WINDOW, 1, NULL, RESULTS_CALLBACK_KEEP, false,
         MODEL_LEAD_RESCHEDULED, MODEL_OUTCOME_NONE, 0},
        {"skipped for DNC: cancelled", SKIPPED_DNC, 1, NULL, RESULTS_CALLBACK_CANCELLED, false,
         MODEL_LEAD_MAX_RETRIES, MODEL_OUTCOME_DNC, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_t f;
        fixture_build(&f, cases[i].kind, cases[i].attempts, true, cases[i].vars, false);
        results_writes_t w;
        decide(&f, &w);
        if (w.callback.write != cases[i].write || w.callback.pending != cases[i].pending)
            fail_msg("%s: write %d pending %d", cases[i].name, w.callback.write,
                     w.callback.pending);
        if (w.end.status != cases[i].status || w.end.outcome != cases[i].outcome)
            fail_msg("%s: status %d outcome %d", cases[i].name, w.end.status, w.end.outcome);
        if (w.end.attempts != cases[i].attempts)
            fail_msg("%s: attempts %d, want %d (a callback uses none)", cases[i].name,
                     w.end.attempts, cases[i].attempts);
        if (cases[i].next_us && w.end.next_attempt_us != cases[i].next_us)
            fail_msg("%s: next %lld, want %lld", cases[i].name, (long long)w.end.next_attempt_us,
                     (long long)cases[i].next_us);
    }
}

/* The call row of a callback says so when it is inserted. */
static void test_call_row(void **state)
{
    (void)state;
    for (int pending = 0; pending < 2; pending++) {
        fixture_t f;
        fixture_build(&f, ANSWERED, 1, pending, "{}", false);
        f.call.found = false;
        results_writes_t w;
        decide(&f, &w);
        assert_int_equal(w.call.write, RESULTS_CALL_INSERT);
        assert_int_equal(w.call.callback, pending);
        assert_int_equal(w.call.attempt_number, 2);
    }
}

OD_TEST_MAIN(NULL, NULL, test_request, test_no_request, test_callback_call, test_call_row)

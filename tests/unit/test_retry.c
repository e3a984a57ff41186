/* Retry policy: every row of docs/architecture.md §5's table with goal-based retry
 * off and on, attempt limits at 1 and 5 retries, intervals at 10 and 4320
 * minutes, retries moved into the calling window, skipped jobs, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "retry.h"
#include "test_main.h"
#include "test_rules_support.h"

/* Status and outcome shorthands for the table. */
#define COMPLETED   MODEL_LEAD_COMPLETED
#define RESCHEDULED MODEL_LEAD_RESCHEDULED
#define MAXRETRIES  MODEL_LEAD_MAX_RETRIES
#define CREATED     MODEL_LEAD_CREATED
#define O_NONE      MODEL_OUTCOME_NONE
#define O_ANSWERED  MODEL_OUTCOME_ANSWERED
#define O_GOAL      MODEL_OUTCOME_GOAL_ACHIEVED
#define O_VM        MODEL_OUTCOME_VOICEMAIL
#define O_EXHAUSTED MODEL_OUTCOME_EXHAUSTED
#define O_PERMANENT MODEL_OUTCOME_PERMANENT_FAILURE
#define O_DNC       MODEL_OUTCOME_DNC
#define G_ABSENT    MODEL_GOAL_ABSENT
#define G_FALSE     MODEL_GOAL_FALSE
#define G_TRUE      MODEL_GOAL_TRUE
#define HUMAN       MODEL_ANSWERED_BY_HUMAN
#define VM          MODEL_ANSWERED_BY_VOICEMAIL
#define UNKNOWN     MODEL_ANSWERED_BY_UNKNOWN

/* The window most cases use: 09:00-18:00 weekdays in New York.
 * 2024-06-05 is a Wednesday. */
#define WED_10 "2024-06-05T10:00-04:00"

typedef struct retry_case {
    const char *name;
    int max_retries, interval;
    bool vm_retry, goal_based;
    int attempts;
    model_call_status_t status;
    model_answered_by_t answered_by;
    bool permanent;
    model_skip_reason_t skip;
    model_goal_t goal;
    const char *ended;
    bool no_window;
    /* expected */
    model_lead_status_t want_status;
    model_outcome_t want_outcome;
    const char *want_next; /* NULL: 0 */
    int want_attempts;
} retry_case_t;

#define CALL_COMPLETED(by, goal) MODEL_CALL_COMPLETED, by, false, 0, goal
#define CALL(status)             status, HUMAN, false, 0, G_ABSENT
#define CALL_PERMANENT           MODEL_CALL_FAILED, HUMAN, true, 0, G_ABSENT
#define CALL_SKIPPED(reason)     MODEL_CALL_SKIPPED, HUMAN, false, reason, G_ABSENT

/* clang-format off */
static const retry_case_t cases[] = {
    /* The table, goal-based retry off. */
    {"off: completed human", 3, 60, true, false, 1, CALL_COMPLETED(HUMAN, G_ABSENT), WED_10, false,
     COMPLETED, O_ANSWERED, NULL, 1},
    {"off: completed human, goal true recorded", 3, 60, true, false, 1,
     CALL_COMPLETED(HUMAN, G_TRUE), WED_10, false, COMPLETED, O_ANSWERED, NULL, 1},
    {"off: completed human, goal false recorded", 3, 60, true, false, 1,
     CALL_COMPLETED(HUMAN, G_FALSE), WED_10, false, COMPLETED, O_ANSWERED, NULL, 1},
    {"off: completed unknown counts as human", 3, 60, true, false, 1,
     CALL_COMPLETED(UNKNOWN, G_ABSENT), WED_10, false, COMPLETED, O_ANSWERED, NULL, 1},
    {"off: voicemail, retry on voicemail", 3, 60, true, false, 1, CALL_COMPLETED(VM, G_ABSENT),
     WED_10, false, RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"off: voicemail, no retry on voicemail", 3, 60, false, false, 1,
     CALL_COMPLETED(VM, G_ABSENT), WED_10, false, COMPLETED, O_VM, NULL, 1},
    {"off: busy", 3, 60, true, false, 1, CALL(MODEL_CALL_BUSY), WED_10, false, RESCHEDULED, O_NONE,
     "2024-06-05T11:00-04:00", 1},
    {"off: unanswered", 3, 60, true, false, 2, CALL(MODEL_CALL_UNANSWERED), WED_10, false,
     RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 2},
    {"off: failed transient", 3, 60, true, false, 1, CALL(MODEL_CALL_FAILED), WED_10, false,
     RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"off: failed permanent", 3, 60, true, false, 1, CALL_PERMANENT, WED_10, false, MAXRETRIES,
     O_PERMANENT, NULL, 1},
    /* The table, goal-based retry on. */
    {"on: completed human, goal true", 3, 60, true, true, 1, CALL_COMPLETED(HUMAN, G_TRUE), WED_10,
     false, COMPLETED, O_GOAL, NULL, 1},
    {"on: completed human, goal false", 3, 60, true, true, 1, CALL_COMPLETED(HUMAN, G_FALSE),
     WED_10, false, RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"on: completed human, goal absent", 3, 60, true, true, 1, CALL_COMPLETED(HUMAN, G_ABSENT),
     WED_10, false, RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"on: completed unknown, goal true", 3, 60, true, true, 1, CALL_COMPLETED(UNKNOWN, G_TRUE),
     WED_10, false, COMPLETED, O_GOAL, NULL, 1},
    {"on: voicemail, retry on voicemail", 3, 60, true, true, 1, CALL_COMPLETED(VM, G_ABSENT),
     WED_10, false, RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"on: voicemail, no retry on voicemail", 3, 60, false, true, 1, CALL_COMPLETED(VM, G_FALSE),
     WED_10, false, COMPLETED, O_VM, NULL, 1},
    {"on: voicemail with goal true still follows voicemail row", 3, 60, true, true, 1,
     CALL_COMPLETED(VM, G_TRUE), WED_10, false, RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"on: busy", 3, 60, true, true, 1, CALL(MODEL_CALL_BUSY), WED_10, false, RESCHEDULED, O_NONE,
     "2024-06-05T11:00-04:00", 1},
    {"on: unanswered", 3, 60, true, true, 1, CALL(MODEL_CALL_UNANSWERED), WED_10, false,
     RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"on: failed transient", 3, 60, true, true, 1, CALL(MODEL_CALL_FAILED), WED_10, false,
     RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"on: failed permanent", 3, 60, true, true, 1, CALL_PERMANENT, WED_10, false, MAXRETRIES,
     O_PERMANENT, NULL, 1},
    /* Attempts: at most 1 + max_retries calls. */
    {"3 retries: 3rd call unanswered, one left", 3, 60, true, false, 3,
     CALL(MODEL_CALL_UNANSWERED), WED_10, false, RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 3},
    {"3 retries: 4th call unanswered, exhausted", 3, 60, true, false, 4,
     CALL(MODEL_CALL_UNANSWERED), WED_10, false, MAXRETRIES, O_EXHAUSTED, NULL, 4},
    {"1 retry: 1st call busy, retried", 1, 60, true, false, 1, CALL(MODEL_CALL_BUSY), WED_10,
     false, RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 1},
    {"1 retry: 2nd call busy, exhausted", 1, 60, true, false, 2, CALL(MODEL_CALL_BUSY), WED_10,
     false, MAXRETRIES, O_EXHAUSTED, NULL, 2},
    {"5 retries: 5th call busy, retried", 5, 60, true, false, 5, CALL(MODEL_CALL_BUSY), WED_10,
     false, RESCHEDULED, O_NONE, "2024-06-05T11:00-04:00", 5},
    {"5 retries: 6th call busy, exhausted", 5, 60, true, false, 6, CALL(MODEL_CALL_BUSY), WED_10,
     false, MAXRETRIES, O_EXHAUSTED, NULL, 6},
    {"goal on: last call goal false, exhausted", 3, 60, true, true, 4,
     CALL_COMPLETED(HUMAN, G_FALSE), WED_10, false, MAXRETRIES, O_EXHAUSTED, NULL, 4},
    {"goal on: last call goal true, achieved", 3, 60, true, true, 4,
     CALL_COMPLETED(HUMAN, G_TRUE), WED_10, false, COMPLETED, O_GOAL, NULL, 4},
    {"voicemail on last call, exhausted", 2, 60, true, false, 3, CALL_COMPLETED(VM, G_ABSENT),
     WED_10, false, MAXRETRIES, O_EXHAUSTED, NULL, 3},
    {"permanent failure with retries left", 5, 60, true, false, 1, CALL_PERMANENT, WED_10, false,
     MAXRETRIES, O_PERMANENT, NULL, 1},
    {"attempts beyond a lowered limit, exhausted", 1, 60, true, false, 4,
     CALL(MODEL_CALL_UNANSWERED), WED_10, false, MAXRETRIES, O_EXHAUSTED, NULL, 4},
    /* Intervals and the window. */
    {"interval 10 minutes", 3, 10, true, false, 1, CALL(MODEL_CALL_BUSY), WED_10, false,
     RESCHEDULED, O_NONE, "2024-06-05T10:10-04:00", 1},
    {"interval 4320 minutes lands on saturday, moves to monday 09:00", 3, 4320, true, false, 1,
     CALL(MODEL_CALL_BUSY), WED_10, false, RESCHEDULED, O_NONE, "2024-06-10T09:00-04:00", 1},
    {"17:50 + 60 min past 18:00 lands next day 09:00", 3, 60, true, false, 1,
     CALL(MODEL_CALL_UNANSWERED), "2024-06-05T17:50-04:00", false, RESCHEDULED, O_NONE,
     "2024-06-06T09:00-04:00", 1},
    {"friday 17:50 + 60 min lands monday 09:00", 3, 60, true, false, 1,
     CALL(MODEL_CALL_UNANSWERED), "2024-06-07T17:50-04:00", false, RESCHEDULED, O_NONE,
     "2024-06-10T09:00-04:00", 1},
    {"17:00 + 60 min is 18:00: closed, next day", 3, 60, true, false, 1,
     CALL(MODEL_CALL_UNANSWERED), "2024-06-05T17:00-04:00", false, RESCHEDULED, O_NONE,
     "2024-06-06T09:00-04:00", 1},
    {"16:59 + 60 min is inside", 3, 60, true, false, 1, CALL(MODEL_CALL_UNANSWERED),
     "2024-06-05T16:59-04:00", false, RESCHEDULED, O_NONE, "2024-06-05T17:59-04:00", 1},
    {"friday evening before spring forward lands monday in EDT", 3, 60, true, false, 1,
     CALL(MODEL_CALL_BUSY), "2024-03-08T17:30-05:00", false, RESCHEDULED, O_NONE,
     "2024-03-11T09:00-04:00", 1},
    {"no window: end + interval exactly", 3, 90, true, false, 1, CALL(MODEL_CALL_BUSY),
     "2024-06-08T23:00-04:00", true, RESCHEDULED, O_NONE, "2024-06-09T00:30-04:00", 1},
    /* Skipped jobs use no attempt. */
    {"skipped outside window, first attempt: created at next open", 3, 60, true, false, 1,
     CALL_SKIPPED(MODEL_SKIP_OUTSIDE_WINDOW), "2024-06-05T18:00-04:00", false, CREATED, O_NONE,
     "2024-06-06T09:00-04:00", 0},
    {"skipped outside window, a retry: rescheduled", 3, 60, true, false, 3,
     CALL_SKIPPED(MODEL_SKIP_OUTSIDE_WINDOW), "2024-06-05T18:00-04:00", false, RESCHEDULED, O_NONE,
     "2024-06-06T09:00-04:00", 2},
    {"skipped, campaign not running: due now", 3, 60, true, false, 2,
     CALL_SKIPPED(MODEL_SKIP_CAMPAIGN_NOT_RUNNING), WED_10, false, RESCHEDULED, O_NONE, WED_10, 1},
    {"skipped, number busy: 5 minutes later", 3, 60, true, false, 1,
     CALL_SKIPPED(MODEL_SKIP_NUMBER_BUSY), WED_10, false, CREATED, O_NONE,
     "2024-06-05T10:05-04:00", 0},
    {"skipped, number busy at 17:58: next day", 3, 60, true, false, 2,
     CALL_SKIPPED(MODEL_SKIP_NUMBER_BUSY), "2024-06-05T17:58-04:00", false, RESCHEDULED, O_NONE,
     "2024-06-06T09:00-04:00", 1},
    {"skipped, frequency cap: a minute later, no attempt used", 3, 60, true, false, 2,
     CALL_SKIPPED(MODEL_SKIP_FREQUENCY_CAP), WED_10, false, RESCHEDULED, O_NONE,
     "2024-06-05T10:01-04:00", 1},
    {"skipped, frequency cap at 17:59:30: next day", 3, 60, true, false, 1,
     CALL_SKIPPED(MODEL_SKIP_FREQUENCY_CAP), "2024-06-05T17:59:30-04:00", false, CREATED, O_NONE,
     "2024-06-06T09:00-04:00", 0},
    {"skipped, dnc: ends the lead", 3, 60, true, false, 1, CALL_SKIPPED(MODEL_SKIP_DNC), WED_10,
     false, MAXRETRIES, O_DNC, NULL, 0},
    {"skipped, pre-dial refused: ends the lead, no attempt used", 3, 60, true, false, 2,
     CALL_SKIPPED(MODEL_SKIP_PREDIAL_REFUSED), WED_10, false, MAXRETRIES,
     MODEL_OUTCOME_PREDIAL_REFUSED, NULL, 1},
    {"skipped, pre-dial error: 5 minutes later", 3, 60, true, false, 1,
     CALL_SKIPPED(MODEL_SKIP_PREDIAL_ERROR), WED_10, false, CREATED, O_NONE,
     "2024-06-05T10:05-04:00", 0},
    {"skipped, pre-dial error at 17:58: next day", 3, 60, true, false, 3,
     CALL_SKIPPED(MODEL_SKIP_PREDIAL_ERROR), "2024-06-05T17:58-04:00", false, RESCHEDULED,
     O_NONE, "2024-06-06T09:00-04:00", 2},
};
/* clang-format on */

static void test_table(void **state)
{
    (void)state;
    const char *zones[] = {"America/New_York"};
    const window_rule_t window = {{540, 1080, WINDOW_DAYS_WEEKDAYS}, zones, 1};
    int failed = 0;
    size_t n = sizeof(cases) / sizeof(cases[0]);
    for (size_t i = 0; i < n; i++) {
        const retry_case_t *c = &cases[i];
        retry_policy_t policy = {c->max_retries, c->interval, c->vm_retry, c->goal_based};
        retry_call_t call = {c->status, c->answered_by, c->permanent, c->skip, c->goal, T(c->ended),
                             0};
        retry_decision_t d;
        char err[256] = "", got[40], want[40];
        int rc = retry_decide(&policy, c->attempts, &call, c->no_window ? NULL : &window,
                              c->no_window ? 0 : 1, &d, err, sizeof(err));
        int64_t want_next = c->want_next ? T(c->want_next) : 0;
        if (rc != OD_OK) {
            print_error("%s: rc %d: %s\n", c->name, rc, err);
            failed++;
            continue;
        }
        if (d.status != c->want_status || d.outcome != c->want_outcome ||
            d.next_attempt_us != want_next || d.attempts != c->want_attempts || d.goal != c->goal) {
            print_error("%s: got %s/%s next %s attempts %d goal %d; want %s/%s next %s attempts "
                        "%d goal %d\n",
                        c->name, model_lead_status_name(d.status),
                        d.outcome ? model_outcome_name(d.outcome) : "-",
                        rt_fmt(d.next_attempt_us, got, sizeof(got)), d.attempts, d.goal,
                        model_lead_status_name(c->want_status),
                        c->want_outcome ? model_outcome_name(c->want_outcome) : "-",
                        rt_fmt(want_next, want, sizeof(want)), c->want_attempts, c->goal);
            failed++;
        }
    }
    print_message("%zu retry cases, %d failed\n", n, failed);
    assert_int_equal(failed, 0);
}

typedef struct retry_error_case {
    const char *name;
    retry_policy_t policy;
    int attempts;
    model_call_status_t status;
    const char *message_part;
} retry_error_case_t;

static void test_errors(void **state)
{
    (void)state;
    const retry_error_case_t ec[] = {
        {"max_retries 0",
         {0, 60, true, false},
         1,
         MODEL_CALL_BUSY,
         "max_retries 0 is out of range (allowed: 1..5)"},
        {"max_retries 6",
         {6, 60, true, false},
         1,
         MODEL_CALL_BUSY,
         "max_retries 6 is out of range (allowed: 1..5)"},
        {"interval 9",
         {3, 9, true, false},
         1,
         MODEL_CALL_BUSY,
         "retry_interval_minutes 9 is out of range (allowed: 10..4320)"},
        {"interval 4321",
         {3, 4321, true, false},
         1,
         MODEL_CALL_BUSY,
         "retry_interval_minutes 4321 is out of range (allowed: 10..4320)"},
        {"attempts 0", {3, 60, true, false}, 0, MODEL_CALL_BUSY, "attempts 0"},
        {"initiated is not terminal",
         {3, 60, true, false},
         1,
         MODEL_CALL_INITIATED,
         "call status initiated does not end a call"},
        {"ringing is not terminal",
         {3, 60, true, false},
         1,
         MODEL_CALL_RINGING,
         "call status ringing does not end a call"},
        {"in_progress is not terminal",
         {3, 60, true, false},
         1,
         MODEL_CALL_IN_PROGRESS,
         "call status in_progress does not end a call"},
    };
    for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]); i++) {
        retry_call_t call = {ec[i].status,      MODEL_ANSWERED_BY_HUMAN, false, 0,
                             MODEL_GOAL_ABSENT, T("2024-06-05T10:00Z"),  0};
        retry_decision_t d;
        char err[256] = "";
        int rc = retry_decide(&ec[i].policy, ec[i].attempts, &call, NULL, 0, &d, err, sizeof(err));
        if (rc != OD_ERR_INVALID || !strstr(err, ec[i].message_part))
            fail_msg("%s: rc %d '%s'", ec[i].name, rc, err);
    }

    /* A window that never opens is reported, not looped on. */
    const char *ny[] = {"America/New_York"}, *tokyo[] = {"Asia/Tokyo"};
    const window_rule_t never[2] = {{{540, 600, WINDOW_DAYS_ALL}, ny, 1},
                                    {{540, 600, WINDOW_DAYS_ALL}, tokyo, 1}};
    retry_policy_t policy;
    retry_policy_defaults(&policy);
    retry_call_t call = {MODEL_CALL_BUSY,   MODEL_ANSWERED_BY_HUMAN, false, 0,
                         MODEL_GOAL_ABSENT, T("2024-06-05T10:00Z"),  0};
    retry_decision_t d;
    char err[256];
    assert_int_equal(retry_decide(&policy, 1, &call, never, 2, &d, err, sizeof(err)),
                     OD_ERR_NOT_FOUND);
    /* ...but a lead that needs no retry does not need the window. */
    call.status = MODEL_CALL_COMPLETED;
    assert_int_equal(retry_decide(&policy, 1, &call, never, 2, &d, err, sizeof(err)), OD_OK);
    assert_int_equal(d.status, MODEL_LEAD_COMPLETED);
}

static void test_defaults(void **state)
{
    (void)state;
    retry_policy_t p;
    retry_policy_defaults(&p);
    assert_int_equal(p.max_retries, 3);
    assert_int_equal(p.retry_interval_minutes, 60);
    assert_true(p.retry_on_voicemail);
    assert_false(p.goal_based_retry);
}

/* caller_id_exhausted: no attempt used; the lead waits for the pool's
 * first number to wake (the event's not_before_us), moved to the window's
 * next opening; a wake already past waits for nothing but the window. */
static void test_caller_id_exhausted(void **state)
{
    (void)state;
    const char *zones[] = {"America/New_York"};
    const window_rule_t window = {{540, 1080, WINDOW_DAYS_WEEKDAYS}, zones, 1};
    retry_policy_t policy;
    retry_policy_defaults(&policy);
    static const struct {
        const char *ended, *wakes, *want;
        int attempts, want_attempts;
        model_lead_status_t want_status;
    } cases[] = {
        /* a number wakes at 15:00 the same day (a zone to the east) */
        {WED_10, "2024-06-05T15:00-04:00", "2024-06-05T15:00-04:00", 2, 1, RESCHEDULED},
        /* wakes at midnight: the window opens at 09:00 */
        {WED_10, "2024-06-06T00:00-04:00", "2024-06-06T09:00-04:00", 1, 0, CREATED},
        /* wakes Saturday: Monday 09:00 */
        {WED_10, "2024-06-08T00:00-04:00", "2024-06-10T09:00-04:00", 3, 2, RESCHEDULED},
        /* a wake before the skip (a late event): the skip's time */
        {WED_10, "2024-06-05T09:30-04:00", WED_10, 2, 1, RESCHEDULED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        retry_call_t call = {.status = MODEL_CALL_SKIPPED,
                             .skip_reason = MODEL_SKIP_CALLER_ID_EXHAUSTED,
                             .ended_at_us = T(cases[i].ended),
                             .not_before_us = T(cases[i].wakes)};
        retry_decision_t d;
        char err[256];
        assert_int_equal(
            retry_decide(&policy, cases[i].attempts, &call, &window, 1, &d, err, sizeof(err)),
            OD_OK);
        assert_int_equal(d.status, cases[i].want_status);
        assert_int_equal(d.outcome, O_NONE);
        assert_int_equal(d.attempts, cases[i].want_attempts);
        assert_true(d.next_attempt_us == T(cases[i].want));
    }
}

OD_TEST_MAIN(NULL, NULL, test_table, test_errors, test_defaults, test_caller_id_exhausted)

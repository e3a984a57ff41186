/* Retry policy: every row of docs/architecture.md §5's table with goal-based retry
 * off and on, attempt limits at 1 and 5 retries, intervals at 10 and 4320
 * minutes, retries moved into the calling window, skipped jobs, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "retry.h"
#include "test_main.h"
#include "test_rules_support.h"

/* Shorthands for the caller_id_exhausted table. */
#define RESCHEDULED MODEL_LEAD_RESCHEDULED
#define CREATED     MODEL_LEAD_CREATED
#define O_NONE      MODEL_OUTCOME_NONE

/* The window the caller_id_exhausted cases use (and retry_decisions.tsv
 * says): 09:00-18:00 weekdays in New York. 2024-06-05 is a Wednesday. */
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

/* The cell of row and column, absent, false or true, as a model_goal_t
 * (which has no wire names). */
static model_goal_t case_goal(const case_file_t *cf, size_t row, size_t column)
{
    static const char *const names[] = {"absent", "false", "true"}; /* in model_goal_t's order */
    const char *text = case_file_cell(cf, row, column);
    for (size_t g = 0; text && g < sizeof(names) / sizeof(names[0]); g++)
        if (strcmp(text, names[g]) == 0)
            return (model_goal_t)g;
    fail_msg("%s: goal '%s' is not absent, false or true", case_file_cell(cf, row, 0),
             text ? text : "-");
    return MODEL_GOAL_ABSENT;
}

static const char *const retry_columns[] = {
    "name",      "max_retries", "interval",     "vm_retry",  "goal_based",   "attempts",
    "status",    "answered_by", "permanent",    "skip",      "goal",         "ended",
    "no_window", "want_status", "want_outcome", "want_next", "want_attempts"};

/* Row i of tests/unit/cases/retry_decisions.tsv as a case; its strings are
 * cf's. */
static retry_case_t retry_case_read(const case_file_t *cf, size_t i)
{
    const char *name = case_file_cell(cf, i, 0);
    retry_case_t c = {
        .name = name,
        .max_retries = case_file_int(cf, i, 1),
        .interval = case_file_int(cf, i, 2),
        .vm_retry = case_file_yes(cf, i, 3),
        .goal_based = case_file_yes(cf, i, 4),
        .attempts = case_file_int(cf, i, 5),
        .permanent = case_file_yes(cf, i, 8),
        .goal = case_goal(cf, i, 10),
        .ended = case_file_cell(cf, i, 11),
        .no_window = case_file_yes(cf, i, 12),
        .want_next = case_file_cell(cf, i, 15),
        .want_attempts = case_file_int(cf, i, 16),
    };
    /* Each model_*_parse gives 0 (OD_OK) or an error, with err saying it. */
    char err[256] = "";
    const char *skip = case_file_cell(cf, i, 9); /* -: not skipped, no reason */
    if (model_call_status_parse(case_file_cell(cf, i, 6), &c.status, err, sizeof(err)) ||
        model_answered_by_parse(case_file_cell(cf, i, 7), &c.answered_by, err, sizeof(err)) ||
        (skip && model_skip_reason_parse(skip, &c.skip, err, sizeof(err))) ||
        model_lead_status_parse(case_file_cell(cf, i, 13), &c.want_status, err, sizeof(err)) ||
        model_outcome_parse(case_file_cell(cf, i, 14), &c.want_outcome, err, sizeof(err)))
        fail_msg("%s: %s", name, err);
    return c;
}

static void test_table(void **state)
{
    (void)state;
    const char *zones[] = {"America/New_York"};
    const window_rule_t window = {{540, 1080, WINDOW_DAYS_WEEKDAYS}, zones, 1};
    int failed = 0;
    case_file_t *cf = case_file_load("retry_decisions", retry_columns,
                                     sizeof(retry_columns) / sizeof(retry_columns[0]), 51);
    size_t n = cf->n_rows;
    for (size_t i = 0; i < n; i++) {
        const retry_case_t case_row = retry_case_read(cf, i), *c = &case_row;
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
    case_file_free(cf);
    print_message("%zu retry cases, %d failed\n", n, failed);
    assert_int_equal(failed, 0);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const columns[] = {"name",       "max_retries", "interval", "vm_retry",
                                          "goal_based", "attempts",    "status",   "message"};
    case_file_t *cf =
        case_file_load("retry_errors", columns, sizeof(columns) / sizeof(columns[0]), 8);
    for (size_t i = 0; i < cf->n_rows; i++) {
        const char *name = case_file_cell(cf, i, 0);
        const retry_policy_t policy = {case_file_int(cf, i, 1), case_file_int(cf, i, 2),
                                       case_file_yes(cf, i, 3), case_file_yes(cf, i, 4)};
        char err[256] = "";
        model_call_status_t status;
        if (model_call_status_parse(case_file_cell(cf, i, 6), &status, err, sizeof(err)) != OD_OK)
            fail_msg("%s: %s", name, err);
        retry_call_t call = {.status = status,
                             .answered_by = MODEL_ANSWERED_BY_HUMAN,
                             .goal = MODEL_GOAL_ABSENT,
                             .ended_at_us = T("2024-06-05T10:00Z")};
        retry_decision_t d;
        int rc =
            retry_decide(&policy, case_file_int(cf, i, 5), &call, NULL, 0, &d, err, sizeof(err));
        if (rc != OD_ERR_INVALID || !strstr(err, case_file_cell(cf, i, 7)))
            fail_msg("%s: rc %d '%s'", name, rc, err);
    }
    case_file_free(cf);

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

/* Campaign settings: ranges at and beyond their bounds, the goal variable
 * rules, window and day syntax, and that every problem is reported with its
 * field and the allowed range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "case_table.h"
#include "settings.h"
#include "test_main.h"

static const settings_var_t vars[] = {
    {"booked", MODEL_VAR_BOOLEAN},
    {"summary", MODEL_VAR_STRING},
    {"score", MODEL_VAR_NUMBER},
};
#define N_VARS (sizeof(vars) / sizeof(vars[0]))

typedef enum setting {
    S_MAX_RETRIES,
    S_INTERVAL,
    S_GOAL_VAR,
    S_GOAL_BASED,
    S_START,
    S_END,
    S_DAYS,
    S_MODE,
    S_CONCURRENT,
    S_CPM,
    S_CALLBACK_VAR,
} setting_t;

typedef struct settings_case {
    const char *name;
    setting_t setting;
    int64_t number;    /* for numeric settings */
    const char *text;  /* for string settings; for S_DAYS a comma list ("" = none) */
    bool flag;         /* for S_GOAL_BASED; for S_CPM: has a value */
    const char *field; /* expected problem field, NULL: valid */
    const char *message;
} settings_case_t;

/* clang-format off */
static const settings_case_t cases[] = {
    {"max_retries 1", S_MAX_RETRIES, 1, NULL, false, NULL, NULL},
    {"max_retries 5", S_MAX_RETRIES, 5, NULL, false, NULL, NULL},
    {"max_retries 0", S_MAX_RETRIES, 0, NULL, false, "max_retries",
     "max_retries must be between 1 and 5 (got 0)"},
    {"max_retries 6", S_MAX_RETRIES, 6, NULL, false, "max_retries",
     "max_retries must be between 1 and 5 (got 6)"},
    {"max_retries -1", S_MAX_RETRIES, -1, NULL, false, "max_retries",
     "max_retries must be between 1 and 5 (got -1)"},
    {"interval 10", S_INTERVAL, 10, NULL, false, NULL, NULL},
    {"interval 4320", S_INTERVAL, 4320, NULL, false, NULL, NULL},
    {"interval 9", S_INTERVAL, 9, NULL, false, "retry_interval_minutes",
     "retry_interval_minutes must be between 10 and 4320 (got 9)"},
    {"interval 4321", S_INTERVAL, 4321, NULL, false, "retry_interval_minutes",
     "retry_interval_minutes must be between 10 and 4320 (got 4321)"},
    {"interval 0", S_INTERVAL, 0, NULL, false, "retry_interval_minutes",
     "retry_interval_minutes must be between 10 and 4320 (got 0)"},
    {"goal variable boolean", S_GOAL_VAR, 0, "booked", false, NULL, NULL},
    {"goal variable unknown", S_GOAL_VAR, 0, "sold", false, "goal_variable",
     "goal_variable 'sold' is not a post-call variable of the assistant (allowed: one of its "
     "boolean variables, or none)"},
    {"goal variable string", S_GOAL_VAR, 0, "summary", false, "goal_variable",
     "goal_variable 'summary' is a string variable (allowed: a boolean post-call variable of the "
     "assistant, or none)"},
    {"goal variable number", S_GOAL_VAR, 0, "score", false, "goal_variable",
     "goal_variable 'score' is a number variable (allowed: a boolean post-call variable of the "
     "assistant, or none)"},
    {"callback variable string", S_CALLBACK_VAR, 0, "summary", false, NULL, NULL},
    {"callback variable empty: none", S_CALLBACK_VAR, 0, "", false, NULL, NULL},
    {"callback variable unknown", S_CALLBACK_VAR, 0, "call_me", false, "callback_variable",
     "callback_variable 'call_me' is not a post-call variable of the assistant (allowed: one of "
     "its string variables, or none)"},
    {"callback variable boolean", S_CALLBACK_VAR, 0, "booked", false, "callback_variable",
     "callback_variable 'booked' is a boolean variable (allowed: a string post-call variable of "
     "the assistant, or none)"},
    {"goal-based retry without goal variable", S_GOAL_BASED, 0, NULL, true, "goal_based_retry",
     "goal_based_retry needs a goal_variable (a boolean post-call variable of the assistant)"},
    {"goal-based retry with empty goal variable", S_GOAL_BASED, 0, "", true, "goal_based_retry",
     "goal_based_retry needs a goal_variable (a boolean post-call variable of the assistant)"},
    {"goal-based retry with boolean goal", S_GOAL_BASED, 0, "booked", true, NULL, NULL},
    {"window start 00:00", S_START, 0, "00:00", false, NULL, NULL},
    {"window end 24:00", S_END, 0, "24:00", false, NULL, NULL},
    {"window start 25:00", S_START, 0, "25:00", false, "window_start",
     "window_start: '25:00' is not a time of day (allowed: HH:MM from 00:00 to 23:59)"},
    {"window end 9am", S_END, 0, "9am", false, "window_end",
     "window_end: '9am' is not a time of day (allowed: HH:MM from 00:00 to 23:59)"},
    {"window end missing", S_END, 0, NULL, false, "window_end",
     "window_end: '(null)' is not a time of day (allowed: HH:MM from 00:00 to 23:59)"},
    {"days weekend", S_DAYS, 0, "sat,sun", false, NULL, NULL},
    {"days none", S_DAYS, 0, "", false, "allowed_days",
     "allowed_days must name at least one day (allowed: mon, tue, wed, thu, fri, sat, sun)"},
    {"days unknown", S_DAYS, 0, "mon,someday", false, "allowed_days",
     "allowed_days: 'someday' is not a day (allowed: mon, tue, wed, thu, fri, sat, sun)"},
    {"mode lead", S_MODE, 0, "lead", false, NULL, NULL},
    {"mode callee", S_MODE, 0, "callee", false, "timezone_mode",
     "timezone_mode 'callee' is not allowed (allowed: assistant, lead)"},
    {"concurrent 1", S_CONCURRENT, 1, NULL, false, NULL, NULL},
    {"concurrent 1000", S_CONCURRENT, 1000, NULL, false, NULL, NULL},
    {"concurrent 0", S_CONCURRENT, 0, NULL, false, "max_concurrent_calls",
     "max_concurrent_calls must be between 1 and 1000 (got 0)"},
    {"concurrent 1001", S_CONCURRENT, 1001, NULL, false, "max_concurrent_calls",
     "max_concurrent_calls must be between 1 and 1000 (got 1001)"},
    {"calls per minute none", S_CPM, 0, NULL, false, NULL, NULL},
    {"calls per minute 1", S_CPM, 1, NULL, true, NULL, NULL},
    {"calls per minute 6000", S_CPM, 6000, NULL, true, NULL, NULL},
    {"calls per minute 0", S_CPM, 0, NULL, true, "calls_per_minute",
     "calls_per_minute must be between 1 and 6000, or none for no limit (got 0)"},
    {"calls per minute 6001", S_CPM, 6001, NULL, true, "calls_per_minute",
     "calls_per_minute must be between 1 and 6000, or none for no limit (got 6001)"},
};
/* clang-format on */

/* One settings case: a campaign of defaults with one setting changed is
 * accepted, or refused with the one problem the case names. */
static bool settings_case_holds(const void *row)
{
    const settings_case_t *c = row;
    settings_campaign_t s;
    settings_campaign_defaults(&s);
    char days_buf[64];
    const char *days[8];
    switch (c->setting) {
    case S_MAX_RETRIES:
        s.max_retries = c->number;
        break;
    case S_INTERVAL:
        s.retry_interval_minutes = c->number;
        break;
    case S_GOAL_VAR:
        s.goal_variable = c->text;
        break;
    case S_CALLBACK_VAR:
        s.callback_variable = c->text;
        break;
    case S_GOAL_BASED:
        s.goal_variable = c->text;
        s.goal_based_retry = c->flag;
        break;
    case S_START:
        s.window_start = c->text;
        break;
    case S_END:
        s.window_end = c->text;
        break;
    case S_DAYS: {
        size_t nd = 0;
        snprintf(days_buf, sizeof(days_buf), "%s", c->text);
        for (char *save = NULL, *tok = strtok_r(days_buf, ",", &save); tok && nd < 8;
             tok = strtok_r(NULL, ",", &save))
            days[nd++] = tok;
        s.allowed_days = days;
        s.n_allowed_days = nd;
        break;
    }
    case S_MODE:
        s.timezone_mode = c->text;
        break;
    case S_CONCURRENT:
        s.max_concurrent_calls = c->number;
        break;
    case S_CPM:
        s.has_calls_per_minute = c->flag;
        s.calls_per_minute = c->number;
        break;
    }
    settings_problems_t problems;
    settings_rules_t rules;
    int rc = settings_campaign_check(&s, vars, N_VARS, &rules, &problems);
    if (!c->field) {
        if (rc != OD_OK) {
            print_error("%s: unexpected problem %s: %s\n", c->name, problems.items[0].field,
                        problems.items[0].message);
            return false;
        }
        return true;
    }
    if (rc != OD_ERR_INVALID || problems.n != 1 || strcmp(problems.items[0].field, c->field) != 0 ||
        strcmp(problems.items[0].message, c->message) != 0) {
        print_error("%s: rc %d, %zu problems, first %s: %s\n", c->name, rc, problems.n,
                    problems.n ? problems.items[0].field : "-",
                    problems.n ? problems.items[0].message : "-");
        return false;
    }
    return true;
}

CASE_TABLE_TEST(test_table, "settings", cases, settings_case_holds)

static void test_defaults_parse(void **state)
{
    (void)state;
    settings_campaign_t s;
    settings_campaign_defaults(&s);
    settings_problems_t problems;
    settings_rules_t rules;
    assert_int_equal(settings_campaign_check(&s, NULL, 0, &rules, &problems), OD_OK);
    assert_int_equal(problems.n, 0);
    assert_int_equal(rules.retry.max_retries, 3);
    assert_int_equal(rules.retry.retry_interval_minutes, 60);
    assert_true(rules.retry.retry_on_voicemail);
    assert_false(rules.retry.goal_based_retry);
    assert_int_equal(rules.window.start_min, 9 * 60);
    assert_int_equal(rules.window.end_min, 18 * 60);
    assert_int_equal(rules.window.days, WINDOW_DAYS_WEEKDAYS);
    assert_int_equal(rules.tz_mode, MODEL_TZ_MODE_ASSISTANT);
    assert_null(rules.goal_variable);
    assert_int_equal(rules.max_concurrent_calls, 10);
    assert_int_equal(rules.calls_per_minute, 0);

    /* A full valid configuration comes out parsed. */
    const char *days[] = {"Friday", "sat"};
    s.window_start = "22:00";
    s.window_end = "02:00";
    s.allowed_days = days;
    s.n_allowed_days = 2;
    s.goal_variable = "booked";
    s.goal_based_retry = true;
    s.timezone_mode = "lead";
    s.has_calls_per_minute = true;
    s.calls_per_minute = 30;
    assert_int_equal(settings_campaign_check(&s, vars, N_VARS, &rules, &problems), OD_OK);
    assert_int_equal(rules.window.start_min, 22 * 60);
    assert_int_equal(rules.window.end_min, 2 * 60);
    assert_int_equal(rules.window.days, WINDOW_DAY_FRI | WINDOW_DAY_SAT);
    assert_int_equal(rules.tz_mode, MODEL_TZ_MODE_LEAD);
    assert_string_equal(rules.goal_variable, "booked");
    assert_true(rules.retry.goal_based_retry);
    assert_int_equal(rules.calls_per_minute, 30);
}

/* Every problem at once, one per field, in field order. */
static void test_every_problem(void **state)
{
    (void)state;
    const char *days[] = {"noday"};
    settings_campaign_t s = {
        .max_retries = 9,
        .retry_interval_minutes = 5,
        .retry_on_voicemail = true,
        .goal_based_retry = true,
        .goal_variable = NULL,
        .window_start = "7",
        .window_end = "18:61",
        .allowed_days = days,
        .n_allowed_days = 1,
        .timezone_mode = "ASSISTANT",
        .max_concurrent_calls = 0,
        .has_calls_per_minute = true,
        .calls_per_minute = 100000,
    };
    settings_problems_t problems;
    assert_int_equal(settings_campaign_check(&s, vars, N_VARS, NULL, &problems), OD_ERR_INVALID);
    const char *want[] = {
        "max_retries",     "retry_interval_minutes", "goal_based_retry", "window_start",
        "window_end",      "allowed_days",           "timezone_mode",    "max_concurrent_calls",
        "calls_per_minute"};
    assert_int_equal(problems.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < problems.n; i++) {
        assert_string_equal(problems.items[i].field, want[i]);
        assert_true(strlen(problems.items[i].message) > 10);
    }
}

static void test_quiet_hours(void **state)
{
    (void)state;
    settings_problems_t problems;
    window_spec_t spec;
    assert_int_equal(settings_quiet_hours_check("08:00", "21:00", &spec, &problems), OD_OK);
    assert_int_equal(spec.start_min, 480);
    assert_int_equal(spec.end_min, 1260);
    assert_int_equal(spec.days, WINDOW_DAYS_ALL);
    assert_int_equal(settings_quiet_hours_check("8", "21:00", &spec, &problems), OD_ERR_INVALID);
    assert_int_equal(problems.n, 1);
    assert_string_equal(problems.items[0].field, "quiet_hours_start");
    assert_int_equal(settings_quiet_hours_check("x", "y", &spec, &problems), OD_ERR_INVALID);
    assert_int_equal(problems.n, 2);
    assert_string_equal(problems.items[1].field, "quiet_hours_end");
}

OD_TEST_MAIN(NULL, NULL, test_table, test_defaults_parse, test_every_problem, test_quiet_hours)

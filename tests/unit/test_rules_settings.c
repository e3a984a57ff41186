/* Campaign settings: ranges at and beyond their bounds, the goal variable
 * rules, window and day syntax, and that every problem is reported with its
 * field and the allowed range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "case_table.h"
#include "settings.h"
#include "test_main.h"

static const settings_var_t vars[] = {
    {"booked", MODEL_VAR_BOOLEAN},
    {"summary", MODEL_VAR_STRING},
    {"score", MODEL_VAR_NUMBER},
};
#define N_VARS (sizeof(vars) / sizeof(vars[0]))

/* One row of tests/unit/cases/campaign_settings.tsv; its strings are the
 * case file's. */
typedef struct settings_case {
    const char *name;
    const char *setting; /* a field of settings_campaign_t */
    const char *value;   /* NULL: none */
    const char *field;   /* expected problem field, NULL: valid */
    const char *message;
} settings_case_t;

/* A field of settings_campaign_t by its name. */
typedef struct named_field {
    const char *name;
    size_t offset;
} named_field_t;

/* 0 if field of settings_campaign_t has type; else the build fails (an
 * array of size -1). */
#define FIELD_TYPE_CHECK(field, type)                                                              \
    (0 * sizeof(char[_Generic(((settings_campaign_t *)0)->field, type : 1, default : -1)]))

/* The named_field_t of field, which must have type; NUMBER_SETTING and
 * TEXT_SETTING fix type to what setting_apply writes the field through
 * (int64_t *, const char **), so a field whose type changes fails the
 * build rather than having its memory overwritten. */
#define NAMED_FIELD(field, type)                                                                   \
    {                                                                                              \
        .name = #field,                                                                            \
        .offset = offsetof(settings_campaign_t, field) + FIELD_TYPE_CHECK(field, type)             \
    }
#define NUMBER_SETTING(field) NAMED_FIELD(field, int64_t)
#define TEXT_SETTING(field)   NAMED_FIELD(field, const char *)

/* The settings a row sets to its value: whole numbers and texts.
 * allowed_days and goal_based_retry are set otherwise, and calls_per_minute
 * sets has_calls_per_minute too: setting_apply says how. */
static const named_field_t number_settings[] = {
    NUMBER_SETTING(max_retries),
    NUMBER_SETTING(retry_interval_minutes),
    NUMBER_SETTING(max_concurrent_calls),
    NUMBER_SETTING(calls_per_minute),
};
static const named_field_t text_settings[] = {
    TEXT_SETTING(goal_variable), TEXT_SETTING(callback_variable), TEXT_SETTING(window_start),
    TEXT_SETTING(window_end),    TEXT_SETTING(timezone_mode),
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The field called name in fields, or NULL. */
static const named_field_t *named_field_find(const named_field_t *fields, size_t n,
                                             const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(fields[k].name, name) == 0)
            return &fields[k];
    return NULL;
}

/* The day names of a row's allowed_days, cut out of a copy of its list. */
typedef struct day_list {
    char text[64];
    const char *days[8];
} day_list_t;

/* Sets c's setting of s to c's value; allowed_days points into days. False,
 * with a message, for a setting or a number it cannot read. */
static bool setting_apply(settings_campaign_t *s, const settings_case_t *c, day_list_t *days)
{
    const named_field_t *f = named_field_find(text_settings, N(text_settings), c->setting);
    if (f) {
        *(const char **)((char *)s + f->offset) = c->value;
        return true;
    }
    if (strcmp(c->setting, "allowed_days") == 0) {
        size_t nd = 0;
        snprintf(days->text, sizeof(days->text), "%s", c->value ? c->value : "");
        for (char *save = NULL, *tok = strtok_r(days->text, ",", &save); tok && nd < 8;
             tok = strtok_r(NULL, ",", &save))
            days->days[nd++] = tok;
        s->allowed_days = days->days;
        s->n_allowed_days = nd;
        return true;
    }
    if (strcmp(c->setting, "goal_based_retry") == 0) {
        s->goal_based_retry = true;
        s->goal_variable = c->value;
        return true;
    }
    if (strcmp(c->setting, "calls_per_minute") == 0) {
        s->has_calls_per_minute = c->value != NULL; /* -: no limit */
        if (!c->value)
            return true;
    }
    f = named_field_find(number_settings, N(number_settings), c->setting);
    long long number;
    if (!f || !case_file_whole(c->value, &number)) {
        print_error("%s: cannot set %s to %s\n", c->name, c->setting, c->value ? c->value : "-");
        return false;
    }
    *(int64_t *)((char *)s + f->offset) = number;
    return true;
}

/* One settings case: a campaign of defaults with one setting changed is
 * accepted, or refused with the one problem the case names. */
static bool settings_case_holds(const void *row)
{
    const settings_case_t *c = row;
    settings_campaign_t s;
    settings_campaign_defaults(&s);
    day_list_t days;
    if (!setting_apply(&s, c, &days))
        return false;
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

static void test_table(void **state)
{
    (void)state;
    static const char *const columns[] = {"name", "setting", "value", "field", "message"};
    case_file_t *cf = case_file_load("campaign_settings", columns, N(columns), 40);
    settings_case_t *cases = case_file_rows(cf, sizeof(*cases));
    for (size_t i = 0; i < cf->n_rows; i++)
        cases[i] = (settings_case_t){case_file_cell(cf, i, 0), case_file_cell(cf, i, 1),
                                     case_file_cell(cf, i, 2), case_file_cell(cf, i, 3),
                                     case_file_cell(cf, i, 4)};
    CASE_TABLE_RUN_ROWS("settings", cases, cf->n_rows, settings_case_holds);
    case_file_free(cf);
}

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

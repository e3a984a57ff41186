#include "settings.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const default_days[] = {"mon", "tue", "wed", "thu", "fri"};

void settings_campaign_defaults(settings_campaign_t *s)
{
    memset(s, 0, sizeof(*s));
    s->max_retries = RETRY_MAX_RETRIES_DEFAULT;
    s->retry_interval_minutes = RETRY_INTERVAL_DEFAULT;
    s->retry_on_voicemail = true;
    s->goal_based_retry = false;
    s->goal_variable = NULL;
    s->opt_out_variable = NULL;
    s->window_start = SETTINGS_WINDOW_START_DEFAULT;
    s->window_end = SETTINGS_WINDOW_END_DEFAULT;
    s->allowed_days = default_days;
    s->n_allowed_days = sizeof(default_days) / sizeof(default_days[0]);
    s->timezone_mode = "assistant";
    s->max_concurrent_calls = SETTINGS_MAX_CONCURRENT_DEFAULT;
    s->has_calls_per_minute = false;
    s->calls_per_minute = 0;
}

static void problem_add(settings_problems_t *problems, const char *field, const char *fmt, ...)
    OD_PRINTF(3, 4);

static void problem_add(settings_problems_t *problems, const char *field, const char *fmt, ...)
{
    if (problems->n >= SETTINGS_MAX_PROBLEMS)
        return;
    settings_problem_t *p = &problems->items[problems->n++];
    p->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

static void check_range(settings_problems_t *problems, const char *field, int64_t value,
                        int64_t min, int64_t max)
{
    if (value < min || value > max)
        problem_add(problems, field, "%s must be between %lld and %lld (got %lld)", field,
                    (long long)min, (long long)max, (long long)value);
}

/* window_time_parse()'s message, prefixed with the field. */
static void check_time(settings_problems_t *problems, const char *field, const char *value,
                       int *minute)
{
    char why[128];
    if (window_time_parse(value, minute, why, sizeof(why)) != OD_OK)
        problem_add(problems, field, "%s: %s", field, why);
}

/* A setting naming a post-call variable of the assistant of type want
 * (goal_variable, opt_out_variable: boolean; callback_variable: string). */
static void check_var(settings_problems_t *problems, const char *field, const char *name,
                      model_var_type_t want, const settings_var_t *vars, size_t n_vars)
{
    const char *want_name = model_var_type_name(want);
    const settings_var_t *var = NULL;
    for (size_t i = 0; i < n_vars && !var; i++)
        if (vars[i].name && strcmp(vars[i].name, name) == 0)
            var = &vars[i];
    if (!var) {
        problem_add(problems, field,
                    "%s '%.64s' is not a post-call variable of the assistant "
                    "(allowed: one of its %s variables, or none)",
                    field, name, want_name);
    } else if (var->type != want) {
        const char *type = model_var_type_name(var->type);
        problem_add(problems, field,
                    "%s '%.64s' is a %s variable (allowed: a %s post-call "
                    "variable of the assistant, or none)",
                    field, name, type ? type : "unknown", want_name);
    }
}

int settings_campaign_check(const settings_campaign_t *s, const settings_var_t *vars, size_t n_vars,
                            settings_rules_t *rules, settings_problems_t *problems)
{
    memset(problems, 0, sizeof(*problems));
    settings_rules_t parsed;
    memset(&parsed, 0, sizeof(parsed));

    check_range(problems, "max_retries", s->max_retries, RETRY_MAX_RETRIES_MIN,
                RETRY_MAX_RETRIES_MAX);
    check_range(problems, "retry_interval_minutes", s->retry_interval_minutes, RETRY_INTERVAL_MIN,
                RETRY_INTERVAL_MAX);

    bool has_goal = s->goal_variable && *s->goal_variable;
    bool has_opt_out = s->opt_out_variable && *s->opt_out_variable;
    bool has_callback = s->callback_variable && *s->callback_variable;
    if (has_goal)
        check_var(problems, "goal_variable", s->goal_variable, MODEL_VAR_BOOLEAN, vars, n_vars);
    if (has_opt_out)
        check_var(problems, "opt_out_variable", s->opt_out_variable, MODEL_VAR_BOOLEAN, vars,
                  n_vars);
    if (has_callback)
        check_var(problems, "callback_variable", s->callback_variable, MODEL_VAR_STRING, vars,
                  n_vars);
    if (s->goal_based_retry && !has_goal)
        problem_add(problems, "goal_based_retry",
                    "goal_based_retry needs a goal_variable (a boolean post-call variable of "
                    "the assistant)");

    check_time(problems, "window_start", s->window_start, &parsed.window.start_min);
    check_time(problems, "window_end", s->window_end, &parsed.window.end_min);

    if (s->n_allowed_days == 0 || !s->allowed_days) {
        problem_add(problems, "allowed_days",
                    "allowed_days must name at least one day (allowed: mon, tue, wed, thu, fri, "
                    "sat, sun)");
    } else {
        for (size_t i = 0; i < s->n_allowed_days; i++) {
            unsigned bit = 0;
            char why[128];
            if (window_day_parse(s->allowed_days[i], &bit, why, sizeof(why)) != OD_OK) {
                problem_add(problems, "allowed_days", "allowed_days: %s", why);
                break;
            }
            parsed.window.days |= bit;
        }
    }

    if (!s->timezone_mode || model_tz_mode_parse(s->timezone_mode, &parsed.tz_mode, NULL, 0)) {
        problem_add(problems, "timezone_mode",
                    "timezone_mode '%.32s' is not allowed (allowed: assistant, lead)",
                    s->timezone_mode ? s->timezone_mode : "");
    }

    check_range(problems, "max_concurrent_calls", s->max_concurrent_calls,
                SETTINGS_MAX_CONCURRENT_MIN, SETTINGS_MAX_CONCURRENT_MAX);
    if (s->has_calls_per_minute && (s->calls_per_minute < SETTINGS_CALLS_PER_MINUTE_MIN ||
                                    s->calls_per_minute > SETTINGS_CALLS_PER_MINUTE_MAX))
        problem_add(problems, "calls_per_minute",
                    "calls_per_minute must be between %d and %d, or none for no limit (got %lld)",
                    SETTINGS_CALLS_PER_MINUTE_MIN, SETTINGS_CALLS_PER_MINUTE_MAX,
                    (long long)s->calls_per_minute);

    if (problems->n > 0)
        return OD_ERR_INVALID;
    if (rules) {
        parsed.retry.max_retries = (int)s->max_retries;
        parsed.retry.retry_interval_minutes = (int)s->retry_interval_minutes;
        parsed.retry.retry_on_voicemail = s->retry_on_voicemail;
        parsed.retry.goal_based_retry = s->goal_based_retry;
        parsed.goal_variable = has_goal ? s->goal_variable : NULL;
        parsed.opt_out_variable = has_opt_out ? s->opt_out_variable : NULL;
        parsed.callback_variable = has_callback ? s->callback_variable : NULL;
        parsed.max_concurrent_calls = (int)s->max_concurrent_calls;
        parsed.calls_per_minute = s->has_calls_per_minute ? (int)s->calls_per_minute : 0;
        *rules = parsed;
    }
    return OD_OK;
}

int settings_quiet_hours_check(const char *start, const char *end, window_spec_t *out,
                               settings_problems_t *problems)
{
    memset(problems, 0, sizeof(*problems));
    window_spec_t spec = {.days = WINDOW_DAYS_ALL};
    check_time(problems, "quiet_hours_start", start, &spec.start_min);
    check_time(problems, "quiet_hours_end", end, &spec.end_min);
    if (problems->n > 0)
        return OD_ERR_INVALID;
    *out = spec;
    return OD_OK;
}

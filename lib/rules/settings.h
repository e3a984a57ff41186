/*
 * settings.h — checking a campaign's settings, every problem at once.
 *
 * The API turns each problem into a 400 error {"error": {"code":
 * "invalid", "message", "field"}}: field is the snake_case setting name
 * (max_retries), message names the allowed range. One problem per field at
 * most, so a form can show each next to its input.
 *
 * Ranges and defaults:
 *   max_retries             1..5, default 3
 *   retry_interval_minutes  10..4320, default 60
 *   retry_on_voicemail      default true
 *   goal_variable           a boolean post-call variable of the assistant, or none
 *   goal_based_retry        default false; needs goal_variable
 *   opt_out_variable        a boolean post-call variable of the assistant, or none:
 *                           reported true, the callee opted out (docs/compliance.md)
 *   callback_variable       a string post-call variable of the assistant, or none:
 *                           the time the callee asked to be called back (callback.h)
 *   window_start/end        "HH:MM", default 09:00–18:00 (end before start: crosses
 *                           midnight; equal: all day)
 *   allowed_days            non-empty subset of mon..sun, default mon..fri
 *   timezone_mode           assistant (default) or lead
 *   max_concurrent_calls    1..1000, default 10
 *   calls_per_minute        1..6000, or none (default: no limit)
 */
#ifndef OUTDIAL_SETTINGS_H
#define OUTDIAL_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "retry.h"
#include "window.h"

/* 1000 concurrent calls per campaign: well above what one outbound number
 * and one provider account carry, and a bound that keeps one campaign from
 * flooding the dialers; raise it here if a provider allows more. */
#define SETTINGS_MAX_CONCURRENT_MIN     1
#define SETTINGS_MAX_CONCURRENT_MAX     1000
#define SETTINGS_MAX_CONCURRENT_DEFAULT 10
/* 6000 per minute is 100 calls a second, the most a provider API is
 * expected to accept from one account. */
#define SETTINGS_CALLS_PER_MINUTE_MIN 1
#define SETTINGS_CALLS_PER_MINUTE_MAX 6000

#define SETTINGS_WINDOW_START_DEFAULT "09:00"
#define SETTINGS_WINDOW_END_DEFAULT   "18:00"
#define SETTINGS_DAYS_DEFAULT         WINDOW_DAYS_WEEKDAYS

#define SETTINGS_MAX_PROBLEMS 16
#define SETTINGS_MESSAGE_MAX  160

/* One post-call variable of the assistant. */
typedef struct settings_var {
    const char *name;
    model_var_type_t type;
} settings_var_t;

/* A campaign's settings as the API receives them. Strings are borrowed. */
typedef struct settings_campaign {
    int64_t max_retries;
    int64_t retry_interval_minutes;
    bool retry_on_voicemail;
    bool goal_based_retry;
    const char *goal_variable;       /* NULL or "": none */
    const char *opt_out_variable;    /* NULL or "": none */
    const char *callback_variable;   /* NULL or "": none */
    const char *window_start;        /* "HH:MM" */
    const char *window_end;          /* "HH:MM" */
    const char *const *allowed_days; /* day names, "mon".."sun" */
    size_t n_allowed_days;
    const char *timezone_mode; /* "assistant" or "lead" */
    int64_t max_concurrent_calls;
    bool has_calls_per_minute; /* false: no limit */
    int64_t calls_per_minute;
} settings_campaign_t;

/* Valid settings in the form the rules use. */
typedef struct settings_rules {
    retry_policy_t retry;
    window_spec_t window;
    model_tz_mode_t tz_mode;
    const char *goal_variable;     /* NULL: none; borrowed from the input */
    const char *opt_out_variable;  /* NULL: none; borrowed from the input */
    const char *callback_variable; /* NULL: none; borrowed from the input */
    int max_concurrent_calls;
    int calls_per_minute; /* 0: no limit */
} settings_rules_t;

typedef struct settings_problem {
    const char *field; /* static snake_case setting name */
    char message[SETTINGS_MESSAGE_MAX];
} settings_problem_t;

typedef struct settings_problems {
    settings_problem_t items[SETTINGS_MAX_PROBLEMS];
    size_t n;
} settings_problems_t;

/* Fills s with the defaults (static strings; no goal variable). */
void settings_campaign_defaults(settings_campaign_t *s);

/* Checks every setting against its range and the assistant's post-call
 * variables (vars, n_vars). Returns OD_OK and fills rules (if not NULL), or
 * OD_ERR_INVALID with every problem in problems (rules then unspecified). */
int settings_campaign_check(const settings_campaign_t *s, const settings_var_t *vars, size_t n_vars,
                            settings_rules_t *rules, settings_problems_t *problems) OD_WUR;

/* Checks an account's quiet hours, the span in which calls are permitted in
 * the person's local time ("08:00", "21:00"), fields quiet_hours_start and
 * quiet_hours_end. Fills out (every day) on success. */
int settings_quiet_hours_check(const char *start, const char *end, window_spec_t *out,
                               settings_problems_t *problems) OD_WUR;

#endif

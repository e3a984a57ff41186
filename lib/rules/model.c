#include "model.h"

#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const lead_status_names[] = {
    "created", "scheduled", "processing", "completed", "rescheduled", "max_retries",
};
_Static_assert(COUNT(lead_status_names) == MODEL_LEAD_STATUS_COUNT, "lead status names");

/* Index 0 (NONE) has no name. */
static const char *const outcome_names[] = {
    NULL,  "goal_achieved", "answered",  "voicemail",       "exhausted", "permanent_failure",
    "dnc", "manual",        "opted_out", "predial_refused",
};
_Static_assert(COUNT(outcome_names) == MODEL_OUTCOME_COUNT, "outcome names");

static const char *const call_status_names[] = {
    "initiated", "ringing", "in_progress", "completed", "busy", "unanswered", "failed", "skipped",
};
_Static_assert(COUNT(call_status_names) == MODEL_CALL_STATUS_COUNT, "call status names");

static const char *const answered_by_names[] = {"human", "voicemail", "unknown"};
_Static_assert(COUNT(answered_by_names) == MODEL_ANSWERED_BY_COUNT, "answered_by names");

static const char *const skip_reason_names[] = {
    "outside_window", "campaign_not_running", "dnc",           "number_busy",         "legal_rules",
    "frequency_cap",  "predial_refused",      "predial_error", "caller_id_exhausted",
};
_Static_assert(COUNT(skip_reason_names) == MODEL_SKIP_REASON_COUNT, "skip reason names");

static const char *const campaign_status_names[] = {"draft", "in_progress", "paused", "completed"};
_Static_assert(COUNT(campaign_status_names) == MODEL_CAMPAIGN_STATUS_COUNT, "campaign names");

static const char *const tz_mode_names[] = {"assistant", "lead"};
_Static_assert(COUNT(tz_mode_names) == MODEL_TZ_MODE_COUNT, "tz mode names");

/* Index 0 (NONE) has no name. */
static const char *const predial_result_names[] = {NULL, "eligible", "refused", "error"};
_Static_assert(COUNT(predial_result_names) == MODEL_PREDIAL_RESULT_COUNT, "predial results");

static const char *const predial_on_error_names[] = {"skip", "call"};
_Static_assert(COUNT(predial_on_error_names) == MODEL_PREDIAL_ON_ERROR_COUNT, "predial policies");

static const char *const var_type_names[] = {"boolean", "string", "number"};
_Static_assert(COUNT(var_type_names) == MODEL_VAR_TYPE_COUNT, "var type names");

static const char *name_of(const char *const *names, size_t n, int value)
{
    if (value < 0 || (size_t)value >= n)
        return NULL;
    return names[value];
}

/* Finds s in names (exact, case-sensitive: these are wire names). On a miss
 * writes "'s' is not a <what> (allowed: a, b, c)". */
static int parse_name(const char *const *names, size_t n, const char *what, const char *s, int *out,
                      char *errbuf, size_t errlen)
{
    if (s) {
        for (size_t i = 0; i < n; i++) {
            if (names[i] && strcmp(names[i], s) == 0) {
                *out = (int)i;
                return OD_OK;
            }
        }
    }
    char allowed[256];
    size_t used = 0;
    allowed[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        int w =
            snprintf(allowed + used, sizeof(allowed) - used, "%s%s", used ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= sizeof(allowed) - used)
            break;
        used += (size_t)w;
    }
    return od_fail(errbuf, errlen, OD_ERR_INVALID, "'%.64s' is not a valid %s (allowed: %s)",
                   s ? s : "(null)", what, allowed);
}

#define DEFINE_ENUM(fn, type, names, what)                                                         \
    const char *model_##fn##_name(type value)                                                      \
    {                                                                                              \
        return name_of(names, COUNT(names), (int)value);                                           \
    }                                                                                              \
    int model_##fn##_parse(const char *s, type *out, char *errbuf, size_t errlen)                  \
    {                                                                                              \
        int v = 0;                                                                                 \
        int rc = parse_name(names, COUNT(names), what, s, &v, errbuf, errlen);                     \
        if (rc == OD_OK)                                                                           \
            *out = (type)v;                                                                        \
        return rc;                                                                                 \
    }

DEFINE_ENUM(lead_status, model_lead_status_t, lead_status_names, "lead status")
DEFINE_ENUM(call_status, model_call_status_t, call_status_names, "call status")
DEFINE_ENUM(answered_by, model_answered_by_t, answered_by_names, "answered_by value")
DEFINE_ENUM(skip_reason, model_skip_reason_t, skip_reason_names, "skip reason")
DEFINE_ENUM(campaign_status, model_campaign_status_t, campaign_status_names, "campaign status")
DEFINE_ENUM(tz_mode, model_tz_mode_t, tz_mode_names, "timezone mode")
DEFINE_ENUM(var_type, model_var_type_t, var_type_names, "variable type")
DEFINE_ENUM(predial_result, model_predial_result_t, predial_result_names, "pre-dial result")
DEFINE_ENUM(predial_on_error, model_predial_on_error_t, predial_on_error_names,
            "pre-dial error policy")

const char *model_outcome_name(model_outcome_t outcome)
{
    return name_of(outcome_names, COUNT(outcome_names), (int)outcome);
}

int model_outcome_parse(const char *s, model_outcome_t *out, char *errbuf, size_t errlen)
{
    if (!s) {
        *out = MODEL_OUTCOME_NONE;
        return OD_OK;
    }
    int v = 0;
    int rc = parse_name(outcome_names, COUNT(outcome_names), "lead outcome", s, &v, errbuf, errlen);
    if (rc == OD_OK)
        *out = (model_outcome_t)v;
    return rc;
}

bool model_call_status_is_terminal(model_call_status_t status)
{
    switch (status) {
    case MODEL_CALL_COMPLETED:
    case MODEL_CALL_BUSY:
    case MODEL_CALL_UNANSWERED:
    case MODEL_CALL_FAILED:
    case MODEL_CALL_SKIPPED:
        return true;
    default:
        return false;
    }
}

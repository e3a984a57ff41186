/*
 * model.h — the enums every service shares, with their wire names.
 *
 * The names are the snake_case strings the database schema, the protobuf
 * messages, the REST API and the logs use ("max_retries", "goal_achieved",
 * "in_progress"). Convert with model_*_name() and model_*_parse(); never
 * spell the strings elsewhere.
 *
 * *_name() returns a static string (never freed) and NULL for a value out of
 * range, and for MODEL_OUTCOME_NONE (a lead that has not ended has no
 * outcome: SQL NULL). *_parse() returns OD_OK, or OD_ERR_INVALID with a
 * message listing the allowed names; *out is untouched on error.
 */
#ifndef OUTDIAL_MODEL_H
#define OUTDIAL_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Lead status, exactly the product's: see docs/rules.md. */
typedef enum model_lead_status {
    MODEL_LEAD_CREATED = 0,  /* ready to be called (or a secondary waiting its turn) */
    MODEL_LEAD_SCHEDULED,    /* a dial job is issued */
    MODEL_LEAD_PROCESSING,   /* a call is under way */
    MODEL_LEAD_COMPLETED,    /* contacted or goal achieved; no further calls */
    MODEL_LEAD_RESCHEDULED,  /* waiting for a retry at next_attempt_at */
    MODEL_LEAD_MAX_RETRIES,  /* ended without success: no attempt left */
    MODEL_LEAD_STATUS_COUNT, /* number of statuses, not a status */
} model_lead_status_t;

/* Why a lead ended. NONE while it has not. */
typedef enum model_outcome {
    MODEL_OUTCOME_NONE = 0,
    MODEL_OUTCOME_GOAL_ACHIEVED,
    MODEL_OUTCOME_ANSWERED,
    MODEL_OUTCOME_VOICEMAIL,
    MODEL_OUTCOME_EXHAUSTED,
    MODEL_OUTCOME_PERMANENT_FAILURE,
    MODEL_OUTCOME_DNC,
    MODEL_OUTCOME_MANUAL,
    MODEL_OUTCOME_OPTED_OUT,       /* the callee asked on a call not to be called again */
    MODEL_OUTCOME_PREDIAL_REFUSED, /* the campaign's pre-dial check refused the lead (predial.h) */
    MODEL_OUTCOME_COUNT,
} model_outcome_t;

/* Status of one call (attempt). */
typedef enum model_call_status {
    MODEL_CALL_INITIATED = 0,
    MODEL_CALL_RINGING,
    MODEL_CALL_IN_PROGRESS,
    MODEL_CALL_COMPLETED,
    MODEL_CALL_BUSY,
    MODEL_CALL_UNANSWERED,
    MODEL_CALL_FAILED,
    MODEL_CALL_SKIPPED, /* the dialer refused to place the job; no attempt used */
    MODEL_CALL_STATUS_COUNT,
} model_call_status_t;

typedef enum model_answered_by {
    MODEL_ANSWERED_BY_HUMAN = 0,
    MODEL_ANSWERED_BY_VOICEMAIL,
    MODEL_ANSWERED_BY_UNKNOWN,
    MODEL_ANSWERED_BY_COUNT,
} model_answered_by_t;

/* Why the dialer skipped a dial job (CallEvent with status skipped). */
typedef enum model_skip_reason {
    MODEL_SKIP_OUTSIDE_WINDOW = 0, /* now >= not_after, or the window is closed */
    MODEL_SKIP_CAMPAIGN_NOT_RUNNING,
    MODEL_SKIP_DNC,             /* the number is on the account's do-not-call list */
    MODEL_SKIP_NUMBER_BUSY,     /* another call to the same number is in flight */
    MODEL_SKIP_LEGAL_RULES,     /* the callee's legal rules forbid the call now (legal_slot.h) */
    MODEL_SKIP_FREQUENCY_CAP,   /* the number had its most calls in 24 h (freqcap.h) */
    MODEL_SKIP_PREDIAL_REFUSED, /* the campaign's pre-dial check answered not eligible */
    MODEL_SKIP_PREDIAL_ERROR,   /* the pre-dial check failed, and its policy is skip */
    MODEL_SKIP_CALLER_ID_EXHAUSTED, /* every number of the caller-ID pool rests (caller_id.h) */
    MODEL_SKIP_REASON_COUNT,
} model_skip_reason_t;

typedef enum model_campaign_status {
    MODEL_CAMPAIGN_DRAFT = 0,
    MODEL_CAMPAIGN_IN_PROGRESS,
    MODEL_CAMPAIGN_PAUSED,
    MODEL_CAMPAIGN_COMPLETED,
    MODEL_CAMPAIGN_STATUS_COUNT,
} model_campaign_status_t;

/* Whose local time the calling window is read in. */
typedef enum model_tz_mode {
    MODEL_TZ_MODE_ASSISTANT = 0, /* the assistant's timezone (default, docs/product.md) */
    MODEL_TZ_MODE_LEAD,          /* the person's own: lead tz, else number prefix, else assistant */
    MODEL_TZ_MODE_COUNT,
} model_tz_mode_t;

/* The pre-dial check's answer recorded on an attempt (lib/rules/predial.h).
 * NONE: no check was made (no name: SQL NULL). */
typedef enum model_predial_result {
    MODEL_PREDIAL_NONE = 0,
    MODEL_PREDIAL_ELIGIBLE,
    MODEL_PREDIAL_REFUSED,
    MODEL_PREDIAL_ERROR,
    MODEL_PREDIAL_RESULT_COUNT,
} model_predial_result_t;

/* What a failed pre-dial check does: skip the call (default) or place it. */
typedef enum model_predial_on_error {
    MODEL_PREDIAL_ON_ERROR_SKIP = 0,
    MODEL_PREDIAL_ON_ERROR_CALL,
    MODEL_PREDIAL_ON_ERROR_COUNT,
} model_predial_on_error_t;

/* Type of an assistant's post-call variable. */
typedef enum model_var_type {
    MODEL_VAR_BOOLEAN = 0,
    MODEL_VAR_STRING,
    MODEL_VAR_NUMBER,
    MODEL_VAR_TYPE_COUNT,
} model_var_type_t;

/* A goal variable's value after a call: absent (not reported), false or true. */
typedef enum model_goal {
    MODEL_GOAL_ABSENT = 0,
    MODEL_GOAL_FALSE,
    MODEL_GOAL_TRUE,
} model_goal_t;

/* Declares model_<fn>_name(value), the wire name of a value of enum T
 * (NULL for a value without one, as the NONE values), and
 * model_<fn>_parse(s, &value), its inverse: OD_ERR_INVALID "'s' is not a
 * valid <what> (allowed: ...)" for any other text. model.c defines them
 * with DEFINE_ENUM. */
#define MODEL_ENUM_DECLARE(fn, T)                                                                  \
    const char *model_##fn##_name(T value);                                                        \
    int model_##fn##_parse(const char *s, T *out, char *errbuf, size_t errlen) OD_WUR;

MODEL_ENUM_DECLARE(lead_status, model_lead_status_t)
/* NULL parses as MODEL_OUTCOME_NONE (SQL NULL); "" is an error. */
MODEL_ENUM_DECLARE(outcome, model_outcome_t)
MODEL_ENUM_DECLARE(call_status, model_call_status_t)
/* completed, busy, unanswered, failed and skipped end an attempt. */
bool model_call_status_is_terminal(model_call_status_t status);
MODEL_ENUM_DECLARE(answered_by, model_answered_by_t)
MODEL_ENUM_DECLARE(skip_reason, model_skip_reason_t)
MODEL_ENUM_DECLARE(campaign_status, model_campaign_status_t)
MODEL_ENUM_DECLARE(tz_mode, model_tz_mode_t)
MODEL_ENUM_DECLARE(predial_result, model_predial_result_t)
MODEL_ENUM_DECLARE(predial_on_error, model_predial_on_error_t)
MODEL_ENUM_DECLARE(var_type, model_var_type_t)

#endif

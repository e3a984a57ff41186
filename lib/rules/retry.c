#include "retry.h"

#include <string.h>

#define USEC_PER_MIN (60LL * 1000000LL)

void retry_policy_defaults(retry_policy_t *policy)
{
    policy->max_retries = RETRY_MAX_RETRIES_DEFAULT;
    policy->retry_interval_minutes = RETRY_INTERVAL_DEFAULT;
    policy->retry_on_voicemail = true;
    policy->goal_based_retry = false;
}

/* The lead waits until the first open moment at or after earliest. */
static int wait_until_open(retry_decision_t *out, model_lead_status_t status, int64_t earliest,
                           const window_rule_t *rules, size_t n_rules, char *errbuf, size_t errlen)
{
    int64_t open_us;
    int rc = window_next_open(rules, n_rules, earliest, &open_us, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    out->status = status;
    out->outcome = MODEL_OUTCOME_NONE;
    out->next_attempt_us = open_us;
    return OD_OK;
}

static void end_lead(retry_decision_t *out, model_lead_status_t status, model_outcome_t outcome)
{
    out->status = status;
    out->outcome = outcome;
    out->next_attempt_us = 0;
}

static int after_skip(int attempts, const retry_call_t *call, const window_rule_t *rules,
                      size_t n_rules, retry_decision_t *out, char *errbuf, size_t errlen)
{
    /* The skipped job's attempt was never placed: give it back. */
    out->attempts = attempts > 0 ? attempts - 1 : 0;
    model_lead_status_t waiting = out->attempts == 0 ? MODEL_LEAD_CREATED : MODEL_LEAD_RESCHEDULED;
    /* Most skips wait: each sets the earliest moment, the window the rest. */
    int64_t earliest;
    switch (call->skip_reason) {
    case MODEL_SKIP_DNC:
        end_lead(out, MODEL_LEAD_MAX_RETRIES, MODEL_OUTCOME_DNC);
        return OD_OK;
    case MODEL_SKIP_PREDIAL_REFUSED:
        end_lead(out, MODEL_LEAD_MAX_RETRIES, MODEL_OUTCOME_PREDIAL_REFUSED);
        return OD_OK;
    case MODEL_SKIP_CAMPAIGN_NOT_RUNNING:
        out->status = waiting;
        out->outcome = MODEL_OUTCOME_NONE;
        out->next_attempt_us = call->ended_at_us;
        return OD_OK;
    case MODEL_SKIP_PREDIAL_ERROR:
        earliest = call->ended_at_us + RETRY_PREDIAL_ERROR_DELAY_MIN * USEC_PER_MIN;
        break;
    case MODEL_SKIP_OUTSIDE_WINDOW:
    case MODEL_SKIP_LEGAL_RULES: /* dispatch moves it on to the rules' opening */
        earliest = call->ended_at_us;
        break;
    case MODEL_SKIP_NUMBER_BUSY:
        earliest = call->ended_at_us + RETRY_NUMBER_BUSY_DELAY_MIN * USEC_PER_MIN;
        break;
    case MODEL_SKIP_FREQUENCY_CAP:
        earliest = call->ended_at_us + RETRY_FREQUENCY_CAP_RECHECK_MIN * USEC_PER_MIN;
        break;
    case MODEL_SKIP_CALLER_ID_EXHAUSTED:
        earliest =
            call->not_before_us > call->ended_at_us ? call->not_before_us : call->ended_at_us;
        break;
    default:
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "unknown skip reason %d",
                       (int)call->skip_reason);
    }
    return wait_until_open(out, waiting, earliest, rules, n_rules, errbuf, errlen);
}

int retry_decide(const retry_policy_t *policy, int attempts, const retry_call_t *call,
                 const window_rule_t *rules, size_t n_rules, retry_decision_t *out, char *errbuf,
                 size_t errlen)
{
    if (!policy || !call || !out)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "retry: missing argument");
    if (policy->max_retries < RETRY_MAX_RETRIES_MIN || policy->max_retries > RETRY_MAX_RETRIES_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "max_retries %d is out of range (allowed: %d..%d)", policy->max_retries,
                       RETRY_MAX_RETRIES_MIN, RETRY_MAX_RETRIES_MAX);
    if (policy->retry_interval_minutes < RETRY_INTERVAL_MIN ||
        policy->retry_interval_minutes > RETRY_INTERVAL_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "retry_interval_minutes %d is out of range (allowed: %d..%d)",
                       policy->retry_interval_minutes, RETRY_INTERVAL_MIN, RETRY_INTERVAL_MAX);
    if (attempts < 1)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "attempts %d: a call ended, so the lead has at least 1", attempts);

    memset(out, 0, sizeof(*out));
    out->attempts = attempts;
    out->goal = call->goal;

    bool retry = false;
    switch (call->status) {
    case MODEL_CALL_COMPLETED:
        if (call->answered_by == MODEL_ANSWERED_BY_VOICEMAIL) {
            if (policy->retry_on_voicemail)
                retry = true;
            else
                end_lead(out, MODEL_LEAD_COMPLETED, MODEL_OUTCOME_VOICEMAIL);
        } else if (!policy->goal_based_retry) {
            end_lead(out, MODEL_LEAD_COMPLETED, MODEL_OUTCOME_ANSWERED);
        } else if (call->goal == MODEL_GOAL_TRUE) {
            end_lead(out, MODEL_LEAD_COMPLETED, MODEL_OUTCOME_GOAL_ACHIEVED);
        } else {
            retry = true;
        }
        break;
    case MODEL_CALL_BUSY:
    case MODEL_CALL_UNANSWERED:
        retry = true;
        break;
    case MODEL_CALL_FAILED:
        if (call->permanent_failure)
            end_lead(out, MODEL_LEAD_MAX_RETRIES, MODEL_OUTCOME_PERMANENT_FAILURE);
        else
            retry = true;
        break;
    case MODEL_CALL_SKIPPED:
        return after_skip(attempts, call, rules, n_rules, out, errbuf, errlen);
    default: {
        const char *name = model_call_status_name(call->status);
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "call status %s does not end a call",
                       name ? name : "(unknown)");
    }
    }
    if (!retry)
        return OD_OK;
    if (attempts >= 1 + policy->max_retries) {
        end_lead(out, MODEL_LEAD_MAX_RETRIES, MODEL_OUTCOME_EXHAUSTED);
        return OD_OK;
    }
    int64_t earliest = call->ended_at_us + (int64_t)policy->retry_interval_minutes * USEC_PER_MIN;
    return wait_until_open(out, MODEL_LEAD_RESCHEDULED, earliest, rules, n_rules, errbuf, errlen);
}

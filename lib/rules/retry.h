/*
 * retry.h — what happens to a lead after a call ends (docs/architecture.md §5).
 *
 *   result                 goal-based retry off          goal-based retry on
 *   completed, human       completed (answered)          goal true: completed (goal_achieved);
 *                                                        else retry
 *   completed, voicemail   retry if retry_on_voicemail,  same as off
 *                          else completed (voicemail)
 *   busy, unanswered       retry                         retry
 *   failed, transient      retry                         retry
 *   failed, permanent      max_retries (permanent_failure)
 *
 * "Retry": while attempts remain (a lead is called at most 1 + max_retries
 * times) the lead becomes rescheduled with next_attempt_at = end of call +
 * retry interval, moved forward to the next moment the calling window is
 * open; otherwise max_retries (exhausted). completed with answered_by unknown
 * counts as a human answer: the call connected and nobody detected a machine.
 *
 * A skipped job (the dialer refused to place it) uses no attempt: the lead
 * goes back to waiting (created if it had never been called, else
 * rescheduled), due when the window next opens (outside_window, and
 * legal_rules: dispatch then defers it to the legal rules' opening), now
 * (campaign_not_running: the scheduler issues nothing while paused) or after
 * RETRY_NUMBER_BUSY_DELAY_MIN (number_busy) or RETRY_FREQUENCY_CAP_RECHECK_MIN
 * (frequency_cap: the scheduler then defers it to the instant the cap
 * frees, dispatch_plan.h) or RETRY_PREDIAL_ERROR_DELAY_MIN (predial_error),
 * or when the first number of the caller-ID pool wakes (caller_id_exhausted:
 * the event's not_before_us, caller_id.h);
 * a DNC number ends the lead: max_retries (dnc), so its secondary contacts
 * get their turn, and so does a refusal of the campaign's pre-dial check:
 * max_retries (predial_refused), as the user's own system said not to call
 * this lead (docs/dialer.md, "The pre-dial check").
 *
 * Pure: no I/O, no clock; thread-safe.
 */
#ifndef OUTDIAL_RETRY_H
#define OUTDIAL_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "window.h"

/* The product's ranges (docs/product.md, "Settings and their ranges"): max
 * retries 1 to 5, default 3; retry interval 10 to 4320 minutes, default 60. */
#define RETRY_MAX_RETRIES_MIN     1
#define RETRY_MAX_RETRIES_MAX     5
#define RETRY_MAX_RETRIES_DEFAULT 3
#define RETRY_INTERVAL_MIN        10   /* minutes */
#define RETRY_INTERVAL_MAX        4320 /* minutes: 3 days */
#define RETRY_INTERVAL_DEFAULT    60   /* minutes */

/* After a number_busy skip (another call to the same number is in flight),
 * wait this long before trying again: a typical call lasts a few minutes,
 * and waiting keeps the scheduler from re-issuing the job in a hot loop. */
#define RETRY_NUMBER_BUSY_DELAY_MIN 5

/* After a frequency_cap skip (the dialer found the number's 24 h cap full,
 * though the scheduler's plan had a slot: another campaign's call took it
 * meanwhile), look again after a minute: the scheduler's dispatch reads the
 * number's calls then and defers the lead to the instant the cap frees. */
#define RETRY_FREQUENCY_CAP_RECHECK_MIN 1

/* After a predial_error skip (the user's pre-dial endpoint timed out or
 * failed, and the campaign's policy is skip), ask again after this long:
 * an endpoint's outage is usually short, and the wait bounds the requests
 * a down endpoint gets to one per lead per 5 minutes. */
#define RETRY_PREDIAL_ERROR_DELAY_MIN 5

typedef struct retry_policy {
    int max_retries;            /* RETRY_MAX_RETRIES_MIN..MAX */
    int retry_interval_minutes; /* RETRY_INTERVAL_MIN..MAX */
    bool retry_on_voicemail;    /* default true */
    bool goal_based_retry;      /* default false; needs a goal variable (settings.h checks) */
} retry_policy_t;

/* A terminal call result. */
typedef struct retry_call {
    model_call_status_t status;      /* completed, busy, unanswered, failed or skipped */
    model_answered_by_t answered_by; /* for completed */
    bool permanent_failure;          /* for failed: a number that does not exist or
                                      * that the network refuses (SIP 403/404/484/604);
                                      * false for provider 5xx, timeouts, network
                                      * errors (486/600 are busy, 603 unanswered) */
    model_skip_reason_t skip_reason; /* for skipped */
    model_goal_t goal;               /* the goal variable after the call, if reported */
    int64_t ended_at_us;             /* when the call ended (or the job was skipped) */
    int64_t not_before_us;           /* for a caller_id_exhausted skip: when a number wakes */
} retry_call_t;

typedef struct retry_decision {
    model_lead_status_t status; /* completed, rescheduled or max_retries; created after a
                                 * skip of a first attempt */
    model_outcome_t outcome;    /* for completed and max_retries, else MODEL_OUTCOME_NONE */
    int64_t next_attempt_us;    /* for rescheduled and created, else 0 */
    int attempts;               /* the lead's attempt count to store */
    model_goal_t goal;          /* the goal result to record (ABSENT: leave as is); recorded
                                 * whenever reported, also with goal-based retry off */
} retry_decision_t;

/* The defaults: 3 retries, 60 minutes, retry on voicemail, no goal-based retry. */
void retry_policy_defaults(retry_policy_t *policy);

/* Decides the lead's next state. attempts is the lead's attempt count
 * including the call that ended (the DialJob's attempt number). rules are
 * the lead's calling window (lead_tz_window()); n_rules 0 means no window.
 * Errors: OD_ERR_INVALID for a policy out of range, a non-terminal status or
 * attempts < 1; window errors (OD_ERR_NOT_FOUND when the window never opens)
 * are passed on. */
int retry_decide(const retry_policy_t *policy, int attempts, const retry_call_t *call,
                 const window_rule_t *rules, size_t n_rules, retry_decision_t *out, char *errbuf,
                 size_t errlen) OD_WUR;

#endif

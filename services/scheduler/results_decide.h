/*
 * results_decide.h — what one call event does to its call row and its lead
 * (docs/scheduler.md, "Results"). Pure: no I/O, no clock; the caller reads
 * the rows (results.c) and runs the writes this returns.
 *
 * Rows:  lead missing: unknown_lead, no write.  lead of another campaign,
 *        or (no call row yet) a lead without a number: OD_ERR_INVALID.
 *
 *   call row          event                           call row write
 *   none              any                             insert (status, details)
 *   history has the   any                             none: duplicate
 *     event id
 *   not terminal      any                             update: status moves forward
 *                                                     (initiated < ringing <
 *                                                     in_progress < terminal);
 *                                                     details recorded
 *   terminal          not terminal, or terminal       update: history entry only
 *                     (first terminal status wins)    (+ a late cost, below)
 *   terminal, closed  terminal real result            update: takes the result,
 *     by recovery       (not skipped, not synthetic)    ended_reason "reported-late"
 *     (synthetic)                                       unless given ("supersedes")
 *
 *   "Details": answered_by (always for completed), failure class, ended_at,
 *   duration, cost, ended reason, post-call variables; provider call id and
 *   started_at whenever given. A terminal, non-skipped event with a cost > 0
 *   records its cost even after the first terminal status, and charges it
 *   unless the call row says it was charged (its charged_at, read under
 *   the lead's lock): once. The call's write sets charged_at.
 *
 *   lead                                   event              lead write
 *   current attempt is not the event's     any                none: stale
 *     (and no supersede of its last call)
 *   current attempt                        not terminal       scheduled -> processing
 *   current attempt, first terminal        terminal           retry.h decides: status,
 *     (or a supersede of the lead's                           outcome, next attempt,
 *     last call: no attempt in flight,                        attempts, goal, last call;
 *     attempts = the event's attempt                          a window that never opens
 *     number, rescheduled/max_retries)                        again: max_retries
 *                                                             (exhausted)
 *   current attempt, not first terminal    terminal           none
 *
 *   A lead that ends completed or max_retries queues a lead_finished
 *   CampaignEvent and steps its contact group (lead_finish.h). A skipped
 *   job uses no attempt, nor does one that recovery's fence proved no
 *   dialer placed (failed, "dial-job-lost"): the lead is rescheduled after
 *   the retry interval (created if it was never called), its attempt
 *   count and last call unchanged. The goal is the goal variable's boolean in the
 *   post-call variables, if reported.
 *
 *   After the charge (results_charge_pauses): a balance at zero or below
 *   pauses the account's running campaigns (insufficient_balance).
 *
 *   Opt-out (docs/compliance.md): a terminal, non-skipped event whose
 *   post-call variables report the campaign's opt_out_variable true, and
 *   that is not a replay, sets opt_out whatever the lead's state (a stale
 *   or late result too: the callee's request holds): the write step puts
 *   the number on the account's DNC list (source call, this call) and ends
 *   the account's other waiting leads of the number (opt_out.h). When the
 *   event also ends its lead, the lead ends completed (opted_out), the goal
 *   still recorded.
 *
 *   Callbacks (docs/rules.md "Callbacks"): when the lead's latest callback
 *   is pending, the attempt that ends is the callback call: it uses no
 *   attempt of the retry budget (attempts unchanged; retry.h decides as
 *   after the lead's last counted attempt, so an unanswered callback is
 *   retried while the budget lasts), and its callback becomes called. A
 *   skipped or never placed callback stays pending. Then, for an ended
 *   call (not skipped, not given back, not opted out) whose post-call
 *   variables carry the campaign's callback_variable as a non-empty string:
 *
 *   | the time asked (callback.h)       | callback           | the lead          |
 *   |-----------------------------------|--------------------|-------------------|
 *   | not a time (or not a string)      | refused not_a_time | as retry.h says   |
 *   | more than CALLBACK_HORIZON_DAYS   | refused            | as retry.h says   |
 *   |   after now                       |   too_far_ahead    |                   |
 *   | window and legal rules never meet | refused never_opens| as retry.h says   |
 *   | allowed at max(asked, now)        | pending at it;     | rescheduled there,|
 *   |                                   |   reason past when | whatever retry.h  |
 *   |                                   |   asked < now      | said (a finished  |
 *   |                                   |                    | lead stays open)  |
 *   | not allowed then                  | pending at the     | rescheduled there |
 *   |                                   |   first allowed    |                   |
 *   |                                   |   instant after    |                   |
 *   |                                   |   (legal_slot_find)|                   |
 *   |                                   |   reason: the rule |                   |
 *   |                                   |   that blocked     |                   |
 *
 *   A new request replaces the lead's previous one. A lead that ends
 *   (completed, max_retries) with its callback still pending has it
 *   cancelled. JSON null or "" is no request.
 */
#ifndef OUTDIAL_RESULTS_DECIDE_H
#define OUTDIAL_RESULTS_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch_plan.h"
#include "err.h"
#include "lead_tz.h"
#include "model.h"
#include "retry.h"

/* The effect of one event. */
typedef enum results_effect {
    RESULTS_APPLIED = 0,  /* the lead moved (or the call row advanced) */
    RESULTS_DUPLICATE,    /* the event was applied before */
    RESULTS_STALE,        /* not the lead's current attempt: recorded on the call only */
    RESULTS_UNKNOWN_LEAD, /* no such lead (deleted): nothing to do */
} results_effect_t;

typedef enum results_failure {
    RESULTS_FAILURE_NONE = 0, /* not reported */
    RESULTS_FAILURE_TRANSIENT,
    RESULTS_FAILURE_PERMANENT,
} results_failure_t;

/* A CallEvent in the model's terms. Strings are borrowed; NULL for the
 * optional ones when absent (never ""). Times 0 when not given. */
typedef struct results_event {
    const char *event_id;
    const char *attempt_id;
    const char *lead_id;
    const char *campaign_id;
    uint32_t attempt_number; /* 0: not given */
    model_call_status_t status;
    bool answered_by_reported; /* the event says who answered (may be unknown) */
    model_answered_by_t answered_by;
    results_failure_t failure;
    model_skip_reason_t skip_reason;
    const char *provider_call_id;
    const char *ended_reason;
    const char *post_call_variables_json;
    int64_t started_at_us;
    int64_t ended_at_us;
    int64_t occurred_at_us;
    int64_t duration_ms;
    int64_t cost_minor;
    model_predial_result_t predial_result; /* NONE: the event carries no pre-dial answer */
    const char *predial_reason;
    int64_t predial_latency_ms;
    const char *caller_id; /* the number the call came from; NULL: not given */
    int64_t not_before_us; /* caller_id_exhausted: when the pool's first number wakes */
} results_event_t;

/* The event's lead, as locked. */
typedef struct results_lead {
    bool found;
    const char *campaign_id;
    model_lead_status_t status;
    int attempts;
    const char *current_attempt_id; /* "" when none */
    const char *e164;               /* "" when none (an invalid lead) */
    bool callback_pending;          /* its latest callback is pending: its next call is it */
} results_lead_t;

/* The event's call row (by attempt id). */
typedef struct results_call {
    bool found;
    model_call_status_t status;
    bool has_event;           /* the event id is in its status history already */
    const char *ended_reason; /* "" when none */
    bool charged;             /* its charged_at is set: its cost was charged */
} results_call_t;

/* What the decision needs of the campaign. Read only for terminal events;
 * rc says whether it could be read (and the lead's window built), and the
 * decision fails with rc and error only if it needs it. */
typedef struct results_campaign {
    int rc;            /* OD_OK, or why campaign or window is missing */
    const char *error; /* message for rc */
    const char *account_id;
    retry_policy_t retry;
    const char *goal_variable;     /* "" when none */
    const char *opt_out_variable;  /* "" or NULL when none */
    lead_window_t window;          /* the lead's calling window (sched_lead_window) */
    const char *callback_variable; /* "" or NULL when none */
    const lead_legal_t *legal;     /* the lead's legal rules for a callback; NULL: none */
    const char *callee_zone;       /* the lead's own zone: a callback time without offset */
} results_campaign_t;

typedef enum results_call_write {
    RESULTS_CALL_KEEP = 0, /* nothing */
    RESULTS_CALL_INSERT,
    RESULTS_CALL_UPDATE,
} results_call_write_t;

/* The call row write. For an update, a field not "has"/NULL/0 keeps what
 * is stored. Strings are borrowed from the event (or static). */
typedef struct results_call_row {
    results_call_write_t write;
    model_call_status_t status;       /* the row's status after the event */
    model_call_status_t event_status; /* the status history entry */
    int64_t at_us;                    /* the history entry's time */
    bool synthetic;                   /* an attempt recovery closed itself */
    int attempt_number;               /* insert only */
    bool has_answered_by;
    model_answered_by_t answered_by;
    const char *provider_call_id;
    results_failure_t failure;
    int64_t started_at_us;
    int64_t ended_at_us;
    bool has_duration;
    int64_t duration_s;
    bool has_cost;
    int64_t cost_minor;
    const char *ended_reason;
    const char *post_call_variables_json;
    model_predial_result_t predial_result; /* NONE: the row's answer is kept */
    const char *predial_reason;
    int64_t predial_latency_ms;
    bool callback; /* insert only: the lead's pending callback is this call */
} results_call_row_t;

/* The lead's end of an attempt. */
typedef struct results_lead_end {
    model_lead_status_t status;
    model_outcome_t outcome; /* NONE: NULL */
    bool has_next;           /* next_attempt_at (else kept) */
    int64_t next_attempt_us;
    int attempts;
    model_goal_t goal;  /* ABSENT: kept */
    bool has_last_call; /* last_call_status/at (not for a skipped job) */
    model_call_status_t last_call_status;
    bool has_last_answered_by;
    model_answered_by_t last_answered_by;
    int64_t at_us; /* status_changed_at, last_call_at */
} results_lead_end_t;

typedef enum results_callback_write {
    RESULTS_CALLBACK_KEEP = 0,  /* nothing */
    RESULTS_CALLBACK_CALLED,    /* the pending callback was this call */
    RESULTS_CALLBACK_CANCELLED, /* the lead ended with its callback pending */
    RESULTS_CALLBACK_REQUEST,   /* this call asked for one: the new request, pending or refused */
} results_callback_write_t;

/* The lead's callback write. Reasons are static strings. */
typedef struct results_callback {
    results_callback_write_t write;
    bool pending;         /* REQUEST: planned at at_us (else refused: reason says why) */
    int64_t at_us;        /* pending: the time planned, also the lead's next_attempt_at */
    int64_t asked_for_us; /* REQUEST: the time asked for; 0 when not a time */
    int64_t asked_at_us;  /* REQUEST: when it was asked (the call's end) */
    const char *reason;   /* REQUEST: why it moved or was refused; NULL: at the time asked */
} results_callback_t;

/* Why a callback moved or was refused (results_callback_t.reason), besides
 * the deferring rules' names (dispatch_defer_rule_name: window, legal_hours,
 * legal_closed_day, legal_holiday). */
#define RESULTS_CALLBACK_PAST          "past"
#define RESULTS_CALLBACK_NOT_A_TIME    "not_a_time"
#define RESULTS_CALLBACK_TOO_FAR_AHEAD "too_far_ahead"
#define RESULTS_CALLBACK_NEVER_OPENS   "never_opens"

/* Everything one event writes, in the order the write step runs it. */
typedef struct results_writes {
    results_effect_t effect;
    results_call_row_t call;
    bool charge;          /* charge call.cost_minor to the account (and set charged_at) */
    bool lead_processing; /* scheduled -> processing, at call.at_us */
    bool lead_end;        /* end the attempt: end */
    results_lead_end_t end;
    bool lead_finished; /* end is final: lead_finished event, contact-group step */
    bool opt_out;       /* the callee opted out: DNC entry, the number's other leads stopped */
    results_callback_t callback; /* with lead_end only */
} results_writes_t;

/* Decides the writes of ev at campaign time now_us from the rows as read.
 * call and c are read only when needed (c: terminal events). OD_OK with
 * *out filled; OD_ERR_INVALID (message in errbuf) for an event that can
 * never apply; c->rc when the campaign was needed and not read; retry.h's
 * errors for a policy out of range. */
int results_decide(const results_event_t *ev, const results_lead_t *lead,
                   const results_call_t *call, const results_campaign_t *c, int64_t now_us,
                   results_writes_t *out, char *errbuf, size_t errlen) OD_WUR;

/* Whether a charge that left the account's balance at balance_minor pauses
 * its running campaigns. charged is false when nothing was charged (the
 * account's row was not found): then nothing. */
bool results_charge_pauses(bool charged, int64_t balance_minor);

/* The ended reasons recovery gives the attempts it closes itself; no
 * provider reports them. NEVER_PLACED: the fence proved that no dialer
 * placed the attempt, and the lead gets it back. */
#define RESULTS_REASON_NEVER_PLACED     "dial-job-lost"
#define RESULTS_REASON_END_NOT_REPORTED "call-end-not-reported"
bool results_reason_is_synthetic(const char *reason);

#endif

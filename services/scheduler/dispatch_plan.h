/*
 * dispatch_plan.h — how many leads one campaign may dial now, and whether
 * one due lead may be dialed now. Pure: no I/O; dispatch.c claims and
 * produces what these decide.
 *
 * A campaign's pass (dispatch_plan_make), from its row at now; the first
 * row of the table that matches decides:
 *
 *   slots   = max_concurrent_calls - in_flight (scheduled + processing),
 *             then at most floor(tokens) when calls_per_minute > 0
 *   tokens  = the calls-per-minute bucket refilled to now: rate
 *             calls_per_minute a minute, burst calls_per_minute / 6 (ten
 *             seconds' worth, at least 1), full when never refilled
 *
 *   | case                                   | verdict         | wake_us               |
 *   |----------------------------------------|-----------------|-----------------------|
 *   | slots <= 0, fewer than 1 token         | NO_SLOTS        | when the next token   |
 *   |   (calls_per_minute > 0)               |                 | arrives (see below)   |
 *   | slots <= 0, at the concurrency cap     | NO_SLOTS        | never (INT64_MAX): a  |
 *   |   (with a token left, or no limit)     |                 | call's end frees it   |
 *   | shared window, never opens (defence:   | WINDOW_NEVER    | never                 |
 *   |   one valid rule opens within a week)  |                 |                       |
 *   | shared window, opens later             | WINDOW_CLOSED   | the window's opening  |
 *   | shared window open                     | CLAIM           | never; not_after_us = |
 *   |                                        |                 | the window's close    |
 *   | window per lead (tz mode lead, quiet   | CLAIM           | never; each lead is   |
 *   |   hours, or a frequency cap)           |                 | judged by lead_decide |
 *
 * The next token arrives (1 - tokens) / calls_per_minute minutes after now
 * (plus 1 us).
 *
 * While claiming, every lead scheduled takes one slot and one token
 * (dispatch_plan_take); a batch asks for min(slots, batch_size) leads
 * (dispatch_plan_want). The bucket is stored at the end of the pass with
 * what is left, never below 0 (dispatch_plan_tokens_left), whenever
 * calls_per_minute > 0, whatever the verdict.
 *
 * One lead (dispatch_lead_decide), when the window is per lead. "Its
 * window" is the campaign window, the quiet hours and the callee's legal
 * rules together (lib/rules/legal_slot.h legal_slot_find; no legal rules
 * under profile none):
 *
 *   | its window at now          | step                                     |
 *   |----------------------------|------------------------------------------|
 *   | open                       | claim, not_after_us = the window's close |
 *   |                            | (the legal rules' close included)        |
 *   | opens later                | defer to its opening; rule = the legal   |
 *   |                            | rule that blocks now, else the window    |
 *   | never opens together       | defer a day (never_opens: look again     |
 *   | (quiet hours vs window vs  | tomorrow rather than spin on it)         |
 *   |  legal rules)              |                                          |
 *
 * Under a frequency cap (dispatch_lead_cap_decide; freqcap.h), from the
 * calls to the lead's number in the last 24 h across the account; the cap
 * is the smaller of the account's and the callee's jurisdiction's
 * (dispatch_lead_cap):
 *
 *   | cap at now            | step                                          |
 *   |-----------------------|-----------------------------------------------|
 *   | none, or a slot free  | as dispatch_lead_decide at now                |
 *   | full, frees at T      | defer (rule frequency_cap) to T when its      |
 *   |                       | window is open at T, else to the window's     |
 *   |                       | first opening after T (no call comes in       |
 *   |                       | between: the cap is still free then)          |
 */
#ifndef OUTDIAL_DISPATCH_PLAN_H
#define OUTDIAL_DISPATCH_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "campaign_legal.h"
#include "err.h"
#include "sched_campaign.h"

/* A lead whose window never opens is looked at again after a day: often
 * enough to notice a changed campaign window, rarely enough not to spin. */
#define DISPATCH_NEVER_OPEN_RETRY_US (86400LL * 1000000)

typedef enum dispatch_verdict {
    DISPATCH_CLAIM = 0,     /* claim up to slots leads */
    DISPATCH_NO_SLOTS,      /* at the concurrency cap or out of tokens */
    DISPATCH_WINDOW_CLOSED, /* the shared window opens at wake_us */
    DISPATCH_WINDOW_NEVER,  /* the shared window never opens: nothing to wait for */
} dispatch_verdict_t;

/* A campaign's pass. Plain values: copy it freely. */
typedef struct dispatch_plan {
    dispatch_verdict_t verdict;
    int64_t slots;        /* leads this pass may still schedule (> 0 when CLAIM) */
    double tokens;        /* calls-per-minute bucket at now, less what was taken; 0 when no limit */
    bool store_tokens;    /* calls_per_minute > 0: the pass ends by storing the bucket */
    bool shared_window;   /* one window for every lead, judged here */
    int64_t not_after_us; /* shared_window and CLAIM: the open window's close */
    int64_t wake_us;      /* the earliest instant with work when none now; INT64_MAX if none */
    int batch_size;       /* leads per claim statement */
} dispatch_plan_t;

/* Fills *plan for campaign c at now_us (see the table above). c needs the
 * fields a SCHED_LOCK_SKIP_LOCKED load fills (in_flight, the bucket, the
 * window); batch_size >= 1. Errors: the shared window's (OD_ERR_INVALID:
 * an unknown zone, a bad spec), with a message in errbuf. */
int dispatch_plan_make(const sched_campaign_t *c, int64_t now_us, int batch_size,
                       dispatch_plan_t *plan, char *errbuf, size_t errlen) OD_WUR;

/* Leads the next claim statement asks for: min(slots, batch_size). */
int64_t dispatch_plan_want(const dispatch_plan_t *plan);

/* n leads were scheduled: they take n slots, and n tokens when limited. */
void dispatch_plan_take(dispatch_plan_t *plan, int64_t n);

/* The bucket to store at the end of the pass: what is left, at least 0. */
double dispatch_plan_tokens_left(const dispatch_plan_t *plan);

/* Which rule deferred a lead (the scheduler's leads_deferred metric and
 * the demo's summary count them apart). */
typedef enum dispatch_defer_rule {
    DISPATCH_DEFER_WINDOW = 0,    /* the campaign window or the quiet hours */
    DISPATCH_DEFER_LEGAL_HOURS,   /* the callee's legal hours */
    DISPATCH_DEFER_LEGAL_DAY,     /* a day the callee's rules close (Sunday) */
    DISPATCH_DEFER_LEGAL_HOLIDAY, /* a holiday of the callee's rules */
    DISPATCH_DEFER_FREQUENCY_CAP, /* the number's frequency cap is full (freqcap.h) */
    DISPATCH_DEFER_RULE_COUNT,
} dispatch_defer_rule_t;

/* "window", "legal_hours", "legal_closed_day", "legal_holiday",
 * "frequency_cap". */
const char *dispatch_defer_rule_name(dispatch_defer_rule_t rule);

/* The legal rule that holds a lead back at at_us (legal: its legal side,
 * NULL for none): legal_hours, legal_closed_day or legal_holiday, else
 * DISPATCH_DEFER_WINDOW (nothing legal blocks: the window or the quiet
 * hours do). Dispatch's deferrals and the callbacks' reasons
 * (results_decide.h) both name the rule by it. Errors: legal_gate_check's. */
int dispatch_legal_defer_rule(const lead_legal_t *legal, int64_t at_us, dispatch_defer_rule_t *rule,
                              char *errbuf, size_t errlen) OD_WUR;

/* What to do with one due lead when the window is per lead. */
typedef struct dispatch_lead_step {
    bool claim;                 /* dial now */
    int64_t not_after_us;       /* claim: its open window's close */
    int64_t defer_to_us;        /* !claim: its new next_attempt_at */
    dispatch_defer_rule_t rule; /* !claim: what holds it back now */
    bool never_opens;           /* !claim because its window never opens (errbuf says why) */
} dispatch_lead_step_t;

/* Decides for one lead of c (lead_tz may be "" or NULL; e164 its number) at
 * now_us (see the table above); legal is the lead's legal side
 * (campaign_lead_legal), NULL for none. When never_opens, errbuf holds the
 * reason, for the caller's log. Errors: OD_ERR_INVALID (a zone the window
 * cannot be read in), with a message in errbuf. */
int dispatch_lead_decide(const sched_campaign_t *c, const lead_legal_t *legal, const char *lead_tz,
                         const char *e164, int64_t now_us, dispatch_lead_step_t *step, char *errbuf,
                         size_t errlen) OD_WUR;

/* The frequency cap of a lead of c (freqcap.h), 0 for none: the smaller of
 * the account's own and, when legal is not NULL, the smallest cap of the
 * callee's legal rules (freqcap_effective). */
int dispatch_lead_cap(const sched_campaign_t *c, const lead_legal_t *legal);

/* dispatch_lead_decide (legal as there) under a frequency cap of cap calls
 * (0: none), given the times of the calls to the lead's number
 * (call_times_us, n; see the table above). Errors as dispatch_lead_decide. */
int dispatch_lead_cap_decide(const sched_campaign_t *c, const lead_legal_t *legal,
                             const char *lead_tz, const char *e164, int cap,
                             const int64_t *call_times_us, size_t n, int64_t now_us,
                             dispatch_lead_step_t *step, char *errbuf, size_t errlen) OD_WUR;

#endif

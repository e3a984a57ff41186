/*
 * eligibility.h — "why not now?": whether a lead may be called now, every
 * rule that holds it back with the instant that rule alone clears, and the
 * earliest instant at which all of them clear. What GET
 * /v1/leads/{id}/eligibility and `outdialctl lead why` answer.
 *
 *   | reason          | holds back when                               | clears at                 |
 *   |-----------------|-----------------------------------------------|---------------------------|
 *   | lead_status     | the lead is not waiting to be called (done,   | never by itself (unknown) |
 *   |                 | in flight, invalid number, a secondary whose  |                           |
 *   |                 | turn has not come)                            |                           |
 *   | campaign_status | the campaign is not in_progress               | unknown (a user's action) |
 *   | balance         | the account's balance is zero or below        | unknown (a credit)        |
 *   | dnc             | the number is on the account's DNC list       | unknown (its removal)     |
 *   | retry_timer     | next_attempt_at is after now                  | next_attempt_at           |
 *   | campaign_window | the campaign window is closed                 | its next opening          |
 *   | quiet_hours     | the account's quiet hours are closed          | their next opening        |
 *   | legal_hours     | outside the callee's legal hours              | when that rule allows     |
 *   | closed_day      | a weekday the callee's rules close (Sunday)   | when that rule allows     |
 *   | holiday         | a holiday of the callee's rules               | when that rule allows     |
 *   | concurrency     | the campaign is at max_concurrent_calls       | unknown (a call's end)    |
 *
 * The earliest instant all clear is legal_slot_find() from max(now,
 * next_attempt_at) over the window, the quiet hours and the legal rules —
 * the very instant the scheduler would plan — or unknown when a reason
 * without a time holds the lead (concurrency excepted: it clears as calls
 * end, and the instant is given as the earliest possible).
 *
 * Pure: no clock, no I/O.
 */
#ifndef OUTDIAL_ELIGIBILITY_H
#define OUTDIAL_ELIGIBILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "lead_tz.h"
#include "legal_slot.h"

/* An instant that is not known: the rule clears by an action or an event. */
#define ELIG_UNKNOWN INT64_MAX

/* Most reasons one answer holds: every reason once, and one per legal rule
 * that blocks (the federal floor and the entries of the strictest rules). */
#define ELIG_MAX_BLOCKS 24

typedef enum elig_reason {
    ELIG_LEAD_STATUS = 0,
    ELIG_CAMPAIGN_STATUS,
    ELIG_BALANCE,
    ELIG_DNC,
    ELIG_RETRY_TIMER,
    ELIG_CAMPAIGN_WINDOW,
    ELIG_QUIET_HOURS,
    ELIG_LEGAL_HOURS,
    ELIG_CLOSED_DAY,
    ELIG_HOLIDAY,
    ELIG_CONCURRENCY,
    ELIG_REASON_COUNT,
} elig_reason_t;

/* The reason's name in the table above. */
const char *elig_reason_name(elig_reason_t reason);

typedef struct elig_block {
    elig_reason_t reason;
    int64_t clears_us; /* ELIG_UNKNOWN when no instant can be given */
    char detail[160];  /* for a person: which rule, entry, zone or status */
} elig_block_t;

/* What is known of the lead, its campaign and its account at now_us. */
typedef struct elig_input {
    int64_t now_us;
    const char *lead_status; /* created, scheduled, ... */
    bool lead_invalid;       /* no valid number */
    bool lead_has_next;      /* next_attempt_at is set (not a waiting secondary) */
    int64_t next_attempt_us;
    const char *campaign_status; /* draft, in_progress, ... */
    int64_t balance_minor;
    bool dnc;
    int64_t in_flight; /* the campaign's leads scheduled or processing */
    int max_concurrent_calls;
    const lead_window_t *window; /* rules[0] the campaign window, rules[1] the quiet hours */
    const legal_rules_t *legal;  /* n_entries 0 under profile none */
    const char *const *zones;    /* the callee's zones for the legal rules */
    size_t n_zones;
} elig_input_t;

typedef struct elig_result {
    bool callable_now;
    int64_t earliest_us; /* all clear; ELIG_UNKNOWN when not known */
    bool never_together; /* the window and rules never meet: earliest_us unknown */
    elig_block_t blocks[ELIG_MAX_BLOCKS];
    size_t n_blocks;
} elig_result_t;

/* Answers for in (see the table above). Errors: OD_ERR_INVALID (a zone the
 * window or the rules cannot be read in). */
int eligibility_decide(const elig_input_t *in, elig_result_t *out, char *errbuf,
                       size_t errlen) OD_WUR;

#endif

#include "eligibility.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *elig_reason_name(elig_reason_t reason)
{
    static const char *const names[] = {
        "lead_status", "campaign_status", "balance",    "dnc",     "retry_timer", "campaign_window",
        "quiet_hours", "legal_hours",     "closed_day", "holiday", "concurrency",
    };
    _Static_assert(sizeof(names) / sizeof(names[0]) == ELIG_REASON_COUNT, "reason names");
    return reason < ELIG_REASON_COUNT ? names[reason] : "unknown";
}

static void add(elig_result_t *out, elig_reason_t reason, int64_t clears_us, const char *fmt, ...)
    OD_PRINTF(4, 5);

static void add(elig_result_t *out, elig_reason_t reason, int64_t clears_us, const char *fmt, ...)
{
    if (out->n_blocks >= ELIG_MAX_BLOCKS)
        return;
    elig_block_t *b = &out->blocks[out->n_blocks++];
    b->reason = reason;
    b->clears_us = clears_us;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
    va_end(ap);
}

/* One window rule (the campaign window or the quiet hours) at now. */
static int window_block(const window_rule_t *rule, elig_reason_t reason, int64_t now_us,
                        elig_result_t *out, char *errbuf, size_t errlen)
{
    window_slot_t slot;
    int rc = window_slot_find(rule, 1, now_us, &slot, errbuf, errlen);
    if (rc == OD_ERR_NOT_FOUND) {
        add(out, reason, ELIG_UNKNOWN, "never opens within a year in %s", rule->zones[0]);
        return OD_OK;
    }
    if (rc == OD_OK && slot.open_us > now_us)
        add(out, reason, slot.open_us, "closed now in %s%s", rule->zones[0],
            rule->n_zones > 1 ? " (and the callee's other zones)" : "");
    return rc;
}

/* The legal rules at now: one reason per rule that blocks. */
static int legal_blocks(const elig_input_t *in, elig_result_t *out, char *errbuf, size_t errlen)
{
    if (!in->legal || in->legal->n_entries == 0)
        return OD_OK;
    legal_gate_t gate;
    int rc = legal_gate_check(in->legal, in->zones, in->n_zones, in->now_us, &gate, errbuf, errlen);
    if (rc || gate.allowed)
        return rc;
    if (gate.verdict.n_blocks == 0)
        add(out, ELIG_LEGAL_HOURS, ELIG_UNKNOWN, "the legal rules never allow a call in %s",
            gate.block_zone ? gate.block_zone : "the callee's zones");
    for (size_t i = 0; i < gate.verdict.n_blocks; i++) {
        const legal_block_t *b = &gate.verdict.blocks[i];
        const char *name = b->entry->name ? b->entry->name : b->entry->code;
        static const char *const days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                           "Friday", "Saturday", "Sunday"};
        switch (b->reason) {
        case LEGAL_REASON_HOURS:
            add(out, ELIG_LEGAL_HOURS, b->clears_us, "outside the hours of %s (%s) in %s",
                b->entry->code, name, gate.block_zone);
            break;
        case LEGAL_REASON_CLOSED_DAY:
            add(out, ELIG_CLOSED_DAY, b->clears_us, "%s (%s) allows no call on %s in %s",
                b->entry->code, name, days[(b->weekday - 1) % 7], gate.block_zone);
            break;
        case LEGAL_REASON_HOLIDAY:
            add(out, ELIG_HOLIDAY, b->clears_us, "%s of %s (%s) in %s", holiday_name(b->holiday),
                b->entry->code, name, gate.block_zone);
            break;
        }
    }
    return OD_OK;
}

int eligibility_decide(const elig_input_t *in, elig_result_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->earliest_us = ELIG_UNKNOWN;
    const char *status = in->lead_status ? in->lead_status : "";
    bool waiting = strcmp(status, "created") == 0 || strcmp(status, "rescheduled") == 0;
    bool untimed = false;
    if (in->lead_invalid) {
        add(out, ELIG_LEAD_STATUS, ELIG_UNKNOWN, "the lead has no valid number");
    } else if (!waiting) {
        add(out, ELIG_LEAD_STATUS, ELIG_UNKNOWN, "the lead is %s, not waiting to be called",
            status);
    } else if (!in->lead_has_next) {
        add(out, ELIG_LEAD_STATUS, ELIG_UNKNOWN,
            "a secondary contact: called after its primary ends without success");
    }
    untimed = out->n_blocks > 0;
    if (!in->campaign_status || strcmp(in->campaign_status, "in_progress") != 0)
        add(out, ELIG_CAMPAIGN_STATUS, ELIG_UNKNOWN, "the campaign is %s",
            in->campaign_status ? in->campaign_status : "unknown");
    if (in->balance_minor <= 0)
        add(out, ELIG_BALANCE, ELIG_UNKNOWN, "the account's balance is %lld",
            (long long)in->balance_minor);
    if (in->dnc)
        add(out, ELIG_DNC, ELIG_UNKNOWN, "the number is on the account's do-not-call list");
    untimed = untimed || out->n_blocks > 0;
    bool due_later = waiting && in->lead_has_next && in->next_attempt_us > in->now_us;
    if (due_later)
        add(out, ELIG_RETRY_TIMER, in->next_attempt_us, "next_attempt_at is later");
    int rc = OD_OK;
    if (in->window && in->window->n_rules >= 1)
        rc = window_block(&in->window->rules[0], ELIG_CAMPAIGN_WINDOW, in->now_us, out, errbuf,
                          errlen);
    if (rc == OD_OK && in->window && in->window->n_rules >= 2)
        rc = window_block(&in->window->rules[1], ELIG_QUIET_HOURS, in->now_us, out, errbuf, errlen);
    if (rc == OD_OK)
        rc = legal_blocks(in, out, errbuf, errlen);
    if (rc)
        return rc;
    if (in->max_concurrent_calls > 0 && in->in_flight >= in->max_concurrent_calls)
        add(out, ELIG_CONCURRENCY, ELIG_UNKNOWN, "%lld of %d calls in flight",
            (long long)in->in_flight, in->max_concurrent_calls);
    out->callable_now = out->n_blocks == 0;

    /* The earliest instant every timed rule allows, as the scheduler plans. */
    static const legal_rules_t no_rules;
    int64_t from = due_later ? in->next_attempt_us : in->now_us;
    window_slot_t slot;
    rc = legal_slot_find(in->window ? in->window->rules : NULL,
                         in->window ? in->window->n_rules : 0, in->legal ? in->legal : &no_rules,
                         in->zones, in->n_zones, from, &slot, errbuf, errlen);
    if (rc == OD_ERR_NOT_FOUND) {
        out->never_together = true;
        return OD_OK;
    }
    if (rc)
        return rc;
    if (!untimed)
        out->earliest_us = slot.open_us;
    return OD_OK;
}

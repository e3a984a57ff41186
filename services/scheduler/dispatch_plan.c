#include "dispatch_plan.h"

#include <math.h>
#include <string.h>

#include "freqcap.h"

/* The token bucket of calls_per_minute: refills at cpm per minute up to a
 * burst of cpm / 6 (ten seconds' worth, at least 1), so a campaign limited
 * to 60 calls a minute starts at most 10 at once instead of 60. */
static double cpm_tokens_now(const sched_campaign_t *c, int64_t now_us)
{
    double burst = c->calls_per_minute / 6.0;
    if (burst < 1)
        burst = 1;
    if (c->cpm_refilled_us == INT64_MIN)
        return burst;
    double elapsed_min = (double)(now_us - c->cpm_refilled_us) / (60.0 * 1e6);
    if (elapsed_min < 0)
        elapsed_min = 0;
    double tokens = c->cpm_tokens + elapsed_min * c->calls_per_minute;
    return tokens > burst ? burst : tokens;
}

int dispatch_plan_make(const sched_campaign_t *c, int64_t now_us, int batch_size,
                       dispatch_plan_t *plan, char *errbuf, size_t errlen)
{
    memset(plan, 0, sizeof(*plan));
    plan->verdict = DISPATCH_CLAIM;
    plan->wake_us = INT64_MAX;
    plan->batch_size = batch_size;
    plan->store_tokens = c->calls_per_minute > 0;
    /* A frequency cap is per number: each lead needs a look of its own. */
    plan->shared_window = sched_window_is_shared(c) && dispatch_lead_cap(c, NULL) == 0;

    plan->slots = c->max_concurrent_calls - c->in_flight;
    if (c->calls_per_minute > 0) {
        plan->tokens = cpm_tokens_now(c, now_us);
        if ((double)plan->slots > floor(plan->tokens))
            plan->slots = (int64_t)floor(plan->tokens);
        /* Out of tokens: the next arrives in (1 - tokens) minutes. At the
         * cap with tokens left, a call's end frees the slot, not the clock:
         * no wake (it would be in the past, and the loop would spin). */
        if (plan->slots <= 0 && plan->tokens < 1)
            plan->wake_us =
                now_us + (int64_t)((1.0 - plan->tokens) * 60e6 / c->calls_per_minute) + 1;
    }
    if (plan->slots <= 0) {
        plan->verdict = DISPATCH_NO_SLOTS;
        return OD_OK;
    }
    if (!plan->shared_window)
        return OD_OK;

    /* One window for the whole campaign: judge it once. */
    lead_window_t lw;
    window_slot_t slot;
    int rc = sched_lead_window(c, NULL, NULL, now_us, &lw, errbuf, errlen);
    if (rc)
        return rc;
    rc = window_slot_find(lw.rules, lw.n_rules, now_us, &slot, errbuf, errlen);
    if (rc == OD_ERR_NOT_FOUND) {
        plan->verdict = DISPATCH_WINDOW_NEVER;
        return OD_OK;
    }
    if (rc)
        return rc;
    if (slot.open_us > now_us) {
        plan->verdict = DISPATCH_WINDOW_CLOSED;
        plan->wake_us = slot.open_us;
        return OD_OK;
    }
    plan->not_after_us = slot.close_us;
    return OD_OK;
}

int64_t dispatch_plan_want(const dispatch_plan_t *plan)
{
    return plan->slots < plan->batch_size ? plan->slots : plan->batch_size;
}

void dispatch_plan_take(dispatch_plan_t *plan, int64_t n)
{
    plan->slots -= n;
    if (plan->store_tokens)
        plan->tokens -= (double)n;
}

double dispatch_plan_tokens_left(const dispatch_plan_t *plan)
{
    return plan->tokens < 0 ? 0 : plan->tokens;
}

const char *dispatch_defer_rule_name(dispatch_defer_rule_t rule)
{
    static const char *const names[] = {"window", "legal_hours", "legal_closed_day",
                                        "legal_holiday", "frequency_cap"};
    return rule < DISPATCH_DEFER_RULE_COUNT ? names[rule] : "unknown";
}

int dispatch_legal_defer_rule(const lead_legal_t *legal, int64_t now_us,
                              dispatch_defer_rule_t *rule, char *errbuf, size_t errlen)
{
    *rule = DISPATCH_DEFER_WINDOW;
    if (!legal || legal->rules.n_entries == 0)
        return OD_OK;
    legal_gate_t gate;
    int rc = legal_gate_check(&legal->rules, legal->callee_tz.zones, legal->callee_tz.n_zones,
                              now_us, &gate, errbuf, errlen);
    if (rc || gate.allowed)
        return rc;
    *rule = legal_gate_on_holiday(&gate) ? DISPATCH_DEFER_LEGAL_HOLIDAY
            : gate.verdict.n_blocks && gate.verdict.blocks[0].reason == LEGAL_REASON_CLOSED_DAY
                ? DISPATCH_DEFER_LEGAL_DAY
                : DISPATCH_DEFER_LEGAL_HOURS;
    return OD_OK;
}

int dispatch_lead_decide(const sched_campaign_t *c, const lead_legal_t *legal, const char *lead_tz,
                         const char *e164, int64_t now_us, dispatch_lead_step_t *step, char *errbuf,
                         size_t errlen)
{
    static const legal_rules_t no_rules;
    memset(step, 0, sizeof(*step));
    lead_window_t lw;
    window_slot_t slot;
    const legal_rules_t *rules = legal ? &legal->rules : &no_rules;
    int rc = sched_lead_window(c, lead_tz, e164, now_us, &lw, errbuf, errlen);
    if (rc == OD_OK)
        rc = legal_slot_find(lw.rules, lw.n_rules, rules, legal ? legal->callee_tz.zones : NULL,
                             legal ? legal->callee_tz.n_zones : 0, now_us, &slot, errbuf, errlen);
    if (rc == OD_ERR_NOT_FOUND) {
        /* Quiet hours, campaign window and legal rules never overlap in
         * the person's zones. */
        step->never_opens = true;
        step->defer_to_us = now_us + DISPATCH_NEVER_OPEN_RETRY_US;
        return OD_OK;
    }
    if (rc)
        return rc;
    if (slot.open_us > now_us) {
        step->defer_to_us = slot.open_us;
        return dispatch_legal_defer_rule(legal, now_us, &step->rule, errbuf, errlen);
    }
    step->claim = true;
    step->not_after_us = slot.close_us;
    return OD_OK;
}

int dispatch_lead_cap(const sched_campaign_t *c, const lead_legal_t *legal)
{
    return freqcap_effective(c->calls_per_24h, legal ? legal->rules.calls_per_24h : 0);
}

int dispatch_lead_cap_decide(const sched_campaign_t *c, const lead_legal_t *legal,
                             const char *lead_tz, const char *e164, int cap,
                             const int64_t *call_times_us, size_t n, int64_t now_us,
                             dispatch_lead_step_t *step, char *errbuf, size_t errlen)
{
    freqcap_verdict_t v;
    freqcap_check(cap, call_times_us, n, now_us, &v);
    if (v.allowed)
        return dispatch_lead_decide(c, legal, lead_tz, e164, now_us, step, errbuf, errlen);
    /* Full: the lead's windows as they stand when the cap frees. */
    int rc = dispatch_lead_decide(c, legal, lead_tz, e164, v.clears_us, step, errbuf, errlen);
    if (rc)
        return rc;
    if (step->claim)
        step->defer_to_us = v.clears_us;
    step->claim = false;
    step->not_after_us = 0;
    step->rule = DISPATCH_DEFER_FREQUENCY_CAP;
    return OD_OK;
}

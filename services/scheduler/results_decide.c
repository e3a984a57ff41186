#include "results_decide.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "callback.h"

/* initiated < ringing < in_progress < every terminal status. */
static int call_rank(model_call_status_t s)
{
    switch (s) {
    case MODEL_CALL_INITIATED:
        return 1;
    case MODEL_CALL_RINGING:
        return 2;
    case MODEL_CALL_IN_PROGRESS:
        return 3;
    default:
        return 4;
    }
}

/* The variable name of the post-call variables json (NULL when absent, or
 * json is not an object); *vars receives the parsed document, which owns
 * it: the caller json_decref()s *vars. */
static json_t *variable_get(const char *json, const char *name, json_t **vars)
{
    *vars = NULL;
    if (!name || !name[0] || !json || !json[0])
        return NULL;
    json_error_t jerr;
    *vars = json_loads(json, 0, &jerr);
    return json_is_object(*vars) ? json_object_get(*vars, name) : NULL;
}

/* A boolean variable's value in the post-call variables (the goal, the
 * opt-out), if reported as a boolean. */
static model_goal_t bool_from_variables(const char *json, const char *name)
{
    json_t *vars;
    json_t *v = variable_get(json, name, &vars);
    model_goal_t goal = MODEL_GOAL_ABSENT;
    if (json_is_boolean(v))
        goal = json_is_true(v) ? MODEL_GOAL_TRUE : MODEL_GOAL_FALSE;
    json_decref(vars);
    return goal;
}

/* What the callback variable holds in the post-call variables. */
typedef enum callback_ask {
    CALLBACK_ASK_NONE = 0, /* absent, null or "": no request */
    CALLBACK_ASK_TEXT,     /* a non-empty string, in text */
    CALLBACK_ASK_JUNK,     /* a number, a boolean, an object, an array */
} callback_ask_t;

static callback_ask_t callback_ask_read(const char *json, const char *name, char *text, size_t len)
{
    json_t *vars;
    json_t *v = variable_get(json, name, &vars);
    callback_ask_t ask = CALLBACK_ASK_NONE;
    if (json_is_string(v) && json_string_length(v) > 0) {
        ask = CALLBACK_ASK_TEXT;
        snprintf(text, len, "%s", json_string_value(v));
    } else if (v && !json_is_null(v) && !json_is_string(v)) {
        ask = CALLBACK_ASK_JUNK;
    }
    json_decref(vars);
    return ask;
}

/* The callback this call asked for, if any (results_decide.h's callback
 * table): out->write REQUEST, pending or refused; untouched when the call
 * asked for none. A time that cannot be planned is refused, never an
 * error: the event applies whatever the assistant wrote. */
static void callback_plan(const results_event_t *ev, const results_campaign_t *c, int64_t now_us,
                          results_callback_t *out)
{
    char text[CALLBACK_TEXT_MAX + 2];
    callback_ask_t ask =
        callback_ask_read(ev->post_call_variables_json, c->callback_variable, text, sizeof(text));
    if (ask == CALLBACK_ASK_NONE)
        return;
    *out = (results_callback_t){.write = RESULTS_CALLBACK_REQUEST,
                                .asked_at_us = ev->ended_at_us ? ev->ended_at_us : now_us};
    char why[256];
    int64_t asked_us = 0;
    if (ask == CALLBACK_ASK_JUNK ||
        callback_time_parse(text, c->callee_zone, &asked_us, why, sizeof(why)) != OD_OK) {
        out->reason = RESULTS_CALLBACK_NOT_A_TIME;
        return;
    }
    out->asked_for_us = asked_us;
    if (asked_us > now_us + (int64_t)CALLBACK_HORIZON_DAYS * 86400 * 1000000) {
        out->reason = RESULTS_CALLBACK_TOO_FAR_AHEAD;
        return;
    }
    /* The same planner as dispatch's: the window (with the quiet hours)
     * and the callee's legal rules together. */
    static const legal_rules_t no_rules;
    const lead_legal_t *legal = c->legal;
    int64_t start_us = asked_us > now_us ? asked_us : now_us;
    window_slot_t slot;
    dispatch_defer_rule_t rule = DISPATCH_DEFER_WINDOW;
    int rc =
        legal_slot_find(c->window.rules, c->window.n_rules, legal ? &legal->rules : &no_rules,
                        legal ? legal->callee_tz.zones : NULL, legal ? legal->callee_tz.n_zones : 0,
                        start_us, &slot, why, sizeof(why));
    if (rc == OD_OK && slot.open_us > start_us)
        rc = dispatch_legal_defer_rule(legal, start_us, &rule, why, sizeof(why));
    if (rc != OD_OK) { /* they never meet (or a zone cannot be read): nothing to plan */
        out->reason = RESULTS_CALLBACK_NEVER_OPENS;
        return;
    }
    out->pending = true;
    out->at_us = slot.open_us;
    out->reason = slot.open_us > start_us ? dispatch_defer_rule_name(rule)
                  : asked_us < now_us     ? RESULTS_CALLBACK_PAST
                                          : NULL;
}

bool results_reason_is_synthetic(const char *reason)
{
    return reason && (strcmp(reason, RESULTS_REASON_NEVER_PLACED) == 0 ||
                      strcmp(reason, RESULTS_REASON_END_NOT_REPORTED) == 0);
}

bool results_charge_pauses(bool charged, int64_t balance_minor)
{
    return charged && balance_minor <= 0;
}

static int campaign_needed(const results_campaign_t *c, char *errbuf, size_t errlen)
{
    if (c->rc == OD_OK)
        return OD_OK;
    return od_fail(errbuf, errlen, c->rc, "%s", c->error ? c->error : "campaign not read");
}

/* The call row's write (the table's first part). Sets *first_terminal
 * (this event decides the attempt) and *supersedes. OD_ERR_INVALID for a
 * lead that cannot have been called; *out->effect DUPLICATE for a replay. */
static int call_write(const results_event_t *ev, const results_lead_t *lead,
                      const results_call_t *call, int64_t now_us, results_writes_t *out,
                      bool *first_terminal, bool *supersedes, char *errbuf, size_t errlen)
{
    bool terminal = model_call_status_is_terminal(ev->status);
    bool synthetic = results_reason_is_synthetic(ev->ended_reason);
    results_call_row_t *row = &out->call;
    row->event_status = ev->status;
    row->at_us = ev->occurred_at_us ? ev->occurred_at_us : now_us;
    row->synthetic = synthetic;
    row->provider_call_id = ev->provider_call_id;
    row->started_at_us = ev->started_at_us;
    row->predial_result = ev->predial_result; /* the job's answer, whichever event carries it */
    row->predial_reason = ev->predial_reason;
    row->predial_latency_ms = ev->predial_latency_ms;
    bool answered = ev->status == MODEL_CALL_COMPLETED || ev->answered_by_reported;
    int64_t duration_s = (ev->duration_ms + 500) / 1000;
    if (!call->found) {
        if (!lead->e164 || !lead->e164[0])
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "event %s: lead %s has no valid number to have been called",
                           ev->event_id, ev->lead_id);
        *first_terminal = terminal;
        row->write = RESULTS_CALL_INSERT;
        row->status = ev->status;
        row->attempt_number = ev->attempt_number ? (int)ev->attempt_number : lead->attempts + 1;
        row->has_answered_by = answered;
        row->answered_by = ev->answered_by;
        row->failure = ev->failure;
        row->ended_at_us = ev->ended_at_us;
        row->has_duration = terminal;
        row->duration_s = duration_s;
        row->has_cost = terminal;
        row->cost_minor = ev->cost_minor;
        row->ended_reason = ev->ended_reason;
        row->post_call_variables_json = ev->post_call_variables_json;
        row->callback =
            lead->callback_pending && strcmp(lead->current_attempt_id, ev->attempt_id) == 0;
        return OD_OK;
    }
    if (call->has_event) {
        out->effect = RESULTS_DUPLICATE;
        return OD_OK;
    }
    bool was_terminal = model_call_status_is_terminal(call->status);
    /* A real result arriving after recovery closed the attempt supersedes
     * the synthesized close. */
    *supersedes = was_terminal && terminal && ev->status != MODEL_CALL_SKIPPED && !synthetic &&
                  results_reason_is_synthetic(call->ended_reason);
    *first_terminal = (terminal && !was_terminal) || *supersedes;
    /* Terminal details only from the first terminal event. A cost is the
     * exception: a terminal report with a cost after a terminal status that
     * had none (recovery closed the attempt, then the provider's real result
     * came) is recorded and charged, once. */
    bool details = !was_terminal || *supersedes;
    bool late_cost = terminal && ev->status != MODEL_CALL_SKIPPED && ev->cost_minor > 0;
    row->write = RESULTS_CALL_UPDATE;
    row->status =
        *supersedes || call_rank(ev->status) > call_rank(call->status) ? ev->status : call->status;
    row->has_answered_by = details && answered;
    row->answered_by = ev->answered_by;
    row->failure = details ? ev->failure : RESULTS_FAILURE_NONE;
    row->ended_at_us = details ? ev->ended_at_us : 0;
    row->has_duration = details && terminal;
    row->duration_s = duration_s;
    row->has_cost = (details && terminal) || late_cost;
    row->cost_minor = ev->cost_minor;
    row->ended_reason = details ? ev->ended_reason : NULL;
    if (*supersedes && !row->ended_reason)
        row->ended_reason = "reported-late"; /* replaces recovery's reason */
    row->post_call_variables_json = details ? ev->post_call_variables_json : NULL;
    return OD_OK;
}

/* The end of the attempt for the lead (the table's second part). */
static int lead_end(const results_event_t *ev, const results_lead_t *lead,
                    const results_campaign_t *c, bool revisit, int64_t now_us,
                    results_writes_t *out, char *errbuf, size_t errlen)
{
    int rc = campaign_needed(c, errbuf, errlen);
    if (rc)
        return rc;
    bool skipped = ev->status == MODEL_CALL_SKIPPED;
    retry_call_t rcall = {
        .status = ev->status,
        .answered_by = ev->answered_by,
        .permanent_failure = ev->failure == RESULTS_FAILURE_PERMANENT,
        .skip_reason = ev->skip_reason,
        .not_before_us = ev->not_before_us,
        .goal = bool_from_variables(ev->post_call_variables_json, c->goal_variable),
        .ended_at_us = ev->ended_at_us ? ev->ended_at_us : now_us,
    };
    /* A revisited lead already counted the attempt when it was closed. */
    int placed_before = revisit ? lead->attempts - 1 : lead->attempts;
    /* An attempt the fence proves no dialer placed is given back: the lead
     * waits as after a transient failure, its attempt count unchanged, so
     * it is decided as the attempt before it (the first: as attempt 1). */
    bool given_back = ev->status == MODEL_CALL_FAILED && ev->ended_reason &&
                      strcmp(ev->ended_reason, RESULTS_REASON_NEVER_PLACED) == 0;
    bool uses_no_attempt = skipped || given_back;
    /* The lead's pending callback is this call: it uses no attempt of the
     * retry budget, so it is decided as the lead's last counted attempt. */
    bool callback_call =
        lead->callback_pending && !uses_no_attempt && !revisit && lead->attempts > 0;
    int number = callback_call       ? placed_before
                 : !given_back       ? placed_before + 1
                 : placed_before > 0 ? placed_before
                                     : 1;
    retry_decision_t d;
    rc = retry_decide(&c->retry, number, &rcall, c->window.rules, c->window.n_rules, &d, errbuf,
                      errlen);
    if (rc == OD_ERR_NOT_FOUND) {
        /* The window never opens again for this person: nothing can be called. */
        d.status = MODEL_LEAD_MAX_RETRIES;
        d.outcome = MODEL_OUTCOME_EXHAUSTED;
        d.attempts = uses_no_attempt || callback_call ? lead->attempts : placed_before + 1;
        d.goal = rcall.goal;
        d.next_attempt_us = 0;
        rc = OD_OK;
    }
    if (rc)
        return rc;
    if (uses_no_attempt || callback_call)
        d.attempts = lead->attempts; /* a skipped or never placed job, a callback: no attempt */
    if (given_back && lead->attempts == 0 && d.status == MODEL_LEAD_RESCHEDULED)
        d.status = MODEL_LEAD_CREATED; /* never called, as after a skipped first job */
    if (out->opt_out) {                /* the callee asked never to be called again */
        d.status = MODEL_LEAD_COMPLETED;
        d.outcome = MODEL_OUTCOME_OPTED_OUT;
        d.next_attempt_us = 0;
    }
    if (callback_call)
        out->callback.write = RESULTS_CALLBACK_CALLED;
    if (!uses_no_attempt && !out->opt_out)
        callback_plan(ev, c, now_us, &out->callback);
    if (out->callback.write == RESULTS_CALLBACK_REQUEST && out->callback.pending) {
        /* The person asked: the lead stays open for the callback. */
        d.status = MODEL_LEAD_RESCHEDULED;
        d.outcome = MODEL_OUTCOME_NONE;
        d.next_attempt_us = out->callback.at_us;
    }
    bool ends = d.status == MODEL_LEAD_COMPLETED || d.status == MODEL_LEAD_MAX_RETRIES;
    if (ends && lead->callback_pending && out->callback.write == RESULTS_CALLBACK_KEEP)
        out->callback.write = RESULTS_CALLBACK_CANCELLED;
    results_lead_end_t *end = &out->end;
    out->lead_end = true;
    end->status = d.status;
    end->outcome = d.outcome;
    end->has_next = d.status == MODEL_LEAD_RESCHEDULED || d.status == MODEL_LEAD_CREATED;
    end->next_attempt_us = end->has_next ? d.next_attempt_us : 0;
    end->attempts = d.attempts;
    end->goal = d.goal;
    end->has_last_call = !uses_no_attempt;
    end->last_call_status = ev->status;
    end->has_last_answered_by =
        !skipped && (ev->status == MODEL_CALL_COMPLETED || ev->answered_by_reported);
    end->last_answered_by = ev->answered_by;
    end->at_us = out->call.at_us;
    out->lead_finished = ends;
    return OD_OK;
}

int results_decide(const results_event_t *ev, const results_lead_t *lead,
                   const results_call_t *call, const results_campaign_t *c, int64_t now_us,
                   results_writes_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!lead->found) {
        out->effect = RESULTS_UNKNOWN_LEAD;
        return OD_OK;
    }
    if (strcmp(lead->campaign_id, ev->campaign_id) != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "event %s: lead %s belongs to campaign %s, not %s", ev->event_id,
                       ev->lead_id, lead->campaign_id, ev->campaign_id);
    bool first_terminal = false, supersedes = false;
    int rc = call_write(ev, lead, call, now_us, out, &first_terminal, &supersedes, errbuf, errlen);
    if (rc)
        return rc;
    if (out->effect == RESULTS_DUPLICATE) {
        memset(&out->call, 0, sizeof(out->call));
        return OD_OK;
    }
    out->effect = RESULTS_APPLIED;

    bool terminal = model_call_status_is_terminal(ev->status);
    out->charge = terminal && ev->status != MODEL_CALL_SKIPPED && ev->cost_minor > 0 &&
                  !call->charged && out->call.write != RESULTS_CALL_KEEP;
    if (terminal && ev->status != MODEL_CALL_SKIPPED && c->rc == OD_OK)
        out->opt_out = bool_from_variables(ev->post_call_variables_json, c->opt_out_variable) ==
                       MODEL_GOAL_TRUE;
    if (out->charge && (rc = campaign_needed(c, errbuf, errlen)) != OD_OK)
        return rc;

    bool current = strcmp(lead->current_attempt_id, ev->attempt_id) == 0;
    /* The lead takes a superseding result only if this attempt was its last
     * call and nothing was dialed since: no attempt in flight and its
     * attempt count still that of the closed attempt. */
    bool revisit =
        supersedes && lead->current_attempt_id[0] == '\0' &&
        (uint32_t)lead->attempts == ev->attempt_number &&
        (lead->status == MODEL_LEAD_RESCHEDULED || lead->status == MODEL_LEAD_MAX_RETRIES);
    if (!current && !revisit)
        out->effect = RESULTS_STALE;
    else if (!terminal)
        out->lead_processing = lead->status == MODEL_LEAD_SCHEDULED;
    else if (first_terminal) /* else the first terminal event decided already */
        rc = lead_end(ev, lead, c, revisit, now_us, out, errbuf, errlen);
    return rc;
}

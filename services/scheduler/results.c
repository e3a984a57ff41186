#include "results.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_legal.h"
#include "lead_finish.h"
#include "lifecycle.h"
#include "log.h"
#include "opt_out.h"
#include "sched_campaign.h"
#include "uuid.h"
#include "xmalloc.h"

static const pg_stmt_t lead_lock_stmt = {
    "results_lead_lock",
    "SELECT status, attempts, coalesce(current_attempt_id::text, '') AS current_attempt_id,"
    " coalesce(timezone, '') AS timezone, coalesce(e164, '') AS e164,"
    " coalesce(parent_lead_id::text, id::text) AS group_id, campaign_id,"
    " coalesce(callback_status::text, '') AS callback_status, coalesce(state, '') AS state"
    " FROM lead WHERE id = $1::uuid FOR UPDATE",
    1};

static const pg_stmt_t call_get_stmt = {
    "results_call_get",
    "SELECT status, status_history @> jsonb_build_array(jsonb_build_object('event_id', $2::text))"
    " AS has_event, coalesce(ended_reason, '') AS ended_reason, charged_at IS NOT NULL AS charged"
    " FROM call WHERE attempt_id = $1::uuid",
    2};

/* The call row's insert and update share their parameters: $1..$19 as
 * the update's, then what only an insert needs (lead, campaign, attempt
 * number, number called, whether it is the lead's callback). $16..$18: the
 * pre-dial check's answer (NULL when the event has none: the row's is kept).
 * $19: charged_at, set when the event charges the call (results_writes_t
 * .charge: decided under the lead's lock from the row's charged_at, so that
 * the charge needs no second write of the call row; charge_stmt then
 * debits the account).
 * The arm and assistant are the lead's: its A/B arm is fixed at its first
 * dispatch (campaign_arms.h), before any call. goal_reached (migrations 020
 * and 021): the campaign's goal variable came back true in the post-call
 * variables, judged in the statement that brings them (new ones only), so
 * that no row trigger runs per event. */
static const pg_stmt_t call_insert_stmt = {
    "results_call_insert",
    "INSERT INTO call (attempt_id, lead_id, campaign_id, attempt_number, e164, status,"
    " status_history, answered_by, provider_call_id, failure_class, started_at, ended_at,"
    " duration_s, cost_minor, ended_reason, post_call_variables, predial_result, predial_reason,"
    " predial_latency_ms, ab_arm, assistant_id, callback, goal_reached, charged_at)"
    " SELECT $1::uuid, $20::uuid, $21::uuid, $22::smallint, $23, $2::call_status,"
    " jsonb_build_array(jsonb_build_object('status', $3::text, 'at_us', $4::bigint,"
    "   'event_id', $5::text, 'synthetic', $15::boolean)),"
    " $6::answered_by, $7, $8::failure_class, od_ts($9::bigint), od_ts($10::bigint),"
    " $11::int, $12::bigint, $13, $14::jsonb, $16, $17, $18::int, l.ab_arm,"
    " coalesce((c.arms -> l.ab_arm::int ->> 'assistant_id')::uuid, c.assistant_id),"
    " $24::boolean, coalesce($14::jsonb -> c.goal_variable = 'true'::jsonb, false),"
    " od_ts($19::bigint)"
    " FROM campaign c LEFT JOIN lead l ON l.id = $20::uuid WHERE c.id = $21::uuid",
    24};

static const pg_stmt_t call_update_stmt = {
    "results_call_update",
    "UPDATE call SET status = $2::call_status,"
    " status_history = status_history || jsonb_build_array(jsonb_build_object("
    "   'status', $3::text, 'at_us', $4::bigint, 'event_id', $5::text,"
    "   'synthetic', $15::boolean)),"
    " answered_by = coalesce($6::answered_by, answered_by),"
    " provider_call_id = coalesce($7, provider_call_id),"
    " failure_class = coalesce($8::failure_class, failure_class),"
    " started_at = coalesce(od_ts($9::bigint), started_at),"
    " ended_at = coalesce(od_ts($10::bigint), ended_at),"
    " duration_s = coalesce($11::int, duration_s),"
    " cost_minor = CASE WHEN charged_at IS NULL THEN coalesce($12::bigint, cost_minor)"
    "   ELSE cost_minor END,"
    " ended_reason = coalesce($13, ended_reason),"
    " post_call_variables = coalesce($14::jsonb, post_call_variables),"
    " goal_reached = CASE WHEN $14::jsonb IS NULL OR $14::jsonb = post_call_variables"
    "   THEN goal_reached ELSE coalesce((SELECT $14::jsonb -> c.goal_variable = 'true'::jsonb"
    "   FROM campaign c WHERE c.id = call.campaign_id), false) END,"
    " predial_result = coalesce($16, predial_result),"
    " predial_reason = CASE WHEN $16 IS NULL THEN predial_reason ELSE $17 END,"
    " predial_latency_ms = coalesce($18::int, predial_latency_ms),"
    " charged_at = coalesce(od_ts($19::bigint), charged_at), updated_at = now()"
    " WHERE attempt_id = $1::uuid",
    19};

/* The number a call came from (CallEvent.caller_id), on its call row and,
 * as the number it was last called from, on its lead (the sticky
 * strategy's, caller_id.h). After the call's own write in the pipeline. */
static const pg_stmt_t caller_stmt = {
    "results_caller_id",
    "WITH c AS (UPDATE call SET caller_id = $2 WHERE attempt_id = $1::uuid"
    "   AND caller_id IS DISTINCT FROM $2 RETURNING lead_id)"
    " UPDATE lead l SET sticky_caller_id = $2 FROM c WHERE l.id = c.lead_id",
    2};

static const pg_stmt_t lead_processing_stmt = {
    "results_lead_processing",
    "UPDATE lead SET status = 'processing', status_changed_at = od_ts($2::bigint),"
    " updated_at = now() WHERE id = $1::uuid AND status = 'scheduled'",
    2};

static const pg_stmt_t lead_end_stmt = {
    "results_lead_end",
    "UPDATE lead SET status = $2::lead_status, outcome = $3::lead_outcome,"
    " next_attempt_at = CASE WHEN $4::bigint IS NULL THEN next_attempt_at"
    "   ELSE od_ts($4::bigint) END,"
    " attempts = $5::smallint, goal_result = coalesce($6::boolean, goal_result),"
    " last_call_status = coalesce($7::call_status, last_call_status),"
    " last_answered_by = coalesce($8::answered_by, last_answered_by),"
    " last_call_at = CASE WHEN $7::call_status IS NULL THEN last_call_at"
    "   ELSE od_ts($9::bigint) END,"
    " current_attempt_id = NULL, status_changed_at = od_ts($9::bigint), updated_at = now()"
    " WHERE id = $1::uuid",
    9};

/* The lead's callback (results_callback_t): a new request, or only its
 * status (called, cancelled; $3.. NULL and $8 false keep the rest). */
static const pg_stmt_t callback_stmt = {
    "results_callback",
    "UPDATE lead SET callback_status = $2::callback_status,"
    " callback_at = CASE WHEN $8::boolean THEN od_ts($3::bigint) ELSE callback_at END,"
    " callback_asked_for = CASE WHEN $8::boolean THEN od_ts($4::bigint)"
    "   ELSE callback_asked_for END,"
    " callback_asked_at = CASE WHEN $8::boolean THEN od_ts($5::bigint) ELSE callback_asked_at END,"
    " callback_reason = CASE WHEN $8::boolean THEN $6 ELSE callback_reason END,"
    " callback_call_id = CASE WHEN $8::boolean THEN $7::uuid ELSE callback_call_id END"
    " WHERE id = $1::uuid",
    8};

/* The costs of a transaction's charged calls debited from their account,
 * once (the calls' own writes set their charged_at). */
static const pg_stmt_t charge_stmt = {
    "results_charge",
    "UPDATE account SET balance_minor = balance_minor - $2::bigint, updated_at = now()"
    " WHERE id = $1::uuid RETURNING balance_minor",
    2};

static const pg_stmt_t running_of_account_stmt = {
    "results_running_of_account",
    "SELECT id FROM campaign WHERE account_id = $1::uuid AND status = 'in_progress'"
    " ORDER BY id FOR UPDATE",
    1};

/* ---- the event, in the model's terms ---- */

static model_answered_by_t answered_by_from_proto(Outdial__V1__AnsweredBy a)
{
    switch (a) {
    case OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN:
        return MODEL_ANSWERED_BY_HUMAN;
    case OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_VOICEMAIL:
        return MODEL_ANSWERED_BY_VOICEMAIL;
    default:
        return MODEL_ANSWERED_BY_UNKNOWN;
    }
}

/* The model's reason of each proto one that has its own. */
static const struct {
    Outdial__V1__SkipReason proto;
    model_skip_reason_t model;
} skip_reasons[] = {
    {OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CAMPAIGN_NOT_RUNNING, MODEL_SKIP_CAMPAIGN_NOT_RUNNING},
    {OUTDIAL__V1__SKIP_REASON__SKIP_REASON_DNC, MODEL_SKIP_DNC},
    {OUTDIAL__V1__SKIP_REASON__SKIP_REASON_NUMBER_BUSY, MODEL_SKIP_NUMBER_BUSY},
    {OUTDIAL__V1__SKIP_REASON__SKIP_REASON_LEGAL_RULES, MODEL_SKIP_LEGAL_RULES},
    {OUTDIAL__V1__SKIP_REASON__SKIP_REASON_FREQUENCY_CAP, MODEL_SKIP_FREQUENCY_CAP},
    {OUTDIAL__V1__SKIP_REASON__SKIP_REASON_PREDIAL_REFUSED, MODEL_SKIP_PREDIAL_REFUSED},
    {OUTDIAL__V1__SKIP_REASON__SKIP_REASON_PREDIAL_ERROR, MODEL_SKIP_PREDIAL_ERROR},
    {OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CALLER_ID_EXHAUSTED, MODEL_SKIP_CALLER_ID_EXHAUSTED},
};

/* Any other (outside_window, unspecified, a newer producer's) is
 * outside_window. */
static model_skip_reason_t skip_reason_from_proto(Outdial__V1__SkipReason r)
{
    for (size_t i = 0; i < OD_COUNT(skip_reasons); i++)
        if (skip_reasons[i].proto == r)
            return skip_reasons[i].model;
    return MODEL_SKIP_OUTSIDE_WINDOW;
}

_Static_assert(
    (int)OUTDIAL__V1__PREDIAL_RESULT__PREDIAL_RESULT_ELIGIBLE == (int)MODEL_PREDIAL_ELIGIBLE &&
        (int)OUTDIAL__V1__PREDIAL_RESULT__PREDIAL_RESULT_REFUSED == (int)MODEL_PREDIAL_REFUSED &&
        (int)OUTDIAL__V1__PREDIAL_RESULT__PREDIAL_RESULT_ERROR == (int)MODEL_PREDIAL_ERROR,
    "pre-dial results numbered alike");

static const char *nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* Fills out from ev (strings borrowed). OD_ERR_INVALID for an event
 * without a call status or with ids that are not UUIDs (checked here, not
 * by the server: the call row read goes out with the lead lock). */
static int event_from_proto(const callevent_t *ev, results_event_t *out, char *errbuf,
                            size_t errlen)
{
    if (ev->status < OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED ||
        ev->status > OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "event %s: no call status", ev->event_id);
    if (!uuid_str_valid(ev->lead_id) || !uuid_str_valid(ev->attempt_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "event %s: lead or attempt id not a UUID",
                       ev->event_id);
    *out = (results_event_t){
        .event_id = ev->event_id,
        .attempt_id = ev->attempt_id,
        .lead_id = ev->lead_id,
        .campaign_id = ev->campaign_id ? ev->campaign_id : "",
        .attempt_number = ev->attempt_number,
        .status = (model_call_status_t)(ev->status - 1), /* numbered alike, from 1 */
        .answered_by_reported = ev->answered_by != 0,
        .answered_by = answered_by_from_proto(ev->answered_by),
        .failure = ev->failure_class == OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT
                       ? RESULTS_FAILURE_PERMANENT
                   : ev->failure_class == OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT
                       ? RESULTS_FAILURE_TRANSIENT
                       : RESULTS_FAILURE_NONE,
        .skip_reason = skip_reason_from_proto(ev->skip_reason),
        .provider_call_id = nonempty(ev->provider_call_id),
        .ended_reason = nonempty(ev->ended_reason),
        .post_call_variables_json = nonempty(ev->post_call_variables_json),
        .started_at_us = ev->started_at_us,
        .ended_at_us = ev->ended_at_us,
        .occurred_at_us = ev->occurred_at_us,
        .duration_ms = ev->duration_ms,
        .cost_minor = ev->cost_minor,
        /* numbered alike: PREDIAL_RESULT_* and MODEL_PREDIAL_* from 0 (none) */
        .predial_result =
            ev->predial ? (model_predial_result_t)ev->predial->result : MODEL_PREDIAL_NONE,
        .predial_reason = ev->predial && ev->predial->reason ? ev->predial->reason : "",
        .predial_latency_ms = ev->predial ? ev->predial->latency_ms : 0,
        .caller_id = nonempty(ev->caller_id),
        .not_before_us = ev->not_before_us,
    };
    return OD_OK;
}

/* ---- rows read by column name ---- */

/* A column of a result and the text field of a row struct it fills. */
typedef struct column {
    const char *name;
    size_t offset; /* of a const char * in the row struct */
} column_t;

/* Fills row's text fields from row 0 of res by column name (strings
 * borrowed from res); *found says whether res has a row (false: row
 * untouched). OD_ERR_INTERNAL naming a column res does not have. */
static int row_fill(const PGresult *res, const column_t *cols, size_t n, void *row, bool *found,
                    char *errbuf, size_t errlen)
{
    *found = PQntuples(res) > 0;
    for (size_t i = 0; *found && i < n; i++) {
        int c = PQfnumber(res, cols[i].name);
        if (c < 0)
            return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "result without column %s",
                           cols[i].name);
        *(const char **)((char *)row + cols[i].offset) = PQgetvalue(res, 0, c);
    }
    return OD_OK;
}

/* lead_lock_stmt's row, as text. */
typedef struct lead_text {
    const char *status, *attempts, *current_attempt_id, *timezone, *e164, *group_id, *campaign_id,
        *callback_status, *state;
} lead_text_t;

#define LEAD_COLUMN(f)                                                                             \
    {                                                                                              \
#f, offsetof(lead_text_t, f)                                                               \
    }
static const column_t lead_columns[] = {LEAD_COLUMN(status),
                                        LEAD_COLUMN(attempts),
                                        LEAD_COLUMN(current_attempt_id),
                                        LEAD_COLUMN(timezone),
                                        LEAD_COLUMN(e164),
                                        LEAD_COLUMN(group_id),
                                        LEAD_COLUMN(campaign_id),
                                        LEAD_COLUMN(callback_status),
                                        LEAD_COLUMN(state)};

/* The lead as lead_lock_stmt returns it; strings borrowed from res. */
typedef struct lead_row {
    results_lead_t lead;
    const char *timezone;
    const char *group_id; /* the primary's id: the contact group */
    const char *state;    /* the callee's jurisdiction field ("" when none) */
} lead_row_t;

static int lead_row_read(const PGresult *res, lead_row_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    lead_text_t t;
    int rc = row_fill(res, lead_columns, sizeof(lead_columns) / sizeof(lead_columns[0]), &t,
                      &out->lead.found, errbuf, errlen);
    if (rc || !out->lead.found)
        return rc;
    out->lead.campaign_id = t.campaign_id;
    out->lead.attempts = atoi(t.attempts);
    out->lead.current_attempt_id = t.current_attempt_id;
    out->lead.e164 = t.e164;
    out->timezone = t.timezone;
    out->group_id = t.group_id;
    out->state = t.state;
    out->lead.callback_pending = strcmp(t.callback_status, "pending") == 0;
    return model_lead_status_parse(t.status, &out->lead.status, errbuf, errlen);
}

/* call_get_stmt's row, as text. */
typedef struct call_text {
    const char *status, *has_event, *ended_reason, *charged;
} call_text_t;

#define CALL_COLUMN(f)                                                                             \
    {                                                                                              \
#f, offsetof(call_text_t, f)                                                               \
    }
static const column_t call_columns[] = {CALL_COLUMN(status), CALL_COLUMN(has_event),
                                        CALL_COLUMN(ended_reason), CALL_COLUMN(charged)};

/* The call row as call_get_stmt returns it; strings borrowed from res. */
static int call_row_read(const PGresult *res, results_call_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    call_text_t t;
    int rc = row_fill(res, call_columns, sizeof(call_columns) / sizeof(call_columns[0]), &t,
                      &out->found, errbuf, errlen);
    if (rc || !out->found)
        return rc;
    out->has_event = t.has_event[0] == 't';
    out->ended_reason = t.ended_reason;
    out->charged = t.charged[0] == 't';
    return model_call_status_parse(t.status, &out->status, errbuf, errlen);
}

/* ---- one event's part of a transaction ---- */

typedef struct slot {
    const callevent_t *ev;
    results_outcome_t *out;
    results_event_t event;
    bool ready; /* event converted; false: rejected before any read */
    PGresult *lead, *call, *camp, *group;
    lead_row_t row;
    results_call_t call_row;
    sched_campaign_t campaign;
    results_campaign_t c;
    char camp_err[256];
    results_writes_t w;
    bool writing;          /* decided in this transaction; its writes are in the pipeline */
    char opt_out_e164[24]; /* w.opt_out: the number, kept past the lead row's result */
    lead_finish_event_t finished;
    legal_account_t legal_acct; /* a callback's legal rules (slot_callback_legal) */
    lead_legal_t legal;
    /* The write parameters live to the end of the transaction. */
    char at[24], started[24], ended[24], duration[24], cost[24], attempt_no[24], predial_ms[24],
        next[24], attempts[24], now[24], cb_at[24], cb_asked_for[24], cb_asked_at[24];
    const char *lead_params[1], *call_get_params[2], *call_params[24], *end_params[9],
        *processing_params[2], *group_params[1], *callback_params[8], *caller_params[2];
} slot_t;

static void slot_clear(slot_t *s)
{
    PQclear(s->lead);
    PQclear(s->call);
    PQclear(s->camp);
    PQclear(s->group);
    s->lead = s->call = s->camp = s->group = NULL;
    lead_finish_event_free(&s->finished);
    legal_account_clear(&s->legal_acct);
    memset(&s->legal_acct, 0, sizeof(s->legal_acct));
    s->writing = false;
}

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

static const char *failure_name(results_failure_t f)
{
    return f == RESULTS_FAILURE_PERMANENT   ? "permanent"
           : f == RESULTS_FAILURE_TRANSIENT ? "transient"
                                            : NULL;
}

/* The campaign and the lead's window, for a terminal event: their errors
 * stay in s->c for results_decide, which fails with them only if it needs
 * them. */
static void slot_campaign(slot_t *s, int64_t now_us)
{
    memset(&s->c, 0, sizeof(s->c));
    s->c.error = s->camp_err;
    if (!model_call_status_is_terminal(s->event.status)) {
        s->c.rc = OD_ERR_INTERNAL;
        snprintf(s->camp_err, sizeof(s->camp_err), "campaign not read for a non-terminal event");
        return;
    }
    s->c.rc = sched_campaign_from_result(s->camp, &s->campaign, s->camp_err, sizeof(s->camp_err));
    if (s->c.rc)
        return;
    s->c.account_id = s->campaign.account_id;
    s->c.retry = s->campaign.retry;
    s->c.goal_variable = s->campaign.goal_variable;
    s->c.opt_out_variable = s->campaign.opt_out_variable;
    s->c.callback_variable = s->campaign.callback_variable;
    s->c.callee_zone = s->campaign.assistant_tz; /* slot_callback_legal: the lead's own */
    s->c.rc = sched_lead_window(&s->campaign, s->row.timezone, s->row.lead.e164, now_us,
                                &s->c.window, s->camp_err, sizeof(s->camp_err));
}

/* For an event that may carry a callback request (its campaign has a
 * callback variable and its post-call variables name it): the lead's own
 * zone, which reads a time without an offset, and its legal rules, which
 * plan the callback (one more statement, for these events only). A
 * failure here leaves the callback to the window alone, logged. */
static int slot_callback_legal(pg_conn_t *db, slot_t *s, int64_t now_us, char *errbuf,
                               size_t errlen)
{
    const char *name = s->c.callback_variable;
    const char *vars = s->event.post_call_variables_json;
    if (s->c.rc || !name || !name[0] || !vars || !strstr(vars, name))
        return OD_OK;
    lead_tz_t own;
    char why[256];
    if (lead_tz_resolve(MODEL_TZ_MODE_LEAD, s->campaign.assistant_tz, s->row.timezone,
                        s->row.lead.e164, now_us, &own, why, sizeof(why)) == OD_OK)
        s->c.callee_zone = own.zones[0]; /* borrowed from the row or the static table */
    if (s->campaign.legal_profile == LEGAL_PROFILE_NONE)
        return OD_OK;
    int rc = campaign_legal_load(db, &s->campaign, &s->legal_acct, errbuf, errlen);
    if (rc == OD_ERR_INTERNAL) {
        log_warn("callback_legal", "lead %s: %s", s->event.lead_id, errbuf);
        return OD_OK;
    }
    if (rc)
        return rc; /* the database: the batch is applied again */
    if (campaign_lead_legal(&s->campaign, &s->legal_acct, s->row.timezone, s->row.lead.e164,
                            s->row.state, now_us, &s->legal, why, sizeof(why)) == OD_OK)
        s->c.legal = &s->legal;
    else
        log_warn("callback_legal", "lead %s: %s", s->event.lead_id, why);
    return OD_OK;
}

/* Appends s's writes (results_writes_t, in its order) to writes[]. */
static int slot_writes(slot_t *s, int64_t now_us, pg_pipe_stmt_t *writes, size_t *n_writes,
                       char *errbuf, size_t errlen)
{
    const results_event_t *ev = &s->event;
    const results_writes_t *w = &s->w;
    const results_call_row_t *cr = &w->call;
    fmt_i64(s->at, sizeof(s->at), cr->at_us);
    fmt_i64(s->started, sizeof(s->started), cr->started_at_us);
    fmt_i64(s->ended, sizeof(s->ended), cr->ended_at_us);
    fmt_i64(s->duration, sizeof(s->duration), cr->duration_s);
    fmt_i64(s->cost, sizeof(s->cost), cr->cost_minor);
    fmt_i64(s->attempt_no, sizeof(s->attempt_no), cr->attempt_number);
    fmt_i64(s->predial_ms, sizeof(s->predial_ms), cr->predial_latency_ms);
    const char *predial = model_predial_result_name(cr->predial_result); /* NULL: none */
    fmt_i64(s->now, sizeof(s->now), now_us);
    const char *answered = cr->has_answered_by ? model_answered_by_name(cr->answered_by) : NULL;
    const char *started = cr->started_at_us ? s->started : NULL;
    const char *ended = cr->ended_at_us ? s->ended : NULL;
    const char *duration = cr->has_duration ? s->duration : NULL;
    const char *cost = cr->has_cost ? s->cost : NULL;
    const char *synthetic = cr->synthetic ? "true" : "false";
    if (cr->write != RESULTS_CALL_KEEP) {
        const char *p[] = {ev->attempt_id, model_call_status_name(cr->status),
                           model_call_status_name(cr->event_status), s->at, ev->event_id, answered,
                           cr->provider_call_id, failure_name(cr->failure), started, ended,
                           duration, cost, cr->ended_reason, cr->post_call_variables_json,
                           synthetic, predial, predial ? cr->predial_reason : NULL,
                           predial ? s->predial_ms : NULL, w->charge ? s->now : NULL,
                           /* the insert's own */
                           ev->lead_id, ev->campaign_id, s->attempt_no, s->row.lead.e164,
                           cr->callback ? "true" : "false"};
        memcpy(s->call_params, p, sizeof(p));
        const pg_stmt_t *stmt =
            cr->write == RESULTS_CALL_INSERT ? &call_insert_stmt : &call_update_stmt;
        writes[(*n_writes)++] = (pg_pipe_stmt_t){stmt, s->call_params, NULL};
        if (ev->caller_id) {
            s->caller_params[0] = ev->attempt_id;
            s->caller_params[1] = ev->caller_id;
            writes[(*n_writes)++] = (pg_pipe_stmt_t){&caller_stmt, s->caller_params, NULL};
        }
    }
    if (w->lead_processing) {
        s->processing_params[0] = ev->lead_id;
        s->processing_params[1] = s->at;
        writes[(*n_writes)++] = (pg_pipe_stmt_t){&lead_processing_stmt, s->processing_params, NULL};
    }
    if (w->lead_end) {
        const results_lead_end_t *e = &w->end;
        fmt_i64(s->next, sizeof(s->next), e->next_attempt_us);
        fmt_i64(s->attempts, sizeof(s->attempts), e->attempts);
        const char *p[] = {ev->lead_id,
                           model_lead_status_name(e->status),
                           model_outcome_name(e->outcome),
                           e->has_next ? s->next : NULL,
                           s->attempts,
                           e->goal == MODEL_GOAL_ABSENT ? NULL
                           : e->goal == MODEL_GOAL_TRUE ? "true"
                                                        : "false",
                           e->has_last_call ? model_call_status_name(e->last_call_status) : NULL,
                           e->has_last_answered_by ? model_answered_by_name(e->last_answered_by)
                                                   : NULL,
                           s->at}; /* e->at_us: the call's */
        memcpy(s->end_params, p, sizeof(p));
        writes[(*n_writes)++] = (pg_pipe_stmt_t){&lead_end_stmt, s->end_params, NULL};
    }
    if (w->lead_end && w->callback.write != RESULTS_CALLBACK_KEEP) {
        const results_callback_t *cb = &w->callback;
        bool request = cb->write == RESULTS_CALLBACK_REQUEST;
        fmt_i64(s->cb_at, sizeof(s->cb_at), cb->at_us);
        fmt_i64(s->cb_asked_for, sizeof(s->cb_asked_for), cb->asked_for_us);
        fmt_i64(s->cb_asked_at, sizeof(s->cb_asked_at), cb->asked_at_us);
        const char *status = cb->write == RESULTS_CALLBACK_CALLED      ? "called"
                             : cb->write == RESULTS_CALLBACK_CANCELLED ? "cancelled"
                             : cb->pending                             ? "pending"
                                                                       : "refused";
        const char *p[] = {ev->lead_id,
                           status,
                           request && cb->pending ? s->cb_at : NULL,
                           request && cb->asked_for_us ? s->cb_asked_for : NULL,
                           request ? s->cb_asked_at : NULL,
                           request ? cb->reason : NULL,
                           request ? ev->attempt_id : NULL,
                           request ? "true" : "false"};
        memcpy(s->callback_params, p, sizeof(p));
        writes[(*n_writes)++] = (pg_pipe_stmt_t){&callback_stmt, s->callback_params, NULL};
    }
    if (w->lead_finished) {
        lead_finish_t lf = {.account_id = s->campaign.account_id,
                            .campaign_id = s->campaign.id,
                            .lead_id = ev->lead_id,
                            .status = w->end.status,
                            .outcome = w->end.outcome,
                            .goal = w->end.goal,
                            .at_us = now_us};
        int rc = lead_finish_event_init(&s->finished, &lf, errbuf, errlen);
        if (rc)
            return rc;
        writes[(*n_writes)++] =
            (pg_pipe_stmt_t){s->finished.item.stmt, s->finished.item.params, NULL};
        s->group_params[0] = s->row.group_id;
        writes[(*n_writes)++] =
            (pg_pipe_stmt_t){&lead_finish_group_stmt, s->group_params, &s->group};
    }
    return OD_OK;
}

/* Campaigns paused for balance in one transaction, every one of them, for
 * the mirror after its commit. Owns ids; paused_free frees them. */
typedef struct paused {
    char (*ids)[UUID_STR_LEN];
    int n, cap;
} paused_t;

static void paused_add(paused_t *paused, const char *id)
{
    if (paused->n == paused->cap) {
        paused->cap = paused->cap ? paused->cap * 2 : 16;
        paused->ids = xrealloc(paused->ids, (size_t)paused->cap * sizeof(*paused->ids));
    }
    snprintf(paused->ids[paused->n++], UUID_STR_LEN, "%s", id);
}

static void paused_free(paused_t *paused)
{
    free(paused->ids);
    memset(paused, 0, sizeof(*paused));
}

/* A transaction's charges to one account, debited in one statement: an
 * account's row written once a transaction, not once an event (128
 * updates of one row in one transaction each walk its growing chain of
 * versions). The balance ends where the events' charges one by one would
 * have left it, and since costs are positive it fell to zero or below on
 * some charge exactly when it ends there: the pause is the same. */
typedef struct debit {
    const char *account_id; /* borrowed from the slots */
    int64_t minor;
    slot_t *last; /* the account's last charging event: its outcome counts the pauses */
    char minor_s[24];
    const char *params[2];
    PGresult *res;
} debit_t;

/* Adds the charges of slots[0..n) (those writing, with w.charge) to
 * debits[] (room for n), one per account; returns how many. */
static size_t debits_of(slot_t *slots, size_t n, debit_t *debits)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        slot_t *s = &slots[i];
        if (!s->writing || !s->w.charge)
            continue;
        size_t d = 0;
        while (d < k && strcmp(debits[d].account_id, s->campaign.account_id) != 0)
            d++;
        if (d == k)
            debits[k++] = (debit_t){.account_id = s->campaign.account_id};
        debits[d].minor += s->w.call.cost_minor;
        debits[d].last = s;
    }
    for (size_t d = 0; d < k; d++) {
        fmt_i64(debits[d].minor_s, sizeof(debits[d].minor_s), debits[d].minor);
        debits[d].params[0] = debits[d].account_id;
        debits[d].params[1] = debits[d].minor_s;
    }
    return k;
}

/* After a debit: at a balance of zero or below pauses the account's
 * running campaigns. */
static int charge_step(pg_conn_t *db, const debit_t *debit, int64_t now_us, paused_t *paused,
                       char *errbuf, size_t errlen)
{
    struct {
        const char *balance_minor;
    } t = {"0"};
    static const column_t balance_column = {"balance_minor", 0};
    bool charged; /* charge_stmt returns the balance when it found the account */
    int rc = row_fill(debit->res, &balance_column, 1, &t, &charged, errbuf, errlen);
    if (rc)
        return rc;
    if (!results_charge_pauses(charged, strtoll(t.balance_minor, NULL, 10)))
        return OD_OK;
    PGresult *running = NULL;
    const char *account_id = debit->account_id;
    const char *q[] = {account_id};
    rc = pg_stmt_exec(db, &running_of_account_stmt, q, &running, errbuf, errlen);
    int col_id = rc == OD_OK ? PQfnumber(running, "id") : -1;
    for (int i = 0; rc == OD_OK && i < PQntuples(running); i++) {
        const char *id = PQgetvalue(running, i, col_id);
        rc = lifecycle_status_write_tx(db, account_id, id, MODEL_CAMPAIGN_IN_PROGRESS,
                                       MODEL_CAMPAIGN_PAUSED, "insufficient_balance", now_us,
                                       errbuf, errlen);
        if (rc == OD_OK) {
            debit->last->out->paused_campaigns++;
            paused_add(paused, id);
        }
    }
    PQclear(running);
    return rc;
}

/*
 * One transaction over slots[0..n), in three round trips however many
 * events: (1) BEGIN, and per event its lead locked, its call row and (for
 * a terminal event) its campaign; (2) every event's writes, in event order,
 * then one debit per account charged (debit_t), with COMMIT when no result
 * can call for more; (3) only when a charge used
 * up the balance or a finished lead has secondary contacts, their steps,
 * then COMMIT. Each statement sees what the ones before it wrote, so the
 * events' effects are those of one transaction each, in order, as long as
 * no event reads a row an earlier one writes: events write only their own
 * call row, lead and contact group (and the account's balance, which only
 * the debits write, reading it in the same statement), so the transaction ends before
 * the first event whose contact group is already in it. *used receives the
 * number of slots it took (applied or rejected).
 */
static int apply_tx(pg_conn_t *db, slot_t *slots, size_t n, int64_t now_us, paused_t *paused,
                    size_t *used, char *errbuf, size_t errlen)
{
    *used = 0;
    paused->n = 0;
    pg_pipe_stmt_t *reads = xcalloc(3 * n, sizeof(*reads));
    /* slot_writes: at most 8 an event; a debit an account */
    pg_pipe_stmt_t *writes = xcalloc(9 * n, sizeof(*writes));
    debit_t *debits = xcalloc(n, sizeof(*debits));
    const char **groups = xcalloc(n, sizeof(*groups));
    size_t n_reads = 0, n_writes = 0, n_groups = 0;
    for (size_t i = 0; i < n; i++) {
        slot_t *s = &slots[i];
        if (!s->ready)
            continue;
        memset(s->out, 0, sizeof(*s->out)); /* from a transaction that failed */
        s->lead_params[0] = s->event.lead_id;
        s->call_get_params[0] = s->event.attempt_id;
        s->call_get_params[1] = s->event.event_id;
        reads[n_reads++] = (pg_pipe_stmt_t){&lead_lock_stmt, s->lead_params, &s->lead};
        reads[n_reads++] = (pg_pipe_stmt_t){&call_get_stmt, s->call_get_params, &s->call};
        if (model_call_status_is_terminal(s->event.status))
            reads[n_reads++] =
                (pg_pipe_stmt_t){&sched_campaign_of_lead_stmt, s->lead_params, &s->camp};
    }
    int rc = pg_pipeline_exec(db, PG_PIPE_BEGIN, reads, n_reads, errbuf, errlen);
    bool more = false;
    size_t i = 0;
    for (; rc == OD_OK && i < n; i++) {
        slot_t *s = &slots[i];
        if (!s->ready)
            continue;
        rc = lead_row_read(s->lead, &s->row, errbuf, errlen);
        if (rc)
            break;
        if (s->row.lead.found) {
            bool seen = false;
            for (size_t g = 0; g < n_groups && !seen; g++)
                seen = strcmp(groups[g], s->row.group_id) == 0;
            if (seen)
                break; /* the next transaction's first event */
            groups[n_groups++] = s->row.group_id;
            rc = call_row_read(s->call, &s->call_row, errbuf, errlen);
            if (rc)
                break;
            slot_campaign(s, now_us);
            rc = slot_callback_legal(db, s, now_us, errbuf, errlen);
            if (rc)
                break;
        }
        rc = results_decide(&s->event, &s->row.lead, &s->call_row, &s->c, now_us, &s->w, errbuf,
                            errlen);
        if (rc == OD_ERR_INVALID) {
            s->out->rejected = true;
            snprintf(s->out->error, sizeof(s->out->error), "%s", errbuf);
            rc = OD_OK;
            continue;
        }
        if (rc)
            break;
        rc = slot_writes(s, now_us, writes, &n_writes, errbuf, errlen);
        s->writing = true;
        more = more || s->w.charge || s->w.lead_finished || s->w.opt_out;
    }
    *used = i;
    size_t n_debits = debits_of(slots, *used, debits);
    for (size_t d = 0; d < n_debits; d++)
        writes[n_writes++] = (pg_pipe_stmt_t){&charge_stmt, debits[d].params, &debits[d].res};
    if (rc == OD_OK)
        rc = pg_pipeline_exec(db, more ? 0 : PG_PIPE_COMMIT, writes, n_writes, errbuf, errlen);
    for (size_t d = 0; rc == OD_OK && d < n_debits; d++)
        rc = charge_step(db, &debits[d], now_us, paused, errbuf, errlen);
    for (size_t k = 0; rc == OD_OK && more && k < *used; k++) {
        slot_t *s = &slots[k];
        if (!s->writing || !s->w.opt_out)
            continue;
        snprintf(s->opt_out_e164, sizeof(s->opt_out_e164), "%s", s->row.lead.e164);
        rc = opt_out_apply_tx(db, s->campaign.account_id, s->opt_out_e164, s->event.attempt_id,
                              s->event.lead_id, now_us, &s->out->leads_stopped, errbuf, errlen);
    }
    for (size_t k = 0; rc == OD_OK && more && k < *used; k++) {
        slot_t *s = &slots[k];
        if (s->writing && s->w.lead_finished)
            rc = lead_finish_group_apply_tx(db, s->campaign.account_id, s->campaign.id, s->group,
                                            now_us, errbuf, errlen);
    }
    if (rc == OD_OK && more)
        rc = pg_tx_commit(db, errbuf, errlen);
    if (rc)
        pg_tx_rollback(db); /* no-op when the transaction is over (a failed COMMIT) */
    for (size_t k = 0; k < *used && rc == OD_OK; k++) {
        slot_t *s = &slots[k];
        if (s->writing) {
            s->out->effect = s->w.effect;
            s->out->lead_finished = s->w.lead_finished;
            s->out->opted_out = s->w.opt_out;
        }
    }
    for (size_t k = 0; k < n; k++)
        slot_clear(&slots[k]);
    for (size_t d = 0; d < n_debits; d++)
        PQclear(debits[d].res);
    free(debits);
    free(groups);
    free(writes);
    free(reads);
    return rc;
}

/* Logs and mirrors the campaigns a committed transaction paused. */
static void paused_mirror(redis_t *r, const char *redis_prefix, const paused_t *paused)
{
    for (int i = 0; i < paused->n; i++) {
        char rerr[256];
        log_warn("insufficient_balance", "campaign %s paused: the account's balance is used up",
                 paused->ids[i]);
        if (r && lifecycle_mirror_write(r, redis_prefix, paused->ids[i], MODEL_CAMPAIGN_PAUSED,
                                        rerr, sizeof(rerr)))
            log_warn("campaign_mirror", "campaign %s: %s", paused->ids[i], rerr);
    }
}

int results_apply_batch(pg_conn_t *db, redis_t *r, const char *redis_prefix,
                        const callevent_t *const *evs, size_t n, int64_t now_us,
                        results_outcome_t *outs, char *errbuf, size_t errlen)
{
    slot_t *slots = xcalloc(n, sizeof(*slots));
    for (size_t i = 0; i < n; i++) {
        memset(&outs[i], 0, sizeof(outs[i]));
        slots[i].ev = evs[i];
        slots[i].out = &outs[i];
        int rc = event_from_proto(evs[i], &slots[i].event, outs[i].error, sizeof(outs[i].error));
        slots[i].ready = rc == OD_OK;
        outs[i].rejected = rc != OD_OK;
    }
    /* After a transaction the database refused (data it cannot take, as
     * post-call variables that are not JSON), each event goes alone, so
     * that the one at fault is rejected and the others apply. */
    size_t per_tx = RESULTS_BATCH_MAX;
    size_t done = 0;
    int rc = OD_OK;
    while (done < n && rc == OD_OK) {
        if (!slots[done].ready) { /* rejected before any read */
            done++;
            continue;
        }
        size_t take = n - done < per_tx ? n - done : per_tx;
        size_t used = 0;
        paused_t paused = {0};
        rc = apply_tx(db, &slots[done], take, now_us, &paused, &used, errbuf, errlen);
        if (rc == OD_OK)
            paused_mirror(r, redis_prefix, &paused);
        for (size_t k = done; rc == OD_OK && k < done + used; k++)
            if (outs[k].opted_out)
                opt_out_mirror(r, redis_prefix, slots[k].campaign.account_id,
                               slots[k].opt_out_e164);
        paused_free(&paused);
        if (rc == OD_OK) {
            done += used;
        } else if (rc == OD_ERR_INVALID && take > 1) {
            per_tx = 1;
            rc = OD_OK;
        } else if (rc == OD_ERR_INVALID) {
            outs[done].rejected = true;
            snprintf(outs[done].error, sizeof(outs[done].error), "%s", errbuf);
            done++;
            rc = OD_OK;
        }
    }
    free(slots);
    return rc;
}

int results_apply(pg_conn_t *db, redis_t *r, const char *redis_prefix, const callevent_t *ev,
                  int64_t now_us, results_outcome_t *out, char *errbuf, size_t errlen)
{
    const callevent_t *evs[] = {ev};
    int rc = results_apply_batch(db, r, redis_prefix, evs, 1, now_us, out, errbuf, errlen);
    if (rc == OD_OK && out->rejected)
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s", out->error);
    return rc;
}

#include "results.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contacts.h"
#include "lifecycle.h"
#include "log.h"
#include "retry.h"
#include "sched_campaign.h"
#include "topics.h"
#include "uuid.h"

static const pg_stmt_t lead_lock_stmt = {
    "results_lead_lock",
    "SELECT status, attempts, coalesce(current_attempt_id::text, ''), coalesce(timezone, ''),"
    " coalesce(e164, ''), coalesce(parent_lead_id::text, id::text), campaign_id"
    " FROM lead WHERE id = $1::uuid FOR UPDATE",
    1};

static const pg_stmt_t call_get_stmt = {
    "results_call_get",
    "SELECT status, status_history @> jsonb_build_array(jsonb_build_object('event_id', $2::text)),"
    " coalesce(ended_reason, '') FROM call WHERE attempt_id = $1::uuid",
    2};

static const pg_stmt_t call_insert_stmt = {
    "results_call_insert",
    "INSERT INTO call (attempt_id, lead_id, campaign_id, attempt_number, e164, status,"
    " status_history, answered_by, provider_call_id, failure_class, started_at, ended_at,"
    " duration_s, cost_minor, ended_reason, post_call_variables)"
    " VALUES ($1::uuid, $2::uuid, $3::uuid, $4::smallint, $5, $6::call_status,"
    " jsonb_build_array(jsonb_build_object('status', $6::text, 'at_us', $7::bigint,"
    "   'event_id', $8::text, 'synthetic', $18::boolean)),"
    " $9::answered_by, $10, $11::failure_class, od_ts($12::bigint), od_ts($13::bigint),"
    " $14::int, $15::bigint, $16, $17::jsonb)",
    18};

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
    " post_call_variables = coalesce($14::jsonb, post_call_variables), updated_at = now()"
    " WHERE attempt_id = $1::uuid",
    15};

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

static const pg_stmt_t charge_stmt = {
    "results_charge",
    "WITH c AS (UPDATE call SET charged_at = od_ts($3::bigint)"
    "   WHERE attempt_id = $2::uuid AND charged_at IS NULL RETURNING cost_minor)"
    " UPDATE account SET balance_minor = balance_minor - c.cost_minor, updated_at = now()"
    " FROM c WHERE account.id = $1::uuid RETURNING balance_minor",
    3};

static const pg_stmt_t running_of_account_stmt = {
    "results_running_of_account",
    "SELECT id FROM campaign WHERE account_id = $1::uuid AND status = 'in_progress'"
    " ORDER BY id FOR UPDATE",
    1};

static const pg_stmt_t group_stmt = {
    "results_group",
    "SELECT id, status, next_attempt_at IS NOT NULL, contact_order FROM lead"
    " WHERE id = $1::uuid OR parent_lead_id = $1::uuid ORDER BY contact_order FOR UPDATE",
    1};

static const pg_stmt_t make_due_stmt = {
    "results_make_due",
    "UPDATE lead SET next_attempt_at = od_ts($2::bigint), updated_at = now()"
    " WHERE id = $1::uuid",
    2};

static const pg_stmt_t group_complete_stmt = {
    "results_group_complete",
    "UPDATE lead SET status = 'completed', outcome = 'answered', current_attempt_id = NULL,"
    " status_changed_at = od_ts($2::bigint), updated_at = now() WHERE id = $1::uuid",
    2};

/* ---- enum mapping between the protocol and the model ---- */

static bool call_status_from_proto(Outdial__V1__CallStatus s, model_call_status_t *out)
{
    if (s < OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED ||
        s > OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED)
        return false;
    *out = (model_call_status_t)(s - 1);
    return true;
}

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

static model_skip_reason_t skip_reason_from_proto(Outdial__V1__SkipReason r)
{
    switch (r) {
    case OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CAMPAIGN_NOT_RUNNING:
        return MODEL_SKIP_CAMPAIGN_NOT_RUNNING;
    case OUTDIAL__V1__SKIP_REASON__SKIP_REASON_DNC:
        return MODEL_SKIP_DNC;
    case OUTDIAL__V1__SKIP_REASON__SKIP_REASON_NUMBER_BUSY:
        return MODEL_SKIP_NUMBER_BUSY;
    default:
        return MODEL_SKIP_OUTSIDE_WINDOW;
    }
}

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

static Outdial__V1__LeadOutcome outcome_to_proto(model_outcome_t o)
{
    return o == MODEL_OUTCOME_NONE ? OUTDIAL__V1__LEAD_OUTCOME__LEAD_OUTCOME_UNSPECIFIED
                                   : (Outdial__V1__LeadOutcome)o;
}

/* The goal variable's value in the post-call variables, if reported as a
 * boolean. */
static model_goal_t goal_from_variables(const char *json, const char *goal_variable)
{
    if (!goal_variable[0] || !json || !json[0])
        return MODEL_GOAL_ABSENT;
    json_error_t jerr;
    json_t *vars = json_loads(json, 0, &jerr);
    json_t *v = json_is_object(vars) ? json_object_get(vars, goal_variable) : NULL;
    model_goal_t goal = MODEL_GOAL_ABSENT;
    if (json_is_boolean(v))
        goal = json_is_true(v) ? MODEL_GOAL_TRUE : MODEL_GOAL_FALSE;
    json_decref(vars);
    return goal;
}

/* The ended reasons recovery gives the attempts it closes itself
 * (recovery.c). No provider reports them. */
static bool reason_is_synthetic(const char *reason)
{
    return reason &&
           (strcmp(reason, "dial-job-lost") == 0 || strcmp(reason, "call-end-not-reported") == 0);
}

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

/* The lead_finished CampaignEvent of a lead, encoded into *buf (caller
 * frees), and the name of its topic. */
static int lead_finished_encode(const sched_campaign_t *c, const char *lead_id,
                                model_lead_status_t status, model_outcome_t outcome,
                                model_goal_t goal, int64_t now_us, char topic[TOPIC_NAME_MAX + 1],
                                uint8_t **buf, size_t *len, char *errbuf, size_t errlen)
{
    char event_id[UUID_STR_LEN];
    uuid_str_new(event_id);
    campaignevent_t ev;
    campaignevent_init(&ev);
    ev.event_id = event_id;
    ev.campaign_id = (char *)c->id;
    ev.account_id = (char *)c->account_id;
    ev.kind = OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_LEAD_FINISHED;
    ev.lead_id = (char *)lead_id;
    ev.lead_status = status == MODEL_LEAD_COMPLETED
                         ? OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_COMPLETED
                         : OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_MAX_RETRIES;
    ev.outcome = outcome_to_proto(outcome);
    ev.goal_result = (Outdial__V1__GoalResult)goal;
    ev.occurred_at_us = now_us;
    int rc = topic_name_from_env(TOPIC_CAMPAIGN_EVENTS, topic, TOPIC_NAME_MAX + 1, errbuf, errlen);
    if (rc)
        return rc;
    return campaignevent_encode(&ev, buf, len, errbuf, errlen);
}

/* Queues a lead_finished CampaignEvent in the outbox. */
static int lead_finished_event(pg_conn_t *db, const sched_campaign_t *c, const char *lead_id,
                               model_lead_status_t status, model_outcome_t outcome,
                               model_goal_t goal, int64_t now_us, char *errbuf, size_t errlen)
{
    char topic[TOPIC_NAME_MAX + 1];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = lead_finished_encode(c, lead_id, status, outcome, goal, now_us, topic, &buf, &len,
                                  errbuf, errlen);
    if (rc == OD_OK)
        rc = lifecycle_outbox_add_tx(db, topic, c->id, buf, len, errbuf, errlen);
    free(buf);
    return rc;
}

/* After a lead of a contact group changed: make the next secondary due or
 * complete the rest of the group (contacts.h decides). res is group_stmt's
 * result: the group's rows, locked, in contact order. */
static int group_step(pg_conn_t *db, const sched_campaign_t *c, const PGresult *res, int64_t now_us,
                      char *errbuf, size_t errlen)
{
    int n = PQntuples(res);
    if (n <= 1) /* a lead without secondary contacts */
        return OD_OK;
    contacts_member_t members[128];
    contacts_action_t actions[128];
    if (n > 128)
        n = 128; /* contact_order is at most 100 (schema CHECK) */
    int rc;
    for (int i = 0; i < n; i++) {
        rc = model_lead_status_parse(PQgetvalue(res, i, 1), &members[i].status, errbuf, errlen);
        if (rc)
            return rc;
        members[i].due = PQgetvalue(res, i, 2)[0] == 't';
        members[i].contact_order = atoi(PQgetvalue(res, i, 3));
    }
    size_t changed = 0;
    rc = contacts_group_step(members, (size_t)n, actions, &changed, errbuf, errlen);
    if (rc)
        return rc;
    char now[24];
    fmt_i64(now, sizeof(now), now_us);
    for (int i = 0; i < n && changed; i++) {
        const char *q[] = {PQgetvalue(res, i, 0), now};
        if (actions[i] == CONTACTS_ACTION_MAKE_DUE) {
            rc = pg_stmt_exec(db, &make_due_stmt, q, NULL, errbuf, errlen);
        } else if (actions[i] == CONTACTS_ACTION_COMPLETE) {
            rc = pg_stmt_exec(db, &group_complete_stmt, q, NULL, errbuf, errlen);
            if (rc == OD_OK)
                rc = lead_finished_event(db, c, PQgetvalue(res, i, 0), MODEL_LEAD_COMPLETED,
                                         MODEL_OUTCOME_ANSWERED, MODEL_GOAL_ABSENT, now_us, errbuf,
                                         errlen);
        }
        if (rc)
            return rc;
    }
    return OD_OK;
}

/* After charge_stmt (res, its result: the balance if it charged): at a
 * balance of zero or below pauses the account's running campaigns. Their
 * ids go to paused[] for the mirror. */
static int charge_step(pg_conn_t *db, const sched_campaign_t *c, const PGresult *res,
                       int64_t now_us, char paused[][UUID_STR_LEN], int *n_paused, char *errbuf,
                       size_t errlen)
{
    bool exhausted = PQntuples(res) == 1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) <= 0;
    if (!exhausted)
        return OD_OK;
    PGresult *running = NULL;
    const char *q[] = {c->account_id};
    int rc = pg_stmt_exec(db, &running_of_account_stmt, q, &running, errbuf, errlen);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(running) && rc == OD_OK; i++) {
        const char *id = PQgetvalue(running, i, 0);
        rc = lifecycle_status_write_tx(db, c->account_id, id, MODEL_CAMPAIGN_IN_PROGRESS,
                                       MODEL_CAMPAIGN_PAUSED, "insufficient_balance", now_us,
                                       errbuf, errlen);
        if (rc == OD_OK && *n_paused < 16)
            snprintf(paused[(*n_paused)++], UUID_STR_LEN, "%s", id);
    }
    PQclear(running);
    return rc;
}

/*
 * The statements are those of one event, one transaction, in the order
 * they always ran; what changed is how they travel. Round trip 1 sends
 * BEGIN, the lead lock, the call row read and (terminal events) the
 * campaign read together: each runs after the lock, with its own snapshot,
 * so they see what the lead's previous event committed. Everything the
 * writes need is then known, so round trip 2 sends the call write, the
 * charge, the lead update, the outbox event and the contact group lock
 * together, with COMMIT when no result can call for more. Only a balance
 * used up (pause the account's campaigns) or a contact group with
 * secondaries (make one due or complete them) adds statements, after the
 * group lock, and then COMMIT. Ten round trips for a charged terminal
 * event became three; a non-terminal event takes two.
 */
int results_apply(pg_conn_t *db, redis_t *r, const char *redis_prefix, const callevent_t *ev,
                  int64_t now_us, results_outcome_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    model_call_status_t status;
    if (!call_status_from_proto(ev->status, &status))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "event %s: no call status", ev->event_id);
    /* Checked here, not by the server: the call row read goes out with the
     * lead lock, before we know whether the lead exists. */
    if (!uuid_str_valid(ev->lead_id) || !uuid_str_valid(ev->attempt_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "event %s: lead or attempt id not a UUID",
                       ev->event_id);
    bool terminal = model_call_status_is_terminal(status);

    PGresult *lead = NULL, *call = NULL, *camp = NULL, *charged = NULL, *group = NULL;
    lifecycle_outbox_item_t finished_item = {0};
    char paused[16][UUID_STR_LEN];
    int n_paused = 0;

    /* Round trip 1: BEGIN, the lead locked, its call row and campaign. */
    const char *lp[] = {ev->lead_id};
    const char *cp[] = {ev->attempt_id, ev->event_id};
    const pg_pipe_stmt_t reads[] = {
        {&lead_lock_stmt, lp, &lead},
        {&call_get_stmt, cp, &call},
        {&sched_campaign_of_lead_stmt, lp, &camp},
    };
    int rc = pg_pipeline_exec(db, PG_PIPE_BEGIN, reads, terminal ? 3 : 2, errbuf, errlen);
    if (rc)
        goto done;
    if (PQntuples(lead) == 0) {
        out->effect = RESULTS_UNKNOWN_LEAD;
        goto commit;
    }
    if (strcmp(PQgetvalue(lead, 0, 6), ev->campaign_id) != 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "event %s: lead %s belongs to campaign %s, not %s", ev->event_id, ev->lead_id,
                     PQgetvalue(lead, 0, 6), ev->campaign_id);
        goto done;
    }
    model_lead_status_t lead_status;
    rc = model_lead_status_parse(PQgetvalue(lead, 0, 0), &lead_status, errbuf, errlen);
    if (rc)
        goto done;
    int attempts = atoi(PQgetvalue(lead, 0, 1));
    bool current = strcmp(PQgetvalue(lead, 0, 2), ev->attempt_id) == 0;

    /* The call row. */
    bool was_terminal = false;
    bool first_terminal = false;
    /* A real result arriving after recovery closed the attempt supersedes
     * the synthesized close: the call row takes the real result and, if the
     * lead has not been called again since, so does the lead. */
    bool synthetic = reason_is_synthetic(ev->ended_reason);
    bool supersedes = false;
    char at[24], started[24], ended[24], duration[24], cost[24], attempt_no[24];
    fmt_i64(at, sizeof(at), ev->occurred_at_us ? ev->occurred_at_us : now_us);
    fmt_i64(started, sizeof(started), ev->started_at_us);
    fmt_i64(ended, sizeof(ended), ev->ended_at_us);
    fmt_i64(duration, sizeof(duration), (ev->duration_ms + 500) / 1000);
    fmt_i64(cost, sizeof(cost), ev->cost_minor);
    fmt_i64(attempt_no, sizeof(attempt_no),
            ev->attempt_number ? (int64_t)ev->attempt_number : (int64_t)attempts + 1);
    const char *answered = status == MODEL_CALL_COMPLETED || ev->answered_by != 0
                               ? model_answered_by_name(answered_by_from_proto(ev->answered_by))
                               : NULL;
    const char *failure =
        ev->failure_class == OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT   ? "permanent"
        : ev->failure_class == OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT ? "transient"
                                                                                   : NULL;
    const char *vars = ev->post_call_variables_json && ev->post_call_variables_json[0]
                           ? ev->post_call_variables_json
                           : NULL;
    const char *provider_call_id =
        ev->provider_call_id && ev->provider_call_id[0] ? ev->provider_call_id : NULL;
    const char *ended_reason = ev->ended_reason && ev->ended_reason[0] ? ev->ended_reason : NULL;

    /* Round trip 2, built up: every parameter array lives to the end. */
    pg_pipe_stmt_t writes[5];
    size_t n_writes = 0;
    const char *call_params[18];
    if (PQntuples(call) == 0) {
        if (!PQgetvalue(lead, 0, 4)[0]) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                         "event %s: lead %s has no valid number to have been called", ev->event_id,
                         ev->lead_id);
            goto done;
        }
        first_terminal = terminal;
        const char *ip[] = {ev->attempt_id,
                            ev->lead_id,
                            ev->campaign_id,
                            attempt_no,
                            PQgetvalue(lead, 0, 4),
                            model_call_status_name(status),
                            at,
                            ev->event_id,
                            answered,
                            provider_call_id,
                            failure,
                            ev->started_at_us ? started : NULL,
                            ev->ended_at_us ? ended : NULL,
                            terminal ? duration : NULL,
                            terminal ? cost : NULL,
                            ended_reason,
                            vars,
                            synthetic ? "true" : "false"};
        memcpy(call_params, ip, sizeof(ip));
        writes[n_writes++] = (pg_pipe_stmt_t){&call_insert_stmt, call_params, NULL};
    } else {
        if (PQgetvalue(call, 0, 1)[0] == 't') {
            out->effect = RESULTS_DUPLICATE;
            goto commit;
        }
        model_call_status_t old;
        rc = model_call_status_parse(PQgetvalue(call, 0, 0), &old, errbuf, errlen);
        if (rc)
            goto done;
        was_terminal = model_call_status_is_terminal(old);
        supersedes = was_terminal && terminal && status != MODEL_CALL_SKIPPED && !synthetic &&
                     reason_is_synthetic(PQgetvalue(call, 0, 2));
        first_terminal = (terminal && !was_terminal) || supersedes;
        model_call_status_t next = supersedes || call_rank(status) > call_rank(old) ? status : old;
        /* Terminal details only from the first terminal event. A cost is
         * the exception: a terminal report with a cost after a terminal
         * status that had none (recovery closed the attempt, then the
         * provider's real result came) is recorded and charged, once. */
        bool details = !was_terminal || supersedes;
        if (supersedes && !ended_reason)
            ended_reason = "reported-late"; /* replaces recovery's reason */
        bool late_cost = terminal && status != MODEL_CALL_SKIPPED && ev->cost_minor > 0;
        const char *up[] = {ev->attempt_id,
                            model_call_status_name(next),
                            model_call_status_name(status),
                            at,
                            ev->event_id,
                            details ? answered : NULL,
                            provider_call_id,
                            details ? failure : NULL,
                            ev->started_at_us ? started : NULL,
                            details && ev->ended_at_us ? ended : NULL,
                            details && terminal ? duration : NULL,
                            (details && terminal) || late_cost ? cost : NULL,
                            details ? ended_reason : NULL,
                            details ? vars : NULL,
                            synthetic ? "true" : "false"};
        memcpy(call_params, up, sizeof(up));
        writes[n_writes++] = (pg_pipe_stmt_t){&call_update_stmt, call_params, NULL};
    }
    out->effect = RESULTS_APPLIED;

    sched_campaign_t c;
    bool have_campaign = false;
    char now[24];
    fmt_i64(now, sizeof(now), now_us);
    /* charge_stmt charges a call only while its charged_at is NULL. */
    bool charging = terminal && status != MODEL_CALL_SKIPPED && ev->cost_minor > 0;
    const char *charge_params[] = {NULL, ev->attempt_id, now};
    if (charging) {
        rc = sched_campaign_from_result(camp, &c, errbuf, errlen);
        if (rc)
            goto done;
        have_campaign = true;
        charge_params[0] = c.account_id;
        writes[n_writes++] = (pg_pipe_stmt_t){&charge_stmt, charge_params, &charged};
    }

    /* The lead takes a superseding result only if this attempt was its
     * last call and nothing was dialed since: no attempt in flight and its
     * attempt count still that of the closed attempt. */
    bool revisit = supersedes && PQgetvalue(lead, 0, 2)[0] == '\0' &&
                   (uint32_t)attempts == ev->attempt_number &&
                   (lead_status == MODEL_LEAD_RESCHEDULED || lead_status == MODEL_LEAD_MAX_RETRIES);
    const char *processing_params[] = {ev->lead_id, at};
    const char *end_params[9];
    char next[24], attempts_s[24], topic[TOPIC_NAME_MAX + 1];
    const char *group_params[] = {PQgetvalue(lead, 0, 5)};
    bool finished = false;
    if (!current && !revisit) {
        out->effect = RESULTS_STALE;
    } else if (!terminal) {
        if (lead_status == MODEL_LEAD_SCHEDULED)
            writes[n_writes++] = (pg_pipe_stmt_t){&lead_processing_stmt, processing_params, NULL};
    } else if (first_terminal) { /* else the first terminal event decided already */
        if (!have_campaign) {
            rc = sched_campaign_from_result(camp, &c, errbuf, errlen);
            if (rc)
                goto done;
        }
        retry_call_t rcall = {
            .status = status,
            .answered_by = answered_by_from_proto(ev->answered_by),
            .permanent_failure =
                ev->failure_class == OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT,
            .skip_reason = skip_reason_from_proto(ev->skip_reason),
            .goal = goal_from_variables(vars, c.goal_variable),
            .ended_at_us = ev->ended_at_us ? ev->ended_at_us : now_us,
        };
        /* A revisited lead already counted the attempt when it was closed. */
        int placed_before = revisit ? attempts - 1 : attempts;
        int call_attempts = status == MODEL_CALL_SKIPPED ? attempts : placed_before + 1;
        lead_window_t lw;
        rc = sched_lead_window(&c, PQgetvalue(lead, 0, 3), PQgetvalue(lead, 0, 4), now_us, &lw,
                               errbuf, errlen);
        if (rc)
            goto done;
        retry_decision_t d;
        rc = retry_decide(&c.retry, placed_before + 1, &rcall, lw.rules, lw.n_rules, &d, errbuf,
                          errlen);
        if (rc == OD_ERR_NOT_FOUND) {
            /* The window never opens again for this person: nothing can be called. */
            d.status = MODEL_LEAD_MAX_RETRIES;
            d.outcome = MODEL_OUTCOME_EXHAUSTED;
            d.attempts = call_attempts;
            d.goal = rcall.goal;
            d.next_attempt_us = 0;
            rc = OD_OK;
        }
        if (rc)
            goto done;
        if (status == MODEL_CALL_SKIPPED)
            d.attempts = attempts; /* a skipped job uses no attempt */

        fmt_i64(next, sizeof(next), d.next_attempt_us);
        fmt_i64(attempts_s, sizeof(attempts_s), d.attempts);
        bool has_next = d.status == MODEL_LEAD_RESCHEDULED || d.status == MODEL_LEAD_CREATED;
        const char *ep[] = {ev->lead_id,
                            model_lead_status_name(d.status),
                            model_outcome_name(d.outcome),
                            has_next ? next : NULL,
                            attempts_s,
                            d.goal == MODEL_GOAL_ABSENT ? NULL
                            : d.goal == MODEL_GOAL_TRUE ? "true"
                                                        : "false",
                            status == MODEL_CALL_SKIPPED ? NULL : model_call_status_name(status),
                            status == MODEL_CALL_SKIPPED ? NULL : answered,
                            at};
        memcpy(end_params, ep, sizeof(ep));
        writes[n_writes++] = (pg_pipe_stmt_t){&lead_end_stmt, end_params, NULL};
        if (d.status == MODEL_LEAD_COMPLETED || d.status == MODEL_LEAD_MAX_RETRIES) {
            out->lead_finished = true;
            finished = true;
            uint8_t *buf = NULL;
            size_t len = 0;
            rc = lead_finished_encode(&c, ev->lead_id, d.status, d.outcome, d.goal, now_us, topic,
                                      &buf, &len, errbuf, errlen);
            if (rc == OD_OK)
                lifecycle_outbox_item_init(&finished_item, topic, c.id, buf, len);
            free(buf);
            if (rc)
                goto done;
            writes[n_writes++] = (pg_pipe_stmt_t){finished_item.stmt, finished_item.params, NULL};
            writes[n_writes++] = (pg_pipe_stmt_t){&group_stmt, group_params, &group};
        }
    }

    /* Round trip 2. A charge may use up the balance and a finished lead
     * may have secondary contacts: then their steps run before COMMIT. */
    bool more = charging || finished;
    rc = pg_pipeline_exec(db, more ? 0 : PG_PIPE_COMMIT, writes, n_writes, errbuf, errlen);
    if (rc)
        goto done;
    if (!more)
        goto done;
    if (charging) {
        rc = charge_step(db, &c, charged, now_us, paused, &n_paused, errbuf, errlen);
        if (rc)
            goto done;
        out->paused_campaigns = n_paused;
    }
    if (finished) {
        rc = group_step(db, &c, group, now_us, errbuf, errlen);
        if (rc)
            goto done;
    }

commit:
    rc = pg_tx_commit(db, errbuf, errlen);
done:
    /* rc is OD_OK here unless a step or the COMMIT failed. */
    PQclear(lead);
    PQclear(call);
    PQclear(camp);
    PQclear(charged);
    PQclear(group);
    lifecycle_outbox_item_free(&finished_item);
    if (rc) {
        pg_tx_rollback(db); /* no-op when the transaction is over (a failed COMMIT) */
        return rc;
    }
    for (int i = 0; i < n_paused; i++) {
        char rerr[256];
        log_warn("insufficient_balance", "campaign %s paused: the account's balance is used up",
                 paused[i]);
        if (r && lifecycle_mirror_write(r, redis_prefix, paused[i], MODEL_CAMPAIGN_PAUSED, rerr,
                                        sizeof(rerr)))
            log_warn("campaign_mirror", "campaign %s: %s", paused[i], rerr);
    }
    return OD_OK;
}

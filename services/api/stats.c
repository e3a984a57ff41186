/*
 * stats.c — a campaign's statistics (leads per status and outcome, calls
 * per status and answerer, goal conversion, spend, attempts, leads waiting,
 * and per A/B arm: calls, answers, goals with the goal rate's interval),
 * its calls per hour, and the read both the stats route and the live
 * stream (live.c) answer from.
 */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "model.h"
#include "reopen.h"
#include "wilson.h"

/* ---- statistics --------------------------------------------------------------- */

static const pg_stmt_t stats_leads_stmt = {
    "campaign_stats_leads",
    "SELECT status, outcome, count(*), count(*) FILTER (WHERE invalid_reason IS NOT NULL),"
    " count(*) FILTER (WHERE goal_result), count(*) FILTER (WHERE parent_lead_id IS NOT NULL)"
    " FROM lead WHERE campaign_id = $1::uuid GROUP BY status, outcome",
    1};

static const pg_stmt_t stats_calls_stmt = {
    "campaign_stats_calls",
    "SELECT status, answered_by, count(*), coalesce(sum(cost_minor), 0),"
    " coalesce(sum(duration_s), 0) FROM call WHERE campaign_id = $1::uuid"
    " GROUP BY status, answered_by",
    1};

static const pg_stmt_t stats_attempts_stmt = {
    "campaign_stats_attempts",
    "SELECT attempts, count(*) FROM lead WHERE campaign_id = $1::uuid GROUP BY attempts"
    " ORDER BY attempts",
    1};

static const pg_stmt_t stats_meta_stmt = {
    "campaign_stats_meta",
    "SELECT c.goal_variable, a.currency, c.status, c.pause_reason, c.archived_at IS NOT NULL"
    " FROM campaign c"
    " JOIN account a ON a.id = c.account_id WHERE c.id = $1::uuid AND c.account_id = $2::uuid",
    2};

/* Per A/B arm (docs/rules.md, "A/B arms"), in the arms' order: its
 * assistant and weight; its leads, finished leads and goals (finished
 * leads whose goal variable came back true); its calls placed (not
 * skipped), answered by a person, and their cost. */
static const pg_stmt_t stats_arms_stmt = {
    "campaign_stats_arms",
    "SELECT t.ord - 1, t.e->>'assistant_id', (t.e->>'weight')::int, coalesce(a.name, ''),"
    " ld.leads, ld.finished, ld.goals, cl.calls, cl.answered, cl.spend"
    " FROM campaign c CROSS JOIN LATERAL jsonb_array_elements(coalesce(c.arms, '[]'))"
    "   WITH ORDINALITY AS t(e, ord)"
    " LEFT JOIN assistant a ON a.id = (t.e->>'assistant_id')::uuid"
    " CROSS JOIN LATERAL (SELECT count(*) AS leads,"
    "   count(*) FILTER (WHERE l.status IN ('completed', 'max_retries')) AS finished,"
    "   count(*) FILTER (WHERE l.status IN ('completed', 'max_retries') AND l.goal_result)"
    "     AS goals"
    "   FROM lead l WHERE l.campaign_id = c.id AND l.ab_arm = t.ord - 1) ld"
    " CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE k.status <> 'skipped') AS calls,"
    "   count(*) FILTER (WHERE k.answered_by = 'human') AS answered,"
    "   coalesce(sum(k.cost_minor), 0) AS spend"
    "   FROM call k WHERE k.campaign_id = c.id AND k.ab_arm = t.ord - 1) cl"
    " WHERE c.id = $1::uuid ORDER BY t.ord",
    1};

static json_t *zero_counts(const char *(*name)(int), int n)
{
    json_t *obj = json_object();
    for (int i = 0; i < n; i++) {
        const char *s = name(i);
        if (s)
            json_object_set_new(obj, s, json_integer(0));
    }
    return obj;
}

static const char *lead_status_name(int i)
{
    return model_lead_status_name((model_lead_status_t)i);
}
static const char *outcome_name(int i)
{
    return model_outcome_name((model_outcome_t)i);
}
static const char *call_status_name(int i)
{
    return model_call_status_name((model_call_status_t)i);
}
static const char *answered_by_name(int i)
{
    return model_answered_by_name((model_answered_by_t)i);
}

static void count_add(json_t *obj, const char *key, long long n)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

/* The leads part of the statistics, from stats_leads_stmt's groups;
 * *total, *finished and *goal_true feed the goal and attempts parts. */
static json_t *stats_leads_json(const PGresult *leads, long long *total, long long *finished,
                                long long *goal_true)
{
    json_t *by_status = zero_counts(lead_status_name, MODEL_LEAD_STATUS_COUNT);
    json_t *by_outcome = zero_counts(outcome_name, MODEL_OUTCOME_COUNT);
    long long invalid = 0, secondary = 0;
    *total = *finished = *goal_true = 0;
    for (int i = 0; i < PQntuples(leads); i++) {
        long long n = strtoll(PQgetvalue(leads, i, 2), NULL, 10);
        const char *status = PQgetvalue(leads, i, 0);
        *total += n;
        invalid += strtoll(PQgetvalue(leads, i, 3), NULL, 10);
        *goal_true += strtoll(PQgetvalue(leads, i, 4), NULL, 10);
        secondary += strtoll(PQgetvalue(leads, i, 5), NULL, 10);
        count_add(by_status, status, n);
        if (!PQgetisnull(leads, i, 1))
            count_add(by_outcome, PQgetvalue(leads, i, 1), n);
        if (strcmp(status, "completed") == 0 || strcmp(status, "max_retries") == 0)
            *finished += n;
    }
    json_t *lead_stats = json_object();
    json_object_set_new(lead_stats, "total", json_integer(*total));
    json_object_set_new(lead_stats, "secondary_contacts", json_integer(secondary));
    json_object_set_new(lead_stats, "invalid", json_integer(invalid));
    json_object_set_new(lead_stats, "by_status", by_status);
    json_object_set_new(lead_stats, "by_outcome", by_outcome);
    return lead_stats;
}

/* The calls part, from stats_calls_stmt's groups; *spend: their cost. */
static json_t *stats_calls_json(const PGresult *calls, long long *spend)
{
    json_t *call_status = zero_counts(call_status_name, MODEL_CALL_STATUS_COUNT);
    json_t *answered = zero_counts(answered_by_name, MODEL_ANSWERED_BY_COUNT);
    long long n_calls = 0, seconds = 0;
    *spend = 0;
    for (int i = 0; i < PQntuples(calls); i++) {
        long long n = strtoll(PQgetvalue(calls, i, 2), NULL, 10);
        n_calls += n;
        *spend += strtoll(PQgetvalue(calls, i, 3), NULL, 10);
        seconds += strtoll(PQgetvalue(calls, i, 4), NULL, 10);
        count_add(call_status, PQgetvalue(calls, i, 0), n);
        if (!PQgetisnull(calls, i, 1))
            count_add(answered, PQgetvalue(calls, i, 1), n);
    }
    json_t *call_stats = json_object();
    json_object_set_new(call_stats, "total", json_integer(n_calls));
    json_object_set_new(call_stats, "by_status", call_status);
    json_object_set_new(call_stats, "by_answered_by", answered);
    json_object_set_new(call_stats, "duration_s_total", json_integer(seconds));
    return call_stats;
}

/* The attempts part, from stats_attempts_stmt's histogram; total: leads. */
static json_t *stats_attempts_json(const PGresult *attempts, long long total)
{
    json_t *histogram = json_object();
    long long attempts_sum = 0, attempted = 0;
    for (int i = 0; i < PQntuples(attempts); i++) {
        long long a = strtoll(PQgetvalue(attempts, i, 0), NULL, 10);
        long long n = strtoll(PQgetvalue(attempts, i, 1), NULL, 10);
        json_object_set_new(histogram, PQgetvalue(attempts, i, 0), json_integer(n));
        attempts_sum += a * n;
        if (a > 0)
            attempted += n;
    }
    json_t *att = json_object();
    json_object_set_new(att, "histogram", histogram);
    json_object_set_new(att, "average_per_lead",
                        total ? json_real((double)attempts_sum / (double)total) : json_null());
    json_object_set_new(att, "average_per_called_lead",
                        attempted ? json_real((double)attempts_sum / (double)attempted)
                                  : json_null());
    return att;
}

/* The leads that wait and are not called, and why (reopen.h): callable
 * leads of a paused, draft or person-closed campaign. From stats_meta_stmt's
 * row and reopen_callable_stmt's count; a new object the caller owns. */
static json_t *stats_waiting_json(const PGresult *meta, const PGresult *callable)
{
    model_campaign_status_t status = MODEL_CAMPAIGN_DRAFT;
    char err[128];
    long long n = strtoll(PQgetvalue(callable, 0, 0), NULL, 10);
    reopen_verdict_t v = REOPEN_NONE;
    if (model_campaign_status_parse(PQgetvalue(meta, 0, 2), &status, err, sizeof(err)) == OD_OK)
        v = reopen_decide(status, reopen_completion_of(status, PQgetvalue(meta, 0, 4)[0] == 't'),
                          n);
    const char *code = reopen_wait_code(v);
    json_t *w = json_object();
    json_object_set_new(w, "count", json_integer(code ? n : 0));
    json_object_set_new(w, "reason", code ? json_string(code) : json_null());
    json_object_set_new(w, "message", code ? json_string(reopen_wait_message(v)) : json_null());
    return w;
}

/* part / whole, or null when whole is 0. */
static json_t *rate_json(long long part, long long whole)
{
    return whole ? json_real((double)part / (double)whole) : json_null();
}

/* The arms part, one object per row of stats_arms_stmt (an empty array
 * without arms); a new array the caller owns. */
static json_t *stats_arms_json(const PGresult *arms)
{
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(arms); i++) {
        long long v[6];
        for (int k = 0; k < 6; k++)
            v[k] = strtoll(PQgetvalue(arms, i, 4 + k), NULL, 10);
        long long leads = v[0], finished = v[1], goals = v[2], calls = v[3], answered = v[4],
                  spend = v[5];
        wilson_interval_t w;
        json_t *interval = json_null();
        if (wilson_interval(goals, finished, WILSON_Z95, &w))
            interval = json_pack("{s:f, s:f}", "low", w.low, "high", w.high);
        json_t *arm = json_object();
        json_object_set_new(arm, "arm", json_integer(atoi(PQgetvalue(arms, i, 0))));
        json_object_set_new(arm, "assistant_id", json_string(PQgetvalue(arms, i, 1)));
        json_object_set_new(arm, "assistant_name", json_string(PQgetvalue(arms, i, 3)));
        json_object_set_new(arm, "weight", json_integer(atoi(PQgetvalue(arms, i, 2))));
        json_object_set_new(arm, "leads", json_integer(leads));
        json_object_set_new(arm, "finished_leads", json_integer(finished));
        json_object_set_new(arm, "calls", json_integer(calls));
        json_object_set_new(arm, "answered", json_integer(answered));
        json_object_set_new(arm, "answer_rate", rate_json(answered, calls));
        json_object_set_new(arm, "goals", json_integer(goals));
        json_object_set_new(arm, "goal_rate", rate_json(goals, finished));
        json_object_set_new(arm, "goal_rate_interval", interval);
        json_object_set_new(arm, "spend_minor", json_integer(spend));
        json_object_set_new(arm, "cost_per_goal_minor",
                            goals ? json_real((double)spend / (double)goals) : json_null());
        json_array_append_new(list, arm);
    }
    return list;
}

int stats_campaign_read(pg_conn_t *db, const char *account_id, const char *campaign_id,
                        json_t **out, json_t **state_out, char *errbuf, size_t errlen)
{
    PGresult *meta = NULL, *leads = NULL, *calls = NULL, *attempts = NULL, *callable = NULL,
             *arms = NULL;
    const char *key[] = {campaign_id, account_id};
    const char *one[] = {campaign_id};
    *out = NULL;
    if (state_out)
        *state_out = NULL;
    int rc = pg_stmt_exec(db, &stats_meta_stmt, key, &meta, errbuf, errlen);
    if (rc == OD_OK && PQntuples(meta) != 1)
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "campaign not found");
    if (rc == OD_OK)
        rc = pg_stmt_exec(db, &stats_leads_stmt, one, &leads, errbuf, errlen);
    if (rc == OD_OK)
        rc = pg_stmt_exec(db, &stats_calls_stmt, one, &calls, errbuf, errlen);
    if (rc == OD_OK)
        rc = pg_stmt_exec(db, &stats_attempts_stmt, one, &attempts, errbuf, errlen);
    if (rc == OD_OK)
        rc = pg_stmt_exec(db, &reopen_callable_stmt, one, &callable, errbuf, errlen);
    if (rc == OD_OK)
        rc = pg_stmt_exec(db, &stats_arms_stmt, one, &arms, errbuf, errlen);
    if (rc)
        goto out;
    long long total, finished, goal_true, spend;
    json_t *lead_stats = stats_leads_json(leads, &total, &finished, &goal_true);
    json_t *call_stats = stats_calls_json(calls, &spend);

    json_t *goal = json_object();
    json_object_set_new(goal, "variable", api_col_string(meta, 0, 0));
    json_object_set_new(goal, "achieved", json_integer(goal_true));
    json_object_set_new(goal, "finished_leads", json_integer(finished));
    json_object_set_new(goal, "conversion",
                        finished ? json_real((double)goal_true / (double)finished) : json_null());

    json_t *spend_obj = json_object();
    json_object_set_new(spend_obj, "amount_minor", json_integer(spend));
    json_object_set_new(spend_obj, "currency", api_col_string(meta, 0, 1));

    *out = json_object();
    json_object_set_new(*out, "campaign_id", json_string(campaign_id));
    json_object_set_new(*out, "leads", lead_stats);
    json_object_set_new(*out, "calls", call_stats);
    json_object_set_new(*out, "goal", goal);
    json_object_set_new(*out, "spend", spend_obj);
    json_object_set_new(*out, "attempts", stats_attempts_json(attempts, total));
    json_object_set_new(*out, "leads_waiting", stats_waiting_json(meta, callable));
    json_object_set_new(*out, "arms", stats_arms_json(arms));
    if (state_out) {
        *state_out = json_object();
        json_object_set_new(*state_out, "status", api_col_string(meta, 0, 2));
        json_object_set_new(*state_out, "pause_reason", api_col_string(meta, 0, 3));
    }
out:
    PQclear(meta);
    PQclear(leads);
    PQclear(calls);
    PQclear(attempts);
    PQclear(callable);
    PQclear(arms);
    return rc;
}

void campaigns_stats(api_ctx_t *ctx)
{
    char err[512];
    json_t *stats = NULL;
    int rc = stats_campaign_read(ctx->db, ctx->account_id, ctx->params[0], &stats, NULL, err,
                                 sizeof(err));
    if (rc == OD_ERR_NOT_FOUND)
        api_reply_not_found(ctx, "campaign");
    else if (rc)
        api_reply_failure(ctx, rc, err);
    else
        api_reply_json(ctx, 200, stats);
}

/* ---- calls per hour ------------------------------------------------------------ */

/* The hours with calls, newest STATS_HOURS_MAX, oldest first: calls placed
 * (every call but the skipped), answered by a person, and reaching the
 * goal (the goal variable came back true). An hour is the campaign-time
 * hour (UTC) in which the call started (the provider's time), else ended;
 * a call with neither (skipped, or not yet reported) counts at the hour
 * it was recorded. */
static const pg_stmt_t stats_hourly_stmt = {
    "campaign_stats_hourly",
    "SELECT od_us(h.hour), h.placed, h.answered, h.goals FROM ("
    " SELECT date_trunc('hour', coalesce(l.started_at, l.ended_at, l.created_at), 'UTC') AS hour,"
    "  count(*) FILTER (WHERE l.status <> 'skipped') AS placed,"
    "  count(*) FILTER (WHERE l.answered_by = 'human') AS answered,"
    "  count(*) FILTER (WHERE k.goal_variable IS NOT NULL"
    "   AND l.post_call_variables -> k.goal_variable = 'true'::jsonb) AS goals"
    " FROM campaign k JOIN call l ON l.campaign_id = k.id"
    " WHERE k.id = $1::uuid AND k.account_id = $2::uuid GROUP BY 1 ORDER BY 1 DESC LIMIT $3::int"
    ") h ORDER BY h.hour",
    3};

void campaigns_hourly(api_ctx_t *ctx)
{
    char err[512];
    const char *id = ctx->params[0];
    if (!campaigns_owned(ctx, id, false, NULL))
        return;
    char hours[16];
    snprintf(hours, sizeof(hours), "%d", STATS_HOURS_MAX);
    const char *params[] = {id, ctx->account_id, hours};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(ctx->db, &stats_hourly_stmt, params, &res, err, sizeof(err));
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *h = json_object();
        json_object_set_new(h, "hour", api_col_time(res, i, 0));
        json_object_set_new(h, "placed", api_col_int(res, i, 1));
        json_object_set_new(h, "answered", api_col_int(res, i, 2));
        json_object_set_new(h, "goals", api_col_int(res, i, 3));
        json_array_append_new(items, h);
    }
    PQclear(res);
    json_t *out = json_object();
    json_object_set_new(out, "campaign_id", json_string(id));
    json_object_set_new(out, "data", items);
    api_reply_json(ctx, 200, out);
}

/*
 * stats.c — a campaign's statistics (leads per status and outcome, calls
 * per status and answerer, goal conversion, spend, attempts, leads waiting,
 * and per A/B arm: calls, answers, goals with the goal rate's interval),
 * its calls per hour, and the read both the stats route and the live
 * stream (live.c) answer from. The statistics and the calls per hour are
 * read from the campaign's counters (db/migrations/012_campaign_counters.sql,
 * 020_arm_hour_counters.sql and 021_caller_id_counters.sql), which
 * triggers move in the transaction of every change to its leads and calls:
 * a read costs the same at ten leads and at ten million.
 */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_arm.h"
#include "handlers.h"
#include "jsonio.h"
#include "model.h"
#include "reopen.h"
#include "resource.h"
#include "stats_caller_ids.h"
#include "wilson.h"

/* ---- statistics --------------------------------------------------------------- */

/* The campaign's counters (db/migrations/012_campaign_counters.sql, 020
 * for the arms' and 021 for the caller-ID numbers'): the sum of its ledger
 * rows per counter, a few hundred rows at most whatever the campaign's
 * size; the hourly counters (hour not null) are left to the hourly route.
 * Ordered by length, then name, so that the attempts histogram comes out
 * in the order of its numbers. */
static const pg_stmt_t stats_counters_stmt = {
    "campaign_stats_counters",
    "SELECT name, sum(value)::bigint FROM campaign_counter"
    " WHERE campaign_id = $1::uuid AND hour IS NULL"
    " GROUP BY name ORDER BY length(name), name",
    1};

static const pg_stmt_t stats_meta_stmt = {
    "campaign_stats_meta",
    "SELECT c.goal_variable, a.currency, c.status, c.pause_reason, c.archived_at IS NOT NULL,"
    " c.arms IS NOT NULL, c.caller_id_strategy <> 'single'"
    " FROM campaign c"
    " JOIN account a ON a.id = c.account_id WHERE c.id = $1::uuid AND c.account_id = $2::uuid",
    2};

/* The A/B arms (docs/rules.md, "A/B arms"), in their order: position,
 * assistant, weight and the assistant's name. Their figures are counters
 * (arms.<n>.*, migration 020). */
static const pg_stmt_t stats_arms_stmt = {
    "campaign_stats_arms",
    "SELECT t.ord - 1, t.e->>'assistant_id', (t.e->>'weight')::int, coalesce(a.name, '')"
    " FROM campaign c CROSS JOIN LATERAL jsonb_array_elements(coalesce(c.arms, '[]'))"
    "   WITH ORDINALITY AS t(e, ord)"
    " LEFT JOIN assistant a ON a.id = (t.e->>'assistant_id')::uuid"
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

/* One A/B arm's counters (arms.<n>.*, migration 020). */
typedef struct stats_arm_counts {
    long long leads, finished, goals, calls, answered, spend;
} stats_arm_counts_t;

/* The statistics gathered from the counters, before they become JSON. The
 * objects are owned here until stats_counts_json hands them over. */
typedef struct stats_counts {
    json_t *lead_status, *outcome, *histogram, *call_status, *answered;
    long long leads, invalid, secondary, goal_true, callable, finished;
    long long attempts_sum, attempted;
    long long calls, spend, seconds;
    stats_arm_counts_t arms[AB_ARMS_MAX];
} stats_counts_t;

/* The counter name with prefix, else NULL: what follows the prefix. */
static const char *counter_key(const char *name, const char *prefix)
{
    size_t len = strlen(prefix);
    return strncmp(name, prefix, len) == 0 ? name + len : NULL;
}

/* Adds arm counter `key` (what follows "arms.": "<n>.<figure>") of value
 * n to st; an arm out of range or a figure it does not know is left out. */
static void stats_arm_counter_add(stats_counts_t *st, const char *key, long long n)
{
    if (key[0] < '0' || key[0] >= '0' + AB_ARMS_MAX || key[1] != '.')
        return;
    stats_arm_counts_t *arm = &st->arms[key[0] - '0'];
    const char *figure = key + 2;
    if (strcmp(figure, "leads") == 0)
        arm->leads += n;
    else if (strcmp(figure, "finished") == 0)
        arm->finished += n;
    else if (strcmp(figure, "goals") == 0)
        arm->goals += n;
    else if (strcmp(figure, "calls") == 0)
        arm->calls += n;
    else if (strcmp(figure, "answered") == 0)
        arm->answered += n;
    else if (strcmp(figure, "spend_minor") == 0)
        arm->spend += n;
}

/* Adds counter `name` of value n (db/migrations/012_campaign_counters.sql
 * and 020 list the names) to st; names it does not know are left out, so
 * that a newer schema's counters do not break an older API. */
static void stats_counter_add(stats_counts_t *st, const char *name, long long n)
{
    const char *key;
    if (strcmp(name, "leads") == 0) {
        st->leads += n;
    } else if ((key = counter_key(name, "leads.status."))) {
        count_add(st->lead_status, key, n);
        if (strcmp(key, "completed") == 0 || strcmp(key, "max_retries") == 0)
            st->finished += n;
    } else if ((key = counter_key(name, "leads.outcome."))) {
        count_add(st->outcome, key, n);
    } else if ((key = counter_key(name, "leads.attempts."))) {
        long long a = strtoll(key, NULL, 10);
        if (n != 0) /* an attempts value no lead has any more */
            json_object_set_new(st->histogram, key, json_integer(n));
        st->attempts_sum += a * n;
        if (a > 0)
            st->attempted += n;
    } else if (strcmp(name, "leads.invalid") == 0) {
        st->invalid += n;
    } else if (strcmp(name, "leads.secondary") == 0) {
        st->secondary += n;
    } else if (strcmp(name, "leads.goal_achieved") == 0) {
        st->goal_true += n;
    } else if (strcmp(name, "leads.callable") == 0) {
        st->callable += n;
    } else if (strcmp(name, "calls") == 0) {
        st->calls += n;
    } else if ((key = counter_key(name, "calls.status."))) {
        count_add(st->call_status, key, n);
    } else if ((key = counter_key(name, "calls.answered_by."))) {
        count_add(st->answered, key, n);
    } else if (strcmp(name, "calls.cost_minor") == 0) {
        st->spend += n;
    } else if (strcmp(name, "calls.duration_s") == 0) {
        st->seconds += n;
    } else if ((key = counter_key(name, "arms."))) {
        stats_arm_counter_add(st, key, n);
    }
}

/* Gathers the rows (name, value) of stats_counters_stmt into *st, whose
 * objects the caller hands over with the stats_*_json below. */
static void stats_counts_read(const PGresult *counters, stats_counts_t *st)
{
    *st = (stats_counts_t){
        .lead_status = zero_counts(lead_status_name, MODEL_LEAD_STATUS_COUNT),
        .outcome = zero_counts(outcome_name, MODEL_OUTCOME_COUNT),
        .histogram = json_object(),
        .call_status = zero_counts(call_status_name, MODEL_CALL_STATUS_COUNT),
        .answered = zero_counts(answered_by_name, MODEL_ANSWERED_BY_COUNT),
    };
    for (int i = 0; i < PQntuples(counters); i++)
        stats_counter_add(st, PQgetvalue(counters, i, 0),
                          strtoll(PQgetvalue(counters, i, 1), NULL, 10));
}

/* The leads part of the statistics; takes st's status and outcome objects. */
static json_t *stats_leads_json(stats_counts_t *st)
{
    json_t *leads = json_object();
    json_object_set_new(leads, "total", json_integer(st->leads));
    json_object_set_new(leads, "secondary_contacts", json_integer(st->secondary));
    json_object_set_new(leads, "invalid", json_integer(st->invalid));
    json_object_set_new(leads, "by_status", st->lead_status);
    json_object_set_new(leads, "by_outcome", st->outcome);
    st->lead_status = st->outcome = NULL;
    return leads;
}

/* The calls part; takes st's call status and answerer objects. */
static json_t *stats_calls_json(stats_counts_t *st)
{
    json_t *calls = json_object();
    json_object_set_new(calls, "total", json_integer(st->calls));
    json_object_set_new(calls, "by_status", st->call_status);
    json_object_set_new(calls, "by_answered_by", st->answered);
    json_object_set_new(calls, "duration_s_total", json_integer(st->seconds));
    st->call_status = st->answered = NULL;
    return calls;
}

/* The attempts part; takes st's histogram. */
static json_t *stats_attempts_json(stats_counts_t *st)
{
    json_t *att = json_object();
    json_object_set_new(att, "histogram", st->histogram);
    st->histogram = NULL;
    json_object_set_new(att, "average_per_lead",
                        st->leads ? json_real((double)st->attempts_sum / (double)st->leads)
                                  : json_null());
    json_object_set_new(att, "average_per_called_lead",
                        st->attempted ? json_real((double)st->attempts_sum / (double)st->attempted)
                                      : json_null());
    return att;
}

/* The leads that wait and are not called, and why (reopen.h): callable
 * leads of a paused, draft or person-closed campaign. From stats_meta_stmt's
 * row and the count n of callable leads; a new object the caller owns. */
static json_t *stats_waiting_json(const PGresult *meta, long long n)
{
    model_campaign_status_t status = MODEL_CAMPAIGN_DRAFT;
    char err[128];
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

/* The arms part, one object per row of stats_arms_stmt with the arm's
 * counters from st (an empty array without arms: arms NULL, the query not
 * run); a new array the caller owns. */
static json_t *stats_arms_json(const PGresult *arms, const stats_counts_t *st)
{
    json_t *list = json_array();
    for (int i = 0; arms && i < PQntuples(arms); i++) {
        int pos = atoi(PQgetvalue(arms, i, 0));
        if (pos < 0 || pos >= AB_ARMS_MAX) /* the CHECK of migration 018 holds 2..4 arms */
            continue;
        const stats_arm_counts_t *c = &st->arms[pos];
        long long finished = c->finished, goals = c->goals, calls = c->calls,
                  answered = c->answered, spend = c->spend;
        wilson_interval_t w;
        json_t *interval = json_null();
        if (wilson_interval(goals, finished, WILSON_Z95, &w))
            interval = json_pack("{s:f, s:f}", "low", w.low, "high", w.high);
        json_t *arm = json_object();
        json_object_set_new(arm, "arm", json_integer(pos));
        json_object_set_new(arm, "assistant_id", json_string(PQgetvalue(arms, i, 1)));
        json_object_set_new(arm, "assistant_name", json_string(PQgetvalue(arms, i, 3)));
        json_object_set_new(arm, "weight", json_integer(atoi(PQgetvalue(arms, i, 2))));
        json_object_set_new(arm, "leads", json_integer(c->leads));
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
    PGresult *meta = NULL, *counters = NULL, *arms = NULL;
    const char *key[] = {campaign_id, account_id};
    const char *one[] = {campaign_id};
    *out = NULL;
    if (state_out)
        *state_out = NULL;
    int rc = pg_stmt_exec(db, &stats_meta_stmt, key, &meta, errbuf, errlen);
    if (rc == OD_OK && PQntuples(meta) != 1)
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "campaign not found");
    if (rc == OD_OK)
        rc = pg_stmt_exec(db, &stats_counters_stmt, one, &counters, errbuf, errlen);
    /* Only a campaign with arms reads them (their figures are counters). */
    if (rc == OD_OK && PQgetvalue(meta, 0, 5)[0] == 't')
        rc = pg_stmt_exec(db, &stats_arms_stmt, one, &arms, errbuf, errlen);
    if (rc)
        goto out;
    stats_counts_t st;
    stats_counts_read(counters, &st);

    json_t *goal = json_object();
    json_object_set_new(goal, "variable", api_col_string(meta, 0, 0));
    json_object_set_new(goal, "achieved", json_integer(st.goal_true));
    json_object_set_new(goal, "finished_leads", json_integer(st.finished));
    json_object_set_new(goal, "conversion",
                        st.finished ? json_real((double)st.goal_true / (double)st.finished)
                                    : json_null());

    json_t *spend = json_object();
    json_object_set_new(spend, "amount_minor", json_integer(st.spend));
    json_object_set_new(spend, "currency", api_col_string(meta, 0, 1));

    *out = json_object();
    json_object_set_new(*out, "campaign_id", json_string(campaign_id));
    json_object_set_new(*out, "leads", stats_leads_json(&st));
    json_object_set_new(*out, "calls", stats_calls_json(&st));
    json_object_set_new(*out, "goal", goal);
    json_object_set_new(*out, "spend", spend);
    json_object_set_new(*out, "attempts", stats_attempts_json(&st));
    json_object_set_new(*out, "leads_waiting", stats_waiting_json(meta, st.callable));
    json_object_set_new(*out, "arms", stats_arms_json(arms, &st));
    json_object_set_new(*out, "caller_ids",
                        stats_caller_ids_json(counters, PQgetvalue(meta, 0, 6)[0] == 't'));
    if (state_out) {
        *state_out = json_object();
        json_object_set_new(*state_out, "status", api_col_string(meta, 0, 2));
        json_object_set_new(*state_out, "pause_reason", api_col_string(meta, 0, 3));
    }
out:
    PQclear(meta);
    PQclear(counters);
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

/* ---- recount ------------------------------------------------------------------- */

/* The counters that differ from a recount of the campaign's leads and calls
 * (campaign_counter_recount, migration 012), fixed when $2. No row: no such
 * campaign; one row with a null name: no difference. */
static const pg_stmt_t stats_recount_stmt = {
    "campaign_stats_recount",
    "SELECT r.name, r.stored, r.recounted FROM campaign c"
    " LEFT JOIN LATERAL campaign_counter_recount(c.id, $2::boolean) r ON true"
    " WHERE c.id = $1::uuid",
    2};

void campaigns_admin_recount(api_ctx_t *ctx)
{
    static const char *const allowed[] = {"fix", NULL};
    json_t *body = jsonio_body_fields(ctx, allowed);
    if (!body)
        return;
    bool fix = false;
    if (jsonio_bool(ctx, body, "fix", NULL, &fix) == JSONIO_ERROR)
        return;
    const char *params[] = {ctx->params[0], fix ? "true" : "false"};
    PGresult *res = resource_query(ctx, &stats_recount_stmt, params);
    if (!res)
        return;
    if (PQntuples(res) == 0) {
        PQclear(res);
        api_reply_not_found(ctx, "campaign");
        return;
    }
    json_t *diffs = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 0))
            continue;
        json_t *d = json_object();
        json_object_set_new(d, "counter", json_string(PQgetvalue(res, i, 0)));
        json_object_set_new(d, "stored", api_col_int(res, i, 1));
        json_object_set_new(d, "recounted", api_col_int(res, i, 2));
        json_array_append_new(diffs, d);
    }
    PQclear(res);
    json_t *out = json_object();
    json_object_set_new(out, "campaign_id", json_string(ctx->params[0]));
    json_object_set_new(out, "fixed", json_boolean(fix));
    json_object_set_new(out, "differences", diffs);
    api_reply_json(ctx, 200, out);
}

/* ---- calls per hour ------------------------------------------------------------ */

/* The hours with calls, newest STATS_HOURS_MAX, oldest first: calls placed
 * (every call but the skipped), answered by a person, and reaching the
 * goal (call.goal_reached). An hour is the UTC hour in which the call
 * started (the provider's time), else ended; a call with neither (skipped,
 * or not yet reported) counts at the hour it was recorded. Read from the
 * hourly counters (migration 020: hours.calls, .placed, .answered, .goals),
 * the newest hours first from campaign_counter_campaign_idx. */
static const pg_stmt_t stats_hourly_stmt = {
    "campaign_stats_hourly",
    "SELECT od_us(h.hour), h.placed, h.answered, h.goals FROM ("
    " SELECT n.hour,"
    "  coalesce(sum(n.value) FILTER (WHERE n.name = 'hours.placed'), 0)::bigint AS placed,"
    "  coalesce(sum(n.value) FILTER (WHERE n.name = 'hours.answered'), 0)::bigint AS answered,"
    "  coalesce(sum(n.value) FILTER (WHERE n.name = 'hours.goals'), 0)::bigint AS goals"
    " FROM campaign k JOIN campaign_counter n ON n.campaign_id = k.id"
    " WHERE k.id = $1::uuid AND k.account_id = $2::uuid AND n.hour IS NOT NULL"
    " GROUP BY n.hour HAVING sum(n.value) FILTER (WHERE n.name = 'hours.calls') <> 0"
    " ORDER BY n.hour DESC LIMIT $3::int"
    ") h ORDER BY h.hour",
    3};

void campaigns_hourly(api_ctx_t *ctx)
{
    const char *id = ctx->params[0];
    if (!campaigns_owned(ctx, id, false, NULL))
        return;
    char hours[16];
    snprintf(hours, sizeof(hours), "%d", STATS_HOURS_MAX);
    const char *params[] = {id, ctx->account_id, hours};
    PGresult *res = resource_query(ctx, &stats_hourly_stmt, params);
    if (!res)
        return;
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

#include "sched_campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"

#define CAMPAIGN_COLUMNS                                                                           \
    "SELECT c.id, c.account_id, c.status, c.window_start_min, c.window_end_min,"                   \
    " c.allowed_days, c.timezone_mode, a.timezone, acc.quiet_hours_start_min,"                     \
    " acc.quiet_hours_end_min, c.max_retries, c.retry_interval_min, c.retry_on_voicemail,"         \
    " coalesce(c.goal_variable, ''), c.goal_based_retry, c.max_concurrent_calls,"                  \
    " coalesce(c.calls_per_minute, 0), c.cpm_tokens, od_us(c.cpm_refilled_at),"                    \
    " c.max_call_duration_s, coalesce(a.outbound_e164, ''), a.provider,"                           \
    " a.provider_assistant_id, coalesce(a.provider_phone_number_id, ''),"                          \
    " coalesce(acc.calls_per_24h, 0), coalesce(c.opt_out_variable, ''), acc.legal_profile,"        \
    " coalesce(c.predial_url, ''), c.predial_timeout_ms, c.predial_on_error,"                      \
    " coalesce(c.callback_variable, '') AS callback_variable,"                                     \
    " c.caller_id_strategy, " SCHED_CALLER_POOL_SQL " AS caller_pool"
#define CAMPAIGN_FROM                                                                              \
    " FROM campaign c JOIN assistant a ON a.id = c.assistant_id"                                   \
    " JOIN account acc ON acc.id = c.account_id WHERE c.id = $1::uuid"

/* The plain read (results, recovery) skips the in-flight count: it costs a
 * scan of the campaign's in-flight leads and only dispatch needs it. */
static const pg_stmt_t load_stmt = {"sched_campaign_load", CAMPAIGN_COLUMNS CAMPAIGN_FROM, 1};
static const pg_stmt_t load_locked_stmt = {
    "sched_campaign_load_locked",
    CAMPAIGN_COLUMNS ", (SELECT count(*) FROM lead l WHERE l.campaign_id = c.id"
                     "   AND l.status IN ('scheduled', 'processing')) AS in_flight" CAMPAIGN_FROM
                     " FOR UPDATE OF c SKIP LOCKED",
    1};
static void copy_field(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}

/* The campaign of a lead, unlocked: for a pipeline that locks the lead
 * first (results.c), where the campaign id is not known yet. */
const pg_stmt_t sched_campaign_of_lead_stmt = {
    "sched_campaign_of_lead",
    CAMPAIGN_COLUMNS " FROM lead l JOIN campaign c ON c.id = l.campaign_id"
                     " JOIN assistant a ON a.id = c.assistant_id"
                     " JOIN account acc ON acc.id = c.account_id WHERE l.id = $1::uuid",
    1};

int sched_campaign_from_result(const PGresult *res, sched_campaign_t *out, char *errbuf,
                               size_t errlen)
{
    if (PQntuples(res) == 0)
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "campaign not found");
    memset(out, 0, sizeof(*out));
    copy_field(out->id, sizeof(out->id), PQgetvalue(res, 0, 0));
    copy_field(out->account_id, sizeof(out->account_id), PQgetvalue(res, 0, 1));
    int rc = model_campaign_status_parse(PQgetvalue(res, 0, 2), &out->status, errbuf, errlen);
    if (rc)
        return rc;
    out->window.start_min = atoi(PQgetvalue(res, 0, 3));
    out->window.end_min = atoi(PQgetvalue(res, 0, 4));
    out->window.days = (unsigned)atoi(PQgetvalue(res, 0, 5));
    rc = model_tz_mode_parse(PQgetvalue(res, 0, 6), &out->tz_mode, errbuf, errlen);
    if (rc)
        return rc;
    copy_field(out->assistant_tz, sizeof(out->assistant_tz), PQgetvalue(res, 0, 7));
    if (!PQgetisnull(res, 0, 8) && !PQgetisnull(res, 0, 9)) {
        out->has_quiet_hours = true;
        out->quiet_hours.start_min = atoi(PQgetvalue(res, 0, 8));
        out->quiet_hours.end_min = atoi(PQgetvalue(res, 0, 9));
        out->quiet_hours.days = WINDOW_DAYS_ALL;
    }
    out->retry.max_retries = atoi(PQgetvalue(res, 0, 10));
    out->retry.retry_interval_minutes = atoi(PQgetvalue(res, 0, 11));
    out->retry.retry_on_voicemail = PQgetvalue(res, 0, 12)[0] == 't';
    copy_field(out->goal_variable, sizeof(out->goal_variable), PQgetvalue(res, 0, 13));
    out->retry.goal_based_retry = PQgetvalue(res, 0, 14)[0] == 't';
    out->max_concurrent_calls = atoi(PQgetvalue(res, 0, 15));
    out->calls_per_minute = atoi(PQgetvalue(res, 0, 16));
    out->cpm_tokens = strtod(PQgetvalue(res, 0, 17), NULL);
    out->cpm_refilled_us =
        PQgetisnull(res, 0, 18) ? INT64_MIN : strtoll(PQgetvalue(res, 0, 18), NULL, 10);
    out->max_call_duration_s = atoi(PQgetvalue(res, 0, 19));
    copy_field(out->caller_id, sizeof(out->caller_id), PQgetvalue(res, 0, 20));
    copy_field(out->provider, sizeof(out->provider), PQgetvalue(res, 0, 21));
    copy_field(out->provider_assistant_id, sizeof(out->provider_assistant_id),
               PQgetvalue(res, 0, 22));
    copy_field(out->provider_phone_number_id, sizeof(out->provider_phone_number_id),
               PQgetvalue(res, 0, 23));
    out->calls_per_24h = atoi(PQgetvalue(res, 0, 24));
    copy_field(out->opt_out_variable, sizeof(out->opt_out_variable), PQgetvalue(res, 0, 25));
    rc = legal_profile_parse(PQgetvalue(res, 0, 26), &out->legal_profile, errbuf, errlen);
    if (rc)
        return rc;
    copy_field(out->predial_url, sizeof(out->predial_url), PQgetvalue(res, 0, 27));
    out->predial_timeout_ms = atoi(PQgetvalue(res, 0, 28));
    rc = model_predial_on_error_parse(PQgetvalue(res, 0, 29), &out->predial_on_error, errbuf,
                                      errlen);
    if (rc)
        return rc;
    /* The columns after the first 30 by name, so that one more is one more line. */
    int col = PQfnumber(res, "callback_variable");
    if (col >= 0)
        copy_field(out->callback_variable, sizeof(out->callback_variable), PQgetvalue(res, 0, col));
    col = PQfnumber(res, "caller_id_strategy");
    if (col >= 0) {
        rc = caller_id_strategy_parse(PQgetvalue(res, 0, col), &out->caller_strategy, errbuf,
                                      errlen);
        if (rc)
            return rc;
    }
    col = PQfnumber(res, "caller_pool");
    if (col >= 0) {
        rc = sched_caller_pool_parse(PQgetvalue(res, 0, col), &out->caller_pool, errbuf, errlen);
        if (rc)
            return rc;
    }
    col = PQfnumber(res, "in_flight");
    out->in_flight = col >= 0 ? strtoll(PQgetvalue(res, 0, col), NULL, 10) : -1;
    return OD_OK;
}

int sched_caller_pool_parse(const char *json_text, sched_caller_pool_t *pool, char *errbuf,
                            size_t errlen)
{
    memset(pool, 0, sizeof(*pool));
    json_error_t jerr;
    json_t *root = json_loads(json_text ? json_text : "[]", 0, &jerr);
    int rc = OD_OK;
    if (!json_is_array(root)) {
        rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "caller-ID pool: not a JSON array");
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(root, i, e)
    {
        if (pool->n == CALLER_ID_POOL_MAX)
            break;
        const char *e164 = NULL, *number_id = NULL, *zone = NULL;
        json_int_t cap = 0;
        if (json_unpack(e, "[s,s,I,s]", &e164, &number_id, &cap, &zone) != 0) {
            rc =
                od_fail(errbuf, errlen, OD_ERR_INTERNAL, "caller-ID pool: number %zu malformed", i);
            goto out;
        }
        sched_caller_number_t *n = &pool->numbers[pool->n++];
        copy_field(n->e164, sizeof(n->e164), e164);
        copy_field(n->provider_phone_number_id, sizeof(n->provider_phone_number_id), number_id);
        n->daily_cap = (int)cap;
        copy_field(n->timezone, sizeof(n->timezone), zone);
    }
out:
    json_decref(root);
    return rc;
}

int sched_campaign_load(pg_conn_t *db, const char *campaign_id, sched_lock_t lock,
                        sched_campaign_t *out, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    const char *params[] = {campaign_id};
    int rc = pg_stmt_exec(db, lock == SCHED_LOCK_SKIP_LOCKED ? &load_locked_stmt : &load_stmt,
                          params, &res, errbuf, errlen);
    if (rc)
        return rc;
    if (PQntuples(res) == 0)
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "campaign %s not found or locked",
                     campaign_id);
    else
        rc = sched_campaign_from_result(res, out, errbuf, errlen);
    PQclear(res);
    return rc;
}

bool sched_window_is_shared(const sched_campaign_t *c)
{
    return c->tz_mode == MODEL_TZ_MODE_ASSISTANT && !c->has_quiet_hours &&
           c->legal_profile == LEGAL_PROFILE_NONE;
}

int sched_lead_window(const sched_campaign_t *c, const char *lead_tz, const char *e164,
                      int64_t now_us, lead_window_t *out, char *errbuf, size_t errlen)
{
    const window_spec_t *quiet = c->has_quiet_hours ? &c->quiet_hours : NULL;
    int rc = lead_tz_window(&c->window, quiet, c->tz_mode, c->assistant_tz, lead_tz, e164, now_us,
                            out, errbuf, errlen);
    if (rc == OD_ERR_INVALID && lead_tz && *lead_tz) {
        log_warn("lead_timezone",
                 "campaign %s: lead timezone '%s' unusable (%s); using the "
                 "number's prefix",
                 c->id, lead_tz, errbuf);
        rc = lead_tz_window(&c->window, quiet, c->tz_mode, c->assistant_tz, NULL, e164, now_us, out,
                            errbuf, errlen);
    }
    return rc;
}

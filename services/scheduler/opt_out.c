#include "opt_out.h"

#include <inttypes.h>
#include <stdio.h>

#include "lead_finish.h"
#include "log.h"
#include "rkeys.h"

static const pg_stmt_t dnc_stmt = {
    "opt_out_dnc",
    "INSERT INTO dnc (account_id, e164, reason, source, call_id, created_at)"
    " VALUES ($1::uuid, $2, 'opted out on a call', 'call', $3::uuid, od_ts($4::bigint))"
    " ON CONFLICT (account_id, e164) DO NOTHING",
    4};

/* The account's other waiting leads of the number, ended; served by the
 * lead's unique (campaign_id, e164) index, campaign by campaign. */
static const pg_stmt_t stop_stmt = {
    "opt_out_stop",
    "UPDATE lead l SET status = 'max_retries', outcome = 'dnc', next_attempt_at = NULL,"
    " callback_status = CASE WHEN callback_status = 'pending' THEN 'cancelled'::callback_status"
    "   ELSE callback_status END,"
    " status_changed_at = od_ts($4::bigint), updated_at = now()"
    " FROM campaign c WHERE c.id = l.campaign_id AND c.account_id = $1::uuid AND l.e164 = $2"
    " AND l.id <> $3::uuid AND l.status IN ('created', 'rescheduled')"
    " RETURNING l.id, l.campaign_id, coalesce(l.parent_lead_id, l.id) AS primary_id",
    4};

int opt_out_apply_tx(pg_conn_t *db, const char *account_id, const char *e164, const char *call_id,
                     const char *lead_id, int64_t now_us, size_t *n_stopped, char *errbuf,
                     size_t errlen)
{
    *n_stopped = 0;
    char now[24];
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    const char *dp[] = {account_id, e164, call_id, now};
    int rc = pg_stmt_exec(db, &dnc_stmt, dp, NULL, errbuf, errlen);
    if (rc)
        return rc;
    const char *sp[] = {account_id, e164, lead_id, now};
    PGresult *res = NULL;
    rc = pg_stmt_exec(db, &stop_stmt, sp, &res, errbuf, errlen);
    if (rc)
        return rc;
    for (int i = 0; rc == OD_OK && i < PQntuples(res); i++) {
        lead_finish_t lf = {.account_id = account_id,
                            .campaign_id = PQgetvalue(res, i, 1),
                            .lead_id = PQgetvalue(res, i, 0),
                            .status = MODEL_LEAD_MAX_RETRIES,
                            .outcome = MODEL_OUTCOME_DNC,
                            .goal = MODEL_GOAL_ABSENT,
                            .at_us = now_us};
        rc = lead_finish_event_tx(db, &lf, errbuf, errlen);
        if (rc == OD_OK)
            rc = lead_finish_group_step_tx(db, account_id, lf.campaign_id, PQgetvalue(res, i, 2),
                                           now_us, errbuf, errlen);
    }
    if (rc == OD_OK)
        *n_stopped = (size_t)PQntuples(res);
    PQclear(res);
    return rc;
}

void opt_out_mirror(redis_t *r, const char *redis_prefix, const char *account_id, const char *e164)
{
    char key[RKEYS_KEY_MAX], err[256];
    rkeys_dnc(redis_prefix, account_id, key);
    int rc = r ? redis_sadd(r, key, e164, err, sizeof(err)) : OD_ERR_UNAVAILABLE;
    if (rc)
        log_warn("opt_out_mirror",
                 "account %s: %s not yet in the DNC mirror (%s); the API's DNC "
                 "sync adds it",
                 account_id, e164, r ? err : "Redis is not connected");
}

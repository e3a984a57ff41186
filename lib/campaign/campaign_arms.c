#include "campaign_arms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The arms in their order, each joined to its assistant (LEFT JOIN: an arm
 * whose assistant is gone reads as an error, not as a missing arm). */
static const pg_stmt_t arms_load_stmt = {
    "campaign_arms_load",
    "SELECT t.e->>'assistant_id', coalesce((t.e->>'weight')::int, 0), a.id IS NOT NULL,"
    " coalesce(a.outbound_e164, ''), coalesce(a.provider, ''),"
    " coalesce(a.provider_assistant_id, ''), coalesce(a.provider_phone_number_id, ''),"
    " " SCHED_CALLER_POOL_SQL
    " FROM campaign c CROSS JOIN LATERAL jsonb_array_elements(coalesce(c.arms, '[]'))"
    "   WITH ORDINALITY AS t(e, ord)"
    " LEFT JOIN assistant a ON a.id = (t.e->>'assistant_id')::uuid AND a.account_id = c.account_id"
    " WHERE c.id = $1::uuid ORDER BY t.ord",
    1};

int campaign_arms_load(pg_conn_t *db, const char *campaign_id, campaign_arms_t *out, char *errbuf,
                       size_t errlen)
{
    memset(out, 0, sizeof(*out));
    PGresult *res = NULL;
    const char *params[] = {campaign_id};
    int rc = pg_stmt_exec(db, &arms_load_stmt, params, &res, errbuf, errlen);
    if (rc)
        return rc;
    int rows = PQntuples(res);
    if (rows > AB_ARMS_MAX) {
        rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "campaign %s has %d arms (at most %d)",
                     campaign_id, rows, AB_ARMS_MAX);
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        campaign_arm_t *arm = &out->arms[i];
        int weight = atoi(PQgetvalue(res, i, 1));
        if (PQgetvalue(res, i, 2)[0] != 't' || weight < AB_WEIGHT_MIN || weight > AB_WEIGHT_MAX) {
            rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL,
                         "campaign %s: arm %d (assistant %s, weight %d) is not usable", campaign_id,
                         i, PQgetvalue(res, i, 0), weight);
            goto out;
        }
        out->weights[i] = weight;
        snprintf(arm->assistant_id, sizeof(arm->assistant_id), "%s", PQgetvalue(res, i, 0));
        snprintf(arm->caller_id, sizeof(arm->caller_id), "%s", PQgetvalue(res, i, 3));
        snprintf(arm->provider, sizeof(arm->provider), "%s", PQgetvalue(res, i, 4));
        snprintf(arm->provider_assistant_id, sizeof(arm->provider_assistant_id), "%s",
                 PQgetvalue(res, i, 5));
        snprintf(arm->provider_phone_number_id, sizeof(arm->provider_phone_number_id), "%s",
                 PQgetvalue(res, i, 6));
        rc = sched_caller_pool_parse(PQgetvalue(res, i, 7), &arm->caller_pool, errbuf, errlen);
        if (rc)
            goto out;
    }
    out->n = (size_t)rows;
out:
    PQclear(res);
    return rc;
}

int campaign_arms_lead_arm(const campaign_arms_t *arms, const char *lead_id, int stored_arm)
{
    if (arms->n == 0)
        return -1;
    if (stored_arm >= 0 && (size_t)stored_arm < arms->n)
        return stored_arm;
    return ab_arm_pick(lead_id, arms->weights, arms->n);
}

void campaign_arm_apply(const campaign_arm_t *arm, const sched_campaign_t *c, sched_campaign_t *out)
{
    *out = *c;
    snprintf(out->caller_id, sizeof(out->caller_id), "%s", arm->caller_id);
    snprintf(out->provider, sizeof(out->provider), "%s", arm->provider);
    snprintf(out->provider_assistant_id, sizeof(out->provider_assistant_id), "%s",
             arm->provider_assistant_id);
    snprintf(out->provider_phone_number_id, sizeof(out->provider_phone_number_id), "%s",
             arm->provider_phone_number_id);
    out->caller_pool = arm->caller_pool;
}

#include "campaign_legal.h"

#include <stdio.h>
#include <string.h>

static const pg_stmt_t overrides_stmt = {
    "campaign_legal_overrides", "SELECT legal_overrides::text FROM account WHERE id = $1::uuid", 1};

int campaign_legal_load(pg_conn_t *db, const sched_campaign_t *c, legal_account_t *out,
                        char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const legal_pack_t *pack = legal_pack_builtin();
    if (!pack)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "the compiled-in rule pack: %s",
                       legal_pack_builtin_error());
    out->pack = pack;
    out->profile = c->legal_profile;
    if (c->legal_profile == LEGAL_PROFILE_NONE)
        return OD_OK;
    const char *params[] = {c->account_id};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &overrides_stmt, params, &res, errbuf, errlen);
    if (rc)
        return rc;
    if (PQntuples(res) == 1) {
        char msg[256];
        rc = legal_account_init(out, pack, legal_profile_name(c->legal_profile),
                                PQgetvalue(res, 0, 0), msg, sizeof(msg));
        if (rc)
            rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "account %s: legal_overrides: %s",
                         c->account_id, msg);
    }
    PQclear(res);
    return rc;
}

int campaign_lead_legal(const sched_campaign_t *c, const legal_account_t *acct, const char *lead_tz,
                        const char *e164, const char *state, int64_t now_us, lead_legal_t *out,
                        char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int rc = legal_jurisdiction(state, e164, out->jurisdiction, errbuf, errlen);
    if (rc == OD_OK)
        rc = legal_account_rules(acct, out->jurisdiction, &out->rules, errbuf, errlen);
    if (rc)
        return rc;
    rc = lead_tz_resolve(MODEL_TZ_MODE_LEAD, c->assistant_tz, lead_tz, e164, now_us,
                         &out->callee_tz, errbuf, errlen);
    if (rc == OD_ERR_INVALID && lead_tz && *lead_tz)
        rc = lead_tz_resolve(MODEL_TZ_MODE_LEAD, c->assistant_tz, NULL, e164, now_us,
                             &out->callee_tz, errbuf, errlen);
    return rc;
}

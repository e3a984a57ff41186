/*
 * compliance.c — the legal calling rules as the API shows them
 * (docs/compliance.md): the account's effective rules, and why a lead is
 * not called now.
 *
 * Both read the rows and hand them to the pure rules (lib/rules/legal.h,
 * lib/rules/eligibility.h) through lib/campaign/campaign_legal.h, the same
 * path the scheduler plans with, so that the answer here is the instant
 * the scheduler will call at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_legal.h"
#include "eligibility.h"
#include "handlers.h"
#include "resource.h"
#include "sched_campaign.h"

static const pg_stmt_t legal_settings_stmt = {
    "compliance_settings",
    "SELECT legal_profile, legal_overrides::text FROM account WHERE id = $1::uuid", 1};

/* The lead with what eligibility needs of its campaign and account. */
static const pg_stmt_t eligibility_stmt = {
    "compliance_eligibility",
    "SELECT l.status, l.invalid_reason IS NOT NULL, od_us(l.next_attempt_at),"
    " coalesce(l.e164, ''), coalesce(l.timezone, ''), coalesce(l.state, ''), l.campaign_id,"
    " acc.balance_minor,"
    " EXISTS (SELECT 1 FROM dnc d WHERE d.account_id = c.account_id AND d.e164 = l.e164),"
    " (SELECT count(*) FROM lead x WHERE x.campaign_id = l.campaign_id"
    "   AND x.status IN ('scheduled', 'processing'))"
    " FROM lead l JOIN campaign c ON c.id = l.campaign_id JOIN account acc ON acc.id = c.account_id"
    " WHERE l.id = $1::uuid AND c.account_id = $2::uuid",
    2};

static json_t *time_or_null(int64_t us)
{
    if (us == ELIG_UNKNOWN || us == WINDOW_NEVER)
        return json_null();
    char buf[40];
    od_time_format_rfc3339(us, buf, sizeof(buf));
    return json_string(buf);
}

/* One entry of the pack as the API shows it. */
static json_t *entry_json(const legal_entry_t *e)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(e->code));
    json_object_set_new(o, "name", json_string(e->name ? e->name : e->code));
    json_t *hours = json_object();
    for (int d = 0; d < 7; d++) {
        char start[8], end[8], span[20];
        if (!e->hours[d].open) {
            json_object_set_new(hours, days[d], json_string("closed"));
            continue;
        }
        window_time_format(e->hours[d].start_min, start, sizeof(start));
        window_time_format_end(e->hours[d].end_min % WINDOW_MINUTES_PER_DAY, end, sizeof(end));
        snprintf(span, sizeof(span), "%s-%s", start, end);
        json_object_set_new(hours, days[d], json_string(span));
    }
    json_object_set_new(o, "hours", hours);
    json_t *hol = json_array();
    for (int h = 0; h < HOLIDAY_COUNT; h++)
        if (e->holidays[h])
            json_array_append_new(hol, json_string(holiday_name((holiday_id_t)h)));
    json_object_set_new(o, "holidays", hol);
    json_object_set_new(o, "calls_per_24h",
                        e->calls_per_24h ? json_integer(e->calls_per_24h) : json_null());
    json_t *src = json_array();
    for (size_t i = 0; i < e->n_sources; i++)
        json_array_append_new(src, json_string(e->sources[i]));
    json_object_set_new(o, "sources", src);
    json_object_set_new(o, "note", e->note ? json_string(e->note) : json_null());
    json_object_set_new(o, "overridden", json_boolean(e->overridden));
    return o;
}

void accounts_legal_rules(api_ctx_t *ctx)
{
    const char *params[] = {ctx->account_id};
    PGresult *res = resource_row_fetch(ctx, "account not found", &legal_settings_stmt, params);
    if (!res)
        return;
    char err[512];
    legal_account_t acct;
    const legal_pack_t *pack = legal_pack_builtin();
    if (!pack || legal_account_init(&acct, pack, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), err,
                                    sizeof(err)) != OD_OK) {
        PQclear(res);
        api_reply_failure(ctx, OD_ERR_INTERNAL, pack ? err : legal_pack_builtin_error());
        return;
    }
    PQclear(res);
    json_t *out = json_object();
    json_object_set_new(out, "profile", json_string(legal_profile_name(acct.profile)));
    json_object_set_new(out, "pack_version", json_string(pack->version));
    json_object_set_new(out, "pack_updated", json_string(pack->updated));
    json_object_set_new(out, "not_legal_advice",
                        json_string("The rule pack is a summary of the statutes it cites, not "
                                    "legal advice: check it with your own counsel and override "
                                    "entries where it differs (docs/compliance.md)."));
    json_object_set_new(out, "federal",
                        acct.profile == LEGAL_PROFILE_NONE ? json_null()
                                                           : entry_json(&pack->federal));
    json_t *list = json_array();
    for (size_t i = 0; acct.profile == LEGAL_PROFILE_US_STATES && i < pack->n_entries; i++) {
        const legal_entry_t *e = &pack->entries[i];
        for (size_t k = 0; k < acct.n_overrides; k++)
            if (strcmp(acct.overrides[k].code, e->code) == 0)
                e = &acct.overrides[k];
        json_array_append_new(list, entry_json(e));
    }
    json_object_set_new(out, "jurisdictions", list);
    json_object_set_new(
        out, "unknown_jurisdiction",
        json_string(acct.profile == LEGAL_PROFILE_US_STATES
                        ? "every jurisdiction entry applies at once (the strictest rules)"
                    : acct.profile == LEGAL_PROFILE_US_FEDERAL ? "the federal floor"
                                                               : "no legal rules"));
    legal_account_clear(&acct);
    api_reply_json(ctx, 200, out);
}

/* The answer's JSON from the decision and what it was asked about. */
static json_t *eligibility_json(const char *lead_id, const lead_legal_t *legal,
                                const legal_account_t *acct, const elig_result_t *r, int64_t now_us)
{
    json_t *out = json_object();
    json_object_set_new(out, "lead_id", json_string(lead_id));
    json_object_set_new(out, "callable_now", json_boolean(r->callable_now));
    json_object_set_new(out, "checked_at", time_or_null(now_us));
    json_object_set_new(out, "earliest_callable_at", time_or_null(r->earliest_us));
    json_object_set_new(out, "legal_profile", json_string(legal_profile_name(acct->profile)));
    json_object_set_new(out, "jurisdiction",
                        legal->jurisdiction[0] ? json_string(legal->jurisdiction) : json_null());
    json_t *zones = json_array();
    for (size_t i = 0; i < legal->callee_tz.n_zones; i++)
        json_array_append_new(zones, json_string(legal->callee_tz.zones[i]));
    json_object_set_new(out, "callee_zones", zones);
    json_t *reasons = json_array();
    for (size_t i = 0; i < r->n_blocks; i++) {
        json_t *b = json_object();
        json_object_set_new(b, "rule", json_string(elig_reason_name(r->blocks[i].reason)));
        json_object_set_new(b, "detail", json_string(r->blocks[i].detail));
        json_object_set_new(b, "clears_at", time_or_null(r->blocks[i].clears_us));
        json_array_append_new(reasons, b);
    }
    json_object_set_new(out, "reasons", reasons);
    return out;
}

void leads_eligibility(api_ctx_t *ctx)
{
    const char *params[] = {ctx->params[0], ctx->account_id};
    PGresult *res = resource_row_fetch(ctx, "lead not found", &eligibility_stmt, params);
    if (!res)
        return;
    char err[512];
    int64_t now_us = api_now_us(ctx);
    sched_campaign_t c;
    legal_account_t acct = {0};
    lead_legal_t legal;
    lead_window_t lw;
    const char *e164 = PQgetvalue(res, 0, 3), *tz = PQgetvalue(res, 0, 4);
    int rc =
        sched_campaign_load(ctx->db, PQgetvalue(res, 0, 6), SCHED_LOCK_NONE, &c, err, sizeof(err));
    if (rc == OD_OK)
        rc = campaign_legal_load(ctx->db, &c, &acct, err, sizeof(err));
    if (rc == OD_OK)
        rc = campaign_lead_legal(&c, &acct, tz, *e164 ? e164 : NULL, PQgetvalue(res, 0, 5), now_us,
                                 &legal, err, sizeof(err));
    if (rc == OD_OK)
        rc = sched_lead_window(&c, tz, *e164 ? e164 : NULL, now_us, &lw, err, sizeof(err));
    elig_result_t r;
    if (rc == OD_OK) {
        elig_input_t in = {
            .now_us = now_us,
            .lead_status = PQgetvalue(res, 0, 0),
            .lead_invalid = PQgetvalue(res, 0, 1)[0] == 't',
            .lead_has_next = !PQgetisnull(res, 0, 2),
            .next_attempt_us = strtoll(PQgetvalue(res, 0, 2), NULL, 10),
            .campaign_status = model_campaign_status_name(c.status),
            .balance_minor = strtoll(PQgetvalue(res, 0, 7), NULL, 10),
            .dnc = PQgetvalue(res, 0, 8)[0] == 't',
            .in_flight = strtoll(PQgetvalue(res, 0, 9), NULL, 10),
            .max_concurrent_calls = c.max_concurrent_calls,
            .window = &lw,
            .legal = &legal.rules,
            .zones = legal.callee_tz.zones,
            .n_zones = legal.callee_tz.n_zones,
        };
        rc = eligibility_decide(&in, &r, err, sizeof(err));
    }
    if (rc == OD_OK)
        api_reply_json(ctx, 200, eligibility_json(ctx->params[0], &legal, &acct, &r, now_us));
    else
        api_reply_failure(ctx, rc, err);
    legal_account_clear(&acct);
    PQclear(res);
}

/*
 * importer_leads_in.c — applying LeadUpsert messages; see importer_leads_in.h.
 */
#include "importer_leads_in.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "err.h"
#include "phone.h"
#include "xmalloc.h"

static const pg_stmt_t stmt_campaign = {
    "leads_in_campaign",
    "SELECT c.account_id, a.default_region FROM campaign c JOIN account a ON a.id = c.account_id"
    " WHERE c.id = $1::uuid",
    1};

static const pg_stmt_t stmt_dnc = {
    "leads_in_dnc", "SELECT 1 FROM dnc WHERE account_id = $1::uuid AND e164 = $2", 2};

static const pg_stmt_t stmt_find_external = {
    "leads_in_find_external",
    "SELECT id, parent_lead_id IS NULL, status, e164 FROM lead WHERE campaign_id = $1::uuid"
    " AND external_id = $2 FOR UPDATE",
    2};

static const pg_stmt_t stmt_find_number = {
    "leads_in_find_number",
    "SELECT id, parent_lead_id IS NULL FROM lead WHERE campaign_id = $1::uuid AND e164 = $2"
    " FOR UPDATE",
    2};

static const pg_stmt_t stmt_update = {"leads_in_update",
                                      "UPDATE lead SET e164 = COALESCE($2, e164),"
                                      " name = CASE WHEN $3 <> '' THEN $3 ELSE name END,"
                                      " timezone = COALESCE($4, timezone),"
                                      " variables = variables || $5::jsonb,"
                                      " external_id = COALESCE(external_id, $6),"
                                      " state = COALESCE(nullif($7, ''), state),"
                                      " updated_at = now()"
                                      " WHERE id = $1::uuid",
                                      7};

static const pg_stmt_t stmt_insert = {
    "leads_in_insert",
    "INSERT INTO lead (campaign_id, e164, name, timezone, external_id, variables, state)"
    " VALUES ($1::uuid, $2, $3, $4, $5, $6::jsonb, nullif($7, ''))"
    " ON CONFLICT DO NOTHING RETURNING id",
    7};

/* After the primary's existing contacts; waiting (next_attempt_at NULL). */
static const pg_stmt_t stmt_secondary = {
    "leads_in_secondary",
    "INSERT INTO lead (campaign_id, parent_lead_id, contact_order, e164, name, timezone,"
    " variables, next_attempt_at, state)"
    " SELECT $1::uuid, $2::uuid,"
    "  COALESCE((SELECT max(contact_order) FROM lead WHERE parent_lead_id = $2::uuid), 0) + 1,"
    "  $3, p.name, p.timezone, p.variables, NULL, nullif($5, '')"
    " FROM lead p WHERE p.id = $2::uuid"
    "  AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.account_id = $4::uuid AND d.e164 = $3)"
    " ON CONFLICT DO NOTHING",
    5};

bool importer_leads_in_number_change_ok(const char *status, const char *old_e164,
                                        const char *new_e164)
{
    bool in_flight = strcmp(status, "scheduled") == 0 || strcmp(status, "processing") == 0;
    return !in_flight || strcmp(old_e164, new_e164) == 0;
}

static const char *const outcome_names[] = {
    [LEADS_IN_INSERTED] = "inserted",
    [LEADS_IN_UPDATED] = "updated",
    [LEADS_IN_DNC] = "dnc",
    [LEADS_IN_REJECTED] = "rejected",
};

const char *importer_leads_in_outcome_name(leads_in_outcome_t outcome)
{
    return OD_ENUM_NAME(outcome_names, outcome, "unknown");
}

bool importer_leads_in_is_json(const void *value, size_t len)
{
    static const char want[] = "application/json";
    const char *s = value;
    if (!s)
        return false;
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    size_t n = sizeof(want) - 1;
    if (len < n || strncasecmp(s, want, n) != 0)
        return false;
    for (size_t i = n; i < len; i++) {
        if (s[i] == ';')
            return true;
        if (!isspace((unsigned char)s[i]))
            return false;
    }
    return true;
}

static int reject(leads_in_result_t *result, const char *code, const char *fmt, ...)
    OD_PRINTF(3, 4);

static int reject(leads_in_result_t *result, const char *code, const char *fmt, ...)
{
    result->outcome = LEADS_IN_REJECTED;
    result->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->message, sizeof(result->message), fmt, ap);
    va_end(ap);
    return OD_OK;
}

/* The message's variables as a JSON object (caller frees). */
static char *variables_json(const leadupsert_t *lead)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < lead->n_variables; i++)
        json_object_set_new(
            obj, lead->variables[i]->key,
            json_string(lead->variables[i]->value ? lead->variables[i]->value : ""));
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return text ? text : xstrdup("{}");
}

/* Checks what the database does not: numbers, zone. Fills e164,
 * secondaries (distinct, not the primary's) and zone; on bad input fills
 * result as rejected and returns false. */
static bool lead_validate(const leadupsert_t *lead, lead_map_ctx_t *ctx, const char *region,
                          char e164[PHONE_E164_MAX + 1], char secondary[][PHONE_E164_MAX + 1],
                          size_t *n_secondary, char zone[WINDOW_ZONE_MAX], char state[3],
                          leads_in_result_t *result)
{
    state[0] = '\0';
    if (lead->state && *lead->state &&
        !lead_map_state_canonical(lead->state, strlen(lead->state), state)) {
        reject(result, LEAD_REJECT_INVALID_STATE,
               "state '%.16s': not a US state, DC or Canadian province code (two letters, e.g. "
               "FL, RI, ON)",
               lead->state);
        return false;
    }
    phone_reason_t reason = phone_parse(lead->phone, strlen(lead->phone), region, e164);
    if (reason != PHONE_OK) {
        reject(result, phone_reason_code(reason), "phone '%.40s': %s", lead->phone,
               phone_reason_message(reason));
        return false;
    }
    zone[0] = '\0';
    if (lead->timezone && *lead->timezone) {
        char msg[160];
        if (lead_map_zone_canonical(ctx, lead->timezone, strlen(lead->timezone), zone, msg,
                                    sizeof(msg)) != OD_OK) {
            reject(result, LEAD_REJECT_INVALID_TIMEZONE, "timezone: %s", msg);
            return false;
        }
    }
    if (lead->n_secondary_phones > LEAD_MAP_SECONDARY_MAX) {
        reject(result, LEAD_REJECT_INVALID_SECONDARY, "%zu secondary phones; at most %d",
               lead->n_secondary_phones, LEAD_MAP_SECONDARY_MAX);
        return false;
    }
    *n_secondary = 0;
    for (size_t i = 0; i < lead->n_secondary_phones; i++) {
        const char *raw = lead->secondary_phones[i];
        char *out = secondary[*n_secondary];
        reason = phone_parse(raw, strlen(raw), region, out);
        if (reason != PHONE_OK) {
            reject(result, LEAD_REJECT_INVALID_SECONDARY, "secondary_phones[%zu] '%.40s': %s", i,
                   raw, phone_reason_message(reason));
            return false;
        }
        bool seen = strcmp(out, e164) == 0;
        for (size_t j = 0; j < *n_secondary && !seen; j++)
            seen = strcmp(out, secondary[j]) == 0;
        if (!seen)
            (*n_secondary)++;
    }
    return true;
}

int importer_leads_in_apply(pg_conn_t *db, lead_map_ctx_t *ctx, const void *payload, size_t len,
                            bool is_json, leads_in_result_t *result, char *errbuf, size_t errlen)
{
    memset(result, 0, sizeof(*result));
    leadupsert_t *lead = NULL;
    PGresult *res = NULL;
    char *vars = NULL;
    char msg[512];
    int rc = is_json ? leadupsert_decode_json(payload, len, &lead, msg, sizeof(msg))
                     : leadupsert_decode(payload, len, &lead, msg, sizeof(msg));
    if (rc) {
        /* The codec names a missing phone "LeadUpsert.phone: required". */
        const char *code = strstr(msg, ".phone: required") ? "missing_phone" : "invalid_message";
        return reject(result, code, "%s", msg);
    }
    const char *params[6];
    params[0] = lead->campaign_id;
    if ((rc = pg_stmt_exec(db, &stmt_campaign, params, &res, errbuf, errlen)))
        goto out;
    if (PQntuples(res) != 1) {
        rc = reject(result, "campaign_not_found", "campaign %s not found", lead->campaign_id);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), lead->account_id) != 0) {
        rc = reject(result, "account_mismatch", "campaign %s does not belong to account %s",
                    lead->campaign_id, lead->account_id);
        goto out;
    }
    char region[8];
    snprintf(region, sizeof(region), "%s",
             lead->region && *lead->region ? lead->region : PQgetvalue(res, 0, 1));
    PQclear(res);
    res = NULL;

    char e164[PHONE_E164_MAX + 1];
    char secondary[LEAD_MAP_SECONDARY_MAX][PHONE_E164_MAX + 1];
    size_t n_secondary = 0;
    char zone[WINDOW_ZONE_MAX], given_state[3], state[3], contact_state[3];
    if (!lead_validate(lead, ctx, region, e164, secondary, &n_secondary, zone, given_state, result))
        goto out;
    lead_map_state_resolve(given_state, e164, state);
    vars = variables_json(lead);
    const char *tz = zone[0] ? zone : NULL;
    const char *external_id = lead->external_id && *lead->external_id ? lead->external_id : NULL;

    if ((rc = pg_tx_begin(db, errbuf, errlen)))
        goto out;
    params[0] = lead->account_id;
    params[1] = e164;
    if ((rc = pg_stmt_exec(db, &stmt_dnc, params, &res, errbuf, errlen)))
        goto out;
    bool dnc = PQntuples(res) > 0;
    PQclear(res);
    res = NULL;
    if (dnc) {
        result->outcome = LEADS_IN_DNC;
        goto out; /* nothing written: rolled back below */
    }

    /* An existing lead: by external_id, else by number. */
    bool by_external = false;
    params[0] = lead->campaign_id;
    if (external_id) {
        params[1] = external_id;
        if ((rc = pg_stmt_exec(db, &stmt_find_external, params, &res, errbuf, errlen)))
            goto out;
        by_external = PQntuples(res) == 1;
        if (!by_external) {
            PQclear(res);
            res = NULL;
        }
    }
    if (!by_external) {
        params[1] = e164;
        if ((rc = pg_stmt_exec(db, &stmt_find_number, params, &res, errbuf, errlen)))
            goto out;
    }
    bool is_primary = true;
    if (PQntuples(res) == 1) {
        snprintf(result->lead_id, sizeof(result->lead_id), "%s", PQgetvalue(res, 0, 0));
        is_primary = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        if (by_external && !importer_leads_in_number_change_ok(PQgetvalue(res, 0, 2),
                                                               PQgetvalue(res, 0, 3), e164)) {
            rc = reject(result, "call_in_flight",
                        "lead %s (external_id %s) is %s: its number cannot change from %s to %s "
                        "while a call is queued or under way; send it again after the call ends",
                        result->lead_id, external_id, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
                        e164);
            goto out;
        }
        PQclear(res);
        res = NULL;
        /* An update changes the state when it states one or moves the
         * number; else the stored one stays. */
        const char *up[7] = {result->lead_id,
                             by_external ? e164 : NULL,
                             lead->name ? lead->name : "",
                             tz,
                             vars,
                             external_id,
                             given_state[0] || by_external ? state : ""};
        rc = pg_stmt_exec(db, &stmt_update, up, NULL, errbuf, errlen);
        if (rc == OD_ERR_CONFLICT && strcmp(pg_conn_sqlstate(db), "23505") == 0) {
            rc = reject(result, "duplicate_number",
                        "another lead of campaign %s has the number %s (external_id %s)",
                        lead->campaign_id, e164, external_id ? external_id : "");
            goto out;
        }
        if (rc)
            goto out;
        result->outcome = LEADS_IN_UPDATED;
    } else {
        PQclear(res);
        res = NULL;
        const char *ins[7] = {
            lead->campaign_id, e164, lead->name ? lead->name : "", tz, external_id, vars, state};
        if ((rc = pg_stmt_exec(db, &stmt_insert, ins, &res, errbuf, errlen)))
            goto out;
        if (PQntuples(res) != 1) {
            /* Someone inserted the number (or external_id) since we looked:
             * a CSV import of the same campaign. Applying again finds it. */
            rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                         "lead inserted concurrently by another writer; retry");
            goto out;
        }
        snprintf(result->lead_id, sizeof(result->lead_id), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        res = NULL;
        result->outcome = LEADS_IN_INSERTED;
    }
    if (is_primary) {
        for (size_t i = 0; i < n_secondary; i++) {
            lead_map_state_resolve(given_state, secondary[i], contact_state);
            const char *sp[5] = {lead->campaign_id, result->lead_id, secondary[i], lead->account_id,
                                 contact_state};
            if ((rc = pg_stmt_exec(db, &stmt_secondary, sp, &res, errbuf, errlen)))
                goto out;
            result->secondaries_added += atoi(PQcmdTuples(res));
            PQclear(res);
            res = NULL;
        }
    }
    rc = pg_tx_commit(db, errbuf, errlen);
out:
    if (pg_tx_open(db)) {
        /* Rejected or DNC inside the transaction, or an error: nothing stays. */
        pg_tx_rollback(db);
    }
    if (rc) {
        result->outcome = LEADS_IN_REJECTED;
        result->code = NULL;
        result->lead_id[0] = '\0';
    }
    PQclear(res);
    free(vars);
    leadupsert_free(lead);
    return rc;
}

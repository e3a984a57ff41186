/*
 * stats_caller_ids.c — the per-number part of a campaign's statistics
 * (GET /v1/campaigns/{id}/stats, "caller_ids"): for each number its calls
 * came from (call.caller_id), the calls placed and how many a person
 * answered, so that a number that carriers flag as spam ("burned") shows
 * as an answer rate below its siblings'.
 *
 * Only a campaign whose strategy picks from a pool reads its calls per
 * number (through call_campaign_caller_id_idx); a single-number campaign's
 * answer rate is the campaign's own, and its stats stay a read of the
 * counters.
 */
#include "stats_caller_ids.h"

#include <stdlib.h>
#include <string.h>

static const pg_stmt_t stats_caller_ids_stmt = {
    "campaign_stats_caller_ids",
    "SELECT k.caller_id, count(*) FILTER (WHERE k.status <> 'skipped'),"
    " count(*) FILTER (WHERE k.answered_by = 'human')"
    " FROM call k JOIN campaign c ON c.id = k.campaign_id"
    " WHERE k.campaign_id = $1::uuid AND k.caller_id IS NOT NULL"
    " AND c.caller_id_strategy <> 'single'"
    " GROUP BY k.caller_id ORDER BY k.caller_id",
    1};

int stats_caller_ids_read(pg_conn_t *db, const char *campaign_id, json_t **out, char *errbuf,
                          size_t errlen)
{
    *out = NULL;
    PGresult *res = NULL;
    const char *p[] = {campaign_id};
    int rc = pg_stmt_exec(db, &stats_caller_ids_stmt, p, &res, errbuf, errlen);
    if (rc)
        return rc;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        long long calls = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        long long answered = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        json_t *n = json_object();
        json_object_set_new(n, "phone_number", json_string(PQgetvalue(res, i, 0)));
        json_object_set_new(n, "calls", json_integer(calls));
        json_object_set_new(n, "answered", json_integer(answered));
        json_object_set_new(n, "answer_rate",
                            calls ? json_real((double)answered / (double)calls) : json_null());
        json_array_append_new(list, n);
    }
    PQclear(res);
    *out = list;
    return OD_OK;
}

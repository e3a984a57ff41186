#include "reopen.h"

#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"

/* A lead the dispatcher takes once the campaign runs (lifecycle.c's
 * requirement "no_leads" counts the same, plus the leads in flight). */
#define CALLABLE_LEAD                                                                              \
    "l.invalid_reason IS NULL AND (l.status = 'rescheduled'"                                       \
    " OR (l.status = 'created' AND l.next_attempt_at IS NOT NULL))"

const pg_stmt_t reopen_callable_stmt = {
    "reopen_callable",
    "SELECT count(*) FROM lead l WHERE l.campaign_id = $1::uuid AND " CALLABLE_LEAD, 1};

static const pg_stmt_t reopenable_stmt = {
    "reopen_candidates",
    "SELECT c.id, c.account_id FROM campaign c WHERE c.status = 'completed'"
    " AND c.archived_at IS NULL"
    " AND EXISTS (SELECT 1 FROM lead l WHERE l.campaign_id = c.id AND " CALLABLE_LEAD ")",
    0};

static const pg_stmt_t reopen_lock_stmt = {
    "reopen_lock",
    "SELECT c.status, c.archived_at IS NOT NULL,"
    " (SELECT count(*) FROM lead l WHERE l.campaign_id = c.id AND " CALLABLE_LEAD ")"
    " FROM campaign c WHERE c.id = $1::uuid FOR UPDATE OF c",
    1};

reopen_completion_t reopen_completion_of(model_campaign_status_t status, bool archived)
{
    if (status != MODEL_CAMPAIGN_COMPLETED)
        return REOPEN_COMPLETION_NONE;
    return archived ? REOPEN_COMPLETION_PERSON : REOPEN_COMPLETION_AUTO;
}

reopen_verdict_t reopen_decide(model_campaign_status_t status, reopen_completion_t completion,
                               long long callable)
{
    if (callable <= 0)
        return REOPEN_NONE;
    switch (status) {
    case MODEL_CAMPAIGN_IN_PROGRESS:
        return REOPEN_RUNNING;
    case MODEL_CAMPAIGN_PAUSED:
        return REOPEN_WAIT_PAUSED;
    case MODEL_CAMPAIGN_DRAFT:
        return REOPEN_WAIT_DRAFT;
    case MODEL_CAMPAIGN_COMPLETED:
        return completion == REOPEN_COMPLETION_AUTO ? REOPEN_REOPEN : REOPEN_WAIT_CLOSED;
    default:
        return REOPEN_NONE;
    }
}

const char *reopen_wait_code(reopen_verdict_t v)
{
    switch (v) {
    case REOPEN_WAIT_PAUSED:
        return "campaign_paused";
    case REOPEN_WAIT_CLOSED:
        return "campaign_completed";
    case REOPEN_WAIT_DRAFT:
        return "campaign_draft";
    default:
        return NULL;
    }
}

const char *reopen_wait_message(reopen_verdict_t v)
{
    switch (v) {
    case REOPEN_WAIT_PAUSED:
        return "the campaign is paused: resume it to call them";
    case REOPEN_WAIT_CLOSED:
        return "the campaign is completed and archived: it is not called again";
    case REOPEN_WAIT_DRAFT:
        return "the campaign is a draft: start it to call them";
    default:
        return NULL;
    }
}

/* One candidate, under its row lock: *reopened when it went back to
 * in_progress. */
static int reopen_one(pg_conn_t *db, const char *account_id, const char *id, int64_t now_us,
                      bool *reopened, char *errbuf, size_t errlen)
{
    *reopened = false;
    int rc = pg_tx_begin(db, errbuf, errlen);
    if (rc)
        return rc;
    PGresult *lock = NULL;
    const char *p[] = {id};
    rc = pg_stmt_exec(db, &reopen_lock_stmt, p, &lock, errbuf, errlen);
    model_campaign_status_t status = MODEL_CAMPAIGN_DRAFT;
    if (rc == OD_OK && PQntuples(lock) == 1)
        rc = model_campaign_status_parse(PQgetvalue(lock, 0, 0), &status, errbuf, errlen);
    if (rc == OD_OK && PQntuples(lock) == 1) {
        bool archived = PQgetvalue(lock, 0, 1)[0] == 't';
        long long callable = strtoll(PQgetvalue(lock, 0, 2), NULL, 10);
        *reopened = reopen_decide(status, reopen_completion_of(status, archived), callable) ==
                    REOPEN_REOPEN;
    }
    PQclear(lock);
    if (rc == OD_OK && *reopened)
        rc = lifecycle_status_write_tx(db, account_id, id, MODEL_CAMPAIGN_COMPLETED,
                                       MODEL_CAMPAIGN_IN_PROGRESS, REOPEN_REASON, now_us, errbuf,
                                       errlen);
    if (rc) {
        pg_tx_rollback(db);
        *reopened = false;
        return rc;
    }
    rc = pg_tx_commit(db, errbuf, errlen);
    if (rc)
        *reopened = false;
    return rc;
}

int reopen_campaigns(pg_conn_t *db, redis_t *r, const char *redis_prefix, int64_t now_us,
                     int *n_reopened, char *errbuf, size_t errlen)
{
    *n_reopened = 0;
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &reopenable_stmt, NULL, &res, errbuf, errlen);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res) && rc == OD_OK; i++) {
        const char *id = PQgetvalue(res, i, 0);
        bool reopened = false;
        rc = reopen_one(db, PQgetvalue(res, i, 1), id, now_us, &reopened, errbuf, errlen);
        if (rc || !reopened)
            continue;
        (*n_reopened)++;
        log_info("campaign_reopened",
                 "campaign %s reopened: a lead to call arrived after it "
                 "completed",
                 id);
        char rerr[256];
        if (r && lifecycle_mirror_write(r, redis_prefix, id, MODEL_CAMPAIGN_IN_PROGRESS, rerr,
                                        sizeof(rerr)))
            log_warn("campaign_mirror", "campaign %s: %s", id, rerr);
    }
    PQclear(res);
    return rc;
}

#include "reopen.h"

#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"

/* A lead the dispatcher takes once the campaign runs (lifecycle.c's
 * requirement "no_leads" counts the same, plus the leads in flight): the
 * SQL function of migration 012 that also moves the statistics' counter
 * leads.callable. IMMUTABLE SQL, so the planner inlines it into the
 * predicate it stands for. */
#define CALLABLE_LEAD "lead_callable(l.invalid_reason, l.status, l.next_attempt_at)"

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

/* The waiting verdicts' code and sentence. */
static const struct {
    reopen_verdict_t verdict;
    const char *code, *message;
} waits[] = {
    {REOPEN_WAIT_PAUSED, "campaign_paused", "the campaign is paused: resume it to call them"},
    {REOPEN_WAIT_CLOSED, "campaign_completed",
     "the campaign is completed and archived: it is not called again"},
    {REOPEN_WAIT_DRAFT, "campaign_draft", "the campaign is a draft: start it to call them"},
};

static int wait_index(reopen_verdict_t v)
{
    for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
        if (waits[i].verdict == v)
            return (int)i;
    return -1;
}

const char *reopen_wait_code(reopen_verdict_t v)
{
    int i = wait_index(v);
    return i < 0 ? NULL : waits[i].code;
}

const char *reopen_wait_message(reopen_verdict_t v)
{
    int i = wait_index(v);
    return i < 0 ? NULL : waits[i].message;
}

/* reopen_lock_stmt's row decided again under the lock. */
static bool still_reopens(const PGresult *lock)
{
    if (PQntuples(lock) != 1)
        return false;
    model_campaign_status_t status;
    char err[128];
    if (model_campaign_status_parse(PQgetvalue(lock, 0, 0), &status, err, sizeof(err)) != OD_OK)
        return false;
    bool archived = PQgetvalue(lock, 0, 1)[0] == 't';
    long long callable = strtoll(PQgetvalue(lock, 0, 2), NULL, 10);
    return reopen_decide(status, reopen_completion_of(status, archived), callable) == REOPEN_REOPEN;
}

int reopen_campaigns(pg_conn_t *db, redis_t *r, const char *redis_prefix, int64_t now_us,
                     int *n_reopened, char *errbuf, size_t errlen)
{
    return lifecycle_campaigns_move(db, r, redis_prefix, &reopenable_stmt, &reopen_lock_stmt,
                                    still_reopens, MODEL_CAMPAIGN_COMPLETED,
                                    MODEL_CAMPAIGN_IN_PROGRESS, REOPEN_REASON, "campaign_reopened",
                                    now_us, n_reopened, errbuf, errlen);
}

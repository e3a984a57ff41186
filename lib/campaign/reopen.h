/*
 * reopen.h — leads that arrive after a campaign stopped (issue 20, item 4).
 *
 * A CRM can add a lead (leads-in, the API, an import) to a campaign that is
 * no longer running. What happens to it depends on why the campaign stopped:
 *
 *   status       completion       callable lead   verdict
 *   in_progress  -                any             RUNNING (called as usual)
 *   completed    by itself        yes             REOPEN (-> in_progress,
 *                                                  CampaignEvent reason
 *                                                  "lead_arrived")
 *   completed    by a person      yes             WAIT_CLOSED
 *   paused       -                yes             WAIT_PAUSED
 *   draft        -                yes             WAIT_DRAFT
 *   any          any              no              NONE
 *
 * Completion reason: the scheduler's completion (nothing left to call) is
 * the only way a campaign reaches completed; a person closes a completed
 * campaign by archiving it (campaign.archived_at). So "completed by a
 * person" is completed and archived, read from that column: no new column.
 *
 * Callable: a lead the dispatcher would take once the campaign runs
 * (created with a due time, or rescheduled; invalid numbers and secondary
 * contacts waiting for their primary are not): the SQL function
 * lead_callable (db/migrations/012_campaign_counters.sql), whose counter
 * leads.callable the API's statistics read.
 */
#ifndef OUTDIAL_REOPEN_H
#define OUTDIAL_REOPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "pg.h"
#include "redis.h"

#define REOPEN_REASON "lead_arrived" /* the CampaignEvent's reason */

typedef enum reopen_completion {
    REOPEN_COMPLETION_NONE = 0, /* not completed */
    REOPEN_COMPLETION_AUTO,     /* the scheduler's: no lead was left to call */
    REOPEN_COMPLETION_PERSON,   /* a person closed it (archived) */
} reopen_completion_t;

typedef enum reopen_verdict {
    REOPEN_NONE = 0, /* no callable lead waits */
    REOPEN_RUNNING,  /* in progress: the dispatcher calls it */
    REOPEN_REOPEN,   /* completed by itself: back to in_progress */
    REOPEN_WAIT_PAUSED,
    REOPEN_WAIT_CLOSED,
    REOPEN_WAIT_DRAFT,
} reopen_verdict_t;

/* How a campaign in status completed (archived: archived_at is set). */
reopen_completion_t reopen_completion_of(model_campaign_status_t status, bool archived);

/* The table above. Pure. */
reopen_verdict_t reopen_decide(model_campaign_status_t status, reopen_completion_t completion,
                               long long callable);

/* For a WAIT_* verdict: a constant code ("campaign_paused",
 * "campaign_completed", "campaign_draft") and a sentence for people; NULL
 * for the others. */
const char *reopen_wait_code(reopen_verdict_t v);
const char *reopen_wait_message(reopen_verdict_t v);

/* The scheduler's step, each tick: every completed, unarchived campaign
 * with a callable lead is locked, decided again under the lock and, on
 * REOPEN, set to in_progress with its CampaignEvent (lifecycle_status_write_tx)
 * and its Redis mirror (r may be NULL: the scheduler's mirror sync repairs
 * it). *n_reopened counts them. Stops at the first database error. */
int reopen_campaigns(pg_conn_t *db, redis_t *r, const char *redis_prefix, int64_t now_us,
                     int *n_reopened, char *errbuf, size_t errlen) OD_WUR;

#endif

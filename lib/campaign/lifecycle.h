/*
 * lifecycle.h — campaign status changes (docs/architecture.md §4), shared by the
 * API (start, pause, resume) and the scheduler (completion, pause on
 * insufficient balance).
 *
 *   draft --start--> in_progress <--pause/resume--> paused
 *   in_progress --(nothing left to call)--> completed --resume--> in_progress
 *
 * A completed campaign the API archived (campaign.archived_at) stays
 * completed: resume refuses it (invalid_state).
 *
 * Each change is one transaction that locks the campaign row, checks the
 * requirements, updates status, pause_reason and status_changed_at, writes
 * a CampaignEvent to the outbox and NOTIFYs the scheduler (channel
 * LIFECYCLE_NOTIFY_CHANNEL, payload the campaign id) so that a started
 * campaign is dispatched at once. After the commit the status is mirrored
 * to Redis for the dialers (rkeys_campaign); the scheduler re-mirrors every
 * running and paused campaign on each tick, so a mirror write lost to a
 * crash is repaired within a tick.
 */
#ifndef OUTDIAL_LIFECYCLE_H
#define OUTDIAL_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "outbox.h"
#include "pg.h"
#include "redis.h"

#define LIFECYCLE_NOTIFY_CHANNEL "outdial_scheduler"
#define LIFECYCLE_PROBLEMS_MAX   6

typedef enum lifecycle_action {
    LIFECYCLE_START = 0, /* draft -> in_progress */
    LIFECYCLE_PAUSE,     /* in_progress -> paused (reason "user" unless given) */
    LIFECYCLE_RESUME,    /* paused or completed -> in_progress */
} lifecycle_action_t;

/* One unmet requirement: code is a constant ("no_phone_number",
 * "insufficient_balance", "no_leads", "invalid_leads", "invalid_state"). */
typedef struct lifecycle_problem {
    const char *code;
    char message[240];
} lifecycle_problem_t;

typedef struct lifecycle_result {
    model_campaign_status_t old_status;
    model_campaign_status_t new_status;
    size_t n_problems;
    lifecycle_problem_t problems[LIFECYCLE_PROBLEMS_MAX];
} lifecycle_result_t;

/* Applies action to the account's campaign at campaign time now_us.
 * OD_OK: done (pausing a paused campaign is OD_OK with no change).
 * OD_ERR_NOT_FOUND: no such campaign in this account (also for a malformed id).
 * OD_ERR_CONFLICT: refused; res lists every unmet requirement, not the first.
 * Others: database errors, message in errbuf.
 * r may be NULL (no mirror write; the scheduler repairs it). */
int lifecycle_campaign_apply(pg_conn_t *db, redis_t *r, const char *redis_prefix,
                             const char *account_id, const char *campaign_id,
                             lifecycle_action_t action, const char *reason, int64_t now_us,
                             lifecycle_result_t *res, char *errbuf, size_t errlen) OD_WUR;

/* Inside the caller's open transaction: sets the campaign's status (and
 * pause_reason when paused, else NULL), writes the CampaignEvent to the
 * outbox and NOTIFYs. For the scheduler's own changes. */
int lifecycle_status_write_tx(pg_conn_t *db, const char *account_id, const char *campaign_id,
                              model_campaign_status_t old_status,
                              model_campaign_status_t new_status, const char *reason,
                              int64_t now_us, char *errbuf, size_t errlen) OD_WUR;

/* Whether a campaign locked by a lifecycle_campaigns_move lock statement
 * still moves, from that statement's result (borrowed). */
typedef bool (*lifecycle_still_fn)(const PGresult *lock);

/* The scheduler's automatic moves (completion, reopening): every campaign of
 * candidates (no parameters; rows id, account_id) in its own transaction
 * runs lock ($1 the id, FOR UPDATE); when still(result) says so it moves
 * from -> to with reason (lifecycle_status_write_tx), then its Redis mirror
 * is written (r may be NULL) and it is logged as event log_event.
 * *n_moved counts them. Stops at the first database error. */
int lifecycle_campaigns_move(pg_conn_t *db, redis_t *r, const char *redis_prefix,
                             const pg_stmt_t *candidates, const pg_stmt_t *lock,
                             lifecycle_still_fn still, model_campaign_status_t from,
                             model_campaign_status_t to, const char *reason, const char *log_event,
                             int64_t now_us, int *n_moved, char *errbuf, size_t errlen) OD_WUR;

/* Writes the campaign's status to its Redis mirror key. */
int lifecycle_mirror_write(redis_t *r, const char *redis_prefix, const char *campaign_id,
                           model_campaign_status_t status, char *errbuf, size_t errlen) OD_WUR;

/* Queues msg (already encoded) for topic in the outbox, inside the caller's
 * transaction. topic is the suffix-built full name. */
int lifecycle_outbox_add_tx(pg_conn_t *db, const char *topic, const char *key,
                            const uint8_t *payload, size_t len, char *errbuf, size_t errlen) OD_WUR;

/* The same insert as a statement for a pipeline: lib/store/outbox.h's
 * item (topic and key borrowed, the payload copied as hex text, freed by
 * lifecycle_outbox_item_free). */
typedef outbox_item_t lifecycle_outbox_item_t;

void lifecycle_outbox_item_init(lifecycle_outbox_item_t *item, const char *topic, const char *key,
                                const uint8_t *payload, size_t len);
void lifecycle_outbox_item_free(lifecycle_outbox_item_t *item);

#endif

/*
 * lead_finish.h — what follows a lead's end, written once for the API (a
 * lead set to completed by hand, contacts added) and the scheduler (a call
 * result that ends the lead):
 *   - the lead_finished CampaignEvent, queued in the outbox (lifecycle.h);
 *   - the step of the lead's contact group: lib/rules/contacts decides
 *     whether the next secondary becomes due or the rest of the group is
 *     completed (outcome answered, each with its own lead_finished event).
 * Everything runs inside the caller's open transaction; nothing commits.
 */
#ifndef OUTDIAL_LEAD_FINISH_H
#define OUTDIAL_LEAD_FINISH_H

#include <stdint.h>

#include "err.h"
#include "lifecycle.h"
#include "model.h"
#include "pg.h"
#include "topics.h"

/* A lead's end, as its lead_finished CampaignEvent tells it. The strings
 * are borrowed. */
typedef struct lead_finish {
    const char *account_id;
    const char *campaign_id;
    const char *lead_id;
    model_lead_status_t status; /* completed or max_retries */
    model_outcome_t outcome;
    model_goal_t goal; /* ABSENT when not reported */
    int64_t at_us;     /* campaign time */
} lead_finish_t;

/* The event as a pipeline statement (pg_pipeline_exec): item's stmt and
 * params. The topic name lives here; the campaign id (the message key) is
 * borrowed from the lead_finish_t and must outlive the statement. Free with
 * lead_finish_event_free (also after a failed init; a zeroed one is fine). */
typedef struct lead_finish_event {
    char topic[TOPIC_NAME_MAX + 1];
    lifecycle_outbox_item_t item;
} lead_finish_event_t;

int lead_finish_event_init(lead_finish_event_t *fe, const lead_finish_t *lf, char *errbuf,
                           size_t errlen) OD_WUR;
void lead_finish_event_free(lead_finish_event_t *fe);

/* Queues the event in the outbox now. */
int lead_finish_event_tx(pg_conn_t *db, const lead_finish_t *lf, char *errbuf,
                         size_t errlen) OD_WUR;

/* A lead completed outside a call (by hand: outcome manual; by its contact
 * group: answered), in the caller's transaction: its status, outcome and
 * current attempt (none), and its event. Not the group step. */
int lead_finish_completed_tx(pg_conn_t *db, const char *account_id, const char *campaign_id,
                             const char *lead_id, model_outcome_t outcome, int64_t at_us,
                             char *errbuf, size_t errlen) OD_WUR;

/* Locks a contact group ($1: the primary's id): its leads in contact order,
 * columns id, status, due (has a next attempt time), contact_order. For a
 * pipeline; lead_finish_group_apply_tx takes its result. */
extern const pg_stmt_t lead_finish_group_stmt;

/* Applies the contact-group step to group (a result of
 * lead_finish_group_stmt, read by column name; borrowed) at at_us: the
 * secondary whose turn it is made due, or the open members completed with
 * their events. A group of one lead (no secondaries) changes nothing. */
int lead_finish_group_apply_tx(pg_conn_t *db, const char *account_id, const char *campaign_id,
                               const PGresult *group, int64_t at_us, char *errbuf,
                               size_t errlen) OD_WUR;

/* Locks the group of primary_id and applies the step. */
int lead_finish_group_step_tx(pg_conn_t *db, const char *account_id, const char *campaign_id,
                              const char *primary_id, int64_t at_us, char *errbuf,
                              size_t errlen) OD_WUR;

#endif

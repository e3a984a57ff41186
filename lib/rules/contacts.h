/*
 * contacts.h — secondary contacts and campaign completion.
 *
 * A contact group is a primary lead and its secondary contacts (leads whose
 * parent_lead_id is the primary), in contact order. Secondaries wait
 * (status created, no due time) while the primary is being called. When the
 * primary ends without success (max_retries: exhausted, permanent failure,
 * DNC), the secondaries are called in contact order, one at a time, each
 * with the campaign's retry rules; the next one becomes due only when the
 * one before it ended max_retries. When any contact of the group ends
 * completed, the others that have not ended are completed with outcome
 * answered and are not called.
 *
 * A running campaign is complete when no lead can still be called: none is
 * created (due or waiting), scheduled, processing or rescheduled.
 *
 * Pure functions over arrays the caller reads from the database; no I/O.
 */
#ifndef OUTDIAL_CONTACTS_H
#define OUTDIAL_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"

/* One lead of a group, as stored. */
typedef struct contacts_member {
    model_lead_status_t status;
    bool due;          /* has a next attempt time (created and due, or rescheduled) */
    int contact_order; /* 0 for the primary; secondaries 1, 2, ... */
} contacts_member_t;

/* What to do with one member after contacts_group_step(). */
typedef enum contacts_action {
    CONTACTS_ACTION_NONE = 0,
    CONTACTS_ACTION_MAKE_DUE, /* a waiting secondary's turn: set next_attempt_at = now */
    CONTACTS_ACTION_COMPLETE, /* status completed, outcome answered: the group is done */
} contacts_action_t;

/* Looks at a group after any of its leads changed status and says what to
 * do with each member: actions[i] for members[i] (n entries). members may
 * be in any order; contact_order decides, and must be distinct. The primary
 * (contact_order 0) must be present. Sets *n_changed to the number of
 * members whose action is not NONE. OD_ERR_INVALID for a malformed group. */
int contacts_group_step(const contacts_member_t *members, size_t n, contacts_action_t *actions,
                        size_t *n_changed, char *errbuf, size_t errlen) OD_WUR;

/* Whether a group is finished: some member completed, or every member
 * ended max_retries. */
bool contacts_group_is_finished(const contacts_member_t *members, size_t n);

/* Whether a lead in this status can still be called (counts against
 * campaign completion): created, scheduled, processing, rescheduled. */
bool contacts_status_is_open(model_lead_status_t status);

/* Whether a running campaign whose leads have these counts per status
 * (indexed by model_lead_status_t) is complete. */
bool contacts_campaign_is_complete(const int64_t counts[MODEL_LEAD_STATUS_COUNT]);

#endif

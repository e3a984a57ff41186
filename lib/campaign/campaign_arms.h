/*
 * campaign_arms.h — a campaign's A/B arms as the scheduler dials them: each
 * arm's assistant with its outbound number and provider ids, read from
 * PostgreSQL, and the arm of a lead (stored, else picked by
 * lib/rules/ab_arm.h). Shared by dispatch (first dispatch picks and stores
 * the arm) and recovery (a re-issued job keeps it), so that every job of a
 * lead carries the same assistant.
 */
#ifndef OUTDIAL_CAMPAIGN_ARMS_H
#define OUTDIAL_CAMPAIGN_ARMS_H

#include <stddef.h>

#include "ab_arm.h"
#include "pg.h"
#include "sched_campaign.h"

/* One arm: its assistant and what a dial job needs of it (the fields of
 * sched_campaign_t that name the assistant). */
typedef struct campaign_arm {
    char assistant_id[UUID_STR_LEN];
    char caller_id[32]; /* "" when the assistant has no outbound number */
    char provider[32];
    char provider_assistant_id[128];
    char provider_phone_number_id[128];
    sched_caller_pool_t caller_pool; /* the assistant's outbound numbers */
} campaign_arm_t;

typedef struct campaign_arms {
    campaign_arm_t arms[AB_ARMS_MAX];
    int weights[AB_ARMS_MAX];
    size_t n; /* 0: the campaign has no arms (its one assistant calls) */
} campaign_arms_t;

/* Loads the arms of campaign_id into *out, in their order (n = 0 when the
 * campaign has none). One statement. Errors: the database's, or
 * OD_ERR_INTERNAL when a stored arm's assistant is gone or its weight is out
 * of range (the API checks both, so this is defence), errbuf naming it. */
int campaign_arms_load(pg_conn_t *db, const char *campaign_id, campaign_arms_t *out, char *errbuf,
                       size_t errlen) OD_WUR;

/* The arm of a lead: stored_arm when it is one of arms (0..n-1), else the
 * pick of ab_arm_pick(lead_id). -1 when arms has none. */
int campaign_arms_lead_arm(const campaign_arms_t *arms, const char *lead_id, int stored_arm);

/* c as arm's assistant dials: a copy of c with the arm's outbound number
 * and provider ids in place of the campaign assistant's. */
void campaign_arm_apply(const campaign_arm_t *arm, const sched_campaign_t *c,
                        sched_campaign_t *out);

#endif

/*
 * campaign_legal.h — a lead's legal calling rules, from its campaign's
 * account: the account's overrides read from PostgreSQL, the callee's
 * jurisdiction and zones worked out (lib/rules/legal_slot.h). Shared by the
 * scheduler's dispatch and recovery and by the API's eligibility answer, so
 * that all three judge a lead by the same rules.
 */
#ifndef OUTDIAL_CAMPAIGN_LEGAL_H
#define OUTDIAL_CAMPAIGN_LEGAL_H

#include "legal_slot.h"
#include "pg.h"
#include "sched_campaign.h"

/* Loads the legal settings of c's account into *out: the compiled-in pack,
 * c->legal_profile and, unless the profile is none, the account's
 * overrides (one statement). The caller frees with legal_account_clear().
 * Errors: the database's; OD_ERR_INTERNAL when the compiled-in pack or the
 * stored overrides do not parse (the API validates them, so this is
 * defence), with errbuf saying which. */
int campaign_legal_load(pg_conn_t *db, const sched_campaign_t *c, legal_account_t *out,
                        char *errbuf, size_t errlen) OD_WUR;

/* One lead's legal side: the rules that apply and the zones they are read in. */
typedef struct lead_legal {
    legal_rules_t rules;                     /* entries borrowed from the legal_account_t */
    char jurisdiction[LEAD_REGION_CODE_MAX]; /* "" when unknown */
    lead_tz_t callee_tz; /* zones borrowed from the lead_tz argument or the static table */
} lead_legal_t;

/* Works out the legal side of a lead of c (lead_tz, state may be "" or
 * NULL) under acct at now_us. The callee's zones are the lead's own
 * timezone, else its number's prefix zones, else the assistant's (a lead
 * timezone that is not a valid zone falls back to the prefix, as
 * sched_lead_window() does). Errors: OD_ERR_INVALID for a state that is no
 * jurisdiction code or an unusable assistant zone. */
int campaign_lead_legal(const sched_campaign_t *c, const legal_account_t *acct, const char *lead_tz,
                        const char *e164, const char *state, int64_t now_us, lead_legal_t *out,
                        char *errbuf, size_t errlen) OD_WUR;

#endif

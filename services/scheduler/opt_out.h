/*
 * opt_out.h — what a call on which the callee opted out writes
 * (results_decide.h, "Opt-out"; docs/compliance.md), inside the results
 * transaction, after the event's own writes:
 *   - the number goes on the account's DNC list: source call, the call's
 *     attempt id, added at the campaign time of the result (an entry the
 *     number already has is kept);
 *   - every other lead of the account with that number that is waiting
 *     (created or rescheduled) ends max_retries (dnc), with its
 *     lead_finished event and its contact group's step; one scheduled or
 *     processing is refused by the dialer's DNC check (mirrored after the
 *     commit, opt_out_mirror) and ends the same way on the skip.
 */
#ifndef OUTDIAL_OPT_OUT_H
#define OUTDIAL_OPT_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pg.h"
#include "redis.h"

/* In the caller's open transaction; nothing commits. *n_stopped receives
 * the number of other leads ended. */
int opt_out_apply_tx(pg_conn_t *db, const char *account_id, const char *e164, const char *call_id,
                     const char *lead_id, int64_t now_us, size_t *n_stopped, char *errbuf,
                     size_t errlen) OD_WUR;

/* After the commit: the number into the account's DNC mirror (rkeys_dnc).
 * A failure is logged; the API's DNC sync repairs it within its period. */
void opt_out_mirror(redis_t *r, const char *redis_prefix, const char *account_id, const char *e164);

#endif

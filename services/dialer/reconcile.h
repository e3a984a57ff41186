/*
 * reconcile.h — the calls this dialer placed (or took over), until they
 * end: their line locks extended while they run, and a lookup
 * (GET /call/{id}) for those whose end-of-call report is overdue, whose
 * terminal event then carries the id the report's would have had
 * (docs/dialer.md, "Reconciliation"). Runs on the dial loop's thread; it
 * needs only what reconcile_env_t lists.
 */
#ifndef OUTDIAL_DIALER_RECONCILE_H
#define OUTDIAL_DIALER_RECONCILE_H

#include <stdint.h>

#include <curl/curl.h>

#include "calls.h"
#include "dialer_config.h"
#include "dialer_metrics.h"
#include "line_locks.h"
#include "notes.h"
#include "provider.h"
#include "publisher.h"
#include "transfer.h"

typedef struct reconcile_env {
    const dialer_config_t *cfg; /* its providers look the calls up */
    call_table_t *calls;
    loop_redis_t *lr;    /* line lock renewals */
    line_locks_t *lines; /* released once the terminal event is out */
    transfers_t *xfers;  /* the lookups */
    publisher_t *pub;    /* the terminal events */
    note_queue_t *notes; /* their acknowledgements (NOTE_RECONCILED) */
    const dialer_metrics_t *m;
} reconcile_env_t;

typedef struct reconcile {
    reconcile_env_t env;
    int64_t next_sweep_real_us;
} reconcile_t;

void reconcile_init(reconcile_t *r, const reconcile_env_t *env);
/* Every loop turn; works every RECONCILE_SWEEP_US: forgets finished calls,
 * extends line locks of calls still running, looks up calls whose end is
 * overdue. */
void reconcile_sweep(reconcile_t *r);
/* A lookup (XFER_LOOKUP) finished with libcurl's result crc; x stays the
 * caller's. */
void reconcile_lookup_done(reconcile_t *r, const xfer_t *x, CURLcode crc);
/* A NOTE_RECONCILED: the lookup's terminal event delivered or failed. */
void reconcile_note(reconcile_t *r, const dial_note_t *n);

#endif

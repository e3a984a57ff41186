/*
 * calls.h — the calls this dialer placed and has not seen end, in memory.
 *
 * Shared by the dial loop (which adds, sweeps and removes records) and the
 * webhook threads (which read and update them through the functions at the
 * end of this file), under one mutex. A record
 * is created just before its create-call request and removed by the dial
 * loop only, once the call's terminal event is acknowledged, the request
 * failed, or reconciliation gave up. Webhook threads therefore look a
 * record up again by attempt id after every wait instead of keeping a
 * pointer across it.
 *
 * The `init` state orders the attempt's "initiated" event before its
 * webhook events: the provider may send the first webhook before the
 * create-call answer reaches us, and the answer may never come (a timeout)
 * while the webhooks do. Whoever moves init from NONE to PUBLISHING
 * publishes "initiated"; the others wait for DONE (bounded).
 */
#ifndef OUTDIAL_DIALER_CALLS_H
#define OUTDIAL_DIALER_CALLS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "predial.h"
#include "provider.h"
#include "uuid.h"

struct dial_job;

typedef enum call_init {
    CALL_INIT_NONE = 0,   /* not published; nobody is publishing it */
    CALL_INIT_PUBLISHING, /* one thread is publishing "initiated" */
    CALL_INIT_DONE,       /* acknowledged by Kafka */
    CALL_INIT_ABANDONED,  /* the call was not placed (or never confirmed): no "initiated" */
} call_init_t;

typedef struct dial_call {
    struct dial_call *hnext;       /* hash chain */
    struct dial_call *prev, *next; /* every record, for sweeps */
    provider_attempt_t attempt;
    char e164[PROVIDER_E164_MAX];
    char provider_call_id[PROVIDER_CALL_ID_MAX];
    const provider_ops_t *ops; /* its provider (looked up with it); NULL: unknown */
    call_init_t init;
    bool posting;               /* the create-call request has not been answered */
    bool terminal_done;         /* the terminal event is acknowledged */
    int64_t reconcile_after_us; /* real time from initiated to the first lookup */
    int64_t initiated_real_us;  /* 0 until init is DONE */
    int64_t reconcile_at_real_us;
    int64_t ended_seen_real_us; /* a status-update "ended" arrived (0: none yet) */
    /* The pre-dial check's answer (NONE: none), set by the dial loop before
     * the create-call request, for an "initiated" a webhook thread sends. */
    model_predial_result_t predial_result;
    int64_t predial_latency_ms;
    char predial_reason[PREDIAL_REASON_MAX];
    /* The number the call comes from (the caller-ID pool's pick), set by
     * the dial loop before the create-call request, for the same event. */
    char caller_id[PROVIDER_E164_MAX];

    /* Below: the dial loop's alone (never touched by webhook threads). */
    bool lock_held;             /* the line lock is ours (as far as we know) */
    int64_t lock_lease_ms;      /* real */
    int64_t lock_renew_real_us; /* when to extend it */
    bool registered;            /* in this dialer's registry of calls in flight (registry.h) */
    bool lookup_in_flight;
    int lookups;
    int64_t next_lookup_real_us;
    struct dial_job *job; /* the dial loop's job waiting on this call (jobs.c), or NULL */
} dial_call_t;

/* A growable list of attempt ids. */
typedef struct call_ids {
    char (*ids)[UUID_STR_LEN];
    size_t n, cap;
} call_ids_t;

typedef struct call_table {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* broadcast on every change of init or posting */
    dial_call_t **buckets;
    size_t nbuckets;
    size_t count;
    dial_call_t *head; /* list of every record */
    /* Work for the registry (registry.c), taken by the dial loop: calls
     * whose provider call id became known, and registered calls removed. */
    call_ids_t reg_new;
    call_ids_t reg_gone;
} call_table_t;

void call_table_init(call_table_t *t);
/* Frees every record. No thread may use the table any more. */
void call_table_destroy(call_table_t *t);

/* The functions below need t->mu held by the caller. */

dial_call_t *call_table_find(call_table_t *t, const char *attempt_id);
/* A new record for attempt (zeroed but for the attempt); the caller fills
 * the rest. The table owns it. */
dial_call_t *call_table_add(call_table_t *t, const provider_attempt_t *attempt);
/* Unlinks and frees c (queueing its attempt id on reg_gone when it was
 * registered). */
void call_table_remove(call_table_t *t, dial_call_t *c);
/* Waits for a broadcast until the real-time deadline (µs since the epoch). */
void call_table_wait(call_table_t *t, int64_t deadline_real_us);
/* Sets init DONE and starts the reconciliation clock. */
void call_mark_initiated(dial_call_t *c, int64_t now_real_us);
/* Records the provider's id of c's call (when c has none yet) and queues c
 * for the registry. */
void call_set_provider_id(call_table_t *t, dial_call_t *c, const char *provider_call_id);

/* The webhook threads' side: these take t->mu themselves. */

/* Orders a call's "initiated" before its webhook events. For a call this
 * dialer is placing, waits (until deadline_real_us) while the dial loop may
 * still publish "initiated". Returns true when the caller must publish it
 * itself: the create-call answer never came (or is late) and this webhook
 * proves the call exists. init is then PUBLISHING (provider_call_id
 * recorded) and the caller reports the outcome with
 * call_table_init_settle(). False when the call is not this dialer's,
 * "initiated" is out, or the wait ran out. */
bool call_table_init_claim(call_table_t *t, const char *attempt_id, const char *provider_call_id,
                           int64_t deadline_real_us);
/* The claimed "initiated" was acknowledged (ok: DONE) or not (back to NONE,
 * for the dial loop or the next webhook). */
void call_table_init_settle(call_table_t *t, const char *attempt_id, bool ok, int64_t now_real_us);
/* A status-update "ended" came (the first one starts the report grace). */
void call_table_ended_seen(call_table_t *t, const char *attempt_id, int64_t now_real_us);
/* Whether the call's terminal event is out (false for calls not tracked). */
bool call_table_terminal_done(call_table_t *t, const char *attempt_id);
/* The terminal report's event is out: marks the call so. When e164 is
 * empty, copies the call's number into it (if the call is tracked). */
void call_table_mark_terminal(call_table_t *t, const char *attempt_id,
                              char e164[PROVIDER_E164_MAX]);

/* Appends id to l. */
void call_ids_push(call_ids_t *l, const char *id);
/* Frees l's array; l is empty afterwards. */
void call_ids_clear(call_ids_t *l);

#endif

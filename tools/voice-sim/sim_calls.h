/*
 * sim_calls.h — the simulator's call log: one record per POST /call it
 * received, what it decided, what happened and which webhooks went out.
 *
 * Records stay in memory for the whole run (GET /sim/calls, /sim/stats and
 * /sim/invariants read them) and are never removed, so pointers to them are
 * stable. The log does no locking of its own: the simulator holds its lock
 * around every call here.
 */
#ifndef OUTDIAL_SIM_CALLS_H
#define OUTDIAL_SIM_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sim_rules.h"

/* The server messages of one call, in their natural order. */
typedef enum sim_hook_kind {
    SIM_HOOK_RINGING = 0,     /* status-update ringing */
    SIM_HOOK_IN_PROGRESS = 1, /* status-update in-progress */
    SIM_HOOK_ENDED = 2,       /* status-update ended */
    SIM_HOOK_REPORT = 3,      /* end-of-call-report */
    SIM_HOOK_KINDS = 4,
} sim_hook_kind_t;

typedef enum sim_hook_result {
    SIM_HOOK_PENDING = 0, /* queued or on the wire */
    SIM_HOOK_SENT,        /* the receiver answered 2xx */
    SIM_HOOK_FAILED,      /* non-2xx, network error, timeout, no URL, or shutdown */
    SIM_HOOK_DROPPED,     /* the lost-webhook fault: never sent */
} sim_hook_result_t;

/* "status-update" or "end-of-call-report". */
const char *sim_hook_type(sim_hook_kind_t kind);
/* The status of a status-update ("ringing", ...); NULL for the report. */
const char *sim_hook_status(sim_hook_kind_t kind);
const char *sim_hook_result_name(sim_hook_result_t result);

/* One webhook of a call. */
typedef struct sim_hook {
    sim_hook_kind_t kind;
    bool duplicate; /* the second copy of a duplicated message */
    sim_hook_result_t result;
    long http_status;   /* the receiver's answer; 0 when none */
    char error[128];    /* why it failed */
    int64_t created_us; /* campaign time of the event it reports */
    int64_t sent_us;    /* campaign time it went out; 0 if it never did */
    int order;          /* 1, 2, ...: the order in which the call's hooks went out */
} sim_hook_t;

typedef struct sim_msg sim_msg_t;           /* a webhook being delivered (sim_engine.c) */
typedef struct sim_protocol sim_protocol_t; /* sim_protocol.h */

typedef struct sim_call {
    char id[40];                    /* UUID-shaped provider call id */
    uint64_t seq;                   /* 1, 2, ... in arrival order */
    const sim_protocol_t *protocol; /* the API it was placed through; its webhooks speak it */

    /* From the request (owned; NULL when absent). */
    char *number;
    char *customer_name;
    char *attempt_id;
    char *lead_id;
    char *campaign_id;
    char *assistant_id;
    char *phone_number_id;
    char *from_number;    /* the calling number, when the request named one */
    json_t *metadata;     /* the request's metadata object */
    json_t *overrides;    /* the request's assistantOverrides object */
    char *webhook_url;    /* where its webhooks go; NULL: nowhere */
    char *webhook_secret; /* sent as x-vapi-secret */
    char *fault_key;      /* attempt id, or the call id without one */
    uint64_t attempt_nth; /* POSTs with the same fault key before this one */

    /* The answer to the POST. */
    bool placed;          /* a call was placed (201) */
    int http_status;      /* 201, 429, 500, 503 */
    const char *rejected; /* why not placed: "capacity", "fault-5xx", "transient-failure" */
    bool decided;         /* decision holds the rules' outcome */
    bool first_to_number; /* decided, and no call to its number was decided before it */
    sim_decision_t decision;
    sim_request_faults_t faults;

    /* Campaign times in µs since the Unix epoch; 0: not (yet). */
    int64_t received_us;
    int64_t received_real_us; /* real time of the POST, the base of the timers */
    int64_t answer_plan_us;   /* when it will be answered (answered outcomes) */
    int64_t end_plan_us;      /* when it will end */
    int64_t ringing_us;
    int64_t answered_us;
    int64_t ended_us;
    const char *status; /* "queued", "ringing", "in-progress", "ended"; "rejected" if not placed */

    sim_hook_t *hooks; /* in the order they were made */
    size_t nhooks;
    int hooks_sent; /* how many went out (numbers sim_hook_t.order) */
    bool finished;  /* ended and every hook settled; the log line is written */
    bool aborted;   /* the simulator stopped before the call finished */

    /* Engine state, touched only by the engine thread. */
    int next_step;     /* 0 ring, 1 answer, 2 end, 3 nothing left */
    sim_msg_t *q_head; /* messages waiting, sent one at a time in order */
    sim_msg_t *q_tail;
    sim_msg_t *held; /* a late in-progress, sent after the report */
    bool sending;    /* one of its messages is on the wire */
    bool waiting;    /* on the engine's list of calls waiting for a slot */
    struct sim_call *wait_next;
} sim_call_t;

/* A new, empty record (caller fills it; free with sim_call_free()). */
sim_call_t *sim_call_new(void);
void sim_call_free(sim_call_t *call);

/* Appends a hook in state result; returns its index in call->hooks. */
size_t sim_call_hook_add(sim_call_t *call, sim_hook_kind_t kind, bool duplicate,
                         sim_hook_result_t result, int64_t created_us);

/* The record as JSON (GET /sim/calls and the --log-file line); caller
 * json_decref()s. */
json_t *sim_call_to_json(const sim_call_t *call);

typedef struct sim_map_entry sim_map_entry_t;
typedef struct sim_map {
    sim_map_entry_t **buckets;
    size_t nbuckets;
    size_t count;
} sim_map_t;

typedef struct sim_calls {
    sim_call_t **calls; /* owned, in arrival order */
    size_t n;
    size_t cap;
    sim_map_t by_id;  /* call id -> call */
    sim_map_t by_key; /* fault key -> POSTs seen */
} sim_calls_t;

void sim_calls_init(sim_calls_t *log);
/* Frees every record. */
void sim_calls_clear(sim_calls_t *log);

/* Takes ownership of call. */
void sim_calls_add(sim_calls_t *log, sim_call_t *call);
/* NULL when unknown. */
sim_call_t *sim_calls_find(const sim_calls_t *log, const char *id);
/* How many POSTs with this key came before, and counts this one. */
uint64_t sim_calls_key_bump(sim_calls_t *log, const char *key);

/* {"count":N,"calls":[record...]} of the records matching every filter
 * given (NULL: any). Caller json_decref()s. */
json_t *sim_calls_query(const sim_calls_t *log, const char *number, const char *campaign_id,
                        const char *attempt_id);

/*
 * The invariants the dialer must keep, computed from the placed calls:
 *   double_dials            attempt ids placed more than once (extra calls)
 *   concurrent_same_number  pairs of calls to one number whose
 *                           [received, ended] intervals overlap (a call not
 *                           ended yet counts until its planned end)
 * {"ok":bool,"double_dials":N,"concurrent_same_number":N,
 *  "double_dialed":[{"attempt_id":..,"calls":[ids]}],
 *  "overlapping":[{"number":..,"calls":[id,id]}]}. Caller json_decref()s.
 */
json_t *sim_calls_invariants(const sim_calls_t *log, uint64_t *double_dials,
                             uint64_t *concurrent_same_number);

/* Counts per outcome, rejection and webhook result (part of /sim/stats). */
json_t *sim_calls_counts(const sim_calls_t *log);

#endif

/*
 * sim.h — the simulated voice provider's state: its configuration, rules
 * and faults, the call log, and the timer heap that drives every call.
 *
 * Threads: HTTP request threads place and read calls; one engine thread
 * (sim_engine.c) fires call steps from the heap and delivers webhooks with
 * libcurl's multi interface. One mutex, sim->lock, guards everything
 * mutable here; nothing slow (network I/O, sleeps) happens while it is
 * held.
 */
#ifndef OUTDIAL_SIM_H
#define OUTDIAL_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "clock.h"
#include "err.h"
#include "metrics.h"
#include "sim_calls.h"
#include "sim_heap.h"
#include "sim_rules.h"
#include "sim_vapi.h"

typedef struct sim_engine sim_engine_t;

typedef struct sim_config {
    const char *api_key;            /* required: Authorization: Bearer <api_key> */
    const char *webhook_url;        /* default server URL; NULL: only per-call URLs */
    const char *webhook_secret;     /* default x-vapi-secret */
    const char *retell_webhook_url; /* where Retell calls' webhooks go (the agent's URL) */
    uint64_t seed;
    bool instant;              /* zero ring and talk time, whatever the rules say */
    int64_t max_concurrent;    /* calls in flight before 429; -1: the rules' value */
    const char *log_file;      /* one JSON line per finished call; NULL: none */
    long webhook_timeout_ms;   /* per webhook request */
    unsigned webhook_parallel; /* webhook requests on the wire at once */
} sim_config_t;

/* Webhook deliveries the receiver gets at most ten seconds for: half of
 * what the provider allows (20 s), so a stuck receiver shows up quickly in
 * tests. */
#define SIM_WEBHOOK_TIMEOUT_MS_DEFAULT 10000
/* Webhook requests on the wire at once, each on its own kept-alive
 * connection: thousands of messages a second on loopback, and well below
 * lib/web/http's default limit of 64 connections from one address, which a
 * receiver built on it would otherwise enforce by resetting connections. */
#define SIM_WEBHOOK_PARALLEL_DEFAULT 32

typedef struct sim_metrics {
    metrics_counter_t *calls[SIM_OUTCOME_COUNT];
    metrics_counter_t *rejected_capacity;
    metrics_counter_t *rejected_5xx;
    metrics_counter_t *rejected_transient;
    metrics_counter_t *rejected_auth;
    metrics_counter_t *rejected_invalid;
    metrics_counter_t *hooks_sent;
    metrics_counter_t *hooks_failed;
    metrics_counter_t *hooks_dropped;
    metrics_counter_t *hooks_duplicated;
    metrics_gauge_t *in_flight;
    metrics_histogram_t *hook_seconds;
} sim_metrics_t;

typedef struct sim {
    sim_config_t cfg;
    od_clock_t clk;
    sim_rules_t *rules; /* owned; read-only once the simulator runs */

    pthread_mutex_t lock;
    pthread_cond_t stop_cond; /* broadcast when stopping, ends delays early */
    bool stopping;
    sim_faults_t faults; /* current faults (rules, then POST /sim/faults) */
    sim_calls_t log;
    sim_heap_t heap;       /* items are sim_call_t *, due at their next step */
    int64_t in_flight;     /* placed and not yet ended */
    int64_t max_in_flight; /* the most seen at once */
    uint64_t unauthorized; /* POST /call refused 401 */
    uint64_t bad_requests; /* POST /call refused 400 */
    uint64_t next_seq;
    int log_fd; /* -1: no log file */

    sim_engine_t *engine;
    sim_metrics_t metrics;
} sim_t;

/*
 * A simulator with cfg (strings borrowed: they must outlive it), the clock,
 * and rules (taken over, also on failure). Registers its metrics in reg
 * (borrowed) and opens the log file. Free with sim_free().
 */
int sim_new(const sim_config_t *cfg, const od_clock_t *clk, sim_rules_t *rules,
            metrics_registry_t *reg, sim_t **out, char *errbuf, size_t errlen) OD_WUR;

/* Starts the engine thread. */
int sim_start(sim_t *sim, char *errbuf, size_t errlen) OD_WUR;

/* Marks the simulator stopping: delays end early, new calls get 503. Call
 * before stopping the HTTP server so its handlers return promptly. */
void sim_begin_stop(sim_t *sim);

/* Stops the engine: webhooks already on the wire get up to drain_ms to
 * finish; calls not finished then are dropped (logged "aborted"). Returns
 * how many calls were dropped. */
size_t sim_stop(sim_t *sim, int64_t drain_ms);

/* Stops (if needed) and frees. NULL is a no-op. */
void sim_free(sim_t *sim);

/* An HTTP answer: status, body (owned, JSON), and how long to hold it. */
typedef struct sim_answer {
    int status;
    char *body;
    int64_t delay_ms;
    const char *retry_after; /* Retry-After value, or NULL */
} sim_answer_t;

/* Places a call through proto's API (POST /call, POST
 * /v2/create-phone-call) with an authenticated, validated request (its
 * contents are moved into the call record; req is cleared). */
void sim_call_place(sim_t *sim, const sim_protocol_t *proto, sim_call_request_t *req,
                    sim_answer_t *out);

/* The call object through proto's API (GET /call/{id},
 * /v2/get-call/{call_id}); 404 for a call placed through the other. */
void sim_call_get(sim_t *sim, const sim_protocol_t *proto, const char *id, sim_answer_t *out);

/* Counts a refused POST /call (401 or 400) for /sim/stats and /metrics. */
void sim_count_refusal(sim_t *sim, int status);

/* Waits delay_ms of real time, or less if the simulator stops. */
void sim_delay(sim_t *sim, int64_t delay_ms);

/* GET /sim/calls, /sim/stats, /sim/invariants, /sim/faults: JSON text the
 * caller frees. */
char *sim_calls_json(sim_t *sim, const char *number, const char *campaign_id,
                     const char *attempt_id);
char *sim_stats_json(sim_t *sim);
char *sim_invariants_json(sim_t *sim);
char *sim_faults_json(sim_t *sim);
/* POST /sim/faults; OD_ERR_INVALID with a message for a bad body. */
int sim_faults_update(sim_t *sim, const char *body, size_t len, char *errbuf, size_t errlen) OD_WUR;

/* --- for sim_engine.c (called with sim->lock held) --- */

/* Writes the call's line to the log file (if any) and marks it finished. */
void sim_call_finish(sim_t *sim, sim_call_t *call);

/* JSON text of a value (stolen), freed by the caller with free(). */
char *sim_json_text(json_t *value);

#endif

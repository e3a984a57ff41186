/*
 * sim_state.h — the simulated voice provider's state, shared by the
 * simulator (sim.c, which owns it), its engine thread (sim_engine.c) and
 * the call log file (sim_logfile.c): its configuration, rules and faults,
 * the call log, and the timer heap that drives every call.
 *
 * Threads: HTTP request threads place and read calls; one engine thread
 * (sim_engine.c) fires call steps from the heap and delivers webhooks with
 * libcurl's multi interface. One mutex, sim->lock, guards everything
 * mutable here; nothing slow (network I/O, sleeps) happens while it is
 * held.
 */
#ifndef OUTDIAL_SIM_STATE_H
#define OUTDIAL_SIM_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "metrics.h"
#include "sim_calls.h"
#include "sim_heap.h"
#include "sim_rules.h"

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

#endif

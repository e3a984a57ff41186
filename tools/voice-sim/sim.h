/*
 * sim.h — the simulated voice provider: its lifecycle, placing and reading
 * calls, and the /sim endpoints. Its state (sim_t) is in sim_state.h.
 */
#ifndef OUTDIAL_SIM_H
#define OUTDIAL_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "sim_rules.h"
#include "sim_state.h"
#include "sim_vapi.h"

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

#endif

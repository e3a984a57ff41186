/*
 * sim_engine.h — the one thread that moves every call forward: it pops
 * due steps from the simulator's timer heap (ringing, answered, ended),
 * turns them into server messages, applies the message faults (lost,
 * duplicated, out of order), and POSTs them to the call's server URL with
 * libcurl's multi interface, one message of a call at a time and in order.
 */
#ifndef OUTDIAL_SIM_ENGINE_H
#define OUTDIAL_SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sim_calls.h"
#include "sim_state.h"

/* An engine for sim (borrowed). Free with sim_engine_free(). */
int sim_engine_new(sim_t *sim, sim_engine_t **out, char *errbuf, size_t errlen) OD_WUR;

int sim_engine_start(sim_engine_t *engine, char *errbuf, size_t errlen) OD_WUR;

/* Makes the engine look at the heap again (a call was placed). Any thread. */
void sim_engine_wake(sim_engine_t *engine);

/* Stops the thread: webhooks on the wire get drain_ms to finish, then the
 * rest are cancelled; calls not finished are marked aborted and logged.
 * Returns how many calls were aborted. Idempotent. */
size_t sim_engine_stop(sim_engine_t *engine, int64_t drain_ms);

void sim_engine_free(sim_engine_t *engine);

/* The call's next step into the heap (its due time from the call's
 * campaign schedule, scaled by the clock). With sim->lock held. */
void sim_engine_schedule(sim_t *sim, sim_call_t *call);

#endif

/*
 * sim_logfile.h — the call log file (--log-file): one JSON line per
 * finished call, written by whoever finishes it (the engine thread, or
 * POST /call for a call it rejects).
 */
#ifndef OUTDIAL_SIM_LOGFILE_H
#define OUTDIAL_SIM_LOGFILE_H

#include "sim_calls.h"
#include "sim_state.h"

/* Writes the call's line to the log file (if any) and marks it finished.
 * With sim->lock held. */
void sim_call_finish(sim_t *sim, sim_call_t *call);

#endif

/*
 * sim_logfile.h — the call log file (--log-file): one JSON line per
 * finished call, written by whoever finishes it (the engine thread, or
 * POST /call for a call it rejects).
 */
#ifndef OUTDIAL_SIM_LOGFILE_H
#define OUTDIAL_SIM_LOGFILE_H

#include <stddef.h>

#include "err.h"
#include "sim_calls.h"
#include "sim_state.h"

/* Opens path for appending as sim's log file (sim->log_fd); NULL: no log
 * file. OD_ERR_IO with a message when it cannot be opened. */
int sim_logfile_open(sim_t *sim, const char *path, char *errbuf, size_t errlen) OD_WUR;
/* Closes the log file, if open. */
void sim_logfile_close(sim_t *sim);

/* Writes the call's line to the log file (if any) and marks it finished.
 * With sim->lock held. */
void sim_call_finish(sim_t *sim, sim_call_t *call);

#endif

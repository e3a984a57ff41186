/*
 * ctl_run.h — running a parsed command against the API: the generic
 * request, list, download and export runners (ctl_run.c), which hand the
 * CSV import, the DNC list import and the live view to their own files
 * (ctl_commands.h).
 */
#ifndef OUTDIAL_CTL_RUN_H
#define OUTDIAL_CTL_RUN_H

#include "ctl_ctx.h"

/* Runs args->cmd; returns the exit code (ctl_ctx.h). */
int ctl_run(ctl_ctx_t *ctx);

#endif

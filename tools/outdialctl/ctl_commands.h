/*
 * ctl_commands.h — the commands with a runner of their own, each in its
 * file: the CSV import with its progress (ctl_import.c), the DNC list
 * import (ctl_dnc_import.c) and the live campaign view (ctl_watch.c).
 * ctl_run() calls them; they use only ctl_ctx.h.
 */
#ifndef OUTDIAL_CTL_COMMANDS_H
#define OUTDIAL_CTL_COMMANDS_H

#include "ctl_ctx.h"

int ctl_run_import(ctl_ctx_t *ctx);
int ctl_run_dnc_import(ctl_ctx_t *ctx);
int ctl_run_watch(ctl_ctx_t *ctx);

#endif

/*
 * ctl_ctx.h — what every command's runner shares: its context, the exit
 * codes, the interrupt flag, a monotonic clock and sleep, and one API call
 * (ctl_ctx.c). The runners (ctl_run.c and the commands of ctl_commands.h)
 * build on it; it calls none of them.
 *
 * Exit codes: 0 success, 1 the API refused or could not be reached (the
 * error is on stderr), 2 a usage error (the usage is on stderr).
 */
#ifndef OUTDIAL_CTL_CTX_H
#define OUTDIAL_CTL_CTX_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_http.h"
#include "ctl_spec.h"

#define CTL_EXIT_OK    0
#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2

/* What a running command has. */
typedef struct ctl_ctx {
    ctl_args_t *args;
    ctl_http_t *http;
    FILE *out, *err;
    bool out_tty, err_tty;
} ctl_ctx_t;

/* Set by SIGINT/SIGTERM once ctl_signals_catch() ran. */
extern volatile sig_atomic_t ctl_interrupted;

/* From now on SIGINT and SIGTERM set ctl_interrupted instead of killing
 * the process (for watch and import, which then stop cleanly). */
void ctl_signals_catch(void);

/* Sleeps ms milliseconds, or less when interrupted. */
void ctl_sleep_ms(int64_t ms);

/* Monotonic milliseconds. */
int64_t ctl_now_ms(void);

/* Sends a request and gives the parsed 2xx answer in *answer (NULL for an
 * empty one; the caller decrefs) and the raw response in *raw (may be
 * NULL; the caller clears it). On a transport failure or another status
 * the error is written to ctx->err and CTL_EXIT_FAIL returned; *status_out
 * (may be NULL) gets the HTTP status (0 without one). */
int ctl_call(ctl_ctx_t *ctx, const char *method, const char *path_query, const json_t *body,
             json_t **answer, ctl_response_t *raw, long *status_out);

#endif

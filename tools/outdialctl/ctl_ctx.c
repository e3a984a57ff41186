#include "ctl_ctx.h"

#include <time.h>

#include "ctl_render.h"
#include "signals.h"

volatile sig_atomic_t ctl_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    ctl_interrupted = 1;
}

void ctl_signals_catch(void)
{
    /* No SA_RESTART: a sleep or a poll in libcurl returns early. */
    od_signals_on_stop(on_signal, false);
}

int64_t ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ctl_sleep_ms(int64_t ms)
{
    int64_t until = ctl_now_ms() + ms;
    while (!ctl_interrupted) {
        int64_t left = until - ctl_now_ms();
        if (left <= 0)
            return;
        /* Slices of 100 ms: a signal that lands between the check and the
         * sleep is noticed within one slice. */
        int64_t slice = left < 100 ? left : 100;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int ctl_call(ctl_ctx_t *ctx, const char *method, const char *path_query, const json_t *body,
             json_t **answer, ctl_response_t *raw, long *status_out)
{
    char err[1024];
    ctl_response_t resp;
    *answer = NULL;
    if (status_out)
        *status_out = 0;
    int rc = ctl_http_request(ctx->http, method, path_query, body, &resp, err, sizeof(err));
    if (rc) {
        if (!ctl_interrupted) /* a stopped transfer is the user's doing, not an error */
            fprintf(ctx->err, "error: %s\n", err);
        return CTL_EXIT_FAIL;
    }
    if (status_out)
        *status_out = resp.status;
    if (resp.status < 200 || resp.status >= 300) {
        ctl_render_error(ctx->err, resp.status, resp.body, resp.len);
        ctl_response_clear(&resp);
        return CTL_EXIT_FAIL;
    }
    if (resp.len > 0) {
        json_error_t jerr;
        *answer = json_loadb(resp.body, resp.len, JSON_DECODE_ANY, &jerr);
        if (!*answer) {
            fprintf(ctx->err, "error: the API's answer is not JSON: %s\n", jerr.text);
            ctl_response_clear(&resp);
            return CTL_EXIT_FAIL;
        }
    }
    if (raw)
        *raw = resp;
    else
        ctl_response_clear(&resp);
    return CTL_EXIT_OK;
}

/*
 * ctl_watch.c — `outdialctl watch CAMPAIGN`: every interval, reads the
 * campaign and its statistics and draws them (ctl_render_stats): on a
 * terminal the screen is cleared and redrawn in place; otherwise one block
 * per interval is appended, for logs and tests. Stops when the campaign is
 * completed, after one draw with --once, when --timeout runs out (exit 1),
 * or on Ctrl-C / SIGTERM (exit 0).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_parse.h"
#include "ctl_render.h"
#include "ctl_commands.h"
#include "xmalloc.h"

#define WATCH_INTERVAL_DEFAULT_MS 1000
/* Faster than 10 redraws a second helps nobody and loads the API. */
#define WATCH_INTERVAL_MIN_MS 100
#define WATCH_INTERVAL_MAX_MS (3600 * 1000)

/* One frame; returns CTL_EXIT_OK and sets *completed, or the exit code of
 * an error that ends the watch (*fatal) or not (a 5xx, the API away). */
static int frame(ctl_ctx_t *ctx, const char *campaign_path, const char *stats_path, bool *completed,
                 bool *fatal)
{
    json_t *campaign = NULL, *stats = NULL;
    long status = 0;
    *fatal = false;
    int code = ctl_call(ctx, "GET", campaign_path, NULL, &campaign, NULL, &status);
    if (code == CTL_EXIT_OK)
        code = ctl_call(ctx, "GET", stats_path, NULL, &stats, NULL, &status);
    if (code != CTL_EXIT_OK) {
        *fatal = status >= 400 && status < 500;
        goto out;
    }
    const char *cs = json_string_value(json_object_get(campaign, "status"));
    *completed = cs && strcmp(cs, "completed") == 0;
    if (ctx->args->json) {
        json_t *both = json_object();
        json_object_set(both, "campaign", campaign);
        json_object_set(both, "stats", stats);
        char *text = json_dumps(both, JSON_COMPACT);
        fprintf(ctx->out, "%s\n", text ? text : "{}");
        free(text);
        json_decref(both);
        fflush(ctx->out);
        goto out;
    }
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S", &tm);
    /* Drawn into memory first and written at once: no flicker. */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        fprintf(ctx->err, "error: out of memory\n");
        code = CTL_EXIT_FAIL;
        *fatal = true;
        goto out;
    }
    if (ctx->out_tty)
        fputs("\033[H\033[2J", mem);
    ctl_render_stats(mem, campaign, stats, now);
    if (!ctx->out_tty)
        fputc('\n', mem);
    else if (!*completed)
        fputs("\n(Ctrl-C to stop watching; the campaign goes on)\n", mem);
    fclose(mem);
    fwrite(text, 1, len, ctx->out);
    fflush(ctx->out);
    free(text);
out:
    json_decref(campaign);
    json_decref(stats);
    return code;
}

int ctl_run_watch(ctl_ctx_t *ctx)
{
    ctl_args_t *args = ctx->args;
    char err[256];
    int64_t interval = WATCH_INTERVAL_DEFAULT_MS;
    const char *iv = ctl_args_value(args, "interval-ms");
    if (iv && ctl_int_parse(iv, WATCH_INTERVAL_MIN_MS, WATCH_INTERVAL_MAX_MS, &interval, err,
                            sizeof(err)) != OD_OK) {
        fprintf(ctx->err, "outdialctl: --interval-ms: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    int64_t timeout_ms = 0;
    if (ctl_args_timeout_ms(args, &timeout_ms, err, sizeof(err)) != OD_OK) {
        fprintf(ctx->err, "outdialctl: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    bool once = ctl_args_has(args, "once");
    char *campaign_path = ctl_path_build(args, NULL);
    char *stats_path = xasprintf("%s/stats", campaign_path);
    ctl_signals_catch();
    int64_t start = ctl_now_ms();
    int code = CTL_EXIT_OK;
    for (;;) {
        int64_t tick = ctl_now_ms();
        bool completed = false, fatal = false;
        code = frame(ctx, campaign_path, stats_path, &completed, &fatal);
        if (ctl_interrupted) {
            code = CTL_EXIT_OK; /* the user stopped watching: not a failure */
            break;
        }
        if (fatal || once || completed)
            break;
        if (timeout_ms && ctl_now_ms() - start >= timeout_ms) {
            const char *timeout = ctl_args_value(args, "timeout");
            fprintf(ctx->err, "error: the campaign did not complete within %s%s (--timeout)\n",
                    timeout, strspn(timeout, "0123456789") == strlen(timeout) ? " s" : "");
            code = CTL_EXIT_FAIL;
            break;
        }
        int64_t left = interval - (ctl_now_ms() - tick);
        ctl_sleep_ms(left > 0 ? left : 0);
        if (ctl_interrupted) {
            code = CTL_EXIT_OK;
            break;
        }
    }
    free(campaign_path);
    free(stats_path);
    return code;
}

/*
 * ctl_import.c — `outdialctl import CAMPAIGN FILE`: streams the file to
 * POST /v1/campaigns/{id}/imports (read piece by piece from disk by
 * libcurl's read callback, never whole in memory), with a progress bar on
 * stderr, then follows GET /v1/imports/{id} every second until the import
 * has completed or failed, and prints its summary with the first rejected
 * rows.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_parse.h"
#include "ctl_render.h"
#include "ctl_commands.h"
#include "xmalloc.h"

/* How often the import is asked for its progress: often enough to look
 * live, rare enough to cost the API nothing. */
#define IMPORT_POLL_MS 1000
/* A terminal's bar is redrawn at most this often. */
#define BAR_REDRAW_MS 100
/* Without a terminal, a progress line at most this often. */
#define LINE_EVERY_MS 2000
/* Rejected rows shown in the summary. */
#define SUMMARY_REJECTS 10
#define BAR_WIDTH       30

typedef struct upload_progress {
    ctl_ctx_t *ctx;
    int64_t started_ms;
    int64_t last_ms;
    int64_t sent_ms; /* when the last byte went out (0: not yet) */
    bool drawn;
} upload_progress_t;

static void upload_progress(int64_t sent, int64_t total, void *arg)
{
    upload_progress_t *p = arg;
    int64_t now = ctl_now_ms();
    bool done = total > 0 && sent >= total;
    if (p->ctx->err_tty) {
        if (!done && now - p->last_ms < BAR_REDRAW_MS)
            return;
        char bar[160];
        ctl_progress_format(bar, sizeof(bar), sent, total, BAR_WIDTH, true);
        /* The rate up to the last byte: after it the API is still storing
         * the file, which is not the network's speed. */
        if (done && !p->sent_ms)
            p->sent_ms = now;
        double secs = (double)((p->sent_ms ? p->sent_ms : now) - p->started_ms) / 1000.0;
        char rate[32] = "";
        if (secs > 0.2)
            ctl_bytes_format((int64_t)((double)sent / secs), rate, sizeof(rate));
        fprintf(p->ctx->err, "\r\033[Kupload %s%s%s%s%s", bar, rate[0] ? "  " : "", rate,
                rate[0] ? "/s" : "", done ? "  (the API is storing it)" : "");
        fflush(p->ctx->err);
        p->drawn = true;
    } else {
        if (done || now - p->last_ms < LINE_EVERY_MS)
            return; /* the last line is written once the answer is in */
        char bar[160];
        ctl_progress_format(bar, sizeof(bar), sent, total, BAR_WIDTH, true);
        fprintf(p->ctx->err, "upload %s\n", bar);
    }
    p->last_ms = now;
}

/* The import's progress line on stderr (bar on a terminal). */
static void follow_progress(ctl_ctx_t *ctx, const json_t *imp, int64_t *last_ms, bool *drawn)
{
    int64_t now = ctl_now_ms();
    if (!ctx->err_tty && *last_ms && now - *last_ms < LINE_EVERY_MS)
        return;
    *last_ms = now;
    const json_t *rows = json_object_get(imp, "rows");
    int64_t read = json_integer_value(json_object_get(rows, "read"));
    const char *status = json_string_value(json_object_get(imp, "status"));
    const json_t *progress = json_object_get(imp, "progress");
    char bar[160];
    if (json_is_number(progress))
        ctl_progress_format(bar, sizeof(bar), (int64_t)(json_number_value(progress) * 1000.0), 1000,
                            BAR_WIDTH, false);
    else
        snprintf(bar, sizeof(bar), "waiting for the importer");
    /* The bar's "n / 1000" tail means nothing to people: cut it at the %. */
    char *pct = strchr(bar, '%');
    if (pct && json_is_number(progress))
        pct[1] = '\0';
    if (ctx->err_tty) {
        fprintf(ctx->err, "\r\033[Kimport %s  %s, %" PRId64 " rows read", bar,
                status ? status : "?", read);
        fflush(ctx->err);
        *drawn = true;
    } else {
        fprintf(ctx->err, "import %s  %s, %" PRId64 " rows read\n", bar, status ? status : "?",
                read);
    }
}

static bool import_finished(const json_t *imp)
{
    const char *status = json_string_value(json_object_get(imp, "status"));
    return status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0);
}

int ctl_run_import(ctl_ctx_t *ctx)
{
    ctl_args_t *args = ctx->args;
    const char *file = args->pos[1];
    char err[1024];
    int code = CTL_EXIT_FAIL;
    FILE *f = NULL;
    char *path = NULL, *extra = NULL, *imp_path = NULL;
    json_t *imp = NULL;
    ctl_response_t resp = {0};
    int64_t timeout_ms = 0;
    if (ctl_args_timeout_ms(args, &timeout_ms, err, sizeof(err)) != OD_OK) {
        fprintf(ctx->err, "outdialctl: %s\n", err);
        return CTL_EXIT_USAGE;
    }

    int64_t size = -1;
    if (strcmp(file, "-") == 0) {
        f = stdin;
    } else {
        f = fopen(file, "rb");
        if (!f) {
            fprintf(ctx->err, "error: %s: %s\n", file, strerror(errno));
            goto out;
        }
        struct stat st;
        if (fstat(fileno(f), &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                fprintf(ctx->err, "error: %s is a directory, not a CSV file\n", file);
                goto out;
            }
            if (S_ISREG(st.st_mode))
                size = (int64_t)st.st_size;
        }
    }
    char *copy = xstrdup(strcmp(file, "-") == 0 ? "stdin.csv" : file);
    char *enc = ctl_url_encode(basename(copy));
    extra = xasprintf("filename=%s", enc);
    free(enc);
    free(copy);
    path = ctl_path_build(args, extra);

    ctl_signals_catch();
    upload_progress_t up = {.ctx = ctx, .started_ms = ctl_now_ms()};
    up.last_ms = up.started_ms; /* the first line after LINE_EVERY_MS, not at 0 % */
    int rc = ctl_http_upload(ctx->http, path, f, size, "text/csv", upload_progress, &up, &resp, err,
                             sizeof(err));
    if (up.drawn)
        fputc('\n', ctx->err);
    if (rc) {
        if (ctl_interrupted) {
            fprintf(ctx->err, "upload interrupted: nothing was imported\n");
        } else {
            fprintf(ctx->err, "error: %s\n", err);
            /* The API answers a file over its size limit with 413 and
             * closes the connection; a client still sending sees the close,
             * not the answer. */
            if (strstr(err, "Send failure") || strstr(err, "Recv failure") ||
                strstr(err, "reset by peer"))
                fprintf(ctx->err,
                        "the API closed the connection during the upload: a file larger than "
                        "its limit (OUTDIAL_API_IMPORT_MAX_BYTES, 200 MiB by default) is refused "
                        "so; split the file, or load it with outdial-importer --campaign ID FILE; "
                        "nothing was imported\n");
        }
        goto out;
    }
    if (resp.status < 200 || resp.status >= 300) {
        ctl_render_error(ctx->err, resp.status, resp.body, resp.len);
        goto out;
    }
    json_error_t jerr;
    imp = json_loadb(resp.body, resp.len, 0, &jerr);
    const char *id = json_string_value(json_object_get(imp, "id"));
    if (!id) {
        fprintf(ctx->err, "error: the API's answer names no import id\n");
        goto out;
    }
    char sent[32];
    ctl_bytes_format(json_integer_value(json_object_get(imp, "bytes_total")), sent, sizeof(sent));
    fprintf(ctx->err, "uploaded %s in %.1f s: import %s\n", sent,
            (double)(ctl_now_ms() - up.started_ms) / 1000.0, id);
    char *id_enc = ctl_url_encode(id);
    imp_path = xasprintf("/v1/imports/%s", id_enc);
    free(id_enc);

    if (ctl_args_has(args, "no-wait")) {
        if (args->quiet)
            fprintf(ctx->out, "%s\n", id);
        else if (args->json)
            fprintf(ctx->out, "%.*s\n", (int)resp.len, resp.body);
        else
            ctl_render_import(ctx->out, imp, NULL);
        code = CTL_EXIT_OK;
        goto out;
    }

    /* Follow the import. */
    int64_t start = ctl_now_ms(), last_line = 0;
    bool drawn = false;
    while (!import_finished(imp)) {
        follow_progress(ctx, imp, &last_line, &drawn);
        ctl_sleep_ms(IMPORT_POLL_MS);
        if (ctl_interrupted || (timeout_ms && ctl_now_ms() - start >= timeout_ms)) {
            if (drawn)
                fputc('\n', ctx->err);
            fprintf(ctx->err, "%s; the import goes on: outdialctl import status %s\n",
                    ctl_interrupted ? "stopped following" : "timed out following", id);
            code = ctl_interrupted ? CTL_EXIT_OK : CTL_EXIT_FAIL;
            goto out;
        }
        json_t *next = NULL;
        long status = 0;
        int c = ctl_call(ctx, "GET", imp_path, NULL, &next, NULL, &status);
        if (c != CTL_EXIT_OK) {
            if (status >= 400 && status < 500)
                goto out;
            continue; /* the API is restarting or busy: ask again */
        }
        json_decref(imp);
        imp = next;
        id = json_string_value(json_object_get(imp, "id"));
        if (!id) {
            fprintf(ctx->err, "error: the API's answer names no import id\n");
            goto out;
        }
    }
    if (drawn) {
        follow_progress(ctx, imp, &last_line, &drawn);
        fputc('\n', ctx->err);
    }

    json_t *rejects = NULL;
    int64_t n_rejected =
        json_integer_value(json_object_get(json_object_get(imp, "rows"), "rejected"));
    if (n_rejected > 0 && !args->json && !args->quiet) {
        char *rp = xasprintf("%s/rejects?limit=%d", imp_path, SUMMARY_REJECTS);
        if (ctl_call(ctx, "GET", rp, NULL, &rejects, NULL, NULL) != CTL_EXIT_OK)
            rejects = NULL; /* the summary goes on without them */
        free(rp);
    }
    if (args->quiet) {
        fprintf(ctx->out, "%s\n", id);
    } else if (args->json) {
        char *text = json_dumps(imp, JSON_COMPACT);
        fprintf(ctx->out, "%s\n", text ? text : "{}");
        free(text);
    } else {
        ctl_render_import(ctx->out, imp, rejects);
    }
    json_decref(rejects);
    const char *final = json_string_value(json_object_get(imp, "status"));
    code = final && strcmp(final, "completed") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
out:
    if (f && f != stdin)
        fclose(f);
    free(path);
    free(extra);
    free(imp_path);
    json_decref(imp);
    ctl_response_clear(&resp);
    return code;
}

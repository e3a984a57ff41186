#include "ctl_run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_commands.h"
#include "ctl_render.h"
#include "xmalloc.h"

/* The text of --data: the value itself, "@FILE", or "-" for stdin. */
static char *data_read(const char *spec, char *errbuf, size_t errlen)
{
    if (strcmp(spec, "-") != 0 && spec[0] != '@')
        return xstrdup(spec);
    FILE *f = strcmp(spec, "-") == 0 ? stdin : fopen(spec + 1, "rb");
    if (!f) {
        od_fail(errbuf, errlen, OD_ERR_IO, "--data %s: %s", spec, strerror(errno));
        return NULL;
    }
    char *buf = xfread_all(f, NULL);
    if (f != stdin)
        fclose(f);
    if (!buf)
        od_fail(errbuf, errlen, OD_ERR_IO, "--data %s: read error", spec);
    return buf;
}

static void raw_print(ctl_ctx_t *ctx, const ctl_response_t *raw)
{
    if (raw->len == 0)
        return;
    fwrite(raw->body, 1, raw->len, ctx->out);
    if (raw->body[raw->len - 1] != '\n')
        fputc('\n', ctx->out);
}

/* One request; the answer shown by the command's view. */
static int run_request(ctl_ctx_t *ctx)
{
    ctl_args_t *args = ctx->args;
    char err[1024];
    char *data = NULL;
    json_t *body = NULL, *answer = NULL;
    char *path = NULL;
    ctl_response_t raw = {0};
    int code = CTL_EXIT_FAIL;
    if (args->data) {
        data = data_read(args->data, err, sizeof(err));
        if (!data) {
            fprintf(ctx->err, "error: %s\n", err);
            goto out;
        }
    }
    if (ctl_body_build(args, data, &body, err, sizeof(err)) != OD_OK) {
        fprintf(ctx->err, "outdialctl: %s\n", err);
        code = CTL_EXIT_USAGE;
        goto out;
    }
    path = ctl_path_build(args, NULL);
    long status = 0;
    code = ctl_call(ctx, args->cmd->method, path, body, &answer, &raw, &status);
    if (code != CTL_EXIT_OK)
        goto out;
    /* A recount that found differences and left them fails, for scripts. */
    if (args->cmd->view == CTL_VIEW_RECOUNT &&
        json_array_size(json_object_get(answer, "differences")) > 0 &&
        !json_is_true(json_object_get(answer, "fixed")))
        code = CTL_EXIT_FAIL;
    if (args->json) {
        raw_print(ctx, &raw);
    } else if (args->quiet) {
        if (answer)
            ctl_render_ids(ctx->out, answer);
    } else if (!answer) {
        char *words = ctl_cmd_words(args->cmd);
        fputs(words, ctx->out);
        for (size_t i = 0; i < args->n_pos; i++)
            fprintf(ctx->out, " %s", args->pos[i]);
        fputs(": done\n", ctx->out);
        free(words);
    } else {
        ctl_render_view(ctx->out, args->cmd->view, answer);
    }
out:
    free(data);
    free(path);
    json_decref(body);
    json_decref(answer);
    ctl_response_clear(&raw);
    return code;
}

/* A GET of path whose body goes straight to stdout as it arrives; an
 * error status's body is shown on stderr instead. */
static int download_to_out(ctl_ctx_t *ctx, const char *path)
{
    char err[1024];
    ctl_response_t resp;
    int rc = ctl_http_download(ctx->http, path, ctx->out, &resp, err, sizeof(err));
    if (rc) {
        fprintf(ctx->err, "error: %s\n", err);
        return CTL_EXIT_FAIL;
    }
    int code = CTL_EXIT_OK;
    if (resp.status < 200 || resp.status >= 300) {
        ctl_render_error(ctx->err, resp.status, resp.body, resp.len);
        code = CTL_EXIT_FAIL;
    }
    ctl_response_clear(&resp);
    return code;
}

/* --csv of a list (an import's rejects): the API's CSV straight to stdout. */
static int run_download(ctl_ctx_t *ctx)
{
    char *path = ctl_path_build(ctx->args, "format=csv");
    int code = download_to_out(ctx, path);
    free(path);
    return code;
}

/* export CAMPAIGN --leads|--calls: exactly one of the two. */
static int run_export(ctl_ctx_t *ctx)
{
    bool leads = ctl_args_has(ctx->args, "leads");
    bool calls = ctl_args_has(ctx->args, "calls");
    if (leads == calls) {
        fprintf(ctx->err, "outdialctl: export needs one of --leads or --calls\n");
        return CTL_EXIT_USAGE;
    }
    char *id = ctl_url_encode(ctx->args->pos[0]);
    char *path = xasprintf("/v1/campaigns/%s/%s.csv", id, leads ? "leads" : "calls");
    free(id);
    int code = download_to_out(ctx, path);
    free(path);
    return code;
}

/* A list: one page (next_cursor said on stderr), or every page with --all. */
static int run_list(ctl_ctx_t *ctx)
{
    ctl_args_t *args = ctx->args;
    if (ctl_args_has(args, "csv"))
        return run_download(ctx);
    bool all = ctl_args_has(args, "all");
    json_t *items = json_array();
    json_t *first = NULL;
    char *cursor = NULL;
    int code = CTL_EXIT_OK;
    for (int page = 0;; page++) {
        char *extra = NULL;
        if (page > 0) {
            char *enc = ctl_url_encode(cursor);
            extra = xasprintf("cursor=%s", enc);
            free(enc);
            ctl_args_drop(args, "cursor");
        }
        char *path = ctl_path_build(args, extra);
        free(extra);
        json_t *answer = NULL;
        code = ctl_call(ctx, args->cmd->method, path, NULL, &answer, NULL, NULL);
        free(path);
        if (code != CTL_EXIT_OK)
            goto out;
        json_array_extend(items, json_object_get(answer, "data"));
        free(cursor);
        const char *next = json_string_value(json_object_get(answer, "next_cursor"));
        cursor = next ? xstrdup(next) : NULL;
        if (!first)
            first = answer;
        else
            json_decref(answer);
        if (!all || !cursor || ctl_interrupted)
            break;
    }
    if (args->json) {
        json_t *out = json_object();
        json_object_set(out, "data", items);
        json_object_set_new(out, "next_cursor", cursor ? json_string(cursor) : json_null());
        char *text = json_dumps(out, JSON_COMPACT);
        fprintf(ctx->out, "%s\n", text ? text : "{}");
        free(text);
        json_decref(out);
    } else if (args->quiet) {
        ctl_render_ids(ctx->out, items);
    } else {
        ctl_render_list(ctx->out, args->cmd->view, items);
        if (cursor)
            fprintf(ctx->err, "(more: add --cursor %s, or --all for every page)\n", cursor);
    }
out:
    free(cursor);
    json_decref(first);
    json_decref(items);
    return code;
}

int ctl_run(ctl_ctx_t *ctx)
{
    switch (ctx->args->cmd->run) {
    case CTL_RUN_REQUEST:
        return run_request(ctx);
    case CTL_RUN_LIST:
        return run_list(ctx);
    case CTL_RUN_IMPORT:
        return ctl_run_import(ctx);
    case CTL_RUN_DNC_IMPORT:
        return ctl_run_dnc_import(ctx);
    case CTL_RUN_WATCH:
        return ctl_run_watch(ctx);
    case CTL_RUN_EXPORT:
        return run_export(ctx);
    }
    return CTL_EXIT_FAIL;
}

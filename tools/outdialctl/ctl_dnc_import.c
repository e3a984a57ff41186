/*
 * ctl_dnc_import.c — `outdialctl dnc import FILE --list-date YYYY-MM-DD
 * [--registry]`: a do-not-call list file sent to POST /v1/dnc/imports in
 * parts of CTL_DNC_PART_LINES lines (the API reads each line: E.164, a
 * national notation, or the registry's "AAA,NNNNNNN"), the counts summed,
 * then the registry scrub's warning if the API gives one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_commands.h"
#include "xmalloc.h"

/* Lines per request: the API's limit (DNC_IMPORT_LINES_MAX). */
#define CTL_DNC_PART_LINES 20000

/* Sends one part; adds its counts to totals and keeps the last answer's
 * registry object in *registry (replacing the previous). */
static int send_part(ctl_ctx_t *ctx, json_t *lines, const char *source, const char *list_date,
                     long long totals[3], json_t **registry)
{
    json_t *body = json_object();
    json_object_set_new(body, "source", json_string(source));
    json_object_set_new(body, "list_date", json_string(list_date));
    json_object_set(body, "lines", lines);
    json_t *answer = NULL;
    int code = ctl_call(ctx, "POST", "/v1/dnc/imports", body, &answer, NULL, NULL);
    json_decref(body);
    if (code != CTL_EXIT_OK)
        return code;
    static const char *const keys[] = {"numbers_read", "numbers_added", "numbers_invalid"};
    for (int k = 0; k < 3; k++)
        totals[k] += json_integer_value(json_object_get(answer, keys[k]));
    json_t *bad = json_object_get(answer, "invalid_lines");
    size_t i;
    json_t *b;
    json_array_foreach(bad, i, b)
    {
        fprintf(ctx->err, "line %lld: %s: %s\n",
                (long long)json_integer_value(json_object_get(b, "line")),
                json_string_value(json_object_get(b, "text")),
                json_string_value(json_object_get(b, "reason")));
    }
    json_decref(*registry);
    *registry = json_incref(json_object_get(answer, "registry"));
    json_decref(answer);
    return CTL_EXIT_OK;
}

int ctl_run_dnc_import(ctl_ctx_t *ctx)
{
    const ctl_args_t *args = ctx->args;
    const char *path = args->pos[0];
    const char *list_date = ctl_args_value(args, "list-date");
    const char *source = ctl_args_has(args, "registry") ? "registry" : "import";
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(ctx->err, "outdialctl: %s: cannot be read\n", path);
        return CTL_EXIT_FAIL;
    }
    long long totals[3] = {0, 0, 0};
    json_t *registry = NULL, *lines = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int code = CTL_EXIT_OK;
    while (code == CTL_EXIT_OK && (len = getline(&line, &cap, f)) >= 0) {
        json_array_append_new(lines, json_stringn(line, (size_t)len));
        if (json_array_size(lines) == CTL_DNC_PART_LINES) {
            code = send_part(ctx, lines, source, list_date, totals, &registry);
            json_array_clear(lines);
        }
    }
    if (code == CTL_EXIT_OK && json_array_size(lines) > 0)
        code = send_part(ctx, lines, source, list_date, totals, &registry);
    free(line);
    json_decref(lines);
    if (f != stdin)
        fclose(f);
    if (code == CTL_EXIT_OK) {
        if (args->json) {
            json_t *out =
                json_pack("{s:s, s:s, s:I, s:I, s:I, s:O}", "source", source, "list_date",
                          list_date, "numbers_read", (json_int_t)totals[0], "numbers_added",
                          (json_int_t)totals[1], "numbers_invalid", (json_int_t)totals[2],
                          "registry", registry ? registry : json_null());
            char *text = json_dumps(out, JSON_COMPACT);
            fprintf(ctx->out, "%s\n", text ? text : "{}");
            free(text);
            json_decref(out);
        } else {
            fprintf(ctx->out,
                    "source           %s\nlist_date        %s\nnumbers_read     %lld\n"
                    "numbers_added    %lld\nnumbers_invalid  %lld\n",
                    source, list_date, totals[0], totals[1], totals[2]);
        }
        const char *warning = json_string_value(json_object_get(registry, "warning"));
        if (warning)
            fprintf(ctx->err, "warning: %s\n", warning);
    }
    json_decref(registry);
    return code;
}

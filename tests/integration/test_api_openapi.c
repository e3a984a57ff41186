/*
 * docs/openapi.yaml describes every route the server has: the route table
 * printed by `outdial-api routes` (the one the server dispatches on) is
 * checked line by line against the document's paths and their methods,
 * and every documented operation must exist in the server (no stale
 * entries). Needs no running stack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"
#include "test_main.h"

#define MAX_OPS 256

typedef struct op {
    char method[16];
    char path[256];
} op_t;

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* The operations of an OpenAPI document: "  /path:" lines under "paths:",
 * then "    get:" lines (four spaces) under each. A loose reading of YAML
 * that fits the document's house layout (two-space indentation). */
static size_t yaml_ops(const char *file, op_t *ops)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", file);
        fail();
    }
    static const char *const methods[] = {"get",   "put",  "post",   "delete",
                                          "patch", "head", "options"};
    char line[1024], path[256] = "";
    bool in_paths = false;
    size_t n = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != ' ' && line[0] != '\0' && line[0] != '#') {
            in_paths = strcmp(line, "paths:") == 0;
            continue;
        }
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0) {
            snprintf(path, sizeof(path), "%.255s", line + 2);
            char *colon = strrchr(path, ':');
            if (colon)
                *colon = '\0';
            continue;
        }
        if (strncmp(line, "    ", 4) == 0 && line[4] != ' ' && path[0]) {
            for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
                size_t len = strlen(methods[m]);
                if (strncmp(line + 4, methods[m], len) == 0 && line[4 + len] == ':' &&
                    n < MAX_OPS) {
                    snprintf(ops[n].method, sizeof(ops[n].method), "%s", methods[m]);
                    snprintf(ops[n].path, sizeof(ops[n].path), "%s", path);
                    n++;
                }
            }
        }
    }
    fclose(f);
    return n;
}

static void test_every_route_is_documented(void **state)
{
    (void)state;
    char yaml[1024], cmd[1024];
    snprintf(yaml, sizeof(yaml), "%s/docs/openapi.yaml", support_env("OUTDIAL_SOURCE_DIR"));
    static op_t documented[MAX_OPS];
    size_t n_doc = yaml_ops(yaml, documented);
    assert_true(n_doc > 0);

    snprintf(cmd, sizeof(cmd), "%s/services/api/outdial-api routes",
             support_env("OUTDIAL_BUILD_DIR"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static op_t served[MAX_OPS];
    size_t n_served = 0;
    char line[512];
    int missing = 0;
    while (fgets(line, sizeof(line), p) && n_served < MAX_OPS) {
        op_t *op = &served[n_served];
        if (sscanf(line, "%15s %255s", op->method, op->path) != 2)
            continue;
        lower(op->method);
        n_served++;
        bool found = false;
        for (size_t i = 0; i < n_doc && !found; i++)
            found = strcmp(documented[i].method, op->method) == 0 &&
                    strcmp(documented[i].path, op->path) == 0;
        if (!found) {
            fprintf(stderr, "docs/openapi.yaml does not describe %s %s\n", op->method, op->path);
            missing++;
        }
    }
    assert_int_equal(pclose(p), 0);
    assert_true(n_served > 30);
    assert_int_equal(missing, 0);

    /* And nothing documented that the server does not serve. */
    int stale = 0;
    for (size_t i = 0; i < n_doc; i++) {
        bool found = false;
        for (size_t k = 0; k < n_served && !found; k++)
            found = strcmp(documented[i].method, served[k].method) == 0 &&
                    strcmp(documented[i].path, served[k].path) == 0;
        if (!found) {
            fprintf(stderr, "docs/openapi.yaml describes %s %s, which the server does not have\n",
                    documented[i].method, documented[i].path);
            stale++;
        }
    }
    assert_int_equal(stale, 0);
}

OD_TEST_MAIN(NULL, NULL, test_every_route_is_documented)

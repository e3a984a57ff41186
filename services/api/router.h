/*
 * router.h — the API's route table and how a request reaches its handler.
 *
 * Every route of the API is one row of api_routes (router.c): method, path
 * pattern, handler, who may call it and a one-line summary. The table is
 * the single source: it is what the server dispatches on, and what
 * `outdial-api routes` prints (a test checks each row against
 * docs/openapi.yaml).
 *
 * Patterns are segments; "{name}" matches one segment and becomes a path
 * parameter (ctx->params, in order). A parameter named "*_id" must be a
 * UUID: anything else is answered 404 like a missing id.
 *
 * Before the handler runs, the router has: matched the route (404 unknown
 * path, 405 known path with another method), taken a pooled Postgres
 * connection (503 when none), authenticated the request (401: bearer API
 * key for account routes, the admin token for admin routes), checked the
 * path parameters, and for routes with a JSON body checked its Content-Type
 * (415), its size (413) and parsed it (400 invalid_json). Upload routes get
 * the raw body piece by piece instead (route->upload).
 */
#ifndef OUTDIAL_API_ROUTER_H
#define OUTDIAL_API_ROUTER_H

#include <stdio.h>

#include "api.h"
#include "http.h"

typedef enum api_auth {
    API_AUTH_KEY = 0, /* Authorization: Bearer <API key>; scoped to its account */
    API_AUTH_ADMIN,   /* Authorization: Bearer <OUTDIAL_API_ADMIN_TOKEN> */
} api_auth_t;

typedef void (*api_handler_fn)(api_ctx_t *ctx);

/* An upload route's body sink: called with each piece of the body (len >
 * 0). Return 0 to go on; non-zero stops the upload, with the answer set on
 * ctx. The route's handler runs after the last piece (also when the body
 * was empty: then the sink was never called). The sink keeps its state in
 * *state; free_state (set by the sink) is called when the request ends,
 * whether it completed, failed or the client went away. */
typedef int (*api_upload_fn)(api_ctx_t *ctx, const char *data, size_t len, void **state,
                             void (**free_state)(api_ctx_t *ctx, void *state));

struct api_route {
    const char *method;
    const char *pattern;
    api_handler_fn handler;
    api_upload_fn upload; /* NULL: a JSON body (if any) */
    api_auth_t auth;
    const char *summary;
};

/* The upload state of the current request (for an upload route's handler). */
void *api_ctx_upload_state(api_ctx_t *ctx);

/* Registers every route of the table (and nothing else) on srv. */
int router_register(http_server_t *srv, api_t *api, char *errbuf, size_t errlen) OD_WUR;

/* Prints the route table, one "METHOD PATH  summary" line per route,
 * including lib/http's built-in /healthz, /readyz and /metrics. */
void router_print(FILE *out);

#endif

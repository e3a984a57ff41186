#include "router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "dashboard.h"
#include "handlers.h"
#include "log.h"
#include "xmalloc.h"

/* The API. Keep docs/openapi.yaml in step: tests/integration/test_api_openapi.c
 * fails for a row it does not describe. */
static const api_route_t api_routes[] = {
    /* accounts */
    {"GET", "/v1/account", accounts_get, NULL, API_AUTH_KEY,
     "the key's account: balance, currency, region, quiet hours"},
    {"PATCH", "/v1/account", accounts_update, NULL, API_AUTH_KEY,
     "change the account's name, default region, quiet hours or legal profile"},
    {"GET", "/v1/account/legal-rules", accounts_legal_rules, NULL, API_AUTH_KEY,
     "the account's legal profile and the effective rules of each jurisdiction"},
    {"POST", "/v1/account/webhook-secret/rotate", accounts_secret_rotate, NULL, API_AUTH_KEY,
     "replace the account's webhook secret; the new one is answered this once"},
    {"POST", "/v1/admin/accounts", accounts_admin_create, NULL, API_AUTH_ADMIN,
     "admin: create an account and its first API key"},
    {"POST", "/v1/admin/accounts/{account_id}/credit", accounts_admin_credit, NULL, API_AUTH_ADMIN,
     "admin: add to (or take from) an account's balance"},
    /* assistants */
    {"POST", "/v1/assistants", assistants_create, NULL, API_AUTH_KEY, "create an assistant"},
    {"GET", "/v1/assistants", assistants_list, NULL, API_AUTH_KEY, "list assistants"},
    {"GET", "/v1/assistants/{assistant_id}", assistants_get, NULL, API_AUTH_KEY,
     "read an assistant"},
    {"PATCH", "/v1/assistants/{assistant_id}", assistants_update, NULL, API_AUTH_KEY,
     "change an assistant"},
    {"DELETE", "/v1/assistants/{assistant_id}", assistants_delete, NULL, API_AUTH_KEY,
     "delete an assistant no campaign uses"},
    {"GET", "/v1/assistants/{assistant_id}/caller-ids", caller_ids_list, NULL, API_AUTH_KEY,
     "list the assistant's caller-ID pool"},
    {"POST", "/v1/assistants/{assistant_id}/caller-ids", caller_ids_add, NULL, API_AUTH_KEY,
     "add an outbound number to the assistant's caller-ID pool"},
    {"DELETE", "/v1/assistants/{assistant_id}/caller-ids/{phone}", caller_ids_remove, NULL,
     API_AUTH_KEY, "remove a number from the assistant's caller-ID pool"},
    /* campaigns */
    {"POST", "/v1/campaigns", campaigns_create, NULL, API_AUTH_KEY,
     "create a campaign (draft) with its settings"},
    {"GET", "/v1/campaigns", campaigns_list, NULL, API_AUTH_KEY, "list campaigns"},
    {"GET", "/v1/campaigns/{campaign_id}", campaigns_get, NULL, API_AUTH_KEY, "read a campaign"},
    {"PATCH", "/v1/campaigns/{campaign_id}", campaigns_update, NULL, API_AUTH_KEY,
     "change a campaign's name, or its settings while draft or paused"},
    {"POST", "/v1/campaigns/{campaign_id}/start", campaigns_start, NULL, API_AUTH_KEY,
     "start a draft campaign"},
    {"POST", "/v1/campaigns/{campaign_id}/pause", campaigns_pause, NULL, API_AUTH_KEY,
     "pause a running campaign"},
    {"POST", "/v1/campaigns/{campaign_id}/resume", campaigns_resume, NULL, API_AUTH_KEY,
     "resume a paused or completed campaign"},
    {"POST", "/v1/campaigns/{campaign_id}/archive", campaigns_archive, NULL, API_AUTH_KEY,
     "archive a completed campaign: hidden from the list, kept whole, read-only"},
    {"DELETE", "/v1/campaigns/{campaign_id}", campaigns_delete, NULL, API_AUTH_KEY,
     "delete a draft campaign with its leads and imports"},
    {"GET", "/v1/campaigns/{campaign_id}/stats", campaigns_stats, NULL, API_AUTH_KEY,
     "lead, call, goal and spend statistics of a campaign"},
    {"GET", "/v1/campaigns/{campaign_id}/hourly", campaigns_hourly, NULL, API_AUTH_KEY,
     "calls placed, answered and reaching the goal per hour"},
    {"GET", "/v1/campaigns/{campaign_id}/live", campaigns_live, NULL, API_AUTH_KEY,
     "the campaign's status and statistics as server-sent events"},
    {"POST", "/v1/admin/campaigns/{campaign_id}/recount", campaigns_admin_recount, NULL,
     API_AUTH_ADMIN, "admin: recount a campaign's statistics counters, list (and fix) differences"},
    /* leads */
    {"POST", "/v1/campaigns/{campaign_id}/leads", leads_add, NULL, API_AUTH_KEY,
     "add one lead or many (with secondary contacts)"},
    {"GET", "/v1/campaigns/{campaign_id}/leads", leads_list, NULL, API_AUTH_KEY,
     "list a campaign's leads (filter by status, outcome, invalid)"},
    {"GET", "/v1/leads/{lead_id}", leads_get, NULL, API_AUTH_KEY, "read a lead"},
    {"GET", "/v1/leads/{lead_id}/eligibility", leads_eligibility, NULL, API_AUTH_KEY,
     "whether a lead may be called now, every rule that holds it back and when it clears"},
    {"PATCH", "/v1/leads/{lead_id}", leads_update, NULL, API_AUTH_KEY,
     "correct a lead's phone, name, timezone or variables"},
    {"DELETE", "/v1/leads/{lead_id}", leads_delete, NULL, API_AUTH_KEY,
     "remove a lead that has no calls (with its secondary contacts)"},
    {"POST", "/v1/leads/{lead_id}/reset", leads_reset, NULL, API_AUTH_KEY,
     "set a lead to created: attempts 0, due now"},
    {"POST", "/v1/leads/{lead_id}/complete", leads_complete, NULL, API_AUTH_KEY,
     "set a lead to completed (outcome manual): no further calls"},
    {"POST", "/v1/leads/{lead_id}/contacts", leads_contacts_add, NULL, API_AUTH_KEY,
     "add secondary contacts to a primary lead"},
    /* imports */
    {"POST", "/v1/campaigns/{campaign_id}/imports", imports_upload_finish, imports_upload_body,
     API_AUTH_KEY, "upload a CSV file of leads (streamed; imported in the background)"},
    {"GET", "/v1/campaigns/{campaign_id}/imports", imports_list, NULL, API_AUTH_KEY,
     "list a campaign's imports"},
    {"GET", "/v1/imports/{import_id}", imports_get, NULL, API_AUTH_KEY,
     "an import's status, counts and progress"},
    {"GET", "/v1/imports/{import_id}/rejects", imports_rejects, NULL, API_AUTH_KEY,
     "an import's rejected rows (JSON, or CSV with ?format=csv)"},
    /* calls */
    {"GET", "/v1/campaigns/{campaign_id}/calls", calls_list_campaign, NULL, API_AUTH_KEY,
     "list a campaign's calls"},
    /* exports */
    {"GET", "/v1/campaigns/{campaign_id}/leads.csv", exports_leads_csv, NULL, API_AUTH_KEY,
     "every lead of a campaign as CSV (streamed)"},
    {"GET", "/v1/campaigns/{campaign_id}/calls.csv", exports_calls_csv, NULL, API_AUTH_KEY,
     "every call of a campaign as CSV (streamed)"},
    {"GET", "/v1/leads/{lead_id}/calls", calls_list_lead, NULL, API_AUTH_KEY,
     "list a lead's calls"},
    {"GET", "/v1/calls/{call_id}", calls_get, NULL, API_AUTH_KEY, "read a call"},
    /* do-not-call list */
    {"POST", "/v1/dnc", dnc_add, NULL, API_AUTH_KEY, "add numbers to the do-not-call list"},
    {"GET", "/v1/dnc", dnc_list, NULL, API_AUTH_KEY, "list the do-not-call list"},
    {"POST", "/v1/dnc/imports", dnc_import, NULL, API_AUTH_KEY,
     "import a list of numbers (the account's own, or the national registry's) with its date"},
    {"GET", "/v1/dnc/registry", dnc_registry, NULL, API_AUTH_KEY,
     "whether the account's national registry scrub is due"},
    {"GET", "/v1/dnc/{phone}", dnc_get, NULL, API_AUTH_KEY,
     "whether a number is on the do-not-call list"},
    {"DELETE", "/v1/dnc/{phone}", dnc_remove, NULL, API_AUTH_KEY,
     "remove a number from the do-not-call list"},
    /* outbound webhooks (docs/webhooks.md) */
    {"POST", "/v1/webhook-endpoints", webhooks_create, NULL, API_AUTH_KEY,
     "add an HTTPS endpoint with its event filter; its signing secret is answered this once"},
    {"GET", "/v1/webhook-endpoints", webhooks_list, NULL, API_AUTH_KEY,
     "list the account's webhook endpoints"},
    {"GET", "/v1/webhook-endpoints/{endpoint_id}", webhooks_get, NULL, API_AUTH_KEY,
     "read a webhook endpoint"},
    {"PATCH", "/v1/webhook-endpoints/{endpoint_id}", webhooks_update, NULL, API_AUTH_KEY,
     "change an endpoint's URL, events, description, or enable it again"},
    {"DELETE", "/v1/webhook-endpoints/{endpoint_id}", webhooks_delete, NULL, API_AUTH_KEY,
     "remove a webhook endpoint and its deliveries"},
    {"POST", "/v1/webhook-endpoints/{endpoint_id}/secret/rotate", webhooks_secret_rotate, NULL,
     API_AUTH_KEY, "replace an endpoint's signing secret; the new one is answered this once"},
    {"GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries", webhooks_deliveries, NULL,
     API_AUTH_KEY, "list an endpoint's deliveries (?status=dead: its dead-letter list)"},
    {"POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/replay", webhooks_deliveries_replay,
     NULL, API_AUTH_KEY, "send every dead delivery of an endpoint again"},
    {"POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
     webhooks_delivery_replay, NULL, API_AUTH_KEY, "send a dead delivery again"},
};

#define N_ROUTES (sizeof(api_routes) / sizeof(api_routes[0]))

/* lib/http's own routes, for `outdial-api routes`. */
static const struct {
    const char *method, *path, *summary;
} builtin_routes[] = {
    {"GET", "/healthz", "liveness: 200 while the process runs"},
    {"GET", "/readyz", "readiness: 200, or 503 naming what is not ready"},
    {"GET", "/metrics", "Prometheus metrics"},
    {"GET", "/", "the web dashboard's page (docs/dashboard.md)"},
    {"GET", "/{file}", "a script, style or image of the dashboard"},
};

void router_print(FILE *out)
{
    for (size_t i = 0; i < sizeof(builtin_routes) / sizeof(builtin_routes[0]); i++)
        fprintf(out, "%-6s %-45s %s\n", builtin_routes[i].method, builtin_routes[i].path,
                builtin_routes[i].summary);
    for (size_t i = 0; i < N_ROUTES; i++)
        fprintf(out, "%-6s %-45s %s\n", api_routes[i].method, api_routes[i].pattern,
                api_routes[i].summary);
}

/* ---- matching ------------------------------------------------------------ */

/* Whether path matches pattern; fills params. A trailing '/' on the path
 * is ignored. */
static bool pattern_match(const char *pattern, const char *path,
                          char params[API_PARAMS_MAX][API_PARAM_LEN], bool *too_long)
{
    int n = 0;
    const char *p = pattern, *s = path;
    while (*p) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        const char *pend = strchr(p, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        const char *send = strchr(s, '/');
        size_t slen = send ? (size_t)(send - s) : strlen(s);
        if (plen > 0 && p[0] == '{') {
            if (slen == 0)
                return false;
            if (n >= API_PARAMS_MAX)
                return false;
            if (slen >= API_PARAM_LEN) {
                *too_long = true;
                slen = API_PARAM_LEN - 1;
            }
            memcpy(params[n], s, slen);
            params[n][slen] = '\0';
            n++;
        } else if (plen != slen || strncmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    return *s == '\0' || (s[0] == '/' && s[1] == '\0');
}

/* Whether a route of route_method answers method: its own, and HEAD for
 * GET. */
static bool method_serves(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* The route for ctx's request: answers 404 or 405 and returns false when
 * there is none. */
static bool route_resolve(api_ctx_t *ctx)
{
    const char *method = http_request_method(ctx->req);
    const char *path = http_request_path(ctx->req);
    bool other_method = false;
    /* The methods of the routes matching path, for a 405's Allow. */
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    bool allowed[sizeof(known) / sizeof(known[0])] = {false};
    for (size_t i = 0; i < N_ROUTES; i++) {
        char params[API_PARAMS_MAX][API_PARAM_LEN];
        bool too_long = false;
        if (!pattern_match(api_routes[i].pattern, path, params, &too_long))
            continue;
        if (!method_serves(api_routes[i].method, method)) {
            other_method = true;
            for (size_t m = 0; m < sizeof(known) / sizeof(known[0]); m++)
                if (method_serves(api_routes[i].method, known[m]))
                    allowed[m] = true;
            continue;
        }
        ctx->route = &api_routes[i];
        memcpy(ctx->params, params, sizeof(params));
        if (too_long) /* longer than any id: no such thing */
            ctx->params[0][0] = ctx->params[1][0] = '\0';
        return true;
    }
    if (other_method) {
        char allow[64] = "";
        for (size_t m = 0; m < sizeof(known) / sizeof(known[0]); m++)
            if (allowed[m])
                snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
                         allow[0] ? ", " : "", known[m]);
        api_reply_error(ctx, 405, "method_not_allowed", NULL, "%s is not allowed on %.300s", method,
                        path);
        http_response_header_add(ctx->resp, "Allow", allow);
    } else
        api_reply_error(ctx, 404, "not_found", NULL, "no such path: %.300s", path);
    return false;
}

/* Path parameters named *_id must be UUIDs: anything else names nothing. */
static bool params_check(api_ctx_t *ctx)
{
    const char *p = ctx->route->pattern;
    int n = 0;
    while ((p = strchr(p, '{')) != NULL) {
        const char *end = strchr(p, '}');
        size_t len = (size_t)(end - p - 1);
        if (len > 3 && strncmp(end - 3, "_id", 3) == 0) {
            if (!uuid_str_valid(ctx->params[n])) {
                api_reply_error(ctx, 404, "not_found", NULL, "%.*s not found", (int)(len - 3),
                                p + 1);
                return false;
            }
        } else if (!ctx->params[n][0]) {
            api_reply_error(ctx, 404, "not_found", NULL, "%.*s not found", (int)len, p + 1);
            return false;
        }
        n++;
        p = end;
    }
    return true;
}

/* Takes a connection and authenticates. */
static bool ctx_begin(api_ctx_t *ctx)
{
    char err[512];
    int rc = api_pool_acquire(ctx->api->pool, &ctx->db, err, sizeof(err));
    if (rc) {
        atomic_store(&ctx->api->pg_ok, false);
        api_reply_failure(ctx, OD_ERR_UNAVAILABLE, err);
        return false;
    }
    bool ok = ctx->route->auth == API_AUTH_ADMIN ? auth_request_admin(ctx) : auth_request_key(ctx);
    return ok && params_check(ctx);
}

static void ctx_end(api_ctx_t *ctx)
{
    json_decref(ctx->body);
    ctx->body = NULL;
    api_pool_release(ctx->api->pool, ctx->db);
    ctx->db = NULL;
}

/* Whether the Content-Type says JSON ("application/json", parameters
 * allowed). */
static bool content_type_is_json(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Parses a JSON body into ctx->body; answers 415 or 400 on failure. */
static bool body_parse(api_ctx_t *ctx, const char *body, size_t len)
{
    bool has_body = false;
    for (size_t i = 0; i < len && !has_body; i++)
        has_body = !(body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t');
    if (!has_body)
        return true;
    const char *ct = http_request_header(ctx->req, "Content-Type");
    if (!content_type_is_json(ct)) {
        api_reply_error(ctx, 415, "unsupported_media_type", NULL,
                        "the body must be JSON with 'Content-Type: application/json' (got %.100s)",
                        ct ? ct : "no Content-Type");
        return false;
    }
    json_error_t jerr;
    ctx->body = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!ctx->body) {
        api_reply_error(ctx, 400, "invalid_json", NULL,
                        "the body is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                        jerr.column);
        return false;
    }
    return true;
}

/* ---- plain routes ---------------------------------------------------------- */

static void dispatch_plain(http_request_t *req, http_response_t *resp, void *arg)
{
    api_ctx_t ctx = {.api = arg, .req = req, .resp = resp};
    if (!route_resolve(&ctx))
        return;
    if (ctx_begin(&ctx)) {
        size_t len = 0;
        const char *body = http_request_body(req, &len);
        bool has_body_method = strcmp(ctx.route->method, "GET") != 0;
        if (!has_body_method || body_parse(&ctx, body ? body : "", len))
            ctx.route->handler(&ctx);
    }
    ctx_end(&ctx);
}

/* ---- streaming routes ---------------------------------------------------------
 *
 * lib/http streams bodies per route prefix, and the upload route's prefix
 * (/v1/campaigns/{campaign_id}/imports) has an id in the middle: so every
 * POST under /v1/campaigns goes through here. Upload routes pass the pieces
 * to their sink; the others collect a JSON body up to body_max, exactly as
 * lib/http would. */

typedef struct stream {
    api_ctx_t ctx;
    bool begun;  /* route resolved, connection taken, authenticated */
    bool failed; /* answered already */
    char *buf;   /* a JSON body being collected */
    size_t len, cap;
    void *upload_state;
    void (*upload_free)(api_ctx_t *ctx, void *state);
} stream_t;

static void stream_free(void *arg)
{
    stream_t *st = arg;
    if (st->upload_free)
        st->upload_free(&st->ctx, st->upload_state);
    ctx_end(&st->ctx);
    free(st->buf);
    free(st);
}

void *api_ctx_upload_state(api_ctx_t *ctx)
{
    /* ctx is the first member of its stream. */
    return ((stream_t *)(void *)ctx)->upload_state;
}

static stream_t *stream_get(http_request_t *req, http_response_t *resp, api_t *api)
{
    stream_t *st = http_request_state(req);
    if (st) {
        st->ctx.resp = resp;
        return st;
    }
    st = xcalloc(1, sizeof(*st));
    st->ctx.api = api;
    st->ctx.req = req;
    st->ctx.resp = resp;
    http_request_state_set(req, st, stream_free);
    if (!route_resolve(&st->ctx) || !ctx_begin(&st->ctx))
        st->failed = true;
    st->begun = true;
    return st;
}

static bool declared_too_large(api_ctx_t *ctx, unsigned long long max)
{
    const char *declared = http_request_header(ctx->req, "Content-Length");
    if (!declared)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(declared, &end, 10);
    return errno == 0 && end != declared && n > max;
}

static int dispatch_body(http_request_t *req, const char *data, size_t len, http_response_t *resp,
                         void *arg)
{
    stream_t *st = stream_get(req, resp, arg);
    if (st->failed)
        return 1;
    api_ctx_t *ctx = &st->ctx;
    if (ctx->route->upload) {
        if (ctx->route->upload(ctx, data, len, &st->upload_state, &st->upload_free) != 0) {
            st->failed = true;
            return 1;
        }
        return 0;
    }
    size_t max = ctx->api->body_max;
    if ((st->len == 0 && declared_too_large(ctx, max)) || len > max - st->len) {
        api_reply_error(ctx, 413, "payload_too_large", NULL, "the body is larger than %zu bytes",
                        max);
        free(st->buf);
        st->buf = NULL;
        st->len = st->cap = 0;
        st->failed = true;
        return 1;
    }
    xbuf_put(&st->buf, &st->len, &st->cap, data, len);
    return 0;
}

static void dispatch_stream_end(http_request_t *req, http_response_t *resp, void *arg)
{
    stream_t *st = stream_get(req, resp, arg);
    if (st->failed)
        return;
    api_ctx_t *ctx = &st->ctx;
    if (!ctx->route->upload && !body_parse(ctx, st->buf ? st->buf : "", st->len))
        return;
    ctx->route->handler(ctx);
}

/* ---- registration -------------------------------------------------------------- */

/* "/v1/campaigns" of "/v1/campaigns/{campaign_id}/leads": the first two
 * segments, lib/http's prefix. */
static void route_prefix(const char *pattern, char *out, size_t len)
{
    const char *p = strchr(pattern + 1, '/');
    p = p ? strchr(p + 1, '/') : NULL;
    size_t n = p ? (size_t)(p - pattern) : strlen(pattern);
    if (n >= len)
        n = len - 1;
    memcpy(out, pattern, n);
    out[n] = '\0';
}

/* Whether route j is under prefix, with method (any method when NULL). */
static bool route_under(size_t j, const char *prefix, const char *method)
{
    char other[64];
    route_prefix(api_routes[j].pattern, other, sizeof(other));
    return strcmp(other, prefix) == 0 && (!method || strcmp(api_routes[j].method, method) == 0);
}

/* Whether a route before route i is under prefix with method (any method
 * when NULL): lib/http has that prefix already. */
static bool prefix_taken(size_t i, const char *prefix, const char *method)
{
    for (size_t j = 0; j < i; j++)
        if (route_under(j, prefix, method))
            return true;
    return false;
}

/* Whether a route under prefix with method takes an upload: lib/http then
 * streams every body of that prefix and method. */
static bool prefix_streams(const char *prefix, const char *method)
{
    for (size_t j = 0; j < N_ROUTES; j++)
        if (api_routes[j].upload && route_under(j, prefix, method))
            return true;
    return false;
}

int router_register(http_server_t *srv, api_t *api, char *errbuf, size_t errlen)
{
    char prefix[64];
    for (size_t i = 0; i < N_ROUTES; i++) {
        const char *method = api_routes[i].method;
        route_prefix(api_routes[i].pattern, prefix, sizeof(prefix));
        if (prefix_taken(i, prefix, method))
            continue;
        int rc = prefix_streams(prefix, method)
                     ? http_route_add_streaming(srv, method, prefix, dispatch_body,
                                                dispatch_stream_end, api, errbuf, errlen)
                     : http_route_add(srv, method, prefix, dispatch_plain, api, errbuf, errlen);
        if (rc)
            return rc;
    }
    /* Any other method on a prefix comes here too (added after the routes
     * above, which win on an equal prefix): route_resolve answers its 405
     * with the Allow of the exact path, not of the whole prefix. */
    for (size_t i = 0; i < N_ROUTES; i++) {
        route_prefix(api_routes[i].pattern, prefix, sizeof(prefix));
        if (prefix_taken(i, prefix, NULL))
            continue;
        int rc = http_route_add(srv, "*", prefix, dispatch_plain, api, errbuf, errlen);
        if (rc)
            return rc;
    }
    /* The dashboard's files: every path no route above takes (the
     * shortest prefix), so an unknown path is its 404. */
    return http_route_add(srv, "*", "/", dashboard_serve, api->dashboard, errbuf, errlen);
}

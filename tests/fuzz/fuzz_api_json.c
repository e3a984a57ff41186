/*
 * fuzz_api_json — the REST API's reading of what a client sends: the JSON
 * body (router.c's body_parse), then the resource parsers that run before
 * any database work: a lead or an array of leads (leads.c lead_in_read),
 * campaign settings (campaigns.c campaign_input_read, then
 * lib/rules/settings' check as campaign_input_check does it), an assistant
 * (assistants.c assistant_input_read), an account's region and quiet hours
 * (accounts.c), a DNC number (dnc.c number_parse); query parameters
 * (?limit=, ?cursor=, an import's ?region=, ?filename=, ?map=); and path
 * matching against the route table (router.c pattern_match, params_check).
 *
 * Those parsers are static functions that answer errors through api_ctx_t,
 * so this file compiles the resource files into itself (the linker then
 * takes nothing of theirs from outdial_api), and the lib/web/http request
 * calls are redirected here with the linker's --wrap (see CMakeLists.txt):
 * no server, no socket, no database. The answers are lib/web's own
 * responses (http_response_new), so the code that builds them runs too.
 *
 * Input: byte 0 selects (mod 8): 0 lead(s), 1 campaign, 2 assistant,
 * 3 account, 4 DNC entries, 5 body only (any JSON), 6 query parameters
 * ("name=value" lines), 7 a path (first line "METHOD", then the path).
 * For 0-5 the rest is the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The resource files, with their static parsers. */
#include "../../services/api/accounts.c"
#include "../../services/api/assistants.c"
#include "../../services/api/campaigns.c"
#include "../../services/api/dnc.c"
#include "../../services/api/imports.c"
#include "../../services/api/leads.c"
#include "../../services/api/router.c"

/* ---- lib/web/http, as the handlers see it ---------------------------------- */

#define FUZZ_QUERY_MAX 8

/* What http_request_t points to in this harness. */
typedef struct fuzz_request {
    const char *method;
    const char *path;
    const char *content_type;
    const char *body;
    size_t body_len;
    size_t n_query;
    const char *query_name[FUZZ_QUERY_MAX];
    const char *query_value[FUZZ_QUERY_MAX];
} fuzz_request_t;

/* Prototypes of the wrappers (called only through --wrap). */
const char *__wrap_http_request_header(const http_request_t *req, const char *name);
const char *__wrap_http_request_query(const http_request_t *req, const char *name);
const char *__wrap_http_request_body(const http_request_t *req, size_t *len_out);
const char *__wrap_http_request_method(const http_request_t *req);
const char *__wrap_http_request_path(const http_request_t *req);

const char *__wrap_http_request_header(const http_request_t *req, const char *name)
{
    const fuzz_request_t *r = (const fuzz_request_t *)req;
    if (strcasecmp(name, "Content-Type") == 0)
        return r->content_type;
    return NULL;
}

const char *__wrap_http_request_query(const http_request_t *req, const char *name)
{
    const fuzz_request_t *r = (const fuzz_request_t *)req;
    for (size_t i = 0; i < r->n_query; i++)
        if (strcmp(r->query_name[i], name) == 0)
            return r->query_value[i];
    return NULL;
}

const char *__wrap_http_request_body(const http_request_t *req, size_t *len_out)
{
    const fuzz_request_t *r = (const fuzz_request_t *)req;
    if (len_out)
        *len_out = r->body_len;
    return r->body;
}

const char *__wrap_http_request_method(const http_request_t *req)
{
    return ((const fuzz_request_t *)req)->method;
}

const char *__wrap_http_request_path(const http_request_t *req)
{
    return ((const fuzz_request_t *)req)->path;
}

/* ---- the parsers -------------------------------------------------------- */

/* An answered request must be an error; a parser that returned false
 * without answering would leave the client with a 500. */
static void answered_check(const api_ctx_t *ctx, const http_response_t *resp, bool ok)
{
    if (!ok && (!ctx->replied || http_response_status(resp) < 400))
        abort();
}

static void leads_parse(api_ctx_t *ctx, const http_response_t *resp)
{
    bool many = json_is_array(ctx->body);
    size_t n = many ? json_array_size(ctx->body) : 1;
    if (n > API_BATCH_MAX)
        return;
    lead_in_t *ins = xcalloc(n ? n : 1, sizeof(*ins));
    for (size_t i = 0; i < n; i++) {
        char where[32] = "";
        if (many)
            snprintf(where, sizeof(where), "[%zu]", i);
        bool ok =
            lead_in_read(ctx, many ? json_array_get(ctx->body, i) : ctx->body, where, &ins[i]);
        answered_check(ctx, resp, ok);
        if (!ok)
            break;
    }
    lead_ins_free(ins, n);
}

static void campaign_parse(api_ctx_t *ctx, const http_response_t *resp)
{
    if (!json_is_object(ctx->body) || !jsonio_fields_check(ctx, ctx->body, campaign_fields, NULL))
        return;
    campaign_input_t in;
    memset(&in, 0, sizeof(in));
    settings_campaign_defaults(&in.s);
    in.max_call_duration_s = CAMPAIGN_CALL_DURATION_DEFAULT;
    bool ok = campaign_input_read(ctx, ctx->body, &in);
    answered_check(ctx, resp, ok);
    if (ok) {
        /* campaign_input_check without the database: the assistant's
         * post-call variables are fixed here. */
        static const settings_var_t vars[] = {{"interested", MODEL_VAR_BOOLEAN},
                                              {"notes", MODEL_VAR_STRING}};
        settings_rules_t rules;
        settings_problems_t problems;
        if (settings_campaign_check(&in.s, vars, 2, &rules, &problems) != OD_OK &&
            (problems.n == 0 || problems.n > SETTINGS_MAX_PROBLEMS))
            abort();
        /* The arms' shape and lib/rules' check, as campaign_problems runs them. */
        char why[SETTINGS_MESSAGE_MAX];
        if (in.arms && arms_specs(in.arms, NULL, why, sizeof(why)) != OD_OK && !why[0])
            abort();
        int start_min = -1;
        if (in.s.window_start)
            (void)window_time_parse(in.s.window_start, &start_min, NULL, 0);
    }
    campaign_input_free(&in);
}

static void assistant_parse(api_ctx_t *ctx, const http_response_t *resp)
{
    if (!json_is_object(ctx->body) || !jsonio_fields_check(ctx, ctx->body, assistant_fields, NULL))
        return;
    assistant_input_t in = {.provider = "vapi"};
    in.schema = xstrdup("{}");
    answered_check(ctx, resp, assistant_input_read(ctx, ctx->body, &in));
    free(in.schema);
}

static void account_parse(api_ctx_t *ctx, const http_response_t *resp)
{
    json_t *body = jsonio_body_object(ctx);
    if (!body)
        return;
    const char *s = NULL;
    char region[3];
    if (jsonio_string(ctx, body, "default_region", NULL, 8, &s) == JSONIO_SET)
        answered_check(ctx, resp, region_parse(ctx, "default_region", s, region));
    const char *qs = NULL, *qe = NULL;
    if (!jsonio_string_or_null(ctx, body, "quiet_hours_start", 16, &qs) ||
        !jsonio_string_or_null(ctx, body, "quiet_hours_end", 16, &qe) || !qs || !qe)
        return;
    window_spec_t spec;
    settings_problems_t problems;
    if (settings_quiet_hours_check(qs, qe, &spec, &problems) != OD_OK && problems.n == 0)
        abort();
}

static void dnc_parse(api_ctx_t *ctx, const http_response_t *resp)
{
    bool many = json_is_array(ctx->body);
    size_t n = many ? json_array_size(ctx->body) : 1;
    for (size_t i = 0; i < n && i < API_BATCH_MAX; i++) {
        json_t *obj = many ? json_array_get(ctx->body, i) : ctx->body;
        const char *phone = NULL;
        if (!json_is_object(obj) ||
            jsonio_string(ctx, obj, "phone", NULL, 64, &phone) != JSONIO_SET)
            continue;
        char e164[PHONE_E164_MAX + 1];
        answered_check(ctx, resp, number_parse(ctx, phone, "phone", i % 2 == 1, e164));
    }
}

/* Splits "name=value" lines of text (modified in place) into req's query. */
static void query_split(char *text, fuzz_request_t *req)
{
    for (char *line = text; line && req->n_query < FUZZ_QUERY_MAX;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            req->query_name[req->n_query] = line;
            req->query_value[req->n_query] = eq + 1;
            req->n_query++;
        }
        line = next;
    }
}

static void query_parse(api_ctx_t *ctx, const http_response_t *resp)
{
    int limit = 0;
    answered_check(ctx, resp, api_query_limit(ctx, &limit));
    if (limit < 1 || limit > API_PAGE_MAX)
        abort();
    const char *cursor = NULL;
    answered_check(ctx, resp, api_query_uuid_cursor(ctx, &cursor));
    lead_map_spec_t *spec = NULL;
    answered_check(ctx, resp, mapping_parse(ctx, http_request_query(ctx->req, "map"), &spec));
    if (spec) {
        char *json = lead_map_spec_to_json(spec);
        lead_map_spec_t *back = NULL;
        char err[512];
        /* The mapping stored with the import must read back. */
        if (lead_map_spec_from_json(json, &back, err, sizeof(err)) != OD_OK)
            abort();
        lead_map_spec_free(back);
        free(json);
    }
    lead_map_spec_free(spec);
    const char *region = http_request_query(ctx->req, "region");
    if (region)
        (void)phone_region_known(region);
    (void)content_type_is_csv(http_request_query(ctx->req, "content_type"));
    (void)content_type_is_json(http_request_query(ctx->req, "content_type"));
}

static void path_parse(api_ctx_t *ctx, const http_response_t *resp)
{
    if (route_resolve(ctx))
        answered_check(ctx, resp, params_check(ctx));
    else
        answered_check(ctx, resp, false);
}

/* The resource parsers of a JSON body, by the input's kind (0 to 4; kind
 * 5 is the body parse alone). */
static void (*const body_parsers[])(api_ctx_t *ctx, const http_response_t *resp) = {
    leads_parse, campaign_parse, assistant_parse, account_parse, dnc_parse};
#define BODY_PARSERS ((int)(sizeof(body_parsers) / sizeof(body_parsers[0])))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = data[0] % 8;
    /* NUL-terminated copy: query values and paths are C strings in lib/http. */
    char *text = xmalloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    static api_t api = {.import_max_bytes = API_IMPORT_MAX_BYTES_DEFAULT};
    fuzz_request_t req = {.method = "POST", .path = "/", .content_type = "application/json"};
    http_response_t *resp = http_response_new();
    api_ctx_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.api = &api;
    ctx.req = (http_request_t *)&req;
    ctx.resp = resp;
    memcpy(ctx.region, "US", 3);

    if (kind <= 5) {
        req.body = text;
        req.body_len = size - 1;
        bool ok = body_parse(&ctx, text, size - 1);
        answered_check(&ctx, resp, ok);
        if (ok && ctx.body && kind < BODY_PARSERS)
            body_parsers[kind](&ctx, resp);
    } else if (kind == 6) {
        query_split(text, &req);
        query_parse(&ctx, resp);
    } else {
        char *nl = strchr(text, '\n');
        if (nl) {
            *nl = '\0';
            req.method = text;
            req.path = nl + 1;
        } else {
            req.method = "GET";
            req.path = text;
        }
        path_parse(&ctx, resp);
    }
    json_decref(ctx.body);
    http_response_free(resp);
    free(text);
    return 0;
}

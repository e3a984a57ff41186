#include "sim_vapi.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "sim_protocol.h"
#include "xmalloc.h"

/* The top-level properties of the provider's create-call body that the
 * simulator accepts; anything else is refused as the provider does, so an
 * adapter typo shows up in tests rather than in production. */
static const char *const body_properties[] = {
    "name",          "assistantId",  "assistant",  "assistantOverrides",
    "squadId",       "squad",        "workflowId", "workflow",
    "phoneNumberId", "phoneNumber",  "customer",   "customerId",
    "metadata",      "schedulePlan", "transport",  NULL,
};

bool sim_vapi_e164_ok(const char *s)
{
    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return false;
    size_t digits = 0;
    for (const char *p = s + 1; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        digits++;
    }
    return digits >= 2 && digits <= 15;
}

bool sim_secret_equal(const char *given, const char *expected)
{
    if (!given || !expected)
        return false;
    size_t glen = strlen(given);
    size_t elen = strlen(expected);
    unsigned diff = glen != elen;
    for (size_t i = 0; i < elen; i++)
        diff |= (unsigned char)(i < glen ? given[i] : 0) ^ (unsigned char)expected[i];
    return diff == 0;
}

bool sim_vapi_bearer_ok(const char *authorization, const char *api_key)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return false;
    const char *key = authorization + 7;
    while (*key == ' ')
        key++;
    return sim_secret_equal(key, api_key);
}

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

char *sim_vapi_error_body(int status, json_t *message)
{
    json_t *body = json_pack("{s:o, s:s, s:i}", "message", message, "error", status_text(status),
                             "statusCode", status);
    return sim_json_text(body);
}

/* --- request --- */

void sim_request_problem(json_t *problems, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(problems, json_string(msg));
}

/* An optional string property; a wrong type is a problem. */
char *sim_request_string(const json_t *obj, const char *key, const char *path, json_t *problems)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        sim_request_problem(problems, "%s must be a string", path);
        return NULL;
    }
    return xstrdup(json_string_value(v));
}

/* An id from metadata: a string or a whole number, under its snake_case
 * or camelCase name. */
char *sim_request_metadata_id(const json_t *metadata, const char *snake, const char *camel,
                              json_t *problems)
{
    if (!metadata)
        return NULL;
    const char *key = json_object_get(metadata, snake) ? snake : camel;
    const json_t *v = json_object_get(metadata, key);
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v) && json_string_length(v) > 0)
        return xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return xasprintf("%lld", (long long)json_integer_value(v));
    sim_request_problem(problems, "metadata.%s must be a non-empty string or a whole number", key);
    return NULL;
}

static bool url_ok(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

/* server.url / serverUrl (and their secrets) of an assistant or its
 * overrides; the first place that names a URL wins. */
static void server_from(const json_t *obj, const char *path, sim_call_request_t *req,
                        json_t *problems)
{
    if (!json_is_object(obj) || req->server_url)
        return;
    char where[128], secret_where[128];
    const json_t *server = json_object_get(obj, "server");
    if (server && !json_is_object(server)) {
        sim_request_problem(problems, "%s.server must be an object", path);
        return;
    }
    snprintf(where, sizeof(where), "%s.server.url", path);
    char *url = server ? sim_request_string(server, "url", where, problems) : NULL;
    char *secret = NULL;
    if (url) {
        snprintf(secret_where, sizeof(secret_where), "%s.server.secret", path);
        secret = sim_request_string(server, "secret", secret_where, problems);
    } else {
        snprintf(where, sizeof(where), "%s.serverUrl", path);
        url = sim_request_string(obj, "serverUrl", where, problems);
        snprintf(secret_where, sizeof(secret_where), "%s.serverUrlSecret", path);
        secret = url ? sim_request_string(obj, "serverUrlSecret", secret_where, problems) : NULL;
    }
    if (url && !url_ok(url)) {
        sim_request_problem(problems, "%s must be an http:// or https:// URL", where);
        free(url);
        free(secret);
        return;
    }
    req->server_url = url;
    req->server_secret = secret;
}

/* Parses body (req zeroed), refuses a non-object and any property not in
 * allowed; returns the object, or NULL after a problem. */
static json_t *request_open(const char *body, size_t len, const char *const *allowed,
                            sim_call_request_t *req, json_t *problems)
{
    memset(req, 0, sizeof(*req));
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root) {
        sim_request_problem(problems, "the body is not JSON: %s (line %d, column %d)", jerr.text,
                            jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        sim_request_problem(problems, "the body must be a JSON object");
        json_decref(root);
        return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        (void)value;
        bool known = false;
        for (const char *const *p = allowed; *p && !known; p++)
            known = strcmp(*p, key) == 0;
        if (!known)
            sim_request_problem(problems, "property %s is not allowed", key);
    }
    return root;
}

void sim_request_metadata(const json_t *root, sim_call_request_t *req, json_t *problems)
{
    const json_t *metadata = json_object_get(root, "metadata");
    if (metadata && !json_is_object(metadata) && !json_is_null(metadata)) {
        sim_request_problem(problems, "metadata must be an object");
    } else if (json_is_object(metadata)) {
        req->metadata = json_deep_copy(metadata);
        req->attempt_id = sim_request_metadata_id(metadata, "attempt_id", "attemptId", problems);
        req->lead_id = sim_request_metadata_id(metadata, "lead_id", "leadId", problems);
        req->campaign_id = sim_request_metadata_id(metadata, "campaign_id", "campaignId", problems);
    }
}

int sim_request_parse(const char *body, size_t len, const char *const *allowed,
                      sim_request_read_fn reader, sim_call_request_t *req, json_t **problems_out)
{
    json_t *problems = json_array();
    json_t *root = request_open(body, len, allowed, req, problems);
    if (root)
        reader(root, req, problems);
    json_decref(root);
    if (json_array_size(problems) > 0) {
        sim_vapi_request_clear(req);
        *problems_out = problems;
        return OD_ERR_INVALID;
    }
    json_decref(problems);
    *problems_out = NULL;
    return OD_OK;
}

static void vapi_request_read(const json_t *root, sim_call_request_t *req, json_t *problems)
{
    req->assistant_id = sim_request_string(root, "assistantId", "assistantId", problems);
    const json_t *assistant = json_object_get(root, "assistant");
    if (assistant && !json_is_object(assistant))
        sim_request_problem(problems, "assistant must be an object");
    if (!req->assistant_id && !json_is_object(assistant) && !json_object_get(root, "squadId") &&
        !json_object_get(root, "squad"))
        sim_request_problem(problems, "assistantId (or an inline assistant) is required");

    req->phone_number_id = sim_request_string(root, "phoneNumberId", "phoneNumberId", problems);
    /* A transient phone number ({"number": E.164}) names the caller id
     * instead of a stored one; it is recorded as the call's from_number. */
    const json_t *transient = json_object_get(root, "phoneNumber");
    if (transient && !json_is_object(transient)) {
        sim_request_problem(problems, "phoneNumber must be an object");
    } else if (transient) {
        req->from_number = sim_request_string(transient, "number", "phoneNumber.number", problems);
        if (req->from_number && !sim_vapi_e164_ok(req->from_number))
            sim_request_problem(problems,
                                "phoneNumber.number must be a phone number in E.164 format "
                                "(got '%.64s')",
                                req->from_number);
    }
    if (!req->phone_number_id && !json_object_get(root, "phoneNumberId") && !req->from_number)
        sim_request_problem(problems,
                            "phoneNumberId (or a transient phoneNumber) is required for an "
                            "outbound phone call");

    const json_t *customer = json_object_get(root, "customer");
    if (!customer) {
        sim_request_problem(problems, "customer is required (an object with number in E.164)");
    } else if (!json_is_object(customer)) {
        sim_request_problem(problems, "customer must be an object");
    } else {
        req->number = sim_request_string(customer, "number", "customer.number", problems);
        req->customer_name = sim_request_string(customer, "name", "customer.name", problems);
        if (!json_object_get(customer, "number"))
            sim_request_problem(problems, "customer.number is required");
        else if (req->number && !sim_vapi_e164_ok(req->number))
            sim_request_problem(problems,
                                "customer.number must be a phone number in E.164 format, such as "
                                "+14155550100 (got '%.64s')",
                                req->number);
    }

    sim_request_metadata(root, req, problems);

    const json_t *overrides = json_object_get(root, "assistantOverrides");
    if (overrides && !json_is_object(overrides) && !json_is_null(overrides)) {
        sim_request_problem(problems, "assistantOverrides must be an object");
    } else if (json_is_object(overrides)) {
        const json_t *vars = json_object_get(overrides, "variableValues");
        if (vars && !json_is_object(vars))
            sim_request_problem(problems, "assistantOverrides.variableValues must be an object");
        req->overrides = json_deep_copy(overrides);
        server_from(overrides, "assistantOverrides", req, problems);
    }
    server_from(assistant, "assistant", req, problems);
}

int sim_vapi_request_parse(const char *body, size_t len, sim_call_request_t *req,
                           json_t **problems_out)
{
    return sim_request_parse(body, len, body_properties, vapi_request_read, req, problems_out);
}

void sim_vapi_request_clear(sim_call_request_t *req)
{
    free(req->number);
    free(req->customer_name);
    free(req->assistant_id);
    free(req->phone_number_id);
    free(req->from_number);
    free(req->attempt_id);
    free(req->lead_id);
    free(req->campaign_id);
    free(req->server_url);
    free(req->server_secret);
    json_decref(req->metadata);
    json_decref(req->overrides);
    memset(req, 0, sizeof(*req));
}

/* --- call object and messages --- */

static void set_time(json_t *obj, const char *key, int64_t us)
{
    char text[40];
    od_time_format_rfc3339(us, text, sizeof(text));
    json_object_set_new(obj, key, json_string(text));
}

static json_t *customer_object(const sim_call_t *call)
{
    json_t *c = json_object();
    if (call->number)
        json_object_set_new(c, "number", json_string(call->number));
    if (call->customer_name)
        json_object_set_new(c, "name", json_string(call->customer_name));
    return c;
}

json_t *sim_post_call_variables(const sim_call_t *call, const sim_rules_t *rules)
{
    json_t *data = json_object();
    if (!call->decided)
        return data;
    sim_outcome_t o = call->decision.outcome;
    if (o != SIM_OUTCOME_HUMAN && o != SIM_OUTCOME_HUMAN_GOAL && o != SIM_OUTCOME_HUMAN_NO_GOAL)
        return data;
    json_object_update(data, rules->data);
    if (call->first_to_number)
        sim_rules_first_data(rules, call->number, data);
    if (o != SIM_OUTCOME_HUMAN && rules->goal_variable)
        json_object_set_new(data, rules->goal_variable, json_boolean(o == SIM_OUTCOME_HUMAN_GOAL));
    return data;
}

/* What a call of each outcome sounded like, as both protocols report it: a
 * one-line summary and a transcript ("" where nobody spoke). An undecided
 * call, or an outcome without a row here, reads as a permanent failure. */
static const struct {
    const char *summary, *transcript;
} outcome_texts[SIM_OUTCOME_COUNT] = {
    [SIM_OUTCOME_BUSY] = {"The line was busy.", ""},
    [SIM_OUTCOME_NO_ANSWER] = {"Nobody answered.", ""},
    [SIM_OUTCOME_VOICEMAIL] =
        {"The call reached voicemail; the assistant left a short message.",
         "AI: Hello, this is a simulated assistant leaving a message. Goodbye.\n"},
    [SIM_OUTCOME_HUMAN] = {"The customer talked with the assistant.",
                           "AI: Hello, this is a simulated assistant.\nUser: Hi.\nAI: Goodbye.\n"},
    [SIM_OUTCOME_HUMAN_GOAL] =
        {"The customer talked with the assistant and agreed to the goal.",
         "AI: Hello, this is a simulated assistant.\nUser: Hi.\nAI: Shall we book it?\n"
         "User: Yes, please.\nAI: Done. Goodbye.\n"},
    [SIM_OUTCOME_HUMAN_NO_GOAL] =
        {"The customer talked with the assistant and declined.",
         "AI: Hello, this is a simulated assistant.\nUser: Hi.\nAI: Shall we book it?\n"
         "User: No, thank you.\nAI: Understood. Goodbye.\n"},
    [SIM_OUTCOME_FAIL_TRANSIENT] = {"The call could not be connected.", ""},
    [SIM_OUTCOME_FAIL_PERMANENT] = {"The call could not be connected.", ""},
};

static sim_outcome_t reported_outcome(const sim_call_t *call)
{
    if (!call->decided || (int)call->decision.outcome < 0 ||
        call->decision.outcome >= SIM_OUTCOME_COUNT ||
        !outcome_texts[call->decision.outcome].summary)
        return SIM_OUTCOME_FAIL_PERMANENT;
    return call->decision.outcome;
}

const char *sim_summary_text(const sim_call_t *call)
{
    return outcome_texts[reported_outcome(call)].summary;
}

const char *sim_transcript_text(const sim_call_t *call)
{
    return outcome_texts[reported_outcome(call)].transcript;
}

static json_t *analysis_object(const sim_call_t *call, const sim_rules_t *rules)
{
    json_t *analysis = json_object();
    json_object_set_new(analysis, "summary", json_string(sim_summary_text(call)));
    json_object_set_new(analysis, "structuredData", sim_post_call_variables(call, rules));
    if (call->decided && (call->decision.outcome == SIM_OUTCOME_HUMAN_GOAL ||
                          call->decision.outcome == SIM_OUTCOME_HUMAN_NO_GOAL))
        json_object_set_new(
            analysis, "successEvaluation",
            json_string(call->decision.outcome == SIM_OUTCOME_HUMAN_GOAL ? "true" : "false"));
    return analysis;
}

/* The cost in dollars of whole cents: exact with 12-digit printing. */
static double cost_dollars(const sim_call_t *call)
{
    return (double)call->decision.cost_cents / 100.0;
}

json_t *sim_vapi_call_object(const sim_call_t *call, const char *status, const sim_rules_t *rules)
{
    bool ended = strcmp(status, "ended") == 0;
    json_t *obj = json_object();
    json_object_set_new(obj, "id", json_string(call->id));
    json_object_set_new(obj, "orgId", json_string(SIM_VAPI_ORG_ID));
    json_object_set_new(obj, "type", json_string("outboundPhoneCall"));
    json_object_set_new(obj, "status", json_string(status));
    set_time(obj, "createdAt", call->received_us);
    int64_t updated = call->received_us;
    if (strcmp(status, "ringing") == 0 && call->ringing_us)
        updated = call->ringing_us;
    else if (strcmp(status, "in-progress") == 0 && call->answered_us)
        updated = call->answered_us;
    else if (ended && call->ended_us)
        updated = call->ended_us;
    set_time(obj, "updatedAt", updated);
    if (call->assistant_id)
        json_object_set_new(obj, "assistantId", json_string(call->assistant_id));
    if (call->phone_number_id)
        json_object_set_new(obj, "phoneNumberId", json_string(call->phone_number_id));
    json_object_set_new(obj, "customer", customer_object(call));
    if (call->overrides)
        json_object_set_new(obj, "assistantOverrides", json_deep_copy(call->overrides));
    if (call->metadata)
        json_object_set_new(obj, "metadata", json_deep_copy(call->metadata));
    json_object_set_new(obj, "phoneCallProvider", json_string("vapi"));
    json_object_set_new(obj, "phoneCallTransport", json_string("pstn"));
    if (call->answered_us && strcmp(status, "ringing") != 0)
        set_time(obj, "startedAt", call->answered_us);
    if (ended) {
        if (call->decided && call->decision.ended_reason)
            json_object_set_new(obj, "endedReason", json_string(call->decision.ended_reason));
        if (call->ended_us)
            set_time(obj, "endedAt", call->ended_us);
        json_object_set_new(obj, "cost", json_real(cost_dollars(call)));
        json_object_set_new(obj, "analysis", analysis_object(call, rules));
    } else {
        json_object_set_new(obj, "cost", json_integer(0));
    }
    return obj;
}

char *sim_vapi_message(const sim_call_t *call, sim_hook_kind_t kind, int64_t at_us,
                       const sim_rules_t *rules)
{
    json_t *msg = json_object();
    json_object_set_new(msg, "type", json_string(sim_hook_type(kind)));
    json_object_set_new(msg, "timestamp", json_integer(at_us / 1000));
    const char *reason = call->decided ? call->decision.ended_reason : NULL;
    if (kind == SIM_HOOK_REPORT) {
        if (reason)
            json_object_set_new(msg, "endedReason", json_string(reason));
        if (call->answered_us)
            set_time(msg, "startedAt", call->answered_us);
        set_time(msg, "endedAt", call->ended_us);
        int64_t talk_ms = call->answered_us ? call->decision.talk_us / 1000 : 0;
        double seconds = (double)talk_ms / 1000.0;
        json_object_set_new(msg, "durationSeconds", json_real(seconds));
        json_object_set_new(msg, "durationMs", json_integer(talk_ms));
        json_object_set_new(msg, "cost", json_real(cost_dollars(call)));
        json_object_set_new(msg, "costs",
                            json_pack("[{s:s, s:f, s:f}]", "type", "vapi", "minutes",
                                      seconds / 60.0, "cost", cost_dollars(call)));
        json_object_set_new(msg, "analysis", analysis_object(call, rules));
        json_object_set_new(
            msg, "artifact",
            json_pack("{s:s, s:[]}", "transcript", sim_transcript_text(call), "messages"));
        json_object_set_new(msg, "call", sim_vapi_call_object(call, "ended", rules));
    } else {
        const char *status = sim_hook_status(kind);
        json_object_set_new(msg, "status", json_string(status));
        if (kind == SIM_HOOK_ENDED && reason)
            json_object_set_new(msg, "endedReason", json_string(reason));
        json_object_set_new(msg, "call", sim_vapi_call_object(call, status, rules));
    }
    json_object_set_new(msg, "customer", customer_object(call));
    if (call->phone_number_id)
        json_object_set_new(msg, "phoneNumber", json_pack("{s:s}", "id", call->phone_number_id));
    return sim_json_text(json_pack("{s:o}", "message", msg));
}

/* Vapi sends back the secret the call was given (or the simulator's). */
static char *vapi_webhook_auth(const sim_call_t *call, const char *api_key, const char *body,
                               int64_t now_ms)
{
    (void)api_key;
    (void)body;
    (void)now_ms;
    return call->webhook_secret ? xasprintf("x-vapi-secret: %s", call->webhook_secret) : NULL;
}

static const char *vapi_hook_name(sim_hook_kind_t kind)
{
    return sim_hook_type(kind);
}

const sim_protocol_t sim_protocol_vapi = {
    .name = "vapi",
    .call_object = sim_vapi_call_object,
    .message = sim_vapi_message,
    .hook_name = vapi_hook_name,
    .error_body = sim_vapi_error_body,
    .webhook_auth = vapi_webhook_auth,
};

char *sim_json_text(json_t *value)
{
    char *text = json_dumps(value, SIM_JSON_FLAGS | JSON_ENCODE_ANY);
    json_decref(value);
    char *out = xstrdup(text ? text : "null");
    free(text);
    return out;
}

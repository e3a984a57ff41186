#include "sim_retell.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "sim_protocol.h"
#include "xmalloc.h"

/* The create-phone-call properties the simulator accepts; anything else is
 * refused, so that an adapter typo shows up in tests. */
static const char *const body_properties[] = {
    "from_number",        "to_number",
    "override_agent_id",  "override_agent_version",
    "metadata",           "retell_llm_dynamic_variables",
    "custom_sip_headers", NULL,
};

/* A required E.164 number property. */
static char *number_read(const json_t *root, const char *key, json_t *problems)
{
    char *n = sim_request_string(root, key, key, problems);
    if (!json_object_get(root, key)) {
        sim_request_problem(problems, "%s is required (E.164)", key);
    } else if (n && !sim_vapi_e164_ok(n)) {
        sim_request_problem(problems, "%s must be a phone number in E.164 format (got '%.64s')",
                            key, n);
    }
    return n;
}

static void retell_request_read(const json_t *root, sim_call_request_t *req, json_t *problems)
{
    req->from_number = number_read(root, "from_number", problems);
    req->number = number_read(root, "to_number", problems);
    req->assistant_id =
        sim_request_string(root, "override_agent_id", "override_agent_id", problems);
    sim_request_metadata(root, req, problems);
    const json_t *vars = json_object_get(root, "retell_llm_dynamic_variables");
    if (vars && !json_is_object(vars) && !json_is_null(vars)) {
        sim_request_problem(problems, "retell_llm_dynamic_variables must be an object");
    } else if (json_is_object(vars)) {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)vars, key, value)
        {
            if (!json_is_string(value))
                sim_request_problem(problems, "retell_llm_dynamic_variables.%s must be a string",
                                    key);
        }
        /* Kept where the Vapi request keeps its variables, so that the call
         * log shows them the same way (variable_values). */
        req->overrides = json_pack("{s:O}", "variableValues", vars);
    }
}

int sim_retell_request_parse(const char *body, size_t len, sim_call_request_t *req,
                             json_t **problems_out)
{
    return sim_request_parse(body, len, body_properties, retell_request_read, req, problems_out);
}

const char *sim_retell_disconnection_reason(const sim_call_t *call)
{
    switch (call->decided ? call->decision.outcome : SIM_OUTCOME_FAIL_PERMANENT) {
    case SIM_OUTCOME_BUSY:
        return "dial_busy";
    case SIM_OUTCOME_NO_ANSWER:
        return "dial_no_answer";
    case SIM_OUTCOME_VOICEMAIL:
        return "voicemail_reached";
    case SIM_OUTCOME_HUMAN_NO_GOAL:
        return "user_hangup";
    case SIM_OUTCOME_HUMAN:
    case SIM_OUTCOME_HUMAN_GOAL:
        return "agent_hangup";
    case SIM_OUTCOME_FAIL_TRANSIENT:
        return "dial_failed";
    default:
        return "invalid_destination";
    }
}

char *sim_retell_signature(const char *api_key, const char *body, int64_t now_ms)
{
    char ts[24], digest[HMAC_SHA256_HEX_LEN];
    int n = snprintf(ts, sizeof(ts), "%" PRId64, now_ms);
    hmac_part_t parts[] = {{body, strlen(body)}, {ts, (size_t)n}};
    hmac_sha256_hex(api_key, strlen(api_key), parts, 2, digest);
    return xasprintf("v=%s,d=%s", ts, digest);
}

/* --- the call object --- */

static void set_ms(json_t *obj, const char *key, int64_t us)
{
    if (us > 0)
        json_object_set_new(obj, key, json_integer((json_int_t)(us / 1000)));
}

/* Retell's call_status for the simulator's: registered until answered,
 * ongoing while talking, then ended (it connected) or not_connected. */
static const char *call_status(const sim_call_t *call, const char *status)
{
    if (strcmp(status, "in-progress") == 0)
        return "ongoing";
    if (strcmp(status, "ended") == 0)
        return call->answered_us ? "ended" : "not_connected";
    return "registered";
}

static json_t *retell_call_object(const sim_call_t *call, const char *status,
                                  const sim_rules_t *rules)
{
    const char *st = call_status(call, status);
    bool final = strcmp(st, "ended") == 0 || strcmp(st, "not_connected") == 0;
    json_t *obj = json_object();
    json_object_set_new(obj, "call_type", json_string("phone_call"));
    json_object_set_new(obj, "call_id", json_string(call->id));
    if (call->assistant_id)
        json_object_set_new(obj, "agent_id", json_string(call->assistant_id));
    json_object_set_new(obj, "call_status", json_string(st));
    json_object_set_new(obj, "direction", json_string("outbound"));
    if (call->from_number)
        json_object_set_new(obj, "from_number", json_string(call->from_number));
    if (call->number)
        json_object_set_new(obj, "to_number", json_string(call->number));
    json_object_set_new(obj, "metadata",
                        call->metadata ? json_deep_copy(call->metadata) : json_object());
    const json_t *vars = json_object_get(call->overrides, "variableValues");
    json_object_set_new(obj, "retell_llm_dynamic_variables",
                        vars ? json_deep_copy(vars) : json_object());
    if (strcmp(st, "registered") != 0)
        set_ms(obj, "start_timestamp", call->answered_us);
    if (!final)
        return obj;
    set_ms(obj, "end_timestamp", call->ended_us);
    int64_t talk_ms = call->answered_us ? call->decision.talk_us / 1000 : 0;
    json_object_set_new(obj, "duration_ms", json_integer(talk_ms));
    json_object_set_new(obj, "disconnection_reason",
                        json_string(sim_retell_disconnection_reason(call)));
    json_object_set_new(obj, "transcript", json_string(sim_transcript_text(call)));
    /* combined_cost is in cents. */
    json_object_set_new(obj, "call_cost",
                        json_pack("{s:I, s:I}", "combined_cost",
                                  (json_int_t)call->decision.cost_cents, "total_duration_seconds",
                                  (json_int_t)((talk_ms + 999) / 1000)));
    bool goal = call->decided && call->decision.outcome == SIM_OUTCOME_HUMAN_GOAL;
    json_object_set_new(obj, "call_analysis",
                        json_pack("{s:s, s:b, s:b, s:o}", "call_summary", sim_summary_text(call),
                                  "in_voicemail",
                                  call->decided && call->decision.outcome == SIM_OUTCOME_VOICEMAIL,
                                  "call_successful", goal, "custom_analysis_data",
                                  sim_post_call_variables(call, rules)));
    return obj;
}

/* call_started when answered, call_ended (without the analysis) and
 * call_analyzed at the end; Retell has no ringing webhook. */
static char *retell_message(const sim_call_t *call, sim_hook_kind_t kind, int64_t at_us,
                            const sim_rules_t *rules)
{
    (void)at_us; /* Retell's events carry the call's own timestamps */
    const char *event = kind == SIM_HOOK_IN_PROGRESS ? "call_started"
                        : kind == SIM_HOOK_ENDED     ? "call_ended"
                        : kind == SIM_HOOK_REPORT    ? "call_analyzed"
                                                     : NULL;
    if (!event)
        return NULL;
    json_t *obj =
        retell_call_object(call, kind == SIM_HOOK_IN_PROGRESS ? "in-progress" : "ended", rules);
    if (kind == SIM_HOOK_ENDED)
        json_object_del(obj, "call_analysis");
    return sim_json_text(json_pack("{s:s, s:o}", "event", event, "call", obj));
}

static const char *retell_hook_name(sim_hook_kind_t kind)
{
    static const char *const names[] = {
        [SIM_HOOK_RINGING] = "ringing",
        [SIM_HOOK_IN_PROGRESS] = "call_started",
        [SIM_HOOK_ENDED] = "call_ended",
        [SIM_HOOK_REPORT] = "call_analyzed",
    };
    return OD_ENUM_NAME(names, kind, "unknown");
}

/* {"status":"error","message":"..."}; several problems are joined. */
static char *retell_error_body(int status, json_t *message)
{
    (void)status;
    char text[1024] = "";
    if (json_is_array(message)) {
        size_t i;
        json_t *m;
        size_t off = 0;
        json_array_foreach(message, i, m)
        {
            int n = snprintf(text + off, sizeof(text) - off, "%s%s", i ? "; " : "",
                             json_string_value(m) ? json_string_value(m) : "");
            if (n < 0 || (size_t)n >= sizeof(text) - off)
                break;
            off += (size_t)n;
        }
    } else {
        snprintf(text, sizeof(text), "%s",
                 json_string_value(message) ? json_string_value(message) : "error");
    }
    json_decref(message);
    return sim_json_text(json_pack("{s:s, s:s}", "status", "error", "message", text));
}

static char *retell_webhook_auth(const sim_call_t *call, const char *api_key, const char *body,
                                 int64_t now_ms)
{
    (void)call;
    char *sig = sim_retell_signature(api_key, body, now_ms);
    char *line = xasprintf("x-retell-signature: %s", sig);
    free(sig);
    return line;
}

const sim_protocol_t sim_protocol_retell = {
    .name = "retell",
    .call_object = retell_call_object,
    .message = retell_message,
    .hook_name = retell_hook_name,
    .error_body = retell_error_body,
    .webhook_auth = retell_webhook_auth,
};

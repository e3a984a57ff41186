/*
 * provider_retell.c — Retell AI's HTTP API (docs/provider-protocol.md,
 * section 9), which tools/voice-sim also speaks.
 *
 * Create a call:   POST {base}/v2/create-phone-call with the bearer key:
 *                  from_number, to_number, override_agent_id, metadata (our
 *                  attempt) and retell_llm_dynamic_variables; 201 and the
 *                  call object, whose call_id every webhook carries.
 * Look a call up:  GET {base}/v2/get-call/{call_id}.
 * Webhooks:        {"event": "call_started" | "call_ended" | "call_analyzed",
 *                  "call": {..., "metadata": {what we sent}}}, sent to the
 *                  agent's webhook URL and signed in x-retell-signature:
 *                  "v=<ms>,d=<hex HMAC-SHA256(api key, body || ms)>".
 * Times are epoch milliseconds; call_cost.combined_cost is in cents.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hmac.h"
#include "provider.h"

/* A signature older or newer than this is refused: a captured webhook
 * cannot be replayed later. Five minutes, as Retell's own SDKs allow,
 * leaves room for clock drift and Retell's retries. */
#define RETELL_SIGNATURE_MAX_AGE_MS (5 * 60 * 1000)

/* ---- disconnection_reason ---- */

/* Every disconnection_reason Retell documents (Debug call disconnection).
 * answered_by -1: the call did not connect. A person who declines is
 * retried like one who does not answer; a number that cannot exist is
 * permanent; everything on our side or Retell's (trunk, spam marking of our
 * caller id, payment, concurrency) is transient: not the lead's fault. */
static const struct {
    const char *reason;
    model_call_status_t status;
    int answered_by;
    bool permanent;
} reasons[] = {
    {"user_hangup", MODEL_CALL_COMPLETED, MODEL_ANSWERED_BY_HUMAN, false},
    {"agent_hangup", MODEL_CALL_COMPLETED, MODEL_ANSWERED_BY_HUMAN, false},
    {"call_transfer", MODEL_CALL_COMPLETED, MODEL_ANSWERED_BY_HUMAN, false},
    {"inactivity", MODEL_CALL_COMPLETED, MODEL_ANSWERED_BY_HUMAN, false},
    {"max_duration_reached", MODEL_CALL_COMPLETED, MODEL_ANSWERED_BY_HUMAN, false},
    {"voicemail_reached", MODEL_CALL_COMPLETED, MODEL_ANSWERED_BY_VOICEMAIL, false},
    {"machine_detected", MODEL_CALL_COMPLETED, MODEL_ANSWERED_BY_VOICEMAIL, false},
    {"ivr_reached", MODEL_CALL_COMPLETED, MODEL_ANSWERED_BY_UNKNOWN, false},
    {"dial_busy", MODEL_CALL_BUSY, -1, false},
    {"dial_no_answer", MODEL_CALL_UNANSWERED, -1, false},
    {"user_declined", MODEL_CALL_UNANSWERED, -1, false},
    {"invalid_destination", MODEL_CALL_FAILED, -1, true},
    {"dial_failed", MODEL_CALL_FAILED, -1, false},
    {"marked_as_spam", MODEL_CALL_FAILED, -1, false},
    {"telephony_provider_permission_denied", MODEL_CALL_FAILED, -1, false},
    {"telephony_provider_unavailable", MODEL_CALL_FAILED, -1, false},
    {"sip_routing_error", MODEL_CALL_FAILED, -1, false},
    {"concurrency_limit_reached", MODEL_CALL_FAILED, -1, false},
    {"no_valid_payment", MODEL_CALL_FAILED, -1, false},
    {"scam_detected", MODEL_CALL_FAILED, -1, false},
};

void provider_retell_reason_map(const char *reason, bool answered, bool in_voicemail,
                                provider_result_t *out)
{
    if (!reason)
        reason = "";
    provider_result_begin(out, reason);
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(reasons[i].reason, reason) != 0)
            continue;
        out->status = reasons[i].status;
        out->permanent = reasons[i].permanent;
        if (reasons[i].answered_by >= 0) {
            out->answered_known = true;
            out->answered_by = (model_answered_by_t)reasons[i].answered_by;
            /* The analysis heard a voicemail greeting the hang-up reason
             * does not name. */
            if (in_voicemail)
                out->answered_by = MODEL_ANSWERED_BY_VOICEMAIL;
        } else if (answered && out->status == MODEL_CALL_FAILED) {
            out->answered_known = true; /* connected, then failed */
        }
        return;
    }
    /* error_* (Retell's, the LLM's, the telephony's) and anything new:
     * transient failures; an unknown one is logged (reason_known). */
    out->status = MODEL_CALL_FAILED;
    out->answered_known = answered;
    out->reason_known = strncmp(reason, "error_", 6) == 0;
}

/* ---- signatures ---- */

void provider_retell_signature(const char *key, const char *body, size_t len, int64_t ts_ms,
                               char out[PROVIDER_SIGNATURE_MAX])
{
    char ts[24], digest[HMAC_SHA256_HEX_LEN];
    int n = snprintf(ts, sizeof(ts), "%" PRId64, ts_ms);
    hmac_part_t parts[] = {{body, len}, {ts, (size_t)n}};
    hmac_sha256_hex(key, strlen(key), parts, 2, digest);
    snprintf(out, PROVIDER_SIGNATURE_MAX, "v=%s,d=%s", ts, digest);
}

static int retell_webhook_verify(const provider_conf_t *conf, const char *auth, const char *body,
                                 size_t len, int64_t now_ms, char *errbuf, size_t errlen)
{
    if (!auth || !*auth)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the x-retell-signature header is missing");
    /* "v=<digits>,d=<64 hex>" and nothing else. */
    if (strncmp(auth, "v=", 2) != 0 || !isdigit((unsigned char)auth[2]))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "x-retell-signature is not \"v=<ms>,d=<hex>\"");
    char *end = NULL;
    long long ts = strtoll(auth + 2, &end, 10);
    if (end - (auth + 2) > 15 || strncmp(end, ",d=", 3) != 0 ||
        strlen(end + 3) != HMAC_SHA256_HEX_LEN - 1)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "x-retell-signature is not \"v=<ms>,d=<hex>\"");
    if (llabs(now_ms - ts) > RETELL_SIGNATURE_MAX_AGE_MS)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "x-retell-signature is %lld s away from now (at most %d s): a replay or a "
                       "clock far off",
                       (now_ms - ts) / 1000, RETELL_SIGNATURE_MAX_AGE_MS / 1000);
    char expected[PROVIDER_SIGNATURE_MAX];
    provider_retell_signature(conf->api_key, body ? body : "", len, ts, expected);
    if (!hmac_secret_equal(auth, expected))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "x-retell-signature does not match the body (signed with another key?)");
    return OD_OK;
}

/* ---- the call object ---- */

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* An epoch-milliseconds property as µs; 0 when absent or not positive. */
static int64_t jms(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1e15)
        return 0;
    return (int64_t)llround(json_number_value(v)) * 1000;
}

/* call.call_id, call.metadata and call.to_number → msg. */
static int attempt_from_call(const json_t *call, provider_msg_t *msg, char *errbuf, size_t errlen)
{
    const char *id = jstr(call, "call_id");
    if (!id || !*id)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "call.call_id is missing");
    if (strlen(id) >= sizeof(msg->provider_call_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "call.call_id is too long");
    provider_copy(msg->provider_call_id, sizeof(msg->provider_call_id), id);
    const char *to = jstr(call, "to_number");
    if (to && strlen(to) < sizeof(msg->e164))
        provider_copy(msg->e164, sizeof(msg->e164), to);
    return provider_attempt_from_metadata(json_object_get(call, "metadata"), "call.metadata",
                                          &msg->attempt, errbuf, errlen);
}

/* The terminal result from a call object (call_ended, call_analyzed, or a
 * lookup). */
static void result_from(const json_t *call, provider_msg_t *out)
{
    provider_result_t *r = &out->result;
    const char *status = jstr(call, "call_status");
    int64_t started = jms(call, "start_timestamp");
    int64_t ended = jms(call, "end_timestamp");
    bool connected = started && (!status || strcmp(status, "not_connected") != 0);
    const json_t *analysis = json_object_get(call, "call_analysis");
    bool in_voicemail = json_is_true(json_object_get(analysis, "in_voicemail"));
    provider_retell_reason_map(jstr(call, "disconnection_reason"), connected, in_voicemail, r);
    r->started_at_us = connected ? started : 0;
    r->ended_at_us = ended;
    const json_t *ms = json_object_get(call, "duration_ms");
    if (json_is_integer(ms) && json_integer_value(ms) >= 0)
        r->duration_ms = json_integer_value(ms);
    else if (ended > started)
        r->duration_ms = (ended - started) / 1000;
    if (!connected)
        r->duration_ms = 0; /* never answered: no talk time, whatever was sent */
    const json_t *cents = json_object_get(json_object_get(call, "call_cost"), "combined_cost");
    r->cost_minor =
        json_is_number(cents) ? provider_cost_minor(json_number_value(cents) / 100.0) : 0;
    r->post_call_variables_json =
        provider_json_object_text(json_object_get(analysis, "custom_analysis_data"));
    out->occurred_at_us = ended;
}

/* ---- the ops ---- */

static int retell_call_request_build(const provider_conf_t *conf, const dialjob_t *job,
                                     provider_request_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!job->provider_assistant_id || !*job->provider_assistant_id)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the job has no provider assistant id (the Retell agent id)");
    if (!job->caller_id || !*job->caller_id)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the job has no caller id: Retell needs from_number (the assistant's "
                       "outbound_e164, a number bound to the agent in Retell)");
    json_t *body = json_pack("{s:s, s:s, s:s, s:o, s:o}", "from_number", job->caller_id,
                             "to_number", job->e164, "override_agent_id",
                             job->provider_assistant_id, "metadata", provider_metadata_of_job(job),
                             "retell_llm_dynamic_variables", provider_variables_of_job(job));
    return provider_request_post_json(conf, "/v2/create-phone-call", body, out, errbuf, errlen);
}

static void retell_call_response_parse(long status, const char *body, size_t len,
                                       const char *retry_after, provider_place_result_t *out)
{
    provider_place_parse(status, body, len, retry_after, "call_id", out);
}

static int retell_webhook_read(const json_t *root, provider_msg_t *out, char *errbuf, size_t errlen)
{
    const char *event = jstr(root, "event");
    if (!event || !*event)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the body has no \"event\"");
    provider_copy(out->type, sizeof(out->type), event);
    bool started = strcmp(event, "call_started") == 0;
    bool ended = strcmp(event, "call_ended") == 0;
    bool analyzed = strcmp(event, "call_analyzed") == 0;
    if (!started && !ended && !analyzed) {
        out->kind = PROVIDER_MSG_IGNORED; /* transcript and transfer events: not ours */
        return OD_OK;
    }
    const json_t *call = json_object_get(root, "call");
    if (!json_is_object(call))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the body has no \"call\" object");
    int rc = attempt_from_call(call, out, errbuf, errlen);
    if (rc)
        return rc;
    if (started) {
        out->kind = PROVIDER_MSG_IN_PROGRESS;
        out->started_at_us = jms(call, "start_timestamp");
        out->occurred_at_us = out->started_at_us;
    } else if (ended) {
        /* Everything but the analysis; call_analyzed follows with it. */
        out->kind = PROVIDER_MSG_ENDED;
        out->occurred_at_us = jms(call, "end_timestamp");
    } else {
        out->kind = PROVIDER_MSG_REPORT;
        result_from(call, out);
    }
    return OD_OK;
}

static int retell_webhook_parse(const char *body, size_t len, provider_msg_t *out, char *errbuf,
                                size_t errlen)
{
    return provider_webhook_parse(body, len, retell_webhook_read, out, errbuf, errlen);
}

static int retell_call_lookup_build(const provider_conf_t *conf, const char *provider_call_id,
                                    provider_request_t *out, char *errbuf, size_t errlen)
{
    return provider_request_get_call(conf, "/v2/get-call/", provider_call_id, out, errbuf, errlen);
}

/* registered and ongoing are still running; ended, not_connected and
 * error are final. */
static bool retell_status_final(const char *status)
{
    return strcmp(status, "registered") != 0 && strcmp(status, "ongoing") != 0;
}

static int retell_report(const json_t *call, provider_msg_t *out, char *errbuf, size_t errlen)
{
    int rc = attempt_from_call(call, out, errbuf, errlen);
    if (!rc)
        result_from(call, out);
    return rc;
}

static int retell_call_lookup_parse(long status, const char *body, size_t len,
                                    provider_lookup_t *kind, provider_msg_t *out, char *errbuf,
                                    size_t errlen)
{
    return provider_lookup_parse(status, body, len, "call_status", retell_status_final,
                                 retell_report, kind, out, errbuf, errlen);
}

const provider_ops_t provider_retell = {
    .name = "retell",
    .auth_header = "x-retell-signature",
    /* The webhook URL is the agent's (set in Retell); the key signs them. */
    .env = {.base_url = "OUTDIAL_RETELL_BASE_URL",
            .base_url_default = "https://api.retellai.com",
            .api_key = "OUTDIAL_RETELL_API_KEY",
            .required = false},
    .webhook_verify = retell_webhook_verify,
    .call_request_build = retell_call_request_build,
    .call_response_parse = retell_call_response_parse,
    .webhook_parse = retell_webhook_parse,
    .call_lookup_build = retell_call_lookup_build,
    .call_lookup_parse = retell_call_lookup_parse,
};

/*
 * provider_vapi.c — the Vapi HTTP API (docs/provider-protocol.md), which
 * tools/voice-sim also speaks.
 *
 * Create a call:   POST {base}/call with the bearer key; 201 and the call
 *                  object, whose id every webhook carries as message.call.id.
 * Look a call up:  GET {base}/call/{id}.
 * Webhooks:        {"message": {"type": "status-update" | "end-of-call-report",
 *                  ..., "call": {..., "metadata": {what we sent}}}}, with the
 *                  shared secret in x-vapi-secret.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "hmac.h"
#include "provider.h"
#include "xmalloc.h"

/* ---- endedReason ---- */

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* SIP final responses the provider names in endedReason ("...-sip-486-busy-here").
 * docs/dialer.md has the same table. A busy line and a person who declines
 * are retried by the campaign's rules; a number that does not exist or a
 * network that refuses it cannot be helped by calling again. */
static const struct {
    int code;
    model_call_status_t status;
    bool permanent;
} sip_map[] = {
    {403, MODEL_CALL_FAILED, true},      /* Forbidden: refused by the network */
    {404, MODEL_CALL_FAILED, true},      /* Not Found: no such number */
    {484, MODEL_CALL_FAILED, true},      /* Address Incomplete */
    {604, MODEL_CALL_FAILED, true},      /* Does Not Exist Anywhere */
    {408, MODEL_CALL_UNANSWERED, false}, /* Request Timeout: rang out */
    {480, MODEL_CALL_UNANSWERED, false}, /* Temporarily Unavailable */
    {603, MODEL_CALL_UNANSWERED, false}, /* Decline: a person said no to this call */
    {486, MODEL_CALL_BUSY, false},       /* Busy Here */
    {600, MODEL_CALL_BUSY, false},       /* Busy Everywhere */
    {503, MODEL_CALL_FAILED, false},     /* Service Unavailable: a carrier fault */
};

/* The SIP code in "...-sip-NNN-...", or 0. */
static int sip_code(const char *reason)
{
    const char *p = strstr(reason, "-sip-");
    if (!p || !isdigit((unsigned char)p[5]) || !isdigit((unsigned char)p[6]) ||
        !isdigit((unsigned char)p[7]) || (p[8] != '-' && p[8] != '\0'))
        return 0;
    return (p[5] - '0') * 100 + (p[6] - '0') * 10 + (p[7] - '0');
}

void provider_vapi_ended_reason_map(const char *reason, bool answered, provider_result_t *out)
{
    static const char *const human[] = {
        "customer-ended-call",
        "assistant-ended-call",
        "assistant-ended-call-after-message-spoken",
        "assistant-said-end-call-phrase",
        "assistant-forwarded-call",
        "assistant-ended-call-with-hangup-task",
        "exceeded-max-duration",
        "silence-timed-out",
        NULL,
    };
    if (!reason)
        reason = "";
    provider_result_begin(out, reason);

    if (strcmp(reason, "customer-busy") == 0) {
        out->status = MODEL_CALL_BUSY;
        return;
    }
    int sip = sip_code(reason);
    for (size_t i = 0; sip && i < sizeof(sip_map) / sizeof(sip_map[0]); i++) {
        if (sip_map[i].code != sip)
            continue;
        out->status = sip_map[i].status;
        out->permanent = sip_map[i].permanent;
        if (out->status == MODEL_CALL_FAILED && answered)
            out->answered_known = true; /* connected, then failed: answered by someone */
        return;
    }
    if (strcmp(reason, "customer-did-not-answer") == 0) {
        out->status = MODEL_CALL_UNANSWERED;
        return;
    }
    if (strcmp(reason, "voicemail") == 0) {
        out->status = MODEL_CALL_COMPLETED;
        out->answered_by = MODEL_ANSWERED_BY_VOICEMAIL;
        out->answered_known = true;
        return;
    }
    for (size_t i = 0; human[i]; i++) {
        if (strcmp(reason, human[i]) == 0) {
            out->status = MODEL_CALL_COMPLETED;
            out->answered_by = MODEL_ANSWERED_BY_HUMAN;
            out->answered_known = true;
            return;
        }
    }
    out->status = MODEL_CALL_FAILED;
    if (answered) {
        /* It connected, then failed: someone or something answered. */
        out->answered_by = MODEL_ANSWERED_BY_UNKNOWN;
        out->answered_known = true;
    }
    /* Invalid number or refused by the network (SIP codes above): calling
     * again cannot help. */
    if (strcmp(reason, "twilio-reported-customer-misdialed") == 0 ||
        strcmp(reason, "vonage-rejected") == 0) {
        out->permanent = true;
        return;
    }
    /* Provider and carrier faults: transient. */
    if (strcmp(reason, "twilio-failed-to-connect-call") == 0 ||
        strcmp(reason, "vonage-failed-to-connect-call") == 0 || ends_with(reason, "-worker-died") ||
        strcmp(reason, "phone-call-provider-closed-websocket") == 0 ||
        starts_with(reason, "call.in-progress.error-vapifault-") ||
        starts_with(reason, "pipeline-error-") ||
        (starts_with(reason, "call.start.error-") && !strstr(reason, "subscription") &&
         !strstr(reason, "credit")))
        return;
    /* Anything else: transient, and the caller logs it (reason_known). */
    out->reason_known = false;
}

/* ---- JSON helpers ---- */

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* An RFC 3339 time property, 0 when absent or unparseable. */
static int64_t jtime(const json_t *obj, const char *key)
{
    const char *s = jstr(obj, key);
    int64_t us = 0;
    if (!s || od_time_parse_rfc3339(s, &us) != OD_OK)
        return 0;
    return us;
}

/* The first of obj[key] and call[key] that exists. */
static json_t *either(const json_t *msg, const json_t *call, const char *key)
{
    json_t *v = msg ? json_object_get(msg, key) : NULL;
    return v ? v : json_object_get(call, key);
}

/* call.id and call.metadata → msg. */
static int attempt_from_call(const json_t *call, provider_msg_t *msg, char *errbuf, size_t errlen)
{
    const char *id = jstr(call, "id");
    if (!id || !*id)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "message.call.id is missing");
    if (strlen(id) >= sizeof(msg->provider_call_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "message.call.id is too long");
    provider_copy(msg->provider_call_id, sizeof(msg->provider_call_id), id);
    return provider_attempt_from_metadata(json_object_get(call, "metadata"),
                                          "message.call.metadata", &msg->attempt, errbuf, errlen);
}

static void customer_number(const json_t *msg, const json_t *call, provider_msg_t *out)
{
    const char *n = jstr(json_object_get(msg, "customer"), "number");
    if (!n)
        n = jstr(json_object_get(call, "customer"), "number");
    if (n && strlen(n) < sizeof(out->e164))
        provider_copy(out->e164, sizeof(out->e164), n);
}

/* The terminal result from a report (msg) or a call object (msg NULL). */
static void result_from(const json_t *msg, const json_t *call, provider_msg_t *out)
{
    provider_result_t *r = &out->result;
    const char *reason = json_string_value(either(msg, call, "endedReason"));
    int64_t started = msg ? jtime(msg, "startedAt") : 0;
    if (!started)
        started = jtime(call, "startedAt");
    int64_t ended = msg ? jtime(msg, "endedAt") : 0;
    if (!ended)
        ended = jtime(call, "endedAt");
    provider_vapi_ended_reason_map(reason, started != 0, r);
    r->started_at_us = started;
    r->ended_at_us = ended;
    const json_t *ms = msg ? json_object_get(msg, "durationMs") : NULL;
    const json_t *secs = msg ? json_object_get(msg, "durationSeconds") : NULL;
    if (json_is_integer(ms) && json_integer_value(ms) >= 0)
        r->duration_ms = json_integer_value(ms);
    else if (json_is_number(secs) && json_number_value(secs) >= 0)
        r->duration_ms = (int64_t)llround(json_number_value(secs) * 1000.0);
    else if (started && ended > started)
        r->duration_ms = (ended - started) / 1000;
    if (!started)
        r->duration_ms = 0; /* never answered: no talk time, whatever was sent */
    const json_t *cost = either(msg, call, "cost");
    r->cost_minor = json_is_number(cost) ? provider_cost_minor(json_number_value(cost)) : 0;
    const json_t *analysis = either(msg, call, "analysis");
    r->post_call_variables_json =
        provider_json_object_text(json_object_get(analysis, "structuredData"));
    if (!out->occurred_at_us)
        out->occurred_at_us = ended;
}

/* ---- the ops ---- */

static int vapi_call_request_build(const provider_conf_t *conf, const dialjob_t *job,
                                   provider_request_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!job->provider_assistant_id || !*job->provider_assistant_id)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the job has no provider assistant id");
    json_t *body = json_object();
    json_object_set_new(body, "assistantId", json_string(job->provider_assistant_id));
    if (job->provider_phone_number_id && *job->provider_phone_number_id)
        json_object_set_new(body, "phoneNumberId", json_string(job->provider_phone_number_id));
    else
        json_object_set_new(body, "phoneNumber", json_pack("{s:s}", "number", job->caller_id));
    json_t *customer = json_pack("{s:s}", "number", job->e164);
    if (job->lead_name && *job->lead_name)
        json_object_set_new(customer, "name", json_string(job->lead_name));
    json_object_set_new(body, "customer", customer);

    json_t *overrides = json_object();
    json_object_set_new(overrides, "variableValues", provider_variables_of_job(job));
    json_object_set_new(
        overrides, "server",
        json_pack("{s:s, s:s}", "url", conf->webhook_url, "secret", conf->webhook_secret));
    if (job->max_call_duration_s > 0)
        json_object_set_new(overrides, "maxDurationSeconds",
                            json_integer((json_int_t)job->max_call_duration_s));
    json_object_set_new(body, "assistantOverrides", overrides);
    json_object_set_new(body, "metadata", provider_metadata_of_job(job));
    return provider_request_post_json(conf, "/call", body, out, errbuf, errlen);
}

static void vapi_call_response_parse(long status, const char *body, size_t len,
                                     const char *retry_after, provider_place_result_t *out)
{
    provider_place_parse(status, body, len, retry_after, "id", out);
}

static int vapi_webhook_read(const json_t *root, provider_msg_t *out, char *errbuf, size_t errlen)
{
    const json_t *msg = json_object_get(root, "message");
    if (!json_is_object(msg))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the body has no \"message\" object");
    const char *type = jstr(msg, "type");
    if (!type || !*type)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "message.type is missing");
    provider_copy(out->type, sizeof(out->type), type);
    bool status_update = strcmp(type, "status-update") == 0;
    bool report = strcmp(type, "end-of-call-report") == 0;
    if (!status_update && !report) {
        out->kind = PROVIDER_MSG_IGNORED; /* transcripts, tool calls, ...: not ours */
        return OD_OK;
    }
    const json_t *call = json_object_get(msg, "call");
    if (!json_is_object(call))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "message.call is missing");
    int rc = attempt_from_call(call, out, errbuf, errlen);
    if (rc)
        return rc;
    customer_number(msg, call, out);
    const json_t *ts = json_object_get(msg, "timestamp");
    if (json_is_number(ts) && json_number_value(ts) > 0)
        out->occurred_at_us = (int64_t)llround(json_number_value(ts) * 1000.0);
    if (report) {
        out->kind = PROVIDER_MSG_REPORT;
        result_from(msg, call, out);
        return OD_OK;
    }
    const char *status = jstr(msg, "status");
    if (!status)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "message.status is missing");
    if (strcmp(status, "ringing") == 0) {
        out->kind = PROVIDER_MSG_RINGING;
    } else if (strcmp(status, "in-progress") == 0) {
        out->kind = PROVIDER_MSG_IN_PROGRESS;
        out->started_at_us = jtime(call, "startedAt");
    } else if (strcmp(status, "ended") == 0) {
        out->kind = PROVIDER_MSG_ENDED;
    } else {
        out->kind = PROVIDER_MSG_IGNORED; /* queued, scheduled, forwarding */
    }
    return OD_OK;
}

static int vapi_webhook_parse(const char *body, size_t len, provider_msg_t *out, char *errbuf,
                              size_t errlen)
{
    return provider_webhook_parse(body, len, vapi_webhook_read, out, errbuf, errlen);
}

static int vapi_call_lookup_build(const provider_conf_t *conf, const char *provider_call_id,
                                  provider_request_t *out, char *errbuf, size_t errlen)
{
    return provider_request_get_call(conf, "/call/", provider_call_id, out, errbuf, errlen);
}

static bool vapi_status_final(const char *status)
{
    return strcmp(status, "ended") == 0;
}

static int vapi_report(const json_t *call, provider_msg_t *out, char *errbuf, size_t errlen)
{
    int rc = attempt_from_call(call, out, errbuf, errlen);
    if (rc)
        return rc;
    customer_number(NULL, call, out);
    result_from(NULL, call, out);
    return OD_OK;
}

static int vapi_call_lookup_parse(long status, const char *body, size_t len,
                                  provider_lookup_t *kind, provider_msg_t *out, char *errbuf,
                                  size_t errlen)
{
    return provider_lookup_parse(status, body, len, "status", vapi_status_final, vapi_report, kind,
                                 out, errbuf, errlen);
}

/* Vapi sends back the shared secret we gave it with the call
 * (assistantOverrides.server.secret). */
static int vapi_webhook_verify(const provider_conf_t *conf, const char *auth, const char *body,
                               size_t len, int64_t now_ms, char *errbuf, size_t errlen)
{
    (void)body;
    (void)len;
    (void)now_ms;
    if (!hmac_secret_equal(auth, conf->webhook_secret))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "missing or wrong x-vapi-secret header");
    return OD_OK;
}

const provider_ops_t provider_vapi = {
    .name = "vapi",
    .auth_header = "x-vapi-secret",
    .env = {.base_url = "OUTDIAL_DIALER_PROVIDER_URL",
            .base_url_default = "https://api.vapi.ai",
            .api_key = "OUTDIAL_DIALER_PROVIDER_API_KEY",
            .webhook_url = "OUTDIAL_DIALER_WEBHOOK_URL",
            .webhook_secret = "OUTDIAL_DIALER_WEBHOOK_SECRET",
            .required = true},
    .webhook_verify = vapi_webhook_verify,
    .call_request_build = vapi_call_request_build,
    .call_response_parse = vapi_call_response_parse,
    .webhook_parse = vapi_webhook_parse,
    .call_lookup_build = vapi_call_lookup_build,
    .call_lookup_parse = vapi_call_lookup_parse,
};

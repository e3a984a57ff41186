/*
 * Unit tests of the dialer's pure parts: Vapi's endedReason table, webhook
 * and call-object parsing (every message type, and malformed ones), the
 * create-call request body, the classification of create-call answers,
 * deterministic event ids, the events built from each, and the constant-
 * time secret comparison. No network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "clock.h"
#include "codec.h"
#include "dial_event.h"
#include "hmac.h"
#include "provider.h"
#include "test_main.h"
#include "test_provider.h"

static const provider_conf_t conf = {
    .base_url = "http://127.0.0.1:8900/",
    .api_key = "sk-test",
    .webhook_url = "https://dialer.example/webhooks/vapi",
    .webhook_secret = "whsec-0123456789",
};

/* ---- endedReason ---- */

/* The table runner's map: Vapi's has no in_voicemail (its endedReason says
 * "voicemail" itself). */
static void vapi_reason_map(const char *reason, bool answered, bool in_voicemail,
                            provider_result_t *r)
{
    (void)in_voicemail;
    provider_vapi_ended_reason_map(reason, answered, r);
}

static void test_ended_reason_table(void **state)
{
    (void)state;
    /* Vapi's rows of tests/unit/cases/dialer_ended_reasons.tsv. */
    test_reason_cases("vapi", vapi_reason_map, 32);
}

static void test_cost_minor(void **state)
{
    (void)state;
    assert_int_equal(provider_cost_minor(0.18), 18);
    assert_int_equal(provider_cost_minor(0.36), 36);
    assert_int_equal(provider_cost_minor(0.1 + 0.2), 30);
    assert_int_equal(provider_cost_minor(1.29), 129);
    assert_int_equal(provider_cost_minor(12.345), 1235);
    assert_int_equal(provider_cost_minor(0), 0);
    assert_int_equal(provider_cost_minor(-1.5), 0);
    assert_int_equal(provider_cost_minor(1.0 / 0.0), 0);
}

/* ---- webhooks ---- */

/* body parses into *m (the caller clears it); a refusal fails the test. */
static void parse_ok(const char *body, provider_msg_t *m)
{
    test_parse_ok(&provider_vapi, body, m);
}

static void test_webhook_status_updates(void **state)
{
    (void)state;
    provider_msg_t m;
    parse_ok("{\"message\":{\"type\":\"status-update\",\"status\":\"ringing\","
             "\"timestamp\":1772949600000,\"call\":{\"id\":\"call-1\",\"status\":\"ringing\"," META
             "},\"customer\":{\"number\":\"+14155550100\"}}}",
             &m);
    test_msg_is(&m, PROVIDER_MSG_RINGING, "status-update", "call-1", "+14155550100");
    test_msg_attempt_is_meta(&m);
    assert_int_equal(m.occurred_at_us, 1772949600000000LL);
    provider_msg_clear(&m);

    parse_ok("{\"message\":{\"type\":\"status-update\",\"status\":\"in-progress\","
             "\"timestamp\":1772949610000,\"call\":{\"id\":\"call-1\","
             "\"startedAt\":\"2026-03-08T06:00:10.000Z\",\"customer\":{\"number\":\"+14155550100\"}"
             "," META "}}}",
             &m);
    assert_int_equal(m.kind, PROVIDER_MSG_IN_PROGRESS);
    assert_string_equal(m.e164, "+14155550100"); /* from call.customer */
    int64_t started = 0;
    assert_int_equal(od_time_parse_rfc3339("2026-03-08T06:00:10Z", &started), OD_OK);
    assert_int_equal(m.started_at_us, started);
    provider_msg_clear(&m);

    parse_ok("{\"message\":{\"type\":\"status-update\",\"status\":\"ended\","
             "\"endedReason\":\"customer-busy\",\"call\":{\"id\":\"c\"," META "}}}",
             &m);
    assert_int_equal(m.kind, PROVIDER_MSG_ENDED);
    provider_msg_clear(&m);

    /* queued and other statuses, other message types: ignored. */
    parse_ok("{\"message\":{\"type\":\"status-update\",\"status\":\"queued\","
             "\"call\":{\"id\":\"c\"," META "}}}",
             &m);
    assert_int_equal(m.kind, PROVIDER_MSG_IGNORED);
    provider_msg_clear(&m);
    parse_ok("{\"message\":{\"type\":\"transcript\",\"transcript\":\"hi\"}}", &m);
    assert_int_equal(m.kind, PROVIDER_MSG_IGNORED);
    assert_string_equal(m.type, "transcript");
    provider_msg_clear(&m);

    /* camelCase metadata and a string attempt number are accepted. */
    parse_ok("{\"message\":{\"type\":\"status-update\",\"status\":\"ringing\",\"call\":{\"id\":"
             "\"c\",\"metadata\":{\"attemptId\":\"" ATTEMPT "\",\"leadId\":\"" LEAD
             "\",\"campaignId\":\"" CAMP "\",\"accountId\":\"" ACCT
             "\",\"attemptNumber\":\"3\"}}}}",
             &m);
    assert_int_equal(m.attempt.attempt_number, 3);
    assert_int_equal(m.occurred_at_us, 0);
    provider_msg_clear(&m);
}

static const char report_body[] =
    "{\"message\":{\"type\":\"end-of-call-report\",\"timestamp\":1772949700000,"
    "\"endedReason\":\"customer-ended-call\",\"startedAt\":\"2026-03-08T06:00:10.000Z\","
    "\"endedAt\":\"2026-03-08T06:01:40.000Z\",\"durationSeconds\":90,\"durationMs\":90000,"
    "\"cost\":0.18,\"costs\":[{\"type\":\"vapi\",\"minutes\":1.5,\"cost\":0.18}],"
    "\"analysis\":{\"summary\":\"...\",\"structuredData\":{\"tier\":\"gold\","
    "\"appointment_booked\":true},\"successEvaluation\":\"true\"},"
    "\"call\":{\"id\":\"call-9\",\"status\":\"ended\",\"endedReason\":\"customer-ended-call\","
    "\"cost\":0.18," META "},\"customer\":{\"number\":\"+14155550100\"}}}";

static void test_webhook_report(void **state)
{
    (void)state;
    char err[256];
    provider_msg_t m;
    parse_ok(report_body, &m);
    assert_int_equal(m.kind, PROVIDER_MSG_REPORT);
    const provider_result_t *r = &m.result;
    assert_int_equal(r->status, MODEL_CALL_COMPLETED);
    assert_true(r->answered_known);
    assert_int_equal(r->answered_by, MODEL_ANSWERED_BY_HUMAN);
    assert_int_equal(r->duration_ms, 90000);
    assert_int_equal(r->cost_minor, 18);
    int64_t started = 0, ended = 0;
    assert_int_equal(od_time_parse_rfc3339("2026-03-08T06:00:10Z", &started), OD_OK);
    assert_int_equal(od_time_parse_rfc3339("2026-03-08T06:01:40Z", &ended), OD_OK);
    assert_int_equal(r->started_at_us, started);
    assert_int_equal(r->ended_at_us, ended);
    assert_string_equal(r->ended_reason, "customer-ended-call");
    /* compact, keys sorted: the same variables always give the same text */
    assert_string_equal(r->post_call_variables_json,
                        "{\"appointment_booked\":true,\"tier\":\"gold\"}");

    /* The event of the report. */
    dial_event_t e;
    assert_int_equal(dial_event_from_msg(&e, &m, 1), OD_OK);
    assert_int_equal(e.ev.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED);
    assert_int_equal(e.ev.answered_by, OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN);
    assert_int_equal(e.ev.failure_class, OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_UNSPECIFIED);
    assert_int_equal(e.ev.duration_ms, 90000);
    assert_int_equal(e.ev.cost_minor, 18);
    assert_int_equal(e.ev.started_at_us, started);
    assert_int_equal(e.ev.ended_at_us, ended);
    assert_int_equal(e.ev.occurred_at_us, 1772949700000000LL);
    assert_int_equal(e.ev.attempt_number, 2);
    assert_string_equal(e.ev.provider_call_id, "call-9");
    assert_string_equal(e.ev.ended_reason, "customer-ended-call");
    assert_string_equal(e.ev.post_call_variables_json,
                        "{\"appointment_booked\":true,\"tier\":\"gold\"}");
    char id[UUID_STR_LEN];
    dial_event_id(ATTEMPT, DIAL_KIND_END, id);
    assert_string_equal(e.ev.event_id, id);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(dial_event_encode(&e, &buf, &len, err, sizeof(err)), OD_OK);
    callevent_t *back = NULL;
    assert_int_equal(callevent_decode(buf, len, &back, err, sizeof(err)), OD_OK);
    assert_string_equal(back->attempt_id, ATTEMPT);
    assert_int_equal(back->cost_minor, 18);
    callevent_free(back);
    free(buf);
    dial_event_clear(&e);
    provider_msg_clear(&m);

    /* Never answered: no startedAt, no talk time, no variables beyond {}. */
    parse_ok("{\"message\":{\"type\":\"end-of-call-report\",\"endedReason\":\"customer-busy\","
             "\"endedAt\":\"2026-03-08T06:00:30Z\",\"durationSeconds\":0,\"cost\":0,"
             "\"analysis\":{\"structuredData\":{}},\"call\":{\"id\":\"c\"," META "}}}",
             &m);
    assert_int_equal(m.result.status, MODEL_CALL_BUSY);
    assert_false(m.result.answered_known);
    assert_int_equal(m.result.duration_ms, 0);
    assert_int_equal(m.result.started_at_us, 0);
    assert_string_equal(m.result.post_call_variables_json, "{}");
    assert_int_equal(dial_event_from_msg(&e, &m, 5), OD_OK);
    assert_int_equal(e.ev.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_BUSY);
    assert_int_equal(e.ev.answered_by, OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_UNSPECIFIED);
    assert_int_equal(e.ev.occurred_at_us, m.result.ended_at_us); /* no timestamp: the end */
    dial_event_clear(&e);
    provider_msg_clear(&m);

    /* Misdialed: a permanent failure; voicemail: completed by a machine. */
    parse_ok("{\"message\":{\"type\":\"end-of-call-report\",\"endedReason\":"
             "\"twilio-reported-customer-misdialed\",\"call\":{\"id\":\"c\"," META "}}}",
             &m);
    assert_int_equal(dial_event_from_msg(&e, &m, 5), OD_OK);
    assert_int_equal(e.ev.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_FAILED);
    assert_int_equal(e.ev.failure_class, OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT);
    assert_int_equal(e.ev.occurred_at_us, 5);
    dial_event_clear(&e);
    provider_msg_clear(&m);
    parse_ok("{\"message\":{\"type\":\"end-of-call-report\",\"endedReason\":"
             "\"voicemail\",\"startedAt\":\"2026-03-08T06:00:10Z\","
             "\"durationMs\":12000,\"cost\":0.03,\"call\":{\"id\":\"c\"," META "}}}",
             &m);
    assert_int_equal(dial_event_from_msg(&e, &m, 5), OD_OK);
    assert_int_equal(e.ev.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED);
    assert_int_equal(e.ev.answered_by, OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_VOICEMAIL);
    assert_int_equal(e.ev.duration_ms, 12000);
    assert_int_equal(e.ev.cost_minor, 3);
    assert_string_equal(e.ev.post_call_variables_json, ""); /* no analysis: none */
    dial_event_clear(&e);
    provider_msg_clear(&m);
}

static void test_webhook_malformed(void **state)
{
    (void)state;
    test_malformed_cases(&provider_vapi, 15); /* its rows of dialer_malformed_webhooks.tsv */
}

/* ---- the create-call request ---- */

static void test_request_body(void **state)
{
    (void)state;
    char err[256];
    test_job_t t;
    test_job_fill(&t, "vapi", "asst-1");
    provider_request_t req;
    json_t *b =
        test_request_post(&provider_vapi, &conf, &t.job, "http://127.0.0.1:8900/call", &req);
    /* Exactly the properties the provider accepts. */
    assert_int_equal(json_object_size(b), 5);
    assert_string_equal(json_string_value(json_object_get(b, "assistantId")), "asst-1");
    assert_string_equal(json_string_value(json_object_get(b, "phoneNumberId")), "pn-1");
    json_t *customer = json_object_get(b, "customer");
    assert_string_equal(json_string_value(json_object_get(customer, "number")), "+14155550100");
    assert_string_equal(json_string_value(json_object_get(customer, "name")), "Ada Lovelace");
    json_t *ov = json_object_get(b, "assistantOverrides");
    test_vars_are_job(json_object_get(ov, "variableValues"));
    json_t *server = json_object_get(ov, "server");
    assert_string_equal(json_string_value(json_object_get(server, "url")), conf.webhook_url);
    assert_string_equal(json_string_value(json_object_get(server, "secret")), conf.webhook_secret);
    assert_int_equal(json_integer_value(json_object_get(ov, "maxDurationSeconds")), 300);
    test_body_metadata_is_job(b);
    json_decref(b);
    provider_request_clear(&req);

    /* No phone-number id: the caller id; no name, no variables, no limit. */
    t.job.provider_phone_number_id = "";
    t.job.lead_name = "";
    t.job.n_variables = 0;
    t.job.max_call_duration_s = 0;
    assert_int_equal(provider_vapi.call_request_build(&conf, &t.job, &req, err, sizeof(err)),
                     OD_OK);
    b = json_loads(req.body, 0, NULL);
    assert_null(json_object_get(b, "phoneNumberId"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(b, "phoneNumber"), "number")),
        "+12125550100");
    assert_null(json_object_get(json_object_get(b, "customer"), "name"));
    ov = json_object_get(b, "assistantOverrides");
    assert_int_equal(json_object_size(json_object_get(ov, "variableValues")), 0);
    assert_null(json_object_get(ov, "maxDurationSeconds"));
    json_decref(b);
    provider_request_clear(&req);

    t.job.provider_assistant_id = "";
    test_request_refused(&provider_vapi, &conf, &t.job, "assistant");
}

static void test_response_classification(void **state)
{
    (void)state;
    static const test_place_case_t cases[] = {
        {201, "{\"id\":\"call-1\",\"status\":\"queued\"}", NULL, PROVIDER_PLACE_OK, "", 0, ""},
        {429, "{\"message\":\"concurrency limit reached\",\"statusCode\":429}", "1",
         PROVIDER_PLACE_RATE_LIMITED, "provider-rate-limited", 1000, "concurrency limit"},
        {429, "", "2.5", PROVIDER_PLACE_RATE_LIMITED, "provider-rate-limited", 2500, ""},
        {429, "", "Wed, 21 Oct 2026 07:28:00 GMT", PROVIDER_PLACE_RATE_LIMITED,
         "provider-rate-limited", 0, ""},
        {503, "{\"message\":\"the carrier is temporarily unavailable\"}", "5",
         PROVIDER_PLACE_TRANSIENT, "provider-http-503", 5000, "carrier"},
        {500, "{\"message\":\"boom\"}", NULL, PROVIDER_PLACE_TRANSIENT, "provider-http-500", 0,
         "boom"},
        {408, "", NULL, PROVIDER_PLACE_TRANSIENT, "provider-http-408", 0, ""},
        {401, "{\"message\":\"invalid API key\"}", NULL, PROVIDER_PLACE_TRANSIENT,
         "provider-unauthorized", 0, "invalid API key"},
        {400,
         "{\"message\":[\"customer.number must be a phone number in E.164 format\"],"
         "\"error\":\"Bad Request\",\"statusCode\":400}",
         NULL, PROVIDER_PLACE_PERMANENT, "provider-rejected-400", 0, "E.164"},
        {404, "not json", NULL, PROVIDER_PLACE_PERMANENT, "provider-rejected-404", 0, "not json"},
        {422, "{}", NULL, PROVIDER_PLACE_PERMANENT, "provider-rejected-422", 0, ""},
    };
    test_place_cases(&provider_vapi, cases, sizeof(cases) / sizeof(cases[0]));
    /* 2xx without an id: placed, but said so. */
    test_place_id(&provider_vapi, "{\"id\":\"abc\"}", "abc", "{}", "no id");
}

static void test_call_lookup(void **state)
{
    (void)state;
    test_lookup_build(&provider_vapi, &conf, "1f0e-abc_9", "http://127.0.0.1:8900/call/1f0e-abc_9");

    provider_msg_t m;
    const char *ended = "{\"id\":\"call-9\",\"status\":\"ended\",\"endedReason\":"
                        "\"assistant-ended-call\",\"startedAt\":\"2026-03-08T06:00:10.000Z\","
                        "\"endedAt\":\"2026-03-08T06:00:55.500Z\",\"cost\":0.09,"
                        "\"analysis\":{\"structuredData\":{\"appointment_booked\":false}},"
                        "\"customer\":{\"number\":\"+14155550100\"}," META "}";
    test_lookup_is(&provider_vapi, ended, PROVIDER_LOOKUP_ENDED, &m);
    test_msg_is(&m, PROVIDER_MSG_REPORT, "call-lookup", "call-9", "+14155550100");
    assert_int_equal(m.result.status, MODEL_CALL_COMPLETED);
    assert_int_equal(m.result.duration_ms, 45500);
    assert_int_equal(m.result.cost_minor, 9);
    assert_string_equal(m.result.post_call_variables_json, "{\"appointment_booked\":false}");
    assert_int_equal(m.occurred_at_us, m.result.ended_at_us);

    test_lookup_event_is_report(&m);

    const char *running = "{\"id\":\"call-9\",\"status\":\"in-progress\"," META "}";
    test_lookup_is(&provider_vapi, running, PROVIDER_LOOKUP_RUNNING, &m);
    test_lookup_not_a_call(&provider_vapi, 503, "{\"id\":\"c\",\"status\":\"ended\"}");
}

/* ---- event ids and events ---- */

static void test_event_ids(void **state)
{
    (void)state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN], e[UUID_STR_LEN];
    dial_event_id(ATTEMPT, DIAL_KIND_RINGING, a);
    dial_event_id(ATTEMPT, DIAL_KIND_RINGING, b);
    assert_string_equal(a, b);
    assert_true(uuid_str_valid(a));
    assert_int_equal(a[14], '8');           /* version 8 */
    assert_non_null(strchr("89ab", a[19])); /* RFC 9562 variant */
    dial_event_id(ATTEMPT, DIAL_KIND_END, c);
    assert_string_not_equal(a, c);
    dial_event_id(LEAD, DIAL_KIND_RINGING, e);
    assert_string_not_equal(a, e);
    /* No concatenation ambiguity between attempt and kind. */
    dial_event_id("ab", "c", b);
    dial_event_id("a", "bc", c);
    assert_string_not_equal(b, c);
    /* Pinned (computed independently: SHA-256 of namespace NUL attempt NUL
     * kind, version and variant bits set): changing the derivation would
     * let every event in flight during an upgrade be recorded twice. */
    dial_event_id("00000000-0000-0000-0000-000000000000", "initiated", a);
    assert_string_equal(a, "cd5b428f-aa0d-82f2-83c0-6a9fe67cacbf");

    /* Two copies of one webhook give one event id. */
    provider_msg_t m1, m2;
    parse_ok(report_body, &m1);
    parse_ok(report_body, &m2);
    dial_event_t e1, e2;
    assert_int_equal(dial_event_from_msg(&e1, &m1, 1), OD_OK);
    assert_int_equal(dial_event_from_msg(&e2, &m2, 999), OD_OK);
    assert_string_equal(e1.ev.event_id, e2.ev.event_id);
    dial_event_clear(&e1);
    dial_event_clear(&e2);
    provider_msg_clear(&m1);
    provider_msg_clear(&m2);
}

static void test_job_events(void **state)
{
    (void)state;
    char err[256];
    test_job_t t;
    test_job_fill(&t, "vapi", "asst-1");
    provider_attempt_t a;
    dial_attempt_from_job(&t.job, &a);
    assert_string_equal(a.attempt_id, ATTEMPT);
    assert_int_equal(a.attempt_number, 2);

    dial_event_t e;
    dial_event_skipped(&e, &a, MODEL_SKIP_DNC, "on the list", 42);
    assert_int_equal(e.ev.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED);
    assert_int_equal(e.ev.skip_reason, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_DNC);
    assert_string_equal(e.ev.skip_detail, "on the list");
    assert_int_equal(e.ev.occurred_at_us, 42);
    assert_int_equal(callevent_validate(&e.ev, err, sizeof(err)), OD_OK);
    dial_event_clear(&e);
    static const struct {
        model_skip_reason_t model;
        Outdial__V1__SkipReason proto;
    } reasons[] = {
        {MODEL_SKIP_OUTSIDE_WINDOW, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_OUTSIDE_WINDOW},
        {MODEL_SKIP_CAMPAIGN_NOT_RUNNING,
         OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CAMPAIGN_NOT_RUNNING},
        {MODEL_SKIP_DNC, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_DNC},
        {MODEL_SKIP_NUMBER_BUSY, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_NUMBER_BUSY},
        {MODEL_SKIP_LEGAL_RULES, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_LEGAL_RULES},
        {MODEL_SKIP_FREQUENCY_CAP, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_FREQUENCY_CAP},
        {MODEL_SKIP_PREDIAL_REFUSED, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_PREDIAL_REFUSED},
        {MODEL_SKIP_PREDIAL_ERROR, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_PREDIAL_ERROR},
        {MODEL_SKIP_CALLER_ID_EXHAUSTED, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CALLER_ID_EXHAUSTED},
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        assert_int_equal(dial_skip_reason_to_proto(reasons[i].model), reasons[i].proto);

    dial_event_initiated(&e, &a, "call-1", 43);
    assert_string_equal(e.ev.caller_id, "");
    dial_event_caller_id_set(&e, "");
    assert_string_equal(e.ev.caller_id, ""); /* none given: none carried */
    dial_event_caller_id_set(&e, "+12125550199");
    assert_string_equal(e.ev.caller_id, "+12125550199");
    assert_int_equal(e.ev.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED);
    assert_string_equal(e.ev.provider_call_id, "call-1");
    char id[UUID_STR_LEN];
    dial_event_id(ATTEMPT, DIAL_KIND_INITIATED, id);
    assert_string_equal(e.ev.event_id, id);
    assert_int_equal(callevent_validate(&e.ev, err, sizeof(err)), OD_OK);
    dial_event_clear(&e);

    dial_event_failed(&e, &a, DIAL_KIND_END, true, "provider-rejected-400", "", 44);
    assert_int_equal(e.ev.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_FAILED);
    assert_int_equal(e.ev.failure_class, OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT);
    assert_string_equal(e.ev.ended_reason, "provider-rejected-400");
    assert_int_equal(e.ev.ended_at_us, 44);
    assert_int_equal(callevent_validate(&e.ev, err, sizeof(err)), OD_OK);
    dial_event_clear(&e);
    dial_event_failed(&e, &a, DIAL_KIND_UNCONFIRMED, false, "provider-no-answer", "", 45);
    assert_int_equal(e.ev.failure_class, OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT);
    dial_event_id(ATTEMPT, DIAL_KIND_END, id);
    assert_string_not_equal(e.ev.event_id, id); /* a later real result is not its copy */
    dial_event_clear(&e);

    /* Messages without an event. */
    provider_msg_t m;
    memset(&m, 0, sizeof(m));
    m.kind = PROVIDER_MSG_ENDED;
    assert_int_equal(dial_event_from_msg(&e, &m, 1), OD_ERR_NOT_FOUND);
    m.kind = PROVIDER_MSG_IGNORED;
    assert_int_equal(dial_event_from_msg(&e, &m, 1), OD_ERR_NOT_FOUND);
    m.kind = PROVIDER_MSG_IN_PROGRESS;
    m.attempt = a;
    m.occurred_at_us = 77;
    assert_int_equal(dial_event_from_msg(&e, &m, 1), OD_OK);
    assert_int_equal(e.ev.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS);
    assert_int_equal(e.ev.started_at_us, 77);
    dial_event_clear(&e);
}

/* ---- secrets ---- */

static void test_secret_equal(void **state)
{
    (void)state;
    assert_true(hmac_secret_equal("whsec-0123456789", "whsec-0123456789"));
    assert_false(hmac_secret_equal("whsec-0123456788", "whsec-0123456789"));
    assert_false(hmac_secret_equal("whsec-012345678", "whsec-0123456789"));   /* prefix */
    assert_false(hmac_secret_equal("whsec-01234567890", "whsec-0123456789")); /* longer */
    assert_false(hmac_secret_equal("", "whsec-0123456789"));
    assert_false(hmac_secret_equal(NULL, "whsec-0123456789"));
    assert_false(hmac_secret_equal("", "")); /* an empty secret never matches */
    assert_false(hmac_secret_equal(NULL, NULL));
    assert_false(hmac_secret_equal("x", NULL));
    assert_true(hmac_secret_equal("ünïcode-sécret", "ünïcode-sécret"));
}

/* The webhook is Vapi's when x-vapi-secret carries our secret. */
static void test_webhook_verify(void **state)
{
    (void)state;
    const char *secret = conf.webhook_secret;
    assert_string_equal(provider_vapi.auth_header, "x-vapi-secret");
    test_verify_is(&provider_vapi, &conf, "whsec-0123456789", "{}", 0, OD_OK, NULL, secret);
    test_verify_is(&provider_vapi, &conf, "whsec-0123456780", "{}", 0, OD_ERR_INVALID,
                   "x-vapi-secret", secret);
    test_verify_is(&provider_vapi, &conf, NULL, "{}", 0, OD_ERR_INVALID, NULL, secret);
}

static void test_provider_find(void **state)
{
    (void)state;
    assert_ptr_equal(provider_find("vapi"), &provider_vapi);
    assert_ptr_equal(provider_find("retell"), &provider_retell);
    assert_null(provider_find("bland"));
    assert_null(provider_find(NULL));
    /* Every provider has every op, and its own name and header. */
    for (size_t i = 0; provider_all[i]; i++) {
        const provider_ops_t *p = provider_all[i];
        assert_non_null(p->webhook_verify);
        assert_non_null(p->call_request_build);
        assert_non_null(p->call_response_parse);
        assert_non_null(p->webhook_parse);
        assert_non_null(p->call_lookup_build);
        assert_non_null(p->call_lookup_parse);
        assert_non_null(p->env.api_key);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(p->name, provider_all[j]->name);
            assert_string_not_equal(p->auth_header, provider_all[j]->auth_header);
        }
    }
}

OD_TEST_MAIN(NULL, NULL, test_ended_reason_table, test_cost_minor, test_webhook_status_updates,
             test_webhook_report, test_webhook_malformed, test_request_body,
             test_response_classification, test_call_lookup, test_event_ids, test_job_events,
             test_secret_equal, test_webhook_verify, test_provider_find)

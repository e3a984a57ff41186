/*
 * Unit tests of the Retell adapter (provider_retell.c): its
 * disconnection_reason table, the webhook events (call_started, call_ended,
 * call_analyzed, and malformed ones), the signature check, the
 * create-phone-call request, the classification of its answers, and the
 * get-call lookup. The same coverage as test_vapi.c for the other provider.
 * No network.
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

#include "codec.h"
#include "dial_event.h"
#include "provider.h"
#include "test_main.h"
#include "test_provider.h"

/* A call object as Retell sends it, with extra properties spliced in. */
#define CALL_ID "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
#define CALL(extra)                                                                                \
    "{\"call_type\":\"phone_call\",\"call_id\":\"" CALL_ID "\","                                   \
    "\"agent_id\":\"agent-1\",\"from_number\":\"+12125550100\",\"to_number\":\"+14155550100\","    \
    "\"direction\":\"outbound\"," META extra "}"

static const provider_conf_t conf = {
    .base_url = "http://127.0.0.1:8900/",
    .api_key = "key_0123456789abcdef",
};

/* ---- disconnection_reason ---- */

static void test_reason_table(void **state)
{
    (void)state;
    /* Retell's rows of tests/unit/cases/dialer_ended_reasons.tsv. */
    test_reason_cases("retell", provider_retell_reason_map, 25);
}

/* ---- webhooks ---- */

static void parse_ok(const char *body, provider_msg_t *m)
{
    test_parse_ok(&provider_retell, body, m);
}

static void test_webhook_started_and_ended(void **state)
{
    (void)state;
    provider_msg_t m;
    parse_ok("{\"event\":\"call_started\",\"call\":" CALL(
                 ",\"call_status\":\"ongoing\",\"start_timestamp\":1772949610000") "}",
             &m);
    test_msg_is(&m, PROVIDER_MSG_IN_PROGRESS, "call_started", CALL_ID, "+14155550100");
    test_msg_attempt_is_meta(&m);
    assert_int_equal(m.started_at_us, 1772949610000000LL);
    assert_int_equal(m.occurred_at_us, 1772949610000000LL);
    provider_msg_clear(&m);

    /* call_ended: the report (call_analyzed) follows. */
    parse_ok("{\"event\":\"call_ended\",\"call\":" CALL(
                 ",\"call_status\":\"ended\",\"start_timestamp\":1772949610000,"
                 "\"end_timestamp\":1772949655500,\"disconnection_reason\":\"user_hangup\"") "}",
             &m);
    assert_int_equal(m.kind, PROVIDER_MSG_ENDED);
    assert_int_equal(m.occurred_at_us, 1772949655500000LL);
    assert_null(m.result.post_call_variables_json);
    provider_msg_clear(&m);

    /* Events that are not ours. */
    static const char *const others[] = {"transcript_updated", "transfer_started",
                                         "transfer_bridged", "chat_ended"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body), "{\"event\":\"%s\",\"call\":{}}", others[i]);
        parse_ok(body, &m);
        assert_int_equal(m.kind, PROVIDER_MSG_IGNORED);
        assert_string_equal(m.type, others[i]);
        provider_msg_clear(&m);
    }
}

static void test_webhook_analyzed(void **state)
{
    (void)state;
    provider_msg_t m;
    parse_ok("{\"event\":\"call_analyzed\",\"call\":" CALL(
                 ",\"call_status\":\"ended\",\"start_timestamp\":1772949610000,"
                 "\"end_timestamp\":1772949655500,\"duration_ms\":45500,"
                 "\"disconnection_reason\":\"agent_hangup\","
                 "\"call_cost\":{\"combined_cost\":12.4,\"total_duration_seconds\":46},"
                 "\"call_analysis\":{\"call_summary\":\"booked\",\"in_voicemail\":false,"
                 "\"custom_analysis_data\":{\"zeta\":1,\"appointment_booked\":true}}") "}",
             &m);
    assert_int_equal(m.kind, PROVIDER_MSG_REPORT);
    assert_string_equal(m.type, "call_analyzed");
    assert_int_equal(m.result.status, MODEL_CALL_COMPLETED);
    assert_true(m.result.answered_known);
    assert_int_equal(m.result.answered_by, MODEL_ANSWERED_BY_HUMAN);
    assert_int_equal(m.result.started_at_us, 1772949610000000LL);
    assert_int_equal(m.result.ended_at_us, 1772949655500000LL);
    assert_int_equal(m.result.duration_ms, 45500);
    assert_int_equal(m.result.cost_minor, 12); /* cents, rounded */
    assert_string_equal(m.result.ended_reason, "agent_hangup");
    /* Keys sorted: the same variables always make the same text. */
    assert_string_equal(m.result.post_call_variables_json,
                        "{\"appointment_booked\":true,\"zeta\":1}");
    assert_int_equal(m.occurred_at_us, m.result.ended_at_us);

    /* The terminal event carries what the report said. */
    dial_event_t e;
    assert_int_equal(dial_event_from_msg(&e, &m, 1), OD_OK);
    assert_string_equal(e.kind, DIAL_KIND_END);
    assert_int_equal(e.ev.duration_ms, 45500);
    assert_int_equal(e.ev.cost_minor, 12);
    dial_event_clear(&e);
    provider_msg_clear(&m);

    /* Voicemail: by the analysis; no duration given: from the timestamps. */
    parse_ok("{\"event\":\"call_analyzed\",\"call\":" CALL(
                 ",\"call_status\":\"ended\",\"start_timestamp\":1772949610000,"
                 "\"end_timestamp\":1772949620000,\"disconnection_reason\":\"agent_hangup\","
                 "\"call_analysis\":{\"in_voicemail\":true}") "}",
             &m);
    assert_int_equal(m.result.answered_by, MODEL_ANSWERED_BY_VOICEMAIL);
    assert_int_equal(m.result.duration_ms, 10000);
    assert_int_equal(m.result.cost_minor, 0);
    assert_null(m.result.post_call_variables_json);
    provider_msg_clear(&m);

    /* Not connected: no talk time, whatever was sent, and no start. */
    parse_ok("{\"event\":\"call_analyzed\",\"call\":" CALL(
                 ",\"call_status\":\"not_connected\",\"start_timestamp\":1772949610000,"
                 "\"end_timestamp\":1772949640000,\"duration_ms\":30000,"
                 "\"disconnection_reason\":\"dial_busy\",\"call_analysis\":{}") "}",
             &m);
    assert_int_equal(m.result.status, MODEL_CALL_BUSY);
    assert_false(m.result.answered_known);
    assert_int_equal(m.result.duration_ms, 0);
    assert_int_equal(m.result.started_at_us, 0);
    provider_msg_clear(&m);

    parse_ok("{\"event\":\"call_analyzed\",\"call\":" CALL(
                 ",\"call_status\":\"not_connected\",\"end_timestamp\":1772949640000,"
                 "\"disconnection_reason\":\"dial_no_answer\"") "}",
             &m);
    assert_int_equal(m.result.status, MODEL_CALL_UNANSWERED);
    provider_msg_clear(&m);
}

static void test_webhook_malformed(void **state)
{
    (void)state;
    test_malformed_cases(&provider_retell, 9); /* its rows of dialer_malformed_webhooks.tsv */
}

/* ---- signatures ---- */

static void test_signature(void **state)
{
    (void)state;
    const char *body = "{\"event\":\"call_started\",\"call\":{}}";
    size_t len = strlen(body);
    const int64_t now = 1772949610000;
    char sig[PROVIDER_SIGNATURE_MAX];
    provider_retell_signature(conf.api_key, body, len, now, sig);
    /* "v=<ms>,d=<64 hex>" */
    assert_int_equal(strncmp(sig, "v=1772949610000,d=", 18), 0);
    assert_int_equal(strlen(sig), 18 + 64);
    assert_string_equal(provider_retell.auth_header, "x-retell-signature");

    char tampered[PROVIDER_SIGNATURE_MAX];
    snprintf(tampered, sizeof(tampered), "%s", sig);
    tampered[strlen(tampered) - 1] = tampered[strlen(tampered) - 1] == '0' ? '1' : '0';
    char other_key[PROVIDER_SIGNATURE_MAX];
    provider_retell_signature("key_someone_else", body, len, now, other_key);
    char bad_ts[PROVIDER_SIGNATURE_MAX]; /* the digest of another time */
    snprintf(bad_ts, sizeof(bad_ts), "v=1772949610001,%s", strchr(sig, ',') + 1);
    const struct {
        const char *sig;
        const char *body;
        int64_t now;
        int rc;
        const char *says; /* a part of the refusal; NULL: any */
    } cases[] = {
        {sig, body, now, OD_OK, NULL},
        /* Four minutes either way is within the window. */
        {sig, body, now + 240000, OD_OK, NULL},
        {sig, body, now - 240000, OD_OK, NULL},
        /* Not a signature. */
        {NULL, "{}", 0, OD_ERR_INVALID, "missing"},
        {"", "{}", 0, OD_ERR_INVALID, "missing"},
        {"d=abc", "{}", 0, OD_ERR_INVALID, "not \"v=<ms>,d=<hex>\""},
        {"v=abc,d=00", "{}", 0, OD_ERR_INVALID, "not \"v=<ms>,d=<hex>\""},
        {"v=1772949610000,d=00", "{}", 0, OD_ERR_INVALID, "not \"v=<ms>,d=<hex>\""},
        {"v=1772949610000;d=0000000000000000000000000000000000000000000000000000000000000000", "{}",
         0, OD_ERR_INVALID, "not \"v=<ms>,d=<hex>\""},
        /* Signed, but: tampered digest, another key, another body, another
         * time, or too old / too far ahead (a replay). */
        {tampered, body, now, OD_ERR_INVALID, "does not match"},
        {other_key, body, now, OD_ERR_INVALID, NULL},
        {sig, "{\"event\":\"call_ended\"}", now, OD_ERR_INVALID, NULL},
        {bad_ts, body, now, OD_ERR_INVALID, NULL},
        {sig, body, now + 301000, OD_ERR_INVALID, "replay"},
        {sig, body, now - 301000, OD_ERR_INVALID, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        test_verify_is(&provider_retell, &conf, cases[i].sig, cases[i].body, cases[i].now,
                       cases[i].rc, cases[i].says, conf.api_key);
}

/* ---- the create-phone-call request ---- */

static void test_request_body(void **state)
{
    (void)state;
    char err[256];
    test_job_t t;
    test_job_fill(&t, "retell", "agent-1");
    provider_request_t req;
    json_t *b = test_request_post(&provider_retell, &conf, &t.job,
                                  "http://127.0.0.1:8900/v2/create-phone-call", &req);
    assert_int_equal(json_object_size(b), 5);
    assert_string_equal(json_string_value(json_object_get(b, "from_number")), "+12125550100");
    assert_string_equal(json_string_value(json_object_get(b, "to_number")), "+14155550100");
    assert_string_equal(json_string_value(json_object_get(b, "override_agent_id")), "agent-1");
    test_vars_are_job(json_object_get(b, "retell_llm_dynamic_variables"));
    test_body_metadata_is_job(b);
    json_decref(b);
    provider_request_clear(&req);

    /* What it sent comes back: the metadata names the attempt. */
    t.job.n_variables = 0;
    assert_int_equal(provider_retell.call_request_build(&conf, &t.job, &req, err, sizeof(err)),
                     OD_OK);
    b = json_loads(req.body, 0, NULL);
    assert_int_equal(json_object_size(json_object_get(b, "retell_llm_dynamic_variables")), 0);
    json_decref(b);
    provider_request_clear(&req);

    t.job.caller_id = "";
    test_request_refused(&provider_retell, &conf, &t.job, "from_number");
    t.job.caller_id = "+12125550100";
    t.job.provider_assistant_id = "";
    test_request_refused(&provider_retell, &conf, &t.job, "agent id");
}

static void test_response_classification(void **state)
{
    (void)state;
    static const test_place_case_t cases[] = {
        {201, "{\"call_id\":\"call-1\",\"call_status\":\"registered\"}", NULL, PROVIDER_PLACE_OK,
         "", 0, ""},
        {200, "{\"call_id\":\"call-1\"}", NULL, PROVIDER_PLACE_OK, "", 0, ""},
        {429, "{\"status\":\"error\",\"message\":\"Concurrency limit reached\"}", "1",
         PROVIDER_PLACE_RATE_LIMITED, "provider-rate-limited", 1000, "Concurrency"},
        {500, "{\"status\":\"error\",\"message\":\"internal\"}", NULL, PROVIDER_PLACE_TRANSIENT,
         "provider-http-500", 0, "internal"},
        {503, "", "5", PROVIDER_PLACE_TRANSIENT, "provider-http-503", 5000, ""},
        {401, "{\"status\":\"error\",\"message\":\"Invalid API key\"}", NULL,
         PROVIDER_PLACE_TRANSIENT, "provider-unauthorized", 0, "Invalid API key"},
        {400, "{\"status\":\"error\",\"message\":\"to_number is not a valid E.164 number\"}", NULL,
         PROVIDER_PLACE_PERMANENT, "provider-rejected-400", 0, "E.164"},
        {402, "{\"status\":\"error\",\"message\":\"no payment method\"}", NULL,
         PROVIDER_PLACE_PERMANENT, "provider-rejected-402", 0, "payment"},
        {404, "{\"status\":\"error\",\"message\":\"agent not found\"}", NULL,
         PROVIDER_PLACE_PERMANENT, "provider-rejected-404", 0, "agent not found"},
        {422, "oops", NULL, PROVIDER_PLACE_PERMANENT, "provider-rejected-422", 0, "oops"},
    };
    test_place_cases(&provider_retell, cases, sizeof(cases) / sizeof(cases[0]));
    test_place_id(&provider_retell, "{\"call_id\":\"call-1\"}", "call-1",
                  "{\"id\":\"vapi-shaped\"}", "no call_id");
}

/* ---- get-call ---- */

static void test_call_lookup(void **state)
{
    (void)state;
    test_lookup_build(&provider_retell, &conf, "Jabr9TXY_1-a",
                      "http://127.0.0.1:8900/v2/get-call/Jabr9TXY_1-a");

    provider_msg_t m;
    const char *ended = CALL(",\"call_status\":\"ended\",\"start_timestamp\":1772949610000,"
                             "\"end_timestamp\":1772949655500,\"duration_ms\":45500,"
                             "\"disconnection_reason\":\"voicemail_reached\","
                             "\"call_cost\":{\"combined_cost\":9},"
                             "\"call_analysis\":{\"custom_analysis_data\":{\"callback\":false}}");
    test_lookup_is(&provider_retell, ended, PROVIDER_LOOKUP_ENDED, &m);
    test_msg_is(&m, PROVIDER_MSG_REPORT, "call-lookup", CALL_ID, "+14155550100");
    assert_int_equal(m.result.status, MODEL_CALL_COMPLETED);
    assert_int_equal(m.result.answered_by, MODEL_ANSWERED_BY_VOICEMAIL);
    assert_int_equal(m.result.duration_ms, 45500);
    assert_int_equal(m.result.cost_minor, 9);
    assert_string_equal(m.result.post_call_variables_json, "{\"callback\":false}");

    test_lookup_event_is_report(&m);

    /* not_connected and error are final too. */
    const char *busy = CALL(",\"call_status\":\"not_connected\","
                            "\"disconnection_reason\":\"dial_busy\"");
    test_lookup_is(&provider_retell, busy, PROVIDER_LOOKUP_ENDED, &m);
    assert_int_equal(m.result.status, MODEL_CALL_BUSY);
    provider_msg_clear(&m);

    static const char *const running[] = {CALL(",\"call_status\":\"registered\""),
                                          CALL(",\"call_status\":\"ongoing\""), CALL("")};
    for (size_t i = 0; i < 3; i++)
        test_lookup_is(&provider_retell, running[i], PROVIDER_LOOKUP_RUNNING, &m);
    test_lookup_not_a_call(&provider_retell, 500, "{\"call_id\":\"c\",\"call_status\":\"ended\"}");
}

OD_TEST_MAIN(NULL, NULL, test_reason_table, test_webhook_started_and_ended, test_webhook_analyzed,
             test_webhook_malformed, test_signature, test_request_body,
             test_response_classification, test_call_lookup)

/*
 * outdial-importer as a service, against the stack's Postgres and Kafka
 * (kafka-dev): LeadUpsert messages on leads-in — protobuf, JSON, garbage, a
 * missing phone, an invalid number, an unknown campaign, a DNC number, an
 * update by external_id — end as the right leads in the database and the
 * right messages on leads-in.rejected (original key and payload, reason in
 * headers). The service runs as a child process on topics with a prefix
 * of its own, and stops cleanly on SIGTERM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "importer_leads_in.h"
#include "kafka.h"
#include "kafka_support.h"
#include "pg_connect.h"
#include "test_import_support.h"
#include "test_main.h"
#include "topics.h"

/* Joining a consumer group on kafka-dev and processing take seconds; a
 * minute is far beyond, also under ASan. */
#define WAIT_S 90.0

static char account_id[37], campaign_id[37];
static char service_group[64];
static char topic_leads[TOPIC_NAME_MAX + 1], topic_rejected[TOPIC_NAME_MAX + 1],
    topic_requests[TOPIC_NAME_MAX + 1];

typedef struct sent {
    const char *what;
    const char *key;
    uint8_t *payload;
    size_t len;
    bool json;
    const char *code; /* expected reject code, or NULL */
    bool seen;
} sent_t;

/* Packs a LeadUpsert without the codec's checks (to send invalid ones). */
static void pack_raw(const leadupsert_t *lead, sent_t *s)
{
    s->len = outdial__v1__lead_upsert__get_packed_size(lead);
    s->payload = malloc(s->len ? s->len : 1);
    outdial__v1__lead_upsert__pack(lead, s->payload);
}

/* Packs a LeadUpsert with the codec's checks (a message a producer would
 * send); fails the test when the codec refuses it. */
static void pack(const leadupsert_t *lead, sent_t *s)
{
    char err[512];
    assert_int_equal(leadupsert_encode(lead, &s->payload, &s->len, err, sizeof(err)), OD_OK);
}

/* A LeadUpsert for the test's campaign and account, nothing else set. */
static void lead_for(leadupsert_t *lead)
{
    leadupsert_init(lead);
    lead->campaign_id = campaign_id;
    lead->account_id = account_id;
}

static void set_json(sent_t *s, const char *text)
{
    s->len = strlen(text);
    s->payload = (uint8_t *)strdup(text);
    s->json = true;
}

static void produce(kafka_producer_t *p, const char *topic, sent_t *s)
{
    char err[512];
    kafka_header_t h = {"content-type", "application/json; charset=utf-8", 31};
    if (kafka_producer_send(p, topic, s->key, strlen(s->key), s->payload, s->len,
                            s->json ? &h : NULL, s->json ? 1 : 0, NULL, err, sizeof(err)) != OD_OK)
        fail_msg("produce %s: %s", s->what, err);
}

static char *header_text(const rd_kafka_message_t *msg, const char *name)
{
    const void *v = NULL;
    size_t len = 0;
    if (kafka_message_header_get(msg, name, &v, &len) != OD_OK || !v)
        return NULL;
    return strndup(v, len);
}

/* Stages an upload the way the API does: the import row (pending, no
 * mapping yet) and the raw bytes in chunks cut at awkward places. */
static void upload_stage(char import_id[37])
{
    static const char body[] = "Client;Mobile;Note\r\n"
                               "Alpha Ltd;020 7946 0958;\"line one\r\nline two\"\r\n"
                               "Beta Ltd;07911 123456;x\r\n"
                               "Gamma;12;bad\r\n";
    size_t len = sizeof(body) - 1;
    const char *quote = strchr(body, '"');
    size_t cuts[] = {7, (size_t)(quote - body) + 10, (size_t)(strstr(body, "x\r") - body) + 2, len};
    char total[16];
    snprintf(total, sizeof(total), "%zu", len);
    const char *p1[2] = {campaign_id, total};
    PGresult *res = imp_sql(imp.conn,
                            "INSERT INTO import (campaign_id, source, filename, bytes_total)"
                            " VALUES ($1::uuid, 'upload', 'upload.csv', $2) RETURNING id",
                            2, p1);
    snprintf(import_id, 37, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    size_t from = 0;
    for (int seq = 0; seq < 4; seq++) {
        char hex[256] = "\\x";
        size_t n = 2;
        for (size_t i = from; i < cuts[seq]; i++)
            n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%02x", (unsigned char)body[i]);
        char seqtext[8];
        snprintf(seqtext, sizeof(seqtext), "%d", seq);
        const char *p2[3] = {import_id, seqtext, hex};
        PQclear(imp_sql(imp.conn,
                        "INSERT INTO import_staging (import_id, seq, chunk)"
                        " VALUES ($1::uuid, $2::int, $3::bytea)",
                        3, p2));
        from = cuts[seq];
    }
}

static void test_leads_in(void **state)
{
    (void)state;
    char err[512];
    double deadline = imp_now_s() + WAIT_S;
    kafka_producer_t *producer = NULL;
    assert_int_equal(kafka_producer_new(NULL, &producer, err, sizeof(err)), OD_OK);

    static char *vars_keys[] = {"plan", "extra"};
    leadupsert_variable_t v1, v2, v3;
    leadupsert_variable_t *vars1[1] = {&v1}, *vars2[2] = {&v2, &v3};
    outdial__v1__lead_upsert__variables_entry__init(&v1);
    outdial__v1__lead_upsert__variables_entry__init(&v2);
    outdial__v1__lead_upsert__variables_entry__init(&v3);
    v1.key = vars_keys[0];
    v1.value = "gold";
    v2.key = vars_keys[0];
    v2.value = "platinum";
    v3.key = vars_keys[1];
    v3.value = "1";
    char *secondary[1] = {"415 555 2802"};

    sent_t msgs[9];
    memset(msgs, 0, sizeof(msgs));
    leadupsert_t lead;
    /* a: valid protobuf with a secondary phone */
    lead_for(&lead);
    lead.external_id = "ext-1";
    lead.name = "Proto Lead";
    lead.timezone = "America/Chicago";
    lead.phone = "(415) 555-2801";
    lead.variables = vars1;
    lead.n_variables = 1;
    lead.secondary_phones = secondary;
    lead.n_secondary_phones = 1;
    msgs[0] = (sent_t){.what = "protobuf", .key = campaign_id};
    pack(&lead, &msgs[0]);
    /* b: valid JSON, lowerCamelCase names, non-string variables */
    msgs[1] = (sent_t){.what = "json", .key = campaign_id};
    char json[512];
    snprintf(json, sizeof(json),
             "{\"campaignId\":\"%s\",\"accountId\":\"%s\",\"phone\":\"+1 415 555 2803\","
             "\"name\":\"Json Lead\",\"timezone\":\"america/denver\","
             "\"variables\":{\"score\":7,\"vip\":true}}",
             campaign_id, account_id);
    set_json(&msgs[1], json);
    /* c: garbage bytes as protobuf */
    msgs[2] = (sent_t){.what = "garbage", .key = campaign_id, .code = "invalid_message"};
    static const uint8_t garbage[] = {0x08, 0x96, 0x01, 'g', 'a', 'r', 0xff, 0xfe, 0x12};
    msgs[2].payload = malloc(sizeof(garbage));
    memcpy(msgs[2].payload, garbage, sizeof(garbage));
    msgs[2].len = sizeof(garbage);
    /* d: no phone */
    lead_for(&lead);
    lead.name = "No Phone";
    msgs[3] = (sent_t){.what = "missing phone", .key = campaign_id, .code = "missing_phone"};
    pack_raw(&lead, &msgs[3]);
    /* e: JSON that is not JSON */
    msgs[4] = (sent_t){.what = "bad json", .key = campaign_id, .code = "invalid_message"};
    set_json(&msgs[4], "{\"campaignId\": oops");
    /* f: a DNC number: skipped, not rejected */
    lead_for(&lead);
    lead.phone = "415 555 2899";
    msgs[5] = (sent_t){.what = "dnc", .key = campaign_id};
    pack(&lead, &msgs[5]);
    /* g: an invalid number */
    lead.phone = "12";
    msgs[6] = (sent_t){.what = "invalid number", .key = campaign_id, .code = "too_short"};
    pack(&lead, &msgs[6]);
    /* h: the first lead again by external_id: renamed, variables merged */
    lead_for(&lead);
    lead.external_id = "ext-1";
    lead.name = "Proto Lead Renamed";
    lead.phone = "+14155552801";
    lead.variables = vars2;
    lead.n_variables = 2;
    msgs[7] = (sent_t){.what = "update", .key = campaign_id};
    pack(&lead, &msgs[7]);
    /* i: a campaign that does not exist */
    static const char unknown[] = "00000000-0000-4000-8000-000000000000";
    lead.campaign_id = (char *)unknown;
    lead.external_id = "";
    lead.phone = "415 555 2804";
    lead.n_variables = 0;
    msgs[8] = (sent_t){.what = "unknown campaign", .key = unknown, .code = "campaign_not_found"};
    pack(&lead, &msgs[8]);

    for (size_t i = 0; i < 9; i++)
        produce(producer, topic_leads, &msgs[i]);
    /* An upload as the API stages it (raw chunks cut anywhere: in the
     * header, inside a quoted line break, between CR and LF) and its
     * ImportRequest, carrying the mapping and region. */
    char upload_id[37];
    upload_stage(upload_id);
    importrequest_mapping_t m1, m2;
    importrequest_mapping_t *mapping[2] = {&m1, &m2};
    outdial__v1__import_request__column_mapping_entry__init(&m1);
    outdial__v1__import_request__column_mapping_entry__init(&m2);
    m1.key = "phone";
    m1.value = "Mobile";
    m2.key = "name";
    m2.value = "Client";
    importrequest_t upload_req;
    importrequest_init(&upload_req);
    upload_req.import_id = upload_id;
    upload_req.campaign_id = campaign_id;
    upload_req.account_id = account_id;
    upload_req.region = "GB";
    upload_req.column_mapping = mapping;
    upload_req.n_column_mapping = 2;
    upload_req.requested_at_us = 1;
    uint8_t *upload_buf = NULL;
    size_t upload_len = 0;
    assert_int_equal(importrequest_encode(&upload_req, &upload_buf, &upload_len, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(kafka_producer_send(producer, topic_requests, campaign_id, 36, upload_buf,
                                         upload_len, NULL, 0, NULL, err, sizeof(err)),
                     OD_OK);
    free(upload_buf);
    /* A request for an import that does not exist must be skipped without
     * harm. */
    importrequest_t req;
    importrequest_init(&req);
    req.import_id = "00000000-0000-4000-8000-000000000001";
    req.campaign_id = campaign_id;
    req.account_id = account_id;
    req.requested_at_us = 1;
    uint8_t *req_buf = NULL;
    size_t req_len = 0;
    assert_int_equal(importrequest_encode(&req, &req_buf, &req_len, err, sizeof(err)), OD_OK);
    assert_int_equal(kafka_producer_send(producer, topic_requests, campaign_id, 36, req_buf,
                                         req_len, NULL, 0, NULL, err, sizeof(err)),
                     OD_OK);
    free(req_buf);
    assert_int_equal(kafka_producer_flush(producer, 30000, err, sizeof(err)), OD_OK);

    /* The service. */
    const char *no_args[] = {NULL};
    pid_t pid = imp_child_start(imp.dsn, imp.log_path, no_args);

    /* The rejected topic. */
    char group[64];
    snprintf(group, sizeof(group), "test-leads-in-rejected-%d", (int)getpid());
    kafka_consumer_t *consumer = kafka_support_subscribe(group, topic_rejected);
    int rejected = 0;
    while (rejected < 5) {
        if (imp_now_s() > deadline) {
            kill(pid, SIGKILL);
            imp_log_dump(imp.log_path);
            fail_msg("only %d of 5 rejected messages arrived", rejected);
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            imp_log_dump(imp.log_path);
            fail_msg("the service exited early (status %d)", status);
        }
        rd_kafka_message_t *msg = NULL;
        assert_int_equal(kafka_consumer_poll(consumer, 200, &msg, err, sizeof(err)), OD_OK);
        if (!msg)
            continue;
        char *code = header_text(msg, "outdial-reject-code");
        char *reason = header_text(msg, "outdial-reject-reason");
        char *source = header_text(msg, "outdial-source-topic");
        char *offset = header_text(msg, "outdial-source-offset");
        char *ctype = header_text(msg, "content-type");
        bool matched = false;
        for (size_t i = 0; i < 9 && !matched; i++) {
            sent_t *s = &msgs[i];
            if (s->seen || !s->code || s->len != msg->len ||
                memcmp(s->payload, msg->payload, s->len) != 0)
                continue;
            matched = true;
            s->seen = true;
            fprintf(stderr, "rejected %s: %s: %s\n", s->what, code ? code : "(none)",
                    reason ? reason : "(none)");
            if (!code || strcmp(code, s->code) != 0)
                fail_msg("%s: code %s, want %s", s->what, code ? code : "(none)", s->code);
            assert_non_null(reason);
            assert_true(strlen(reason) > 0);
            assert_non_null(source);
            assert_string_equal(source, topic_leads);
            assert_non_null(offset);
            assert_int_equal(msg->key_len, strlen(s->key));
            assert_memory_equal(msg->key, s->key, msg->key_len);
            if (s->json) {
                assert_non_null(ctype);
                assert_string_equal(ctype, "application/json; charset=utf-8");
            }
        }
        if (!matched)
            fail_msg("an unexpected message on %s (%zu bytes, code %s)", topic_rejected, msg->len,
                     code ? code : "(none)");
        rejected++;
        free(code);
        free(reason);
        free(source);
        free(offset);
        free(ctype);
        assert_int_equal(kafka_consumer_store(consumer, msg, err, sizeof(err)), OD_OK);
        kafka_message_free(msg);
    }

    /* The leads: the protobuf one, updated by the later message (same
     * partition, so after it), with its secondary contact; the JSON one. */
    const char *params[1] = {campaign_id};
    const char *want =
        "+14155552801|Proto Lead Renamed|America/Chicago|ext-1|{\"plan\": \"platinum\", "
        "\"extra\": \"1\"}|0|\n"
        "+14155552802|Proto Lead|America/Chicago||{\"plan\": \"gold\"}|1|+14155552801\n"
        "+14155552803|Json Lead|America/Denver||{\"vip\": \"true\", \"score\": \"7\"}|0|\n";
    char got[2048] = "";
    while (imp_now_s() < deadline) {
        PGresult *res =
            imp_sql(imp.conn,
                    "SELECT l.e164, l.name, coalesce(l.timezone, ''), coalesce(l.external_id, ''),"
                    " l.variables::text, l.contact_order, coalesce(p.e164, '')"
                    " FROM lead l LEFT JOIN lead p ON p.id = l.parent_lead_id"
                    " WHERE l.campaign_id = $1::uuid AND l.import_id IS NULL ORDER BY l.e164",
                    1, params);
        size_t n = 0;
        got[0] = '\0';
        for (int r = 0; r < PQntuples(res); r++)
            n += (size_t)snprintf(
                got + n, sizeof(got) - n, "%s|%s|%s|%s|%s|%s|%s\n", PQgetvalue(res, r, 0),
                PQgetvalue(res, r, 1), PQgetvalue(res, r, 2), PQgetvalue(res, r, 3),
                PQgetvalue(res, r, 4), PQgetvalue(res, r, 5), PQgetvalue(res, r, 6));
        PQclear(res);
        if (strcmp(got, want) == 0)
            break;
        usleep(100000);
    }
    if (strcmp(got, want) != 0) {
        imp_log_dump(imp.log_path);
        fail_msg("leads:\n%s\nwant\n%s", got, want);
    }
    /* Secondary contacts wait for their primary. */
    assert_int_equal(imp_sql_int(imp.conn,
                                 "SELECT count(*) FROM lead WHERE campaign_id = $1::uuid"
                                 " AND parent_lead_id IS NOT NULL AND next_attempt_at IS NULL",
                                 1, params),
                     1);

    /* The upload, imported by the service with the request's mapping and
     * region. */
    const char *up[1] = {upload_id};
    char import_state[256] = "";
    while (imp_now_s() < deadline) {
        PGresult *res = imp_sql(imp.conn,
                                "SELECT status, rows_read, rows_imported, rows_rejected,"
                                " column_mapping->>'phone', region FROM import"
                                " WHERE id = $1::uuid",
                                1, up);
        snprintf(import_state, sizeof(import_state), "%s %s %s %s %s %s", PQgetvalue(res, 0, 0),
                 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
                 PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5));
        PQclear(res);
        if (strncmp(import_state, "completed", 9) == 0)
            break;
        usleep(100000);
    }
    if (strcmp(import_state, "completed 3 2 1 Mobile GB") != 0) {
        imp_log_dump(imp.log_path);
        fail_msg("upload import: %s", import_state);
    }
    assert_int_equal(imp_sql_int(imp.conn,
                                 "SELECT count(*) FROM lead WHERE import_id = $1::uuid AND"
                                 " e164 IN ('+442079460958', '+447911123456')"
                                 " AND variables->>'note' IN ('line one\r\nline two', 'x')",
                                 1, up),
                     2);
    assert_int_equal(imp_sql_int(imp.conn,
                                 "SELECT count(*) FROM import_reject WHERE import_id = $1::uuid"
                                 " AND row_number = 3 AND code = 'too_short'",
                                 1, up),
                     1);

    /* SIGTERM: a clean stop, offsets committed. */
    assert_int_equal(kill(pid, SIGTERM), 0);
    int rc = imp_child_wait(pid, NULL);
    if (rc != 0) {
        imp_log_dump(imp.log_path);
        fail_msg("the service exited with %d after SIGTERM", rc);
    }
    assert_int_equal(kafka_consumer_close(consumer, err, sizeof(err)), OD_OK);
    kafka_consumer_free(consumer);
    kafka_producer_free(producer);
    for (size_t i = 0; i < 9; i++)
        free(msgs[i].payload);
}

/* Applies one JSON LeadUpsert for external_id ext-flight with phone. */
static leads_in_result_t apply_flight(pg_conn_t *db, lead_map_ctx_t *ctx, const char *phone)
{
    char json[512], err[512];
    snprintf(json, sizeof(json),
             "{\"campaignId\":\"%s\",\"accountId\":\"%s\",\"externalId\":\"ext-flight\","
             "\"phone\":\"%s\"}",
             campaign_id, account_id, phone);
    leads_in_result_t result;
    if (importer_leads_in_apply(db, ctx, json, strlen(json), true, &result, err, sizeof(err)))
        fail_msg("leads-in apply: %s", err);
    return result;
}

static char *flight_e164(void)
{
    const char *params[1] = {campaign_id};
    PGresult *res =
        imp_sql(imp.conn,
                "SELECT e164 FROM lead WHERE campaign_id = $1::uuid AND external_id = 'ext-flight'",
                1, params);
    assert_int_equal(PQntuples(res), 1);
    char *e164 = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return e164;
}

/* A number change by external_id is refused while a call to the lead is
 * queued or under way (the call holds the old number's line lock), as the
 * API refuses it; the same change goes through once the call has ended. */
static void test_number_change_in_flight(void **state)
{
    (void)state;
    pg_conn_t *db = support_pg_connect(imp.dsn, "test_leads_in");
    lead_map_ctx_t *ctx = lead_map_ctx_new();
    assert_int_equal(apply_flight(db, ctx, "+14155552901").outcome, LEADS_IN_INSERTED);
    const char *params[1] = {campaign_id};
    static const char *const in_flight[] = {"scheduled", "processing"};
    for (size_t i = 0; i < 2; i++) {
        const char *p2[2] = {campaign_id, in_flight[i]};
        PQclear(imp_sql(imp.conn,
                        "UPDATE lead SET status = $2::lead_status,"
                        " current_attempt_id = gen_random_uuid() WHERE campaign_id = $1::uuid"
                        " AND external_id = 'ext-flight'",
                        2, p2));
        leads_in_result_t r = apply_flight(db, ctx, "+14155552902");
        assert_int_equal(r.outcome, LEADS_IN_REJECTED);
        assert_string_equal(r.code, "call_in_flight");
        assert_non_null(strstr(r.message, in_flight[i]));
        char *e164 = flight_e164();
        assert_string_equal(e164, "+14155552901");
        free(e164);
        /* The same number with other fields is no change of number. */
        assert_int_equal(apply_flight(db, ctx, "+14155552901").outcome, LEADS_IN_UPDATED);
    }
    /* After the call: the change applies. */
    PQclear(imp_sql(imp.conn,
                    "UPDATE lead SET status = 'created', current_attempt_id = NULL"
                    " WHERE campaign_id = $1::uuid"
                    " AND external_id = 'ext-flight'",
                    1, params));
    assert_int_equal(apply_flight(db, ctx, "+14155552902").outcome, LEADS_IN_UPDATED);
    char *e164 = flight_e164();
    assert_string_equal(e164, "+14155552902");
    free(e164);
    lead_map_ctx_free(ctx);
    pg_conn_free(db);
}

static int group_setup(void **state)
{
    (void)state;
    char err[1024];
    support_env("OUTDIAL_KAFKA_BROKERS");
    if (imp_group_open("leads_in"))
        return -1;
    imp_campaign_create(imp.conn, account_id, campaign_id);
    const char *params[1] = {account_id};
    PQclear(imp_sql(imp.conn,
                    "INSERT INTO dnc (account_id, e164) VALUES ($1::uuid, '+14155552899')", 1,
                    params));
    /* Topics of this test only; the child inherits the environment. */
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "test%d.", (int)getpid());
    setenv("OUTDIAL_KAFKA_TOPIC_PREFIX", prefix, 1);
    snprintf(service_group, sizeof(service_group), "test-importer-%d", (int)getpid());
    setenv("OUTDIAL_IMPORTER_GROUP", service_group, 1);
    setenv("OUTDIAL_IMPORTER_HTTP_PORT", "0", 1);
    setenv("OUTDIAL_IMPORTER_SWEEP_S", "0", 1);
    setenv("OUTDIAL_IMPORTER_MIGRATE", "false", 1);
    if (topic_name_from_env(TOPIC_LEADS_IN, topic_leads, sizeof(topic_leads), err, sizeof(err)) !=
            OD_OK ||
        topic_name_from_env(TOPIC_LEADS_IN_REJECTED, topic_rejected, sizeof(topic_rejected), err,
                            sizeof(err)) != OD_OK ||
        topic_name_from_env(TOPIC_IMPORT_REQUESTS, topic_requests, sizeof(topic_requests), err,
                            sizeof(err)) != OD_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

OD_TEST_MAIN(group_setup, imp_group_teardown, test_leads_in, test_number_change_in_flight)

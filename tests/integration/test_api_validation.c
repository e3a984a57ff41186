/*
 * What the API refuses, and how: every campaign setting out of its range
 * names its field (table-driven), bad assistants and leads are refused,
 * start lists every unmet requirement at once, and malformed requests
 * (bad JSON, wrong Content-Type, oversized bodies, unknown fields, bad
 * ids) get a clear 4xx, after which the server still answers. Also the
 * manual lead actions and their refusals while a call is in flight.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_api_support.h"

static api_proc_t api;
static api_account_t acc;
static char assistant_id[37];

static int group_setup(void **state)
{
    (void)state;
    /* Small limits, so that oversized bodies are small enough for the
     * socket buffers and the client reads the 413 (see lib/web/http.h). */
    static const char *const extra[] = {"OUTDIAL_API_IMPORT_MAX_BYTES=1000",
                                        "OUTDIAL_API_HTTP_BODY_MAX=65536", NULL};
    api_start(&api, "apival", extra);
    acc = api_bootstrap("Validation", 1000);
    api_assistant_create(&api, acc.key, "+14155552671", assistant_id);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    api_stop(&api);
    return 0;
}

/* ---- settings ------------------------------------------------------------------- */

typedef struct setting_case {
    const char *fields; /* JSON members added to a valid campaign */
    const char *field;  /* the field the 400 must name */
} setting_case_t;

static const setting_case_t setting_cases[] = {
    {"\"max_retries\":0", "max_retries"},
    {"\"max_retries\":6", "max_retries"},
    {"\"max_retries\":\"3\"", "max_retries"},
    {"\"retry_interval_minutes\":9", "retry_interval_minutes"},
    {"\"retry_interval_minutes\":4321", "retry_interval_minutes"},
    {"\"window_start\":\"25:00\"", "window_start"},
    {"\"window_end\":\"25:00\"", "window_end"},
    {"\"window_start\":\"9am\"", "window_start"},
    {"\"allowed_days\":[]", "allowed_days"},
    {"\"allowed_days\":[\"funday\"]", "allowed_days"},
    {"\"allowed_days\":\"mon\"", "allowed_days"},
    {"\"timezone_mode\":\"x\"", "timezone_mode"},
    {"\"max_concurrent_calls\":0", "max_concurrent_calls"},
    {"\"max_concurrent_calls\":1001", "max_concurrent_calls"},
    {"\"calls_per_minute\":0", "calls_per_minute"},
    {"\"calls_per_minute\":6001", "calls_per_minute"},
    {"\"max_call_duration_s\":5", "max_call_duration_s"},
    {"\"goal_variable\":\"notes\"", "goal_variable"},   /* a string variable */
    {"\"goal_variable\":\"unknown\"", "goal_variable"}, /* not a variable */
    {"\"goal_based_retry\":true", "goal_based_retry"},  /* without a goal variable */
    {"\"retry_on_voicemail\":\"yes\"", "retry_on_voicemail"},
    {"\"name\":\"\"", "name"},
    {"\"arms\":[]", "arms"},    /* fewer than 2 arms */
    {"\"arms\":5", "arms"},     /* not an array */
    {"\"arms\":[1,2]", "arms"}, /* not arm objects */
};

static void test_settings_out_of_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(setting_cases) / sizeof(setting_cases[0]); i++) {
        const setting_case_t *c = &setting_cases[i];
        bool named = strncmp(c->fields, "\"name\"", 6) == 0;
        api_resp_t r =
            api_call(&api, "POST", "/v1/campaigns", acc.key, "{%s\"assistant_id\":\"%s\",%s}",
                     named ? "" : "\"name\":\"c\",", assistant_id, c->fields);
        if (r.status != 400 || strcmp(api_str(&r, "error.field"), c->field) != 0) {
            fprintf(stderr, "case %s: %ld %s\n", c->fields, r.status, r.body);
            fail();
        }
        assert_string_equal(api_str(&r, "error.code"), "invalid");
        assert_true(strlen(api_str(&r, "error.message")) > 0);
        api_resp_free(&r);
    }
    /* A range error names the allowed range. */
    api_resp_t r =
        api_call(&api, "POST", "/v1/campaigns", acc.key,
                 "{\"name\":\"c\",\"assistant_id\":\"%s\",\"max_retries\":6}", assistant_id);
    assert_non_null(strstr(api_str(&r, "error.message"), "between 1 and 5"));
    api_resp_free(&r);
}

static void test_settings_all_problems_at_once(void **state)
{
    (void)state;
    api_resp_t r = api_call(&api, "POST", "/v1/campaigns", acc.key,
                            "{\"name\":\"c\",\"assistant_id\":\"%s\",\"max_retries\":0,"
                            "\"retry_interval_minutes\":9,\"allowed_days\":[\"funday\"],"
                            "\"goal_based_retry\":true}",
                            assistant_id);
    api_expect(&r, 400, "several problems");
    json_t *problems = json_object_get(json_object_get(r.json, "error"), "problems");
    assert_int_equal(json_array_size(problems), 4);
    const char *fields[] = {"max_retries", "retry_interval_minutes", "allowed_days",
                            "goal_based_retry"};
    for (size_t i = 0; i < 4; i++) {
        bool seen = false;
        size_t k;
        json_t *p;
        json_array_foreach(problems, k, p)
        {
            seen = seen || strcmp(json_string_value(json_object_get(p, "field")), fields[i]) == 0;
        }
        assert_true(seen);
    }
    /* The first problem is the error's own field. */
    assert_string_equal(api_str(&r, "error.field"),
                        json_string_value(json_object_get(json_array_get(problems, 0), "field")));
    api_resp_free(&r);

    /* The same checks on PATCH of a draft, over the stored settings. */
    char campaign_id[37], path[128];
    api_campaign_create(&api, acc.key, assistant_id, campaign_id);
    snprintf(path, sizeof(path), "/v1/campaigns/%s", campaign_id);
    r = api_refused_field(&api, "PATCH", path, acc.key, "{\"retry_interval_minutes\":4321}",
                          "retry_interval_minutes");
    api_resp_free(&r);
    r = api_refused_field(&api, "PATCH", path, acc.key, "{\"goal_based_retry\":true}",
                          "goal_based_retry");
    api_resp_free(&r);
    r = api_call(&api, "PATCH", path, acc.key,
                 "{\"goal_variable\":\"interested\",\"goal_based_retry\":true,"
                 "\"window_start\":\"22:00\",\"window_end\":\"02:00\"}");
    api_expect(&r, 200, "valid PATCH");
    assert_string_equal(api_str(&r, "window_end"), "02:00");
    api_resp_free(&r);
    /* Equal start and end is the whole day; an end at midnight reads back
     * as "24:00", so 00:00-24:00 and 18:00-24:00 round-trip. */
    static const char *const whole_day[][3] = {{"00:00", "24:00", "24:00"},
                                               {"10:00", "10:00", "10:00"},
                                               {"18:00", "24:00", "24:00"},
                                               {"18:00", "00:00", "24:00"}};
    for (size_t i = 0; i < sizeof(whole_day) / sizeof(whole_day[0]); i++) {
        r = api_call(&api, "PATCH", path, acc.key,
                     "{\"window_start\":\"%s\",\"window_end\":\"%s\"}", whole_day[i][0],
                     whole_day[i][1]);
        api_expect(&r, 200, "a whole-day or midnight window");
        assert_string_equal(api_str(&r, "window_start"), whole_day[i][0]);
        assert_string_equal(api_str(&r, "window_end"), whole_day[i][2]);
        api_resp_free(&r);
        r = api_call(&api, "GET", path, acc.key, NULL);
        assert_string_equal(api_str(&r, "window_end"), whole_day[i][2]);
        api_resp_free(&r);
    }
    /* The goal variable keeps the assistant's schema honest. */
    snprintf(path, sizeof(path), "/v1/assistants/%s", assistant_id);
    r = api_call(&api, "PATCH", path, acc.key,
                 "{\"post_call_schema\":{\"interested\":\"string\"}}");
    assert_int_equal(r.status, 409);
    assert_string_equal(api_str(&r, "error.field"), "post_call_schema");
    api_resp_free(&r);
}

/* ---- assistants ------------------------------------------------------------------- */

static void test_assistant_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"name\":\"a\",\"timezone\":\"Mars/Olympus\",\"provider_assistant_id\":\"x\"}",
         "timezone"},
        {"{\"name\":\"a\",\"timezone\":\"GMT+05:30\",\"provider_assistant_id\":\"x\"}", "timezone"},
        {"{\"name\":\"a\",\"timezone\":\"Europe/Berlin\",\"provider_assistant_id\":\"x\","
         "\"outbound_phone_number\":\"12\"}",
         "outbound_phone_number"},
        {"{\"name\":\"a\",\"timezone\":\"Europe/Berlin\",\"provider_assistant_id\":\"x\","
         "\"outbound_phone_number\":\"call me\"}",
         "outbound_phone_number"},
        {"{\"name\":\"a\",\"timezone\":\"Europe/Berlin\",\"provider_assistant_id\":\"x\","
         "\"post_call_schema\":{\"v\":\"date\"}}",
         "post_call_schema"},
        {"{\"name\":\"a\",\"timezone\":\"Europe/Berlin\"}", "provider_assistant_id"},
        {"{\"name\":\"a\",\"timezone\":\"Europe/Berlin\",\"provider_assistant_id\":\"x\","
         "\"provider\":\"other\"}",
         "provider"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        api_resp_t r = api_call(&api, "POST", "/v1/assistants", acc.key, "%s", cases[i].body);
        if (r.status != 400 || strcmp(api_str(&r, "error.field"), cases[i].field) != 0) {
            fprintf(stderr, "case %s: %ld %s\n", cases[i].body, r.status, r.body);
            fail();
        }
        api_resp_free(&r);
    }
}

/* Creates an assistant from create_body and changes it with patch_body:
 * its member is want_created in the create's answer, want_patched in the
 * change's and when read back. */
static void assistant_member_round_trip(const char *create_body, const char *member,
                                        const char *want_created, const char *patch_body,
                                        const char *want_patched)
{
    api_resp_t r = api_call(&api, "POST", "/v1/assistants", acc.key, "%s", create_body);
    char id[37], path[100];
    api_created_id(&r, id, create_body);
    assert_string_equal(api_str(&r, member), want_created);
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/assistants/%s", id);
    r = api_call(&api, "PATCH", path, acc.key, "%s", patch_body);
    api_expect(&r, 200, patch_body);
    assert_string_equal(api_str(&r, member), want_patched);
    api_resp_free(&r);
    r = api_call(&api, "GET", path, acc.key, NULL);
    assert_string_equal(api_str(&r, member), want_patched);
    api_resp_free(&r);
}

/* An assistant's time zone, like a lead's, is taken in any letter case
 * and stored under its canonical name, on create and on update. */
static void test_assistant_timezone_case(void **state)
{
    (void)state;
    assistant_member_round_trip("{\"name\":\"a\",\"timezone\":\"america/new_york\","
                                "\"provider_assistant_id\":\"x\"}",
                                "timezone", "America/New_York", "{\"timezone\":\"EUROPE/BERLIN\"}",
                                "Europe/Berlin");
}

/* The provider is chosen per assistant: vapi by default, retell on create
 * or by a change, and read back as stored. */
static void test_assistant_provider(void **state)
{
    (void)state;
    assistant_member_round_trip("{\"name\":\"a\",\"timezone\":\"Europe/Berlin\","
                                "\"provider_assistant_id\":\"x\"}",
                                "provider", "vapi", "{\"provider\":\"retell\"}", "retell");
    char id[37];
    api_resp_t r =
        api_call(&api, "POST", "/v1/assistants", acc.key,
                 "{\"name\":\"r\",\"timezone\":\"Europe/Berlin\",\"provider\":\"retell\","
                 "\"provider_assistant_id\":\"agent_1\"}");
    api_created_id(&r, id, "create on retell");
    assert_string_equal(api_str(&r, "provider"), "retell");
    api_resp_free(&r);
}

/* ---- start requirements ------------------------------------------------------------- */

static bool has_problem(const api_resp_t *r, const char *code)
{
    json_t *problems = json_object_get(json_object_get(r->json, "error"), "problems");
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "code")), code) == 0)
            return true;
    }
    return false;
}

static void test_start_requirements(void **state)
{
    (void)state;
    /* A second account: balance 0, an assistant without a number, no leads. */
    api_account_t poor = api_bootstrap("Poor", 0);
    char no_phone[37], campaign_id[37];
    api_assistant_create(&api, poor.key, NULL, no_phone);
    api_campaign_create(&api, poor.key, no_phone, campaign_id);
    api_resp_t r = api_action_refused(&api, poor.key, "/v1/campaigns/%s/start", campaign_id, 409,
                                      "requirements_unmet");
    assert_true(has_problem(&r, "no_phone_number"));
    assert_true(has_problem(&r, "insufficient_balance"));
    assert_true(has_problem(&r, "no_leads"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(r.json, "error"), "problems")),
                     3);
    api_resp_free(&r);

    /* Fix them one by one; an invalid lead is stored and blocks start. */
    char apath[160];
    snprintf(apath, sizeof(apath), "/v1/assistants/%s", no_phone);
    r = api_call(&api, "PATCH", apath, poor.key, "{\"outbound_phone_number\":\"+14155552672\"}");
    api_expect(&r, 200, "set phone");
    api_resp_free(&r);
    snprintf(apath, sizeof(apath), "/v1/admin/accounts/%s/credit", poor.id);
    r = api_call(&api, "POST", apath, API_ADMIN_TOKEN, "{\"amount_minor\":100}");
    api_expect(&r, 200, "credit");
    api_resp_free(&r);
    r = api_leads_post(&api, poor.key, campaign_id,
                       "[{\"phone\":\"+14155550150\"},{\"phone\":\"555-01\",\"name\":\"Typo\"}]", 1,
                       1);
    json_t *bad = json_array_get(json_object_get(r.json, "results"), 1);
    assert_string_equal(json_string_value(json_object_get(bad, "result")), "invalid");
    char bad_id[37];
    snprintf(bad_id, sizeof(bad_id), "%s", json_string_value(json_object_get(bad, "lead_id")));
    api_resp_free(&r);
    r = api_post_id(&api, poor.key, "/v1/campaigns/%s/start", campaign_id);
    assert_int_equal(r.status, 409);
    assert_true(has_problem(&r, "invalid_leads"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(r.json, "error"), "problems")),
                     1);
    api_resp_free(&r);
    /* The same invalid number again is a duplicate, not a second lead. */
    snprintf(apath, sizeof(apath), "/v1/campaigns/%s/leads", campaign_id);
    r = api_call(&api, "POST", apath, poor.key, "{\"phone\":\"555-01\"}");
    api_expect(&r, 200, "add the invalid lead again"); /* nothing stored */
    assert_int_equal(api_int(&r, "duplicate"), 1);
    assert_int_equal(api_int(&r, "invalid"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.json, "results"), 0), "result")),
                        "duplicate");
    api_resp_free(&r);
    /* The invalid lead is listed as such, once. */
    snprintf(apath, sizeof(apath), "/v1/campaigns/%s/leads?invalid=true", campaign_id);
    r = api_call(&api, "GET", apath, poor.key, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    json_t *lead = json_array_get(json_object_get(r.json, "data"), 0);
    assert_string_equal(json_string_value(json_object_get(lead, "raw_phone")), "555-01");
    assert_true(json_is_null(json_object_get(lead, "phone")));
    api_resp_free(&r);
    /* Corrected: start goes through. */
    snprintf(apath, sizeof(apath), "/v1/leads/%s", bad_id);
    r = api_call(&api, "PATCH", apath, poor.key, "{\"phone\":\"+14155550151\"}");
    api_expect(&r, 200, "correct lead");
    assert_string_equal(api_str(&r, "phone"), "+14155550151");
    assert_true(json_is_null(json_object_get(r.json, "invalid_reason")));
    api_resp_free(&r);
    r = api_action(&api, poor.key, "/v1/campaigns/%s/start", campaign_id, "in_progress");
    api_resp_free(&r);
    r = api_action_refused(&api, poor.key, "/v1/campaigns/%s/start", campaign_id, 409,
                           "invalid_state");
    api_resp_free(&r);
}

/* ---- leads ----------------------------------------------------------------------------- */

static PGconn *db_connect(void)
{
    PGconn *conn = PQconnectdb(api.dsn);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    return conn;
}

static void sql(PGconn *conn, const char *q, const char *p1)
{
    const char *params[] = {p1};
    PGresult *res = PQexecParams(conn, q, p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s\n", q, PQerrorMessage(conn));
        fail();
    }
    PQclear(res);
}

static void test_lead_refusals_and_actions(void **state)
{
    (void)state;
    char campaign_id[37], path[160];
    api_campaign_create(&api, acc.key, assistant_id, campaign_id);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign_id);
    api_resp_t r =
        api_refused_field(&api, "POST", path, acc.key,
                          "{\"phone\":\"+14155550160\",\"timezone\":\"Mars/Olympus\"}", "timezone");
    api_resp_free(&r);
    r = api_refused_field(&api, "POST", path, acc.key,
                          "[{\"phone\":\"+14155550160\"},{\"name\":\"x\"}]", "[1].phone");
    api_resp_free(&r);
    r = api_call(&api, "POST", path, acc.key, "[{\"phone\":\"+14155550160\",\"email\":\"x\"}]");
    assert_int_equal(r.status, 400);
    assert_string_equal(api_str(&r, "error.code"), "unknown_field");
    assert_string_equal(api_str(&r, "error.field"), "[0].email");
    api_resp_free(&r);

    /* DNC and duplicates are reported, not inserted. */
    r = api_call(&api, "POST", "/v1/dnc", acc.key, "{\"phone\":\"+14155550169\"}");
    api_expect(&r, 201, "dnc add");
    api_resp_free(&r);
    r = api_leads_post(&api, acc.key, campaign_id,
                       "[{\"phone\":\"+14155550160\"},{\"phone\":\"+1 415 555 0160\"},"
                       "{\"phone\":\"+14155550169\"}]",
                       1, -1);
    assert_int_equal(api_int(&r, "duplicate"), 1);
    assert_int_equal(api_int(&r, "dnc"), 1);
    char lead_id[37];
    snprintf(lead_id, sizeof(lead_id), "%s",
             json_string_value(json_object_get(
                 json_array_get(json_object_get(r.json, "results"), 0), "lead_id")));
    api_resp_free(&r);

    /* A lead with a call in flight cannot be reset or completed. */
    PGconn *conn = db_connect();
    sql(conn,
        "UPDATE lead SET status = 'scheduled', current_attempt_id = gen_random_uuid()"
        " WHERE id = $1::uuid",
        lead_id);
    char lpath[160];
    r = api_action_refused(&api, acc.key, "/v1/leads/%s/reset", lead_id, 409, "lead_in_flight");
    api_resp_free(&r);
    r = api_post_id(&api, acc.key, "/v1/leads/%s/complete", lead_id);
    assert_int_equal(r.status, 409);
    api_resp_free(&r);

    /* After a call (attempt 1) it ended max_retries; reset makes it due
     * with attempts 0, and its next call may reuse attempt number 1
     * (migration 004 made that index non-unique). */
    sql(conn,
        "INSERT INTO call (attempt_id, lead_id, campaign_id, attempt_number, e164, status)"
        " SELECT current_attempt_id, id, campaign_id, 1, e164, 'unanswered' FROM lead"
        " WHERE id = $1::uuid",
        lead_id);
    sql(conn,
        "UPDATE lead SET status = 'max_retries', outcome = 'exhausted', attempts = 1,"
        " current_attempt_id = NULL WHERE id = $1::uuid",
        lead_id);
    r = api_action(&api, acc.key, "/v1/leads/%s/reset", lead_id, "created");
    assert_int_equal(api_int(&r, "attempts"), 0);
    assert_true(json_is_null(json_object_get(r.json, "outcome")));
    assert_true(json_is_true(json_object_get(r.json, "due")));
    api_resp_free(&r);
    sql(conn,
        "INSERT INTO call (attempt_id, lead_id, campaign_id, attempt_number, e164, status)"
        " SELECT gen_random_uuid(), id, campaign_id, 1, e164, 'initiated' FROM lead"
        " WHERE id = $1::uuid",
        lead_id);
    r = api_get_ok(&api, acc.key, "/v1/leads/%s/calls", lead_id);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 2);
    api_resp_free(&r);

    /* Set to completed: outcome manual; a lead with calls cannot be deleted. */
    r = api_action(&api, acc.key, "/v1/leads/%s/complete", lead_id, "completed");
    assert_string_equal(api_str(&r, "outcome"), "manual");
    api_resp_free(&r);
    snprintf(lpath, sizeof(lpath), "/v1/leads/%s", lead_id);
    r = api_call(&api, "DELETE", lpath, acc.key, NULL);
    assert_int_equal(r.status, 409);
    assert_string_equal(api_str(&r, "error.code"), "has_calls");
    api_resp_free(&r);
    PQfinish(conn);
}

/* Adding leads to a running campaign wakes the scheduler; to a completed
 * one makes it resumable. */
static bool notified(PGconn *listen, const char *campaign_id, int timeout_ms)
{
    int64_t deadline = harness_ms() + timeout_ms;
    while (harness_ms() < deadline) {
        PQconsumeInput(listen);
        PGnotify *n;
        bool hit = false;
        while ((n = PQnotifies(listen)) != NULL) {
            hit = hit || strcmp(n->extra, campaign_id) == 0;
            PQfreemem(n);
        }
        if (hit)
            return true;
        usleep(20000);
    }
    return false;
}

static void test_leads_wake_and_resume(void **state)
{
    (void)state;
    char campaign_id[37];
    api_campaign_create(&api, acc.key, assistant_id, campaign_id);
    api_lead_add(&api, acc.key, campaign_id, "+14155550301", "lead");
    api_resp_t r = api_action(&api, acc.key, "/v1/campaigns/%s/start", campaign_id, NULL);
    api_resp_free(&r);

    PGconn *listen = db_connect();
    sql(listen, "LISTEN outdial_scheduler", NULL);
    api_lead_add(&api, acc.key, campaign_id, "+14155550302", "lead while running");
    assert_true(notified(listen, campaign_id, 5000));

    /* The scheduler found nothing left to call: completed. New leads make
     * it resumable. */
    sql(listen,
        "UPDATE lead SET status = 'completed', outcome = 'answered' WHERE campaign_id = $1::uuid",
        campaign_id);
    sql(listen, "UPDATE campaign SET status = 'completed' WHERE id = $1::uuid", campaign_id);
    r = api_action_refused(&api, acc.key, "/v1/campaigns/%s/resume", campaign_id, 409,
                           "requirements_unmet");
    api_resp_free(&r);
    api_lead_add(&api, acc.key, campaign_id, "+14155550303", "lead in completed campaign");
    r = api_action(&api, acc.key, "/v1/campaigns/%s/resume", campaign_id, "in_progress");
    api_resp_free(&r);
    PQfinish(listen);
}

/* An upload in progress must not lock its campaign: the import row
 * commits before the bytes stream in. A client sends part of a file, then
 * waits; meanwhile the campaign's settings change and it starts. */
typedef struct slow_upload {
    char path[256];
    atomic_int phase; /* 0 first part, 1 waiting, 2 go on, 3 done */
    long status;
} slow_upload_t;

static size_t slow_read(char *buf, size_t size, size_t n, void *arg)
{
    slow_upload_t *up = arg;
    static const char head[] = "phone,name\n+14155550401,Ann\n";
    static const char tail[] = "+14155550402,Ben\n";
    if (atomic_load(&up->phase) == 0) {
        atomic_store(&up->phase, 1);
        memcpy(buf, head, sizeof(head) - 1);
        return sizeof(head) - 1;
    }
    while (atomic_load(&up->phase) == 1)
        usleep(10000);
    if (atomic_load(&up->phase) == 2 && size * n >= sizeof(tail)) {
        atomic_store(&up->phase, 3);
        memcpy(buf, tail, sizeof(tail) - 1);
        return sizeof(tail) - 1;
    }
    return 0;
}

/* POSTs a chunked body that read (curl's read callback) produces, with
 * the account's key; returns the status (0 when the transfer failed). */
static long stream_post(const char *path, const char *content_type, curl_read_callback read,
                        void *arg)
{
    char url[512], auth[256], ct[128];
    snprintf(url, sizeof(url), "%s%s", api.base, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", acc.key);
    snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
    api_resp_t r;
    CURL *curl = httpc_new(url, NULL, &r, 30000L);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, ct);
    h = curl_slist_append(h, "Transfer-Encoding: chunked");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read);
    curl_easy_setopt(curl, CURLOPT_READDATA, arg);
    httpc_run(curl, h, &r);
    long status = r.curl_rc == CURLE_OK ? r.status : 0;
    api_resp_free(&r);
    return status;
}

static void *slow_upload_main(void *arg)
{
    slow_upload_t *up = arg;
    up->status = stream_post(up->path, "text/csv", slow_read, up);
    return NULL;
}

static void test_upload_does_not_lock_campaign(void **state)
{
    (void)state;
    char campaign_id[37], path[160];
    api_campaign_create(&api, acc.key, assistant_id, campaign_id);
    api_lead_add(&api, acc.key, campaign_id, "+14155550400", "lead");
    api_resp_t r;

    slow_upload_t up = {.status = 0};
    snprintf(up.path, sizeof(up.path), "/v1/campaigns/%s/imports", campaign_id);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, slow_upload_main, &up), 0);
    /* The upload has begun: its import is listed, still without a size. */
    bool begun = false;
    int64_t deadline = harness_ms() + 10000;
    while (!begun && harness_ms() < deadline) {
        r = api_call(&api, "GET", up.path, acc.key, NULL);
        json_t *first = json_array_get(json_object_get(r.json, "data"), 0);
        begun = first && json_is_null(json_object_get(first, "bytes_total"));
        api_resp_free(&r);
        if (!begun)
            usleep(20000);
    }
    assert_true(begun);
    int64_t t0 = harness_ms();
    snprintf(path, sizeof(path), "/v1/campaigns/%s", campaign_id);
    r = api_call(&api, "PATCH", path, acc.key, "{\"max_retries\":4}");
    api_expect(&r, 200, "settings during an upload");
    api_resp_free(&r);
    r = api_action(&api, acc.key, "/v1/campaigns/%s/start", campaign_id, NULL);
    api_resp_free(&r);
    assert_true(harness_ms() - t0 < 3000);

    atomic_store(&up.phase, 2);
    pthread_join(thread, NULL);
    assert_int_equal(up.status, 202);
    r = api_call(&api, "GET", up.path, acc.key, NULL);
    json_t *first = json_array_get(json_object_get(r.json, "data"), 0);
    assert_int_equal(json_integer_value(json_object_get(first, "bytes_total")),
                     (json_int_t)strlen("phone,name\n+14155550401,Ann\n+14155550402,Ben\n"));
    api_resp_free(&r);
}

/* ---- malformed requests ------------------------------------------------------------------ */

/* A body streamed with chunked encoding (no Content-Length). */
typedef struct feed {
    size_t left;
} feed_t;

static size_t feed_read(char *buf, size_t size, size_t n, void *arg)
{
    feed_t *f = arg;
    size_t len = size * n < f->left ? size * n : f->left;
    memset(buf, 'x', len);
    if (len > 0)
        buf[0] = '\n';
    f->left -= len;
    return len;
}

static long chunked_post(const char *path, const char *content_type, size_t bytes)
{
    feed_t f = {.left = bytes};
    return stream_post(path, content_type, feed_read, &f);
}

static void expect_error(api_resp_t r, long status, const char *code, const char *field)
{
    if (r.status != status || strcmp(api_str(&r, "error.code"), code) != 0 ||
        (field && strcmp(api_str(&r, "error.field"), field) != 0)) {
        fprintf(stderr, "expected %ld %s %s, got %ld %s\n", status, code, field ? field : "",
                r.status, r.body);
        fail();
    }
    api_resp_free(&r);
}

static void test_malformed_requests(void **state)
{
    (void)state;
    char campaign_id[37], path[200];
    api_resp_t r;
    api_campaign_create(&api, acc.key, assistant_id, campaign_id);

    /* Malformed JSON, on a plain route and on a streamed one. */
    expect_error(api_call_raw(&api, "POST", "/v1/assistants", acc.key, NULL, "{\"name\":", 8), 400,
                 "invalid_json", NULL);
    expect_error(api_call_raw(&api, "POST", "/v1/campaigns", acc.key, NULL, "[1,", 3), 400,
                 "invalid_json", NULL);
    expect_error(
        api_call_raw(&api, "POST", "/v1/campaigns", acc.key, NULL, "{\"a\":1,\"a\":2}", 13), 400,
        "invalid_json", NULL);
    /* Wrong Content-Type. */
    expect_error(api_call_raw(&api, "POST", "/v1/assistants", acc.key, "text/plain", "{}", 2), 415,
                 "unsupported_media_type", NULL);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports", campaign_id);
    expect_error(api_call_raw(&api, "POST", path, acc.key, "application/json", "{}", 2), 415,
                 "unsupported_media_type", NULL);
    /* Unknown fields name the field. */
    expect_error(api_call(&api, "POST", "/v1/campaigns", acc.key,
                          "{\"name\":\"c\",\"assistant_id\":\"%s\",\"max_retry\":3}", assistant_id),
                 400, "unknown_field", "max_retry");
    expect_error(api_call(&api, "PATCH", "/v1/account", acc.key, "{\"balance_minor\":1}"), 400,
                 "unknown_field", "balance_minor");
    /* Not an object. */
    expect_error(api_call(&api, "POST", "/v1/assistants", acc.key, "[]"), 400, "invalid_json",
                 NULL);
    /* Bad ids in the path are 404, like missing ones. */
    expect_error(api_call(&api, "GET", "/v1/campaigns/42", acc.key, NULL), 404, "not_found", NULL);
    expect_error(api_call(&api, "GET", "/v1/leads/not-a-uuid/calls", acc.key, NULL), 404,
                 "not_found", NULL);
    expect_error(
        api_call(&api, "GET", "/v1/campaigns/00000000-0000-0000-0000-000000000000", acc.key, NULL),
        404, "not_found", NULL);
    expect_error(api_call(&api, "GET", "/v1/nothing", acc.key, NULL), 404, "not_found", NULL);
    /* 405 names the methods the path does answer. */
    r = api_call(&api, "DELETE", "/v1/campaigns", acc.key, NULL);
    assert_string_equal(r.allow, "GET, HEAD, POST");
    expect_error(r, 405, "method_not_allowed", NULL);
    r = api_call(&api, "PUT", "/v1/account", acc.key, NULL);
    assert_string_equal(r.allow, "GET, HEAD, PATCH");
    expect_error(r, 405, "method_not_allowed", NULL);
    /* Bad query parameters. */
    expect_error(api_call(&api, "GET", "/v1/campaigns?limit=0", acc.key, NULL), 400, "invalid",
                 "limit");
    expect_error(api_call(&api, "GET", "/v1/campaigns?cursor=zzz", acc.key, NULL), 400, "invalid",
                 "cursor");
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads?status=ringing", campaign_id);
    expect_error(api_call(&api, "GET", path, acc.key, NULL), 400, "invalid", "status");

    /* Oversized bodies: declared (plain and streamed routes) and chunked. */
    size_t big = 200 * 1024;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    expect_error(api_call_raw(&api, "POST", "/v1/assistants", acc.key, NULL, huge, big), 413,
                 "payload_too_large", NULL);
    expect_error(api_call_raw(&api, "POST", "/v1/campaigns", acc.key, NULL, huge, big), 413,
                 "payload_too_large", NULL);
    free(huge);
    assert_int_equal(chunked_post("/v1/campaigns", "application/json", big), 413);
    /* Uploads over OUTDIAL_API_IMPORT_MAX_BYTES (1000 here). */
    char csv[3000];
    memset(csv, 'a', sizeof(csv));
    memcpy(csv, "phone\n", 6);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports", campaign_id);
    expect_error(api_call_raw(&api, "POST", path, acc.key, "text/csv", csv, sizeof(csv)), 413,
                 "payload_too_large", NULL);
    assert_int_equal(chunked_post(path, "text/csv", 5000), 413);
    expect_error(api_call_raw(&api, "POST", path, acc.key, "text/csv", "", 0), 400, "invalid",
                 NULL);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports?map=phone", campaign_id);
    expect_error(api_call_raw(&api, "POST", path, acc.key, "text/csv", "phone\n1\n", 8), 400,
                 "invalid", "map");
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports?region=XX", campaign_id);
    expect_error(api_call_raw(&api, "POST", path, acc.key, "text/csv", "phone\n1\n", 8), 400,
                 "invalid", "region");
    /* None of the refused uploads left an import behind. A refused upload's
     * row is removed when its connection is done, which may be just after
     * the client has read the 413: allow the server a moment. */
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports", campaign_id);
    size_t left = 1;
    for (int tries = 0; tries < 50 && left; tries++) {
        api_resp_t list = api_call(&api, "GET", path, acc.key, NULL);
        api_expect(&list, 200, "imports");
        left = json_array_size(json_object_get(list.json, "data"));
        api_resp_free(&list);
        if (left)
            usleep(100000);
    }
    assert_int_equal(left, 0);

    /* The server still serves. */
    r = api_call(&api, "GET", "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    api_resp_free(&r);
    r = api_call(&api, "GET", "/readyz", NULL, NULL);
    assert_int_equal(r.status, 200);
    api_resp_free(&r);
    r = api_call(&api, "GET", "/v1/account", acc.key, NULL);
    assert_int_equal(r.status, 200);
    api_resp_free(&r);
}

/* A/B arms: accepted with two assistants of the account and read back;
 * the statistics have one entry per arm (empty until a lead is called);
 * start needs a number for every arm; an assistant that is an arm cannot
 * be deleted; another account's assistant is not an arm. */
static void test_ab_arms(void **state)
{
    (void)state;
    char second[37], no_phone[37], other[37];
    api_assistant_create(&api, acc.key, "+14155552672", second);
    api_assistant_create(&api, acc.key, NULL, no_phone);
    api_account_t acc2 = api_bootstrap("Validation 2", 1000);
    api_assistant_create(&api, acc2.key, "+14155552673", other);

    api_resp_t r =
        api_call(&api, "POST", "/v1/campaigns", acc.key,
                 "{\"name\":\"ab\",\"assistant_id\":\"%s\",\"goal_variable\":\"interested\","
                 "\"arms\":[{\"assistant_id\":\"%s\",\"weight\":2},"
                 "{\"assistant_id\":\"%s\",\"weight\":1}]}",
                 assistant_id, other, second);
    assert_int_equal(r.status, 400);
    assert_string_equal(api_str(&r, "error.field"), "arms");
    assert_non_null(strstr(api_str(&r, "error.message"), "no assistant"));
    api_resp_free(&r);

    char campaign[37];
    r = api_call(&api, "POST", "/v1/campaigns", acc.key,
                 "{\"name\":\"ab\",\"assistant_id\":\"%s\",\"goal_variable\":\"interested\","
                 "\"arms\":[{\"assistant_id\":\"%s\",\"weight\":2},"
                 "{\"assistant_id\":\"%s\",\"weight\":1}]}",
                 assistant_id, no_phone, second);
    api_created_id(&r, campaign, "create an A/B campaign");
    assert_int_equal(json_array_size(json_object_get(r.json, "arms")), 2);
    api_resp_free(&r);

    char path[128];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/stats", campaign);
    r = api_call(&api, "GET", path, acc.key, NULL);
    assert_int_equal(r.status, 200);
    json_t *arms = json_object_get(r.json, "arms");
    assert_int_equal(json_array_size(arms), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(arms, 0), "weight")), 2);
    assert_true(json_is_null(json_object_get(json_array_get(arms, 1), "goal_rate_interval")));
    api_resp_free(&r);

    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign);
    r = api_call(&api, "POST", path, acc.key, "{\"phone\":\"+14155550101\"}");
    api_resp_free(&r);
    r = api_post_id(&api, acc.key, "/v1/campaigns/%s/start", campaign);
    api_expect(&r, 409, "start with an arm without a number");
    assert_non_null(strstr(r.body, "arms[0]"));
    api_resp_free(&r);

    /* An arm's assistant is in use. */
    snprintf(path, sizeof(path), "/v1/assistants/%s", second);
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    api_expect(&r, 409, "delete an arm's assistant");
    assert_string_equal(api_str(&r, "error.code"), "in_use");
    api_resp_free(&r);
}

HTTPC_TEST_MAIN(group_setup, group_teardown, test_settings_out_of_range,
                test_settings_all_problems_at_once, test_assistant_refusals,
                test_assistant_timezone_case, test_assistant_provider, test_start_requirements,
                test_lead_refusals_and_actions, test_leads_wake_and_resume,
                test_upload_does_not_lock_campaign, test_malformed_requests, test_ab_arms)

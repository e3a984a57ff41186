/*
 * The webhook endpoints API (docs/webhooks.md): create answers the secret
 * once and list/get never; every invalid field of a create or a change is
 * listed in the problems shape; PATCH keeps the fields left out and
 * enabling clears the reason a 410 disabled it; rotate answers a new
 * secret; deliveries by status (the dead-letter list), one replay and
 * replay-all of dead rows, 409 for a delivery that is not dead; another
 * account sees nothing; DELETE takes the deliveries along. Every answer is
 * recorded for integration.api_openapi_responses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_api_support.h"

/* Runs one statement as the notifier would have (deliveries are written
 * by outdial-notifier, not by the API). */
static void sql(const char *sql_text, const char *p1, const char *p2)
{
    PGconn *conn = PQconnectdb(support_env("OUTDIAL_PG_DSN"));
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    const char *params[] = {p1, p2};
    PGresult *res = PQexecParams(conn, sql_text, p2 ? 2 : 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql_text, PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
}

/* The problems of a 400, as "field,field,...". */
static void problem_fields(const api_resp_t *r, char *out, size_t len)
{
    json_t *root = json_loads(r->body, 0, NULL);
    json_t *list = json_object_get(json_object_get(root, "error"), "problems");
    size_t i, o = 0;
    json_t *p;
    out[0] = '\0';
    json_array_foreach(list, i, p)
    {
        o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "",
                              json_string_value(json_object_get(p, "field")));
        assert_non_null(json_string_value(json_object_get(p, "message")));
    }
    json_decref(root);
}

/* Calls method on the path (printf-style) without a body and fails
 * unless the answer has status. */
static void expect_status(const api_proc_t *api, const char *key, const char *method, long status,
                          const char *what, const char *path_fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void expect_status(const api_proc_t *api, const char *key, const char *method, long status,
                          const char *what, const char *path_fmt, ...)
{
    char path[256];
    va_list ap;
    va_start(ap, path_fmt);
    vsnprintf(path, sizeof(path), path_fmt, ap);
    va_end(ap);
    api_resp_t r = api_call(api, method, path, key, NULL);
    api_expect(&r, status, what);
    api_resp_free(&r);
}

static void test_webhook_endpoints(void **state)
{
    (void)state;
    api_proc_t api;
    api_start(&api, "apiwebhooks", NULL);
    api_account_t acc = api_bootstrap("Hooks", 1000);
    const char *key = acc.key;
    char path[256], fields[256];

    /* Every problem at once. */
    api_resp_t r = api_call(&api, "POST", "/v1/webhook-endpoints", key,
                            "{\"url\":\"http://crm.example.com/h\",\"events\":[\"call.ended\","
                            "\"call.started\"],\"description\":7,\"enabled\":\"yes\"}");
    api_expect(&r, 400, "create with four bad fields");
    assert_string_equal(api_str(&r, "error.code"), "invalid");
    problem_fields(&r, fields, sizeof(fields));
    assert_string_equal(fields, "url,events[1],description,enabled");
    api_resp_free(&r);
    r = api_call(&api, "POST", "/v1/webhook-endpoints", key, "{\"description\":\"x\"}");
    api_expect(&r, 400, "create without url and events");
    problem_fields(&r, fields, sizeof(fields));
    assert_string_equal(fields, "url,events");
    api_resp_free(&r);
    r = api_call(&api, "POST", "/v1/webhook-endpoints", key,
                 "{\"url\":\"https://crm.example.com/h\",\"events\":[]}");
    api_expect(&r, 400, "create with no events");
    api_resp_free(&r);
    r = api_call(&api, "POST", "/v1/webhook-endpoints", key,
                 "{\"url\":\"https://crm.example.com/h\",\"events\":[\"call.ended\"],\"x\":1}");
    api_expect(&r, 400, "create with an unknown field");
    assert_string_equal(api_str(&r, "error.code"), "unknown_field");
    api_resp_free(&r);

    /* Created: the secret this once; the events as a set. */
    r = api_call(&api, "POST", "/v1/webhook-endpoints", key,
                 "{\"url\":\"https://crm.example.com/h\",\"events\":[\"import.finished\","
                 "\"call.ended\",\"call.ended\"],\"description\":\"CRM\"}");
    char id[37], secret[80];
    api_created_id(&r, id, "create an endpoint");
    snprintf(secret, sizeof(secret), "%s", api_str(&r, "secret"));
    assert_int_equal(strlen(secret), 6 + 48);
    assert_true(strncmp(secret, "whsec_", 6) == 0);
    assert_true(api_int(&r, "enabled") == -1); /* a boolean, not a number */
    assert_non_null(strstr(r.body, "\"events\":[\"call.ended\",\"import.finished\"]"));
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s", id);
    r = api_call(&api, "GET", path, key, NULL);
    api_expect(&r, 200, "read the endpoint");
    assert_null(strstr(r.body, "secret"));
    assert_string_equal(api_str(&r, "description"), "CRM");
    api_resp_free(&r);
    r = api_call(&api, "GET", "/v1/webhook-endpoints", key, NULL);
    api_expect(&r, 200, "list endpoints");
    assert_null(strstr(r.body, "whsec_"));
    assert_non_null(strstr(r.body, id));
    api_resp_free(&r);

    /* PATCH: only what is given; bad values listed. */
    r = api_call(&api, "PATCH", path, key, "{\"url\":\"ftp://x\",\"events\":\"call.ended\"}");
    api_expect(&r, 400, "patch with bad fields");
    problem_fields(&r, fields, sizeof(fields));
    assert_string_equal(fields, "url,events");
    api_resp_free(&r);
    r = api_call(&api, "PATCH", path, key, "{\"events\":[\"lead.finished\"]}");
    api_expect(&r, 200, "patch the events");
    assert_non_null(strstr(r.body, "\"events\":[\"lead.finished\"]"));
    assert_string_equal(api_str(&r, "url"), "https://crm.example.com/h");
    assert_string_equal(api_str(&r, "description"), "CRM");
    api_resp_free(&r);

    /* A 410 disabled it (as the notifier does); enabling clears the reason. */
    sql("UPDATE webhook_endpoint SET enabled = false, disabled_reason = 'the endpoint answered "
        "410 Gone' WHERE id = $1::uuid",
        id, NULL);
    r = api_call(&api, "GET", path, key, NULL);
    assert_string_equal(api_str(&r, "disabled_reason"), "the endpoint answered 410 Gone");
    api_resp_free(&r);
    r = api_call(&api, "PATCH", path, key, "{\"enabled\":true,\"description\":null}");
    api_expect(&r, 200, "enable again");
    assert_non_null(strstr(r.body, "\"disabled_reason\":null"));
    assert_non_null(strstr(r.body, "\"description\":null"));
    assert_non_null(strstr(r.body, "\"enabled\":true"));
    api_resp_free(&r);

    /* Rotate: a new secret. */
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/secret/rotate", id);
    r = api_call(&api, "POST", path, key, NULL);
    api_expect(&r, 200, "rotate the secret");
    assert_string_not_equal(api_str(&r, "secret"), secret);
    char prefix[7];
    snprintf(prefix, sizeof(prefix), "%s", api_str(&r, "secret"));
    assert_string_equal(prefix, "whsec_");
    api_resp_free(&r);

    /* Deliveries: two dead, one delivered. */
    sql("INSERT INTO webhook_delivery (endpoint_id, event_id, event_type, body, status, attempts,"
        " first_attempt_at, last_attempt_at, last_status_code, last_error) SELECT $1::uuid,"
        " 'evt-' || n, 'lead.finished', '{\"id\":\"evt-' || n || '\",\"type\":\"lead.finished\"}',"
        " CASE WHEN n = 3 THEN 'delivered' ELSE 'dead' END::webhook_delivery_status, 5, now(),"
        " now(), 500, 'HTTP 500: no' FROM generate_series(1, 3) n",
        id, NULL);
    r = api_get_ok(&api, key, "/v1/webhook-endpoints/%s/deliveries?status=dead", id);
    json_t *root = json_loads(r.body, 0, NULL);
    json_t *data = json_object_get(root, "data");
    assert_int_equal(json_array_size(data), 2);
    json_t *first = json_array_get(data, 0);
    char delivery[37];
    snprintf(delivery, sizeof(delivery), "%s", json_string_value(json_object_get(first, "id")));
    assert_int_equal(json_integer_value(json_object_get(first, "last_status_code")), 500);
    assert_true(json_is_object(json_object_get(first, "payload")));
    json_decref(root);
    api_resp_free(&r);
    expect_status(&api, key, "GET", 400, "an unknown status",
                  "/v1/webhook-endpoints/%s/deliveries?status=sent", id);
    expect_status(&api, key, "GET", 200, "every delivery", "/v1/webhook-endpoints/%s/deliveries",
                  id);

    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries/%s/replay", id, delivery);
    r = api_call(&api, "POST", path, key, NULL);
    api_expect(&r, 200, "replay one");
    assert_string_equal(api_str(&r, "status"), "pending");
    assert_int_equal(api_int(&r, "attempts"), 0);
    api_resp_free(&r);
    r = api_call(&api, "POST", path, key, NULL);
    api_expect(&r, 409, "replay one that is pending");
    assert_string_equal(api_str(&r, "error.code"), "invalid_state");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries/replay", id);
    r = api_call(&api, "POST", path, key, NULL);
    api_expect(&r, 200, "replay all");
    assert_int_equal(api_int(&r, "replayed"), 1);
    api_resp_free(&r);
    r = api_call(&api, "POST", path, key, NULL);
    api_expect(&r, 200, "replay all, none left");
    assert_int_equal(api_int(&r, "replayed"), 0);
    api_resp_free(&r);

    /* Another account sees none of it. */
    api_account_t other = api_bootstrap("Other", 0);
    expect_status(&api, other.key, "GET", 404, "another account's endpoint",
                  "/v1/webhook-endpoints/%s", id);
    expect_status(&api, other.key, "GET", 404, "another account's deliveries",
                  "/v1/webhook-endpoints/%s/deliveries", id);
    expect_status(&api, other.key, "POST", 404, "another account's replay",
                  "/v1/webhook-endpoints/%s/deliveries/%s/replay", id, delivery);

    /* DELETE takes the deliveries along. */
    expect_status(&api, key, "DELETE", 204, "delete the endpoint", "/v1/webhook-endpoints/%s", id);
    expect_status(&api, key, "DELETE", 404, "delete it again", "/v1/webhook-endpoints/%s", id);
    expect_status(&api, key, "GET", 404, "read it after", "/v1/webhook-endpoints/%s", id);

    api_stop(&api);
}

HTTPC_TEST_MAIN(NULL, NULL, test_webhook_endpoints)

/*
 * The dashboard's side of outdial-api: its files served at / (and a 404
 * for anything else), a campaign's calls per hour, its statistics read
 * from the counters and the admin recount of them, the leads list's phone
 * search and secondary-contact filter, and the live stream
 * GET /v1/campaigns/{id}/live: the first event, a new event when a lead
 * is added, the cap on open streams (503), and a shutdown that does not
 * wait for an open stream (the stream ends, the API exits cleanly).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_raw.h"
#include "test_api_support.h"
#include "test_main.h"

/* Opens a live stream on a raw socket and returns it. */
static int live_open(const api_proc_t *api, const char *key, const char *campaign)
{
    int fd = raw_connect_from(api->port, NULL);
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/campaigns/%s/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                     campaign, key);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

/* Reads from fd into buf (appending at *len) until buf holds `count`
 * occurrences of needle, the server closes (*closed), or ms pass.
 * Whether the needle count was reached. */
static bool live_read_until(int fd, char *buf, size_t cap, size_t *len, const char *needle,
                            int count, int ms, bool *closed)
{
    int64_t deadline = harness_ms() + ms;
    *closed = false;
    for (;;) {
        int found = 0;
        for (const char *p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
            found++;
        if (found >= count)
            return true;
        int64_t left = deadline - harness_ms();
        if (left <= 0 || *len + 1 >= cap)
            return false;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        ssize_t got = recv(fd, buf + *len, cap - *len - 1, 0);
        if (got <= 0) {
            *closed = true;
            return false;
        }
        *len += (size_t)got;
        buf[*len] = '\0';
    }
}

/* One request whose answer must have status (the body is not kept). */
static void expect_status(const api_proc_t *api, const char *method, const char *path,
                          const char *key, const char *body, long status, const char *what)
{
    api_resp_t r = api_call_raw(api, method, path, key, NULL, body, body ? strlen(body) : 0);
    api_expect(&r, status, what);
    api_resp_free(&r);
}

/* How many leads GET leads_path?query answers (200 expected). */
static size_t leads_found(const api_proc_t *api, const char *key, const char *leads_path,
                          const char *query)
{
    char path[512];
    snprintf(path, sizeof(path), "%s?%s", leads_path, query);
    api_resp_t r = api_call(api, "GET", path, key, NULL);
    api_expect(&r, 200, query);
    size_t n = json_array_size(json_object_get(r.json, "data"));
    api_resp_free(&r);
    return n;
}

static void test_dashboard_files(void **state)
{
    (void)state;
    api_proc_t api;
    api_start(&api, "dash_files", NULL);
    api_resp_t r = api_call(&api, "GET", "/", NULL, NULL);
    api_expect(&r, 200, "GET /");
    assert_non_null(strstr(r.content_type, "text/html"));
    assert_non_null(strstr(r.body, "app.js"));
    api_resp_free(&r);
    r = api_call(&api, "GET", "/app.js", NULL, NULL);
    api_expect(&r, 200, "GET /app.js");
    assert_non_null(strstr(r.content_type, "text/javascript"));
    api_resp_free(&r);
    r = api_call(&api, "GET", "/no-such-file.js", NULL, NULL);
    api_expect(&r, 404, "GET a file that is not there");
    assert_string_equal(api_str(&r, "error.code"), "not_found");
    api_resp_free(&r);
    expect_status(&api, "GET", "/../CMakeLists.txt", NULL, NULL, 404, "GET outside the dashboard");
    expect_status(&api, "POST", "/v1/nothing-here", NULL, "{}", 404, "POST to an unknown path");
    expect_status(&api, "DELETE", "/app.js", NULL, NULL, 405, "DELETE a file");
    api_stop(&api);
}

/* The statistics of test_hourly's campaign (one lead, three calls written
 * straight into the tables), read from the counters the triggers moved;
 * then the admin recount: no difference, a corrupted counter named with
 * both values, repaired by fix. */
static void stats_from_counters(const api_proc_t *api, const char *key, const char *campaign)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/stats", campaign);
    api_resp_t r = api_call(api, "GET", path, key, NULL);
    api_expect(&r, 200, "stats");
    assert_int_equal(api_int(&r, "leads.total"), 1);
    assert_int_equal(api_int(&r, "calls.total"), 3);
    json_t *calls = json_object_get(r.json, "calls");
    json_t *by = json_object_get(calls, "by_answered_by");
    assert_int_equal(json_integer_value(json_object_get(by, "human")), 1);
    assert_int_equal(json_integer_value(json_object_get(by, "voicemail")), 1);
    by = json_object_get(calls, "by_status");
    assert_int_equal(json_integer_value(json_object_get(by, "skipped")), 1);
    api_resp_free(&r);

    snprintf(path, sizeof(path), "/v1/admin/campaigns/%s/recount", campaign);
    r = api_call(api, "POST", path, API_ADMIN_TOKEN, "{}");
    api_expect(&r, 200, "recount");
    assert_int_equal(json_array_size(json_object_get(r.json, "differences")), 0);
    api_resp_free(&r);
    PGconn *conn = PQconnectdb(api->dsn);
    const char *p[] = {campaign};
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO campaign_counter (campaign_id, name, value)"
                                 " VALUES ($1, 'calls.status.busy', 2)",
                                 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(conn);
    r = api_call(api, "POST", path, API_ADMIN_TOKEN, "{\"fix\":true}");
    api_expect(&r, 200, "recount with fix");
    json_t *d = json_array_get(json_object_get(r.json, "differences"), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "differences")), 1);
    assert_string_equal(json_string_value(json_object_get(d, "counter")), "calls.status.busy");
    assert_int_equal(json_integer_value(json_object_get(d, "stored")), 2);
    assert_int_equal(json_integer_value(json_object_get(d, "recounted")), 0);
    api_resp_free(&r);
    r = api_call(api, "POST", path, API_ADMIN_TOKEN, "{}");
    api_expect(&r, 200, "recount after fix");
    assert_int_equal(json_array_size(json_object_get(r.json, "differences")), 0);
    api_resp_free(&r);
    /* The account's key is not the admin token; an unknown campaign is 404. */
    expect_status(api, "POST", path, key, "{}", 401, "recount with an account key");
    expect_status(api, "POST", "/v1/admin/campaigns/00000000-0000-0000-0000-000000000000/recount",
                  API_ADMIN_TOKEN, "{}", 404, "recount of no campaign");
    expect_status(api, "POST", path, API_ADMIN_TOKEN, "{\"fix\":1}", 400, "fix not a boolean");
}

static void test_hourly(void **state)
{
    (void)state;
    api_proc_t api;
    api_start(&api, "dash_hourly", NULL);
    api_account_t acc = api_bootstrap("Hourly", 100000);
    char assistant[37], campaign[37], lead[37], path[256];
    api_assistant_create(&api, acc.key, "+14155550100", assistant);
    api_resp_t r = api_call(&api, "POST", "/v1/campaigns", acc.key,
                            "{\"name\":\"Hours\",\"assistant_id\":\"%s\","
                            "\"goal_variable\":\"interested\"}",
                            assistant);
    api_created_id(&r, campaign, "create campaign");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/hourly", campaign);
    r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 200, "hourly without calls");
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 0);
    api_resp_free(&r);

    char leads_path[256];
    snprintf(leads_path, sizeof(leads_path), "/v1/campaigns/%s/leads", campaign);
    r = api_call(&api, "POST", leads_path, acc.key, "{\"phone\":\"+14155550101\"}");
    assert_int_equal(r.status, 201);
    snprintf(lead, sizeof(lead), "%s",
             json_string_value(json_object_get(
                 json_array_get(json_object_get(r.json, "results"), 0), "lead_id")));
    api_resp_free(&r);
    /* The leads page's phone search and secondary-contact filter. */
    char query[512];
    assert_int_equal(leads_found(&api, acc.key, leads_path, "phone=5550101"), 1);
    assert_int_equal(leads_found(&api, acc.key, leads_path, "phone=999"), 0);
    snprintf(query, sizeof(query), "parent_lead_id=%s", lead);
    assert_int_equal(leads_found(&api, acc.key, leads_path, query), 0);
    snprintf(query, sizeof(query), "%s?parent_lead_id=nope", leads_path);
    r = api_call(&api, "GET", query, acc.key, NULL);
    api_expect(&r, 400, "a parent that is not an id");
    assert_string_equal(api_str(&r, "error.field"), "parent_lead_id");
    api_resp_free(&r);
    /* Three calls as the scheduler records them (goal_reached judged with
     * the variables, as results.c does): two started in 09:00 (one
     * answered with the goal reached, one voicemail), one skipped in 10:00. */
    PGconn *conn = PQconnectdb(api.dsn);
    const char *p[] = {lead, campaign};
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO call (attempt_id, lead_id, campaign_id, attempt_number, e164, status,"
        " answered_by, started_at, post_call_variables, goal_reached) VALUES"
        " (gen_random_uuid(), $1, $2, 1, '+14155550101', 'completed', 'human',"
        "  '2026-03-10T09:10:00Z', '{\"interested\": true}', true),"
        " (gen_random_uuid(), $1, $2, 2, '+14155550101', 'completed', 'voicemail',"
        "  '2026-03-10T09:50:00Z', '{\"interested\": false}', false),"
        " (gen_random_uuid(), $1, $2, 3, '+14155550101', 'skipped', NULL,"
        "  '2026-03-10T10:05:00Z', NULL, false)",
        2, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK)
        fprintf(stderr, "insert calls: %s", PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    assert_int_equal(st, PGRES_COMMAND_OK);
    r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 200, "hourly");
    json_t *data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 2);
    json_t *h9 = json_array_get(data, 0), *h10 = json_array_get(data, 1);
    assert_string_equal(json_string_value(json_object_get(h9, "hour")), "2026-03-10T09:00:00.000Z");
    assert_int_equal(json_integer_value(json_object_get(h9, "placed")), 2);
    assert_int_equal(json_integer_value(json_object_get(h9, "answered")), 1);
    assert_int_equal(json_integer_value(json_object_get(h9, "goals")), 1);
    assert_int_equal(json_integer_value(json_object_get(h10, "placed")), 0);
    api_resp_free(&r);
    /* Another account's key sees no such campaign. */
    api_account_t other = api_bootstrap("Other", 0);
    expect_status(&api, "GET", path, other.key, NULL, 404, "hourly of another account's campaign");
    stats_from_counters(&api, acc.key, campaign);
    api_stop(&api);
}

static void test_live_stream(void **state)
{
    (void)state;
    api_proc_t api;
    const char *extra[] = {"OUTDIAL_API_LIVE_MAX=1", NULL};
    api_start(&api, "dash_live", extra);
    api_account_t acc = api_bootstrap("Live", 100000);
    char assistant[37], campaign[37], path[256];
    api_assistant_create(&api, acc.key, "+14155550100", assistant);
    api_campaign_create(&api, acc.key, assistant, campaign);

    static char buf[1 << 16];
    size_t len = 0;
    bool closed = false;
    int fd = live_open(&api, acc.key, campaign);
    assert_true(live_read_until(fd, buf, sizeof(buf), &len, "event: stats\n", 1, 10000, &closed));
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "text/event-stream"));
    assert_non_null(strstr(buf, "\"status\":\"draft\""));
    assert_non_null(strstr(buf, "\"total\":0"));

    /* A second stream is over OUTDIAL_API_LIVE_MAX=1. */
    snprintf(path, sizeof(path), "/v1/campaigns/%s/live", campaign);
    api_resp_t r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 503, "a stream over the cap");
    assert_string_equal(api_str(&r, "error.code"), "unavailable");
    api_resp_free(&r);

    /* A lead added: the next event says so. */
    api_lead_add(&api, acc.key, campaign, "+14155550101", "add a lead");
    assert_true(live_read_until(fd, buf, sizeof(buf), &len, "event: stats\n", 2, 10000, &closed));
    const char *second = strstr(strstr(buf, "event: stats\n") + 1, "event: stats\n");
    assert_non_null(strstr(second, "\"total\":1"));

    /* Another account cannot watch it. */
    api_account_t other = api_bootstrap("Other", 0);
    expect_status(&api, "GET", path, other.key, NULL, 404, "live of another account's campaign");

    /* Shutdown with the stream open: the stream ends and the API exits
     * cleanly (api_stop checks the exit status) well before the 30 s the
     * harness would wait. */
    int64_t t0 = harness_ms();
    kill(api.pid, SIGTERM);
    live_read_until(fd, buf, sizeof(buf), &len, "never sent", 1, 10000, &closed);
    assert_true(closed);
    assert_true(harness_ms() - t0 < 10000);
    close(fd);
    api_stop(&api);
}

OD_TEST_MAIN(NULL, NULL, test_dashboard_files, test_hourly, test_live_stream)

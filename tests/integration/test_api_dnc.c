/*
 * The do-not-call list and its Redis mirror: numbers added and removed
 * through the API are in the account's Redis set at once; a mirror write
 * that was lost (the set changed behind the API's back, or wiped while the
 * API was down) is repaired by the periodic sync and by the sync at start.
 * Bulk lists (POST /v1/dnc/imports): both line forms, skipped and invalid
 * lines, the source and list date kept on each entry, the mirror, errors,
 * and the registry scrub's warning once the account's legal profile asks
 * for one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "redis.h"
#include "rkeys.h"
#include "test_api_support.h"

static redis_t *redis;
static char key[RKEYS_KEY_MAX];

/* The Redis set as a sorted, comma-separated string. */
static void redis_members(char *out, size_t len)
{
    char err[256];
    const char *argv[] = {"SORT", key, "ALPHA"};
    redisReply *reply = NULL;
    assert_int_equal(redis_command_argv(redis, true, 3, argv, NULL, &reply, err, sizeof(err)),
                     OD_OK);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < reply->elements && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "", reply->element[i]->str);
    freeReplyObject(reply);
}

static bool wait_members(const char *want, int timeout_ms)
{
    char got[1024];
    int64_t deadline = harness_ms() + timeout_ms;
    do {
        redis_members(got, sizeof(got));
        if (strcmp(got, want) == 0)
            return true;
        usleep(100000);
    } while (harness_ms() < deadline);
    fprintf(stderr, "Redis DNC set: want %s, have %s\n", want, got);
    return false;
}

static void pg(const char *dsn, const char *sql, const char *p1, const char *p2)
{
    PGconn *conn = PQconnectdb(dsn);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    const char *params[] = {p1, p2};
    PGresult *res = PQexecParams(conn, sql, p2 ? 2 : p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(conn);
}

static void redis_cmd(const char *a0, const char *a1, const char *a2)
{
    char err[256];
    const char *argv[] = {a0, a1, a2};
    redisReply *reply = NULL;
    assert_int_equal(
        redis_command_argv(redis, true, a2 ? 3 : 2, argv, NULL, &reply, err, sizeof(err)), OD_OK);
    freeReplyObject(reply);
}

/* Starts the API (extra: environment), bootstraps an account and opens
 * Redis on its DNC set's key. */
static api_account_t dnc_api_start(api_proc_t *api, const char *tag, const char *const *extra)
{
    api_start(api, tag, extra);
    api_account_t acc = api_bootstrap(tag, 100);
    char err[256];
    const char *prefix = NULL;
    assert_int_equal(rkeys_prefix_from_env(&prefix, err, sizeof(err)), OD_OK);
    rkeys_dnc(prefix, acc.id, key);
    assert_int_equal(redis_new_from_env(&redis, err, sizeof(err)), OD_OK);
    return acc;
}

static void test_dnc_mirror_and_repair(void **state)
{
    (void)state;
    static const char *const extra[] = {"OUTDIAL_API_DNC_SYNC_S=1", NULL};
    api_proc_t api;
    api_account_t acc = dnc_api_start(&api, "apidnc", extra);

    /* Through the API: in Postgres and in Redis at once. */
    api_resp_t r = api_call(&api, "POST", "/v1/dnc", acc.key,
                            "[{\"phone\":\"+14155550181\",\"reason\":\"asked\"},"
                            "{\"phone\":\"(415) 555-0182\"},{\"phone\":\"+14155550183\"}]");
    api_expect(&r, 201, "add");
    assert_int_equal(api_int(&r, "added"), 3);
    api_resp_free(&r);
    char got[1024];
    redis_members(got, sizeof(got));
    assert_string_equal(got, "+14155550181,+14155550182,+14155550183");
    r = api_call(&api, "POST", "/v1/dnc", acc.key, "{\"phone\":\"+14155550181\"}");
    api_expect(&r, 200, "again");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.json, "results"), 0), "result")),
                        "already_listed");
    api_resp_free(&r);
    r = api_call(&api, "DELETE", "/v1/dnc/%2B14155550183", acc.key, NULL);
    assert_int_equal(r.status, 204);
    api_resp_free(&r);
    redis_members(got, sizeof(got));
    assert_string_equal(got, "+14155550181,+14155550182");
    r = api_call(&api, "DELETE", "/v1/dnc/%2B14155550183", acc.key, NULL);
    assert_int_equal(r.status, 404);
    api_resp_free(&r);
    r = api_call(&api, "GET", "/v1/dnc?limit=1", acc.key, NULL);
    api_expect(&r, 200, "list");
    assert_string_equal(api_str(&r, "next_cursor"), "+14155550181");
    api_resp_free(&r);
    r = api_call(&api, "GET", "/v1/dnc?limit=1&cursor=%2B14155550181", acc.key, NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.json, "data"), 0), "phone")),
                        "+14155550182");
    /* The last item ends the list: no cursor to an empty page. */
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    api_resp_free(&r);
    /* A list whose size is a multiple of the limit ends on a full page. */
    r = api_call(&api, "GET", "/v1/dnc?limit=2", acc.key, NULL);
    api_expect(&r, 200, "list of exactly limit");
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 2);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    api_resp_free(&r);

    /* Lost writes: a number only in Postgres, one missing from Redis, a
     * stray one only in Redis. The periodic sync repairs all three. */
    pg(api.dsn, "INSERT INTO dnc (account_id, e164) VALUES ($1::uuid, $2)", acc.id, "+14155550184");
    redis_cmd("SREM", key, "+14155550182");
    redis_cmd("SADD", key, "+14155550999");
    assert_true(wait_members("+14155550181,+14155550182,+14155550184", 20000));

    /* Wiped while the API was down: the sync at start restores it. */
    harness_stop(api.pid, SIGTERM);
    api_pid_track(api.pid, 0);
    redis_cmd("DEL", key, NULL);
    pg(api.dsn, "DELETE FROM dnc WHERE account_id = $1::uuid AND e164 = $2", acc.id,
       "+14155550181");
    static const char *const slow[] = {"OUTDIAL_API_DNC_SYNC_S=3600", NULL};
    api_spawn(&api, slow);
    assert_true(wait_members("+14155550182,+14155550184", 20000));

    redis_cmd("DEL", key, NULL);
    redis_free(redis);
    api_stop(&api);
}

/* Today minus days, as YYYY-MM-DD (UTC). */
static void day_ago(int days, char out[11])
{
    time_t t = time(NULL) - (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static void test_dnc_bulk_import(void **state)
{
    (void)state;
    api_proc_t api;
    api_account_t acc = dnc_api_start(&api, "apidncimp", NULL);

    char old[11], fresh[11];
    day_ago(40, old);
    day_ago(3, fresh);
    api_resp_t r = api_call(&api, "POST", "/v1/dnc/imports", acc.key,
                            "{\"source\":\"registry\",\"list_date\":\"%s\",\"lines\":"
                            "[\"# registry download\",\"201,5550123\",\"(415) 555-0186\","
                            "\"not a number\",\"\",\"201,5550123\",\"20,15550123\"]}",
                            old);
    api_expect(&r, 201, "import");
    assert_int_equal(api_int(&r, "numbers_read"), 5);
    assert_int_equal(api_int(&r, "numbers_added"), 2);
    assert_int_equal(api_int(&r, "numbers_invalid"), 2);
    json_t *bad = json_object_get(r.json, "invalid_lines");
    assert_int_equal(json_array_size(bad), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(bad, 0), "line")), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(bad, 1), "line")), 7);
    /* No legal profile: no scrub required, no warning. */
    assert_true(
        json_is_false(json_object_get(json_object_get(r.json, "registry"), "scrub_required")));
    assert_true(json_is_null(json_object_get(json_object_get(r.json, "registry"), "warning")));
    api_resp_free(&r);
    char got[1024];
    redis_members(got, sizeof(got));
    assert_string_equal(got, "+12015550123,+14155550186");
    r = api_call(&api, "GET", "/v1/dnc/%2B12015550123", acc.key, NULL);
    api_expect(&r, 200, "entry");
    assert_string_equal(api_str(&r, "source"), "registry");
    assert_string_equal(api_str(&r, "list_date"), old);
    api_resp_free(&r);

    /* Errors name the field. */
    static const struct {
        const char *body, *field;
    } errors[] = {
        {"{\"lines\":[\"+12015550123\"]}", "list_date"},
        {"{\"list_date\":\"2026-02-30\",\"lines\":[\"+12015550123\"]}", "list_date"},
        {"{\"source\":\"call\",\"list_date\":\"2026-12-01\",\"lines\":[\"x\"]}", "source"},
        {"{\"list_date\":\"2026-12-01\",\"lines\":[]}", "lines"},
        {"{\"list_date\":\"2026-12-01\",\"lines\":[1]}", "lines"},
    };
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        r = api_call(&api, "POST", "/v1/dnc/imports", acc.key, "%s", errors[i].body);
        api_expect(&r, 400, errors[i].body);
        assert_string_equal(api_str(&r, "error.field"), errors[i].field);
        api_resp_free(&r);
    }

    /* A US legal profile asks for a scrub every 31 days: the 40-day-old
     * list is stale, a fresh one clears the warning. */
    pg(api.dsn, "UPDATE account SET legal_profile = $2 WHERE id = $1::uuid", acc.id, "us_federal");
    r = api_call(&api, "GET", "/v1/dnc/registry", acc.key, NULL);
    api_expect(&r, 200, "registry");
    assert_true(json_is_true(json_object_get(r.json, "scrub_required")));
    assert_int_equal(api_int(&r, "age_days"), 40);
    assert_non_null(strstr(api_str(&r, "warning"), "40 days old"));
    api_resp_free(&r);
    r = api_call(&api, "POST", "/v1/dnc/imports", acc.key,
                 "{\"source\":\"registry\",\"list_date\":\"%s\",\"lines\":[\"212,5550100\"]}",
                 fresh);
    api_expect(&r, 201, "fresh registry list");
    assert_true(json_is_null(json_object_get(json_object_get(r.json, "registry"), "warning")));
    assert_int_equal(api_int(&r, "registry.age_days"), 3);
    api_resp_free(&r);

    redis_cmd("DEL", key, NULL);
    redis_free(redis);
    api_stop(&api);
}

HTTPC_TEST_MAIN(NULL, NULL, test_dnc_mirror_and_repair, test_dnc_bulk_import)

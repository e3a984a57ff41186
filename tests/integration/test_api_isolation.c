/*
 * Every account sees only its own data. Account A gets one of everything
 * (assistant, campaign, lead with a secondary contact, a call, an import,
 * a DNC number); account B then tries every route of the API with A's ids
 * and must get 404 (exactly as for an id that does not exist) or an empty
 * list, and never anything of A's in a body. The table of routes
 * (cases/api_isolation.tsv) is checked against the server's own route
 * table (`outdial-api routes`), so a new route without an isolation case
 * fails here. A route on B's own things (no id of A's to ask for: account,
 * settings, creations, B's lists) is checked on its own, and a table row of
 * that kind the test does not check fails it. Requests without a key or
 * with a wrong one are 401 on every route.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define CASE_FILE_DIR "tests/integration/cases"
#include "case_file.h"
#include "test_api_support.h"

typedef struct route_case {
    const char *method;
    const char *pattern; /* as `outdial-api routes` prints it */
    const char *body;    /* JSON (or CSV for uploads), with {…} placeholders; NULL: none */
    /* What B must get: 404 (as for an id that does not exist), 200 with
     * "data": [] (a list), 401 (admin routes: an account key is not the
     * admin token). */
    long status;
    bool checked; /* a route on B's own things, checked on its own (case_checked) */
} route_case_t;

/* The table, read from cases/api_isolation.tsv by cases_load before the
 * test; case_file owns cases and the strings they point to. */
static case_file_t *case_file;
static route_case_t *cases;
static size_t n_cases;

static int cases_load(void **state)
{
    (void)state;
    static const char *const columns[] = {"method", "path", "body", "status"};
    case_file = case_file_load("api_isolation", columns, sizeof(columns) / sizeof(columns[0]), 60);
    n_cases = case_file->n_rows;
    cases = case_file_rows(case_file, sizeof(*cases));
    for (size_t i = 0; i < n_cases; i++) {
        cases[i] = (route_case_t){.method = case_file_cell(case_file, i, 0),
                                  .pattern = case_file_cell(case_file, i, 1),
                                  .body = case_file_cell(case_file, i, 2),
                                  .status = (long)case_file_int(case_file, i, 3)};
        if (cases[i].status != 404 && cases[i].status != 200 && cases[i].status != 401)
            fail_msg("api_isolation.tsv: %s %s: status %ld is not 404, 200 or 401", cases[i].method,
                     cases[i].pattern, cases[i].status);
    }
    return 0;
}

static int cases_free(void **state)
{
    (void)state;
    case_file_free(case_file);
    return 0;
}

/* A's ids, by placeholder. */
static struct {
    const char *name;
    char value[64];
} ids[] = {{"{account_id}", ""},  {"{assistant_id}", ""}, {"{campaign_id}", ""},
           {"{lead_id}", ""},     {"{import_id}", ""},    {"{call_id}", ""},
           {"{endpoint_id}", ""}, {"{delivery_id}", ""},  {"{phone}", "+14155550177"}};
#define PHONE_ID 8 /* ids[PHONE_ID]: the last, not an id (assert_no_leak) */

/* Whether text (NULL: none) holds one of the placeholders of ids. */
static bool has_placeholder(const char *text)
{
    for (size_t i = 0; text && i < sizeof(ids) / sizeof(ids[0]); i++)
        if (strstr(text, ids[i].name))
            return true;
    return false;
}

/* Whether c is a route on B's own things: a 404 case with no placeholder
 * in its path or body, so that there is nothing of A's to ask for. The
 * main loop skips it; the test checks each one on its own and says so
 * (case_checked). */
static bool case_is_own(const route_case_t *c)
{
    return c->status == 404 && !has_placeholder(c->pattern) && !has_placeholder(c->body);
}

/* Marks the case of method and pattern as checked on its own; fails if the
 * table has no such case or it is not a route on B's own things. */
static void case_checked(const char *method, const char *pattern)
{
    for (size_t i = 0; i < n_cases; i++) {
        if (strcmp(cases[i].method, method) == 0 && strcmp(cases[i].pattern, pattern) == 0) {
            if (!case_is_own(&cases[i]))
                fail_msg("%s %s: the main loop checks it", method, pattern);
            cases[i].checked = true;
            return;
        }
    }
    fail_msg("%s %s: no case in api_isolation.tsv", method, pattern);
}

/* in with A's ids for their placeholders, into out; a backslash and an n
 * (a body's new line, as the cases file writes it) become a new line. */
static void fill(const char *in, char *out, size_t len)
{
    size_t o = 0;
    while (*in && o + 1 < len) {
        bool done = strncmp(in, "\\n", 2) == 0;
        if (done) {
            out[o++] = '\n';
            in += 2;
        }
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]) && !done; i++) {
            size_t n = strlen(ids[i].name);
            if (strncmp(in, ids[i].name, n) == 0) {
                o += (size_t)snprintf(out + o, len - o, "%s", ids[i].value);
                in += n;
                done = true;
            }
        }
        if (!done)
            out[o++] = *in++;
    }
    out[o < len ? o : len - 1] = '\0';
}

static api_resp_t case_call(const api_proc_t *api, const route_case_t *c, const char *key)
{
    char path[512], body[1024];
    fill(c->pattern, path, sizeof(path));
    if (!c->body)
        return api_call_raw(api, c->method, path, key, NULL, NULL, 0);
    fill(c->body, body, sizeof(body));
    bool csv = strstr(c->pattern, "/imports") != NULL;
    return api_call_raw(api, c->method, path, key, csv ? "text/csv" : NULL, body, strlen(body));
}

/* Nothing of A's may appear in what B gets. */
static void assert_no_leak(const api_resp_t *r, const route_case_t *c)
{
    static const char *const secrets[] = {"SecretA", "+14155550170", "+14155550171",
                                          "+14155550177"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (strstr(r->body, secrets[i])) {
            fprintf(stderr, "%s %s leaked %s: %s\n", c->method, c->pattern, secrets[i], r->body);
            fail();
        }
    }
    for (size_t i = 1; i < sizeof(ids) / sizeof(ids[0]) - 1; i++) {
        if (strstr(r->body, ids[i].value)) {
            /* A 404 may not even echo the id back. */
            fprintf(stderr, "%s %s echoed A's %s: %s\n", c->method, c->pattern, ids[i].name,
                    r->body);
            fail();
        }
    }
}

/* The one value of the one row sql returns (its $1 is param), into out. */
static void sql_value(PGconn *conn, const char *sql, const char *param, char *out, size_t len)
{
    const char *params[] = {param};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

static void setup_account_a(const api_proc_t *api, const api_account_t *a)
{
    char path[256];
    api_assistant_create(api, a->key, "+14155552671", ids[1].value);
    api_resp_t r =
        api_call(api, "POST", "/v1/campaigns", a->key,
                 "{\"name\":\"SecretA campaign\",\"assistant_id\":\"%s\"}", ids[1].value);
    api_created_id(&r, ids[2].value, "A's campaign");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", ids[2].value);
    r = api_call(api, "POST", path, a->key,
                 "{\"phone\":\"+14155550170\",\"name\":\"SecretA person\","
                 "\"secondary_phones\":[\"+14155550171\"]}");
    api_expect(&r, 201, "A's lead");
    snprintf(ids[3].value, sizeof(ids[3].value), "%s",
             json_string_value(json_object_get(
                 json_array_get(json_object_get(r.json, "results"), 0), "lead_id")));
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports", ids[2].value);
    static const char csv[] = "phone,name\n+14155550172,SecretA imported\n";
    r = api_call_raw(api, "POST", path, a->key, "text/csv", csv, strlen(csv));
    api_expect(&r, 202, "A's import");
    snprintf(ids[4].value, sizeof(ids[4].value), "%s", api_str(&r, "id"));
    api_resp_free(&r);
    r = api_call(api, "PATCH", "/v1/account", a->key, "{\"legal_profile\":\"us_states\"}");
    api_expect(&r, 200, "A's legal profile");
    api_resp_free(&r);
    r = api_call(api, "POST", "/v1/dnc", a->key, "{\"phone\":\"%s\",\"reason\":\"SecretA\"}",
                 ids[PHONE_ID].value);
    api_expect(&r, 201, "A's DNC");
    api_resp_free(&r);
    /* A's caller-ID pool: the same number. */
    char pool_path[160];
    snprintf(pool_path, sizeof(pool_path), "/v1/assistants/%s/caller-ids", ids[1].value);
    r = api_call(api, "POST", pool_path, a->key, "{\"phone_number\":\"%s\",\"daily_cap\":7}",
                 ids[PHONE_ID].value);
    api_expect(&r, 201, "A's caller-ID pool number");
    api_resp_free(&r);
    /* A's webhook endpoint, and one of its deliveries. */
    r = api_call(api, "POST", "/v1/webhook-endpoints", a->key,
                 "{\"url\":\"https://example.com/SecretA\",\"events\":[\"call.ended\"]}");
    api_created_id(&r, ids[6].value, "A's webhook endpoint");
    api_resp_free(&r);
    /* A call, as the scheduler would have recorded it. */
    PGconn *conn = PQconnectdb(api->dsn);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    sql_value(conn,
              "INSERT INTO call (attempt_id, lead_id, campaign_id, attempt_number, e164, status,"
              " ended_reason) SELECT gen_random_uuid(), id, campaign_id, 1, e164, 'completed',"
              " 'SecretA ended' FROM lead WHERE id = $1::uuid RETURNING attempt_id",
              ids[3].value, ids[5].value, sizeof(ids[5].value));
    /* A dead delivery of A's endpoint, as the notifier would have left it. */
    sql_value(conn,
              "INSERT INTO webhook_delivery (endpoint_id, event_id, event_type, body,"
              " status) VALUES ($1::uuid, 'SecretA event', 'call.ended',"
              " '{\"note\":\"SecretA\"}', 'dead') RETURNING id",
              ids[6].value, ids[7].value, sizeof(ids[7].value));
    PQfinish(conn);
}

/* The webhook secret stored for account id, into out. */
static void account_secret(const api_proc_t *api, const char *id, char out[65])
{
    PGconn *conn = PQconnectdb(api->dsn);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    sql_value(conn, "SELECT webhook_secret FROM account WHERE id = $1::uuid", id, out, 65);
    PQfinish(conn);
}

/* Every /v1 route the server has must have a case. */
static void check_table_covers_routes(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/services/api/outdial-api routes",
             support_env("OUTDIAL_BUILD_DIR"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof(line), p)) {
        char method[16], route[256];
        if (sscanf(line, "%15s %255s", method, route) != 2 || strncmp(route, "/v1/", 4) != 0)
            continue;
        n++;
        bool found = false;
        for (size_t i = 0; i < n_cases && !found; i++)
            found = strcmp(cases[i].method, method) == 0 && strcmp(cases[i].pattern, route) == 0;
        if (!found) {
            fprintf(stderr, "route %s %s has no isolation case\n", method, route);
            fail();
        }
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(n, (int)n_cases);
}

/* The routes on B's own things (case_is_own), which the main loop skips:
 * B's account, settings, additions and creations are B's and never touch
 * A's. Each is marked (case_checked); a case of the table that is a route
 * on B's own things and is not checked here fails the test. */
static void own_routes_check(const api_proc_t *api, const api_account_t *a, const api_account_t *b)
{
    case_checked("GET", "/v1/account");
    api_resp_t r = api_call(api, "GET", "/v1/account", b->key, NULL);
    api_expect(&r, 200, "B's account");
    assert_string_equal(api_str(&r, "id"), b->id);
    assert_no_leak(&r, &cases[0]);
    api_resp_free(&r);
    /* B's legal rules are B's: A's profile (us_states, set up above) is not
     * B's (none). */
    case_checked("GET", "/v1/account/legal-rules");
    r = api_call(api, "GET", "/v1/account/legal-rules", b->key, NULL);
    api_expect(&r, 200, "B's legal rules");
    assert_string_equal(api_str(&r, "profile"), "none");
    api_resp_free(&r);
    /* B's rotation replaces B's webhook secret, never A's. */
    char a_secret[65];
    account_secret(api, a->id, a_secret);
    case_checked("POST", "/v1/account/webhook-secret/rotate");
    r = api_call(api, "POST", "/v1/account/webhook-secret/rotate", b->key, NULL);
    api_expect(&r, 200, "B's rotation");
    char b_secret[65];
    account_secret(api, b->id, b_secret);
    assert_string_equal(api_str(&r, "webhook_secret"), b_secret);
    api_resp_free(&r);
    char a_after[65];
    account_secret(api, a->id, a_after);
    assert_string_equal(a_after, a_secret);
    case_checked("POST", "/v1/dnc");
    r = api_call(api, "POST", "/v1/dnc", b->key, "{\"phone\":\"%s\"}", ids[PHONE_ID].value);
    assert_int_equal(r.status, 201); /* B's own list: newly added there */
    api_resp_free(&r);
    r = api_call(api, "DELETE", "/v1/dnc/+14155550177", b->key, NULL);
    assert_int_equal(r.status, 204);
    api_resp_free(&r);
    /* A bulk list of B's adds A's number to B's list alone. */
    case_checked("POST", "/v1/dnc/imports");
    r = api_call(api, "POST", "/v1/dnc/imports", b->key,
                 "{\"list_date\":\"2026-12-01\",\"lines\":[\"%s\"]}", ids[PHONE_ID].value);
    api_expect(&r, 201, "B's list");
    assert_int_equal(api_int(&r, "numbers_added"), 1);
    assert_no_leak(&r, &cases[0]);
    api_resp_free(&r);
    case_checked("GET", "/v1/dnc/registry");
    r = api_call(api, "GET", "/v1/dnc/registry", b->key, NULL);
    api_expect(&r, 200, "B's registry scrub");
    assert_no_leak(&r, &cases[0]);
    api_resp_free(&r);
    r = api_call(api, "DELETE", "/v1/dnc/+14155550177", b->key, NULL);
    assert_int_equal(r.status, 204);
    api_resp_free(&r);

    /* B renames its account; A's keeps its name. */
    case_checked("PATCH", "/v1/account");
    r = api_call(api, "PATCH", "/v1/account", b->key, "{\"name\":\"B renamed\"}");
    api_expect(&r, 200, "B's rename");
    assert_no_leak(&r, &cases[0]);
    api_resp_free(&r);
    r = api_call(api, "GET", "/v1/account", a->key, NULL);
    api_expect(&r, 200, "A's account");
    assert_string_equal(api_str(&r, "name"), "SecretA Ltd");
    api_resp_free(&r);
    /* B's own assistant and webhook endpoint: A's lists keep A's one. */
    char id[37];
    case_checked("POST", "/v1/assistants");
    api_assistant_create(api, b->key, "+14155552672", id);
    case_checked("POST", "/v1/webhook-endpoints");
    r = api_call(api, "POST", "/v1/webhook-endpoints", b->key,
                 "{\"url\":\"https://example.com/b\",\"events\":[\"call.ended\"]}");
    api_created_id(&r, id, "B's webhook endpoint");
    assert_no_leak(&r, &cases[0]);
    api_resp_free(&r);
    static const char *const lists[] = {"/v1/assistants", "/v1/webhook-endpoints"};
    const char *a_ids[] = {ids[1].value, ids[6].value};
    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
        r = api_call(api, "GET", lists[k], a->key, NULL);
        api_expect(&r, 200, lists[k]);
        json_t *data = json_object_get(r.json, "data");
        assert_int_equal(json_array_size(data), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "id")),
                            a_ids[k]);
        api_resp_free(&r);
    }
    for (size_t i = 0; i < n_cases; i++)
        if (case_is_own(&cases[i]) && !cases[i].checked)
            fail_msg("%s %s: a route on B's own things (404, no placeholder) that the test "
                     "does not check on its own",
                     cases[i].method, cases[i].pattern);
}

static void test_isolation(void **state)
{
    (void)state;
    check_table_covers_routes();
    api_proc_t api;
    api_start(&api, "apiiso", NULL);
    api_account_t a = api_bootstrap("SecretA Ltd", 1000);
    api_account_t b = api_bootstrap("B Ltd", 1000);
    snprintf(ids[0].value, sizeof(ids[0].value), "%s", a.id);
    setup_account_a(&api, &a);

    for (size_t i = 0; i < n_cases; i++) {
        const route_case_t *c = &cases[i];
        if (case_is_own(c))
            continue; /* routes on B's own things: below */
        api_resp_t r = case_call(&api, c, b.key);
        if (r.status != c->status) {
            fprintf(stderr, "%s %s as B: expected %ld, got %ld: %s\n", c->method, c->pattern,
                    c->status, r.status, r.body);
            fail();
        }
        if (c->status == 200)
            assert_int_equal(json_array_size(json_object_get(r.json, "data")), 0);
        assert_no_leak(&r, c);
        api_resp_free(&r);
    }
    own_routes_check(&api, &a, &b);

    /* A's things are as they were. */
    api_resp_t r;
    char path[256];
    snprintf(path, sizeof(path), "/v1/leads/%s/eligibility", ids[3].value);
    r = api_call(&api, "GET", path, a.key, NULL);
    api_expect(&r, 200, "A's lead's eligibility");
    assert_true(json_is_false(json_object_get(r.json, "callable_now"))); /* a draft campaign */
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s", ids[2].value);
    r = api_call(&api, "GET", path, a.key, NULL);
    api_expect(&r, 200, "A's campaign");
    assert_string_equal(api_str(&r, "name"), "SecretA campaign");
    assert_string_equal(api_str(&r, "status"), "draft");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/leads/%s", ids[3].value);
    r = api_call(&api, "GET", path, a.key, NULL);
    api_expect(&r, 200, "A's lead");
    assert_string_equal(api_str(&r, "name"), "SecretA person");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/dnc/%s", ids[PHONE_ID].value);
    r = api_call(&api, "GET", path, a.key, NULL);
    api_expect(&r, 200, "A's DNC entry");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/assistants/%s", ids[1].value);
    r = api_call(&api, "GET", path, a.key, NULL);
    assert_string_equal(api_str(&r, "name"), "Sally");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/assistants/%s/caller-ids", ids[1].value);
    r = api_call(&api, "GET", path, a.key, NULL);
    api_expect(&r, 200, "A's caller-ID pool");
    json_t *pool = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(pool), 1); /* B added nothing, removed nothing */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(pool, 0), "daily_cap")), 7);
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", ids[2].value);
    r = api_call(&api, "GET", path, a.key, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 2);
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/calls/%s", ids[5].value);
    r = api_call(&api, "GET", path, a.key, NULL);
    api_expect(&r, 200, "A's call");
    api_resp_free(&r);

    /* Without a key, or with a wrong one: 401 everywhere. */
    static const char *const bad_keys[] = {
        NULL, "od_0000000000000000_000000000000000000000000000000000000000000000000", "nonsense"};
    char forged[128];
    snprintf(forged, sizeof(forged), "%.20s%s", a.key,
             "000000000000000000000000000000000000000000000000"); /* A's prefix, wrong secret */
    for (size_t i = 0; i < n_cases; i++) {
        for (size_t k = 0; k < 4; k++) {
            const char *key = k < 3 ? bad_keys[k] : forged;
            r = case_call(&api, &cases[i], key);
            if (r.status != 401) {
                fprintf(stderr, "%s %s with key %s: %ld %s\n", cases[i].method, cases[i].pattern,
                        key ? key : "(none)", r.status, r.body);
                fail();
            }
            assert_string_equal(api_str(&r, "error.code"), "unauthorized");
            api_resp_free(&r);
        }
    }
    api_stop(&api);
}

HTTPC_TEST_MAIN(cases_load, cases_free, test_isolation)

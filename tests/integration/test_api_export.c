/*
 * Exports through the real API: GET /v1/campaigns/{id}/leads.csv and
 * calls.csv. Every lead and call is in the file exactly once; names and
 * post-call variables holding commas, quotes and line breaks come back
 * whole after RFC 4180 parsing (by the small parser below, not Postgres's);
 * another account's campaign is a 404; `outdialctl export` writes the same
 * bytes as the API sends. A call's caller_id (the number it came from) is
 * a column of calls.csv, and the lead's sticky_caller_id is in the lead
 * API (null when none).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pg.h"
#include "pg_connect.h"
#include "test_api_support.h"

#define N_LEADS 60
#define TRICKY  "Smith, \"Jo\"\nline two"

/* A parsed CSV: rows of fields, each field NUL-terminated. */
typedef struct csv_doc {
    char ***rows;
    size_t *n_fields;
    size_t n_rows;
} csv_doc_t;

/* RFC 4180: fields separated by ',', records by CRLF; a quoted field may
 * hold ',', CR, LF and "" (one quote). Fails the test on anything else. */
static csv_doc_t csv_parse(const char *s, size_t len)
{
    csv_doc_t doc = {0};
    size_t i = 0;
    while (i < len) {
        doc.rows = realloc(doc.rows, (doc.n_rows + 1) * sizeof(*doc.rows));
        doc.n_fields = realloc(doc.n_fields, (doc.n_rows + 1) * sizeof(*doc.n_fields));
        char **fields = NULL;
        size_t nf = 0;
        for (;;) {
            char *f = malloc(len - i + 1);
            size_t fl = 0;
            if (i < len && s[i] == '"') {
                i++;
                for (;;) {
                    if (i >= len)
                        fail_msg("unterminated quoted field");
                    if (s[i] == '"' && i + 1 < len && s[i + 1] == '"') {
                        f[fl++] = '"';
                        i += 2;
                    } else if (s[i] == '"') {
                        i++;
                        break;
                    } else {
                        f[fl++] = s[i++];
                    }
                }
            } else {
                while (i < len && s[i] != ',' && s[i] != '\r' && s[i] != '\n') {
                    if (s[i] == '"')
                        fail_msg("a quote in an unquoted field at byte %zu", i);
                    f[fl++] = s[i++];
                }
            }
            f[fl] = '\0';
            fields = realloc(fields, (nf + 1) * sizeof(*fields));
            fields[nf++] = f;
            if (i < len && s[i] == ',') {
                i++;
                continue;
            }
            if (i + 1 < len && s[i] == '\r' && s[i + 1] == '\n') {
                i += 2;
                break;
            }
            fail_msg("record %zu does not end in CRLF (byte %zu)", doc.n_rows, i);
        }
        doc.rows[doc.n_rows] = fields;
        doc.n_fields[doc.n_rows++] = nf;
    }
    return doc;
}

static void csv_doc_free(csv_doc_t *doc)
{
    for (size_t r = 0; r < doc->n_rows; r++) {
        for (size_t f = 0; f < doc->n_fields[r]; f++)
            free(doc->rows[r][f]);
        free(doc->rows[r]);
    }
    free(doc->rows);
    free(doc->n_fields);
}

/* The index of column name in the header row; fails when absent. */
static size_t csv_col(const csv_doc_t *doc, const char *name)
{
    for (size_t f = 0; f < doc->n_fields[0]; f++)
        if (strcmp(doc->rows[0][f], name) == 0)
            return f;
    fail_msg("no column %s", name);
    return 0;
}

static void sql_run(const char *dsn, const char *sql, const char *const *params, int n)
{
    char err[512];
    pg_conn_t *db = support_pg_connect(dsn, "test_api_export");
    PGresult *res = NULL;
    if (pg_exec_params(db, sql, n, params, &res, err, sizeof(err)) != OD_OK)
        fail_msg("%s: %s", sql, err);
    PQclear(res);
    pg_conn_free(db);
}

/* Runs outdialctl export and returns its stdout (caller frees). */
static char *ctl_export(const api_proc_t *api, const char *key, const char *campaign_id,
                        const char *what, size_t *len)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/tools/outdialctl/outdialctl --url %s --key %s export %s --%s",
             support_env("OUTDIAL_BUILD_DIR"), api->base, key, campaign_id, what);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = NULL;
    size_t n = 0;
    char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), p)) > 0) {
        out = realloc(out, n + got + 1);
        memcpy(out + n, buf, got);
        n += got;
    }
    assert_int_equal(pclose(p), 0);
    *len = n;
    return out;
}

static void test_export(void **state)
{
    (void)state;
    api_proc_t api;
    api_start(&api, "apiexport", NULL);
    api_account_t acc = api_bootstrap("Export", 100000);
    api_account_t other = api_bootstrap("Other", 100000);
    char assistant_id[37], campaign_id[37], path[160];
    api_assistant_create(&api, acc.key, "+14155550100", assistant_id);
    api_campaign_create(&api, acc.key, assistant_id, campaign_id);

    /* N_LEADS leads; the first one's name needs quoting. */
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign_id);
    for (int i = 0; i < N_LEADS; i++) {
        api_resp_t r =
            api_call(&api, "POST", path, acc.key, "{\"phone\":\"+1415555%04d\",\"name\":\"%s\"}",
                     2000 + i, i == 0 ? "Smith, \\\"Jo\\\"\\nline two" : "Plain");
        api_expect(&r, 201, "add lead");
        api_resp_free(&r);
    }
    /* Calls of the first two leads, as the scheduler records them, with
     * post-call variables; the first lead's second call is its last. */
    const char *params[] = {campaign_id};
    sql_run(api.dsn,
            "INSERT INTO call (attempt_id, lead_id, campaign_id, attempt_number, e164, status,"
            " post_call_variables, caller_id)"
            " SELECT gen_random_uuid(), l.id, l.campaign_id, a, l.e164, 'completed',"
            "  CASE WHEN a = 1 THEN '{\"notes\": \"first\"}'::jsonb"
            "   WHEN l.name = 'Plain' THEN '{\"interested\": false}'::jsonb"
            "   ELSE jsonb_build_object('notes', l.name, 'interested', true) END,"
            "  CASE WHEN a = 2 THEN '+12125550199' END"
            " FROM lead l CROSS JOIN generate_series(1, 2) a"
            " WHERE l.campaign_id = $1 AND l.e164 IN ('+14155552000', '+14155552001')",
            params, 1);

    api_resp_t leads = api_get_ok(&api, acc.key, "/v1/campaigns/%s/leads.csv", campaign_id);
    assert_non_null(strstr(leads.content_type, "text/csv"));
    csv_doc_t doc = csv_parse(leads.body, leads.len);
    assert_int_equal(doc.n_rows, 1 + N_LEADS);
    size_t c_phone = csv_col(&doc, "e164"), c_name = csv_col(&doc, "name");
    size_t c_notes = csv_col(&doc, "post_call.notes");
    size_t c_int = csv_col(&doc, "post_call.interested");
    csv_col(&doc, "status");
    csv_col(&doc, "outcome");
    csv_col(&doc, "attempts");
    csv_col(&doc, "last_call_result");
    csv_col(&doc, "goal_reached");
    bool seen[N_LEADS] = {false};
    for (size_t r = 1; r < doc.n_rows; r++) {
        assert_int_equal(doc.n_fields[r], doc.n_fields[0]);
        int n = atoi(doc.rows[r][c_phone] + strlen("+1415555")) - 2000;
        assert_true(n >= 0 && n < N_LEADS);
        assert_false(seen[n]);
        seen[n] = true;
        assert_string_equal(doc.rows[r][c_name], n == 0 ? TRICKY : "Plain");
        assert_string_equal(doc.rows[r][c_notes], n == 0 ? TRICKY : "");
        assert_string_equal(doc.rows[r][c_int], n == 0 ? "true" : n == 1 ? "false" : "");
    }
    csv_doc_free(&doc);

    /* outdialctl writes the API's bytes. */
    size_t ctl_len = 0;
    char *ctl = ctl_export(&api, acc.key, campaign_id, "leads", &ctl_len);
    assert_int_equal(ctl_len, leads.len);
    assert_memory_equal(ctl, leads.body, leads.len);
    free(ctl);
    api_resp_free(&leads);

    /* Every call, once. */
    api_resp_t calls = api_get_ok(&api, acc.key, "/v1/campaigns/%s/calls.csv", campaign_id);
    assert_non_null(strstr(calls.content_type, "text/csv"));
    doc = csv_parse(calls.body, calls.len);
    assert_int_equal(doc.n_rows, 1 + 4);
    c_notes = csv_col(&doc, "post_call.notes");
    size_t c_attempt = csv_col(&doc, "attempt_number"), c_caller = csv_col(&doc, "caller_id");
    size_t tricky = 0;
    for (size_t r = 1; r < doc.n_rows; r++) {
        tricky += strcmp(doc.rows[r][c_notes], TRICKY) == 0;
        /* The second calls came from the pool's number; the first from none. */
        assert_string_equal(doc.rows[r][c_caller],
                            atoi(doc.rows[r][c_attempt]) == 2 ? "+12125550199" : "");
    }
    assert_int_equal(tricky, 1);
    csv_doc_free(&doc);
    ctl = ctl_export(&api, acc.key, campaign_id, "calls", &ctl_len);
    assert_int_equal(ctl_len, calls.len);
    assert_memory_equal(ctl, calls.body, calls.len);
    free(ctl);
    api_resp_free(&calls);

    /* The lead API: sticky_caller_id, the number a lead was last called
     * from, and null for a lead never called from a pool's number. */
    sql_run(api.dsn,
            "UPDATE lead SET sticky_caller_id = '+12125550199'"
            " WHERE campaign_id = $1 AND e164 = '+14155552000'",
            params, 1);
    api_resp_t list =
        api_get_ok(&api, acc.key, "/v1/campaigns/%s/leads?phone=415555200", campaign_id);
    json_t *data = json_object_get(list.json, "data");
    assert_int_equal(json_array_size(data), 10); /* +14155552000 .. +14155552009 */
    size_t sticky = 0;
    for (size_t i = 0; i < json_array_size(data); i++) {
        json_t *lead = json_array_get(data, i);
        json_t *v = json_object_get(lead, "sticky_caller_id");
        assert_non_null(v); /* present, null or the number */
        const char *phone = json_string_value(json_object_get(lead, "phone"));
        if (strcmp(phone, "+14155552000") == 0) {
            assert_string_equal(json_string_value(v), "+12125550199");
            sticky++;
            snprintf(path, sizeof(path), "/v1/leads/%s",
                     json_string_value(json_object_get(lead, "id")));
        } else {
            assert_true(json_is_null(v));
        }
    }
    assert_int_equal(sticky, 1);
    api_resp_free(&list);
    api_resp_t one = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&one, 200, "the sticky lead");
    assert_string_equal(api_str(&one, "sticky_caller_id"), "+12125550199");
    api_resp_free(&one);

    /* Another account's campaign, and no campaign, are not found. */
    const char *routes[] = {"leads", "calls"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/v1/campaigns/%s/%s.csv", campaign_id, routes[i]);
        api_resp_t r = api_call(&api, "GET", path, other.key, NULL);
        api_expect(&r, 404, "another account's export");
        assert_string_equal(api_str(&r, "error.code"), "not_found");
        api_resp_free(&r);
        snprintf(path, sizeof(path), "/v1/campaigns/00000000-0000-4000-8000-000000000000/%s.csv",
                 routes[i]);
        r = api_call(&api, "GET", path, acc.key, NULL);
        api_expect(&r, 404, "no such campaign");
        api_resp_free(&r);
    }
    api_stop(&api);
}

HTTPC_TEST_MAIN(NULL, NULL, test_export)

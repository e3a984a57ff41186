/*
 * Deleting and archiving through the real API: a draft campaign is deleted
 * with its leads; a campaign that has started cannot be; a completed one is
 * archived, hidden from the list unless asked for, every row kept and
 * readable by id, and nothing can be added to it or changed. An assistant
 * no campaign uses is deleted; one any campaign uses (archived ones too)
 * is refused. Every refusal is a 409 with a code and a message a user can
 * act on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "lifecycle.h"
#include "pg.h"
#include "pg_connect.h"
#include "test_api_support.h"

/* Asserts status and, for an error, its code. */
static void expect_error(api_resp_t *r, long status, const char *code, const char *what)
{
    api_expect(r, status, what);
    if (strcmp(api_str(r, "error.code"), code) != 0)
        fail_msg("%s: code '%s', want '%s': %s", what, api_str(r, "error.code"), code, r->body);
    if (!*api_str(r, "error.message"))
        fail_msg("%s: no message: %s", what, r->body);
    api_resp_free(r);
}

/* The ids of a campaign list page, comma-separated in list order. */
static void list_ids(const api_proc_t *api, const char *key, const char *query, char *out,
                     size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/campaigns%s", query);
    api_resp_t r = api_call(api, "GET", path, key, NULL);
    api_expect(&r, 200, path);
    size_t i, o = 0;
    json_t *c;
    out[0] = '\0';
    json_array_foreach(json_object_get(r.json, "data"), i, c)
    {
        o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "",
                              json_string_value(json_object_get(c, "id")));
    }
    api_resp_free(&r);
}

/* One lead into campaign_id; its id into lead_id. */
static void lead_add(const api_proc_t *api, const char *key, const char *campaign_id,
                     const char *phone, char lead_id[37])
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign_id);
    api_resp_t r = api_call(api, "POST", path, key, "{\"phone\":\"%s\"}", phone);
    api_expect(&r, 201, "add lead");
    json_t *first = json_array_get(json_object_get(r.json, "results"), 0);
    snprintf(lead_id, 37, "%s", json_string_value(json_object_get(first, "lead_id")));
    assert_int_equal(strlen(lead_id), 36);
    api_resp_free(&r);
}

/* The campaign ends as the scheduler ends it when nothing is left to call
 * (lib/campaign/lifecycle's status write, in its own transaction). */
static void campaign_complete(const api_proc_t *api, const char *account_id,
                              const char *campaign_id)
{
    char err[512];
    pg_conn_t *db = support_pg_connect(api->dsn, "test_api_delete_archive");
    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    if (lifecycle_status_write_tx(db, account_id, campaign_id, MODEL_CAMPAIGN_IN_PROGRESS,
                                  MODEL_CAMPAIGN_COMPLETED, NULL, od_clock_real_us(), err,
                                  sizeof(err)) != OD_OK)
        fail_msg("complete: %s", err);
    assert_int_equal(pg_tx_commit(db, err, sizeof(err)), OD_OK);
    pg_conn_free(db);
}

/* One request to path_fmt with id in it (body: JSON or NULL); asserts
 * status and, when code is given, the error's code and message. */
static void expect_call(const api_proc_t *api, const char *key, const char *method,
                        const char *path_fmt, const char *id, const char *body, long status,
                        const char *code)
{
    char path[256];
    snprintf(path, sizeof(path), path_fmt, id);
    api_resp_t r = body ? api_call(api, method, path, key, "%s", body)
                        : api_call(api, method, path, key, NULL);
    char what[320];
    snprintf(what, sizeof(what), "%s %s", method, path);
    if (code) {
        expect_error(&r, status, code, what);
        return;
    }
    api_expect(&r, status, what);
    api_resp_free(&r);
}

/* The campaign's member key, read by id. */
static void campaign_member(const api_proc_t *api, const char *key, const char *id,
                            const char *member, char *out, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/campaigns/%s", id);
    api_resp_t r = api_call(api, "GET", path, key, NULL);
    api_expect(&r, 200, path);
    json_t *v = json_object_get(r.json, member);
    snprintf(out, len, "%s", json_is_string(v) ? json_string_value(v) : "null");
    api_resp_free(&r);
}

static void test_delete_and_archive(void **state)
{
    (void)state;
    api_proc_t api;
    api_start(&api, "apidelarch", NULL);
    api_account_t acc = api_bootstrap("Archive", 100000);
    const char *key = acc.key;
    char assistant_id[37], spare_id[37], lead_id[37], value[64];
    api_assistant_create(&api, key, "+14155550100", assistant_id);
    api_assistant_create(&api, key, NULL, spare_id);

    /* A draft is deleted with its leads. */
    char draft_id[37];
    api_campaign_create(&api, key, assistant_id, draft_id);
    lead_add(&api, key, draft_id, "+14155550141", lead_id);
    expect_call(&api, key, "DELETE", "/v1/campaigns/%s", draft_id, NULL, 204, NULL);
    expect_call(&api, key, "GET", "/v1/campaigns/%s", draft_id, NULL, 404, "not_found");
    expect_call(&api, key, "DELETE", "/v1/campaigns/%s", draft_id, NULL, 404, "not_found");
    expect_call(&api, key, "GET", "/v1/leads/%s", lead_id, NULL, 404, "not_found");

    /* A campaign that has started is never deleted, nor archived before it
     * has completed. */
    char done_id[37], done_lead[37];
    api_campaign_create(&api, key, assistant_id, done_id);
    lead_add(&api, key, done_id, "+14155550142", done_lead);
    expect_call(&api, key, "POST", "/v1/campaigns/%s/start", done_id, NULL, 200, NULL);
    expect_call(&api, key, "DELETE", "/v1/campaigns/%s", done_id, NULL, 409, "invalid_state");
    expect_call(&api, key, "POST", "/v1/campaigns/%s/archive", done_id, NULL, 409, "invalid_state");

    /* Completed: still not deleted, but archived (twice is the same). */
    campaign_complete(&api, acc.id, done_id);
    expect_call(&api, key, "DELETE", "/v1/campaigns/%s", done_id, NULL, 409, "invalid_state");
    campaign_member(&api, key, done_id, "archived_at", value, sizeof(value));
    assert_string_equal(value, "null");
    expect_call(&api, key, "POST", "/v1/campaigns/%s/archive", done_id, "{\"x\":1}", 400,
                "unknown_field");
    expect_call(&api, key, "POST", "/v1/campaigns/%s/archive", done_id, NULL, 200, NULL);
    char archived_at[64];
    campaign_member(&api, key, done_id, "archived_at", archived_at, sizeof(archived_at));
    assert_true(strlen(archived_at) > 10);
    campaign_member(&api, key, done_id, "status", value, sizeof(value));
    assert_string_equal(value, "completed");
    expect_call(&api, key, "POST", "/v1/campaigns/%s/archive", done_id, NULL, 200, NULL);
    campaign_member(&api, key, done_id, "archived_at", value, sizeof(value));
    assert_string_equal(value, archived_at);

    /* Hidden from the list unless asked for. */
    char open_id[37], ids[256], want[256];
    api_campaign_create(&api, key, assistant_id, open_id);
    list_ids(&api, key, "", ids, sizeof(ids));
    assert_string_equal(ids, open_id);
    list_ids(&api, key, "?archived=false", ids, sizeof(ids));
    assert_string_equal(ids, open_id);
    list_ids(&api, key, "?archived=true", ids, sizeof(ids));
    assert_string_equal(ids, done_id);
    list_ids(&api, key, "?archived=all", ids, sizeof(ids));
    snprintf(want, sizeof(want), "%s,%s", strcmp(done_id, open_id) < 0 ? done_id : open_id,
             strcmp(done_id, open_id) < 0 ? open_id : done_id);
    assert_string_equal(ids, want);
    list_ids(&api, key, "?status=completed", ids, sizeof(ids));
    assert_string_equal(ids, "");
    expect_call(&api, key, "GET", "/v1/campaigns?archived=%s", "yes", NULL, 400, "invalid");

    /* Every row kept and readable by id: the campaign, its leads, its
     * statistics. */
    expect_call(&api, key, "GET", "/v1/leads/%s", done_lead, NULL, 200, NULL);
    char path[128];
    api_resp_t r = api_get_ok(&api, key, "/v1/campaigns/%s/leads", done_id);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    api_resp_free(&r);
    r = api_get_ok(&api, key, "/v1/campaigns/%s/stats", done_id);
    assert_int_equal(api_int(&r, "leads.total"), 1);
    api_resp_free(&r);

    /* Nothing is added to it or changed. */
    expect_call(&api, key, "PATCH", "/v1/campaigns/%s", done_id, "{\"name\":\"Renamed\"}", 409,
                "campaign_archived");
    expect_call(&api, key, "POST", "/v1/campaigns/%s/leads", done_id,
                "{\"phone\":\"+14155550143\"}", 409, "campaign_archived");
    static const char csv[] = "phone\n+14155550144\n";
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports", done_id);
    r = api_call_raw(&api, "POST", path, key, "text/csv", csv, strlen(csv));
    expect_error(&r, 409, "campaign_archived", "upload to an archived campaign");
    expect_call(&api, key, "POST", "/v1/campaigns/%s/resume", done_id, NULL, 409, "invalid_state");
    campaign_member(&api, key, done_id, "name", value, sizeof(value));
    assert_string_equal(value, "Spring");
    campaign_member(&api, key, done_id, "status", value, sizeof(value));
    assert_string_equal(value, "completed");

    /* A draft with an import still pending (no importer runs here) waits
     * for it. */
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports", open_id);
    r = api_call_raw(&api, "POST", path, key, "text/csv", csv, strlen(csv));
    api_expect(&r, 202, "upload to a draft");
    api_resp_free(&r);
    expect_call(&api, key, "DELETE", "/v1/campaigns/%s", open_id, NULL, 409, "import_running");

    /* An assistant any campaign uses (a draft, an archived one) stays. */
    snprintf(path, sizeof(path), "/v1/assistants/%s", assistant_id);
    r = api_call(&api, "DELETE", path, key, NULL);
    api_expect(&r, 409, "delete an assistant in use");
    assert_string_equal(api_str(&r, "error.code"), "in_use");
    assert_non_null(strstr(api_str(&r, "error.message"), "archived"));
    api_resp_free(&r);
    expect_call(&api, key, "GET", "/v1/assistants/%s", assistant_id, NULL, 200, NULL);

    /* One no campaign uses any more goes. */
    char draft2_id[37];
    api_campaign_create(&api, key, spare_id, draft2_id);
    expect_call(&api, key, "DELETE", "/v1/assistants/%s", spare_id, NULL, 409, "in_use");
    expect_call(&api, key, "DELETE", "/v1/campaigns/%s", draft2_id, NULL, 204, NULL);
    expect_call(&api, key, "DELETE", "/v1/assistants/%s", spare_id, NULL, 204, NULL);
    expect_call(&api, key, "GET", "/v1/assistants/%s", spare_id, NULL, 404, "not_found");
    expect_call(&api, key, "DELETE", "/v1/assistants/%s", spare_id, NULL, 404, "not_found");

    /* Another account's campaign or assistant is not found, not refused. */
    api_account_t other = api_bootstrap("Other", 0);
    expect_call(&api, other.key, "DELETE", "/v1/campaigns/%s", open_id, NULL, 404, "not_found");
    expect_call(&api, other.key, "POST", "/v1/campaigns/%s/archive", done_id, NULL, 404,
                "not_found");
    expect_call(&api, other.key, "DELETE", "/v1/assistants/%s", assistant_id, NULL, 404,
                "not_found");

    api_stop(&api);
}

HTTPC_TEST_MAIN(NULL, NULL, test_delete_and_archive)

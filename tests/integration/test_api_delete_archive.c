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
    pg_conn_t *db = NULL;
    assert_int_equal(pg_conn_new(api->dsn, "test_api_delete_archive", NULL, &db, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    if (lifecycle_status_write_tx(db, account_id, campaign_id, MODEL_CAMPAIGN_IN_PROGRESS,
                                  MODEL_CAMPAIGN_COMPLETED, NULL, od_clock_real_us(), err,
                                  sizeof(err)) != OD_OK)
        fail_msg("complete: %s", err);
    assert_int_equal(pg_tx_commit(db, err, sizeof(err)), OD_OK);
    pg_conn_free(db);
}

static void test_delete_and_archive(void **state)
{
    (void)state;
    api_proc_t api;
    api_start(&api, "apidelarch", NULL);
    api_account_t acc = api_bootstrap("Archive", 100000);
    char assistant_id[37], spare_id[37], path[256], lead_id[37];
    api_assistant_create(&api, acc.key, "+14155550100", assistant_id);
    api_assistant_create(&api, acc.key, NULL, spare_id);

    /* A draft is deleted with its leads. */
    char draft_id[37];
    api_campaign_create(&api, acc.key, assistant_id, draft_id);
    lead_add(&api, acc.key, draft_id, "+14155550141", lead_id);
    snprintf(path, sizeof(path), "/v1/campaigns/%s", draft_id);
    api_resp_t r = api_call(&api, "DELETE", path, acc.key, NULL);
    api_expect(&r, 204, "delete draft");
    api_resp_free(&r);
    r = api_call(&api, "GET", path, acc.key, NULL);
    expect_error(&r, 404, "not_found", "deleted campaign");
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    expect_error(&r, 404, "not_found", "delete again");
    snprintf(path, sizeof(path), "/v1/leads/%s", lead_id);
    r = api_call(&api, "GET", path, acc.key, NULL);
    expect_error(&r, 404, "not_found", "lead of a deleted campaign");

    /* A campaign that has started is never deleted, nor archived before it
     * has completed. */
    char done_id[37], done_lead[37];
    api_campaign_create(&api, acc.key, assistant_id, done_id);
    lead_add(&api, acc.key, done_id, "+14155550142", done_lead);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/start", done_id);
    r = api_call(&api, "POST", path, acc.key, NULL);
    api_expect(&r, 200, "start");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s", done_id);
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    expect_error(&r, 409, "invalid_state", "delete a running campaign");
    snprintf(path, sizeof(path), "/v1/campaigns/%s/archive", done_id);
    r = api_call(&api, "POST", path, acc.key, NULL);
    expect_error(&r, 409, "invalid_state", "archive a running campaign");

    /* Completed: still not deleted, but archived (twice is the same). */
    campaign_complete(&api, acc.id, done_id);
    snprintf(path, sizeof(path), "/v1/campaigns/%s", done_id);
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    expect_error(&r, 409, "invalid_state", "delete a completed campaign");
    r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 200, "completed campaign");
    assert_true(json_is_null(json_object_get(r.json, "archived_at")));
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/archive", done_id);
    r = api_call(&api, "POST", path, acc.key, "{\"x\":1}");
    api_expect(&r, 400, "archive with a body");
    api_resp_free(&r);
    r = api_call(&api, "POST", path, acc.key, NULL);
    api_expect(&r, 200, "archive");
    assert_string_equal(api_str(&r, "status"), "completed");
    char archived_at[64];
    snprintf(archived_at, sizeof(archived_at), "%s", api_str(&r, "archived_at"));
    assert_true(strlen(archived_at) > 10);
    api_resp_free(&r);
    r = api_call(&api, "POST", path, acc.key, NULL);
    api_expect(&r, 200, "archive again");
    assert_string_equal(api_str(&r, "archived_at"), archived_at);
    api_resp_free(&r);

    /* Hidden from the list unless asked for. */
    char open_id[37], ids[256], want[256];
    api_campaign_create(&api, acc.key, assistant_id, open_id);
    list_ids(&api, acc.key, "", ids, sizeof(ids));
    assert_string_equal(ids, open_id);
    list_ids(&api, acc.key, "?archived=false", ids, sizeof(ids));
    assert_string_equal(ids, open_id);
    list_ids(&api, acc.key, "?archived=true", ids, sizeof(ids));
    assert_string_equal(ids, done_id);
    list_ids(&api, acc.key, "?archived=all", ids, sizeof(ids));
    snprintf(want, sizeof(want), "%s,%s", strcmp(done_id, open_id) < 0 ? done_id : open_id,
             strcmp(done_id, open_id) < 0 ? open_id : done_id);
    assert_string_equal(ids, want);
    list_ids(&api, acc.key, "?status=completed", ids, sizeof(ids));
    assert_string_equal(ids, "");
    r = api_call(&api, "GET", "/v1/campaigns?archived=yes", acc.key, NULL);
    expect_error(&r, 400, "invalid", "archived=yes");

    /* Every row kept and readable by id: the campaign, its leads, its
     * statistics. */
    snprintf(path, sizeof(path), "/v1/campaigns/%s", done_id);
    r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 200, "archived campaign");
    assert_string_equal(api_str(&r, "archived_at"), archived_at);
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/leads/%s", done_lead);
    r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 200, "lead of an archived campaign");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", done_id);
    r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 200, "leads of an archived campaign");
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/stats", done_id);
    r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 200, "stats of an archived campaign");
    assert_int_equal(api_int(&r, "leads.total"), 1);
    api_resp_free(&r);

    /* Nothing is added to it or changed. */
    snprintf(path, sizeof(path), "/v1/campaigns/%s", done_id);
    r = api_call(&api, "PATCH", path, acc.key, "{\"name\":\"Renamed\"}");
    expect_error(&r, 409, "campaign_archived", "rename an archived campaign");
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", done_id);
    r = api_call(&api, "POST", path, acc.key, "{\"phone\":\"+14155550143\"}");
    expect_error(&r, 409, "campaign_archived", "add a lead to an archived campaign");
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports", done_id);
    static const char csv[] = "phone\n+14155550144\n";
    r = api_call_raw(&api, "POST", path, acc.key, "text/csv", csv, strlen(csv));
    expect_error(&r, 409, "campaign_archived", "upload to an archived campaign");
    snprintf(path, sizeof(path), "/v1/campaigns/%s/resume", done_id);
    r = api_call(&api, "POST", path, acc.key, NULL);
    expect_error(&r, 409, "invalid_state", "resume an archived campaign");
    snprintf(path, sizeof(path), "/v1/campaigns/%s", done_id);
    r = api_call(&api, "GET", path, acc.key, NULL);
    assert_string_equal(api_str(&r, "name"), "Spring");
    assert_string_equal(api_str(&r, "status"), "completed");
    api_resp_free(&r);

    /* A draft with an import still pending (no importer runs here) waits
     * for it. */
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports", open_id);
    r = api_call_raw(&api, "POST", path, acc.key, "text/csv", csv, strlen(csv));
    api_expect(&r, 202, "upload to a draft");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/campaigns/%s", open_id);
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    expect_error(&r, 409, "import_running", "delete a draft while it imports");

    /* An assistant any campaign uses (a draft, an archived one) stays. */
    snprintf(path, sizeof(path), "/v1/assistants/%s", assistant_id);
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    api_expect(&r, 409, "delete an assistant in use");
    assert_string_equal(api_str(&r, "error.code"), "in_use");
    assert_non_null(strstr(api_str(&r, "error.message"), "archived"));
    api_resp_free(&r);
    r = api_call(&api, "GET", path, acc.key, NULL);
    api_expect(&r, 200, "assistant in use kept");
    api_resp_free(&r);

    /* One no campaign uses any more goes. */
    char draft2_id[37];
    api_campaign_create(&api, acc.key, spare_id, draft2_id);
    snprintf(path, sizeof(path), "/v1/assistants/%s", spare_id);
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    expect_error(&r, 409, "in_use", "delete an assistant a draft uses");
    snprintf(path, sizeof(path), "/v1/campaigns/%s", draft2_id);
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    api_expect(&r, 204, "delete the draft");
    api_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/assistants/%s", spare_id);
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    api_expect(&r, 204, "delete an unused assistant");
    api_resp_free(&r);
    r = api_call(&api, "GET", path, acc.key, NULL);
    expect_error(&r, 404, "not_found", "deleted assistant");
    r = api_call(&api, "DELETE", path, acc.key, NULL);
    expect_error(&r, 404, "not_found", "delete the assistant again");

    /* Another account's campaign or assistant is not found, not refused. */
    api_account_t other = api_bootstrap("Other", 0);
    snprintf(path, sizeof(path), "/v1/campaigns/%s", open_id);
    r = api_call(&api, "DELETE", path, other.key, NULL);
    expect_error(&r, 404, "not_found", "another account's campaign");
    snprintf(path, sizeof(path), "/v1/campaigns/%s/archive", done_id);
    r = api_call(&api, "POST", path, other.key, NULL);
    expect_error(&r, 404, "not_found", "archive another account's campaign");
    snprintf(path, sizeof(path), "/v1/assistants/%s", assistant_id);
    r = api_call(&api, "DELETE", path, other.key, NULL);
    expect_error(&r, 404, "not_found", "another account's assistant");

    api_stop(&api);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_and_archive),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

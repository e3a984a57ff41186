/*
 * End to end at scale: three dialers and two schedulers on one campaign of
 * 5,000 leads loaded by one CSV upload through the API; one dialer is
 * killed with SIGKILL half-way. The campaign completes, every lead ends as
 * its number's rule says, and outdial-audit reports every invariant at 0
 * (double_dials, concurrent_same_number, outside_window, dnc_calls,
 * lost_results, duplicate_results, attempts_over_limit).
 *
 * The simulator runs `instant` (no ring or talk time), so the test measures
 * the services, not the calls; a fifth of the numbers are busy and are
 * retried once. The runtime of each phase is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/e2e_support.h"
#include "test_main.h"

#define N_LEADS 5000
#define N_BUSY  1000 /* +1 212 200 1000 .. 1999 */

static const char rules[] = "seed 17\n"
                            "instant\n"
                            "match +12122001??? busy\n"
                            "default human\n";

static long long stat_of(const e2e_stack_t *st, const char *campaign, const char *path)
{
    json_t *s = e2e_get_json(st, "/v1/campaigns/%s/stats", campaign);
    long long n = e2e_int(s, path);
    json_decref(s);
    return n;
}

static bool import_done(const e2e_stack_t *st, const char *import_id, json_t **out)
{
    json_t *imp = e2e_get_json(st, "/v1/imports/%s", import_id);
    const char *status = e2e_str(imp, "status");
    if (strcmp(status, "failed") == 0)
        fail_msg("import failed: %s", e2e_str(imp, "error"));
    if (strcmp(status, "completed") == 0) {
        *out = imp;
        return true;
    }
    json_decref(imp);
    return false;
}

static void test_scaling(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    e2e_opts_t opts = {
        .tag = "e2escale", .rules = rules, .dialers = 3, .schedulers = 2, .balance = 100000000};
    e2e_stack_start(&st, &opts);
    int64_t t_stack = harness_ms();

    char assistant[37], campaign[37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    e2e_campaign_create(&st, assistant,
                        E2E_WINDOW_ALWAYS ",\"max_retries\":1,\"retry_interval_minutes\":10,"
                                          "\"max_concurrent_calls\":500,\"max_call_duration_s\":60",
                        campaign);

    /* One CSV upload of 5,000 rows. */
    size_t cap = (size_t)N_LEADS * 48 + 64, off = 0;
    char *csv = malloc(cap);
    off += (size_t)snprintf(csv, cap, "phone,name,plan\n");
    for (int i = 0; i < N_LEADS; i++)
        off += (size_t)snprintf(csv + off, cap - off, "+1212200%04d,Lead %d,%s\n", i, i,
                                i % 2 ? "gold" : "silver");
    char path[256];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports?region=US&filename=leads.csv", campaign);
    e2e_resp_t r = e2e_http(st.api.port, "POST", path, st.key, "text/csv", csv, off);
    free(csv);
    e2e_expect(&r, 202, "upload the CSV");
    char import_id[37];
    snprintf(import_id, sizeof(import_id), "%s", e2e_str(r.json, "id"));
    e2e_resp_free(&r);
    json_t *imp = NULL;
    HARNESS_WAIT(import_done(&st, import_id, &imp), 120000, "the import to complete");
    assert_int_equal(e2e_int(imp, "rows.imported"), N_LEADS);
    assert_int_equal(e2e_int(imp, "rows.rejected"), 0);
    json_decref(imp);
    int64_t t_import = harness_ms();

    e2e_campaign_must(&st, campaign, "start");
    /* Half-way, one dialer dies without a word. */
    HARNESS_WAIT(stat_of(&st, campaign, "calls.total") >= N_LEADS / 2, 180000, "half of the calls");
    int killed = 1;
    kill(st.dialers[killed].pid, SIGKILL);
    waitpid(st.dialers[killed].pid, NULL, 0);
    st.dialers[killed].pid = 0;
    int64_t t_kill = harness_ms();
    print_message("dialer %d killed after %lld calls\n", killed,
                  stat_of(&st, campaign, "calls.total"));

    e2e_wait_campaign(&st, campaign, "completed", 240000);
    int64_t t_done = harness_ms();

    json_t *s = e2e_get_json(&st, "/v1/campaigns/%s/stats", campaign);
    char *text = json_dumps(s, JSON_COMPACT);
    print_message("stats: %s\n", text);
    free(text);
    assert_int_equal(e2e_int(s, "leads.total"), N_LEADS);
    /* Every human number is reached (a call lost with the dialer is
     * retried); every busy number uses both attempts. */
    assert_int_equal(e2e_int(s, "leads.by_status.completed"), N_LEADS - N_BUSY);
    assert_int_equal(e2e_int(s, "leads.by_status.max_retries"), N_BUSY);
    assert_int_equal(e2e_int(s, "leads.by_outcome.exhausted"), N_BUSY);
    json_decref(s);

    /* Every lead called at most twice at the simulator, no attempt twice. */
    json_t *inv = NULL;
    {
        e2e_resp_t ri = e2e_http(st.sim.port, "GET", "/sim/invariants", NULL, NULL, NULL, 0);
        e2e_expect(&ri, 200, "/sim/invariants");
        inv = json_incref(ri.json);
        e2e_resp_free(&ri);
    }
    assert_int_equal(e2e_int(inv, "double_dials"), 0);
    assert_int_equal(e2e_int(inv, "concurrent_same_number"), 0);
    json_decref(inv);

    /* The killed dialer's calls in flight: their webhooks reach the other
     * dialers through the ingress, and those lost are reconciled by the
     * dialer that takes its calls over from the registry. Every count is 0. */
    e2e_audit(&st, campaign);
    e2e_stack_stop(&st);
    print_message("scaling: stack %lld ms, import %lld ms, start to kill %lld ms, kill to "
                  "completed %lld ms, total %lld ms\n",
                  (long long)(t_stack - st.begun_ms), (long long)(t_import - t_stack),
                  (long long)(t_kill - t_import), (long long)(t_done - t_kill),
                  (long long)(harness_ms() - st.begun_ms));
}

OD_TEST_MAIN_EACH(NULL, NULL, NULL, e2e_teardown, test_scaling)

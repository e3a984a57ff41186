/*
 * End to end: the pre-dial check (docs/dialer.md, "The pre-dial check"),
 * through the real services (API, scheduler, importer, dialer) and the
 * voice simulator, with the user's endpoint played by an HTTP server of
 * lib/web in this process. It answers by the number's last digit:
 *
 *   1, 2  {"eligible": true}
 *   3     {"eligible": false, "reason": "suppressed in CRM"}
 *   4     nothing for 3 s (past the campaigns' 1000 ms timeout)
 *   5     500
 *
 * Two campaigns ask it, one with predial_on_error skip, one with call.
 *   - the API refuses an http:// URL to another host, a timeout out of
 *     100..10000 and an unknown policy, and shows the settings it keeps;
 *   - eligible leads are called, with "eligible" and the latency on their
 *     call in the lead's calls (the timeline);
 *   - a refused lead is never called: its attempt is skipped
 *     (predial_refused, the endpoint's reason kept) without using an
 *     attempt, and the lead ends (max_retries, predial_refused);
 *   - policy skip: the stalled and the failing lead are never called; their
 *     attempts are skipped (predial_error) and asked again later;
 *   - policy call: they are called, their calls recording the error;
 *   - the request carries the lead (ids, attempt number, number, name,
 *     variables);
 *   - the dialer's /metrics counts the results and their latency.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "e2e_support.h"
#include "http.h"
#include "test_main.h"

static const char rules[] = "seed 3\n"
                            "ring 20s\n"
                            "talk human 1m\n"
                            "default human\n";

/* What the endpoint saw: requests per number's last digit, the body of
 * the first request for +12125550101. */
typedef struct endpoint {
    pthread_mutex_t mu;
    int requests[10];
    char first_body[2048];
} endpoint_t;

/* The stalled answer: nothing for 3 s, then eligible. Streamed, so that
 * the wait holds no server thread (a thread's other connections would
 * wait behind a sleeping handler). */
typedef struct stall {
    int64_t until_ms;
    bool sent;
} stall_t;

static ssize_t stall_next(void *state, char *buf, size_t max, int *retry_ms)
{
    stall_t *st = state;
    if (st->sent)
        return HTTP_STREAM_END;
    if (harness_ms() < st->until_ms) {
        *retry_ms = 100;
        return 0;
    }
    st->sent = true;
    return (ssize_t)snprintf(buf, max, "{\"eligible\": true}");
}

static void endpoint_handle(http_request_t *req, http_response_t *resp, void *arg)
{
    endpoint_t *ep = arg;
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    const char *e164 = json_string_value(json_object_get(j, "e164"));
    int digit = e164 && *e164 ? e164[strlen(e164) - 1] - '0' : 0;
    if (digit < 0 || digit > 9)
        digit = 0;
    pthread_mutex_lock(&ep->mu);
    ep->requests[digit]++;
    if (!ep->first_body[0] && e164 && strcmp(e164, "+12125550101") == 0)
        snprintf(ep->first_body, sizeof(ep->first_body), "%.*s", (int)len, body);
    pthread_mutex_unlock(&ep->mu);
    json_decref(j);
    switch (digit) {
    case 1:
    case 2:
        http_response_json(resp, 200, "{\"eligible\": true}");
        break;
    case 3:
        http_response_json(resp, 200, "{\"eligible\": false, \"reason\": \"suppressed in CRM\"}");
        break;
    case 4: {
        stall_t *stall = calloc(1, sizeof(*stall));
        stall->until_ms = harness_ms() + 3000; /* the dialer gives up after 1000 ms */
        http_response_stream(resp, 200, "application/json", stall_next, stall, free);
        break;
    }
    default:
        http_response_error(resp, 500, "internal", "the CRM is down", NULL);
        break;
    }
}

static int endpoint_requests(endpoint_t *ep, int digit)
{
    pthread_mutex_lock(&ep->mu);
    int n = ep->requests[digit];
    pthread_mutex_unlock(&ep->mu);
    return n;
}

/* The lead's calls (timeline) and its first call with a pre-dial answer
 * of result (and reason, unless NULL); NULL when it has none (borrowed
 * from *calls, decref it). A lead skipped for an error is asked again, and
 * on a loaded machine any check may time out: so look for the one. */
static json_t *call_with_predial(const e2e_stack_t *st, const char *lead_id, const char *result,
                                 const char *reason, json_t **calls)
{
    *calls = e2e_lead_calls(st, lead_id);
    size_t i;
    json_t *c;
    json_array_foreach(*calls, i, c)
    {
        if (strcmp(e2e_str(c, "predial.result"), result) == 0 &&
            (!reason || strcmp(e2e_str(c, "predial.reason"), reason) == 0))
            return c;
    }
    return NULL;
}

static bool has_call_with(const e2e_stack_t *st, const char *lead_id, const char *result,
                          const char *reason, const char *status)
{
    json_t *calls = NULL;
    json_t *c = call_with_predial(st, lead_id, result, reason, &calls);
    bool ok = c && strcmp(e2e_str(c, "status"), status) == 0;
    json_decref(calls);
    return ok;
}

/* Asserts the lead's call with the pre-dial answer result has status,
 * the reason (NULL: any) and a latency. */
static void expect_call(const e2e_stack_t *st, const char *lead_id, const char *result,
                        const char *status, const char *reason, const char *ended_prefix)
{
    json_t *calls = NULL;
    json_t *c = call_with_predial(st, lead_id, result, reason, &calls);
    if (!c) {
        char *text = json_dumps(calls, JSON_COMPACT);
        fail_msg("lead %s: no call with pre-dial result %s (%s): %s", lead_id, result,
                 reason ? reason : "any reason", text);
    }
    assert_string_equal(e2e_str(c, "status"), status);
    assert_true(e2e_int(c, "predial.latency_ms") >= 0);
    if (ended_prefix && strncmp(e2e_str(c, "ended_reason"), ended_prefix, strlen(ended_prefix)))
        fail_msg("lead %s: ended_reason '%s' does not start with '%s'", lead_id,
                 e2e_str(c, "ended_reason"), ended_prefix);
    json_decref(calls);
}

static void settings_refused(const e2e_stack_t *st, const char *assistant)
{
    static const struct {
        const char *members, *field;
    } bad[] = {
        {"\"predial_url\":\"http://crm.example.com/check\"", "predial_url"},
        {"\"predial_url\":\"ftp://127.0.0.1/check\"", "predial_url"},
        {"\"predial_url\":\"https://crm.example.com\",\"predial_timeout_ms\":99",
         "predial_timeout_ms"},
        {"\"predial_timeout_ms\":10001", "predial_timeout_ms"},
        {"\"predial_on_error\":\"retry\"", "predial_on_error"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_resp_t r =
            e2e_api(st, "POST", "/v1/campaigns", "{\"name\":\"bad\",\"assistant_id\":\"%s\",%s}",
                    assistant, bad[i].members);
        e2e_expect(&r, 400, bad[i].members);
        assert_string_equal(e2e_str(r.json, "error.field"), bad[i].field);
        e2e_resp_free(&r);
    }
    /* Without them: no check, and the defaults. */
    e2e_resp_t r = e2e_api(st, "POST", "/v1/campaigns",
                           "{\"name\":\"plain\",\"assistant_id\":\"%s\"}", assistant);
    e2e_expect(&r, 201, "a campaign without a check");
    assert_true(json_is_null(json_object_get(r.json, "predial_url")));
    assert_int_equal(e2e_int(r.json, "predial_timeout_ms"), 2000);
    assert_string_equal(e2e_str(r.json, "predial_on_error"), "skip");
    e2e_resp_free(&r);
}

static void test_predial_check(void **state)
{
    (void)state;
    static endpoint_t ep;
    pthread_mutex_init(&ep.mu, NULL);
    http_config_t cfg;
    http_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.threads = 4;
    http_server_t *srv = NULL;
    char err[256];
    if (http_server_new(&cfg, &srv, err, sizeof(err)) ||
        http_route_add(srv, "POST", "/crm/check", endpoint_handle, &ep, err, sizeof(err)) ||
        http_server_start(srv, err, sizeof(err)))
        fail_msg("the pre-dial endpoint: %s", err);

    static e2e_stack_t st;
    e2e_opts_t opts = {.tag = "e2epredial", .rules = rules, .balance = 1000000};
    e2e_stack_start(&st, &opts);
    char assistant[37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    settings_refused(&st, assistant);

    /* [0]: policy skip, [1]: policy call. */
    static const char *const policies[2] = {"skip", "call"};
    static const char *const numbers[2][5] = {
        {"+12125550101", "+12125550102", "+12125550103", "+12125550104", "+12125550105"},
        {"+12125550111", "+12125550112", "+12125550113", "+12125550114", "+12125550115"},
    };
    char campaigns[2][37], leads[2][5][37];
    for (int k = 0; k < 2; k++) {
        char settings[512];
        snprintf(settings, sizeof(settings),
                 E2E_WINDOW_ALWAYS ",\"predial_url\":\"http://127.0.0.1:%d/crm/check?key=k1\","
                                   "\"predial_timeout_ms\":1000,\"predial_on_error\":\"%s\"",
                 http_server_port(srv), policies[k]);
        e2e_campaign_create(&st, assistant, settings, campaigns[k]);
        json_t *c = e2e_get_json(&st, "/v1/campaigns/%s", campaigns[k]);
        assert_int_equal(e2e_int(c, "predial_timeout_ms"), 1000);
        assert_string_equal(e2e_str(c, "predial_on_error"), policies[k]);
        assert_non_null(strstr(e2e_str(c, "predial_url"), "/crm/check?key=k1"));
        json_decref(c);
        for (int i = 0; i < 5; i++) {
            char lead[256];
            snprintf(lead, sizeof(lead),
                     "{\"phone\":\"%s\",\"name\":\"Lead %d\",\"variables\":{\"plan\":\"gold\"}}",
                     numbers[k][i], i + 1);
            e2e_lead_add(&st, campaigns[k], lead, leads[k][i]);
        }
    }
    for (int k = 0; k < 2; k++)
        e2e_campaign_must(&st, campaigns[k], "start");

    /* Eligible: called, and the call records it. */
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2; i++)
            e2e_wait_lead(&st, leads[k][i], "completed", NULL, 120000);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2; i++) {
            assert_int_equal(e2e_sim_placed_to(&st, numbers[k][i]), 1);
            expect_call(&st, leads[k][i], "eligible", "completed", "", NULL);
        }

    /* Refused: never called, the lead ends, no attempt used. */
    for (int k = 0; k < 2; k++) {
        e2e_wait_lead(&st, leads[k][2], "max_retries", "predial_refused", 60000);
        json_t *l = e2e_lead(&st, leads[k][2]);
        assert_string_equal(e2e_str(l, "outcome"), "predial_refused");
        assert_int_equal(e2e_int(l, "attempts"), 0);
        json_decref(l);
        expect_call(&st, leads[k][2], "refused", "skipped", "suppressed in CRM",
                    "predial_refused: suppressed in CRM");
    }

    /* Policy call: the stalled and the failing lead are called anyway. */
    e2e_wait_lead(&st, leads[1][3], "completed", NULL, 120000);
    e2e_wait_lead(&st, leads[1][4], "completed", NULL, 120000);
    expect_call(&st, leads[1][3], "error", "completed", "no answer within 1000 ms", NULL);
    expect_call(&st, leads[1][4], "error", "completed", "HTTP status 500", NULL);

    /* Policy skip: skipped and asked again (5 campaign minutes later),
     * never called. */
    HARNESS_WAIT(endpoint_requests(&ep, 4) >= 3 && endpoint_requests(&ep, 5) >= 4, 60000,
                 "the failing checks of the skip campaign to be asked again");
    HARNESS_WAIT(has_call_with(&st, leads[0][3], "error", "no answer within 1000 ms", "skipped") &&
                     has_call_with(&st, leads[0][4], "error", "HTTP status 500", "skipped"),
                 30000, "the skipped attempts to be recorded");
    expect_call(&st, leads[0][3], "error", "skipped", "no answer within 1000 ms",
                "predial_error: no answer within 1000 ms");
    expect_call(&st, leads[0][4], "error", "skipped", "HTTP status 500",
                "predial_error: HTTP status 500");
    e2e_campaign_must(&st, campaigns[0], "pause");
    for (int i = 3; i < 5; i++) {
        HARNESS_WAIT(!e2e_lead_is(&st, leads[0][i], "scheduled", NULL), 30000,
                     "the paused campaign's last job to be skipped");
        json_t *l = e2e_lead(&st, leads[0][i]);
        assert_int_equal(e2e_int(l, "attempts"), 0); /* a skipped check uses no attempt */
        json_decref(l);
    }
    for (int i = 2; i < 5; i++)
        assert_int_equal(e2e_sim_placed_to(&st, numbers[0][i]), 0);
    assert_int_equal(e2e_sim_placed_to(&st, numbers[1][2]), 0);

    /* The request carried the lead. */
    pthread_mutex_lock(&ep.mu);
    json_error_t jerr;
    json_t *body = json_loads(ep.first_body, 0, &jerr);
    pthread_mutex_unlock(&ep.mu);
    assert_non_null(body);
    assert_string_equal(e2e_str(body, "e164"), "+12125550101");
    assert_string_equal(e2e_str(body, "lead_id"), leads[0][0]);
    assert_string_equal(e2e_str(body, "campaign_id"), campaigns[0]);
    assert_string_equal(e2e_str(body, "account_id"), st.account_id);
    assert_int_equal(e2e_int(body, "attempt_number"), 1);
    assert_string_equal(e2e_str(body, "name"), "Lead 1");
    assert_string_equal(e2e_str(body, "variables.plan"), "gold");
    assert_true(strlen(e2e_str(body, "attempt_id")) == 36);
    json_decref(body);

    /* The dialer's metrics: every result counted, every latency observed. */
    int dialer = st.dialers[0].port;
    double eligible = metric_value(dialer, "outdial_dialer_predial_total{result=\"eligible\"}");
    double refused = metric_value(dialer, "outdial_dialer_predial_total{result=\"refused\"}");
    double errors = metric_value(dialer, "outdial_dialer_predial_total{result=\"error\"}");
    double observed = metric_value(dialer, "outdial_dialer_predial_seconds_count");
    if (eligible < 4 || refused != 2 || errors < 5 || observed < eligible + refused + errors)
        fail_msg("metrics: eligible %g refused %g error %g observed %g", eligible, refused, errors,
                 observed);
    double skipped =
        metric_value(dialer, "outdial_dialer_jobs_skipped_total{reason=\"predial_refused\"}");
    assert_true(skipped == 2);

    e2e_wait_campaign(&st, campaigns[1], "completed", 120000);
    e2e_audit(&st, campaigns[0]);
    e2e_audit(&st, campaigns[1]);
    e2e_stack_stop(&st);
    http_server_free(srv);
    pthread_mutex_destroy(&ep.mu);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_predial_check)

/*
 * End to end: a campaign on a Retell assistant, through the real services,
 * the webhook ingress and the simulator speaking Retell's API.
 *
 *   - the assistant chooses Retell (provider "retell"); the dialers place
 *     its calls with POST /v2/create-phone-call and take its signed
 *     webhooks (call_started, call_ended, call_analyzed) on
 *     /webhooks/retell, while a campaign on a Vapi assistant runs beside it
 *     on the same dialers;
 *   - every outcome is recorded as Retell reported it: completed by a
 *     person (with the post-call variables of call_analysis), voicemail,
 *     busy, no answer and an invalid number, with Retell's
 *     disconnection_reason, talk time and cost;
 *   - a Retell webhook with a bad, stale or missing signature is refused
 *     (401) and records nothing; a correctly signed one is taken;
 *   - the campaign completes and outdial-audit reports every count 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/e2e_support.h"
#include "hmac.h"
#include "test_main.h"

/* At 600x: 2 minutes of talk is 0.2 s real. */
static const char rules[] = "seed 23\n"
                            "ring 20s\n"
                            "talk human 2m\n"
                            "talk human-goal 2m\n"
                            "talk human-no-goal 2m\n"
                            "talk voicemail 30s\n"
                            "cost-per-minute 10\n"
                            "goal-variable " E2E_GOAL "\n"
                            "data notes \"called through Retell\"\n"
                            "match +12125550301 human-goal\n"
                            "match +12125550302 human-no-goal\n"
                            "match +12125550303 voicemail\n"
                            "match +12125550304 busy\n"
                            "match +12125550305 no-answer\n"
                            "match +12125550306 fail-permanent\n"
                            "default human\n";

enum { L_GOAL, L_NO_GOAL, L_VOICEMAIL, L_BUSY, L_NO_ANSWER, L_INVALID, L_COUNT };
static const struct {
    const char *phone;
    const char *status;      /* the call's */
    const char *answered_by; /* NULL: none recorded */
    const char *reason;      /* Retell's disconnection_reason */
    int duration_s;
    size_t calls; /* 2: retried once */
} want[L_COUNT] = {
    {"+12125550301", "completed", "human", "agent_hangup", 120, 1},
    {"+12125550302", "completed", "human", "user_hangup", 120, 1},
    {"+12125550303", "completed", "voicemail", "voicemail_reached", 30, 1},
    {"+12125550304", "busy", NULL, "dial_busy", 0, 2},
    {"+12125550305", "unanswered", NULL, "dial_no_answer", 0, 2},
    {"+12125550306", "failed", NULL, "invalid_destination", 0, 1},
};

/* POST body to the ingress's /webhooks/retell with x-retell-signature sig
 * (NULL: none). */
static e2e_resp_t retell_post(const e2e_stack_t *st, const char *sig, const char *body)
{
    char url[128], header[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/retell", st->ingress.port);
    e2e_resp_t r;
    CURL *curl = httpc_new(url, "POST", &r, 30000L);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (sig) {
        snprintf(header, sizeof(header), "x-retell-signature: %s", sig);
        headers = curl_slist_append(headers, header);
    }
    httpc_body(curl, body, strlen(body));
    httpc_run(curl, headers, &r);
    if (r.curl_rc != CURLE_OK)
        fail_msg("POST %s: %s", url, curl_easy_strerror(r.curl_rc));
    r.json = json_loadb(r.body, r.len, 0, NULL);
    return r;
}

/* "v=<ms>,d=<HMAC-SHA256(key, body || ms)>", as Retell signs. */
static void sign(const char *key, const char *body, long long ms, char *out, size_t len)
{
    char ts[24], digest[HMAC_SHA256_HEX_LEN];
    snprintf(ts, sizeof(ts), "%lld", ms);
    hmac_part_t parts[] = {{body, strlen(body)}, {ts, strlen(ts)}};
    hmac_sha256_hex(key, strlen(key), parts, 2, digest);
    snprintf(out, len, "v=%s,d=%s", ts, digest);
}

/* Webhooks that do not prove they are Retell's are refused before their
 * body is used; the one signed with the key is taken. */
static void signatures_checked(const e2e_stack_t *st, const char *lead_id, const char *campaign_id)
{
    char body[1024], sig[160];
    /* A well-formed call_analyzed for a lead of the campaign: accepted, it
     * would record a result. */
    snprintf(body, sizeof(body),
             "{\"event\":\"call_analyzed\",\"call\":{\"call_id\":\"forged-1\","
             "\"call_status\":\"ended\",\"disconnection_reason\":\"user_hangup\","
             "\"to_number\":\"+12125550399\",\"metadata\":{\"attempt_id\":"
             "\"00000000-0000-4000-8000-0000000000aa\",\"lead_id\":\"%s\",\"campaign_id\":\"%s\","
             "\"account_id\":\"%s\",\"attempt_number\":1}}}",
             lead_id, campaign_id, st->account_id);
    long long now_ms =
        (long long)time(NULL) * 1000; /* real time: signatures are not campaign time */
    const struct {
        const char *what;
        const char *key;
        long long ms;
        bool header;
    } bad[] = {
        {"no signature", NULL, 0, false},
        {"signed with another key", "key_of_someone_else", now_ms, true},
        {"signed ten minutes ago (a replay)", E2E_SIM_KEY, now_ms - 600000, true},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i].header)
            sign(bad[i].key, body, bad[i].ms, sig, sizeof(sig));
        e2e_resp_t r = retell_post(st, bad[i].header ? sig : NULL, body);
        if (r.status != 401)
            fail_msg("%s: HTTP %ld %s (want 401)", bad[i].what, r.status, r.body);
        assert_non_null(strstr(r.body, "x-retell-signature"));
        e2e_resp_free(&r);
    }
    /* The body changed after signing. */
    sign(E2E_SIM_KEY, body, now_ms, sig, sizeof(sig));
    char tampered[1100];
    snprintf(tampered, sizeof(tampered), "%s ", body);
    e2e_resp_t r = retell_post(st, sig, tampered);
    e2e_expect(&r, 401, "a body changed after signing");
    e2e_resp_free(&r);
    /* Nothing of the forged call was recorded. */
    json_t *calls = e2e_lead_calls(st, lead_id);
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) if (strcmp(e2e_str(c, "provider_call_id"), "forged-1") == 0)
        fail_msg("a refused webhook recorded a call");
    json_decref(calls);

    /* Signed with the key: taken (an event outdial does not act on). */
    const char *transcript = "{\"event\":\"transcript_updated\",\"call\":{}}";
    sign(E2E_SIM_KEY, transcript, now_ms, sig, sizeof(sig));
    r = retell_post(st, sig, transcript);
    e2e_expect(&r, 200, "a correctly signed webhook");
    assert_string_equal(e2e_str(r.json, "status"), "ignored");
    e2e_resp_free(&r);
}

static void test_retell_campaign(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    e2e_opts_t opts = {.tag = "e2eretell", .rules = rules, .dialers = 2, .balance = 1000000};
    e2e_stack_start(&st, &opts);

    char retell[37], vapi[37], campaign[37], beside[37], ids[L_COUNT][37], beside_lead[37];
    e2e_assistant_create_on(&st, "retell", "+12125550100", retell);
    e2e_assistant_create(&st, "+12125550100", vapi);
    json_t *a = e2e_get_json(&st, "/v1/assistants/%s", retell);
    assert_string_equal(e2e_str(a, "provider"), "retell");
    json_decref(a);
    a = e2e_get_json(&st, "/v1/assistants/%s", vapi);
    assert_string_equal(e2e_str(a, "provider"), "vapi");
    json_decref(a);

    /* One retry, 10 campaign minutes (1 s) later, for the busy and the
     * unanswered lead; a voicemail is not retried. */
#define SETTINGS                                                                                   \
    E2E_WINDOW_ALWAYS                                                                              \
    ",\"max_retries\":1,\"retry_interval_minutes\":10,\"retry_on_voicemail\":false"
    e2e_campaign_create(&st, retell, SETTINGS, campaign);
    e2e_campaign_create(&st, vapi, SETTINGS, beside);
    for (int k = 0; k < L_COUNT; k++) {
        char body[96];
        snprintf(body, sizeof(body), "{\"phone\":\"%s\",\"variables\":{\"first_name\":\"Ada\"}}",
                 want[k].phone);
        e2e_lead_add(&st, campaign, body, ids[k]);
    }
    e2e_lead_add(&st, beside, "{\"phone\":\"+12125550390\"}", beside_lead);

    e2e_campaign_must(&st, campaign, "start");
    e2e_campaign_must(&st, beside, "start");
    e2e_wait_campaign(&st, campaign, "completed", 120000);
    e2e_wait_campaign(&st, beside, "completed", 120000);

    /* Every Retell call went through Retell's API and its three webhooks
     * (two when it did not connect) reached a dialer. */
    char q[80];
    snprintf(q, sizeof(q), "campaign_id=%s", campaign);
    json_t *sim = e2e_sim_calls(&st, q);
    size_t total = 0;
    for (int k = 0; k < L_COUNT; k++)
        total += want[k].calls;
    assert_int_equal(sim_calls_placed(json_incref(sim)), total);
    size_t i;
    json_t *sc;
    json_array_foreach(sim, i, sc)
    {
        assert_string_equal(e2e_str(sc, "protocol"), "retell");
        /* create-phone-call carried the agent, the numbers, the lead's
         * variables and our attempt in its metadata. */
        assert_string_equal(e2e_str(sc, "assistant_id"), "asst-e2e");
        assert_string_equal(e2e_str(sc, "from_number"), "+12125550100");
        assert_string_equal(e2e_str(sc, "variable_values.first_name"), "Ada");
        assert_string_equal(e2e_str(sc, "metadata.campaign_id"), campaign);
        assert_string_equal(e2e_str(sc, "metadata.attempt_id"), e2e_str(sc, "attempt_id"));
        size_t j;
        json_t *h;
        bool analyzed = false;
        json_array_foreach(json_object_get(sc, "webhooks"), j, h)
        {
            if (strcmp(e2e_str(h, "result"), "sent") != 0)
                fail_msg("a webhook of call %s was not taken: %s", e2e_str(sc, "id"),
                         json_dumps(h, JSON_COMPACT));
            analyzed = analyzed || strcmp(e2e_str(h, "type"), "call_analyzed") == 0;
        }
        assert_true(analyzed);
    }
    json_decref(sim);
    snprintf(q, sizeof(q), "campaign_id=%s", beside);
    sim = e2e_sim_calls(&st, q);
    assert_int_equal(json_array_size(sim), 1);
    assert_string_equal(e2e_str(json_array_get(sim, 0), "protocol"), "vapi");
    json_decref(sim);

    /* Each outcome as Retell reported it. */
    for (int k = 0; k < L_COUNT; k++) {
        json_t *calls = e2e_lead_calls(&st, ids[k]);
        if (json_array_size(calls) != want[k].calls)
            fail_msg("%s: %zu calls, want %zu", want[k].phone, json_array_size(calls),
                     want[k].calls);
        json_t *c = json_array_get(calls, 0);
        json_t *placed = e2e_sim_calls_placed_to(&st, want[k].phone);
        assert_int_equal(json_array_size(placed), want[k].calls);
        assert_string_equal(e2e_str(c, "provider_call_id"),
                            e2e_str(json_array_get(placed, 0), "id"));
        json_decref(placed);
        if (strcmp(e2e_str(c, "status"), want[k].status) != 0 ||
            strcmp(e2e_str(c, "ended_reason"), want[k].reason) != 0 ||
            e2e_int(c, "duration_s") != want[k].duration_s)
            fail_msg("%s: %s", want[k].phone, json_dumps(c, JSON_COMPACT));
        if (want[k].answered_by)
            assert_string_equal(e2e_str(c, "answered_by"), want[k].answered_by);
        if (k == L_GOAL) {
            assert_int_equal(e2e_int(c, "cost_minor"), 20); /* 2 min at 10 cents */
            json_t *v = json_object_get(c, "post_call_variables");
            assert_true(json_is_true(json_object_get(v, E2E_GOAL)));
            assert_string_equal(e2e_str(v, "notes"), "called through Retell");
        }
        if (k == L_NO_GOAL)
            assert_true(json_is_false(
                json_object_get(json_object_get(c, "post_call_variables"), E2E_GOAL)));
        if (k == L_INVALID)
            assert_string_equal(e2e_str(c, "failure_class"), "permanent");
        json_decref(calls);
    }
    json_t *l = e2e_lead(&st, ids[L_GOAL]);
    assert_string_equal(e2e_str(l, "status"), "completed");
    json_decref(l);

    signatures_checked(&st, ids[L_GOAL], campaign);

    e2e_audit(&st, campaign);
    e2e_audit(&st, beside);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_retell_campaign)

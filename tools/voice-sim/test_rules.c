/* Unit tests of the voice simulator's pure parts: the rules file parser and
 * the decisions it drives (table-driven), the faults, the provider's wire
 * format (request validation, messages), the call log's invariants and the
 * timer heap. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "hmac.h"
#include "sim_calls.h"
#include "sim_heap.h"
#include "sim_protocol.h"
#include "sim_retell.h"
#include "sim_rules.h"
#include "sim_vapi.h"
#include "test_main.h"
#include "xmalloc.h"

#define SEC 1000000LL

/* --- durations --- */

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        int64_t us;
    } cases[] = {
        {"90", OD_OK, 90 * SEC},
        {"90s", OD_OK, 90 * SEC},
        {"1.5m", OD_OK, 90 * SEC},
        {"2min", OD_OK, 120 * SEC},
        {"500ms", OD_OK, 500000},
        {"2h", OD_OK, 7200 * SEC},
        {"0", OD_OK, 0},
        {"24h", OD_OK, 24LL * 3600 * SEC},
        {"25h", OD_ERR_INVALID, 0},
        {"", OD_ERR_INVALID, 0},
        {"-1s", OD_ERR_INVALID, 0},
        {"5x", OD_ERR_INVALID, 0},
        {"s", OD_ERR_INVALID, 0},
        {"nan", OD_ERR_INVALID, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = -1;
        int rc = sim_duration_parse(cases[i].text, &us);
        if (rc != cases[i].rc || (rc == OD_OK && us != cases[i].us))
            fail_msg("'%s': rc %d us %lld", cases[i].text, rc, (long long)us);
    }
    sim_range_t r;
    assert_int_equal(sim_range_parse("5s-30s", &r), OD_OK);
    assert_int_equal(r.min_us, 5 * SEC);
    assert_int_equal(r.max_us, 30 * SEC);
    assert_int_equal(sim_range_parse("2m", &r), OD_OK);
    assert_int_equal(r.min_us, 120 * SEC);
    assert_int_equal(r.max_us, 120 * SEC);
    assert_int_equal(sim_range_parse("200ms-2s", &r), OD_OK);
    assert_int_equal(r.min_us, 200000);
    assert_int_equal(sim_range_parse("30s-5s", &r), OD_ERR_INVALID);
    assert_int_equal(sim_range_parse("-5s", &r), OD_ERR_INVALID);
    assert_int_equal(sim_range_parse("5s-", &r), OD_ERR_INVALID);
}

/* --- parsing --- */

static const char good_rules[] =
    "# a comment\n"
    "seed 7\n"
    "goal-variable meeting_set   # trailing comment\n"
    "data interest \"high\"\n"
    "data score {\"a\": [1, 2]}\n"
    "ring 2s-4s\n"
    "ring no-answer 30s\n"
    "talk human-goal 1m-2m\n"
    "cost-per-minute 12\n"
    "reason fail-permanent twilio-reported-customer-misdialed,call.in-progress.error-"
    "providerfault-outbound-sip-403-forbidden\r\n"
    "\n"
    "match +1555000000? busy\n"
    "match +1555* human-goal:3 voicemail:1 busy:0\n"
    "default no-answer\n"
    "fault 5xx 0.1\n"
    "fault timeout 0.05 3s\n"
    "fault slow 0.2 100ms-300ms\n"
    "fault duplicate 0.3\n"
    "fault out-of-order 0.4\n"
    "fault lost 0.5\n"
    "max-concurrent 20\n";

static void test_parse_good(void **state)
{
    (void)state;
    char err[256] = "";
    sim_rules_t *rules = sim_rules_new();
    int rc = sim_rules_parse(rules, good_rules, "good", err, sizeof(err));
    if (rc)
        fail_msg("%s", err);
    assert_true(rules->seed_set);
    assert_int_equal(rules->seed, 7);
    assert_string_equal(rules->goal_variable, "meeting_set");
    assert_string_equal(json_string_value(json_object_get(rules->data, "interest")), "high");
    assert_int_equal(json_array_size(json_object_get(json_object_get(rules->data, "score"), "a")),
                     2);
    /* `ring RANGE` sets every ringing outcome, then one is overridden. */
    assert_int_equal(rules->ring[SIM_OUTCOME_BUSY].max_us, 4 * SEC);
    assert_int_equal(rules->ring[SIM_OUTCOME_HUMAN].min_us, 2 * SEC);
    assert_int_equal(rules->ring[SIM_OUTCOME_NO_ANSWER].min_us, 30 * SEC);
    assert_int_equal(rules->ring[SIM_OUTCOME_FAIL_PERMANENT].min_us, 1 * SEC); /* untouched */
    assert_int_equal(rules->talk[SIM_OUTCOME_HUMAN_GOAL].max_us, 120 * SEC);
    assert_int_equal(rules->cost_per_minute, 12);
    assert_int_equal(rules->nreasons[SIM_OUTCOME_FAIL_PERMANENT], 2);
    assert_string_equal(rules->reasons[SIM_OUTCOME_FAIL_PERMANENT][1],
                        "call.in-progress.error-providerfault-outbound-sip-403-forbidden");
    assert_int_equal(rules->nrules, 2);
    assert_string_equal(rules->rules[0].pattern, "+1555000000?");
    assert_int_equal(rules->rules[0].line, 12);
    assert_int_equal(rules->rules[1].nchoices, 2); /* weight 0 is left out */
    assert_int_equal(rules->fallback.choices[0].outcome, SIM_OUTCOME_NO_ANSWER);
    assert_true(rules->faults.http_5xx == 0.1);
    assert_true(rules->faults.timeout == 0.05);
    assert_int_equal(rules->faults.timeout_ms, 3000);
    assert_int_equal(rules->faults.slow_min_ms, 100);
    assert_int_equal(rules->faults.slow_max_ms, 300);
    assert_true(rules->faults.duplicate == 0.3);
    assert_true(rules->faults.out_of_order == 0.4);
    assert_true(rules->faults.lost == 0.5);
    assert_int_equal(rules->faults.max_concurrent, 20);
    sim_rules_free(rules);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want; /* in the message */
    } cases[] = {
        {"bogus 1\n", "t:1: unknown directive 'bogus'"},
        {"\n\nmatch +1* bussy\n", "t:3: unknown outcome 'bussy' (one of: busy, no-answer,"},
        {"match 1555* busy\n", "cannot match an E.164 number"},
        {"match +1*\n", "match takes a number pattern and an outcome"},
        {"assistant asst-b\n", "assistant takes an assistantId pattern and an outcome"},
        {"assistant asst-b bussy\n", "unknown outcome 'bussy'"},
        {"match +1* busy voicemail\n", "give every outcome a weight"},
        {"match +1* busy:1 busy:2\n", "outcome 'busy' is given twice"},
        {"match +1* busy:0 voicemail:0\n", "the weights add up to 0"},
        {"match +1* busy:x\n", "'x' is not a weight"},
        {"default\n", "an outcome or weighted outcomes"},
        {"ring 30s-5s\n", "is not a duration range"},
        {"talk busy 5s\n", "busy calls are never answered"},
        {"ring fail-transient 5s\n", "never placed"},
        {"cost-per-minute -1\n", "is not a whole number in 0..100000"},
        {"cost-per-minute 1.5\n", "is not a whole number"},
        {"reason fail-transient x\n", "never placed"},
        {"reason busy ,\n", "no value"},
        {"fault lost 1.5\n", "is not a probability"},
        {"fault lost\n", "fault takes a kind and a probability"},
        {"fault timeout 0.1\n", "fault timeout takes a probability and a duration"},
        {"fault slow 0.1 2s-1s\n", "is not a duration range"},
        {"fault weird 0.1\n", "unknown fault 'weird'"},
        {"fault lost 0.1 2s\n", "fault lost takes only a probability"},
        {"seed -3\n", "is not a seed"},
        {"seed\n", "seed takes one number"},
        {"goal-variable\n", "goal-variable takes one name"},
        {"goal-variable 9lives\n", "goal-variable takes one name"},
        {"data x {nope\n", "data x: the value is not JSON"},
        {"data\n", "data takes a variable name and a JSON value"},
        {"data x\n", "data x: the value is not JSON"},
        {"instant now\n", "instant takes nothing"},
        {"max-concurrent lots\n", "is not a whole number"},
        {"match +1* busy:1 no-answer:1 voicemail:1 human:1 human-goal:1 human-no-goal:1 "
         "fail-transient:1 fail-permanent:1 busy:1 busy:1 busy:1 busy:1 busy:1\n",
         "too many words"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "";
        sim_rules_t *rules = sim_rules_new();
        int rc = sim_rules_parse(rules, cases[i].text, "t", err, sizeof(err));
        sim_rules_free(rules);
        if (rc != OD_ERR_INVALID || !strstr(err, cases[i].want))
            fail_msg("case %zu (%s): rc %d, message '%s', wanted '%s'", i, cases[i].text, rc, err,
                     cases[i].want);
    }
    /* A long line is refused, not cut. */
    char *text = xmalloc(SIM_LINE_MAX + 20);
    memset(text, ' ', SIM_LINE_MAX + 10);
    memcpy(text, "seed 1", 6);
    text[SIM_LINE_MAX + 10] = '\0';
    char err[256];
    sim_rules_t *rules = sim_rules_new();
    assert_int_equal(sim_rules_parse(rules, text, "t", err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "line longer than"));
    sim_rules_free(rules);
    free(text);
}

static void test_shipped_rules_files_parse(void **state)
{
    (void)state;
    const char *files[] = {"rules.example", "rules.demo"};
    /* In the tree that ctest names, wherever the test runs from (__FILE__
     * is relative when ccache's CCACHE_BASEDIR rewrites the paths). */
    const char *dir = getenv("OUTDIAL_SOURCE_DIR");
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/tools/voice-sim/%s", dir ? dir : ".", files[i]);
        char err[512] = "";
        sim_rules_t *rules = NULL;
        if (sim_rules_load(path, &rules, err, sizeof(err)) != OD_OK)
            fail_msg("%s", err);
        sim_rules_free(rules);
    }
    char err[256];
    sim_rules_t *rules = NULL;
    assert_int_equal(sim_rules_load("/nonexistent/rules", &rules, err, sizeof(err)), OD_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/rules"));
}

/* --- decisions --- */

static sim_rules_t *rules_from(const char *text)
{
    char err[512] = "";
    sim_rules_t *rules = sim_rules_new();
    if (sim_rules_parse(rules, text, "t", err, sizeof(err)) != OD_OK)
        fail_msg("%s", err);
    return rules;
}

static void test_decide_by_pattern(void **state)
{
    (void)state;
    sim_rules_t *rules = rules_from("match +15550000001 busy\n"
                                    "match +1555000000[2-3] fail-permanent\n"
                                    "match +1555* human-goal\n"
                                    "match +44* voicemail\n"
                                    "default no-answer\n"
                                    "ring 10s\n"
                                    "ring fail-permanent 1s\n"
                                    "talk 1m\n"
                                    "cost-per-minute 12\n");
    static const struct {
        const char *number;
        sim_outcome_t outcome;
        int line;
        int64_t ring_us, talk_us, cost;
        const char *reason;
    } cases[] = {
        {"+15550000001", SIM_OUTCOME_BUSY, 1, 10 * SEC, 0, 0, "customer-busy"},
        {"+15550000002", SIM_OUTCOME_FAIL_PERMANENT, 2, 1 * SEC, 0, 0,
         "twilio-reported-customer-misdialed"},
        {"+15550000009", SIM_OUTCOME_HUMAN_GOAL, 3, 10 * SEC, 60 * SEC, 12, NULL},
        {"+442071234567", SIM_OUTCOME_VOICEMAIL, 4, 10 * SEC, 60 * SEC, 12, "voicemail"},
        {"+4915112345678", SIM_OUTCOME_NO_ANSWER, 5, 10 * SEC, 0, 0, "customer-did-not-answer"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sim_decision_t d;
        sim_rules_decide(rules, 1, cases[i].number, "attempt-1", &d);
        if (d.outcome != cases[i].outcome || d.rule_line != cases[i].line ||
            d.ring_us != cases[i].ring_us || d.talk_us != cases[i].talk_us ||
            d.cost_cents != cases[i].cost)
            fail_msg("%s: outcome %s line %d ring %lld talk %lld cost %lld", cases[i].number,
                     sim_outcome_name(d.outcome), d.rule_line, (long long)d.ring_us,
                     (long long)d.talk_us, (long long)d.cost_cents);
        if (cases[i].reason)
            assert_string_equal(d.ended_reason, cases[i].reason);
        else
            assert_non_null(d.ended_reason);
    }
    sim_rules_free(rules);
}

static void test_decide_costs_and_instant(void **state)
{
    (void)state;
    /* Cost: talk time at cents per minute, rounded up to a whole cent. */
    static const struct {
        const char *talk;
        int64_t cpm, cents;
    } cases[] = {
        {"60s", 10, 10}, {"61s", 10, 11}, {"90s", 12, 18}, {"1s", 1, 1}, {"0s", 50, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "default human\ntalk %s\ncost-per-minute %lld\n",
                 cases[i].talk, (long long)cases[i].cpm);
        sim_rules_t *rules = rules_from(text);
        sim_decision_t d;
        sim_rules_decide(rules, 3, "+15551230000", "a", &d);
        assert_int_equal(d.cost_cents, cases[i].cents);
        sim_rules_free(rules);
    }
    sim_rules_t *rules = rules_from("default human-goal\ninstant\n");
    sim_decision_t d;
    sim_rules_decide(rules, 3, "+15551230000", "a", &d);
    assert_int_equal(d.ring_us, 0);
    assert_int_equal(d.talk_us, 0);
    assert_int_equal(d.cost_cents, 0);
    sim_rules_free(rules);
    /* fail-transient is decided but has nothing else. */
    rules = rules_from("default fail-transient\n");
    sim_rules_decide(rules, 3, "+15551230000", "a", &d);
    assert_int_equal(d.outcome, SIM_OUTCOME_FAIL_TRANSIENT);
    assert_null(d.ended_reason);
    sim_rules_free(rules);
}

static void test_decide_deterministic_and_weighted(void **state)
{
    (void)state;
    sim_rules_t *rules =
        rules_from("default busy:1 no-answer:2 human-goal:1\nring 1s-100s\ntalk 1s-100s\n");
    int counts[SIM_OUTCOME_COUNT] = {0};
    int same_as_other_seed = 0;
    const int n = 4000;
    for (int i = 0; i < n; i++) {
        char number[32], attempt[32];
        snprintf(number, sizeof(number), "+1555%07d", i % 97);
        snprintf(attempt, sizeof(attempt), "att-%d", i);
        sim_decision_t a, b, c;
        sim_rules_decide(rules, 42, number, attempt, &a);
        sim_rules_decide(rules, 42, number, attempt, &b);
        sim_rules_decide(rules, 43, number, attempt, &c);
        assert_memory_equal(&a, &b, sizeof(a));
        counts[a.outcome]++;
        same_as_other_seed += a.outcome == c.outcome && a.ring_us == c.ring_us;
        assert_true(a.ring_us >= 1 * SEC && a.ring_us <= 100 * SEC);
        assert_int_equal(a.ring_us % 1000, 0);
    }
    /* 1:2:1 within a few percent. */
    assert_in_range(counts[SIM_OUTCOME_BUSY], n / 4 - 200, n / 4 + 200);
    assert_in_range(counts[SIM_OUTCOME_NO_ANSWER], n / 2 - 200, n / 2 + 200);
    assert_in_range(counts[SIM_OUTCOME_HUMAN_GOAL], n / 4 - 200, n / 4 + 200);
    /* Another seed decides differently. */
    assert_true(same_as_other_seed < n / 10);
    sim_rules_free(rules);

    /* The hash is pinned: a change would change every run's outcomes. */
    assert_true(sim_hash64(1, "a", "b", 0, "x") == 0xfc136633d76e0dd8ULL);
    assert_true(sim_hash64(1, "ab", NULL, 0, "x") != sim_hash64(1, "a", "b", 0, "x"));
    assert_true(sim_hash64(1, "a", "b", 0, "x") != sim_hash64(2, "a", "b", 0, "x"));
    double u = sim_hash_unit(9, "+15550000000", "att", 0, "outcome");
    assert_true(u >= 0.0 && u < 1.0);
}

/* --- faults --- */

static void test_faults(void **state)
{
    (void)state;
    sim_faults_t f = {0};
    sim_request_faults_t rf;
    sim_message_faults_t mf;
    for (uint64_t i = 0; i < 50; i++) {
        sim_faults_decide_request(&f, 1, "k", i, &rf);
        assert_false(rf.http_5xx || rf.delay_ms || rf.timeout || rf.disorder);
        sim_faults_decide_message(&f, 1, "k", i, 2, &mf);
        assert_false(mf.lost || mf.duplicate);
    }
    char err[256];
    json_t *update = json_loads("{\"http_5xx\":1,\"timeout\":{\"p\":0.5,\"seconds\":3},"
                                "\"slow\":{\"p\":1,\"min_ms\":10,\"max_ms\":20},\"duplicate\":1,"
                                "\"out_of_order\":1,\"lost\":0,\"max_concurrent\":7}",
                                0, NULL);
    assert_int_equal(sim_faults_update_json(&f, update, err, sizeof(err)), OD_OK);
    json_decref(update);
    assert_int_equal(f.timeout_ms, 3000);
    assert_int_equal(f.max_concurrent, 7);
    sim_faults_decide_request(&f, 1, "k", 0, &rf);
    assert_true(rf.http_5xx);
    f.http_5xx = 0;
    f.timeout = 0;
    sim_faults_decide_request(&f, 1, "k", 0, &rf);
    assert_in_range(rf.delay_ms, 10, 20);
    assert_false(rf.timeout);
    assert_true(rf.disorder == SIM_DISORDER_REPORT_FIRST ||
                rf.disorder == SIM_DISORDER_LATE_ANSWER);
    sim_faults_decide_message(&f, 1, "k", 0, 3, &mf);
    assert_true(mf.duplicate);

    /* Round trip, and bad updates leave the faults alone. */
    json_t *j = sim_faults_to_json(&f);
    sim_faults_t g = {0};
    assert_int_equal(sim_faults_update_json(&g, j, err, sizeof(err)), OD_OK);
    json_decref(j);
    assert_memory_equal(&f, &g, sizeof(f));
    static const struct {
        const char *json;
        const char *want;
    } bad[] = {
        {"[]", "must be a JSON object"},
        {"{\"lost\":2}", "lost must be a number between 0 and 1"},
        {"{\"lost\":\"x\"}", "lost must be a number"},
        {"{\"nope\":1}", "nope is not a fault setting"},
        {"{\"timeout\":{\"p\":1,\"hours\":1}}", "timeout.hours is not a fault setting"},
        {"{\"timeout\":5}", "timeout must be an object"},
        {"{\"slow\":{\"min_ms\":30,\"max_ms\":20}}", "slow.min_ms is above slow.max_ms"},
        {"{\"max_concurrent\":-1}", "max_concurrent must be a whole number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sim_faults_t before = g;
        json_t *u = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(u);
        err[0] = '\0';
        assert_int_equal(sim_faults_update_json(&g, u, err, sizeof(err)), OD_ERR_INVALID);
        json_decref(u);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: '%s'", bad[i].json, err);
        assert_memory_equal(&before, &g, sizeof(g));
    }
}

/* --- wire format --- */

static void test_request_parse(void **state)
{
    (void)state;
    const char body[] =
        "{\"assistantId\":\"asst-1\",\"phoneNumberId\":\"pn-1\","
        "\"customer\":{\"number\":\"+14155550100\",\"name\":\"Ada\"},"
        "\"assistantOverrides\":{\"variableValues\":{\"first_name\":\"Ada\"},"
        "\"server\":{\"url\":\"http://127.0.0.1:9/hook\",\"secret\":\"s3\"}},"
        "\"metadata\":{\"attempt_id\":\"att-1\",\"leadId\":42,\"campaign_id\":\"c-1\"}}";
    sim_call_request_t req;
    json_t *problems = NULL;
    assert_int_equal(sim_vapi_request_parse(body, strlen(body), &req, &problems), OD_OK);
    assert_null(problems);
    assert_string_equal(req.number, "+14155550100");
    assert_string_equal(req.customer_name, "Ada");
    assert_string_equal(req.assistant_id, "asst-1");
    assert_string_equal(req.phone_number_id, "pn-1");
    assert_string_equal(req.attempt_id, "att-1");
    assert_string_equal(req.lead_id, "42");
    assert_string_equal(req.campaign_id, "c-1");
    assert_string_equal(req.server_url, "http://127.0.0.1:9/hook");
    assert_string_equal(req.server_secret, "s3");
    assert_null(req.from_number);
    sim_vapi_request_clear(&req);

    /* A transient phoneNumber instead of a stored one: its number is the
     * call's from_number (a caller-ID pool number without a provider id). */
    const char transient[] = "{\"assistantId\":\"asst-1\",\"phoneNumber\":{\"number\":"
                             "\"+12125550199\"},\"customer\":{\"number\":\"+14155550100\"}}";
    assert_int_equal(sim_vapi_request_parse(transient, strlen(transient), &req, &problems), OD_OK);
    assert_null(problems);
    assert_null(req.phone_number_id);
    assert_string_equal(req.from_number, "+12125550199");
    sim_vapi_request_clear(&req);

    char *err = sim_vapi_error_body(400, json_pack("[s]", "x"));
    assert_string_equal(err, "{\"message\":[\"x\"],\"error\":\"Bad Request\",\"statusCode\":400}");
    free(err);
}

/* Every body of tests/unit/cases/voice_sim_request_problems.tsv is refused
 * by its protocol's parser, with a problem that contains the row's text. */
static void test_request_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int (*parse)(const char *body, size_t len, sim_call_request_t *req, json_t **problems);
    } parsers[] = {{"vapi", sim_vapi_request_parse}, {"retell", sim_retell_request_parse}};
    static const char *const columns[] = {"protocol", "body", "problem"};
    case_file_t *cf = case_file_load("voice_sim_request_problems", columns, 3, 23);
    for (size_t i = 0; i < cf->n_rows; i++) {
        const char *protocol = case_file_cell(cf, i, 0), *body = case_file_cell(cf, i, 1);
        size_t p = 0, n = sizeof(parsers) / sizeof(parsers[0]);
        while (p < n && strcmp(parsers[p].name, protocol) != 0)
            p++;
        if (p == n)
            fail_msg("%s: no protocol %s", body, protocol);
        sim_call_request_t req;
        json_t *problems = NULL;
        assert_int_equal(parsers[p].parse(body, strlen(body), &req, &problems), OD_ERR_INVALID);
        char *text = json_dumps(problems, 0);
        if (!strstr(text, case_file_cell(cf, i, 2)))
            fail_msg("%s %s: %s", protocol, body, text);
        free(text);
        json_decref(problems);
    }
    case_file_free(cf);
}

static void test_auth_and_numbers(void **state)
{
    (void)state;
    assert_true(sim_vapi_bearer_ok("Bearer k-123", "k-123"));
    assert_true(sim_vapi_bearer_ok("bearer k-123", "k-123"));
    assert_false(sim_vapi_bearer_ok("Bearer k-12", "k-123"));
    assert_false(sim_vapi_bearer_ok("Bearer k-1234", "k-123"));
    assert_false(sim_vapi_bearer_ok("Bearer ", "k-123"));
    assert_false(sim_vapi_bearer_ok("k-123", "k-123"));
    assert_false(sim_vapi_bearer_ok(NULL, "k-123"));
    assert_true(sim_secret_equal("", ""));
    assert_false(sim_secret_equal("a", ""));
    static const struct {
        const char *n;
        bool ok;
    } nums[] = {{"+14155550100", true},
                {"+12", true},
                {"+1", false},
                {"+04155550100", false},
                {"14155550100", false},
                {"+1415555010a", false},
                {"+1234567890123456", false},
                {"+123456789012345", true}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (sim_vapi_e164_ok(nums[i].n) != nums[i].ok)
            fail_msg("%s", nums[i].n);
}

static sim_call_t *call_make(const char *id, const char *number, const char *attempt,
                             int64_t received_s, int64_t end_s)
{
    sim_call_t *call = sim_call_new();
    snprintf(call->id, sizeof(call->id), "%s", id);
    call->number = xstrdup(number);
    call->attempt_id = attempt ? xstrdup(attempt) : NULL;
    call->placed = true;
    call->http_status = 201;
    call->received_us = received_s * SEC;
    call->end_plan_us = end_s * SEC;
    return call;
}

static void test_messages(void **state)
{
    (void)state;
    sim_rules_t *rules = rules_from("goal-variable appointment_booked\ndata tier \"gold\"\n"
                                    "cost-per-minute 12\n");
    sim_call_t *call = call_make("c1", "+14155550100", "att-1", 1772949600, 1772949700);
    call->phone_number_id = xstrdup("pn-1");
    call->assistant_id = xstrdup("asst-1");
    call->metadata = json_pack("{s:s}", "attempt_id", "att-1");
    call->overrides = json_pack("{s:{s:s}}", "variableValues", "first_name", "Ada");
    call->decided = true;
    call->decision.outcome = SIM_OUTCOME_HUMAN_GOAL;
    call->decision.ended_reason = "customer-ended-call";
    call->decision.talk_us = 90 * SEC;
    call->decision.cost_cents = 18;
    call->ringing_us = call->received_us;
    call->answered_us = call->received_us + 10 * SEC;
    call->ended_us = call->answered_us + 90 * SEC;

    char *text = sim_vapi_message(call, SIM_HOOK_RINGING, call->ringing_us, rules);
    json_t *root = json_loads(text, 0, NULL);
    json_t *m = json_object_get(root, "message");
    assert_string_equal(json_string_value(json_object_get(m, "type")), "status-update");
    assert_string_equal(json_string_value(json_object_get(m, "status")), "ringing");
    assert_int_equal(json_integer_value(json_object_get(m, "timestamp")), 1772949600000LL);
    json_t *c = json_object_get(m, "call");
    assert_string_equal(json_string_value(json_object_get(c, "id")), "c1");
    assert_string_equal(json_string_value(json_object_get(c, "status")), "ringing");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "metadata"), "attempt_id")), "att-1");
    assert_null(json_object_get(m, "endedReason"));
    json_decref(root);
    free(text);

    text = sim_vapi_message(call, SIM_HOOK_REPORT, call->ended_us, rules);
    root = json_loads(text, 0, NULL);
    m = json_object_get(root, "message");
    assert_string_equal(json_string_value(json_object_get(m, "type")), "end-of-call-report");
    assert_string_equal(json_string_value(json_object_get(m, "endedReason")),
                        "customer-ended-call");
    assert_string_equal(json_string_value(json_object_get(m, "startedAt")),
                        "2026-03-08T06:00:10.000Z");
    assert_string_equal(json_string_value(json_object_get(m, "endedAt")),
                        "2026-03-08T06:01:40.000Z");
    assert_true(json_real_value(json_object_get(m, "durationSeconds")) == 90.0);
    assert_non_null(strstr(text, "\"cost\":0.18,"));
    json_t *sd = json_object_get(json_object_get(m, "analysis"), "structuredData");
    assert_true(json_is_true(json_object_get(sd, "appointment_booked")));
    assert_string_equal(json_string_value(json_object_get(sd, "tier")), "gold");
    c = json_object_get(m, "call");
    assert_string_equal(json_string_value(json_object_get(c, "status")), "ended");
    assert_string_equal(json_string_value(json_object_get(c, "endedReason")),
                        "customer-ended-call");
    json_decref(root);
    free(text);

    /* A busy call: no startedAt, zero duration, no post-call variables. */
    call->decision.outcome = SIM_OUTCOME_BUSY;
    call->decision.ended_reason = "customer-busy";
    call->decision.talk_us = 0;
    call->decision.cost_cents = 0;
    call->answered_us = 0;
    text = sim_vapi_message(call, SIM_HOOK_ENDED, call->ended_us, rules);
    root = json_loads(text, 0, NULL);
    m = json_object_get(root, "message");
    assert_string_equal(json_string_value(json_object_get(m, "status")), "ended");
    assert_string_equal(json_string_value(json_object_get(m, "endedReason")), "customer-busy");
    json_decref(root);
    free(text);
    text = sim_vapi_message(call, SIM_HOOK_REPORT, call->ended_us, rules);
    root = json_loads(text, 0, NULL);
    m = json_object_get(root, "message");
    assert_null(json_object_get(m, "startedAt"));
    assert_true(json_real_value(json_object_get(m, "durationSeconds")) == 0.0);
    assert_int_equal(
        json_object_size(json_object_get(json_object_get(m, "analysis"), "structuredData")), 0);
    json_decref(root);
    free(text);
    sim_call_free(call);
    sim_rules_free(rules);
}

/* `data-first`: the variable on the first call to a matching number only. */
static void test_first_data(void **state)
{
    (void)state;
    sim_rules_t *rules = rules_from("data-first +1415555010? callback_at \"2026-03-12T15:00\"\n"
                                    "data-first +14155550100 note {\"said\": \"later\"}\n");
    sim_call_t *call = call_make("c1", "+14155550100", "att-1", 1772949600, 1772949700);
    call->decided = true;
    call->decision.outcome = SIM_OUTCOME_HUMAN;
    for (int first = 0; first < 2; first++) {
        call->first_to_number = first;
        json_t *sd = sim_post_call_variables(call, rules);
        if (first) {
            assert_string_equal(json_string_value(json_object_get(sd, "callback_at")),
                                "2026-03-12T15:00");
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(sd, "note"), "said")), "later");
        } else {
            assert_null(json_object_get(sd, "callback_at"));
        }
        json_decref(sd);
    }
    free(call->number);
    call->number = xstrdup("+14155550200"); /* matches neither */
    call->first_to_number = true;
    json_t *sd = sim_post_call_variables(call, rules);
    assert_null(json_object_get(sd, "callback_at"));
    json_decref(sd);
    sim_call_free(call);
    sim_rules_free(rules);

    char err[256];
    rules = sim_rules_new();
    assert_int_equal(
        sim_rules_parse(rules, "data-first +1* callback_at {oops\n", "bad", err, sizeof(err)),
        OD_ERR_INVALID);
    assert_non_null(strstr(err, "not JSON"));
    assert_int_equal(sim_rules_parse(rules, "data-first +1*\n", "bad", err, sizeof(err)),
                     OD_ERR_INVALID);
    sim_rules_free(rules);
}

/* --- call log --- */

static void test_invariants(void **state)
{
    (void)state;
    sim_calls_t log;
    sim_calls_init(&log);
    /* att-1 twice (a double dial); +1..01 overlapping; +1..02 back to back. */
    sim_calls_add(&log, call_make("a", "+15550000001", "att-1", 100, 200));
    sim_calls_add(&log, call_make("b", "+15550000001", "att-1", 150, 250));
    sim_calls_add(&log, call_make("c", "+15550000002", "att-2", 100, 200));
    sim_calls_add(&log, call_make("d", "+15550000002", "att-3", 200, 300));
    sim_call_t *rejected = call_make("e", "+15550000002", "att-3", 210, 220);
    rejected->placed = false; /* a 5xx: not a dial */
    sim_calls_add(&log, rejected);
    sim_call_t *ended = call_make("f", "+15550000003", "att-4", 100, 900);
    ended->ended_us = 120 * SEC; /* ended earlier than planned (shutdown) */
    sim_calls_add(&log, ended);
    sim_calls_add(&log, call_make("g", "+15550000003", "att-5", 130, 140));
    uint64_t dd = 0, ov = 0;
    json_t *inv = sim_calls_invariants(&log, &dd, &ov);
    assert_int_equal(dd, 1);
    assert_int_equal(ov, 1);
    assert_false(json_is_true(json_object_get(inv, "ok")));
    json_t *first = json_array_get(json_object_get(inv, "overlapping"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "number")), "+15550000001");
    json_t *dialed = json_array_get(json_object_get(inv, "double_dialed"), 0);
    assert_string_equal(json_string_value(json_object_get(dialed, "attempt_id")), "att-1");
    assert_int_equal(json_array_size(json_object_get(dialed, "calls")), 2);
    json_decref(inv);

    assert_ptr_equal(sim_calls_find(&log, "d"), log.calls[3]);
    assert_null(sim_calls_find(&log, "zz"));
    assert_int_equal(sim_calls_key_bump(&log, "att-9"), 0);
    assert_int_equal(sim_calls_key_bump(&log, "att-9"), 1);
    json_t *q = sim_calls_query(&log, "+15550000002", NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(q, "count")), 3);
    json_decref(q);
    q = sim_calls_query(&log, NULL, NULL, "att-1");
    assert_int_equal(json_integer_value(json_object_get(q, "count")), 2);
    json_decref(q);
    sim_calls_clear(&log);
}

/* --- heap --- */

static void test_heap(void **state)
{
    (void)state;
    sim_heap_t heap;
    sim_heap_init(&heap);
    static int items[2000];
    uint64_t x = 12345;
    for (int i = 0; i < 2000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        items[i] = i;
        sim_heap_push(&heap, (int64_t)((x >> 33) % 500), &items[i]);
    }
    sim_timer_t prev = {.due_us = -1}, t;
    size_t n = 0;
    while (sim_heap_pop(&heap, &t)) {
        assert_true(t.due_us > prev.due_us || (t.due_us == prev.due_us && t.seq > prev.seq));
        /* Ties come out in insertion order. */
        if (t.due_us == prev.due_us)
            assert_true(*(int *)t.item > *(int *)prev.item);
        prev = t;
        n++;
    }
    assert_int_equal(n, 2000);
    assert_null(sim_heap_peek(&heap));
    sim_heap_clear(&heap);
}

/* `assistant` lines decide by the call's assistantId, in file order with
 * the `match` lines; a call without an assistantId, or of another
 * assistant, falls through to the next line. */
static void test_decide_by_assistant(void **state)
{
    (void)state;
    sim_rules_t *rules = rules_from("match +15550000001 busy\n"
                                    "assistant asst-good* human-goal\n"
                                    "assistant asst-bad human-no-goal\n"
                                    "default no-answer\n");
    static const struct {
        const char *number, *assistant;
        sim_outcome_t outcome;
        int line;
    } cases[] = {
        {"+15550000001", "asst-good-1", SIM_OUTCOME_BUSY, 1},
        {"+15550000002", "asst-good-1", SIM_OUTCOME_HUMAN_GOAL, 2},
        {"+15550000002", "asst-bad", SIM_OUTCOME_HUMAN_NO_GOAL, 3},
        {"+15550000002", "asst-other", SIM_OUTCOME_NO_ANSWER, 4},
        {"+15550000002", NULL, SIM_OUTCOME_NO_ANSWER, 4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sim_decision_t d;
        sim_rules_decide_for(rules, 1, cases[i].number, cases[i].assistant, "attempt-1", &d);
        if (d.outcome != cases[i].outcome || d.rule_line != cases[i].line)
            fail_msg("%s by %s: %s from line %d", cases[i].number,
                     cases[i].assistant ? cases[i].assistant : "(none)",
                     sim_outcome_name(d.outcome), d.rule_line);
    }
    /* Without an assistant, sim_rules_decide is sim_rules_decide_for(NULL). */
    sim_decision_t a, b;
    sim_rules_decide(rules, 7, "+15550000003", "att", &a);
    sim_rules_decide_for(rules, 7, "+15550000003", NULL, "att", &b);
    assert_memory_equal(&a, &b, sizeof(a));
    sim_rules_free(rules);
}

/* Retell's webhook of kind for call at campaign time at_us, parsed; its
 * event must be event. Caller json_decref()s. */
static json_t *retell_webhook(const sim_call_t *call, sim_hook_kind_t kind, int64_t at_us,
                              const sim_rules_t *rules, const char *event)
{
    char *text = sim_protocol_retell.message(call, kind, at_us, rules);
    assert_non_null(text);
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "event")), event);
    return root;
}

/* Retell's protocol: the create-phone-call body, the call object through a
 * call's life, its three webhooks (none for ringing), the signature, and
 * the error body. */
static void test_retell_protocol(void **state)
{
    (void)state;
    sim_call_request_t req;
    json_t *problems = NULL;
    const char *good = "{\"from_number\":\"+12125550100\",\"to_number\":\"+14155550100\","
                       "\"override_agent_id\":\"agent-1\",\"metadata\":{\"attempt_id\":\"att-1\","
                       "\"lead_id\":\"l-1\",\"campaign_id\":\"c-1\"},"
                       "\"retell_llm_dynamic_variables\":{\"first_name\":\"Ada\"}}";
    assert_int_equal(sim_retell_request_parse(good, strlen(good), &req, &problems), OD_OK);
    assert_string_equal(req.number, "+14155550100");
    assert_string_equal(req.from_number, "+12125550100");
    assert_string_equal(req.assistant_id, "agent-1");
    assert_string_equal(req.attempt_id, "att-1");
    assert_string_equal(req.campaign_id, "c-1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(req.overrides, "variableValues"), "first_name")),
                        "Ada");
    assert_null(req.server_url); /* Retell's webhooks go to the agent's URL */
    sim_vapi_request_clear(&req);

    sim_rules_t *rules = rules_from("goal-variable appointment_booked\ncost-per-minute 12\n");
    sim_call_t *call = call_make("c1", "+14155550100", "att-1", 1772949600, 1772949700);
    call->protocol = &sim_protocol_retell;
    call->from_number = xstrdup("+12125550100");
    call->assistant_id = xstrdup("agent-1");
    call->metadata = json_pack("{s:s}", "attempt_id", "att-1");
    call->decided = true;
    call->decision.outcome = SIM_OUTCOME_HUMAN_GOAL;
    call->decision.talk_us = 90 * SEC;
    call->decision.cost_cents = 18;
    call->ringing_us = call->received_us;
    call->answered_us = call->received_us + 10 * SEC;
    call->ended_us = call->answered_us + 90 * SEC;

    json_t *obj = sim_protocol_retell.call_object(call, "queued", rules);
    assert_string_equal(json_string_value(json_object_get(obj, "call_id")), "c1");
    assert_string_equal(json_string_value(json_object_get(obj, "call_status")), "registered");
    assert_null(json_object_get(obj, "start_timestamp"));
    json_decref(obj);
    assert_null(sim_protocol_retell.message(call, SIM_HOOK_RINGING, call->ringing_us, rules));

    json_t *root =
        retell_webhook(call, SIM_HOOK_IN_PROGRESS, call->answered_us, rules, "call_started");
    json_t *c = json_object_get(root, "call");
    assert_string_equal(json_string_value(json_object_get(c, "call_status")), "ongoing");
    assert_int_equal(json_integer_value(json_object_get(c, "start_timestamp")), 1772949610000LL);
    assert_string_equal(json_string_value(json_object_get(c, "to_number")), "+14155550100");
    assert_string_equal(json_string_value(json_object_get(c, "from_number")), "+12125550100");
    json_decref(root);

    root = retell_webhook(call, SIM_HOOK_ENDED, call->ended_us, rules, "call_ended");
    c = json_object_get(root, "call");
    assert_string_equal(json_string_value(json_object_get(c, "call_status")), "ended");
    assert_string_equal(json_string_value(json_object_get(c, "disconnection_reason")),
                        "agent_hangup");
    assert_null(json_object_get(c, "call_analysis")); /* that is call_analyzed's */
    json_decref(root);

    root = retell_webhook(call, SIM_HOOK_REPORT, call->ended_us, rules, "call_analyzed");
    c = json_object_get(root, "call");
    assert_int_equal(json_integer_value(json_object_get(c, "end_timestamp")), 1772949700000LL);
    assert_int_equal(json_integer_value(json_object_get(c, "duration_ms")), 90000);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c, "call_cost"), "combined_cost")), 18);
    json_t *an = json_object_get(c, "call_analysis");
    assert_false(json_is_true(json_object_get(an, "in_voicemail")));
    assert_true(json_is_true(
        json_object_get(json_object_get(an, "custom_analysis_data"), "appointment_booked")));
    json_decref(root);

    /* Busy: not connected, no start, no talk time. */
    call->decision.outcome = SIM_OUTCOME_BUSY;
    call->decision.talk_us = 0;
    call->answered_us = 0;
    obj = sim_protocol_retell.call_object(call, "ended", rules);
    assert_string_equal(json_string_value(json_object_get(obj, "call_status")), "not_connected");
    assert_string_equal(json_string_value(json_object_get(obj, "disconnection_reason")),
                        "dial_busy");
    assert_null(json_object_get(obj, "start_timestamp"));
    assert_int_equal(json_integer_value(json_object_get(obj, "duration_ms")), 0);
    json_decref(obj);
    call->decision.outcome = SIM_OUTCOME_VOICEMAIL;
    call->answered_us = call->received_us + 10 * SEC;
    obj = sim_protocol_retell.call_object(call, "ended", rules);
    assert_string_equal(json_string_value(json_object_get(obj, "disconnection_reason")),
                        "voicemail_reached");
    assert_true(
        json_is_true(json_object_get(json_object_get(obj, "call_analysis"), "in_voicemail")));
    json_decref(obj);

    /* The signature: v=<ms>,d=<HMAC-SHA256(key, body || ms)>. */
    char *sig = sim_retell_signature("key_1", "{}", 1772949610000LL);
    char want[HMAC_SHA256_HEX_LEN];
    hmac_part_t parts[] = {{"{}1772949610000", 15}};
    hmac_sha256_hex("key_1", 5, parts, 1, want);
    char *expected = xasprintf("v=1772949610000,d=%s", want);
    assert_string_equal(sig, expected);
    free(expected);
    free(sig);
    char *line = sim_protocol_retell.webhook_auth(call, "key_1", "{}", 1772949610000LL);
    assert_int_equal(strncmp(line, "x-retell-signature: v=1772949610000,d=", 38), 0);
    free(line);
    assert_string_equal(sim_protocol_retell.hook_name(SIM_HOOK_REPORT), "call_analyzed");

    char *err = sim_protocol_retell.error_body(400, json_pack("[s,s]", "a", "b"));
    assert_string_equal(err, "{\"status\":\"error\",\"message\":\"a; b\"}");
    free(err);
    sim_call_free(call);
    sim_rules_free(rules);
}

OD_TEST_MAIN(NULL, NULL, test_durations, test_parse_good, test_parse_errors, test_first_data,
             test_shipped_rules_files_parse, test_decide_by_pattern, test_decide_costs_and_instant,
             test_decide_deterministic_and_weighted, test_faults, test_request_parse,
             test_request_refusals, test_auth_and_numbers, test_messages, test_invariants,
             test_heap, test_decide_by_assistant, test_retell_protocol)

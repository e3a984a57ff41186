/*
 * End to end: an A/B test of two assistants, through the real services
 * (API, scheduler, importer, two dialers) and the voice simulator.
 *
 * The simulator's rules give the "strong" assistant (its provider id
 * asst-ab-strong) three goals for every refusal and the "weak" one the
 * reverse; a third of the calls of both go unanswered and are retried.
 * The campaign splits 400 leads 70/30 between them.
 *
 *   - the API refuses arms of the wrong count, weight or assistant, with
 *     the field arms; start refuses an arm whose assistant has no outbound
 *     number (no_phone_number naming the arm); once the campaign has run,
 *     its arms no longer change (409), while the same arms are accepted;
 *   - the campaign completes; every lead's calls (retries included) were
 *     all placed by one assistant, its arm's, as the simulator received
 *     them and as the call rows record them;
 *   - each lead's stored arm is lib/rules' pick for its id, and the split
 *     is within five standard deviations of 70/30;
 *   - the statistics per arm equal a recount in SQL, the intervals hold
 *     the rates, and the strong arm's interval lies above the weak one's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <math.h>

#include "ab_arm.h"
#include "e2e_support.h"
#include "test_main.h"

#define N_LEADS 400

static const char rules[] = "seed 19\n"
                            "goal-variable " E2E_GOAL "\n"
                            "ring 5s-20s\n"
                            "ring no-answer 25s-35s\n"
                            "talk human-goal 30s-1m\n"
                            "talk human-no-goal 30s-1m\n"
                            "assistant asst-ab-strong human-goal:3 human-no-goal:1 no-answer:2\n"
                            "assistant asst-ab-weak human-goal:1 human-no-goal:3 no-answer:2\n"
                            "default busy\n";

/* Campaign bodies the API refuses, each naming the field arms. */
static void arms_refused(const e2e_stack_t *st, const char *a, const char *b)
{
    char bad[5][400];
    snprintf(bad[0], sizeof(bad[0]), "\"arms\":[{\"assistant_id\":\"%s\",\"weight\":1}]", a);
    snprintf(bad[1], sizeof(bad[1]),
             "\"arms\":[{\"assistant_id\":\"%s\",\"weight\":1},"
             "{\"assistant_id\":\"%s\",\"weight\":2}]",
             a, a);
    snprintf(bad[2], sizeof(bad[2]),
             "\"arms\":[{\"assistant_id\":\"%s\",\"weight\":0},"
             "{\"assistant_id\":\"%s\",\"weight\":2}]",
             a, b);
    snprintf(bad[3], sizeof(bad[3]),
             "\"arms\":[{\"assistant_id\":\"%s\",\"weight\":1},"
             "{\"assistant_id\":\"00000000-0000-4000-8000-000000000000\",\"weight\":2}]",
             a);
    snprintf(bad[4], sizeof(bad[4]), "\"arms\":{\"assistant_id\":\"%s\",\"weight\":1}", a);
    static const char *const why[] = {"2 to 4 assistants", "the same assistant",
                                      "arms[0].weight must be", "no assistant",
                                      "arms must be an array"};
    for (size_t i = 0; i < 5; i++)
        e2e_campaign_refused(st, a, bad[i], "arms", why[i]);
}

static PGresult *sql(PGconn *conn, const char *query, const char *campaign_id)
{
    const char *params[] = {campaign_id};
    PGresult *res = PQexecParams(conn, query, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", query, PQerrorMessage(conn));
    return res;
}

/* Every lead has an arm, the one lib/rules picks for its id; every call
 * records its lead's arm and that arm's assistant; the split is near 70/30.
 * counts: leads per arm. */
static void arms_of_leads_and_calls(PGconn *conn, const char *campaign, const char *assistants[2],
                                    long counts[2])
{
    static const int weights[] = {70, 30};
    PGresult *res = sql(conn, "SELECT id, ab_arm FROM lead WHERE campaign_id = $1", campaign);
    assert_int_equal(PQntuples(res), N_LEADS);
    counts[0] = counts[1] = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 1))
            fail_msg("lead %s has no arm", PQgetvalue(res, i, 0));
        int arm = atoi(PQgetvalue(res, i, 1));
        assert_int_equal(arm, ab_arm_pick(PQgetvalue(res, i, 0), weights, 2));
        counts[arm]++;
    }
    PQclear(res);
    /* 70/30 of 400: 280 expected, standard deviation sqrt(400 * 0.21) = 9.2. */
    print_message("split: %ld / %ld\n", counts[0], counts[1]);
    assert_in_range(counts[0], 280 - 46, 280 + 46);

    const char *params[] = {campaign, assistants[0], assistants[1]};
    res = PQexecParams(conn,
                       "SELECT count(*) FILTER (WHERE k.ab_arm IS DISTINCT FROM l.ab_arm),"
                       " count(*) FILTER (WHERE k.assistant_id::text <> CASE l.ab_arm"
                       "   WHEN 0 THEN $2 ELSE $3 END), count(*)"
                       " FROM call k JOIN lead l ON l.id = k.lead_id WHERE k.campaign_id = $1",
                       3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("call arms: %s", PQerrorMessage(conn));
    assert_string_equal(PQgetvalue(res, 0, 0), "0");
    assert_string_equal(PQgetvalue(res, 0, 1), "0");
    assert_true(atoi(PQgetvalue(res, 0, 2)) > N_LEADS);
    PQclear(res);
}

/* Every lead's calls, as the simulator received them, were all placed by
 * its arm's assistant (provider ids asst-ab-strong, asst-ab-weak); some
 * leads were called more than once (retries kept the arm). */
static void sim_calls_by_arm(const e2e_stack_t *st, PGconn *conn, const char *campaign)
{
    static const char *const provider_ids[] = {"asst-ab-strong", "asst-ab-weak"};
    PGresult *res = sql(conn, "SELECT e164, ab_arm FROM lead WHERE campaign_id = $1", campaign);
    char query[128];
    snprintf(query, sizeof(query), "campaign_id=%s", campaign);
    json_t *calls = e2e_sim_calls(st, query);
    size_t placed = 0, retried = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *e164 = PQgetvalue(res, i, 0);
        const char *want = provider_ids[atoi(PQgetvalue(res, i, 1))];
        size_t n = 0, k;
        json_t *c;
        json_array_foreach(calls, k, c)
        {
            if (!json_is_true(json_object_get(c, "placed")) ||
                strcmp(e2e_str(c, "number"), e164) != 0)
                continue;
            n++;
            if (strcmp(e2e_str(c, "assistant_id"), want) != 0)
                fail_msg("lead %s of arm %s: a call placed by %s", e164, want,
                         e2e_str(c, "assistant_id"));
        }
        assert_true(n >= 1);
        placed += n;
        retried += n > 1;
    }
    print_message("simulator: %zu calls placed, %zu leads called more than once\n", placed,
                  retried);
    assert_true(retried > 20);
    json_decref(calls);
    PQclear(res);
}

/* The stats' arms equal a recount in SQL: leads, finished leads and goals
 * from the lead rows, goals again from the calls' post-call variables,
 * calls, answers and spend from the call rows. Returns the arms' goal-rate
 * intervals in low[], high[]. */
static void stats_match_recount(const e2e_stack_t *st, PGconn *conn, const char *campaign,
                                const char *assistants[2], double low[2], double high[2])
{
    json_t *stats = e2e_get_json(st, "/v1/campaigns/%s/stats", campaign);
    json_t *arms = json_object_get(stats, "arms");
    assert_int_equal(json_array_size(arms), 2);
    PGresult *leads = sql(conn,
                          "SELECT ab_arm, count(*),"
                          " count(*) FILTER (WHERE status IN ('completed', 'max_retries')),"
                          " count(*) FILTER (WHERE status IN ('completed', 'max_retries')"
                          "   AND goal_result)"
                          " FROM lead WHERE campaign_id = $1 GROUP BY 1 ORDER BY 1",
                          campaign);
    PGresult *calls =
        sql(conn,
            "SELECT ab_arm, count(*) FILTER (WHERE status <> 'skipped'),"
            " count(*) FILTER (WHERE answered_by = 'human'), sum(cost_minor),"
            " count(DISTINCT lead_id) FILTER (WHERE post_call_variables -> '" E2E_GOAL "' = 'true')"
            " FROM call WHERE campaign_id = $1 GROUP BY 1 ORDER BY 1",
            campaign);
    assert_int_equal(PQntuples(leads), 2);
    assert_int_equal(PQntuples(calls), 2);
    for (int i = 0; i < 2; i++) {
        json_t *arm = json_array_get(arms, (size_t)i);
        long long n_leads = atoll(PQgetvalue(leads, i, 1)),
                  finished = atoll(PQgetvalue(leads, i, 2)), goals = atoll(PQgetvalue(leads, i, 3)),
                  placed = atoll(PQgetvalue(calls, i, 1)),
                  answered = atoll(PQgetvalue(calls, i, 2)), spend = atoll(PQgetvalue(calls, i, 3));
        assert_int_equal(e2e_int(arm, "arm"), i);
        assert_string_equal(e2e_str(arm, "assistant_id"), assistants[i]);
        assert_int_equal(e2e_int(arm, "weight"), i == 0 ? 70 : 30);
        assert_int_equal(e2e_int(arm, "leads"), n_leads);
        assert_int_equal(e2e_int(arm, "finished_leads"), finished);
        assert_int_equal(finished, n_leads); /* the campaign completed */
        assert_int_equal(e2e_int(arm, "goals"), goals);
        assert_int_equal(goals, atoll(PQgetvalue(calls, i, 4)));
        assert_int_equal(e2e_int(arm, "calls"), placed);
        assert_int_equal(e2e_int(arm, "answered"), answered);
        assert_int_equal(e2e_int(arm, "spend_minor"), spend);
        double rate = json_real_value(json_object_get(arm, "goal_rate"));
        assert_true(fabs(rate - (double)goals / (double)finished) < 1e-9);
        double answer_rate = json_real_value(json_object_get(arm, "answer_rate"));
        assert_true(fabs(answer_rate - (double)answered / (double)placed) < 1e-9);
        double per_goal = json_real_value(json_object_get(arm, "cost_per_goal_minor"));
        assert_true(fabs(per_goal - (double)spend / (double)goals) < 1e-6);
        low[i] = json_real_value(e2e_get(arm, "goal_rate_interval.low"));
        high[i] = json_real_value(e2e_get(arm, "goal_rate_interval.high"));
        assert_true(low[i] < rate && rate < high[i]);
        print_message("arm %d: %lld leads, %lld calls, %lld answered, %lld goals, goal rate "
                      "%.3f [%.3f, %.3f]\n",
                      i, n_leads, placed, answered, goals, rate, low[i], high[i]);
    }
    PQclear(leads);
    PQclear(calls);
    json_decref(stats);
}

static void test_ab_test_two_assistants(void **state)
{
    (void)state;
    static e2e_stack_t st;
    e2e_opts_t opts = {.tag = "e2eabtest", .rules = rules, .balance = 10000000, .dialers = 2};
    e2e_stack_start(&st, &opts);

    char strong[37], weak[37], no_phone[37], campaign[37];
    e2e_assistant_create_as(&st, "asst-ab-strong", "pn-ab-strong", "+12125550101", strong);
    e2e_assistant_create_as(&st, "asst-ab-weak", "pn-ab-weak", "+12125550102", weak);
    e2e_assistant_create_as(&st, "asst-ab-nophone", "pn-ab-nophone", NULL, no_phone);
    arms_refused(&st, strong, weak);

    /* An arm without an outbound number: created, but start refuses it.
     * max_call_duration_s an hour (6 s real at 600x): recovery closes a
     * call whose end is not reported within it, and a loaded machine can
     * hold a result back for longer than the default's second. */
    char settings[512];
    snprintf(settings, sizeof(settings),
             E2E_WINDOW_ALWAYS ",\"goal_variable\":\"" E2E_GOAL "\",\"max_retries\":2,"
                               "\"retry_interval_minutes\":10,\"max_concurrent_calls\":40,"
                               "\"max_call_duration_s\":3600,"
                               "\"arms\":[{\"assistant_id\":\"%s\",\"weight\":70},"
                               "{\"assistant_id\":\"%s\",\"weight\":30}]",
             strong, no_phone);
    e2e_campaign_create(&st, strong, settings, campaign);
    char *leads = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&leads, &len);
    for (int i = 0; i < N_LEADS; i++)
        fprintf(f, "%s{\"phone\":\"+1212555%04d\"}", i ? "," : "[", 1000 + i);
    fputs("]", f);
    fclose(f);
    e2e_resp_t r = e2e_leads_add(&st, campaign, leads);
    e2e_resp_free(&r);
    free(leads);
    r = e2e_campaign_do(&st, campaign, "start");
    e2e_expect(&r, 409, "start with an arm without a number");
    if (!strstr(r.body, "no_phone_number") || !strstr(r.body, "arms[1]"))
        fail_msg("start refused without naming the arm: %s", r.body);
    e2e_resp_free(&r);

    /* A draft's arms change. */
    char arms[256];
    snprintf(arms, sizeof(arms),
             "[{\"assistant_id\":\"%s\",\"weight\":70},{\"assistant_id\":\"%s\",\"weight\":30}]",
             strong, weak);
    char path[128];
    snprintf(path, sizeof(path), "/v1/campaigns/%s", campaign);
    r = e2e_api(&st, "PATCH", path, "{\"arms\":%s}", arms);
    e2e_expect(&r, 200, "change a draft's arms");
    assert_string_equal(e2e_str(json_array_get(json_object_get(r.json, "arms"), 1), "assistant_id"),
                        weak);
    e2e_resp_free(&r);
    e2e_campaign_must(&st, campaign, "start");

    /* Once it has called, the arms stay; the same arms are accepted. */
    e2e_campaign_must(&st, campaign, "pause");
    r = e2e_api(&st, "PATCH", path,
                "{\"arms\":[{\"assistant_id\":\"%s\",\"weight\":50},"
                "{\"assistant_id\":\"%s\",\"weight\":50}]}",
                strong, weak);
    e2e_expect(&r, 409, "change the arms of a paused campaign");
    assert_string_equal(e2e_str(r.json, "error.field"), "arms");
    e2e_resp_free(&r);
    r = e2e_api(&st, "PATCH", path, "{\"arms\":%s,\"max_concurrent_calls\":50}", arms);
    e2e_expect(&r, 200, "the same arms, another setting");
    e2e_resp_free(&r);
    e2e_campaign_must(&st, campaign, "resume");
    e2e_wait_campaign(&st, campaign, "completed", 240000);

    PGconn *conn = PQconnectdb(st.dsn);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(conn));
    const char *assistants[] = {strong, weak};
    long counts[2];
    arms_of_leads_and_calls(conn, campaign, assistants, counts);
    sim_calls_by_arm(&st, conn, campaign);
    double low[2], high[2];
    stats_match_recount(&st, conn, campaign, assistants, low, high);
    /* The simulator gives the strong assistant three goals to one. */
    assert_true(low[0] > high[1]);
    PQfinish(conn);

    e2e_audit(&st, campaign);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_ab_test_two_assistants)

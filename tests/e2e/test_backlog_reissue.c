/*
 * End to end: a dial-jobs backlog does not feed itself (docs/reliability.md
 * §6, the soak's finding). Through the real services, with no dialer
 * running, the campaign's jobs wait in Kafka past the scheduler's
 * scheduled timeout (5 s here), while a lead put in `scheduled` with no job
 * in Kafka at all, after them, stands for a job that was lost:
 *
 *   - the lost lead is re-issued (the marker: recovery did run past the
 *     waiting leads' timeout, and could have re-issued them too);
 *   - the leads whose jobs wait in the backlog are not: still scheduled,
 *     no re-issue counted, and the scheduler's
 *     outdial_scheduler_recovery_waiting{job="waiting"} shows them;
 *   - once a dialer runs, the campaign completes with every number called
 *     once, no job read and dropped as a duplicate (the dialer's
 *     outdial_dialer_jobs_duplicate_total 0), and every count of
 *     outdial-audit 0.
 *
 * Without the rule, recovery re-issues the waiting jobs after the timeout,
 * and the dialer reads and drops each copy as a duplicate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "e2e_support.h"
#include "kafka.h"
#include "test_main.h"
#include "topics.h"

#define N_WAITING 3
#define N_EXTRA   40 /* leads added, at most, to find one on a free partition */

static const char rules[] = "seed 16\n"
                            "goal-variable " E2E_GOAL "\n"
                            "talk human-no-goal 30s-1m\n"
                            "default human-no-goal\n";

/* The one text value of a query with n parameters (fails on an error). */
static void sql_value(PGconn *conn, const char *query, const char *const *params, int n, char *out,
                      size_t len)
{
    PGresult *res = PQexecParams(conn, query, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fail_msg("%s: %s", query, PQerrorMessage(conn));
    snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

static long lead_reissues(PGconn *conn, const char *lead_id)
{
    char v[32];
    const char *params[] = {lead_id};
    sql_value(conn, "SELECT reissues FROM lead WHERE id = $1::uuid", params, 1, v, sizeof(v));
    return atol(v);
}

/* The partition count of the test's dial-jobs topic. */
static int dial_partitions(void)
{
    char topic[TOPIC_NAME_MAX + 1], err[512];
    kafka_offsets_t *k = NULL;
    int n = 0;
    if (topic_name_from_env(TOPIC_DIAL_JOBS, topic, sizeof(topic), err, sizeof(err)) ||
        kafka_offsets_new(NULL, &k, err, sizeof(err)) ||
        kafka_offsets_partitions(k, topic, 5000, &n, err, sizeof(err)))
        fail_msg("dial-jobs partitions: %s", err);
    kafka_offsets_free(k);
    return n;
}

static int lead_partition(const char *lead_id, int partitions)
{
    return kafka_key_partition(lead_id, strlen(lead_id), partitions);
}

static void test_waiting_jobs_are_not_reissued(void **state)
{
    (void)state;
    static e2e_stack_t st;
    /* A job is delivered or given up within 2 s: recovery judges it 7 s
     * after it was issued (docs/scheduler.md). */
    setenv("OUTDIAL_SCHEDULER_DELIVERY_TIMEOUT_S", "2", 1);
    e2e_opts_t opts = {
        .tag = "e2ebacklog", .rules = rules, .balance = 1000000, .scheduled_timeout_s = 5};
    e2e_stack_start(&st, &opts);
    unsetenv("OUTDIAL_SCHEDULER_DELIVERY_TIMEOUT_S");
    PGconn *conn = PQconnectdb(st.dsn);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(conn));
    /* No dialer takes jobs: they wait in dial-jobs. */
    e2e_proc_stop(&st.dialers[0]);

    char assistant[37], campaign[37], waiting[N_WAITING][37], extra[N_EXTRA][37];
    char phones[N_WAITING + N_EXTRA][24];
    e2e_assistant_create(&st, "+12125550100", assistant);
    e2e_campaign_create(&st, assistant, E2E_WINDOW_ALWAYS ",\"max_concurrent_calls\":3", campaign);
    for (int i = 0; i < N_WAITING; i++) {
        snprintf(phones[i], sizeof(phones[i]), "+1212555%04d", 300 + i);
        char json[64];
        snprintf(json, sizeof(json), "{\"phone\":\"%.23s\"}", phones[i]);
        e2e_lead_add(&st, campaign, json, waiting[i]);
    }
    e2e_campaign_must(&st, campaign, "start");
    for (int i = 0; i < N_WAITING; i++)
        e2e_wait_lead(&st, waiting[i], "scheduled", NULL, 30000);

    /* The lost lead: one on a partition none of the waiting jobs is on (a
     * job behind them would wait too), found among leads added now; the
     * concurrency cap (3) is full, so dispatch leaves them created. */
    int parts = dial_partitions();
    bool used[64] = {false};
    for (int i = 0; i < N_WAITING; i++)
        used[lead_partition(waiting[i], parts)] = true;
    int n_extra = 0, lost = -1;
    while (lost < 0) {
        if (n_extra == N_EXTRA)
            fail_msg("none of %d leads on a partition free of the %d waiting jobs", N_EXTRA,
                     N_WAITING);
        snprintf(phones[N_WAITING + n_extra], sizeof(phones[0]), "+1212555%04d", 400 + n_extra);
        char json[64];
        snprintf(json, sizeof(json), "{\"phone\":\"%.23s\"}", phones[N_WAITING + n_extra]);
        e2e_lead_add(&st, campaign, json, extra[n_extra]);
        if (!used[lead_partition(extra[n_extra], parts)])
            lost = n_extra;
        n_extra++;
    }
    char lost_at[24];
    snprintf(lost_at, sizeof(lost_at), "%lld", (long long)e2e_now_us(&st));
    const char *params[] = {extra[lost], lost_at};
    PGresult *res = PQexecParams(conn,
                                 "UPDATE lead SET status = 'scheduled',"
                                 " current_attempt_id = gen_random_uuid(),"
                                 " status_changed_at = od_ts($2::bigint), updated_at = now()"
                                 " WHERE id = $1::uuid AND status = 'created'",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(res), "1") != 0)
        fail_msg("lost lead: %s", PQerrorMessage(conn));
    PQclear(res);

    /* The marker: the lost lead is re-issued, after the waiting leads'
     * timeout (they were scheduled before it). */
    int64_t deadline = harness_ms() + 60000;
    while (lead_reissues(conn, extra[lost]) < 1) {
        if (harness_ms() > deadline)
            fail_msg("the lost lead %s was not re-issued within 60 s", extra[lost]);
        harness_sleep_ms(100);
    }
    for (int i = 0; i < N_WAITING; i++) {
        if (lead_reissues(conn, waiting[i]) != 0)
            fail_msg("waiting lead %s was re-issued %ld time(s) while its job was in the backlog",
                     waiting[i], lead_reissues(conn, waiting[i]));
        /* Still scheduled since before the lost lead: past the timeout
         * when the lost lead was re-issued. */
        char before[16];
        const char *p2[] = {waiting[i], lost_at};
        sql_value(conn,
                  "SELECT coalesce((SELECT (od_us(status_changed_at) < $2::bigint)::text FROM lead"
                  " WHERE id = $1::uuid AND status = 'scheduled'), 'not scheduled')",
                  p2, 2, before, sizeof(before));
        if (strcmp(before, "true") != 0)
            fail_msg("waiting lead %s: %s", waiting[i], before);
    }
    assert_int_equal((long)metric_value(st.scheds[0].port,
                                        "outdial_scheduler_recovery_waiting{job=\"waiting\"}"),
                     N_WAITING);

    /* A dialer: the backlog drains, the campaign completes, each job
     * read once. */
    e2e_dialer_start(&st, 0);
    e2e_wait_campaign(&st, campaign, "completed", 120000);
    assert_int_equal((long)metric_value(st.dialers[0].port, "outdial_dialer_jobs_duplicate_total"),
                     0);
    for (int i = 0; i < N_WAITING + n_extra; i++) {
        if (e2e_sim_placed_to(&st, phones[i]) != 1)
            fail_msg("%s was called %zu times", phones[i], e2e_sim_placed_to(&st, phones[i]));
    }
    for (int i = 0; i < N_WAITING; i++)
        assert_int_equal(lead_reissues(conn, waiting[i]), 0);
    assert_int_equal(lead_reissues(conn, extra[lost]), 1);
    PQfinish(conn);
    e2e_audit(&st, campaign);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_waiting_jobs_are_not_reissued)

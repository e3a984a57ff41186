/*
 * The scheduler as processes: real outdial-scheduler binaries against the
 * stack's Postgres, Redis and kafka-dev, with this test playing the dialer
 * (it reads dial jobs and answers each with call events, dialing an attempt
 * at most once as the real dialer does).
 *
 *   - start -> first dial job latency (logged: start_to_first_dial_job_ms)
 *   - two schedulers on one campaign of 5,000 leads: every lead dialed once,
 *     no attempt issued twice, the campaign completes
 *   - a scheduler SIGKILLed during dispatch and restarted: no lead stuck,
 *     none dialed twice
 *   - pause: no job issued after the pause committed; resume finishes the
 *     campaign with no attempt lost or repeated
 *   - Kafka not answering: the scheduler claims no lead (a job it cannot
 *     produce would hold a concurrency slot); the same campaign dispatches
 *     at once from a scheduler that reaches Kafka
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "codec.h"
#include "harness.h"
#include "kafka.h"
#include "kafka_support.h"
#include "lifecycle.h"
#include "metrics_scrape.h"
#include "migrate.h"
#include "pg.h"
#include "redis.h"
#include "rkeys.h"
#include "support.h"
#include "test_main.h"
#include "topics.h"
#include "uuid.h"

typedef struct world {
    char *dsn;
    pg_conn_t *db;
    od_clock_t clk;
    char account_id[UUID_STR_LEN];
    char campaign_id[UUID_STR_LEN];
    char dial_topic[TOPIC_NAME_MAX + 1];
    char events_topic[TOPIC_NAME_MAX + 1];
    kafka_consumer_t *jobs;
    kafka_producer_t *events;
    redis_t *redis;
    const char *redis_prefix;
    /* attempts dialed, for duplicate detection */
    char (*dialed)[UUID_STR_LEN];
    size_t n_dialed, cap_dialed;
    uint64_t duplicate_jobs; /* jobs whose attempt was dialed before */
    int64_t last_issued_at_us;
} world_t;

static char dsn_env[600];
static const char *sched_env[] = {dsn_env, "OUTDIAL_SCHEDULER_HTTP_PORT=0",
                                  "OUTDIAL_SCHEDULER_SCHEDULED_TIMEOUT_S=15", NULL};
/* Two replicas must issue each attempt once: recovery's re-issue (a job
 * whose event is not applied within the scheduled timeout) is a different
 * mechanism, which a loaded machine can trigger at 15 s (a CI run saw 285
 * re-issues while a benchmark ran beside it), so it waits the default. */
static const char *sched_env_no_reissue[] = {dsn_env, "OUTDIAL_SCHEDULER_HTTP_PORT=0",
                                             "OUTDIAL_SCHEDULER_SCHEDULED_TIMEOUT_S=60", NULL};

static void sql(world_t *w, const char *q, int n, const char *const *params, PGresult **res)
{
    char err[512];
    if (pg_exec_params(w->db, q, n, params, res, err, sizeof(err)))
        fail_msg("%s: %s", q, err);
}

static int64_t sql_count(world_t *w, const char *q)
{
    PGresult *res = NULL;
    const char *p[] = {w->campaign_id};
    sql(w, q, 1, p, &res);
    int64_t n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* A world: fresh database, migrated; one account with balance, an
 * assistant with a phone number, a campaign open all day every day in
 * America/New_York with n_leads leads. The campaign clock is fixed to a
 * Tuesday 10:00 in New York so that the window is open. */
static world_t *world_new(const char *name, int n_leads, int max_concurrent)
{
    world_t *w = calloc(1, sizeof(*w));
    char err[512];
    harness_isolate(name);
    /* Campaign time = 2026-03-10T15:00:00Z now, running at real speed. */
    harness_clock_set("2026-03-10T15:00:00Z", NULL);
    assert_int_equal(od_clock_from_env(&w->clk, err, sizeof(err)), OD_OK);

    w->dsn = support_pg_create_db(name);
    snprintf(dsn_env, sizeof(dsn_env), "OUTDIAL_PG_DSN=%s", w->dsn);
    if (pg_conn_new(w->dsn, "test", NULL, &w->db, err, sizeof(err)))
        fail_msg("%s", err);
    migrate_result_t mres;
    if (migrate_run(w->db, migrate_dir_default(), NULL, NULL, &mres, err, sizeof(err)))
        fail_msg("%s", err);

    PGresult *res = NULL;
    sql(w,
        "INSERT INTO account (name, webhook_secret, balance_minor)"
        " VALUES ('acme', 'secret-secret-secret', 1000000) RETURNING id",
        0, NULL, &res);
    snprintf(w->account_id, sizeof(w->account_id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    char n_s[16], mc_s[16];
    snprintf(n_s, sizeof(n_s), "%d", n_leads);
    snprintf(mc_s, sizeof(mc_s), "%d", max_concurrent);
    const char *p1[] = {w->account_id, mc_s};
    sql(w,
        "WITH a AS (INSERT INTO assistant (account_id, name, timezone, outbound_e164,"
        "  provider_assistant_id, provider_phone_number_id)"
        "  VALUES ($1, 'bot', 'America/New_York', '+12125550100', 'asst-1', 'pn-1') RETURNING id)"
        " INSERT INTO campaign (account_id, assistant_id, name, window_start_min, window_end_min,"
        "  allowed_days, max_concurrent_calls)"
        " SELECT $1, a.id, 'procs', 0, 1439, 127, $2::int FROM a RETURNING id",
        2, p1, &res);
    snprintf(w->campaign_id, sizeof(w->campaign_id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *p2[] = {w->campaign_id, n_s};
    sql(w,
        "INSERT INTO lead (campaign_id, e164, name)"
        " SELECT $1, '+1415555' || lpad(i::text, 4, '0'), 'lead ' || i"
        " FROM generate_series(0, $2::int - 1) AS i",
        2, p2, NULL);

    assert_int_equal(topic_name_from_env(TOPIC_DIAL_JOBS, w->dial_topic, sizeof(w->dial_topic), err,
                                         sizeof(err)),
                     OD_OK);
    assert_int_equal(topic_name_from_env(TOPIC_CALL_EVENTS, w->events_topic,
                                         sizeof(w->events_topic), err, sizeof(err)),
                     OD_OK);
    /* As the dialers' group: recovery re-issues a job lost to a killed
     * scheduler only once that group's committed offsets show it is not
     * waiting in the topic. */
    char group[TOPIC_NAME_MAX + 1];
    assert_int_equal(topic_group_from_env("dialer", group, sizeof(group), err, sizeof(err)), OD_OK);
    kafka_prop_t props[] = {{"auto.offset.reset", "earliest"}};
    kafka_consumer_opts_t copts = {.group_id = group, .props = props, .prop_cnt = 1};
    const char *topics[] = {w->dial_topic};
    if (kafka_consumer_new(&copts, &w->jobs, err, sizeof(err)) ||
        kafka_consumer_subscribe(w->jobs, topics, 1, err, sizeof(err)) ||
        kafka_producer_new(NULL, &w->events, err, sizeof(err)) ||
        redis_new_from_env(&w->redis, err, sizeof(err)) ||
        rkeys_prefix_from_env(&w->redis_prefix, err, sizeof(err)))
        fail_msg("%s", err);
    return w;
}

static void world_free(world_t *w)
{
    char err[256];
    if (kafka_consumer_close(w->jobs, err, sizeof(err)))
        print_message("consumer close: %s\n", err);
    kafka_consumer_free(w->jobs);
    kafka_producer_free(w->events);
    redis_free(w->redis);
    pg_conn_free(w->db);
    support_pg_drop_db(w->dsn);
    free(w->dsn);
    free(w->dialed);
    free(w);
}

/* Whether the attempt was dialed before. Like the real dialer, the test
 * takes the attempt's Redis key first (SET NX), so the scheduler's fence
 * sees a dialed attempt; the local list counts attempts for the asserts. */
static bool dialed_before(world_t *w, const char *attempt_id)
{
    char key[RKEYS_KEY_MAX], err[256];
    rkeys_attempt(w->redis_prefix, attempt_id, key);
    int rc = redis_set_nx(w->redis, key, "test-dialer", 600000, err, sizeof(err));
    if (rc != OD_OK && rc != OD_ERR_CONFLICT)
        fail_msg("redis: %s", err);
    if (rc == OD_ERR_CONFLICT)
        return true;
    for (size_t i = 0; i < w->n_dialed; i++)
        if (strcmp(w->dialed[i], attempt_id) == 0)
            fail_msg("attempt %s dialed twice but its Redis key was free", attempt_id);
    SUPPORT_GROW(w->dialed, w->n_dialed, w->cap_dialed);
    snprintf(w->dialed[w->n_dialed++], UUID_STR_LEN, "%s", attempt_id);
    return false;
}

/* Plays the dialer for up to ms: each new attempt is answered at once by a
 * human (completed). Returns the number of jobs read. */
static int play_dialer(world_t *w, int64_t ms)
{
    char err[512];
    int jobs = 0;
    int64_t until = harness_ms() + ms;
    while (harness_ms() < until) {
        rd_kafka_message_t *msg;
        dialjob_t *job = kafka_support_next_job(w->jobs, 100, &msg);
        if (!job)
            continue;
        jobs++;
        if (job->issued_at_us > w->last_issued_at_us)
            w->last_issued_at_us = job->issued_at_us;
        if (dialed_before(w, job->attempt_id)) {
            w->duplicate_jobs++;
        } else {
            char event_id[UUID_STR_LEN];
            uuid_str_new(event_id);
            callevent_t ev;
            callevent_init(&ev);
            ev.event_id = event_id;
            ev.attempt_id = job->attempt_id;
            ev.lead_id = job->lead_id;
            ev.campaign_id = job->campaign_id;
            ev.account_id = job->account_id;
            ev.attempt_number = job->attempt_number;
            ev.status = OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED;
            ev.answered_by = OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN;
            ev.duration_ms = 30000;
            ev.occurred_at_us = od_clock_now_us(&w->clk);
            ev.ended_at_us = ev.occurred_at_us;
            uint8_t *buf = NULL;
            size_t len = 0;
            if (callevent_encode(&ev, &buf, &len, err, sizeof(err)) ||
                kafka_producer_send(w->events, w->events_topic, job->lead_id, strlen(job->lead_id),
                                    buf, len, NULL, 0, NULL, err, sizeof(err)))
                fail_msg("%s", err);
            free(buf);
        }
        dialjob_free(job);
        kafka_producer_poll(w->events, 0);
        if (kafka_consumer_store(w->jobs, msg, err, sizeof(err)))
            fail_msg("%s", err);
        kafka_message_free(msg);
    }
    if (kafka_producer_flush(w->events, 10000, err, sizeof(err)))
        fail_msg("%s", err);
    return jobs;
}

/* Plays the dialer until its consumer has partitions (a consumer group's
 * first join takes a few seconds), so that timings start from a ready
 * dialer. */
static void wait_assigned(world_t *w)
{
    int64_t until = harness_ms() + 30000;
    while (harness_ms() < until && kafka_consumer_assigned(w->jobs) <= 0)
        play_dialer(w, 100);
    assert_true(kafka_consumer_assigned(w->jobs) > 0);
    play_dialer(w, 1000); /* the schedulers' consumers join meanwhile */
}

static void campaign_apply(world_t *w, lifecycle_action_t action)
{
    char err[512];
    lifecycle_result_t res;
    int rc = lifecycle_campaign_apply(w->db, NULL, "", w->account_id, w->campaign_id, action, NULL,
                                      od_clock_now_us(&w->clk), &res, err, sizeof(err));
    if (rc)
        fail_msg("lifecycle %d: %s", (int)action, err);
}

#define LEADS_COMPLETED "SELECT count(*) FROM lead WHERE campaign_id = $1 AND status = 'completed'"
#define CALL_ROWS       "SELECT count(*) FROM call WHERE campaign_id = $1"
#define CAMPAIGN_DONE   "SELECT count(*) FROM campaign WHERE id = $1 AND status = 'completed'"

/* Plays the dialer until every lead is completed or the time is up. */
static void run_to_completion(world_t *w, int n_leads, int64_t budget_ms)
{
    int64_t until = harness_ms() + budget_ms;
    while (harness_ms() < until && sql_count(w, LEADS_COMPLETED) < n_leads)
        play_dialer(w, 500);
    /* and until the scheduler noticed the campaign is complete */
    while (harness_ms() < until && sql_count(w, CAMPAIGN_DONE) == 0)
        play_dialer(w, 200);
}

static void assert_every_lead_once(world_t *w, int n_leads)
{
    assert_int_equal(sql_count(w, LEADS_COMPLETED), n_leads);
    assert_int_equal(sql_count(w, CALL_ROWS), n_leads);
    assert_int_equal((int64_t)w->n_dialed, n_leads);
    assert_int_equal(sql_count(w, "SELECT count(*) FROM lead WHERE campaign_id = $1"
                                  " AND attempts <> 1"),
                     0);
    assert_int_equal(sql_count(w, CAMPAIGN_DONE), 1);
}

static void test_two_schedulers_issue_each_attempt_once(void **state)
{
    (void)state;
    const int n = 5000;
    world_t *w = world_new("sched_two", n, 300);
    pid_t a = harness_spawn("services/scheduler/outdial-scheduler", sched_env_no_reissue);
    pid_t b = harness_spawn("services/scheduler/outdial-scheduler", sched_env_no_reissue);
    wait_assigned(w);

    int64_t t0 = harness_ms();
    campaign_apply(w, LIFECYCLE_START);
    int64_t first = -1;
    while (harness_ms() - t0 < 30000 && first < 0) {
        if (play_dialer(w, 20) > 0)
            first = harness_ms() - t0;
    }
    assert_true(first >= 0);
    print_message("start_to_first_dial_job_ms=%lld\n", (long long)first);

    run_to_completion(w, n, 240000);
    assert_int_equal(WEXITSTATUS(harness_stop(a, SIGTERM)), 0);
    assert_int_equal(WEXITSTATUS(harness_stop(b, SIGTERM)), 0);
    print_message("jobs=%zu duplicate_jobs=%llu\n", w->n_dialed,
                  (unsigned long long)w->duplicate_jobs);
    assert_every_lead_once(w, n);
    /* Neither replica re-issued a job: each attempt was issued exactly once. */
    assert_int_equal(w->duplicate_jobs, 0);
    world_free(w);
}

/* Starts a scheduler, starts w's campaign once the scheduler's jobs are
 * read, and plays the dialer until `dialed` attempts were dialed (60 s at
 * the most). Returns the scheduler's pid. */
static pid_t start_and_dial(world_t *w, size_t dialed)
{
    pid_t s = harness_spawn("services/scheduler/outdial-scheduler", sched_env);
    wait_assigned(w);
    campaign_apply(w, LIFECYCLE_START);
    int64_t until = harness_ms() + 60000;
    while (harness_ms() < until && w->n_dialed < dialed)
        play_dialer(w, 50);
    return s;
}

static void test_scheduler_killed_during_dispatch(void **state)
{
    (void)state;
    const int n = 1500;
    world_t *w = world_new("sched_kill", n, 100);
    pid_t s = start_and_dial(w, 500);
    kill(s, SIGKILL);
    waitpid(s, NULL, 0);
    print_message("killed the scheduler after %zu attempts dialed\n", w->n_dialed);
    s = harness_spawn("services/scheduler/outdial-scheduler", sched_env);
    run_to_completion(w, n, 240000);
    assert_int_equal(WEXITSTATUS(harness_stop(s, SIGTERM)), 0);
    print_message("re-issued jobs seen: %llu\n", (unsigned long long)w->duplicate_jobs);
    /* No lead stuck, none dialed twice (a re-issued job carries the same
     * attempt id, and a dialer places an attempt once). */
    assert_every_lead_once(w, n);
    assert_int_equal(sql_count(w, "SELECT count(*) FROM lead WHERE campaign_id = $1"
                                  " AND status IN ('scheduled', 'processing')"),
                     0);
    world_free(w);
}

static void test_pause_stops_jobs_and_resume_loses_nothing(void **state)
{
    (void)state;
    const int n = 1500;
    world_t *w = world_new("sched_pause", n, 50);
    pid_t s = start_and_dial(w, 300);
    campaign_apply(w, LIFECYCLE_PAUSE);
    int64_t paused_at = od_clock_now_us(&w->clk);
    size_t before = w->n_dialed;
    w->last_issued_at_us = 0;
    play_dialer(w, 3000);
    print_message("attempts dialed after the pause (issued before it): %zu\n",
                  w->n_dialed - before);
    /* Jobs issued before the pause may still arrive; none was issued after. */
    assert_true(w->last_issued_at_us <= paused_at);
    assert_true(sql_count(w, LEADS_COMPLETED) < n);

    campaign_apply(w, LIFECYCLE_RESUME);
    run_to_completion(w, n, 240000);
    assert_int_equal(WEXITSTATUS(harness_stop(s, SIGTERM)), 0);
    assert_every_lead_once(w, n);
    assert_int_equal(w->duplicate_jobs, 0);
    world_free(w);
}

#define LEADS_CLAIMED                                                                              \
    "SELECT count(*) FROM lead WHERE campaign_id = $1 AND (status <> 'created' OR attempts > 0"    \
    " OR current_attempt_id IS NOT NULL)"

static void test_no_dispatch_while_kafka_does_not_answer(void **state)
{
    (void)state;
    const int n = 200;
    world_t *w = world_new("sched_kafka_down", n, 50);
    /* A scheduler whose Kafka is a port where nothing listens. */
    int port = harness_free_port(), dead = harness_free_port();
    char port_env[64], brokers_env[64];
    snprintf(port_env, sizeof(port_env), "OUTDIAL_SCHEDULER_HTTP_PORT=%d", port);
    snprintf(brokers_env, sizeof(brokers_env), "OUTDIAL_KAFKA_BROKERS=127.0.0.1:%d", dead);
    const char *cut_off_env[] = {dsn_env, port_env, brokers_env, NULL};
    pid_t cut = harness_spawn("services/scheduler/outdial-scheduler", cut_off_env);
    campaign_apply(w, LIFECYCLE_START);

    /* The scheduler runs its passes over the running campaign (each one
     * counted as held) ... */
    double held = 0;
    HARNESS_WAIT_EVERY(metric_read(port, "outdial_scheduler_dispatch_held_total", &held) &&
                           held >= 5,
                       60000, 100, "five dispatch passes held while Kafka does not answer");
    /* ... and claims nothing. */
    assert_int_equal(sql_count(w, LEADS_CLAIMED), 0);
    assert_int_equal(WEXITSTATUS(harness_stop(cut, SIGTERM)), 0);

    /* The proof that those passes could have claimed: a scheduler that
     * reaches Kafka dispatches the same campaign, and it completes. */
    pid_t s = harness_spawn("services/scheduler/outdial-scheduler", sched_env);
    wait_assigned(w);
    run_to_completion(w, n, 120000);
    assert_int_equal(WEXITSTATUS(harness_stop(s, SIGTERM)), 0);
    assert_every_lead_once(w, n);
    world_free(w);
}

OD_TEST_MAIN(NULL, NULL, test_two_schedulers_issue_each_attempt_once,
             test_scheduler_killed_during_dispatch, test_pause_stops_jobs_and_resume_loses_nothing,
             test_no_dispatch_while_kafka_does_not_answer)

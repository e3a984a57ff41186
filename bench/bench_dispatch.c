/*
 * bench_dispatch — due leads to dial jobs acknowledged on Kafka, against the
 * bare SQL claim statement run in a loop with the same batch size.
 *
 *   outdial-bench-dispatch [--leads N] [--batch B]
 *
 * Needs OUTDIAL_PG_DSN and OUTDIAL_KAFKA_BROKERS (deploy/local/stack). It
 * creates its own database, N leads in running campaigns of 1,000 leads each
 * (max_concurrent_calls 1000, a window open all day), then:
 *   1. baseline: the claim statement alone (SELECT ... FOR UPDATE SKIP
 *      LOCKED + UPDATE to scheduled) in a loop until nothing is due;
 *   2. the leads are reset and vacuumed;
 *   3. dispatch_all() until nothing is due, jobs produced and acknowledged.
 * Prints key=value lines: sql_claim_rows_per_s, dispatch_jobs_per_s,
 * dispatch_vs_sql.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dispatch.h"
#include "kafka.h"
#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "topics.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_dispatch: %s: %s\n", what, err);
    exit(1);
}

static void exec_sql(pg_conn_t *db, const char *sql, int n, const char *const *p, PGresult **res)
{
    char err[512];
    if (pg_exec_params(db, sql, n, p, res, err, sizeof(err)))
        die(sql, err);
}

int main(int argc, char **argv)
{
    long leads = 1000000, batch = DISPATCH_BATCH_DEFAULT;
    static const struct option opts[] = {
        {"leads", required_argument, NULL, 'n'}, {"batch", required_argument, NULL, 'b'}, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n')
            leads = strtol(optarg, NULL, 10);
        else if (c == 'b')
            batch = strtol(optarg, NULL, 10);
        else
            return 2;
    }
    if (leads < 1000 || batch < 1 || batch > DISPATCH_BATCH_MAX) {
        fprintf(stderr, "usage: outdial-bench-dispatch [--leads N>=1000] [--batch 1..%d]\n",
                DISPATCH_BATCH_MAX);
        return 2;
    }
    char err[512];
    if (log_init("bench", err, sizeof(err)))
        die("log", err);
    log_set_level(LOG_LEVEL_WARN);

    /* A database of its own. */
    const char *base = getenv("OUTDIAL_PG_DSN");
    if (!base)
        die("OUTDIAL_PG_DSN", "not set (source var/.../stack.env)");
    pg_conn_t *admin = NULL;
    if (pg_conn_new(base, "bench", NULL, &admin, err, sizeof(err)))
        die("connect", err);
    char dbname[64], sql[256];
    snprintf(dbname, sizeof(dbname), "bench_dispatch_%d", (int)getpid());
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
    exec_sql(admin, sql, 0, NULL, NULL);
    const char *slash = strrchr(base, '/');
    char dsn[600];
    snprintf(dsn, sizeof(dsn), "%.*s/%s", (int)(slash - base), base, dbname);
    pg_conn_t *db = NULL;
    if (pg_conn_new(dsn, "bench", NULL, &db, err, sizeof(err)))
        die("connect", err);
    migrate_result_t mres;
    if (migrate_run(db, migrate_dir_default(), NULL, NULL, &mres, err, sizeof(err)))
        die("migrate", err);

    /* Campaigns of 1,000 leads, all due, window open all day. */
    char n_s[24];
    snprintf(n_s, sizeof(n_s), "%ld", leads);
    const char *pn[] = {n_s};
    exec_sql(db,
             "WITH acc AS (INSERT INTO account (name, webhook_secret, balance_minor)"
             "  VALUES ('bench', 'secret-secret-secret', 100000000) RETURNING id),"
             " a AS (INSERT INTO assistant (account_id, name, timezone, outbound_e164,"
             "  provider_assistant_id) SELECT id, 'bot', 'UTC', '+12125550100', 'a' FROM acc"
             "  RETURNING id, account_id)"
             " INSERT INTO campaign (account_id, assistant_id, name, status, window_start_min,"
             "  window_end_min, allowed_days, max_concurrent_calls)"
             " SELECT a.account_id, a.id, 'c' || i, 'in_progress', 0, 1439, 127, 1000"
             " FROM a, generate_series(1, ($1::int + 999) / 1000) AS i",
             1, pn, NULL);
    exec_sql(db,
             "INSERT INTO lead (campaign_id, e164, name, variables)"
             " SELECT c.id, '+1' || (2000000000 + c.rn * 1000 + i)::text, 'lead', '{\"k\":\"v\"}'"
             " FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM campaign) c,"
             " generate_series(0, 999) AS i WHERE c.rn * 1000 + i < $1::int",
             1, pn, NULL);
    exec_sql(db, "VACUUM ANALYZE lead", 0, NULL, NULL);

    od_clock_t clk;
    od_clock_init_real(&clk);
    char now[24], lim[16];
    snprintf(now, sizeof(now), "%" PRId64, od_clock_now_us(&clk));
    snprintf(lim, sizeof(lim), "%ld", batch);

    /* 1. The bare claim statement, per campaign, until nothing is due. */
    PGresult *res = NULL;
    exec_sql(db, "SELECT id FROM campaign ORDER BY id", 0, NULL, &res);
    double t0 = mono_s();
    long claimed = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        for (;;) {
            const char *p[] = {PQgetvalue(res, i, 0), now, lim};
            PGresult *r = NULL;
            exec_sql(db,
                     "WITH due AS (SELECT id FROM lead WHERE campaign_id = $1::uuid"
                     "  AND status IN ('created', 'rescheduled')"
                     "  AND next_attempt_at <= od_ts($2::bigint) AND invalid_reason IS NULL"
                     "  ORDER BY next_attempt_at LIMIT $3::int FOR UPDATE SKIP LOCKED)"
                     " UPDATE lead l SET status = 'scheduled', current_attempt_id ="
                     "  gen_random_uuid(), status_changed_at = od_ts($2::bigint)"
                     " FROM due WHERE l.id = due.id",
                     3, p, &r);
            long n = strtol(PQcmdTuples(r), NULL, 10);
            PQclear(r);
            claimed += n;
            if (n < batch)
                break;
        }
    }
    double sql_s = mono_s() - t0;
    PQclear(res);

    /* 2. Back to due. */
    exec_sql(db,
             "UPDATE lead SET status = 'created', current_attempt_id = NULL,"
             " status_changed_at = NULL",
             0, NULL, NULL);
    exec_sql(db, "VACUUM ANALYZE lead", 0, NULL, NULL);

    /* 3. dispatch_all to Kafka, acknowledged. */
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "bench%d.", (int)getpid());
    setenv("OUTDIAL_KAFKA_TOPIC_PREFIX", prefix, 1);
    char topic[TOPIC_NAME_MAX + 1];
    if (topic_name_from_env(TOPIC_DIAL_JOBS, topic, sizeof(topic), err, sizeof(err)))
        die("topic", err);
    kafka_producer_t *producer = NULL;
    kafka_prop_t props[] = {{"linger.ms", "5"}, {"queue.buffering.max.messages", "1000000"}};
    kafka_producer_opts_t popts = {.client_id = "bench", .props = props, .prop_cnt = 2};
    if (kafka_producer_new(&popts, &producer, err, sizeof(err)))
        die("producer", err);
    t0 = mono_s();
    uint64_t issued = 0;
    double db_s = 0;
    for (;;) {
        dispatch_stats_t st;
        dispatch_stats_init(&st);
        double t1 = mono_s();
        if (dispatch_all(db, producer, topic, od_clock_now_us(&clk), (int)batch, &st, err,
                         sizeof(err)))
            die("dispatch", err);
        db_s += mono_s() - t1;
        if (kafka_producer_flush(producer, 600000, err, sizeof(err)))
            die("flush", err);
        issued += st.jobs_issued;
        if (st.jobs_issued == 0)
            break;
        /* The cap is 1,000 per campaign: one pass dispatches everything due. */
        if (issued >= (uint64_t)leads)
            break;
    }
    double dispatch_s = mono_s() - t0;
    uint64_t delivered = 0, failed = 0;
    kafka_producer_counts(producer, &delivered, &failed);
    kafka_producer_free(producer);

    double sql_rate = (double)claimed / sql_s;
    double dispatch_rate = (double)delivered / dispatch_s;
    printf("dispatch_leads=%ld\n", leads);
    printf("dispatch_batch=%ld\n", batch);
    printf("sql_claim_rows_per_s=%.0f\n", sql_rate);
    printf("dispatch_jobs_per_s=%.0f\n", dispatch_rate);
    printf("dispatch_jobs_failed=%" PRIu64 "\n", failed);
    /* Where the time goes: claiming and producing (dispatch_all) vs waiting
     * for Kafka's acknowledgements. */
    printf("dispatch_claim_s=%.2f\n", db_s);
    printf("dispatch_ack_wait_s=%.2f\n", dispatch_s - db_s);
    printf("dispatch_vs_sql=%.2f\n", dispatch_rate / sql_rate);

    pg_conn_free(db);
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", dbname);
    exec_sql(admin, sql, 0, NULL, NULL);
    pg_conn_free(admin);
    return claimed == leads && delivered == (uint64_t)leads ? 0 : 1;
}

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

#include "bench_common.h"
#include "clock.h"
#include "dispatch.h"
#include "kafka.h"
#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "topics.h"

int main(int argc, char **argv)
{
    long leads = 1000000, batch = DISPATCH_BATCH_DEFAULT;
    if (!bench_args_leads_batch(argc, argv, &leads, &batch))
        return 2;
    if (leads < 1000 || batch < 1 || batch > DISPATCH_BATCH_MAX) {
        fprintf(stderr, "usage: outdial-bench-dispatch [--leads N>=1000] [--batch 1..%d]\n",
                DISPATCH_BATCH_MAX);
        return 2;
    }
    char err[512];
    if (log_init("bench", err, sizeof(err)))
        bench_die("bench_dispatch", "log", err);
    log_set_level(LOG_LEVEL_WARN);

    /* A database of its own: campaigns of 1,000 leads, all due, window
     * open all day. */
    bench_db_t b;
    bench_db_create(&b, "bench_dispatch");
    pg_conn_t *db = b.db;
    bench_campaigns_create(db, (leads + 999) / 1000, 1000);
    bench_leads_create(db, leads);
    bench_sql(db, "VACUUM ANALYZE lead", 0, NULL, NULL);

    od_clock_t clk;
    od_clock_init_real(&clk);
    char now[24], lim[16];
    snprintf(now, sizeof(now), "%" PRId64, od_clock_now_us(&clk));
    snprintf(lim, sizeof(lim), "%ld", batch);

    /* 1. The bare claim statement, per campaign, until nothing is due. */
    PGresult *res = NULL;
    bench_sql(db, "SELECT id FROM campaign ORDER BY id", 0, NULL, &res);
    double t0 = bench_mono_s();
    long claimed = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        for (;;) {
            const char *p[] = {PQgetvalue(res, i, 0), now, lim};
            PGresult *r = NULL;
            bench_sql(db,
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
    double sql_s = bench_mono_s() - t0;
    PQclear(res);

    /* 2. Back to due. */
    bench_sql(db,
              "UPDATE lead SET status = 'created', current_attempt_id = NULL,"
              " status_changed_at = NULL",
              0, NULL, NULL);
    bench_sql(db, "VACUUM ANALYZE lead", 0, NULL, NULL);

    /* 3. dispatch_all to Kafka, acknowledged. */
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "bench%d.", (int)getpid());
    setenv("OUTDIAL_KAFKA_TOPIC_PREFIX", prefix, 1);
    char topic[TOPIC_NAME_MAX + 1];
    if (topic_name_from_env(TOPIC_DIAL_JOBS, topic, sizeof(topic), err, sizeof(err)))
        bench_die("bench_dispatch", "topic", err);
    kafka_producer_t *producer = NULL;
    kafka_prop_t props[] = {{"linger.ms", "5"}, {"queue.buffering.max.messages", "1000000"}};
    kafka_producer_opts_t popts = {.client_id = "bench", .props = props, .prop_cnt = 2};
    if (kafka_producer_new(&popts, &producer, err, sizeof(err)))
        bench_die("bench_dispatch", "producer", err);
    t0 = bench_mono_s();
    uint64_t issued = 0;
    double db_s = 0;
    for (;;) {
        dispatch_stats_t st;
        dispatch_stats_init(&st);
        double t1 = bench_mono_s();
        if (dispatch_all(db, producer, topic, NULL, od_clock_now_us(&clk), (int)batch, NULL, &st,
                         err, sizeof(err)))
            bench_die("bench_dispatch", "dispatch", err);
        db_s += bench_mono_s() - t1;
        if (kafka_producer_flush(producer, 600000, err, sizeof(err)))
            bench_die("bench_dispatch", "flush", err);
        issued += st.jobs_issued;
        if (st.jobs_issued == 0)
            break;
        /* The cap is 1,000 per campaign: one pass dispatches everything due. */
        if (issued >= (uint64_t)leads)
            break;
    }
    double dispatch_s = bench_mono_s() - t0;
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

    bench_db_drop(&b);
    return claimed == leads && delivered == (uint64_t)leads ? 0 : 1;
}

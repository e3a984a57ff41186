/*
 * bench_latency — time from a lead becoming due to its dial job on Kafka,
 * through the real outdial-scheduler.
 *
 *   outdial-bench-latency --scheduler PATH [--leads N] [--spread-ms MS]
 *
 * Needs OUTDIAL_PG_DSN, OUTDIAL_KAFKA_BROKERS and OUTDIAL_REDIS_URL
 * (deploy/local/stack). In a database of its own it creates one running
 * campaign per 999 leads (window always open, the cap never reached), starts the
 * scheduler on it (its own topic prefix, real time), subscribes to the
 * dial-jobs topic, then inserts N leads in one statement whose due times
 * (next_attempt_at) are spread evenly over the next MS milliseconds,
 * starting 5 s ahead — so the insert itself is never part of a latency. Each
 * lead carries its due time as the variable due_us; for each job consumed:
 *   issued latency   = DialJob.issued_at_us - due_us  (scheduler's claim)
 *   consumed latency = time the job is read here - due_us  (+ produce,
 *                      acknowledgement, consumer fetch)
 * Prints due_to_job_p50_ms, due_to_job_p99_ms (consumed), due_to_issue_p50_ms
 * and due_to_issue_p99_ms, and the count of jobs seen.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "clock.h"
#include "codec.h"
#include "kafka.h"
#include "log.h"
#include "topics.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(int64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof(*v), cmp_i64);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    long leads = 2000, spread_ms = 10000;
    const char *scheduler = NULL;
    static const struct option opts[] = {{"leads", required_argument, NULL, 'n'},
                                         {"spread-ms", required_argument, NULL, 's'},
                                         {"scheduler", required_argument, NULL, 'x'},
                                         {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n')
            leads = strtol(optarg, NULL, 10);
        else if (c == 's')
            spread_ms = strtol(optarg, NULL, 10);
        else if (c == 'x')
            scheduler = optarg;
        else
            return 2;
    }
    if (!scheduler || leads < 1 || spread_ms < 0) {
        fprintf(stderr, "usage: outdial-bench-latency --scheduler PATH [--leads N] "
                        "[--spread-ms MS]\n");
        return 2;
    }
    char err[512];
    if (log_init("bench", err, sizeof(err)))
        bench_die("bench_latency", "log", err);
    log_set_level(LOG_LEVEL_WARN);
    const char *brokers = getenv("OUTDIAL_KAFKA_BROKERS");
    if (!brokers)
        bench_die("bench_latency", "OUTDIAL_KAFKA_BROKERS", "not set");

    bench_db_t b;
    bench_db_create(&b, "bench_latency");
    /* The cap is at most 1,000: 999 measured leads a campaign, and room for
     * the warm-up lead. */
    bench_campaigns_create(b.db, (leads + 998) / 999, 1000);

    char prefix[64], rprefix[64];
    snprintf(prefix, sizeof(prefix), "benchlat%d.", (int)getpid());
    snprintf(rprefix, sizeof(rprefix), "benchlat%d:", (int)getpid());
    setenv("OUTDIAL_KAFKA_TOPIC_PREFIX", prefix, 1);
    char topic[TOPIC_NAME_MAX + 1];
    if (topic_name_from_env(TOPIC_DIAL_JOBS, topic, sizeof(topic), err, sizeof(err)))
        bench_die("bench_latency", "topic", err);
    bench_topic_create(brokers, topic);

    kafka_consumer_t *consumer = NULL;
    char group[96];
    snprintf(group, sizeof(group), "bench-latency-%d", (int)getpid());
    kafka_prop_t props[] = {{"fetch.wait.max.ms", "10"}};
    kafka_consumer_opts_t copts = {
        .group_id = group, .client_id = "bench", .props = props, .prop_cnt = 1};
    if (kafka_consumer_new(&copts, &consumer, err, sizeof(err)))
        bench_die("bench_latency", "consumer", err);
    const char *topics[] = {topic};
    if (kafka_consumer_subscribe(consumer, topics, 1, err, sizeof(err)))
        bench_die("bench_latency", "subscribe", err);

    /* Wait until the consumer has partitions. */
    double t_wait = bench_mono_s();
    while (kafka_consumer_assigned(consumer) <= 0) {
        rd_kafka_message_t *msg = NULL;
        if (kafka_consumer_poll(consumer, 100, &msg, err, sizeof(err)))
            bench_die("bench_latency", "poll", err);
        kafka_message_free(msg);
        if (bench_mono_s() - t_wait > 30)
            bench_die("bench_latency", "consumer", "no partitions after 30 s");
    }

    int64_t start_us = real_us() + 5000000;
    char n_s[24], start_s[24], spread_s[24];
    snprintf(n_s, sizeof(n_s), "%ld", leads);
    snprintf(start_s, sizeof(start_s), "%" PRId64, start_us);
    snprintf(spread_s, sizeof(spread_s), "%ld", spread_ms * 1000);
    const char *p[] = {n_s, start_s, spread_s};
    /* A warm-up lead, due at once and not measured (no due_us): its job
     * opens the scheduler's producer connections, topic metadata and
     * idempotent-producer id, which otherwise land on the first measured
     * jobs as a one-off second of start-up. */
    bench_sql(
        b.db,
        "INSERT INTO lead (campaign_id, e164, name, variables, next_attempt_at)"
        " SELECT id, '+13000000000', 'warm-up', '{}', now() FROM campaign ORDER BY id LIMIT 1",
        0, NULL, NULL);
    bench_sql(b.db,
              "INSERT INTO lead (campaign_id, e164, name, variables, next_attempt_at)"
              " SELECT c.id, '+1' || (2000000000 + i)::text, 'lead',"
              "  jsonb_build_object('due_us', d.us::text), od_ts(d.us)"
              " FROM generate_series(0, $1::int - 1) AS i"
              " JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM campaign) c"
              "  ON c.rn = i / 999,"
              " LATERAL (SELECT $2::bigint + i::bigint * $3::bigint / $1::int AS us) d",
              3, p, NULL);

    /* The scheduler (after the leads: it completes a running campaign that has
     * none),  real time, its own prefixes; no re-issue within the run. */
    pid_t pid = fork();
    if (pid == 0) {
        setenv("OUTDIAL_PG_DSN", b.dsn, 1);
        setenv("OUTDIAL_REDIS_PREFIX", rprefix, 1);
        setenv("OUTDIAL_SCHEDULER_HTTP_PORT", "0", 1);
        setenv("OUTDIAL_SCHEDULER_SCHEDULED_TIMEOUT_S", "86400", 1);
        setenv("OUTDIAL_LOG_LEVEL", "warn", 1);
        execl(scheduler, scheduler, (char *)NULL);
        _exit(127);
    }

    int64_t *consumed = calloc((size_t)leads, sizeof(int64_t));
    int64_t *issued = calloc((size_t)leads, sizeof(int64_t));
    size_t n = 0;
    double deadline = bench_mono_s() + 5.0 + (double)spread_ms / 1000.0 + 20.0;
    while (n < (size_t)leads && bench_mono_s() < deadline) {
        rd_kafka_message_t *msg = NULL;
        if (kafka_consumer_poll(consumer, 100, &msg, err, sizeof(err)))
            bench_die("bench_latency", "poll", err);
        if (!msg)
            continue;
        int64_t at_us = real_us();
        dialjob_t *job = NULL;
        if (dialjob_decode(msg->payload, msg->len, &job, err, sizeof(err)) == OD_OK) {
            const char *due = dialjob_variable_get(job, "due_us");
            if (due) {
                int64_t due_us = strtoll(due, NULL, 10);
                consumed[n] = at_us - due_us;
                issued[n] = job->issued_at_us - due_us;
                n++;
            }
            dialjob_free(job);
        }
        kafka_message_free(msg);
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    kafka_consumer_free(consumer);

    printf("latency_leads=%ld\n", leads);
    printf("latency_spread_ms=%ld\n", spread_ms);
    printf("latency_jobs_seen=%zu\n", n);
    printf("due_to_issue_p50_ms=%.0f\n", pct_ms(issued, n, 0.50));
    printf("due_to_issue_p99_ms=%.0f\n", pct_ms(issued, n, 0.99));
    printf("due_to_job_p50_ms=%.0f\n", pct_ms(consumed, n, 0.50));
    printf("due_to_job_p99_ms=%.0f\n", pct_ms(consumed, n, 0.99));
    free(consumed);
    free(issued);
    bench_db_drop(&b);
    return n == (size_t)leads ? 0 : 1;
}

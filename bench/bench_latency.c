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
 * and due_to_issue_p99_ms, and the count of leads whose job was seen. Jobs
 * still missing 20 s after the last lead was due get 30 s more (those that
 * come then are counted in latency_jobs_late and the percentiles); any still
 * missing are reported as never claimed by the scheduler or claimed but not
 * consumed, and the exit status is 1.
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
    int64_t *due_seen = calloc((size_t)leads, sizeof(int64_t));
    size_t n = 0, late = 0;
    double deadline = bench_mono_s() + 5.0 + (double)spread_ms / 1000.0 + 20.0;
    /* Past the deadline, jobs still missing get a grace period, so that a
     * shortfall can be told apart: a job that only came late (counted in
     * the percentiles and in latency_jobs_late) or one that never came. */
    double grace_end = deadline + 30.0;
    while (n < (size_t)leads && bench_mono_s() < grace_end) {
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
                due_seen[n] = due_us;
                n++;
                late += bench_mono_s() > deadline;
            }
            dialjob_free(job);
        } else {
            fprintf(stderr, "bench_latency: a message that is no dial job: %s\n", err);
        }
        kafka_message_free(msg);
    }
    /* Each lead has its own due time: count the leads seen, not the jobs,
     * so that a job seen twice cannot hide one never seen. */
    qsort(due_seen, n, sizeof(*due_seen), cmp_i64);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || due_seen[i] != due_seen[i - 1];
    long unclaimed = 0;
    if (distinct < (size_t)leads) {
        /* What became of the leads whose job never came. */
        PGresult *res = NULL;
        bench_sql(b.db,
                  "SELECT count(*) FROM lead WHERE variables ? 'due_us'"
                  " AND status IN ('created', 'rescheduled')",
                  0, NULL, &res);
        unclaimed = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    kafka_consumer_free(consumer);

    printf("latency_leads=%ld\n", leads);
    printf("latency_spread_ms=%ld\n", spread_ms);
    printf("latency_jobs_seen=%zu\n", distinct);
    if (n > distinct)
        printf("latency_jobs_duplicate=%zu\n", n - distinct);
    if (late)
        printf("latency_jobs_late=%zu\n", late);
    if (distinct < (size_t)leads)
        printf("# latency: %zu jobs never seen: %ld leads never claimed (still due), %ld claimed"
               " (scheduled) but their job not consumed\n",
               (size_t)leads - distinct, unclaimed, (long)((size_t)leads - distinct) - unclaimed);
    printf("due_to_issue_p50_ms=%.0f\n", pct_ms(issued, n, 0.50));
    printf("due_to_issue_p99_ms=%.0f\n", pct_ms(issued, n, 0.99));
    printf("due_to_job_p50_ms=%.0f\n", pct_ms(consumed, n, 0.50));
    printf("due_to_job_p99_ms=%.0f\n", pct_ms(consumed, n, 0.99));
    free(consumed);
    free(issued);
    free(due_seen);
    bench_db_drop(&b);
    return distinct == (size_t)leads ? 0 : 1;
}

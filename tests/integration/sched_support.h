/*
 * sched_support.h — the fixture of the scheduler's integration tests
 * (test_sched_rules.c, test_sched_results.c), header-only.
 *
 * Process-wide (sched_env_setup, once per test binary):
 *   - a topic prefix "t<pid>." and a Redis prefix "t<pid>:" of its own, set
 *     in the environment before any topic name is built, so that test
 *     binaries running in parallel never see each other's messages or keys;
 *   - the dial-jobs and campaign-events topics, created up front by a
 *     producer's metadata request (kafka-dev auto-creates a topic a producer
 *     asks for; a consumer's request does not create it);
 *   - the library's idempotent producer, which dispatch, recovery and the
 *     outbox drain write to;
 *   - a reader: a plain librdkafka consumer assigned to every partition of
 *     both topics from the beginning. sched_drain() flushes the producer
 *     and consumes until it has read as many messages as the producer had
 *     acknowledged, so after it every message produced so far has been
 *     decoded and kept: a count of jobs is exact, never "what arrived
 *     within a timeout".
 * Per test (sched_fx_setup / sched_fx_teardown): a fresh database with the
 * migrations applied, dropped afterwards.
 *
 * Campaign time is a parameter everywhere: tests pass explicit instants
 * written as local time with their offset, T("2026-06-10T10:00-04:00")
 * (T() is the rules tests' parser, tests/unit/test_rules_support.h).
 * 2026-06-10 is a Wednesday; New York is on EDT (-04:00), Los Angeles on
 * PDT (-07:00) and London on BST (+01:00) that whole month.
 */
#ifndef OUTDIAL_TEST_SCHED_SUPPORT_H
#define OUTDIAL_TEST_SCHED_SUPPORT_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "clock.h"
#include "codec.h"
#include "dispatch.h"
#include "kafka.h"
#include "lifecycle.h"
#include "migrate.h"
#include "pg.h"
#include "recovery.h"
#include "redis.h"
#include "results.h"
#include "rkeys.h"
#include "support.h"
#include "topics.h"
#include "unit/test_rules_support.h"
#include "uuid.h"

#define US_PER_SEC ((int64_t)1000000)
#define US_PER_MIN (60 * US_PER_SEC)

/* How long a drain may wait for the reader to catch up with the producer:
 * the messages are already acknowledged, so this is only the fetch round
 * trips of a local broker. */
#define SCHED_DRAIN_TIMEOUT_MS 15000
#define SCHED_MAX_PARTITIONS   64

typedef struct sched_env {
    char topic_prefix[32];
    char redis_prefix[32];
    char dial_topic[TOPIC_NAME_MAX + 1];
    char events_topic[TOPIC_NAME_MAX + 1];
    int partitions[2]; /* of dial_topic, events_topic */
    kafka_producer_t *producer;
    redis_t *redis;
    rd_kafka_t *reader;
    dialjob_t **jobs; /* every DialJob read so far, in arrival order per partition */
    size_t n_jobs, cap_jobs;
    campaignevent_t **cevents; /* every CampaignEvent read so far */
    size_t n_cevents, cap_cevents;
    int db_seq;
} sched_env_t;

static sched_env_t g_env;

/* ---- process-wide setup ------------------------------------------------- */

static inline void sched_die(const char *what, const char *why)
{
    fprintf(stderr, "sched test setup: %s: %s\n", what, why);
    exit(1);
}

static inline void sched_reader_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char why[512];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
        sched_die(name, why);
}

/* Creates topic (kafka_topic_create) and returns its partition count. */
static inline int sched_topic_create(const char *brokers, const char *topic)
{
    char err[512];
    int partitions = 0;
    if (kafka_topic_create(brokers, topic, &partitions, err, sizeof(err)))
        sched_die(topic, err);
    if (partitions > SCHED_MAX_PARTITIONS)
        sched_die(topic, "more partitions than SCHED_MAX_PARTITIONS");
    return partitions;
}

/* Group setup of a test binary: see the header comment. */
static inline int sched_env_setup(void **state)
{
    (void)state;
    char err[512];
    memset(&g_env, 0, sizeof(g_env));
    const char *brokers = support_env("OUTDIAL_KAFKA_BROKERS");
    support_env("OUTDIAL_PG_DSN");
    support_env("OUTDIAL_REDIS_URL");
    snprintf(g_env.topic_prefix, sizeof(g_env.topic_prefix), "t%d.", (int)getpid());
    snprintf(g_env.redis_prefix, sizeof(g_env.redis_prefix), "t%d:", (int)getpid());
    setenv(TOPIC_PREFIX_ENV, g_env.topic_prefix, 1);
    setenv(RKEYS_PREFIX_ENV, g_env.redis_prefix, 1);
    if (topic_name_from_env(TOPIC_DIAL_JOBS, g_env.dial_topic, sizeof(g_env.dial_topic), err,
                            sizeof(err)) ||
        topic_name_from_env(TOPIC_CAMPAIGN_EVENTS, g_env.events_topic, sizeof(g_env.events_topic),
                            err, sizeof(err)))
        sched_die("topic names", err);
    g_env.partitions[0] = sched_topic_create(brokers, g_env.dial_topic);
    g_env.partitions[1] = sched_topic_create(brokers, g_env.events_topic);

    kafka_producer_opts_t popts = {.client_id = "test-sched"};
    if (kafka_producer_new(&popts, &g_env.producer, err, sizeof(err)))
        sched_die("producer", err);
    if (redis_new_from_env(&g_env.redis, err, sizeof(err)))
        sched_die("redis", err);

    char group[64], why[512];
    snprintf(group, sizeof(group), "test-sched-reader-%d", (int)getpid());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    sched_reader_conf_set(conf, "bootstrap.servers", brokers);
    sched_reader_conf_set(conf, "group.id", group); /* never joined: partitions are assigned */
    sched_reader_conf_set(conf, "enable.auto.commit", "false");
    sched_reader_conf_set(conf, "enable.partition.eof", "false");
    sched_reader_conf_set(conf, "fetch.wait.max.ms", "50");
    g_env.reader = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (!g_env.reader)
        sched_die("reader", why);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    const char *topics[2] = {g_env.dial_topic, g_env.events_topic};
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < g_env.partitions[t]; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t], p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t kerr = rd_kafka_assign(g_env.reader, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (kerr)
        sched_die("reader assign", rd_kafka_err2str(kerr));
    return 0;
}

static inline int sched_env_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_env.n_jobs; i++)
        dialjob_free(g_env.jobs[i]);
    free(g_env.jobs);
    for (size_t i = 0; i < g_env.n_cevents; i++)
        campaignevent_free(g_env.cevents[i]);
    free(g_env.cevents);
    if (g_env.reader) {
        rd_kafka_consumer_close(g_env.reader);
        rd_kafka_destroy(g_env.reader);
    }
    kafka_producer_free(g_env.producer);
    redis_free(g_env.redis);
    memset(&g_env, 0, sizeof(g_env));
    return 0;
}

/* Flushes the producer and reads both topics until the reader has every
 * message the producer had acknowledged. Only this process writes to its
 * prefixed topics, and only through g_env.producer, so the producer's
 * delivery count is the exact number of messages on them. */
static inline void sched_drain(void)
{
    char err[512];
    int rc = kafka_producer_flush(g_env.producer, 10000, err, sizeof(err));
    if (rc)
        fail_msg("producer flush: %s", err);
    uint64_t delivered = 0, failed = 0;
    kafka_producer_counts(g_env.producer, &delivered, &failed);
    assert_int_equal(failed, 0);
    int64_t deadline = od_clock_real_us() + SCHED_DRAIN_TIMEOUT_MS * 1000LL;
    for (;;) {
        uint64_t seen = g_env.n_jobs + g_env.n_cevents;
        if (seen > delivered)
            fail_msg("reader saw %" PRIu64 " messages, the producer delivered %" PRIu64, seen,
                     delivered);
        if (seen == delivered)
            return;
        if (od_clock_real_us() > deadline)
            fail_msg("reader has %" PRIu64 " of %" PRIu64 " messages after %d ms", seen, delivered,
                     SCHED_DRAIN_TIMEOUT_MS);
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(g_env.reader, 100);
        if (!msg)
            continue;
        if (msg->err) {
            fprintf(stderr, "reader: %s\n", rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
            continue;
        }
        const char *name = rd_kafka_topic_name(msg->rkt);
        int t = strcmp(name, g_env.dial_topic) == 0 ? 0 : 1;
        if (t == 0) {
            dialjob_t *job = NULL;
            if (dialjob_decode(msg->payload, msg->len, &job, err, sizeof(err)))
                fail_msg("a DialJob on %s does not decode: %s", name, err);
            SUPPORT_GROW(g_env.jobs, g_env.n_jobs, g_env.cap_jobs);
            g_env.jobs[g_env.n_jobs++] = job;
        } else {
            campaignevent_t *ev = NULL;
            if (campaignevent_decode(msg->payload, msg->len, &ev, err, sizeof(err)))
                fail_msg("a CampaignEvent on %s does not decode: %s", name, err);
            SUPPORT_GROW(g_env.cevents, g_env.n_cevents, g_env.cap_cevents);
            g_env.cevents[g_env.n_cevents++] = ev;
        }
        rd_kafka_message_destroy(msg);
    }
}

/* Jobs read so far for a campaign. */
static inline size_t sched_jobs_count(const char *campaign_id)
{
    size_t n = 0;
    for (size_t i = 0; i < g_env.n_jobs; i++)
        n += strcmp(g_env.jobs[i]->campaign_id, campaign_id) == 0;
    return n;
}

/* Jobs read so far for a lead. */
static inline size_t sched_jobs_for_lead(const char *lead_id)
{
    size_t n = 0;
    for (size_t i = 0; i < g_env.n_jobs; i++)
        n += strcmp(g_env.jobs[i]->lead_id, lead_id) == 0;
    return n;
}

/* Jobs read so far that carry attempt_id. */
static inline size_t sched_jobs_for_attempt(const char *attempt_id)
{
    size_t n = 0;
    for (size_t i = 0; i < g_env.n_jobs; i++)
        n += strcmp(g_env.jobs[i]->attempt_id, attempt_id) == 0;
    return n;
}

/* The latest job read for a lead (one partition per key keeps them in
 * order), or NULL. */
static inline const dialjob_t *sched_job_last(const char *lead_id)
{
    const dialjob_t *last = NULL;
    for (size_t i = 0; i < g_env.n_jobs; i++)
        if (strcmp(g_env.jobs[i]->lead_id, lead_id) == 0)
            last = g_env.jobs[i];
    return last;
}

/* ---- per-test database -------------------------------------------------- */

typedef struct sched_fx {
    char *dsn;
    pg_conn_t *db;
} sched_fx_t;

static inline int sched_fx_setup(void **state)
{
    char err[512], name[32];
    snprintf(name, sizeof(name), "sched%d", ++g_env.db_seq);
    sched_fx_t *fx = calloc(1, sizeof(*fx));
    fx->dsn = support_pg_create_db(name);
    if (pg_conn_new(fx->dsn, "test_sched", NULL, &fx->db, err, sizeof(err)))
        fail_msg("connect %s: %s", fx->dsn, err);
    /* The source tree's migrations (ctest sets OUTDIAL_SOURCE_DIR). */
    const char *src = getenv("OUTDIAL_SOURCE_DIR");
    char dir[4096];
    if (src && *src)
        snprintf(dir, sizeof(dir), "%s/db/migrations", src);
    else
        snprintf(dir, sizeof(dir), "%s", migrate_dir_default());
    migrate_result_t mr;
    if (migrate_run(fx->db, dir, NULL, NULL, &mr, err, sizeof(err)))
        fail_msg("migrate: %s", err);
    *state = fx;
    return 0;
}

static inline int sched_fx_teardown(void **state)
{
    sched_fx_t *fx = *state;
    if (!fx)
        return 0;
    pg_conn_free(fx->db);
    support_pg_drop_db(fx->dsn);
    free(fx->dsn);
    free(fx);
    return 0;
}

/* ---- SQL ---------------------------------------------------------------- */

/* Runs sql with n text parameters (NULL = SQL NULL); fails the test on an
 * error. The result is returned when res is not NULL (caller PQclears). */
static inline void sql_v(pg_conn_t *db, PGresult **res, const char *sql, int n, va_list ap)
{
    const char *params[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++)
        params[i] = va_arg(ap, const char *);
    char err[512];
    if (pg_exec_params(db, sql, n, params, res, err, sizeof(err)))
        fail_msg("%s: %s", sql, err);
}

static inline void sql_exec(pg_conn_t *db, const char *sql, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    sql_v(db, NULL, sql, n, ap);
    va_end(ap);
}

/* The first column of the first row ("" for NULL or no row), in one of a
 * few rotating buffers so that several calls may appear in one expression. */
static inline const char *sql_text(pg_conn_t *db, const char *sql, int n, ...)
{
    static char bufs[8][1024];
    static int next;
    char *buf = bufs[next++ % 8];
    PGresult *res = NULL;
    va_list ap;
    va_start(ap, n);
    sql_v(db, &res, sql, n, ap);
    va_end(ap);
    snprintf(buf, sizeof(bufs[0]), "%s",
             PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return buf;
}

static inline int64_t sql_i64(pg_conn_t *db, const char *sql, int n, ...)
{
    PGresult *res = NULL;
    va_list ap;
    va_start(ap, n);
    sql_v(db, &res, sql, n, ap);
    va_end(ap);
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0))
        fail_msg("%s: no value", sql);
    int64_t v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static inline const char *i64s(int64_t v)
{
    static char bufs[8][24];
    static int next;
    char *buf = bufs[next++ % 8];
    snprintf(buf, sizeof(bufs[0]), "%" PRId64, v);
    return buf;
}

/* ---- seeding -------------------------------------------------------------- */

/* A campaign's settings; sched_spec_default() gives the schema's defaults,
 * running, in New York. */
typedef struct sched_spec {
    const char *status;
    int window_start_min, window_end_min;
    int allowed_days;
    int max_retries;
    int retry_interval_min;
    bool retry_on_voicemail;
    const char *goal_variable; /* NULL: none */
    bool goal_based_retry;
    const char *timezone_mode;
    int max_concurrent_calls;
    int calls_per_minute; /* 0: none */
    int max_call_duration_s;
    /* account and assistant */
    int64_t balance_minor;
    int quiet_start_min, quiet_end_min; /* -1: none */
    const char *assistant_tz;
    const char *outbound_e164; /* NULL: none */
} sched_spec_t;

static inline sched_spec_t sched_spec_default(void)
{
    sched_spec_t s = {
        .status = "in_progress",
        .window_start_min = 9 * 60,
        .window_end_min = 18 * 60,
        .allowed_days = 31, /* Mon..Fri */
        .max_retries = 3,
        .retry_interval_min = 60,
        .retry_on_voicemail = true,
        .goal_variable = NULL,
        .goal_based_retry = false,
        .timezone_mode = "assistant",
        .max_concurrent_calls = 10,
        .calls_per_minute = 0,
        .max_call_duration_s = 600,
        .balance_minor = 100000,
        .quiet_start_min = -1,
        .quiet_end_min = -1,
        .assistant_tz = "America/New_York",
        .outbound_e164 = "+12125550000",
    };
    return s;
}

typedef struct sched_world {
    char account_id[UUID_STR_LEN];
    char assistant_id[UUID_STR_LEN];
    char campaign_id[UUID_STR_LEN];
} sched_world_t;

static inline void seed_account(pg_conn_t *db, const sched_spec_t *s, char out[UUID_STR_LEN])
{
    char qs[8], qe[8];
    snprintf(qs, sizeof(qs), "%d", s->quiet_start_min);
    snprintf(qe, sizeof(qe), "%d", s->quiet_end_min);
    snprintf(out, UUID_STR_LEN, "%s",
             sql_text(db,
                      "INSERT INTO account (name, balance_minor, webhook_secret,"
                      " quiet_hours_start_min, quiet_hours_end_min)"
                      " VALUES ('acme', $1::bigint, 'secret-secret-secret', $2::smallint,"
                      " $3::smallint) RETURNING id",
                      3, i64s(s->balance_minor), s->quiet_start_min >= 0 ? qs : NULL,
                      s->quiet_end_min >= 0 ? qe : NULL));
}

static inline void seed_assistant(pg_conn_t *db, const char *account_id, const sched_spec_t *s,
                                  char out[UUID_STR_LEN])
{
    snprintf(out, UUID_STR_LEN, "%s",
             sql_text(db,
                      "INSERT INTO assistant (account_id, name, timezone, outbound_e164,"
                      " provider_assistant_id, provider_phone_number_id, post_call_schema)"
                      " VALUES ($1::uuid, 'closer', $2, $3, 'asst-42', 'pn-7',"
                      " '{\"interested\": \"boolean\", \"notes\": \"string\"}') RETURNING id",
                      3, account_id, s->assistant_tz, s->outbound_e164));
}

static inline void seed_campaign(pg_conn_t *db, const char *account_id, const char *assistant_id,
                                 const sched_spec_t *s, char out[UUID_STR_LEN])
{
    char buf[10][16];
    snprintf(buf[0], 16, "%d", s->window_start_min);
    snprintf(buf[1], 16, "%d", s->window_end_min);
    snprintf(buf[2], 16, "%d", s->allowed_days);
    snprintf(buf[3], 16, "%d", s->max_retries);
    snprintf(buf[4], 16, "%d", s->retry_interval_min);
    snprintf(buf[5], 16, "%d", s->max_concurrent_calls);
    snprintf(buf[6], 16, "%d", s->calls_per_minute);
    snprintf(buf[7], 16, "%d", s->max_call_duration_s);
    snprintf(out, UUID_STR_LEN, "%s",
             sql_text(db,
                      "INSERT INTO campaign (account_id, assistant_id, name, status,"
                      " window_start_min, window_end_min, allowed_days, max_retries,"
                      " retry_interval_min, retry_on_voicemail, goal_variable, goal_based_retry,"
                      " timezone_mode, max_concurrent_calls, calls_per_minute, max_call_duration_s)"
                      " VALUES ($1::uuid, $2::uuid, 'spring', $3::campaign_status, $4::smallint,"
                      " $5::smallint, $6::smallint, $7::smallint, $8::int, $9::boolean, $10,"
                      " $11::boolean, $12::timezone_mode, $13::int, $14::int, $15::int)"
                      " RETURNING id",
                      15, account_id, assistant_id, s->status, buf[0], buf[1], buf[2], buf[3],
                      buf[4], s->retry_on_voicemail ? "true" : "false", s->goal_variable,
                      s->goal_based_retry ? "true" : "false", s->timezone_mode, buf[5],
                      s->calls_per_minute > 0 ? buf[6] : NULL, buf[7]));
}

/* An account, its assistant and one campaign. */
static inline void seed_world(pg_conn_t *db, const sched_spec_t *s, sched_world_t *w)
{
    seed_account(db, s, w->account_id);
    seed_assistant(db, w->account_id, s, w->assistant_id);
    seed_campaign(db, w->account_id, w->assistant_id, s, w->campaign_id);
}

/* A world of the default spec (sched_spec_default). */
static inline sched_world_t seed_world_default(pg_conn_t *db)
{
    sched_spec_t spec = sched_spec_default();
    sched_world_t w;
    seed_world(db, &spec, &w);
    return w;
}

/* A primary lead, due at once ('-infinity', the schema default). tz may
 * be NULL. */
static inline void seed_lead(pg_conn_t *db, const char *campaign_id, const char *e164,
                             const char *tz, char out[UUID_STR_LEN])
{
    snprintf(out, UUID_STR_LEN, "%s",
             sql_text(db,
                      "INSERT INTO lead (campaign_id, e164, name, timezone, variables)"
                      " VALUES ($1::uuid, $2, 'Ada Lovelace', $3,"
                      " '{\"plan\": \"gold\", \"age\": 36}') RETURNING id",
                      3, campaign_id, e164, tz));
}

/* A world of the default settings (sched_spec_default) with one primary
 * lead on e164, due at once. */
static inline void seed_world_with_lead(pg_conn_t *db, sched_world_t *w, const char *e164,
                                        char lead[UUID_STR_LEN])
{
    *w = seed_world_default(db);
    seed_lead(db, w->campaign_id, e164, NULL, lead);
}

/* A secondary contact of parent, waiting (next_attempt_at NULL). */
static inline void seed_secondary(pg_conn_t *db, const char *campaign_id, const char *parent_id,
                                  int order, const char *e164, char out[UUID_STR_LEN])
{
    char ord[8];
    snprintf(ord, sizeof(ord), "%d", order);
    snprintf(out, UUID_STR_LEN, "%s",
             sql_text(db,
                      "INSERT INTO lead (campaign_id, parent_lead_id, contact_order, e164, name,"
                      " next_attempt_at) VALUES ($1::uuid, $2::uuid, $3::smallint, $4,"
                      " 'Second', NULL) RETURNING id",
                      4, campaign_id, parent_id, ord, e164));
}

/* ---- reading leads and calls ------------------------------------------- */

typedef struct lead_row {
    char status[16];
    char outcome[24]; /* "" when NULL */
    int attempts;
    bool next_null;
    int64_t next_us;               /* od_us(next_attempt_at) */
    char goal[8];                  /* "t", "f" or "" */
    char attempt_id[UUID_STR_LEN]; /* "" when NULL */
    char last_call_status[16];
    int reissues;
} lead_row_t;

static inline lead_row_t lead_get(pg_conn_t *db, const char *lead_id)
{
    lead_row_t row;
    memset(&row, 0, sizeof(row));
    PGresult *res = NULL;
    char err[512];
    const char *p[] = {lead_id};
    if (pg_exec_params(db,
                       "SELECT status, coalesce(outcome::text, ''), attempts,"
                       " next_attempt_at IS NULL, coalesce(od_us(next_attempt_at), 0),"
                       " coalesce(goal_result::text, ''), coalesce(current_attempt_id::text, ''),"
                       " coalesce(last_call_status::text, ''), reissues"
                       " FROM lead WHERE id = $1::uuid",
                       1, p, &res, err, sizeof(err)))
        fail_msg("lead_get: %s", err);
    if (PQntuples(res) != 1)
        fail_msg("lead %s not found", lead_id);
    snprintf(row.status, sizeof(row.status), "%s", PQgetvalue(res, 0, 0));
    snprintf(row.outcome, sizeof(row.outcome), "%s", PQgetvalue(res, 0, 1));
    row.attempts = atoi(PQgetvalue(res, 0, 2));
    row.next_null = PQgetvalue(res, 0, 3)[0] == 't';
    row.next_us = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    snprintf(row.goal, sizeof(row.goal), "%.1s", PQgetvalue(res, 0, 5));
    snprintf(row.attempt_id, sizeof(row.attempt_id), "%s", PQgetvalue(res, 0, 6));
    snprintf(row.last_call_status, sizeof(row.last_call_status), "%s", PQgetvalue(res, 0, 7));
    row.reissues = atoi(PQgetvalue(res, 0, 8));
    PQclear(res);
    return row;
}

/* Leads of a campaign in a status. */
static inline int64_t leads_in(pg_conn_t *db, const char *campaign_id, const char *status)
{
    return sql_i64(db,
                   "SELECT count(*) FROM lead WHERE campaign_id = $1::uuid"
                   " AND status = $2::lead_status",
                   2, campaign_id, status);
}

/* Asserts an instant, printing both sides readably on failure. */
#define assert_time_equal(got, want)                                                               \
    do {                                                                                           \
        int64_t got_ = (got), want_ = (want);                                                      \
        if (got_ != want_) {                                                                       \
            char g_[40], w_[40];                                                                   \
            fail_msg("%s: got %s, want %s", #got, rt_fmt(got_, g_, sizeof(g_)),                    \
                     rt_fmt(want_, w_, sizeof(w_)));                                               \
        }                                                                                          \
    } while (0)

/* ---- driving the library ------------------------------------------------ */

/* dispatch_campaign at now_us, then drains the topics. */
static inline dispatch_stats_t sched_dispatch(sched_fx_t *fx, const char *campaign_id,
                                              int64_t now_us)
{
    char err[512];
    dispatch_stats_t st;
    dispatch_stats_init(&st);
    dispatch_caps_t caps = {g_env.redis, g_env.redis_prefix};
    int rc = dispatch_campaign(fx->db, g_env.producer, g_env.dial_topic, &caps, campaign_id, now_us,
                               DISPATCH_BATCH_DEFAULT, &st, err, sizeof(err));
    if (rc)
        fail_msg("dispatch_campaign: %s (%s)", err, od_err_name(rc));
    sched_drain();
    return st;
}

/* dispatch_all at now_us, then drains the topics. */
static inline dispatch_stats_t sched_dispatch_all(sched_fx_t *fx, int64_t now_us)
{
    char err[512];
    dispatch_stats_t st;
    dispatch_stats_init(&st);
    dispatch_caps_t caps = {g_env.redis, g_env.redis_prefix};
    int rc = dispatch_all(fx->db, g_env.producer, g_env.dial_topic, &caps, now_us,
                          DISPATCH_BATCH_DEFAULT, NULL, &st, err, sizeof(err));
    if (rc)
        fail_msg("dispatch_all: %s (%s)", err, od_err_name(rc));
    sched_drain();
    return st;
}

/* The recovery settings of the tests: a scheduled lead is lost after 2
 * minutes without an event, a processing one 1 minute after its maximum
 * call duration; fences live 10 minutes; the topics and prefix of g_env. */
static inline recovery_cfg_t sched_recovery_cfg(void)
{
    recovery_cfg_t cfg = {
        .scheduled_timeout_us = 120 * US_PER_SEC,
        .processing_margin_us = 60 * US_PER_SEC,
        .fence_ttl_ms = 600000,
        .redis_prefix = g_env.redis_prefix,
        .dial_topic = g_env.dial_topic,
        .campaign_events_topic = g_env.events_topic,
    };
    return cfg;
}

/* A dial-jobs backlog of `partitions` partitions sampled at campaign time
 * at_us, partition p's high watermark high (waiting_part: high + 1, the
 * others high) and every position at high: the jobs of waiting_part (-1:
 * none) scheduled by at_us - settle wait, every other job is finished. The
 * caller frees it. */
static inline recovery_backlog_t *sched_backlog_at(int64_t at_us, int partitions, int waiting_part)
{
    recovery_backlog_t *b = recovery_backlog_new(RECOVERY_BACKLOG_SAMPLES);
    int64_t high[16], committed[16], low[16];
    assert_in_range(partitions, 1, 16);
    for (int p = 0; p < partitions; p++) {
        high[p] = p == waiting_part ? 11 : 10;
        committed[p] = 10;
        low[p] = 0;
    }
    recovery_backlog_sample(b, at_us, partitions, high);
    recovery_backlog_positions(b, partitions, committed, low);
    return b;
}

/* recovery_run at now_us with skip (may be NULL) holding failed leads and
 * backlog (NULL: one in which every job is finished), then drains the
 * topics. */
static inline recovery_stats_t sched_recover_in(sched_fx_t *fx, item_backoff_t *skip,
                                                const recovery_backlog_t *backlog, int64_t now_us)
{
    recovery_cfg_t cfg = sched_recovery_cfg();
    cfg.skip = skip;
    recovery_backlog_t *finished = backlog ? NULL : sched_backlog_at(now_us, 1, -1);
    cfg.backlog = backlog ? backlog : finished;
    recovery_stats_t st = {0};
    char err[512];
    int rc = recovery_run(fx->db, g_env.redis, g_env.producer, &cfg, now_us, &st, err, sizeof(err));
    recovery_backlog_free(finished);
    if (rc)
        fail_msg("recovery_run: %s (%s)", err, od_err_name(rc));
    sched_drain();
    return st;
}

/* recovery_run at now_us with skip (may be NULL) holding failed leads, in
 * a backlog where every job is finished, then drains the topics. */
static inline recovery_stats_t sched_recover_held(sched_fx_t *fx, item_backoff_t *skip,
                                                  int64_t now_us)
{
    return sched_recover_in(fx, skip, NULL, now_us);
}

/* recovery_run at now_us, then drains the topics. */
static inline recovery_stats_t sched_recover(sched_fx_t *fx, int64_t now_us)
{
    return sched_recover_held(fx, NULL, now_us);
}

/* recovery_complete_campaigns at now_us: how many campaigns it completed
 * (an error fails the test). */
static inline uint64_t sched_complete_campaigns(sched_fx_t *fx, int64_t now_us)
{
    recovery_stats_t st = {0};
    char err[512];
    int rc = recovery_complete_campaigns(fx->db, g_env.redis, g_env.redis_prefix, now_us, &st, err,
                                         sizeof(err));
    if (rc)
        fail_msg("recovery_complete_campaigns: %s (%s)", err, od_err_name(rc));
    return st.completed_campaigns;
}

/* What a dialer reports for one event of a job. */
typedef struct ev_spec {
    Outdial__V1__CallStatus status;
    Outdial__V1__AnsweredBy answered_by;
    Outdial__V1__FailureClass failure;
    Outdial__V1__SkipReason skip;
    const char *vars; /* post-call variables JSON, or NULL */
    int64_t ended_us; /* 0: none */
    int64_t cost_minor;
    const char *caller_id; /* the number the call came from, or NULL */
} ev_spec_t;

#define EV_RINGING    OUTDIAL__V1__CALL_STATUS__CALL_STATUS_RINGING
#define EV_IN_PROG    OUTDIAL__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS
#define EV_COMPLETED  OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED
#define EV_BUSY       OUTDIAL__V1__CALL_STATUS__CALL_STATUS_BUSY
#define EV_UNANSWERED OUTDIAL__V1__CALL_STATUS__CALL_STATUS_UNANSWERED
#define EV_FAILED     OUTDIAL__V1__CALL_STATUS__CALL_STATUS_FAILED
#define EV_SKIPPED    OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED
#define BY_NONE       OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_UNSPECIFIED
#define BY_HUMAN      OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN
#define BY_VOICEMAIL  OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_VOICEMAIL
#define BY_UNKNOWN    OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_UNKNOWN
#define FC_NONE       OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_UNSPECIFIED
#define FC_TRANSIENT  OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT
#define FC_PERMANENT  OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT
#define SK_NONE       OUTDIAL__V1__SKIP_REASON__SKIP_REASON_UNSPECIFIED
#define SK_WINDOW     OUTDIAL__V1__SKIP_REASON__SKIP_REASON_OUTSIDE_WINDOW
#define SK_NOT_RUN    OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CAMPAIGN_NOT_RUNNING
#define SK_DNC        OUTDIAL__V1__SKIP_REASON__SKIP_REASON_DNC
#define SK_BUSY       OUTDIAL__V1__SKIP_REASON__SKIP_REASON_NUMBER_BUSY

/* The CallEvent of spec for job at now_us (event_id is the caller's
 * buffer; the strings are borrowed). */
static inline void sched_event_build(const dialjob_t *job, const char *event_id,
                                     const ev_spec_t *spec, int64_t now_us, callevent_t *out)
{
    callevent_t ev;
    callevent_init(&ev);
    ev.event_id = (char *)event_id;
    ev.attempt_id = job->attempt_id;
    ev.lead_id = job->lead_id;
    ev.campaign_id = job->campaign_id;
    ev.account_id = job->account_id;
    ev.attempt_number = job->attempt_number;
    ev.status = spec->status;
    ev.answered_by = spec->answered_by;
    ev.failure_class = spec->failure;
    ev.skip_reason = spec->skip;
    ev.post_call_variables_json = (char *)(spec->vars ? spec->vars : "");
    ev.started_at_us = spec->status == EV_SKIPPED ? 0 : job->issued_at_us + 2 * US_PER_SEC;
    ev.ended_at_us = spec->ended_us;
    ev.duration_ms = spec->ended_us ? (spec->ended_us - ev.started_at_us) / 1000 : 0;
    if (ev.duration_ms < 0)
        ev.duration_ms = 0;
    ev.cost_minor = spec->cost_minor;
    ev.provider_call_id = (char *)"";
    ev.caller_id = (char *)(spec->caller_id ? spec->caller_id : "");
    ev.occurred_at_us = now_us;
    *out = ev;
}

/* Builds the CallEvent of spec for job and applies it at now_us; returns
 * the effect, failing the test on an error. */
static inline results_outcome_t sched_apply_id(sched_fx_t *fx, const dialjob_t *job,
                                               const char *event_id, const ev_spec_t *spec,
                                               int64_t now_us)
{
    callevent_t ev;
    sched_event_build(job, event_id, spec, now_us, &ev);
    char err[512];
    /* The event as the dialer publishes it must be valid on the wire. */
    if (callevent_validate(&ev, err, sizeof(err)))
        fail_msg("test event invalid: %s", err);
    results_outcome_t out;
    int rc =
        results_apply(fx->db, g_env.redis, g_env.redis_prefix, &ev, now_us, &out, err, sizeof(err));
    if (rc)
        fail_msg("results_apply: %s (%s)", err, od_err_name(rc));
    return out;
}

/* sched_apply_id with a new event id. */
static inline results_outcome_t sched_apply(sched_fx_t *fx, const dialjob_t *job,
                                            const ev_spec_t *spec, int64_t now_us)
{
    char event_id[UUID_STR_LEN];
    uuid_str_new(event_id);
    return sched_apply_id(fx, job, event_id, spec, now_us);
}

/* ringing, then the terminal spec at its ended_us. */
static inline results_outcome_t sched_call(sched_fx_t *fx, const dialjob_t *job,
                                           const ev_spec_t *end)
{
    if (end->status != EV_SKIPPED) {
        ev_spec_t ringing = {.status = EV_RINGING};
        results_outcome_t r = sched_apply(fx, job, &ringing, job->issued_at_us + US_PER_SEC);
        assert_int_equal(r.effect, RESULTS_APPLIED);
    }
    int64_t at = end->ended_us ? end->ended_us : job->issued_at_us + 30 * US_PER_SEC;
    return sched_apply(fx, job, end, at);
}

#endif

/*
 * bench_common.h — what the benchmark drivers share: a monotonic clock, a
 * fatal error, a database of their own (created, migrated, dropped), and a
 * campaign fixture of N due leads.
 *
 * Header-only: each driver is one translation unit plus this.
 */
#ifndef OUTDIAL_BENCH_COMMON_H
#define OUTDIAL_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "migrate.h"
#include "pg.h"

static inline double bench_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void bench_die(const char *who, const char *what, const char *err)
{
    fprintf(stderr, "%s: %s: %s\n", who, what, err);
    exit(1);
}

static inline void bench_sql(pg_conn_t *db, const char *sql, int n, const char *const *p,
                             PGresult **res)
{
    char err[512];
    if (pg_exec_params(db, sql, n, p, res, err, sizeof(err)))
        bench_die("bench", sql, err);
}

typedef struct bench_db {
    pg_conn_t *admin;
    pg_conn_t *db;
    char name[64];
    char dsn[600];
} bench_db_t;

/* Creates and migrates database <prefix>_<pid> on OUTDIAL_PG_DSN's server;
 * bench_db_drop removes it. */
static inline void bench_db_create(bench_db_t *b, const char *prefix)
{
    char err[512], sql[256];
    const char *base = getenv("OUTDIAL_PG_DSN");
    if (!base)
        bench_die(prefix, "OUTDIAL_PG_DSN", "not set (source var/.../stack.env)");
    if (pg_conn_new(base, "bench", NULL, &b->admin, err, sizeof(err)))
        bench_die(prefix, "connect", err);
    snprintf(b->name, sizeof(b->name), "%s_%d", prefix, (int)getpid());
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", b->name);
    bench_sql(b->admin, sql, 0, NULL, NULL);
    const char *slash = strrchr(base, '/');
    snprintf(b->dsn, sizeof(b->dsn), "%.*s/%s", (int)(slash - base), base, b->name);
    if (pg_conn_new(b->dsn, "bench", NULL, &b->db, err, sizeof(err)))
        bench_die(prefix, "connect", err);
    migrate_result_t mres;
    if (migrate_run(b->db, migrate_dir_default(), NULL, NULL, &mres, err, sizeof(err)))
        bench_die(prefix, "migrate", err);
}

static inline void bench_db_drop(bench_db_t *b)
{
    char sql[256];
    pg_conn_free(b->db);
    b->db = NULL;
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", b->name);
    bench_sql(b->admin, sql, 0, NULL, NULL);
    pg_conn_free(b->admin);
    b->admin = NULL;
}

/* One account (ample balance), one assistant and `campaigns` running
 * campaigns, window open all day every day, max_concurrent_calls cap. */
static inline void bench_campaigns_create(pg_conn_t *db, long campaigns, long cap)
{
    char n_s[24], cap_s[24];
    snprintf(n_s, sizeof(n_s), "%ld", campaigns);
    snprintf(cap_s, sizeof(cap_s), "%ld", cap);
    const char *p[] = {n_s, cap_s};
    bench_sql(db,
              "WITH acc AS (INSERT INTO account (name, webhook_secret, balance_minor)"
              "  VALUES ('bench', 'secret-secret-secret', 100000000000) RETURNING id),"
              " a AS (INSERT INTO assistant (account_id, name, timezone, outbound_e164,"
              "  provider_assistant_id) SELECT id, 'bot', 'UTC', '+12125550100', 'a' FROM acc"
              "  RETURNING id, account_id)"
              " INSERT INTO campaign (account_id, assistant_id, name, status, window_start_min,"
              "  window_end_min, allowed_days, max_concurrent_calls)"
              " SELECT a.account_id, a.id, 'c' || i, 'in_progress', 0, 1439, 127, $2::int"
              " FROM a, generate_series(1, $1::int) AS i",
              2, p, NULL);
}

/* Creates topic (kafka-dev creates a topic a client asks metadata for) and
 * returns its partition count, so that a consumer subscribed before the first
 * message is produced is assigned partitions at once. */
static inline int bench_topic_create(const char *brokers, const char *topic)
{
    char why[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, why, sizeof(why)) ||
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "true", why, sizeof(why)))
        bench_die("bench", "kafka conf", why);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!rk)
        bench_die("bench", "metadata producer", why);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int partitions = 0;
    for (int attempt = 0; attempt < 50 && partitions == 0; attempt++) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                partitions = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
        if (partitions == 0)
            usleep(100 * 1000);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (partitions <= 0)
        bench_die("bench", topic, "topic not created");
    return partitions;
}

#endif

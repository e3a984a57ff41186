/*
 * bench_common.h — what the benchmark drivers share: a monotonic clock, a
 * fatal error, a database of their own (created, migrated, dropped), and a
 * campaign fixture of N due leads.
 *
 * Header-only: each driver is one translation unit plus this.
 */
#ifndef OUTDIAL_BENCH_COMMON_H
#define OUTDIAL_BENCH_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka.h"
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

/* `leads` due leads, 1,000 to a campaign, in the campaigns that
 * bench_campaigns_create made (enough of them: (leads + 999) / 1000). */
static inline void bench_leads_create(pg_conn_t *db, long leads)
{
    char n_s[24];
    snprintf(n_s, sizeof(n_s), "%ld", leads);
    const char *pn[] = {n_s};
    bench_sql(db,
              "INSERT INTO lead (campaign_id, e164, name, variables)"
              " SELECT c.id, '+1' || (2000000000 + c.rn * 1000 + i)::text, 'lead', '{\"k\":\"v\"}'"
              " FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM campaign) c,"
              " generate_series(0, 999) AS i WHERE c.rn * 1000 + i < $1::int",
              1, pn, NULL);
}

/* Reads --leads N and --batch B into *leads and *batch (left as they are
 * when not given). false on an unknown option (getopt_long has said so). */
static inline bool bench_args_leads_batch(int argc, char **argv, long *leads, long *batch)
{
    static const struct option opts[] = {
        {"leads", required_argument, NULL, 'n'}, {"batch", required_argument, NULL, 'b'}, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n')
            *leads = strtol(optarg, NULL, 10);
        else if (c == 'b')
            *batch = strtol(optarg, NULL, 10);
        else
            return false;
    }
    return true;
}

/* Creates topic (kafka-dev creates a topic a client asks metadata for) and
 * returns its partition count, so that a consumer subscribed before the first
 * message is produced is assigned partitions at once. */
static inline int bench_topic_create(const char *brokers, const char *topic)
{
    char err[512];
    int partitions = 0;
    if (kafka_topic_create(brokers, topic, &partitions, err, sizeof(err)))
        bench_die("bench", topic, err);
    return partitions;
}

#endif

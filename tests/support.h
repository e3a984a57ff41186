/*
 * support.h — helpers shared by the integration tests (header-only).
 *
 * Integration tests run against the stack that deploy/local/stack starts;
 * scripts/test sources var/stack.env so OUTDIAL_PG_DSN, OUTDIAL_REDIS_URL
 * and OUTDIAL_KAFKA_BROKERS are set. A missing variable fails the test
 * with a message saying how to start the stack, never a silent skip.
 */
#ifndef OUTDIAL_TESTS_SUPPORT_H
#define OUTDIAL_TESTS_SUPPORT_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value of a stack variable, or exit(1) with instructions. */
static inline const char *support_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr,
                "%s is not set: start the stack with deploy/local/stack up and "
                "source var/stack.env (scripts/test does both)\n",
                name);
        exit(1);
    }
    return v;
}

/* Creates an empty database named "t_<name>_<pid>" on the stack's server
 * and returns its connection string (caller frees). Each test gets its own
 * database so tests can run in parallel and start from nothing. */
static inline char *support_pg_create_db(const char *name)
{
    const char *dsn = support_env("OUTDIAL_PG_DSN");
    PGconn *conn = PQconnectdb(dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connect %s: %s\n", dsn, PQerrorMessage(conn));
        exit(1);
    }
    char db[128];
    snprintf(db, sizeof(db), "t_%s_%d", name, (int)getpid());
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db);
    PQclear(PQexec(conn, sql));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(conn));
        exit(1);
    }
    PQclear(res);
    PQfinish(conn);
    /* The stack's DSN is a URI (postgresql://user@host:port/db): swap the db. */
    const char *slash = strrchr(dsn, '/');
    size_t prefix = slash ? (size_t)(slash - dsn) : strlen(dsn);
    size_t len = prefix + strlen(db) + 2;
    char *out = malloc(len);
    snprintf(out, len, "%.*s/%s", (int)prefix, dsn, db);
    return out;
}

/* Drops a database made by support_pg_create_db (best effort). */
static inline void support_pg_drop_db(const char *db_dsn)
{
    const char *db = strrchr(db_dsn, '/');
    if (!db)
        return;
    PGconn *conn = PQconnectdb(support_env("OUTDIAL_PG_DSN"));
    if (PQstatus(conn) == CONNECTION_OK) {
        char sql[256];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db + 1);
        PQclear(PQexec(conn, sql));
    }
    PQfinish(conn);
}

#endif

/*
 * support.h — helpers shared by the integration and end-to-end tests
 * (header-only).
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

#include "xmalloc.h"

/* Makes room for one more item in the array arr of n items and cap places
 * (both lvalues), doubling it (from 64) when it is full; the caller then
 * stores arr[n++]. */
#define SUPPORT_GROW(arr, n, cap)                                                                  \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? 2 * (cap) : 64;                                                        \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                                       \
        }                                                                                          \
    } while (0)

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

/* Runs the build's `outdial-api bootstrap --name NAME --balance BALANCE`
 * (OUTDIAL_BUILD_DIR) as an operator would, against the database of the
 * environment, and reads the account id and API key it prints into id and
 * key. 0 once both are read; else the command's exit status (-1: it did
 * not start, 1: it printed no id or key), which the caller fails with its
 * own way of failing. */
static inline int support_bootstrap(const char *name, long long balance, char id[37], char key[128])
{
    id[0] = key[0] = '\0';
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s/services/api/outdial-api bootstrap --name '%s' --balance %lld",
             support_env("OUTDIAL_BUILD_DIR"), name, balance);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    while (fgets(line, sizeof(line), p)) {
        if (strncmp(line, "account_id ", 11) == 0)
            sscanf(line + 11, "%36s", id);
        else if (strncmp(line, "api_key ", 8) == 0)
            sscanf(line + 8, "%127s", key);
    }
    int status = pclose(p);
    return status != 0 ? status : !id[0] || !key[0];
}

#endif

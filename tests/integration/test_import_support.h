/*
 * test_import_support.h — helpers of the importer's integration tests
 * (header-only): a campaign to import into, a generated lead file whose
 * outcome is known row by row, and outdial-importer run as a child
 * process.
 */
#ifndef OUTDIAL_TEST_IMPORT_SUPPORT_H
#define OUTDIAL_TEST_IMPORT_SUPPORT_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "child_fork.h"
#include "migrate.h"
#include "pg.h"
#include "support.h"

/* ---- the database -------------------------------------------------------- */

/* A database of the test's own (support_pg_create_db), migrated. Returns
 * its DSN (imp_db_drop drops and frees it) and, when db is non-NULL, a
 * connection to it in *db (the caller frees it); NULL with the error on
 * stderr when it cannot be made. */
static inline char *imp_db_create(const char *name, pg_conn_t **db)
{
    char err[1024];
    char *dsn = support_pg_create_db(name);
    pg_conn_t *conn = NULL;
    if (pg_conn_new(dsn, name, NULL, &conn, err, sizeof(err)) != OD_OK ||
        migrate_run(conn, NULL, NULL, NULL, NULL, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "%s: %s\n", name, err);
        pg_conn_free(conn);
        support_pg_drop_db(dsn);
        free(dsn);
        return NULL;
    }
    if (db)
        *db = conn;
    else
        pg_conn_free(conn);
    return dsn;
}

static inline void imp_db_drop(char *dsn)
{
    if (dsn)
        support_pg_drop_db(dsn);
    free(dsn);
}

static inline PGresult *imp_sql(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(conn));
        exit(1);
    }
    return res;
}

/* The first column of the first row as a number. */
static inline long long imp_sql_int(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = imp_sql(conn, sql, n, params);
    long long v = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
                      ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                      : -1;
    PQclear(res);
    return v;
}

/* The test program's group: a fresh migrated database and a libpq
 * connection to it, and scratch paths in $TMPDIR (TMPDIR unset: /tmp) for
 * a lead file and the importer's log, all named after the group's tag. */
typedef struct imp_group {
    char *dsn;
    PGconn *conn;
    char file_path[256];
    char log_path[256];
} imp_group_t;

static imp_group_t imp;

/* Opens the group (imp). Returns 0, or -1 with the reason on stderr. */
static inline int imp_group_open(const char *tag)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(imp.file_path, sizeof(imp.file_path), "%s/%s_%d.csv", tmp, tag, (int)getpid());
    snprintf(imp.log_path, sizeof(imp.log_path), "%s/%s_%d.log", tmp, tag, (int)getpid());
    imp.dsn = imp_db_create(tag, NULL);
    if (!imp.dsn)
        return -1;
    imp.conn = PQconnectdb(imp.dsn);
    if (PQstatus(imp.conn) != CONNECTION_OK) {
        fprintf(stderr, "%s\n", PQerrorMessage(imp.conn));
        return -1;
    }
    return 0;
}

/* cmocka's group teardown: closes what imp_group_open opened, drops the
 * database and removes the scratch files. */
static inline int imp_group_teardown(void **state)
{
    (void)state;
    PQfinish(imp.conn);
    unlink(imp.file_path);
    unlink(imp.log_path);
    imp_db_drop(imp.dsn);
    return 0;
}

/* An account (region US), an assistant and a campaign; their ids. */
static inline void imp_campaign_create(PGconn *conn, char account_id[37], char campaign_id[37])
{
    PGresult *res = imp_sql(
        conn,
        "WITH a AS (INSERT INTO account (name, webhook_secret) VALUES ('import test',"
        " 'import-test-secret-0123') RETURNING id),"
        " s AS (INSERT INTO assistant (account_id, name, timezone, provider_assistant_id)"
        " SELECT id, 'assistant', 'America/New_York', 'asst' FROM a RETURNING id, account_id)"
        " INSERT INTO campaign (account_id, assistant_id, name)"
        " SELECT account_id, id, 'import test' FROM s RETURNING account_id, id",
        0, NULL);
    snprintf(account_id, 37, "%s", PQgetvalue(res, 0, 0));
    snprintf(campaign_id, 37, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
}

/* ---- the generated file -------------------------------------------------- */

/* What importing a generated file of `rows` rows (a multiple of 100) gives,
 * when the numbers imp_file_generate lists as DNC and existing are set up. */
typedef struct imp_expect {
    long read, imported, duplicate, dnc, rejected;
    long secondaries; /* secondary contacts added */
    long existing;    /* leads in the campaign before */
} imp_expect_t;

static inline imp_expect_t imp_expect_for(long rows)
{
    imp_expect_t e = {
        .read = rows,
        .imported = rows / 100 * 96,
        .duplicate = rows / 100 * 2,
        .dnc = rows / 100,
        .rejected = rows / 100,
        .secondaries = rows / 50,
        .existing = rows / 100,
    };
    return e;
}

/* Valid US numbers: the primary of row i and its secondary contact. */
static inline void imp_primary(long i, char *buf, size_t len, int style)
{
    static const int area[] = {212, 213, 312, 415, 617, 646, 718, 305, 404, 503};
    long n = 2000000 + i; /* exchanges 200..299 */
    int a = area[i % 10];
    switch (style) {
    case 0:
        snprintf(buf, len, "+1 %d %03ld %04ld", a, n / 10000, n % 10000);
        break;
    case 1:
        snprintf(buf, len, "(%d) %03ld-%04ld", a, n / 10000, n % 10000);
        break;
    case 2:
        snprintf(buf, len, "%d.%03ld.%04ld", a, n / 10000, n % 10000);
        break;
    default: /* E.164 */
        snprintf(buf, len, "+1%d%07ld", a, n);
        break;
    }
}

static inline void imp_secondary(long i, char *buf, size_t len)
{
    static const int area[] = {917, 347, 510, 650, 408, 925, 707, 818, 310, 626};
    snprintf(buf, len, "+1 %d %07ld", area[i % 10], 3000000 + i);
}

/* Writes a lead file of `rows` data rows to path. Per 100 rows: row 7 has
 * an invalid number (rejected), row 13 repeats row 12's number in another
 * notation (duplicate), row 29's number is on the DNC list, row 41's is
 * already a lead of the campaign; rows 3 and 53 have a secondary phone.
 * dnc_out and existing_out receive those numbers in E.164, comma-separated
 * (caller frees). Quoted commas, quotes and a line break in a quoted field
 * appear along the way. */
static inline void imp_file_generate(const char *path, long rows, char **dnc_out,
                                     char **existing_out)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t cap = (size_t)(rows / 100 + 1) * 16;
    char *dnc = calloc(1, cap), *existing = calloc(1, cap);
    size_t dnc_len = 0, existing_len = 0;
    fputs("Phone,First Name,Last Name,Email,Company,Secondary Phone,Notes\r\n", f);
    for (long i = 0; i < rows; i++) {
        char phone[32], e164[32], second[32] = "";
        int kind = (int)(i % 100);
        imp_primary(i, phone, sizeof(phone), (int)(i % 3));
        imp_primary(i, e164, sizeof(e164), 3);
        if (kind == 7) {
            snprintf(phone, sizeof(phone), "12345");
        } else if (kind == 13) {
            imp_primary(i - 1, phone, sizeof(phone), (int)((i + 1) % 3));
        } else if (kind == 29) {
            dnc_len +=
                (size_t)snprintf(dnc + dnc_len, cap - dnc_len, "%s%s", dnc_len ? "," : "", e164);
        } else if (kind == 41) {
            existing_len += (size_t)snprintf(existing + existing_len, cap - existing_len, "%s%s",
                                             existing_len ? "," : "", e164);
        }
        if (i % 50 == 3)
            imp_secondary(i, second, sizeof(second));
        const char *note = i % 1000 == 500 ? "\"called before,\nsays \"\"call later\"\"\"" : "";
        fprintf(f, "%s,First%ld,\"Last, %ld\",user%ld@example.com,Company %ld,%s,%s\r\n", phone, i,
                i, i, i % 997, second, note);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(1);
    }
    *dnc_out = dnc;
    *existing_out = existing;
}

/* Puts the generated DNC and existing numbers in place. */
static inline void imp_numbers_setup(PGconn *conn, const char *account_id, const char *campaign_id,
                                     const char *dnc, const char *existing)
{
    const char *p1[2] = {account_id, dnc};
    PQclear(imp_sql(conn,
                    "INSERT INTO dnc (account_id, e164) SELECT $1::uuid, n"
                    " FROM unnest(string_to_array($2, ',')) AS n",
                    2, p1));
    const char *p2[2] = {campaign_id, existing};
    PQclear(imp_sql(conn,
                    "INSERT INTO lead (campaign_id, e164, name) SELECT $1::uuid, n, 'existing'"
                    " FROM unnest(string_to_array($2, ',')) AS n",
                    2, p2));
}

/* ---- the importer as a child process --------------------------------------- */

static inline const char *imp_binary(void)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/services/importer/outdial-importer",
             support_env("OUTDIAL_BUILD_DIR"));
    return path;
}

/* Starts outdial-importer with args (NULL-terminated, after argv[0]) and
 * OUTDIAL_PG_DSN=dsn, its output appended to log_path. */
static inline pid_t imp_child_start(const char *dsn, const char *log_path, const char *const *args)
{
    pid_t pid = child_fork_tied();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        setenv("OUTDIAL_PG_DSN", dsn, 1);
        const char *argv[16];
        int n = 0;
        argv[n++] = imp_binary();
        for (int i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        perror("execv outdial-importer");
        _exit(127);
    }
    return pid;
}

/* Waits for the child; its exit status (or 128 + signal) and peak RSS in
 * KiB. */
static inline int imp_child_wait(pid_t pid, long *maxrss_kib)
{
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("wait4");
            exit(1);
        }
    }
    if (maxrss_kib)
        *maxrss_kib = ru.ru_maxrss;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

/* Prints a child's log (for a failing test). */
static inline void imp_log_dump(const char *log_path)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return;
    char line[1024];
    fprintf(stderr, "---- %s ----\n", log_path);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

static inline double imp_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif

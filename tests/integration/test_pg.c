/* Postgres helpers against the stack's server: connect retries and their
 * errors, prepared statements, transactions, error codes, and recovery
 * from a connection the server killed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pg.h"
#include "pg_connect.h"
#include "support.h"
#include "test_main.h"

static char *test_dsn;

static int group_setup(void **state)
{
    (void)state;
    test_dsn = support_pg_create_db("pg");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    support_pg_drop_db(test_dsn);
    free(test_dsn);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The connect_timeout libpq used for db (static storage). */
static const char *connect_timeout_of(pg_conn_t *db)
{
    static char value[32];
    PQconninfoOption *opts = PQconninfo(pg_conn_get(db));
    assert_non_null(opts);
    value[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val)
            snprintf(value, sizeof(value), "%s", o->val);
    PQconninfoFree(opts);
    return value;
}

static void test_connect_errors(void **state)
{
    (void)state;
    char err[1024];
    pg_conn_t *db = NULL;
    /* Nothing listens on port 1: every attempt fails, with backoff. */
    pg_retry_t retry = {.attempts = 3, .backoff_first_ms = 50, .backoff_max_ms = 80};
    double start = now_s();
    int rc = pg_conn_new("postgresql://outdial:hunter2@127.0.0.1:1/nodb", NULL, &retry, &db, err,
                         sizeof(err));
    double elapsed = now_s() - start;
    assert_int_equal(rc, OD_ERR_UNAVAILABLE);
    assert_null(db);
    assert_non_null(strstr(err, "postgres unavailable after 3 attempts over 0.1 s: "));
    assert_non_null(strstr(err, "127.0.0.1:1/nodb"));
    assert_null(strstr(err, "hunter2"));
    assert_null(strchr(err, '\n'));
    assert_true(elapsed >= 0.13); /* slept 50 + 80 ms */

    /* A DSN that does not parse is not retried, and the password stays out. */
    rc = pg_conn_new("postgresql://outdial:hunter2@[::1", NULL, NULL, &db, err, sizeof(err));
    assert_int_equal(rc, OD_ERR_INVALID);
    assert_non_null(strstr(err, "postgres DSN does not parse"));
    assert_null(strstr(err, "hunter2"));

    retry.attempts = 0;
    rc = pg_conn_new(test_dsn, NULL, &retry, &db, err, sizeof(err));
    assert_int_equal(rc, OD_ERR_INVALID);

    /* The session defaults: the application name, and a connect timeout
     * unless the DSN sets its own. */
    db = support_pg_connect(test_dsn, "test_pg");
    PGresult *res = NULL;
    assert_int_equal(
        pg_exec(db, "SELECT current_setting('application_name')", &res, err, sizeof(err)), OD_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "test_pg");
    PQclear(res);
    assert_string_equal(connect_timeout_of(db), PG_CONNECT_TIMEOUT_S);
    pg_conn_free(db);
    char *dsn_with_timeout = NULL;
    assert_true(asprintf(&dsn_with_timeout, "%s?connect_timeout=17", test_dsn) > 0);
    assert_int_equal(pg_conn_new(dsn_with_timeout, NULL, NULL, &db, err, sizeof(err)), OD_OK);
    assert_string_equal(connect_timeout_of(db), "17");
    free(dsn_with_timeout);
    pg_conn_free(db);
    pg_conn_free(NULL);
}

static const pg_stmt_t stmt_insert = {
    "test_pg_insert", "INSERT INTO item (id, name) VALUES ($1::integer, $2) RETURNING id", 2};
static const pg_stmt_t stmt_count = {"test_pg_count", "SELECT count(*) FROM item", 0};

static long count_items(pg_conn_t *db)
{
    char err[512];
    PGresult *res = NULL;
    if (pg_stmt_exec(db, &stmt_count, NULL, &res, err, sizeof(err)) != OD_OK)
        fail_msg("count: %s", err);
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static void test_statements_and_errors(void **state)
{
    (void)state;
    char err[1024];
    pg_conn_t *db = support_pg_connect(test_dsn, "test_pg");
    assert_int_equal(pg_exec(db,
                             "DROP TABLE IF EXISTS item; "
                             "CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL "
                             "CHECK (name <> ''))",
                             NULL, err, sizeof(err)),
                     OD_OK);
    const char *p1[] = {"1", "one"};
    PGresult *res = NULL;
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p1, &res, err, sizeof(err)), OD_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "1");
    PQclear(res);
    /* Executed again by name (prepared once), result not wanted. */
    const char *p2[] = {"2", "two"};
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p2, NULL, err, sizeof(err)), OD_OK);
    assert_string_equal(pg_conn_sqlstate(db), "");
    assert_int_equal(count_items(db), 2);

    /* Error codes by SQLSTATE, with the statement and constraint named. */
    res = (PGresult *)(uintptr_t)1;
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p2, &res, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_null(res);
    assert_string_equal(pg_conn_sqlstate(db), "23505");
    assert_string_equal(err, "test_pg_insert: duplicate key value violates unique constraint "
                             "\"item_pkey\" (SQLSTATE 23505)");
    const char *p3[] = {"3", ""};
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p3, NULL, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "item_name_check"));
    const char *p4[] = {"4", NULL}; /* SQL NULL */
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p4, NULL, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(pg_conn_sqlstate(db), "23502");
    const char *p5[] = {"five", "x"};
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p5, NULL, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(pg_conn_sqlstate(db), "22P02");
    assert_int_equal(pg_exec(db, "SELEC 1", NULL, err, sizeof(err)), OD_ERR_INTERNAL);
    assert_string_equal(err, "syntax error at or near \"SELEC\" (SQLSTATE 42601)");
    assert_int_equal(
        pg_exec(db, "SET statement_timeout = '50ms'; SELECT pg_sleep(1)", NULL, err, sizeof(err)),
        OD_ERR_TIMEOUT);
    assert_int_equal(pg_exec(db, "RESET statement_timeout", NULL, err, sizeof(err)), OD_OK);

    /* A COPY started through the helpers is aborted, the connection stays usable. */
    assert_int_equal(pg_exec(db, "COPY item FROM STDIN", NULL, err, sizeof(err)), OD_ERR_INTERNAL);
    assert_non_null(strstr(err, "COPY is not run through these helpers"));
    assert_int_equal(pg_exec(db, "COPY item TO STDOUT", NULL, err, sizeof(err)), OD_ERR_INTERNAL);
    assert_int_equal(count_items(db), 2);

    /* A statement that does not prepare names itself. */
    static const pg_stmt_t bad = {"test_pg_bad", "SELECT nope FROM item", 0};
    assert_int_equal(pg_stmt_exec(db, &bad, NULL, NULL, err, sizeof(err)), OD_ERR_INTERNAL);
    assert_non_null(strstr(err, "prepare test_pg_bad: column \"nope\" does not exist"));

    /* pg_result_check on a result obtained from libpq directly. */
    PGresult *raw = PQexec(pg_conn_get(db), "SELECT 41 + 1");
    assert_int_equal(pg_result_check(db, raw, "raw", &res, err, sizeof(err)), OD_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "42");
    PQclear(res);
    raw = PQexec(pg_conn_get(db), "SELECT 1/0");
    assert_int_equal(pg_result_check(db, raw, "raw", NULL, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "raw: division by zero (SQLSTATE 22012)");
    pg_conn_free(db);
}

static void test_transactions(void **state)
{
    (void)state;
    char err[1024];
    pg_conn_t *db = support_pg_connect(test_dsn, "test_pg");
    assert_int_equal(pg_exec(db, "TRUNCATE item", NULL, err, sizeof(err)), OD_OK);

    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    assert_true(pg_tx_open(db));
    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_ERR_CONFLICT);
    const char *p1[] = {"10", "ten"};
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p1, NULL, err, sizeof(err)), OD_OK);
    assert_int_equal(pg_tx_commit(db, err, sizeof(err)), OD_OK);
    assert_false(pg_tx_open(db));
    assert_int_equal(count_items(db), 1);

    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    const char *p2[] = {"11", "eleven"};
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p2, NULL, err, sizeof(err)), OD_OK);
    pg_tx_rollback(db);
    assert_false(pg_tx_open(db));
    assert_int_equal(count_items(db), 1);
    pg_tx_rollback(db); /* no transaction: nothing */

    /* A failed statement dooms the transaction; COMMIT says so. */
    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p1, NULL, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_int_equal(pg_tx_commit(db, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_string_equal(err, "commit: the transaction was rolled back (a statement in it failed)");
    assert_false(pg_tx_open(db));
    assert_int_equal(pg_tx_commit(db, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_int_equal(count_items(db), 1);
    pg_conn_free(db);
}

static const pg_stmt_t stmt_name_of = {"test_pg_name_of",
                                       "SELECT name FROM item WHERE id = $1::integer", 1};
static const pg_stmt_t stmt_broken = {"test_pg_broken", "SELEKT 1", 0};

/* Statements in one round trip: they run in order with BEGIN and COMMIT
 * around them as asked, each sees the ones before it, and the first failure
 * stops the rest. */
static void test_pipeline(void **state)
{
    (void)state;
    char err[1024];
    pg_conn_t *db = support_pg_connect(test_dsn, "test_pg");
    long before = count_items(db);

    /* BEGIN, insert, read it back, COMMIT: all in one call. */
    const char *p30[] = {"30", "thirty"}, *k30[] = {"30"};
    PGresult *ins = NULL, *name = NULL;
    pg_pipe_stmt_t all[] = {{&stmt_insert, p30, &ins}, {&stmt_name_of, k30, &name}};
    assert_int_equal(pg_pipeline_exec(db, PG_PIPE_BEGIN | PG_PIPE_COMMIT, all, 2, err, sizeof(err)),
                     OD_OK);
    assert_false(pg_tx_open(db));
    assert_non_null(ins);
    assert_int_equal(PQntuples(name), 1);
    assert_string_equal(PQgetvalue(name, 0, 0), "thirty");
    PQclear(ins);
    PQclear(name);
    assert_int_equal(count_items(db), before + 1);

    /* BEGIN only: the transaction stays open for more, then commits. */
    const char *p31[] = {"31", "thirty-one"};
    pg_pipe_stmt_t one[] = {{&stmt_insert, p31, NULL}};
    assert_int_equal(pg_pipeline_exec(db, PG_PIPE_BEGIN, one, 1, err, sizeof(err)), OD_OK);
    assert_true(pg_tx_open(db));
    assert_int_equal(pg_pipeline_exec(db, PG_PIPE_BEGIN, one, 1, err, sizeof(err)),
                     OD_ERR_CONFLICT);
    const char *p32[] = {"32", "thirty-two"};
    pg_pipe_stmt_t two[] = {{&stmt_insert, p32, NULL}};
    assert_int_equal(pg_pipeline_exec(db, PG_PIPE_COMMIT, two, 1, err, sizeof(err)), OD_OK);
    assert_false(pg_tx_open(db));
    assert_int_equal(count_items(db), before + 3);
    assert_int_equal(pg_pipeline_exec(db, PG_PIPE_COMMIT, two, 1, err, sizeof(err)),
                     OD_ERR_CONFLICT); /* no transaction open */

    /* A failure in the middle: its error, no results, nothing after it
     * run, COMMIT not run; the caller rolls back. */
    const char *p33[] = {"33", "thirty-three"}, *k33[] = {"33"};
    PGresult *first = NULL, *after = NULL;
    pg_pipe_stmt_t failing[] = {
        {&stmt_insert, p33, &first}, {&stmt_insert, p30, NULL}, {&stmt_name_of, k33, &after}};
    assert_int_equal(
        pg_pipeline_exec(db, PG_PIPE_BEGIN | PG_PIPE_COMMIT, failing, 3, err, sizeof(err)),
        OD_ERR_CONFLICT);
    assert_null(first);
    assert_null(after);
    assert_string_equal(pg_conn_sqlstate(db), "23505");
    assert_true(pg_tx_open(db));
    pg_tx_rollback(db);
    assert_int_equal(count_items(db), before + 3);

    /* A statement the server refuses to prepare: not remembered as
     * prepared, and the one after it (never run) prepares next time. */
    pg_pipe_stmt_t broken[] = {{&stmt_broken, NULL, NULL}, {&stmt_name_of, k33, &after}};
    assert_int_equal(pg_pipeline_exec(db, 0, broken, 2, err, sizeof(err)), OD_ERR_INTERNAL);
    assert_non_null(strstr(err, "prepare test_pg_broken"));
    assert_int_equal(pg_stmt_exec(db, &stmt_name_of, k30, &name, err, sizeof(err)), OD_OK);
    assert_string_equal(PQgetvalue(name, 0, 0), "thirty");
    PQclear(name);
    assert_int_equal(pg_stmt_exec(db, &stmt_broken, NULL, NULL, err, sizeof(err)), OD_ERR_INTERNAL);
    assert_non_null(strstr(err, "prepare test_pg_broken"));

    /* Plain statements still work on the connection afterwards. */
    assert_int_equal(count_items(db), before + 3);
    assert_int_equal(
        pg_exec(db, "DELETE FROM item WHERE id BETWEEN 30 AND 33", NULL, err, sizeof(err)), OD_OK);
    pg_conn_free(db);
}

/* Kills db's server session from another connection. */
static void kill_session(pg_conn_t *db)
{
    char err[512];
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", PQbackendPID(pg_conn_get(db)));
    pg_conn_t *admin = support_pg_connect(test_dsn, "test_pg");
    const char *params[] = {pid};
    PGresult *res = NULL;
    if (pg_exec_params(admin, "SELECT pg_terminate_backend($1::integer)", 1, params, &res, err,
                       sizeof(err)) != OD_OK)
        fail_msg("terminate: %s", err);
    assert_string_equal(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    pg_conn_free(admin);
}

static void test_lost_connection_recovers(void **state)
{
    (void)state;
    char err[1024];
    pg_conn_t *db = support_pg_connect(test_dsn, "test_pg");
    assert_int_equal(count_items(db), 1); /* prepares test_pg_count */
    int old_pid = PQbackendPID(pg_conn_get(db));

    /* Outside a transaction: the statement that finds the connection dead
     * fails (it is not re-sent), the next one reconnects and re-prepares. */
    kill_session(db);
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &stmt_count, NULL, &res, err, sizeof(err));
    assert_int_equal(rc, OD_ERR_UNAVAILABLE);
    assert_null(res);
    assert_true(pg_conn_lost(db));
    assert_int_equal(count_items(db), 1);
    assert_false(pg_conn_lost(db));
    assert_true(PQbackendPID(pg_conn_get(db)) != old_pid);

    /* Inside a transaction: the loss is reported until the caller rolls
     * back; then the next transaction reconnects. */
    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    const char *p[] = {"20", "twenty"};
    assert_int_equal(pg_stmt_exec(db, &stmt_insert, p, NULL, err, sizeof(err)), OD_OK);
    kill_session(db);
    assert_int_equal(pg_stmt_exec(db, &stmt_count, NULL, NULL, err, sizeof(err)),
                     OD_ERR_UNAVAILABLE);
    assert_int_equal(pg_stmt_exec(db, &stmt_count, NULL, NULL, err, sizeof(err)),
                     OD_ERR_UNAVAILABLE);
    assert_string_equal(err, "postgres connection lost inside a transaction (roll back and retry)");
    assert_int_equal(pg_tx_commit(db, err, sizeof(err)), OD_ERR_UNAVAILABLE);
    pg_tx_rollback(db);
    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    assert_int_equal(count_items(db), 1); /* the insert died with the session */
    assert_int_equal(pg_tx_commit(db, err, sizeof(err)), OD_OK);

    /* A pipeline that finds the session gone fails whole; the next
     * statement reconnects. */
    kill_session(db);
    pg_pipe_stmt_t after_kill[] = {{&stmt_count, NULL, NULL}};
    assert_int_equal(
        pg_pipeline_exec(db, PG_PIPE_BEGIN | PG_PIPE_COMMIT, after_kill, 1, err, sizeof(err)),
        OD_ERR_UNAVAILABLE);
    pg_tx_rollback(db);
    assert_int_equal(count_items(db), 1);

    /* An explicit reset works too. */
    assert_int_equal(pg_conn_reset(db, err, sizeof(err)), OD_OK);
    assert_int_equal(count_items(db), 1);
    pg_conn_free(db);
}

OD_TEST_MAIN(group_setup, group_teardown, test_connect_errors, test_statements_and_errors,
             test_transactions, test_pipeline, test_lost_connection_recovers)

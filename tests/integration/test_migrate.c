/* Migrations against the stack's Postgres: a fresh database gets the schema,
 * a second run is a no-op, concurrent runs apply once, a changed applied
 * file and a broken migration are refused, and the schema's CHECK
 * constraints refuse out-of-range settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define CASE_FILE_DIR "tests/integration/cases"
#include "case_file.h"
#include "migrate.h"
#include "pg.h"
#include "pg_connect.h"
#include "support.h"

/* The source tree's migrations (ctest sets OUTDIAL_SOURCE_DIR). */
static char migrations_dir[4096];

static int group_setup(void **state)
{
    (void)state;
    support_env("OUTDIAL_PG_DSN");
    const char *src = getenv("OUTDIAL_SOURCE_DIR");
    if (src && *src)
        snprintf(migrations_dir, sizeof(migrations_dir), "%s/db/migrations", src);
    else
        snprintf(migrations_dir, sizeof(migrations_dir), "%s", migrate_dir_default());
    return 0;
}

/* A test's own empty database and a connection to it. */
typedef struct fixture {
    char *dsn;
    pg_conn_t *db;
} fixture_t;

static int db_setup(void **state)
{
    static int n;
    char tag[32];
    snprintf(tag, sizeof(tag), "migrate%d", n++);
    fixture_t *fx = calloc(1, sizeof(*fx));
    fx->dsn = support_pg_create_db(tag);
    fx->db = support_pg_connect(fx->dsn, "test_migrate");
    *state = fx;
    return 0;
}

static int db_teardown(void **state)
{
    fixture_t *fx = *state;
    pg_conn_free(fx->db);
    support_pg_drop_db(fx->dsn);
    free(fx->dsn);
    free(fx);
    return 0;
}

/* The first column of the first row of sql, as a new string. */
static char *query_value(pg_conn_t *db, const char *sql)
{
    char err[512];
    PGresult *res = NULL;
    if (pg_exec(db, sql, &res, err, sizeof(err)) != OD_OK)
        fail_msg("%s: %s", sql, err);
    assert_true(PQntuples(res) >= 1);
    char *value = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return value;
}

static long query_long(pg_conn_t *db, const char *sql)
{
    char *value = query_value(db, sql);
    long n = atol(value);
    free(value);
    return n;
}

/* Another session on dsn can take the migration lock at once: the last
 * run released it. */
static void assert_lock_released(const char *dsn)
{
    pg_conn_t *other = support_pg_connect(dsn, "test_migrate");
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)", (long long)MIGRATE_LOCK_KEY);
    char *got = query_value(other, sql);
    assert_string_equal(got, "t");
    free(got);
    pg_conn_free(other);
}

/* Applies the source tree's migrations to db; a failure fails the test. */
static void migrate_all(pg_conn_t *db)
{
    char err[1024];
    migrate_result_t result;
    int rc = migrate_run(db, migrations_dir, NULL, NULL, &result, err, sizeof(err));
    if (rc != OD_OK)
        fail_msg("migrate: %s", err);
}

/* The test's database (db_setup's), with the migrations applied. */
static pg_conn_t *migrated_db(void **state)
{
    fixture_t *fx = *state;
    migrate_all(fx->db);
    return fx->db;
}

static size_t migration_count(const char *dir)
{
    char err[512];
    migrate_set_t *set = NULL;
    if (migrate_set_load(dir, &set, err, sizeof(err)) != OD_OK)
        fail_msg("%s", err);
    size_t n = set->count;
    migrate_set_free(set);
    return n;
}

#define APPLIED_LOG_MAX 64 /* far above the migrations there are */

typedef struct applied_log {
    char names[APPLIED_LOG_MAX][64];
    int n;
} applied_log_t;

static void record_applied(const migrate_file_t *file, void *opaque)
{
    applied_log_t *log = opaque;
    if (log->n < APPLIED_LOG_MAX)
        snprintf(log->names[log->n++], sizeof(log->names[0]), "%s", file->filename);
}

static void test_fresh_database_then_noop(void **state)
{
    fixture_t *fx = *state;
    char err[1024];
    const char *dsn = fx->dsn;
    pg_conn_t *db = fx->db;
    size_t count = migration_count(migrations_dir);

    applied_log_t log = {0};
    migrate_result_t result;
    int rc = migrate_run(db, migrations_dir, record_applied, &log, &result, err, sizeof(err));
    if (rc != OD_OK)
        fail_msg("migrate: %s", err);
    assert_int_equal(result.applied, (int)count);
    assert_int_equal(result.already, 0);
    assert_int_equal(result.unknown, 0);
    assert_int_equal(log.n, (int)count);
    assert_string_equal(log.names[0], "001_init.sql");

    /* Recorded with the file's checksum. */
    migrate_set_t *set = NULL;
    assert_int_equal(migrate_set_load(migrations_dir, &set, err, sizeof(err)), OD_OK);
    char *name = query_value(db, "SELECT name FROM schema_migrations WHERE version = 1");
    assert_string_equal(name, "init");
    free(name);
    char *checksum = query_value(db, "SELECT checksum FROM schema_migrations WHERE version = 1");
    assert_string_equal(checksum, set->files[0].checksum);
    free(checksum);
    assert_int_equal(result.latest, set->files[set->count - 1].version);
    migrate_set_free(set);

    /* Every table of docs/architecture.md §3 exists. */
    assert_int_equal(query_long(db, "SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_schema = 'public' AND table_name IN ("
                                    "'account', 'api_key', 'assistant', 'campaign', 'lead', "
                                    "'call', 'import', 'import_reject', 'import_staging', 'dnc')"),
                     10);

    /* Again, on the same and on a new connection: nothing to do. */
    char *applied_at =
        query_value(db, "SELECT applied_at FROM schema_migrations WHERE version = 1");
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            pg_conn_free(db);
            db = fx->db = support_pg_connect(dsn, "test_migrate");
        }
        log.n = 0;
        rc = migrate_run(db, migrations_dir, record_applied, &log, &result, err, sizeof(err));
        if (rc != OD_OK)
            fail_msg("migrate again: %s", err);
        assert_int_equal(result.applied, 0);
        assert_int_equal(result.already, (int)count);
        assert_int_equal(log.n, 0);
    }
    assert_int_equal(query_long(db, "SELECT count(*) FROM schema_migrations"), (long)count);
    char *applied_at_again =
        query_value(db, "SELECT applied_at FROM schema_migrations WHERE version = 1");
    assert_string_equal(applied_at_again, applied_at);
    free(applied_at);
    free(applied_at_again);

    /* The lock is released: another session can take it at once. */
    assert_lock_released(dsn);
}

#define RACERS 4

/* Several processes start migrating the same fresh database at the same
 * moment: all succeed, and each migration is applied exactly once. */
static void test_concurrent_processes_apply_once(void **state)
{
    fixture_t *fx = *state;
    const char *dsn = fx->dsn;
    size_t count = migration_count(migrations_dir);
    int go[2];
    assert_int_equal(pipe(go), 0);
    int result_pipe[2];
    assert_int_equal(pipe(result_pipe), 0);
    int ready[2]; /* a byte from each racer once it has tried to connect */
    assert_int_equal(pipe(ready), 0);
    pid_t pids[RACERS];
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            close(result_pipe[0]);
            close(ready[0]);
            char err[1024];
            pg_conn_t *db = NULL;
            int code = 100;
            int connected = pg_conn_new(dsn, "test_migrate_racer", NULL, &db, err, sizeof(err));
            ssize_t sent = write(ready[1], "r", 1);
            (void)sent;
            close(ready[1]);
            if (connected == OD_OK) {
                char byte;
                /* Wait for the start signal: the parent closes the pipe. */
                while (read(go[0], &byte, 1) > 0) {
                }
                migrate_result_t result;
                int rc = migrate_run(db, migrations_dir, NULL, NULL, &result, err, sizeof(err));
                if (rc == OD_OK && result.applied + result.already == (int)count)
                    code = result.applied;
            }
            if (code == 100) {
                char line[1100];
                int n = snprintf(line, sizeof(line), "racer %d: %s\n", i, err);
                ssize_t w = write(result_pipe[1], line, (size_t)n);
                (void)w;
            }
            pg_conn_free(db);
            _exit(code);
        }
    }
    close(go[0]);
    close(result_pipe[1]);
    close(ready[1]);
    /* Every racer connected and waits on the pipe (a racer that died early
     * closes its end: read returns 0 once all have). */
    int racers_ready = 0;
    char byte;
    while (racers_ready < RACERS && read(ready[0], &byte, 1) == 1)
        racers_ready++;
    close(ready[0]);
    close(go[1]);
    int applied_total = 0;
    for (int i = 0; i < RACERS; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 100) {
            char buf[2048] = "";
            ssize_t n = read(result_pipe[0], buf, sizeof(buf) - 1);
            buf[n > 0 ? n : 0] = '\0';
            fail_msg("a racer failed: %s", buf);
        }
        applied_total += WEXITSTATUS(status);
    }
    close(result_pipe[0]);
    assert_int_equal(applied_total, (int)count);

    assert_int_equal(query_long(fx->db, "SELECT count(*) FROM schema_migrations"), (long)count);
}

/* A copy of the real migrations in a temporary directory, for tests that
 * change files. Caller removes it with remove_tree(). */
static char *copy_migrations(void)
{
    char *tmp = strdup("/tmp/outdial-migrations-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    char cmd[8400];
    snprintf(cmd, sizeof(cmd), "cp '%s'/*.sql '%s'/", migrations_dir, tmp);
    assert_int_equal(system(cmd), 0);
    return tmp;
}

static void remove_tree(char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void write_file(const char *dir, const char *name, const char *mode, const char *text)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A copy of the migrations with appended added to the applied 001 (and
 * new_file, when given, holding new_sql) is refused on db as a change to an
 * applied file, and applies nothing. */
static void assert_edit_refused(pg_conn_t *db, const char *appended, const char *new_file,
                                const char *new_sql)
{
    char err[1024];
    migrate_result_t result;
    char *tmp = copy_migrations();
    write_file(tmp, "001_init.sql", "a", appended);
    if (new_file)
        write_file(tmp, new_file, "w", new_sql);
    int rc = migrate_run(db, tmp, NULL, NULL, &result, err, sizeof(err));
    assert_int_equal(rc, OD_ERR_CONFLICT);
    assert_non_null(strstr(err, "001_init.sql was changed after it was applied"));
    assert_non_null(strstr(err, "put the change in a new migration"));
    assert_int_equal(result.applied, 0);
    remove_tree(tmp);
}

static void test_changed_applied_migration_refused(void **state)
{
    pg_conn_t *db = migrated_db(state);
    char err[1024];
    migrate_result_t result;

    /* Someone edits 001 after it was applied, and adds a new migration. */
    assert_edit_refused(db, "\n-- an innocent-looking edit\n", "900_after_edit.sql",
                        "CREATE TABLE after_edit (id int);\n");
    /* Nothing was applied, not even the new file. */
    assert_int_equal(query_long(db, "SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_name = 'after_edit'"),
                     0);

    /* The same when the recorded checksum is what changed. */
    assert_int_equal(pg_exec(db,
                             "UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1",
                             NULL, err, sizeof(err)),
                     OD_OK);
    int rc = migrate_run(db, migrations_dir, NULL, NULL, &result, err, sizeof(err));
    assert_int_equal(rc, OD_ERR_CONFLICT);
    assert_non_null(strstr(err, "applied checksum deadbeef"));
}

/* 001 and 002 had their comments corrected after release: a database that
 * recorded the released files' checksums still accepts them, and still
 * refuses a change to a statement. */
static void test_released_checksums_of_comment_fixes(void **state)
{
    pg_conn_t *db = migrated_db(state);
    char err[1024];
    migrate_result_t result;
    assert_int_equal(
        pg_exec(db,
                "UPDATE schema_migrations SET checksum = CASE version"
                " WHEN 1 THEN 'c1f5e2c0de65a5e4daba690493b1a46d5e7eb8e8de93dfa74f49f9f1e7f432d1'"
                " WHEN 2 THEN '11b4a9c38e7207840269e4d47ec7838a31e29079c7e160ed04ace7490fbb3da6'"
                " END WHERE version IN (1, 2)",
                NULL, err, sizeof(err)),
        OD_OK);
    int rc = migrate_run(db, migrations_dir, NULL, NULL, &result, err, sizeof(err));
    if (rc != OD_OK)
        fail_msg("released checksums refused: %s", err);
    assert_int_equal(result.applied, 0);

    /* A statement added to 001 is refused under the released checksum too. */
    assert_edit_refused(db, "CREATE TABLE sneaked_in (id int);\n", NULL, NULL);
}

/* A migration that fails is rolled back whole and not recorded; the ones
 * before it stay; the error names the file and line; the lock is released
 * and the connection still works. */
static void test_failing_migration_rolled_back(void **state)
{
    fixture_t *fx = *state;
    char err[1024];
    const char *dsn = fx->dsn;
    pg_conn_t *db = fx->db;
    char *tmp = copy_migrations();
    /* Multi-byte characters before the error: the server counts the
     * position in characters, the line must still come out right. */
    write_file(tmp, "900_broken.sql", "w",
               "-- Zoë's ünïcödé comment\n"
               "CREATE TABLE made_before_error (id int);\n"
               "SELECT 1;\n"
               "SELECT nope FROM made_before_error;\n");
    size_t count = migration_count(migrations_dir);
    migrate_result_t result;
    int rc = migrate_run(db, tmp, NULL, NULL, &result, err, sizeof(err));
    assert_int_equal(rc, OD_ERR_INTERNAL); /* 42703 undefined_column */
    assert_string_equal(err, "migration 900_broken.sql failed, not applied: line 4: column "
                             "\"nope\" does not exist (SQLSTATE 42703)");
    assert_int_equal(result.applied, (int)count);
    assert_int_equal(query_long(db, "SELECT count(*) FROM schema_migrations"), (long)count);
    assert_int_equal(query_long(db, "SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_name = 'made_before_error'"),
                     0);
    assert_false(pg_tx_open(db));

    /* The lock was released even though the run failed. */
    assert_lock_released(dsn);

    /* Fixed, it applies. */
    write_file(tmp, "900_broken.sql", "w", "CREATE TABLE made_before_error (id int);\n");
    rc = migrate_run(db, tmp, NULL, NULL, &result, err, sizeof(err));
    if (rc != OD_OK)
        fail_msg("%s", err);
    assert_int_equal(result.applied, 1);
    assert_int_equal(result.latest, 900);

    /* The real directory now lacks 900: counted as unknown, not an error. */
    rc = migrate_run(db, migrations_dir, NULL, NULL, &result, err, sizeof(err));
    assert_int_equal(rc, OD_OK);
    assert_int_equal(result.unknown, 1);
    assert_int_equal(result.applied, 0);
    remove_tree(tmp);
}

static void test_bad_migration_directories(void **state)
{
    (void)state;
    char err[1024];
    migrate_set_t *set = NULL;
    assert_int_equal(migrate_set_load("/nonexistent/migrations", &set, err, sizeof(err)),
                     OD_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "/nonexistent/migrations"));

    char *tmp = copy_migrations();
    write_file(tmp, "2_short.sql", "w", "SELECT 1;\n");
    assert_int_equal(migrate_set_load(tmp, &set, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "2_short.sql: a migration is named NNN_name.sql"));
    remove_tree(tmp);

    tmp = copy_migrations();
    write_file(tmp, "001_again.sql", "w", "SELECT 1;\n");
    assert_int_equal(migrate_set_load(tmp, &set, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "have the same version"));
    remove_tree(tmp);

    /* Other files are ignored; a directory without migrations is an error. */
    char *empty = strdup("/tmp/outdial-migrations-XXXXXX");
    assert_non_null(mkdtemp(empty));
    write_file(empty, "README.md", "w", "not a migration\n");
    assert_int_equal(migrate_set_load(empty, &set, err, sizeof(err)), OD_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "has no NNN_name.sql file"));
    remove_tree(empty);
    assert_null(set);
}

/* ---------------------------------------------------------------------------
 * The schema's constraints */

typedef struct check_case {
    const char *table; /* campaign, lead, assistant, account */
    const char *columns;
    const char *values;
    int rc;
    const char *sqlstate;
    const char *constraint;
} check_case_t;

/* The table of check_case_t from cases/constraints.tsv, n_cases long; *cf
 * owns it and its strings (case_file_free). */
static const check_case_t *check_cases_load(case_file_t **cf, size_t *n_cases)
{
    static const char *const columns[] = {"table", "columns",  "values",
                                          "rc",    "sqlstate", "constraint"};
    static const struct {
        const char *name;
        int rc;
    } rcs[] = {{"ok", OD_OK}, {"invalid", OD_ERR_INVALID}, {"conflict", OD_ERR_CONFLICT}};
    *cf = case_file_load("constraints", columns, sizeof(columns) / sizeof(columns[0]), 38);
    *n_cases = (*cf)->n_rows;
    check_case_t *cases = case_file_rows(*cf, sizeof(*cases));
    for (size_t i = 0; i < *n_cases; i++) {
        cases[i] = (check_case_t){.table = case_file_cell(*cf, i, 0),
                                  .columns = case_file_cell(*cf, i, 1),
                                  .values = case_file_cell(*cf, i, 2),
                                  .sqlstate = case_file_cell(*cf, i, 4),
                                  .constraint = case_file_cell(*cf, i, 5)};
        const char *rc = case_file_cell(*cf, i, 3);
        bool known = false;
        for (size_t k = 0; k < sizeof(rcs) / sizeof(rcs[0]); k++) {
            if (rc && strcmp(rc, rcs[k].name) == 0) {
                cases[i].rc = rcs[k].rc;
                known = true;
            }
        }
        if (!known)
            fail_msg("constraints.tsv: %s (%s): rc '%s' is not ok, invalid or conflict",
                     cases[i].table, cases[i].columns, rc ? rc : "-");
    }
    return cases;
}

/* Whether the plan of sql (an EXPLAIN) names index. */
static bool plan_uses(pg_conn_t *db, const char *sql, int nparams, const char *const *params,
                      const char *index)
{
    char err[1024];
    PGresult *res = NULL;
    if (pg_exec_params(db, sql, nparams, params, &res, err, sizeof(err)) != OD_OK)
        fail_msg("%s", err);
    bool uses = false;
    for (int row = 0; row < PQntuples(res); row++)
        if (strstr(PQgetvalue(res, row, 0), index))
            uses = true;
    if (!uses)
        for (int row = 0; row < PQntuples(res); row++)
            print_message("%s\n", PQgetvalue(res, row, 0));
    PQclear(res);
    return uses;
}

static void test_check_constraints(void **state)
{
    pg_conn_t *db = migrated_db(state);
    char err[1024];

    PGresult *res = NULL;
    int rc = pg_exec(db,
                     "WITH a AS (INSERT INTO account (name, webhook_secret) "
                     "  VALUES ('acme', 'whsec_0123456789abcdef') RETURNING id), "
                     "s AS (INSERT INTO assistant (account_id, name, timezone, outbound_e164, "
                     "  provider_assistant_id, post_call_schema) SELECT id, 'sdr', "
                     "  'America/New_York', '+14155550100', 'asst_1', "
                     "  '{\"interested\": \"boolean\", \"notes\": \"string\"}' FROM a "
                     "  RETURNING id, account_id) "
                     "SELECT account_id, id FROM s",
                     &res, err, sizeof(err));
    if (rc != OD_OK)
        fail_msg("%s", err);
    const char *ids[] = {PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), NULL};
    char account_id[40], assistant_id[40];
    snprintf(account_id, sizeof(account_id), "%s", ids[0]);
    snprintf(assistant_id, sizeof(assistant_id), "%s", ids[1]);
    PQclear(res);
    const char *params[] = {account_id, assistant_id};

    /* A campaign with defaults gets the product's defaults (docs/product.md). */
    rc = pg_exec_params(db,
                        "INSERT INTO campaign (account_id, assistant_id, name) "
                        "VALUES ($1, $2, 'defaults') RETURNING id, max_retries, "
                        "retry_interval_min, retry_on_voicemail, status, timezone_mode",
                        2, params, &res, err, sizeof(err));
    if (rc != OD_OK)
        fail_msg("%s", err);
    char campaign_id[40];
    snprintf(campaign_id, sizeof(campaign_id), "%s", PQgetvalue(res, 0, 0));
    assert_string_equal(PQgetvalue(res, 0, 1), "3");
    assert_string_equal(PQgetvalue(res, 0, 2), "60");
    assert_string_equal(PQgetvalue(res, 0, 3), "t");
    assert_string_equal(PQgetvalue(res, 0, 4), "draft");
    assert_string_equal(PQgetvalue(res, 0, 5), "assistant");
    PQclear(res);

    /* The cases: cases/constraints.tsv. */
    case_file_t *cf = NULL;
    size_t n_cases = 0;
    const check_case_t *cases = check_cases_load(&cf, &n_cases);
    /* How a row of each table is inserted: columns and values (%s, %s)
     * after the required ones, which take params. */
    const struct {
        const char *table, *sql;
        int nparams;
        const char *params[2];
    } inserts[] = {
        {"campaign",
         "INSERT INTO campaign (account_id, assistant_id, name, %s) VALUES ($1, $2, 'c', %s)",
         2,
         {account_id, assistant_id}},
        {"lead", "INSERT INTO lead (campaign_id, %s) VALUES ($1, %s)", 1, {campaign_id}},
        {"assistant",
         "INSERT INTO assistant (account_id, name, timezone, provider_assistant_id, %s)"
         " VALUES ($1, 'a', 'UTC', 'asst', %s)",
         1,
         {account_id}},
        {"account",
         "INSERT INTO account (name, webhook_secret, %s) VALUES ('b', 'whsec_0123456789abcdef', "
         "%s)",
         0,
         {NULL}},
    };
    for (size_t c = 0; c < n_cases; c++) {
        const check_case_t *cc = &cases[c];
        size_t t = 0;
        while (t < sizeof(inserts) / sizeof(inserts[0]) && strcmp(inserts[t].table, cc->table) != 0)
            t++;
        if (t == sizeof(inserts) / sizeof(inserts[0]))
            fail_msg("constraints.tsv: no table %s", cc->table);
        char sql[1024];
        snprintf(sql, sizeof(sql), inserts[t].sql, cc->columns, cc->values);
        err[0] = '\0';
        rc = pg_exec_params(db, sql, inserts[t].nparams, inserts[t].params, NULL, err, sizeof(err));
        if (rc != cc->rc)
            fail_msg("%s (%s) = (%s): rc %d, want %d: %s", cc->table, cc->columns, cc->values, rc,
                     cc->rc, err);
        if (cc->sqlstate) {
            assert_string_equal(pg_conn_sqlstate(db), cc->sqlstate);
            char want[64];
            snprintf(want, sizeof(want), "(SQLSTATE %s)", cc->sqlstate);
            assert_non_null(strstr(err, want));
        }
        if (cc->constraint && !strstr(err, cc->constraint))
            fail_msg("%s (%s) = (%s): error does not name %s: %s", cc->table, cc->columns,
                     cc->values, cc->constraint, err);
    }

    case_file_free(cf);

    /* The scheduler's due-lead query uses the partial index (the predicate
     * must match it for the planner to). */
    assert_int_equal(pg_exec(db, "SET enable_seqscan = off", NULL, err, sizeof(err)), OD_OK);
    const char *due_params[] = {campaign_id, "2026-03-08T09:00:00Z"};
    assert_true(plan_uses(db,
                          "EXPLAIN SELECT id FROM lead WHERE campaign_id = $1 "
                          "AND status IN ('created', 'rescheduled') AND next_attempt_at <= $2 "
                          "ORDER BY next_attempt_at LIMIT 50 FOR UPDATE SKIP LOCKED",
                          2, due_params, "lead_due_idx"));
    /* Dispatch's in-flight count reads the campaign's own entries even with
     * statistics that saw no lead in flight (005_in_flight_indexes.sql):
     * no partial index of leads in flight across campaigns matches it. */
    assert_int_equal(pg_exec(db, "ANALYZE lead", NULL, err, sizeof(err)), OD_OK);
    const char *count_params[] = {campaign_id};
    assert_true(plan_uses(db,
                          "EXPLAIN SELECT count(*) FROM lead l WHERE l.campaign_id = $1"
                          " AND l.status IN ('scheduled', 'processing')",
                          1, count_params, "lead_campaign_status_idx"));
    /* Recovery's queries, one status each, have an index each. */
    const char *since_params[] = {"2026-03-08T09:00:00Z"};
    assert_true(plan_uses(db,
                          "EXPLAIN SELECT id FROM lead WHERE status = 'scheduled'"
                          " AND status_changed_at < $1 ORDER BY status_changed_at LIMIT 100",
                          1, since_params, "lead_scheduled_since_idx"));
    assert_true(plan_uses(db,
                          "EXPLAIN SELECT id FROM lead WHERE status = 'processing'"
                          " AND status_changed_at < $1 ORDER BY status_changed_at LIMIT 100",
                          1, since_params, "lead_processing_since_idx"));
}

/* 008 keeps one invalid lead per (campaign, raw_phone): of copies stored
 * before it, one with calls is kept first, else the oldest; later copies
 * without calls go. Copies that both have calls stop it, named, rolled
 * back; once one is fixed it applies, and the same raw_phone again is a
 * unique violation. */
static void test_invalid_lead_copies(void **state)
{
    fixture_t *fx = *state;
    char err[1024];
    pg_conn_t *db = fx->db;
    migrate_result_t result;
    char *tmp = copy_migrations();
    char path[4200];
    snprintf(path, sizeof(path), "%s/008_invalid_lead_unique.sql", tmp);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(migrate_run(db, tmp, NULL, NULL, &result, err, sizeof(err)), OD_OK);
    remove_tree(tmp);

    /* Copies a (oldest), b (called), c, d (called) of one number; e alone. */
    static const char setup[] =
        "WITH a AS (INSERT INTO account (name, webhook_secret) VALUES ('acme', 'whsec_0123456789')"
        "  RETURNING id),"
        " s AS (INSERT INTO assistant (account_id, name, timezone, provider_assistant_id)"
        "  SELECT id, 'sdr', 'America/New_York', 'asst_1' FROM a RETURNING id, account_id),"
        " c AS (INSERT INTO campaign (account_id, assistant_id, name)"
        "  SELECT account_id, id, 'c' FROM s RETURNING id),"
        " l AS (INSERT INTO lead (campaign_id, raw_phone, invalid_reason, name, created_at)"
        "  SELECT c.id, v.raw, 'too_short', v.name, now() - v.age * interval '1 minute'"
        "  FROM c, (VALUES ('555-01', 'a', 4), ('555-01', 'b', 3), ('555-01', 'c', 2),"
        "   ('555-01', 'd', 1), ('555-02', 'e', 0)) AS v (raw, name, age) RETURNING id, name,"
        "  campaign_id)"
        " INSERT INTO call (attempt_id, lead_id, campaign_id, attempt_number, e164, status)"
        " SELECT gen_random_uuid(), id, campaign_id, 1, '+14155550100', 'completed' FROM l"
        " WHERE name IN ('b', 'd')";
    if (pg_exec(db, setup, NULL, err, sizeof(err)) != OD_OK)
        fail_msg("%s", err);
    int rc = migrate_run(db, migrations_dir, NULL, NULL, &result, err, sizeof(err));
    assert_int_not_equal(rc, OD_OK);
    assert_non_null(strstr(err, "invalid leads stored twice that have calls"));
    assert_non_null(strstr(err, "555-01"));
    assert_int_equal(query_long(db, "SELECT count(*) FROM lead"), 5);

    /* d's call gone: d is an uncalled later copy now. */
    assert_int_equal(pg_exec(db,
                             "DELETE FROM call WHERE lead_id IN (SELECT id FROM lead WHERE name = "
                             "'d')",
                             NULL, err, sizeof(err)),
                     OD_OK);
    rc = migrate_run(db, migrations_dir, NULL, NULL, &result, err, sizeof(err));
    if (rc != OD_OK)
        fail_msg("%s", err);
    char *kept = query_value(db, "SELECT string_agg(name, ',' ORDER BY name) FROM lead");
    assert_string_equal(kept, "b,e");
    free(kept);
    rc = pg_exec(db,
                 "INSERT INTO lead (campaign_id, raw_phone, invalid_reason)"
                 " SELECT id, '555-01', 'too_short' FROM campaign",
                 NULL, err, sizeof(err));
    assert_int_equal(rc, OD_ERR_CONFLICT);
}

/* od_ts and od_us (002, 006): exact conversions whatever the session's
 * time zone, and inlined by the planner (no SQL-function call per use). */
static void test_time_functions(void **state)
{
    pg_conn_t *db = migrated_db(state);
    char err[1024];
    assert_int_equal(pg_exec(db, "SET TimeZone = 'America/New_York'", NULL, err, sizeof(err)),
                     OD_OK);
    static const struct {
        const char *us;
        const char *utc;  /* od_ts(us) AT TIME ZONE 'UTC', NULL for SQL NULL */
        const char *back; /* od_us(od_ts(us)) */
    } cases[] = {
        {"0", "1970-01-01 00:00:00", "0"},
        {"1", "1970-01-01 00:00:00.000001", "1"},
        {"-1", "1969-12-31 23:59:59.999999", "-1"},
        {"1700000000123456", "2023-11-14 22:13:20.123456", "1700000000123456"},
        {"1730613599999999", "2024-11-03 05:59:59.999999", "1730613599999999"}, /* DST end */
        {"-9223372036854775807", "-infinity", "-9223372036854775807"},
        {"-9223372036854775808", "-infinity", "-9223372036854775807"},
        {"9223372036854775807", "infinity", "9223372036854775807"},
        {NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p[] = {cases[i].us};
        PGresult *res = NULL;
        if (pg_exec_params(db,
                           "SELECT (od_ts($1::bigint) AT TIME ZONE 'UTC')::text,"
                           " od_us(od_ts($1::bigint))::text",
                           1, p, &res, err, sizeof(err)) != OD_OK)
            fail_msg("%s", err);
        if (cases[i].utc) {
            assert_string_equal(PQgetvalue(res, 0, 0), cases[i].utc);
            assert_string_equal(PQgetvalue(res, 0, 1), cases[i].back);
        } else {
            assert_true(PQgetisnull(res, 0, 0));
            assert_true(PQgetisnull(res, 0, 1));
        }
        PQclear(res);
    }
    PGresult *res = NULL;
    const char *p[] = {"1700000000123456"};
    if (pg_exec_params(db, "EXPLAIN VERBOSE SELECT od_ts($1::bigint), od_us(now())", 1, p, &res,
                       err, sizeof(err)) != OD_OK)
        fail_msg("%s", err);
    for (int row = 0; row < PQntuples(res); row++) {
        const char *line = PQgetvalue(res, row, 0);
        if (strstr(line, "od_ts(") || strstr(line, "od_us("))
            fail_msg("not inlined: %s", line);
    }
    PQclear(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_database_then_noop, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_processes_apply_once, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_changed_applied_migration_refused, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_released_checksums_of_comment_fixes, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_failing_migration_rolled_back, db_setup, db_teardown),
        cmocka_unit_test(test_bad_migration_directories),
        cmocka_unit_test_setup_teardown(test_check_constraints, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_lead_copies, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_time_functions, db_setup, db_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

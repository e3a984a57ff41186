/*
 * An import killed with SIGKILL half-way through a 200,000-row file, then
 * run again with --resume (killed once more on the way), ends with exactly
 * the leads, counts and rejected rows that one uninterrupted import of the
 * same file gives: no lead twice, none missing, every row counted once.
 *
 * The importer runs as a child process ($OUTDIAL_BUILD_DIR/services/
 * importer/outdial-importer). While it is killed, the test also checks that
 * what is committed is consistent: the import's counters always match the
 * leads and rejects that exist (the resume point commits with them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_import_support.h"
#include "test_main.h"

#define ROWS 200000L
/* Rows per transaction: 200 batches, so a kill lands inside one. */
#define BATCH_ROWS "1000"
/* The whole test must finish well inside ctest's 600 s, also under ASan. */
#define DEADLINE_S 400.0

static long long import_int(const char *sql, const char *id)
{
    const char *params[1] = {id};
    return imp_sql_int(imp.conn, sql, 1, params);
}

/* The import's counters match what exists: primaries it imported,
 * rejects recorded, and every row read accounted for once. */
static void assert_consistent(const char *import_id)
{
    const char *params[1] = {import_id};
    PGresult *res =
        imp_sql(imp.conn,
                "SELECT rows_read, rows_imported, rows_duplicate, rows_dnc, rows_rejected,"
                " (SELECT count(*) FROM lead WHERE import_id = i.id AND parent_lead_id IS NULL),"
                " (SELECT count(*) FROM import_reject WHERE import_id = i.id),"
                " (SELECT count(*) FROM import_reject WHERE import_id = i.id"
                "   AND row_number > i.row_number_done)"
                " FROM import i WHERE id = $1::uuid",
                1, params);
    long long read = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    long long imported = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    long long duplicate = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    long long dnc = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    long long rejected = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    long long leads = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    long long rejects = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    long long beyond = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    PQclear(res);
    fprintf(stderr,
            "  committed: read %lld, imported %lld, duplicate %lld, dnc %lld, rejected %lld\n",
            read, imported, duplicate, dnc, rejected);
    assert_int_equal(read, imported + duplicate + dnc + rejected);
    assert_int_equal(leads, imported);
    assert_int_equal(rejects, rejected);
    assert_int_equal(beyond, 0);
}

/* Waits until the campaign's import has read at least rows rows, then
 * SIGKILLs the child delay_ms later (inside a batch's transaction, most
 * likely: a batch takes tens of milliseconds). */
static void kill_at(pid_t pid, const char *campaign_id, long rows, int delay_ms, double deadline)
{
    const char *params[1] = {campaign_id};
    for (;;) {
        long long read = imp_sql_int(
            imp.conn, "SELECT rows_read FROM import WHERE campaign_id = $1::uuid", 1, params);
        if (read >= rows)
            break;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            imp_log_dump(imp.log_path);
            fail_msg("the importer exited (status %d) before reading %ld rows (it read %lld)",
                     status, rows, read);
        }
        if (imp_now_s() > deadline) {
            kill(pid, SIGKILL);
            fail_msg("the importer did not reach row %ld in time", rows);
        }
        usleep(5000);
    }
    usleep((useconds_t)delay_ms * 1000);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int rc = imp_child_wait(pid, NULL);
    assert_int_equal(rc, 128 + SIGKILL);
}

static void run_to_end(const char *const *args)
{
    pid_t pid = imp_child_start(imp.dsn, imp.log_path, args);
    int rc = imp_child_wait(pid, NULL);
    if (rc != 0) {
        imp_log_dump(imp.log_path);
        fail_msg("outdial-importer exited with %d", rc);
    }
}

static void test_kill_and_resume(void **state)
{
    (void)state;
    double deadline = imp_now_s() + DEADLINE_S;
    imp_expect_t want = imp_expect_for(ROWS);
    char acc_a[37], camp_a[37], acc_b[37], camp_b[37];
    imp_campaign_create(imp.conn, acc_a, camp_a);
    imp_campaign_create(imp.conn, acc_b, camp_b);
    char *dnc = NULL, *existing = NULL;
    imp_file_generate(imp.file_path, ROWS, &dnc, &existing);
    imp_numbers_setup(imp.conn, acc_a, camp_a, dnc, existing);
    imp_numbers_setup(imp.conn, acc_b, camp_b, dnc, existing);
    free(dnc);
    free(existing);

    /* The reference: the same file, once, uninterrupted. */
    double t0 = imp_now_s();
    const char *ref_args[] = {"--campaign", camp_b,        "--batch-rows",
                              BATCH_ROWS,   imp.file_path, NULL};
    run_to_end(ref_args);
    fprintf(stderr, "uninterrupted import of %ld rows: %.1f s\n", ROWS, imp_now_s() - t0);

    /* Killed at 40 %, resumed, killed at 70 %, resumed to the end. */
    const char *args[] = {"--campaign", camp_a, "--batch-rows", BATCH_ROWS, imp.file_path, NULL};
    pid_t pid = imp_child_start(imp.dsn, imp.log_path, args);
    kill_at(pid, camp_a, ROWS * 4 / 10, 37, deadline);
    const char *params[1] = {camp_a};
    PGresult *res =
        imp_sql(imp.conn, "SELECT id, status FROM import WHERE campaign_id = $1::uuid", 1, params);
    assert_int_equal(PQntuples(res), 1);
    char import_id[37];
    snprintf(import_id, sizeof(import_id), "%s", PQgetvalue(res, 0, 0));
    assert_string_equal(PQgetvalue(res, 0, 1), "running");
    PQclear(res);
    fprintf(stderr, "killed at 40%%:\n");
    assert_consistent(import_id);
    assert_true(import_int("SELECT rows_read FROM import WHERE id = $1::uuid", import_id) < ROWS);

    const char *resume[] = {"--resume", import_id, "--batch-rows", BATCH_ROWS, NULL};
    pid = imp_child_start(imp.dsn, imp.log_path, resume);
    kill_at(pid, camp_a, ROWS * 7 / 10, 71, deadline);
    fprintf(stderr, "killed at 70%%:\n");
    assert_consistent(import_id);

    run_to_end(resume);
    fprintf(stderr, "finished:\n");
    assert_consistent(import_id);

    /* The counts one import gives, for both. */
    const char *ids[2] = {camp_a, camp_b};
    for (int k = 0; k < 2; k++) {
        const char *p[1] = {ids[k]};
        res = imp_sql(imp.conn,
                      "SELECT status, rows_read, rows_imported, rows_duplicate, rows_dnc,"
                      " rows_rejected, bytes_done = bytes_total FROM import"
                      " WHERE campaign_id = $1::uuid",
                      1, p);
        char got[256], expect[256];
        snprintf(got, sizeof(got), "%s %s %s %s %s %s %s", PQgetvalue(res, 0, 0),
                 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
                 PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6));
        snprintf(expect, sizeof(expect), "completed %ld %ld %ld %ld %ld t", want.read,
                 want.imported, want.duplicate, want.dnc, want.rejected);
        PQclear(res);
        if (strcmp(got, expect) != 0)
            fail_msg("campaign %d: import %s, want %s", k, got, expect);
        long long leads =
            imp_sql_int(imp.conn, "SELECT count(*) FROM lead WHERE campaign_id = $1::uuid", 1, p);
        long long distinct = imp_sql_int(
            imp.conn, "SELECT count(DISTINCT e164) FROM lead WHERE campaign_id = $1::uuid", 1, p);
        long long secondaries =
            imp_sql_int(imp.conn,
                        "SELECT count(*) FROM lead l JOIN lead p ON p.id = l.parent_lead_id"
                        " WHERE l.campaign_id = $1::uuid AND l.contact_order = 1"
                        " AND l.next_attempt_at IS NULL",
                        1, p);
        assert_int_equal(leads, want.existing + want.imported + want.secondaries);
        assert_int_equal(distinct, leads);
        assert_int_equal(secondaries, want.secondaries);
    }
    /* The same leads, field by field, and the same rejected rows. */
    const char *both[2] = {camp_a, camp_b};
    long long diff = imp_sql_int(
        imp.conn,
        "WITH a AS (SELECT l.e164, l.name, l.variables, l.contact_order, p.e164 AS parent"
        "  FROM lead l LEFT JOIN lead p ON p.id = l.parent_lead_id WHERE l.campaign_id = $1::uuid),"
        " b AS (SELECT l.e164, l.name, l.variables, l.contact_order, p.e164 AS parent"
        "  FROM lead l LEFT JOIN lead p ON p.id = l.parent_lead_id WHERE l.campaign_id = $2::uuid)"
        " SELECT (SELECT count(*) FROM (SELECT * FROM a EXCEPT SELECT * FROM b) x)"
        "      + (SELECT count(*) FROM (SELECT * FROM b EXCEPT SELECT * FROM a) y)",
        2, both);
    assert_int_equal(diff, 0);
    long long reject_diff = imp_sql_int(
        imp.conn,
        "WITH a AS (SELECT r.row_number, r.code, r.reason, r.raw_row FROM import_reject r"
        "  JOIN import i ON i.id = r.import_id WHERE i.campaign_id = $1::uuid),"
        " b AS (SELECT r.row_number, r.code, r.reason, r.raw_row FROM import_reject r"
        "  JOIN import i ON i.id = r.import_id WHERE i.campaign_id = $2::uuid)"
        " SELECT (SELECT count(*) FROM (SELECT * FROM a EXCEPT SELECT * FROM b) x)"
        "      + (SELECT count(*) FROM (SELECT * FROM b EXCEPT SELECT * FROM a) y)",
        2, both);
    assert_int_equal(reject_diff, 0);
    /* Finished imports keep no staged bytes. */
    assert_int_equal(imp_sql_int(imp.conn, "SELECT count(*) FROM import_staging", 0, NULL), 0);
}

static int group_setup(void **state)
{
    (void)state;
    return imp_group_open("import_kill");
}

OD_TEST_MAIN(group_setup, imp_group_teardown, test_kill_and_resume)

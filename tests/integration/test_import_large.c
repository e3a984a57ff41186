/*
 * A 1,000,000-row file imported by outdial-importer (a child process):
 * every row accounted for, and the importer's peak resident memory (from
 * wait4's rusage) under 200 MB — it streams the file, it never holds it.
 * Time, rows per second and peak RSS are printed for the record.
 *
 * In a sanitizer build the child's memory includes AddressSanitizer's
 * shadow and its quarantine of freed blocks (256 MB by default, which alone
 * would exceed the limit without saying anything about the importer); the
 * quarantine is capped at 16 MB for this child.
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

#define ROWS         1000000L
#define RSS_LIMIT_MB 200

static void test_million_rows(void **state)
{
    (void)state;
    imp_expect_t want = imp_expect_for(ROWS);
    char account_id[37], campaign_id[37];
    imp_campaign_create(imp.conn, account_id, campaign_id);
    char *dnc = NULL, *existing = NULL;
    double t0 = imp_now_s();
    imp_file_generate(imp.file_path, ROWS, &dnc, &existing);
    imp_numbers_setup(imp.conn, account_id, campaign_id, dnc, existing);
    free(dnc);
    free(existing);
    struct stat st;
    assert_int_equal(stat(imp.file_path, &st), 0);
    fprintf(stderr, "generated %ld rows, %lld bytes in %.1f s\n", ROWS, (long long)st.st_size,
            imp_now_s() - t0);

    /* Keep the sanitizer's quarantine from counting as the importer's
     * memory (ignored by a build without sanitizers). */
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_opts[512];
    snprintf(asan_opts, sizeof(asan_opts), "%s%squarantine_size_mb=16", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", asan_opts, 1);
    const char *args[] = {"--campaign", campaign_id, imp.file_path, NULL};
    t0 = imp_now_s();
    pid_t pid = imp_child_start(imp.dsn, imp.log_path, args);
    long maxrss_kib = 0;
    int rc = imp_child_wait(pid, &maxrss_kib);
    double elapsed = imp_now_s() - t0;
    if (asan)
        setenv("ASAN_OPTIONS", asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    if (rc != 0) {
        imp_log_dump(imp.log_path);
        fail_msg("outdial-importer exited with %d", rc);
    }
    fprintf(stderr,
            "imported %ld rows (%lld bytes) in %.1f s: %.0f rows/s, %.1f MB/s; importer peak RSS "
            "%.1f MB (limit %d MB)\n",
            ROWS, (long long)st.st_size, elapsed, (double)ROWS / elapsed,
            (double)st.st_size / elapsed / 1e6, (double)maxrss_kib / 1024.0, RSS_LIMIT_MB);

    const char *params[1] = {campaign_id};
    PGresult *res = imp_sql(imp.conn,
                            "SELECT status, rows_read, rows_imported, rows_duplicate, rows_dnc,"
                            " rows_rejected FROM import WHERE campaign_id = $1::uuid",
                            1, params);
    char got[256], expect[256];
    snprintf(got, sizeof(got), "%s %s %s %s %s %s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
             PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
             PQgetvalue(res, 0, 5));
    PQclear(res);
    snprintf(expect, sizeof(expect), "completed %ld %ld %ld %ld %ld", want.read, want.imported,
             want.duplicate, want.dnc, want.rejected);
    assert_string_equal(got, expect);
    assert_int_equal(
        imp_sql_int(imp.conn, "SELECT count(*) FROM lead WHERE campaign_id = $1::uuid", 1, params),
        want.existing + want.imported + want.secondaries);
    if (maxrss_kib > RSS_LIMIT_MB * 1024L)
        fail_msg("peak RSS %.1f MB is over %d MB", (double)maxrss_kib / 1024.0, RSS_LIMIT_MB);
}

static int group_setup(void **state)
{
    (void)state;
    return imp_group_open("import_large");
}

OD_TEST_MAIN(group_setup, imp_group_teardown, test_million_rows)

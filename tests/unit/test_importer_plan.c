/*
 * importer_plan: the decisions of an import run as tables — what a run
 * does with the import row it finds, where a resumed run starts, the
 * counters after a batch, the direct path, the mapping threads and how a
 * run ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "importer_plan.h"
#include "test_main.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_start(void **state)
{
    (void)state;
    static const struct {
        const char *status;
        int64_t bytes_total;
        importer_start_t want;
    } cases[] = {
        {"pending", 100, IMPORTER_START_RUN},
        {"running", 100, IMPORTER_START_RUN}, /* a run killed midway: resume */
        {"pending", 0, IMPORTER_START_RUN},
        {"pending", -1, IMPORTER_START_UNSTAGED}, /* an upload still streaming */
        {"running", -1, IMPORTER_START_UNSTAGED},
        {"completed", 100, IMPORTER_START_COMPLETED},
        {"completed", -1, IMPORTER_START_COMPLETED},
        {"failed", 100, IMPORTER_START_FAILED},
        {"failed", -1, IMPORTER_START_FAILED},
    };
    for (size_t i = 0; i < N(cases); i++)
        if (importer_start_decide(cases[i].status, cases[i].bytes_total) != cases[i].want)
            fail_msg("status %s, bytes_total %lld: want %d", cases[i].status,
                     (long long)cases[i].bytes_total, cases[i].want);
}

static void test_resume_point(void **state)
{
    (void)state;
    static const struct {
        int64_t bytes_done, row_number_done;
        uint64_t header_end;
        uint64_t offset, first_row;
    } cases[] = {
        {0, 0, 40, 40, 1},          /* a new import: right after the header */
        {40, 0, 40, 40, 1},         /* at the header's end: the same */
        {30, 0, 40, 40, 1},         /* before it (cannot happen): the same */
        {5040, 100, 40, 5040, 101}, /* after 100 rows committed */
        {1000000, 20000, 3, 1000000, 20001},
    };
    for (size_t i = 0; i < N(cases); i++) {
        importer_counts_t c = {.bytes_done = cases[i].bytes_done,
                               .row_number_done = cases[i].row_number_done};
        importer_resume_t r = importer_resume_point(&c, cases[i].header_end);
        if (r.offset != cases[i].offset || r.first_row != cases[i].first_row)
            fail_msg("case %zu: offset %llu row %llu, want %llu row %llu", i,
                     (unsigned long long)r.offset, (unsigned long long)r.first_row,
                     (unsigned long long)cases[i].offset, (unsigned long long)cases[i].first_row);
    }
}

/* Every row read is counted once: read = imported + duplicate + dnc +
 * rejected, before and after each batch. */
static void test_counts_after(void **state)
{
    (void)state;
    static const struct {
        size_t n_rows, n_primary, n_rejected;
        int64_t imported, dnc;
        int64_t want_dup;
    } cases[] = {
        {5000, 5000, 0, 5000, 0, 0},   /* all new */
        {5000, 4950, 50, 4900, 0, 50}, /* 50 rejected, 50 duplicates */
        {10, 10, 0, 0, 10, 0},         /* all on the DNC list */
        {10, 8, 2, 0, 0, 8},           /* a file imported again */
        {3, 0, 3, 0, 0, 0},            /* all rejected */
    };
    importer_counts_t c = {.bytes_done = 40};
    uint64_t offset = 40, row = 0;
    for (size_t i = 0; i < N(cases); i++) {
        importer_batch_t b;
        memset(&b, 0, sizeof(b));
        b.n_rows = cases[i].n_rows;
        b.n_primary = cases[i].n_primary;
        b.n_rejected = cases[i].n_rejected;
        offset += 1000 * cases[i].n_rows;
        row += cases[i].n_rows;
        b.end_offset = offset;
        b.last_row = row;
        importer_counts_t before = c;
        c = importer_counts_after(&before, &b, cases[i].imported, cases[i].dnc);
        assert_int_equal(c.bytes_done, (int64_t)offset);
        assert_int_equal(c.row_number_done, (int64_t)row);
        assert_int_equal(c.rows_read - before.rows_read, (int64_t)cases[i].n_rows);
        assert_int_equal(c.rows_imported - before.rows_imported, cases[i].imported);
        assert_int_equal(c.rows_dnc - before.rows_dnc, cases[i].dnc);
        assert_int_equal(c.rows_rejected - before.rows_rejected, (int64_t)cases[i].n_rejected);
        assert_int_equal(c.rows_duplicate - before.rows_duplicate, cases[i].want_dup);
        assert_int_equal(c.rows_read,
                         c.rows_imported + c.rows_duplicate + c.rows_dnc + c.rows_rejected);
    }
}

static void test_direct(void **state)
{
    (void)state;
    static const struct {
        size_t n_direct, n_external;
        bool unusable, direct_off;
        bool want;
    } cases[] = {
        {100, 0, false, false, true},
        {100, 0, false, true, false},  /* the run gave the direct path up */
        {100, 1, false, false, false}, /* external ids need the merge's checks */
        {100, 0, true, false, false},  /* a number the direct path cannot check */
        {0, 0, false, false, false},   /* no primaries (all rejected) */
    };
    for (size_t i = 0; i < N(cases); i++) {
        const importer_batch_t b = {.n_direct = cases[i].n_direct,
                                    .n_external = cases[i].n_external,
                                    .direct_unusable = cases[i].unusable};
        if (importer_direct_decide(&b, cases[i].direct_off) != cases[i].want)
            fail_msg("case %zu: want %d", i, cases[i].want);
    }
}

static void test_workers(void **state)
{
    (void)state;
    static const struct {
        int configured;
        long cpus;
        int want;
    } cases[] = {
        {0, 8, 8},  {0, 1, 1},   {0, 0, 1},   {0, -1, 1}, {3, 8, 3},
        {3, -1, 3}, {64, 2, 64}, {65, 2, 64}, {-2, 4, 4}, {0, 1000, 64},
    };
    for (size_t i = 0; i < N(cases); i++)
        if (importer_workers_decide(cases[i].configured, cases[i].cpus) != cases[i].want)
            fail_msg("configured %d, cpus %ld: %d, want %d", cases[i].configured, cases[i].cpus,
                     importer_workers_decide(cases[i].configured, cases[i].cpus), cases[i].want);
}

static void test_end(void **state)
{
    (void)state;
    static const struct {
        bool stopped;
        int parser_rc;
        bool data_error;
        importer_end_t want;
    } cases[] = {
        {false, 0, false, IMPORTER_END_COMPLETE},
        {true, 0, false, IMPORTER_END_STOPPED},
        {true, OD_ERR_INVALID, true, IMPORTER_END_STOPPED}, /* stop wins: resumable */
        {false, OD_ERR_INVALID, true, IMPORTER_END_FAIL_IMPORT},
        {false, OD_ERR_UNAVAILABLE, false, IMPORTER_END_ERROR},
        {false, OD_ERR_CONFLICT, false, IMPORTER_END_ERROR},
    };
    for (size_t i = 0; i < N(cases); i++)
        if (importer_end_decide(cases[i].stopped, cases[i].parser_rc, cases[i].data_error) !=
            cases[i].want)
            fail_msg("case %zu: want %d", i, cases[i].want);
}

OD_TEST_MAIN(NULL, NULL, test_start, test_resume_point, test_counts_after, test_direct,
             test_workers, test_end)

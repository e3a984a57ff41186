/*
 * case_table.h — runs every row of a test table and reports each failing
 * row, instead of stopping at the first failed assertion (header-only).
 *
 *     CASE_TABLE_TEST(test_groups, "contact group", cases, group_case_holds)
 *
 * defines the test function test_groups, which runs the table: it calls
 * holds(&cases[i]) on every row; a row that does not hold prints what
 * went wrong, naming its case (print_error), and returns false. Then prints
 * "<n> <what> cases, <k> failed" and fails the test unless k is 0.
 * CASE_TABLE_RUN(what, cases, holds) is the same run inside a test that
 * does more; CASE_TABLE_RUN_ROWS(what, rows, n, holds) runs the n rows at
 * rows (an array that is not a table of known size, as a case file's rows).
 */
#ifndef OUTDIAL_TEST_CASE_TABLE_H
#define OUTDIAL_TEST_CASE_TABLE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Checks one row (a pointer to an element of the table). */
typedef bool (*case_holds_fn)(const void *row);

static inline void case_table_run_(const char *what, const void *rows, size_t n, size_t row_size,
                                   case_holds_fn holds)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += !holds((const char *)rows + i * row_size);
    print_message("%zu %s cases, %d failed\n", n, what, failed);
    assert_int_equal(failed, 0);
}

#define CASE_TABLE_RUN(what, cases, holds)                                                         \
    case_table_run_(what, cases, sizeof(cases) / sizeof((cases)[0]), sizeof((cases)[0]), holds)

#define CASE_TABLE_RUN_ROWS(what, rows, n, holds)                                                  \
    case_table_run_(what, rows, n, sizeof((rows)[0]), holds)

#define CASE_TABLE_TEST(test_fn, what, cases, holds)                                               \
    static void test_fn(void **state)                                                              \
    {                                                                                              \
        (void)state;                                                                               \
        CASE_TABLE_RUN(what, cases, holds);                                                        \
    }

#endif

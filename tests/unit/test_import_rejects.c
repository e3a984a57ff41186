/*
 * The page cursor of an import's rejects (lib/ingest/import_rejects.h):
 * "ROW" after a whole row, "ROW.COLUMN" after a cell, everything else
 * refused.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "import_rejects.h"
#include "test_main.h"

/* Every cursor of cases/reject_cursors.tsv, accepted or refused, and where an
 * accepted one points. */
static void test_cursor(void **state)
{
    (void)state;
    static const char *const columns[] = {"cursor", "accepted", "row", "column"};
    case_file_t *cf =
        case_file_load("reject_cursors", columns, sizeof(columns) / sizeof(columns[0]), 15);
    for (size_t i = 0; i < cf->n_rows; i++) {
        const char *cursor = case_file_cell(cf, i, 0);
        bool want_ok = case_file_yes(cf, i, 1);
        import_reject_pos_t pos = {-1, -1};
        bool ok = import_reject_cursor_parse(cursor, &pos);
        if (ok != want_ok)
            fail_msg("'%s': %s, want %s", cursor, ok ? "accepted" : "refused",
                     want_ok ? "accepted" : "refused");
        if (!ok)
            continue;
        int64_t row = case_file_int(cf, i, 2);
        long long column = case_file_cell(cf, i, 3) ? case_file_int(cf, i, 3) : INT_MAX;
        if (pos.row_number != row || pos.column_number != column)
            fail_msg("'%s': %lld.%d", cursor, (long long)pos.row_number, pos.column_number);
    }
    case_file_free(cf);
    assert_false(import_reject_cursor_parse(NULL, &(import_reject_pos_t){0, 0}));
}

/* A formatted cursor parses back to where the page ended. */
static void test_cursor_round_trip(void **state)
{
    (void)state;
    char cursor[32];
    import_reject_pos_t pos;
    import_reject_cursor_format((import_reject_pos_t){12, 4}, cursor, sizeof(cursor));
    assert_string_equal(cursor, "12.4");
    assert_true(import_reject_cursor_parse(cursor, &pos));
    assert_int_equal(pos.row_number, 12);
    assert_int_equal(pos.column_number, 4);
    /* After a whole row: every cell of that row is behind. */
    import_reject_cursor_format((import_reject_pos_t){12, 0}, cursor, sizeof(cursor));
    assert_string_equal(cursor, "12");
    assert_true(import_reject_cursor_parse(cursor, &pos));
    assert_int_equal(pos.column_number, INT_MAX);
}

OD_TEST_MAIN(NULL, NULL, test_cursor, test_cursor_round_trip)

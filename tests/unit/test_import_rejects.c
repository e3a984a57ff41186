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
#include <string.h>

#include <cmocka.h>

#include "import_rejects.h"
#include "test_main.h"

static void test_cursor(void **state)
{
    (void)state;
    static const struct {
        const char *cursor;
        bool ok;
        int64_t row;
        int column;
    } cases[] = {
        {"7", true, 7, INT_MAX},
        {"0", true, 0, INT_MAX},
        {"7.3", true, 7, 3},
        {"2147483647.1000", true, 2147483647, 1000},
        {"", false, 0, 0},
        {"-1", false, 0, 0},
        {"+1", false, 0, 0},
        {" 1", false, 0, 0},
        {"7.", false, 0, 0},
        {"7.0", false, 0, 0},
        {"7.-2", false, 0, 0},
        {"7.3.4", false, 0, 0},
        {"7x", false, 0, 0},
        {"2147483648", false, 0, 0},
        {"7.99999999999999999999", false, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        import_reject_pos_t pos = {-1, -1};
        bool ok = import_reject_cursor_parse(cases[i].cursor, &pos);
        if (ok != cases[i].ok)
            fail_msg("'%s': %s, want %s", cases[i].cursor, ok ? "accepted" : "refused",
                     cases[i].ok ? "accepted" : "refused");
        if (ok && (pos.row_number != cases[i].row || pos.column_number != cases[i].column))
            fail_msg("'%s': %lld.%d", cases[i].cursor, (long long)pos.row_number,
                     pos.column_number);
    }
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

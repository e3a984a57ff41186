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

#include "case_table.h"
#include "import_rejects.h"
#include "test_main.h"

typedef struct cursor_case {
    const char *cursor;
    bool ok;
    int64_t row;
    int column;
} cursor_case_t;

static const cursor_case_t cursor_cases[] = {
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

/* One cursor: accepted or refused, and where an accepted one points. */
static bool cursor_case_holds(const void *row)
{
    const cursor_case_t *c = row;
    import_reject_pos_t pos = {-1, -1};
    bool ok = import_reject_cursor_parse(c->cursor, &pos);
    if (ok != c->ok) {
        print_error("'%s': %s, want %s\n", c->cursor, ok ? "accepted" : "refused",
                    c->ok ? "accepted" : "refused");
        return false;
    }
    if (ok && (pos.row_number != c->row || pos.column_number != c->column)) {
        print_error("'%s': %lld.%d\n", c->cursor, (long long)pos.row_number, pos.column_number);
        return false;
    }
    return true;
}

static void test_cursor(void **state)
{
    (void)state;
    CASE_TABLE_RUN("cursor", cursor_cases, cursor_case_holds);
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

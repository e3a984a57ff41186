/* Bulk DNC lists (lib/rules/dnc_list.h): every form of a line (E.164,
 * national notations in the account's region, the registry's area code and
 * number, blanks, comments, malformed registry lines, non-numbers), and the
 * registry scrub's staleness around its 31 days, and list dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnc_list.h"
#include "test_main.h"

typedef struct line_case {
    const char *line;
    const char *region;
    dnc_line_t want;
    const char *e164; /* DNC_LINE_NUMBER */
} line_case_t;

static const line_case_t cases[] = {
    {"+12015550123", "US", DNC_LINE_NUMBER, "+12015550123"},
    {"  (201) 555-0123\r\n", "US", DNC_LINE_NUMBER, "+12015550123"},
    {"201-555-0123", "US", DNC_LINE_NUMBER, "+12015550123"},
    {"201,5550123", "US", DNC_LINE_NUMBER, "+12015550123"},
    {"201,5550123", "GB", DNC_LINE_NUMBER, "+12015550123"}, /* the registry is US-only */
    {" 415,5550199 ", "US", DNC_LINE_NUMBER, "+14155550199"},
    {"020 7946 0018", "GB", DNC_LINE_NUMBER, "+442079460018"},
    {"", "US", DNC_LINE_SKIP, NULL},
    {"   \t", "US", DNC_LINE_SKIP, NULL},
    {"# registry file of 2026-12-01", "US", DNC_LINE_SKIP, NULL},
    {"20,15550123", "US", DNC_LINE_INVALID, NULL},
    {"201,555012", "US", DNC_LINE_INVALID, NULL},
    {"201,555012x", "US", DNC_LINE_INVALID, NULL},
    {"201,5550123,x", "US", DNC_LINE_INVALID, NULL},
    {"hello", "US", DNC_LINE_INVALID, NULL},
    {"123", "US", DNC_LINE_INVALID, NULL},
};

static void test_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char e164[PHONE_E164_MAX + 1] = "";
        const char *why = NULL;
        dnc_line_t got =
            dnc_list_line_parse(cases[i].line, strlen(cases[i].line), cases[i].region, e164, &why);
        if (got != cases[i].want)
            fail_msg("'%s': %d, want %d (%s)", cases[i].line, got, cases[i].want, why ? why : "");
        if (got == DNC_LINE_NUMBER)
            assert_string_equal(e164, cases[i].e164);
        if (got == DNC_LINE_INVALID)
            assert_non_null(why);
    }
}

static void test_registry_stale(void **state)
{
    (void)state;
    const int64_t today = 20000;
    assert_false(dnc_registry_stale(false, false, 0, today)); /* not required */
    assert_true(dnc_registry_stale(true, false, 0, today));   /* never imported */
    assert_false(dnc_registry_stale(true, true, today, today));
    assert_false(dnc_registry_stale(true, true, today - 31, today));
    assert_true(dnc_registry_stale(true, true, today - 32, today));
    assert_true(dnc_registry_required("us_federal"));
    assert_true(dnc_registry_required("us_states"));
    assert_false(dnc_registry_required("none"));
    assert_false(dnc_registry_required(NULL));
}

static void test_list_date(void **state)
{
    (void)state;
    int64_t day = 0;
    assert_true(dnc_list_date_parse("2026-12-01", &day));
    assert_int_equal(day, 20788);
    assert_true(dnc_list_date_parse("2028-02-29", &day));
    assert_false(dnc_list_date_parse("2027-02-29", &day));
    assert_false(dnc_list_date_parse("2026-13-01", &day));
    assert_false(dnc_list_date_parse("2026-12-1", &day));
    assert_false(dnc_list_date_parse("1999-12-31", &day));
    assert_false(dnc_list_date_parse("12/01/2026", &day));
    assert_false(dnc_list_date_parse(NULL, &day));
}

OD_TEST_MAIN(NULL, NULL, test_lines, test_registry_stale, test_list_date)

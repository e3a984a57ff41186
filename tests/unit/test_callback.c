/* callback_time_parse (callback.h): the accepted ISO 8601 forms, with an
 * offset and in the lead's zone (DST gap and overlap as window.h reads
 * them), and what is not a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "callback.h"
#include "test_main.h"
#include "test_rules_support.h"

static void test_times(void **state)
{
    (void)state;
    static const struct {
        const char *text, *zone, *want;
    } cases[] = {
        {"2026-03-12T15:00:00Z", "America/New_York", "2026-03-12T15:00Z"},
        {"2026-03-12t15:00z", "America/New_York", "2026-03-12T15:00Z"},
        {"2026-03-12T15:00:00-05:00", "Asia/Tokyo", "2026-03-12T15:00-05:00"},
        {"2026-03-12T15:00:00-0500", "Asia/Tokyo", "2026-03-12T15:00-05:00"},
        {"2026-03-12T15:00+05", "Asia/Tokyo", "2026-03-12T15:00+05:00"},
        {"2026-03-12T15:00:30.5+01:00", "Asia/Tokyo", "2026-03-12T14:00:30Z"},
        /* No offset: the zone's wall time. */
        {"2026-03-12T15:00", "America/New_York", "2026-03-12T15:00-04:00"},
        {"2026-03-12 15:00:00", "America/Los_Angeles", "2026-03-12T15:00-07:00"},
        {"2026-01-12T15:00", "America/New_York", "2026-01-12T15:00-05:00"},
        {"2026-03-12T15:00", "Asia/Tokyo", "2026-03-12T15:00+09:00"},
        /* DST gap: 02:30 does not exist, the first instant after it. */
        {"2026-03-08T02:30", "America/New_York", "2026-03-08T03:00-04:00"},
        /* DST overlap: 01:30 happens twice, its first occurrence. */
        {"2026-11-01T01:30", "America/New_York", "2026-11-01T01:30-04:00"},
        {"2028-02-29T10:00Z", "America/New_York", "2028-02-29T10:00Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = 0;
        char err[256] = "";
        int rc = callback_time_parse(cases[i].text, cases[i].zone, &got, err, sizeof(err));
        int64_t want = T(cases[i].want);
        if (strcmp(cases[i].text, "2026-03-12T15:00:30.5+01:00") == 0)
            want += 500000;
        if (rc != OD_OK || got != want)
            fail_msg("%s in %s: rc %d (%s), got %lld want %lld", cases[i].text, cases[i].zone, rc,
                     err, (long long)got, (long long)want);
    }
}

static void test_not_times(void **state)
{
    (void)state;
    static const char *const junk[] = {
        "",
        "Thursday at 3",
        "2026-03-12",
        "15:00",
        "2026-03-12T15",
        "2026-02-29T10:00Z", /* not a leap year */
        "2026-04-31T10:00Z",
        "2026-13-01T10:00Z",
        "2026-03-12T24:00Z",
        "2026-03-12T15:60Z",
        "2026-03-12T15:00:61Z",
        "1969-12-31T23:00Z",
        "2026-03-12T15:00:00+25:00",
        "2026-03-12T15:00:00 +05:00",
        "2026-03-12T15:00:00Zjunk",
        "2026-03-12T15:00:00.Z",
        "+2026-03-12T15:00Z",
        "2026-03-12T15:00:00.000000000000000000000000000000000000000000000000000000000000Z",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        int64_t got = 0;
        char err[256] = "";
        if (callback_time_parse(junk[i], "America/New_York", &got, err, sizeof(err)) !=
            OD_ERR_INVALID)
            fail_msg("'%s' parsed as %lld", junk[i], (long long)got);
        assert_non_null(strstr(err, "is not an ISO 8601 date and time"));
    }
    int64_t got = 0;
    char err[256] = "";
    assert_int_equal(callback_time_parse(NULL, "America/New_York", &got, err, sizeof(err)),
                     OD_ERR_INVALID);
    /* A zone is needed only without an offset; an unknown one is an error. */
    assert_int_equal(
        callback_time_parse("2026-03-12T15:00Z", "Nowhere/Else", &got, err, sizeof(err)), OD_OK);
    assert_int_equal(
        callback_time_parse("2026-03-12T15:00", "Nowhere/Else", &got, err, sizeof(err)),
        OD_ERR_INVALID);
}

OD_TEST_MAIN(NULL, NULL, test_times, test_not_times)

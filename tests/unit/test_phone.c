/* Phone numbers: what users type, parsed to E.164 or rejected with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "phone.h"
#include "test_main.h"

/* The reason whose phone_reason_code is code; fails the test on a code
 * that none has (a typo in the table). */
static phone_reason_t reason_of(const char *code)
{
    for (phone_reason_t r = PHONE_OK; r <= PHONE_INVALID; r++)
        if (strcmp(phone_reason_code(r), code) == 0)
            return r;
    fail_msg("no phone reason has the code '%s'", code);
    return PHONE_INVALID;
}

static void test_parse_table(void **state)
{
    (void)state;
    static const char *const columns[] = {"raw", "region", "reason", "e164"};
    case_file_t *cf = case_file_load("phone", columns, sizeof(columns) / sizeof(columns[0]), 19);
    phone_init();
    for (size_t i = 0; i < cf->n_rows; i++) {
        const char *raw = case_file_cell(cf, i, 0), *region = case_file_cell(cf, i, 1);
        phone_reason_t want = reason_of(case_file_cell(cf, i, 2));
        const char *want_e164 = case_file_cell(cf, i, 3) ? case_file_cell(cf, i, 3) : "";
        char e164[PHONE_E164_MAX + 1];
        phone_reason_t r = phone_parse(raw, strlen(raw), region, e164);
        if (r != want || strcmp(e164, want_e164) != 0)
            fail_msg("case %zu '%s' (%s): got %s '%s', want %s '%s'", i, raw, region ? region : "-",
                     phone_reason_code(r), e164, phone_reason_code(want), want_e164);
    }
    case_file_free(cf);
}

/* raw_len bounds the read: the same bytes with a longer tail parse the same. */
static void test_length_bound(void **state)
{
    (void)state;
    char e164[PHONE_E164_MAX + 1];
    const char *raw = "+14155552671GARBAGE";
    assert_int_equal(phone_parse(raw, 12, "US", e164), PHONE_OK);
    assert_string_equal(e164, "+14155552671");
}

/* phone_parse's shortcut for US notations (phone.cc) answers exactly as
 * libphonenumber's Parse() does: generated inputs in the notations it takes
 * and in near misses, valid and invalid numbers (area codes and exchanges
 * starting 0 or 1, N11 codes, 555), too few and too many digits, odd
 * punctuation, and regions it must not apply to. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static unsigned rng_next(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void test_shortcut_matches_parse(void **state)
{
    (void)state;
    phone_init();
    static const char *const prefixes[] = {"",    "",     "",     "1", "1-", "1 ",  "+1",  "+1 ",
                                           "+1-", "+ 1 ", "(1) ", "+", "11", "+11", " 1.", "0"};
    static const char *const regions[] = {"US", "US", "US", "CA", "GB", "", NULL};
    static const char *const seps[] = {"", " ", "-", ".", ") ", " - ", "  ", "/", "\t", "x"};
    char raw[96], e_fast[PHONE_E164_MAX + 1], e_full[PHONE_E164_MAX + 1];
    size_t compared = 0, ok = 0;
    for (int i = 0; i < 20000; i++) {
        unsigned area = rng_next(1000), exchange = rng_next(1000), line = rng_next(10000);
        if (rng_next(4) > 0) /* mostly plausible numbers */
            area = 200 + rng_next(800), exchange = 200 + rng_next(800);
        const char *prefix = prefixes[rng_next(sizeof(prefixes) / sizeof(prefixes[0]))];
        const char *s1 = seps[rng_next(sizeof(seps) / sizeof(seps[0]))];
        const char *s2 = seps[rng_next(sizeof(seps) / sizeof(seps[0]))];
        const char *open = rng_next(3) == 0 ? "(" : "";
        const char *pad = rng_next(5) == 0 ? " " : "";
        int n;
        switch (rng_next(8)) {
        case 0: /* a digit too few */
            n = snprintf(raw, sizeof(raw), "%s%s%s%03u%s%03u%s%03u%s", pad, prefix, open, area, s1,
                         exchange, s2, line % 1000, pad);
            break;
        case 1: /* a digit too many */
            n = snprintf(raw, sizeof(raw), "%s%s%s%03u%s%03u%s%05u%s", pad, prefix, open, area, s1,
                         exchange, s2, line * 7, pad);
            break;
        default:
            n = snprintf(raw, sizeof(raw), "%s%s%s%03u%s%03u%s%04u%s", pad, prefix, open, area, s1,
                         exchange, s2, line, pad);
        }
        const char *region = regions[rng_next(sizeof(regions) / sizeof(regions[0]))];
        phone_reason_t fast = phone_parse(raw, (size_t)n, region, e_fast);
        phone_reason_t full = phone_parse_full(raw, (size_t)n, region, e_full);
        if (fast != full || strcmp(e_fast, e_full) != 0)
            fail_msg("'%s' (%s): shortcut %s '%s', Parse %s '%s'", raw, region ? region : "-",
                     phone_reason_code(fast), e_fast, phone_reason_code(full), e_full);
        compared++;
        ok += fast == PHONE_OK;
    }
    /* Both kinds were seen plenty. */
    print_message("%zu inputs, %zu valid\n", compared, ok);
    assert_true(ok > compared / 10);
    assert_true(compared - ok > compared / 10);
}

static void test_reasons_and_regions(void **state)
{
    (void)state;
    assert_string_equal(phone_reason_code(PHONE_EMPTY), "missing_phone");
    assert_string_equal(phone_reason_code(PHONE_INVALID), "invalid_number");
    assert_non_null(strstr(phone_reason_message(PHONE_BAD_COUNTRY), "default region"));
    assert_true(phone_region_known("US"));
    assert_true(phone_region_known("GB"));
    assert_false(phone_region_known("XX"));
    assert_false(phone_region_known(NULL));
}

OD_TEST_MAIN(NULL, NULL, test_parse_table, test_length_bound, test_shortcut_matches_parse,
             test_reasons_and_regions)

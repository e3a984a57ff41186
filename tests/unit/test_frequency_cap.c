/* Frequency caps (lib/rules/freqcap.h): the table of freqcap_check over
 * caps, ages and orders of calls, the boundary of the 24 h period, the
 * effective cap of an account and a jurisdiction, the setting's range, and
 * a property: clears_us is allowed once the calls are those given, and no
 * earlier instant is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "freqcap.h"
#include "test_main.h"

#define H  (3600LL * 1000000)
#define T0 (1780000000LL * 1000000) /* an instant in 2026 */

typedef struct cap_case {
    const char *name;
    int cap;
    int64_t ago[8]; /* hours before now of each call (negative: after now) */
    size_t n;
    bool want_allowed;
    int want_counted;
    int64_t want_clears_after; /* clears_us - now, refused only */
} cap_case_t;

static const cap_case_t cases[] = {
    {"no cap, many calls", 0, {1, 1, 1, 1}, 4, true, 0, 0},
    {"no calls", 3, {0}, 0, true, 0, 0},
    {"two of three", 3, {1, 5}, 2, true, 2, 0},
    {"three of three: the oldest ages out", 3, {1, 5, 20}, 3, false, 3, 4 * H},
    {"order does not matter", 3, {20, 1, 5}, 3, false, 3, 4 * H},
    {"an old call does not count", 3, {1, 5, 25}, 3, true, 2, 0},
    {"exactly 24 h ago does not count", 3, {1, 5, 24}, 3, true, 2, 0},
    {"just under 24 h ago counts", 1, {0}, 1, false, 1, 24 * H},
    {"cap 1, call 2 h ago", 1, {2}, 1, false, 1, 22 * H},
    {"over the cap: the excess must age out too", 2, {1, 3, 6, 10}, 4, false, 4, 21 * H},
    {"a call after now (clock ahead) counts", 2, {-1, 2}, 2, false, 2, 22 * H},
    {"cap 5, four calls", 5, {1, 2, 3, 4}, 4, true, 4, 0},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cap_case_t *c = &cases[i];
        int64_t times[8];
        for (size_t k = 0; k < c->n; k++)
            times[k] = T0 - c->ago[k] * H;
        /* "just under 24 h": one microsecond inside the period */
        if (strncmp(c->name, "just under", 10) == 0)
            times[0] = T0 - 24 * H + 1;
        freqcap_verdict_t v;
        freqcap_check(c->cap, times, c->n, T0, &v);
        if (v.allowed != c->want_allowed || v.counted != c->want_counted)
            fail_msg("%s: allowed %d counted %d, want %d %d", c->name, v.allowed, v.counted,
                     c->want_allowed, c->want_counted);
        int64_t want_clears = c->want_allowed ? T0 : T0 + c->want_clears_after;
        if (strncmp(c->name, "just under", 10) == 0)
            want_clears = T0 + 1;
        if (v.clears_us != want_clears)
            fail_msg("%s: clears %lld, want %lld", c->name, (long long)(v.clears_us - T0),
                     (long long)(want_clears - T0));
    }
}

static void test_effective(void **state)
{
    (void)state;
    assert_int_equal(freqcap_effective(0, 0), 0);
    assert_int_equal(freqcap_effective(5, 0), 5);
    assert_int_equal(freqcap_effective(0, 3), 3);
    assert_int_equal(freqcap_effective(5, 3), 3);
    assert_int_equal(freqcap_effective(2, 3), 2);
    assert_int_equal(freqcap_effective(-1, -4), 0);
}

/* For random calls and caps: when refused, clears_us is allowed and the
 * microsecond before it is not; when allowed, clears_us is now. */
static void test_property(void **state)
{
    (void)state;
    srand(17);
    for (int round = 0; round < 5000; round++) {
        int cap = 1 + rand() % 5;
        size_t n = (size_t)(rand() % 8);
        int64_t times[8];
        for (size_t k = 0; k < n; k++)
            times[k] = T0 - (int64_t)(rand() % (30 * 60)) * 60 * 1000000;
        freqcap_verdict_t v, at, before;
        freqcap_check(cap, times, n, T0, &v);
        if (v.allowed) {
            assert_int_equal(v.clears_us, T0);
            continue;
        }
        assert_true(v.clears_us > T0);
        freqcap_check(cap, times, n, v.clears_us, &at);
        freqcap_check(cap, times, n, v.clears_us - 1, &before);
        assert_true(at.allowed);
        assert_false(before.allowed);
    }
}

OD_TEST_MAIN(NULL, NULL, test_table, test_effective, test_property)

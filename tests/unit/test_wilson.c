/* The Wilson score interval (lib/rules/wilson.h) against the values
 * published in Newcombe (1998), Table I, and a few computed by hand from
 * the formula; its bounds and the cases with no interval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "test_main.h"
#include "wilson.h"

typedef struct wilson_case {
    int64_t k, n;
    double low, high; /* to 4 decimals */
} wilson_case_t;

static const wilson_case_t cases[] = {
    /* Newcombe 1998, Table I, method 3 (score, no continuity correction). */
    {81, 263, 0.2553, 0.3662},
    {15, 148, 0.0624, 0.1605},
    {0, 20, 0.0000, 0.1611},
    {1, 29, 0.0061, 0.1718},
    /* Small and whole samples: clamped to [0, 1], never [0, 0]. */
    {5, 10, 0.2366, 0.7634},
    {10, 10, 0.7225, 1.0000},
    {1, 1, 0.2065, 1.0000},
    {0, 1, 0.0000, 0.7935},
    {500, 1000, 0.4691, 0.5309},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const wilson_case_t *c = &cases[i];
        wilson_interval_t w;
        assert_true(wilson_interval(c->k, c->n, WILSON_Z95, &w));
        if (w.low < c->low - 0.00005 || w.low > c->low + 0.00005 || w.high < c->high - 0.00005 ||
            w.high > c->high + 0.00005)
            fail_msg("%lld/%lld: [%.5f, %.5f], want [%.4f, %.4f]", (long long)c->k, (long long)c->n,
                     w.low, w.high, c->low, c->high);
    }
}

/* The interval holds the observed rate, lies in [0, 1], and narrows as the
 * sample grows at the same rate. */
static void test_properties(void **state)
{
    (void)state;
    for (int64_t n = 1; n <= 400; n += 7)
        for (int64_t k = 0; k <= n; k++) {
            wilson_interval_t w;
            assert_true(wilson_interval(k, n, WILSON_Z95, &w));
            double p = (double)k / (double)n;
            assert_true(w.low >= 0.0 && w.high <= 1.0);
            assert_true(w.low <= p + 1e-12 && p <= w.high + 1e-12);
        }
    wilson_interval_t small, large;
    assert_true(wilson_interval(30, 100, WILSON_Z95, &small));
    assert_true(wilson_interval(300, 1000, WILSON_Z95, &large));
    assert_true(large.high - large.low < small.high - small.low);
}

static void test_no_interval(void **state)
{
    (void)state;
    wilson_interval_t w = {-1, -1};
    assert_false(wilson_interval(0, 0, WILSON_Z95, &w));
    assert_false(wilson_interval(3, 2, WILSON_Z95, &w));
    assert_false(wilson_interval(-1, 5, WILSON_Z95, &w));
    assert_false(wilson_interval(1, 5, 0.0, &w));
    assert_true(w.low == -1 && w.high == -1);
}

OD_TEST_MAIN(NULL, NULL, test_table, test_properties, test_no_interval)

/* item_backoff: the delay table of item_backoff.h, which errors end a
 * pass, and the table of held items (hold, renew, forget, drop what went
 * away, the array a query leaves out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "item_backoff.h"
#include "test_main.h"

#define S ((int64_t)1000000)

static void test_delay_and_what_ends_a_pass(void **state)
{
    (void)state;
    static const struct {
        int failures;
        int64_t first, max, want;
    } cases[] = {
        {-1, S, 300 * S, 0},         /* no failure: now */
        {0, S, 300 * S, 0},          /* no failure: now */
        {1, S, 300 * S, S},          /* first */
        {2, S, 300 * S, 2 * S},      /* doubles */
        {3, S, 300 * S, 4 * S},      /* doubles */
        {9, S, 300 * S, 256 * S},    /* 2^8 s, under the cap */
        {10, S, 300 * S, 300 * S},   /* 512 s capped at max */
        {1000, S, 300 * S, 300 * S}, /* no overflow however many */
        {1, 5 * S, 3 * S, 3 * S},    /* max below first: max */
        {3, 0, 300 * S, 0},          /* no first delay: never held */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = item_backoff_delay_us(cases[i].failures, cases[i].first, cases[i].max);
        if (got != cases[i].want)
            fail_msg("case %zu (failures %d): got %lld, want %lld", i, cases[i].failures,
                     (long long)got, (long long)cases[i].want);
    }
    /* Only a dependency away ends a pass. */
    static const struct {
        int rc;
        bool ends_pass;
    } ends[] = {
        {OD_ERR_UNAVAILABLE, true}, {OD_ERR_INVALID, false},  {OD_ERR_NOT_FOUND, false},
        {OD_ERR_CONFLICT, false},   {OD_ERR_INTERNAL, false}, {OD_ERR_TIMEOUT, false},
    };
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
        assert_int_equal(item_backoff_pass_fails(ends[i].rc), ends[i].ends_pass);
}

static void test_table_holds_renews_forgets_and_null_keeps_nothing(void **state)
{
    (void)state;
    const char *a = "00000000-0000-4000-8000-00000000000a";
    const char *b = "00000000-0000-4000-8000-00000000000b";
    item_backoff_t *t = item_backoff_new(S, 8 * S);
    int64_t now = 1000 * S;
    assert_false(item_backoff_held(t, a, now));
    char *arr = item_backoff_held_array(t, now);
    assert_string_equal(arr, "{}");
    free(arr);

    assert_int_equal(item_backoff_fail(t, a, now), S);
    assert_true(item_backoff_held(t, a, now));
    assert_true(item_backoff_held(t, a, now + S - 1));
    assert_false(item_backoff_held(t, a, now + S)); /* its wait is over: tried again */
    assert_false(item_backoff_held(t, b, now));
    /* A second failure in a row doubles the wait. */
    assert_int_equal(item_backoff_fail(t, a, now + S), 2 * S);
    assert_true(item_backoff_held(t, a, now + 2 * S));
    assert_int_equal(item_backoff_fail(t, b, now + S), S);
    arr = item_backoff_held_array(t, now + S);
    assert_true(strstr(arr, a) && strstr(arr, b) && arr[0] == '{' && arr[strlen(arr) - 1] == '}');
    free(arr);
    /* b's wait is over, a's not: only a is left out. */
    arr = item_backoff_held_array(t, now + 2 * S);
    assert_non_null(strstr(arr, a));
    assert_null(strstr(arr, b));
    free(arr);
    /* Success forgets: the next failure starts again at first. */
    item_backoff_ok(t, a);
    assert_false(item_backoff_held(t, a, now + S));
    assert_int_equal(item_backoff_fail(t, a, now + 3 * S), S);
    /* An entry whose wait ended more than max ago (an item that went
     * away) is dropped at the next failure recorded: failing again, much
     * later, starts at first. */
    assert_int_equal(item_backoff_fail(t, b, now + 100 * S), S);
    assert_int_equal(item_backoff_fail(t, a, now + 100 * S), S);
    assert_int_equal(item_backoff_fail(t, a, now + 101 * S), 2 * S);
    item_backoff_free(t);

    /* No table: nothing held, nothing kept. */
    assert_false(item_backoff_held(NULL, a, now));
    assert_int_equal(item_backoff_fail(NULL, a, now), 0);
    item_backoff_ok(NULL, a);
    arr = item_backoff_held_array(NULL, now);
    assert_string_equal(arr, "{}");
    free(arr);
    item_backoff_free(NULL);
}

OD_TEST_MAIN(NULL, NULL, test_delay_and_what_ends_a_pass,
             test_table_holds_renews_forgets_and_null_keeps_nothing)

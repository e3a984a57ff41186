/*
 * test_main.h — the main() of a cmocka test binary, written once
 * (header-only; needs only cmocka, so unit tests outside tests/ use it too).
 *
 *     OD_TEST_MAIN(group_setup, group_teardown, test_a, test_b, ...)
 *     OD_TEST_MAIN_EACH(group_setup, group_teardown, setup, teardown, test_a, ...)
 *
 * run the listed test functions, in order, as one cmocka group named
 * "tests" (as cmocka_run_group_tests(tests, ...) did); _EACH wraps every
 * test in the same per-test setup and teardown. Any fixture may be NULL.
 * Each test is named after its function: the names come from the argument
 * list stringized (test function names hold no commas). main returns the
 * number of failed tests. tests/http_client.h adds HTTPC_TEST_MAIN.
 */
#ifndef OUTDIAL_TESTS_TEST_MAIN_H
#define OUTDIAL_TESTS_TEST_MAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Runs the n functions fns as one group. names is their list stringized
 * ("test_a, test_b"); it is copied and split, and the copy freed here. */
static inline int od_test_run_(const char *names, const CMUnitTestFunction *fns, size_t n,
                               CMFixtureFunction group_setup, CMFixtureFunction group_teardown,
                               CMFixtureFunction setup, CMFixtureFunction teardown)
{
    char *copy = strdup(names);
    struct CMUnitTest *tests = calloc(n, sizeof(*tests));
    if (!copy || !tests)
        abort();
    char *next = copy;
    for (size_t i = 0; i < n; i++) {
        next += strspn(next, " \t\n");
        tests[i] = (struct CMUnitTest){next, fns[i], setup, teardown, NULL};
        next += strcspn(next, ", \t\n");
        if (*next)
            *next++ = '\0';
        next += strspn(next, ", \t\n");
    }
    int failed = _cmocka_run_group_tests("tests", tests, n, group_setup, group_teardown);
    free(tests);
    free(copy);
    return failed;
}

/* The run of OD_TEST_MAIN_EACH as an expression, for a main that does more. */
#define OD_TEST_RUN(group_setup, group_teardown, setup, teardown, ...)                             \
    od_test_run_(#__VA_ARGS__, (const CMUnitTestFunction[]){__VA_ARGS__},                          \
                 sizeof((CMUnitTestFunction[]){__VA_ARGS__}) / sizeof(CMUnitTestFunction),         \
                 group_setup, group_teardown, setup, teardown)

#define OD_TEST_MAIN_EACH(group_setup, group_teardown, setup, teardown, ...)                       \
    int main(void)                                                                                 \
    {                                                                                              \
        return OD_TEST_RUN(group_setup, group_teardown, setup, teardown, __VA_ARGS__);             \
    }

#define OD_TEST_MAIN(group_setup, group_teardown, ...)                                             \
    OD_TEST_MAIN_EACH(group_setup, group_teardown, NULL, NULL, __VA_ARGS__)

#endif

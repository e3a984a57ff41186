/* dead_letter_decide: the table of dead_letter.h (what becomes of a call
 * event that fails), and its setting's range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dead_letter.h"
#include "test_main.h"

#define TRANSIENT DEAD_LETTER_RETRY_TRANSIENT
#define RETRY     DEAD_LETTER_RETRY
#define GIVE_UP   DEAD_LETTER_GIVE_UP

/* One row of dead_letter.h's table: the failure, what the probe said, the
 * try and the limit, and the verdict. */
typedef struct decide_case {
    const char *name;
    int rc;
    bool db_answers;
    int tries, max;
    dead_letter_verdict_t want;
} decide_case_t;

static void test_decide_table(void **state)
{
    (void)state;
    static const decide_case_t cases[] = {
        {"rejected: at once", OD_ERR_INVALID, true, 1, 5, GIVE_UP},
        {"rejected, database away: still at once", OD_ERR_INVALID, false, 1, 5, GIVE_UP},
        {"database away", OD_ERR_UNAVAILABLE, false, 1, 5, TRANSIENT},
        {"database away, however many tries", OD_ERR_UNAVAILABLE, false, 1000, 5, TRANSIENT},
        {"connection lost while the probe answers", OD_ERR_UNAVAILABLE, true, 5, 5, TRANSIENT},
        {"statement timeout", OD_ERR_TIMEOUT, true, 5, 5, TRANSIENT},
        {"system call failed", OD_ERR_IO, true, 5, 5, TRANSIENT},
        {"deadlock", OD_ERR_CONFLICT, true, 5, 5, TRANSIENT},
        {"campaign gone, database away", OD_ERR_NOT_FOUND, false, 5, 5, TRANSIENT},
        {"internal, database away", OD_ERR_INTERNAL, false, 5, 5, TRANSIENT},
        {"campaign gone: first try", OD_ERR_NOT_FOUND, true, 1, 5, RETRY},
        {"campaign gone: try before the last", OD_ERR_NOT_FOUND, true, 4, 5, RETRY},
        {"campaign gone: last try", OD_ERR_NOT_FOUND, true, 5, 5, GIVE_UP},
        {"internal: last try", OD_ERR_INTERNAL, true, 5, 5, GIVE_UP},
        {"one try allowed", OD_ERR_INTERNAL, true, 1, 1, GIVE_UP},
        {"batch probe (no try counted yet)", OD_ERR_INTERNAL, true, 0, 1, RETRY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dead_letter_verdict_t got =
            dead_letter_decide(cases[i].rc, cases[i].db_answers, cases[i].tries, cases[i].max);
        if (got != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].name, (int)got, (int)cases[i].want);
    }
}

static void test_tries_setting_range(void **state)
{
    (void)state;
    char err[256];
    int tries = 0;
    unsetenv(DEAD_LETTER_TRIES_ENV);
    assert_int_equal(dead_letter_tries_from_env(&tries, err, sizeof(err)), OD_OK);
    assert_int_equal(tries, DEAD_LETTER_TRIES_DEFAULT);
    static const struct {
        const char *value;
        int rc, want;
    } cases[] = {
        {"1", OD_OK, 1},
        {"100", OD_OK, 100},
        {"7", OD_OK, 7},
        {"0", OD_ERR_INVALID, 0},
        {"101", OD_ERR_INVALID, 0},
        {"-3", OD_ERR_INVALID, 0},
        {"five", OD_ERR_INVALID, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv(DEAD_LETTER_TRIES_ENV, cases[i].value, 1);
        int rc = dead_letter_tries_from_env(&tries, err, sizeof(err));
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d, want %d (%s)", cases[i].value, rc, cases[i].rc, err);
        if (rc == OD_OK)
            assert_int_equal(tries, cases[i].want);
        else
            assert_non_null(strstr(err, DEAD_LETTER_TRIES_ENV));
    }
    unsetenv(DEAD_LETTER_TRIES_ENV);
}

OD_TEST_MAIN(NULL, NULL, test_decide_table, test_tries_setting_range)

/*
 * Unit tests of the attempt key's decision (checks.h): every row of its
 * table. A refusal at the first checks takes the key through the same
 * decision as a placement, so a skipped attempt is never dialed later;
 * integration.dialer (test_skipped_attempt_not_dialed_again) runs it
 * against Redis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "checks.h"
#include "test_main.h"

#define US    "dialer:host:42:abcd0123"
#define OTHER "dialer:other:7:ffff0000"

static void test_attempt_key_table(void **state)
{
    (void)state;
    static const struct {
        int set_rc, get_rc;
        const char *value;
        checks_key_t want;
    } cases[] = {
        {OD_OK, OD_ERR_NOT_FOUND, NULL, CHECKS_KEY_OURS},
        /* Taken: a placement, a skip, or the scheduler's fence. */
        {OD_ERR_CONFLICT, OD_ERR_NOT_FOUND, NULL, CHECKS_KEY_TAKEN},
        /* Never read back after a conflict, even if the value were ours. */
        {OD_ERR_CONFLICT, OD_OK, US, CHECKS_KEY_TAKEN},
        /* The SET's outcome unknown: the read back tells. */
        {OD_ERR_UNAVAILABLE, OD_OK, US, CHECKS_KEY_OURS},
        {OD_ERR_UNAVAILABLE, OD_OK, OTHER, CHECKS_KEY_TAKEN},
        {OD_ERR_UNAVAILABLE, OD_OK, "fenced", CHECKS_KEY_TAKEN},
        {OD_ERR_UNAVAILABLE, OD_ERR_NOT_FOUND, NULL, CHECKS_KEY_UNKNOWN},
        {OD_ERR_UNAVAILABLE, OD_ERR_UNAVAILABLE, NULL, CHECKS_KEY_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        checks_key_t got =
            checks_attempt_key_decide(cases[i].set_rc, cases[i].get_rc, cases[i].value, US);
        if (got != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, (int)got, (int)cases[i].want);
    }
}

OD_TEST_MAIN(NULL, NULL, test_attempt_key_table)

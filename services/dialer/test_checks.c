/*
 * Unit tests of the attempt key's decision (checks.h): every row of its
 * table (integration.dialer_attempt_key runs the step against Redis with
 * a killed connection). A refusal at the first checks takes the key through the same
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

/* This job's token, and values an earlier delivery of the same job could
 * have written: the same dialer's earlier process (its instance id is the
 * same across restarts) with a token of its own, and the instance id
 * alone, the value before tokens. */
#define US          "dialer-2/0190c2a4-1b2c-7d3e-8f40-123456789abc"
#define PREDECESSOR "dialer-2/0190c2a0-0000-7000-8000-000000000001"
#define INSTANCE    "dialer-2"
#define OTHER       "dialer:other:7:ffff0000/0190c2a4-1b2c-7d3e-8f40-000000000002"

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
        /* A re-delivered job whose first delivery this dialer's earlier
         * process (or this process) placed: never ours. */
        {OD_ERR_UNAVAILABLE, OD_OK, PREDECESSOR, CHECKS_KEY_TAKEN},
        {OD_ERR_UNAVAILABLE, OD_OK, INSTANCE, CHECKS_KEY_TAKEN},
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

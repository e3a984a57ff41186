/* The reopen decision (reopen.h), without a database: every status ×
 * completion reason × callable leads, against the header's table, and the
 * completion reason read from status and archived_at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "reopen.h"
#include "test_main.h"

typedef struct reopen_case {
    model_campaign_status_t status;
    reopen_completion_t completion;
    long long callable;
    reopen_verdict_t want;
} reopen_case_t;

static const reopen_case_t cases[] = {
    {MODEL_CAMPAIGN_COMPLETED, REOPEN_COMPLETION_AUTO, 1, REOPEN_REOPEN},
    {MODEL_CAMPAIGN_COMPLETED, REOPEN_COMPLETION_AUTO, 12, REOPEN_REOPEN},
    {MODEL_CAMPAIGN_COMPLETED, REOPEN_COMPLETION_AUTO, 0, REOPEN_NONE},
    {MODEL_CAMPAIGN_COMPLETED, REOPEN_COMPLETION_PERSON, 1, REOPEN_WAIT_CLOSED},
    {MODEL_CAMPAIGN_COMPLETED, REOPEN_COMPLETION_PERSON, 0, REOPEN_NONE},
    /* completed with no known reason: never reopened (only AUTO is) */
    {MODEL_CAMPAIGN_COMPLETED, REOPEN_COMPLETION_NONE, 1, REOPEN_WAIT_CLOSED},
    {MODEL_CAMPAIGN_PAUSED, REOPEN_COMPLETION_NONE, 3, REOPEN_WAIT_PAUSED},
    {MODEL_CAMPAIGN_PAUSED, REOPEN_COMPLETION_AUTO, 3, REOPEN_WAIT_PAUSED},
    {MODEL_CAMPAIGN_PAUSED, REOPEN_COMPLETION_NONE, 0, REOPEN_NONE},
    {MODEL_CAMPAIGN_DRAFT, REOPEN_COMPLETION_NONE, 2, REOPEN_WAIT_DRAFT},
    {MODEL_CAMPAIGN_DRAFT, REOPEN_COMPLETION_NONE, 0, REOPEN_NONE},
    {MODEL_CAMPAIGN_IN_PROGRESS, REOPEN_COMPLETION_NONE, 5, REOPEN_RUNNING},
    {MODEL_CAMPAIGN_IN_PROGRESS, REOPEN_COMPLETION_AUTO, 5, REOPEN_RUNNING},
    {MODEL_CAMPAIGN_IN_PROGRESS, REOPEN_COMPLETION_NONE, 0, REOPEN_NONE},
    {MODEL_CAMPAIGN_IN_PROGRESS, REOPEN_COMPLETION_NONE, -1, REOPEN_NONE},
};

static void test_decide_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const reopen_case_t *c = &cases[i];
        reopen_verdict_t got = reopen_decide(c->status, c->completion, c->callable);
        if (got != c->want)
            fail_msg("case %zu (%s, completion %d, %lld callable): verdict %d, want %d", i,
                     model_campaign_status_name(c->status), (int)c->completion, c->callable,
                     (int)got, (int)c->want);
        bool waits = c->want == REOPEN_WAIT_PAUSED || c->want == REOPEN_WAIT_CLOSED ||
                     c->want == REOPEN_WAIT_DRAFT;
        assert_int_equal(reopen_wait_code(got) != NULL, waits);
        assert_int_equal(reopen_wait_message(got) != NULL, waits);
    }
}

static void test_completion_of(void **state)
{
    (void)state;
    assert_int_equal(reopen_completion_of(MODEL_CAMPAIGN_COMPLETED, false), REOPEN_COMPLETION_AUTO);
    assert_int_equal(reopen_completion_of(MODEL_CAMPAIGN_COMPLETED, true),
                     REOPEN_COMPLETION_PERSON);
    assert_int_equal(reopen_completion_of(MODEL_CAMPAIGN_PAUSED, false), REOPEN_COMPLETION_NONE);
    assert_int_equal(reopen_completion_of(MODEL_CAMPAIGN_IN_PROGRESS, true),
                     REOPEN_COMPLETION_NONE);
    assert_int_equal(reopen_completion_of(MODEL_CAMPAIGN_DRAFT, false), REOPEN_COMPLETION_NONE);
}

static void test_wait_codes(void **state)
{
    (void)state;
    assert_string_equal(reopen_wait_code(REOPEN_WAIT_PAUSED), "campaign_paused");
    assert_string_equal(reopen_wait_code(REOPEN_WAIT_CLOSED), "campaign_completed");
    assert_string_equal(reopen_wait_code(REOPEN_WAIT_DRAFT), "campaign_draft");
    assert_null(reopen_wait_code(REOPEN_REOPEN));
    assert_null(reopen_wait_code(REOPEN_RUNNING));
    assert_null(reopen_wait_code(REOPEN_NONE));
    assert_non_null(strstr(reopen_wait_message(REOPEN_WAIT_CLOSED), "completed"));
    assert_non_null(strstr(reopen_wait_message(REOPEN_WAIT_PAUSED), "paused"));
}

OD_TEST_MAIN(NULL, NULL, test_decide_table, test_completion_of, test_wait_codes)

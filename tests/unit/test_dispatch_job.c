/* The caller-ID part of a dispatched DialJob (dispatch_job_encode,
 * services/scheduler/dispatch.h), encoded and decoded back: the strategy
 * single (and an empty pool) sends the outbound number alone, with the cap
 * and zone of its pool entry when it has one; the other strategies send
 * the pool in its order; the lead's sticky number rides along; and the
 * strategy, the last field, is always named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "dispatch.h"
#include "test_main.h"

#define CAMPAIGN "3d2f6a43-5e55-4b8e-9c1e-2f8b1a7d0c11"
#define ACCOUNT  "0b6e7c9a-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
#define LEAD     "6f1c1b4e-0000-4000-8000-000000000001"
#define ATTEMPT  "9a8b7c6d-0000-4000-8000-000000000002"
#define T0       1780000000000000LL

static void campaign(sched_campaign_t *c, caller_id_strategy_t strategy)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", CAMPAIGN);
    snprintf(c->account_id, sizeof(c->account_id), "%s", ACCOUNT);
    snprintf(c->caller_id, sizeof(c->caller_id), "+12125550100");
    snprintf(c->provider, sizeof(c->provider), "vapi");
    snprintf(c->provider_assistant_id, sizeof(c->provider_assistant_id), "asst-1");
    snprintf(c->provider_phone_number_id, sizeof(c->provider_phone_number_id), "pn-home");
    snprintf(c->assistant_tz, sizeof(c->assistant_tz), "America/Chicago");
    c->caller_strategy = strategy;
}

static void pool_add(sched_campaign_t *c, const char *e164, const char *number_id, int cap,
                     const char *zone)
{
    sched_caller_number_t *n = &c->caller_pool.numbers[c->caller_pool.n++];
    snprintf(n->e164, sizeof(n->e164), "%s", e164);
    snprintf(n->provider_phone_number_id, sizeof(n->provider_phone_number_id), "%s", number_id);
    n->daily_cap = cap;
    snprintf(n->timezone, sizeof(n->timezone), "%s", zone);
}

/* Encodes c's job for the lead (sticky may be NULL) and decodes it. */
static dialjob_t *job_of(const sched_campaign_t *c, const char *sticky)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    int rc = dispatch_job_encode(c, LEAD, ATTEMPT, 1, "+13475550100", "", "{}", sticky, NULL, NULL,
                                 T0 + 3600000000LL, T0, &buf, &len, err, sizeof(err));
    if (rc)
        fail_msg("encode: %s", err);
    dialjob_t *job = NULL;
    assert_int_equal(dialjob_decode(buf, len, &job, err, sizeof(err)), OD_OK);
    free(buf);
    return job;
}

/* The caller ID a job offers at one place of its list, every field. */
static void assert_caller_id(const dialjob_caller_id_t *id, const char *e164, const char *number_id,
                             uint32_t daily_cap, const char *zone)
{
    assert_string_equal(id->e164, e164);
    assert_string_equal(id->provider_phone_number_id, number_id);
    assert_int_equal(id->daily_cap, daily_cap);
    assert_string_equal(id->timezone, zone);
}

static void test_single(void **state)
{
    (void)state;
    sched_campaign_t c;
    campaign(&c, CALLER_ID_SINGLE);
    /* No pool: the outbound number, uncapped, in the assistant's zone. */
    dialjob_t *job = job_of(&c, NULL);
    assert_string_equal(job->caller_id_strategy, "single");
    assert_int_equal(job->n_caller_ids, 1);
    assert_caller_id(job->caller_ids[0], "+12125550100", "pn-home", 0, "America/Chicago");
    assert_string_equal(job->sticky_caller_id, "");
    dialjob_free(job);
    /* A pool holding the outbound number: still it alone, with its cap. */
    pool_add(&c, "+13055550100", "pn-fl", 5, "America/New_York");
    pool_add(&c, "+12125550100", "pn-ny", 40, "America/New_York");
    job = job_of(&c, NULL);
    assert_int_equal(job->n_caller_ids, 1);
    assert_caller_id(job->caller_ids[0], "+12125550100", "pn-home", 40, "America/New_York");
    dialjob_free(job);
}

static void test_pool_strategies(void **state)
{
    (void)state;
    static const caller_id_strategy_t strategies[] = {CALLER_ID_LOCAL_PRESENCE, CALLER_ID_STICKY,
                                                      CALLER_ID_ROUND_ROBIN};
    for (size_t s = 0; s < sizeof(strategies) / sizeof(strategies[0]); s++) {
        sched_campaign_t c;
        campaign(&c, strategies[s]);
        /* An empty pool: the outbound number alone, as single. */
        dialjob_t *job = job_of(&c, NULL);
        assert_string_equal(job->caller_id_strategy, caller_id_strategy_name(strategies[s]));
        assert_int_equal(job->n_caller_ids, 1);
        assert_string_equal(job->caller_ids[0]->e164, "+12125550100");
        dialjob_free(job);
        pool_add(&c, "+13055550100", "pn-fl", 5, "America/New_York");
        pool_add(&c, "+14155550100", "", 0, "America/Los_Angeles");
        job = job_of(&c, "+14155550100");
        assert_int_equal(job->n_caller_ids, 2);
        assert_string_equal(job->caller_ids[0]->e164, "+13055550100");
        assert_string_equal(job->caller_ids[0]->provider_phone_number_id, "pn-fl");
        assert_int_equal(job->caller_ids[0]->daily_cap, 5);
        assert_string_equal(job->caller_ids[1]->e164, "+14155550100");
        assert_string_equal(job->caller_ids[1]->provider_phone_number_id, "");
        assert_string_equal(job->caller_ids[1]->timezone, "America/Los_Angeles");
        assert_string_equal(job->sticky_caller_id, "+14155550100");
        assert_string_equal(job->caller_id, "+12125550100"); /* the home number stays */
        dialjob_free(job);
    }
}

OD_TEST_MAIN(NULL, NULL, test_single, test_pool_strategies)

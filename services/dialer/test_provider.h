/*
 * test_provider.h — what the provider adapters' unit tests share
 * (test_vapi.c, test_retell.c; header-only, include after <cmocka.h>): the
 * attempt's ids and the metadata that carries them, a dial job, and the
 * table runner for create-call answers.
 */
#ifndef OUTDIAL_DIALER_TEST_PROVIDER_H
#define OUTDIAL_DIALER_TEST_PROVIDER_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "provider.h"

#define ATTEMPT "6f1c0b5e-1111-4aaa-8bbb-000000000001"
#define LEAD    "6f1c0b5e-2222-4aaa-8bbb-000000000002"
#define CAMP    "6f1c0b5e-3333-4aaa-8bbb-000000000003"
#define ACCT    "6f1c0b5e-4444-4aaa-8bbb-000000000004"

/* The metadata the dialer sends, as the provider echoes it back. */
#define META                                                                                       \
    "\"metadata\":{\"attempt_id\":\"" ATTEMPT "\",\"lead_id\":\"" LEAD                             \
    "\",\"campaign_id\":\"" CAMP "\",\"account_id\":\"" ACCT "\",\"attempt_number\":2}"

/* A job of attempt 2 to +14155550100 from +12125550100 on provider's
 * assistant, with two variables (vars and pvars are the caller's). */
static inline void test_job_fill(dialjob_t *job, dialjob_variable_t *vars,
                                 dialjob_variable_t **pvars, const char *provider,
                                 const char *assistant_id)
{
    dialjob_init(job);
    job->attempt_id = ATTEMPT;
    job->lead_id = LEAD;
    job->campaign_id = CAMP;
    job->account_id = ACCT;
    job->attempt_number = 2;
    job->e164 = "+14155550100";
    job->caller_id = "+12125550100";
    job->provider = (char *)provider;
    job->provider_assistant_id = (char *)assistant_id;
    job->provider_phone_number_id = "pn-1";
    job->lead_name = "Ada Lovelace";
    outdial__v1__dial_job__variables_entry__init(&vars[0]);
    outdial__v1__dial_job__variables_entry__init(&vars[1]);
    vars[0].key = "first_name";
    vars[0].value = "Ada";
    vars[1].key = "plan";
    vars[1].value = "gold \"plus\"";
    pvars[0] = &vars[0];
    pvars[1] = &vars[1];
    job->variables = pvars;
    job->n_variables = 2;
    job->max_call_duration_s = 300;
    job->not_after_us = 1772949600000000LL;
    job->issued_at_us = 1772949500000000LL;
}

/* r is the result of reason: status, answered_by (-1: not known),
 * permanent, and whether the reason is in the provider's table. */
static inline void test_result_is(const provider_result_t *r, const char *reason,
                                  model_call_status_t status, int answered_by, bool permanent,
                                  bool known)
{
    if (r->status != status || r->permanent != permanent || r->reason_known != known ||
        r->answered_known != (answered_by >= 0) ||
        (answered_by >= 0 && (int)r->answered_by != answered_by))
        fail_msg("%s: status %d permanent %d known %d answered %d/%d", reason, r->status,
                 r->permanent, r->reason_known, r->answered_known, r->answered_by);
    assert_string_equal(r->ended_reason, reason);
}

/* One create-call answer and how it must be classified. */
typedef struct test_place_case {
    long status;
    const char *body;
    const char *retry_after;
    provider_place_outcome_t outcome;
    const char *reason;
    int64_t retry_ms;
    const char *detail; /* a part of it */
} test_place_case_t;

static inline void test_place_cases(const provider_ops_t *ops, const test_place_case_t *cases,
                                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        provider_place_result_t r;
        ops->call_response_parse(cases[i].status, cases[i].body, strlen(cases[i].body),
                                 cases[i].retry_after, &r);
        if (r.outcome != cases[i].outcome || strcmp(r.ended_reason, cases[i].reason) != 0 ||
            r.retry_after_ms != cases[i].retry_ms || !strstr(r.detail, cases[i].detail))
            fail_msg("%s case %zu (%ld): outcome %d reason '%s' retry %lld detail '%s'", ops->name,
                     i, cases[i].status, r.outcome, r.ended_reason, (long long)r.retry_after_ms,
                     r.detail);
    }
}

/* A 201 with the call id under its key gives the id; a 201 without it is
 * placed, with no id, and says so (detail names the key). */
static inline void test_place_id(const provider_ops_t *ops, const char *good, const char *id,
                                 const char *without, const char *detail)
{
    provider_place_result_t r;
    ops->call_response_parse(201, good, strlen(good), NULL, &r);
    assert_int_equal(r.outcome, PROVIDER_PLACE_OK);
    assert_string_equal(r.provider_call_id, id);
    ops->call_response_parse(201, without, strlen(without), NULL, &r);
    assert_int_equal(r.outcome, PROVIDER_PLACE_OK);
    assert_string_equal(r.provider_call_id, "");
    assert_non_null(strstr(r.detail, detail));
}

/* The lookup of call id is a GET of url with the bearer key of conf; an
 * id that a URL path cannot hold, or none, is refused. */
static inline void test_lookup_build(const provider_ops_t *ops, const provider_conf_t *conf,
                                     const char *id, const char *url)
{
    char err[256], bearer[128];
    provider_request_t req;
    assert_int_equal(ops->call_lookup_build(conf, id, &req, err, sizeof(err)), OD_OK);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.url, url);
    assert_null(req.body);
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", conf->api_key);
    assert_string_equal(req.headers[0], bearer);
    provider_request_clear(&req);
    assert_int_equal(ops->call_lookup_build(conf, "../x", &req, err, sizeof(err)), OD_ERR_INVALID);
    assert_int_equal(ops->call_lookup_build(conf, "", &req, err, sizeof(err)), OD_ERR_INVALID);
}

#endif

/*
 * test_provider.h — what the provider adapters' unit tests share
 * (test_vapi.c, test_retell.c; header-only, include after <cmocka.h> and
 * <jansson.h>): the attempt's ids and the metadata that carries them, a
 * dial job, and the checks every adapter must pass the same way: its
 * ended-reason table and the webhooks it refuses (case files under
 * tests/unit/cases/, a provider column picking its rows), webhook parsing,
 * the metadata of the create-call body, the table runner for create-call
 * answers, and the call lookup.
 */
#ifndef OUTDIAL_DIALER_TEST_PROVIDER_H
#define OUTDIAL_DIALER_TEST_PROVIDER_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "case_file.h"
#include "codec.h"
#include "dial_event.h"
#include "provider.h"

#define ATTEMPT "6f1c0b5e-1111-4aaa-8bbb-000000000001"
#define LEAD    "6f1c0b5e-2222-4aaa-8bbb-000000000002"
#define CAMP    "6f1c0b5e-3333-4aaa-8bbb-000000000003"
#define ACCT    "6f1c0b5e-4444-4aaa-8bbb-000000000004"

/* The metadata the dialer sends, as the provider echoes it back. */
#define META                                                                                       \
    "\"metadata\":{\"attempt_id\":\"" ATTEMPT "\",\"lead_id\":\"" LEAD                             \
    "\",\"campaign_id\":\"" CAMP "\",\"account_id\":\"" ACCT "\",\"attempt_number\":2}"

/* A job of attempt 2 to +14155550100 from +12125550100 on a provider's
 * assistant, with two variables, and the storage they point into: a test
 * declares one on its stack, fills it and passes &t.job. */
typedef struct test_job {
    dialjob_t job;
    dialjob_variable_t vars[2];
    dialjob_variable_t *pvars[2];
} test_job_t;

static inline void test_job_fill(test_job_t *t, const char *provider, const char *assistant_id)
{
    dialjob_t *job = &t->job;
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
    outdial__v1__dial_job__variables_entry__init(&t->vars[0]);
    outdial__v1__dial_job__variables_entry__init(&t->vars[1]);
    t->vars[0].key = "first_name";
    t->vars[0].value = "Ada";
    t->vars[1].key = "plan";
    t->vars[1].value = "gold \"plus\"";
    t->pvars[0] = &t->vars[0];
    t->pvars[1] = &t->vars[1];
    job->variables = t->pvars;
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

/* The provider's reason map, as the table runner calls it: an ended
 * reason, whether the call was answered, and whether an analysis heard a
 * voicemail greeting (only Retell reports one). */
typedef void (*test_reason_map_fn)(const char *reason, bool answered, bool in_voicemail,
                                   provider_result_t *r);

/* Every row of provider in tests/unit/cases/dialer_ended_reasons.tsv through
 * map, to the result the row says (answered_by -: not known; known: the
 * reason is in the provider's table); then a NULL reason, which is a failure
 * not in the table. The provider has exactly n_cases rows there. */
static inline void test_reason_cases(const char *provider, test_reason_map_fn map, size_t n_cases)
{
    static const char *const columns[] = {"provider", "reason",      "answered",  "in_voicemail",
                                          "status",   "answered_by", "permanent", "known"};
    case_file_t *cf = case_file_load("dialer_ended_reasons", columns, 8, 57);
    size_t n = 0;
    for (size_t i = 0; i < cf->n_rows; i++) {
        if (strcmp(case_file_cell(cf, i, 0), provider) != 0)
            continue;
        const char *reason = case_file_cell(cf, i, 1), *by_name = case_file_cell(cf, i, 5);
        model_call_status_t status;
        model_answered_by_t by = MODEL_ANSWERED_BY_HUMAN;
        char err[256] = "";
        if (model_call_status_parse(case_file_cell(cf, i, 4), &status, err, sizeof(err)) ||
            (by_name && model_answered_by_parse(by_name, &by, err, sizeof(err))))
            fail_msg("%s: %s", reason, err);
        provider_result_t r;
        memset(&r, 0, sizeof(r));
        map(reason, case_file_yes(cf, i, 2), case_file_yes(cf, i, 3), &r);
        test_result_is(&r, reason, status, by_name ? (int)by : -1, case_file_yes(cf, i, 6),
                       case_file_yes(cf, i, 7));
        n++;
    }
    case_file_free(cf);
    if (n != n_cases)
        fail_msg("dialer_ended_reasons.tsv: %zu %s cases, want %zu", n, provider, n_cases);
    provider_result_t r;
    memset(&r, 0, sizeof(r));
    map(NULL, false, false, &r);
    assert_int_equal(r.status, MODEL_CALL_FAILED);
    assert_false(r.reason_known);
}

/* body parses by ops into *m (the caller clears it); a refusal fails the
 * test. */
static inline void test_parse_ok(const provider_ops_t *ops, const char *body, provider_msg_t *m)
{
    char err[256];
    if (ops->webhook_parse(body, strlen(body), m, err, sizeof(err)) != OD_OK)
        fail_msg("%s refused: %s: %s", ops->name, err, body);
}

/* ops' webhook_verify of the auth header value auth over body at now_ms
 * gives rc; a refusal says `says` (NULL: any reason) and never echoes
 * secret. */
static inline void test_verify_is(const provider_ops_t *ops, const provider_conf_t *conf,
                                  const char *auth, const char *body, int64_t now_ms, int rc,
                                  const char *says, const char *secret)
{
    char err[256] = "";
    int got = ops->webhook_verify(conf, auth, body, strlen(body), now_ms, err, sizeof(err));
    if (got != rc || (rc != OD_OK && ((says && !strstr(err, says)) || strstr(err, secret))))
        fail_msg("%s: '%s' over '%s' at %lld: rc %d, '%s' (wanted rc %d, '%s')", ops->name,
                 auth ? auth : "(none)", body, (long long)now_ms, got, err, rc, says ? says : "");
}

/* Every body of ops's provider in
 * tests/unit/cases/dialer_malformed_webhooks.tsv (exactly n_cases of them)
 * is refused with OD_ERR_INVALID and a reason that holds the row's problem,
 * and the message is left cleared. */
static inline void test_malformed_cases(const provider_ops_t *ops, size_t n_cases)
{
    static const char *const columns[] = {"provider", "body", "problem"};
    case_file_t *cf = case_file_load("dialer_malformed_webhooks", columns, 3, 24);
    size_t n = 0;
    for (size_t i = 0; i < cf->n_rows; i++) {
        if (strcmp(case_file_cell(cf, i, 0), ops->name) != 0)
            continue;
        const char *body = case_file_cell(cf, i, 1), *says = case_file_cell(cf, i, 2);
        char err[256] = "";
        provider_msg_t m;
        int rc = ops->webhook_parse(body, strlen(body), &m, err, sizeof(err));
        if (rc != OD_ERR_INVALID || !strstr(err, says))
            fail_msg("%s '%s': rc %d, '%s' (wanted '%s')", ops->name, body, rc, err, says);
        assert_int_equal(m.kind, PROVIDER_MSG_IGNORED);
        assert_null(m.result.post_call_variables_json);
        n++;
    }
    case_file_free(cf);
    if (n != n_cases)
        fail_msg("dialer_malformed_webhooks.tsv: %zu %s cases, want %zu", n, ops->name, n_cases);
}

/* m is a message of kind and type about the provider's call call_id to
 * e164. */
static inline void test_msg_is(const provider_msg_t *m, provider_msg_kind_t kind, const char *type,
                               const char *call_id, const char *e164)
{
    assert_int_equal(m->kind, kind);
    assert_string_equal(m->type, type);
    assert_string_equal(m->provider_call_id, call_id);
    assert_string_equal(m->e164, e164);
}

/* The message names the attempt of META. */
static inline void test_msg_attempt_is_meta(const provider_msg_t *m)
{
    assert_string_equal(m->attempt.attempt_id, ATTEMPT);
    assert_string_equal(m->attempt.lead_id, LEAD);
    assert_string_equal(m->attempt.campaign_id, CAMP);
    assert_string_equal(m->attempt.account_id, ACCT);
    assert_int_equal(m->attempt.attempt_number, 2);
}

/* The create-call body's "metadata" names the attempt of test_job_fill's
 * job, so that what the provider echoes back is META. */
static inline void test_body_metadata_is_job(const json_t *body)
{
    json_t *meta = json_object_get(body, "metadata");
    assert_string_equal(json_string_value(json_object_get(meta, "attempt_id")), ATTEMPT);
    assert_string_equal(json_string_value(json_object_get(meta, "lead_id")), LEAD);
    assert_string_equal(json_string_value(json_object_get(meta, "campaign_id")), CAMP);
    assert_string_equal(json_string_value(json_object_get(meta, "account_id")), ACCT);
    assert_int_equal(json_integer_value(json_object_get(meta, "attempt_number")), 2);
}

/* ops builds for job a POST of JSON to url with the bearer key of conf.
 * Returns the body, parsed (the caller json_decrefs it and clears req). */
static inline json_t *test_request_post(const provider_ops_t *ops, const provider_conf_t *conf,
                                        const dialjob_t *job, const char *url,
                                        provider_request_t *req)
{
    char err[256], bearer[128];
    if (ops->call_request_build(conf, job, req, err, sizeof(err)) != OD_OK)
        fail_msg("%s refused the job: %s", ops->name, err);
    assert_string_equal(req->method, "POST");
    assert_string_equal(req->url, url);
    assert_int_equal(req->n_headers, 2);
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", conf->api_key);
    assert_string_equal(req->headers[0], bearer);
    assert_string_equal(req->headers[1], "Content-Type: application/json");
    assert_int_equal(req->body_len, strlen(req->body));
    json_t *body = json_loads(req->body, 0, NULL);
    assert_non_null(body);
    return body;
}

/* ops refuses to build a create-call request for job, with OD_ERR_INVALID
 * and a reason that says `says` (the field at fault). */
static inline void test_request_refused(const provider_ops_t *ops, const provider_conf_t *conf,
                                        const dialjob_t *job, const char *says)
{
    char err[256] = "";
    provider_request_t req;
    int rc = ops->call_request_build(conf, job, &req, err, sizeof(err));
    if (rc != OD_ERR_INVALID || !strstr(err, says))
        fail_msg("%s: rc %d, '%s' (wanted '%s')", ops->name, rc, err, says);
    provider_request_clear(&req);
}

/* vars, the create-call body's object of the lead's variables, holds the
 * two of test_job_fill's job (quotes kept). */
static inline void test_vars_are_job(const json_t *vars)
{
    assert_int_equal(json_object_size(vars), 2);
    assert_string_equal(json_string_value(json_object_get(vars, "first_name")), "Ada");
    assert_string_equal(json_string_value(json_object_get(vars, "plan")), "gold \"plus\"");
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

/* body, a 200 answer to ops' call lookup, parses into *m as a lookup of
 * kind (the caller clears m). */
static inline void test_lookup_is(const provider_ops_t *ops, const char *body,
                                  provider_lookup_t kind, provider_msg_t *m)
{
    char err[256];
    provider_lookup_t got;
    if (ops->call_lookup_parse(200, body, strlen(body), &got, m, err, sizeof(err)) != OD_OK)
        fail_msg("%s refused the lookup: %s: %s", ops->name, err, body);
    assert_int_equal(got, kind);
}

/* m, a lookup's report of the attempt of META, makes the event the
 * webhook report would have made, with the same id (so a report that
 * arrives after the lookup is a copy). Clears m. */
static inline void test_lookup_event_is_report(provider_msg_t *m)
{
    dial_event_t e;
    assert_int_equal(dial_event_from_msg(&e, m, 1), OD_OK);
    char id[UUID_STR_LEN];
    dial_event_id(ATTEMPT, DIAL_KIND_END, id);
    assert_string_equal(e.ev.event_id, id);
    dial_event_clear(&e);
    provider_msg_clear(m);
}

/* The lookup's answers that are not a call: 404 is not found, 429 and
 * retry_status (a 5xx) are to be retried, a body that is not JSON and a
 * call without the metadata (no_meta) are refused. */
static inline void test_lookup_not_a_call(const provider_ops_t *ops, long retry_status,
                                          const char *no_meta)
{
    char err[256];
    provider_lookup_t kind;
    provider_msg_t m;
    static const struct {
        long status;
        provider_lookup_t kind;
    } answers[] = {{404, PROVIDER_LOOKUP_NOT_FOUND}, {429, PROVIDER_LOOKUP_RETRY}};
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        assert_int_equal(
            ops->call_lookup_parse(answers[i].status, "{}", 2, &kind, &m, err, sizeof(err)), OD_OK);
        assert_int_equal(kind, answers[i].kind);
    }
    assert_int_equal(ops->call_lookup_parse(retry_status, "", 0, &kind, &m, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(kind, PROVIDER_LOOKUP_RETRY);
    assert_int_equal(ops->call_lookup_parse(200, "nope", 4, &kind, &m, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_int_equal(
        ops->call_lookup_parse(200, no_meta, strlen(no_meta), &kind, &m, err, sizeof(err)),
        OD_ERR_INVALID);
}

#endif

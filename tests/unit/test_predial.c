/* The pre-dial check (lib/rules/predial.h): the decision from (timed out,
 * transport error, HTTP status, body, policy) to the recorded result and
 * whether the call is placed, as a table; the URL rule; the names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "predial.h"
#include "test_main.h"

#define SKIP     MODEL_PREDIAL_ON_ERROR_SKIP
#define CALL     MODEL_PREDIAL_ON_ERROR_CALL
#define ELIGIBLE MODEL_PREDIAL_ELIGIBLE
#define REFUSED  MODEL_PREDIAL_REFUSED
#define ERROR    MODEL_PREDIAL_ERROR

typedef struct decide_case {
    const char *name;
    bool timed_out;
    const char *transport;
    long status;
    const char *body;
    model_predial_on_error_t on_error;
    model_predial_result_t result;
    bool place_call;
    const char *reason; /* exact, or a prefix when it ends in '*' */
} decide_case_t;

/* clang-format off */
static const decide_case_t decide_cases[] = {
    {"eligible", false, NULL, 200, "{\"eligible\": true}", SKIP, ELIGIBLE, true, ""},
    {"eligible, policy call", false, NULL, 200, "{\"eligible\":true}", CALL, ELIGIBLE, true, ""},
    {"eligible with a reason", false, NULL, 200, "{\"eligible\":true,\"reason\":\"ok\"}", SKIP,
     ELIGIBLE, true, "ok"},
    {"eligible, other members ignored", false, NULL, 201,
     "{\"eligible\":true,\"crm\":{\"id\":7}}", SKIP, ELIGIBLE, true, ""},
    {"eligible, 299 is 2xx", false, NULL, 299, "{\"eligible\":true}", SKIP, ELIGIBLE, true, ""},
    {"refused with reason", false, NULL, 200,
     "{\"eligible\": false, \"reason\": \"suppressed in CRM\"}", SKIP, REFUSED, false,
     "suppressed in CRM"},
    {"refused, policy call still refused", false, NULL, 200,
     "{\"eligible\":false,\"reason\":\"no consent\"}", CALL, REFUSED, false, "no consent"},
    {"refused without reason", false, NULL, 200, "{\"eligible\":false}", SKIP, REFUSED, false, ""},
    {"refused, null reason", false, NULL, 200, "{\"eligible\":false,\"reason\":null}", SKIP,
     REFUSED, false, ""},
    {"timed out, skip", true, NULL, 0, NULL, SKIP, ERROR, false, "no answer within 2000 ms"},
    {"timed out, call", true, NULL, 0, NULL, CALL, ERROR, true, "no answer within 2000 ms"},
    {"connection refused, skip", false, "Couldn't connect to server", 0, NULL, SKIP, ERROR, false,
     "no answer: Couldn't connect to server"},
    {"connection refused, call", false, "Couldn't connect to server", 0, NULL, CALL, ERROR, true,
     "no answer: Couldn't connect to server"},
    {"500, skip", false, NULL, 500, "{\"eligible\":true}", SKIP, ERROR, false, "HTTP status 500"},
    {"500, call", false, NULL, 500, "oops", CALL, ERROR, true, "HTTP status 500"},
    {"404", false, NULL, 404, "", SKIP, ERROR, false, "HTTP status 404"},
    {"302 is not followed", false, NULL, 302, "", SKIP, ERROR, false, "HTTP status 302"},
    {"199", false, NULL, 199, "{\"eligible\":true}", SKIP, ERROR, false, "HTTP status 199"},
    {"300", false, NULL, 300, "{\"eligible\":true}", CALL, ERROR, true, "HTTP status 300"},
    {"not JSON", false, NULL, 200, "eligible", SKIP, ERROR, false, "the answer is not JSON*"},
    {"empty body", false, NULL, 200, "", CALL, ERROR, true, "the answer is not JSON*"},
    {"array", false, NULL, 200, "[true]", SKIP, ERROR, false, "the answer is not a JSON object"},
    {"eligible missing", false, NULL, 200, "{\"ok\":true}", SKIP, ERROR, false,
     "the answer's \"eligible\" is missing"},
    {"eligible a string", false, NULL, 200, "{\"eligible\":\"true\"}", SKIP, ERROR, false,
     "the answer's \"eligible\" is not true or false"},
    {"eligible a number", false, NULL, 200, "{\"eligible\":1}", CALL, ERROR, true,
     "the answer's \"eligible\" is not true or false"},
    {"reason a number", false, NULL, 200, "{\"eligible\":false,\"reason\":3}", SKIP, ERROR, false,
     "the answer's \"reason\" is not a string"},
    {"trailing garbage", false, NULL, 200, "{\"eligible\":true} x", SKIP, ERROR, false,
     "the answer is not JSON*"},
};
/* clang-format on */

static void test_decide_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
        const decide_case_t *c = &decide_cases[i];
        predial_response_t resp = {.timed_out = c->timed_out,
                                   .transport = c->transport,
                                   .http_status = c->status,
                                   .body = c->body,
                                   .body_len = c->body ? strlen(c->body) : 0,
                                   .timeout_ms = 2000};
        predial_decision_t d;
        predial_decide(&resp, c->on_error, &d);
        if (d.result != c->result || d.place_call != c->place_call)
            fail_msg("%s: result %d place %d, want %d %d", c->name, d.result, d.place_call,
                     c->result, c->place_call);
        size_t n = strlen(c->reason);
        bool prefix = n && c->reason[n - 1] == '*';
        if (prefix ? strncmp(d.reason, c->reason, n - 1) != 0 : strcmp(d.reason, c->reason) != 0)
            fail_msg("%s: reason '%s', want '%s'", c->name, d.reason, c->reason);
    }
}

/* A long reason is kept up to the limit, cut between characters. */
static void test_reason_cut_on_utf8_boundary(void **state)
{
    (void)state;
    char body[1200];
    size_t off = (size_t)snprintf(body, sizeof(body), "{\"eligible\":false,\"reason\":\"");
    for (int i = 0; i < 300; i++) /* "é" is two bytes: 600 bytes of reason */
        off += (size_t)snprintf(body + off, sizeof(body) - off, "\xc3\xa9");
    snprintf(body + off, sizeof(body) - off, "\"}");
    predial_response_t resp = {.http_status = 200, .body = body, .body_len = strlen(body)};
    predial_decision_t d;
    predial_decide(&resp, MODEL_PREDIAL_ON_ERROR_SKIP, &d);
    assert_int_equal(d.result, MODEL_PREDIAL_REFUSED);
    assert_int_equal(strlen(d.reason), PREDIAL_REASON_MAX - 2); /* 254: whole characters */
    assert_int_equal((unsigned char)d.reason[strlen(d.reason) - 1], 0xa9);
}

typedef struct url_case {
    const char *url;
    bool ok;
    const char *message; /* a part of the error's text */
} url_case_t;

static void test_url_check(void **state)
{
    (void)state;
    static const url_case_t cases[] = {
        {"https://crm.example.com/outdial/check", true, NULL},
        {"HTTPS://crm.example.com:8443/x?key=abc", true, NULL},
        {"https://[2001:db8::1]/x", true, NULL},
        {"http://127.0.0.1:8080/check", true, NULL},
        {"http://127.1.2.3/check", true, NULL},
        {"http://localhost:9000", true, NULL},
        {"http://[::1]:9000/x", true, NULL},
        {"http://crm.example.com/check", false, "only to localhost"},
        {"http://127.0.0.1.example.com/", false, "only to localhost"},
        {"http://128.0.0.1/", false, "only to localhost"},
        {"http://127.0.0.1000/", false, "only to localhost"},
        {"http://localhost@evil.example.com/", false, "user name"},
        {"https://user:pw@crm.example.com/", false, "user name"},
        {"ftp://crm.example.com/", false, "must start with https://"},
        {"crm.example.com", false, "must start with https://"},
        {"https://", false, "no host"},
        {"https://:443/x", false, "no host"},
        {"https://[::1/x", false, "not closed"},
        {"https://crm.example.com/a b", false, "space"},
        {"", false, "empty"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        int rc = predial_url_check(cases[i].url, err, sizeof(err));
        if ((rc == OD_OK) != cases[i].ok)
            fail_msg("%s: rc %d (%s)", cases[i].url, rc, err);
        if (!cases[i].ok && !strstr(err, cases[i].message))
            fail_msg("%s: '%s' does not say '%s'", cases[i].url, err, cases[i].message);
    }
    char long_url[PREDIAL_URL_MAX + 16];
    memset(long_url, 'a', sizeof(long_url));
    memcpy(long_url, "https://", 8);
    long_url[sizeof(long_url) - 1] = '\0';
    char err[256];
    assert_int_equal(predial_url_check(long_url, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "longer than 2048"));
}

static void test_names(void **state)
{
    (void)state;
    assert_null(model_predial_result_name(MODEL_PREDIAL_NONE));
    assert_string_equal(model_predial_result_name(MODEL_PREDIAL_ELIGIBLE), "eligible");
    assert_string_equal(model_predial_result_name(MODEL_PREDIAL_REFUSED), "refused");
    assert_string_equal(model_predial_result_name(MODEL_PREDIAL_ERROR), "error");
    model_predial_on_error_t p;
    char err[256];
    assert_int_equal(model_predial_on_error_parse("call", &p, err, sizeof(err)), OD_OK);
    assert_int_equal(p, MODEL_PREDIAL_ON_ERROR_CALL);
    assert_int_equal(model_predial_on_error_parse("retry", &p, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "allowed: skip, call"));
    assert_string_equal(model_skip_reason_name(MODEL_SKIP_PREDIAL_REFUSED), "predial_refused");
    assert_string_equal(model_skip_reason_name(MODEL_SKIP_PREDIAL_ERROR), "predial_error");
    assert_string_equal(model_outcome_name(MODEL_OUTCOME_PREDIAL_REFUSED), "predial_refused");
}

OD_TEST_MAIN(NULL, NULL, test_decide_table, test_reason_cut_on_utf8_boundary, test_url_check,
             test_names)

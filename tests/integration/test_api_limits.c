/* The API against a hostile client's requests (issue 16): a 20 MB body to
 * a JSON route and to the CSV upload, with and without Expect:
 * 100-continue and with only its headers sent, gets the 413 JSON answer
 * before any of the body is read, never a reset or a 100 Continue; heads
 * over the limits get 414/431 in JSON; a %00 in a query value is refused
 * naming the parameter. The server serves normally afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_raw.h"
#include "test_api_support.h"

static const char want_json_413[] = "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"the "
                                    "body is larger than 1048576 bytes\"}}";

/* A 20 MB body sent through libcurl as a client would: the answer, with
 * its status, or the transport error. */
static long post_big(const api_proc_t *api, const char *path, const char *expect, char **body)
{
    size_t len = 20 * 1024 * 1024;
    char *big = malloc(len);
    memset(big, ' ', len);
    api_resp_t r;
    char url[512];
    snprintf(url, sizeof(url), "%s%s", api->base, path);
    CURL *curl = httpc_new(url, NULL, &r, 30000L);
    struct curl_slist *headers = curl_slist_append(NULL, expect);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    httpc_body(curl, big, len);
    httpc_run(curl, headers, &r);
    CURLcode rc = r.curl_rc;
    long status = r.status;
    free(big);
    if (rc != CURLE_OK)
        fail_msg("POST %s (%s): %s", path, expect, curl_easy_strerror(rc));
    *body = r.body; /* taken: the caller frees it */
    return status;
}

static void test_huge_bodies_get_413_before_reading(void **state)
{
    api_proc_t *api = *state;
    static const char *const expects[] = {"Expect:", "Expect: 100-continue"};
    for (size_t i = 0; i < 2; i++) {
        char *body = NULL;
        assert_int_equal(post_big(api, "/v1/campaigns", expects[i], &body), 413);
        assert_string_equal(body, want_json_413);
        free(body);
        body = NULL;
        assert_int_equal(post_big(api, "/v1/assistants", expects[i], &body), 413);
        assert_string_equal(body, want_json_413);
        free(body);
    }
    /* Only the headers: the answer comes at once, without 100 Continue,
     * then the server closes. The CSV upload has its own, larger limit. */
    static const struct {
        const char *head, *want;
    } cases[] = {
        {"POST /v1/campaigns HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
         "Content-Length: 20971520\r\nExpect: 100-continue\r\n\r\n",
         want_json_413},
        {"POST /v1/campaigns/0b0e8a4e-5d46-4d3c-9d8c-0f2f3c1a9b7e/imports HTTP/1.1\r\n"
         "Host: t\r\nContent-Type: text/csv\r\nContent-Length: 21474836480\r\n\r\n",
         "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"the file is larger than "
         "209715200 bytes: split it, or load it with outdial-importer --campaign ID FILE\"}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[4096];
        bool closed = false;
        raw_exchange(api->port, cases[i].head, strlen(cases[i].head), out, sizeof(out), &closed);
        if (strncmp(out, "HTTP/1.1 413 ", 13) != 0)
            fail_msg("case %zu: %s", i, out);
        assert_string_equal(raw_body(out), cases[i].want);
        assert_true(closed);
    }
    api_resp_t r = api_call(api, "GET", "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    api_resp_free(&r);
}

static void test_oversized_heads_and_nul_in_query(void **state)
{
    api_proc_t *api = *state;
    /* 9 KB of query: 414 in JSON. */
    char head[60000];
    int n = snprintf(head, sizeof(head), "GET /v1/campaigns?cursor=");
    memset(head + n, 'c', 9000);
    n += 9000;
    n += snprintf(head + n, sizeof(head) - (size_t)n, " HTTP/1.1\r\nHost: t\r\n\r\n");
    char out[4096];
    bool closed = false;
    raw_exchange(api->port, head, (size_t)n, out, sizeof(out), &closed);
    assert_true(strncmp(out, "HTTP/1.1 414 ", 13) == 0);
    assert_non_null(strstr(raw_body(out), "\"code\":\"uri_too_long\""));
    /* 40 KB of headers: 431 in JSON. */
    n = snprintf(head, sizeof(head), "GET /v1/campaigns HTTP/1.1\r\nHost: t\r\nX-Pad: ");
    memset(head + n, 'p', 40000);
    n += 40000;
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n\r\n");
    raw_exchange(api->port, head, (size_t)n, out, sizeof(out), &closed);
    assert_true(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
    assert_non_null(strstr(raw_body(out), "\"code\":\"headers_too_large\""));
    /* %00 in a query value: 400 naming the parameter, not a value cut. */
    api_resp_t r = api_call(api, "GET", "/v1/campaigns?status=draft%00x", "any-key", NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(api_str(&r, "error.field"), "status");
    assert_non_null(strstr(api_str(&r, "error.message"), "NUL byte"));
    api_resp_free(&r);
}

static int setup(void **state)
{
    static api_proc_t api;
    api_start(&api, "limits", NULL);
    *state = &api;
    return 0;
}

static int teardown(void **state)
{
    api_stop(*state);
    return 0;
}

HTTPC_TEST_MAIN(setup, teardown, test_huge_bodies_get_413_before_reading,
                test_oversized_heads_and_nul_in_query)

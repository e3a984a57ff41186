/*
 * http_client.h — the one HTTP client of the tests (header-only, libcurl):
 * a request's handle with the reply's collectors set, its body, and the
 * run. Each suite's own call (e2e_http, api_call_raw, ds_http, ...) adds
 * only what is particular to it: the base URL, its headers, what a
 * transport error means, and whether the body is JSON.
 *
 * The process calls curl_global_init once before the first request:
 * HTTPC_TEST_MAIN does it around a binary's cmocka group.
 */
#ifndef OUTDIAL_TESTS_HTTP_CLIENT_H
#define OUTDIAL_TESTS_HTTP_CLIENT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "test_main.h"
#include "xmalloc.h"

/* A test binary's main (as OD_TEST_MAIN, tests/test_main.h) that runs its
 * cmocka group between curl_global_init, before any test starts a thread,
 * and curl_global_cleanup. main returns the number of failed tests. */
#define HTTPC_TEST_MAIN(group_setup, group_teardown, ...)                                          \
    int main(void)                                                                                 \
    {                                                                                              \
        curl_global_init(CURL_GLOBAL_DEFAULT);                                                     \
        int failed = OD_TEST_RUN(group_setup, group_teardown, NULL, NULL, __VA_ARGS__);            \
        curl_global_cleanup();                                                                     \
        return failed;                                                                             \
    }

typedef struct httpc_reply {
    long status;
    char *body; /* NUL-terminated; never NULL after httpc_run */
    size_t len;
    CURLcode curl_rc;
    json_t *json; /* the body parsed, for the callers that parse it; else NULL */
    char content_type[128];
    char retry_after[16]; /* the Retry-After header, or "" */
    char allow[128];      /* the Allow header (a 405's), or "" */
    int64_t elapsed_ms;   /* from sending to the whole reply */
} httpc_reply_t;

static inline size_t httpc_body_collect(char *data, size_t size, size_t n, void *arg)
{
    httpc_reply_t *r = arg;
    size_t len = size * n;
    xbuf_append(&r->body, &r->len, data, len);
    return len;
}

static inline size_t httpc_header_collect(char *data, size_t size, size_t n, void *arg)
{
    httpc_reply_t *r = arg;
    size_t len = size * n;
    if (len > 13 && strncasecmp(data, "Retry-After:", 12) == 0)
        snprintf(r->retry_after, sizeof(r->retry_after), "%.*s", (int)strcspn(data + 13, "\r\n"),
                 data + 13);
    if (len > 7 && strncasecmp(data, "Allow:", 6) == 0)
        snprintf(r->allow, sizeof(r->allow), "%.*s", (int)strcspn(data + 7, "\r\n"), data + 7);
    return len;
}

/* Frees what a reply holds (body and JSON) and clears it. */
static inline void httpc_reply_free(httpc_reply_t *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* A handle for one request of method (NULL: curl's choice) to url whose
 * reply goes to r (cleared here), with no proxy (the stack is on
 * loopback), no signals (tests run threads) and timeout_ms. The caller
 * passes it to httpc_run, which frees it. */
static inline CURL *httpc_new(const char *url, const char *method, httpc_reply_t *r,
                              long timeout_ms)
{
    memset(r, 0, sizeof(*r));
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (method)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, httpc_body_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, httpc_header_collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    return curl;
}

/* Sends body (len bytes, not copied: it must live until httpc_run). */
static inline void httpc_body(CURL *curl, const char *body, size_t len)
{
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
}

/* Runs the request with headers (taken: freed here, as is curl) and fills
 * r: status, body, content type, curl's result, elapsed time. */
static inline void httpc_run(CURL *curl, struct curl_slist *headers, httpc_reply_t *r)
{
    struct timespec t0, t1;
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r->curl_rc = curl_easy_perform(curl);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->elapsed_ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    char *type = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    snprintf(r->content_type, sizeof(r->content_type), "%s", type ? type : "");
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (!r->body)
        r->body = calloc(1, 1);
}

/* A request with the bearer token key (NULL: none) and body (NULL: none;
 * content_type NULL: JSON), the reply parsed as JSON when it is (any JSON
 * value). "Expect:" is off: curl would wait for a 100 before a large body.
 * Transport errors stay in curl_rc. The caller frees with httpc_reply_free. */
static inline httpc_reply_t httpc_bearer(const char *url, const char *method, const char *key,
                                         const char *content_type, const char *body, size_t len,
                                         long timeout_ms)
{
    httpc_reply_t r;
    char auth[512], ct[256];
    CURL *curl = httpc_new(url, method, &r, timeout_ms);
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    if (key) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
        headers = curl_slist_append(headers, auth);
    }
    if (body) {
        snprintf(ct, sizeof(ct), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        headers = curl_slist_append(headers, ct);
        httpc_body(curl, body, len);
    }
    httpc_run(curl, headers, &r);
    json_error_t jerr;
    r.json = json_loadb(r.body, r.len, JSON_DECODE_ANY, &jerr);
    return r;
}

#endif

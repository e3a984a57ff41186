/* HTTP server base: a real server on an ephemeral port, driven with libcurl
 * and raw sockets: built-in probes and /metrics, routes with bodies and
 * query arguments, body limits (413 before the body, also for 20 MB and
 * for a client that sends only the headers; the server keeps serving),
 * streaming bodies, JSON errors (405 with Allow, 414, 431, a NUL in a
 * query value), and start/stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "http.h"
#include "http_client.h"
#include "http_raw.h"
#include "metrics.h"
#include "thread_group.h"
#include "xmalloc.h"

#define BODY_MAX   1024
#define STREAM_MAX 300000

typedef struct fixture {
    metrics_registry_t *reg;
    metrics_counter_t *things;
    http_server_t *srv;
    atomic_bool redis_ready;
    atomic_int states_freed;
    int port;
} fixture_t;

typedef struct reply {
    long status;
    char *body;
    size_t len;
    char headers[2048]; /* the response's header lines, as received */
    char content_type[128];
    CURLcode curl_rc;
} reply_t;

/* --- the routes under test --- */

/* Two checks that fail while fx->redis_ready is false, so the 503 body
 * names both and the 200 none. */
static void ready_check_pair(http_readiness_t *rd, void *arg)
{
    fixture_t *fx = arg;
    if (!atomic_load(&fx->redis_ready)) {
        http_readiness_fail(rd, "redis", "not connected: %s", "connection refused");
        http_readiness_fail(rd, "kafka", "%s", "no \"brokers\"");
    }
}

/* Echoes what it got: method, subpath, query args, a header, the body. */
static void echo(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)arg;
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    const char *name = http_request_query(req, "name");
    const char *flag = http_request_query(req, "flag");
    const char *hdr = http_request_header(req, "x-test");
    char out[4096];
    int n = snprintf(out, sizeof(out),
                     "%s %s sub=[%s] name=[%s] flag=[%s] missing=[%s] hdr=[%s] "
                     "len=%zu body=[%s] from=%s",
                     http_request_method(req), http_request_path(req), http_request_subpath(req),
                     name ? name : "(null)", flag ? flag : "(null)",
                     http_request_query(req, "missing") ? "set" : "(null)", hdr ? hdr : "(null)",
                     len, body, http_request_remote_addr(req));
    http_response_set(resp, 200, "text/plain", out, (size_t)n);
    http_response_header_add(resp, "X-Echo", "yes");
}

static void silent(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    (void)resp;
    (void)arg;
}

static void field_error(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    (void)arg;
    http_response_error(resp, 422, "invalid", "bad \"phone\"\n", "phone");
}

typedef struct upload_state {
    size_t bytes;
    size_t pieces;
    fixture_t *fx;
} upload_state_t;

static void upload_state_free(void *p)
{
    upload_state_t *st = p;
    atomic_fetch_add(&st->fx->states_freed, 1);
    free(st);
}

static int upload_body(http_request_t *req, const char *data, size_t len, http_response_t *resp,
                       void *arg)
{
    upload_state_t *st = http_request_state(req);
    if (!st) {
        st = calloc(1, sizeof(*st));
        st->fx = arg;
        http_request_state_set(req, st, upload_state_free);
    }
    (void)data;
    st->bytes += len;
    st->pieces++;
    if (st->bytes > STREAM_MAX) {
        http_response_error(resp, 413, "payload_too_large", "upload over the route's limit", NULL);
        return 1;
    }
    return 0;
}

/* The service's head check: the upload route's limit on the declared
 * length, before any of the body is read. */
static int upload_head_check(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)arg;
    const char *declared = http_request_header(req, "Content-Length");
    if (strncmp(http_request_path(req), "/v1/upload", 10) == 0 && declared &&
        strtoull(declared, NULL, 10) > STREAM_MAX) {
        http_response_error(resp, 413, "payload_too_large", "upload over the route's limit", NULL);
        return 1;
    }
    return 0;
}

static void upload_done(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)arg;
    upload_state_t *st = http_request_state(req);
    char out[128];
    size_t len = 0;
    int n = snprintf(out, sizeof(out), "received %zu bytes, body %s", st ? st->bytes : 0,
                     http_request_body(req, &len) ? "buffered" : "streamed");
    http_response_set(resp, 200, "text/plain", out, (size_t)n);
}

/* --- client --- */

static size_t collect_header(char *data, size_t size, size_t nmemb, void *p)
{
    reply_t *r = p;
    size_t n = size * nmemb, have = strlen(r->headers);
    if (have + n < sizeof(r->headers)) {
        memcpy(r->headers + have, data, n);
        r->headers[have + n] = '\0';
    }
    return n;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *p)
{
    reply_t *r = p;
    size_t n = size * nmemb;
    xbuf_append(&r->body, &r->len, data, n);
    return n;
}

typedef struct upload_src {
    const char *data;
    size_t len;
    size_t pos;
} upload_src_t;

static size_t feed(char *buf, size_t size, size_t nmemb, void *p)
{
    upload_src_t *src = p;
    size_t n = size * nmemb;
    if (n > 1000)
        n = 1000; /* many small chunks */
    if (n > src->len - src->pos)
        n = src->len - src->pos;
    memcpy(buf, src->data + src->pos, n);
    src->pos += n;
    return n;
}

typedef struct request_opts {
    const char *method;
    const char *path; /* with query */
    const char *body;
    size_t len;
    bool chunked;
    bool no_expect;
    const char *header;
} request_opts_t;

/* The 413 of a body over BODY_MAX on /v1/echo. */
static const char want_too_large[] = "{\"error\":{\"code\":\"payload_too_large\",\"message\":"
                                     "\"the body is larger than 1024 bytes\"}}";

/* The ways a client sends body to /v1/echo: declared length with the body
 * at once (no Expect), declared length with Expect: 100-continue, and
 * chunked (no declared length). body must live while v is used. */
#define ECHO_VARIANTS 3
static void echo_variants(request_opts_t v[ECHO_VARIANTS], const char *body, size_t len)
{
    v[0] = (request_opts_t){
        .method = "POST", .path = "/v1/echo", .body = body, .len = len, .no_expect = true};
    v[1] = (request_opts_t){.method = "POST",
                            .path = "/v1/echo",
                            .body = body,
                            .len = len,
                            .header = "Expect: 100-continue"};
    v[2] = (request_opts_t){
        .method = "POST", .path = "/v1/echo", .body = body, .len = len, .chunked = true};
}

static reply_t call(int port, request_opts_t o)
{
    reply_t r = {0};
    r.body = calloc(1, 1);
    CURL *curl = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, o.path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *headers = NULL;
    if (o.header)
        headers = curl_slist_append(headers, o.header);
    if (o.no_expect)
        headers = curl_slist_append(headers, "Expect:");
    upload_src_t src = {o.body, o.len, 0};
    if (o.body && o.chunked) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, feed);
        curl_easy_setopt(curl, CURLOPT_READDATA, &src);
        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    } else if (o.body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, o.body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o.len);
    }
    if (o.method && strcmp(o.method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else if (o.method)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, o.method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    r.curl_rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    char *ct = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r.content_type, sizeof(r.content_type), "%s", ct ? ct : "");
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return r;
}

static reply_t get(int port, const char *path)
{
    return call(port, (request_opts_t){.path = path});
}

static void assert_reply(reply_t r, long status, const char *body)
{
    if (r.curl_rc != CURLE_OK)
        fail_msg("curl: %s", curl_easy_strerror(r.curl_rc));
    assert_int_equal(r.status, status);
    if (body)
        assert_string_equal(r.body, body);
}

/* --- fixture --- */

static int setup(void **state)
{
    char err[256];
    fixture_t *fx = calloc(1, sizeof(*fx));
    fx->reg = metrics_registry_new();
    if (metrics_counter_register(fx->reg, "test_things_total", "Things done.", &fx->things, err,
                                 sizeof(err)) != OD_OK)
        return -1;
    http_config_t cfg;
    http_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.threads = 2;
    cfg.body_max = BODY_MAX;
    cfg.metrics = fx->reg;
    cfg.ready = ready_check_pair;
    cfg.ready_arg = fx;
    cfg.head_check = upload_head_check;
    int rc = http_server_new(&cfg, &fx->srv, err, sizeof(err));
    if (rc == OD_OK)
        rc = http_route_add(fx->srv, "POST", "/v1/echo", echo, NULL, err, sizeof(err));
    if (rc == OD_OK)
        rc = http_route_add(fx->srv, "GET", "/v1/items/", echo, NULL, err, sizeof(err));
    if (rc == OD_OK)
        rc = http_route_add(fx->srv, NULL, "/v1/silent", silent, NULL, err, sizeof(err));
    if (rc == OD_OK)
        rc = http_route_add(fx->srv, "PUT", "/v1/field", field_error, NULL, err, sizeof(err));
    if (rc == OD_OK)
        rc = http_route_add_streaming(fx->srv, "POST", "/v1/upload", upload_body, upload_done, fx,
                                      err, sizeof(err));
    if (rc == OD_OK)
        rc = http_server_start(fx->srv, err, sizeof(err));
    if (rc != OD_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    fx->port = http_server_port(fx->srv);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    http_server_free(fx->srv);
    metrics_registry_free(fx->reg);
    free(fx);
    return 0;
}

/* --- tests --- */

static void test_healthz_and_head(void **state)
{
    fixture_t *fx = *state;
    assert_true(fx->port > 0);
    reply_t r = get(fx->port, "/healthz");
    assert_reply(r, 200, "{\"status\":\"ok\"}");
    assert_string_equal(r.content_type, "application/json");
    free(r.body);
    r = call(fx->port, (request_opts_t){.method = "HEAD", .path = "/healthz"});
    assert_reply(r, 200, "");
    free(r.body);
}

static void test_readyz_follows_callback(void **state)
{
    fixture_t *fx = *state;
    atomic_store(&fx->redis_ready, false);
    reply_t r = get(fx->port, "/readyz");
    assert_reply(r, 503,
                 "{\"status\":\"not_ready\",\"failing\":["
                 "{\"check\":\"redis\",\"reason\":\"not connected: connection refused\"},"
                 "{\"check\":\"kafka\",\"reason\":\"no \\\"brokers\\\"\"}]}");
    free(r.body);
    atomic_store(&fx->redis_ready, true);
    r = get(fx->port, "/readyz");
    assert_reply(r, 200, "{\"status\":\"ready\"}");
    free(r.body);
}

static void test_metrics_served(void **state)
{
    fixture_t *fx = *state;
    metrics_counter_add(fx->things, 3);
    reply_t r = get(fx->port, "/metrics");
    assert_reply(r, 200, NULL);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "# HELP test_things_total Things done.\n"
                                   "# TYPE test_things_total counter\n"
                                   "test_things_total 3\n"));
    free(r.body);
    /* The server counts its own requests into the same registry. */
    r = get(fx->port, "/metrics");
    assert_non_null(
        strstr(r.body, "outdial_http_requests_total{route=\"/metrics\",code=\"200\"} 1\n"));
    assert_non_null(strstr(r.body, "# TYPE outdial_http_request_duration_seconds histogram\n"));
    free(r.body);
}

static void test_route_gets_body_query_and_headers(void **state)
{
    fixture_t *fx = *state;
    const char body[] = "{\"phone\":\"+14155550100\"}";
    reply_t r = call(fx->port, (request_opts_t){.method = "POST",
                                                .path = "/v1/echo/sub?name=J%C3%B6rg+M&flag",
                                                .body = body,
                                                .len = strlen(body),
                                                .header = "X-Test: hello"});
    assert_reply(r, 200,
                 "POST /v1/echo/sub sub=[/sub] name=[Jörg M] flag=[] missing=[(null)] "
                 "hdr=[hello] len=24 body=[{\"phone\":\"+14155550100\"}] from=127.0.0.1");
    free(r.body);

    /* A prefix ending in '/' takes everything under it; no body reads "". */
    r = get(fx->port, "/v1/items/42");
    assert_reply(r, 200,
                 "GET /v1/items/42 sub=[42] name=[(null)] flag=[(null)] missing=[(null)] "
                 "hdr=[(null)] len=0 body=[] from=127.0.0.1");
    free(r.body);

    /* A body of exactly the limit is fine; chunked bodies are collected too. */
    char *big = malloc(BODY_MAX + 1);
    memset(big, 'a', BODY_MAX);
    big[BODY_MAX] = '\0';
    r = call(
        fx->port,
        (request_opts_t){
            .method = "POST", .path = "/v1/echo", .body = big, .len = BODY_MAX, .chunked = true});
    assert_reply(r, 200, NULL);
    assert_non_null(strstr(r.body, " len=1024 body=[aaaa"));
    free(r.body);
    free(big);
}

static void test_body_over_limit_is_413_and_server_goes_on(void **state)
{
    fixture_t *fx = *state;
    size_t len = 4 * BODY_MAX;
    char *big = malloc(len);
    memset(big, 'b', len);
    request_opts_t variants[ECHO_VARIANTS];
    echo_variants(variants, big, len);
    for (size_t i = 0; i < ECHO_VARIANTS; i++) {
        reply_t r = call(fx->port, variants[i]);
        assert_reply(r, 413, want_too_large);
        free(r.body);
        r = get(fx->port, "/healthz");
        assert_reply(r, 200, "{\"status\":\"ok\"}");
        free(r.body);
    }
    free(big);
}

/* 20 MB bodies, with and without Expect: 100-continue and chunked, and a
 * client that sends only the headers: each gets the 413 (none a reset,
 * none a 100 Continue), then the server goes on. */
static void test_huge_body_gets_413_not_reset(void **state)
{
    fixture_t *fx = *state;
    size_t len = 20 * 1024 * 1024;
    char *big = malloc(len);
    memset(big, 'h', len);
    static const char want_upload[] = "{\"error\":{\"code\":\"payload_too_large\",\"message\":"
                                      "\"upload over the route's limit\"}}";
    request_opts_t variants[ECHO_VARIANTS + 2];
    echo_variants(variants, big, len);
    variants[ECHO_VARIANTS] = (request_opts_t){
        .method = "POST", .path = "/v1/upload", .body = big, .len = len, .no_expect = true};
    variants[ECHO_VARIANTS + 1] = (request_opts_t){
        .method = "POST", .path = "/v1/upload", .body = big, .len = len, .chunked = true};
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        reply_t r = call(fx->port, variants[i]);
        assert_reply(r, 413,
                     strcmp(variants[i].path, "/v1/upload") == 0 ? want_upload : want_too_large);
        assert_non_null(strstr(r.headers, "Connection: close"));
        free(r.body);
    }
    free(big);

    /* Only the headers, with and without Expect: the 413 at once, then the
     * server closes. */
    static const char *const heads[] = {
        "POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 20971520\r\n\r\n",
        "POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 20971520\r\n"
        "Expect: 100-continue\r\n\r\n",
        "POST /v1/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 20971520\r\n"
        "Expect: 100-continue\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        char out[4096];
        bool closed = false;
        raw_exchange(fx->port, heads[i], strlen(heads[i]), out, sizeof(out), &closed);
        assert_true(strncmp(out, "HTTP/1.1 413 ", 13) == 0);
        assert_string_equal(raw_body(out), i == 2 ? want_upload : want_too_large);
        assert_true(closed);
    }
    reply_t r = get(fx->port, "/healthz");
    assert_reply(r, 200, "{\"status\":\"ok\"}");
    free(r.body);
}

/* Heads over the limits get our JSON: 414 for a long request-target, 431
 * for large headers (both beyond libmicrohttpd's own default of 32 KiB),
 * and the connection is closed. */
static void test_long_uri_and_headers_get_json(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        size_t uri_len, header_len;
        const char *want_status, *want_body;
    } cases[] = {
        {9000, 0, "HTTP/1.1 414 ",
         "{\"error\":{\"code\":\"uri_too_long\",\"message\":\"the request-target (path and "
         "query) is longer than 8192 bytes\"}}"},
        {40000, 0, "HTTP/1.1 414 ", NULL},
        {0, 40000, "HTTP/1.1 431 ",
         "{\"error\":{\"code\":\"headers_too_large\",\"message\":\"the request line and "
         "headers are larger than 32768 bytes\"}}"},
        {0, 100000, "HTTP/1.1 431 ", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t cap = cases[i].uri_len + cases[i].header_len + 256;
        char *req = malloc(cap);
        int n = snprintf(req, cap, "GET /v1/items/1?q=");
        memset(req + n, 'u', cases[i].uri_len);
        n += (int)cases[i].uri_len;
        n += snprintf(req + n, cap - (size_t)n, " HTTP/1.1\r\nHost: t\r\nX-Big: ");
        memset(req + n, 'x', cases[i].header_len);
        n += (int)cases[i].header_len;
        n += snprintf(req + n, cap - (size_t)n, "\r\n\r\n");
        char out[4096];
        bool closed = false;
        raw_exchange(fx->port, req, (size_t)n, out, sizeof(out), &closed);
        free(req);
        assert_true(strncmp(out, cases[i].want_status, strlen(cases[i].want_status)) == 0);
        assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
        if (cases[i].want_body)
            assert_string_equal(raw_body(out), cases[i].want_body);
        else if (strncmp(raw_body(out), "{\"error\":{\"code\":", 17) != 0)
            fail_msg("case %zu: %s", i, out);
        assert_true(closed);
    }
}

/* A NUL byte in a query value is refused, naming the parameter, instead of
 * reaching the handler cut at the NUL. */
static void test_nul_in_query_is_400(void **state)
{
    fixture_t *fx = *state;
    reply_t r = get(fx->port, "/v1/items/1?name=ab%00cd");
    assert_reply(r, 400,
                 "{\"error\":{\"code\":\"invalid\",\"message\":\"the query parameter 'name' "
                 "holds a NUL byte (%00)\",\"field\":\"name\"}}");
    free(r.body);
    r = get(fx->port, "/v1/items/1?na%00me=x");
    assert_int_equal(r.status, 400);
    free(r.body);
    /* Other escapes still decode. */
    r = get(fx->port, "/v1/items/1?name=a%01b");
    assert_reply(r, 200, NULL);
    assert_non_null(strstr(r.body, "name=[a\001b]"));
    free(r.body);
}

static void test_streaming_route(void **state)
{
    fixture_t *fx = *state;
    size_t len = 200000; /* far over body_max: streaming routes are not buffered */
    char *big = malloc(len);
    memset(big, 'c', len);
    int freed = atomic_load(&fx->states_freed);
    reply_t r =
        call(fx->port,
             (request_opts_t){.method = "POST", .path = "/v1/upload", .body = big, .len = len});
    assert_reply(r, 200, "received 200000 bytes, body streamed");
    free(r.body);
    r = call(fx->port,
             (request_opts_t){
                 .method = "POST", .path = "/v1/upload", .body = big, .len = len, .chunked = true});
    assert_reply(r, 200, "received 200000 bytes, body streamed");
    free(r.body);
    free(big);
    /* Over the route's own limit: its error, then the server goes on. */
    len = STREAM_MAX + 50000;
    big = malloc(len);
    memset(big, 'd', len);
    r = call(fx->port,
             (request_opts_t){
                 .method = "POST", .path = "/v1/upload", .body = big, .len = len, .chunked = true});
    assert_reply(r, 413,
                 "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"upload over "
                 "the route's limit\"}}");
    free(r.body);
    free(big);
    r = get(fx->port, "/healthz");
    assert_reply(r, 200, NULL);
    free(r.body);
    /* Every request's state was freed (the refused one's when the server
     * has dropped its connection, just after the answer went out). */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (atomic_load(&fx->states_freed) == freed + 3)
            break;
        usleep(10000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - t0.tv_sec < 5);
    assert_int_equal(atomic_load(&fx->states_freed), freed + 3);
}

static void test_errors_are_json(void **state)
{
    fixture_t *fx = *state;
    reply_t r = get(fx->port, "/nope");
    assert_reply(r, 404,
                 "{\"error\":{\"code\":\"not_found\",\"message\":\"no such path: /nope\"}}");
    assert_string_equal(r.content_type, "application/json");
    free(r.body);
    /* A prefix matches whole segments only. */
    r = get(fx->port, "/healthzzz");
    assert_reply(r, 404, NULL);
    free(r.body);
    r = call(fx->port, (request_opts_t){.method = "POST", .path = "/nope", .body = "x", .len = 1});
    assert_reply(r, 404, NULL);
    free(r.body);
    r = get(fx->port, "/v1/echo");
    assert_reply(r, 405,
                 "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"GET is not allowed "
                 "on /v1/echo\"}}");
    assert_non_null(strstr(r.headers, "\r\nAllow: POST\r\n"));
    free(r.body);
    r = call(fx->port, (request_opts_t){.method = "DELETE", .path = "/v1/items/7"});
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "\r\nAllow: GET, HEAD\r\n"));
    free(r.body);
    r = call(fx->port, (request_opts_t){.method = "DELETE", .path = "/v1/silent"});
    assert_reply(r, 500,
                 "{\"error\":{\"code\":\"internal\",\"message\":\"the handler produced no "
                 "response\"}}");
    free(r.body);
    r = call(fx->port, (request_opts_t){.method = "PUT", .path = "/v1/field"});
    assert_reply(r, 422,
                 "{\"error\":{\"code\":\"invalid\",\"message\":\"bad \\\"phone\\\"\\n\","
                 "\"field\":\"phone\"}}");
    free(r.body);
}

/* --- the per-address cap --- */

/* A streaming route for slow uploads: counts the uploads whose first piece
 * has arrived (so the test knows their heads are in), answers with the
 * client's address once the body is complete. */
static int slow_body(http_request_t *req, const char *data, size_t len, http_response_t *resp,
                     void *arg)
{
    (void)data;
    (void)len;
    (void)resp;
    if (!http_request_state(req)) {
        http_request_state_set(req, arg, NULL);
        atomic_fetch_add((atomic_int *)arg, 1);
    }
    return 0;
}

static void slow_done(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)arg;
    char out[128];
    int n = snprintf(out, sizeof(out), "done %s", http_request_remote_addr(req));
    http_response_set(resp, 200, "text/plain", out, (size_t)n);
}

/* Waits (10 s at most) until n slow uploads have begun. */
static void uploads_wait(atomic_int *started, int n)
{
    for (int i = 0; i < 1000 && atomic_load(started) < n; i++)
        usleep(10000);
    assert_int_equal(atomic_load(started), n);
}

/* A slow client from src (NULL: any): an upload's head and 2 of its 4
 * bytes, then nothing. */
static int slow_upload_open(int port, const char *src, const char *xff)
{
    int fd = raw_connect_from(port, src);
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "POST /v1/slow HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n%s%s%s\r\nab",
                     xff ? "X-Forwarded-For: " : "", xff ? xff : "", xff ? "\r\n" : "");
    assert_int_equal(send(fd, head, (size_t)n, 0), n);
    return fd;
}

/* Sends the rest of the upload and checks the answer; closes fd. */
static void slow_upload_finish(int fd, const char *want_body)
{
    assert_int_equal(send(fd, "cd", 2, 0), 2);
    char out[1024];
    size_t len = 0;
    while (len < sizeof(out) - 1) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 5000) <= 0)
            break;
        ssize_t n = recv(fd, out + len, sizeof(out) - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        out[len] = '\0';
        if (strstr(out, want_body))
            break;
    }
    out[len] = '\0';
    close(fd);
    assert_true(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
    assert_string_equal(raw_body(out), want_body);
}

static http_server_t *cap_server(int max_per_ip, const char *trusted, atomic_int *started)
{
    char err[256];
    http_config_t cfg;
    http_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.threads = 2;
    cfg.max_per_ip = (unsigned)max_per_ip;
    cfg.trusted_proxies = trusted;
    http_server_t *srv = NULL;
    assert_int_equal(http_server_new(&cfg, &srv, err, sizeof(err)), OD_OK);
    assert_int_equal(http_route_add_streaming(srv, "POST", "/v1/slow", slow_body, slow_done,
                                              started, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(http_route_add(srv, "GET", "/v1/items/", echo, NULL, err, sizeof(err)), OD_OK);
    assert_int_equal(http_server_start(srv, err, sizeof(err)), OD_OK);
    return srv;
}

static void assert_over_cap(reply_t r, const char *addr, int cap)
{
    char want[256];
    snprintf(want, sizeof(want),
             "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections from %s "
             "(at most %d at once); try again shortly\"}}",
             addr, cap);
    assert_reply(r, 503, want);
    assert_non_null(strstr(r.headers, "\r\nRetry-After: 1\r\n"));
}

/* Slow clients holding the cap of their address do not lock out its other
 * requests: the idle ones are shed, and when every connection is in a
 * request the next one gets 503 with Retry-After, never a reset. */
static void test_per_address_cap(void **state)
{
    (void)state;
    atomic_int started = 0;
    http_server_t *srv = cap_server(4, NULL, &started);
    int port = http_server_port(srv);

    /* Four slow clients from 127.0.0.1: half a request head each, then
     * nothing. A normal request from there gets 503 (with Retry-After)
     * until they have been idle for a second, then 200: never a reset. */
    int slow[4];
    for (int i = 0; i < 4; i++) {
        slow[i] = raw_connect_from(port, "127.0.0.1");
        static const char half[] = "GET /v1/items/1 HTTP/1.1\r\nHo";
        assert_int_equal(send(slow[i], half, sizeof(half) - 1, 0), (ssize_t)sizeof(half) - 1);
    }
    int64_t deadline = (int64_t)time(NULL) + 10;
    long status = 0;
    bool saw_503 = false;
    while (status != 200 && time(NULL) < deadline) {
        reply_t r = get(port, "/v1/items/1");
        if (r.curl_rc != CURLE_OK)
            fail_msg("a request at the cap: %s", curl_easy_strerror(r.curl_rc));
        if (r.status == 503) {
            assert_over_cap(r, "127.0.0.1", 4);
            saw_503 = true;
        } else
            assert_reply(r, 200, NULL);
        status = r.status;
        free(r.body);
        if (status != 200)
            usleep(100000);
    }
    assert_int_equal(status, 200);
    for (int i = 0; i < 4; i++)
        close(slow[i]);

    /* Four slow uploads from 127.0.0.2 hold its cap with requests in
     * progress: nothing to shed, its next request gets 503. */
    int uploads[4];
    for (int i = 0; i < 4; i++)
        uploads[i] = slow_upload_open(port, "127.0.0.2", NULL);
    uploads_wait(&started, 4);
    static const char probe[] = "GET /v1/items/1 HTTP/1.1\r\nHost: t\r\n\r\n";
    char out[2048];
    bool closed = false;
    raw_exchange_from(port, "127.0.0.2", probe, sizeof(probe) - 1, out, sizeof(out), &closed);
    assert_true(strncmp(out, "HTTP/1.1 503 ", 13) == 0);
    assert_non_null(strstr(out, "\r\nRetry-After: 1\r\n"));
    assert_string_equal(raw_body(out),
                        "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections "
                        "from 127.0.0.2 (at most 4 at once); try again shortly\"}}");
    assert_true(closed);
    for (int i = 0; i < 4; i++)
        slow_upload_finish(uploads[i], "done 127.0.0.2");
    /* Where a 503 came first, the 200 after it came from a shed. */
    reply_t r = get(port, "/metrics");
    assert_non_null(strstr(r.body, "outdial_http_connections_shed_total "));
    if (saw_503)
        assert_null(strstr(r.body, "outdial_http_connections_shed_total 0\n"));
    free(r.body);
    http_server_free(srv);
}

/* Behind a trusted proxy the cap counts each client named in
 * X-Forwarded-For, not the proxy; an untrusted peer's header is ignored. */
static void test_forwarded_for_from_trusted_proxy(void **state)
{
    fixture_t *fx = *state;
    reply_t r = call(fx->port, (request_opts_t){.path = "/v1/items/1",
                                                .header = "X-Forwarded-For: 203.0.113.7"});
    assert_reply(r, 200, NULL);
    assert_non_null(strstr(r.body, " from=127.0.0.1"));
    free(r.body);

    atomic_int started = 0;
    http_server_t *srv = cap_server(2, "127.0.0.1", &started);
    int port = http_server_port(srv);
    r = call(port, (request_opts_t){.path = "/v1/items/1",
                                    .header = "X-Forwarded-For: 198.51.100.1, 203.0.113.7"});
    assert_reply(r, 200, NULL);
    assert_non_null(strstr(r.body, " from=203.0.113.7"));
    free(r.body);

    int uploads[2];
    for (int i = 0; i < 2; i++)
        uploads[i] = slow_upload_open(port, NULL, "203.0.113.7");
    uploads_wait(&started, 2);
    r = call(port,
             (request_opts_t){.path = "/v1/items/1", .header = "X-Forwarded-For: 203.0.113.7"});
    assert_over_cap(r, "203.0.113.7", 2);
    free(r.body);
    /* Another client through the same proxy is not held up. */
    r = call(port,
             (request_opts_t){.path = "/v1/items/1", .header = "X-Forwarded-For: 198.51.100.9"});
    assert_reply(r, 200, NULL);
    assert_non_null(strstr(r.body, " from=198.51.100.9"));
    free(r.body);
    for (int i = 0; i < 2; i++)
        slow_upload_finish(uploads[i], "done 203.0.113.7");
    http_server_free(srv);
}

#define CLIENTS  6
#define REQUESTS 25

static void *client(void *arg)
{
    fixture_t *fx = arg;
    long ok = 0;
    for (int i = 0; i < REQUESTS; i++) {
        char body[64];
        int n = snprintf(body, sizeof(body), "request %d", i);
        reply_t r = call(
            fx->port,
            (request_opts_t){.method = "POST", .path = "/v1/echo", .body = body, .len = (size_t)n});
        if (r.curl_rc == CURLE_OK && r.status == 200 && strstr(r.body, body))
            ok++;
        free(r.body);
    }
    return (void *)ok;
}

static void test_concurrent_clients(void **state)
{
    fixture_t *fx = *state;
    thread_group_run(CLIENTS, client, fx, REQUESTS);
}

static void test_lifecycle_and_config(void **state)
{
    fixture_t *fx = *state;
    char err[256];
    http_config_t cfg;
    http_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = fx->port; /* taken */
    http_server_t *srv = NULL;
    assert_int_equal(http_server_new(&cfg, &srv, err, sizeof(err)), OD_OK);
    assert_int_equal(http_route_add(srv, "GET", "/healthz", silent, NULL, err, sizeof(err)),
                     OD_ERR_CONFLICT);
    assert_int_equal(http_route_add(srv, "GET", "nope", silent, NULL, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_int_equal(http_server_start(srv, err, sizeof(err)), OD_ERR_IO);
    assert_non_null(strstr(err, "http: cannot listen on 127.0.0.1 port"));
    assert_int_equal(http_server_port(srv), 0);
    /* A server without a registry serves its own. */
    cfg.port = 0;
    http_server_free(srv);
    srv = NULL;
    assert_int_equal(http_server_new(&cfg, &srv, err, sizeof(err)), OD_OK);
    assert_int_equal(http_server_start(srv, err, sizeof(err)), OD_OK);
    assert_int_equal(http_route_add(srv, "GET", "/late", silent, NULL, err, sizeof(err)),
                     OD_ERR_CONFLICT);
    int port = http_server_port(srv);
    assert_true(port > 0 && port != fx->port);
    reply_t r = get(port, "/metrics");
    assert_reply(r, 200, NULL);
    assert_non_null(strstr(r.body, "# TYPE outdial_http_requests_total counter\n"));
    free(r.body);
    assert_int_equal(http_server_start(srv, err, sizeof(err)), OD_ERR_CONFLICT);
    http_server_stop(srv);
    http_server_stop(srv);
    r = get(port, "/healthz");
    assert_int_equal(r.curl_rc, CURLE_COULDNT_CONNECT);
    free(r.body);
    http_server_free(srv);
    http_server_free(NULL);

    /* Environment overrides with the caller's values as defaults. */
    http_config_init(&cfg);
    cfg.port = 8080;
    setenv("OUTDIAL_TESTSVC_HTTP_HOST", "::1", 1);
    setenv("OUTDIAL_TESTSVC_HTTP_THREADS", "8", 1);
    assert_int_equal(http_config_from_env(&cfg, "OUTDIAL_TESTSVC", err, sizeof(err)), OD_OK);
    assert_string_equal(cfg.host, "::1");
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.threads, 8);
    assert_int_equal(cfg.body_max, 1024 * 1024);
    setenv("OUTDIAL_TESTSVC_HTTP_PORT", "70000", 1);
    assert_int_equal(http_config_from_env(&cfg, "OUTDIAL_TESTSVC", err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_string_equal(err, "OUTDIAL_TESTSVC_HTTP_PORT: 70000 is out of range (allowed: "
                             "0..65535)");
    unsetenv("OUTDIAL_TESTSVC_HTTP_PORT");
    setenv("OUTDIAL_TESTSVC_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, ::1", 1);
    assert_int_equal(http_config_from_env(&cfg, "OUTDIAL_TESTSVC", err, sizeof(err)), OD_OK);
    assert_string_equal(cfg.trusted_proxies, "10.0.0.0/8, ::1");
    setenv("OUTDIAL_TESTSVC_HTTP_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal", 1);
    assert_int_equal(http_config_from_env(&cfg, "OUTDIAL_TESTSVC", err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_string_equal(err, "OUTDIAL_TESTSVC_HTTP_TRUSTED_PROXIES: 'proxy.internal' is not an IP "
                             "address or CIDR range (allowed: addresses or ranges separated by "
                             "commas, e.g. 10.0.0.0/8,192.168.1.7,fd00::/8)");
    cfg.trusted_proxies = "10.0.0.0/40";
    assert_int_equal(http_server_new(&cfg, &srv, err, sizeof(err)), OD_ERR_INVALID);
    unsetenv("OUTDIAL_TESTSVC_HTTP_TRUSTED_PROXIES");
    unsetenv("OUTDIAL_TESTSVC_HTTP_HOST");
    unsetenv("OUTDIAL_TESTSVC_HTTP_THREADS");
}

HTTPC_TEST_MAIN(setup, teardown, test_healthz_and_head, test_readyz_follows_callback,
                test_metrics_served, test_route_gets_body_query_and_headers,
                test_body_over_limit_is_413_and_server_goes_on, test_huge_body_gets_413_not_reset,
                test_long_uri_and_headers_get_json, test_nul_in_query_is_400, test_streaming_route,
                test_errors_are_json, test_concurrent_clients, test_per_address_cap,
                test_forwarded_for_from_trusted_proxy, test_lifecycle_and_config)

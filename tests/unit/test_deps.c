/* deps: the backoff and check delays as tables; then a set of two
 * dependencies whose checks the test switches, seen through deps_up,
 * deps_wait, deps_failed and the /readyz of a real server (lib/web/http)
 * given the set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deps.h"
#include "http.h"
#include "http_client.h"
#include "test_main.h"

/* deps.h's table: the next check of a dependency up or down after failures
 * consecutive failures. Down, the delay is deps_backoff_ms's: both are
 * checked on every row that is down. */
static void test_delay_table(void **state)
{
    (void)state;
    static const struct {
        bool up;
        unsigned failures;
        int64_t ms;
    } cases[] = {
        {true, 0, DEPS_CHECK_UP_MS}, /* up: the steady period */
        {true, 5, DEPS_CHECK_UP_MS}, /* up wins over a stale count */
        {false, 0, 0},               /* never checked: at once */
        {false, 1, DEPS_BACKOFF_FIRST_MS},
        {false, 40, DEPS_BACKOFF_MAX_MS},
        /* the backoff, doubling from 250 ms to 5 s */
        {false, 1, 250},
        {false, 2, 500},
        {false, 3, 1000},
        {false, 4, 2000},
        {false, 5, 4000},
        {false, 6, 5000},
        {false, 7, 5000},
        {false, 1000000, 5000},
        {false, UINT32_MAX, 5000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = deps_check_delay_ms(cases[i].up, cases[i].failures);
        if (got != cases[i].ms)
            fail_msg("deps_check_delay_ms(%d, %u) = %lld, want %lld", cases[i].up,
                     cases[i].failures, (long long)got, (long long)cases[i].ms);
        if (cases[i].up)
            continue;
        got = deps_backoff_ms(cases[i].failures);
        if (got != cases[i].ms)
            fail_msg("deps_backoff_ms(%u) = %lld, want %lld", cases[i].failures, (long long)got,
                     (long long)cases[i].ms);
    }
}

/* A dependency whose answer the test sets. */
typedef struct switch_dep {
    atomic_bool answers;
    atomic_int checks;
    const char *refusal;
} switch_dep_t;

static int switch_check(void *arg, char *errbuf, size_t errlen)
{
    switch_dep_t *s = arg;
    atomic_fetch_add(&s->checks, 1);
    if (atomic_load(&s->answers))
        return OD_OK;
    return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "%s", s->refusal);
}

static int frees;
static void count_free(void *arg)
{
    (void)arg;
    frees++;
}

static httpc_reply_t readyz(int port)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", port);
    httpc_reply_t r;
    CURL *curl = httpc_new(url, "GET", &r, 5000);
    httpc_run(curl, NULL, &r);
    return r;
}

/* Waits, with a deadline, until dependency dep has been checked at least n times. */
static void checks_await(switch_dep_t *s, int n)
{
    for (int i = 0; i < 500 && atomic_load(&s->checks) < n; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&s->checks) >= n);
}

static void test_readiness_follows_checks(void **state)
{
    (void)state;
    char err[256];
    switch_dep_t pg = {.refusal = "postgres 127.0.0.1:1/outdial: connection refused"};
    switch_dep_t redis = {.refusal = "redis 127.0.0.1:2: connect: Connection refused"};
    atomic_store(&redis.answers, true);
    deps_t *d = deps_new();
    int dep_pg = deps_add(d, "postgres", switch_check, &pg, count_free);
    int dep_redis = deps_add(d, "redis", switch_check, &redis, NULL);
    assert_int_equal(dep_pg, 0);
    assert_int_equal(dep_redis, 1);
    assert_false(deps_up(d, dep_pg));
    assert_false(deps_up(d, dep_redis)); /* not checked yet */

    http_config_t cfg;
    http_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.deps = d;
    http_server_t *srv = NULL;
    assert_int_equal(http_server_new(&cfg, &srv, err, sizeof(err)), OD_OK);
    assert_int_equal(http_server_start(srv, err, sizeof(err)), OD_OK);
    int port = http_server_port(srv);

    /* Before the first check, both are named, as not checked yet. */
    httpc_reply_t r = readyz(port);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"not_ready\",\"failing\":["
                                "{\"check\":\"postgres\",\"reason\":\"not checked yet\"},"
                                "{\"check\":\"redis\",\"reason\":\"not checked yet\"}]}");
    httpc_reply_free(&r);

    assert_int_equal(deps_start(d, err, sizeof(err)), OD_OK);
    assert_true(deps_wait(d, dep_redis, NULL));
    checks_await(&pg, 1);
    r = readyz(port);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "{\"check\":\"postgres\",\"reason\":\"postgres "
                                   "127.0.0.1:1/outdial: connection refused (down "));
    assert_null(strstr(r.body, "redis"));
    httpc_reply_free(&r);

    /* A stop flag ends a wait for a dependency that stays down. */
    atomic_bool stop = true;
    assert_false(deps_wait(d, dep_pg, &stop));

    /* PostgreSQL comes up: found within the backoff, and ready. */
    atomic_store(&pg.answers, true);
    assert_true(deps_wait(d, dep_pg, NULL));
    r = readyz(port);
    assert_int_equal(r.status, 200);
    httpc_reply_free(&r);

    /* A failure the service saw marks Redis down at once, until its
     * check (at the first backoff step) finds it up again. */
    int before = atomic_load(&redis.checks);
    deps_failed(d, dep_redis, "redis SET: connection lost");
    assert_false(deps_up(d, dep_redis));
    r = readyz(port); /* 503 unless the check already ran again (250 ms later) */
    if (r.status == 503)
        assert_non_null(strstr(r.body, "redis SET: connection lost"));
    httpc_reply_free(&r);
    assert_true(deps_wait(d, dep_redis, NULL));
    assert_true(atomic_load(&redis.checks) > before);

    http_server_free(srv);
    deps_free(d);
    assert_int_equal(frees, 1); /* postgres's argument, given with a free */
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = OD_TEST_RUN(NULL, NULL, NULL, NULL, test_delay_table, test_readiness_follows_checks);
    curl_global_cleanup();
    return rc;
}

/*
 * The attempt key (checks.h, step 4) against the stack's Redis, when the
 * SET's outcome is unknown. The checks talk to Redis through a proxy of
 * this test that, armed with a key, drops the connection at the command
 * naming it: before the command reaches Redis, or after Redis answered it
 * (the answer lost). The client does not send a SET again on a new
 * connection, and the step reads the key back.
 *
 *   - A job re-delivered to the same dialer's next process (the same
 *     OUTDIAL_DIALER_INSTANCE_ID) after its first delivery was placed is a
 *     duplicate, not ours: when the key's value was the instance id, the
 *     read back matched it and the attempt was dialed twice.
 *   - The same job whose SET happened, its answer lost, is ours.
 *   - A SET that did not happen is retried, then taken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "checks.h"
#include "clock.h"
#include "redis.h"
#include "redis_support.h"
#include "rkeys.h"
#include "support.h"
#include "test_main.h"
#include "uuid.h"

/* The shape of the default instance id (docs/dialer.md): its token is
 * longer than 60 bytes. */
#define INSTANCE "dialer:outdial-host-01:123456:abcd0123"
#define LEASE_MS 60000

/* ---- the proxy ---- */

typedef enum trap_mode {
    TRAP_NONE = 0,
    TRAP_BEFORE, /* the command never reaches Redis */
    TRAP_AFTER,  /* Redis runs it; its answer is lost */
} trap_mode_t;

typedef struct proxy {
    int listen_fd;
    int port;
    struct sockaddr_in upstream;
    pthread_mutex_t mu;
    trap_mode_t mode; /* armed until it fires once */
    char key[RKEYS_KEY_MAX];
    atomic_int fired;
} proxy_t;

typedef struct pipe_args {
    proxy_t *px;
    int client, server;
} pipe_args_t;

/* Whether buf holds the armed key; disarms the trap when it does. */
static trap_mode_t trap_take(proxy_t *px, const char *buf, size_t n)
{
    pthread_mutex_lock(&px->mu);
    trap_mode_t mode = px->mode;
    if (mode != TRAP_NONE && memmem(buf, n, px->key, strlen(px->key)))
        px->mode = TRAP_NONE;
    else
        mode = TRAP_NONE;
    pthread_mutex_unlock(&px->mu);
    return mode;
}

/* Copies both ways until either side closes or the trap fires. */
static void *pipe_run(void *arg)
{
    pipe_args_t *a = arg;
    char buf[16384];
    for (;;) {
        struct pollfd fds[2] = {{a->client, POLLIN, 0}, {a->server, POLLIN, 0}};
        if (poll(fds, 2, 10000) <= 0)
            break;
        if (fds[0].revents) {
            ssize_t n = read(a->client, buf, sizeof(buf));
            if (n <= 0)
                break;
            trap_mode_t mode = trap_take(a->px, buf, (size_t)n);
            if (mode == TRAP_BEFORE) {
                atomic_fetch_add(&a->px->fired, 1);
                break;
            }
            if (write(a->server, buf, (size_t)n) != n)
                break;
            if (mode == TRAP_AFTER) {
                /* Redis's answer, read and thrown away. */
                struct pollfd sfd = {a->server, POLLIN, 0};
                if (poll(&sfd, 1, 2000) == 1 && read(a->server, buf, sizeof(buf)) > 0)
                    atomic_fetch_add(&a->px->fired, 1);
                break;
            }
        }
        if (fds[1].revents) {
            ssize_t n = read(a->server, buf, sizeof(buf));
            if (n <= 0 || write(a->client, buf, (size_t)n) != n)
                break;
        }
    }
    close(a->client);
    close(a->server);
    free(a);
    return NULL;
}

static void *accept_run(void *arg)
{
    proxy_t *px = arg;
    for (;;) {
        int c = accept(px->listen_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        int sv = socket(AF_INET, SOCK_STREAM, 0);
        if (sv < 0 || connect(sv, (struct sockaddr *)&px->upstream, sizeof(px->upstream))) {
            close(c);
            if (sv >= 0)
                close(sv);
            continue;
        }
        pipe_args_t *a = xmalloc(sizeof(*a));
        *a = (pipe_args_t){px, c, sv};
        pthread_t t;
        if (pthread_create(&t, NULL, pipe_run, a)) {
            close(c);
            close(sv);
            free(a);
            continue;
        }
        pthread_detach(t);
    }
}

/* Listens on a free loopback port in front of the stack's Redis. */
static void proxy_start(proxy_t *px, const redis_url_t *u)
{
    memset(px, 0, sizeof(*px));
    pthread_mutex_init(&px->mu, NULL);
    px->upstream.sin_family = AF_INET;
    px->upstream.sin_port = htons((uint16_t)u->port);
    assert_int_equal(inet_pton(AF_INET, u->host, &px->upstream.sin_addr), 1);
    px->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(px->listen_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(px->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(px->listen_fd, 16), 0);
    assert_int_equal(getsockname(px->listen_fd, (struct sockaddr *)&a, &len), 0);
    px->port = ntohs(a.sin_port);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, accept_run, px), 0);
    pthread_detach(t);
}

static void proxy_arm(proxy_t *px, trap_mode_t mode, const char *key)
{
    pthread_mutex_lock(&px->mu);
    px->mode = mode;
    snprintf(px->key, sizeof(px->key), "%s", key);
    pthread_mutex_unlock(&px->mu);
}

/* ---- the fixture ---- */

typedef struct fixture {
    char prefix[64];
    char campaign_id[UUID_STR_LEN], account_id[UUID_STR_LEN], lead_id[UUID_STR_LEN];
    od_clock_t clk;
    redis_t *admin;
    proxy_t px;
    char proxied_url[320];
} fixture_t;

static fixture_t fx;

static int setup(void **state)
{
    (void)state;
    char err[256], key[RKEYS_KEY_MAX];
    const char *url = support_env("OUTDIAL_REDIS_URL");
    redis_url_t u;
    if (redis_url_parse(url, &u, err, sizeof(err)))
        fail_msg("OUTDIAL_REDIS_URL: %s", err);
    if (u.password[0])
        fail_msg("this test's proxy URL has no password: run it on the local stack");
    proxy_start(&fx.px, &u);
    snprintf(fx.proxied_url, sizeof(fx.proxied_url), "redis://127.0.0.1:%d/%d", fx.px.port, u.db);
    snprintf(fx.prefix, sizeof(fx.prefix), "outdial:test:%d:", (int)getpid());
    uuid_str_new(fx.campaign_id);
    uuid_str_new(fx.account_id);
    uuid_str_new(fx.lead_id);
    od_clock_init_real(&fx.clk);
    fx.admin = redis_support_connect(url);
    rkeys_campaign(fx.prefix, fx.campaign_id, key);
    if (redis_set_nx(fx.admin, key, "in_progress", 600000, err, sizeof(err)))
        fail_msg("campaign mirror: %s", err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    redis_free(fx.admin);
    return 0;
}

/* A job of a fresh attempt to number (no frequency cap, no pool). */
static void job_init(dialjob_t *job, char attempt_id[UUID_STR_LEN], const char *number)
{
    outdial__v1__dial_job__init(job);
    uuid_str_new(attempt_id);
    job->attempt_id = attempt_id;
    job->lead_id = fx.lead_id;
    job->campaign_id = fx.campaign_id;
    job->account_id = fx.account_id;
    job->e164 = (char *)number;
    job->caller_id = "+14155550100";
    job->not_after_us = od_clock_now_us(&fx.clk) + 3600LL * 1000000;
    job->calls_per_24h = DIALJOB_NO_FREQUENCY_CAP;
}

static check_verdict_t run(redis_t *r, const dialjob_t *job, check_state_t *st, check_result_t *res)
{
    checks_env_t env = {r, fx.prefix, INSTANCE, &fx.clk};
    checks_run(&env, job, LEASE_MS, st, res);
    return res->verdict;
}

/* Runs the checks with the connection dropped at the attempt key's SET;
 * fails the test unless the trap fired. */
static check_verdict_t run_trapped(redis_t *r, trap_mode_t mode, const dialjob_t *job,
                                   check_state_t *st, check_result_t *res)
{
    char key[RKEYS_KEY_MAX];
    rkeys_attempt(fx.prefix, job->attempt_id, key);
    int before = atomic_load(&fx.px.fired);
    proxy_arm(&fx.px, mode, key);
    check_verdict_t v = run(r, job, st, res);
    assert_int_equal(atomic_load(&fx.px.fired), before + 1);
    return v;
}

/* The attempt key's value ("" when missing; static buffer). */
static const char *attempt_value(const char *attempt_id)
{
    char key[RKEYS_KEY_MAX];
    rkeys_attempt(fx.prefix, attempt_id, key);
    return redis_support_value(fx.admin, key);
}

/* ---- the tests ---- */

static void test_redelivered_to_restarted_namesake(void **state)
{
    (void)state;
    dialjob_t job;
    char attempt_id[UUID_STR_LEN];
    job_init(&job, attempt_id, "+14155550111");
    check_result_t res;

    /* The first delivery, in the process that then dies: placed. */
    redis_t *first = redis_support_connect(fx.proxied_url);
    check_state_t st1 = {0};
    assert_int_equal(run(first, &job, &st1, &res), CHECK_DIAL);
    assert_string_equal(attempt_value(attempt_id), st1.attempt_token);
    redis_free(first);

    /* Kafka re-delivers the job to the next process of the same dialer;
     * the answer to its SET is lost, and it reads the key back. */
    redis_t *next = redis_support_connect(fx.proxied_url);
    check_state_t st2 = {0};
    assert_int_equal(run_trapped(next, TRAP_AFTER, &job, &st2, &res), CHECK_DUPLICATE);
    assert_false(st2.holds_attempt_key);
    assert_non_null(strstr(res.detail, st1.attempt_token));
    assert_string_not_equal(st1.attempt_token, st2.attempt_token);
    /* Once more with the SET lost on its way: the same. */
    check_state_t st3 = {0};
    assert_int_equal(run_trapped(next, TRAP_BEFORE, &job, &st3, &res), CHECK_DUPLICATE);
    assert_string_equal(attempt_value(attempt_id), st1.attempt_token);
    /* The value names the dialer, then the job's own part. */
    assert_ptr_equal(strstr(st1.attempt_token, INSTANCE "/"), st1.attempt_token);
    redis_free(next);
}

static void test_unknown_outcome_in_one_process(void **state)
{
    (void)state;
    redis_t *r = redis_support_connect(fx.proxied_url);
    dialjob_t job;
    char attempt_id[UUID_STR_LEN];
    check_result_t res;

    /* The SET did not reach Redis: retried, the key still free... */
    job_init(&job, attempt_id, "+14155550112");
    check_state_t st = {0};
    assert_int_equal(run_trapped(r, TRAP_BEFORE, &job, &st, &res), CHECK_RETRY);
    assert_false(st.holds_attempt_key);
    assert_non_null(strstr(res.detail, "attempt key"));
    assert_string_equal(attempt_value(attempt_id), "");
    /* ...then the job's next try takes it with the same token. */
    char token[CHECKS_TOKEN_MAX];
    snprintf(token, sizeof(token), "%s", st.attempt_token);
    assert_int_equal(run(r, &job, &st, &res), CHECK_DIAL);
    assert_string_equal(st.attempt_token, token);
    assert_string_equal(attempt_value(attempt_id), token);

    /* The SET happened and its answer was lost: the key holds this job's
     * token when it reads back, so it is ours. */
    job_init(&job, attempt_id, "+14155550113");
    check_state_t st2 = {0};
    assert_int_equal(run_trapped(r, TRAP_AFTER, &job, &st2, &res), CHECK_DIAL);
    assert_true(st2.holds_attempt_key);
    assert_string_equal(attempt_value(attempt_id), st2.attempt_token);
    redis_free(r);
}

OD_TEST_MAIN(setup, teardown, test_redelivered_to_restarted_namesake,
             test_unknown_outcome_in_one_process)

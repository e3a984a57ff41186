/* Redis client against the stack's Redis: token locks under contention from
 * two processes, wrong tokens, expiry and extension, the script-cache
 * fallback, reconnection after CLIENT KILL, timeouts, and the helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "redis.h"
#include "redis_support.h"
#include "support.h"
#include "test_main.h"
#include "thread_group.h"

static char key_buf[8][128];

/* A key unique to this process and test, so parallel runs do not meet. */
static const char *test_key(int slot, const char *name)
{
    snprintf(key_buf[slot], sizeof(key_buf[slot]), "outdial:test:%d:%s", (int)getpid(), name);
    return key_buf[slot];
}

static void test_url_parse(void **state)
{
    (void)state;
    char err[256];
    redis_url_t u;
    assert_int_equal(redis_url_parse("redis://127.0.0.1:26379/3", &u, err, sizeof(err)), OD_OK);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 26379);
    assert_int_equal(u.db, 3);
    assert_string_equal(u.password, "");
    assert_int_equal(redis_url_parse("redis://cache", &u, err, sizeof(err)), OD_OK);
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_int_equal(redis_url_parse("redis://app:p%40ss@[::1]:7000/", &u, err, sizeof(err)),
                     OD_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "p@ss");
    assert_int_equal(redis_url_parse("redis://secret@h", &u, err, sizeof(err)), OD_OK);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "secret");

    static const struct {
        const char *url;
        const char *want;
    } bad[] = {
        {"http://h:1", "redis URL: scheme 'http' is not redis:// "
                       "(redis://[[user]:password@]host[:port][/db])"},
        /* A password never reaches the message, whatever is wrong. */
        {"rediss://app:hunter2@h:1", "redis URL: scheme 'rediss' is not redis:// "
                                     "(redis://[[user]:password@]host[:port][/db])"},
        {"app:hunter2@h:1",
         "redis URL: no scheme; expected redis://[[user]:password@]host[:port][/db]"},
        {"redis://app:hunter2@h:0", "redis URL: port '0' is not a number in 1..65535"},
        {"redis://:6379", "redis URL: missing or too long host"},
        {"redis://h:0", "redis URL: port '0' is not a number in 1..65535"},
        {"redis://h:65536", "redis URL: port '65536' is not a number in 1..65535"},
        {"redis://h:12x", "redis URL: port '12x' is not a number in 1..65535"},
        {"redis://h/x", "redis URL: database 'x' is not a number in 0..100000"},
        {"redis://h/1?ssl=1", "redis URL: query parameters and fragments are not supported"},
        {"redis://[::1:6379", "redis URL: unclosed '[' in host"},
        {"redis://:p%4@h", "redis URL: bad user or password (too long or a bad % escape)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(redis_url_parse(bad[i].url, &u, err, sizeof(err)), OD_ERR_INVALID);
        assert_string_equal(err, bad[i].want);
    }
}

static void test_connect_errors(void **state)
{
    (void)state;
    char err[256];
    redis_t *r = NULL;
    /* Nothing listens on port 1. */
    assert_int_equal(redis_new("redis://127.0.0.1:1/0", 500, 500, &r, err, sizeof(err)),
                     OD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "redis 127.0.0.1:1: connect:"));
    assert_null(r);
    char *saved = strdup(support_env("OUTDIAL_REDIS_URL"));
    setenv("OUTDIAL_REDIS_URL", "tcp://x", 1);
    assert_int_equal(redis_new_from_env(&r, err, sizeof(err)), OD_ERR_INVALID);
    setenv("OUTDIAL_REDIS_URL", saved, 1);
    free(saved);
    assert_non_null(strstr(err, "OUTDIAL_REDIS_URL: redis URL: scheme 'tcp' is not redis://"));
    assert_int_equal(redis_new_from_env(&r, err, sizeof(err)), OD_OK);
    assert_int_equal(redis_ping(r, err, sizeof(err)), OD_OK);
    redis_free(r);
    redis_free(NULL);
}

static void test_helpers(void **state)
{
    (void)state;
    char err[256];
    redis_t *r = redis_support_connect(NULL);
    const char *key = test_key(0, "helpers");
    const char *set = test_key(1, "dnc");
    bool deleted = true, member = true;
    assert_int_equal(redis_ping(r, err, sizeof(err)), OD_OK);
    assert_int_equal(redis_del(r, key, &deleted, err, sizeof(err)), OD_OK);
    assert_false(deleted);

    assert_int_equal(redis_set_nx(r, key, "first", 60000, err, sizeof(err)), OD_OK);
    assert_int_equal(redis_set_nx(r, key, "second", 60000, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_string_equal(redis_support_value(r, key), "first");
    long long ttl = redis_support_pttl(r, key);
    assert_true(ttl > 50000 && ttl <= 60000);
    assert_int_equal(redis_set_nx(r, key, "x", 0, err, sizeof(err)), OD_ERR_INVALID);

    /* Binary-safe GET. */
    const char *argv[] = {"SET", key, "a\0b"};
    const size_t argvlen[] = {3, strlen(key), 3};
    redisReply *reply = NULL;
    assert_int_equal(redis_command_argv(r, true, 3, argv, argvlen, &reply, err, sizeof(err)),
                     OD_OK);
    freeReplyObject(reply);
    char *v = NULL;
    size_t len = 0;
    assert_int_equal(redis_get(r, key, &v, &len, err, sizeof(err)), OD_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "a\0b", 3);
    free(v);

    assert_int_equal(redis_del(r, key, &deleted, err, sizeof(err)), OD_OK);
    assert_true(deleted);
    v = NULL;
    assert_int_equal(redis_get(r, key, &v, NULL, err, sizeof(err)), OD_ERR_NOT_FOUND);
    assert_null(v);

    assert_int_equal(redis_sadd(r, set, "+14155550100", err, sizeof(err)), OD_OK);
    assert_int_equal(redis_sadd(r, set, "+14155550100", err, sizeof(err)), OD_OK);
    assert_int_equal(redis_sismember(r, set, "+14155550100", &member, err, sizeof(err)), OD_OK);
    assert_true(member);
    assert_int_equal(redis_sismember(r, set, "+14155550199", &member, err, sizeof(err)), OD_OK);
    assert_false(member);
    assert_int_equal(redis_srem(r, set, "+14155550100", err, sizeof(err)), OD_OK);
    assert_int_equal(redis_srem(r, set, "+14155550100", err, sizeof(err)), OD_OK);
    assert_int_equal(redis_sismember(r, set, "+14155550100", &member, err, sizeof(err)), OD_OK);
    assert_false(member);

    /* An error reply is an error code with Redis's words. */
    assert_int_equal(redis_sadd(r, set, "x", err, sizeof(err)), OD_OK);
    v = NULL;
    assert_int_equal(redis_get(r, set, &v, NULL, err, sizeof(err)), OD_ERR_INTERNAL);
    assert_non_null(strstr(err, "redis GET: WRONGTYPE"));
    assert_int_equal(redis_del(r, set, NULL, err, sizeof(err)), OD_OK);
    redis_free(r);
}

static void test_wrong_token_does_nothing(void **state)
{
    (void)state;
    char err[256];
    redis_t *r = redis_support_connect(NULL);
    const char *key = test_key(0, "wrong-token");
    char token[REDIS_LOCK_TOKEN_SIZE], other[REDIS_LOCK_TOKEN_SIZE];
    assert_int_equal(redis_lock_acquire(r, key, 10000, token, err, sizeof(err)), OD_OK);
    assert_int_equal(strlen(token), 32);
    assert_int_equal(strspn(token, "0123456789abcdef"), 32);
    assert_string_equal(redis_support_value(r, key), token);

    /* Someone else cannot take it... */
    assert_int_equal(redis_lock_acquire(r, key, 10000, other, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_string_not_equal(other, token);
    /* ...nor release or extend it with their token. */
    assert_int_equal(redis_lock_release(r, key, other, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_non_null(strstr(err, "not held with this token"));
    assert_int_equal(redis_lock_extend(r, key, other, 600000, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_string_equal(redis_support_value(r, key), token);
    assert_true(redis_support_pttl(r, key) <= 10000);

    /* The holder can extend and release. */
    assert_int_equal(redis_lock_extend(r, key, token, 600000, err, sizeof(err)), OD_OK);
    assert_true(redis_support_pttl(r, key) > 10000);
    assert_int_equal(redis_lock_release(r, key, token, err, sizeof(err)), OD_OK);
    assert_string_equal(redis_support_value(r, key), "");
    /* Twice is not twice: the second finds nothing to release or extend. */
    assert_int_equal(redis_lock_release(r, key, token, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_int_equal(redis_lock_extend(r, key, token, 1000, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_string_equal(redis_support_value(r, key), "");
    redis_free(r);
}

static void test_expiry_frees_and_extend_keeps(void **state)
{
    (void)state;
    char err[256];
    redis_t *r = redis_support_connect(NULL);
    const char *key = test_key(0, "expiry");
    char a[REDIS_LOCK_TOKEN_SIZE], b[REDIS_LOCK_TOKEN_SIZE];

    /* A short lease expires on its own. */
    assert_int_equal(redis_lock_acquire(r, key, 100, a, err, sizeof(err)), OD_OK);
    assert_int_equal(redis_lock_acquire(r, key, 100, b, err, sizeof(err)), OD_ERR_CONFLICT);
    HARNESS_WAIT(redis_support_pttl(r, key) == -2, 1000, "the 100 ms lease to expire");
    assert_int_equal(redis_lock_acquire(r, key, 5000, b, err, sizeof(err)), OD_OK);
    /* The old holder's token no longer touches it. */
    assert_int_equal(redis_lock_release(r, key, a, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_int_equal(redis_lock_extend(r, key, a, 5000, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_string_equal(redis_support_value(r, key), b);
    assert_int_equal(redis_lock_release(r, key, b, err, sizeof(err)), OD_OK);

    /* Extending a 1 s lease every 300 ms keeps it well past 1 s (the
     * margins leave room for a slow, sanitized CI machine). */
    assert_int_equal(redis_lock_acquire(r, key, 1000, a, err, sizeof(err)), OD_OK);
    for (int i = 0; i < 6; i++) {
        harness_sleep_ms(300);
        assert_int_equal(redis_lock_extend(r, key, a, 1000, err, sizeof(err)), OD_OK);
        assert_int_equal(redis_lock_acquire(r, key, 1000, b, err, sizeof(err)), OD_ERR_CONFLICT);
    }
    /* Stop extending: it lapses within its 1 s lease (and a margin). */
    HARNESS_WAIT(redis_support_pttl(r, key) == -2, 1500, "the 1 s lease to lapse");
    assert_int_equal(redis_lock_extend(r, key, a, 1000, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_int_equal(redis_lock_acquire(r, key, 1000, b, err, sizeof(err)), OD_OK);
    assert_int_equal(redis_lock_release(r, key, b, err, sizeof(err)), OD_OK);
    redis_free(r);
}

/* Release and extend still work after SCRIPT FLUSH empties the cache
 * (EVALSHA answers NOSCRIPT; the client falls back to EVAL). */
static void test_script_cache_fallback(void **state)
{
    (void)state;
    char err[256];
    redis_t *r = redis_support_connect(NULL);
    const char *key = test_key(0, "noscript");
    char token[REDIS_LOCK_TOKEN_SIZE];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(redis_lock_acquire(r, key, 5000, token, err, sizeof(err)), OD_OK);
        redis_support_script_flush(r);
        assert_int_equal(redis_lock_extend(r, key, token, 8000, err, sizeof(err)), OD_OK);
        assert_true(redis_support_pttl(r, key) > 5000);
        redis_support_script_flush(r);
        assert_int_equal(redis_lock_release(r, key, token, err, sizeof(err)), OD_OK);
        assert_string_equal(redis_support_value(r, key), "");
    }
    redis_free(r);
}

/* What the two processes share: a holder count that must never exceed one,
 * and a counter updated with a deliberately racy read-sleep-write that only
 * adds up if the lock really excludes. */
typedef struct shared {
    atomic_int holders;
    atomic_int overlaps;
    atomic_int bad_releases;
    int counter;
} shared_t;

#define CONTENDERS 2
#define ROUNDS     150

static int contend(shared_t *sh, const char *key)
{
    char err[256];
    redis_t *r = NULL;
    if (redis_new(support_env("OUTDIAL_REDIS_URL"), 2000, 2000, &r, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "child: %s\n", err);
        return 1;
    }
    char token[REDIS_LOCK_TOKEN_SIZE];
    int status = 0;
    for (int round = 0; round < ROUNDS && status == 0; round++) {
        int rc;
        /* 10 s lease: far longer than a round, so only release ends it. */
        while ((rc = redis_lock_acquire(r, key, 10000, token, err, sizeof(err))) == OD_ERR_CONFLICT)
            usleep(50);
        if (rc != OD_OK) {
            fprintf(stderr, "child acquire: %s\n", err);
            status = 1;
            break;
        }
        if (atomic_fetch_add(&sh->holders, 1) != 0)
            atomic_fetch_add(&sh->overlaps, 1);
        int seen = sh->counter;
        usleep(100);
        sh->counter = seen + 1;
        atomic_fetch_sub(&sh->holders, 1);
        if (redis_lock_release(r, key, token, err, sizeof(err)) != OD_OK) {
            atomic_fetch_add(&sh->bad_releases, 1);
            fprintf(stderr, "child release: %s\n", err);
        }
        usleep(20); /* give the other process a fair chance */
    }
    redis_free(r);
    return status;
}

static void test_two_processes_exclude(void **state)
{
    (void)state;
    const char *key = test_key(0, "contend");
    shared_t *sh =
        mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof(*sh));
    pid_t pids[CONTENDERS];
    for (int i = 0; i < CONTENDERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(contend(sh, key));
    }
    for (int i = 0; i < CONTENDERS; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(atomic_load(&sh->overlaps), 0);
    assert_int_equal(atomic_load(&sh->bad_releases), 0);
    assert_int_equal(sh->counter, CONTENDERS * ROUNDS);
    munmap(sh, sizeof(*sh));
    redis_t *r = redis_support_connect(NULL);
    assert_string_equal(redis_support_value(r, key), ""); /* the last holder released it */
    redis_free(r);
}

static void test_reconnect_after_client_kill(void **state)
{
    (void)state;
    char err[256];
    redis_t *r = redis_support_connect(NULL);
    redis_t *admin = redis_support_connect(NULL);
    const char *key = test_key(0, "reconnect");
    const char *lock = test_key(1, "reconnect-lock");
    assert_int_equal(redis_del(r, key, NULL, err, sizeof(err)), OD_OK);
    assert_int_equal(redis_reconnect_count(r), 0);

    /* An idempotent command reconnects and is re-sent: the caller sees
     * nothing but the answer. */
    assert_int_equal(redis_set_nx(admin, key, "v", 60000, err, sizeof(err)), OD_OK);
    redis_support_kill_connection(r, admin);
    assert_string_equal(redis_support_value(r, key), "v");
    assert_int_equal(redis_reconnect_count(r), 1);

    /* A non-idempotent one reconnects but is not re-sent, and says so; the
     * connection is good again for the next command. */
    assert_int_equal(redis_del(admin, key, NULL, err, sizeof(err)), OD_OK);
    redis_support_kill_connection(r, admin);
    assert_int_equal(redis_set_nx(r, key, "w", 60000, err, sizeof(err)), OD_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "not re-sent because it is not idempotent"));
    assert_int_equal(redis_reconnect_count(r), 2);
    assert_int_equal(redis_set_nx(r, key, "w", 60000, err, sizeof(err)), OD_OK);
    assert_string_equal(redis_support_value(admin, key), "w");

    /* Lock acquire, extend and release survive a killed connection. */
    char token[REDIS_LOCK_TOKEN_SIZE], other[REDIS_LOCK_TOKEN_SIZE];
    redis_support_kill_connection(r, admin);
    assert_int_equal(redis_lock_acquire(r, lock, 10000, token, err, sizeof(err)), OD_OK);
    assert_string_equal(redis_support_value(admin, lock), token);
    redis_support_kill_connection(r, admin);
    assert_int_equal(redis_lock_extend(r, lock, token, 20000, err, sizeof(err)), OD_OK);
    redis_support_kill_connection(r, admin);
    assert_int_equal(redis_lock_release(r, lock, token, err, sizeof(err)), OD_OK);
    assert_string_equal(redis_support_value(admin, lock), "");
    /* ...and a re-sent acquire still refuses a lock someone else holds. */
    assert_int_equal(redis_lock_acquire(admin, lock, 10000, other, err, sizeof(err)), OD_OK);
    redis_support_kill_connection(r, admin);
    assert_int_equal(redis_lock_acquire(r, lock, 10000, token, err, sizeof(err)), OD_ERR_CONFLICT);
    assert_string_equal(redis_support_value(admin, lock), other);
    assert_int_equal(redis_lock_release(admin, lock, other, err, sizeof(err)), OD_OK);
    assert_int_equal(redis_reconnect_count(r), 6);

    assert_int_equal(redis_del(r, key, NULL, err, sizeof(err)), OD_OK);
    redis_free(admin);
    redis_free(r);
}

#define SHARING_THREADS 4
#define SHARING_INCRS   100

static void *incr_many(void *p)
{
    redis_t *r = p;
    char err[256];
    const char *argv[] = {"INCR", key_buf[2]};
    long ok = 0;
    for (int i = 0; i < SHARING_INCRS; i++) {
        redisReply *reply = NULL;
        if (redis_command_argv(r, false, 2, argv, NULL, &reply, err, sizeof(err)) == OD_OK) {
            ok += reply->type == REDIS_REPLY_INTEGER;
            freeReplyObject(reply);
        }
    }
    return (void *)ok;
}

/* One client shared by threads: every command gets its own reply. */
static void test_shared_between_threads(void **state)
{
    (void)state;
    char err[256];
    redis_t *r = redis_support_connect(NULL);
    const char *key = test_key(2, "shared-counter");
    assert_int_equal(redis_del(r, key, NULL, err, sizeof(err)), OD_OK);
    thread_group_run(SHARING_THREADS, incr_many, r, SHARING_INCRS);
    char want[16];
    snprintf(want, sizeof(want), "%d", SHARING_THREADS * SHARING_INCRS);
    assert_string_equal(redis_support_value(r, key), want);
    assert_int_equal(redis_del(r, key, NULL, err, sizeof(err)), OD_OK);
    redis_free(r);
}

/* A command that gets no answer within the command timeout fails with
 * OD_ERR_TIMEOUT instead of hanging, and the client recovers. */
static void test_command_timeout(void **state)
{
    (void)state;
    char err[256];
    redis_t *r = NULL;
    assert_int_equal(redis_new(support_env("OUTDIAL_REDIS_URL"), 2000, 200, &r, err, sizeof(err)),
                     OD_OK);
    const char *key = test_key(0, "timeout-list");
    const char *argv[] = {"BLPOP", key, "5"};
    redisReply *reply = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(redis_command_argv(r, false, 3, argv, NULL, &reply, err, sizeof(err)),
                     OD_ERR_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 150 && ms < 2000);
    assert_string_equal(err, "redis BLPOP: no reply within 200 ms");
    assert_int_equal(redis_ping(r, err, sizeof(err)), OD_OK);
    redis_free(r);
}

/* Every test needs the stack's Redis: say how to start it before any runs. */
static int group_setup(void **state)
{
    (void)state;
    support_env("OUTDIAL_REDIS_URL");
    return 0;
}

OD_TEST_MAIN(group_setup, NULL, test_url_parse, test_connect_errors, test_helpers,
             test_wrong_token_does_nothing, test_expiry_frees_and_extend_keeps,
             test_script_cache_fallback, test_two_processes_exclude,
             test_reconnect_after_client_kill, test_shared_between_threads, test_command_timeout)

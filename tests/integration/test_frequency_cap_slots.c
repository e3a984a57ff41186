/* Frequency-cap slots (lib/cache/callslots.h) against the stack's Redis:
 * sixteen dialer threads, each with its own connection, race for the slots
 * of one number many times over and never take more than the cap; a slot is
 * held once per attempt (a re-sent script takes nothing twice); a refusal
 * names the calls that count, and freqcap_check turns them into the instant
 * the cap frees, which the script then accepts; calls age out after 24 h;
 * a released slot is taken again. */
#include <setjmp.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "callslots.h"
#include "freqcap.h"
#include "harness.h"
#include "redis.h"
#include "redis_support.h"
#include "support.h"

#define H      (3600LL * 1000000)
#define T0     (1780000000LL * 1000000)
#define TTL_MS (25LL * 3600 * 1000)

static char key_buf[128];

static const char *test_key(const char *name)
{
    snprintf(key_buf, sizeof(key_buf), "outdial:test:%d:calls:%s", (int)getpid(), name);
    return key_buf;
}

static void del_key(redis_t *r, const char *key)
{
    char err[256];
    assert_int_equal(redis_del(r, key, NULL, err, sizeof(err)), OD_OK);
}

/* One number's slots: a connection and the key, what each test of them
 * works on (the fixture's state). */
typedef struct slots {
    redis_t *r;
    const char *key;
} slots_t;

/* The slots of a test, empty. */
static int slots_setup(void **state)
{
    static slots_t s;
    s.r = redis_support_connect(NULL);
    s.key = test_key("slots");
    del_key(s.r, s.key);
    *state = &s;
    return 0;
}

/* Leaves nothing behind, whether the test passed or not: empties the key
 * and frees the connection. */
static int slots_teardown(void **state)
{
    slots_t *s = *state;
    del_key(s->r, s->key);
    redis_free(s->r);
    return 0;
}

/* The key expires, at the latest, the TTL given after its last write. */
static void expect_ttl_given(const slots_t *s)
{
    long long ttl = redis_support_pttl(s->r, s->key);
    assert_true(ttl > 0 && ttl <= TTL_MS);
}

/* Takes a slot for attempt at now with cap; fails the test on an error. */
static callslots_answer_t take(const slots_t *s, const char *attempt, int cap, int64_t now)
{
    char err[256];
    callslots_answer_t a;
    int rc = callslots_take(s->r, s->key, attempt, cap, now, FREQCAP_PERIOD_US, TTL_MS, &a, err,
                            sizeof(err));
    if (rc)
        fail_msg("callslots_take: %s", err);
    return a;
}

#define DIALERS 16
#define ROUNDS  40
#define CAP     3

typedef struct race {
    const char *url;
    const char *key_prefix;
    int dialer;
    _Atomic int *taken; /* per round */
    atomic_int errors;
} race_t;

/* One dialer: in every round, one attempt of its own for that round's
 * number; every dialer races for the same CAP slots. */
static void *dialer_thread(void *arg)
{
    race_t *rc = arg;
    char err[256];
    redis_t *r = NULL;
    if (redis_new(rc->url, 2000, 2000, &r, err, sizeof(err)) != OD_OK) {
        atomic_fetch_add(&rc->errors, 1);
        return NULL;
    }
    for (int round = 0; round < ROUNDS; round++) {
        char key[160], attempt[64];
        snprintf(key, sizeof(key), "%s:%d", rc->key_prefix, round);
        snprintf(attempt, sizeof(attempt), "attempt-%d-%d", round, rc->dialer);
        callslots_answer_t a;
        if (callslots_take(r, key, attempt, CAP, T0 + rc->dialer, FREQCAP_PERIOD_US, TTL_MS, &a,
                           err, sizeof(err)) != OD_OK) {
            atomic_fetch_add(&rc->errors, 1);
            continue;
        }
        if (a.taken)
            atomic_fetch_add(&rc->taken[round], 1);
    }
    redis_free(r);
    return NULL;
}

static void test_frequency_cap_dialers_race(void **state)
{
    (void)state;
    static _Atomic int taken[ROUNDS];
    for (int i = 0; i < ROUNDS; i++)
        atomic_store(&taken[i], 0);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "%s", test_key("race"));
    pthread_t threads[DIALERS];
    race_t args[DIALERS];
    for (int i = 0; i < DIALERS; i++) {
        args[i] = (race_t){.url = support_env("OUTDIAL_REDIS_URL"),
                           .key_prefix = prefix,
                           .dialer = i,
                           .taken = taken};
        atomic_init(&args[i].errors, 0);
        assert_int_equal(pthread_create(&threads[i], NULL, dialer_thread, &args[i]), 0);
    }
    for (int i = 0; i < DIALERS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < DIALERS; i++)
        assert_int_equal(atomic_load(&args[i].errors), 0);
    redis_t *r = redis_support_connect(NULL);
    for (int round = 0; round < ROUNDS; round++) {
        if (atomic_load(&taken[round]) != CAP)
            fail_msg("round %d: %d slots taken by %d dialers, cap %d", round,
                     atomic_load(&taken[round]), DIALERS, CAP);
        char key[160], err[256];
        snprintf(key, sizeof(key), "%s:%d", prefix, round);
        callslots_answer_t calls;
        assert_int_equal(callslots_read(r, key, T0 - FREQCAP_PERIOD_US, &calls, err, sizeof(err)),
                         OD_OK);
        assert_int_equal(calls.n_times, CAP);
        del_key(r, key);
    }
    redis_free(r);
}

static void test_frequency_cap_slot_lifecycle(void **state)
{
    slots_t *s = *state;

    /* Three calls over a day, cap 3. */
    assert_true(take(s, "a1", 3, T0 - 20 * H).taken);
    assert_true(take(s, "a2", 3, T0 - 5 * H).taken);
    assert_true(take(s, "a3", 3, T0 - 1 * H).taken);
    /* A re-sent script for a taken attempt takes nothing more. */
    assert_true(take(s, "a3", 3, T0).taken);

    /* Full: the refusal names the calls, oldest first. */
    callslots_answer_t a = take(s, "a4", 3, T0);
    assert_false(a.taken);
    assert_int_equal(a.n_times, 3);
    assert_true(a.times_us[0] == T0 - 20 * H);
    assert_true(a.times_us[2] == T0 - 1 * H);
    freqcap_verdict_t v;
    freqcap_check(3, a.times_us, a.n_times, T0, &v);
    assert_false(v.allowed);
    assert_true(v.clears_us == T0 + 4 * H);

    /* A microsecond before the cap frees: still full; at it, taken. */
    assert_false(take(s, "a4", 3, v.clears_us - 1).taken);
    assert_true(take(s, "a4", 3, v.clears_us).taken);

    /* The call 20 h ago aged out and was dropped. */
    char err[256];
    callslots_answer_t calls;
    assert_int_equal(
        callslots_read(s->r, s->key, v.clears_us - FREQCAP_PERIOD_US, &calls, err, sizeof(err)),
        OD_OK);
    assert_int_equal(calls.n_times, 3);

    /* A slot given back (the call was not placed) is free again. */
    assert_false(take(s, "a5", 3, v.clears_us + 1).taken);
    assert_int_equal(callslots_release(s->r, s->key, "a4", err, sizeof(err)), OD_OK);
    /* Twice: idempotent. */
    assert_int_equal(callslots_release(s->r, s->key, "a4", err, sizeof(err)), OD_OK);
    assert_true(take(s, "a5", 3, v.clears_us + 1).taken);

    /* The key expires with its last slot (the TTL given). */
    expect_ttl_given(s);
}

/* A slot placed later than it was taken counts from the placement: the
 * cap frees 24 h after it, not after the check; an earlier time, or an
 * attempt without a slot, changes nothing. */
static void test_frequency_cap_slot_placed(void **state)
{
    slots_t *s = *state;
    char err[256];
    assert_true(take(s, "p1", 1, T0).taken);
    assert_int_equal(callslots_placed(s->r, s->key, "p1", T0 + H, TTL_MS, err, sizeof(err)), OD_OK);
    assert_int_equal(callslots_placed(s->r, s->key, "p1", T0 + 1, TTL_MS, err, sizeof(err)), OD_OK);
    assert_int_equal(callslots_placed(s->r, s->key, "none", T0 + 2 * H, TTL_MS, err, sizeof(err)),
                     OD_OK);
    callslots_answer_t a = take(s, "p2", 1, T0 + FREQCAP_PERIOD_US);
    assert_false(a.taken); /* 24 h after the check, 23 h after the call */
    assert_int_equal(a.n_times, 1);
    assert_true(a.times_us[0] == T0 + H);
    assert_true(take(s, "p2", 1, T0 + H + FREQCAP_PERIOD_US).taken);

    /* The key lives at least the TTL given from the placement. */
    expect_ttl_given(s);
}

/* After SCRIPT FLUSH (a Redis restart) the script is loaded again. */
static void test_frequency_cap_script_reload(void **state)
{
    slots_t *s = *state;
    assert_true(take(s, "b1", 1, T0).taken);
    redis_support_script_flush(s->r);
    assert_false(take(s, "b2", 1, T0 + 1).taken);
}

int main(void)
{
    support_env("OUTDIAL_REDIS_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frequency_cap_dialers_race),
        cmocka_unit_test_setup_teardown(test_frequency_cap_slot_lifecycle, slots_setup,
                                        slots_teardown),
        cmocka_unit_test_setup_teardown(test_frequency_cap_slot_placed, slots_setup,
                                        slots_teardown),
        cmocka_unit_test_setup_teardown(test_frequency_cap_script_reload, slots_setup,
                                        slots_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

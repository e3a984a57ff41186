/* A/B arms (lib/rules/ab_arm.h): assignment is a function of the lead id
 * and the weights, stays in range, and over many ids converges to the
 * weights; the arms' checks, as a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ab_arm.h"
#include "test_main.h"
#include "uuid.h"

/* A random version-4 UUID from rand(): reproducible with the seed. */
static void fake_uuid(char out[UUID_STR_LEN])
{
    unsigned char b[16];
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (unsigned char)(rand() & 0xff);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, UUID_STR_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

typedef struct split_case {
    const char *name;
    int weights[AB_ARMS_MAX];
    size_t n;
} split_case_t;

static const split_case_t splits[] = {
    {"even", {1, 1}, 2},
    {"70/30", {70, 30}, 2},
    {"1:3", {1, 3}, 2},
    {"three unequal", {50, 30, 20}, 3},
    {"four", {10, 20, 30, 40}, 4},
    {"extremes", {1, 100}, 2},
    {"four of 100", {100, 100, 100, 100}, 4},
};

/* Over 100,000 random lead ids, each arm's share is within half a
 * percentage point of its weight's share (the binomial's standard error
 * at p = 0.5 is 0.16 points: three of them). */
static void test_split_converges(void **state)
{
    (void)state;
    srand(2026);
    const int n_ids = 100000;
    for (size_t c = 0; c < sizeof(splits) / sizeof(splits[0]); c++) {
        const split_case_t *sc = &splits[c];
        long counts[AB_ARMS_MAX] = {0};
        int total = 0;
        for (size_t i = 0; i < sc->n; i++)
            total += sc->weights[i];
        for (int k = 0; k < n_ids; k++) {
            char id[UUID_STR_LEN];
            fake_uuid(id);
            int arm = ab_arm_pick(id, sc->weights, sc->n);
            assert_in_range(arm, 0, (int)sc->n - 1);
            counts[arm]++;
        }
        for (size_t i = 0; i < sc->n; i++) {
            double want = (double)sc->weights[i] / total, got = (double)counts[i] / n_ids;
            if (got < want - 0.005 || got > want + 0.005)
                fail_msg("%s: arm %zu has %.4f of the leads, weight says %.4f", sc->name, i, got,
                         want);
        }
    }
}

/* Ids in sequence (the last characters differ) split as well as random
 * ones: the hash mixes the low bits. */
static void test_similar_ids_split(void **state)
{
    (void)state;
    const int weights[] = {1, 1};
    long counts[2] = {0};
    for (int k = 0; k < 20000; k++) {
        char id[UUID_STR_LEN];
        snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", k);
        counts[ab_arm_pick(id, weights, 2)]++;
    }
    assert_in_range(counts[0], 9700, 10300);
}

/* The same id and weights give the same arm, every time; the pick depends
 * on the id and not on the order it is asked in. */
static void test_deterministic(void **state)
{
    (void)state;
    const int weights[] = {30, 30, 40};
    static const char *const ids[] = {
        "5f2b7c1e-8a3d-4c6f-9b1a-2d3e4f5a6b7c",
        "00000000-0000-4000-8000-000000000000",
        "ffffffff-ffff-4fff-bfff-ffffffffffff",
    };
    int first[3];
    for (size_t i = 0; i < 3; i++)
        first[i] = ab_arm_pick(ids[i], weights, 3);
    for (int round = 0; round < 100; round++)
        for (size_t i = 3; i-- > 0;)
            assert_int_equal(ab_arm_pick(ids[i], weights, 3), first[i]);
    /* A single arm takes every lead. */
    const int one[] = {7};
    assert_int_equal(ab_arm_pick(ids[0], one, 1), 0);
}

/* Out of range: -1, never an arm. */
static void test_pick_bad_input(void **state)
{
    (void)state;
    const char *id = "5f2b7c1e-8a3d-4c6f-9b1a-2d3e4f5a6b7c";
    const int zero[] = {0, 1}, big[] = {101, 1}, ok[] = {1, 1, 1, 1, 1};
    assert_int_equal(ab_arm_pick(id, zero, 2), -1);
    assert_int_equal(ab_arm_pick(id, big, 2), -1);
    assert_int_equal(ab_arm_pick(id, ok, 0), -1);
    assert_int_equal(ab_arm_pick(id, ok, 5), -1);
    assert_int_equal(ab_arm_pick(NULL, ok, 2), -1);
}

#define A "11111111-1111-4111-8111-111111111111"
#define B "22222222-2222-4222-8222-222222222222"
#define C "33333333-3333-4333-8333-333333333333"
#define D "44444444-4444-4444-8444-444444444444"
#define E "55555555-5555-4555-8555-555555555555"

typedef struct check_case {
    const char *name;
    ab_arm_spec_t arms[6];
    size_t n;
    const char *want; /* NULL: valid; else a piece of the message */
} check_case_t;

static const check_case_t checks[] = {
    {"two arms", {{A, 50}, {B, 50}}, 2, NULL},
    {"four arms, extremes", {{A, 1}, {B, 100}, {C, 1}, {D, 100}}, 4, NULL},
    {"one arm", {{A, 50}}, 1, "2 to 4 assistants"},
    {"none", {{A, 1}}, 0, "2 to 4 assistants"},
    {"five arms", {{A, 1}, {B, 1}, {C, 1}, {D, 1}, {E, 1}}, 5, "(got 5)"},
    {"weight 0", {{A, 0}, {B, 50}}, 2, "arms[0].weight must be an integer between 1 and 100"},
    {"weight 101", {{A, 1}, {B, 101}}, 2, "arms[1].weight"},
    {"negative weight", {{A, -5}, {B, 1}}, 2, "(got -5)"},
    {"same assistant", {{A, 1}, {B, 1}, {A, 2}}, 3, "arms[0] and arms[2] name the same"},
    {"same, other case", {{A, 1}, {"11111111-1111-4111-8111-111111111111", 1}}, 2, "same"},
    {"not a uuid", {{A, 1}, {"assistant-2", 1}}, 2, "arms[1].assistant_id must be"},
    {"missing id", {{A, 1}, {NULL, 1}}, 2, "arms[1].assistant_id"},
};

static void test_check_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        const check_case_t *cc = &checks[i];
        char err[256] = "";
        int rc = ab_arms_check(cc->arms, cc->n, err, sizeof(err));
        if (!cc->want) {
            if (rc != OD_OK)
                fail_msg("%s: refused: %s", cc->name, err);
            continue;
        }
        if (rc != OD_ERR_INVALID)
            fail_msg("%s: accepted", cc->name);
        if (!strstr(err, cc->want))
            fail_msg("%s: message '%s' lacks '%s'", cc->name, err, cc->want);
    }
}

OD_TEST_MAIN(NULL, NULL, test_split_converges, test_similar_ids_split, test_deterministic,
             test_pick_bad_input, test_check_table)

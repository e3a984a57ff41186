/* Caller-ID pools (lib/rules/caller_id.h): the order of each strategy over
 * a table of pools and callees (area code, then state, then any; sticky;
 * round robin), the pick over resting numbers and the earliest wake, the
 * strategy names, and the local day and next midnight of a number's zone
 * (DST days included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caller_id.h"
#include "case_file.h"
#include "test_main.h"
#include "test_rules_support.h"

#define SF    "+14155550100" /* San Francisco, CA */
#define ALB   "+15185550100" /* Albany, NY */
#define NYC   "+12125550199" /* Manhattan, NY */
#define MIA   "+13055550100" /* Miami, FL */
#define LEAD1 "6f1c1b4e-0000-4000-8000-000000000001"

typedef struct order_case {
    const char *name;
    caller_id_strategy_t strategy;
    const char *pool[4];
    size_t n;
    const char *callee;
    const char *region; /* the callee's stated region, or NULL */
    const char *sticky;
    uint64_t turn;
    size_t want[4]; /* the order, tier by tier */
    size_t n_want;
    size_t tiers[4];    /* the tiers' sizes: within a tier, any order */
    char pool_text[80]; /* where pool points */
} order_case_t;

/* The cell of row and column, a list "A,B,C" of at most 4 items, split
 * into out as rt_split does (a copy in storage); a list with more items,
 * an empty item, or too long for storage fails the test. */
static size_t list_read(const case_file_t *cf, size_t row, size_t column, char *storage,
                        size_t storage_len, const char *out[4])
{
    const char *list = case_file_cell(cf, row, column);
    size_t n_items = 1;
    for (const char *p = list ? list : ""; *p; p++)
        n_items += *p == ',';
    size_t n = rt_split(list, storage, storage_len, out, 4);
    if (!list || strlen(list) >= storage_len || n != n_items)
        fail_msg("%s: %s '%s' is not a list of 1 to 4 items", case_file_cell(cf, row, 0),
                 cf->cells[column], list ? list : "-");
    return n;
}

/* The cell of row and column, positions "2,1,0", into out. */
static size_t positions_read(const case_file_t *cf, size_t row, size_t column, size_t out[4])
{
    char buf[64];
    const char *items[4];
    size_t n = list_read(cf, row, column, buf, sizeof(buf), items);
    for (size_t i = 0; i < n; i++) {
        long long position;
        if (!case_file_whole(items[i], &position) || position < 0)
            fail_msg("%s: %s: '%s' is not a whole number, 0 or more", case_file_cell(cf, row, 0),
                     cf->cells[column], items[i]);
        out[i] = (size_t)position;
    }
    return n;
}

/* Row row of cases/caller_id_order.tsv into k; its strings point into cf. */
static void order_case_read(const case_file_t *cf, size_t row, order_case_t *k)
{
    memset(k, 0, sizeof(*k));
    k->name = case_file_cell(cf, row, 0);
    char err[256];
    if (caller_id_strategy_parse(case_file_cell(cf, row, 1), &k->strategy, err, sizeof(err)) !=
        OD_OK)
        fail_msg("%s: %s", k->name, err);
    k->n = list_read(cf, row, 2, k->pool_text, sizeof(k->pool_text), k->pool);
    k->callee = case_file_cell(cf, row, 3);
    k->region = case_file_cell(cf, row, 4);
    k->sticky = case_file_cell(cf, row, 5);
    k->turn = (uint64_t)case_file_int(cf, row, 6);
    k->n_want = positions_read(cf, row, 7, k->want);
    positions_read(cf, row, 8, k->tiers);
}

static bool tier_holds(const size_t *got, const size_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n; j++)
            found |= got[i] == want[j];
        if (!found)
            return false;
    }
    return true;
}

static void test_order_table(void **state)
{
    (void)state;
    static const char *const columns[] = {"name",   "strategy", "pool", "callee", "region",
                                          "sticky", "turn",     "want", "tiers"};
    case_file_t *cf =
        case_file_load("caller_id_order", columns, sizeof(columns) / sizeof(columns[0]), 13);
    for (size_t c = 0; c < cf->n_rows; c++) {
        order_case_t row;
        order_case_read(cf, c, &row);
        const order_case_t *k = &row;
        caller_id_callee_t callee = {.e164 = k->callee,
                                     .region = k->region,
                                     .sticky = k->sticky,
                                     .lead_id = LEAD1,
                                     .turn = k->turn};
        size_t order[CALLER_ID_POOL_MAX];
        size_t n = caller_id_order(k->strategy, k->pool, k->n, &callee, order);
        if (n != k->n_want)
            fail_msg("%s: %zu numbers, want %zu", k->name, n, k->n_want);
        for (size_t t = 0, at = 0; at < n; at += k->tiers[t++])
            if (k->tiers[t] == 0 || !tier_holds(order + at, k->want + at, k->tiers[t]))
                fail_msg("%s: tier %zu (from position %zu) starts with %zu, want %zu", k->name, t,
                         at, order[at], k->want[at]);
    }
    case_file_free(cf);
}

/* Equal numbers of a tier spread over leads, and a lead keeps its place. */
static void test_local_presence_spreads_leads(void **state)
{
    (void)state;
    const char *pool[] = {ALB, "+15185550101", "+15185550102"};
    int firsts[3] = {0};
    for (int l = 0; l < 300; l++) {
        char lead[40];
        snprintf(lead, sizeof(lead), "6f1c1b4e-0000-4000-8000-%012d", l);
        caller_id_callee_t callee = {.e164 = "+15185550199", .lead_id = lead};
        size_t a[CALLER_ID_POOL_MAX], b[CALLER_ID_POOL_MAX];
        assert_int_equal(caller_id_order(CALLER_ID_LOCAL_PRESENCE, pool, 3, &callee, a), 3);
        assert_int_equal(caller_id_order(CALLER_ID_LOCAL_PRESENCE, pool, 3, &callee, b), 3);
        assert_memory_equal(a, b, 3 * sizeof(size_t));
        firsts[a[0]]++;
    }
    for (int i = 0; i < 3; i++)
        assert_true(firsts[i] > 50);
}

/* Round robin over turns: each number first equally often. */
static void test_round_robin_spreads(void **state)
{
    (void)state;
    const char *pool[] = {SF, ALB, NYC, MIA};
    int firsts[4] = {0};
    for (uint64_t turn = 0; turn < 40; turn++) {
        caller_id_callee_t callee = {.e164 = "+12125550100", .turn = turn};
        size_t order[CALLER_ID_POOL_MAX];
        assert_int_equal(caller_id_order(CALLER_ID_ROUND_ROBIN, pool, 4, &callee, order), 4);
        firsts[order[0]]++;
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(firsts[i], 10);
}

static void test_empty_and_oversized_pools(void **state)
{
    (void)state;
    caller_id_callee_t callee = {.e164 = "+12125550100"};
    size_t order[CALLER_ID_POOL_MAX];
    assert_int_equal(caller_id_order(CALLER_ID_ROUND_ROBIN, NULL, 0, &callee, order), 0);
    const char *pool[CALLER_ID_POOL_MAX + 5];
    for (size_t i = 0; i < CALLER_ID_POOL_MAX + 5; i++)
        pool[i] = SF;
    assert_int_equal(
        caller_id_order(CALLER_ID_ROUND_ROBIN, pool, CALLER_ID_POOL_MAX + 5, &callee, order),
        CALLER_ID_POOL_MAX);
}

typedef struct pick_case {
    const char *name;
    size_t order[4];
    size_t n_order;
    bool resting[4];
    int64_t wakes[4];
    bool want_exhausted;
    size_t want_index;
    int64_t want_wakes;
} pick_case_t;

static const pick_case_t picks[] = {
    {"none resting: the first", {2, 0, 1}, 3, {false, false, false}, {0}, false, 2, 0},
    {"the first rests: the next", {2, 0, 1}, 3, {false, false, true}, {0, 0, 500}, false, 0, 0},
    {"all resting: the earliest wake",
     {2, 0, 1},
     3,
     {true, true, true},
     {900, 300, 500},
     true,
     0,
     300},
    {"sticky alone, resting: its own wake",
     {1},
     1,
     {false, true, false},
     {0, 700, 100},
     true,
     0,
     700},
    {"an empty order is exhausted", {0}, 0, {false}, {0}, true, 0, INT64_MAX},
};

static void test_pick_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(picks) / sizeof(picks[0]); c++) {
        const pick_case_t *k = &picks[c];
        caller_id_pick_t got;
        caller_id_pick(k->order, k->n_order, k->resting, k->wakes, &got);
        if (got.exhausted != k->want_exhausted)
            fail_msg("%s: exhausted %d", k->name, got.exhausted);
        if (!got.exhausted && got.index != k->want_index)
            fail_msg("%s: picked %zu, want %zu", k->name, got.index, k->want_index);
        if (got.exhausted && got.wakes_us != k->want_wakes)
            fail_msg("%s: wakes %lld, want %lld", k->name, (long long)got.wakes_us,
                     (long long)k->want_wakes);
    }
}

static void test_strategy_names(void **state)
{
    (void)state;
    char err[128];
    for (int s = 0; s < CALLER_ID_STRATEGY_COUNT; s++) {
        caller_id_strategy_t got;
        assert_int_equal(
            caller_id_strategy_parse(caller_id_strategy_name(s), &got, err, sizeof(err)), OD_OK);
        assert_int_equal(got, s);
    }
    caller_id_strategy_t got;
    assert_int_equal(caller_id_strategy_parse("nearest", &got, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "'nearest' is not single, local_presence, sticky or round_robin");
    assert_int_equal(caller_id_strategy_parse(NULL, &got, err, sizeof(err)), OD_ERR_INVALID);
}

#define S 1000000LL

/* 2026-03-08 is the US spring-forward day (a 23 h day in New York);
 * 2026-11-01 the fall-back day (25 h). */
static void test_day_and_midnight(void **state)
{
    (void)state;
    char err[128];
    int64_t day, next;
    /* 2026-06-15 12:00 UTC = 08:00 in New York, 21:00 in Tokyo. */
    int64_t t = 1781524800LL * S;
    assert_int_equal(caller_id_day("America/New_York", t, &day, &next, err, sizeof(err)), OD_OK);
    assert_int_equal(day, 20619);             /* 2026-06-15 */
    assert_int_equal(next, 1781582400LL * S); /* 2026-06-16 04:00 UTC */
    assert_int_equal(caller_id_day("Asia/Tokyo", t, &day, &next, err, sizeof(err)), OD_OK);
    assert_int_equal(day, 20619);
    assert_int_equal(next, 1781535600LL * S); /* 2026-06-15 15:00 UTC */
    /* 2026-03-08 10:00 UTC (05:00 EST... EDT from 07:00 UTC): midnight of
     * the 9th is 04:00 UTC (EDT). */
    assert_int_equal(
        caller_id_day("America/New_York", 1772964000LL * S, &day, &next, err, sizeof(err)), OD_OK);
    assert_int_equal(day, 20520);
    assert_int_equal(next, 1773028800LL * S);
    /* 2026-11-01 12:00 UTC (07:00 EST): midnight of the 2nd is 05:00 UTC. */
    assert_int_equal(
        caller_id_day("America/New_York", 1793534400LL * S, &day, &next, err, sizeof(err)), OD_OK);
    assert_int_equal(day, 20758);
    assert_int_equal(next, 1793595600LL * S);
    /* Just before and at midnight. */
    assert_int_equal(caller_id_day("UTC", 1781568000LL * S - 1, &day, &next, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(day, 20619);
    assert_int_equal(next, 1781568000LL * S);
    assert_int_equal(caller_id_day("UTC", 1781568000LL * S, &day, &next, err, sizeof(err)), OD_OK);
    assert_int_equal(day, 20620);
    assert_int_equal(caller_id_day("Mars/Olympus", t, &day, &next, err, sizeof(err)),
                     OD_ERR_INVALID);
}

OD_TEST_MAIN(NULL, NULL, test_order_table, test_local_presence_spreads_leads,
             test_round_robin_spreads, test_empty_and_oversized_pools, test_pick_table,
             test_strategy_names, test_day_and_midnight)

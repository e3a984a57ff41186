/* The per-number figures of a campaign's stats (stats_caller_ids.h), from
 * counter rows (name, value) as stats.c reads them: which rows make which
 * numbers, in what order, and what a campaign of the strategy single
 * shows. */
#include <jansson.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stats_caller_ids.h"
#include "test_main.h"

/* A result of the columns (name, value) holding rows[0..n), as the
 * campaign's counters read returns it. The caller PQclears it. */
static PGresult *counter_rows(const char *const rows[][2], size_t n)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(res);
    PGresAttDesc attrs[2] = {{.name = (char *)"name", .format = 0, .typid = 25, .typlen = -1},
                             {.name = (char *)"sum", .format = 0, .typid = 20, .typlen = 8}};
    assert_true(PQsetResultAttrs(res, 2, attrs));
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 2; c++)
            assert_true(PQsetvalue(res, (int)i, c, (char *)rows[i][c], (int)strlen(rows[i][c])));
    return res;
}

/* The array as "number:calls/answered/rate ..." (rate "-" when null). */
static void render(const json_t *list, char *out, size_t len)
{
    size_t at = 0;
    out[0] = '\0';
    size_t i;
    json_t *n;
    json_array_foreach(list, i, n)
    {
        const json_t *rate = json_object_get(n, "answer_rate");
        char r[16] = "-";
        if (json_is_real(rate))
            snprintf(r, sizeof(r), "%.2f", json_real_value(rate));
        at += (size_t)snprintf(out + at, len - at, "%s%s:%lld/%lld/%s", i ? " " : "",
                               json_string_value(json_object_get(n, "phone_number")),
                               (long long)json_integer_value(json_object_get(n, "calls")),
                               (long long)json_integer_value(json_object_get(n, "answered")), r);
        assert_true(at < len);
    }
}

static void test_numbers_from_counters(void **state)
{
    (void)state;
    static const char *const none[][2] = {{"calls", "0"}};
    static const char *const two[][2] = {
        /* in stats.c's order: by length, then name */
        {"calls", "9"},
        {"arms.0.calls", "4"},
        {"caller_ids.+13105550100.calls", "4"},
        {"caller_ids.+12125550100.calls", "5"},
        {"caller_ids.+12125550100.answered", "2"},
        {"caller_ids.+13105550100.answered", "1"},
    };
    static const char *const skipped_only[][2] = {
        {"caller_ids.+14155550100.skipped", "2"},
        {"caller_ids.+12125550100.calls", "1"},
    };
    static const char *const gone[][2] = {
        /* a number whose calls were deleted: its counters sum to 0 */
        {"caller_ids.+12125550100.calls", "0"},
        {"caller_ids.+12125550100.answered", "0"},
        {"caller_ids.+13105550100.calls", "3"},
    };
    static const char *const odd[][2] = {
        /* names without a number or a figure are left out */
        {"caller_ids.", "3"},
        {"caller_ids..calls", "3"},
        {"caller_ids.+12125550100", "3"},
        {"caller_ids.+13105550100.calls", "2"},
        {"caller_ids.+13105550100.dropped", "7"},
    };
    static const struct {
        const char *const (*rows)[2];
        size_t n;
        bool pool;
        const char *want;
    } cases[] = {
        {none, 1, true, ""},
        {two, 6, true, "+12125550100:5/2/0.40 +13105550100:4/1/0.25"},
        {two, 6, false, ""},
        {skipped_only, 2, true, "+12125550100:1/0/0.00 +14155550100:0/0/-"},
        {gone, 3, true, "+13105550100:3/0/0.00"},
        {odd, 5, true, "+13105550100:2/0/0.00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        PGresult *res = counter_rows(cases[i].rows, cases[i].n);
        json_t *list = stats_caller_ids_json(res, cases[i].pool);
        char got[256];
        render(list, got, sizeof(got));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
        json_decref(list);
        PQclear(res);
    }
}

OD_TEST_MAIN(NULL, NULL, test_numbers_from_counters)

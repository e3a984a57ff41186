/*
 * stats_caller_ids.c — the per-number part of a campaign's statistics
 * (GET /v1/campaigns/{id}/stats, "caller_ids"): for each number its calls
 * came from (call.caller_id), the calls placed and how many a person
 * answered, so that a number that carriers flag as spam ("burned") shows
 * as an answer rate below its siblings'.
 *
 * Read from the counters caller_ids.<e164>.calls, .answered and .skipped
 * (migration 021), which the call triggers move: the figures cost the same
 * at ten calls and at ten million. Only a campaign whose strategy picks
 * from a pool shows them; a single-number campaign's answer rate is the
 * campaign's own.
 */
#include "stats_caller_ids.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define CALLER_PREFIX "caller_ids."

/* One counter of a number: its number and figure point into the row's
 * name (borrowed from the result). */
typedef struct caller_counter {
    const char *number;
    size_t number_len;
    const char *figure;
    long long value;
} caller_counter_t;

static int caller_counter_cmp(const void *a, const void *b)
{
    const caller_counter_t *x = a, *y = b;
    size_t n = x->number_len < y->number_len ? x->number_len : y->number_len;
    int c = memcmp(x->number, y->number, n);
    if (c)
        return c;
    return x->number_len < y->number_len ? -1 : x->number_len > y->number_len;
}

/* The number's entry of the array, from its counters. */
static json_t *caller_json(const caller_counter_t *c, size_t n)
{
    long long calls = 0, answered = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(c[i].figure, "calls") == 0)
            calls += c[i].value;
        else if (strcmp(c[i].figure, "answered") == 0)
            answered += c[i].value;
        else if (strcmp(c[i].figure, "skipped") == 0)
            skipped += c[i].value;
    }
    if (calls == 0 && answered == 0 && skipped == 0)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "phone_number", json_stringn(c[0].number, c[0].number_len));
    json_object_set_new(o, "calls", json_integer(calls));
    json_object_set_new(o, "answered", json_integer(answered));
    json_object_set_new(o, "answer_rate",
                        calls ? json_real((double)answered / (double)calls) : json_null());
    return o;
}

json_t *stats_caller_ids_json(const PGresult *counters, bool pool)
{
    json_t *list = json_array();
    int rows = pool ? PQntuples(counters) : 0;
    caller_counter_t *cs = rows ? xcalloc((size_t)rows, sizeof(*cs)) : NULL;
    size_t n = 0;
    for (int i = 0; cs && i < rows; i++) {
        const char *name = PQgetvalue(counters, i, 0);
        if (strncmp(name, CALLER_PREFIX, strlen(CALLER_PREFIX)) != 0)
            continue;
        const char *number = name + strlen(CALLER_PREFIX);
        const char *dot = strrchr(number, '.');
        if (!dot || dot == number)
            continue;
        cs[n++] = (caller_counter_t){number, (size_t)(dot - number), dot + 1,
                                     strtoll(PQgetvalue(counters, i, 1), NULL, 10)};
    }
    if (n)
        qsort(cs, n, sizeof(*cs), caller_counter_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && caller_counter_cmp(&cs[i], &cs[j]) == 0)
            j++;
        json_t *o = caller_json(cs + i, j - i);
        if (o)
            json_array_append_new(list, o);
        i = j;
    }
    free(cs);
    return list;
}

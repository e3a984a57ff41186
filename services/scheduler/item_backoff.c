#include "item_backoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "xmalloc.h"

typedef struct entry {
    char id[ITEM_BACKOFF_ID_MAX];
    int failures;
    int64_t retry_at_us;
} entry_t;

struct item_backoff {
    int64_t first_us, max_us;
    entry_t *entries; /* few: only items that are failing */
    size_t n, cap;
};

int64_t item_backoff_delay_us(int failures, int64_t first_us, int64_t max_us)
{
    return od_backoff_doubling(failures, first_us, max_us);
}

bool item_backoff_pass_fails(int rc)
{
    return rc == OD_ERR_UNAVAILABLE;
}

item_backoff_t *item_backoff_new(int64_t first_us, int64_t max_us)
{
    item_backoff_t *t = xcalloc(1, sizeof(*t));
    t->first_us = first_us;
    t->max_us = max_us;
    return t;
}

void item_backoff_free(item_backoff_t *t)
{
    if (!t)
        return;
    free(t->entries);
    free(t);
}

static entry_t *entry_find(const item_backoff_t *t, const char *id)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (strcmp(t->entries[i].id, id) == 0)
            return &t->entries[i];
    return NULL;
}

static void entry_remove(item_backoff_t *t, entry_t *e)
{
    *e = t->entries[--t->n];
}

bool item_backoff_held(const item_backoff_t *t, const char *id, int64_t now_us)
{
    const entry_t *e = entry_find(t, id);
    return e && now_us < e->retry_at_us;
}

int64_t item_backoff_fail(item_backoff_t *t, const char *id, int64_t now_us)
{
    if (!t)
        return 0;
    for (size_t i = 0; i < t->n;) {
        if (t->entries[i].retry_at_us + t->max_us < now_us)
            entry_remove(t, &t->entries[i]);
        else
            i++;
    }
    entry_t *e = entry_find(t, id);
    if (!e) {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 16;
            t->entries = xrealloc(t->entries, t->cap * sizeof(*t->entries));
        }
        e = &t->entries[t->n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->id, sizeof(e->id), "%s", id);
    }
    e->failures++;
    int64_t delay = item_backoff_delay_us(e->failures, t->first_us, t->max_us);
    e->retry_at_us = now_us + delay;
    return delay;
}

void item_backoff_ok(item_backoff_t *t, const char *id)
{
    entry_t *e = entry_find(t, id);
    if (e)
        entry_remove(t, e);
}

char *item_backoff_held_array(const item_backoff_t *t, int64_t now_us)
{
    size_t cap = 3 + (t ? t->n : 0) * (ITEM_BACKOFF_ID_MAX + 1);
    char *out = xmalloc(cap);
    size_t len = 0;
    out[len++] = '{';
    for (size_t i = 0; t && i < t->n; i++) {
        if (now_us >= t->entries[i].retry_at_us)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len > 1 ? "," : "", t->entries[i].id);
    }
    snprintf(out + len, cap - len, "}");
    return out;
}

/*
 * calls.c — the table of calls in flight (calls.h).
 */
#include "calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dlist.h"
#include "xmalloc.h"

#define CALLS_BUCKETS_MIN 1024

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void call_table_init(call_table_t *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    od_cond_init_clock(&t->cond, CLOCK_REALTIME);
    t->nbuckets = CALLS_BUCKETS_MIN;
    t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
}

void call_table_destroy(call_table_t *t)
{
    dial_call_t *c = t->head;
    while (c) {
        dial_call_t *next = c->next;
        free(c);
        c = next;
    }
    free(t->buckets);
    call_ids_clear(&t->reg_new);
    call_ids_clear(&t->reg_gone);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
    memset(t, 0, sizeof(*t));
}

dial_call_t *call_table_find(call_table_t *t, const char *attempt_id)
{
    for (dial_call_t *c = t->buckets[hash_str(attempt_id) % t->nbuckets]; c; c = c->hnext)
        if (strcmp(c->attempt.attempt_id, attempt_id) == 0)
            return c;
    return NULL;
}

/* Doubles the bucket array when the load passes 1. */
static void grow(call_table_t *t)
{
    size_t n = t->nbuckets * 2;
    dial_call_t **b = xcalloc(n, sizeof(*b));
    for (dial_call_t *c = t->head; c; c = c->next) {
        size_t i = hash_str(c->attempt.attempt_id) % n;
        c->hnext = b[i];
        b[i] = c;
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

dial_call_t *call_table_add(call_table_t *t, const provider_attempt_t *attempt)
{
    if (t->count + 1 > t->nbuckets)
        grow(t);
    dial_call_t *c = xcalloc(1, sizeof(*c));
    c->attempt = *attempt;
    size_t i = hash_str(attempt->attempt_id) % t->nbuckets;
    c->hnext = t->buckets[i];
    t->buckets[i] = c;
    DLIST_PUSH(t->head, c, prev, next);
    t->count++;
    return c;
}

void call_table_remove(call_table_t *t, dial_call_t *c)
{
    dial_call_t **pp = &t->buckets[hash_str(c->attempt.attempt_id) % t->nbuckets];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    DLIST_REMOVE(t->head, c, prev, next);
    t->count--;
    if (c->registered)
        call_ids_push(&t->reg_gone, c->attempt.attempt_id);
    free(c);
}

void call_table_wait(call_table_t *t, int64_t deadline_real_us)
{
    struct timespec until = {.tv_sec = deadline_real_us / 1000000,
                             .tv_nsec = (long)(deadline_real_us % 1000000) * 1000};
    pthread_cond_timedwait(&t->cond, &t->mu, &until);
}

void call_mark_initiated(dial_call_t *c, int64_t now_real_us)
{
    c->init = CALL_INIT_DONE;
    c->initiated_real_us = now_real_us;
    c->reconcile_at_real_us = now_real_us + c->reconcile_after_us;
}

void call_set_provider_id(call_table_t *t, dial_call_t *c, const char *provider_call_id)
{
    if (c->provider_call_id[0] || !provider_call_id || !provider_call_id[0])
        return;
    snprintf(c->provider_call_id, sizeof(c->provider_call_id), "%s", provider_call_id);
    call_ids_push(&t->reg_new, c->attempt.attempt_id);
}

bool call_table_init_claim(call_table_t *t, const char *attempt_id, const char *provider_call_id,
                           int64_t deadline_real_us)
{
    bool claim = false;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        dial_call_t *c = call_table_find(t, attempt_id);
        if (!c || c->init == CALL_INIT_DONE || c->init == CALL_INIT_ABANDONED)
            break;
        bool expired = od_clock_real_us() >= deadline_real_us;
        if (c->init == CALL_INIT_NONE && (!c->posting || expired)) {
            /* The create-call answer never came (or is late): the webhook
             * proves the call exists. */
            c->init = CALL_INIT_PUBLISHING;
            call_set_provider_id(t, c, provider_call_id);
            claim = true;
            break;
        }
        if (expired)
            break; /* the loop is publishing it; go on rather than time the provider out */
        call_table_wait(t, deadline_real_us);
    }
    pthread_mutex_unlock(&t->mu);
    return claim;
}

void call_table_init_settle(call_table_t *t, const char *attempt_id, bool ok, int64_t now_real_us)
{
    pthread_mutex_lock(&t->mu);
    dial_call_t *c = call_table_find(t, attempt_id);
    if (c)
        c->init = ok ? CALL_INIT_DONE : CALL_INIT_NONE;
    if (c && ok)
        call_mark_initiated(c, now_real_us);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

void call_table_ended_seen(call_table_t *t, const char *attempt_id, int64_t now_real_us)
{
    pthread_mutex_lock(&t->mu);
    dial_call_t *c = call_table_find(t, attempt_id);
    if (c && !c->ended_seen_real_us)
        c->ended_seen_real_us = now_real_us;
    pthread_mutex_unlock(&t->mu);
}

bool call_table_terminal_done(call_table_t *t, const char *attempt_id)
{
    pthread_mutex_lock(&t->mu);
    dial_call_t *c = call_table_find(t, attempt_id);
    bool done = c && c->terminal_done;
    pthread_mutex_unlock(&t->mu);
    return done;
}

void call_table_mark_terminal(call_table_t *t, const char *attempt_id, char e164[PROVIDER_E164_MAX])
{
    pthread_mutex_lock(&t->mu);
    dial_call_t *c = call_table_find(t, attempt_id);
    if (c) {
        c->terminal_done = true;
        if (!e164[0])
            snprintf(e164, PROVIDER_E164_MAX, "%s", c->e164);
    }
    pthread_mutex_unlock(&t->mu);
}

void call_ids_push(call_ids_t *l, const char *id)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->ids = xrealloc(l->ids, l->cap * sizeof(*l->ids));
    }
    snprintf(l->ids[l->n++], UUID_STR_LEN, "%s", id);
}

void call_ids_clear(call_ids_t *l)
{
    free(l->ids);
    memset(l, 0, sizeof(*l));
}

/*
 * reconcile.c — lease renewal and lookups of the calls in flight
 * (reconcile.h).
 */
#include "reconcile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dial_event.h"
#include "log.h"
#include "rkeys.h"
#include "xmalloc.h"

/* Reconciliation and lease renewal pass, real time. */
#define RECONCILE_SWEEP_US (200 * 1000)
/* Lookups of one call before reconciliation gives up on it (spaced 1 s,
 * 2 s, 4 s ... capped at 60 s: about 8 minutes in all). */
#define RECONCILE_LOOKUPS_MAX           14
#define RECONCILE_LOOKUP_BACKOFF_MAX_US (60LL * 1000 * 1000)

typedef struct lookup_ack {
    note_queue_t *notes;
    char attempt_id[UUID_STR_LEN];
} lookup_ack_t;

/* Publisher thread: hand the outcome to the dial loop. */
static void lookup_event_done(void *arg, int rc, const char *err)
{
    lookup_ack_t *a = arg;
    note_queue_push(a->notes, NOTE_RECONCILED, NULL, a->attempt_id, rc, err);
    free(a);
}

void reconcile_init(reconcile_t *r, const reconcile_env_t *env)
{
    r->env = *env;
    r->next_sweep_real_us = 0;
}

/* Schedules the next lookup of a call, or gives up on it. */
static void lookup_later(call_table_t *calls, const char *attempt_id, const char *why)
{
    pthread_mutex_lock(&calls->mu);
    dial_call_t *c = call_table_find(calls, attempt_id);
    if (c) {
        c->lookup_in_flight = false;
        c->lookups++;
        if (c->lookups >= RECONCILE_LOOKUPS_MAX) {
            log_error("reconcile",
                      "attempt %s (call %s): no end after %d lookups (%s); giving up: the "
                      "scheduler's processing timeout closes the attempt",
                      attempt_id, c->provider_call_id, c->lookups, why);
            call_table_remove(calls, c);
        } else {
            int64_t backoff = (int64_t)1000000 << (c->lookups > 6 ? 6 : c->lookups - 1);
            if (backoff > RECONCILE_LOOKUP_BACKOFF_MAX_US)
                backoff = RECONCILE_LOOKUP_BACKOFF_MAX_US;
            c->next_lookup_real_us = od_clock_real_us() + backoff;
        }
    }
    pthread_mutex_unlock(&calls->mu);
}

void reconcile_lookup_done(reconcile_t *r, const xfer_t *x, CURLcode crc)
{
    const reconcile_env_t *e = &r->env;
    char err[512];
    if (crc != CURLE_OK) {
        lookup_later(e->calls, x->attempt_id, curl_easy_strerror(crc));
        return;
    }
    long status = xfer_http_status(x);
    provider_lookup_t kind = PROVIDER_LOOKUP_RETRY;
    provider_msg_t msg;
    if (x->ops->call_lookup_parse(status, x->resp, x->resp_len, &kind, &msg, err, sizeof(err))) {
        lookup_later(e->calls, x->attempt_id, err);
        return;
    }
    dial_event_t ev;
    memset(&ev, 0, sizeof(ev));
    int64_t now = od_clock_now_us(&e->cfg->clk);
    if (kind == PROVIDER_LOOKUP_ENDED) {
        if (strcmp(msg.attempt.attempt_id, x->attempt_id) != 0) {
            snprintf(err, sizeof(err), "the call object belongs to attempt %s",
                     msg.attempt.attempt_id);
            provider_msg_clear(&msg);
            lookup_later(e->calls, x->attempt_id, err);
            return;
        }
        if (dial_event_from_msg(&ev, &msg, now) != OD_OK) {
            provider_msg_clear(&msg);
            lookup_later(e->calls, x->attempt_id, "no event in the call object");
            return;
        }
        pthread_mutex_lock(&e->calls->mu);
        const dial_call_t *placed = call_table_find(e->calls, x->attempt_id);
        if (placed)
            dial_event_caller_id_set(&ev, placed->caller_id);
        pthread_mutex_unlock(&e->calls->mu);
        if (!msg.result.reason_known)
            log_warn("ended_reason",
                     "attempt %s: unknown %s ended reason '%s' taken as a transient "
                     "failure",
                     x->attempt_id, x->ops->name, msg.result.ended_reason);
        provider_msg_clear(&msg);
    } else if (kind == PROVIDER_LOOKUP_NOT_FOUND) {
        pthread_mutex_lock(&e->calls->mu);
        dial_call_t *c = call_table_find(e->calls, x->attempt_id);
        provider_attempt_t a;
        if (c)
            a = c->attempt;
        pthread_mutex_unlock(&e->calls->mu);
        if (!c)
            return;
        dial_event_failed(&ev, &a, DIAL_KIND_END, false, "provider-call-not-found", "", now);
    } else {
        lookup_later(e->calls, x->attempt_id,
                     kind == PROVIDER_LOOKUP_RUNNING ? "still running" : "provider error");
        return;
    }
    log_info("reconcile", "attempt %s: terminal event from the provider's call object (%s)",
             x->attempt_id, model_call_status_name((model_call_status_t)(ev.ev.status - 1)));
    lookup_ack_t *a = xcalloc(1, sizeof(*a));
    a->notes = e->notes;
    snprintf(a->attempt_id, sizeof(a->attempt_id), "%s", x->attempt_id);
    if (publisher_send(e->pub, &ev, lookup_event_done, a, err, sizeof(err))) {
        free(a);
        log_error("event_encode", "attempt %s: %s", x->attempt_id, err);
        lookup_later(e->calls, x->attempt_id, err);
    }
    dial_event_clear(&ev);
}

typedef struct sweep_item {
    char attempt_id[UUID_STR_LEN];
    char call_id[PROVIDER_CALL_ID_MAX];
    char e164[PROVIDER_E164_MAX];
    const provider_ops_t *ops; /* NULL: unknown, looked up with the first provider */
    int64_t lease_ms;
    bool lookup;
    bool renew;
} sweep_item_t;

void reconcile_sweep(reconcile_t *r)
{
    const reconcile_env_t *e = &r->env;
    int64_t now = od_clock_real_us();
    if (now < r->next_sweep_real_us)
        return;
    r->next_sweep_real_us = now + RECONCILE_SWEEP_US;
    sweep_item_t *items = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&e->calls->mu);
    dial_call_t *c = e->calls->head;
    while (c) {
        dial_call_t *next = c->next;
        if (c->terminal_done && !c->job && !c->lookup_in_flight) {
            call_table_remove(e->calls, c);
            c = next;
            continue;
        }
        bool renew = c->lock_held && !c->terminal_done && now >= c->lock_renew_real_us;
        bool lookup = c->init == CALL_INIT_DONE && !c->terminal_done && !c->lookup_in_flight &&
                      c->provider_call_id[0] && now >= c->next_lookup_real_us &&
                      (now >= c->reconcile_at_real_us ||
                       (c->ended_seen_real_us &&
                        now >= c->ended_seen_real_us + e->cfg->report_grace_ms * 1000));
        if (renew || lookup) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                items = xrealloc(items, cap * sizeof(*items));
            }
            sweep_item_t *it = &items[n++];
            snprintf(it->attempt_id, sizeof(it->attempt_id), "%s", c->attempt.attempt_id);
            snprintf(it->call_id, sizeof(it->call_id), "%s", c->provider_call_id);
            snprintf(it->e164, sizeof(it->e164), "%s", c->e164);
            it->ops = c->ops;
            it->lease_ms = c->lock_lease_ms;
            it->renew = renew;
            it->lookup = lookup;
            if (renew)
                c->lock_renew_real_us = now + c->lock_lease_ms * 1000 / 2;
            if (lookup)
                c->lookup_in_flight = true;
        }
        c = next;
    }
    size_t tracked = e->calls->count;
    pthread_mutex_unlock(&e->calls->mu);
    metrics_gauge_set(e->m->calls_in_flight, (double)tracked);

    for (size_t i = 0; i < n; i++) {
        sweep_item_t *it = &items[i];
        char err[512];
        if (it->renew) {
            char key[RKEYS_KEY_MAX];
            rkeys_line(e->cfg->redis_prefix, it->e164, key);
            int rc = line_locks_extend(e->lines, key, it->attempt_id, it->lease_ms);
            if (rc == OD_ERR_CONFLICT) {
                pthread_mutex_lock(&e->calls->mu);
                dial_call_t *cc = call_table_find(e->calls, it->attempt_id);
                if (cc)
                    cc->lock_held = false;
                pthread_mutex_unlock(&e->calls->mu);
            }
        }
        if (it->lookup) {
            log_info("reconcile", "attempt %s: no end-of-call report; looking call %s up",
                     it->attempt_id, it->call_id);
            const dialer_provider_t *p =
                it->ops ? dialer_config_provider(e->cfg, it->ops->name) : &e->cfg->providers[0];
            if (!p) { /* a call of a provider this dialer no longer serves */
                lookup_later(e->calls, it->attempt_id, "its provider is not configured here");
                continue;
            }
            xfer_t *x = xcalloc(1, sizeof(*x));
            x->kind = XFER_LOOKUP;
            x->ops = p->ops;
            snprintf(x->attempt_id, sizeof(x->attempt_id), "%s", it->attempt_id);
            if (x->ops->call_lookup_build(&p->conf, it->call_id, &x->req, err, sizeof(err)) ||
                xfer_start(e->xfers, x, e->cfg->lookup_timeout_ms)) {
                xfer_free(x);
                lookup_later(e->calls, it->attempt_id, "the lookup request could not be made");
            }
        }
    }
    free(items);
}

void reconcile_note(reconcile_t *r, const dial_note_t *n)
{
    const reconcile_env_t *e = &r->env;
    char line[RKEYS_KEY_MAX] = "";
    pthread_mutex_lock(&e->calls->mu);
    dial_call_t *c = call_table_find(e->calls, n->attempt_id);
    if (c && n->rc == OD_OK) {
        c->terminal_done = true;
        c->lookup_in_flight = false;
        if (c->lock_held)
            rkeys_line(e->cfg->redis_prefix, c->e164, line);
        c->lock_held = false;
    }
    pthread_mutex_unlock(&e->calls->mu);
    if (n->rc == OD_OK) {
        metrics_counter_add(e->m->reconciled, 1);
        if (line[0])
            line_locks_release(e->lines, line, n->attempt_id);
    } else {
        log_warn("event_publish", "attempt %s: reconciled event: %s", n->attempt_id, n->err);
        lookup_later(e->calls, n->attempt_id, n->err);
    }
}

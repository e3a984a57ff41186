/*
 * registry.c — the registry of calls in flight (registry.h): the dial
 * loop's Redis work: registering and forgetting calls, the heartbeat, and
 * taking over the calls of dead dialers.
 */
#include "registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dialer_config.h"
#include "log.h"
#include "xmalloc.h"

/* Heartbeat period: a tenth of the TTL. */
#define REGISTRY_BEAT_US (1000 * 1000)
/* How often the set of dialers is checked for dead ones. */
#define REGISTRY_SCAN_US (2 * 1000 * 1000)
/* After a failed write, the next try (the dial loop must not spin on a
 * Redis that is down: its jobs' checks wait for it too). */
#define REGISTRY_RETRY_US (1000 * 1000)
/* Fields per HSET/HDEL command: bounded so that one command stays small. */
#define REGISTRY_BATCH 500

/* Runs one command; logs and counts a failure. The reply (may be NULL on
 * success if reply_out is NULL) is the caller's to free. */
static int command(registry_t *r, const char *what, int argc, const char **argv,
                   redisReply **reply_out)
{
    char err[256];
    redisReply *reply = NULL;
    int rc = redis_command_argv(r->env.lr->redis, true, argc, argv, NULL, &reply, err, sizeof(err));
    loop_redis_result(r->env.lr, rc);
    if (rc) {
        log_warn("registry", "%s: %s", what, err);
        return rc;
    }
    if (reply_out)
        *reply_out = reply;
    else
        freeReplyObject(reply);
    return OD_OK;
}

/* HSET key with the pairs fields[i] -> values[i], REGISTRY_BATCH at a time. */
static int hash_set(registry_t *r, const char *key, char (*fields)[UUID_STR_LEN],
                    char (*values)[REGISTRY_ENTRY_MAX], size_t n)
{
    const char **argv = xmalloc((2 + 2 * REGISTRY_BATCH) * sizeof(*argv));
    int rc = OD_OK;
    for (size_t at = 0; at < n && !rc; at += REGISTRY_BATCH) {
        size_t k = n - at < REGISTRY_BATCH ? n - at : REGISTRY_BATCH;
        argv[0] = "HSET";
        argv[1] = key;
        for (size_t i = 0; i < k; i++) {
            argv[2 + 2 * i] = fields[at + i];
            argv[3 + 2 * i] = values[at + i];
        }
        rc = command(r, "register calls", (int)(2 + 2 * k), argv, NULL);
    }
    free(argv);
    return rc;
}

/* HDEL key fields, REGISTRY_BATCH at a time. */
static int hash_del(registry_t *r, const char *key, const call_ids_t *ids)
{
    const char **argv = xmalloc((2 + REGISTRY_BATCH) * sizeof(*argv));
    int rc = OD_OK;
    for (size_t at = 0; at < ids->n && !rc; at += REGISTRY_BATCH) {
        size_t k = ids->n - at < REGISTRY_BATCH ? ids->n - at : REGISTRY_BATCH;
        argv[0] = "HDEL";
        argv[1] = key;
        for (size_t i = 0; i < k; i++)
            argv[2 + i] = ids->ids[at + i];
        rc = command(r, "forget calls", (int)(2 + k), argv, NULL);
    }
    free(argv);
    return rc;
}

/* Writes n entries into our hash; when that fails, the calls are marked
 * unregistered and queued on reg_new for the next flush. */
static int register_calls(registry_t *r, char (*fields)[UUID_STR_LEN],
                          char (*values)[REGISTRY_ENTRY_MAX], size_t n)
{
    int rc = hash_set(r, r->inflight_key, fields, values, n);
    if (rc == OD_OK)
        return OD_OK;
    pthread_mutex_lock(&r->env.calls->mu);
    for (size_t i = 0; i < n; i++) {
        dial_call_t *c = call_table_find(r->env.calls, fields[i]);
        if (c && c->registered) {
            c->registered = false;
            call_ids_push(&r->env.calls->reg_new, fields[i]);
        }
    }
    pthread_mutex_unlock(&r->env.calls->mu);
    return rc;
}

/* Writes the entries of the calls queued on reg_new (those still tracked,
 * not ended, with a provider id) and removes those queued on reg_gone.
 * What fails is queued again for the next try. */
static void registry_flush(registry_t *r, int64_t now)
{
    if (now < r->retry_real_us)
        return;
    pthread_mutex_lock(&r->env.calls->mu);
    if (!r->env.calls->reg_new.n && !r->env.calls->reg_gone.n) {
        pthread_mutex_unlock(&r->env.calls->mu);
        return;
    }
    call_ids_t add = r->env.calls->reg_new, gone = r->env.calls->reg_gone;
    memset(&r->env.calls->reg_new, 0, sizeof(r->env.calls->reg_new));
    memset(&r->env.calls->reg_gone, 0, sizeof(r->env.calls->reg_gone));
    char(*fields)[UUID_STR_LEN] = xmalloc((add.n ? add.n : 1) * sizeof(*fields));
    char(*values)[REGISTRY_ENTRY_MAX] = xmalloc((add.n ? add.n : 1) * sizeof(*values));
    size_t n = 0;
    for (size_t i = 0; i < add.n; i++) {
        dial_call_t *c = call_table_find(r->env.calls, add.ids[i]);
        if (!c || c->registered || c->terminal_done || !c->provider_call_id[0])
            continue;
        registry_entry_t e;
        memset(&e, 0, sizeof(e));
        e.attempt = c->attempt;
        snprintf(e.provider_call_id, sizeof(e.provider_call_id), "%s", c->provider_call_id);
        snprintf(e.e164, sizeof(e.e164), "%s", c->e164);
        e.lease_ms = c->lock_lease_ms > 0 ? c->lock_lease_ms : 1;
        if (c->ops)
            snprintf(e.provider, sizeof(e.provider), "%s", c->ops->name);
        char err[256];
        if (registry_entry_format(&e, values[n], sizeof(values[n]), err, sizeof(err))) {
            log_warn("registry", "attempt %s: not registered: %s", add.ids[i], err);
            continue;
        }
        snprintf(fields[n++], UUID_STR_LEN, "%s", add.ids[i]);
        c->registered = true;
    }
    pthread_mutex_unlock(&r->env.calls->mu);

    bool failed = n && register_calls(r, fields, values, n) != OD_OK;
    if (gone.n && hash_del(r, r->inflight_key, &gone)) {
        failed = true;
        pthread_mutex_lock(&r->env.calls->mu);
        for (size_t i = 0; i < gone.n; i++)
            call_ids_push(&r->env.calls->reg_gone, gone.ids[i]);
        pthread_mutex_unlock(&r->env.calls->mu);
    }
    if (failed)
        r->retry_real_us = now + REGISTRY_RETRY_US;
    free(fields);
    free(values);
    call_ids_clear(&add);
    call_ids_clear(&gone);
}

static void registry_beat(registry_t *r)
{
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%d", REGISTRY_ALIVE_TTL_MS);
    const char *set[] = {"SET", r->alive_key, r->env.instance_id, "PX", ttl};
    const char *sadd[] = {"SADD", r->dialers_key, r->env.instance_id};
    if (command(r, "heartbeat", 5, set, NULL) == OD_OK)
        (void)command(r, "join the dialers", 3, sadd, NULL);
}

/* Adds the call of one dead dialer's entry to the table, to be looked up
 * at once. Returns whether it was added (false: already tracked here). */
static bool adopt(registry_t *r, const registry_entry_t *e, int64_t now)
{
    bool added = false;
    pthread_mutex_lock(&r->env.calls->mu);
    if (!call_table_find(r->env.calls, e->attempt.attempt_id)) {
        dial_call_t *c = call_table_add(r->env.calls, &e->attempt);
        snprintf(c->e164, sizeof(c->e164), "%s", e->e164);
        snprintf(c->provider_call_id, sizeof(c->provider_call_id), "%s", e->provider_call_id);
        c->ops = provider_find(e->provider); /* NULL (version 1): the first provider's */
        c->init = CALL_INIT_DONE;
        c->initiated_real_us = now;
        /* Its placer is gone: nobody waits for the report any more. */
        c->reconcile_at_real_us = now;
        c->lock_held = true;
        c->lock_lease_ms = e->lease_ms;
        c->lock_renew_real_us = now;
        c->registered = true;
        added = true;
    }
    pthread_mutex_unlock(&r->env.calls->mu);
    return added;
}

/* The dead instance's entries (an HGETALL reply) into our table; fills
 * fields/values (arrays of the reply's size) with those newly adopted.
 * Returns how many; *bad counts the unreadable ones (dropped). */
static size_t adopt_all(registry_t *r, const char *instance, const redisReply *reply, int64_t now,
                        char (*fields)[UUID_STR_LEN], char (*values)[REGISTRY_ENTRY_MAX],
                        size_t *bad)
{
    size_t pairs = reply->type == REDIS_REPLY_ARRAY ? reply->elements / 2 : 0, n = 0;
    char err[256];
    for (size_t i = 0; i < pairs; i++) {
        const redisReply *f = reply->element[2 * i], *v = reply->element[2 * i + 1];
        registry_entry_t e;
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            f->len >= UUID_STR_LEN || v->len >= REGISTRY_ENTRY_MAX) {
            log_warn("registry", "dialer %s: an entry that is not a string pair is dropped",
                     instance);
            (*bad)++;
            continue;
        }
        if (registry_entry_parse(f->str, v->str, v->len, &e, err, sizeof(err))) {
            log_warn("registry", "dialer %s: an unreadable entry is dropped: %s", instance, err);
            (*bad)++;
            continue;
        }
        if (!adopt(r, &e, now))
            continue;
        snprintf(fields[n], UUID_STR_LEN, "%s", e.attempt.attempt_id);
        memcpy(values[n], v->str, v->len);
        values[n][v->len] = '\0';
        n++;
    }
    return n;
}

/* Reads the hash key; NULL (logged) when Redis fails. */
static redisReply *hash_read(registry_t *r, const char *key)
{
    redisReply *reply = NULL;
    const char *hgetall[] = {"HGETALL", key};
    if (command(r, "read calls in flight", 2, hgetall, &reply))
        return NULL;
    return reply;
}

/* At start: calls a previous process with our instance id left (it was
 * killed and we restarted under the same id, so nobody else takes them
 * over: our heartbeat is back). Returns OD_OK once read. */
static int registry_resume(registry_t *r, int64_t now)
{
    redisReply *reply = hash_read(r, r->inflight_key);
    if (!reply)
        return OD_ERR_UNAVAILABLE;
    size_t pairs = reply->type == REDIS_REPLY_ARRAY ? reply->elements / 2 : 0, bad = 0;
    char(*fields)[UUID_STR_LEN] = xmalloc((pairs ? pairs : 1) * sizeof(*fields));
    char(*values)[REGISTRY_ENTRY_MAX] = xmalloc((pairs ? pairs : 1) * sizeof(*values));
    size_t n = adopt_all(r, r->env.instance_id, reply, now, fields, values, &bad);
    freeReplyObject(reply);
    if (n || bad) {
        metrics_counter_add(r->env.calls_adopted, n);
        log_warn("registry",
                 "%zu calls in flight of this instance's previous process taken over "
                 "(%zu unreadable)",
                 n, bad);
    }
    free(fields);
    free(values);
    return OD_OK;
}

/* Takes over the calls of instance, whose heartbeat has expired. */
static void takeover(registry_t *r, const char *instance, int64_t now)
{
    char alive[RKEYS_KEY_MAX], claim[RKEYS_KEY_MAX], hash[RKEYS_KEY_MAX], err[256];
    rkeys_alive(r->env.prefix, instance, alive);
    rkeys_takeover(r->env.prefix, instance, claim);
    rkeys_inflight(r->env.prefix, instance, hash);
    redisReply *reply = NULL;
    const char *exists[] = {"EXISTS", alive};
    if (command(r, "heartbeat check", 2, exists, &reply))
        return;
    bool is_alive = reply->type == REDIS_REPLY_INTEGER && reply->integer > 0;
    freeReplyObject(reply);
    if (is_alive)
        return;
    int rc = redis_set_nx(r->env.lr->redis, claim, r->env.instance_id, REGISTRY_TAKEOVER_TTL_MS,
                          err, sizeof(err));
    if (rc == OD_ERR_CONFLICT)
        return; /* another dialer is on it */
    if (rc) {
        log_warn("registry", "takeover claim on %s: %s", instance, err);
        return;
    }
    reply = hash_read(r, hash);
    if (!reply)
        return;
    size_t pairs = reply->type == REDIS_REPLY_ARRAY ? reply->elements / 2 : 0, bad = 0;
    char(*fields)[UUID_STR_LEN] = xmalloc((pairs ? pairs : 1) * sizeof(*fields));
    char(*values)[REGISTRY_ENTRY_MAX] = xmalloc((pairs ? pairs : 1) * sizeof(*values));
    size_t n = adopt_all(r, instance, reply, now, fields, values, &bad);
    freeReplyObject(reply);
    /* Ours now: in our hash before the dead one goes, so that our own death
     * in between loses nothing. */
    if (n && register_calls(r, fields, values, n)) {
        log_warn("registry", "dialer %s: %zu calls taken over but not registered here yet",
                 instance, n);
        goto out;
    }
    const char *del[] = {"DEL", hash};
    const char *srem[] = {"SREM", r->dialers_key, instance};
    if (command(r, "remove a dead dialer's calls", 2, del, NULL) == OD_OK)
        (void)command(r, "remove a dead dialer", 3, srem, NULL);
    metrics_counter_add(r->env.calls_adopted, n);
    if (n || bad)
        log_warn("registry",
                 "dialer %s is gone: %zu of its calls in flight taken over (%zu unreadable)",
                 instance, n, bad);
out:
    free(fields);
    free(values);
}

static void registry_scan(registry_t *r, int64_t now)
{
    redisReply *reply = NULL;
    const char *smembers[] = {"SMEMBERS", r->dialers_key};
    if (command(r, "list the dialers", 2, smembers, &reply))
        return;
    if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < reply->elements; i++) {
            redisReply *m = reply->element[i];
            if (m->type != REDIS_REPLY_STRING || strcmp(m->str, r->env.instance_id) == 0 ||
                m->len >= DIALER_INSTANCE_ID_MAX)
                continue;
            takeover(r, m->str, now);
        }
    }
    freeReplyObject(reply);
}

void registry_init(registry_t *r, const registry_env_t *env)
{
    memset(r, 0, sizeof(*r));
    r->env = *env;
    rkeys_inflight(r->env.prefix, r->env.instance_id, r->inflight_key);
    rkeys_alive(r->env.prefix, r->env.instance_id, r->alive_key);
    rkeys_dialers(r->env.prefix, r->dialers_key);
}

void registry_tick(registry_t *r)
{
    int64_t now = od_clock_real_us();
    if (!r->resumed && now >= r->retry_real_us) {
        if (registry_resume(r, now) == OD_OK)
            r->resumed = true;
        else
            r->retry_real_us = now + REGISTRY_RETRY_US;
    }
    registry_flush(r, now);
    if (now >= r->next_beat_real_us) {
        r->next_beat_real_us = now + REGISTRY_BEAT_US;
        registry_beat(r);
    }
    if (now >= r->next_scan_real_us) {
        r->next_scan_real_us = now + REGISTRY_SCAN_US;
        registry_scan(r, now);
    }
}

void registry_leave(registry_t *r)
{
    r->retry_real_us = 0;
    registry_flush(r, od_clock_real_us());
    size_t open = 0;
    pthread_mutex_lock(&r->env.calls->mu);
    for (dial_call_t *c = r->env.calls->head; c; c = c->next)
        open += c->registered && !c->terminal_done;
    pthread_mutex_unlock(&r->env.calls->mu);
    const char *del_alive[] = {"DEL", r->alive_key};
    if (open) {
        /* Without the heartbeat, another dialer takes them over at its
         * next scan. */
        log_warn("shutdown", "%zu calls still in flight: left to another dialer to reconcile",
                 open);
        (void)command(r, "stop the heartbeat", 2, del_alive, NULL);
        return;
    }
    const char *del_hash[] = {"DEL", r->inflight_key};
    const char *srem[] = {"SREM", r->dialers_key, r->env.instance_id};
    if (command(r, "remove our calls", 2, del_hash, NULL) == OD_OK &&
        command(r, "leave the dialers", 3, srem, NULL) == OD_OK)
        (void)command(r, "stop the heartbeat", 2, del_alive, NULL);
}

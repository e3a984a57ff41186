/*
 * registry.c — the registry of calls in flight (registry.h): the entry
 * format, and the dial loop's Redis work: registering and forgetting
 * calls, the heartbeat, and taking over the calls of dead dialers.
 */
#include "registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialer_internal.h"
#include "log.h"
#include "rkeys.h"
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

#define ENTRY_VERSION "1"
#define ENTRY_FIELDS  8

static int field_check(const char *name, const char *value, bool required, char *errbuf,
                       size_t errlen)
{
    if (required && !value[0])
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: %s is empty", name);
    if (strpbrk(value, "\t\n\r"))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: %s holds a tab or a line break", name);
    return OD_OK;
}

int registry_entry_format(const registry_entry_t *e, char *out, size_t outlen, char *errbuf,
                          size_t errlen)
{
    int rc = field_check("provider call id", e->provider_call_id, true, errbuf, errlen);
    if (!rc)
        rc = field_check("e164", e->e164, true, errbuf, errlen);
    if (!rc)
        rc = field_check("lead id", e->attempt.lead_id, true, errbuf, errlen);
    if (!rc)
        rc = field_check("campaign id", e->attempt.campaign_id, true, errbuf, errlen);
    if (!rc)
        rc = field_check("account id", e->attempt.account_id, true, errbuf, errlen);
    if (rc)
        return rc;
    if (e->lease_ms < 1)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: lease %" PRId64 " ms",
                       e->lease_ms);
    int n = snprintf(out, outlen, ENTRY_VERSION "\t%s\t%s\t%s\t%s\t%s\t%" PRIu32 "\t%" PRId64,
                     e->provider_call_id, e->e164, e->attempt.lead_id, e->attempt.campaign_id,
                     e->attempt.account_id, e->attempt.attempt_number, e->lease_ms);
    if (n < 0 || (size_t)n >= outlen)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: longer than %zu bytes",
                       outlen - 1);
    return OD_OK;
}

/* Copies field [p, p+len) into dst (size dstlen). */
static int field_copy(const char *name, const char *p, size_t len, char *dst, size_t dstlen,
                      char *errbuf, size_t errlen)
{
    if (len == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: %s is empty", name);
    if (len >= dstlen)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: %s is longer than %zu characters", name, dstlen - 1);
    memcpy(dst, p, len);
    dst[len] = '\0';
    return OD_OK;
}

/* Parses [p, p+len) as a decimal integer in [min, max]. */
static int field_int(const char *name, const char *p, size_t len, int64_t min, int64_t max,
                     int64_t *out, char *errbuf, size_t errlen)
{
    char buf[24];
    if (len == 0 || len >= sizeof(buf))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: %s is not a number", name);
    memcpy(buf, p, len);
    buf[len] = '\0';
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9' || v > (INT64_MAX - 9) / 10)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "registry entry: %s '%s' is not a number", name, buf);
        v = v * 10 + (buf[i] - '0');
    }
    if (v < min || v > max)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: %s %" PRId64 " is outside %" PRId64 "..%" PRId64, name, v,
                       min, max);
    *out = v;
    return OD_OK;
}

int registry_entry_parse(const char *attempt_id, const char *text, size_t len,
                         registry_entry_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!uuid_str_valid(attempt_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: the attempt id '%.40s' is not a UUID", attempt_id);
    snprintf(out->attempt.attempt_id, sizeof(out->attempt.attempt_id), "%s", attempt_id);
    const char *f[ENTRY_FIELDS];
    size_t flen[ENTRY_FIELDS];
    size_t nf = 0;
    const char *p = text, *end = text + len;
    for (;;) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *stop = tab ? tab : end;
        if (nf == ENTRY_FIELDS)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: more than %d fields",
                           ENTRY_FIELDS);
        f[nf] = p;
        flen[nf++] = (size_t)(stop - p);
        if (!tab)
            break;
        p = tab + 1;
    }
    if (nf != ENTRY_FIELDS)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: %zu fields, not %d", nf,
                       ENTRY_FIELDS);
    if (flen[0] != 1 || f[0][0] != ENTRY_VERSION[0])
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: unknown version '%.*s' (this dialer reads " ENTRY_VERSION
                       ")",
                       (int)(flen[0] > 8 ? 8 : flen[0]), f[0]);
    if (memchr(text, '\0', len) || memchr(text, '\n', len))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: holds a NUL byte or a line break");
    int rc = field_copy("provider call id", f[1], flen[1], out->provider_call_id,
                        sizeof(out->provider_call_id), errbuf, errlen);
    if (!rc)
        rc = field_copy("e164", f[2], flen[2], out->e164, sizeof(out->e164), errbuf, errlen);
    if (!rc)
        rc = field_copy("lead id", f[3], flen[3], out->attempt.lead_id,
                        sizeof(out->attempt.lead_id), errbuf, errlen);
    if (!rc)
        rc = field_copy("campaign id", f[4], flen[4], out->attempt.campaign_id,
                        sizeof(out->attempt.campaign_id), errbuf, errlen);
    if (!rc)
        rc = field_copy("account id", f[5], flen[5], out->attempt.account_id,
                        sizeof(out->attempt.account_id), errbuf, errlen);
    int64_t number = 0;
    if (!rc)
        rc = field_int("attempt number", f[6], flen[6], 0, UINT32_MAX, &number, errbuf, errlen);
    if (!rc)
        rc = field_int("lease", f[7], flen[7], 1, INT64_MAX / 1000, &out->lease_ms, errbuf, errlen);
    if (rc)
        return rc;
    out->attempt.attempt_number = (uint32_t)number;
    if (!uuid_str_valid(out->attempt.lead_id) || !uuid_str_valid(out->attempt.campaign_id) ||
        !uuid_str_valid(out->attempt.account_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: the lead, campaign or account id is not a UUID");
    return OD_OK;
}

/* ---- the dial loop's Redis work ---- */

/* Runs one command; logs and counts a failure. The reply (may be NULL on
 * success if reply_out is NULL) is the caller's to free. */
static int command(dialer_t *d, const char *what, int argc, const char **argv,
                   redisReply **reply_out)
{
    char err[256];
    redisReply *reply = NULL;
    int rc = redis_command_argv(d->redis, true, argc, argv, NULL, &reply, err, sizeof(err));
    dialer_redis_result(d, rc);
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
static int hash_set(dialer_t *d, const char *key, char (*fields)[UUID_STR_LEN],
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
        rc = command(d, "register calls", (int)(2 + 2 * k), argv, NULL);
    }
    free(argv);
    return rc;
}

/* HDEL key fields, REGISTRY_BATCH at a time. */
static int hash_del(dialer_t *d, const char *key, const call_ids_t *ids)
{
    const char **argv = xmalloc((2 + REGISTRY_BATCH) * sizeof(*argv));
    int rc = OD_OK;
    for (size_t at = 0; at < ids->n && !rc; at += REGISTRY_BATCH) {
        size_t k = ids->n - at < REGISTRY_BATCH ? ids->n - at : REGISTRY_BATCH;
        argv[0] = "HDEL";
        argv[1] = key;
        for (size_t i = 0; i < k; i++)
            argv[2 + i] = ids->ids[at + i];
        rc = command(d, "forget calls", (int)(2 + k), argv, NULL);
    }
    free(argv);
    return rc;
}

/* Writes n entries into our hash; when that fails, the calls are marked
 * unregistered and queued on reg_new for the next flush. */
static int register_calls(dialer_t *d, char (*fields)[UUID_STR_LEN],
                          char (*values)[REGISTRY_ENTRY_MAX], size_t n)
{
    int rc = hash_set(d, d->reg_inflight_key, fields, values, n);
    if (rc == OD_OK)
        return OD_OK;
    pthread_mutex_lock(&d->calls.mu);
    for (size_t i = 0; i < n; i++) {
        dial_call_t *c = call_table_find(&d->calls, fields[i]);
        if (c && c->registered) {
            c->registered = false;
            call_ids_push(&d->calls.reg_new, fields[i]);
        }
    }
    pthread_mutex_unlock(&d->calls.mu);
    return rc;
}

/* Writes the entries of the calls queued on reg_new (those still tracked,
 * not ended, with a provider id) and removes those queued on reg_gone.
 * What fails is queued again for the next try. */
static void registry_flush(dialer_t *d, int64_t now)
{
    if (now < d->reg_retry_real_us)
        return;
    pthread_mutex_lock(&d->calls.mu);
    if (!d->calls.reg_new.n && !d->calls.reg_gone.n) {
        pthread_mutex_unlock(&d->calls.mu);
        return;
    }
    call_ids_t add = d->calls.reg_new, gone = d->calls.reg_gone;
    memset(&d->calls.reg_new, 0, sizeof(d->calls.reg_new));
    memset(&d->calls.reg_gone, 0, sizeof(d->calls.reg_gone));
    char(*fields)[UUID_STR_LEN] = xmalloc((add.n ? add.n : 1) * sizeof(*fields));
    char(*values)[REGISTRY_ENTRY_MAX] = xmalloc((add.n ? add.n : 1) * sizeof(*values));
    size_t n = 0;
    for (size_t i = 0; i < add.n; i++) {
        dial_call_t *c = call_table_find(&d->calls, add.ids[i]);
        if (!c || c->registered || c->terminal_done || !c->provider_call_id[0])
            continue;
        registry_entry_t e;
        memset(&e, 0, sizeof(e));
        e.attempt = c->attempt;
        snprintf(e.provider_call_id, sizeof(e.provider_call_id), "%s", c->provider_call_id);
        snprintf(e.e164, sizeof(e.e164), "%s", c->e164);
        e.lease_ms = c->lock_lease_ms > 0 ? c->lock_lease_ms : 1;
        char err[256];
        if (registry_entry_format(&e, values[n], sizeof(values[n]), err, sizeof(err))) {
            log_warn("registry", "attempt %s: not registered: %s", add.ids[i], err);
            continue;
        }
        snprintf(fields[n++], UUID_STR_LEN, "%s", add.ids[i]);
        c->registered = true;
    }
    pthread_mutex_unlock(&d->calls.mu);

    bool failed = n && register_calls(d, fields, values, n) != OD_OK;
    if (gone.n && hash_del(d, d->reg_inflight_key, &gone)) {
        failed = true;
        pthread_mutex_lock(&d->calls.mu);
        for (size_t i = 0; i < gone.n; i++)
            call_ids_push(&d->calls.reg_gone, gone.ids[i]);
        pthread_mutex_unlock(&d->calls.mu);
    }
    if (failed)
        d->reg_retry_real_us = now + REGISTRY_RETRY_US;
    free(fields);
    free(values);
    call_ids_clear(&add);
    call_ids_clear(&gone);
}

static void registry_beat(dialer_t *d)
{
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%d", REGISTRY_ALIVE_TTL_MS);
    const char *set[] = {"SET", d->reg_alive_key, d->cfg->instance_id, "PX", ttl};
    const char *sadd[] = {"SADD", d->reg_dialers_key, d->cfg->instance_id};
    if (command(d, "heartbeat", 5, set, NULL) == OD_OK)
        (void)command(d, "join the dialers", 3, sadd, NULL);
}

/* Adds the call of one dead dialer's entry to the table, to be looked up
 * at once. Returns whether it was added (false: already tracked here). */
static bool adopt(dialer_t *d, const registry_entry_t *e, int64_t now)
{
    bool added = false;
    pthread_mutex_lock(&d->calls.mu);
    if (!call_table_find(&d->calls, e->attempt.attempt_id)) {
        dial_call_t *c = call_table_add(&d->calls, &e->attempt);
        snprintf(c->e164, sizeof(c->e164), "%s", e->e164);
        snprintf(c->provider_call_id, sizeof(c->provider_call_id), "%s", e->provider_call_id);
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
    pthread_mutex_unlock(&d->calls.mu);
    return added;
}

/* The dead instance's entries (an HGETALL reply) into our table; fills
 * fields/values (arrays of the reply's size) with those newly adopted.
 * Returns how many; *bad counts the unreadable ones (dropped). */
static size_t adopt_all(dialer_t *d, const char *instance, const redisReply *reply, int64_t now,
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
        if (!adopt(d, &e, now))
            continue;
        snprintf(fields[n], UUID_STR_LEN, "%s", e.attempt.attempt_id);
        memcpy(values[n], v->str, v->len);
        values[n][v->len] = '\0';
        n++;
    }
    return n;
}

/* Reads the hash key; NULL (logged) when Redis fails. */
static redisReply *hash_read(dialer_t *d, const char *key)
{
    redisReply *reply = NULL;
    const char *hgetall[] = {"HGETALL", key};
    if (command(d, "read calls in flight", 2, hgetall, &reply))
        return NULL;
    return reply;
}

/* At start: calls a previous process with our instance id left (it was
 * killed and we restarted under the same id, so nobody else takes them
 * over: our heartbeat is back). Returns OD_OK once read. */
static int registry_resume(dialer_t *d, int64_t now)
{
    redisReply *reply = hash_read(d, d->reg_inflight_key);
    if (!reply)
        return OD_ERR_UNAVAILABLE;
    size_t pairs = reply->type == REDIS_REPLY_ARRAY ? reply->elements / 2 : 0, bad = 0;
    char(*fields)[UUID_STR_LEN] = xmalloc((pairs ? pairs : 1) * sizeof(*fields));
    char(*values)[REGISTRY_ENTRY_MAX] = xmalloc((pairs ? pairs : 1) * sizeof(*values));
    size_t n = adopt_all(d, d->cfg->instance_id, reply, now, fields, values, &bad);
    freeReplyObject(reply);
    if (n || bad) {
        metrics_counter_add(d->m.calls_adopted, n);
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
static void takeover(dialer_t *d, const char *instance, int64_t now)
{
    char alive[RKEYS_KEY_MAX], claim[RKEYS_KEY_MAX], hash[RKEYS_KEY_MAX], err[256];
    rkeys_alive(d->cfg->redis_prefix, instance, alive);
    rkeys_takeover(d->cfg->redis_prefix, instance, claim);
    rkeys_inflight(d->cfg->redis_prefix, instance, hash);
    redisReply *reply = NULL;
    const char *exists[] = {"EXISTS", alive};
    if (command(d, "heartbeat check", 2, exists, &reply))
        return;
    bool is_alive = reply->type == REDIS_REPLY_INTEGER && reply->integer > 0;
    freeReplyObject(reply);
    if (is_alive)
        return;
    int rc = redis_set_nx(d->redis, claim, d->cfg->instance_id, REGISTRY_TAKEOVER_TTL_MS, err,
                          sizeof(err));
    if (rc == OD_ERR_CONFLICT)
        return; /* another dialer is on it */
    if (rc) {
        log_warn("registry", "takeover claim on %s: %s", instance, err);
        return;
    }
    reply = hash_read(d, hash);
    if (!reply)
        return;
    size_t pairs = reply->type == REDIS_REPLY_ARRAY ? reply->elements / 2 : 0, bad = 0;
    char(*fields)[UUID_STR_LEN] = xmalloc((pairs ? pairs : 1) * sizeof(*fields));
    char(*values)[REGISTRY_ENTRY_MAX] = xmalloc((pairs ? pairs : 1) * sizeof(*values));
    size_t n = adopt_all(d, instance, reply, now, fields, values, &bad);
    freeReplyObject(reply);
    /* Ours now: in our hash before the dead one goes, so that our own death
     * in between loses nothing. */
    if (n && register_calls(d, fields, values, n)) {
        log_warn("registry", "dialer %s: %zu calls taken over but not registered here yet",
                 instance, n);
        goto out;
    }
    const char *del[] = {"DEL", hash};
    const char *srem[] = {"SREM", d->reg_dialers_key, instance};
    if (command(d, "remove a dead dialer's calls", 2, del, NULL) == OD_OK)
        (void)command(d, "remove a dead dialer", 3, srem, NULL);
    metrics_counter_add(d->m.calls_adopted, n);
    if (n || bad)
        log_warn("registry",
                 "dialer %s is gone: %zu of its calls in flight taken over (%zu unreadable)",
                 instance, n, bad);
out:
    free(fields);
    free(values);
}

static void registry_scan(dialer_t *d, int64_t now)
{
    redisReply *reply = NULL;
    const char *smembers[] = {"SMEMBERS", d->reg_dialers_key};
    if (command(d, "list the dialers", 2, smembers, &reply))
        return;
    if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < reply->elements; i++) {
            redisReply *m = reply->element[i];
            if (m->type != REDIS_REPLY_STRING || strcmp(m->str, d->cfg->instance_id) == 0 ||
                m->len >= DIALER_INSTANCE_ID_MAX)
                continue;
            takeover(d, m->str, now);
        }
    }
    freeReplyObject(reply);
}

void registry_init(dialer_t *d)
{
    rkeys_inflight(d->cfg->redis_prefix, d->cfg->instance_id, d->reg_inflight_key);
    rkeys_alive(d->cfg->redis_prefix, d->cfg->instance_id, d->reg_alive_key);
    rkeys_dialers(d->cfg->redis_prefix, d->reg_dialers_key);
}

void registry_tick(dialer_t *d)
{
    int64_t now = dialer_now_real();
    if (!d->reg_resumed && now >= d->reg_retry_real_us) {
        if (registry_resume(d, now) == OD_OK)
            d->reg_resumed = true;
        else
            d->reg_retry_real_us = now + REGISTRY_RETRY_US;
    }
    registry_flush(d, now);
    if (now >= d->reg_next_beat_real_us) {
        d->reg_next_beat_real_us = now + REGISTRY_BEAT_US;
        registry_beat(d);
    }
    if (now >= d->reg_next_scan_real_us) {
        d->reg_next_scan_real_us = now + REGISTRY_SCAN_US;
        registry_scan(d, now);
    }
}

void registry_leave(dialer_t *d)
{
    d->reg_retry_real_us = 0;
    registry_flush(d, dialer_now_real());
    size_t open = 0;
    pthread_mutex_lock(&d->calls.mu);
    for (dial_call_t *c = d->calls.head; c; c = c->next)
        open += c->registered && !c->terminal_done;
    pthread_mutex_unlock(&d->calls.mu);
    const char *del_alive[] = {"DEL", d->reg_alive_key};
    if (open) {
        /* Without the heartbeat, another dialer takes them over at its
         * next scan. */
        log_warn("shutdown", "%zu calls still in flight: left to another dialer to reconcile",
                 open);
        (void)command(d, "stop the heartbeat", 2, del_alive, NULL);
        return;
    }
    const char *del_hash[] = {"DEL", d->reg_inflight_key};
    const char *srem[] = {"SREM", d->reg_dialers_key, d->cfg->instance_id};
    if (command(d, "remove our calls", 2, del_hash, NULL) == OD_OK &&
        command(d, "leave the dialers", 3, srem, NULL) == OD_OK)
        (void)command(d, "stop the heartbeat", 2, del_alive, NULL);
}

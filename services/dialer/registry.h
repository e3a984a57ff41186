/*
 * registry.h — the calls each dialer has in flight, in Redis, so that a
 * dialer that dies does not take its calls' reconciliation with it
 * (docs/dialer.md, "When a dialer dies").
 *
 * Every dialer instance keeps
 *   <p>inflight:<instance>  a hash: attempt id -> one entry per call whose
 *                           provider call id is known and whose terminal
 *                           event is not out yet (added when the create-call
 *                           answer or the first webhook gives the id, removed
 *                           when the call record is forgotten)
 *   <p>alive:<instance>     its heartbeat, set every second, expiring after
 *                           REGISTRY_ALIVE_TTL_MS
 *   <p>dialers              the set of instances that may have entries
 * and every REGISTRY_SCAN_US looks for instances in the set whose heartbeat
 * has expired. The first dialer to SET NX <p>takeover:<instance> copies the
 * dead instance's entries into its own hash, deletes the dead hash and
 * removes the instance from the set, and reconciles each call as if it had
 * placed it: it looks the call up at once (GET /call/{id}), publishes the
 * terminal event it finds (the same event id as the report's, so a report
 * that did arrive makes it a replay) and releases the line lock.
 * A dialer restarted under the same instance id (its heartbeat comes back
 * before anyone sees it expire) takes its own hash's calls back at start.
 *
 * An entry's text is registry_entry.h's. This file is the dial loop's
 * Redis work; it needs only what registry_env_t lists.
 */
#ifndef OUTDIAL_DIALER_REGISTRY_H
#define OUTDIAL_DIALER_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "calls.h"
#include "loop_redis.h"
#include "metrics.h"
#include "registry_entry.h"
#include "rkeys.h"

/* A heartbeat older than this means the instance is gone. Ten beats: a
 * dialer whose loop stalls on a slow Redis command (2 s timeout) or a
 * Redis restart is not taken for dead. */
#define REGISTRY_ALIVE_TTL_MS 10000
/* How long a takeover claim keeps other dialers off the same dead
 * instance: longer than copying its entries can take. */
#define REGISTRY_TAKEOVER_TTL_MS 60000

typedef struct registry_env {
    const char *prefix;      /* Redis key prefix */
    const char *instance_id; /* this dialer */
    call_table_t *calls;     /* its reg_new / reg_gone queues; adopted calls go in */
    loop_redis_t *lr;
    metrics_counter_t *calls_adopted;
} registry_env_t;

typedef struct registry {
    registry_env_t env;
    char inflight_key[RKEYS_KEY_MAX];
    char alive_key[RKEYS_KEY_MAX];
    char dialers_key[RKEYS_KEY_MAX];
    int64_t next_beat_real_us;
    int64_t next_scan_real_us;
    int64_t retry_real_us; /* no registry write before this (after a failure) */
    bool resumed;          /* our own hash's calls (a previous process's) taken back */
} registry_t;

/* The keys of this instance. */
void registry_init(registry_t *r, const registry_env_t *env);
/* Every loop turn: writes the registrations and removals queued in the
 * call table; every second the heartbeat; every 2 s takes over the calls
 * of dialers whose heartbeat expired. */
void registry_tick(registry_t *r);
/* At the end of a shutdown: removes this instance from the registry when
 * none of its calls is still open, else stops the heartbeat so that
 * another dialer takes them over. */
void registry_leave(registry_t *r);

#endif

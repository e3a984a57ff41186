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
 * An entry is one line of tab-separated fields (no field holds a tab):
 *   1 <provider call id> <e164> <lead id> <campaign id> <account id>
 *     <attempt number> <line lease ms>
 * This file holds the pure format and parse; the Redis work is the dial
 * loop's (registry.c, declared in dialer_internal.h).
 */
#ifndef OUTDIAL_DIALER_REGISTRY_H
#define OUTDIAL_DIALER_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "provider.h"

/* A heartbeat older than this means the instance is gone. Ten beats: a
 * dialer whose loop stalls on a slow Redis command (2 s timeout) or a
 * Redis restart is not taken for dead. */
#define REGISTRY_ALIVE_TTL_MS 10000
/* How long a takeover claim keeps other dialers off the same dead
 * instance: longer than copying its entries can take. */
#define REGISTRY_TAKEOVER_TTL_MS 60000
/* The longest entry text: the fields and their separators. */
#define REGISTRY_ENTRY_MAX 512

typedef struct registry_entry {
    provider_attempt_t attempt; /* attempt_id is the hash field, not in the text */
    char provider_call_id[PROVIDER_CALL_ID_MAX];
    char e164[PROVIDER_E164_MAX];
    int64_t lease_ms; /* the line lock's lease, real ms */
} registry_entry_t;

/* Writes e's entry text into out. OD_ERR_INVALID (with the field named)
 * when a field is empty where it may not be, holds a tab or a newline, or
 * the text does not fit. */
int registry_entry_format(const registry_entry_t *e, char *out, size_t outlen, char *errbuf,
                          size_t errlen) OD_WUR;

/* Parses an entry text (len bytes, not NUL-terminated necessarily) of
 * attempt attempt_id into *out. OD_ERR_INVALID naming what is wrong. */
int registry_entry_parse(const char *attempt_id, const char *text, size_t len,
                         registry_entry_t *out, char *errbuf, size_t errlen) OD_WUR;

#endif

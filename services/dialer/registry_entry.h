/*
 * registry_entry.h — one entry of the registry of calls in flight
 * (registry.h): the pure format and parse, tested without Redis.
 *
 * An entry is one line of tab-separated fields (no field holds a tab):
 *   1 <provider call id> <e164> <lead id> <campaign id> <account id>
 *     <attempt number> <line lease ms>
 * or, naming the provider that placed the call (looked up with it):
 *   2 <the same eight> <provider name>
 * A version 1 entry (written before there were two providers) has no
 * provider: the dialer's first one.
 */
#ifndef OUTDIAL_DIALER_REGISTRY_ENTRY_H
#define OUTDIAL_DIALER_REGISTRY_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "provider.h"

/* The longest entry text: the fields and their separators. */
#define REGISTRY_ENTRY_MAX 512

typedef struct registry_entry {
    provider_attempt_t attempt; /* attempt_id is the hash field, not in the text */
    char provider_call_id[PROVIDER_CALL_ID_MAX];
    char e164[PROVIDER_E164_MAX];
    int64_t lease_ms;                 /* the line lock's lease, real ms */
    char provider[PROVIDER_TYPE_MAX]; /* "": unknown (version 1) */
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

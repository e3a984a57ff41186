/*
 * sign.h — the signature of outbound webhooks (docs/webhooks.md): what
 * outdial-notifier puts on every delivery and what a receiver checks.
 *
 *   signed text  = timestamp + "." + body      (timestamp: Unix seconds, decimal)
 *   signature    = lowercase hex of HMAC-SHA256(secret, signed text)
 *   header       Outdial-Signature: v1=<signature>
 *
 * The timestamp is sent beside it (Outdial-Timestamp) and is fresh on every
 * try, so a receiver rejects a replayed request older than
 * WEBHOOK_SIGN_TOLERANCE_S even though the body (and the idempotency key)
 * stays the same across retries.
 *
 * Pure: no I/O, no clock (the caller gives "now").
 */
#ifndef OUTDIAL_WEB_SIGN_H
#define OUTDIAL_WEB_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Header names of a delivery (docs/webhooks.md). */
#define WEBHOOK_HEADER_ID        "Outdial-Webhook-Id" /* the idempotency key: the event id */
#define WEBHOOK_HEADER_EVENT     "Outdial-Event"      /* the event type, e.g. "call.ended" */
#define WEBHOOK_HEADER_TIMESTAMP "Outdial-Timestamp"
#define WEBHOOK_HEADER_SIGNATURE "Outdial-Signature"
/* The scheme prefix of the signature header's value; a later scheme gets v2. */
#define WEBHOOK_SIGN_SCHEME "v1="
/* "v1=" + 64 hex digits + NUL. */
#define WEBHOOK_SIGN_HEADER_LEN (3 + 64 + 1)
/* How old a timestamp a receiver accepts: 5 minutes is Stripe's and
 * Slack's choice, wide enough for clock skew and a slow request, short
 * enough that a captured request is soon useless. */
#define WEBHOOK_SIGN_TOLERANCE_S 300

/* Writes "v1=<hex>" for (secret, timestamp_s, body) into out
 * (WEBHOOK_SIGN_HEADER_LEN bytes), the HMAC by lib/core's hmac_sha256_hex.
 * OD_ERR_INVALID for an empty secret. */
int webhook_sign(const char *secret, int64_t timestamp_s, const char *body, size_t body_len,
                 char out[WEBHOOK_SIGN_HEADER_LEN]) OD_WUR;

/* A receiver's check: timestamp (the header's text) must be a decimal
 * number within tolerance_s of now_s (either side), and signature (the
 * header's value) must equal webhook_sign's, compared in constant time
 * (hmac_secret_equal).
 * OD_OK, or OD_ERR_INVALID with the reason in errbuf (bad timestamp, too
 * old or in the future, bad signature). */
int webhook_sign_verify(const char *secret, const char *timestamp, const char *body,
                        size_t body_len, const char *signature, int64_t now_s, int64_t tolerance_s,
                        char *errbuf, size_t errlen) OD_WUR;

#endif

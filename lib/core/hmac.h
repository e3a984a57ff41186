/*
 * hmac.h — keyed digests and secret comparison for signed webhooks.
 *
 * A provider signs the webhooks it sends (Retell: HMAC-SHA256 over the body
 * and a timestamp, docs/provider-protocol.md); the dialer checks them and
 * the voice simulator makes them; outdial-notifier signs its own webhooks
 * with them too (lib/web/sign.h). All use these, so that every signature is
 * computed by one piece of code. OpenSSL underneath.
 */
#ifndef OUTDIAL_CORE_HMAC_H
#define OUTDIAL_CORE_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#define HMAC_SHA256_HEX_LEN 65 /* 64 lowercase hex digits and the NUL */

/* One piece of the signed text; the pieces are concatenated in order. */
typedef struct hmac_part {
    const void *data;
    size_t len;
} hmac_part_t;

/* HMAC-SHA256 with key over the concatenation of parts, as lowercase hex
 * into out. Pure; aborts only if OpenSSL lacks SHA-256. */
void hmac_sha256_hex(const char *key, size_t key_len, const hmac_part_t *parts, size_t n_parts,
                     char out[HMAC_SHA256_HEX_LEN]);

/* Whether given equals expected, in time that depends on neither's content
 * nor length (both are hashed, then compared without an early exit). NULL
 * or an empty expected never matches. */
bool hmac_secret_equal(const char *given, const char *expected);

#endif

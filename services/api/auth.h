/*
 * auth.h — API keys and the admin token.
 *
 * An API key is "od_" + 16 hex digits + "_" + 48 hex digits (256 random
 * bits in all, from OpenSSL's RAND_bytes). Its first part, "od_" and the 16
 * digits, is the lookup prefix stored in api_key.prefix; the key itself is
 * never stored: api_key.key_sha256 holds its SHA-256, compared in constant
 * time (CRYPTO_memcmp). A fast hash is right for long random keys (nothing
 * to brute-force); passwords would need a slow one.
 *
 * The admin token (OUTDIAL_API_ADMIN_TOKEN) guards the operator's routes
 * (creating accounts, crediting balances). It is compared through SHA-256
 * digests in constant time as well, so its length does not leak.
 */
#ifndef OUTDIAL_API_AUTH_H
#define OUTDIAL_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "err.h"
#include "pg.h"

#define AUTH_PREFIX_LEN 19 /* "od_" + 16 hex */
#define AUTH_KEY_LEN    68 /* prefix + "_" + 48 hex */

/* Creates an API key for account_id in the caller's transaction (or
 * alone): writes the key, shown once, into key (AUTH_KEY_LEN + 1 bytes). */
int auth_key_create(pg_conn_t *db, const char *account_id, const char *name,
                    char key[AUTH_KEY_LEN + 1], char *errbuf, size_t errlen) OD_WUR;

/* Authenticates ctx's request by its bearer API key: fills ctx->account_id
 * and ctx->region, or answers 401 (503 on a database failure) and returns
 * false. */
bool auth_request_key(api_ctx_t *ctx);

/* Checks the bearer token against the admin token: answers 403 when no
 * admin token is configured, 401 when it does not match. */
bool auth_request_admin(api_ctx_t *ctx);

/* n random bytes as 2n lowercase hex digits plus NUL into out. */
void auth_random_hex(char *out, size_t n_bytes);

#endif

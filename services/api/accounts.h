/*
 * accounts.h — creating and crediting accounts, shared by the admin routes
 * and the `outdial-api bootstrap` / `outdial-api credit` commands.
 */
#ifndef OUTDIAL_API_ACCOUNTS_H
#define OUTDIAL_API_ACCOUNTS_H

#include <stdint.h>

#include "auth.h"
#include "err.h"
#include "pg.h"
#include "uuid.h"

/* The largest single credit (or debit): 10^12 minor units, ten billion
 * dollars; anything larger is a typo. */
#define ACCOUNTS_CREDIT_MAX 1000000000000LL

/* A webhook secret: 32 random bytes in hex. */
#define ACCOUNTS_SECRET_LEN 64

/* Creates an account (name, opening balance in minor units, default phone
 * region "US", currency "USD") with a random webhook secret and its first
 * API key, in one transaction. Writes the new id, the key (shown once,
 * stored only hashed) and the webhook secret (shown here and on a rotation
 * only). OD_ERR_INVALID for a bad name, region or currency. */
int accounts_create(pg_conn_t *db, const char *name, int64_t balance_minor, const char *region,
                    const char *currency, char account_id[UUID_STR_LEN], char key[AUTH_KEY_LEN + 1],
                    char secret[ACCOUNTS_SECRET_LEN + 1], char *errbuf, size_t errlen) OD_WUR;

/* Adds amount_minor (non-zero, at most ACCOUNTS_CREDIT_MAX either way) to
 * the account's balance; *balance_out (may be NULL) gets the new balance.
 * OD_ERR_NOT_FOUND for an unknown account, OD_ERR_INVALID for a bad amount. */
int accounts_credit(pg_conn_t *db, const char *account_id, int64_t amount_minor,
                    int64_t *balance_out, char *errbuf, size_t errlen) OD_WUR;

#endif

#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "log.h"

static const pg_stmt_t key_insert_stmt = {
    "api_key_insert",
    "INSERT INTO api_key (account_id, name, prefix, key_sha256)"
    " VALUES ($1::uuid, $2, $3, decode($4, 'hex'))",
    4};

static const pg_stmt_t key_lookup_stmt = {
    "api_key_lookup",
    "SELECT k.id, k.account_id, encode(k.key_sha256, 'hex'), a.default_region,"
    " k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'"
    " FROM api_key k JOIN account a ON a.id = k.account_id"
    " WHERE k.prefix = $1 AND k.revoked_at IS NULL",
    1};

/* last_used_at is an audit column (real time); written at most once a
 * minute per key so that busy clients do not turn every read into a write. */
static const pg_stmt_t key_used_stmt = {
    "api_key_used", "UPDATE api_key SET last_used_at = now() WHERE id = $1::uuid", 1};

static const char hexdigits[] = "0123456789abcdef";

void auth_random_hex(char *out, size_t n_bytes)
{
    unsigned char buf[64];
    size_t done = 0;
    while (done < n_bytes) {
        size_t n = n_bytes - done < sizeof(buf) ? n_bytes - done : sizeof(buf);
        if (RAND_bytes(buf, (int)n) != 1) {
            /* OpenSSL's generator failed: the kernel's is as good. */
            if (getrandom(buf, n, 0) != (ssize_t)n)
                abort();
        }
        for (size_t i = 0; i < n; i++) {
            out[2 * (done + i)] = hexdigits[buf[i] >> 4];
            out[2 * (done + i) + 1] = hexdigits[buf[i] & 0xf];
        }
        done += n;
    }
    out[2 * n_bytes] = '\0';
    OPENSSL_cleanse(buf, sizeof(buf));
}

static void sha256_hex(const char *s, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL);
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hexdigits[md[i] >> 4];
        out[2 * i + 1] = hexdigits[md[i] & 0xf];
    }
    out[64] = '\0';
}

int auth_key_create(pg_conn_t *db, const char *account_id, const char *name,
                    char key[AUTH_KEY_LEN + 1], char *errbuf, size_t errlen)
{
    char id[17], secret[49], prefix[AUTH_PREFIX_LEN + 1], digest[65];
    auth_random_hex(id, 8);
    auth_random_hex(secret, 24);
    snprintf(prefix, sizeof(prefix), "od_%s", id);
    snprintf(key, AUTH_KEY_LEN + 1, "%s_%s", prefix, secret);
    sha256_hex(key, strlen(key), digest);
    const char *params[] = {account_id, name ? name : "", prefix, digest};
    int rc = pg_stmt_exec(db, &key_insert_stmt, params, NULL, errbuf, errlen);
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc)
        OPENSSL_cleanse(key, AUTH_KEY_LEN + 1);
    return rc;
}

/* The token after "Bearer " in the Authorization header, or NULL. */
static const char *bearer_token(api_ctx_t *ctx)
{
    const char *h = http_request_header(ctx->req, "Authorization");
    if (!h)
        return NULL;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    return *h ? h : NULL;
}

static void unauthorized(api_ctx_t *ctx, const char *why)
{
    api_reply_error(ctx, 401, "unauthorized", NULL, "%s", why);
}

bool auth_request_key(api_ctx_t *ctx)
{
    const char *token = bearer_token(ctx);
    if (!token) {
        unauthorized(ctx, "missing API key: send the header 'Authorization: Bearer <API key>'");
        return false;
    }
    size_t len = strlen(token);
    while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t'))
        len--;
    char digest[65];
    sha256_hex(token, len, digest);
    if (len != AUTH_KEY_LEN || strncmp(token, "od_", 3) != 0 || token[AUTH_PREFIX_LEN] != '_') {
        unauthorized(ctx, "invalid API key");
        return false;
    }
    char prefix[AUTH_PREFIX_LEN + 1];
    memcpy(prefix, token, AUTH_PREFIX_LEN);
    prefix[AUTH_PREFIX_LEN] = '\0';
    char err[512];
    PGresult *res = NULL;
    const char *params[] = {prefix};
    int rc = pg_stmt_exec(ctx->db, &key_lookup_stmt, params, &res, err, sizeof(err));
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return false;
    }
    /* Compare against something of the same length whether or not the
     * prefix exists, so that timing says nothing about prefixes. */
    static const char nothing[65] =
        "0000000000000000000000000000000000000000000000000000000000000000";
    bool found = PQntuples(res) == 1;
    const char *stored = found ? PQgetvalue(res, 0, 2) : nothing;
    bool match = strlen(stored) == 64 && CRYPTO_memcmp(stored, digest, 64) == 0 && found;
    if (!match) {
        PQclear(res);
        unauthorized(ctx, "invalid API key");
        return false;
    }
    snprintf(ctx->account_id, sizeof(ctx->account_id), "%s", PQgetvalue(res, 0, 1));
    snprintf(ctx->region, sizeof(ctx->region), "%s", PQgetvalue(res, 0, 3));
    if (PQgetvalue(res, 0, 4)[0] == 't') {
        const char *id[] = {PQgetvalue(res, 0, 0)};
        if (pg_stmt_exec(ctx->db, &key_used_stmt, id, NULL, err, sizeof(err)))
            log_warn("api_key", "last_used_at not written: %s", err);
    }
    PQclear(res);
    return true;
}

bool auth_request_admin(api_ctx_t *ctx)
{
    if (!ctx->api->admin_token) {
        api_reply_error(ctx, 403, "forbidden", NULL,
                        "the admin API is disabled: set OUTDIAL_API_ADMIN_TOKEN to enable it");
        return false;
    }
    const char *token = bearer_token(ctx);
    if (!token) {
        unauthorized(ctx, "missing admin token: send 'Authorization: Bearer <admin token>'");
        return false;
    }
    char given[65], wanted[65];
    sha256_hex(token, strlen(token), given);
    sha256_hex(ctx->api->admin_token, strlen(ctx->api->admin_token), wanted);
    if (CRYPTO_memcmp(given, wanted, 64) != 0) {
        unauthorized(ctx, "invalid admin token");
        return false;
    }
    return true;
}

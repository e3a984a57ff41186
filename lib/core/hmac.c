#include "hmac.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

void hmac_sha256_hex(const char *key, size_t key_len, const hmac_part_t *parts, size_t n_parts,
                     char out[HMAC_SHA256_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t md_len = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    /* An empty key is still a key to HMAC; OpenSSL wants a non-NULL pointer. */
    static const unsigned char none[1];
    if (!ctx ||
        EVP_MAC_init(ctx, key_len ? (const unsigned char *)key : none, key_len, params) != 1)
        abort(); /* OpenSSL without HMAC-SHA256 cannot happen on a supported system */
    for (size_t i = 0; i < n_parts; i++)
        if (parts[i].len && EVP_MAC_update(ctx, parts[i].data, parts[i].len) != 1)
            abort();
    if (EVP_MAC_final(ctx, md, &md_len, sizeof(md)) != 1 || md_len != 32)
        abort();
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    for (size_t i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[2 * md_len] = '\0';
}

static void sha256(const char *s, unsigned char out[32])
{
    unsigned int n = 0;
    if (EVP_Digest(s ? s : "", s ? strlen(s) : 0, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        abort();
}

bool hmac_secret_equal(const char *given, const char *expected)
{
    unsigned char g[32], e[32];
    sha256(given, g);
    sha256(expected, e);
    bool same = CRYPTO_memcmp(g, e, sizeof(g)) == 0;
    return same && given && expected && *expected;
}

#include "sign.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "xmalloc.h"

int webhook_sign(const char *secret, int64_t timestamp_s, const char *body, size_t body_len,
                 char out[WEBHOOK_SIGN_HEADER_LEN])
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\0';
    if (!secret || !*secret)
        return OD_ERR_INVALID;
    /* The signed text in one buffer: HMAC() is OpenSSL's one-shot call
     * that 3.0 keeps (its HMAC_CTX functions are deprecated). */
    char ts[24];
    int ts_len = snprintf(ts, sizeof(ts), "%" PRId64 ".", timestamp_s);
    char *text = xmalloc((size_t)ts_len + body_len + 1);
    memcpy(text, ts, (size_t)ts_len);
    if (body_len > 0)
        memcpy(text + ts_len, body, body_len);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int rc = OD_ERR_INTERNAL;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)text,
              (size_t)ts_len + body_len, md, &md_len) ||
        md_len != 32)
        goto out;
    memcpy(out, WEBHOOK_SIGN_SCHEME, 3);
    for (unsigned i = 0; i < 32; i++) {
        out[3 + 2 * i] = hex[md[i] >> 4];
        out[3 + 2 * i + 1] = hex[md[i] & 0xf];
    }
    out[WEBHOOK_SIGN_HEADER_LEN - 1] = '\0';
    rc = OD_OK;
out:
    free(text);
    return rc;
}

int webhook_sign_verify(const char *secret, const char *timestamp, const char *body,
                        size_t body_len, const char *signature, int64_t now_s, int64_t tolerance_s,
                        char *errbuf, size_t errlen)
{
    if (!timestamp || !*timestamp || strlen(timestamp) > 18 ||
        strspn(timestamp, "0123456789") != strlen(timestamp))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the timestamp is not a number of seconds");
    int64_t ts = strtoll(timestamp, NULL, 10);
    if (ts < now_s - tolerance_s)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the timestamp is %" PRId64 " s old (at most %" PRId64 ")", now_s - ts,
                       tolerance_s);
    if (ts > now_s + tolerance_s)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the timestamp is %" PRId64 " s in the future", ts - now_s);
    char want[WEBHOOK_SIGN_HEADER_LEN];
    if (webhook_sign(secret, ts, body, body_len, want) != OD_OK)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "no secret to check the signature with");
    if (!signature || strlen(signature) != WEBHOOK_SIGN_HEADER_LEN - 1 ||
        CRYPTO_memcmp(signature, want, WEBHOOK_SIGN_HEADER_LEN - 1) != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the signature does not match");
    return OD_OK;
}

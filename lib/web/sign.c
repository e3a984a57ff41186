#include "sign.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"

/* The HMAC is lib/core's hmac_sha256_hex, the one the provider signatures
 * use: the signed text goes to it in two parts, "<timestamp>." and the body. */
int webhook_sign(const char *secret, int64_t timestamp_s, const char *body, size_t body_len,
                 char out[WEBHOOK_SIGN_HEADER_LEN])
{
    out[0] = '\0';
    if (!secret || !*secret)
        return OD_ERR_INVALID;
    char ts[24];
    int ts_len = snprintf(ts, sizeof(ts), "%" PRId64 ".", timestamp_s);
    hmac_part_t parts[] = {{ts, (size_t)ts_len}, {body, body_len}};
    memcpy(out, WEBHOOK_SIGN_SCHEME, 3);
    hmac_sha256_hex(secret, strlen(secret), parts, 2, out + 3);
    return OD_OK;
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
    if (!hmac_secret_equal(signature, want))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the signature does not match");
    return OD_OK;
}

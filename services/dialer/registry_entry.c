/*
 * registry_entry.c — the registry entry's text (registry_entry.h). Pure.
 */
#include "registry_entry.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "uuid.h"

#define ENTRY_FIELDS 8 /* of version 1; version 2 adds the provider */

static int field_check(const char *name, const char *value, bool required, char *errbuf,
                       size_t errlen)
{
    if (required && !value[0])
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: %s is empty", name);
    if (strpbrk(value, "\t\n\r"))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: %s holds a tab or a line break", name);
    return OD_OK;
}

int registry_entry_format(const registry_entry_t *e, char *out, size_t outlen, char *errbuf,
                          size_t errlen)
{
    int rc = field_check("provider call id", e->provider_call_id, true, errbuf, errlen);
    if (!rc)
        rc = field_check("e164", e->e164, true, errbuf, errlen);
    if (!rc)
        rc = field_check("lead id", e->attempt.lead_id, true, errbuf, errlen);
    if (!rc)
        rc = field_check("campaign id", e->attempt.campaign_id, true, errbuf, errlen);
    if (!rc)
        rc = field_check("account id", e->attempt.account_id, true, errbuf, errlen);
    if (!rc)
        rc = field_check("provider", e->provider, false, errbuf, errlen);
    if (rc)
        return rc;
    if (e->lease_ms < 1)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: lease %" PRId64 " ms",
                       e->lease_ms);
    int n = snprintf(out, outlen, "%c\t%s\t%s\t%s\t%s\t%s\t%" PRIu32 "\t%" PRId64 "%s%s",
                     e->provider[0] ? '2' : '1', e->provider_call_id, e->e164, e->attempt.lead_id,
                     e->attempt.campaign_id, e->attempt.account_id, e->attempt.attempt_number,
                     e->lease_ms, e->provider[0] ? "\t" : "", e->provider);
    if (n < 0 || (size_t)n >= outlen)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: longer than %zu bytes",
                       outlen - 1);
    return OD_OK;
}

/* Copies field [p, p+len) into dst (size dstlen). */
static int field_copy(const char *name, const char *p, size_t len, char *dst, size_t dstlen,
                      char *errbuf, size_t errlen)
{
    if (len == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: %s is empty", name);
    if (len >= dstlen)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: %s is longer than %zu characters", name, dstlen - 1);
    memcpy(dst, p, len);
    dst[len] = '\0';
    return OD_OK;
}

/* Parses [p, p+len) as a decimal integer in [min, max]. */
static int field_int(const char *name, const char *p, size_t len, int64_t min, int64_t max,
                     int64_t *out, char *errbuf, size_t errlen)
{
    char buf[24];
    if (len == 0 || len >= sizeof(buf))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: %s is not a number", name);
    memcpy(buf, p, len);
    buf[len] = '\0';
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9' || v > (INT64_MAX - 9) / 10)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "registry entry: %s '%s' is not a number", name, buf);
        v = v * 10 + (buf[i] - '0');
    }
    if (v < min || v > max)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: %s %" PRId64 " is outside %" PRId64 "..%" PRId64, name, v,
                       min, max);
    *out = v;
    return OD_OK;
}

int registry_entry_parse(const char *attempt_id, const char *text, size_t len,
                         registry_entry_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!uuid_str_valid(attempt_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: the attempt id '%.40s' is not a UUID", attempt_id);
    snprintf(out->attempt.attempt_id, sizeof(out->attempt.attempt_id), "%s", attempt_id);
    const char *f[ENTRY_FIELDS + 1];
    size_t flen[ENTRY_FIELDS + 1];
    size_t nf = 0;
    const char *p = text, *end = text + len;
    for (;;) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *stop = tab ? tab : end;
        if (nf == ENTRY_FIELDS + 1)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: more than %d fields",
                           ENTRY_FIELDS + 1);
        f[nf] = p;
        flen[nf++] = (size_t)(stop - p);
        if (!tab)
            break;
        p = tab + 1;
    }
    if (flen[0] != 1 || (f[0][0] != '1' && f[0][0] != '2'))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: unknown version '%.*s' (this dialer reads 1 and 2)",
                       (int)(flen[0] > 8 ? 8 : flen[0]), f[0]);
    size_t want = f[0][0] == '2' ? ENTRY_FIELDS + 1 : ENTRY_FIELDS;
    if (nf != want)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "registry entry: %zu fields, not %zu", nf,
                       want);
    if (memchr(text, '\0', len) || memchr(text, '\n', len))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: holds a NUL byte or a line break");
    int rc = field_copy("provider call id", f[1], flen[1], out->provider_call_id,
                        sizeof(out->provider_call_id), errbuf, errlen);
    if (!rc)
        rc = field_copy("e164", f[2], flen[2], out->e164, sizeof(out->e164), errbuf, errlen);
    if (!rc)
        rc = field_copy("lead id", f[3], flen[3], out->attempt.lead_id,
                        sizeof(out->attempt.lead_id), errbuf, errlen);
    if (!rc)
        rc = field_copy("campaign id", f[4], flen[4], out->attempt.campaign_id,
                        sizeof(out->attempt.campaign_id), errbuf, errlen);
    if (!rc)
        rc = field_copy("account id", f[5], flen[5], out->attempt.account_id,
                        sizeof(out->attempt.account_id), errbuf, errlen);
    int64_t number = 0;
    if (!rc)
        rc = field_int("attempt number", f[6], flen[6], 0, UINT32_MAX, &number, errbuf, errlen);
    if (!rc)
        rc = field_int("lease", f[7], flen[7], 1, INT64_MAX / 1000, &out->lease_ms, errbuf, errlen);
    if (!rc && want > ENTRY_FIELDS)
        rc = field_copy("provider", f[8], flen[8], out->provider, sizeof(out->provider), errbuf,
                        errlen);
    if (rc)
        return rc;
    out->attempt.attempt_number = (uint32_t)number;
    if (!uuid_str_valid(out->attempt.lead_id) || !uuid_str_valid(out->attempt.campaign_id) ||
        !uuid_str_valid(out->attempt.account_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "registry entry: the lead, campaign or account id is not a UUID");
    return OD_OK;
}

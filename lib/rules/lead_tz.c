#include "lead_tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

static int prefix_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const lead_tz_prefix_t *)elem)->prefix);
}

/* The standard (raw, DST excluded) UTC offset of zone at at_us, in ms. */
static int zone_raw_offset(const char *zone, int64_t at_us, int32_t *offset_ms, char *errbuf,
                           size_t errlen)
{
    UChar uzone[WINDOW_ZONE_MAX];
    size_t len = strlen(zone);
    if (len >= WINDOW_ZONE_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "time zone '%.64s' is too long", zone);
    u_charsToUChars(zone, uzone, (int32_t)len + 1);
    UErrorCode status = U_ZERO_ERROR;
    UCalendar *cal = ucal_open(uzone, -1, "en_US_POSIX", UCAL_GREGORIAN, &status);
    if (U_SUCCESS(status)) {
        ucal_setMillis(cal, (UDate)(at_us / 1000), &status);
        *offset_ms = ucal_get(cal, UCAL_ZONE_OFFSET, &status);
    }
    if (cal)
        ucal_close(cal);
    if (U_FAILURE(status))
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "ICU zone offset of %s: %s", zone,
                       u_errorName(status));
    return OD_OK;
}

/* Checks "+" followed by 2..15 digits and returns the digits. */
static int e164_digits(const char *e164, const char **digits, char *errbuf, size_t errlen)
{
    size_t n = 0;
    if (!e164 || e164[0] != '+')
        goto bad;
    for (const char *p = e164 + 1; *p; p++, n++)
        if (*p < '0' || *p > '9')
            goto bad;
    if (n < 2 || n > 15)
        goto bad;
    *digits = e164 + 1;
    return OD_OK;
bad:
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "phone number '%.32s' is not in E.164 form (+ and 2 to 15 digits)",
                   e164 ? e164 : "(null)");
}

int lead_tz_from_prefix(const char *e164, int64_t at_us, lead_tz_t *out, char *errbuf,
                        size_t errlen)
{
    const char *digits = NULL;
    int rc = e164_digits(e164, &digits, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    size_t n = strlen(digits);
    size_t longest = (size_t)lead_tz_longest_prefix;
    if (longest > LEAD_TZ_PREFIX_MAX)
        longest = LEAD_TZ_PREFIX_MAX;
    const lead_tz_prefix_t *match = NULL;
    char key[LEAD_TZ_PREFIX_MAX + 1];
    for (size_t len = n < longest ? n : longest; len >= 1 && !match; len--) {
        memcpy(key, digits, len);
        key[len] = '\0';
        match = bsearch(key, lead_tz_prefixes, lead_tz_prefix_count, sizeof(lead_tz_prefixes[0]),
                        prefix_cmp);
    }
    if (!match)
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "no time zone is known for %s", e164);
    if (match->n_zones == 0 || match->n_zones > LEAD_TZ_MAX_ZONES)
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                       "prefix +%s of %s spans %u time zones: too broad to use", match->prefix,
                       e164, (unsigned)match->n_zones);
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (size_t i = 0; i < match->n_zones && match->n_zones > 1; i++) {
        int32_t offset_ms = 0;
        rc = zone_raw_offset(lead_tz_zone_names[lead_tz_zone_refs[match->first_zone + i]], at_us,
                             &offset_ms, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        lo = offset_ms < lo ? offset_ms : lo;
        hi = offset_ms > hi ? offset_ms : hi;
    }
    if (match->n_zones > 1 && (int64_t)hi - lo > (int64_t)LEAD_TZ_MAX_SPREAD_MIN * 60000)
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                       "prefix +%s of %s spans time zones %d minutes apart: too broad to use",
                       match->prefix, e164, (int)((hi - lo) / 60000));
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < match->n_zones; i++)
        out->zones[i] = lead_tz_zone_names[lead_tz_zone_refs[match->first_zone + i]];
    out->n_zones = match->n_zones;
    out->source = LEAD_TZ_SOURCE_PREFIX;
    snprintf(out->prefix, sizeof(out->prefix), "%s", match->prefix);
    return OD_OK;
}

static void set_single(lead_tz_t *out, const char *zone, lead_tz_source_t source)
{
    memset(out, 0, sizeof(*out));
    out->zones[0] = zone;
    out->n_zones = 1;
    out->source = source;
}

int lead_tz_resolve(model_tz_mode_t mode, const char *assistant_tz, const char *lead_tz,
                    const char *e164, int64_t at_us, lead_tz_t *out, char *errbuf, size_t errlen)
{
    char why[256];
    int rc = window_zone_check(assistant_tz, why, sizeof(why));
    if (rc != OD_OK)
        return od_fail(errbuf, errlen, rc, "assistant: %s", why);
    if (mode == MODEL_TZ_MODE_ASSISTANT) {
        set_single(out, assistant_tz, LEAD_TZ_SOURCE_ASSISTANT);
        return OD_OK;
    }
    if (mode != MODEL_TZ_MODE_LEAD)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "unknown timezone mode %d", (int)mode);
    if (lead_tz && *lead_tz) {
        rc = window_zone_check(lead_tz, why, sizeof(why));
        if (rc != OD_OK)
            return od_fail(errbuf, errlen, rc, "lead: %s", why);
        set_single(out, lead_tz, LEAD_TZ_SOURCE_LEAD);
        return OD_OK;
    }
    rc = lead_tz_from_prefix(e164, at_us, out, why, sizeof(why));
    if (rc == OD_ERR_NOT_FOUND) {
        set_single(out, assistant_tz, LEAD_TZ_SOURCE_ASSISTANT);
        return OD_OK;
    }
    if (rc != OD_OK)
        return od_fail(errbuf, errlen, rc, "lead: %s", why);
    return OD_OK;
}

int lead_tz_window(const window_spec_t *campaign_window, const window_spec_t *quiet_hours,
                   model_tz_mode_t mode, const char *assistant_tz, const char *lead_tz,
                   const char *e164, int64_t at_us, lead_window_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!campaign_window)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "campaign window is missing");
    int rc =
        lead_tz_resolve(mode, assistant_tz, lead_tz, e164, at_us, &out->window_tz, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    out->rules[0].spec = *campaign_window;
    out->rules[0].zones = out->window_tz.zones;
    out->rules[0].n_zones = out->window_tz.n_zones;
    out->n_rules = 1;
    if (quiet_hours) {
        rc = lead_tz_resolve(MODEL_TZ_MODE_LEAD, assistant_tz, lead_tz, e164, at_us,
                             &out->callee_tz, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        out->rules[1].spec = *quiet_hours;
        out->rules[1].spec.days = WINDOW_DAYS_ALL;
        out->rules[1].zones = out->callee_tz.zones;
        out->rules[1].n_zones = out->callee_tz.n_zones;
        out->n_rules = 2;
    }
    return OD_OK;
}

#include "ctl_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "window.h"

/* Longest day token we look at ("wednesday" is 9); longer is not a day. */
#define DAY_TOKEN_MAX 16

/* The index (0 = Monday) of one day name. */
static int day_index(const char *name, size_t len, char *errbuf, size_t errlen)
{
    char tok[DAY_TOKEN_MAX + 1];
    if (len == 0 || len > DAY_TOKEN_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%.*s' is not a day (use mon, tue, wed, thu, fri, sat, sun)", (int)len,
                       name);
    memcpy(tok, name, len);
    tok[len] = '\0';
    unsigned bit = 0;
    char why[128];
    if (window_day_parse(tok, &bit, why, sizeof(why)) != OD_OK)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%s' is not a day (use mon, tue, wed, thu, fri, sat, sun)", tok);
    int idx = 0;
    while (!(bit & 1u)) {
        bit >>= 1;
        idx++;
    }
    return idx;
}

/* One comma-separated part: a word, a day or a range of days. */
static int days_part(const char *part, size_t len, unsigned *days, char *errbuf, size_t errlen)
{
    static const struct {
        const char *word;
        unsigned days;
    } words[] = {
        {"weekdays", WINDOW_DAYS_WEEKDAYS},
        {"weekends", WINDOW_DAY_SAT | WINDOW_DAY_SUN},
        {"weekend", WINDOW_DAY_SAT | WINDOW_DAY_SUN},
        {"all", WINDOW_DAYS_ALL},
        {"daily", WINDOW_DAYS_ALL},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strlen(words[i].word) == len && strncasecmp(part, words[i].word, len) == 0) {
            *days |= words[i].days;
            return OD_OK;
        }
    }
    const char *dash = memchr(part, '-', len);
    if (!dash) {
        int d = day_index(part, len, errbuf, errlen);
        if (d < 0)
            return d;
        *days |= 1u << d;
        return OD_OK;
    }
    int from = day_index(part, (size_t)(dash - part), errbuf, errlen);
    if (from < 0)
        return from;
    int to = day_index(dash + 1, len - (size_t)(dash - part) - 1, errbuf, errlen);
    if (to < 0)
        return to;
    /* A range wraps over Sunday: fri-mon is fri, sat, sun, mon. */
    for (int d = from;; d = (d + 1) % 7) {
        *days |= 1u << d;
        if (d == to)
            break;
    }
    return OD_OK;
}

int ctl_days_parse(const char *s, unsigned *days, char *errbuf, size_t errlen)
{
    *days = 0;
    if (!s || !*s)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "no days given (e.g. mon-fri, mon,wed,fri, weekdays, all)");
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "'%s' has an empty day (e.g. mon-fri, mon,wed,fri)", s);
        int rc = days_part(p, len, days, errbuf, errlen);
        if (rc)
            return rc;
        if (!comma)
            break;
        p = comma + 1;
    }
    return OD_OK;
}

int ctl_window_parse(const char *s, char start[6], char end[6], int *start_min, int *end_min,
                     char *errbuf, size_t errlen)
{
    const char *dash = s ? strchr(s, '-') : NULL;
    if (!dash || strchr(dash + 1, '-'))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%s' is not a window: write HH:MM-HH:MM (e.g. 09:00-18:00)", s ? s : "");
    char a[16], b[16];
    size_t alen = (size_t)(dash - s), blen = strlen(dash + 1);
    if (alen == 0 || blen == 0 || alen >= sizeof(a) || blen >= sizeof(b))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%s' is not a window: write HH:MM-HH:MM (e.g. 09:00-18:00)", s);
    memcpy(a, s, alen);
    a[alen] = '\0';
    memcpy(b, dash + 1, blen + 1);
    int from = 0, to = 0;
    char why[128];
    if (window_time_parse(a, &from, why, sizeof(why)) != OD_OK)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%s': the start '%s' is not a time of day (HH:MM, 00:00 to 23:59)", s, a);
    if (window_time_parse(b, &to, why, sizeof(why)) != OD_OK)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%s': the end '%s' is not a time of day (HH:MM, 00:00 to 24:00)", s, b);
    window_time_format(from, start, 6);
    window_time_format(to, end, 6);
    if (start_min)
        *start_min = from;
    if (end_min)
        *end_min = to;
    return OD_OK;
}

int ctl_bool_parse(const char *s, bool *out, char *errbuf, size_t errlen)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    for (size_t i = 0; s && i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return OD_OK;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return OD_OK;
        }
    }
    return od_fail(errbuf, errlen, OD_ERR_INVALID, "'%s' is not on or off", s ? s : "");
}

int ctl_int_parse(const char *s, int64_t min, int64_t max, int64_t *out, char *errbuf,
                  size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end != '\0' || errno == ERANGE || isspace((unsigned char)*s))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "'%s' is not a whole number", s ? s : "");
    if (v < min || v > max)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%lld is out of range (%lld to %lld)", v,
                       (long long)min, (long long)max);
    *out = v;
    return OD_OK;
}

/* 100 years in seconds: no setting is anywhere near, and the sum of parts
 * cannot overflow below it. */
#define DURATION_MAX_S (100LL * 366 * 86400)

int ctl_duration_parse(const char *s, int64_t unit_s, int64_t *seconds, char *errbuf, size_t errlen)
{
    if (!s || !*s)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "no duration given (e.g. 90s, 10m, 1h30m, 2d)");
    int64_t total = 0;
    const char *p = s;
    bool plain = true;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p - '0');
            if (n > DURATION_MAX_S)
                goto range;
            p++;
        }
        int64_t unit;
        switch (*p) {
        case '\0':
            if (!plain)
                goto bad; /* "1h30": the unit of the last part is missing */
            unit = unit_s;
            break;
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            goto bad;
        }
        if (*p)
            p++;
        plain = false;
        if (n > DURATION_MAX_S / unit)
            goto range;
        total += n * unit;
        if (total > DURATION_MAX_S)
            goto range;
    }
    *seconds = total;
    return OD_OK;
bad:
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "'%s' is not a duration (a number, or parts like 90s, 10m, 1h30m, 2d)", s);
range:
    return od_fail(errbuf, errlen, OD_ERR_INVALID, "'%s' is too long a duration", s);
}

int ctl_minutes_parse(const char *s, int64_t *minutes, char *errbuf, size_t errlen)
{
    int64_t seconds = 0;
    int rc = ctl_duration_parse(s, 60, &seconds, errbuf, errlen);
    if (rc)
        return rc;
    if (seconds % 60 != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%s' is not a whole number of minutes (e.g. 90, 90m, 1h30m)", s);
    *minutes = seconds / 60;
    return OD_OK;
}

int ctl_kv_split(const char *s, char *key, size_t key_len, const char **value, char *errbuf,
                 size_t errlen)
{
    const char *eq = s ? strchr(s, '=') : NULL;
    if (!eq || eq == s)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "'%s' is not NAME=VALUE", s ? s : "");
    size_t n = (size_t)(eq - s);
    if (n >= key_len)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the name in '%s' is longer than %zu bytes",
                       s, key_len - 1);
    memcpy(key, s, n);
    key[n] = '\0';
    *value = eq + 1;
    return OD_OK;
}

bool ctl_is_none(const char *s)
{
    return s && strcasecmp(s, "none") == 0;
}

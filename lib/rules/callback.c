#include "callback.h"

#include <string.h>

#include "window.h"
#include "window_icu.h"

#define USEC_PER_SEC 1000000LL

/* n digits at s into *value; false if one is not a digit. */
static bool digits(const char *s, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* The parts of an accepted text. */
typedef struct parts {
    int y, mo, d, h, mi, s;
    int64_t frac_us;
    bool has_offset;
    int offset_min; /* east of UTC */
} parts_t;

/* "±HH:MM", "±HHMM", "±HH" or "Z" at p, the whole rest of the text. */
static bool offset_parse(const char *p, parts_t *out)
{
    if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
        out->has_offset = true;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    int sign = *p == '-' ? -1 : 1, oh = 0, om = 0;
    size_t len = strlen(p + 1);
    bool ok = (len == 2 && digits(p + 1, 2, &oh)) ||
              (len == 4 && digits(p + 1, 2, &oh) && digits(p + 3, 2, &om)) ||
              (len == 5 && p[3] == ':' && digits(p + 1, 2, &oh) && digits(p + 4, 2, &om));
    if (!ok || oh > 23 || om > 59)
        return false;
    out->has_offset = true;
    out->offset_min = sign * (oh * 60 + om);
    return true;
}

static bool text_parse(const char *t, parts_t *out)
{
    memset(out, 0, sizeof(*out));
    /* YYYY-MM-DD[T ]HH:MM */
    if (strlen(t) < 16 || !digits(t, 4, &out->y) || t[4] != '-' || !digits(t + 5, 2, &out->mo) ||
        t[7] != '-' || !digits(t + 8, 2, &out->d) ||
        (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(t + 11, 2, &out->h) ||
        t[13] != ':' || !digits(t + 14, 2, &out->mi))
        return false;
    const char *p = t + 16;
    if (*p == ':') {
        if (!digits(p + 1, 2, &out->s))
            return false;
        p += 3;
        if (*p == '.' || *p == ',') {
            p++;
            int n = 0;
            for (; *p >= '0' && *p <= '9'; p++, n++)
                if (n < 6)
                    out->frac_us = out->frac_us * 10 + (*p - '0');
            if (n == 0)
                return false;
            for (; n < 6; n++)
                out->frac_us *= 10;
        }
    }
    if (*p && !offset_parse(p, out))
        return false;
    return out->y >= 1970 && out->y <= 9999 && out->mo >= 1 && out->mo <= 12 && out->d >= 1 &&
           out->d <= days_in_month(out->y, out->mo) && out->h <= 23 && out->mi <= 59 &&
           out->s <= 59;
}

/* The instant of local wall time pt in zone (window.h's DST semantics). */
static int local_instant(const parts_t *pt, const char *zone, int64_t *out_us, char *errbuf,
                         size_t errlen)
{
    UCalendar *cal = NULL;
    int rc = window_calendar_open(zone, &cal, errbuf, errlen);
    if (rc)
        return rc;
    UErrorCode status = U_ZERO_ERROR;
    ucal_clear(cal);
    ucal_setDateTime(cal, pt->y, pt->mo - 1, pt->d, pt->h, pt->mi, pt->s, &status);
    UDate ms = ucal_getMillis(cal, &status);
    ucal_close(cal);
    if (U_FAILURE(status))
        return window_icu_fail(errbuf, errlen, "ucal_getMillis", status);
    *out_us = (int64_t)ms * 1000 + pt->frac_us;
    return OD_OK;
}

int callback_time_parse(const char *text, const char *zone, int64_t *out_us, char *errbuf,
                        size_t errlen)
{
    parts_t pt;
    if (!text || strlen(text) > CALLBACK_TEXT_MAX || !text_parse(text, &pt))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%.64s' is not an ISO 8601 date and time (such as "
                       "2026-03-12T15:00:00-05:00, or 2026-03-12T15:00 in the lead's zone)",
                       text ? text : "");
    if (!pt.has_offset && !zone)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "'%s' has no offset and no zone is given",
                       text);
    if (!pt.has_offset)
        return local_instant(&pt, zone, out_us, errbuf, errlen);
    int64_t day = window_day_from_civil(pt.y, pt.mo, pt.d);
    int64_t secs = day * 86400 + pt.h * 3600 + pt.mi * 60 + pt.s - (int64_t)pt.offset_min * 60;
    *out_us = secs * USEC_PER_SEC + pt.frac_us;
    return OD_OK;
}

#include "window.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "window_icu.h"
#include "xmalloc.h"

#define USEC_PER_MS  1000LL
#define USEC_PER_DAY (86400LL * 1000000LL)

/* Instants accepted: 1970-01-01 .. 9000-01-01 (days since epoch of the
 * latter: 2567655). Far beyond any campaign, and far from int64 overflow. */
#define MAX_DAY_NUMBER 2567655LL

/* ---- civil dates: proleptic Gregorian day numbers (0 = 1970-01-01) ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t window_day_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_day(int64_t day, int64_t *y, int *m, int *d)
{
    day += 719468;
    int64_t era = floor_div(day, 146097);
    int64_t doe = day - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* WINDOW_DAY_* bit of a day number (1970-01-01 was a Thursday). */
static unsigned day_bit(int64_t day)
{
    int64_t iso = ((day + 3) % 7 + 7) % 7; /* 0 = Monday */
    return 1u << iso;
}

/* ---- ICU calendars ---- */

int window_icu_fail(char *errbuf, size_t errlen, const char *what, UErrorCode status)
{
    return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "ICU %s: %s", what, u_errorName(status));
}

int window_zone_check(const char *zone, char *errbuf, size_t errlen)
{
    if (!zone || !*zone)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "time zone is empty");
    size_t len = strlen(zone);
    if (len >= WINDOW_ZONE_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "time zone '%.64s...' is too long", zone);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)zone[i];
        if (!isalnum(ch) && ch != '/' && ch != '_' && ch != '-' && ch != '+')
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "time zone '%s' is not an IANA time zone name", zone);
    }
    UChar uzone[WINDOW_ZONE_MAX];
    UChar canonical[WINDOW_ZONE_MAX];
    u_charsToUChars(zone, uzone, (int32_t)len + 1);
    UBool is_system = 0;
    UErrorCode status = U_ZERO_ERROR;
    ucal_getCanonicalTimeZoneID(uzone, (int32_t)len, canonical, WINDOW_ZONE_MAX, &is_system,
                                &status);
    /* Custom IDs ("GMT+05:30") are valid to ICU but are fixed offsets with no
     * DST rules: refused, as the tz database is the only source of offsets. */
    if (U_FAILURE(status) || !is_system)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "time zone '%s' is not an IANA time zone name (e.g. America/New_York)",
                       zone);
    return OD_OK;
}

int window_calendar_open(const char *zone, UCalendar **out, char *errbuf, size_t errlen)
{
    int rc = window_zone_check(zone, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    UChar uzone[WINDOW_ZONE_MAX];
    u_charsToUChars(zone, uzone, (int32_t)strlen(zone) + 1);
    UErrorCode status = U_ZERO_ERROR;
    UCalendar *cal = ucal_open(uzone, -1, "en_US_POSIX", UCAL_GREGORIAN, &status);
    if (U_FAILURE(status)) {
        if (cal)
            ucal_close(cal);
        return window_icu_fail(errbuf, errlen, "ucal_open", status);
    }
    /* A skipped wall time (DST gap) means the first instant after it; a
     * repeated one (overlap) its first occurrence. ICU's default for both
     * is the last interpretation, so set them explicitly. */
    ucal_setAttribute(cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
    ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
    *out = cal;
    return OD_OK;
}

/* The local day number of instant t_us in cal's zone. */
static int local_day(UCalendar *cal, int64_t t_us, int64_t *day, char *errbuf, size_t errlen)
{
    UErrorCode status = U_ZERO_ERROR;
    ucal_setMillis(cal, (UDate)floor_div(t_us, USEC_PER_MS), &status);
    int32_t y = ucal_get(cal, UCAL_EXTENDED_YEAR, &status);
    int32_t m = ucal_get(cal, UCAL_MONTH, &status);
    int32_t d = ucal_get(cal, UCAL_DATE, &status);
    if (U_FAILURE(status))
        return window_icu_fail(errbuf, errlen, "ucal_get", status);
    *day = window_day_from_civil(y, m + 1, d);
    return OD_OK;
}

/* The instant of local wall time (day, minute) in cal's zone. */
static int local_instant(UCalendar *cal, int64_t day, int minute, int64_t *t_us, char *errbuf,
                         size_t errlen)
{
    int64_t y;
    int m, d;
    civil_from_day(day, &y, &m, &d);
    UErrorCode status = U_ZERO_ERROR;
    ucal_clear(cal);
    ucal_setDateTime(cal, (int32_t)y, m - 1, d, minute / 60, minute % 60, 0, &status);
    UDate ms = ucal_getMillis(cal, &status);
    if (U_FAILURE(status))
        return window_icu_fail(errbuf, errlen, "ucal_getMillis", status);
    *t_us = (int64_t)ms * USEC_PER_MS;
    return OD_OK;
}

/* ---- one rule in one zone ---- */

typedef struct constraint {
    const window_spec_t *spec;
    const char *zone;
    UCalendar *cal; /* borrowed from the zone list */
    bool always;    /* 24h on every day: never closes */
    bool valid;     /* open_us/close_us hold a period */
    int64_t open_us;
    int64_t close_us;
} constraint_t;

/* Sets c's period to the first one that closes after t_us, looking at days
 * from two before t's local day (a crossing-midnight period opened then may
 * still run) up to the horizon. */
static int constraint_period(constraint_t *c, int64_t t_us, char *errbuf, size_t errlen)
{
    int64_t today = 0;
    int rc = local_day(c->cal, t_us, &today, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    const window_spec_t *spec = c->spec;
    int close_day_offset = spec->end_min <= spec->start_min ? 1 : 0;
    for (int64_t day = today - 2; day <= today + WINDOW_HORIZON_DAYS; day++) {
        if (!(spec->days & day_bit(day)))
            continue;
        int64_t open_us, close_us;
        rc = local_instant(c->cal, day, spec->start_min, &open_us, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        rc =
            local_instant(c->cal, day + close_day_offset, spec->end_min, &close_us, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        if (close_us <= open_us) /* e.g. 02:10–02:50 on a spring-forward day */
            continue;
        if (close_us > t_us) {
            c->open_us = open_us;
            c->close_us = close_us;
            c->valid = true;
            return OD_OK;
        }
    }
    return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                   "the calling window never opens in %s within %d days", c->zone,
                   WINDOW_HORIZON_DAYS);
}

/* The end of c's current period, extended over periods that start exactly
 * when it ends (a 24h window on consecutive days). Leaves c's cache alone. */
static int constraint_merged_close(constraint_t *c, int64_t *close_us, char *errbuf, size_t errlen)
{
    int64_t end = c->close_us;
    if (c->spec->start_min == c->spec->end_min) {
        constraint_t next = *c;
        /* Always-open rules are skipped, so at most 6 allowed days in a row. */
        for (int i = 0; i < 7; i++) {
            int rc = constraint_period(&next, end, errbuf, errlen);
            if (rc != OD_OK)
                return rc;
            if (next.open_us != end)
                break;
            end = next.close_us;
        }
    }
    *close_us = end;
    return OD_OK;
}

/* ---- the set of rules ---- */

int window_spec_check(const window_spec_t *spec, char *errbuf, size_t errlen)
{
    if (!spec)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "window is missing");
    if (spec->start_min < 0 || spec->start_min >= WINDOW_MINUTES_PER_DAY)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "window start minute %d is out of range (allowed: 0..1439)",
                       spec->start_min);
    if (spec->end_min < 0 || spec->end_min >= WINDOW_MINUTES_PER_DAY)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "window end minute %d is out of range (allowed: 0..1439)", spec->end_min);
    if (spec->days == 0 || (spec->days & ~WINDOW_DAYS_ALL) != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "window days 0x%x must be a non-empty subset of mon..sun", spec->days);
    return OD_OK;
}

typedef struct rule_set {
    const char **zones; /* distinct zone names */
    UCalendar **cals;   /* one per distinct zone */
    size_t n_zones;
    constraint_t *constraints;
    size_t n_constraints;
} rule_set_t;

static void rule_set_close(rule_set_t *set)
{
    for (size_t i = 0; i < set->n_zones; i++)
        if (set->cals[i])
            ucal_close(set->cals[i]);
    free(set->cals);
    free(set->zones);
    free(set->constraints);
}

/* Checks the rules and opens one calendar per distinct zone. On error the
 * set is still safe to close. */
static int rule_set_open(rule_set_t *set, const window_rule_t *rules, size_t n_rules, char *errbuf,
                         size_t errlen)
{
    memset(set, 0, sizeof(*set));
    if (n_rules > 0 && !rules)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "window rules are missing");
    size_t total = 0;
    for (size_t r = 0; r < n_rules; r++) {
        int rc = window_spec_check(&rules[r].spec, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        if (rules[r].n_zones == 0 || !rules[r].zones)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "window rule %zu has no time zone", r);
        total += rules[r].n_zones;
    }
    set->zones = xcalloc(total, sizeof(*set->zones));
    set->cals = xcalloc(total, sizeof(*set->cals));
    set->constraints = xcalloc(total, sizeof(*set->constraints));
    for (size_t r = 0; r < n_rules; r++) {
        const window_spec_t *spec = &rules[r].spec;
        for (size_t z = 0; z < rules[r].n_zones; z++) {
            const char *zone = rules[r].zones[z];
            if (!zone)
                return od_fail(errbuf, errlen, OD_ERR_INVALID, "time zone is empty");
            size_t k = 0;
            while (k < set->n_zones && strcmp(set->zones[k], zone) != 0)
                k++;
            if (k == set->n_zones) {
                int rc = window_calendar_open(zone, &set->cals[k], errbuf, errlen);
                if (rc != OD_OK)
                    return rc;
                set->zones[k] = zone;
                set->n_zones++;
            }
            constraint_t *c = &set->constraints[set->n_constraints++];
            c->spec = spec;
            c->zone = set->zones[k];
            c->cal = set->cals[k];
            c->always = spec->start_min == spec->end_min && spec->days == WINDOW_DAYS_ALL;
        }
    }
    return OD_OK;
}

/* The core: see window_slot_find(). With stop_if_closed, returns as soon as the
 * rules are not all open at at_us and reports open_us = -1; with !want_close
 * leaves close_us unset. */
static int slot_find(const window_rule_t *rules, size_t n_rules, int64_t at_us, bool stop_if_closed,
                     bool want_close, window_slot_t *slot, char *errbuf, size_t errlen)
{
    rule_set_t set;
    int rc = OD_OK;
    int64_t day = floor_div(at_us, USEC_PER_DAY);
    if (day < 0 || day >= MAX_DAY_NUMBER) {
        memset(&set, 0, sizeof(set));
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "instant %lld is outside the supported years 1970..8999", (long long)at_us);
        goto out;
    }
    rc = rule_set_open(&set, rules, n_rules, errbuf, errlen);
    if (rc != OD_OK)
        goto out;

    /* Fixed point: advance t to the latest opening among the rules closed
     * at t until all are open at once. Every step lands on some rule's
     * opening, so it ends within the horizon or gives up there. */
    int64_t t = at_us;
    int64_t deadline = at_us + (int64_t)WINDOW_HORIZON_DAYS * USEC_PER_DAY;
    for (;;) {
        bool all_open = true;
        int64_t latest = t;
        for (size_t i = 0; i < set.n_constraints; i++) {
            constraint_t *c = &set.constraints[i];
            if (c->always)
                continue;
            if (!c->valid || c->close_us <= t) {
                rc = constraint_period(c, t, errbuf, errlen);
                if (rc != OD_OK)
                    goto out;
            }
            if (c->open_us > t) {
                all_open = false;
                if (c->open_us > latest)
                    latest = c->open_us;
            }
        }
        if (all_open)
            break;
        if (stop_if_closed) {
            slot->open_us = -1;
            slot->close_us = -1;
            goto out;
        }
        t = latest;
        if (t > deadline) {
            rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                         "the calling window and quiet hours are never open together in the "
                         "time zones that apply within %d days",
                         WINDOW_HORIZON_DAYS);
            goto out;
        }
    }
    slot->open_us = t;
    slot->close_us = WINDOW_NEVER;
    if (want_close) {
        for (size_t i = 0; i < set.n_constraints; i++) {
            constraint_t *c = &set.constraints[i];
            if (c->always)
                continue;
            int64_t close_us;
            rc = constraint_merged_close(c, &close_us, errbuf, errlen);
            if (rc != OD_OK)
                goto out;
            if (close_us < slot->close_us)
                slot->close_us = close_us;
        }
    }
out:
    rule_set_close(&set);
    return rc;
}

int window_slot_find(const window_rule_t *rules, size_t n_rules, int64_t at_us, window_slot_t *slot,
                     char *errbuf, size_t errlen)
{
    return slot_find(rules, n_rules, at_us, false, true, slot, errbuf, errlen);
}

int window_is_open(const window_rule_t *rules, size_t n_rules, int64_t at_us, bool *open,
                   char *errbuf, size_t errlen)
{
    window_slot_t slot;
    int rc = slot_find(rules, n_rules, at_us, true, false, &slot, errbuf, errlen);
    if (rc == OD_OK)
        *open = slot.open_us == at_us;
    return rc;
}

int window_next_open(const window_rule_t *rules, size_t n_rules, int64_t at_us, int64_t *open_us,
                     char *errbuf, size_t errlen)
{
    window_slot_t slot;
    int rc = slot_find(rules, n_rules, at_us, false, false, &slot, errbuf, errlen);
    if (rc == OD_OK)
        *open_us = slot.open_us;
    return rc;
}

int window_close_at(const window_rule_t *rules, size_t n_rules, int64_t at_us, int64_t *close_us,
                    char *errbuf, size_t errlen)
{
    window_slot_t slot;
    int rc = slot_find(rules, n_rules, at_us, true, true, &slot, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    if (slot.open_us != at_us)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "the calling window is closed now");
    *close_us = slot.close_us;
    return OD_OK;
}

/* ---- parsing and formatting ---- */

static int digits(const char *s, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return 0;
}

int window_time_parse(const char *s, int *minute, char *errbuf, size_t errlen)
{
    int hour, min, sec = 0;
    const char *p = s;
    if (!s)
        goto bad;
    int hour_len = isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) ? 2 : 1;
    if (digits(p, hour_len, &hour) != 0)
        goto bad;
    p += hour_len;
    if (*p++ != ':' || digits(p, 2, &min) != 0)
        goto bad;
    p += 2;
    if (*p == ':') { /* "HH:MM:00", as Postgres prints a time */
        if (digits(p + 1, 2, &sec) != 0 || sec != 0)
            goto bad;
        p += 3;
    }
    if (*p != '\0' || min > 59 || hour > 24 || (hour == 24 && min != 0))
        goto bad;
    *minute = (hour % 24) * 60 + min;
    return OD_OK;
bad:
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "'%.32s' is not a time of day (allowed: HH:MM from 00:00 to 23:59)",
                   s ? s : "(null)");
}

void window_time_format(int minute, char *buf, size_t len)
{
    if (minute < 0 || minute >= WINDOW_MINUTES_PER_DAY) {
        snprintf(buf, len, "??:??");
        return;
    }
    snprintf(buf, len, "%02d:%02d", minute / 60, minute % 60);
}

void window_time_format_end(int minute, char *buf, size_t len)
{
    if (minute == 0)
        snprintf(buf, len, "24:00");
    else
        window_time_format(minute, buf, len);
}

static const char *const day_short[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const day_long[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                        "friday", "saturday", "sunday"};

int window_day_parse(const char *s, unsigned *day_bit_out, char *errbuf, size_t errlen)
{
    for (int i = 0; s && i < 7; i++) {
        if (strcasecmp(s, day_short[i]) == 0 || strcasecmp(s, day_long[i]) == 0) {
            *day_bit_out = 1u << i;
            return OD_OK;
        }
    }
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "'%.32s' is not a day (allowed: mon, tue, wed, thu, fri, sat, sun)",
                   s ? s : "(null)");
}

const char *window_day_name(unsigned bit)
{
    for (int i = 0; i < 7; i++)
        if (bit == (1u << i))
            return day_short[i];
    return NULL;
}

void window_days_format(unsigned days, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; i < 7; i++) {
        if (!(days & (1u << i)))
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", day_short[i]);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
}

/*
 * test_rules_support.h — helpers for the rules tests (header-only).
 *
 * Expected instants are written as local time with their UTC offset
 * ("2024-03-10T03:00-04:00"), so a table reads in the zone's own terms and
 * still names one exact instant, independent of any tz code under test.
 */
#ifndef OUTDIAL_TEST_RULES_SUPPORT_H
#define OUTDIAL_TEST_RULES_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static inline int64_t rt_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM[:SS](Z|+HH:MM|-HH:MM)" to microseconds; aborts the test
 * binary on a malformed literal (a bug in the table, not in the code). */
static inline int64_t T(const char *s)
{
    int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5)
        goto bad;
    const char *p = s + n;
    if (*p == ':') {
        int k = 0;
        if (sscanf(p, ":%2d%n", &sec, &k) != 1)
            goto bad;
        p += k;
    }
    int sign = 0;
    if (*p == 'Z' && p[1] == '\0') {
        sign = 1;
    } else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
               strlen(p) == 6) {
        sign = *p == '+' ? 1 : -1;
    } else {
        goto bad;
    }
    int64_t secs = rt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                   sign * (oh * 3600 + om * 60);
    return secs * OD_USEC_PER_SEC;
bad:
    fprintf(stderr, "bad time literal in test table: %s\n", s);
    abort();
}

/* A deterministic PRNG for the property tests (splitmix64): the same seed
 * tests the same cases on every run. */
static inline uint64_t rt_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in [lo, hi) from rt_rng_next. */
static inline int64_t rt_rng_range(uint64_t *state, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rt_rng_next(state) % (uint64_t)(hi - lo));
}

/* Formats an instant for failure messages (UTC). */
static inline const char *rt_fmt(int64_t us, char *buf, size_t len)
{
    if (us == INT64_MAX) {
        snprintf(buf, len, "never");
        return buf;
    }
    od_time_format_rfc3339(us, buf, len);
    return buf;
}

/* Splits "A,B,C" into up to cap pointers into a copy held in storage. */
static inline size_t rt_split(const char *list, char *storage, size_t storage_len, const char **out,
                              size_t cap)
{
    size_t n = 0;
    snprintf(storage, storage_len, "%s", list ? list : "");
    for (char *save = NULL, *tok = strtok_r(storage, ",", &save); tok && n < cap;
         tok = strtok_r(NULL, ",", &save))
        out[n++] = tok;
    return n;
}

#endif

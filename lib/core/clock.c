#include "clock.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

void od_clock_init_real(od_clock_t *clk)
{
    clk->scale = 1.0;
    clk->epoch_us = 0;
    clk->offset_us = 0;
    clk->skew_us = 0;
    clk->correction_us = 0;
}

int od_clock_from_env(od_clock_t *clk, char *errbuf, size_t errlen)
{
    od_clock_init_real(clk);
    double scale = 1.0;
    int rc = config_get_double("OUTDIAL_CLOCK_SCALE", 1.0, 0.001, 100000.0, &scale, errbuf, errlen);
    if (rc)
        return rc;
    clk->scale = scale;

    const char *epoch = config_get_str("OUTDIAL_CLOCK_EPOCH", NULL);
    if (epoch) {
        int64_t v = 0;
        rc = config_get_int("OUTDIAL_CLOCK_EPOCH", 0, 0, 32503680000LL, &v, errbuf, errlen);
        if (rc)
            return rc;
        clk->epoch_us = v * OD_USEC_PER_SEC;
    } else if (scale != 1.0) {
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "OUTDIAL_CLOCK_EPOCH: required when OUTDIAL_CLOCK_SCALE is not 1 "
                       "(the real Unix time in seconds that every process scales from)");
    }

    const char *start = config_get_str("OUTDIAL_CLOCK_START", NULL);
    const char *offset = config_get_str("OUTDIAL_CLOCK_OFFSET", NULL);
    if (start && offset)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "OUTDIAL_CLOCK_START and OUTDIAL_CLOCK_OFFSET: set one, not both");
    if (start) {
        int64_t start_us = 0;
        if (!epoch)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "OUTDIAL_CLOCK_START: needs OUTDIAL_CLOCK_EPOCH (the real instant "
                           "at which campaign time is OUTDIAL_CLOCK_START)");
        if (od_time_parse_rfc3339(start, &start_us))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "OUTDIAL_CLOCK_START: '%s' is not an RFC 3339 UTC time such as "
                           "2026-03-08T06:00:00Z",
                           start);
        clk->offset_us = start_us - clk->epoch_us;
    } else if (offset) {
        double v = 0;
        /* +-100 years: enough to place a demo anywhere, small enough for int64 µs. */
        rc = config_get_double("OUTDIAL_CLOCK_OFFSET", 0, -3.2e9, 3.2e9, &v, errbuf, errlen);
        if (rc)
            return rc;
        clk->offset_us = (int64_t)llround(v * OD_USEC_PER_SEC);
    }
    /* Test only (clock.h): +-30 s covers the drift a fault test plays, and is
     * small enough that a stray setting cannot move a deployment by days. */
    int64_t skew_ms = 0;
    rc = config_get_int("OUTDIAL_CLOCK_SKEW_MS", 0, -30000, 30000, &skew_ms, errbuf, errlen);
    if (rc)
        return rc;
    clk->skew_us = skew_ms * 1000;
    return OD_OK;
}

int64_t od_clock_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * OD_USEC_PER_SEC + ts.tv_nsec / 1000;
}

int64_t od_clock_at(const od_clock_t *clk, int64_t real_us)
{
    if (clk->scale == 1.0)
        return real_us + clk->offset_us;
    double elapsed = (double)(real_us - clk->epoch_us) * clk->scale;
    return clk->epoch_us + clk->offset_us + (int64_t)llround(elapsed);
}

int64_t od_clock_host_us(const od_clock_t *clk)
{
    return od_clock_real_us() + clk->skew_us;
}

int64_t od_clock_now_us(const od_clock_t *clk)
{
    return od_clock_at(clk, od_clock_host_us(clk) + od_clock_correction_us(clk));
}

void od_clock_correct(od_clock_t *clk, int64_t correction_us)
{
    __atomic_store_n(&clk->correction_us, correction_us, __ATOMIC_RELAXED);
}

int64_t od_clock_correction_us(const od_clock_t *clk)
{
    return __atomic_load_n(&clk->correction_us, __ATOMIC_RELAXED);
}

bool od_clock_offset_estimate(int64_t before_us, int64_t shared_us, int64_t after_us,
                              int64_t max_rtt_us, int64_t deadband_us, int64_t *offset_out)
{
    int64_t rtt = after_us - before_us;
    if (rtt < 0 || rtt > max_rtt_us)
        return false;
    int64_t offset = shared_us - (before_us + rtt / 2);
    int64_t magnitude = offset < 0 ? -offset : offset;
    *offset_out = magnitude <= rtt / 2 + deadband_us ? 0 : offset;
    return true;
}

int64_t od_clock_real_duration_us(const od_clock_t *clk, int64_t campaign_us)
{
    if (campaign_us <= 0)
        return 0;
    int64_t real = (int64_t)llround((double)campaign_us / clk->scale);
    return real > 0 ? real : 1;
}

struct timespec od_timespec_after_ms(clockid_t clk, int64_t ms)
{
    struct timespec t;
    clock_gettime(clk, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

void od_cond_init_clock(pthread_cond_t *cond, clockid_t clk)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, clk);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

void od_clock_sleep(const od_clock_t *clk, int64_t campaign_us)
{
    int64_t real = od_clock_real_duration_us(clk, campaign_us);
    struct timespec ts = {.tv_sec = real / OD_USEC_PER_SEC,
                          .tv_nsec = (long)(real % OD_USEC_PER_SEC) * 1000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

int od_time_parse_rfc3339(const char *s, int64_t *out_us)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19)
        return OD_ERR_INVALID;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return OD_ERR_INVALID;
    const char *p = s + n;
    int64_t frac_us = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 6) {
                frac_us = frac_us * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        if (digits == 0)
            return OD_ERR_INVALID;
        while (digits++ < 6)
            frac_us *= 10;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
        return OD_ERR_INVALID;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) /* timegm normalised an impossible date such as 02-30 */
        return OD_ERR_INVALID;
    *out_us = (int64_t)t * OD_USEC_PER_SEC + frac_us;
    return OD_OK;
}

void od_time_format_rfc3339(int64_t us, char *buf, size_t len)
{
    int64_t secs = us / OD_USEC_PER_SEC;
    int64_t rem = us % OD_USEC_PER_SEC;
    if (rem < 0) {
        rem += OD_USEC_PER_SEC;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(rem / 1000));
}

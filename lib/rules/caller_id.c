#include "caller_id.h"

#include <stdio.h>
#include <string.h>

#include "lead_region.h"
#include "window.h"
#include "window_icu.h"

static const char *const STRATEGY_NAMES[CALLER_ID_STRATEGY_COUNT] = {"single", "local_presence",
                                                                     "sticky", "round_robin"};

const char *caller_id_strategy_name(caller_id_strategy_t s)
{
    return (unsigned)s < CALLER_ID_STRATEGY_COUNT ? STRATEGY_NAMES[s] : "unknown";
}

int caller_id_strategy_parse(const char *s, caller_id_strategy_t *out, char *errbuf, size_t errlen)
{
    for (int i = 0; i < CALLER_ID_STRATEGY_COUNT; i++)
        if (s && strcmp(s, STRATEGY_NAMES[i]) == 0) {
            *out = (caller_id_strategy_t)i;
            return OD_OK;
        }
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "'%.40s' is not single, local_presence, sticky or round_robin", s ? s : "");
}

/* The area code of a NANP number ("+1" and 10 digits) into code; false for
 * any other number. */
static bool area_code(const char *e164, char code[4])
{
    if (!e164 || strncmp(e164, "+1", 2) != 0 || strlen(e164) != 12)
        return false;
    memcpy(code, e164 + 2, 3);
    code[3] = '\0';
    return true;
}

/* 0: the callee's area code, 1: its region, 2: any other. */
static int tier_of(const char *number, const char *callee_area, bool has_area,
                   const char *callee_region)
{
    char area[4], region[LEAD_REGION_CODE_MAX], err[64];
    if (has_area && area_code(number, area) && strcmp(area, callee_area) == 0)
        return 0;
    if (callee_region[0] && lead_region_from_e164(number, region, err, sizeof(err)) == OD_OK &&
        strcmp(region, callee_region) == 0)
        return 1;
    return 2;
}

/* FNV-1a: a lead's stable place within a tier. */
static uint64_t lead_place(const char *lead_id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = lead_id ? lead_id : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static size_t local_presence_order(const char *const *pool, size_t n,
                                   const caller_id_callee_t *callee,
                                   size_t order[CALLER_ID_POOL_MAX])
{
    char callee_area[4] = "", callee_region[LEAD_REGION_CODE_MAX] = "", err[64];
    bool has_area = area_code(callee->e164, callee_area);
    if (callee->region && callee->region[0])
        snprintf(callee_region, sizeof(callee_region), "%s", callee->region);
    else if (lead_region_from_e164(callee->e164 ? callee->e164 : "", callee_region, err,
                                   sizeof(err)) != OD_OK)
        callee_region[0] = '\0';
    int tiers[CALLER_ID_POOL_MAX];
    for (size_t i = 0; i < n; i++)
        tiers[i] = tier_of(pool[i], callee_area, has_area, callee_region);
    uint64_t place = lead_place(callee->lead_id);
    size_t k = 0;
    for (int t = 0; t < 3; t++) {
        size_t members[CALLER_ID_POOL_MAX], m = 0;
        for (size_t i = 0; i < n; i++)
            if (tiers[i] == t)
                members[m++] = i;
        for (size_t j = 0; j < m; j++)
            order[k++] = members[(place + j) % m];
    }
    return k;
}

size_t caller_id_order(caller_id_strategy_t strategy, const char *const *pool, size_t n,
                       const caller_id_callee_t *callee, size_t order[CALLER_ID_POOL_MAX])
{
    if (n > CALLER_ID_POOL_MAX)
        n = CALLER_ID_POOL_MAX;
    if (n == 0)
        return 0;
    switch (strategy) {
    case CALLER_ID_STICKY:
        if (callee->sticky && callee->sticky[0])
            for (size_t i = 0; i < n; i++)
                if (strcmp(pool[i], callee->sticky) == 0) {
                    order[0] = i;
                    return 1;
                }
        return local_presence_order(pool, n, callee, order);
    case CALLER_ID_LOCAL_PRESENCE:
        return local_presence_order(pool, n, callee, order);
    case CALLER_ID_ROUND_ROBIN:
        for (size_t j = 0; j < n; j++)
            order[j] = (size_t)((callee->turn + j) % n);
        return n;
    case CALLER_ID_SINGLE:
    default:
        order[0] = 0;
        return 1;
    }
}

void caller_id_pick(const size_t *order, size_t n_order, const bool *resting,
                    const int64_t *wakes_us, caller_id_pick_t *out)
{
    out->exhausted = true;
    out->index = 0;
    out->wakes_us = INT64_MAX;
    for (size_t j = 0; j < n_order; j++) {
        size_t i = order[j];
        if (!resting[i]) {
            out->exhausted = false;
            out->index = i;
            out->wakes_us = 0;
            return;
        }
        if (wakes_us[i] < out->wakes_us)
            out->wakes_us = wakes_us[i];
    }
}

int caller_id_day(const char *zone, int64_t now_us, int64_t *day, int64_t *next_midnight_us,
                  char *errbuf, size_t errlen)
{
    UCalendar *cal = NULL;
    int rc = window_calendar_open(zone, &cal, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    UErrorCode status = U_ZERO_ERROR;
    int64_t ms = now_us >= 0 ? now_us / 1000 : -((-now_us + 999) / 1000);
    ucal_setMillis(cal, (UDate)ms, &status);
    int32_t y = ucal_get(cal, UCAL_EXTENDED_YEAR, &status);
    int32_t m = ucal_get(cal, UCAL_MONTH, &status);
    int32_t d = ucal_get(cal, UCAL_DATE, &status);
    if (U_FAILURE(status)) {
        rc = window_icu_fail(errbuf, errlen, "ucal_get", status);
        goto out;
    }
    *day = window_day_from_civil(y, m + 1, d);
    /* The next day's 00:00 (the first valid instant after it in a gap). */
    ucal_setDateTime(cal, y, m, d, 0, 0, 0, &status);
    ucal_add(cal, UCAL_DATE, 1, &status);
    ucal_set(cal, UCAL_HOUR_OF_DAY, 0);
    ucal_set(cal, UCAL_MINUTE, 0);
    ucal_set(cal, UCAL_SECOND, 0);
    ucal_set(cal, UCAL_MILLISECOND, 0);
    UDate next = ucal_getMillis(cal, &status);
    if (U_FAILURE(status)) {
        rc = window_icu_fail(errbuf, errlen, "ucal_getMillis", status);
        goto out;
    }
    *next_midnight_us = (int64_t)next * 1000;
out:
    ucal_close(cal);
    return rc;
}

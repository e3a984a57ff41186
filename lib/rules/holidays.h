/*
 * holidays.h — the dates of the holidays calling rules name, for any year.
 *
 * Pure: Gregorian calendar arithmetic, no clock, no zone, no allocation.
 * Each holiday has a stable name (the rule pack and the API use it) and one
 * of these kinds:
 *   fixed       a month and day (July 4). Its observed day follows US
 *               federal practice (5 U.S.C. 6103(b)): a Saturday holiday is
 *               observed the Friday before, a Sunday one the Monday after.
 *               New Year's Day on a Saturday is observed on December 31 of
 *               the year before.
 *   nth         the nth weekday of a month (third Monday of January).
 *   last        the last given weekday of a month (last Monday of May).
 *   easter      a number of days from Western (Gregorian) Easter Sunday.
 *   election    the Tuesday after the first Monday of November, in even
 *               years only (the years of general elections).
 * Only fixed holidays move; for the others the observed day is the day.
 *
 * holiday_falls_on() is what a "no calls on holidays" rule asks: is this
 * date the holiday itself or its observed day? Both are blocked, because
 * offices close on the observed day and the statutes name the day itself.
 */
#ifndef OUTDIAL_HOLIDAYS_H
#define OUTDIAL_HOLIDAYS_H

#include <stdbool.h>

#include "err.h"

typedef enum holiday_id {
    HOLIDAY_NEW_YEARS_DAY = 0, /* fixed Jan 1 */
    HOLIDAY_NEW_ORLEANS,       /* fixed Jan 8 (Battle of New Orleans, Louisiana) */
    HOLIDAY_MLK_DAY,           /* 3rd Monday of January */
    HOLIDAY_PRESIDENTS_DAY,    /* 3rd Monday of February (Washington's Birthday) */
    HOLIDAY_MARDI_GRAS,        /* Easter - 47 days */
    HOLIDAY_GOOD_FRIDAY,       /* Easter - 2 days */
    HOLIDAY_RI_INDEPENDENCE,   /* fixed May 4 (Rhode Island Independence Day) */
    HOLIDAY_MEMORIAL_DAY,      /* last Monday of May */
    HOLIDAY_JUNETEENTH,        /* fixed Jun 19 */
    HOLIDAY_INDEPENDENCE_DAY,  /* fixed Jul 4 */
    HOLIDAY_VICTORY_DAY,       /* 2nd Monday of August (Rhode Island) */
    HOLIDAY_HUEY_LONG_DAY,     /* fixed Aug 30 (Louisiana) */
    HOLIDAY_LABOR_DAY,         /* 1st Monday of September */
    HOLIDAY_COLUMBUS_DAY,      /* 2nd Monday of October */
    HOLIDAY_ALL_SAINTS_DAY,    /* fixed Nov 1 (Louisiana) */
    HOLIDAY_ELECTION_DAY,      /* Tuesday after the 1st Monday of November, even years */
    HOLIDAY_VETERANS_DAY,      /* fixed Nov 11 */
    HOLIDAY_THANKSGIVING,      /* 4th Thursday of November */
    HOLIDAY_CHRISTMAS_DAY,     /* fixed Dec 25 */
    HOLIDAY_COUNT
} holiday_id_t;

/* A civil date. */
typedef struct holiday_date {
    int year;
    int month; /* 1..12 */
    int day;   /* 1..31 */
} holiday_date_t;

/* The stable name ("memorial_day"); NULL for an id out of range. */
const char *holiday_name(holiday_id_t id);

/* The id of a stable name; OD_ERR_NOT_FOUND, with the message naming it,
 * for a name that is not one. */
int holiday_from_name(const char *name, holiday_id_t *id, char *errbuf, size_t errlen) OD_WUR;

/* The holiday's own date in year (1583..9999). false when it does not fall
 * in that year (election day in odd years) or the year is out of range. */
bool holiday_date(holiday_id_t id, int year, holiday_date_t *out) OD_WUR;

/* The day it is observed for year's occurrence (see above); may fall in
 * year - 1 (New Year's Day on a Saturday). false as for holiday_date(). */
bool holiday_observed(holiday_id_t id, int year, holiday_date_t *out) OD_WUR;

/* Whether (year, month, day) is the holiday's date or its observed day. */
bool holiday_falls_on(holiday_id_t id, int year, int month, int day);

/* date moved by days (any sign; a loop over months, for spans of years at
 * most). */
holiday_date_t holiday_date_add(holiday_date_t date, int days);

/* ISO weekday of a civil date: 1 = Monday .. 7 = Sunday. */
int holiday_weekday(int year, int month, int day);

#endif

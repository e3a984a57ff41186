#include "holidays.h"

#include <string.h>

typedef enum kind { KIND_FIXED, KIND_NTH, KIND_LAST, KIND_EASTER, KIND_ELECTION } kind_t;

typedef struct holiday_def {
    const char *name;
    kind_t kind;
    int month;   /* fixed, nth, last */
    int day;     /* fixed: day of month; easter: offset in days */
    int weekday; /* nth, last: ISO weekday */
    int nth;     /* nth: 1..5 */
} holiday_def_t;

/* Indexed by holiday_id_t. */
static const holiday_def_t defs[HOLIDAY_COUNT] = {
    [HOLIDAY_NEW_YEARS_DAY] = {"new_years_day", KIND_FIXED, 1, 1, 0, 0},
    [HOLIDAY_NEW_ORLEANS] = {"battle_of_new_orleans", KIND_FIXED, 1, 8, 0, 0},
    [HOLIDAY_MLK_DAY] = {"mlk_day", KIND_NTH, 1, 0, 1, 3},
    [HOLIDAY_PRESIDENTS_DAY] = {"presidents_day", KIND_NTH, 2, 0, 1, 3},
    [HOLIDAY_MARDI_GRAS] = {"mardi_gras", KIND_EASTER, 0, -47, 0, 0},
    [HOLIDAY_GOOD_FRIDAY] = {"good_friday", KIND_EASTER, 0, -2, 0, 0},
    [HOLIDAY_RI_INDEPENDENCE] = {"ri_independence_day", KIND_FIXED, 5, 4, 0, 0},
    [HOLIDAY_MEMORIAL_DAY] = {"memorial_day", KIND_LAST, 5, 0, 1, 0},
    [HOLIDAY_JUNETEENTH] = {"juneteenth", KIND_FIXED, 6, 19, 0, 0},
    [HOLIDAY_INDEPENDENCE_DAY] = {"independence_day", KIND_FIXED, 7, 4, 0, 0},
    [HOLIDAY_VICTORY_DAY] = {"victory_day", KIND_NTH, 8, 0, 1, 2},
    [HOLIDAY_HUEY_LONG_DAY] = {"huey_long_day", KIND_FIXED, 8, 30, 0, 0},
    [HOLIDAY_LABOR_DAY] = {"labor_day", KIND_NTH, 9, 0, 1, 1},
    [HOLIDAY_COLUMBUS_DAY] = {"columbus_day", KIND_NTH, 10, 0, 1, 2},
    [HOLIDAY_ALL_SAINTS_DAY] = {"all_saints_day", KIND_FIXED, 11, 1, 0, 0},
    [HOLIDAY_ELECTION_DAY] = {"election_day", KIND_ELECTION, 11, 0, 2, 0},
    [HOLIDAY_VETERANS_DAY] = {"veterans_day", KIND_FIXED, 11, 11, 0, 0},
    [HOLIDAY_THANKSGIVING] = {"thanksgiving", KIND_NTH, 11, 0, 4, 4},
    [HOLIDAY_CHRISTMAS_DAY] = {"christmas_day", KIND_FIXED, 12, 25, 0, 0},
};

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int holiday_weekday(int year, int month, int day)
{
    /* Sakamoto's method: 0 = Sunday. */
    static const int t[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    int y = month < 3 ? year - 1 : year;
    int w = (y + y / 4 - y / 100 + y / 400 + t[month - 1] + day) % 7;
    return w == 0 ? 7 : w;
}

holiday_date_t holiday_date_add(holiday_date_t d, int delta)
{
    d.day += delta;
    while (d.day < 1) {
        if (--d.month < 1) {
            d.month = 12;
            d.year--;
        }
        d.day += month_days(d.year, d.month);
    }
    while (d.day > month_days(d.year, d.month)) {
        d.day -= month_days(d.year, d.month);
        if (++d.month > 12) {
            d.month = 1;
            d.year++;
        }
    }
    return d;
}

/* Western Easter Sunday (the anonymous Gregorian computus). */
static holiday_date_t easter(int y)
{
    int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
    int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31;
    int day = (h + l - 7 * m + 114) % 31 + 1;
    return (holiday_date_t){y, month, day};
}

const char *holiday_name(holiday_id_t id)
{
    return (int)id >= 0 && id < HOLIDAY_COUNT ? defs[id].name : NULL;
}

int holiday_from_name(const char *name, holiday_id_t *id, char *errbuf, size_t errlen)
{
    for (int i = 0; i < HOLIDAY_COUNT; i++)
        if (name && strcmp(name, defs[i].name) == 0) {
            *id = (holiday_id_t)i;
            return OD_OK;
        }
    return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                   "'%.40s' is not a holiday name (e.g. memorial_day, thanksgiving)",
                   name ? name : "(null)");
}

bool holiday_date(holiday_id_t id, int year, holiday_date_t *out)
{
    if ((int)id < 0 || id >= HOLIDAY_COUNT || year < 1583 || year > 9999)
        return false;
    const holiday_def_t *def = &defs[id];
    holiday_date_t d = {year, def->month, 1};
    switch (def->kind) {
    case KIND_FIXED:
        d.day = def->day;
        break;
    case KIND_NTH:
        d.day =
            1 + (def->weekday - holiday_weekday(year, def->month, 1) + 7) % 7 + 7 * (def->nth - 1);
        break;
    case KIND_LAST: {
        int last = month_days(year, def->month);
        d.day = last - (holiday_weekday(year, def->month, last) - def->weekday + 7) % 7;
        break;
    }
    case KIND_EASTER:
        d = holiday_date_add(easter(year), def->day);
        break;
    case KIND_ELECTION:
        if (year % 2 != 0)
            return false;
        /* The first Monday is day 1..7; the Tuesday after it is day 2..8. */
        d.day = 2 + (1 - holiday_weekday(year, 11, 1) + 7) % 7;
        break;
    }
    *out = d;
    return true;
}

bool holiday_observed(holiday_id_t id, int year, holiday_date_t *out)
{
    holiday_date_t d;
    if (!holiday_date(id, year, &d))
        return false;
    if (defs[id].kind == KIND_FIXED) {
        int wd = holiday_weekday(d.year, d.month, d.day);
        if (wd == 6)
            d = holiday_date_add(d, -1);
        else if (wd == 7)
            d = holiday_date_add(d, 1);
    }
    *out = d;
    return true;
}

bool holiday_falls_on(holiday_id_t id, int year, int month, int day)
{
    /* The observed day of next year's occurrence may fall on Dec 31. */
    for (int y = year; y <= year + 1; y++) {
        holiday_date_t d, o;
        if (holiday_date(id, y, &d) && d.year == year && d.month == month && d.day == day)
            return true;
        if (holiday_observed(id, y, &o) && o.year == year && o.month == month && o.day == day)
            return true;
    }
    return false;
}

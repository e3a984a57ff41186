/* Holidays: every holiday the rule pack names, for 2026–2032, its own date
 * and the day it is observed, against a table computed independently of
 * lib/rules/holidays.c: Python's datetime module (weekdays by listing the
 * days of each month, Easter by Oudin's 1940 algorithm, a different one from
 * the module's), with the US federal shift (Saturday -> Friday, Sunday ->
 * Monday) for fixed-date holidays. The script is tools-free and short:
 *   for each day d of month m: keep d if d.weekday() == wd; take [n-1] or [-1];
 *   observed = d - 1 day if Saturday, d + 1 day if Sunday, else d.
 * Easter Sundays 2026–2032 (Apr 5, Mar 28, Apr 16, Apr 1, Apr 21, Apr 13,
 * Mar 28) were also checked by hand against published calendars. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "holidays.h"
#include "test_main.h"

typedef struct holiday_case {
    const char *name;
    int year;
    const char *date;     /* NULL: not in that year */
    const char *observed; /* NULL: not in that year */
} holiday_case_t;

/* clang-format off */
static const holiday_case_t cases[] = {
    {"new_years_day", 2026, "2026-01-01", "2026-01-01"},
    {"new_years_day", 2027, "2027-01-01", "2027-01-01"},
    {"new_years_day", 2028, "2028-01-01", "2027-12-31"},
    {"new_years_day", 2029, "2029-01-01", "2029-01-01"},
    {"new_years_day", 2030, "2030-01-01", "2030-01-01"},
    {"new_years_day", 2031, "2031-01-01", "2031-01-01"},
    {"new_years_day", 2032, "2032-01-01", "2032-01-01"},
    {"battle_of_new_orleans", 2026, "2026-01-08", "2026-01-08"},
    {"battle_of_new_orleans", 2027, "2027-01-08", "2027-01-08"},
    {"battle_of_new_orleans", 2028, "2028-01-08", "2028-01-07"},
    {"battle_of_new_orleans", 2029, "2029-01-08", "2029-01-08"},
    {"battle_of_new_orleans", 2030, "2030-01-08", "2030-01-08"},
    {"battle_of_new_orleans", 2031, "2031-01-08", "2031-01-08"},
    {"battle_of_new_orleans", 2032, "2032-01-08", "2032-01-08"},
    {"mlk_day", 2026, "2026-01-19", "2026-01-19"},
    {"mlk_day", 2027, "2027-01-18", "2027-01-18"},
    {"mlk_day", 2028, "2028-01-17", "2028-01-17"},
    {"mlk_day", 2029, "2029-01-15", "2029-01-15"},
    {"mlk_day", 2030, "2030-01-21", "2030-01-21"},
    {"mlk_day", 2031, "2031-01-20", "2031-01-20"},
    {"mlk_day", 2032, "2032-01-19", "2032-01-19"},
    {"presidents_day", 2026, "2026-02-16", "2026-02-16"},
    {"presidents_day", 2027, "2027-02-15", "2027-02-15"},
    {"presidents_day", 2028, "2028-02-21", "2028-02-21"},
    {"presidents_day", 2029, "2029-02-19", "2029-02-19"},
    {"presidents_day", 2030, "2030-02-18", "2030-02-18"},
    {"presidents_day", 2031, "2031-02-17", "2031-02-17"},
    {"presidents_day", 2032, "2032-02-16", "2032-02-16"},
    {"mardi_gras", 2026, "2026-02-17", "2026-02-17"},
    {"mardi_gras", 2027, "2027-02-09", "2027-02-09"},
    {"mardi_gras", 2028, "2028-02-29", "2028-02-29"},
    {"mardi_gras", 2029, "2029-02-13", "2029-02-13"},
    {"mardi_gras", 2030, "2030-03-05", "2030-03-05"},
    {"mardi_gras", 2031, "2031-02-25", "2031-02-25"},
    {"mardi_gras", 2032, "2032-02-10", "2032-02-10"},
    {"good_friday", 2026, "2026-04-03", "2026-04-03"},
    {"good_friday", 2027, "2027-03-26", "2027-03-26"},
    {"good_friday", 2028, "2028-04-14", "2028-04-14"},
    {"good_friday", 2029, "2029-03-30", "2029-03-30"},
    {"good_friday", 2030, "2030-04-19", "2030-04-19"},
    {"good_friday", 2031, "2031-04-11", "2031-04-11"},
    {"good_friday", 2032, "2032-03-26", "2032-03-26"},
    {"ri_independence_day", 2026, "2026-05-04", "2026-05-04"},
    {"ri_independence_day", 2027, "2027-05-04", "2027-05-04"},
    {"ri_independence_day", 2028, "2028-05-04", "2028-05-04"},
    {"ri_independence_day", 2029, "2029-05-04", "2029-05-04"},
    {"ri_independence_day", 2030, "2030-05-04", "2030-05-03"},
    {"ri_independence_day", 2031, "2031-05-04", "2031-05-05"},
    {"ri_independence_day", 2032, "2032-05-04", "2032-05-04"},
    {"memorial_day", 2026, "2026-05-25", "2026-05-25"},
    {"memorial_day", 2027, "2027-05-31", "2027-05-31"},
    {"memorial_day", 2028, "2028-05-29", "2028-05-29"},
    {"memorial_day", 2029, "2029-05-28", "2029-05-28"},
    {"memorial_day", 2030, "2030-05-27", "2030-05-27"},
    {"memorial_day", 2031, "2031-05-26", "2031-05-26"},
    {"memorial_day", 2032, "2032-05-31", "2032-05-31"},
    {"juneteenth", 2026, "2026-06-19", "2026-06-19"},
    {"juneteenth", 2027, "2027-06-19", "2027-06-18"},
    {"juneteenth", 2028, "2028-06-19", "2028-06-19"},
    {"juneteenth", 2029, "2029-06-19", "2029-06-19"},
    {"juneteenth", 2030, "2030-06-19", "2030-06-19"},
    {"juneteenth", 2031, "2031-06-19", "2031-06-19"},
    {"juneteenth", 2032, "2032-06-19", "2032-06-18"},
    {"independence_day", 2026, "2026-07-04", "2026-07-03"},
    {"independence_day", 2027, "2027-07-04", "2027-07-05"},
    {"independence_day", 2028, "2028-07-04", "2028-07-04"},
    {"independence_day", 2029, "2029-07-04", "2029-07-04"},
    {"independence_day", 2030, "2030-07-04", "2030-07-04"},
    {"independence_day", 2031, "2031-07-04", "2031-07-04"},
    {"independence_day", 2032, "2032-07-04", "2032-07-05"},
    {"victory_day", 2026, "2026-08-10", "2026-08-10"},
    {"victory_day", 2027, "2027-08-09", "2027-08-09"},
    {"victory_day", 2028, "2028-08-14", "2028-08-14"},
    {"victory_day", 2029, "2029-08-13", "2029-08-13"},
    {"victory_day", 2030, "2030-08-12", "2030-08-12"},
    {"victory_day", 2031, "2031-08-11", "2031-08-11"},
    {"victory_day", 2032, "2032-08-09", "2032-08-09"},
    {"huey_long_day", 2026, "2026-08-30", "2026-08-31"},
    {"huey_long_day", 2027, "2027-08-30", "2027-08-30"},
    {"huey_long_day", 2028, "2028-08-30", "2028-08-30"},
    {"huey_long_day", 2029, "2029-08-30", "2029-08-30"},
    {"huey_long_day", 2030, "2030-08-30", "2030-08-30"},
    {"huey_long_day", 2031, "2031-08-30", "2031-08-29"},
    {"huey_long_day", 2032, "2032-08-30", "2032-08-30"},
    {"labor_day", 2026, "2026-09-07", "2026-09-07"},
    {"labor_day", 2027, "2027-09-06", "2027-09-06"},
    {"labor_day", 2028, "2028-09-04", "2028-09-04"},
    {"labor_day", 2029, "2029-09-03", "2029-09-03"},
    {"labor_day", 2030, "2030-09-02", "2030-09-02"},
    {"labor_day", 2031, "2031-09-01", "2031-09-01"},
    {"labor_day", 2032, "2032-09-06", "2032-09-06"},
    {"columbus_day", 2026, "2026-10-12", "2026-10-12"},
    {"columbus_day", 2027, "2027-10-11", "2027-10-11"},
    {"columbus_day", 2028, "2028-10-09", "2028-10-09"},
    {"columbus_day", 2029, "2029-10-08", "2029-10-08"},
    {"columbus_day", 2030, "2030-10-14", "2030-10-14"},
    {"columbus_day", 2031, "2031-10-13", "2031-10-13"},
    {"columbus_day", 2032, "2032-10-11", "2032-10-11"},
    {"all_saints_day", 2026, "2026-11-01", "2026-11-02"},
    {"all_saints_day", 2027, "2027-11-01", "2027-11-01"},
    {"all_saints_day", 2028, "2028-11-01", "2028-11-01"},
    {"all_saints_day", 2029, "2029-11-01", "2029-11-01"},
    {"all_saints_day", 2030, "2030-11-01", "2030-11-01"},
    {"all_saints_day", 2031, "2031-11-01", "2031-10-31"},
    {"all_saints_day", 2032, "2032-11-01", "2032-11-01"},
    {"election_day", 2026, "2026-11-03", "2026-11-03"},
    {"election_day", 2027, NULL, NULL},
    {"election_day", 2028, "2028-11-07", "2028-11-07"},
    {"election_day", 2029, NULL, NULL},
    {"election_day", 2030, "2030-11-05", "2030-11-05"},
    {"election_day", 2031, NULL, NULL},
    {"election_day", 2032, "2032-11-02", "2032-11-02"},
    {"veterans_day", 2026, "2026-11-11", "2026-11-11"},
    {"veterans_day", 2027, "2027-11-11", "2027-11-11"},
    {"veterans_day", 2028, "2028-11-11", "2028-11-10"},
    {"veterans_day", 2029, "2029-11-11", "2029-11-12"},
    {"veterans_day", 2030, "2030-11-11", "2030-11-11"},
    {"veterans_day", 2031, "2031-11-11", "2031-11-11"},
    {"veterans_day", 2032, "2032-11-11", "2032-11-11"},
    {"thanksgiving", 2026, "2026-11-26", "2026-11-26"},
    {"thanksgiving", 2027, "2027-11-25", "2027-11-25"},
    {"thanksgiving", 2028, "2028-11-23", "2028-11-23"},
    {"thanksgiving", 2029, "2029-11-22", "2029-11-22"},
    {"thanksgiving", 2030, "2030-11-28", "2030-11-28"},
    {"thanksgiving", 2031, "2031-11-27", "2031-11-27"},
    {"thanksgiving", 2032, "2032-11-25", "2032-11-25"},
    {"christmas_day", 2026, "2026-12-25", "2026-12-25"},
    {"christmas_day", 2027, "2027-12-25", "2027-12-24"},
    {"christmas_day", 2028, "2028-12-25", "2028-12-25"},
    {"christmas_day", 2029, "2029-12-25", "2029-12-25"},
    {"christmas_day", 2030, "2030-12-25", "2030-12-25"},
    {"christmas_day", 2031, "2031-12-25", "2031-12-25"},
    {"christmas_day", 2032, "2032-12-25", "2032-12-24"},
};
/* clang-format on */

static void fmt(const holiday_date_t *d, char *buf, size_t len)
{
    snprintf(buf, len, "%04d-%02d-%02d", d->year, d->month, d->day);
}

static void test_table(void **state)
{
    (void)state;
    char errbuf[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const holiday_case_t *c = &cases[i];
        holiday_id_t id;
        assert_int_equal(holiday_from_name(c->name, &id, errbuf, sizeof(errbuf)), OD_OK);
        assert_string_equal(holiday_name(id), c->name);
        holiday_date_t d, o;
        bool has = holiday_date(id, c->year, &d);
        bool has_obs = holiday_observed(id, c->year, &o);
        if (!c->date) {
            if (has || has_obs)
                fail_msg("%s %d: expected none", c->name, c->year);
            continue;
        }
        if (!has || !has_obs)
            fail_msg("%s %d: expected %s", c->name, c->year, c->date);
        char got[16], got_obs[16];
        fmt(&d, got, sizeof(got));
        fmt(&o, got_obs, sizeof(got_obs));
        if (strcmp(got, c->date) != 0 || strcmp(got_obs, c->observed) != 0)
            fail_msg("%s %d: got %s observed %s, want %s observed %s", c->name, c->year, got,
                     got_obs, c->date, c->observed);
        int y, m, dd;
        assert_int_equal(sscanf(c->observed, "%d-%d-%d", &y, &m, &dd), 3);
        assert_true(holiday_falls_on(id, y, m, dd));
        assert_int_equal(sscanf(c->date, "%d-%d-%d", &y, &m, &dd), 3);
        assert_true(holiday_falls_on(id, y, m, dd));
    }
}

/* Every id appears in the table, for every year: nothing the pack may name
 * goes untested. */
static void test_table_covers_every_holiday(void **state)
{
    (void)state;
    for (int id = 0; id < HOLIDAY_COUNT; id++)
        for (int year = 2026; year <= 2032; year++) {
            bool found = false;
            for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && !found; i++)
                found = cases[i].year == year &&
                        strcmp(cases[i].name, holiday_name((holiday_id_t)id)) == 0;
            if (!found)
                fail_msg("%s %d missing from the table", holiday_name((holiday_id_t)id), year);
        }
}

/* A Saturday New Year's Day (2028) is observed on Friday 2027-12-31: that
 * day is a holiday, and the days beside it are not. */
static void test_falls_on_across_years(void **state)
{
    (void)state;
    assert_true(holiday_falls_on(HOLIDAY_NEW_YEARS_DAY, 2027, 12, 31));
    assert_true(holiday_falls_on(HOLIDAY_NEW_YEARS_DAY, 2028, 1, 1));
    assert_false(holiday_falls_on(HOLIDAY_NEW_YEARS_DAY, 2027, 12, 30));
    assert_false(holiday_falls_on(HOLIDAY_NEW_YEARS_DAY, 2028, 1, 3));
    /* Sunday July 4 2027: observed Monday July 5. */
    assert_true(holiday_falls_on(HOLIDAY_INDEPENDENCE_DAY, 2027, 7, 5));
    assert_false(holiday_falls_on(HOLIDAY_INDEPENDENCE_DAY, 2027, 7, 3));
    /* Moving holidays have no separate observed day. */
    assert_false(holiday_falls_on(HOLIDAY_THANKSGIVING, 2026, 11, 27));
}

static void test_weekday(void **state)
{
    (void)state;
    assert_int_equal(holiday_weekday(2026, 12, 6), 7);  /* a Sunday */
    assert_int_equal(holiday_weekday(2024, 2, 29), 4);  /* leap day, Thursday */
    assert_int_equal(holiday_weekday(2000, 1, 1), 6);   /* Saturday */
    assert_int_equal(holiday_weekday(2032, 12, 31), 5); /* Friday */
}

static void test_bad_input(void **state)
{
    (void)state;
    char errbuf[256];
    holiday_id_t id;
    assert_int_equal(holiday_from_name("boxing_day", &id, errbuf, sizeof(errbuf)),
                     OD_ERR_NOT_FOUND);
    assert_non_null(strstr(errbuf, "boxing_day"));
    assert_int_equal(holiday_from_name(NULL, &id, errbuf, sizeof(errbuf)), OD_ERR_NOT_FOUND);
    assert_null(holiday_name(HOLIDAY_COUNT));
    holiday_date_t d;
    assert_false(holiday_date(HOLIDAY_COUNT, 2026, &d));
    assert_false(holiday_date(HOLIDAY_CHRISTMAS_DAY, 1200, &d));
}

OD_TEST_MAIN(NULL, NULL, test_table, test_table_covers_every_holiday, test_falls_on_across_years,
             test_weekday, test_bad_input)

/* Calling windows: a table of instants in many zones, DST gaps and
 * overlaps, windows across midnight, several zones, quiet hours; parsing;
 * errors; the same table from several threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_main.h"
#include "test_rules_support.h"
#include "window.h"

#define ALL WINDOW_DAYS_ALL
#define WKD WINDOW_DAYS_WEEKDAYS
#define FRI WINDOW_DAY_FRI
#define THU WINDOW_DAY_THU
#define SSU (WINDOW_DAY_SAT | WINDOW_DAY_SUN)

#define NY  "America/New_York"
#define LA  "America/Los_Angeles"
#define LON "Europe/London"
#define LH  "Australia/Lord_Howe"
#define CHA "Pacific/Chatham"

typedef struct window_case {
    const char *name;
    const char *start, *end;
    unsigned days;
    const char *zones;                                 /* comma-separated */
    const char *quiet_start, *quiet_end, *quiet_zones; /* optional second rule, every day */
    const char *at;
    bool open;
    const char *open_at; /* the slot's opening (== at when open) */
    const char *close;   /* the slot's close; NULL: never */
} window_case_t;

/* clang-format off */
static const window_case_t cases[] = {
    /* America/New_York, spring forward: Sun 2024-03-10 02:00 EST -> 03:00 EDT. */
    {"ny spring: before 09:00", "09:00", "17:00", ALL, NY, NULL, NULL, NULL,
     "2024-03-10T08:00-04:00", false, "2024-03-10T09:00-04:00", "2024-03-10T17:00-04:00"},
    {"ny spring: 02:30 does not exist, opens at 03:00", "02:30", "04:00", ALL, NY, NULL, NULL, NULL,
     "2024-03-10T01:00-05:00", false, "2024-03-10T03:00-04:00", "2024-03-10T04:00-04:00"},
    {"ny spring: inside the gap-opened window", "02:30", "04:00", ALL, NY, NULL, NULL, NULL,
     "2024-03-10T03:10-04:00", true, "2024-03-10T03:10-04:00", "2024-03-10T04:00-04:00"},
    {"ny day before spring: 02:30 exists", "02:30", "04:00", ALL, NY, NULL, NULL, NULL,
     "2024-03-09T02:00-05:00", false, "2024-03-09T02:30-05:00", "2024-03-09T04:00-05:00"},
    {"ny spring: closing in the gap closes at 03:00", "01:00", "02:30", ALL, NY, NULL, NULL, NULL,
     "2024-03-10T01:30-05:00", true, "2024-03-10T01:30-05:00", "2024-03-10T03:00-04:00"},
    {"ny spring: a window wholly in the gap is skipped", "02:10", "02:50", ALL, NY, NULL, NULL, NULL,
     "2024-03-10T00:00-05:00", false, "2024-03-11T02:10-04:00", "2024-03-11T02:50-04:00"},
    {"ny spring: 24h weekend window runs to monday", "00:00", "00:00", SSU, NY, NULL, NULL, NULL,
     "2024-03-10T12:00-04:00", true, "2024-03-10T12:00-04:00", "2024-03-11T00:00-04:00"},
    {"ny spring: 24h every day never closes", "00:00", "00:00", ALL, NY, NULL, NULL, NULL,
     "2024-03-10T01:59-05:00", true, "2024-03-10T01:59-05:00", NULL},
    /* America/New_York, fall back: Sun 2024-11-03 02:00 EDT -> 01:00 EST. */
    {"ny fall: 01:30 opens at its first occurrence", "01:30", "03:00", ALL, NY, NULL, NULL, NULL,
     "2024-11-03T00:00-04:00", false, "2024-11-03T01:30-04:00", "2024-11-03T03:00-05:00"},
    {"ny fall: open through the repeated hour", "01:30", "03:00", ALL, NY, NULL, NULL, NULL,
     "2024-11-03T01:10-05:00", true, "2024-11-03T01:10-05:00", "2024-11-03T03:00-05:00"},
    {"ny fall: closes at the first 01:30", "00:00", "01:30", ALL, NY, NULL, NULL, NULL,
     "2024-11-03T01:10-05:00", false, "2024-11-04T00:00-05:00", "2024-11-04T01:30-05:00"},
    {"ny fall: before the first 01:30", "00:00", "01:30", ALL, NY, NULL, NULL, NULL,
     "2024-11-03T01:29-04:00", true, "2024-11-03T01:29-04:00", "2024-11-03T01:30-04:00"},
    {"ny fall: 09:00 after the change is EST", "09:00", "17:00", ALL, NY, NULL, NULL, NULL,
     "2024-11-03T08:30-05:00", false, "2024-11-03T09:00-05:00", "2024-11-03T17:00-05:00"},
    /* Edges and weekdays. */
    {"ny: friday 17:00 is closed, monday opens in EDT", "09:00", "17:00", WKD, NY, NULL, NULL,
     NULL, "2024-03-08T17:00-05:00", false, "2024-03-11T09:00-04:00", "2024-03-11T17:00-04:00"},
    {"ny: one second before close", "09:00", "17:00", WKD, NY, NULL, NULL, NULL,
     "2024-03-08T16:59:59-05:00", true, "2024-03-08T16:59:59-05:00", "2024-03-08T17:00-05:00"},
    {"ny: exactly at start", "09:00", "17:00", WKD, NY, NULL, NULL, NULL,
     "2024-03-08T09:00-05:00", true, "2024-03-08T09:00-05:00", "2024-03-08T17:00-05:00"},
    {"ny: 24h weekdays wednesday runs to saturday", "00:00", "00:00", WKD, NY, NULL, NULL, NULL,
     "2024-03-06T12:00-05:00", true, "2024-03-06T12:00-05:00", "2024-03-09T00:00-05:00"},
    /* Friday-only 22:00-02:00 (London, BST): the period belongs to Friday. */
    {"fri 22-02: friday 23:00 open until saturday 02:00", "22:00", "02:00", FRI, LON, NULL, NULL,
     NULL, "2024-06-07T23:00+01:00", true, "2024-06-07T23:00+01:00", "2024-06-08T02:00+01:00"},
    {"fri 22-02: friday 01:00 belongs to thursday", "22:00", "02:00", FRI, LON, NULL, NULL, NULL,
     "2024-06-07T01:00+01:00", false, "2024-06-07T22:00+01:00", "2024-06-08T02:00+01:00"},
    {"fri 22-02: saturday 01:59 still open", "22:00", "02:00", FRI, LON, NULL, NULL, NULL,
     "2024-06-08T01:59+01:00", true, "2024-06-08T01:59+01:00", "2024-06-08T02:00+01:00"},
    {"fri 22-02: saturday 02:00 closed to next friday", "22:00", "02:00", FRI, LON, NULL, NULL,
     NULL, "2024-06-08T02:00+01:00", false, "2024-06-14T22:00+01:00", "2024-06-15T02:00+01:00"},
    {"fri 22-02: saturday 22:30 is not friday", "22:00", "02:00", FRI, LON, NULL, NULL, NULL,
     "2024-06-08T22:30+01:00", false, "2024-06-14T22:00+01:00", "2024-06-15T02:00+01:00"},
    /* Weekdays only, across a weekend (London, GMT). */
    {"weekdays: saturday waits for monday", "09:00", "18:00", WKD, LON, NULL, NULL, NULL,
     "2024-01-13T10:00Z", false, "2024-01-15T09:00Z", "2024-01-15T18:00Z"},
    {"weekdays: friday evening waits for monday", "09:00", "18:00", WKD, LON, NULL, NULL, NULL,
     "2024-01-12T18:30Z", false, "2024-01-15T09:00Z", "2024-01-15T18:00Z"},
    {"weekdays: sunday 23:59 waits for monday", "09:00", "18:00", WKD, LON, NULL, NULL, NULL,
     "2024-01-14T23:59Z", false, "2024-01-15T09:00Z", "2024-01-15T18:00Z"},
    {"weekdays: monday 08:59:59", "09:00", "18:00", WKD, LON, NULL, NULL, NULL,
     "2024-01-15T08:59:59Z", false, "2024-01-15T09:00Z", "2024-01-15T18:00Z"},
    /* Europe/London DST: 2024-03-31 01:00 GMT -> 02:00 BST; 2024-10-27 02:00 BST -> 01:00 GMT. */
    {"london spring: 01:30 in the gap opens at 02:00 BST", "01:30", "03:00", ALL, LON, NULL, NULL,
     NULL, "2024-03-31T00:00Z", false, "2024-03-31T02:00+01:00", "2024-03-31T03:00+01:00"},
    {"london fall: 01:15-01:45 on its first occurrence", "01:15", "01:45", ALL, LON, NULL, NULL,
     NULL, "2024-10-27T00:50+01:00", false, "2024-10-27T01:15+01:00", "2024-10-27T01:45+01:00"},
    {"london fall: the second 01:20 is closed", "01:15", "01:45", ALL, LON, NULL, NULL, NULL,
     "2024-10-27T01:20+00:00", false, "2024-10-28T01:15Z", "2024-10-28T01:45Z"},
    {"london summer: 08:00Z is 09:00 BST", "09:00", "18:00", ALL, LON, NULL, NULL, NULL,
     "2024-07-01T08:00Z", true, "2024-07-01T08:00Z", "2024-07-01T18:00+01:00"},
    /* Half-hour and 45-minute zones. */
    {"kolkata +05:30 before open", "09:00", "18:00", ALL, "Asia/Kolkata", NULL, NULL, NULL,
     "2024-05-01T03:00Z", false, "2024-05-01T09:00+05:30", "2024-05-01T18:00+05:30"},
    {"kolkata one minute before close", "09:00", "18:00", ALL, "Asia/Kolkata", NULL, NULL, NULL,
     "2024-05-01T12:29Z", true, "2024-05-01T12:29Z", "2024-05-01T12:30Z"},
    {"kolkata 20:00-01:00 after midnight", "20:00", "01:00", ALL, "Asia/Kolkata", NULL, NULL, NULL,
     "2024-05-01T19:00Z", true, "2024-05-01T19:00Z", "2024-05-02T01:00+05:30"},
    {"kathmandu +05:45", "09:00", "17:00", ALL, "Asia/Kathmandu", NULL, NULL, NULL,
     "2024-05-01T03:00Z", false, "2024-05-01T09:00+05:45", "2024-05-01T17:00+05:45"},
    /* Australia/Lord_Howe: 30-minute DST. 2024-10-06 02:00 -> 02:30; 2024-04-07 02:00 -> 01:30. */
    {"lord howe spring: 02:00 opens at 02:30", "02:00", "05:00", ALL, LH, NULL, NULL, NULL,
     "2024-10-06T01:00+10:30", false, "2024-10-06T02:30+11:00", "2024-10-06T05:00+11:00"},
    {"lord howe spring: window inside the gap skipped", "02:10", "02:20", ALL, LH, NULL, NULL,
     NULL, "2024-10-06T01:00+10:30", false, "2024-10-07T02:10+11:00", "2024-10-07T02:20+11:00"},
    {"lord howe fall: 01:45 first occurrence", "01:45", "03:00", ALL, LH, NULL, NULL, NULL,
     "2024-04-07T01:00+11:00", false, "2024-04-07T01:45+11:00", "2024-04-07T03:00+10:30"},
    {"lord howe fall: repeated half hour stays open", "01:45", "03:00", ALL, LH, NULL, NULL, NULL,
     "2024-04-07T01:40+10:30", true, "2024-04-07T01:40+10:30", "2024-04-07T03:00+10:30"},
    {"lord howe winter +10:30", "09:00", "17:00", ALL, LH, NULL, NULL, NULL,
     "2024-07-01T08:59+10:30", false, "2024-07-01T09:00+10:30", "2024-07-01T17:00+10:30"},
    /* Pacific/Chatham +12:45/+13:45: 2024-09-29 02:45 -> 03:45. */
    {"chatham winter +12:45", "09:00", "17:00", ALL, CHA, NULL, NULL, NULL,
     "2024-07-01T08:00+12:45", false, "2024-07-01T09:00+12:45", "2024-07-01T17:00+12:45"},
    {"chatham spring: 03:00 in the gap opens 03:45", "03:00", "04:00", ALL, CHA, NULL, NULL, NULL,
     "2024-09-29T01:00+12:45", false, "2024-09-29T03:45+13:45", "2024-09-29T04:00+13:45"},
    {"chatham summer +13:45", "09:00", "17:00", ALL, CHA, NULL, NULL, NULL,
     "2024-01-15T12:00+13:45", true, "2024-01-15T12:00+13:45", "2024-01-15T17:00+13:45"},
    /* Several zones: every one must allow. */
    {"ny+la: waits for 09:00 in LA", "09:00", "17:00", ALL, NY "," LA, NULL, NULL, NULL,
     "2024-06-03T09:30-04:00", false, "2024-06-03T09:00-07:00", "2024-06-03T17:00-04:00"},
    {"ny+la: after NY closes", "09:00", "17:00", ALL, NY "," LA, NULL, NULL, NULL,
     "2024-06-03T17:30-04:00", false, "2024-06-04T09:00-07:00", "2024-06-04T17:00-04:00"},
    /* Quiet hours (08:00-21:00, callee-local) on top of the campaign window. */
    {"quiet hours cut the start", "07:00", "22:00", ALL, NY, "08:00", "21:00", NY,
     "2024-06-03T07:30-04:00", false, "2024-06-03T08:00-04:00", "2024-06-03T21:00-04:00"},
    {"quiet hours cut the end", "07:00", "22:00", ALL, NY, "08:00", "21:00", NY,
     "2024-06-03T20:00-04:00", true, "2024-06-03T20:00-04:00", "2024-06-03T21:00-04:00"},
    {"quiet hours: LA window, NY callee, open", "09:00", "20:00", ALL, LA, "08:00", "21:00", NY,
     "2024-06-03T17:30-04:00", true, "2024-06-03T17:30-04:00", "2024-06-03T21:00-04:00"},
    {"quiet hours: LA window, NY callee, quiet", "09:00", "20:00", ALL, LA, "08:00", "21:00", NY,
     "2024-06-03T21:30-04:00", false, "2024-06-04T09:00-07:00", "2024-06-04T21:00-04:00"},
    {"quiet hours: tokyo window, NY callee, one hour", "09:00", "18:00", ALL, "Asia/Tokyo",
     "08:00", "21:00", NY, "2024-06-03T00:00Z", true, "2024-06-03T00:00Z", "2024-06-03T01:00Z"},
    {"quiet hours: tokyo window, NY callee, next day", "09:00", "18:00", ALL, "Asia/Tokyo",
     "08:00", "21:00", NY, "2024-06-03T01:00Z", false, "2024-06-04T00:00Z", "2024-06-04T01:00Z"},
    /* Calendar corners. */
    {"utc 22-02 across new year", "22:00", "02:00", ALL, "UTC", NULL, NULL, NULL,
     "2024-12-31T23:30Z", true, "2024-12-31T23:30Z", "2025-01-01T02:00Z"},
    {"thursday-only on leap day", "09:00", "17:00", THU, "UTC", NULL, NULL, NULL,
     "2024-02-28T12:00Z", false, "2024-02-29T09:00Z", "2024-02-29T17:00Z"},
};
/* clang-format on */

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

typedef struct built_case {
    char zone_buf[256], quiet_buf[256];
    const char *zones[8], *quiet_zones[8];
    window_rule_t rules[2];
    size_t n_rules;
} built_case_t;

/* Builds the rules of a case; 0 or 1 on a malformed table row. No cmocka
 * asserts here: it also runs on other threads. */
static int build(const window_case_t *c, built_case_t *b)
{
    char err[256];
    int bad = 0;
    memset(b, 0, sizeof(*b));
    window_rule_t *r = &b->rules[0];
    bad |= window_time_parse(c->start, &r->spec.start_min, err, sizeof(err)) != OD_OK;
    bad |= window_time_parse(c->end, &r->spec.end_min, err, sizeof(err)) != OD_OK;
    r->spec.days = c->days;
    r->n_zones = rt_split(c->zones, b->zone_buf, sizeof(b->zone_buf), b->zones, 8);
    r->zones = b->zones;
    b->n_rules = 1;
    if (c->quiet_start) {
        r = &b->rules[1];
        bad |= window_time_parse(c->quiet_start, &r->spec.start_min, err, sizeof(err)) != OD_OK;
        bad |= window_time_parse(c->quiet_end, &r->spec.end_min, err, sizeof(err)) != OD_OK;
        r->spec.days = WINDOW_DAYS_ALL;
        r->n_zones =
            rt_split(c->quiet_zones, b->quiet_buf, sizeof(b->quiet_buf), b->quiet_zones, 8);
        r->zones = b->quiet_zones;
        b->n_rules = 2;
    }
    if (bad)
        print_error("%s: bad time in the table\n", c->name);
    return bad;
}

/* Runs one case; returns 0 or prints why and returns 1 (usable from threads). */
static int run_case(const window_case_t *c)
{
    built_case_t b;
    if (build(c, &b) != 0)
        return 1;
    char err[256], got1[40], got2[40], want1[40], want2[40];
    int64_t at = T(c->at);
    int64_t want_open = T(c->open_at);
    int64_t want_close = c->close ? T(c->close) : WINDOW_NEVER;
    window_slot_t slot;
    int rc = window_slot_find(b.rules, b.n_rules, at, &slot, err, sizeof(err));
    if (rc != OD_OK) {
        print_error("%s: window_slot_find: %s\n", c->name, err);
        return 1;
    }
    if (slot.open_us != want_open || slot.close_us != want_close) {
        print_error(
            "%s: slot %s..%s, want %s..%s\n", c->name, rt_fmt(slot.open_us, got1, sizeof(got1)),
            rt_fmt(slot.close_us, got2, sizeof(got2)), rt_fmt(want_open, want1, sizeof(want1)),
            rt_fmt(want_close, want2, sizeof(want2)));
        return 1;
    }
    bool open = !c->open;
    if (window_is_open(b.rules, b.n_rules, at, &open, err, sizeof(err)) != OD_OK ||
        open != c->open) {
        print_error("%s: window_is_open %d, want %d (%s)\n", c->name, open, c->open, err);
        return 1;
    }
    int64_t next = 0;
    if (window_next_open(b.rules, b.n_rules, at, &next, err, sizeof(err)) != OD_OK ||
        next != want_open) {
        print_error("%s: window_next_open differs (%s)\n", c->name, err);
        return 1;
    }
    int64_t close_us = 0;
    rc = window_close_at(b.rules, b.n_rules, at, &close_us, err, sizeof(err));
    if (c->open ? (rc != OD_OK || close_us != want_close) : rc != OD_ERR_CONFLICT) {
        print_error("%s: window_close_at rc %d (%s)\n", c->name, rc, err);
        return 1;
    }
    /* The opening it reports is open, and the close is closed. */
    if (window_is_open(b.rules, b.n_rules, want_open, &open, err, sizeof(err)) != OD_OK || !open) {
        print_error("%s: not open at its own opening\n", c->name);
        return 1;
    }
    if (c->close &&
        (window_is_open(b.rules, b.n_rules, want_close, &open, err, sizeof(err)) != OD_OK ||
         open)) {
        print_error("%s: still open at its close\n", c->name);
        return 1;
    }
    return 0;
}

static void test_table(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < N_CASES; i++)
        failed += run_case(&cases[i]);
    print_message("%zu window cases, %d failed\n", N_CASES, failed);
    assert_int_equal(failed, 0);
}

static void *thread_main(void *arg)
{
    int *failed = arg;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < N_CASES; i++)
            *failed += run_case(&cases[i]);
    return NULL;
}

/* Four threads run the whole table at once: no shared calendar, no TZ. */
static void test_threads(void **state)
{
    (void)state;
    pthread_t threads[4];
    int failed[4] = {0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, thread_main, &failed[i]), 0);
    int join_failed = 0, total = 0;
    for (int i = 0; i < 4; i++) { /* join all before any assert can jump out */
        join_failed += pthread_join(threads[i], NULL) != 0;
        total += failed[i];
    }
    assert_int_equal(join_failed, 0);
    assert_int_equal(total, 0);
}

/* The process-wide TZ does not matter. */
static void test_ignores_tz_env(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    assert_int_equal(run_case(&cases[0]), 0);
    setenv("TZ", "garbage", 1);
    assert_int_equal(run_case(&cases[1]), 0);
    unsetenv("TZ");
}

typedef struct time_case {
    const char *in;
    int rc;
    int minute;
} time_case_t;

/* Formats a minute of the day with format into one buffer and returns it. */
static const char *time_text(void (*format)(int, char *, size_t), int minute)
{
    static char buf[8];
    format(minute, buf, sizeof(buf));
    return buf;
}

static void test_time_parse(void **state)
{
    (void)state;
    static const time_case_t tc[] = {
        {"09:00", OD_OK, 540},
        {"9:00", OD_OK, 540},
        {"00:00", OD_OK, 0},
        {"23:59", OD_OK, 1439},
        {"24:00", OD_OK, 0},
        {"09:00:00", OD_OK, 540},
        {"12:30", OD_OK, 750},
        {"25:00", OD_ERR_INVALID, 0},
        {"24:01", OD_ERR_INVALID, 0},
        {"09:60", OD_ERR_INVALID, 0},
        {"9:0", OD_ERR_INVALID, 0},
        {"0900", OD_ERR_INVALID, 0},
        {"", OD_ERR_INVALID, 0},
        {"ab:cd", OD_ERR_INVALID, 0},
        {"09:00:30", OD_ERR_INVALID, 0},
        {" 09:00", OD_ERR_INVALID, 0},
        {"09:00 ", OD_ERR_INVALID, 0},
        {"-1:00", OD_ERR_INVALID, 0},
        {"123:00", OD_ERR_INVALID, 0},
        {"09:00:", OD_ERR_INVALID, 0},
        {"9am", OD_ERR_INVALID, 0},
        {NULL, OD_ERR_INVALID, 0},
    };
    for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
        char err[128] = "";
        int minute = -1;
        int rc = window_time_parse(tc[i].in, &minute, err, sizeof(err));
        if (rc != tc[i].rc)
            fail_msg("'%s': rc %d, want %d", tc[i].in ? tc[i].in : "NULL", rc, tc[i].rc);
        if (rc == OD_OK)
            assert_int_equal(minute, tc[i].minute);
        else
            assert_non_null(strstr(err, "is not a time of day (allowed: HH:MM"));
    }
    assert_string_equal(time_text(window_time_format, 545), "09:05");
    assert_string_equal(time_text(window_time_format, 0), "00:00");
    /* An end at midnight reads back as the end of the day. */
    assert_string_equal(time_text(window_time_format_end, 0), "24:00");
    assert_string_equal(time_text(window_time_format_end, 1080), "18:00");
}

static void test_days(void **state)
{
    (void)state;
    char err[128];
    unsigned bit = 0;
    assert_int_equal(window_day_parse("mon", &bit, err, sizeof(err)), OD_OK);
    assert_int_equal(bit, WINDOW_DAY_MON);
    assert_int_equal(window_day_parse("Sunday", &bit, err, sizeof(err)), OD_OK);
    assert_int_equal(bit, WINDOW_DAY_SUN);
    assert_int_equal(window_day_parse("FRI", &bit, err, sizeof(err)), OD_OK);
    assert_int_equal(bit, WINDOW_DAY_FRI);
    assert_int_equal(window_day_parse("funday", &bit, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "'funday' is not a day (allowed: mon, tue, wed, thu, fri, sat, sun)");
    assert_int_equal(window_day_parse(NULL, &bit, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(window_day_name(WINDOW_DAY_WED), "wed");
    assert_null(window_day_name(WINDOW_DAY_WED | WINDOW_DAY_THU));
    char buf[32];
    window_days_format(WINDOW_DAYS_WEEKDAYS, buf, sizeof(buf));
    assert_string_equal(buf, "mon,tue,wed,thu,fri");
    window_days_format(WINDOW_DAYS_ALL, buf, sizeof(buf));
    assert_string_equal(buf, "mon,tue,wed,thu,fri,sat,sun");
    window_days_format(WINDOW_DAY_SAT | WINDOW_DAY_MON, buf, sizeof(buf));
    assert_string_equal(buf, "mon,sat");
}

typedef struct error_case {
    const char *name;
    window_spec_t spec;
    const char *zone; /* NULL: no zones at all */
    int64_t at;
    int rc;
    const char *message_part;
} error_case_t;

/* Bad input is an error with a message, never a crash. */
static void test_errors(void **state)
{
    (void)state;
    const int64_t at = T("2024-06-03T12:00Z");
    const window_spec_t ok = {540, 1020, WINDOW_DAYS_ALL};
    const error_case_t ec[] = {
        {"unknown zone", ok, "Mars/Olympus_Mons", at, OD_ERR_INVALID,
         "'Mars/Olympus_Mons' is not an IANA time zone"},
        {"fixed offset refused", ok, "GMT+05:30", at, OD_ERR_INVALID, "not an IANA time zone"},
        {"lower-case zone", ok, "america/new_york", at, OD_ERR_INVALID, "not an IANA time zone"},
        {"empty zone", ok, "", at, OD_ERR_INVALID, "time zone is empty"},
        {"zone with spaces", ok, "America/New York", at, OD_ERR_INVALID, "not an IANA"},
        {"no zones", ok, NULL, at, OD_ERR_INVALID, "has no time zone"},
        {"start out of range",
         {1440, 60, WINDOW_DAYS_ALL},
         "UTC",
         at,
         OD_ERR_INVALID,
         "start minute 1440 is out of range"},
        {"end negative",
         {60, -1, WINDOW_DAYS_ALL},
         "UTC",
         at,
         OD_ERR_INVALID,
         "end minute -1 is out of range"},
        {"no days", {540, 1020, 0}, "UTC", at, OD_ERR_INVALID, "non-empty subset"},
        {"day bit 7", {540, 1020, 0x80}, "UTC", at, OD_ERR_INVALID, "non-empty subset"},
        {"before 1970", ok, "UTC", -1, OD_ERR_INVALID, "outside the supported years"},
        {"after 9000", ok, "UTC", INT64_MAX - 1, OD_ERR_INVALID, "outside the supported years"},
    };
    for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]); i++) {
        const char *zones[1] = {ec[i].zone};
        window_rule_t rule = {ec[i].spec, zones, ec[i].zone ? 1 : 0};
        char err[256] = "";
        window_slot_t slot;
        int rc = window_slot_find(&rule, 1, ec[i].at, &slot, err, sizeof(err));
        if (rc != ec[i].rc || !strstr(err, ec[i].message_part))
            fail_msg("%s: rc %d '%s'", ec[i].name, rc, err);
        bool open;
        assert_int_equal(window_is_open(&rule, 1, ec[i].at, &open, err, sizeof(err)), ec[i].rc);
    }

    /* Rules that are never open together: an error, not a hang. */
    const char *ny[] = {NY};
    const char *tokyo[] = {"Asia/Tokyo"};
    window_rule_t never[2] = {{ok, ny, 1}, {ok, tokyo, 1}};
    char err[256];
    window_slot_t slot;
    assert_int_equal(window_slot_find(never, 2, at, &slot, err, sizeof(err)), OD_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "never open together"));
    bool open = true;
    assert_int_equal(window_is_open(never, 2, at, &open, err, sizeof(err)), OD_OK);
    assert_false(open);

    /* close_at on a closed window. */
    window_rule_t ny_rule = {ok, ny, 1};
    int64_t close_us;
    assert_int_equal(
        window_close_at(&ny_rule, 1, T("2024-06-03T08:00-04:00"), &close_us, err, sizeof(err)),
        OD_ERR_CONFLICT);

    /* The supported range ends at 9000-01-01. */
    const char *utc[] = {"UTC"};
    window_rule_t utc_rule = {ok, utc, 1};
    assert_int_equal(
        window_slot_find(&utc_rule, 1, T("8999-12-31T23:59Z"), &slot, err, sizeof(err)), OD_OK);
    assert_true(slot.open_us == T("9000-01-01T09:00Z"));
    assert_int_equal(
        window_slot_find(&utc_rule, 1, T("9000-01-01T00:00Z"), &slot, err, sizeof(err)),
        OD_ERR_INVALID);

    /* No rules: always open, never closes. */
    assert_int_equal(window_slot_find(NULL, 0, at, &slot, err, sizeof(err)), OD_OK);
    assert_true(slot.open_us == at && slot.close_us == WINDOW_NEVER);

    assert_int_equal(window_zone_check("Asia/Calcutta", err, sizeof(err)), OD_OK); /* an alias */
    assert_int_equal(window_zone_check("UTC", err, sizeof(err)), OD_OK);
    assert_int_equal(window_zone_check(NULL, err, sizeof(err)), OD_ERR_INVALID);
}

OD_TEST_MAIN(NULL, NULL, test_table, test_threads, test_ignores_tz_env, test_time_parse, test_days,
             test_errors)

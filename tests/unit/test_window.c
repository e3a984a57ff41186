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

#include "case_file.h"
#include "test_main.h"
#include "test_rules_support.h"
#include "window.h"

#define NY "America/New_York"

/* One rule of a case as the table writes it; start NULL: no rule. */
typedef struct rule_text {
    const char *start, *end;
    unsigned days;
    const char *zones; /* comma-separated */
} rule_text_t;

typedef struct window_case {
    const char *name;
    rule_text_t rule;
    rule_text_t quiet; /* optional second rule, every day */
    const char *at;
    bool open;
    const char *open_at; /* the slot's opening (== at when open) */
    const char *close;   /* the slot's close; NULL: never */
} window_case_t;

/* The table, read from cases/window.tsv by cases_load before the tests;
 * case_file owns cases and the strings they point to. */
static case_file_t *case_file;
static window_case_t *cases;
static size_t n_cases;

/* The days of a case, "mon,tue,...": WINDOW_DAY_* bits. */
static unsigned days_read(const char *name, const char *text)
{
    char buf[64], err[256];
    const char *days[8];
    size_t n = rt_split(text, buf, sizeof(buf), days, 8);
    unsigned bits = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned bit = 0;
        if (window_day_parse(days[k], &bit, err, sizeof(err)) != OD_OK)
            fail_msg("%s: %s", name, err);
        bits |= bit;
    }
    return bits;
}

/* The rule of row i whose start and end are in columns first and first + 1
 * and whose zones are in column zones. */
static rule_text_t rule_read(size_t i, size_t first, unsigned days, size_t zones)
{
    return (rule_text_t){case_file_cell(case_file, i, first),
                         case_file_cell(case_file, i, first + 1), days,
                         case_file_cell(case_file, i, zones)};
}

static int cases_load(void **state)
{
    (void)state;
    static const char *const columns[] = {"name",  "start",       "end",       "days",
                                          "zones", "quiet_start", "quiet_end", "quiet_zones",
                                          "at",    "open",        "open_at",   "close"};
    case_file = case_file_load("window", columns, sizeof(columns) / sizeof(columns[0]), 52);
    n_cases = case_file->n_rows;
    cases = case_file_rows(case_file, sizeof(*cases));
    for (size_t i = 0; i < n_cases; i++) {
        const char *name = case_file_cell(case_file, i, 0);
        cases[i] = (window_case_t){
            .name = name,
            .rule = rule_read(i, 1, days_read(name, case_file_cell(case_file, i, 3)), 4),
            .quiet = rule_read(i, 5, WINDOW_DAYS_ALL, 7),
            .at = case_file_cell(case_file, i, 8),
            .open = case_file_yes(case_file, i, 9),
            .open_at = case_file_cell(case_file, i, 10),
            .close = case_file_cell(case_file, i, 11)};
    }
    return 0;
}

static int cases_free(void **state)
{
    (void)state;
    case_file_free(case_file);
    return 0;
}

typedef struct built_case {
    char zone_buf[2][256];
    const char *zones[2][8];
    window_rule_t rules[2];
    size_t n_rules;
} built_case_t;

/* Builds rule t into b's next rule; 1 on a malformed time. */
static int rule_build(const rule_text_t *t, built_case_t *b)
{
    char err[256];
    size_t k = b->n_rules++;
    window_rule_t *r = &b->rules[k];
    int bad = window_time_parse(t->start, &r->spec.start_min, err, sizeof(err)) != OD_OK;
    bad |= window_time_parse(t->end, &r->spec.end_min, err, sizeof(err)) != OD_OK;
    r->spec.days = t->days;
    r->n_zones = rt_split(t->zones, b->zone_buf[k], sizeof(b->zone_buf[k]), b->zones[k], 8);
    r->zones = b->zones[k];
    return bad;
}

/* Builds the rules of a case; 0 or 1 on a malformed table row. No cmocka
 * asserts here: it also runs on other threads. */
static int build(const window_case_t *c, built_case_t *b)
{
    memset(b, 0, sizeof(*b));
    int bad = rule_build(&c->rule, b);
    if (c->quiet.start)
        bad |= rule_build(&c->quiet, b);
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
    for (size_t i = 0; i < n_cases; i++)
        failed += run_case(&cases[i]);
    print_message("%zu window cases, %d failed\n", n_cases, failed);
    assert_int_equal(failed, 0);
}

static void *thread_main(void *arg)
{
    int *failed = arg;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < n_cases; i++)
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

OD_TEST_MAIN(cases_load, cases_free, test_table, test_threads, test_ignores_tz_env, test_time_parse,
             test_days, test_errors)

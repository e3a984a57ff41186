/*
 * test_outdialctl.c — outdialctl's pure parts: command lines into request
 * JSON and paths, usage errors, the value parsers (days, windows,
 * durations), tables and views. Table-driven; nothing runs over a network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "case_file.h"
#include "ctl_parse.h"
#include "ctl_render.h"
#include "ctl_spec.h"
#include "ctl_table.h"
#include "test_main.h"
#include "window.h"

/* ---- helpers ----------------------------------------------------------------------- */

#define ARGV_MAX 64

/* A command line split at blanks; '...' groups words (no escapes). */
typedef struct line {
    char buf[2048];
    char *argv[ARGV_MAX];
    int argc;
} line_t;

static void line_split(line_t *l, const char *text)
{
    memset(l, 0, sizeof(*l));
    size_t n = strlen(text);
    assert_true(n < sizeof(l->buf));
    memcpy(l->buf, text, n + 1);
    l->argv[l->argc++] = "outdialctl";
    char *p = l->buf;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char *start = p, *w = p;
        bool quoted = false;
        while (*p && (quoted || *p != ' ')) {
            if (*p == '\'') {
                quoted = !quoted;
                p++;
                continue;
            }
            *w++ = *p++;
        }
        if (*p)
            p++;
        *w = '\0';
        assert_true(l->argc < ARGV_MAX - 1);
        l->argv[l->argc++] = start;
    }
    l->argv[l->argc] = NULL;
}

/* Splits line into l and parses it into args (which points into l, so l
 * must outlive it); returns the parser's rc, its message in err. */
static int line_parse(line_t *l, const char *line, ctl_args_t *args, char *err, size_t errlen)
{
    line_split(l, line);
    return ctl_args_parse(l->argc, l->argv, args, err, errlen);
}

/* line_parse, which must accept line: a refusal fails the test. */
static void line_parse_ok(line_t *l, const char *line, ctl_args_t *args)
{
    char err[512] = "";
    if (line_parse(l, line, args, err, sizeof(err)) != OD_OK)
        fail_msg("%s: %s", line, err);
}

/* Text a render function writes. */
typedef struct capture {
    char *text;
    size_t len;
    FILE *f;
} capture_t;

static FILE *capture_open(capture_t *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
    return c->f;
}

/* Closes the stream; the text stays in c->text (free it). */
static const char *capture_close(capture_t *c)
{
    fclose(c->f);
    return c->text;
}

static json_t *json_parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!j)
        fail_msg("bad JSON in the test: %s: %s", text, jerr.text);
    return j;
}

/* Checks one command line against what a case file's row wants of it (the
 * row's other cells, in order); fails the test, naming the line. */
typedef void (*line_check_fn)(const char *line, const char *const *want);

/* Runs check on every row of tests/unit/cases/<name>.tsv (exactly n_rows),
 * whose first column is a command line (split as line_split does) and whose
 * other columns, at most two, are what check wants of it. */
static void line_cases_run(const char *name, const char *const *columns, size_t n_columns,
                           size_t n_rows, line_check_fn check)
{
    assert_true(n_columns >= 2 && n_columns <= 3);
    case_file_t *cf = case_file_load(name, columns, n_columns, n_rows);
    for (size_t i = 0; i < cf->n_rows; i++) {
        const char *want[2] = {case_file_cell(cf, i, 1),
                               n_columns > 2 ? case_file_cell(cf, i, 2) : NULL};
        check(case_file_cell(cf, i, 0), want);
    }
    case_file_free(cf);
}

/* ---- command line -> JSON body ---------------------------------------------------------- */

/* line sends the JSON body want[0] (any key order), or none for NULL. */
static void body_check(const char *line, const char *const *want)
{
    const char *json = want[0];
    line_t l;
    ctl_args_t args;
    line_parse_ok(&l, line, &args);
    json_t *body = NULL;
    char err[512] = "";
    if (ctl_body_build(&args, args.data, &body, err, sizeof(err)) != OD_OK)
        fail_msg("%s: %s", line, err);
    if (!json) {
        if (body)
            fail_msg("%s: expected no body, got %s", line, json_dumps(body, 0));
    } else {
        json_t *expected = json_parse(json);
        if (!json_equal(body, expected)) {
            char *got = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            fail_msg("%s:\n  got  %s\n  want %s", line, got ? got : "(none)", json);
        }
        json_decref(expected);
    }
    json_decref(body);
    ctl_args_free(&args);
}

static void test_body_table(void **state)
{
    (void)state;
    static const char *const columns[] = {"line", "body"};
    line_cases_run("outdialctl_bodies", columns, 2, 37, body_check);
}

/* ---- command line -> path and query --------------------------------------------------------- */

/* line makes a request of method want[0] to path want[1] (with its query). */
static void path_check(const char *line, const char *const *want)
{
    line_t l;
    ctl_args_t args;
    line_parse_ok(&l, line, &args);
    char *path = ctl_path_build(&args, NULL);
    if (strcmp(path, want[1]) != 0 || strcmp(args.cmd->method, want[0]) != 0)
        fail_msg("%s:\n  got  %s %s\n  want %s %s", line, args.cmd->method, path, want[0], want[1]);
    free(path);
    ctl_args_free(&args);
}

static void test_path_table(void **state)
{
    (void)state;
    static const char *const columns[] = {"line", "method", "path"};
    line_cases_run("outdialctl_paths", columns, 3, 37, path_check);
}

static void test_path_extra_query_and_drop(void **state)
{
    (void)state;
    line_t l;
    ctl_args_t args;
    line_parse_ok(&l, "lead list C1 --status created --cursor X", &args);
    ctl_args_drop(&args, "cursor");
    char *path = ctl_path_build(&args, "cursor=Y");
    assert_string_equal(path, "/v1/campaigns/C1/leads?status=created&cursor=Y");
    free(path);
    ctl_args_free(&args);
}

static void test_globals_and_locals(void **state)
{
    (void)state;
    line_t l;
    ctl_args_t args;
    line_parse_ok(
        &l, "--url http://h:1 watch C1 --json --interval-ms 250 --once --key=K --admin-token T",
        &args);
    assert_string_equal(args.url, "http://h:1");
    assert_string_equal(args.key, "K");
    assert_string_equal(args.admin_token, "T");
    assert_true(args.json);
    assert_false(args.quiet);
    assert_string_equal(args.cmd->group, "watch");
    assert_int_equal(args.n_pos, 1);
    assert_string_equal(args.pos[0], "C1");
    assert_string_equal(ctl_args_value(&args, "interval-ms"), "250");
    assert_true(ctl_args_has(&args, "once"));
    assert_false(ctl_args_has(&args, "until-complete"));
    ctl_args_free(&args);

    line_parse_ok(&l, "import C1 leads.csv --no-wait", &args);
    assert_null(args.cmd->name);
    assert_string_equal(args.pos[1], "leads.csv");
    assert_true(ctl_args_has(&args, "no-wait"));
    ctl_args_free(&args);

    line_parse_ok(&l, "-q campaign list --quiet", &args);
    assert_true(args.quiet);
    ctl_args_free(&args);

    /* Help skips the checks of required things. */
    line_parse_ok(&l, "campaign create --help", &args);
    assert_true(args.help);
    assert_string_equal(args.cmd->name, "create");
    ctl_args_free(&args);
    line_parse_ok(&l, "-h", &args);
    assert_true(args.help);
    assert_null(args.cmd);
    ctl_args_free(&args);
}

/* ---- usage errors ------------------------------------------------------------------------------
 */

/* line is refused as a usage error whose message holds want[0]. */
static void usage_check(const char *line, const char *const *want)
{
    line_t l;
    ctl_args_t args;
    char err[512] = "";
    if (line_parse(&l, line, &args, err, sizeof(err)) != OD_ERR_INVALID)
        fail_msg("'%s' was accepted", line);
    if (!strstr(err, want[0]))
        fail_msg("'%s':\n  got  %s\n  want ...%s...", line, err, want[0]);
    ctl_args_free(&args);
}

static void test_usage_errors(void **state)
{
    (void)state;
    static const char *const columns[] = {"line", "message"};
    line_cases_run("outdialctl_usage", columns, 2, 47, usage_check);
}

/* ---- value parsers
 * -------------------------------------------------------------------------------- */

typedef struct days_case {
    const char *text;
    unsigned days; /* 0: an error */
} days_case_t;

static const days_case_t days_cases[] = {
    {"mon-fri", WINDOW_DAYS_WEEKDAYS},
    {"weekdays", WINDOW_DAYS_WEEKDAYS},
    {"Mon-Fri", WINDOW_DAYS_WEEKDAYS},
    {"monday-friday", WINDOW_DAYS_WEEKDAYS},
    {"all", WINDOW_DAYS_ALL},
    {"daily", WINDOW_DAYS_ALL},
    {"mon-sun", WINDOW_DAYS_ALL},
    {"weekends", WINDOW_DAY_SAT | WINDOW_DAY_SUN},
    {"sat-sun", WINDOW_DAY_SAT | WINDOW_DAY_SUN},
    {"sun", WINDOW_DAY_SUN},
    {"mon,wed,fri", WINDOW_DAY_MON | WINDOW_DAY_WED | WINDOW_DAY_FRI},
    {" mon , wed ", WINDOW_DAY_MON | WINDOW_DAY_WED},
    {"fri-mon", WINDOW_DAY_FRI | WINDOW_DAY_SAT | WINDOW_DAY_SUN | WINDOW_DAY_MON},
    {"sun-sun", WINDOW_DAY_SUN},
    {"mon-wed,sat", WINDOW_DAY_MON | WINDOW_DAY_TUE | WINDOW_DAY_WED | WINDOW_DAY_SAT},
    {"mon,mon", WINDOW_DAY_MON},
    {"", 0},
    {"funday", 0},
    {"mon-", 0},
    {"-fri", 0},
    {"mon--fri", 0},
    {"mon,", 0},
    {"m", 0},
    {"wednesdayyyyyyyyyyyyyy", 0},
};

static void test_days_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(days_cases) / sizeof(days_cases[0]); i++) {
        unsigned days = 99;
        char err[256] = "";
        int rc = ctl_days_parse(days_cases[i].text, &days, err, sizeof(err));
        if (days_cases[i].days == 0) {
            if (rc != OD_ERR_INVALID)
                fail_msg("'%s' was accepted as %#x", days_cases[i].text, days);
            assert_true(strlen(err) > 0);
        } else if (rc != OD_OK || days != days_cases[i].days) {
            fail_msg("'%s': rc %d days %#x, want %#x (%s)", days_cases[i].text, rc, days,
                     days_cases[i].days, err);
        }
    }
}

typedef struct window_case {
    const char *text;
    const char *start, *end; /* NULL: an error */
    int start_min, end_min;
} window_case_t;

static const window_case_t window_cases[] = {
    {"09:00-18:00", "09:00", "18:00", 540, 1080},
    {"9:00-18:00", "09:00", "18:00", 540, 1080},
    {"22:00-02:00", "22:00", "02:00", 1320, 120},
    {"18:00-24:00", "18:00", "00:00", 1080, 0},
    {"00:00-23:59", "00:00", "23:59", 0, 1439},
    {"09:00", NULL, NULL, 0, 0},
    {"-18:00", NULL, NULL, 0, 0},
    {"09:00-", NULL, NULL, 0, 0},
    {"9-18", NULL, NULL, 0, 0},
    {"09:60-18:00", NULL, NULL, 0, 0},
    {"25:00-18:00", NULL, NULL, 0, 0},
    {"09:00-18:00-19:00", NULL, NULL, 0, 0},
    {"nine-five", NULL, NULL, 0, 0},
    {"", NULL, NULL, 0, 0},
};

static void test_window_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(window_cases) / sizeof(window_cases[0]); i++) {
        const window_case_t *c = &window_cases[i];
        char start[6] = "", end[6] = "", err[256] = "";
        int smin = -1, emin = -1;
        int rc = ctl_window_parse(c->text, start, end, &smin, &emin, err, sizeof(err));
        if (!c->start) {
            if (rc != OD_ERR_INVALID)
                fail_msg("'%s' was accepted as %s-%s", c->text, start, end);
            assert_non_null(strstr(err, "'"));
            continue;
        }
        if (rc != OD_OK)
            fail_msg("'%s': %s", c->text, err);
        assert_string_equal(start, c->start);
        assert_string_equal(end, c->end);
        assert_int_equal(smin, c->start_min);
        assert_int_equal(emin, c->end_min);
    }
}

typedef struct duration_case {
    const char *text;
    int64_t unit;
    int64_t seconds; /* -1: an error */
} duration_case_t;

static const duration_case_t duration_cases[] = {
    {"600", 1, 600},        {"60", 60, 3600},   {"10m", 1, 600},
    {"90s", 60, 90},        {"1h30m", 1, 5400}, {"2d", 1, 172800},
    {"1d2h3m4s", 1, 93784}, {"0", 1, 0},        {"", 1, -1},
    {"m", 1, -1},           {"10x", 1, -1},     {"1h30", 1, -1},
    {"-5", 1, -1},          {"1.5h", 1, -1},    {"99999999999999d", 1, -1},
};

static void test_duration_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]); i++) {
        const duration_case_t *c = &duration_cases[i];
        int64_t s = -7;
        char err[256] = "";
        int rc = ctl_duration_parse(c->text, c->unit, &s, err, sizeof(err));
        if (c->seconds < 0) {
            if (rc != OD_ERR_INVALID)
                fail_msg("'%s' was accepted as %lld", c->text, (long long)s);
        } else if (rc != OD_OK || s != c->seconds) {
            fail_msg("'%s': rc %d, %lld s, want %lld (%s)", c->text, rc, (long long)s,
                     (long long)c->seconds, err);
        }
    }
    int64_t m = 0;
    char err[256];
    assert_int_equal(ctl_minutes_parse("1h30m", &m, err, sizeof(err)), OD_OK);
    assert_int_equal(m, 90);
    assert_int_equal(ctl_minutes_parse("45", &m, err, sizeof(err)), OD_OK);
    assert_int_equal(m, 45);
    assert_int_equal(ctl_minutes_parse("61s", &m, err, sizeof(err)), OD_ERR_INVALID);
}

/* --timeout of watch and import: seconds or a duration, 0 when absent. */
static void test_timeout_option(void **state)
{
    (void)state;
    const struct {
        const char *line;
        int64_t want_ms;
    } cases[] = {
        {"watch C1", 0},
        {"watch C1 --timeout 90", 90000},
        {"watch C1 --timeout 2m", 120000},
        {"import C1 leads.csv --timeout 1h", 3600000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        line_t l;
        ctl_args_t args;
        line_parse_ok(&l, cases[i].line, &args);
        char err[256];
        int64_t ms = -1;
        if (ctl_args_timeout_ms(&args, &ms, err, sizeof(err)) != OD_OK)
            fail_msg("%s: %s", cases[i].line, err);
        if (ms != cases[i].want_ms)
            fail_msg("%s: %lld ms, want %lld", cases[i].line, (long long)ms,
                     (long long)cases[i].want_ms);
        ctl_args_free(&args);
    }
}

static void test_small_parsers(void **state)
{
    (void)state;
    char err[256];
    bool b = false;
    assert_int_equal(ctl_bool_parse("On", &b, err, sizeof(err)), OD_OK);
    assert_true(b);
    assert_int_equal(ctl_bool_parse("no", &b, err, sizeof(err)), OD_OK);
    assert_false(b);
    assert_int_equal(ctl_bool_parse("", &b, err, sizeof(err)), OD_ERR_INVALID);
    int64_t n = 0;
    assert_int_equal(ctl_int_parse("-12", -100, 100, &n, err, sizeof(err)), OD_OK);
    assert_int_equal(n, -12);
    assert_int_equal(ctl_int_parse("101", -100, 100, &n, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "out of range (-100 to 100)"));
    assert_int_equal(ctl_int_parse(" 1", -100, 100, &n, err, sizeof(err)), OD_ERR_INVALID);
    assert_int_equal(
        ctl_int_parse("99999999999999999999", INT64_MIN, INT64_MAX, &n, err, sizeof(err)),
        OD_ERR_INVALID);
    char key[8];
    const char *value = NULL;
    assert_int_equal(ctl_kv_split("k=v=w", key, sizeof(key), &value, err, sizeof(err)), OD_OK);
    assert_string_equal(key, "k");
    assert_string_equal(value, "v=w");
    assert_int_equal(ctl_kv_split("toolongkey=v", key, sizeof(key), &value, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_true(ctl_is_none("NONE"));
    assert_false(ctl_is_none("non"));
    char *enc = ctl_url_encode("a b+c/d~é");
    assert_string_equal(enc, "a%20b%2Bc%2Fd~%C3%A9");
    free(enc);
}

/* ---- formatters
 * ------------------------------------------------------------------------------------ */

/* Each formatter writes into one buffer and returns it, so that a case is
 * one line: the value and the text it must read as. */
static char fmt_buf[128];

static const char *days_text(unsigned days)
{
    ctl_days_format(days, fmt_buf, sizeof(fmt_buf));
    return fmt_buf;
}

static const char *money_text(int64_t minor, const char *currency)
{
    ctl_money_format(minor, currency, fmt_buf, sizeof(fmt_buf));
    return fmt_buf;
}

static const char *time_text(const char *rfc3339)
{
    ctl_time_format(rfc3339, fmt_buf, sizeof(fmt_buf));
    return fmt_buf;
}

static const char *seconds_text(int64_t s)
{
    ctl_seconds_format(s, fmt_buf, sizeof(fmt_buf));
    return fmt_buf;
}

static const char *bytes_text(int64_t n)
{
    ctl_bytes_format(n, fmt_buf, sizeof(fmt_buf));
    return fmt_buf;
}

static const char *progress_text(int64_t done, int64_t total, int bar_width, bool bytes)
{
    ctl_progress_format(fmt_buf, sizeof(fmt_buf), done, total, bar_width, bytes);
    return fmt_buf;
}

static void test_formatters(void **state)
{
    (void)state;
    assert_string_equal(days_text(WINDOW_DAYS_WEEKDAYS), "mon-fri");
    assert_string_equal(days_text(WINDOW_DAYS_ALL), "every day");
    assert_string_equal(days_text(WINDOW_DAY_MON | WINDOW_DAY_TUE | WINDOW_DAY_SAT), "mon,tue,sat");
    assert_string_equal(
        days_text(WINDOW_DAY_MON | WINDOW_DAY_TUE | WINDOW_DAY_WED | WINDOW_DAY_SUN),
        "mon-wed,sun");
    assert_string_equal(days_text(0), "");

    assert_string_equal(money_text(12345, "USD"), "USD 123.45");
    assert_string_equal(money_text(-5, "EUR"), "EUR -0.05");
    assert_string_equal(money_text(500, "JPY"), "JPY 500");
    assert_string_equal(money_text(100, NULL), "1.00");

    assert_string_equal(time_text("2026-03-08T09:00:01.123456Z"), "2026-03-08 09:00:01Z");
    assert_string_equal(time_text("2026-03-08T09:00:01+02:00"), "2026-03-08 09:00:01+02:00");
    assert_string_equal(time_text("soon"), "soon");

    assert_string_equal(seconds_text(3725), "1h 02m");
    assert_string_equal(seconds_text(245), "4m 05s");
    assert_string_equal(seconds_text(12), "12s");

    assert_string_equal(bytes_text(512), "512 B");
    assert_string_equal(bytes_text(1536), "1.5 KiB");
    assert_string_equal(bytes_text(3LL * 1024 * 1024 * 1024), "3.0 GiB");

    assert_string_equal(progress_text(45, 100, 10, false), "[####......]  45%  45 / 100");
    assert_string_equal(progress_text(2048, 2048, 4, true), "[####] 100%  2.0 KiB / 2.0 KiB");
    assert_string_equal(progress_text(7, -1, 4, false), "7");
}

/* ---- tables
 * --------------------------------------------------------------------------------------------- */

static void test_table_render(void **state)
{
    (void)state;
    static const char *const headers[] = {"ID", "NAME", "N"};
    ctl_table_t *t = ctl_table_new(3, headers);
    ctl_table_column(t, 1, CTL_ALIGN_LEFT, 8);
    ctl_table_column(t, 2, CTL_ALIGN_RIGHT, 0);
    ctl_table_add_row(t);
    ctl_table_cell(t, 0, "a1");
    ctl_table_cell(t, 1, "Zoë");
    ctl_table_cell(t, 2, "7");
    ctl_table_add_row(t);
    ctl_table_cell(t, 0, "b22");
    ctl_table_cell(t, 1, "Bartholomew Jones");
    ctl_table_cell(t, 2, "1234");
    ctl_table_add_row(t);
    ctl_table_cell(t, 0, "c\n3"); /* control characters become spaces */
    ctl_table_cell(t, 1, NULL);
    ctl_table_cell(t, 2, "");
    assert_int_equal(ctl_table_rows(t), 3);
    capture_t c;
    ctl_table_write(t, capture_open(&c));
    ctl_table_free(t);
    assert_string_equal(capture_close(&c), "ID   NAME         N\n"
                                           "a1   Zoë          7\n"
                                           "b22  Barth...  1234\n"
                                           "c 3  -            -\n");
    free(c.text);
    assert_int_equal(ctl_text_width("Zoë"), 3);
    assert_int_equal(ctl_text_width("日本"), 2);
}

/* An assistant's caller-ID pool, a page of two numbers. */
#define CALLER_ID_POOL                                                                             \
    "{\"data\":[{\"phone_number\":\"+12125550199\",\"provider_phone_number_id\":\"pn_789\","       \
    "\"daily_cap\":100,\"timezone\":\"America/New_York\",\"created_at\":"                          \
    "\"2026-03-08T09:00:00.000Z\"},{\"phone_number\":\"+13055550380\","                            \
    "\"provider_phone_number_id\":null,\"daily_cap\":null,\"timezone\":\"America/New_York\","      \
    "\"created_at\":\"2026-03-08T09:05:00.000Z\"}],\"next_cursor\":null}"

/* answer (JSON text) drawn by render as view reads want. */
static void assert_view(void (*render)(FILE *, ctl_view_t, const json_t *), ctl_view_t view,
                        const char *answer, const char *want)
{
    json_t *a = json_parse(answer);
    capture_t c;
    render(capture_open(&c), view, a);
    assert_string_equal(capture_close(&c), want);
    free(c.text);
    json_decref(a);
}

static void test_list_views(void **state)
{
    (void)state;
    assert_view(
        ctl_render_view, CTL_VIEW_CAMPAIGNS,
        "{\"data\":[{\"id\":\"c-1\",\"name\":\"Spring\",\"status\":\"draft\","
        "\"window_start\":\"09:00\",\"window_end\":\"18:00\",\"allowed_days\":[\"mon\",\"tue\","
        "\"wed\",\"thu\",\"fri\"],\"max_retries\":3,\"retry_interval_minutes\":60,"
        "\"goal_variable\":null}],\"next_cursor\":null}",
        "ID   NAME    STATUS  WINDOW       DAYS     RETRIES  GOAL\n"
        "c-1  Spring  draft   09:00-18:00  mon-fri  3 x 60m  -\n");

    assert_view(
        ctl_render_view, CTL_VIEW_LEADS,
        "{\"data\":[{\"id\":\"l-1\",\"phone\":\"+12125550123\",\"name\":\"Ann\","
        "\"contact_order\":0,\"status\":\"rescheduled\",\"attempts\":2,\"outcome\":null,"
        "\"last_call_status\":\"busy\",\"next_attempt_at\":\"2026-03-08T10:00:00.000Z\","
        "\"due\":false},{\"id\":\"l-2\",\"phone\":null,\"raw_phone\":\"555\","
        "\"invalid_reason\":\"too_short\",\"name\":\"\",\"contact_order\":1,\"status\":"
        "\"created\",\"attempts\":0,\"next_attempt_at\":null,\"due\":true}]}",
        "ID   PHONE          NAME  CONTACT  STATUS       ATTEMPTS  OUTCOME  LAST CALL  NEXT "
        "ATTEMPT\n"
        "l-1  +12125550123   Ann   primary  rescheduled         2  -        busy       2026-03-08 "
        "10:00:00Z\n"
        "l-2  555 (invalid)  -     #1       created             0  -        -          now\n");

    assert_view(ctl_render_list, CTL_VIEW_ASSISTANTS,
                "[{\"id\":\"a\",\"name\":\"Bot\",\"timezone\":\"UTC\","
                "\"outbound_phone_number\":null,\"post_call_schema\":"
                "{\"booked\":\"boolean\",\"notes\":\"string\"}}]",
                "ID  NAME  TIMEZONE  PHONE  VARIABLES\n"
                "a   Bot   UTC       -      booked:boolean,notes:string\n");

    /* An assistant's caller-ID pool: one number capped, one not. */
    assert_view(ctl_render_view, CTL_VIEW_CALLER_IDS, CALLER_ID_POOL,
                "PHONE         PROVIDER NUMBER ID  DAILY CAP  TIMEZONE          ADDED\n"
                "+12125550199  pn_789                    100  America/New_York  2026-03-08 "
                "09:00:00Z\n"
                "+13055550380  -                           -  America/New_York  2026-03-08 "
                "09:05:00Z\n");

    assert_view(ctl_render_view, CTL_VIEW_IMPORTS,
                "{\"data\":[{\"id\":\"i\",\"filename\":\"a.csv\",\"status\":"
                "\"running\",\"progress\":0.5,\"rows\":{\"read\":10,"
                "\"imported\":8,\"duplicate\":1,\"dnc\":0,\"rejected\":1},"
                "\"created_at\":\"2026-03-08T09:00:00Z\"}]}",
                "ID  FILE   STATUS   PROGRESS  READ  IMPORTED  DUPLICATE  DNC  REJECTED  "
                "CREATED\n"
                "i   a.csv  running       50%    10         8          1    0         1  "
                "2026-03-08 09:00:00Z\n");
}

static void test_object_view(void **state)
{
    (void)state;
    assert_view(
        ctl_render_view, CTL_VIEW_OBJECT,
        "{\"id\":\"acc\",\"balance_minor\":10050,\"currency\":\"USD\",\"quiet_hours_start\":null,"
        "\"flags\":[\"a\",\"b\"],\"schema\":{\"x\":\"boolean\"},\"empty\":{},\"history\":[{"
        "\"status\":\"ringing\"}],\"created_at\":\"2026-03-08T09:00:01.5Z\",\"ok\":true}",
        "id                 acc\n"
        "balance_minor      10050 (USD 100.50)\n"
        "currency           USD\n"
        "quiet_hours_start  -\n"
        "flags              a,b\n"
        "schema.x           boolean\n"
        "empty              {}\n"
        "history[0].status  ringing\n"
        "created_at         2026-03-08 09:00:01Z\n"
        "ok                 yes\n");
}

static void test_campaign_view(void **state)
{
    (void)state;
    assert_view(
        ctl_render_view, CTL_VIEW_CAMPAIGN,
        "{\"id\":\"c-1\",\"name\":\"Spring\",\"assistant_id\":\"a-1\",\"status\":\"paused\","
        "\"pause_reason\":\"insufficient_balance\",\"window_start\":\"22:00\",\"window_end\":"
        "\"02:00\",\"allowed_days\":[\"fri\",\"sat\"],\"max_retries\":3,"
        "\"retry_interval_minutes\":60,\"retry_on_voicemail\":true,\"goal_variable\":\"booked\","
        "\"goal_based_retry\":false,\"timezone_mode\":\"lead\",\"max_concurrent_calls\":20,"
        "\"calls_per_minute\":30,\"max_call_duration_s\":600}",
        "campaign    c-1\n"
        "name        Spring\n"
        "status      paused (insufficient_balance)\n"
        "assistant   a-1\n"
        "schedule    22:00-02:00, fri,sat, in the lead's time zone\n"
        "retries     up to 3, every 60 min, on voicemail: yes\n"
        "goal        booked (goal-based retry: off)\n"
        "pacing      20 calls at once, 30 per minute, calls up to 10m 00s\n");
}

static const char *const stats_json =
    "{\"campaign_id\":\"c-1\",\"leads\":{\"total\":10,\"secondary_contacts\":2,\"invalid\":0,"
    "\"by_status\":{\"created\":5,\"scheduled\":0,\"processing\":1,\"completed\":3,"
    "\"rescheduled\":0,\"max_retries\":1},\"by_outcome\":{\"goal_achieved\":2,\"answered\":1,"
    "\"exhausted\":1}},\"calls\":{\"total\":8,\"by_status\":{\"completed\":4,\"busy\":2,"
    "\"unanswered\":1,\"failed\":0,\"skipped\":0,\"in_progress\":1},\"by_answered_by\":{"
    "\"human\":3,\"voicemail\":1,\"unknown\":0},\"duration_s_total\":754},\"goal\":{"
    "\"variable\":\"booked\",\"achieved\":2,\"finished_leads\":4,\"conversion\":0.5},"
    "\"spend\":{\"amount_minor\":1234,\"currency\":\"USD\"},\"attempts\":{}}";

static void test_stats_view(void **state)
{
    (void)state;
    json_t *stats = json_parse(stats_json);
    json_t *campaign = json_parse("{\"id\":\"c-1\",\"name\":\"Spring\",\"status\":"
                                  "\"in_progress\",\"window_start\":\"09:00\",\"window_end\":"
                                  "\"18:00\",\"allowed_days\":[\"mon\",\"tue\",\"wed\","
                                  "\"thu\",\"fri\"]}");
    capture_t c;
    ctl_render_stats(capture_open(&c), campaign, stats, "2026-03-08 09:00:00");
    assert_string_equal(capture_close(&c), "Spring  (c-1)  2026-03-08 09:00:00\n"
                                           "status: in_progress   window: 09:00-18:00 mon-fri\n"
                                           "\n"
                                           "LEADS  10 total (secondary contacts: 2)\n"
                                           "  created             5   50.0%  ###############\n"
                                           "  scheduled           0    0.0%\n"
                                           "  processing          1   10.0%  ###\n"
                                           "  completed           3   30.0%  #########\n"
                                           "  rescheduled         0    0.0%\n"
                                           "  max_retries         1   10.0%  ###\n"
                                           "  finished 4 of 10 (40.0%)\n"
                                           "  outcomes: goal_achieved 2, answered 1, exhausted 1\n"
                                           "\n"
                                           "CALLS  8 total, 12m 34s talk time\n"
                                           "  completed           4   50.0%  ###############\n"
                                           "  busy                2   25.0%  ########\n"
                                           "  unanswered          1   12.5%  ####\n"
                                           "  failed              0    0.0%\n"
                                           "  in_progress         1   12.5%  ####\n"
                                           "  answered by: human 3, voicemail 1, unknown 0\n"
                                           "\n"
                                           "GOAL   booked: 2 achieved of 4 finished leads (50.0%)\n"
                                           "SPEND  USD 12.34 (USD 1.54 per call)\n");
    free(c.text);
    /* Without a campaign (campaign stats): no heading. */
    ctl_render_view(capture_open(&c), CTL_VIEW_STATS, stats);
    capture_close(&c);
    assert_non_null(strstr(c.text, "LEADS  10 total"));
    assert_null(strstr(c.text, "status:"));
    assert_null(strstr(c.text, "CALLER IDS")); /* no pool numbers in the stats */
    free(c.text);

    /* A campaign calling from a pool: its numbers' answer rates last. */
    json_object_set_new(stats, "caller_ids",
                        json_parse("[{\"phone_number\":\"+12125550199\",\"calls\":40,"
                                   "\"answered\":18,\"answer_rate\":0.45},"
                                   "{\"phone_number\":\"+15185550100\",\"calls\":0,"
                                   "\"answered\":0,\"answer_rate\":null}]"));
    ctl_render_view(capture_open(&c), CTL_VIEW_STATS, stats);
    capture_close(&c);
    const char *tail = strstr(c.text, "\nCALLER IDS");
    assert_non_null(tail);
    assert_string_equal(tail, "\nCALLER IDS  answer rate per outbound number\n"
                              "  +12125550199         40 calls     18 answered   45.0%\n"
                              "  +15185550100          0 calls      0 answered       -\n");
    free(c.text);
    json_decref(stats);
    json_decref(campaign);
}

static void test_import_view(void **state)
{
    (void)state;
    json_t *imp = json_parse("{\"id\":\"i-1\",\"status\":\"completed\",\"filename\":\"a.csv\","
                             "\"progress\":1.0,\"rows\":{\"read\":4,\"imported\":2,"
                             "\"duplicate\":1,\"dnc\":0,\"rejected\":2},\"error\":null}");
    json_t *rejects = json_parse("{\"data\":[{\"row\":3,\"code\":\"too_short\",\"reason\":"
                                 "\"'123': too few digits\",\"raw_row\":\"123,Bad\"}],"
                                 "\"next_cursor\":\"3\"}");
    capture_t c;
    ctl_render_import(capture_open(&c), imp, rejects);
    assert_string_equal(capture_close(&c),
                        "import i-1: completed (a.csv)\n"
                        "  rows read           4\n"
                        "  imported            2\n"
                        "  duplicate           1\n"
                        "  dnc                 0\n"
                        "  rejected            2\n"
                        "first rejected rows (row 1 is the first row under the header):\n"
                        "  row 3: too_short: '123': too few digits\n"
                        "  ... all of them: outdialctl import rejects i-1 --csv > rejects.csv\n");
    free(c.text);
    json_decref(imp);
    json_decref(rejects);

    imp = json_parse("{\"id\":\"i-2\",\"status\":\"failed\",\"error\":\"no header row\","
                     "\"rows\":{\"read\":0}}");
    ctl_render_import(capture_open(&c), imp, NULL);
    capture_close(&c);
    assert_non_null(strstr(c.text, "import i-2: failed\n  error: no header row\n"));
    free(c.text);
    json_decref(imp);
}

static void test_leads_added_view(void **state)
{
    (void)state;
    assert_view(
        ctl_render_view, CTL_VIEW_OBJECT,
        "{\"created\":2,\"invalid\":1,\"duplicate\":0,\"dnc\":0,\"results\":[{\"index\":0,"
        "\"phone\":\"+12125550123\",\"lead_id\":\"l-1\",\"result\":\"created\","
        "\"secondary_contacts\":[{\"phone\":\"+12125550124\",\"lead_id\":\"l-2\",\"result\":"
        "\"created\",\"contact_order\":1}]},{\"index\":1,\"phone\":\"555\",\"lead_id\":\"l-3\","
        "\"result\":\"invalid\",\"reason\":\"too_short\",\"message\":\"too few digits\"}]}",
        "created 2, invalid 1, duplicate 0, dnc 0\n"
        "#     PHONE         RESULT   LEAD  NOTE\n"
        "0     +12125550123  created  l-1   -\n"
        "  #1  +12125550124  created  l-2   -\n"
        "1     555           invalid  l-3   too few digits\n");

    assert_view(ctl_render_view, CTL_VIEW_OBJECT,
                "{\"added\":1,\"results\":[{\"phone\":\"+1\",\"result\":\"added\"}]}",
                "added 1\n"
                "#  PHONE  RESULT  NOTE\n"
                "0  +1     added   -\n");
}

static void test_recount_view(void **state)
{
    (void)state;
    assert_view(ctl_render_view, CTL_VIEW_RECOUNT,
                "{\"campaign_id\":\"c-1\",\"fixed\":false,\"differences\":[]}",
                "campaign c-1: every counter equals its recount\n");
    assert_view(ctl_render_view, CTL_VIEW_RECOUNT,
                "{\"campaign_id\":\"c-1\",\"fixed\":true,\"differences\":[{\"counter\":"
                "\"leads.status.created\",\"stored\":5,\"recounted\":2}]}",
                "campaign c-1: 1 counter differed from the recount, now replaced by it\n"
                "COUNTER                                  STORED      RECOUNTED\n"
                "leads.status.created                          5              2\n");
}

static void test_ids_view(void **state)
{
    (void)state;
    static const struct {
        const char *answer, *ids;
    } cases[] = {
        {"{\"id\":\"c-1\",\"name\":\"X\"}", "c-1\n"},
        {"{\"account_id\":\"a-1\",\"api_key\":\"k\"}", "a-1\n"},
        {"{\"data\":[{\"id\":\"x\"},{\"id\":\"y\"}],\"next_cursor\":null}", "x\ny\n"},
        {"[{\"phone\":\"+1\"}]", "+1\n"},
        /* Added leads: the leads made, secondaries too; not the duplicate. */
        {"{\"created\":2,\"results\":[{\"phone\":\"+1\",\"lead_id\":\"l-1\","
         "\"secondary_contacts\":[{\"phone\":\"+2\",\"lead_id\":\"l-2\"}]},{\"phone\":"
         "\"+3\",\"result\":\"duplicate\"}]}",
         "l-1\nl-2\n"},
        {"{\"added\":1,\"results\":[{\"phone\":\"+1\",\"result\":\"added\"}]}", "+1\n"},
        {CALLER_ID_POOL, "+12125550199\n+13055550380\n"},
        /* A number added to a caller-ID pool. */
        {"{\"phone_number\":\"+12125550199\",\"daily_cap\":null}", "+12125550199\n"},
        {"{\"name\":\"no id\"}", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *a = json_parse(cases[i].answer);
        capture_t c;
        ctl_render_ids(capture_open(&c), a);
        const char *got = capture_close(&c);
        if (strcmp(got, cases[i].ids) != 0)
            fail_msg("%s:\n  got  %s\n  want %s", cases[i].answer, got, cases[i].ids);
        free(c.text);
        json_decref(a);
    }
}

/* ---- errors
 * ---------------------------------------------------------------------------------------------- */

typedef struct error_case {
    long status;
    const char *body;
    const char *text;
} error_case_t;

static const error_case_t error_cases[] = {
    {400,
     "{\"error\":{\"code\":\"invalid\",\"message\":\"max_retries must be between 1 and 5\","
     "\"field\":\"max_retries\"}}",
     "error: max_retries must be between 1 and 5 (field: max_retries)\n"},
    /* A single problem repeating the message is not repeated. */
    {400,
     "{\"error\":{\"code\":\"invalid\",\"message\":\"bad\",\"field\":\"f\",\"problems\":[{"
     "\"field\":\"f\",\"message\":\"bad\"}]}}",
     "error: bad (field: f)\n"},
    {409,
     "{\"error\":{\"code\":\"requirements_unmet\",\"message\":\"cannot start\",\"problems\":[{"
     "\"code\":\"no_phone_number\",\"message\":\"the assistant has no phone number\"},{\"code\":"
     "\"no_balance\",\"message\":\"the balance is 0\"}]}}",
     "error: cannot start\n"
     "  - the assistant has no phone number [no_phone_number]\n"
     "  - the balance is 0 [no_balance]\n"},
    {409,
     "{\"error\":{\"code\":\"x\",\"message\":\"m\",\"problems\":[\"one\",{\"field\":\"g\","
     "\"message\":\"two\"}]}}",
     "error: m\n  - one\n  - two (field: g)\n"},
    {502, "<html>Bad gateway</html>\nmore", "error: HTTP 502: <html>Bad gateway</html>\n"},
    {500, "", "error: HTTP 500 with no message\n"},
    {404, "{\"error\":{\"code\":\"not_found\"}}",
     "error: HTTP 404: {\"error\":{\"code\":\"not_found\"}}\n"},
};

static void test_error_render(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        const error_case_t *e = &error_cases[i];
        capture_t c;
        ctl_render_error(capture_open(&c), e->status, e->body, strlen(e->body));
        const char *got = capture_close(&c);
        if (strcmp(got, e->text) != 0)
            fail_msg("case %zu:\n  got  %s\n  want %s", i, got, e->text);
        free(c.text);
    }
}

/* ---- usage text
 * ------------------------------------------------------------------------------------------- */

static void test_usage_text(void **state)
{
    (void)state;
    /* Every command has a summary, an example naming it, and usage. */
    for (size_t i = 0; i < ctl_n_commands; i++) {
        const ctl_cmd_t *cmd = &ctl_commands[i];
        char *words = ctl_cmd_words(cmd);
        assert_non_null(cmd->summary);
        assert_non_null(cmd->example);
        char *want = NULL;
        if (asprintf(&want, "outdialctl %s", words) < 0)
            fail();
        if (strncmp(cmd->example, want, strlen(want)) != 0)
            fail_msg("the example of '%s' does not start with '%s'", words, want);
        free(want);
        assert_true(cmd->n_opts + 4 <= CTL_OPTS_MAX);
        capture_t c;
        ctl_usage_write(capture_open(&c), cmd, NULL);
        capture_close(&c);
        assert_non_null(strstr(c.text, words));
        for (size_t j = 0; j < cmd->n_opts; j++) {
            char opt[64];
            snprintf(opt, sizeof(opt), "--%s", cmd->opts[j].name);
            if (!strstr(c.text, opt))
                fail_msg("usage of '%s' does not show %s", words, opt);
        }
        /* No line over 100 columns but the example. */
        for (char *line = c.text; line && *line;) {
            char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            if (len > 100 && strncmp(line, "  outdialctl ", 13) != 0)
                fail_msg("usage of '%s' has a line of %zu columns: %.*s", words, len, (int)len,
                         line);
            line = nl ? nl + 1 : NULL;
        }
        free(c.text);
        free(words);
    }
    capture_t c;
    ctl_usage_write(capture_open(&c), NULL, "lead");
    capture_close(&c);
    assert_non_null(strstr(c.text, "lead add CAMPAIGN"));
    assert_null(strstr(c.text, "\n  campaign create"));
    free(c.text);
}

OD_TEST_MAIN(NULL, NULL, test_body_table, test_path_table, test_path_extra_query_and_drop,
             test_globals_and_locals, test_usage_errors, test_days_parse, test_window_parse,
             test_duration_parse, test_timeout_option, test_small_parsers, test_formatters,
             test_table_render, test_list_views, test_object_view, test_campaign_view,
             test_stats_view, test_import_view, test_leads_added_view, test_recount_view,
             test_ids_view, test_error_render, test_usage_text)

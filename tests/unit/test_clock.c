/* Clock: real, offset and scaled campaign time, and RFC 3339 parsing. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "clock.h"
#include "env_fixture.h"
#include "test_main.h"

/* The clock of the OUTDIAL_CLOCK_* variables as they are set now; a
 * refusal fails the test with its message. */
static od_clock_t env_clock(void)
{
    od_clock_t clk;
    char err[256];
    if (od_clock_from_env(&clk, err, sizeof(err)) != OD_OK)
        fail_msg("od_clock_from_env: %s", err);
    return clk;
}

/* Campaign time runs scale times as fast as real time, pivoting on the
 * real instant epoch (seconds since 1970). */
static void set_scaled(const char *scale, const char *epoch)
{
    setenv("OUTDIAL_CLOCK_SCALE", scale, 1);
    setenv("OUTDIAL_CLOCK_EPOCH", epoch, 1);
}

static void test_real_clock_follows_wall_time(void **state)
{
    (void)state;
    od_clock_t clk = env_clock();
    int64_t a = od_clock_real_us();
    int64_t now = od_clock_now_us(&clk);
    int64_t b = od_clock_real_us();
    assert_true(now >= a && now <= b);
    assert_int_equal(od_clock_at(&clk, 1234567), 1234567);
}

static void test_offset_shifts_time(void **state)
{
    (void)state;
    setenv("OUTDIAL_CLOCK_OFFSET", "-3600.5", 1);
    od_clock_t clk = env_clock();
    assert_int_equal(od_clock_at(&clk, 10 * OD_USEC_PER_SEC), 10 * OD_USEC_PER_SEC - 3600500000LL);
}

static void test_scale_pivots_on_epoch(void **state)
{
    (void)state;
    set_scaled("60", "1000");
    od_clock_t clk = env_clock();
    /* At the epoch campaign time equals real time; 10 real seconds later it
     * is 10 campaign minutes later. */
    assert_int_equal(od_clock_at(&clk, 1000 * OD_USEC_PER_SEC), 1000 * OD_USEC_PER_SEC);
    assert_int_equal(od_clock_at(&clk, 1010 * OD_USEC_PER_SEC), 1600 * OD_USEC_PER_SEC);
    /* One campaign hour takes one real minute. */
    assert_int_equal(od_clock_real_duration_us(&clk, 3600 * OD_USEC_PER_SEC), 60 * OD_USEC_PER_SEC);
    assert_int_equal(od_clock_real_duration_us(&clk, 1), 1);
    assert_int_equal(od_clock_real_duration_us(&clk, -5), 0);
}

static void test_start_places_campaign_time(void **state)
{
    (void)state;
    set_scaled("2", "1800000000");
    setenv("OUTDIAL_CLOCK_START", "2026-03-08T06:00:00Z", 1);
    od_clock_t clk = env_clock();
    int64_t start = 0;
    assert_int_equal(od_time_parse_rfc3339("2026-03-08T06:00:00Z", &start), OD_OK);
    assert_int_equal(od_clock_at(&clk, 1800000000LL * OD_USEC_PER_SEC), start);
    assert_int_equal(od_clock_at(&clk, 1800000030LL * OD_USEC_PER_SEC),
                     start + 60 * OD_USEC_PER_SEC);
}

/* A skewed process reads campaign time skew x scale ahead; real
 * durations do not move. */
static void test_skew_moves_campaign_time_only(void **state)
{
    (void)state;
    set_scaled("60", "1000");
    od_clock_t straight = env_clock();
    setenv("OUTDIAL_CLOCK_SKEW_MS", "5000", 1);
    od_clock_t ahead = env_clock();
    int64_t a = od_clock_now_us(&straight);
    int64_t b = od_clock_now_us(&ahead);
    int64_t c = od_clock_now_us(&straight);
    /* 5 real seconds at 60x: 5 campaign minutes ahead. */
    assert_true(b - a >= 300 * OD_USEC_PER_SEC);
    assert_true(b - c <= 300 * OD_USEC_PER_SEC);
    assert_int_equal(od_clock_at(&ahead, 1010 * OD_USEC_PER_SEC),
                     od_clock_at(&straight, 1010 * OD_USEC_PER_SEC));
    assert_int_equal(od_clock_real_duration_us(&ahead, 60 * OD_USEC_PER_SEC), OD_USEC_PER_SEC);
    setenv("OUTDIAL_CLOCK_SKEW_MS", "-5000", 1);
    od_clock_t behind = env_clock();
    assert_true(od_clock_now_us(&behind) < od_clock_now_us(&straight));
}

/* A measurement against a shared clock: the shared reading is placed at
 * the middle of the round trip; a slow or backwards one gives nothing. */
static void test_offset_estimate(void **state)
{
    (void)state;
    static const struct {
        int64_t before, shared, after, max_rtt, deadband;
        bool ok;
        int64_t offset;
    } rows[] = {
        {1000, 1050, 1100, 500, 0, true, 0},      /* in step */
        {1000, 6050, 1100, 500, 0, true, 5000},   /* the host is 5 ms behind */
        {1000, -3950, 1100, 500, 0, true, -5000}, /* the host is 5 ms ahead */
        {1000, 1000, 1000, 0, 0, true, 0},        /* an instant answer */
        {1000, 1001, 1003, 500, 0, true, 0},      /* rtt 3: the middle is 1001 */
        {1000, 1250, 1500, 500, 0, true, 0},      /* rtt exactly the bound */
        {1000, 1250, 1501, 500, 0, false, 0},     /* just over it */
        {1100, 1050, 1000, 500, 0, false, 0},     /* the host's clock went back */
        {1000, 1100, 1100, 500, 0, true, 0},      /* 50 off, within rtt/2 = 50: unknown */
        {1000, 1101, 1100, 500, 0, true, 51},     /* 51 off: more than the rtt explains */
        {1000, 1150, 1100, 500, 100, true, 0},    /* 100 off, under rtt/2 + deadband */
        {1000, 1201, 1100, 500, 100, true, 151},  /* 151 off: over it, applied whole */
        {1000, -5000000, 1000, 500, 100000, true, -5001000}, /* 5 s ahead */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t off = 12345;
        bool ok = od_clock_offset_estimate(rows[i].before, rows[i].shared, rows[i].after,
                                           rows[i].max_rtt, rows[i].deadband, &off);
        if (ok != rows[i].ok || (ok && off != rows[i].offset))
            fail_msg("row %zu: ok %d offset %lld", i, ok, (long long)off);
    }
}

/* A correction moves campaign time as a skew does, the other way: a host 5 s
 * behind, corrected by +5 s, reads what a host in step reads. */
static void test_correction_undoes_skew(void **state)
{
    (void)state;
    set_scaled("60", "1000");
    setenv("OUTDIAL_CLOCK_SKEW_MS", "-5000", 1);
    od_clock_t behind = env_clock();
    unsetenv("OUTDIAL_CLOCK_SKEW_MS");
    od_clock_t straight = env_clock();
    assert_int_equal(od_clock_correction_us(&behind), 0);
    /* 5 real seconds at 60x: 5 campaign minutes behind until corrected. */
    assert_true(od_clock_now_us(&straight) - od_clock_now_us(&behind) >= 299 * OD_USEC_PER_SEC);
    od_clock_correct(&behind, 5 * OD_USEC_PER_SEC);
    assert_int_equal(od_clock_correction_us(&behind), 5 * OD_USEC_PER_SEC);
    int64_t a = od_clock_now_us(&straight);
    int64_t b = od_clock_now_us(&behind);
    int64_t c = od_clock_now_us(&straight);
    assert_true(b >= a && b <= c);
    /* The host's own reading keeps the skew: it is what a measurement compares. */
    assert_true(od_clock_real_us() - od_clock_host_us(&behind) >= 4900000);
}

/* Every wrong setting is refused, and the message names the variable. */
static void test_bad_settings_name_the_variable(void **state)
{
    (void)state;
    static const char *const columns[] = {"variable", "value", "message"};
    case_file_t *cf =
        case_file_load("clock_refusals", columns, sizeof(columns) / sizeof(columns[0]), 10);
    for (size_t i = 0; i < cf->n_rows; i++) {
        const char *message = case_file_cell(cf, i, 2);
        env_clear_outdial();
        setenv(case_file_cell(cf, i, 0), case_file_cell(cf, i, 1), 1);
        od_clock_t clk;
        char err[256] = "";
        assert_int_equal(od_clock_from_env(&clk, err, sizeof(err)), OD_ERR_INVALID);
        if (!strstr(err, message))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, message);
    }
    case_file_free(cf);
    env_clear_outdial();
    setenv("OUTDIAL_CLOCK_EPOCH", "1000", 1);
    setenv("OUTDIAL_CLOCK_START", "yesterday", 1);
    od_clock_t clk;
    char err[256] = "";
    assert_int_equal(od_clock_from_env(&clk, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "OUTDIAL_CLOCK_START: 'yesterday' is not an RFC 3339"));
    setenv("OUTDIAL_CLOCK_OFFSET", "5", 1);
    assert_int_equal(od_clock_from_env(&clk, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "set one, not both"));
}

static void test_rfc3339(void **state)
{
    (void)state;
    int64_t us = 0;
    assert_int_equal(od_time_parse_rfc3339("1970-01-01T00:00:01Z", &us), OD_OK);
    assert_int_equal(us, OD_USEC_PER_SEC);
    assert_int_equal(od_time_parse_rfc3339("2026-11-27T11:28:31.25+00:00", &us), OD_OK);
    char buf[40];
    od_time_format_rfc3339(us, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-27T11:28:31.250Z");
    const char *bad[] = {"",
                         "2026-02-30T00:00:00Z",
                         "2026-13-01T00:00:00Z",
                         "2026-01-01T00:00:00",
                         "2026-01-01T00:00:00+01:00",
                         "2026-01-01T00:00:00.Z",
                         "garbage"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(od_time_parse_rfc3339(bad[i], &us), OD_ERR_INVALID);
}

/* Deadlines for pthread_cond_timedwait: ms later on the given clock, with
 * tv_nsec carried into tv_sec. */
static void test_timespec_after_ms_is_normalised(void **state)
{
    (void)state;
    const int64_t cases_ms[] = {0, 1, 100, 999, 1000, 1999, 30000};
    for (size_t i = 0; i < sizeof(cases_ms) / sizeof(cases_ms[0]); i++) {
        struct timespec before;
        clock_gettime(CLOCK_MONOTONIC, &before);
        struct timespec t = od_timespec_after_ms(CLOCK_MONOTONIC, cases_ms[i]);
        struct timespec after;
        clock_gettime(CLOCK_MONOTONIC, &after);
        assert_in_range(t.tv_nsec, 0, 999999999L);
        int64_t t_ns = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
        int64_t lo =
            (int64_t)before.tv_sec * 1000000000LL + before.tv_nsec + cases_ms[i] * 1000000LL;
        int64_t hi = (int64_t)after.tv_sec * 1000000000LL + after.tv_nsec + cases_ms[i] * 1000000LL;
        assert_true(t_ns >= lo);
        assert_true(t_ns <= hi);
    }
}

/* A condition variable on the monotonic clock times out at a deadline read
 * on that clock, not earlier. */
static void test_cond_init_clock_times_out_on_its_clock(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;
    od_cond_init_clock(&cond, CLOCK_MONOTONIC);
    struct timespec until = od_timespec_after_ms(CLOCK_MONOTONIC, 50);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (rc == 0)
        rc = pthread_cond_timedwait(&cond, &mu, &until);
    pthread_mutex_unlock(&mu);
    assert_int_equal(rc, ETIMEDOUT);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    assert_true(now.tv_sec > until.tv_sec ||
                (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec));
    pthread_cond_destroy(&cond);
}

OD_TEST_MAIN_EACH(NULL, NULL, env_fixture_clear, NULL, test_real_clock_follows_wall_time,
                  test_offset_shifts_time, test_scale_pivots_on_epoch,
                  test_start_places_campaign_time, test_skew_moves_campaign_time_only,
                  test_offset_estimate, test_correction_undoes_skew,
                  test_bad_settings_name_the_variable, test_rfc3339,
                  test_timespec_after_ms_is_normalised, test_cond_init_clock_times_out_on_its_clock)

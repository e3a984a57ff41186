/* Calling windows, property test: for thousands of random instants over
 * 2024-2025 in several zones and window shapes (seeded, deterministic),
 *  - window_next_open() is open (checked by an independent oracle),
 *  - a minute-by-minute scan from the instant finds no earlier open minute,
 *  - the slot closes exactly where a scan from its opening finds it closed,
 *  - window_is_open() agrees with the oracle at sampled instants.
 *
 * The oracle does not use the code under test nor ICU's wall-time fields:
 * it takes each zone's UTC offset and transition instants from ICU and
 * computes local wall time by arithmetic. DST semantics are expressed
 * through the "monotone wall clock" W(u) = max over u' <= u of wall(u'):
 * a wall time X has been reached at u iff W(u) >= X, which is exactly
 * "a skipped time means the first instant after it, a repeated one its
 * first occurrence". Half the instants fall within a day and a half of a
 * DST transition of the first zone, where the interesting cases are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "test_main.h"
#include "test_rules_support.h"
#include "window.h"

#define MIN_US (60LL * 1000000LL)
#define DAY_US (86400LL * 1000000LL)

/* ~10000 instants in all: a couple of seconds under ASan. */
#define INSTANTS_PER_CONFIG 800
#define SCAN_LIMIT_DAYS     9

/* ---- deterministic PRNG (splitmix64) ---- */

static uint64_t rng_state = 0x6f75746469616cULL; /* "outdial" */

static uint64_t rng_next(void)
{
    return rt_rng_next(&rng_state);
}

static int64_t rng_range(int64_t lo, int64_t hi) /* [lo, hi) */
{
    return rt_rng_range(&rng_state, lo, hi);
}

/* ---- oracle ---- */

static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

typedef struct oracle_zone {
    UCalendar *cal;
    int64_t seg_start, seg_end; /* offset is valid on [seg_start, seg_end) */
    int64_t offset_us;
    int64_t wall_before_seg; /* local wall just before seg_start (INT64_MIN if none) */
} oracle_zone_t;

static void oz_open(oracle_zone_t *oz, const char *zone)
{
    UChar uzone[64];
    u_charsToUChars(zone, uzone, (int32_t)strlen(zone) + 1);
    UErrorCode st = U_ZERO_ERROR;
    memset(oz, 0, sizeof(*oz));
    oz->cal = ucal_open(uzone, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
    assert_true(U_SUCCESS(st));
    oz->seg_start = 1;
    oz->seg_end = 0; /* empty: forces a lookup */
}

static int64_t oz_offset_at(oracle_zone_t *oz, UDate ms)
{
    UErrorCode st = U_ZERO_ERROR;
    ucal_setMillis(oz->cal, ms, &st);
    int64_t off =
        (int64_t)ucal_get(oz->cal, UCAL_ZONE_OFFSET, &st) + ucal_get(oz->cal, UCAL_DST_OFFSET, &st);
    assert_true(U_SUCCESS(st));
    return off * 1000;
}

static void oz_seek(oracle_zone_t *oz, int64_t u)
{
    if (u >= oz->seg_start && u < oz->seg_end)
        return;
    UErrorCode st = U_ZERO_ERROR;
    UDate ms = (UDate)fdiv(u, 1000);
    oz->offset_us = oz_offset_at(oz, ms);
    UDate prev, next;
    ucal_setMillis(oz->cal, ms, &st);
    if (ucal_getTimeZoneTransitionDate(oz->cal, UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE, &prev,
                                       &st)) {
        oz->seg_start = (int64_t)prev * 1000;
        oz->wall_before_seg = oz->seg_start - 1 + oz_offset_at(oz, prev - 1);
    } else {
        oz->seg_start = INT64_MIN;
        oz->wall_before_seg = INT64_MIN;
    }
    ucal_setMillis(oz->cal, ms, &st);
    if (ucal_getTimeZoneTransitionDate(oz->cal, UCAL_TZ_TRANSITION_NEXT, &next, &st))
        oz->seg_end = (int64_t)next * 1000;
    else
        oz->seg_end = INT64_MAX;
    assert_true(U_SUCCESS(st));
}

/* The monotone local wall clock at u, as microseconds of a local epoch. */
static int64_t oz_wall(oracle_zone_t *oz, int64_t u)
{
    oz_seek(oz, u);
    int64_t w = u + oz->offset_us;
    return w > oz->wall_before_seg ? w : oz->wall_before_seg;
}

static bool day_allowed(unsigned days, int64_t day)
{
    return days & (1u << (((day + 3) % 7 + 7) % 7));
}

static bool spec_open_at_wall(const window_spec_t *s, int64_t w)
{
    int64_t day = fdiv(w, DAY_US);
    int64_t m = w - day * DAY_US;
    int64_t st = s->start_min * MIN_US, en = s->end_min * MIN_US;
    bool today = day_allowed(s->days, day), yesterday = day_allowed(s->days, day - 1);
    if (st < en)
        return today && m >= st && m < en;
    return (today && m >= st) || (yesterday && m < en); /* across midnight, or 24h (en == st) */
}

/* ---- configurations ---- */

typedef struct prop_config {
    const char *name;
    window_spec_t spec[2];
    const char *zones[2][2];
    size_t n_zones[2];
    size_t n_rules;
} prop_config_t;

#define ONE(name, s, e, d, z)                                                                      \
    {                                                                                              \
        name, {{s, e, d}}, {{z}}, {1}, 1                                                           \
    }

static const prop_config_t configs[] = {
    ONE("ny 09-17 weekdays", 540, 1020, WINDOW_DAYS_WEEKDAYS, "America/New_York"),
    ONE("ny 02:30-04:00 (spring gap)", 150, 240, WINDOW_DAYS_ALL, "America/New_York"),
    ONE("ny 01:00-01:30 (fall overlap)", 60, 90, WINDOW_DAYS_ALL, "America/New_York"),
    ONE("london 22-02 fridays", 1320, 120, WINDOW_DAY_FRI, "Europe/London"),
    ONE("lord howe 01:45-02:15", 105, 135, WINDOW_DAYS_ALL, "Australia/Lord_Howe"),
    ONE("chatham 02:50-03:50", 170, 230, WINDOW_DAYS_ALL, "Pacific/Chatham"),
    ONE("kolkata 09-18 mon-sat", 540, 1080, WINDOW_DAYS_ALL & ~WINDOW_DAY_SUN, "Asia/Kolkata"),
    ONE("ny 24h weekends", 0, 0, WINDOW_DAY_SAT | WINDOW_DAY_SUN, "America/New_York"),
    ONE("sydney 21-09", 1260, 540, WINDOW_DAYS_ALL, "Australia/Sydney"),
    ONE("berlin 00:30-03:30 tue,sun", 30, 210, WINDOW_DAY_TUE | WINDOW_DAY_SUN, "Europe/Berlin"),
    {"boise+la 09-17",
     {{540, 1020, WINDOW_DAYS_WEEKDAYS}},
     {{"America/Boise", "America/Los_Angeles"}},
     {2},
     1},
    {"la 09-20 window, ny quiet hours 08-21",
     {{540, 1200, WINDOW_DAYS_ALL}, {480, 1260, WINDOW_DAYS_ALL}},
     {{"America/Los_Angeles"}, {"America/New_York"}},
     {1, 1},
     2},
};

#define N_CONFIGS (sizeof(configs) / sizeof(configs[0]))

typedef struct prop_state {
    window_rule_t rules[2];
    oracle_zone_t oz[2][2];
} prop_state_t;

static bool oracle_open(prop_state_t *ps, const prop_config_t *c, int64_t u)
{
    for (size_t r = 0; r < c->n_rules; r++)
        for (size_t z = 0; z < c->n_zones[r]; z++)
            if (!spec_open_at_wall(&c->spec[r], oz_wall(&ps->oz[r][z], u)))
                return false;
    return true;
}

static void check_is_open(prop_state_t *ps, const prop_config_t *c, int64_t u)
{
    char err[256], when[40];
    bool open;
    assert_int_equal(window_is_open(ps->rules, c->n_rules, u, &open, err, sizeof(err)), OD_OK);
    if (open != oracle_open(ps, c, u))
        fail_msg("%s: is_open(%s) = %d, oracle says %d", c->name, rt_fmt(u, when, sizeof(when)),
                 open, !open);
}

/* Transition instants of a zone in [from, to), for biasing the sample. */
static size_t transitions(const char *zone, int64_t from, int64_t to, int64_t *out, size_t cap)
{
    oracle_zone_t oz;
    oz_open(&oz, zone);
    size_t n = 0;
    UDate t = (UDate)(from / 1000);
    UErrorCode st = U_ZERO_ERROR;
    while (n < cap) {
        UDate next;
        ucal_setMillis(oz.cal, t, &st);
        if (!ucal_getTimeZoneTransitionDate(oz.cal, UCAL_TZ_TRANSITION_NEXT, &next, &st))
            break;
        if ((int64_t)next * 1000 >= to)
            break;
        out[n++] = (int64_t)next * 1000;
        t = next;
    }
    ucal_close(oz.cal);
    return n;
}

static void run_config(const prop_config_t *c, size_t *checked_minutes)
{
    prop_state_t ps;
    memset(&ps, 0, sizeof(ps));
    for (size_t r = 0; r < c->n_rules; r++) {
        ps.rules[r].spec = c->spec[r];
        ps.rules[r].zones = c->zones[r];
        ps.rules[r].n_zones = c->n_zones[r];
        for (size_t z = 0; z < c->n_zones[r]; z++)
            oz_open(&ps.oz[r][z], c->zones[r][z]);
    }
    const int64_t from = T("2024-01-01T00:00Z"), to = T("2026-01-01T00:00Z");
    int64_t trans[16];
    size_t n_trans = transitions(c->zones[0][0], from, to, trans, 16);

    char err[256], w1[40], w2[40];
    for (int i = 0; i < INSTANTS_PER_CONFIG; i++) {
        int64_t at;
        if (n_trans > 0 && (i & 1))
            at = trans[rng_next() % n_trans] +
                 rng_range(-36 * 3600 * 1000000LL, 36 * 3600 * 1000000LL);
        else
            at = rng_range(from, to);
        if (i % 5 == 0)
            at -= at % MIN_US; /* some exactly on a minute */

        window_slot_t slot;
        int rc = window_slot_find(ps.rules, c->n_rules, at, &slot, err, sizeof(err));
        if (rc != OD_OK)
            fail_msg("%s: slot at %s: %s", c->name, rt_fmt(at, w1, sizeof(w1)), err);
        if (slot.open_us < at || slot.close_us <= slot.open_us)
            fail_msg("%s: bad slot %s..%s for %s", c->name, rt_fmt(slot.open_us, w1, sizeof(w1)),
                     rt_fmt(slot.close_us, w2, sizeof(w2)), rt_fmt(at, err, sizeof(err)));

        /* No open instant before slot.open_us: open-ness only changes on
         * whole minutes, so check at itself and every minute after it. */
        int64_t u = at;
        while (u < slot.open_us) {
            if (oracle_open(&ps, c, u))
                fail_msg("%s: from %s next_open says %s but %s is open", c->name,
                         rt_fmt(at, err, sizeof(err)), rt_fmt(slot.open_us, w1, sizeof(w1)),
                         rt_fmt(u, w2, sizeof(w2)));
            u = (fdiv(u, MIN_US) + 1) * MIN_US;
            (*checked_minutes)++;
        }
        if (!oracle_open(&ps, c, slot.open_us))
            fail_msg("%s: next_open %s from %s is not open", c->name,
                     rt_fmt(slot.open_us, w1, sizeof(w1)), rt_fmt(at, w2, sizeof(w2)));

        /* Open from slot.open_us up to exactly slot.close_us. */
        int64_t limit = slot.open_us + SCAN_LIMIT_DAYS * DAY_US;
        u = (fdiv(slot.open_us, MIN_US) + 1) * MIN_US;
        while (u < limit && oracle_open(&ps, c, u)) {
            u += MIN_US;
            (*checked_minutes)++;
        }
        int64_t want_close = u < limit ? u : WINDOW_NEVER;
        if (want_close < limit && slot.close_us != want_close)
            fail_msg("%s: slot from %s closes %s, oracle says %s", c->name,
                     rt_fmt(slot.open_us, err, sizeof(err)), rt_fmt(slot.close_us, w1, sizeof(w1)),
                     rt_fmt(want_close, w2, sizeof(w2)));
        if (want_close == WINDOW_NEVER && slot.close_us < limit)
            fail_msg("%s: slot from %s closes %s, oracle says later", c->name,
                     rt_fmt(slot.open_us, err, sizeof(err)), rt_fmt(slot.close_us, w1, sizeof(w1)));

        /* is_open agrees with the oracle around the edges and at random. */
        check_is_open(&ps, c, at);
        check_is_open(&ps, c, slot.open_us);
        if (slot.open_us > at)
            check_is_open(&ps, c, slot.open_us - 1);
        if (slot.close_us != WINDOW_NEVER) {
            check_is_open(&ps, c, slot.close_us - 1);
            check_is_open(&ps, c, slot.close_us);
        }
        check_is_open(&ps, c, rng_range(at, at + 3 * DAY_US));
    }
    for (size_t r = 0; r < c->n_rules; r++)
        for (size_t z = 0; z < c->n_zones[r]; z++)
            ucal_close(ps.oz[r][z].cal);
}

static void test_property(void **state)
{
    (void)state;
    size_t minutes = 0;
    for (size_t i = 0; i < N_CONFIGS; i++)
        run_config(&configs[i], &minutes);
    print_message("%zu configurations x %d instants, %zu minutes scanned\n", N_CONFIGS,
                  INSTANTS_PER_CONFIG, minutes);
}

OD_TEST_MAIN(NULL, NULL, test_property)

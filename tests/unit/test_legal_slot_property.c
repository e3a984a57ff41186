/* The scheduler and the dialer agree (lib/rules/legal_slot.h), property
 * test: for random legal rule sets (hours per weekday, closed days,
 * holidays), random callee zones (one or two, odd offsets and DST
 * included), random campaign windows and random instants over 2026-2032,
 * the instant legal_slot_find() plans a call for (what the scheduler
 * writes to next_attempt_at) is one the dialer's legal_gate_check() accepts
 * and the window allows, and no earlier instant is.
 *
 * "No earlier instant": every rule here changes on a 15-minute boundary of
 * local wall time, and every zone used is a whole number of quarter hours
 * from UTC (DST moves by an hour), so an allowed instant makes its whole
 * quarter hour allowed from the instant asked about: checking that instant
 * and each UTC quarter hour up to the planned one covers every instant.
 * Seeded, deterministic; the seed of a failing case is printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "legal_slot.h"
#include "test_rules_support.h"
#include "test_main.h"

#define QUARTER_US (15LL * 60 * 1000000)
#define DAY_US     (86400LL * 1000000)
#define CASES      160
/* The scan of earlier quarter hours stops after this many days: a plan
 * further out than that is checked at its own instant and in its last
 * days only (the scan's cost grows with the gap). */
#define SCAN_DAYS 9

static uint64_t rng_state = 0x6c6567616c736c74ULL; /* "legalslt" */

static int rng_range(int lo, int hi) /* [lo, hi) */
{
    return (int)rt_rng_range(&rng_state, lo, hi);
}

static const char *const zones[] = {
    "America/New_York",    "America/Chicago",    "America/Denver",   "America/Phoenix",
    "America/Los_Angeles", "America/St_Johns",   "Pacific/Honolulu", "Asia/Kathmandu",
    "Europe/London",       "Australia/Adelaide",
};
#define N_ZONES (sizeof(zones) / sizeof(zones[0]))

/* A random entry: each weekday open all day, closed, or random quarter
 * hours; a few random holidays. */
static void random_entry(legal_entry_t *e, int i)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->code, sizeof(e->code), "%c%c", 'A' + i, 'Z');
    for (int d = 0; d < 7; d++) {
        /* Mostly hours of a few to many quarter hours, like real rules; a
         * closed day or a whole day now and then. */
        int kind = rng_range(0, 14);
        if (kind == 0) {
            e->hours[d] = (legal_hours_t){false, 0, 0};
        } else if (kind <= 3) {
            e->hours[d] = (legal_hours_t){true, 0, WINDOW_MINUTES_PER_DAY};
        } else {
            int start = rng_range(0, 64) * 15; /* before 16:00 */
            int end = start + rng_range(8, (WINDOW_MINUTES_PER_DAY - start) / 15 + 1) * 15;
            e->hours[d] = (legal_hours_t){true, start, end};
        }
    }
    for (int h = rng_range(0, 4); h > 0; h--)
        e->holidays[rng_range(0, HOLIDAY_COUNT)] = true;
}

static int64_t random_instant(void)
{
    /* 2026-01-01 .. 2032-12-31, on any second. */
    int64_t from = T("2026-01-01T00:00Z"), to = T("2032-12-31T00:00Z");
    return from + rt_rng_range(&rng_state, 0, (to - from) / 1000000) * 1000000;
}

static bool both_allow(const window_rule_t *rule, const legal_rules_t *rules, const char *const *z,
                       size_t n_z, int64_t t)
{
    char errbuf[256];
    bool open = false;
    legal_gate_t gate;
    if (window_is_open(rule, 1, t, &open, errbuf, sizeof(errbuf)) != OD_OK)
        fail_msg("window_is_open: %s", errbuf);
    if (!open)
        return false;
    if (legal_gate_check(rules, z, n_z, t, &gate, errbuf, sizeof(errbuf)) != OD_OK)
        fail_msg("legal_gate_check: %s", errbuf);
    return gate.allowed;
}

static void test_plan_is_first_allowed(void **state)
{
    (void)state;
    int planned = 0, never = 0;
    for (int c = 0; c < CASES; c++) {
        uint64_t seed = rng_state;
        legal_entry_t entries[3];
        legal_rules_t rules = {0};
        int n = rng_range(1, 4);
        for (int i = 0; i < n; i++) {
            random_entry(&entries[i], i);
            rules.entries[rules.n_entries++] = &entries[i];
        }
        const char *z[2] = {zones[rng_range(0, N_ZONES)], zones[rng_range(0, N_ZONES)]};
        size_t n_z = (size_t)rng_range(1, 3);
        unsigned days = (unsigned)rng_range(1, 128);
        window_spec_t spec = {rng_range(0, 96) * 15, rng_range(0, 96) * 15, days};
        const char *wz[1] = {zones[rng_range(0, N_ZONES)]};
        window_rule_t rule = {spec, wz, 1};
        int64_t at = random_instant();

        char errbuf[256];
        window_slot_t slot;
        int rc = legal_slot_find(&rule, 1, &rules, z, n_z, at, &slot, errbuf, sizeof(errbuf));
        if (rc == OD_ERR_NOT_FOUND) {
            never++;
            /* Never together: nothing in the scanned days may be either. */
            for (int64_t t = at; t < at + 2 * DAY_US; t = (t / QUARTER_US + 1) * QUARTER_US)
                if (both_allow(&rule, &rules, z, n_z, t))
                    fail_msg("seed %llu: NOT_FOUND, but %lld is allowed", (unsigned long long)seed,
                             (long long)t);
            continue;
        }
        if (rc != OD_OK)
            fail_msg("seed %llu: %s", (unsigned long long)seed, errbuf);
        planned++;
        if (slot.open_us < at || slot.close_us <= slot.open_us)
            fail_msg("seed %llu: slot [%lld, %lld) for %lld", (unsigned long long)seed,
                     (long long)slot.open_us, (long long)slot.close_us, (long long)at);
        /* The dialer accepts the planned instant... */
        if (!both_allow(&rule, &rules, z, n_z, slot.open_us))
            fail_msg("seed %llu: planned %lld is refused", (unsigned long long)seed,
                     (long long)slot.open_us);
        /* ...and the instant before the slot closes, but not the close. */
        if (slot.close_us != WINDOW_NEVER &&
            (!both_allow(&rule, &rules, z, n_z, slot.close_us - 1) ||
             both_allow(&rule, &rules, z, n_z, slot.close_us)))
            fail_msg("seed %llu: close %lld is not where the rules close", (unsigned long long)seed,
                     (long long)slot.close_us);
        /* ...and nothing earlier. */
        int64_t scan_from = at;
        if (slot.open_us - at > SCAN_DAYS * DAY_US)
            scan_from = slot.open_us - SCAN_DAYS * DAY_US;
        if (scan_from == at && at < slot.open_us && both_allow(&rule, &rules, z, n_z, at))
            fail_msg("seed %llu: %lld itself is allowed", (unsigned long long)seed, (long long)at);
        for (int64_t t = (scan_from / QUARTER_US + 1) * QUARTER_US; t < slot.open_us;
             t += QUARTER_US)
            if (both_allow(&rule, &rules, z, n_z, t))
                fail_msg("seed %llu: %lld is allowed before the planned %lld",
                         (unsigned long long)seed, (long long)t, (long long)slot.open_us);
    }
    /* The generator must exercise both outcomes, mostly plans. */
    assert_true(planned > CASES / 2);
    print_message("%d planned, %d never together\n", planned, never);
}

OD_TEST_MAIN(NULL, NULL, test_plan_is_first_allowed)

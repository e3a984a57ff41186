/* Whose time: timezone mode assistant or lead, the lead's own timezone,
 * prefix inference from the generated libphonenumber table (longest prefix,
 * several zones, too-broad matches), and the resulting calling windows with
 * quiet hours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "case_table.h"
#include "lead_tz.h"
#include "test_main.h"
#include "test_rules_support.h"

#define ASSISTANT MODEL_TZ_MODE_ASSISTANT
#define LEAD      MODEL_TZ_MODE_LEAD
#define S_ASSIST  LEAD_TZ_SOURCE_ASSISTANT
#define S_LEAD    LEAD_TZ_SOURCE_LEAD
#define S_PREFIX  LEAD_TZ_SOURCE_PREFIX

typedef struct resolve_case {
    const char *name;
    model_tz_mode_t mode;
    const char *assistant_tz, *lead_tz, *e164;
    int rc;
    lead_tz_source_t source;
    const char *zones; /* expected, comma-separated, in table order */
    const char *prefix;
} resolve_case_t;

/* clang-format off */
static const resolve_case_t cases[] = {
    {"assistant mode ignores the lead", ASSISTANT, "America/Chicago", "Europe/Berlin",
     "+14155550100", OD_OK, S_ASSIST, "America/Chicago", ""},
    {"assistant mode needs no number", ASSISTANT, "America/Chicago", NULL, NULL, OD_OK, S_ASSIST,
     "America/Chicago", ""},
    {"lead +1 415 is Los Angeles", LEAD, "America/Chicago", NULL, "+14155550100", OD_OK, S_PREFIX,
     "America/Los_Angeles", "1415"},
    {"lead +1 212 is New York", LEAD, "America/Chicago", NULL, "+12125550100", OD_OK, S_PREFIX,
     "America/New_York", "1212"},
    {"lead +44 20 is London", LEAD, "America/Chicago", NULL, "+442079460958", OD_OK, S_PREFIX,
     "Europe/London", "442"},
    {"lead +1 208 30x is Boise and Los Angeles", LEAD, "America/Chicago", NULL, "+12083012345",
     OD_OK, S_PREFIX, "America/Boise,America/Los_Angeles", "120830"},
    {"lead +1 208 34x is Denver only (longest prefix)", LEAD, "America/Chicago", NULL,
     "+12083456789", OD_OK, S_PREFIX, "America/Denver", "12083"},
    {"lead +91 is Kolkata", LEAD, "America/Chicago", NULL, "+919876543210", OD_OK, S_PREFIX,
     "Asia/Calcutta", "91"},
    {"lead +64 3 is Auckland", LEAD, "America/Chicago", NULL, "+6435012345", OD_OK, S_PREFIX,
     "Pacific/Auckland", "643"},
    {"explicit timezone overrides the prefix", LEAD, "America/Chicago", "Europe/Berlin",
     "+14155550100", OD_OK, S_LEAD, "Europe/Berlin", ""},
    {"empty explicit timezone falls to the prefix", LEAD, "America/Chicago", "", "+14155550100",
     OD_OK, S_PREFIX, "America/Los_Angeles", "1415"},
    {"+1 800: 42 zones, too broad, assistant's", LEAD, "America/Chicago", NULL, "+18005550100",
     OD_OK, S_ASSIST, "America/Chicago", ""},
    {"+7 00: 16 zones 10 h apart, too broad, assistant's", LEAD, "Europe/Moscow", NULL,
     "+7001234567", OD_OK, S_ASSIST, "Europe/Moscow", ""},
    {"+61 00: 8 zones within 4 h, used", LEAD, "America/Chicago", NULL, "+61001234567", OD_OK,
     S_PREFIX,
     "Australia/Adelaide,Australia/Brisbane,Australia/Eucla,Australia/Lord_Howe,Australia/Perth,"
     "Australia/Sydney,Indian/Christmas,Indian/Cocos", "61"},
    {"unknown country code: assistant's", LEAD, "America/Chicago", NULL, "+999123456", OD_OK,
     S_ASSIST, "America/Chicago", ""},
    {"bad explicit timezone is an error", LEAD, "America/Chicago", "Mars/Base", "+14155550100",
     OD_ERR_INVALID, 0, NULL, NULL},
    {"bad assistant timezone is an error", ASSISTANT, "EST+5", NULL, NULL, OD_ERR_INVALID, 0, NULL,
     NULL},
    {"missing assistant timezone is an error", LEAD, NULL, NULL, "+14155550100", OD_ERR_INVALID,
     0, NULL, NULL},
    {"number without +", LEAD, "America/Chicago", NULL, "14155550100", OD_ERR_INVALID, 0, NULL,
     NULL},
    {"number too long", LEAD, "America/Chicago", NULL, "+1415555010012345", OD_ERR_INVALID, 0,
     NULL, NULL},
    {"number with a dash", LEAD, "America/Chicago", NULL, "+1-415-555-0100", OD_ERR_INVALID, 0,
     NULL, NULL},
    {"number too short", LEAD, "America/Chicago", NULL, "+1", OD_ERR_INVALID, 0, NULL, NULL},
    {"no number in lead mode", LEAD, "America/Chicago", NULL, NULL, OD_ERR_INVALID, 0, NULL,
     NULL},
};
/* clang-format on */

/* One resolve case, at a fixed instant: its rc, and on success the source,
 * the zones and the prefix. */
static bool resolve_case_holds(const void *row)
{
    const resolve_case_t *c = row;
    const int64_t at = T("2024-06-03T12:00Z");
    lead_tz_t tz;
    char err[256] = "";
    int rc =
        lead_tz_resolve(c->mode, c->assistant_tz, c->lead_tz, c->e164, at, &tz, err, sizeof(err));
    if (rc != c->rc) {
        print_error("%s: rc %d (%s), want %d\n", c->name, rc, err, c->rc);
        return false;
    }
    if (rc != OD_OK) {
        if (strlen(err) == 0) {
            print_error("%s: no message\n", c->name);
            return false;
        }
        return true;
    }
    char joined[512] = "";
    for (size_t z = 0; z < tz.n_zones; z++) {
        strcat(joined, z ? "," : "");
        strcat(joined, tz.zones[z]);
    }
    if (tz.source != c->source || strcmp(joined, c->zones) != 0 ||
        strcmp(tz.prefix, c->prefix) != 0) {
        print_error("%s: source %d zones %s prefix %s\n", c->name, tz.source, joined, tz.prefix);
        return false;
    }
    return true;
}

CASE_TABLE_TEST(test_resolve, "resolve", cases, resolve_case_holds)

/* The generated table: sorted, digits only, every zone known to ICU. */
static void test_table_sane(void **state)
{
    (void)state;
    assert_true(lead_tz_prefix_count > 3000);
    assert_true(lead_tz_zone_count > 200);
    assert_true(lead_tz_longest_prefix >= 1 && lead_tz_longest_prefix <= LEAD_TZ_PREFIX_MAX);
    assert_true(strlen(lead_tz_data_version) > 0);
    for (size_t i = 0; i < lead_tz_prefix_count; i++) {
        const lead_tz_prefix_t *p = &lead_tz_prefixes[i];
        assert_true(strlen(p->prefix) >= 1 && strlen(p->prefix) <= (size_t)lead_tz_longest_prefix);
        assert_true(strspn(p->prefix, "0123456789") == strlen(p->prefix));
        if (i > 0)
            assert_true(strcmp(lead_tz_prefixes[i - 1].prefix, p->prefix) < 0);
        assert_true(p->n_zones >= 1);
        for (size_t z = 0; z < p->n_zones; z++)
            assert_true(lead_tz_zone_refs[p->first_zone + z] < lead_tz_zone_count);
    }
    char err[256];
    for (size_t z = 0; z < lead_tz_zone_count; z++)
        if (window_zone_check(lead_tz_zone_names[z], err, sizeof(err)) != OD_OK)
            fail_msg("table zone unknown to ICU: %s", err);
}

typedef struct lead_window_case {
    const char *name;
    model_tz_mode_t mode;
    const char *assistant_tz, *lead_tz, *e164;
    const char *start, *end;     /* campaign window, every day */
    const char *q_start, *q_end; /* quiet hours, NULL: none */
    const char *at;
    bool open;
    const char *open_at, *close;
} lead_window_case_t;

/* clang-format off */
static const lead_window_case_t window_cases[] = {
    {"lead +1 415: 06:30 in LA is early", LEAD, "America/New_York", NULL, "+14155550100",
     "09:00", "17:00", NULL, NULL, "2024-06-03T09:30-04:00", false, "2024-06-03T09:00-07:00",
     "2024-06-03T17:00-07:00"},
    {"lead +1 212: open in New York", LEAD, "America/Los_Angeles", NULL, "+12125550100", "09:00",
     "17:00", NULL, NULL, "2024-06-03T09:30-04:00", true, "2024-06-03T09:30-04:00",
     "2024-06-03T17:00-04:00"},
    {"lead +44 20: open in London", LEAD, "America/New_York", NULL, "+442079460958", "09:00",
     "17:00", NULL, NULL, "2024-06-03T08:30Z", true, "2024-06-03T08:30Z",
     "2024-06-03T17:00+01:00"},
    {"lead +1 208: Boise open, LA not yet: closed", LEAD, "America/New_York", NULL,
     "+12083012345", "09:00", "17:00", NULL, NULL, "2024-06-03T09:30-06:00", false,
     "2024-06-03T09:00-07:00", "2024-06-03T17:00-06:00"},
    {"lead +1 208: both open until Boise closes", LEAD, "America/New_York", NULL, "+12083012345",
     "09:00", "17:00", NULL, NULL, "2024-06-03T10:00-06:00", true, "2024-06-03T10:00-06:00",
     "2024-06-03T17:00-06:00"},
    {"lead own timezone Tokyo overrides +1 415", LEAD, "America/New_York", "Asia/Tokyo",
     "+14155550100", "09:00", "17:00", NULL, NULL, "2024-06-03T00:30Z", true,
     "2024-06-03T00:30Z", "2024-06-03T17:00+09:00"},
    {"assistant mode: the assistant's clock", ASSISTANT, "America/New_York", NULL, "+14155550100",
     "09:00", "17:00", NULL, NULL, "2024-06-03T09:30-04:00", true, "2024-06-03T09:30-04:00",
     "2024-06-03T17:00-04:00"},
    {"assistant mode + quiet hours in the callee's LA", ASSISTANT, "America/New_York", NULL,
     "+14155550100", "09:00", "21:00", "08:00", "21:00", "2024-06-03T09:30-04:00", false,
     "2024-06-03T08:00-07:00", "2024-06-03T21:00-04:00"},
    {"assistant mode + quiet hours, callee's own timezone", ASSISTANT, "America/New_York",
     "Europe/London", "+14155550100", "09:00", "21:00", "08:00", "21:00",
     "2024-06-03T16:30-04:00", false, "2024-06-04T09:00-04:00", "2024-06-04T16:00-04:00"},
    {"lead mode + quiet hours cut a 07:00-23:00 window", LEAD, "America/New_York", NULL,
     "+12125550100", "07:00", "23:00", "08:00", "21:00", "2024-06-03T07:15-04:00", false,
     "2024-06-03T08:00-04:00", "2024-06-03T21:00-04:00"},
};
/* clang-format on */

/* One lead window case: the slot found from its instant under the lead's
 * window rules. */
static bool window_case_holds(const void *row)
{
    const lead_window_case_t *c = row;
    char err[256] = "", g1[40], g2[40], w1[40], w2[40];
    window_spec_t campaign = {0, 0, WINDOW_DAYS_ALL}, quiet = {0, 0, 0};
    assert_int_equal(window_time_parse(c->start, &campaign.start_min, err, sizeof(err)), 0);
    assert_int_equal(window_time_parse(c->end, &campaign.end_min, err, sizeof(err)), 0);
    if (c->q_start) {
        assert_int_equal(window_time_parse(c->q_start, &quiet.start_min, err, sizeof(err)), 0);
        assert_int_equal(window_time_parse(c->q_end, &quiet.end_min, err, sizeof(err)), 0);
    }
    int64_t at = T(c->at);
    lead_window_t lw;
    int rc = lead_tz_window(&campaign, c->q_start ? &quiet : NULL, c->mode, c->assistant_tz,
                            c->lead_tz, c->e164, at, &lw, err, sizeof(err));
    if (rc != OD_OK) {
        print_error("%s: lead_tz_window: %s\n", c->name, err);
        return false;
    }
    window_slot_t slot;
    rc = window_slot_find(lw.rules, lw.n_rules, at, &slot, err, sizeof(err));
    int64_t want_open = T(c->open_at), want_close = T(c->close);
    if (rc != OD_OK || slot.open_us != want_open || slot.close_us != want_close ||
        (slot.open_us == at) != c->open) {
        print_error("%s: rc %d slot %s..%s, want %s..%s\n", c->name, rc,
                    rt_fmt(slot.open_us, g1, sizeof(g1)), rt_fmt(slot.close_us, g2, sizeof(g2)),
                    rt_fmt(want_open, w1, sizeof(w1)), rt_fmt(want_close, w2, sizeof(w2)));
        return false;
    }
    return true;
}

CASE_TABLE_TEST(test_windows, "lead window", window_cases, window_case_holds)

OD_TEST_MAIN(NULL, NULL, test_resolve, test_table_sane, test_windows)

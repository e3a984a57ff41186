/* Legal rules put to work (lib/rules/legal_slot.h): the compiled-in pack,
 * account settings, the callee's jurisdiction, the dialer's gate in one or
 * several zones, and the scheduler's slot where the campaign window and the
 * legal rules meet. Expected instants are local time with their offset. */
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

#define NY  "America/New_York"
#define CHI "America/Chicago"
#define LA_ "America/Los_Angeles"

static void test_builtin_pack(void **state)
{
    (void)state;
    const legal_pack_t *pack = legal_pack_builtin();
    if (!pack)
        fail_msg("compiled-in pack: %s", legal_pack_builtin_error());
    assert_ptr_equal(pack, legal_pack_builtin()); /* parsed once */
    assert_string_equal(legal_pack_builtin_error(), "");
    assert_non_null(legal_pack_find(pack, "FL"));
    assert_non_null(legal_pack_find(pack, "RI"));
}

static void test_account_init(void **state)
{
    (void)state;
    char errbuf[256];
    legal_account_t acct;
    const legal_pack_t *pack = legal_pack_builtin();
    assert_int_equal(legal_account_init(&acct, pack, "us_states",
                                        "[{\"code\":\"FL\",\"hours\":{\"all\":\"09:00-19:00\"}}]",
                                        errbuf, sizeof(errbuf)),
                     OD_OK);
    assert_int_equal(acct.profile, LEGAL_PROFILE_US_STATES);
    assert_int_equal(acct.n_overrides, 1);
    legal_rules_t rules;
    assert_int_equal(legal_account_rules(&acct, "FL", &rules, errbuf, sizeof(errbuf)), OD_OK);
    assert_int_equal(rules.n_entries, 2);
    assert_true(rules.entries[1]->overridden);
    assert_int_equal(rules.entries[1]->hours[0].start_min, 9 * 60);
    legal_account_clear(&acct);
    legal_account_clear(&acct); /* twice: a no-op */

    assert_int_equal(legal_account_init(&acct, pack, "strict", NULL, errbuf, sizeof(errbuf)),
                     OD_ERR_INVALID);
    assert_non_null(strstr(errbuf, "none, us_federal, us_states"));
    assert_int_equal(
        legal_account_init(&acct, pack, "us_states", "[{\"code\":\"TX\"}]", errbuf, sizeof(errbuf)),
        OD_ERR_NOT_FOUND);
    assert_non_null(strstr(errbuf, "no entry for TX"));
    assert_null(acct.overrides);

    assert_int_equal(legal_account_init(&acct, pack, "none", "", errbuf, sizeof(errbuf)), OD_OK);
    assert_int_equal(legal_account_rules(&acct, "FL", &rules, errbuf, sizeof(errbuf)), OD_OK);
    assert_int_equal(rules.n_entries, 0);
    legal_account_clear(&acct);
}

typedef struct juris_case {
    const char *state, *e164, *want;
    int rc;
} juris_case_t;

static void test_jurisdiction(void **state)
{
    (void)state;
    static const juris_case_t cases[] = {
        {"FL", "+12125550123", "FL", OD_OK}, /* the stated field wins over NY's 212 */
        {NULL, "+13055550123", "FL", OD_OK}, /* Miami's 305 */
        {"", "+14015550123", "RI", OD_OK},   /* Rhode Island's 401 */
        {NULL, "+18005550123", "", OD_OK},   /* toll-free: none, the strictest */
        {NULL, "+442071234567", "", OD_OK},  /* not NANP */
        {NULL, NULL, "", OD_OK},             /* no number */
        {"ZZ", "+13055550123", "", OD_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[LEAD_REGION_CODE_MAX], errbuf[128];
        int rc = legal_jurisdiction(cases[i].state, cases[i].e164, out, errbuf, sizeof(errbuf));
        if (rc != cases[i].rc || strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: rc %d '%s', want %d '%s'", i, rc, out, cases[i].rc, cases[i].want);
    }
}

/* The cap a call's job carries: the account's, or the callee's legal cap
 * when smaller; the callee's jurisdiction is its state, else its number's,
 * whatever the campaign (the audit's over_frequency_cap judges by it). */
typedef struct cap_case {
    const char *profile, *overrides;
    int account_cap;
    const char *state, *e164;
    int want, rc;
} cap_case_t;

static void test_number_cap(void **state)
{
    (void)state;
    static const char fl1[] = "[{\"code\":\"FL\",\"calls_per_24h\":1}]";
    static const cap_case_t cases[] = {
        {"us_states", NULL, 0, NULL, "+13055550123", 3, OD_OK},  /* Miami's number: FL */
        {"us_states", NULL, 0, "FL", "+12125550123", 3, OD_OK},  /* the lead's state */
        {"us_states", NULL, 0, "NY", "+13055550123", 0, OD_OK},  /* NY caps nothing */
        {"us_states", NULL, 0, "", "+12125550123", 0, OD_OK},    /* NY's 212 */
        {"us_states", NULL, 2, NULL, "+13055550123", 2, OD_OK},  /* the account's, smaller */
        {"us_states", NULL, 5, NULL, "+13055550123", 3, OD_OK},  /* the state's, smaller */
        {"us_states", NULL, 5, NULL, "+12125550123", 5, OD_OK},  /* no state cap */
        {"us_states", NULL, 0, NULL, "+18005550123", 3, OD_OK},  /* unknown: the strictest */
        {"us_states", fl1, 0, NULL, "+13055550123", 1, OD_OK},   /* an override */
        {"us_federal", NULL, 0, NULL, "+13055550123", 0, OD_OK}, /* no state rules */
        {"none", NULL, 4, "FL", "+13055550123", 4, OD_OK},       /* no legal rules */
        {"us_states", NULL, 4, "ZZ", "+13055550123", 4, OD_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cap_case_t *c = &cases[i];
        char errbuf[256];
        legal_account_t acct;
        assert_int_equal(legal_account_init(&acct, legal_pack_builtin(), c->profile, c->overrides,
                                            errbuf, sizeof(errbuf)),
                         OD_OK);
        int cap = -1;
        int rc = legal_number_cap(&acct, c->account_cap, c->state, c->e164, &cap, errbuf,
                                  sizeof(errbuf));
        if (rc != c->rc || cap != c->want)
            fail_msg("case %zu: rc %d cap %d, want %d cap %d", i, rc, cap, c->rc, c->want);
        legal_account_clear(&acct);
    }
}

/* The rules of one jurisdiction under a profile, with the account they
 * point into; legal_account_clear(&l->acct) frees both. */
typedef struct legal_of {
    legal_account_t acct;
    legal_rules_t rules;
} legal_of_t;

/* The rules of the built-in pack for jurisdiction under profile, into l
 * (the caller clears l->acct). */
static void rules_of(legal_of_t *l, const char *profile, const char *jurisdiction)
{
    char errbuf[256];
    if (legal_account_init(&l->acct, legal_pack_builtin(), profile, NULL, errbuf, sizeof(errbuf)) !=
        OD_OK)
        fail_msg("profile %s: %s", profile, errbuf);
    if (legal_account_rules(&l->acct, jurisdiction, &l->rules, errbuf, sizeof(errbuf)) != OD_OK)
        fail_msg("%s under %s: %s", jurisdiction, profile, errbuf);
}

typedef struct gate_case {
    const char *name;
    const char *profile;
    const char *jurisdiction;
    const char *zones[2];
    const char *at;
    bool allowed;
    const char *until; /* allowed: open_until ("" for never); else next allowed */
    bool holiday;
} gate_case_t;

/* clang-format off */
static const gate_case_t gates[] = {
    {"FL 19:00 open until 20:00", "us_states", "FL", {NY, NULL}, "2026-12-07T19:00-05:00", true,
     "2026-12-07T20:00-05:00", false},
    {"FL 20:00 closed until 08:00", "us_states", "FL", {NY, NULL}, "2026-12-07T20:00-05:00", false,
     "2026-12-08T08:00-05:00", false},
    {"federal 20:30 open until 21:00", "us_federal", "FL", {NY, NULL}, "2026-12-07T20:30-05:00",
     true, "2026-12-07T21:00-05:00", false},
    {"none: always open", "none", "FL", {NY, NULL}, "2026-12-07T03:00-05:00", true, "", false},
    {"RI Sunday: Monday 09:00", "us_states", "RI", {NY, NULL}, "2026-12-06T12:00-05:00", false,
     "2026-12-07T09:00-05:00", false},
    {"RI Thanksgiving is a holiday", "us_states", "RI", {NY, NULL}, "2026-11-26T12:00-05:00", false,
     "2026-11-27T09:00-05:00", true},
    {"two zones: 08:30 Eastern is 07:30 Central", "us_federal", "", {NY, CHI},
     "2026-12-07T08:30-05:00", false, "2026-12-07T09:00-05:00", false},
    {"two zones: open until 21:00 Eastern", "us_federal", "", {NY, CHI}, "2026-12-07T12:00-05:00",
     true, "2026-12-07T21:00-05:00", false},
};
/* clang-format on */

static void test_gate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(gates) / sizeof(gates[0]); i++) {
        const gate_case_t *g = &gates[i];
        char errbuf[256];
        legal_of_t legal;
        rules_of(&legal, g->profile, g->jurisdiction);
        legal_gate_t gate;
        size_t n_zones = g->zones[1] ? 2 : 1;
        int rc = legal_gate_check(&legal.rules, g->zones, n_zones, T(g->at), &gate, errbuf,
                                  sizeof(errbuf));
        if (rc != OD_OK)
            fail_msg("%s: %s", g->name, errbuf);
        int64_t want = *g->until ? T(g->until) : WINDOW_NEVER;
        int64_t got = gate.allowed ? gate.open_until_us : gate.next_allowed_us;
        if (gate.allowed != g->allowed || got != want || legal_gate_on_holiday(&gate) != g->holiday)
            fail_msg("%s: allowed %d until %lld, want %d %lld", g->name, gate.allowed,
                     (long long)got, g->allowed, (long long)want);
        if (!gate.allowed) {
            char why[512];
            legal_gate_describe(&gate, why, sizeof(why));
            assert_non_null(strstr(why, "allowed again at"));
        }
        legal_account_clear(&legal.acct);
    }
}

typedef struct slot_case {
    const char *name;
    const char *profile;
    const char *jurisdiction;
    window_spec_t window; /* in NY */
    const char *at;
    const char *open, *close;
} slot_case_t;

/* clang-format off */
static const slot_case_t slots[] = {
    {"window 09-22, FL: closes at 20:00", "us_states", "FL", {540, 1320, WINDOW_DAYS_ALL},
     "2026-12-07T19:00-05:00", "2026-12-07T19:00-05:00", "2026-12-07T20:00-05:00"},
    {"window 09-22, FL at 20:30: next day 09:00", "us_states", "FL", {540, 1320, WINDOW_DAYS_ALL},
     "2026-12-07T20:30-05:00", "2026-12-08T09:00-05:00", "2026-12-08T20:00-05:00"},
    {"RI Saturday 18:00, window every day 08-20: Monday 09:00", "us_states", "RI",
     {480, 1200, WINDOW_DAYS_ALL}, "2026-12-05T18:00-05:00", "2026-12-07T09:00-05:00",
     "2026-12-07T18:00-05:00"},
    {"window Sundays only, RI: never together", "us_states", "RI", {480, 1200, WINDOW_DAY_SUN},
     "2026-12-05T18:00-05:00", NULL, NULL},
    {"profile none: the window alone", "none", "RI", {480, 1200, WINDOW_DAY_SUN},
     "2026-12-05T18:00-05:00", "2026-12-06T08:00-05:00", "2026-12-06T20:00-05:00"},
    {"window 06-23 federal: 08:00 to 21:00", "us_federal", "", {360, 1380, WINDOW_DAYS_ALL},
     "2026-12-07T06:30-05:00", "2026-12-07T08:00-05:00", "2026-12-07T21:00-05:00"},
};
/* clang-format on */

static void test_slot(void **state)
{
    (void)state;
    static const char *const ny[] = {NY};
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        const slot_case_t *s = &slots[i];
        char errbuf[256];
        legal_of_t legal;
        rules_of(&legal, s->profile, s->jurisdiction);
        window_rule_t rule = {s->window, ny, 1};
        window_slot_t slot;
        int rc =
            legal_slot_find(&rule, 1, &legal.rules, ny, 1, T(s->at), &slot, errbuf, sizeof(errbuf));
        if (!s->open) {
            if (rc != OD_ERR_NOT_FOUND)
                fail_msg("%s: rc %d, want never (NOT_FOUND)", s->name, rc);
        } else if (rc != OD_OK || slot.open_us != T(s->open) || slot.close_us != T(s->close)) {
            fail_msg("%s: rc %d (%s) open %lld close %lld", s->name, rc, rc ? errbuf : "",
                     (long long)slot.open_us, (long long)slot.close_us);
        }
        legal_account_clear(&legal.acct);
    }
}

OD_TEST_MAIN(NULL, NULL, test_builtin_pack, test_account_init, test_jurisdiction, test_number_cap,
             test_gate, test_slot)

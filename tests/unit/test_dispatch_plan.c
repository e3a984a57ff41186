/* Dispatch pacing without a database: every row of dispatch_plan.h's
 * tables — the concurrency cap, the calls-per-minute bucket (burst, refill,
 * skewed clocks, the wait for the next token), the shared window (open,
 * closed until later in the day or after a weekend, across midnight, all
 * day) and the window per lead (tz mode lead, quiet hours, a window that
 * never opens), a lead under a frequency cap — then batches taking slots
 * and tokens, and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "dispatch_plan.h"
#include "test_main.h"
#include "test_rules_support.h"

/* 2024-06-05 is a Wednesday; New York is at -04:00 in June. */
#define WED_10 "2024-06-05T10:00-04:00"
#define WED_18 "2024-06-05T18:00-04:00"
#define NO_END "never" /* a window that never closes */

#define CLAIM  DISPATCH_CLAIM
#define NOSLOT DISPATCH_NO_SLOTS
#define CLOSED DISPATCH_WINDOW_CLOSED

/* A campaign as the dispatcher loads it: 09:00-18:00 weekdays in New York,
 * tz mode assistant, no quiet hours, no calls-per-minute limit. */
static sched_campaign_t campaign(void)
{
    sched_campaign_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "00000000-0000-4000-8000-000000000001");
    c.status = MODEL_CAMPAIGN_IN_PROGRESS;
    c.window = (window_spec_t){9 * 60, 18 * 60, WINDOW_DAYS_WEEKDAYS};
    c.tz_mode = MODEL_TZ_MODE_ASSISTANT;
    snprintf(c.assistant_tz, sizeof(c.assistant_tz), "America/New_York");
    c.max_concurrent_calls = 10;
    c.cpm_refilled_us = INT64_MIN;
    return c;
}

/* An expected instant: NULL is 0 (none), NO_END a window that never closes. */
static int64_t instant(const char *s)
{
    if (!s)
        return 0;
    return strcmp(s, NO_END) == 0 ? WINDOW_NEVER : T(s);
}

/* Fails the case, the instants written out, when got is not want. */
static void assert_instant(const char *name, const char *what, int64_t got, int64_t want)
{
    char g[64], w[64];
    if (got != want)
        fail_msg("%s: %s %s, want %s", name, what, rt_fmt(got, g, sizeof(g)),
                 rt_fmt(want, w, sizeof(w)));
}

/* A verdict by the name tests/unit/cases/dispatch_plan.tsv gives it. */
static dispatch_verdict_t verdict_read(const case_file_t *cf, size_t row, size_t column)
{
    static const struct {
        const char *name;
        dispatch_verdict_t verdict;
    } verdicts[] = {{"claim", CLAIM}, {"no_slots", NOSLOT}, {"window_closed", CLOSED}};
    const char *text = case_file_cell(cf, row, column);
    for (size_t v = 0; text && v < sizeof(verdicts) / sizeof(verdicts[0]); v++)
        if (strcmp(text, verdicts[v].name) == 0)
            return verdicts[v].verdict;
    fail_msg("%s: '%s' is not claim, no_slots or window_closed", case_file_cell(cf, row, 0),
             text ? text : "-");
    return CLAIM;
}

/* The campaign of row i of tests/unit/cases/dispatch_plan.tsv: campaign()
 * with the row's concurrency cap, calls in flight, calls per minute, stored
 * tokens (refilled at, -: never) and window, "HH:MM-HH:MM" every day (-:
 * campaign()'s). */
static sched_campaign_t plan_row_campaign(const case_file_t *cf, size_t i)
{
    const char *name = case_file_cell(cf, i, 0), *refilled = case_file_cell(cf, i, 5),
               *window = case_file_cell(cf, i, 8);
    sched_campaign_t c = campaign();
    c.max_concurrent_calls = case_file_int(cf, i, 1);
    c.in_flight = case_file_int(cf, i, 2);
    c.calls_per_minute = case_file_int(cf, i, 3);
    c.cpm_tokens = case_file_real(cf, i, 4);
    if (refilled)
        c.cpm_refilled_us = T(refilled);
    if (!window)
        return c;
    char start[8] = "", err[256] = "not START-END";
    const char *dash = strchr(window, '-');
    size_t len = dash ? (size_t)(dash - window) : 0;
    if (len < sizeof(start))
        memcpy(start, window, len);
    c.window.days = WINDOW_DAYS_ALL;
    if (!dash || window_time_parse(start, &c.window.start_min, err, sizeof(err)) != OD_OK ||
        window_time_parse(dash + 1, &c.window.end_min, err, sizeof(err)) != OD_OK)
        fail_msg("%s: window '%s': %s", name, window, err);
    return c;
}

/* Every row of tests/unit/cases/dispatch_plan.tsv: the plan of its campaign
 * at now for batches of batch. */
static void test_plan_table(void **state)
{
    (void)state;
    static const char *const columns[] = {
        "name",   "cap",    "in_flight", "cpm",     "stored_tokens", "refilled",
        "now",    "batch",  "window",    "verdict", "slots",         "want",
        "tokens", "shared", "not_after", "wake",    "wake_after_us"};
    case_file_t *cf =
        case_file_load("dispatch_plan", columns, sizeof(columns) / sizeof(columns[0]), 20);
    for (size_t i = 0; i < cf->n_rows; i++) {
        const char *name = case_file_cell(cf, i, 0), *wake = case_file_cell(cf, i, 15);
        sched_campaign_t c = plan_row_campaign(cf, i);
        dispatch_plan_t plan;
        char err[256] = "";
        int rc = dispatch_plan_make(&c, T(case_file_cell(cf, i, 6)), case_file_int(cf, i, 7), &plan,
                                    err, sizeof(err));
        print_message("case: %s\n", name);
        assert_int_equal(rc, OD_OK);
        assert_int_equal(plan.verdict, verdict_read(cf, i, 9));
        assert_int_equal(plan.slots, case_file_int(cf, i, 10));
        assert_int_equal(dispatch_plan_want(&plan), case_file_int(cf, i, 11));
        assert_float_equal(plan.tokens, case_file_real(cf, i, 12), 1e-9);
        assert_int_equal(plan.store_tokens, c.calls_per_minute > 0);
        assert_int_equal(plan.shared_window, case_file_yes(cf, i, 13));
        assert_instant(name, "not_after", plan.not_after_us, instant(case_file_cell(cf, i, 14)));
        assert_instant(name, "wake", plan.wake_us,
                       wake ? T(wake) + case_file_int(cf, i, 16) : INT64_MAX);
    }
    case_file_free(cf);
}

/* A window per lead is not judged for the campaign: every lead is. */
static void test_plan_window_per_lead(void **state)
{
    (void)state;
    for (int quiet = 0; quiet <= 1; quiet++) {
        sched_campaign_t c = campaign();
        if (quiet) {
            c.has_quiet_hours = true;
            c.quiet_hours = (window_spec_t){8 * 60, 21 * 60, WINDOW_DAYS_ALL};
        } else {
            c.tz_mode = MODEL_TZ_MODE_LEAD;
        }
        dispatch_plan_t plan;
        char err[256];
        /* 07:30 in New York: the assistant's window is closed, a lead's may not be. */
        assert_int_equal(
            dispatch_plan_make(&c, T("2024-06-05T07:30-04:00"), 500, &plan, err, sizeof(err)),
            OD_OK);
        assert_int_equal(plan.verdict, CLAIM);
        assert_false(plan.shared_window);
        assert_int_equal(plan.slots, 10);
        assert_int_equal(plan.not_after_us, 0);
        assert_int_equal(plan.wake_us, INT64_MAX);
    }
}

/* Batches take what they schedule; the bucket stored is never negative. */
static void test_plan_take(void **state)
{
    (void)state;
    sched_campaign_t c = campaign();
    c.max_concurrent_calls = 1200;
    char err[256];
    dispatch_plan_t plan;
    assert_int_equal(dispatch_plan_make(&c, T(WED_10), 500, &plan, err, sizeof(err)), OD_OK);
    static const int64_t wants[] = {500, 500, 200};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(dispatch_plan_want(&plan), wants[i]);
        dispatch_plan_take(&plan, wants[i]);
    }
    assert_int_equal(plan.slots, 0);
    assert_int_equal(dispatch_plan_tokens_left(&plan), 0); /* no limit: nothing to store */

    c = campaign();
    c.max_concurrent_calls = 100;
    c.calls_per_minute = 60;
    c.cpm_tokens = 7.75;
    c.cpm_refilled_us = T(WED_10);
    assert_int_equal(dispatch_plan_make(&c, T(WED_10), 5, &plan, err, sizeof(err)), OD_OK);
    assert_int_equal(plan.slots, 7);
    assert_int_equal(dispatch_plan_want(&plan), 5);
    dispatch_plan_take(&plan, 5);
    assert_int_equal(dispatch_plan_want(&plan), 2);
    assert_float_equal(dispatch_plan_tokens_left(&plan), 2.75, 1e-9);
    dispatch_plan_take(&plan, 2);
    assert_int_equal(plan.slots, 0);
    assert_float_equal(dispatch_plan_tokens_left(&plan), 0.75, 1e-9);
    dispatch_plan_take(&plan, 1); /* more than the bucket held */
    assert_float_equal(dispatch_plan_tokens_left(&plan), 0, 0);
}

typedef struct lead_case {
    const char *name;
    model_tz_mode_t mode;
    bool quiet; /* 08:00-21:00 every day */
    int window_end;
    const char *lead_tz, *e164, *now;
    /* expected */
    bool claim, never_opens;
    const char *not_after, *defer_to;
} lead_case_t;

#define LEAD_MODE MODEL_TZ_MODE_LEAD
#define ASSISTANT MODEL_TZ_MODE_ASSISTANT

/* clang-format off */
static const lead_case_t lead_cases[] = {
    {"lead mode, New York number at 10:00 there: claim", LEAD_MODE, false, 18 * 60, "",
     "+12125550100", WED_10, true, false, WED_18, NULL},
    {"lead mode, Los Angeles number at 07:00 there: defer to 09:00 there", LEAD_MODE, false,
     18 * 60, "", "+14155550100", WED_10, false, false, NULL, "2024-06-05T09:00-07:00"},
    {"lead mode, own timezone Berlin (16:00): claim, close 18:00 Berlin", LEAD_MODE, false,
     18 * 60, "Europe/Berlin", "+14155550100", WED_10, true, false, "2024-06-05T18:00+02:00",
     NULL},
    {"lead mode, unusable own timezone: the number's prefix", LEAD_MODE, false, 18 * 60,
     "Mars/Olympus", "+14155550100", WED_10, false, false, NULL, "2024-06-05T09:00-07:00"},
    {"lead mode, Friday 18:30 in LA: defer to Monday 09:00 there", LEAD_MODE, false, 18 * 60,
     "", "+14155550100", "2024-06-07T18:30-07:00", false, false, NULL,
     "2024-06-10T09:00-07:00"},
    {"quiet hours, LA person at 07:00 there: defer to 08:00 there", ASSISTANT, true, 18 * 60,
     "", "+14155550100", WED_10, false, false, NULL, "2024-06-05T08:00-07:00"},
    {"quiet hours, NY person: claim, the campaign window closes first", ASSISTANT, true,
     18 * 60, "", "+12125550100", WED_10, true, false, WED_18, NULL},
    {"quiet hours end before the window: claim, close at 21:00", ASSISTANT, true, 23 * 60, "",
     "+12125550100", "2024-06-05T20:00-04:00", true, false, "2024-06-05T21:00-04:00", NULL},
    {"quiet hours in Tokyo never meet 09:00-18:00 New York: a day later", ASSISTANT, true,
     18 * 60, "", "+81312345678", WED_10, false, true, NULL, "2024-06-06T10:00-04:00"},
};
/* clang-format on */

/* The campaign of a lead case: the default one, with the case's mode,
 * window end and quiet hours. */
static sched_campaign_t lead_campaign(const lead_case_t *k)
{
    sched_campaign_t c = campaign();
    c.tz_mode = k->mode;
    c.window.end_min = k->window_end;
    if (k->quiet) {
        c.has_quiet_hours = true;
        c.quiet_hours = (window_spec_t){8 * 60, 21 * 60, WINDOW_DAYS_ALL};
    }
    return c;
}

static void test_lead_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(lead_cases) / sizeof(lead_cases[0]); i++) {
        const lead_case_t *k = &lead_cases[i];
        print_message("case: %s\n", k->name);
        sched_campaign_t c = lead_campaign(k);
        dispatch_lead_step_t step;
        char err[256] = "";
        int rc =
            dispatch_lead_decide(&c, NULL, k->lead_tz, k->e164, T(k->now), &step, err, sizeof(err));
        if (rc)
            fail_msg("%s: %s", k->name, err);
        assert_int_equal(step.claim, k->claim);
        assert_int_equal(step.never_opens, k->never_opens);
        if (k->never_opens)
            assert_true(strlen(err) > 0); /* the reason, for the log */
        assert_instant(k->name, "not_after", step.not_after_us, instant(k->not_after));
        assert_instant(k->name, "defer to", step.defer_to_us, instant(k->defer_to));
    }
}

/* A frequency cap: every row of dispatch_plan.h's cap table, the shared
 * window given up for a look per lead, and the cap freeing at night (the
 * lead waits for its window). Times are calls placed to the lead's number. */
typedef struct cap_case {
    const char *name;
    int cap;
    const char *calls[4]; /* NULL-terminated */
    const char *now;
    bool want_claim, want_capped; /* capped: deferred by rule frequency_cap */
    const char *want;             /* claim: not_after; else defer_to */
} cap_case_t;

/* clang-format off */
static const cap_case_t cap_cases[] = {
    {"no cap: as the window says", 0, {"2024-06-05T09:10-04:00", "2024-06-05T09:20-04:00"}, WED_10,
     true, false, WED_18},
    {"a slot free", 3, {"2024-06-05T09:10-04:00", "2024-06-04T11:00-04:00"}, WED_10,
     true, false, WED_18},
    {"full, frees inside the window", 2, {"2024-06-05T09:10-04:00", "2024-06-04T12:30-04:00"},
     WED_10, false, true, "2024-06-05T12:30-04:00"},
    {"full, frees at night: the window's next opening", 2,
     {"2024-06-05T09:10-04:00", "2024-06-04T20:00-04:00"}, WED_10, false, true,
     "2024-06-06T09:00-04:00"},
    {"full, the oldest of three must age out (cap 2)", 2,
     {"2024-06-05T09:10-04:00", "2024-06-05T09:40-04:00", "2024-06-04T14:00-04:00"}, WED_10,
     false, true, "2024-06-06T09:10-04:00"},
    {"full, frees on Saturday: Monday's opening", 1, {"2024-06-07T17:00-04:00"},
     "2024-06-07T17:30-04:00", false, true, "2024-06-10T09:00-04:00"},
    {"calls older than 24 h do not count", 1, {"2024-06-04T09:59-04:00"}, WED_10,
     true, false, WED_18},
};
/* clang-format on */

static void test_cap_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cap_cases) / sizeof(cap_cases[0]); i++) {
        const cap_case_t *k = &cap_cases[i];
        sched_campaign_t c = campaign();
        c.calls_per_24h = k->cap;
        assert_int_equal(dispatch_lead_cap(&c, NULL), k->cap);
        int64_t times[4];
        size_t n = 0;
        for (; n < 4 && k->calls[n]; n++)
            times[n] = T(k->calls[n]);
        dispatch_lead_step_t step;
        char err[256];
        int rc = dispatch_lead_cap_decide(&c, NULL, "", "+12125550100", k->cap, times, n, T(k->now),
                                          &step, err, sizeof(err));
        if (rc)
            fail_msg("%s: %s", k->name, err);
        bool capped = !step.claim && step.rule == DISPATCH_DEFER_FREQUENCY_CAP;
        if (step.claim != k->want_claim || capped != k->want_capped)
            fail_msg("%s: claim %d capped %d", k->name, step.claim, capped);
        assert_instant(k->name, step.claim ? "not_after" : "defer_to",
                       step.claim ? step.not_after_us : step.defer_to_us, T(k->want));

        /* The shared window is given up when a cap applies. */
        dispatch_plan_t plan;
        assert_int_equal(dispatch_plan_make(&c, T(k->now), 500, &plan, err, sizeof(err)), OD_OK);
        assert_int_equal(plan.shared_window, k->cap == 0);
    }
}

/* The callee's jurisdiction's cap (rules/us.json: FL 3 calls a day) joins
 * the account's: the smaller applies, only under a legal profile. */
static void test_cap_state(void **state)
{
    (void)state;
    static const struct {
        const char *profile;
        int account_cap, want;
    } cases[] = {
        {"us_states", 0, 3},  {"us_states", 2, 2}, {"us_states", 5, 3},
        {"us_federal", 0, 0}, {"none", 5, 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sched_campaign_t c = campaign();
        c.calls_per_24h = cases[i].account_cap;
        char err[256] = "";
        legal_account_t acct;
        assert_int_equal(legal_account_init(&acct, legal_pack_builtin(), cases[i].profile, NULL,
                                            err, sizeof(err)),
                         OD_OK);
        c.legal_profile = acct.profile;
        lead_legal_t legal;
        if (campaign_lead_legal(&c, &acct, "", "+13055550100", "FL", T(WED_10), &legal, err,
                                sizeof(err)))
            fail_msg("%s: %s", cases[i].profile, err);
        if (dispatch_lead_cap(&c, &legal) != cases[i].want)
            fail_msg("%s, account cap %d: cap %d, want %d", cases[i].profile, cases[i].account_cap,
                     dispatch_lead_cap(&c, &legal), cases[i].want);
        legal_account_clear(&acct);
    }
}

/* One lead under a legal profile: the campaign window (09:00-21:00 every
 * day in New York) meets the callee's rules. */
typedef struct legal_case {
    const char *name;
    const char *profile;
    const char *state; /* the lead's field; "" derives it from the number */
    const char *e164;
    const char *now;
    bool claim;
    dispatch_defer_rule_t rule;
    const char *not_after; /* claim */
    const char *defer_to;  /* !claim */
} legal_case_t;

/* clang-format off */
static const legal_case_t legal_cases[] = {
    {"FL 19:30: claim, the legal close (20:00) first", "us_states", "FL", "+13055550100",
     "2026-12-07T19:30-05:00", true, DISPATCH_DEFER_WINDOW, "2026-12-07T20:00-05:00", NULL},
    {"FL 20:30: the state's hours defer to 09:00", "us_states", "", "+13055550100",
     "2026-12-07T20:30-05:00", false, DISPATCH_DEFER_LEGAL_HOURS, NULL, "2026-12-08T09:00-05:00"},
    {"federal 20:30: claim until 21:00", "us_federal", "", "+13055550100",
     "2026-12-07T20:30-05:00", true, DISPATCH_DEFER_WINDOW, "2026-12-07T21:00-05:00", NULL},
    {"RI Sunday: closed day, Monday 09:00", "us_states", "", "+14015550100",
     "2026-12-06T12:00-05:00", false, DISPATCH_DEFER_LEGAL_DAY, NULL, "2026-12-07T09:00-05:00"},
    {"RI Thanksgiving: holiday, Friday 09:00", "us_states", "RI", "+14015550100",
     "2026-11-26T12:00-05:00", false, DISPATCH_DEFER_LEGAL_HOLIDAY, NULL,
     "2026-11-27T09:00-05:00"},
    {"toll-free Sunday: the strictest rules, Monday 09:00", "us_states", "", "+18005550100",
     "2026-12-06T12:00-05:00", false, DISPATCH_DEFER_LEGAL_DAY, NULL, "2026-12-07T09:00-05:00"},
    {"campaign window closed at 07:00: the window", "us_states", "FL", "+13055550100",
     "2026-12-07T07:00-05:00", false, DISPATCH_DEFER_LEGAL_HOURS, NULL, "2026-12-07T09:00-05:00"},
    {"profile none at 22:30: the window", "none", "FL", "+13055550100",
     "2026-12-07T22:30-05:00", false, DISPATCH_DEFER_WINDOW, NULL, "2026-12-08T09:00-05:00"},
};
/* clang-format on */

static void test_lead_legal(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(legal_cases) / sizeof(legal_cases[0]); i++) {
        const legal_case_t *k = &legal_cases[i];
        sched_campaign_t c = campaign();
        c.window = (window_spec_t){9 * 60, 21 * 60, WINDOW_DAYS_ALL};
        char err[256] = "";
        legal_account_t acct;
        assert_int_equal(
            legal_account_init(&acct, legal_pack_builtin(), k->profile, NULL, err, sizeof(err)),
            OD_OK);
        c.legal_profile = acct.profile;
        assert_int_equal(sched_window_is_shared(&c), acct.profile == LEGAL_PROFILE_NONE);
        lead_legal_t legal;
        if (campaign_lead_legal(&c, &acct, "", k->e164, k->state, T(k->now), &legal, err,
                                sizeof(err)))
            fail_msg("%s: %s", k->name, err);
        dispatch_lead_step_t step;
        if (dispatch_lead_decide(&c, &legal, "", k->e164, T(k->now), &step, err, sizeof(err)))
            fail_msg("%s: %s", k->name, err);
        if (step.claim != k->claim || (!k->claim && step.rule != k->rule))
            fail_msg("%s: claim %d rule %s, want %d %s", k->name, step.claim,
                     dispatch_defer_rule_name(step.rule), k->claim,
                     dispatch_defer_rule_name(k->rule));
        assert_instant(k->name, "not_after", step.not_after_us, instant(k->not_after));
        assert_instant(k->name, "defer to", step.defer_to_us, instant(k->defer_to));
        legal_account_clear(&acct);
    }
}

/* A window that cannot be read is an error, with the zone named. */
static void test_errors(void **state)
{
    (void)state;
    sched_campaign_t c = campaign();
    snprintf(c.assistant_tz, sizeof(c.assistant_tz), "Nowhere/Atlantis");
    dispatch_plan_t plan;
    char err[256] = "";
    assert_int_equal(dispatch_plan_make(&c, T(WED_10), 500, &plan, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_non_null(strstr(err, "Nowhere/Atlantis"));

    /* No slot: the window is not read, so the bad zone is found on a later pass. */
    c.in_flight = c.max_concurrent_calls;
    assert_int_equal(dispatch_plan_make(&c, T(WED_10), 500, &plan, err, sizeof(err)), OD_OK);
    assert_int_equal(plan.verdict, NOSLOT);

    dispatch_lead_step_t step;
    c.tz_mode = MODEL_TZ_MODE_LEAD;
    err[0] = '\0';
    assert_int_equal(
        dispatch_lead_decide(&c, NULL, "", "+14155550100", T(WED_10), &step, err, sizeof(err)),
        OD_ERR_INVALID);
    assert_non_null(strstr(err, "Nowhere/Atlantis"));
}

OD_TEST_MAIN(NULL, NULL, test_plan_table, test_plan_window_per_lead, test_lead_legal,
             test_plan_take, test_lead_table, test_cap_table, test_cap_state, test_errors)

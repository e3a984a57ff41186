/*
 * End to end: caller-ID pools (docs/dialer.md, "Caller-ID pools") through
 * the real services (API, scheduler, importer, three dialers) and the
 * voice simulator, which records the number each call came from (a pool
 * number without a provider id is sent as Vapi's transient phoneNumber).
 * The campaign clock runs 10 minutes per real second from Tuesday
 * 2026-03-10 10:00 in New York (EDT, UTC-4).
 *
 *   - the daily cap: a pool of Atlanta (cap 2, New York time) and Denver
 *     (cap 1, Denver time, UTC-6) numbers and six leads on round robin:
 *     three calls on the first day, whichever dialer takes them; the other
 *     three leads are skipped with caller_id_exhausted, keep 0 attempts and
 *     wait until the first number wakes (New York's midnight, 04:00Z);
 *     then the calls resume, and no number ever places more than its cap
 *     in one of its own days;
 *   - the API: pool numbers are checked (phone, cap, zone, duplicates, a
 *     number not in the pool), the zone defaults from the area code, and a
 *     campaign's caller_id_strategy must be one of the four;
 *   - local presence: a New York City lead is called from the 212 number,
 *     a Brooklyn lead (347: no number has it) from a New York State one,
 *     a Florida lead from any; the call records say the same number;
 *   - sticky: a lead that never answers keeps the number of its first
 *     call on every retry, even after a number with its own area code
 *     (which local presence would pick) joins the pool;
 *   - round robin: nine calls spread over three numbers;
 *   - the stats show the calls and answer rate per number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_support.h"
#include "test_main.h"

#define H_US (3600LL * 1000000)

/* The daily-cap pool. */
#define ATL "+14045550100" /* cap 2, America/New_York */
#define DEN "+13035550100" /* cap 1, America/Denver */
/* The local-presence pool. */
#define SF  "+14155550100"
#define ALB "+15185550100"
#define NYC "+12125550199"

static const char rules[] = "seed 23\n"
                            "ring 2s-5s\n"
                            "ring no-answer 20s-30s\n"
                            "talk human 20s-40s\n"
                            "match +12125557004 no-answer\n"
                            "default human\n";

/* The numbers the simulator's placed calls to e164 came from (from_number),
 * in arrival order; how many (at most max). */
static size_t froms_to(const e2e_stack_t *st, const char *e164, char out[][16], size_t max)
{
    json_t *calls = e2e_sim_calls_placed_to(st, e164);
    size_t n = 0;
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        if (n == max)
            break;
        const char *from = e2e_str(c, "from_number");
        snprintf(out[n++], 16, "%s", from ? from : "");
    }
    json_decref(calls);
    return n;
}

/* Calls placed from `from` whose campaign time is before before_us. */
static size_t placed_from_before(const e2e_stack_t *st, const char *campaign_id, const char *from,
                                 int64_t before_us)
{
    char q[80];
    snprintf(q, sizeof(q), "campaign_id=%s", campaign_id);
    json_t *calls = e2e_sim_calls(st, q);
    size_t n = 0, i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *f = e2e_str(c, "from_number");
        if (json_is_true(json_object_get(c, "placed")) && f && strcmp(f, from) == 0 &&
            e2e_int(c, "received_at_us") < before_us)
            n++;
    }
    json_decref(calls);
    return n;
}

static size_t placed_in(const e2e_stack_t *st, const char *campaign_id)
{
    char q[80];
    snprintf(q, sizeof(q), "campaign_id=%s", campaign_id);
    return sim_calls_placed(e2e_sim_calls(st, q));
}

/* Adds a number to the assistant's pool (daily_cap 0: none; zone NULL:
 * the default); the answer's timezone into zone_out (may be NULL). */
static void pool_add(const e2e_stack_t *st, const char *assistant, const char *e164, int cap,
                     const char *zone, char *zone_out)
{
    char path[128], extra[96] = "";
    snprintf(path, sizeof(path), "/v1/assistants/%s/caller-ids", assistant);
    if (cap)
        snprintf(extra, sizeof(extra), ",\"daily_cap\":%d", cap);
    if (zone)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",\"timezone\":\"%s\"",
                 zone);
    e2e_resp_t r = e2e_api(st, "POST", path, "{\"phone_number\":\"%s\"%s}", e164, extra);
    e2e_expect(&r, 201, e164);
    assert_string_equal(e2e_str(r.json, "phone_number"), e164);
    if (zone_out)
        snprintf(zone_out, 64, "%s", e2e_str(r.json, "timezone"));
    e2e_resp_free(&r);
}

/* A pool number the API refuses with status, naming field. */
static void pool_refused(const e2e_stack_t *st, const char *assistant, const char *body,
                         long status, const char *field)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/assistants/%s/caller-ids", assistant);
    e2e_resp_t r = e2e_api(st, "POST", path, "%s", body);
    e2e_expect(&r, status, body);
    if (field)
        assert_string_equal(e2e_str(r.json, "error.field"), field);
    e2e_resp_free(&r);
}

/* Whether the lead's calls include one skipped for caller_id_exhausted. */
static bool skipped_exhausted(const e2e_stack_t *st, const char *lead_id)
{
    json_t *calls = e2e_lead_calls(st, lead_id);
    bool found = false;
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *reason = e2e_str(c, "ended_reason");
        if (strcmp(e2e_str(c, "status"), "skipped") == 0 && reason &&
            strncmp(reason, "caller_id_exhausted", 19) == 0)
            found = true;
    }
    json_decref(calls);
    return found;
}

/* How many of leads[0..n) were skipped for caller_id_exhausted. */
static int exhausted_count(const e2e_stack_t *st, char (*leads)[37], int n)
{
    int count = 0;
    for (int k = 0; k < n; k++)
        count += skipped_exhausted(st, leads[k]);
    return count;
}

/* Adds n (at most 10) leads to the campaign, on prefix followed by the
 * digits 0 to n - 1, their ids into leads, and starts it. */
static void campaign_start_with(const e2e_stack_t *st, const char *campaign, const char *prefix,
                                int n, char leads[][37])
{
    for (int k = 0; k < n; k++) {
        char json[64];
        snprintf(json, sizeof(json), "{\"phone\":\"%s%d\"}", prefix, k);
        e2e_lead_add(st, campaign, json, leads[k]);
    }
    e2e_campaign_must(st, campaign, "start");
}

/* The daily cap (see the top). */
static void daily_cap(e2e_stack_t *st)
{
    char assistant[37], campaign[37], leads[6][37];
    e2e_assistant_create(st, "+12125550100", assistant);
    pool_add(st, assistant, ATL, 2, NULL, NULL);
    pool_add(st, assistant, DEN, 1, "America/Denver", NULL);
    e2e_campaign_create(st, assistant,
                        E2E_WINDOW_ALWAYS ",\"caller_id_strategy\":\"round_robin\","
                                          "\"max_concurrent_calls\":6",
                        campaign);
    campaign_start_with(st, campaign, "+1929555720", 6, leads);

    /* Three calls, and three leads skipped and deferred to New York's
     * midnight with no attempt used. */
    const int64_t ny_midnight = e2e_utc_us("2026-03-11T04:00:00Z");
    const int64_t denver_midnight = e2e_utc_us("2026-03-11T06:00:00Z");
    HARNESS_WAIT(placed_in(st, campaign) >= 3 && exhausted_count(st, leads, 6) == 3, 60000,
                 "three calls and three leads skipped for caller_id_exhausted");
    if (e2e_now_us(st) >= ny_midnight)
        fail_msg("the first day ended before the check (a slow machine): nothing to judge");
    assert_int_equal(placed_in(st, campaign), 3);
    for (int k = 0; k < 6; k++) {
        if (!skipped_exhausted(st, leads[k]))
            continue;
        json_t *l = e2e_lead(st, leads[k]);
        assert_string_equal(e2e_str(l, "status"), "created");
        assert_int_equal(e2e_int(l, "attempts"), 0);
        const char *next = e2e_str(l, "next_attempt_at");
        if (!next || e2e_utc_us(next) != ny_midnight)
            fail_msg("lead %s is due at %s, not New York's midnight", leads[k],
                     next ? next : "(none)");
        json_decref(l);
    }
    /* The numbers rest until their own midnights; then every lead is
     * called, and no number placed more than its cap in one of its days. */
    HARNESS_WAIT(placed_in(st, campaign) >= 6, 240000, "the deferred leads called the next day");
    assert_int_equal(placed_from_before(st, campaign, ATL, ny_midnight), 2);
    assert_int_equal(placed_from_before(st, campaign, DEN, denver_midnight), 1);
    assert_true(placed_from_before(st, campaign, ATL, ny_midnight + 24 * H_US) <= 4);
    for (int k = 0; k < 6; k++)
        e2e_wait_lead(st, leads[k], "completed", NULL, 60000);
    /* Every lead done: the scheduler completes the campaign (a pause here
     * would race it). */
    e2e_wait_campaign(st, campaign, "completed", 60000);
}

/* The pool and the strategy through the API (see the top). */
static void api_checks(e2e_stack_t *st, const char *assistant)
{
    pool_refused(st, assistant, "{\"phone_number\":\"12\"}", 400, "phone_number");
    pool_refused(st, assistant, "{}", 400, "phone_number");
    pool_refused(st, assistant, "{\"phone_number\":\"" SF "\",\"daily_cap\":0}", 400, "daily_cap");
    pool_refused(st, assistant, "{\"phone_number\":\"" SF "\",\"daily_cap\":10001}", 400,
                 "daily_cap");
    pool_refused(st, assistant, "{\"phone_number\":\"" SF "\",\"timezone\":\"Mars/Olympus\"}", 400,
                 "timezone");
    char zone[64];
    pool_add(st, assistant, SF, 0, NULL, zone);
    assert_string_equal(zone, "America/Los_Angeles"); /* from the 415 area code */
    pool_add(st, assistant, ALB, 0, NULL, zone);
    assert_string_equal(zone, "America/New_York");
    pool_add(st, assistant, NYC, 0, NULL, NULL);
    pool_refused(st, assistant, "{\"phone_number\":\"" NYC "\"}", 409, "phone_number");
    char path[160];
    snprintf(path, sizeof(path), "/v1/assistants/%s/caller-ids/%%2B13125550000", assistant);
    e2e_resp_t r = e2e_api(st, "DELETE", path, NULL);
    e2e_expect(&r, 404, "a number not in the pool");
    e2e_resp_free(&r);
    json_t *pool = e2e_get_json(st, "/v1/assistants/%s/caller-ids", assistant);
    json_t *data = json_object_get(pool, "data");
    assert_int_equal(json_array_size(data), 3);
    assert_true(e2e_has(data, "phone_number", NYC));
    json_decref(pool);

    e2e_campaign_refused(st, assistant, "\"caller_id_strategy\":\"nearest\"", "caller_id_strategy",
                         "single, local_presence, sticky or round_robin");
    e2e_campaign_refused(st, assistant, "\"caller_id_strategy\":null", "caller_id_strategy", NULL);
}

/* The number each of leads was called from, as the simulator saw it and
 * as its call record says; fails when they differ. */
static void from_of(const e2e_stack_t *st, const char *lead_id, const char *e164, char out[16])
{
    char froms[4][16];
    size_t n = froms_to(st, e164, froms, 4);
    assert_int_equal(n, 1);
    snprintf(out, 16, "%s", froms[0]);
    json_t *calls = e2e_lead_calls(st, lead_id);
    assert_int_equal(json_array_size(calls), 1);
    assert_string_equal(e2e_str(json_array_get(calls, 0), "caller_id"), out);
    json_decref(calls);
}

static void local_presence(e2e_stack_t *st, const char *assistant)
{
    char campaign[37], nyc[37], bk[37], fl[37];
    e2e_campaign_create(st, assistant,
                        E2E_WINDOW_ALWAYS ",\"caller_id_strategy\":\"local_presence\"", campaign);
    e2e_lead_add(st, campaign, "{\"phone\":\"+12125557001\"}", nyc);
    e2e_lead_add(st, campaign, "{\"phone\":\"+13475557002\"}", bk);
    e2e_lead_add(st, campaign, "{\"phone\":\"+13055557003\"}", fl);
    e2e_campaign_must(st, campaign, "start");
    e2e_wait_lead(st, nyc, "completed", NULL, 60000);
    e2e_wait_lead(st, bk, "completed", NULL, 60000);
    e2e_wait_lead(st, fl, "completed", NULL, 60000);
    char from[3][16];
    from_of(st, nyc, "+12125557001", from[0]);
    assert_string_equal(from[0], NYC); /* the area code */
    from_of(st, bk, "+13475557002", from[1]);
    if (strcmp(from[1], NYC) != 0 && strcmp(from[1], ALB) != 0)
        fail_msg("the Brooklyn lead was called from %s, not a New York number", from[1]);
    from_of(st, fl, "+13055557003", from[2]);
    if (strcmp(from[2], NYC) != 0 && strcmp(from[2], ALB) != 0 && strcmp(from[2], SF) != 0)
        fail_msg("the Florida lead was called from %s, not a pool number", from[2]);

    /* The stats: a row per number called from, each answered. Which
     * numbers the Brooklyn and Florida leads got depends on their ids (a
     * lead's place in its tier), so the rows are counted against the
     * numbers the calls came from: one to three of them. */
    size_t numbers = 1 + (strcmp(from[1], from[0]) != 0) +
                     (strcmp(from[2], from[0]) != 0 && strcmp(from[2], from[1]) != 0);
    json_t *stats = e2e_get_json(st, "/v1/campaigns/%s/stats", campaign);
    json_t *per = json_object_get(stats, "caller_ids");
    assert_int_equal(json_array_size(per), numbers);
    size_t i, calls = 0;
    json_t *n;
    json_array_foreach(per, i, n)
    {
        calls += (size_t)e2e_int(n, "calls");
        assert_int_equal(e2e_int(n, "answered"), e2e_int(n, "calls"));
        assert_true(json_real_value(json_object_get(n, "answer_rate")) == 1.0);
    }
    assert_int_equal(calls, 3);
    for (int k = 0; k < 3; k++)
        assert_true(e2e_has(per, "phone_number", from[k]));
    json_decref(stats);
    e2e_wait_campaign(st, campaign, "completed", 60000); /* its three leads are done */
}

static void sticky(e2e_stack_t *st)
{
    char assistant[37], campaign[37], lead[37];
    e2e_assistant_create(st, "+12125550100", assistant);
    pool_add(st, assistant, "+13125550100", 0, NULL, NULL); /* Chicago */
    pool_add(st, assistant, "+16175550100", 0, NULL, NULL); /* Boston */
    e2e_campaign_create(st, assistant,
                        E2E_WINDOW_ALWAYS ",\"caller_id_strategy\":\"sticky\","
                                          "\"max_retries\":3,\"retry_interval_minutes\":10",
                        campaign);
    e2e_lead_add(st, campaign, "{\"phone\":\"+12125557004\"}", lead);
    e2e_campaign_must(st, campaign, "start");
    char froms[8][16];
    HARNESS_WAIT(froms_to(st, "+12125557004", froms, 8) >= 1, 60000, "the sticky lead's call");
    /* A number with the lead's own area code joins: local presence would
     * take it now; sticky keeps the first. */
    pool_add(st, assistant, "+12125550177", 0, NULL, NULL);
    e2e_wait_lead(st, lead, "max_retries", "exhausted", 120000);
    size_t n = froms_to(st, "+12125557004", froms, 8);
    assert_int_equal(n, 4);
    for (size_t i = 1; i < n; i++)
        if (strcmp(froms[i], froms[0]) != 0)
            fail_msg("call %zu came from %s, the first from %s", i + 1, froms[i], froms[0]);
    assert_true(strcmp(froms[0], "+13125550100") == 0 || strcmp(froms[0], "+16175550100") == 0);
}

static void round_robin(e2e_stack_t *st)
{
    static const char *const pool[] = {"+17135550100", "+17135550101", "+17135550102"};
    char assistant[37], campaign[37], leads[9][37];
    e2e_assistant_create(st, "+12125550100", assistant);
    for (int i = 0; i < 3; i++)
        pool_add(st, assistant, pool[i], 0, NULL, NULL);
    e2e_campaign_create(st, assistant, E2E_WINDOW_ALWAYS ",\"caller_id_strategy\":\"round_robin\"",
                        campaign);
    campaign_start_with(st, campaign, "+1646555710", 9, leads);
    for (int k = 0; k < 9; k++)
        e2e_wait_lead(st, leads[k], "completed", NULL, 60000);
    int used[3] = {0};
    for (int k = 0; k < 9; k++) {
        char number[16], froms[2][16];
        snprintf(number, sizeof(number), "+1646555710%d", k);
        assert_int_equal(froms_to(st, number, froms, 2), 1);
        for (int i = 0; i < 3; i++)
            used[i] += strcmp(froms[0], pool[i]) == 0;
    }
    /* One turn per job: three each, give or take a turn a check repeated
     * after a Redis error took. */
    for (int i = 0; i < 3; i++)
        if (used[i] < 2 || used[i] > 4)
            fail_msg("%s placed %d of 9 calls; round robin spreads them 3, 3, 3", pool[i], used[i]);
    assert_int_equal(used[0] + used[1] + used[2], 9);
}

static void test_caller_id_pools(void **state)
{
    (void)state;
    static e2e_stack_t st;
    e2e_opts_t opts = {.tag = "e2ecid", .rules = rules, .balance = 1000000, .dialers = 3};
    e2e_stack_start(&st, &opts);

    /* First: it needs the most of the campaign day before New York's
     * midnight. */
    daily_cap(&st);

    char assistant[37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    api_checks(&st, assistant);
    local_presence(&st, assistant);
    sticky(&st);
    round_robin(&st);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN(NULL, e2e_teardown, test_caller_id_pools)

/*
 * The dialer as a process: the real outdial-dialer against the real
 * outdial-voice-sim (rules written here; clock x60) and the stack's Kafka
 * and Redis, with this test playing the scheduler: it produces DialJobs,
 * writes the campaign mirror and the DNC set in Redis, and reads the
 * CallEvents back. What the dialer did is checked on Kafka and from the
 * simulator's side (GET /sim/calls, /sim/invariants):
 *
 *   - every outcome: initiated → ringing → (in_progress) → the right
 *     terminal event with answered_by, duration, cost, post-call variables
 *   - every refusal (window passed, campaign paused, DNC, number busy, two
 *     attempts to one number at once) → skipped with its reason, no call
 *   - the same job twice → one call, one initiated event
 *   - a skipped attempt's job again, with the window open → no call
 *   - provider 5xx and 503 → failed transient; misdialed → failed permanent;
 *     429 → retried after Retry-After, then placed
 *   - webhooks: bad or missing secret → 401, malformed → 400, nothing on
 *     Kafka; duplicated webhooks → the same event ids
 *   - lost webhooks → the terminal event from reconciliation
 *   - a create-call answer that never comes: the first webhook proves the
 *     call placed; without any webhook, failed transient after a grace
 *   - SIGTERM mid-run → exit 0, every job dialed once with its events
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "support.h"
#include "test_dialer_support.h"
#include "test_main.h"

#define ACCOUNT         "a0000000-0000-4000-8000-000000000001"
#define CAMPAIGN        "c0000000-0000-4000-8000-000000000001"
#define PAUSED_CAMPAIGN "c0000000-0000-4000-8000-000000000002"

#define P(s) OUTDIAL__V1__CALL_STATUS__CALL_STATUS_##s

static const char rules[] =
    "seed 7\n"
    "goal-variable appointment_booked\n"
    "data tier \"gold\"\n"
    "ring 10s-20s\n"
    "ring busy 5s\n"
    "talk 30s-60s\n"
    "cost-per-minute 12\n" HARNESS_SIM_MATCH_EACH_OUTCOME "default human-goal\n";

/* Reconciliation and grace periods short enough for a test, in real ms. */
static const char *const dialer_env[] = {"OUTDIAL_DIALER_RECONCILE_MARGIN_MS=1500",
                                         "OUTDIAL_DIALER_REPORT_GRACE_MS=1000",
                                         "OUTDIAL_DIALER_UNCONFIRMED_GRACE_MS=3000",
                                         "OUTDIAL_DIALER_DRAIN_MS=10000",
                                         "OUTDIAL_DIALER_WEBHOOK_DRAIN_MS=3000",
                                         "OUTDIAL_DIALER_REQUEST_TIMEOUT_MS=2000",
                                         "OUTDIAL_LOG_LEVEL=info",
                                         NULL};

typedef struct fixture {
    ds_world_t *w;
    ds_sim_t sim;
    ds_dialer_t dialer;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    int port;
    fx->w = ds_world_running("dialer", CAMPAIGN, rules, &fx->sim, &port);
    ds_campaign_set(fx->w, PAUSED_CAMPAIGN, "paused");
    ds_dialer_start(&fx->dialer, &fx->sim, port, dialer_env);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx->dialer.pid > 0) {
        int status = harness_stop(fx->dialer.pid, SIGTERM);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "the dialer exited with status %d\n", status);
    }
    ds_sim_stop(&fx->sim);
    ds_world_free(fx->w);
    free(fx);
    return 0;
}

/* The simulator's record of an attempt's placed call (waits until it
 * finished). Caller json_decref()s. */
static json_t *sim_record(fixture_t *fx, const char *attempt_id)
{
    int64_t deadline = harness_ms() + 15000;
    for (;;) {
        json_t *calls = ds_sim_calls(&fx->sim, attempt_id);
        size_t i;
        json_t *c;
        json_array_foreach(calls, i, c)
        {
            if (json_is_true(json_object_get(c, "placed")) &&
                json_is_true(json_object_get(c, "finished"))) {
                json_incref(c);
                json_decref(calls);
                return c;
            }
        }
        json_decref(calls);
        if (harness_ms() > deadline)
            fail_msg("the simulator has no finished call for attempt %s", attempt_id);
        harness_sleep_ms(20);
    }
}

static const char *status_word(int s)
{
    static const char *const names[] = {"?",    "initiated",  "ringing", "in_progress", "completed",
                                        "busy", "unanswered", "failed",  "skipped"};
    return s >= 0 && s <= 8 ? names[s] : "?";
}

/* "initiated,ringing,in_progress,completed" */
static void sequence(fixture_t *fx, const char *attempt_id, char *buf, size_t len)
{
    ds_event_t evs[32];
    size_t n = ds_events_of(fx->w, attempt_id, evs, 32), used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
                                 status_word(evs[i].status));
}

/* Every event of the attempt: keyed by its lead, one event id per status,
 * and that id the same for every copy. */
static void events_consistent(fixture_t *fx, const ds_job_t *j)
{
    ds_event_t evs[64];
    size_t n = ds_events_of(fx->w, j->attempt_id, evs, 64);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(evs[i].key, j->lead_id);
        assert_string_equal(evs[i].lead_id, j->lead_id);
        assert_int_equal(evs[i].attempt_number, j->attempt_number);
        for (size_t k = 0; k < n; k++) {
            bool same_id = strcmp(evs[i].event_id, evs[k].event_id) == 0;
            bool same_status = evs[i].status == evs[k].status;
            if (same_id != same_status)
                fail_msg("attempt %s: events %zu (%s %s) and %zu (%s %s) break one id per status",
                         j->attempt_id, i, status_word(evs[i].status), evs[i].event_id, k,
                         status_word(evs[k].status), evs[k].event_id);
        }
    }
}

static void test_every_outcome(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *number;
        const char *sequence;
        int status;
        int answered_by;
        int failure_class;
        bool talk;
        int goal; /* -1 absent, 0 false, 1 true */
    } cases[] = {
        {"+15550000001", "initiated,ringing,busy", P(BUSY), 0, 0, false, -1},
        {"+15550000002", "initiated,ringing,unanswered", P(UNANSWERED), 0, 0, false, -1},
        {"+15550000003", "initiated,ringing,in_progress,completed", P(COMPLETED),
         OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_VOICEMAIL, 0, true, -1},
        {"+15550000004", "initiated,ringing,in_progress,completed", P(COMPLETED),
         OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN, 0, true, 1},
        {"+15550000005", "initiated,ringing,in_progress,completed", P(COMPLETED),
         OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN, 0, true, 0},
        {"+15550000006", "initiated,ringing,in_progress,completed", P(COMPLETED),
         OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN, 0, true, -1},
        {"+15550000007", "initiated,failed", P(FAILED), 0,
         OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT, false, -1},
    };
    const size_t n = sizeof(cases) / sizeof(cases[0]);
    ds_job_t jobs[8];
    for (size_t i = 0; i < n; i++) {
        ds_job_init(fx->w, &jobs[i], CAMPAIGN, ACCOUNT, cases[i].number);
        jobs[i].attempt_number = (uint32_t)(i % 3) + 1;
        ds_job_send(fx->w, &jobs[i]);
    }
    ds_event_t ends[8];
    for (size_t i = 0; i < n; i++)
        ends[i] = ds_wait_terminal(fx->w, jobs[i].attempt_id, 30000);
    /* A marker call per lead: a late duplicate of any event would show in
     * the sequence before the marker ends. */
    ds_job_t markers[8];
    for (size_t i = 0; i < n; i++) {
        char number[20];
        snprintf(number, sizeof(number), "+155500009%02zu", i);
        ds_job_like(fx->w, &markers[i], &jobs[i], number);
        ds_job_send(fx->w, &markers[i]);
    }
    for (size_t i = 0; i < n; i++)
        ds_wait_terminal(fx->w, markers[i].attempt_id, 30000);
    for (size_t i = 0; i < n; i++) {
        ds_event_t t = ends[i];
        char seq[256];
        sequence(fx, jobs[i].attempt_id, seq, sizeof(seq));
        if (strcmp(seq, cases[i].sequence) != 0)
            fail_msg("%s: events %s, want %s", cases[i].number, seq, cases[i].sequence);
        events_consistent(fx, &jobs[i]);
        assert_int_equal(t.status, cases[i].status);
        assert_int_equal(t.answered_by, cases[i].answered_by);
        assert_int_equal(t.failure_class, cases[i].failure_class);

        json_t *rec = sim_record(fx, jobs[i].attempt_id);
        /* The provider call id of every event is the simulator's. */
        ds_event_t evs[16];
        size_t ne = ds_events_of(fx->w, jobs[i].attempt_id, evs, 16);
        for (size_t k = 0; k < ne; k++)
            assert_string_equal(evs[k].provider_call_id,
                                json_string_value(json_object_get(rec, "id")));
        assert_string_equal(t.ended_reason,
                            json_string_value(json_object_get(rec, "ended_reason")));
        assert_int_equal(t.cost_minor, json_integer_value(json_object_get(rec, "cost_cents")));
        int64_t talk_ms = json_integer_value(json_object_get(rec, "talk_ms"));
        assert_int_equal(t.duration_ms, talk_ms);
        if (cases[i].talk) {
            assert_in_range(talk_ms, 30000, 60000);
            assert_true(t.cost_minor > 0);
            /* The provider's times have millisecond precision. */
            assert_in_range(t.started_at_us -
                                json_integer_value(json_object_get(rec, "answered_at_us")) + 1000,
                            0, 1999);
        } else {
            assert_int_equal(t.duration_ms, 0);
            assert_int_equal(t.started_at_us, 0);
        }
        assert_in_range(t.ended_at_us - json_integer_value(json_object_get(rec, "ended_at_us")) +
                            1000,
                        0, 1999);
        /* What the simulator received is what the job said. */
        assert_string_equal(json_string_value(json_object_get(rec, "number")), cases[i].number);
        assert_string_equal(json_string_value(json_object_get(rec, "lead_id")), jobs[i].lead_id);
        assert_string_equal(json_string_value(json_object_get(rec, "campaign_id")), CAMPAIGN);
        assert_string_equal(json_string_value(json_object_get(rec, "assistant_id")), "asst-test");
        assert_string_equal(json_string_value(json_object_get(rec, "phone_number_id")), "pn-test");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(rec, "variable_values"), "first_name")),
                            "Ada");
        json_t *meta = json_object_get(rec, "metadata");
        assert_string_equal(json_string_value(json_object_get(meta, "account_id")), ACCOUNT);
        assert_int_equal(json_integer_value(json_object_get(meta, "attempt_number")),
                         jobs[i].attempt_number);
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/vapi", fx->dialer.port);
        assert_string_equal(json_string_value(json_object_get(rec, "webhook_url")), url);
        /* Post-call variables: the structured data, as JSON. */
        json_t *vars = json_loads(t.vars[0] ? t.vars : "null", 0, NULL);
        if (cases[i].goal >= 0) {
            json_t *g = json_object_get(vars, "appointment_booked");
            assert_true(json_is_boolean(g) && json_is_true(g) == (cases[i].goal == 1));
        }
        if (cases[i].talk && cases[i].answered_by == OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN)
            assert_string_equal(json_string_value(json_object_get(vars, "tier")), "gold");
        else
            assert_true(json_is_object(vars) && json_object_size(vars) == 0);
        json_decref(vars);
        json_decref(rec);
        assert_int_equal(ds_sim_placed(&fx->sim, jobs[i].attempt_id), 1);
    }
    ds_sim_invariants_ok(&fx->sim);
}

/* The attempt's last event: failed, transient (the lead is retried), for
 * reason (its ended_reason). */
static void expect_failed_transient(const ds_event_t *t, const char *reason)
{
    assert_int_equal(t->status, P(FAILED));
    assert_int_equal(t->failure_class, OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT);
    assert_string_equal(t->ended_reason, reason);
}

static void test_provider_refusals(void **state)
{
    fixture_t *fx = *state;
    /* 503 with Retry-After (the carrier is down): failed transient, nothing placed. */
    ds_job_t j;
    ds_job_init_send(fx->w, &j, CAMPAIGN, ACCOUNT, "+15550000008");
    ds_event_t t = ds_wait_terminal(fx->w, j.attempt_id, 20000);
    expect_failed_transient(&t, "provider-http-503");
    assert_int_equal(ds_count_status(fx->w, j.attempt_id, P(INITIATED)), 0);
    assert_int_equal(ds_sim_placed(&fx->sim, j.attempt_id), 0);

    /* Every create-call answered 500: failed transient. */
    ds_sim_faults(&fx->sim, "{\"http_5xx\":1}");
    ds_job_init_send(fx->w, &j, CAMPAIGN, ACCOUNT, "+15550001001");
    t = ds_wait_terminal(fx->w, j.attempt_id, 20000);
    ds_sim_faults(&fx->sim, "{\"http_5xx\":0}");
    expect_failed_transient(&t, "provider-http-500");
    json_t *calls = ds_sim_calls(&fx->sim, j.attempt_id);
    assert_int_equal(json_array_size(calls), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(calls, 0), "rejected")),
                        "fault-5xx");
    json_decref(calls);
    assert_true(metric_value(fx->dialer.port,
                             "outdial_dialer_provider_errors_total{class=\"transient\"}") >= 2);

    /* A concurrency limit: the second call gets 429, waits Retry-After and
     * is placed once the first ended; one initiated, one placement. */
    ds_sim_faults(&fx->sim, "{\"max_concurrent\":1}");
    ds_job_t first, second;
    ds_job_init(fx->w, &first, CAMPAIGN, ACCOUNT, "+15550001002");
    ds_job_init(fx->w, &second, CAMPAIGN, ACCOUNT, "+15550001003");
    ds_job_send(fx->w, &first);
    int64_t deadline = harness_ms() + 10000;
    while (ds_count_status(fx->w, first.attempt_id, P(INITIATED)) == 0 && harness_ms() < deadline)
        harness_sleep_ms(10);
    ds_job_send(fx->w, &second);
    ds_wait_terminal(fx->w, first.attempt_id, 20000);
    t = ds_wait_terminal(fx->w, second.attempt_id, 30000);
    ds_sim_faults(&fx->sim, "{\"max_concurrent\":0}");
    assert_int_equal(t.status, P(COMPLETED));
    assert_int_equal(ds_count_status(fx->w, second.attempt_id, P(INITIATED)), 1);
    calls = ds_sim_calls(&fx->sim, second.attempt_id);
    size_t rejected = 0, placed = 0, i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *why = json_string_value(json_object_get(c, "rejected"));
        rejected += why && strcmp(why, "capacity") == 0;
        placed += json_is_true(json_object_get(c, "placed"));
    }
    json_decref(calls);
    print_message("429 then placed: %zu capacity rejection(s), %zu placement\n", rejected, placed);
    assert_true(rejected >= 1);
    assert_int_equal(placed, 1);
    assert_true(metric_value(fx->dialer.port,
                             "outdial_dialer_provider_errors_total{class=\"rate_limited\"}") >= 1);
    ds_sim_invariants_ok(&fx->sim);
}

/* Waits for the attempt's skipped event and checks no call was made. */
static void expect_skipped(fixture_t *fx, const ds_job_t *j, int reason)
{
    ds_event_t t = ds_wait_terminal(fx->w, j->attempt_id, 20000);
    if (t.status != P(SKIPPED) || t.skip_reason != reason)
        fail_msg("attempt %s (%s): %s reason %d, want skipped reason %d", j->attempt_id, j->e164,
                 status_word(t.status), t.skip_reason, reason);
    assert_string_equal(t.key, j->lead_id);
    assert_int_equal(ds_count_status(fx->w, j->attempt_id, P(INITIATED)), 0);
    json_t *calls = ds_sim_calls(&fx->sim, j->attempt_id);
    assert_int_equal(json_array_size(calls), 0);
    json_decref(calls);
}

static void test_refusals(void **state)
{
    fixture_t *fx = *state;
    char key[RKEYS_KEY_MAX], err[256];

    ds_job_t late;
    ds_job_init(fx->w, &late, CAMPAIGN, ACCOUNT, "+15550002001");
    late.not_after_us = od_clock_now_us(&fx->w->clk) - OD_USEC_PER_SEC;
    ds_job_send(fx->w, &late);

    /* The window closes 28 campaign seconds (467 ms real) from now: the
     * checks pass, but the request would not reach the provider inside
     * the window given the 500 ms guard (OUTDIAL_DIALER_WINDOW_GUARD_MS). */
    ds_job_t closing;
    ds_job_init(fx->w, &closing, CAMPAIGN, ACCOUNT, "+15550002007");
    closing.not_after_us = od_clock_now_us(&fx->w->clk) + 28 * OD_USEC_PER_SEC;
    ds_job_send(fx->w, &closing);

    ds_job_t paused;
    ds_job_init_send(fx->w, &paused, PAUSED_CAMPAIGN, ACCOUNT, "+15550002002");

    ds_job_t unknown_campaign;
    char campaign[UUID_STR_LEN];
    uuid_str_new(campaign); /* no mirror at all: not running */
    ds_job_init_send(fx->w, &unknown_campaign, campaign, ACCOUNT, "+15550002003");

    ds_job_t dnc;
    ds_job_init(fx->w, &dnc, CAMPAIGN, ACCOUNT, "+15550002004");
    rkeys_dnc(fx->w->redis_prefix, ACCOUNT, key);
    if (redis_sadd(fx->w->redis, key, dnc.e164, err, sizeof(err)))
        fail_msg("%s", err);
    ds_job_send(fx->w, &dnc);

    ds_job_t busy;
    ds_job_init(fx->w, &busy, CAMPAIGN, ACCOUNT, "+15550002005");
    char line[RKEYS_KEY_MAX];
    rkeys_line(fx->w->redis_prefix, busy.e164, line);
    if (redis_set_nx(fx->w->redis, line, "another-attempt", 60000, err, sizeof(err)))
        fail_msg("%s", err);
    ds_job_send(fx->w, &busy);

    expect_skipped(fx, &late, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_OUTSIDE_WINDOW);
    expect_skipped(fx, &closing, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_OUTSIDE_WINDOW);
    {
        /* Refused at the last look, after the checks: it holds its attempt
         * key (as every skip does) and no line lock. */
        char *holder = NULL;
        rkeys_attempt(fx->w->redis_prefix, closing.attempt_id, key);
        if (redis_get(fx->w->redis, key, &holder, NULL, err, sizeof(err)) != OD_OK)
            fail_msg("attempt %s: refused before the checks, not at the last look",
                     closing.attempt_id);
        free(holder);
        rkeys_line(fx->w->redis_prefix, closing.e164, key);
        assert_int_equal(redis_get(fx->w->redis, key, &holder, NULL, err, sizeof(err)),
                         OD_ERR_NOT_FOUND);
    }
    expect_skipped(fx, &paused, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CAMPAIGN_NOT_RUNNING);
    expect_skipped(fx, &unknown_campaign,
                   OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CAMPAIGN_NOT_RUNNING);
    expect_skipped(fx, &dnc, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_DNC);
    expect_skipped(fx, &busy, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_NUMBER_BUSY);
    /* The other holder's lock is untouched. */
    char *holder = NULL;
    assert_int_equal(redis_get(fx->w->redis, line, &holder, NULL, err, sizeof(err)), OD_OK);
    assert_string_equal(holder, "another-attempt");
    free(holder);
    bool deleted = false;
    assert_int_equal(redis_del(fx->w->redis, line, &deleted, err, sizeof(err)), OD_OK);

    /* Two attempts for one number at once: one call, the other skipped. */
    ds_job_t a, b;
    ds_job_init(fx->w, &a, CAMPAIGN, ACCOUNT, "+15550002006");
    ds_job_init(fx->w, &b, CAMPAIGN, ACCOUNT, "+15550002006");
    ds_job_send(fx->w, &a);
    ds_job_send(fx->w, &b);
    ds_event_t ta = ds_wait_terminal(fx->w, a.attempt_id, 20000);
    ds_event_t tb = ds_wait_terminal(fx->w, b.attempt_id, 20000);
    bool a_called = ta.status != P(SKIPPED);
    const ds_job_t *skipped = a_called ? &b : &a;
    const ds_job_t *called = a_called ? &a : &b;
    ds_event_t ts = a_called ? tb : ta;
    assert_int_equal(ts.status, P(SKIPPED));
    assert_int_equal(ts.skip_reason, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_NUMBER_BUSY);
    assert_int_equal(ds_sim_placed(&fx->sim, called->attempt_id), 1);
    assert_int_equal(ds_sim_placed(&fx->sim, skipped->attempt_id), 0);
    /* The terminal webhook released the line: the number can be called again. */
    rkeys_line(fx->w->redis_prefix, "+15550002006", line);
    int64_t deadline = harness_ms() + 5000;
    char *v = NULL;
    while (redis_get(fx->w->redis, line, &v, NULL, err, sizeof(err)) == OD_OK &&
           harness_ms() < deadline) {
        free(v);
        v = NULL;
        harness_sleep_ms(20);
    }
    assert_null(v);
    ds_job_t again;
    ds_job_init_send(fx->w, &again, CAMPAIGN, ACCOUNT, "+15550002006");
    assert_int_equal(ds_wait_terminal(fx->w, again.attempt_id, 20000).status, P(COMPLETED));

    assert_true(
        metric_value(fx->dialer.port, "outdial_dialer_jobs_skipped_total{reason=\"dnc\"}") >= 1);
    assert_true(metric_value(fx->dialer.port,
                             "outdial_dialer_jobs_skipped_total{reason=\"number_busy\"}") >= 2);
    ds_sim_invariants_ok(&fx->sim);
}

static void test_same_job_twice(void **state)
{
    fixture_t *fx = *state;
    ds_job_t j;
    ds_job_init_send(fx->w, &j, CAMPAIGN, ACCOUNT, "+15550003001");
    ds_job_send(fx->w, &j);
    ds_event_t t = ds_wait_terminal(fx->w, j.attempt_id, 20000);
    assert_int_equal(t.status, P(COMPLETED));
    /* Delivered again after the call ended (a scheduler re-issue): nothing,
     * as the lead's next job, a marker, shows once it ends. */
    ds_job_send(fx->w, &j);
    ds_marker(fx->w, &j, "+15550003091", 20000);
    assert_int_equal(ds_count_status(fx->w, j.attempt_id, P(INITIATED)), 1);
    assert_int_equal(ds_count_status(fx->w, j.attempt_id, P(COMPLETED)), 1);
    assert_int_equal(ds_count_status(fx->w, j.attempt_id, P(SKIPPED)), 0);
    json_t *calls = ds_sim_calls(&fx->sim, j.attempt_id);
    assert_int_equal(json_array_size(calls), 1);
    json_decref(calls);
    assert_true(metric_value(fx->dialer.port, "outdial_dialer_jobs_duplicate_total") >= 2);

    /* A re-delivered job of a placed attempt whose campaign was paused
     * meanwhile: still nothing (a skipped event would give the attempt back). */
    ds_job_t p;
    ds_job_init_send(fx->w, &p, CAMPAIGN, ACCOUNT, "+15550003002");
    ds_wait_terminal(fx->w, p.attempt_id, 20000);
    snprintf(p.campaign_id, sizeof(p.campaign_id), "%s", PAUSED_CAMPAIGN);
    ds_job_send(fx->w, &p);
    /* The marker, a new attempt of the same lead in the paused campaign,
     * is skipped: the skip the re-delivery must not get would be before it. */
    assert_int_equal(ds_marker(fx->w, &p, "+15550003092", 20000).status, P(SKIPPED));
    assert_int_equal(ds_count_status(fx->w, p.attempt_id, P(SKIPPED)), 0);
    ds_sim_invariants_ok(&fx->sim);
}

/* Issue 16 (the full chaos run, attempts_over_limit=2): a job refused at
 * the first check (the window had closed) and then the same attempt's job
 * again, with the window open (a recovery re-issue, or a Kafka re-delivery
 * of a copy with a later window). The scheduler gives a skipped attempt
 * back, so a call under that attempt id would be an attempt never counted:
 * the skip takes the attempt key, and the second copy is a duplicate. */
static void test_skipped_attempt_not_dialed_again(void **state)
{
    fixture_t *fx = *state;
    char key[RKEYS_KEY_MAX], err[256];
    ds_job_t j;
    ds_job_init(fx->w, &j, CAMPAIGN, ACCOUNT, "+15550003003");
    int64_t open_until = j.not_after_us;
    j.not_after_us = od_clock_now_us(&fx->w->clk) - OD_USEC_PER_SEC;
    ds_job_send(fx->w, &j);
    expect_skipped(fx, &j, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_OUTSIDE_WINDOW);
    double duplicates = metric_value(fx->dialer.port, "outdial_dialer_jobs_duplicate_total");
    j.not_after_us = open_until;
    ds_job_send(fx->w, &j);
    ds_marker(fx->w, &j, "+15550003093", 20000);
    assert_int_equal(ds_sim_placed(&fx->sim, j.attempt_id), 0);
    assert_int_equal(ds_count_status(fx->w, j.attempt_id, P(INITIATED)), 0);
    assert_int_equal(ds_count_status(fx->w, j.attempt_id, P(SKIPPED)), 1);
    assert_true(metric_value(fx->dialer.port, "outdial_dialer_jobs_duplicate_total") >=
                duplicates + 1);
    /* The skip's attempt key is what refused the second copy. */
    char *holder = NULL;
    rkeys_attempt(fx->w->redis_prefix, j.attempt_id, key);
    assert_int_equal(redis_get(fx->w->redis, key, &holder, NULL, err, sizeof(err)), OD_OK);
    free(holder);
    ds_sim_invariants_ok(&fx->sim);
}

/* A provider's "ringing" status update for the call call_id of the attempt. */
static void ringing_body(char *body, size_t size, const char *call_id, const char *attempt_id,
                         const char *lead_id)
{
    snprintf(body, size,
             "{\"message\":{\"type\":\"status-update\",\"status\":\"ringing\",\"call\":{\"id\":"
             "\"%s\",\"metadata\":{\"attempt_id\":\"%s\",\"lead_id\":\"%s\","
             "\"campaign_id\":\"" CAMPAIGN "\",\"account_id\":\"" ACCOUNT "\"}}}}",
             call_id, attempt_id, lead_id);
}

static void test_webhook_auth_and_validation(void **state)
{
    fixture_t *fx = *state;
    char attempt[UUID_STR_LEN], lead[UUID_STR_LEN], body[1024];
    uuid_str_new(attempt);
    uuid_str_new(lead);
    ringing_body(body, sizeof(body), "forged-call", attempt, lead);
    const char *bad[] = {"x-vapi-secret: wrong-secret-wrong", NULL};
    const char *prefix[] = {"x-vapi-secret: whsec-dialer", NULL};
    const char *longer[] = {"x-vapi-secret: " DS_SECRET "x", NULL};
    const char *good[] = {"x-vapi-secret: " DS_SECRET, NULL};
    const char *const *refused[] = {bad, prefix, longer, NULL};
    for (size_t i = 0; i < 4; i++) {
        ds_reply_t r = ds_http(fx->dialer.port, "POST", "/webhooks/vapi", refused[i], body);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.body, "unauthorized"));
        free(r.body);
    }
    /* Malformed with the right secret: 400 with a message, nothing published. */
    static const struct {
        const char *body;
        const char *want;
    } malformed[] = {
        {"{not json", "not JSON"},
        {"{\"message\":{\"type\":\"status-update\",\"status\":\"ringing\"}}",
         "message.call is missing"},
        {"{\"message\":{\"type\":\"end-of-call-report\",\"call\":{\"id\":\"x\"}}}",
         "metadata is missing"},
    };
    for (size_t i = 0; i < 3; i++) {
        ds_reply_t r = ds_http(fx->dialer.port, "POST", "/webhooks/vapi", good, malformed[i].body);
        if (r.status != 400 || !strstr(r.body, malformed[i].want))
            fail_msg("malformed %zu: %ld %s", i, r.status, r.body);
        free(r.body);
    }
    /* Other message types are acknowledged and ignored. */
    ds_reply_t r = ds_http(fx->dialer.port, "POST", "/webhooks/vapi", good,
                           "{\"message\":{\"type\":\"transcript\",\"transcript\":\"hello\"}}");
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_true(
        metric_value(fx->dialer.port, "outdial_dialer_webhooks_total{type=\"unauthorized\"}") >= 4);
    assert_true(
        metric_value(fx->dialer.port, "outdial_dialer_webhooks_total{type=\"malformed\"}") >= 3);

    /* The marker: a genuine message for another attempt of the same lead,
     * published on the same partition after anything the refused messages
     * above could have published. Once it is in, they published nothing. */
    char marker_attempt[UUID_STR_LEN], marker[1024];
    uuid_str_new(marker_attempt);
    ringing_body(marker, sizeof(marker), "marker-call", marker_attempt, lead);
    r = ds_http(fx->dialer.port, "POST", "/webhooks/vapi", good, marker);
    assert_int_equal(r.status, 200);
    free(r.body);
    ds_event_t evs[4];
    HARNESS_WAIT(ds_events_of(fx->w, marker_attempt, evs, 4) == 1, 5000, "the marker's event");
    assert_int_equal(ds_events_of(fx->w, attempt, evs, 4), 0);

    /* The genuine message for a call another dialer placed: published,
     * answered 200 with its event id, and a second copy gets the same id. */
    r = ds_http(fx->dialer.port, "POST", "/webhooks/vapi", good, body);
    assert_int_equal(r.status, 200);
    json_t *a1 = json_loads(r.body, 0, NULL);
    free(r.body);
    r = ds_http(fx->dialer.port, "POST", "/webhooks/vapi", good, body);
    assert_int_equal(r.status, 200);
    json_t *a2 = json_loads(r.body, 0, NULL);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(a1, "event_id")),
                        json_string_value(json_object_get(a2, "event_id")));
    HARNESS_WAIT(ds_events_of(fx->w, attempt, evs, 4) >= 2, 5000, "the genuine message's events");
    assert_int_equal(ds_events_of(fx->w, attempt, evs, 4), 2);
    assert_string_equal(evs[0].event_id, json_string_value(json_object_get(a1, "event_id")));
    assert_string_equal(evs[0].event_id, evs[1].event_id);
    assert_int_equal(evs[0].status, P(RINGING));
    json_decref(a1);
    json_decref(a2);
}

static void test_duplicated_webhooks(void **state)
{
    fixture_t *fx = *state;
    ds_sim_faults(&fx->sim, "{\"duplicate\":1}");
    ds_job_t jobs[3];
    for (int i = 0; i < 3; i++) {
        ds_job_initf(fx->w, &jobs[i], CAMPAIGN, ACCOUNT, "+1555000400%d", i);
        ds_job_send(fx->w, &jobs[i]);
    }
    for (int i = 0; i < 3; i++) {
        ds_wait_terminal(fx->w, jobs[i].attempt_id, 20000);
        /* the duplicate of the report comes right after */
        int64_t deadline = harness_ms() + 5000;
        while (ds_count_status(fx->w, jobs[i].attempt_id, P(COMPLETED)) < 2 &&
               harness_ms() < deadline)
            harness_sleep_ms(20);
        events_consistent(fx, &jobs[i]);
        assert_int_equal(ds_count_status(fx->w, jobs[i].attempt_id, P(RINGING)), 2);
        assert_int_equal(ds_count_status(fx->w, jobs[i].attempt_id, P(COMPLETED)), 2);
        assert_int_equal(ds_count_status(fx->w, jobs[i].attempt_id, P(INITIATED)), 1);
        assert_int_equal(ds_sim_placed(&fx->sim, jobs[i].attempt_id), 1);
    }
    ds_sim_faults(&fx->sim, "{\"duplicate\":0}");
    ds_sim_invariants_ok(&fx->sim);
}

static void test_lost_webhooks_reconciled(void **state)
{
    fixture_t *fx = *state;
    double before = metric_value(fx->dialer.port, "outdial_dialer_reconciled_total");
    /* Every webhook lost: only the lookup can tell how the calls ended.
     * 60 s of campaign time is one real second at x60. */
    ds_sim_faults(&fx->sim, "{\"lost\":1}");
    ds_job_t all[2];
    ds_job_init(fx->w, &all[0], CAMPAIGN, ACCOUNT, "+15550000004"); /* human-goal */
    ds_job_init(fx->w, &all[1], CAMPAIGN, ACCOUNT, "+15550000001"); /* busy */
    for (int i = 0; i < 2; i++) {
        all[i].max_call_duration_s = 60;
        ds_job_send(fx->w, &all[i]);
    }
    for (int i = 0; i < 2; i++) {
        ds_event_t t = ds_wait_terminal(fx->w, all[i].attempt_id, 30000);
        json_t *rec = sim_record(fx, all[i].attempt_id);
        assert_string_equal(t.ended_reason,
                            json_string_value(json_object_get(rec, "ended_reason")));
        assert_int_equal(t.cost_minor, json_integer_value(json_object_get(rec, "cost_cents")));
        assert_int_equal(t.duration_ms, json_integer_value(json_object_get(rec, "talk_ms")));
        assert_int_equal(ds_count_status(fx->w, all[i].attempt_id, P(INITIATED)), 1);
        assert_int_equal(ds_count_status(fx->w, all[i].attempt_id, P(RINGING)), 0);
        json_decref(rec);
    }
    ds_event_t t = ds_wait_terminal(fx->w, all[0].attempt_id, 1000);
    assert_int_equal(t.status, P(COMPLETED));
    assert_int_equal(t.answered_by, OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN);
    assert_non_null(strstr(t.vars, "\"appointment_booked\":true"));
    assert_int_equal(ds_wait_terminal(fx->w, all[1].attempt_id, 1000).status, P(BUSY));

    /* Half the webhooks lost, several calls: every call still ends once,
     * with the id the report would have had. */
    ds_sim_faults(&fx->sim, "{\"lost\":0.5}");
    ds_job_t some[8];
    for (int i = 0; i < 8; i++) {
        ds_job_initf(fx->w, &some[i], CAMPAIGN, ACCOUNT, "+1555000500%d", i);
        some[i].max_call_duration_s = 60;
        ds_job_send(fx->w, &some[i]);
    }
    for (int i = 0; i < 8; i++) {
        ds_event_t e = ds_wait_terminal(fx->w, some[i].attempt_id, 30000);
        assert_int_equal(e.status, P(COMPLETED));
        events_consistent(fx, &some[i]);
    }
    ds_sim_faults(&fx->sim, "{\"lost\":0}");
    double after = metric_value(fx->dialer.port, "outdial_dialer_reconciled_total");
    print_message("calls reconciled by lookup: %.0f\n", after - before);
    assert_true(after - before >= 2);
    /* Reconciliation released the line locks too. */
    char line[RKEYS_KEY_MAX], err[256];
    rkeys_line(fx->w->redis_prefix, "+15550000004", line);
    char *v = NULL;
    assert_int_equal(redis_get(fx->w->redis, line, &v, NULL, err, sizeof(err)), OD_ERR_NOT_FOUND);
    ds_sim_invariants_ok(&fx->sim);
}

static void test_create_call_timeout(void **state)
{
    fixture_t *fx = *state;
    /* The provider places the call but answers after 4 s; the dialer gives
     * up waiting at 2 s. The call's first webhook proves it exists: one
     * initiated event, then the call as usual. */
    ds_sim_faults(&fx->sim, "{\"timeout\":{\"p\":1,\"ms\":4000}}");
    ds_job_t j;
    ds_job_init_send(fx->w, &j, CAMPAIGN, ACCOUNT, "+15550007001");
    ds_event_t t = ds_wait_terminal(fx->w, j.attempt_id, 20000);
    assert_int_equal(t.status, P(COMPLETED));
    char seq[256];
    sequence(fx, j.attempt_id, seq, sizeof(seq));
    assert_string_equal(seq, "initiated,ringing,in_progress,completed");
    json_t *rec = sim_record(fx, j.attempt_id);
    ds_event_t evs[8];
    ds_events_of(fx->w, j.attempt_id, evs, 8);
    assert_string_equal(evs[0].provider_call_id, json_string_value(json_object_get(rec, "id")));
    json_decref(rec);
    assert_true(metric_value(fx->dialer.port,
                             "outdial_dialer_provider_errors_total{class=\"timeout\"}") >= 1);

    /* No answer and no webhook at all: after the grace, failed transient
     * (an event id of its own, so a late real result is still recorded). */
    ds_sim_faults(&fx->sim, "{\"lost\":1}");
    ds_job_init_send(fx->w, &j, CAMPAIGN, ACCOUNT, "+15550007002");
    t = ds_wait_terminal(fx->w, j.attempt_id, 20000);
    ds_sim_faults(&fx->sim, "{\"lost\":0,\"timeout\":{\"p\":0}}");
    expect_failed_transient(&t, "provider-no-answer");
    assert_int_equal(ds_count_status(fx->w, j.attempt_id, P(INITIATED)), 0);
    /* The call may be live: its number stays locked until the lease ends. */
    char line[RKEYS_KEY_MAX], err[256];
    rkeys_line(fx->w->redis_prefix, j.e164, line);
    char *holder = NULL;
    assert_int_equal(redis_get(fx->w->redis, line, &holder, NULL, err, sizeof(err)), OD_OK);
    assert_string_equal(holder, j.attempt_id);
    free(holder);
    ds_sim_invariants_ok(&fx->sim);
}

/* Stops the dialer (it must exit cleanly) and starts it again with
 * dialer_env plus extra (NULL-terminated; NULL for none). */
static void dialer_restart(fixture_t *fx, const char *const *extra)
{
    int status = harness_stop(fx->dialer.pid, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const char *env[24];
    size_t ne = 0;
    for (; dialer_env[ne]; ne++)
        env[ne] = dialer_env[ne];
    for (size_t i = 0; extra && extra[i] && ne < 23; i++)
        env[ne++] = extra[i];
    env[ne] = NULL;
    ds_dialer_start(&fx->dialer, &fx->sim, fx->dialer.port, env);
}

/* A create-call request that waits to be sent (here for the dialer's one
 * provider connection, busy with a slow answer) is looked at again the
 * moment it would leave: past the window's end less the guard, it is not
 * sent. Before, the last look came when the request was queued, and
 * tests/fault/chaos found calls reaching the provider up to a second
 * (20 campaign minutes) after the window closed, under a slow provider or
 * a stalled Redis. */
static void test_queued_request_refused_after_window(void **state)
{
    fixture_t *fx = *state;
    static const char *const one_conn[] = {"OUTDIAL_DIALER_MAX_CONNECTIONS=1",
                                           "OUTDIAL_DIALER_REQUEST_TIMEOUT_MS=5000", NULL};
    dialer_restart(fx, one_conn);
    ds_sim_faults(&fx->sim, "{\"slow\":{\"p\":1,\"min_ms\":1500,\"max_ms\":1500}}");

    ds_job_t first;
    ds_job_init_send(fx->w, &first, CAMPAIGN, ACCOUNT, "+15550007701");
    int64_t deadline = harness_ms() + 10000;
    while (ds_sim_placed(&fx->sim, first.attempt_id) == 0) {
        if (harness_ms() > deadline)
            fail_msg("the first call never reached the simulator");
        harness_sleep_ms(5);
    }
    /* The connection is busy for 1.5 s. The second job's window closes
     * 1 s (real) from now: its checks and the first look pass (more than
     * the 500 ms guard left), then its request waits for the connection. */
    ds_job_t second;
    ds_job_init(fx->w, &second, CAMPAIGN, ACCOUNT, "+15550007702");
    second.not_after_us =
        od_clock_now_us(&fx->w->clk) + (int64_t)(1.0 * OD_USEC_PER_SEC * fx->w->clk.scale);
    ds_job_send(fx->w, &second);

    expect_skipped(fx, &second, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_OUTSIDE_WINDOW);
    /* Nothing dialed, so no line lock is left behind. */
    char key[RKEYS_KEY_MAX], err[256];
    char *holder = NULL;
    rkeys_line(fx->w->redis_prefix, second.e164, key);
    assert_int_equal(redis_get(fx->w->redis, key, &holder, NULL, err, sizeof(err)),
                     OD_ERR_NOT_FOUND);
    assert_int_equal(ds_wait_terminal(fx->w, first.attempt_id, 20000).status, P(COMPLETED));

    ds_sim_faults(&fx->sim, "{\"slow\":{\"p\":0}}");
    /* The one-connection dialer stays: the next test starts its own. */
    ds_sim_invariants_ok(&fx->sim);
}

/* A dialer whose host clock runs 5 s behind reads Redis's time instead:
 * a job whose window closed a second ago (real) is refused, though the
 * dialer's own clock would still see 4 s of window. Without the
 * correction it was placed (tests/fault/chaos plays a clock 5 s off). */
static void test_clock_behind_corrected(void **state)
{
    fixture_t *fx = *state;
    static const char *const behind[] = {"OUTDIAL_CLOCK_SKEW_MS=-5000", NULL};
    dialer_restart(fx, behind);

    /* The dialer dials: a job with its window open is placed. */
    ds_job_t open;
    ds_job_init_send(fx->w, &open, CAMPAIGN, ACCOUNT, "+15550007801");
    json_t *rec = sim_record(fx, open.attempt_id);
    json_decref(rec);

    ds_job_t late;
    ds_job_init(fx->w, &late, CAMPAIGN, ACCOUNT, "+15550007802");
    late.not_after_us =
        od_clock_now_us(&fx->w->clk) - (int64_t)(OD_USEC_PER_SEC * fx->w->clk.scale);
    ds_job_send(fx->w, &late);
    expect_skipped(fx, &late, OUTDIAL__V1__SKIP_REASON__SKIP_REASON_OUTSIDE_WINDOW);

    /* The correction it applies, about the 5 s its host is behind. */
    ds_reply_t r = ds_http(fx->dialer.port, "GET", "/metrics", NULL, NULL);
    const char *m = r.body ? strstr(r.body, "\noutdial_dialer_clock_offset_ms ") : NULL;
    assert_non_null(m);
    double offset_ms = strtod(m + strlen("\noutdial_dialer_clock_offset_ms "), NULL);
    free(r.body);
    if (offset_ms < 4900 || offset_ms > 5100)
        fail_msg("clock offset %.1f ms, want about 5000", offset_ms);
    assert_true(ds_dialer_logged(&fx->dialer, "behind Redis's"));
    ds_sim_invariants_ok(&fx->sim);
}

static void test_sigterm_mid_run(void **state)
{
    fixture_t *fx = *state;
    /* A dialer that takes 4 jobs at a time against a provider that answers
     * each create-call after 300 ms: the stop comes mid-run, with requests
     * in flight and jobs not yet taken. */
    static const char *const four_at_a_time[] = {"OUTDIAL_DIALER_MAX_INFLIGHT=4", NULL};
    dialer_restart(fx, four_at_a_time);
    ds_sim_faults(&fx->sim, "{\"slow\":{\"p\":1,\"min_ms\":300,\"max_ms\":300}}");

    enum { N = 60 };
    ds_job_t jobs[N];
    for (int i = 0; i < N; i++) {
        ds_job_initf(fx->w, &jobs[i], CAMPAIGN, ACCOUNT, "+155500060%02d", i);
        ds_job_send(fx->w, &jobs[i]);
    }
    /* As soon as the first calls are placed, SIGTERM. */
    int64_t deadline = harness_ms() + 20000;
    for (;;) {
        int initiated = 0;
        for (int i = 0; i < N; i++)
            initiated += ds_count_status(fx->w, jobs[i].attempt_id, P(INITIATED)) > 0;
        if (initiated >= 3)
            break;
        if (harness_ms() > deadline)
            fail_msg("no call placed");
        harness_sleep_ms(2);
    }
    int64_t stop_started = harness_ms();
    int status = harness_stop(fx->dialer.pid, SIGTERM);
    fx->dialer.pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ds_sim_faults(&fx->sim, "{\"slow\":{\"p\":0}}");
    int dialed_before = 0;
    for (int i = 0; i < N; i++)
        dialed_before += ds_sim_placed(&fx->sim, jobs[i].attempt_id) > 0;
    print_message("placed by the stopped dialer: %d of %d; it exited in %lld ms\n", dialed_before,
                  N, (long long)(harness_ms() - stop_started));
    /* Every call it placed has its initiated event: it finished the requests
     * in flight before leaving. */
    for (int i = 0; i < N; i++)
        if (ds_sim_placed(&fx->sim, jobs[i].attempt_id) > 0) {
            int64_t until = harness_ms() + 5000;
            while (ds_count_status(fx->w, jobs[i].attempt_id, P(INITIATED)) == 0 &&
                   harness_ms() < until)
                harness_sleep_ms(10);
            assert_int_equal(ds_count_status(fx->w, jobs[i].attempt_id, P(INITIATED)), 1);
        }
    assert_true(dialed_before < N);

    /* A new dialer takes what the first did not store. */
    ds_dialer_start(&fx->dialer, &fx->sim, fx->dialer.port, dialer_env);
    for (int i = 0; i < N; i++) {
        int64_t until = harness_ms() + 30000;
        while (ds_count_status(fx->w, jobs[i].attempt_id, P(INITIATED)) == 0 &&
               harness_ms() < until)
            harness_sleep_ms(20);
        if (ds_count_status(fx->w, jobs[i].attempt_id, P(INITIATED)) != 1)
            fail_msg("job %d (%s): %zu initiated events", i, jobs[i].attempt_id,
                     ds_count_status(fx->w, jobs[i].attempt_id, P(INITIATED)));
        assert_int_equal(ds_sim_placed(&fx->sim, jobs[i].attempt_id), 1);
    }
    /* Calls placed before the stop ended while the first dialer still
     * answered webhooks (its drain), the others with the second one. */
    int ended = 0;
    for (int i = 0; i < N; i++) {
        ds_event_t t = ds_wait_terminal(fx->w, jobs[i].attempt_id, 20000);
        ended += t.status == P(COMPLETED);
        assert_int_equal(ds_count_status(fx->w, jobs[i].attempt_id, P(SKIPPED)), 0);
    }
    assert_int_equal(ended, N);
    ds_sim_invariants_ok(&fx->sim);
}

OD_TEST_MAIN(setup, teardown, test_every_outcome, test_provider_refusals, test_refusals,
             test_same_job_twice, test_skipped_attempt_not_dialed_again,
             test_webhook_auth_and_validation, test_duplicated_webhooks,
             test_lost_webhooks_reconciled, test_create_call_timeout,
             test_queued_request_refused_after_window, test_clock_behind_corrected,
             test_sigterm_mid_run)

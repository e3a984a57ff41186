/*
 * The statistics' counters (db/migrations/012_campaign_counters.sql, with
 * the A/B arms' and the hourly counters of 020, the caller-ID numbers' of
 * 021) against a full recount,
 * after real changes through every path that writes leads and calls: the
 * importer, leads added as the API and leads-in add them, dispatch (to two
 * A/B arms), call results (answered with cost and goal, voicemail, busy,
 * failed, skipped; from three caller-ID numbers), a call's number changed,
 * the goal variable changed afterwards, recovery of a
 * lost dial job, a lead reset, a lead deleted with its secondary contact
 * and calls, a completed campaign reopened by a late lead, compaction, and
 * the campaign deleted. After each step the recount must find no
 * difference, and a few counters (the arms' and the hours' among them) are
 * checked against values known from the script, so that an empty pair of
 * sides cannot pass.
 *
 * Also: the recount names a wrong counter with both values (an arm's and
 * an hour's with their arm and hour) and --fix repairs it; and a writer
 * never waits for another's uncommitted counters (the ledger design), nor
 * for a compaction another transaction holds.
 */
#include "sched_support.h"
#include "test_main.h"

#include "importer.h"
#include "pg_connect.h"
#include "reopen.h"

#define NY(hhmm) T("2026-06-10T" hhmm "-04:00")

/* Asserts that campaign_id's counters equal their recount, listing every
 * difference when they do not. */
static void counters_match(pg_conn_t *db, const char *campaign_id, const char *step)
{
    const char *diffs = sql_text(db,
                                 "SELECT coalesce(string_agg(name || ' stored ' || stored ||"
                                 " ' recounted ' || recounted, '; '), '')"
                                 " FROM campaign_counter_recount($1::uuid)",
                                 1, campaign_id);
    if (*diffs)
        fail_msg("after %s, counters differ from the recount: %s", step, diffs);
}

/* A counter's stored value (the sum of its ledger rows). */
static int64_t counter(pg_conn_t *db, const char *campaign_id, const char *name)
{
    return sql_i64(db,
                   "SELECT coalesce(sum(value), 0)::bigint FROM campaign_counter"
                   " WHERE campaign_id = $1::uuid AND hour IS NULL AND name = $2",
                   2, campaign_id, name);
}

typedef struct counter_want {
    const char *name;
    int64_t value;
} counter_want_t;

/* Asserts that each of campaign_id's counters in want (n of them) holds its
 * value, naming the step and the counter where one does not. */
static void counters_want(pg_conn_t *db, const char *campaign_id, const char *step,
                          const counter_want_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t got = counter(db, campaign_id, want[i].name);
        if (got != want[i].value)
            fail_msg("after %s, counter %s is %lld, want %lld", step, want[i].name, (long long)got,
                     (long long)want[i].value);
    }
}

/* How many rows the campaign's ledger holds for the hour (RFC 3339),
 * whatever their counter: more than one per counter until compaction. */
static int64_t hour_rows(pg_conn_t *db, const char *campaign_id, const char *hour)
{
    return sql_i64(db,
                   "SELECT count(*) FROM campaign_counter WHERE campaign_id = $1::uuid"
                   " AND hour = $2::timestamptz",
                   2, campaign_id, hour);
}

/* An hourly counter's stored value in the hour starting at `hour`. */
static int64_t hour_counter(pg_conn_t *db, const char *campaign_id, const char *hour,
                            const char *name)
{
    return sql_i64(db,
                   "SELECT coalesce(sum(value), 0)::bigint FROM campaign_counter"
                   " WHERE campaign_id = $1::uuid AND hour = $2::timestamptz AND name = $3",
                   3, campaign_id, hour, name);
}

/* The sum of counter arms.<n>.<figure> over the arms 0 and 1. */
static int64_t arms_counter(pg_conn_t *db, const char *campaign_id, const char *figure)
{
    return sql_i64(db,
                   "SELECT coalesce(sum(value), 0)::bigint FROM campaign_counter"
                   " WHERE campaign_id = $1::uuid AND hour IS NULL"
                   " AND name IN ('arms.0.' || $2, 'arms.1.' || $2)",
                   2, campaign_id, figure);
}

/* Gives campaign_id two A/B arms of weight 1: its assistant and a second
 * one like it (migration 018). */
static void arms_two(pg_conn_t *db, const sched_spec_t *spec, const sched_world_t *w)
{
    char second[UUID_STR_LEN];
    seed_assistant(db, w->account_id, spec, second);
    sql_exec(db,
             "UPDATE campaign SET arms = jsonb_build_array("
             " jsonb_build_object('assistant_id', $2::text, 'weight', 1),"
             " jsonb_build_object('assistant_id', $3::text, 'weight', 1)) WHERE id = $1::uuid",
             3, w->campaign_id, w->assistant_id, second);
}

/* Imports the corpus file tests/data/csv/<file> into campaign_id through
 * the importer's library (COPY and INSERT paths, in batches of 3 rows). */
static void import_file(sched_fx_t *fx, const char *campaign_id, const char *file)
{
    char err[1024], path[1024], import_id[37];
    snprintf(path, sizeof(path), "%s/tests/data/csv/%s", support_env("OUTDIAL_SOURCE_DIR"), file);
    if (importer_file_stage(fx->db, campaign_id, path, "US", NULL, import_id, err, sizeof(err)))
        fail_msg("stage %s: %s", file, err);
    importer_config_t cfg = {.dsn = fx->dsn, .workers = 1, .batch_rows = 3};
    importer_result_t result;
    if (importer_run(fx->db, &cfg, import_id, NULL, NULL, &result, err, sizeof(err)))
        fail_msg("import %s: %s", file, err);
    assert_int_equal(result.outcome, IMPORTER_COMPLETED);
}

/* The id of the n-th (0-based) lead of campaign_id in status, by phone. */
static const char *lead_nth(pg_conn_t *db, const char *campaign_id, const char *status, int n)
{
    return sql_text(db,
                    "SELECT id::text FROM lead WHERE campaign_id = $1::uuid"
                    " AND status = $2::lead_status ORDER BY e164 OFFSET $3::int LIMIT 1",
                    3, campaign_id, status, i64s(n));
}

static void test_counters_follow_every_path(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.goal_variable = "interested";
    spec.max_concurrent_calls = 100;
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    arms_two(fx->db, &spec, &w);
    const char *c = w.campaign_id;
    counters_match(fx->db, c, "an empty campaign");

    /* The importer: 7 leads with their valid secondaries (COPY and merge). */
    import_file(fx, c, "secondary_phones.csv");
    counters_match(fx->db, c, "the import");
    int64_t imported =
        sql_i64(fx->db, "SELECT count(*) FROM lead WHERE campaign_id = $1::uuid", 1, c);
    assert_true(imported > 7);
    assert_int_equal(counter(fx->db, c, "leads"), imported);
    assert_int_equal(counter(fx->db, c, "leads.secondary"), imported - 7);

    /* Leads added one by one, one with an invalid number kept. */
    char a[UUID_STR_LEN], b[UUID_STR_LEN], b2[UUID_STR_LEN];
    seed_lead(fx->db, c, "+12125550101", NULL, a);
    seed_lead(fx->db, c, "+12125550102", NULL, b);
    seed_secondary(fx->db, c, b, 1, "+12125550103", b2);
    sql_exec(fx->db,
             "INSERT INTO lead (campaign_id, e164, raw_phone, invalid_reason)"
             " VALUES ($1::uuid, NULL, '12', 'too short')",
             1, c);
    counters_match(fx->db, c, "leads added");
    assert_int_equal(counter(fx->db, c, "leads.invalid"), 1);
    assert_int_equal(counter(fx->db, c, "leads.callable"), 7 + 2);

    /* Dispatch: every callable lead scheduled, its call written. */
    dispatch_stats_t st = sched_dispatch_all(fx, NY("13:00"));
    assert_int_equal(st.jobs_issued, 9);
    counters_match(fx->db, c, "dispatch");
    assert_int_equal(counter(fx->db, c, "leads.status.scheduled"), 9);
    assert_int_equal(counter(fx->db, c, "leads.callable"), 0);
    /* Each lead dispatched got an arm (the split is a hash of its id). */
    assert_int_equal(arms_counter(fx->db, c, "leads"), 9);

    /* Results of five calls; the others stay in flight. */
    const ev_spec_t ends[] = {
        {.status = EV_COMPLETED,
         .answered_by = BY_HUMAN,
         .vars = "{\"interested\": true}",
         .ended_us = NY("13:03"),
         .cost_minor = 42,
         .caller_id = "+12125550100"},
        {.status = EV_COMPLETED,
         .answered_by = BY_VOICEMAIL,
         .ended_us = NY("13:02"),
         .cost_minor = 7,
         .caller_id = "+12125550100"},
        {.status = EV_BUSY, .caller_id = "+13105550100"},
        {.status = EV_FAILED, .failure = FC_PERMANENT},
        {.status = EV_SKIPPED, .skip = SK_WINDOW, .caller_id = "+14155550100"},
    };
    char answered[UUID_STR_LEN] = "";
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        const char *lead = lead_nth(fx->db, c, "scheduled", 0);
        if (i == 0)
            snprintf(answered, sizeof(answered), "%s", lead);
        const dialjob_t *job = sched_job_last(lead);
        assert_non_null(job);
        sched_call(fx, job, &ends[i]);
        counters_match(fx->db, c, "a call result");
    }
    static const counter_want_t results[] = {
        {"calls.cost_minor", 42 + 7}, {"calls.duration_s", (3 * 60 - 2) + (2 * 60 - 2)},
        {"leads.goal_achieved", 1},   {"calls.answered_by.human", 1},
        {"calls.status.skipped", 1},
    };
    counters_want(fx->db, c, "the calls' results", results, sizeof(results) / sizeof(results[0]));
    /* Per arm: four calls placed (the skipped one is not), one answered by
     * a person, the two costs; the answered lead finished with its goal. */
    assert_int_equal(arms_counter(fx->db, c, "calls"), 4);
    assert_int_equal(arms_counter(fx->db, c, "answered"), 1);
    assert_int_equal(arms_counter(fx->db, c, "spend_minor"), 42 + 7);
    assert_int_equal(arms_counter(fx->db, c, "goals"), 1);
    /* Per number (caller_ids.<e164>.*, 021): the two of +12125550100 placed,
     * one answered; the busy one of +13105550100; the skipped one of
     * +14155550100 placed nothing but lists its number; the failed call
     * came from no number and moves none. */
    static const counter_want_t per_number[] = {
        {"caller_ids.+12125550100.calls", 2}, {"caller_ids.+12125550100.answered", 1},
        {"caller_ids.+13105550100.calls", 1}, {"caller_ids.+13105550100.answered", 0},
        {"caller_ids.+14155550100.calls", 0}, {"caller_ids.+14155550100.skipped", 1},
    };
    counters_want(fx->db, c, "the calls' results", per_number,
                  sizeof(per_number) / sizeof(per_number[0]));
    assert_int_equal(sql_i64(fx->db,
                             "SELECT count(DISTINCT caller_id) FROM call"
                             " WHERE campaign_id = $1::uuid",
                             1, c),
                     3);
    /* A call's number corrected (a writer other than results): the counters
     * follow it from one number to the other. */
    sql_exec(fx->db,
             "UPDATE call SET caller_id = '+13105550100' WHERE campaign_id = $1::uuid"
             " AND caller_id = '+12125550100' AND answered_by = 'voicemail'",
             1, c);
    counters_match(fx->db, c, "a call's number changed");
    static const counter_want_t moved[] = {
        {"caller_ids.+12125550100.calls", 1},
        {"caller_ids.+13105550100.calls", 2},
    };
    counters_want(fx->db, c, "a call's number changed", moved, sizeof(moved) / sizeof(moved[0]));
    /* Per hour: the four calls started at 13:00:02 in New York (17:00 UTC);
     * the skipped one counts at the hour it was recorded. */
    const char *h17 = "2026-06-10T17:00:00Z";
    assert_int_equal(hour_counter(fx->db, c, h17, "hours.placed"), 4);
    assert_int_equal(hour_counter(fx->db, c, h17, "hours.answered"), 1);
    assert_int_equal(hour_counter(fx->db, c, h17, "hours.goals"), 1);
    assert_int_equal(sql_i64(fx->db,
                             "SELECT coalesce(sum(value), 0)::bigint FROM campaign_counter"
                             " WHERE campaign_id = $1::uuid AND name = 'hours.calls'",
                             1, c),
                     5);

    /* The goal variable changed (a paused campaign's settings): a call's
     * goal is judged when its variables come, so nothing moves. */
    sql_exec(fx->db, "UPDATE campaign SET goal_variable = NULL WHERE id = $1::uuid", 1, c);
    counters_match(fx->db, c, "the goal variable changed");
    assert_int_equal(hour_counter(fx->db, c, h17, "hours.goals"), 1);

    /* Recovery of the jobs that never reported (scheduled past its timeout). */
    sched_recover(fx, NY("13:30"));
    counters_match(fx->db, c, "recovery");

    /* The API's reset of the answered lead (its statement in leads.c). */
    sql_exec(
        fx->db,
        "UPDATE lead SET status = 'created', attempts = 0, next_attempt_at = od_ts($2::bigint),"
        " outcome = NULL, current_attempt_id = NULL, reissues = 0,"
        " status_changed_at = od_ts($2::bigint), updated_at = now() WHERE id = $1::uuid",
        2, answered, i64s(NY("13:40")));
    counters_match(fx->db, c, "a reset");

    /* A primary deleted: its secondary and its calls go with it. */
    int64_t calls_before = counter(fx->db, c, "calls");
    sql_exec(fx->db, "DELETE FROM lead WHERE id = $1::uuid", 1, b);
    counters_match(fx->db, c, "a lead deleted");
    assert_int_equal(counter(fx->db, c, "leads"), imported + 4 - 2);
    assert_true(counter(fx->db, c, "calls") < calls_before);

    /* Completed, then reopened by a late lead (lib/campaign/reopen). */
    sql_exec(fx->db,
             "UPDATE lead SET status = 'completed', outcome = 'manual',"
             " current_attempt_id = NULL WHERE campaign_id = $1::uuid",
             1, c);
    sql_exec(fx->db, "UPDATE campaign SET status = 'completed' WHERE id = $1::uuid", 1, c);
    char late[UUID_STR_LEN];
    seed_lead(fx->db, c, "+12125550199", NULL, late);
    int reopened = 0;
    char err[512];
    if (reopen_campaigns(fx->db, g_env.redis, g_env.redis_prefix, NY("14:00"), &reopened, err,
                         sizeof(err)))
        fail_msg("reopen_campaigns: %s", err);
    assert_int_equal(reopened, 1);
    counters_match(fx->db, c, "a reopening");
    assert_int_equal(counter(fx->db, c, "leads.callable"), 1);

    /* The triggers' compaction folds the campaign's counters and the hours
     * their statement moved (here 17:00), not the other hours (16:00).
     * Rows that cancel out make sure each hour has more than one row (a
     * trigger may have folded them already). */
    const char *h16 = "2026-06-10T16:00:00Z";
    sql_exec(fx->db,
             "INSERT INTO campaign_counter (campaign_id, hour, name, value) VALUES"
             " ($1::uuid, $2::timestamptz, 'hours.placed', 1),"
             " ($1::uuid, $2::timestamptz, 'hours.placed', -1),"
             " ($1::uuid, $3::timestamptz, 'hours.calls', 1),"
             " ($1::uuid, $3::timestamptz, 'hours.calls', -1)",
             3, c, h17, h16);
    sql_exec(fx->db, "SELECT campaign_counter_compact($1::uuid, ARRAY[$2::timestamptz])", 2, c,
             h17);
    counters_match(fx->db, c, "the compaction of an hour");
    const char *rows_sql = "SELECT count(*) - count(DISTINCT name || coalesce(hour::text, ''))"
                           " FROM campaign_counter WHERE campaign_id = $1::uuid"
                           " AND (hour IS NULL OR hour = $2::timestamptz)";
    assert_int_equal(sql_i64(fx->db, rows_sql, 2, c, h17), 0);
    assert_int_equal(hour_rows(fx->db, c, h16), 2);

    /* Compaction folds the ledger into one row per counter, same values. */
    sql_exec(fx->db, "SELECT campaign_counter_compact($1::uuid)", 1, c);
    counters_match(fx->db, c, "compaction");
    assert_int_equal(sql_i64(fx->db,
                             "SELECT count(*) - count(DISTINCT name || coalesce(hour::text, ''))"
                             " FROM campaign_counter WHERE campaign_id = $1::uuid",
                             1, c),
                     0);
    assert_int_equal(hour_counter(fx->db, c, h17, "hours.goals"), 1);
    assert_int_equal(hour_rows(fx->db, c, h16), 0);

    /* The campaign deleted: its counters go with it, nothing left over. */
    sql_exec(fx->db, "DELETE FROM campaign WHERE id = $1::uuid", 1, c);
    assert_int_equal(sql_i64(fx->db, "SELECT count(*) FROM campaign_counter", 0), 0);
}

static void test_recount_reports_and_fixes(void **state)
{
    sched_fx_t *fx = *state;
    sched_world_t w;
    char lead[UUID_STR_LEN];
    seed_world_with_lead(fx->db, &w, "+12125550101", lead);
    seed_lead(fx->db, w.campaign_id, "+12125550102", NULL, lead);
    /* Wrong rows, as a bug or a hand edit would leave them: two of the
     * campaign's, an arm's, an hour's and a number's. */
    sql_exec(fx->db,
             "INSERT INTO campaign_counter (campaign_id, hour, name, value) VALUES"
             " ($1::uuid, NULL, 'leads.status.created', 3),"
             " ($1::uuid, NULL, 'calls.status.busy', 1), ($1::uuid, NULL, 'arms.1.calls', 2),"
             " ($1::uuid, '2026-06-10T17:00:00Z', 'hours.placed', 1),"
             " ($1::uuid, NULL, 'caller_ids.+12125550100.answered', 1)",
             1, w.campaign_id);
    const char *report = sql_text(fx->db,
                                  "SELECT string_agg(name || '=' || stored || '/' || recounted,"
                                  " ' ' ORDER BY name) FROM campaign_counter_recount($1::uuid)",
                                  1, w.campaign_id);
    assert_string_equal(report, "arms.1.calls=2/0 caller_ids.+12125550100.answered=1/0"
                                " calls.status.busy=1/0 hours.2026-06-10T17:00Z.placed=1/0"
                                " leads.status.created=5/2");
    /* fix returns what it repaired, and then nothing differs. */
    assert_int_equal(sql_i64(fx->db,
                             "SELECT count(*) FROM campaign_counter_recount($1::uuid, true)", 1,
                             w.campaign_id),
                     5);
    counters_match(fx->db, w.campaign_id, "fix");
    assert_int_equal(counter(fx->db, w.campaign_id, "leads.status.created"), 2);
}

static void test_writers_never_wait(void **state)
{
    sched_fx_t *fx = *state;
    sched_world_t w;
    char lead[UUID_STR_LEN];
    seed_world_with_lead(fx->db, &w, "+12125550101", lead);
    const char *c = w.campaign_id;

    /* A holds uncommitted counter rows and the campaign's compaction lock. */
    pg_conn_t *other = support_pg_connect(fx->dsn, "test_stats_counters");
    sql_exec(other, "BEGIN", 0);
    sql_exec(other, "INSERT INTO lead (campaign_id, e164) VALUES ($1::uuid, '+12125550102')", 1, c);
    sql_exec(other, "SELECT campaign_counter_compact($1::uuid)", 1, c);

    /* B moves the same counters and compacts, and never waits for A: a
     * wait would hit the lock timeout and fail the statement. */
    sql_exec(fx->db, "SET lock_timeout = '2s'", 0);
    sql_exec(fx->db, "INSERT INTO lead (campaign_id, e164) VALUES ($1::uuid, '+12125550103')", 1,
             c);
    sql_exec(fx->db, "UPDATE lead SET status = 'completed', outcome = 'manual' WHERE id = $1::uuid",
             1, lead);
    sql_exec(fx->db, "SELECT campaign_counter_compact($1::uuid)", 1, c);
    sql_exec(fx->db, "RESET lock_timeout", 0);
    counters_match(fx->db, c, "B's writes beside A's open transaction");

    sql_exec(other, "COMMIT", 0);
    pg_conn_free(other);
    counters_match(fx->db, c, "A's commit");
    assert_int_equal(counter(fx->db, c, "leads"), 3);
}

OD_TEST_MAIN_EACH(sched_env_setup, sched_env_teardown, sched_fx_setup, sched_fx_teardown,
                  test_counters_follow_every_path, test_recount_reports_and_fixes,
                  test_writers_never_wait)

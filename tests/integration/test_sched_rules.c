/*
 * The scheduler's rules against the real Postgres, Redis and Kafka of the
 * local stack (docs/architecture.md §4–§5): calling windows in the assistant's and
 * the lead's own time zones with account quiet hours, pacing (concurrency
 * cap, calls-per-minute bucket), every row of the retry table with
 * goal-based retry off and on, exhausted retries, skipped dial jobs and
 * secondary contacts.
 *
 * Each test gets a fresh database; leads are dispatched with
 * dispatch_campaign() to the library's producer at explicit campaign
 * times, the DialJobs are read back from the topic (sched_support.h), and
 * results are fed to results_apply() as CallEvents. Assertions are on the
 * rows of the database and the messages on the topic.
 */
#include "sched_support.h"
#include "test_main.h"

/* Wed 2026-06-10 in New York (EDT, -04:00). */
#define NY(hhmm) T("2026-06-10T" hhmm "-04:00")

/* The job of a lead must be the one its row names, with the campaign's
 * settings (docs/architecture.md §2: everything a dialer needs). */
static void assert_job_of_lead(sched_fx_t *fx, const sched_world_t *w, const dialjob_t *job,
                               const char *lead_id, int attempt_number, int64_t issued_us,
                               int64_t not_after_us)
{
    assert_non_null(job);
    lead_row_t row = lead_get(fx->db, lead_id);
    assert_string_equal(row.status, "scheduled");
    assert_string_equal(job->attempt_id, row.attempt_id);
    assert_string_equal(job->lead_id, lead_id);
    assert_string_equal(job->campaign_id, w->campaign_id);
    assert_string_equal(job->account_id, w->account_id);
    assert_int_equal(job->attempt_number, attempt_number);
    assert_string_equal(job->e164,
                        sql_text(fx->db, "SELECT e164 FROM lead WHERE id = $1::uuid", 1, lead_id));
    assert_string_equal(job->caller_id, "+12125550000");
    assert_string_equal(job->provider, "vapi");
    assert_string_equal(job->provider_assistant_id, "asst-42");
    assert_string_equal(job->provider_phone_number_id, "pn-7");
    assert_int_equal(job->max_call_duration_s, 600);
    assert_time_equal(job->issued_at_us, issued_us);
    assert_time_equal(job->not_after_us, not_after_us);
}

/* ---- calling windows ---------------------------------------------------- */

/* 09:00–18:00 America/New_York on weekdays, timezone mode assistant: only
 * inside the window do due leads get jobs; outside, nothing moves and the
 * dispatcher says when the window opens. */
static void test_window_assistant_mode(void **state)
{
    sched_fx_t *fx = *state;
    sched_world_t w = seed_world_default(fx->db);
    char leads[3][UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550101", NULL, leads[0]);
    seed_lead(fx->db, w.campaign_id, "+12125550102", NULL, leads[1]);
    seed_lead(fx->db, w.campaign_id, "+442079460103", NULL, leads[2]); /* assistant's clock */

    static const struct {
        const char *name, *now, *next_wake;
    } closed[] = {
        {"before opening", "2026-06-10T08:59:59-04:00", "2026-06-10T09:00-04:00"},
        {"at closing (half-open)", "2026-06-10T18:00-04:00", "2026-06-11T09:00-04:00"},
        {"evening", "2026-06-10T19:30-04:00", "2026-06-11T09:00-04:00"},
        {"Friday evening", "2026-06-12T18:30-04:00", "2026-06-15T09:00-04:00"},
        {"Saturday noon", "2026-06-13T12:00-04:00", "2026-06-15T09:00-04:00"},
        {"Sunday morning", "2026-06-14T10:00-04:00", "2026-06-15T09:00-04:00"},
    };
    for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
        dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, T(closed[i].now));
        if (sched_jobs_count(w.campaign_id) != 0)
            fail_msg("%s: jobs issued outside the window", closed[i].name);
        assert_int_equal(st.jobs_issued, 0);
        assert_time_equal(st.next_wake_us, T(closed[i].next_wake));
        assert_int_equal(leads_in(fx->db, w.campaign_id, "created"), 3);
        for (int k = 0; k < 3; k++) /* still due: a shared window defers nobody */
            assert_true(lead_get(fx->db, leads[k]).next_us == -9223372036854775807LL);
    }

    /* Inside: every due lead, one job each, not_after = today's close. */
    int64_t now = NY("09:00");
    dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 3);
    assert_int_equal(sched_jobs_count(w.campaign_id), 3);
    assert_int_equal(leads_in(fx->db, w.campaign_id, "scheduled"), 3);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sched_jobs_for_lead(leads[k]), 1);
        assert_job_of_lead(fx, &w, sched_job_last(leads[k]), leads[k], 1, now, NY("18:00"));
    }
    /* The lead's variables travel with the job (strings as they are,
     * other JSON as text). */
    const dialjob_t *job = sched_job_last(leads[0]);
    assert_string_equal(dialjob_variable_get(job, "plan"), "gold");
    assert_string_equal(dialjob_variable_get(job, "age"), "36");
    assert_string_equal(job->lead_name, "Ada Lovelace");
    /* Nothing is issued twice: a second pass finds no due lead. */
    st = sched_dispatch(fx, w.campaign_id, now + US_PER_MIN);
    assert_int_equal(st.jobs_issued, 0);
    assert_int_equal(sched_jobs_count(w.campaign_id), 3);
}

/* Timezone mode lead: each person's own clock. At 10:00 UTC on a Wednesday
 * London (11:00) is open; Los Angeles (03:00) and New York (06:00) are
 * not. Only the London lead is scheduled; the others' next_attempt_at move
 * to their own openings, and the dispatcher wakes at the earliest. */
static void test_window_lead_mode(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.timezone_mode = "lead";
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    char london[UUID_STR_LEN], la_col[UUID_STR_LEN], la_prefix[UUID_STR_LEN], ny[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+442079460001", NULL, london); /* +44: prefix */
    seed_lead(fx->db, w.campaign_id, "+12125550002", "America/Los_Angeles", la_col); /* column */
    seed_lead(fx->db, w.campaign_id, "+12135550003", NULL, la_prefix); /* +1 213: prefix */
    seed_lead(fx->db, w.campaign_id, "+12125550004", NULL, ny);        /* +1 212: prefix */
    /* +1 605 maps to Denver and North Dakota's Central zone: the window must
     * be open in both (09:00 MDT to 18:00 CDT). */
    char dakota[UUID_STR_LEN], bad_tz[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+16055550005", NULL, dakota);
    /* A timezone the tz database does not know falls back to the prefix. */
    seed_lead(fx->db, w.campaign_id, "+442079460006", "Mars/Olympus_Mons", bad_tz);

    int64_t now = T("2026-06-10T10:00Z");
    dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 2);
    assert_int_equal(st.leads_deferred, 4);
    assert_int_equal(sched_jobs_count(w.campaign_id), 2);
    /* London closes at 18:00 BST. */
    assert_job_of_lead(fx, &w, sched_job_last(london), london, 1, now, T("2026-06-10T18:00+01:00"));
    assert_job_of_lead(fx, &w, sched_job_last(bad_tz), bad_tz, 1, now, T("2026-06-10T18:00+01:00"));
    assert_time_equal(lead_get(fx->db, dakota).next_us, T("2026-06-10T09:00-06:00"));
    lead_row_t r = lead_get(fx->db, la_col);
    assert_string_equal(r.status, "created");
    assert_time_equal(r.next_us, T("2026-06-10T09:00-07:00"));
    r = lead_get(fx->db, la_prefix);
    assert_string_equal(r.status, "created");
    assert_time_equal(r.next_us, T("2026-06-10T09:00-07:00"));
    r = lead_get(fx->db, ny);
    assert_string_equal(r.status, "created");
    assert_time_equal(r.next_us, T("2026-06-10T09:00-04:00"));
    assert_time_equal(st.next_wake_us, T("2026-06-10T09:00-04:00"));

    /* New York opens first; Los Angeles is still closed and not due. */
    st = sched_dispatch(fx, w.campaign_id, T("2026-06-10T09:00-04:00"));
    assert_int_equal(st.jobs_issued, 1);
    assert_int_equal(st.leads_deferred, 0);
    assert_time_equal(st.next_wake_us, INT64_MAX); /* the others are not due yet */
    assert_job_of_lead(fx, &w, sched_job_last(ny), ny, 1, T("2026-06-10T09:00-04:00"),
                       T("2026-06-10T18:00-04:00"));
    assert_int_equal(sched_jobs_for_lead(la_col), 0);

    /* 09:00 in Denver (10:00 in Dakota): until 18:00 in Dakota (17:00 MDT). */
    now = T("2026-06-10T09:00-06:00");
    st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 1);
    assert_job_of_lead(fx, &w, sched_job_last(dakota), dakota, 1, now, T("2026-06-10T18:00-05:00"));

    /* Los Angeles at its opening; its jobs run until 18:00 PDT. */
    now = T("2026-06-10T09:00-07:00");
    st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 2);
    assert_job_of_lead(fx, &w, sched_job_last(la_col), la_col, 1, now, T("2026-06-10T18:00-07:00"));
    assert_job_of_lead(fx, &w, sched_job_last(la_prefix), la_prefix, 1, now,
                       T("2026-06-10T18:00-07:00"));
    assert_int_equal(sched_jobs_count(w.campaign_id), 6);
}

/* Account quiet hours 08:00–21:00 in the callee's local time cut into a
 * 06:00–23:00 every-day campaign window read in New York. */
static void test_window_quiet_hours(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.window_start_min = 6 * 60;
    spec.window_end_min = 23 * 60;
    spec.allowed_days = 127;
    spec.quiet_start_min = 8 * 60;
    spec.quiet_end_min = 21 * 60;
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    char ny[UUID_STR_LEN], la[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550001", "America/New_York", ny);
    seed_lead(fx->db, w.campaign_id, "+13105550002", "America/Los_Angeles", la);

    /* 07:00 in New York: the campaign window is open, quiet hours are not,
     * for either person (04:00 in Los Angeles). */
    dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, T("2026-06-10T07:00-04:00"));
    assert_int_equal(st.jobs_issued, 0);
    assert_int_equal(st.leads_deferred, 2);
    assert_time_equal(lead_get(fx->db, ny).next_us, T("2026-06-10T08:00-04:00"));
    assert_time_equal(lead_get(fx->db, la).next_us, T("2026-06-10T08:00-07:00"));
    assert_time_equal(st.next_wake_us, T("2026-06-10T08:00-04:00"));

    /* 08:00 New York: the New Yorker's job must end at 21:00, the earlier
     * of quiet hours (21:00) and the campaign window (23:00). */
    int64_t now = T("2026-06-10T08:00-04:00");
    st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 1);
    assert_job_of_lead(fx, &w, sched_job_last(ny), ny, 1, now, T("2026-06-10T21:00-04:00"));
    assert_int_equal(sched_jobs_for_lead(la), 0);

    /* 08:00 Los Angeles = 11:00 New York: the Californian's job ends at
     * 23:00 New York (20:00 PDT), before their quiet hours end (21:00 PDT). */
    now = T("2026-06-10T08:00-07:00");
    st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 1);
    assert_job_of_lead(fx, &w, sched_job_last(la), la, 1, now, T("2026-06-10T23:00-04:00"));

    /* 21:30 New York: campaign open until 23:00, quiet hours closed: a
     * new lead waits for 08:00 tomorrow. */
    char late[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550003", "America/New_York", late);
    st = sched_dispatch(fx, w.campaign_id, T("2026-06-10T21:30-04:00"));
    assert_int_equal(st.jobs_issued, 0);
    assert_time_equal(lead_get(fx->db, late).next_us, T("2026-06-11T08:00-04:00"));
    assert_int_equal(sched_jobs_count(w.campaign_id), 2);
}

/* A window across midnight belongs to the day it opens on: 20:00–02:00 on
 * Fridays is open from Friday 20:00 to Saturday 02:00, not on Friday 01:00;
 * a retry that lands after 02:00 waits for the next Friday. */
static void test_window_across_midnight(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.window_start_min = 20 * 60;
    spec.window_end_min = 2 * 60;
    spec.allowed_days = 16; /* Friday */
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    char lead[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550101", NULL, lead);

    static const struct {
        const char *now, *next_wake;
    } closed[] = {
        {"2026-06-12T01:00-04:00", "2026-06-12T20:00-04:00"}, /* Thursday's night */
        {"2026-06-12T19:59-04:00", "2026-06-12T20:00-04:00"},
        {"2026-06-13T02:00-04:00", "2026-06-19T20:00-04:00"},
        {"2026-06-13T21:00-04:00", "2026-06-19T20:00-04:00"}, /* Saturday evening */
    };
    for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
        dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, T(closed[i].now));
        assert_int_equal(st.jobs_issued, 0);
        assert_time_equal(st.next_wake_us, T(closed[i].next_wake));
    }
    int64_t now = T("2026-06-13T01:00-04:00"); /* Saturday 01:00: Friday's period */
    assert_int_equal(sched_dispatch(fx, w.campaign_id, now).jobs_issued, 1);
    const dialjob_t *job = sched_job_last(lead);
    assert_job_of_lead(fx, &w, job, lead, 1, now, T("2026-06-13T02:00-04:00"));
    ev_spec_t end = {.status = EV_UNANSWERED, .ended_us = T("2026-06-13T01:30-04:00")};
    sched_call(fx, job, &end);
    lead_row_t r = lead_get(fx->db, lead);
    assert_string_equal(r.status, "rescheduled");
    assert_time_equal(r.next_us, T("2026-06-19T20:00-04:00"));
}

/* Retries are placed in the person's own window (timezone mode lead) and
 * their quiet hours, whatever the assistant's zone. */
static void test_retry_in_lead_zone(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.timezone_mode = "lead";
    spec.window_start_min = 6 * 60;
    spec.window_end_min = 23 * 60;
    spec.quiet_start_min = 8 * 60;
    spec.quiet_end_min = 21 * 60;
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    static const struct {
        const char *e164, *tz, *dispatch_at, *ended_at, *want_next;
    } cases[] = {
        /* 20:30 + 60 min = 21:30 PDT: quiet hours; 08:00 PDT tomorrow. */
        {"+13105550101", "America/Los_Angeles", "2026-06-10T20:00-07:00", "2026-06-10T20:30-07:00",
         "2026-06-11T08:00-07:00"},
        /* London by prefix, Friday 20:30 BST + 60 min: Monday 08:00 BST. */
        {"+442079460102", NULL, "2026-06-12T20:00+01:00", "2026-06-12T20:30+01:00",
         "2026-06-15T08:00+01:00"},
        /* Inside both: as is. */
        {"+13105550103", "America/Los_Angeles", "2026-06-10T10:00-07:00", "2026-06-10T10:30-07:00",
         "2026-06-10T11:30-07:00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char lead[UUID_STR_LEN];
        seed_lead(fx->db, w.campaign_id, cases[i].e164, cases[i].tz, lead);
        int64_t at = T(cases[i].dispatch_at);
        sched_dispatch(fx, w.campaign_id, at);
        const dialjob_t *job = sched_job_last(lead);
        assert_non_null(job);
        assert_time_equal(job->issued_at_us, at);
        ev_spec_t end = {.status = EV_BUSY, .ended_us = T(cases[i].ended_at)};
        sched_call(fx, job, &end);
        lead_row_t r = lead_get(fx->db, lead);
        assert_string_equal(r.status, "rescheduled");
        assert_time_equal(r.next_us, T(cases[i].want_next));
    }
}

/* ---- pacing ------------------------------------------------------------- */

/* 1,000 due leads, max_concurrent_calls 25: never more than 25 scheduled or
 * processing; each finished call frees one slot. */
static void test_pacing_concurrency(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.max_concurrent_calls = 25;
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    sql_exec(fx->db,
             "INSERT INTO lead (campaign_id, e164, name) SELECT $1::uuid,"
             " '+1212' || lpad(i::text, 7, '0'), 'lead ' || i FROM generate_series(1, 1000) i",
             1, w.campaign_id);

    int64_t now = NY("10:00");
    dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 25);
    assert_int_equal(sched_jobs_count(w.campaign_id), 25);
    assert_int_equal(leads_in(fx->db, w.campaign_id, "scheduled"), 25);

    /* Nothing finished: a second pass issues nothing. */
    st = sched_dispatch(fx, w.campaign_id, now + US_PER_MIN);
    assert_int_equal(st.jobs_issued, 0);
    assert_int_equal(sched_jobs_count(w.campaign_id), 25);
    assert_int_equal(leads_in(fx->db, w.campaign_id, "scheduled"), 25);

    /* Calls in progress count too: 5 ring (processing), 7 finish. */
    const int k = 7;
    size_t seen = 0;
    for (size_t i = 0; i < g_env.n_jobs && seen < 12; i++) {
        const dialjob_t *job = g_env.jobs[i];
        if (strcmp(job->campaign_id, w.campaign_id) != 0)
            continue;
        if (seen < (size_t)k) {
            ev_spec_t done = {
                .status = EV_COMPLETED, .answered_by = BY_HUMAN, .ended_us = now + 3 * US_PER_MIN};
            assert_int_equal(sched_call(fx, job, &done).effect, RESULTS_APPLIED);
        } else {
            ev_spec_t ringing = {.status = EV_RINGING};
            assert_int_equal(sched_apply(fx, job, &ringing, now + 2 * US_PER_MIN).effect,
                             RESULTS_APPLIED);
        }
        seen++;
    }
    assert_int_equal(leads_in(fx->db, w.campaign_id, "processing"), 5);
    assert_int_equal(leads_in(fx->db, w.campaign_id, "completed"), k);
    st = sched_dispatch(fx, w.campaign_id, now + 4 * US_PER_MIN);
    assert_int_equal(st.jobs_issued, k);
    assert_int_equal(sched_jobs_count(w.campaign_id), 25 + k);
    assert_int_equal(leads_in(fx->db, w.campaign_id, "scheduled") +
                         leads_in(fx->db, w.campaign_id, "processing"),
                     25);
    /* Every job went to a different lead. */
    assert_int_equal(sql_i64(fx->db,
                             "SELECT count(*) FROM lead WHERE campaign_id = $1::uuid"
                             " AND status <> 'created'",
                             1, w.campaign_id),
                     25 + k);
    /* dispatch_all honours the same cap. */
    st = sched_dispatch_all(fx, now + 5 * US_PER_MIN);
    assert_int_equal(st.jobs_issued, 0);
    assert_int_equal(st.campaigns, 1);
}

/* Several scheduler replicas: a campaign row locked by another dispatcher
 * (or a lifecycle change) is skipped, not waited for; a lead row locked by
 * another transaction (a result being applied) is skipped, and the cap
 * still counts only what is scheduled. */
static void test_dispatch_replicas(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.max_concurrent_calls = 3;
    sched_world_t w, other;
    seed_world(fx->db, &spec, &w);
    seed_world(fx->db, &spec, &other);
    char leads[5][UUID_STR_LEN], other_lead[UUID_STR_LEN];
    for (int i = 0; i < 5; i++) {
        char e164[16];
        snprintf(e164, sizeof(e164), "+1212555010%d", i);
        seed_lead(fx->db, w.campaign_id, e164, NULL, leads[i]);
    }
    seed_lead(fx->db, other.campaign_id, "+12125550199", NULL, other_lead);
    PGconn *replica = PQconnectdb(fx->dsn);
    assert_int_equal(PQstatus(replica), CONNECTION_OK);
    const char *p[] = {w.campaign_id};

    /* Another replica holds the campaign: nothing here, the others go on. */
    PQclear(PQexec(replica, "BEGIN"));
    PGresult *res = PQexecParams(replica, "SELECT 1 FROM campaign WHERE id = $1::uuid FOR UPDATE",
                                 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    int64_t now = NY("10:00");
    dispatch_stats_t st = sched_dispatch_all(fx, now);
    assert_int_equal(st.jobs_issued, 1);
    assert_int_equal(st.campaigns, 1);
    assert_int_equal(sched_jobs_count(w.campaign_id), 0);
    assert_int_equal(sched_jobs_for_lead(other_lead), 1);
    PQclear(PQexec(replica, "COMMIT"));

    /* A lead row locked elsewhere is skipped; the cap is filled by others. */
    PQclear(PQexec(replica, "BEGIN"));
    const char *lp[] = {leads[0]};
    res = PQexecParams(replica, "SELECT 1 FROM lead WHERE id = $1::uuid FOR UPDATE", 1, NULL, lp,
                       NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 3);
    assert_int_equal(sched_jobs_for_lead(leads[0]), 0);
    PQclear(PQexec(replica, "COMMIT"));
    PQfinish(replica);
    assert_string_equal(lead_get(fx->db, leads[0]).status, "created");
    st = sched_dispatch(fx, w.campaign_id, now + US_PER_SEC);
    assert_int_equal(st.jobs_issued, 0); /* the cap is full */
    assert_int_equal(leads_in(fx->db, w.campaign_id, "scheduled"), 3);
}

/* calls_per_minute 60: a burst of at most 10 (cpm / 6) in one instant, then
 * a refill of one call per second, never above the burst. */
static void test_pacing_calls_per_minute(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.max_concurrent_calls = 1000;
    spec.calls_per_minute = 60;
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    sql_exec(fx->db,
             "INSERT INTO lead (campaign_id, e164) SELECT $1::uuid,"
             " '+1212' || lpad(i::text, 7, '0') FROM generate_series(1, 200) i",
             1, w.campaign_id);

    int64_t t0 = NY("10:00");
    static const struct {
        int64_t after_us; /* since t0 */
        int jobs;         /* issued by this pass */
    } steps[] = {
        {0, 10},                    /* the burst */
        {0, 0},                     /* the same instant: bucket empty */
        {500 * 1000, 0},            /* half a token */
        {5500 * 1000, 5},           /* 5.5 s since the burst: 5 whole tokens */
        {5500 * 1000, 0},           /* spent */
        {10 * 60 * US_PER_SEC, 10}, /* ten minutes later: refilled to the burst only */
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, t0 + steps[i].after_us);
        total += (size_t)steps[i].jobs;
        if ((int)st.jobs_issued != steps[i].jobs || sched_jobs_count(w.campaign_id) != total)
            fail_msg("step %zu: %d jobs issued (want %d), %zu on the topic (want %zu)", i,
                     (int)st.jobs_issued, steps[i].jobs, sched_jobs_count(w.campaign_id), total);
        if (steps[i].jobs == 0) /* the next token's arrival is the next wake */
            assert_true(st.next_wake_us > t0 + steps[i].after_us &&
                        st.next_wake_us <= t0 + steps[i].after_us + US_PER_SEC + 1);
    }
    assert_int_equal(leads_in(fx->db, w.campaign_id, "scheduled"), (int64_t)total);
}

/* ---- the retry table (docs/architecture.md §5) -------------------------------- */

typedef struct retry_case {
    const char *name;
    bool goal_based_retry;
    bool retry_on_voicemail;
    int retry_interval_min;
    const char *dispatch_at;
    Outdial__V1__CallStatus status;
    Outdial__V1__AnsweredBy answered_by;
    Outdial__V1__FailureClass failure;
    const char *vars;
    const char *ended_at;
    /* expected lead */
    const char *want_status;
    const char *want_outcome; /* "" while not ended */
    const char *want_next;    /* for rescheduled */
    const char *want_goal;    /* "t", "f", "" (never reported) */
} retry_case_t;

#define WED(hhmm) "2026-06-10T" hhmm "-04:00"
#define FRI(hhmm) "2026-06-12T" hhmm "-04:00"

static const retry_case_t retry_cases[] = {
    /* goal-based retry off (the goal is still recorded when reported) */
    {"human, goal true", false, true, 60, WED("10:00"), EV_COMPLETED, BY_HUMAN, FC_NONE,
     "{\"interested\": true}", WED("10:05"), "completed", "answered", NULL, "t"},
    {"human, goal false", false, true, 60, WED("10:00"), EV_COMPLETED, BY_HUMAN, FC_NONE,
     "{\"interested\": false, \"notes\": \"call back\"}", WED("10:05"), "completed", "answered",
     NULL, "f"},
    {"human, goal absent", false, true, 60, WED("10:00"), EV_COMPLETED, BY_HUMAN, FC_NONE,
     "{\"notes\": \"hi\"}", WED("10:05"), "completed", "answered", NULL, ""},
    {"answered by unknown", false, true, 60, WED("10:00"), EV_COMPLETED, BY_UNKNOWN, FC_NONE, NULL,
     WED("10:05"), "completed", "answered", NULL, ""},
    {"voicemail, retry on voicemail", false, true, 60, WED("10:00"), EV_COMPLETED, BY_VOICEMAIL,
     FC_NONE, NULL, WED("10:05"), "rescheduled", "", WED("11:05"), ""},
    {"voicemail, goal reported, retry on voicemail", false, true, 60, WED("10:00"), EV_COMPLETED,
     BY_VOICEMAIL, FC_NONE, "{\"interested\": false}", WED("10:05"), "rescheduled", "",
     WED("11:05"), "f"},
    {"voicemail, no retry on voicemail", false, false, 60, WED("10:00"), EV_COMPLETED, BY_VOICEMAIL,
     FC_NONE, NULL, WED("10:05"), "completed", "voicemail", NULL, ""},
    {"busy", false, true, 60, WED("10:00"), EV_BUSY, BY_NONE, FC_NONE, NULL, WED("10:01"),
     "rescheduled", "", WED("11:01"), ""},
    {"unanswered", false, true, 30, WED("10:00"), EV_UNANSWERED, BY_NONE, FC_NONE, NULL,
     WED("10:01"), "rescheduled", "", WED("10:31"), ""},
    {"failed transient", false, true, 60, WED("10:00"), EV_FAILED, BY_NONE, FC_TRANSIENT, NULL,
     WED("10:00:30"), "rescheduled", "", WED("11:00:30"), ""},
    {"failed permanent", false, true, 60, WED("10:00"), EV_FAILED, BY_NONE, FC_PERMANENT, NULL,
     WED("10:00:30"), "max_retries", "permanent_failure", NULL, ""},
    {"retry lands after closing: next day's opening", false, true, 60, WED("17:40"), EV_UNANSWERED,
     BY_NONE, FC_NONE, NULL, WED("17:50"), "rescheduled", "", "2026-06-11T09:00-04:00", ""},
    {"retry lands after Friday's closing: Monday's opening", false, true, 60, FRI("17:40"),
     EV_UNANSWERED, BY_NONE, FC_NONE, NULL, FRI("17:50"), "rescheduled", "",
     "2026-06-15T09:00-04:00", ""},
    {"retry over the spring-forward weekend: Monday 09:00 EDT", false, true, 60,
     "2026-03-06T17:40-05:00", EV_UNANSWERED, BY_NONE, FC_NONE, NULL, "2026-03-06T17:50-05:00",
     "rescheduled", "", "2026-03-09T09:00-04:00", ""},
    {"3-day interval lands on Saturday: Monday's opening", false, true, 4320, WED("10:00"), EV_BUSY,
     BY_NONE, FC_NONE, NULL, WED("10:05"), "rescheduled", "", "2026-06-15T09:00-04:00", ""},
    {"retry inside the window stays as is", false, true, 10, WED("17:40"), EV_BUSY, BY_NONE,
     FC_NONE, NULL, WED("17:45"), "rescheduled", "", WED("17:55"), ""},
    /* goal-based retry on */
    {"goal: human, goal true", true, true, 60, WED("10:00"), EV_COMPLETED, BY_HUMAN, FC_NONE,
     "{\"interested\": true}", WED("10:05"), "completed", "goal_achieved", NULL, "t"},
    {"goal: unknown, goal true", true, true, 60, WED("10:00"), EV_COMPLETED, BY_UNKNOWN, FC_NONE,
     "{\"interested\": true}", WED("10:05"), "completed", "goal_achieved", NULL, "t"},
    {"goal: human, goal false", true, true, 60, WED("10:00"), EV_COMPLETED, BY_HUMAN, FC_NONE,
     "{\"interested\": false}", WED("10:05"), "rescheduled", "", WED("11:05"), "f"},
    {"goal: human, goal absent", true, true, 60, WED("10:00"), EV_COMPLETED, BY_HUMAN, FC_NONE,
     NULL, WED("10:05"), "rescheduled", "", WED("11:05"), ""},
    {"goal: human, goal not a boolean", true, true, 60, WED("10:00"), EV_COMPLETED, BY_HUMAN,
     FC_NONE, "{\"interested\": \"yes\"}", WED("10:05"), "rescheduled", "", WED("11:05"), ""},
    {"goal: voicemail, retry on voicemail", true, true, 60, WED("10:00"), EV_COMPLETED,
     BY_VOICEMAIL, FC_NONE, NULL, WED("10:05"), "rescheduled", "", WED("11:05"), ""},
    {"goal: voicemail, no retry on voicemail", true, false, 60, WED("10:00"), EV_COMPLETED,
     BY_VOICEMAIL, FC_NONE, NULL, WED("10:05"), "completed", "voicemail", NULL, ""},
    {"goal: busy", true, true, 60, WED("10:00"), EV_BUSY, BY_NONE, FC_NONE, NULL, WED("10:01"),
     "rescheduled", "", WED("11:01"), ""},
    {"goal: unanswered", true, true, 60, WED("10:00"), EV_UNANSWERED, BY_NONE, FC_NONE, NULL,
     WED("10:01"), "rescheduled", "", WED("11:01"), ""},
    {"goal: failed transient", true, true, 60, WED("10:00"), EV_FAILED, BY_NONE, FC_TRANSIENT, NULL,
     WED("10:01"), "rescheduled", "", WED("11:01"), ""},
    {"goal: failed permanent", true, true, 60, WED("10:00"), EV_FAILED, BY_NONE, FC_PERMANENT, NULL,
     WED("10:01"), "max_retries", "permanent_failure", NULL, ""},
    {"goal: retry after closing", true, true, 60, WED("17:40"), EV_COMPLETED, BY_HUMAN, FC_NONE,
     "{\"interested\": false}", WED("17:50"), "rescheduled", "", "2026-06-11T09:00-04:00", "f"},
};

/* The call.status and lead.last_call_status text of each result. */
static const char *const call_status_texts[] = {
    [EV_COMPLETED] = "completed", [EV_BUSY] = "busy",       [EV_UNANSWERED] = "unanswered",
    [EV_FAILED] = "failed",       [EV_SKIPPED] = "skipped",
};

static const char *call_status_text(Outdial__V1__CallStatus s)
{
    size_t n = sizeof(call_status_texts) / sizeof(call_status_texts[0]);
    return (size_t)s < n && call_status_texts[s] ? call_status_texts[s] : "?";
}

/* Every row of the table on a campaign and lead of its own: one call,
 * ringing then the result, and the lead, call and outbox rows it leaves. */
static void test_retry_table(void **state)
{
    sched_fx_t *fx = *state;
    for (size_t i = 0; i < sizeof(retry_cases) / sizeof(retry_cases[0]); i++) {
        const retry_case_t *tc = &retry_cases[i];
        sched_spec_t spec = sched_spec_default();
        spec.goal_variable = "interested";
        spec.goal_based_retry = tc->goal_based_retry;
        spec.retry_on_voicemail = tc->retry_on_voicemail;
        spec.retry_interval_min = tc->retry_interval_min;
        sched_world_t w;
        seed_world(fx->db, &spec, &w);
        char lead[UUID_STR_LEN];
        seed_lead(fx->db, w.campaign_id, "+12125550100", NULL, lead);
        dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, T(tc->dispatch_at));
        assert_int_equal(st.jobs_issued, 1);
        const dialjob_t *job = sched_job_last(lead);
        assert_job_of_lead(fx, &w, job, lead, 1, T(tc->dispatch_at), job->not_after_us);

        ev_spec_t end = {.status = tc->status,
                         .answered_by = tc->answered_by,
                         .failure = tc->failure,
                         .vars = tc->vars,
                         .ended_us = T(tc->ended_at)};
        results_outcome_t out = sched_call(fx, job, &end);
        lead_row_t r = lead_get(fx->db, lead);
        char got_next[40], want_next[40];
        bool next_ok = !tc->want_next || r.next_us == T(tc->want_next);
        if (strcmp(r.status, tc->want_status) != 0 || strcmp(r.outcome, tc->want_outcome) != 0 ||
            r.attempts != 1 || !next_ok || strcmp(r.goal, tc->want_goal) != 0)
            fail_msg("%s: got %s/%s attempts %d next %s goal '%s'; want %s/%s attempts 1 next %s "
                     "goal '%s'",
                     tc->name, r.status, r.outcome, r.attempts,
                     rt_fmt(r.next_us, got_next, sizeof(got_next)), r.goal, tc->want_status,
                     tc->want_outcome,
                     tc->want_next ? rt_fmt(T(tc->want_next), want_next, sizeof(want_next)) : "-",
                     tc->want_goal);
        assert_int_equal(out.effect, RESULTS_APPLIED);
        bool finished = strcmp(tc->want_status, "rescheduled") != 0;
        assert_int_equal(out.lead_finished, finished);
        assert_string_equal(r.attempt_id, ""); /* no job in flight */
        assert_string_equal(r.last_call_status, call_status_text(tc->status));

        /* The call row: one per attempt, the terminal status and details. */
        char want_call[160];
        snprintf(want_call, sizeof(want_call), "%s/1/%s/%s/%" PRId64 "/2",
                 call_status_text(tc->status),
                 tc->answered_by == BY_HUMAN       ? "human"
                 : tc->answered_by == BY_VOICEMAIL ? "voicemail"
                 : tc->answered_by == BY_UNKNOWN   ? "unknown"
                                                   : "-",
                 tc->failure == FC_TRANSIENT   ? "transient"
                 : tc->failure == FC_PERMANENT ? "permanent"
                                               : "-",
                 T(tc->ended_at));
        assert_string_equal(sql_text(fx->db,
                                     "SELECT status::text || '/' || attempt_number || '/' ||"
                                     " coalesce(answered_by::text, '-') || '/' ||"
                                     " coalesce(failure_class::text, '-') || '/' ||"
                                     " od_us(ended_at) || '/' || jsonb_array_length(status_history)"
                                     " FROM call WHERE attempt_id = $1::uuid",
                                     1, job->attempt_id),
                            want_call);
        /* A finished lead is announced through the outbox. */
        assert_int_equal(
            sql_i64(fx->db, "SELECT count(*) FROM outbox WHERE key = $1", 1, w.campaign_id),
            finished ? 1 : 0);
        /* A rescheduled lead gets its next job when due, not before. */
        if (!finished) {
            st = sched_dispatch(fx, w.campaign_id, T(tc->want_next) - US_PER_SEC);
            assert_int_equal(st.jobs_issued, 0);
            st = sched_dispatch(fx, w.campaign_id, T(tc->want_next));
            assert_int_equal(st.jobs_issued, 1);
            const dialjob_t *next = sched_job_last(lead);
            assert_job_of_lead(fx, &w, next, lead, 2, T(tc->want_next), next->not_after_us);
            assert_string_not_equal(next->attempt_id, job->attempt_id);
        }
    }
}

/* Retries run out: a lead is called at most 1 + max_retries times and then
 * ends max_retries (exhausted); the last goal result is kept. */
static void test_retry_exhausted(void **state)
{
    sched_fx_t *fx = *state;
    static const struct {
        int max_retries;
        bool goal_based_retry;
        Outdial__V1__CallStatus status;
        Outdial__V1__AnsweredBy answered_by;
        const char *vars;
        const char *want_goal;
    } cases[] = {
        {1, false, EV_UNANSWERED, BY_NONE, NULL, ""},
        {2, false, EV_BUSY, BY_NONE, NULL, ""},
        {2, true, EV_COMPLETED, BY_HUMAN, "{\"interested\": false}", "f"},
        {5, false, EV_COMPLETED, BY_VOICEMAIL, NULL, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sched_spec_t spec = sched_spec_default();
        spec.max_retries = cases[i].max_retries;
        spec.goal_variable = "interested";
        spec.goal_based_retry = cases[i].goal_based_retry;
        spec.retry_interval_min = 10;
        sched_world_t w;
        seed_world(fx->db, &spec, &w);
        char lead[UUID_STR_LEN];
        seed_lead(fx->db, w.campaign_id, "+12125550100", NULL, lead);
        int64_t now = NY("09:00");
        int calls = 1 + cases[i].max_retries;
        for (int n = 1; n <= calls; n++) {
            dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, now);
            assert_int_equal(st.jobs_issued, 1);
            const dialjob_t *job = sched_job_last(lead);
            assert_job_of_lead(fx, &w, job, lead, n, now, NY("18:00"));
            ev_spec_t end = {.status = cases[i].status,
                             .answered_by = cases[i].answered_by,
                             .vars = cases[i].vars,
                             .ended_us = now + 2 * US_PER_MIN};
            results_outcome_t out = sched_call(fx, job, &end);
            lead_row_t r = lead_get(fx->db, lead);
            assert_int_equal(r.attempts, n);
            assert_string_equal(r.goal, cases[i].want_goal);
            if (n < calls) {
                assert_false(out.lead_finished);
                assert_string_equal(r.status, "rescheduled");
                now += 12 * US_PER_MIN;
                assert_time_equal(r.next_us, now);
            } else {
                assert_true(out.lead_finished);
                assert_string_equal(r.status, "max_retries");
                assert_string_equal(r.outcome, "exhausted");
            }
        }
        /* Nothing more is issued for it, and it has one call per attempt. */
        dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, now + 20 * US_PER_MIN);
        assert_int_equal(st.jobs_issued, 0);
        assert_int_equal(sched_jobs_for_lead(lead), (size_t)calls);
        assert_int_equal(sql_i64(fx->db,
                                 "SELECT count(DISTINCT attempt_number) FROM call"
                                 " WHERE lead_id = $1::uuid",
                                 1, lead),
                         calls);
    }
}

/* Skipped dial jobs (the dialer refused to place them) give the attempt
 * back; a DNC skip ends the lead. */
static void test_retry_skipped(void **state)
{
    sched_fx_t *fx = *state;
    static const struct {
        const char *name;
        int prior_calls; /* real calls before the skipped one */
        Outdial__V1__SkipReason skip;
        const char *dispatch_at, *skipped_at;
        const char *want_status, *want_outcome, *want_next;
    } cases[] = {
        {"outside window", 0, SK_WINDOW, WED("17:59"), WED("18:00:10"), "created", "",
         "2026-06-11T09:00-04:00"},
        {"campaign not running", 0, SK_NOT_RUN, WED("10:00"), WED("10:00:05"), "created", "",
         WED("10:00:05")},
        {"number busy", 0, SK_BUSY, WED("10:00"), WED("10:00:05"), "created", "", WED("10:05:05")},
        {"number busy near closing", 0, SK_BUSY, WED("17:57"), WED("17:57:30"), "created", "",
         "2026-06-11T09:00-04:00"},
        {"dnc", 0, SK_DNC, WED("10:00"), WED("10:00:05"), "max_retries", "dnc", NULL},
        {"number busy after a call", 1, SK_BUSY, WED("11:00"), WED("11:00:05"), "rescheduled", "",
         WED("11:05:05")},
        {"dnc after a call", 1, SK_DNC, WED("11:00"), WED("11:00:05"), "max_retries", "dnc", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sched_world_t w = seed_world_default(fx->db);
        char lead[UUID_STR_LEN];
        seed_lead(fx->db, w.campaign_id, "+12125550100", NULL, lead);
        if (cases[i].prior_calls) { /* one unanswered call at 09:00 */
            assert_int_equal(sched_dispatch(fx, w.campaign_id, NY("09:00")).jobs_issued, 1);
            ev_spec_t end = {.status = EV_UNANSWERED, .ended_us = NY("09:01")};
            sched_call(fx, sched_job_last(lead), &end);
            assert_int_equal(lead_get(fx->db, lead).attempts, 1);
        }
        int64_t at = T(cases[i].dispatch_at);
        assert_int_equal(sched_dispatch(fx, w.campaign_id, at).jobs_issued, 1);
        const dialjob_t *job = sched_job_last(lead);
        assert_int_equal(job->attempt_number, cases[i].prior_calls + 1);
        ev_spec_t skip = {.status = EV_SKIPPED, .skip = cases[i].skip};
        results_outcome_t out = sched_apply(fx, job, &skip, T(cases[i].skipped_at));
        assert_int_equal(out.effect, RESULTS_APPLIED);
        lead_row_t r = lead_get(fx->db, lead);
        char g[40], wt[40];
        if (strcmp(r.status, cases[i].want_status) || strcmp(r.outcome, cases[i].want_outcome) ||
            r.attempts != cases[i].prior_calls ||
            (cases[i].want_next && r.next_us != T(cases[i].want_next)))
            fail_msg("%s: got %s/%s attempts %d next %s; want %s/%s attempts %d next %s",
                     cases[i].name, r.status, r.outcome, r.attempts,
                     rt_fmt(r.next_us, g, sizeof(g)), cases[i].want_status, cases[i].want_outcome,
                     cases[i].prior_calls,
                     cases[i].want_next ? rt_fmt(T(cases[i].want_next), wt, sizeof(wt)) : "-");
        assert_int_equal(out.lead_finished, cases[i].want_next == NULL);
        assert_string_equal(r.attempt_id, "");
        assert_string_equal(sql_text(fx->db, "SELECT status FROM call WHERE attempt_id = $1::uuid",
                                     1, job->attempt_id),
                            "skipped");
        if (!cases[i].want_next)
            continue;
        /* Called again with the same attempt number and a new attempt id,
         * and that call is recorded beside the skipped one. */
        int64_t again = T(cases[i].want_next);
        assert_int_equal(sched_dispatch(fx, w.campaign_id, again).jobs_issued, 1);
        const dialjob_t *next = sched_job_last(lead);
        assert_int_equal(next->attempt_number, cases[i].prior_calls + 1);
        assert_string_not_equal(next->attempt_id, job->attempt_id);
        ev_spec_t done = {
            .status = EV_COMPLETED, .answered_by = BY_HUMAN, .ended_us = again + 3 * US_PER_MIN};
        assert_true(sched_call(fx, next, &done).lead_finished);
        r = lead_get(fx->db, lead);
        assert_string_equal(r.status, "completed");
        assert_int_equal(r.attempts, cases[i].prior_calls + 1);
    }
}

/* ---- secondary contacts ---------------------------------------------------- */

/* A primary with two secondaries: they wait while the primary is called;
 * after it ends max_retries the first secondary becomes due (the second
 * still waits); when the first secondary is reached the second is completed
 * (answered) without a call; then the campaign has nothing left. */
static void test_secondary_contacts(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.max_retries = 1;
    spec.retry_interval_min = 10;
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    char primary[UUID_STR_LEN], second[UUID_STR_LEN], third[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550100", NULL, primary);
    seed_secondary(fx->db, w.campaign_id, primary, 1, "+12125550101", second);
    seed_secondary(fx->db, w.campaign_id, primary, 2, "+12125550102", third);

    /* The primary is called twice (1 + max_retries); the others wait. */
    int64_t now = NY("09:00");
    for (int n = 1; n <= 2; n++) {
        dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, now);
        assert_int_equal(st.jobs_issued, 1);
        assert_int_equal(sched_jobs_for_lead(second) + sched_jobs_for_lead(third), 0);
        const dialjob_t *job = sched_job_last(primary);
        assert_job_of_lead(fx, &w, job, primary, n, now, NY("18:00"));
        ev_spec_t end = {.status = EV_UNANSWERED, .ended_us = now + US_PER_MIN};
        results_outcome_t out = sched_call(fx, job, &end);
        assert_int_equal(out.lead_finished, n == 2);
        if (n == 1) {
            assert_true(lead_get(fx->db, second).next_null);
            assert_true(lead_get(fx->db, third).next_null);
            now += 11 * US_PER_MIN;
        }
    }
    lead_row_t p = lead_get(fx->db, primary);
    assert_string_equal(p.status, "max_retries");
    assert_string_equal(p.outcome, "exhausted");
    /* Secondary 1's turn: due at the end of the primary's last call. */
    lead_row_t s1 = lead_get(fx->db, second);
    assert_string_equal(s1.status, "created");
    assert_false(s1.next_null);
    assert_time_equal(s1.next_us, now + US_PER_MIN); /* the time of that result */
    assert_true(lead_get(fx->db, third).next_null);

    now += 5 * US_PER_MIN;
    dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, now);
    assert_int_equal(st.jobs_issued, 1);
    const dialjob_t *job = sched_job_last(second);
    assert_job_of_lead(fx, &w, job, second, 1, now, NY("18:00"));
    assert_int_equal(sched_jobs_for_lead(third), 0);

    ev_spec_t answered = {
        .status = EV_COMPLETED, .answered_by = BY_HUMAN, .ended_us = now + 4 * US_PER_MIN};
    assert_true(sched_call(fx, job, &answered).lead_finished);
    s1 = lead_get(fx->db, second);
    assert_string_equal(s1.status, "completed");
    assert_string_equal(s1.outcome, "answered");
    lead_row_t s2 = lead_get(fx->db, third);
    assert_string_equal(s2.status, "completed");
    assert_string_equal(s2.outcome, "answered");
    assert_int_equal(s2.attempts, 0);
    assert_string_equal(lead_get(fx->db, primary).status, "max_retries");
    /* Three leads finished, three lead_finished events queued. */
    assert_int_equal(
        sql_i64(fx->db, "SELECT count(*) FROM outbox WHERE key = $1", 1, w.campaign_id), 3);
    /* Nobody else is called, and the campaign is complete. */
    st = sched_dispatch(fx, w.campaign_id, now + 30 * US_PER_MIN);
    assert_int_equal(st.jobs_issued, 0);
    assert_int_equal(sched_jobs_for_lead(third), 0);
    assert_int_equal(sched_complete_campaigns(fx, now + 31 * US_PER_MIN), 1);
    assert_string_equal(
        sql_text(fx->db, "SELECT status FROM campaign WHERE id = $1::uuid", 1, w.campaign_id),
        "completed");
}

/* Secondaries in order: when the first secondary also ends max_retries,
 * the second one's turn comes; a primary that is reached completes the
 * waiting secondaries without calling them. */
static void test_secondary_contacts_chain(void **state)
{
    sched_fx_t *fx = *state;
    sched_world_t w = seed_world_default(fx->db);

    /* Group A: every contact fails permanently, one after another. */
    char a0[UUID_STR_LEN], a1[UUID_STR_LEN], a2[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550200", NULL, a0);
    seed_secondary(fx->db, w.campaign_id, a0, 1, "+12125550201", a1);
    seed_secondary(fx->db, w.campaign_id, a0, 2, "+12125550202", a2);
    /* Group B: the primary answers. */
    char b0[UUID_STR_LEN], b1[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550300", NULL, b0);
    seed_secondary(fx->db, w.campaign_id, b0, 1, "+12125550301", b1);

    int64_t now = NY("09:00");
    assert_int_equal(sched_dispatch(fx, w.campaign_id, now).jobs_issued, 2);
    ev_spec_t perm = {.status = EV_FAILED, .failure = FC_PERMANENT, .ended_us = now + US_PER_MIN};
    sched_call(fx, sched_job_last(a0), &perm);
    ev_spec_t human = {
        .status = EV_COMPLETED, .answered_by = BY_HUMAN, .ended_us = now + US_PER_MIN};
    sched_call(fx, sched_job_last(b0), &human);
    lead_row_t r = lead_get(fx->db, b1);
    assert_string_equal(r.status, "completed");
    assert_string_equal(r.outcome, "answered");
    assert_false(lead_get(fx->db, a1).next_null);
    assert_true(lead_get(fx->db, a2).next_null);

    now += 2 * US_PER_MIN;
    assert_int_equal(sched_dispatch(fx, w.campaign_id, now).jobs_issued, 1);
    perm.ended_us = now + US_PER_MIN;
    sched_call(fx, sched_job_last(a1), &perm);
    assert_string_equal(lead_get(fx->db, a1).outcome, "permanent_failure");
    assert_false(lead_get(fx->db, a2).next_null);

    now += 2 * US_PER_MIN;
    assert_int_equal(sched_dispatch(fx, w.campaign_id, now).jobs_issued, 1);
    assert_job_of_lead(fx, &w, sched_job_last(a2), a2, 1, now, NY("18:00"));
    assert_int_equal(sched_jobs_for_lead(b1), 0);

    /* Group C: the primary's number is on the DNC list (the dialer skips
     * it): the primary ends, its secondary's turn comes. */
    char c0[UUID_STR_LEN], c1[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550400", NULL, c0);
    seed_secondary(fx->db, w.campaign_id, c0, 1, "+12125550401", c1);
    now += 2 * US_PER_MIN;
    assert_int_equal(sched_dispatch(fx, w.campaign_id, now).jobs_issued, 1);
    ev_spec_t dnc = {.status = EV_SKIPPED, .skip = SK_DNC};
    assert_true(sched_apply(fx, sched_job_last(c0), &dnc, now + US_PER_SEC).lead_finished);
    lead_row_t c = lead_get(fx->db, c0);
    assert_string_equal(c.status, "max_retries");
    assert_string_equal(c.outcome, "dnc");
    assert_int_equal(c.attempts, 0);
    assert_time_equal(lead_get(fx->db, c1).next_us, now + US_PER_SEC);
    assert_int_equal(sched_dispatch(fx, w.campaign_id, now + 2 * US_PER_SEC).jobs_issued, 1);
    assert_non_null(sched_job_last(c1));
}

OD_TEST_MAIN_EACH(sched_env_setup, sched_env_teardown, sched_fx_setup, sched_fx_teardown,
                  test_window_assistant_mode, test_window_lead_mode, test_window_quiet_hours,
                  test_window_across_midnight, test_retry_in_lead_zone, test_pacing_concurrency,
                  test_dispatch_replicas, test_pacing_calls_per_minute, test_retry_table,
                  test_retry_exhausted, test_retry_skipped, test_secondary_contacts,
                  test_secondary_contacts_chain)

/*
 * The scheduler's state changes against the real Postgres, Redis and Kafka
 * of the local stack (docs/architecture.md §4–§6): campaign lifecycle with its
 * requirements, outbox events and Redis mirror; balance charging and the
 * pause on insufficient balance; replayed and out-of-order call events
 * (invariant 5); recovery of leads stuck scheduled or processing
 * (invariant 6), campaign completion and the outbox drain.
 *
 * Fixture and helpers: sched_support.h.
 */
#include "sched_support.h"
#include "test_main.h"

#define NY(hhmm) T("2026-06-10T" hhmm "-04:00")

/* ---- outbox and mirror helpers ------------------------------------------- */

/* The CampaignEvents queued in the outbox for a campaign, in order, of one
 * kind; up to cap, decoded (caller frees each with campaignevent_free). */
static size_t outbox_events(pg_conn_t *db, const char *campaign_id,
                            Outdial__V1__CampaignEventKind kind, campaignevent_t **out, size_t cap)
{
    PGresult *res = NULL;
    char err[512];
    const char *p[] = {campaign_id};
    if (pg_exec_params(db,
                       "SELECT encode(payload, 'hex'), topic FROM outbox WHERE key = $1"
                       " ORDER BY id",
                       1, p, &res, err, sizeof(err)))
        fail_msg("outbox: %s", err);
    size_t n = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        assert_string_equal(PQgetvalue(res, i, 1), g_env.events_topic);
        const char *hex = PQgetvalue(res, i, 0);
        size_t len = strlen(hex) / 2;
        uint8_t *buf = malloc(len + 1);
        for (size_t k = 0; k < len; k++) {
            unsigned byte = 0;
            sscanf(hex + 2 * k, "%2x", &byte);
            buf[k] = (uint8_t)byte;
        }
        campaignevent_t *ev = NULL;
        if (campaignevent_decode(buf, len, &ev, err, sizeof(err)))
            fail_msg("outbox row %d does not decode: %s", i, err);
        free(buf);
        assert_string_equal(ev->campaign_id, campaign_id);
        if (ev->kind == kind && n < cap)
            out[n++] = ev;
        else
            campaignevent_free(ev);
    }
    PQclear(res);
    return n;
}

#define KIND_STATUS OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_STATUS_CHANGED
#define KIND_LEAD   OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_LEAD_FINISHED
#define CS_DRAFT    OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_DRAFT
#define CS_RUNNING  OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_IN_PROGRESS
#define CS_PAUSED   OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_PAUSED
#define CS_DONE     OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_COMPLETED
/* The token of a dialer's job in an attempt key (services/dialer/checks.h). */
#define DIALER_7_JOB "0190c2a4-1b2c-7d3e-8f40-123456789abc"

/* Asserts that the status changes queued for a campaign are exactly want
 * (old, new, reason), in order. */
typedef struct status_change {
    Outdial__V1__CampaignStatus old_status, new_status;
    const char *reason;
} status_change_t;

static void assert_status_changes(pg_conn_t *db, const char *campaign_id,
                                  const status_change_t *want, size_t n_want)
{
    campaignevent_t *evs[32];
    size_t n = outbox_events(db, campaign_id, KIND_STATUS, evs, 32);
    if (n != n_want)
        fail_msg("campaign %s: %zu status_changed events in the outbox, want %zu", campaign_id, n,
                 n_want);
    for (size_t i = 0; i < n; i++) {
        if (evs[i]->old_status != want[i].old_status || evs[i]->new_status != want[i].new_status ||
            strcmp(evs[i]->reason, want[i].reason) != 0)
            fail_msg("status change %zu: %d -> %d (%s), want %d -> %d (%s)", i,
                     (int)evs[i]->old_status, (int)evs[i]->new_status, evs[i]->reason,
                     (int)want[i].old_status, (int)want[i].new_status, want[i].reason);
        assert_true(uuid_str_valid(evs[i]->event_id));
    }
    for (size_t i = 0; i < n; i++)
        campaignevent_free(evs[i]);
}

/* The Redis value at the key key_of makes of id (a campaign's status
 * mirror, an attempt's fence), "" when the key is absent; a Redis error
 * fails the test. The text lives until the next call. */
static const char *key_get(void (*key_of)(const char *, const char *, char[RKEYS_KEY_MAX]),
                           const char *id)
{
    static char value[64];
    char key[RKEYS_KEY_MAX], err[256];
    key_of(g_env.redis_prefix, id, key);
    char *v = NULL;
    int rc = redis_get(g_env.redis, key, &v, NULL, err, sizeof(err));
    if (rc == OD_ERR_NOT_FOUND)
        return "";
    if (rc)
        fail_msg("redis get %s: %s", key, err);
    snprintf(value, sizeof(value), "%s", v);
    free(v);
    return value;
}

static const char *campaign_status(pg_conn_t *db, const char *campaign_id)
{
    return sql_text(db,
                    "SELECT status::text || '/' || coalesce(pause_reason, '-') FROM campaign"
                    " WHERE id = $1::uuid",
                    1, campaign_id);
}

static int lifecycle(sched_fx_t *fx, const sched_world_t *w, lifecycle_action_t action,
                     int64_t now_us, lifecycle_result_t *res)
{
    char err[512];
    return lifecycle_campaign_apply(fx->db, g_env.redis, g_env.redis_prefix, w->account_id,
                                    w->campaign_id, action, NULL, now_us, res, err, sizeof(err));
}

static bool has_problem(const lifecycle_result_t *res, const char *code)
{
    for (size_t i = 0; i < res->n_problems; i++)
        if (strcmp(res->problems[i].code, code) == 0)
            return true;
    return false;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Start refuses with every unmet requirement at once, then starts; pause
 * stops dispatch, resume continues where it stopped; each change is one
 * status_changed event in the outbox, a NOTIFY and the Redis mirror. */
static void test_lifecycle(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.status = "draft";
    spec.outbound_e164 = NULL;
    spec.balance_minor = 0;
    spec.max_concurrent_calls = 1;
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    lifecycle_result_t res;
    int64_t now = NY("09:30");

    /* No phone number, no balance, no leads: all three. */
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_START, now, &res), OD_ERR_CONFLICT);
    assert_int_equal(res.n_problems, 3);
    assert_true(has_problem(&res, "no_phone_number"));
    assert_true(has_problem(&res, "insufficient_balance"));
    assert_true(has_problem(&res, "no_leads"));

    /* An invalid lead (kept with what was given, never dialed). */
    sql_exec(fx->db,
             "INSERT INTO lead (campaign_id, e164, raw_phone, invalid_reason)"
             " VALUES ($1::uuid, NULL, '555-12', 'too short to be a phone number')",
             1, w.campaign_id);
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_START, now, &res), OD_ERR_CONFLICT);
    assert_int_equal(res.n_problems, 4);
    assert_true(has_problem(&res, "invalid_leads"));
    assert_true(has_problem(&res, "no_leads")); /* an invalid lead is not callable */

    /* Phone number, credit and valid leads: only the invalid lead is left. */
    sql_exec(fx->db, "UPDATE assistant SET outbound_e164 = '+12125550000' WHERE id = $1::uuid", 1,
             w.assistant_id);
    sql_exec(fx->db, "UPDATE account SET balance_minor = 5000 WHERE id = $1::uuid", 1,
             w.account_id);
    char l1[UUID_STR_LEN], l2[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550101", NULL, l1);
    seed_lead(fx->db, w.campaign_id, "+12125550102", NULL, l2);
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_START, now, &res), OD_ERR_CONFLICT);
    assert_int_equal(res.n_problems, 1);
    assert_string_equal(res.problems[0].code, "invalid_leads");
    assert_non_null(strstr(res.problems[0].message, "1 lead"));
    /* Nothing changed by the refusals. */
    assert_string_equal(campaign_status(fx->db, w.campaign_id), "draft/-");
    assert_int_equal(sql_i64(fx->db, "SELECT count(*) FROM outbox", 0), 0);
    assert_string_equal(key_get(rkeys_campaign, w.campaign_id), "");

    /* Remove it: the campaign starts, and the scheduler is told at once. */
    sql_exec(fx->db, "DELETE FROM lead WHERE campaign_id = $1::uuid AND e164 IS NULL", 1,
             w.campaign_id);
    PGconn *listener = PQconnectdb(fx->dsn);
    assert_int_equal(PQstatus(listener), CONNECTION_OK);
    PQclear(PQexec(listener, "LISTEN " LIFECYCLE_NOTIFY_CHANNEL));
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_START, now, &res), OD_OK);
    assert_int_equal(res.old_status, MODEL_CAMPAIGN_DRAFT);
    assert_int_equal(res.new_status, MODEL_CAMPAIGN_IN_PROGRESS);
    assert_string_equal(campaign_status(fx->db, w.campaign_id), "in_progress/-");
    assert_int_equal(sql_i64(fx->db, "SELECT od_us(status_changed_at) FROM campaign", 0), now);
    assert_string_equal(key_get(rkeys_campaign, w.campaign_id), "in_progress");
    PGnotify *note = NULL;
    for (int i = 0; i < 50 && !note; i++) {
        PQconsumeInput(listener);
        note = PQnotifies(listener);
        if (!note)
            usleep(20 * 1000);
    }
    assert_non_null(note);
    assert_string_equal(note->extra, w.campaign_id);
    PQfreemem(note);
    PQfinish(listener);

    /* Running: one call at a time. */
    assert_int_equal(sched_dispatch(fx, w.campaign_id, now).jobs_issued, 1);
    const dialjob_t *job1 = sched_job_last(l1) ? sched_job_last(l1) : sched_job_last(l2);
    const char *first = strcmp(job1->lead_id, l1) == 0 ? l1 : l2;
    const char *second = first == l1 ? l2 : l1;

    /* Paused before the dialer placed the job: it skips it, and the lead is
     * called after the resume with its attempt intact (invariant 7). */
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_PAUSE, NY("09:30:10"), &res), OD_OK);
    ev_spec_t not_running = {.status = EV_SKIPPED, .skip = SK_NOT_RUN};
    assert_int_equal(sched_apply(fx, job1, &not_running, NY("09:30:11")).effect, RESULTS_APPLIED);
    lead_row_t skipped = lead_get(fx->db, first);
    assert_string_equal(skipped.status, "created");
    assert_int_equal(skipped.attempts, 0);
    assert_int_equal(sched_dispatch(fx, w.campaign_id, NY("09:30:12")).jobs_issued, 0);
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_RESUME, NY("09:30:20"), &res), OD_OK);
    /* Oldest due time first: the lead that never had a job goes now, the
     * skipped one (due since its skip) after it. */
    assert_int_equal(sched_dispatch(fx, w.campaign_id, NY("09:30:20")).jobs_issued, 1);
    assert_non_null(sched_job_last(second));
    job1 = sched_job_last(second);
    assert_string_equal(job1->attempt_id, lead_get(fx->db, second).attempt_id);
    const char *swap = first;
    first = second;
    second = swap;

    /* Pause: no dispatch issues jobs; the call under way still finishes. */
    now = NY("09:31");
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_PAUSE, now, &res), OD_OK);
    assert_string_equal(campaign_status(fx->db, w.campaign_id), "paused/user");
    assert_string_equal(key_get(rkeys_campaign, w.campaign_id), "paused");
    ev_spec_t done = {.status = EV_COMPLETED, .answered_by = BY_HUMAN, .ended_us = NY("09:33")};
    assert_true(sched_call(fx, job1, &done).lead_finished);
    assert_string_equal(lead_get(fx->db, first).status, "completed");
    dispatch_stats_t st = sched_dispatch(fx, w.campaign_id, NY("09:40"));
    assert_int_equal(st.jobs_issued, 0);
    assert_int_equal(st.campaigns, 0);
    st = sched_dispatch_all(fx, NY("09:41"));
    assert_int_equal(st.jobs_issued, 0);
    assert_int_equal(sched_jobs_count(w.campaign_id), 2); /* the skipped one, the answered one */
    assert_string_equal(lead_get(fx->db, second).status, "created");
    /* Pausing twice is no change; start and resume refuse what does not fit. */
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_PAUSE, NY("09:42"), &res), OD_OK);
    assert_int_equal(res.new_status, MODEL_CAMPAIGN_PAUSED);
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_START, NY("09:42"), &res), OD_ERR_CONFLICT);
    assert_string_equal(res.problems[0].code, "invalid_state");

    /* Resume: the next lead is called. */
    now = NY("09:45");
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_RESUME, now, &res), OD_OK);
    assert_string_equal(campaign_status(fx->db, w.campaign_id), "in_progress/-");
    assert_string_equal(key_get(rkeys_campaign, w.campaign_id), "in_progress");
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_RESUME, now, &res), OD_ERR_CONFLICT);
    assert_string_equal(res.problems[0].code, "invalid_state");
    assert_int_equal(sched_dispatch(fx, w.campaign_id, now).jobs_issued, 1);
    const dialjob_t *job2 = sched_job_last(second);
    assert_non_null(job2);
    assert_string_equal(job2->attempt_id, lead_get(fx->db, second).attempt_id);
    assert_int_equal(job2->attempt_number, 1); /* the skipped job used no attempt */
    assert_int_equal(sched_jobs_for_lead(second), 2);
    done.ended_us = NY("09:50");
    assert_true(sched_call(fx, job2, &done).lead_finished);

    /* Nothing left: completed by the scheduler. A lead added later makes
     * it callable again on resume. */
    assert_int_equal(sched_complete_campaigns(fx, NY("09:51")), 1);
    assert_string_equal(campaign_status(fx->db, w.campaign_id), "completed/-");
    assert_string_equal(key_get(rkeys_campaign, w.campaign_id), "completed");
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_RESUME, NY("09:52"), &res), OD_ERR_CONFLICT);
    assert_string_equal(res.problems[0].code, "no_leads");
    char l3[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550103", NULL, l3);
    assert_int_equal(lifecycle(fx, &w, LIFECYCLE_RESUME, NY("09:53"), &res), OD_OK);
    assert_int_equal(res.old_status, MODEL_CAMPAIGN_COMPLETED);
    assert_int_equal(sched_dispatch(fx, w.campaign_id, NY("09:53")).jobs_issued, 1);
    assert_non_null(sched_job_last(l3));

    const status_change_t want[] = {
        {CS_DRAFT, CS_RUNNING, ""},  {CS_RUNNING, CS_PAUSED, "user"},
        {CS_PAUSED, CS_RUNNING, ""}, {CS_RUNNING, CS_PAUSED, "user"},
        {CS_PAUSED, CS_RUNNING, ""}, {CS_RUNNING, CS_DONE, ""},
        {CS_DONE, CS_RUNNING, ""},
    };
    assert_status_changes(fx->db, w.campaign_id, want, sizeof(want) / sizeof(want[0]));

    /* Another account cannot touch it; a malformed id is not found. */
    sched_world_t other;
    sched_spec_t ospec = sched_spec_default();
    seed_world(fx->db, &ospec, &other);
    char err[512];
    assert_int_equal(lifecycle_campaign_apply(fx->db, NULL, g_env.redis_prefix, other.account_id,
                                              w.campaign_id, LIFECYCLE_PAUSE, NULL, now, &res, err,
                                              sizeof(err)),
                     OD_ERR_NOT_FOUND);
    assert_int_equal(lifecycle_campaign_apply(fx->db, NULL, g_env.redis_prefix, w.account_id,
                                              "not-a-uuid", LIFECYCLE_PAUSE, NULL, now, &res, err,
                                              sizeof(err)),
                     OD_ERR_NOT_FOUND);
    assert_string_equal(campaign_status(fx->db, w.campaign_id), "in_progress/-");
}

/* ---- balance ------------------------------------------------------------- */

/* A used-up balance pauses every running campaign of the account in the
 * same transaction, and every one is mirrored to Redis at once, however
 * many (there was once a silent cap of 16 per transaction). */
static void test_balance_pauses_every_campaign(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.balance_minor = 10;
    enum { CAMPAIGNS = 20 };
    sched_world_t w[CAMPAIGNS];
    seed_world(fx->db, &spec, &w[0]);
    for (int i = 1; i < CAMPAIGNS; i++) {
        w[i] = w[0];
        seed_campaign(fx->db, w[0].account_id, w[0].assistant_id, &spec, w[i].campaign_id);
    }
    char lead[UUID_STR_LEN];
    seed_lead(fx->db, w[0].campaign_id, "+12125550191", NULL, lead);
    dispatch_stats_t st = sched_dispatch_all(fx, NY("10:00"));
    assert_int_equal(st.jobs_issued, 1);
    ev_spec_t end = {
        .status = EV_COMPLETED, .answered_by = BY_HUMAN, .ended_us = NY("10:03"), .cost_minor = 10};
    results_outcome_t out = sched_call(fx, sched_job_last(lead), &end);
    assert_int_equal(out.effect, RESULTS_APPLIED);
    assert_int_equal(out.paused_campaigns, CAMPAIGNS);
    for (int i = 0; i < CAMPAIGNS; i++) {
        assert_string_equal(campaign_status(fx->db, w[i].campaign_id),
                            "paused/insufficient_balance");
        assert_string_equal(key_get(rkeys_campaign, w[i].campaign_id), "paused");
    }
}

/* Costs are charged once per call; at zero or below every running campaign
 * of the account is paused (insufficient_balance), and calls under way
 * still finish and are charged. */
static void test_balance(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.balance_minor = 100;
    sched_world_t a, b, c, d;
    seed_world(fx->db, &spec, &a);
    b = a;
    seed_campaign(fx->db, a.account_id, a.assistant_id, &spec, b.campaign_id);
    c = a;
    sched_spec_t draft = spec;
    draft.status = "draft";
    seed_campaign(fx->db, a.account_id, a.assistant_id, &draft, c.campaign_id);
    seed_world(fx->db, &spec, &d); /* another account */
    char a1[UUID_STR_LEN], a2[UUID_STR_LEN], b1[UUID_STR_LEN], c1[UUID_STR_LEN], d1[UUID_STR_LEN];
    seed_lead(fx->db, a.campaign_id, "+12125550101", NULL, a1);
    seed_lead(fx->db, a.campaign_id, "+12125550102", NULL, a2);
    seed_lead(fx->db, b.campaign_id, "+12125550103", NULL, b1);
    seed_lead(fx->db, c.campaign_id, "+12125550104", NULL, c1);
    seed_lead(fx->db, d.campaign_id, "+12125550105", NULL, d1);

    dispatch_stats_t st = sched_dispatch_all(fx, NY("10:00"));
    assert_int_equal(st.jobs_issued, 4);
    assert_int_equal(st.campaigns, 3);
    assert_int_equal(sched_jobs_for_lead(c1), 0);

    /* 0.30 charged once, whatever is replayed. */
    const dialjob_t *ja1 = sched_job_last(a1);
    ev_spec_t end = {
        .status = EV_COMPLETED, .answered_by = BY_HUMAN, .ended_us = NY("10:03"), .cost_minor = 30};
    char event_id[UUID_STR_LEN];
    uuid_str_new(event_id);
    results_outcome_t out = sched_apply_id(fx, ja1, event_id, &end, NY("10:03"));
    assert_int_equal(out.effect, RESULTS_APPLIED);
    assert_int_equal(out.paused_campaigns, 0);
    const char *balance_sql = "SELECT balance_minor FROM account WHERE id = $1::uuid";
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, a.account_id), 70);
    assert_string_equal(sql_text(fx->db,
                                 "SELECT cost_minor || '/' || od_us(charged_at) FROM call"
                                 " WHERE attempt_id = $1::uuid",
                                 1, ja1->attempt_id),
                        sql_text(fx->db, "SELECT '30/' || $1::text", 1, i64s(NY("10:03"))));
    out = sched_apply_id(fx, ja1, event_id, &end, NY("10:04"));
    assert_int_equal(out.effect, RESULTS_DUPLICATE);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, a.account_id), 70);
    /* A second terminal report of the same call (new event id) is not a
     * second call: the first terminal result stands, nothing is charged. */
    ev_spec_t again = {
        .status = EV_FAILED, .failure = FC_TRANSIENT, .ended_us = NY("10:05"), .cost_minor = 30};
    out = sched_apply(fx, ja1, &again, NY("10:05"));
    assert_int_equal(out.effect, RESULTS_STALE);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, a.account_id), 70);
    assert_string_equal(
        sql_text(fx->db, "SELECT status FROM call WHERE attempt_id = $1::uuid", 1, ja1->attempt_id),
        "completed");
    assert_string_equal(lead_get(fx->db, a1).status, "completed");

    /* 0.70 takes the balance to exactly zero: both running campaigns of the
     * account pause, the draft stays a draft, the other account is untouched. */
    end.cost_minor = 70;
    end.ended_us = NY("10:06");
    out = sched_call(fx, sched_job_last(b1), &end);
    assert_int_equal(out.effect, RESULTS_APPLIED);
    assert_int_equal(out.paused_campaigns, 2);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, a.account_id), 0);
    assert_string_equal(campaign_status(fx->db, a.campaign_id), "paused/insufficient_balance");
    assert_string_equal(campaign_status(fx->db, b.campaign_id), "paused/insufficient_balance");
    assert_string_equal(campaign_status(fx->db, c.campaign_id), "draft/-");
    assert_string_equal(campaign_status(fx->db, d.campaign_id), "in_progress/-");
    assert_string_equal(key_get(rkeys_campaign, a.campaign_id), "paused");
    assert_string_equal(key_get(rkeys_campaign, b.campaign_id), "paused");
    const status_change_t paused[] = {{CS_RUNNING, CS_PAUSED, "insufficient_balance"}};
    assert_status_changes(fx->db, a.campaign_id, paused, 1);
    assert_status_changes(fx->db, b.campaign_id, paused, 1);
    assert_status_changes(fx->db, c.campaign_id, NULL, 0);

    /* The call already under way in A finishes and is charged. */
    end.cost_minor = 5;
    end.ended_us = NY("10:07");
    out = sched_call(fx, sched_job_last(a2), &end);
    assert_true(out.lead_finished);
    assert_int_equal(out.paused_campaigns, 0);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, a.account_id), -5);
    assert_status_changes(fx->db, a.campaign_id, paused, 1);
    /* The other account's call is charged to that account only. */
    end.cost_minor = 12;
    sched_call(fx, sched_job_last(d1), &end);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, d.account_id), 88);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, a.account_id), -5);

    /* Paused campaigns get no jobs; resume wants credit first. */
    char l[UUID_STR_LEN];
    seed_lead(fx->db, a.campaign_id, "+12125550106", NULL, l);
    st = sched_dispatch_all(fx, NY("10:10"));
    assert_int_equal(st.jobs_issued, 0);
    lifecycle_result_t res;
    assert_int_equal(lifecycle(fx, &a, LIFECYCLE_RESUME, NY("10:11"), &res), OD_ERR_CONFLICT);
    assert_int_equal(res.n_problems, 1);
    assert_string_equal(res.problems[0].code, "insufficient_balance");
    if (!strstr(res.problems[0].message, "-0.05 USD"))
        fail_msg("the message should show the balance, -0.05 USD: %s", res.problems[0].message);
    sql_exec(fx->db, "UPDATE account SET balance_minor = balance_minor + 1000 WHERE id = $1::uuid",
             1, a.account_id);
    assert_int_equal(lifecycle(fx, &a, LIFECYCLE_RESUME, NY("10:12"), &res), OD_OK);
    assert_string_equal(campaign_status(fx->db, a.campaign_id), "in_progress/-");
    assert_int_equal(sched_dispatch_all(fx, NY("10:12")).jobs_issued, 1);
    assert_non_null(sched_job_last(l));
}

/* ---- replayed and out-of-order events (invariant 5) ------------------------ */

static int64_t call_history_len(pg_conn_t *db, const char *attempt_id)
{
    return sql_i64(db,
                   "SELECT jsonb_array_length(status_history) FROM call"
                   " WHERE attempt_id = $1::uuid",
                   1, attempt_id);
}

static void assert_lead_same(const lead_row_t *a, const lead_row_t *b)
{
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->outcome, b->outcome);
    assert_int_equal(a->attempts, b->attempts);
    assert_int_equal(a->next_null, b->next_null);
    assert_true(a->next_us == b->next_us);
    assert_string_equal(a->goal, b->goal);
    assert_string_equal(a->attempt_id, b->attempt_id);
    assert_string_equal(a->last_call_status, b->last_call_status);
}

static void test_replays(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.goal_variable = "interested";
    sched_world_t w;
    seed_world(fx->db, &spec, &w);
    char l1[UUID_STR_LEN], l2[UUID_STR_LEN], l3[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550101", NULL, l1);
    seed_lead(fx->db, w.campaign_id, "+12125550102", NULL, l2);
    seed_lead(fx->db, w.campaign_id, "+12125550103", NULL, l3);
    assert_int_equal(sched_dispatch(fx, w.campaign_id, NY("10:00")).jobs_issued, 3);
    const dialjob_t *j1 = sched_job_last(l1), *j2 = sched_job_last(l2), *j3 = sched_job_last(l3);

    /* Lead 1: ringing, in progress, completed; then every event again. */
    char e_ring[UUID_STR_LEN], e_prog[UUID_STR_LEN], e_done[UUID_STR_LEN];
    uuid_str_new(e_ring);
    uuid_str_new(e_prog);
    uuid_str_new(e_done);
    ev_spec_t ring = {.status = EV_RINGING};
    ev_spec_t prog = {.status = EV_IN_PROG, .answered_by = BY_HUMAN};
    ev_spec_t done = {.status = EV_COMPLETED,
                      .answered_by = BY_HUMAN,
                      .vars = "{\"interested\": true}",
                      .ended_us = NY("10:04"),
                      .cost_minor = 7};
    assert_int_equal(sched_apply_id(fx, j1, e_ring, &ring, NY("10:00:05")).effect, RESULTS_APPLIED);
    assert_string_equal(lead_get(fx->db, l1).status, "processing");
    assert_int_equal(sched_apply_id(fx, j1, e_prog, &prog, NY("10:00:10")).effect, RESULTS_APPLIED);
    results_outcome_t out = sched_apply_id(fx, j1, e_done, &done, NY("10:04"));
    assert_int_equal(out.effect, RESULTS_APPLIED);
    assert_true(out.lead_finished);
    lead_row_t before = lead_get(fx->db, l1);
    assert_string_equal(before.status, "completed");
    assert_string_equal(before.goal, "t");
    int64_t balance = sql_i64(fx->db, "SELECT balance_minor FROM account", 0);
    int64_t outbox = sql_i64(fx->db, "SELECT count(*) FROM outbox", 0);

    const char *ids[] = {e_done, e_ring, e_prog, e_done};
    const ev_spec_t *specs[] = {&done, &ring, &prog, &done};
    for (size_t i = 0; i < 4; i++) {
        out = sched_apply_id(fx, j1, ids[i], specs[i], NY("10:06"));
        assert_int_equal(out.effect, RESULTS_DUPLICATE);
        assert_false(out.lead_finished);
    }
    lead_row_t after = lead_get(fx->db, l1);
    assert_lead_same(&before, &after);
    assert_int_equal(call_history_len(fx->db, j1->attempt_id), 3);
    assert_int_equal(sql_i64(fx->db, "SELECT balance_minor FROM account", 0), balance);
    assert_int_equal(sql_i64(fx->db, "SELECT count(*) FROM outbox", 0), outbox);

    /* A late ringing (new event id) after completed: recorded in the
     * history, the call stays completed, the lead does not move. */
    out = sched_apply(fx, j1, &ring, NY("10:07"));
    assert_int_equal(out.effect, RESULTS_STALE);
    assert_int_equal(call_history_len(fx->db, j1->attempt_id), 4);
    assert_string_equal(
        sql_text(fx->db, "SELECT status FROM call WHERE attempt_id = $1::uuid", 1, j1->attempt_id),
        "completed");
    after = lead_get(fx->db, l1);
    assert_lead_same(&before, &after);

    /* Lead 2: in progress, then a late ringing: the call stays in progress. */
    assert_int_equal(sched_apply(fx, j2, &prog, NY("10:00:20")).effect, RESULTS_APPLIED);
    assert_int_equal(sched_apply(fx, j2, &ring, NY("10:00:21")).effect, RESULTS_APPLIED);
    assert_string_equal(
        sql_text(fx->db, "SELECT status FROM call WHERE attempt_id = $1::uuid", 1, j2->attempt_id),
        "in_progress");
    assert_string_equal(lead_get(fx->db, l2).status, "processing");

    /* Lead 3: unanswered, then a contradicting terminal event: the first
     * terminal result stands. */
    ev_spec_t noanswer = {.status = EV_UNANSWERED, .ended_us = NY("10:01")};
    assert_true(sched_apply(fx, j3, &noanswer, NY("10:01")).effect == RESULTS_APPLIED);
    before = lead_get(fx->db, l3);
    assert_string_equal(before.status, "rescheduled");
    out = sched_apply(fx, j3, &done, NY("10:02"));
    assert_int_equal(out.effect, RESULTS_STALE);
    after = lead_get(fx->db, l3);
    assert_lead_same(&before, &after);

    /* Lead 3's next attempt is scheduled; an event for the old attempt id is
     * recorded on the old call row only. */
    assert_int_equal(sched_dispatch(fx, w.campaign_id, NY("11:01")).jobs_issued, 1);
    const dialjob_t *j3b = sched_job_last(l3);
    assert_string_not_equal(j3b->attempt_id, j3->attempt_id);
    before = lead_get(fx->db, l3);
    assert_string_equal(before.status, "scheduled");
    assert_string_equal(before.attempt_id, j3b->attempt_id);
    int64_t hist = call_history_len(fx->db, j3->attempt_id);
    out = sched_apply(fx, j3, &done, NY("11:02"));
    assert_int_equal(out.effect, RESULTS_STALE);
    assert_false(out.lead_finished);
    assert_int_equal(call_history_len(fx->db, j3->attempt_id), hist + 1);
    after = lead_get(fx->db, l3);
    assert_lead_same(&before, &after);
    ev_spec_t ring_old = {.status = EV_RINGING};
    assert_int_equal(sched_apply(fx, j3, &ring_old, NY("11:02")).effect, RESULTS_STALE);
    after = lead_get(fx->db, l3);
    assert_string_equal(after.status, "scheduled"); /* not processing: not its attempt */
    /* The new attempt's events do move it. */
    assert_int_equal(sched_apply(fx, j3b, &ring, NY("11:02")).effect, RESULTS_APPLIED);
    assert_string_equal(lead_get(fx->db, l3).status, "processing");

    /* An event for a lead that no longer exists changes nothing; one that
     * names the wrong campaign is refused. */
    dialjob_t ghost = *j2;
    char ghost_lead[UUID_STR_LEN], ghost_attempt[UUID_STR_LEN];
    uuid_str_new(ghost_lead);
    uuid_str_new(ghost_attempt);
    ghost.lead_id = ghost_lead;
    ghost.attempt_id = ghost_attempt;
    assert_int_equal(sched_apply(fx, &ghost, &done, NY("11:03")).effect, RESULTS_UNKNOWN_LEAD);
    assert_int_equal(
        sql_i64(fx->db, "SELECT count(*) FROM call WHERE attempt_id = $1::uuid", 1, ghost_attempt),
        0);
    callevent_t ev;
    callevent_init(&ev);
    char eid[UUID_STR_LEN], other_campaign[UUID_STR_LEN], err[512];
    uuid_str_new(eid);
    uuid_str_new(other_campaign);
    ev.event_id = eid;
    ev.attempt_id = j2->attempt_id;
    ev.lead_id = j2->lead_id;
    ev.campaign_id = other_campaign;
    ev.account_id = j2->account_id;
    ev.status = EV_COMPLETED;
    ev.answered_by = BY_HUMAN;
    assert_int_equal(results_apply(fx->db, g_env.redis, g_env.redis_prefix, &ev, NY("11:04"), &out,
                                   err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_string_equal(lead_get(fx->db, l2).status, "processing");
}

/* ---- recovery (invariant 6) ------------------------------------------------ */

/* ---- batches ------------------------------------------------------------ */

/* A campaign with leads A, B (with a waiting secondary B2) and C, each
 * called once; the account's balance covers A's and B's calls exactly. */
typedef struct batch_world {
    sched_world_t w;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], b2[UUID_STR_LEN], c[UUID_STR_LEN];
    const dialjob_t *ja, *jb, *jc;
    dialjob_t ghost;
    char ghost_lead[UUID_STR_LEN], ghost_attempt[UUID_STR_LEN];
    char ids[7][UUID_STR_LEN];
    callevent_t evs[7];
} batch_world_t;

#define BATCH_EVENTS 7

static void batch_world_seed(sched_fx_t *fx, int n, batch_world_t *bw)
{
    sched_spec_t spec = sched_spec_default();
    spec.goal_variable = "interested";
    spec.balance_minor = 8;
    seed_world(fx->db, &spec, &bw->w);
    char phone[16];
    snprintf(phone, sizeof(phone), "+1212555%d101", n);
    seed_lead(fx->db, bw->w.campaign_id, phone, NULL, bw->a);
    snprintf(phone, sizeof(phone), "+1212555%d102", n);
    seed_lead(fx->db, bw->w.campaign_id, phone, NULL, bw->b);
    snprintf(phone, sizeof(phone), "+1212555%d103", n);
    seed_secondary(fx->db, bw->w.campaign_id, bw->b, 1, phone, bw->b2);
    snprintf(phone, sizeof(phone), "+1212555%d104", n);
    seed_lead(fx->db, bw->w.campaign_id, phone, NULL, bw->c);
    assert_int_equal(sched_dispatch(fx, bw->w.campaign_id, NY("10:00")).jobs_issued, 3);
    bw->ja = sched_job_last(bw->a);
    bw->jb = sched_job_last(bw->b);
    bw->jc = sched_job_last(bw->c);
    bw->ghost = *bw->jc;
    uuid_str_new(bw->ghost_lead);
    uuid_str_new(bw->ghost_attempt);
    bw->ghost.lead_id = bw->ghost_lead;
    bw->ghost.attempt_id = bw->ghost_attempt;

    /* A rings and completes; B completes (its event twice); C reports
     * post-call variables the database refuses, then busy; a deleted lead. */
    static const ev_spec_t ring = {.status = EV_RINGING};
    static ev_spec_t done_a = {.status = EV_COMPLETED,
                               .answered_by = BY_HUMAN,
                               .vars = "{\"interested\": true}",
                               .cost_minor = 5};
    static ev_spec_t done_b = {.status = EV_COMPLETED,
                               .answered_by = BY_HUMAN,
                               .vars = "{\"interested\": false}",
                               .cost_minor = 3};
    static ev_spec_t bad_c = {.status = EV_COMPLETED, .answered_by = BY_HUMAN, .vars = "{not json"};
    static ev_spec_t busy_c = {.status = EV_BUSY};
    done_a.ended_us = NY("10:02");
    done_b.ended_us = NY("10:03");
    bad_c.ended_us = NY("10:04");
    busy_c.ended_us = NY("10:04");
    for (size_t i = 0; i < BATCH_EVENTS; i++)
        uuid_str_new(bw->ids[i]);
    snprintf(bw->ids[3], UUID_STR_LEN, "%s", bw->ids[2]); /* B's event again */
    sched_event_build(bw->ja, bw->ids[0], &ring, NY("10:00:05"), &bw->evs[0]);
    sched_event_build(bw->ja, bw->ids[1], &done_a, NY("10:02"), &bw->evs[1]);
    sched_event_build(bw->jb, bw->ids[2], &done_b, NY("10:03"), &bw->evs[2]);
    sched_event_build(bw->jb, bw->ids[3], &done_b, NY("10:03"), &bw->evs[3]);
    sched_event_build(bw->jc, bw->ids[4], &bad_c, NY("10:04"), &bw->evs[4]);
    sched_event_build(bw->jc, bw->ids[5], &busy_c, NY("10:04"), &bw->evs[5]);
    sched_event_build(&bw->ghost, bw->ids[6], &busy_c, NY("10:04"), &bw->evs[6]);
}

/* What a world's rows say, with its ids replaced by the leads' roles. */
static void batch_world_state(sched_fx_t *fx, const batch_world_t *bw, char *buf, size_t len)
{
    size_t off = 0;
    const char *leads[] = {bw->a, bw->b, bw->b2, bw->c};
    for (size_t i = 0; i < 4; i++) {
        lead_row_t l = lead_get(fx->db, leads[i]);
        off += (size_t)snprintf(buf + off, len - off, "lead %zu: %s %s %d %s %s %" PRId64 "\n", i,
                                l.status, l.outcome, l.attempts, l.goal, l.last_call_status,
                                l.next_us);
    }
    const dialjob_t *jobs[] = {bw->ja, bw->jb, bw->jc};
    for (size_t i = 0; i < 3; i++)
        off += (size_t)snprintf(
            buf + off, len - off, "call %zu: %s\n", i,
            sql_text(fx->db,
                     "SELECT status || ' ' || jsonb_array_length(status_history) || ' '"
                     " || coalesce(cost_minor, -1) || ' ' || (charged_at IS NOT NULL)"
                     " || ' ' || coalesce(answered_by::text, '-') || ' '"
                     " || coalesce(ended_reason, '-') FROM call WHERE attempt_id = $1::uuid",
                     1, jobs[i]->attempt_id));
    off +=
        (size_t)snprintf(buf + off, len - off, "calls %s, balance %s, campaign %s\n",
                         sql_text(fx->db, "SELECT count(*) FROM call WHERE campaign_id = $1::uuid",
                                  1, bw->w.campaign_id),
                         sql_text(fx->db, "SELECT balance_minor FROM account WHERE id = $1::uuid",
                                  1, bw->w.account_id),
                         campaign_status(fx->db, bw->w.campaign_id));
    campaignevent_t *evs[16];
    size_t n = outbox_events(fx->db, bw->w.campaign_id, KIND_LEAD, evs, 16);
    for (size_t i = 0; i < n; i++) {
        int role = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(evs[i]->lead_id, leads[k]) == 0)
                role = k;
        off += (size_t)snprintf(buf + off, len - off, "lead_finished %d %d %d %d\n", role,
                                (int)evs[i]->lead_status, (int)evs[i]->outcome,
                                (int)evs[i]->goal_result);
        campaignevent_free(evs[i]);
    }
    n = outbox_events(fx->db, bw->w.campaign_id, KIND_STATUS, evs, 16);
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(buf + off, len - off, "status_changed %d %d %s\n",
                                (int)evs[i]->old_status, (int)evs[i]->new_status, evs[i]->reason);
        campaignevent_free(evs[i]);
    }
}

/* The same events applied one per transaction and as one batch leave the
 * same rows and the same outbox events: a lead with two events in the
 * batch, a contact group completed, a replay within the batch, the balance
 * used up (the campaign paused), an event the database refuses (rejected
 * alone, the others applied), a deleted lead. Applying the batch again
 * changes nothing. */
static void test_batch_same_as_one_by_one(void **state)
{
    sched_fx_t *fx = *state;
    batch_world_t *one = calloc(1, sizeof(*one)), *batch = calloc(1, sizeof(*batch));
    batch_world_seed(fx, 1, one);
    batch_world_seed(fx, 2, batch);
    static const results_effect_t want[BATCH_EVENTS] = {RESULTS_APPLIED,
                                                        RESULTS_APPLIED,
                                                        RESULTS_APPLIED,
                                                        RESULTS_DUPLICATE,
                                                        RESULTS_APPLIED /* rejected */,
                                                        RESULTS_APPLIED,
                                                        RESULTS_UNKNOWN_LEAD};
    char err[512];
    results_outcome_t outs[BATCH_EVENTS];
    for (size_t i = 0; i < BATCH_EVENTS; i++) {
        int rc = results_apply(fx->db, g_env.redis, g_env.redis_prefix, &one->evs[i], NY("10:05"),
                               &outs[i], err, sizeof(err));
        assert_int_equal(rc, i == 4 ? OD_ERR_INVALID : OD_OK);
        if (i != 4)
            assert_int_equal(outs[i].effect, want[i]);
    }
    const callevent_t *evs[BATCH_EVENTS];
    for (size_t i = 0; i < BATCH_EVENTS; i++)
        evs[i] = &batch->evs[i];
    assert_int_equal(results_apply_batch(fx->db, g_env.redis, g_env.redis_prefix, evs, BATCH_EVENTS,
                                         NY("10:05"), outs, err, sizeof(err)),
                     OD_OK);
    for (size_t i = 0; i < BATCH_EVENTS; i++) {
        if (i == 4) {
            assert_true(outs[i].rejected);
            assert_non_null(strstr(outs[i].error, "json"));
            continue;
        }
        assert_false(outs[i].rejected);
        assert_int_equal(outs[i].effect, want[i]);
        assert_int_equal(outs[i].lead_finished, i == 1 || i == 2);
    }
    assert_int_equal(outs[2].paused_campaigns, 1); /* B's charge used the balance up */

    char *a = malloc(8192), *b = malloc(8192), *again = malloc(8192);
    batch_world_state(fx, one, a, 8192);
    batch_world_state(fx, batch, b, 8192);
    assert_string_equal(a, b);
    /* What the rows say, beyond being alike. */
    assert_non_null(strstr(b, "lead 2: completed answered 0")); /* B2, by the group step */
    assert_non_null(strstr(b, "lead 3: rescheduled  1"));       /* C, after busy */
    assert_non_null(strstr(b, "balance 0, campaign paused/insufficient_balance"));
    assert_string_equal(key_get(rkeys_campaign, batch->w.campaign_id), "paused");

    /* Again, but for the refused event (it would now be a late report
     * after C's busy: recorded on the call row). */
    const callevent_t *replay[] = {evs[0], evs[1], evs[2], evs[3], evs[5], evs[6]};
    assert_int_equal(results_apply_batch(fx->db, g_env.redis, g_env.redis_prefix, replay, 6,
                                         NY("10:06"), outs, err, sizeof(err)),
                     OD_OK);
    for (size_t i = 0; i < 6; i++) {
        assert_false(outs[i].rejected);
        assert_int_equal(outs[i].effect, i == 5 ? RESULTS_UNKNOWN_LEAD : RESULTS_DUPLICATE);
    }
    batch_world_state(fx, batch, again, 8192);
    assert_string_equal(b, again);
    free(again);
    free(b);
    free(a);
    free(batch);
    free(one);
}

/* One batch charging two accounts: each account's row is debited once for
 * the transaction, by the sum of its calls' costs; the account whose
 * balance the sum uses up has its campaign paused (counted on its last
 * charging event), the other does not; every call is marked charged, and
 * the batch applied again charges nothing. */
static void test_batch_debits_each_account(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.balance_minor = 100;
    sched_world_t a, b;
    seed_world(fx->db, &spec, &a);
    spec.balance_minor = 1000;
    seed_world(fx->db, &spec, &b);
    char leads[5][UUID_STR_LEN];
    const char *campaign_of[5] = {a.campaign_id, b.campaign_id, a.campaign_id, b.campaign_id,
                                  a.campaign_id};
    static const int64_t cost[5] = {30, 40, 30, 60, 50};
    for (int i = 0; i < 5; i++) {
        char phone[16];
        snprintf(phone, sizeof(phone), "+121255503%02d", i);
        seed_lead(fx->db, campaign_of[i], phone, NULL, leads[i]);
    }
    assert_int_equal(sched_dispatch_all(fx, NY("10:00")).jobs_issued, 5);
    char ids[5][UUID_STR_LEN];
    callevent_t evs[5];
    const callevent_t *ev_ptrs[5];
    for (int i = 0; i < 5; i++) {
        ev_spec_t end = {.status = EV_COMPLETED,
                         .answered_by = BY_HUMAN,
                         .ended_us = NY("10:03"),
                         .cost_minor = cost[i]};
        uuid_str_new(ids[i]);
        sched_event_build(sched_job_last(leads[i]), ids[i], &end, NY("10:03"), &evs[i]);
        ev_ptrs[i] = &evs[i];
    }
    results_outcome_t outs[5];
    char err[512];
    assert_int_equal(results_apply_batch(fx->db, g_env.redis, g_env.redis_prefix, ev_ptrs, 5,
                                         NY("10:03"), outs, err, sizeof(err)),
                     OD_OK);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(outs[i].effect, RESULTS_APPLIED);
        assert_int_equal(outs[i].paused_campaigns, i == 4); /* A's last charge */
    }
    const char *balance_sql = "SELECT balance_minor FROM account WHERE id = $1::uuid";
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, a.account_id), 100 - 30 - 30 - 50);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, b.account_id), 1000 - 40 - 60);
    assert_string_equal(campaign_status(fx->db, a.campaign_id), "paused/insufficient_balance");
    assert_string_equal(campaign_status(fx->db, b.campaign_id), "in_progress/-");
    const char *charged_sql = "SELECT count(*) FROM call WHERE campaign_id IN ($1::uuid, $2::uuid)"
                              " AND charged_at = od_ts($3::bigint)";
    char at[24];
    snprintf(at, sizeof(at), "%" PRId64, NY("10:03"));
    assert_int_equal(sql_i64(fx->db, charged_sql, 3, a.campaign_id, b.campaign_id, at), 5);

    assert_int_equal(results_apply_batch(fx->db, g_env.redis, g_env.redis_prefix, ev_ptrs, 5,
                                         NY("10:04"), outs, err, sizeof(err)),
                     OD_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(outs[i].effect, RESULTS_DUPLICATE);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, a.account_id), -10);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, b.account_id), 900);
}

/* The fence proves an attempt was never placed: the lead gets the attempt
 * back, also on its last one, which would otherwise end it as exhausted;
 * its next job carries the same attempt number. */
static void test_recovery_fenced_attempt_given_back(void **state)
{
    sched_fx_t *fx = *state;
    sched_world_t w;
    char lead[UUID_STR_LEN];
    seed_world_with_lead(fx->db, &w, "+12125550111", lead);
    /* Three calls placed (max_retries 3): the next is the last. */
    sql_exec(fx->db, "UPDATE lead SET status = 'rescheduled', attempts = 3 WHERE id = $1::uuid", 1,
             lead);
    int64_t t0 = NY("10:00");
    assert_int_equal(sched_dispatch(fx, w.campaign_id, t0).jobs_issued, 1);
    const dialjob_t *job = sched_job_last(lead);
    assert_int_equal(job->attempt_number, 4);
    char attempt[UUID_STR_LEN];
    snprintf(attempt, sizeof(attempt), "%s", job->attempt_id);
    /* Out of re-issues, no dialer ever took it: fenced and closed. */
    sql_exec(fx->db, "UPDATE lead SET reissues = $2::int WHERE id = $1::uuid", 2, lead,
             i64s(RECOVERY_REISSUES_MAX));
    int64_t now = t0 + 121 * US_PER_SEC;
    recovery_stats_t st = sched_recover(fx, now);
    assert_int_equal(st.closed_scheduled, 1);
    assert_string_equal(key_get(rkeys_attempt, attempt), RECOVERY_FENCE_VALUE);
    lead_row_t r = lead_get(fx->db, lead);
    assert_string_equal(r.status, "rescheduled");
    assert_string_equal(r.outcome, "");
    assert_int_equal(r.attempts, 3);
    assert_time_equal(r.next_us, now + 60 * US_PER_MIN);
    assert_string_equal(sql_text(fx->db,
                                 "SELECT status || '/' || ended_reason FROM call"
                                 " WHERE attempt_id = $1::uuid",
                                 1, attempt),
                        "failed/dial-job-lost");
    /* When it is due again, the job is the fourth call once more. */
    assert_int_equal(sched_dispatch(fx, w.campaign_id, r.next_us).jobs_issued, 1);
    job = sched_job_last(lead);
    assert_int_equal(job->attempt_number, 4);
    assert_string_not_equal(job->attempt_id, attempt);
}

/* A stuck lead whose recovery fails (its campaign's settings cannot be
 * read) is skipped and held back; the stuck leads after it are recovered
 * in the same pass, and the next pass leaves the held one out. */
static void test_recovery_skips_a_failing_lead(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    sched_world_t good, bad;
    seed_world(fx->db, &spec, &good);
    seed_world(fx->db, &spec, &bad);
    char bad_lead[UUID_STR_LEN], good_lead[UUID_STR_LEN];
    seed_lead(fx->db, bad.campaign_id, "+12125550121", NULL, bad_lead);
    seed_lead(fx->db, good.campaign_id, "+12125550122", NULL, good_lead);
    int64_t t0 = NY("10:00");
    assert_int_equal(sched_dispatch(fx, bad.campaign_id, t0).jobs_issued, 1);
    assert_int_equal(sched_dispatch(fx, good.campaign_id, t0).jobs_issued, 1);
    /* The bad lead sorts first among the stuck; then its assistant's zone
     * becomes one the scheduler cannot read. */
    sql_exec(fx->db,
             "UPDATE lead SET status_changed_at = status_changed_at - interval '1 minute'"
             " WHERE id = $1::uuid",
             1, bad_lead);
    sql_exec(fx->db, "UPDATE assistant SET timezone = 'Mars/Olympus_Mons' WHERE id = $1::uuid", 1,
             bad.assistant_id);
    item_backoff_t *skip = item_backoff_new(ITEM_BACKOFF_FIRST_US, ITEM_BACKOFF_MAX_US);
    int64_t now = t0 + 121 * US_PER_SEC;
    recovery_stats_t st = sched_recover_held(fx, skip, now);
    assert_int_equal(st.leads_failed, 1);
    assert_int_equal(st.reissued, 1);
    assert_int_equal(sched_jobs_for_lead(good_lead), 2);
    assert_int_equal(sched_jobs_for_lead(bad_lead), 1);
    assert_int_equal(lead_get(fx->db, bad_lead).reissues, 0);
    assert_true(item_backoff_held(skip, bad_lead, od_clock_real_us()));
    /* Held back: the next pass does not try it (no failure counted) and
     * still recovers the good one. */
    now += 121 * US_PER_SEC;
    st = sched_recover_held(fx, skip, now);
    assert_int_equal(st.reissued, 1);
    assert_int_equal(st.leads_failed, 0);
    assert_int_equal(sched_jobs_for_lead(good_lead), 3);
    item_backoff_free(skip);
}

/* A scheduled lead whose job produced no event: re-issued with the same
 * attempt id RECOVERY_REISSUES_MAX times, then fenced and closed as a
 * transient failure; if a dialer holds the attempt, the lead waits for the
 * call's events instead. A lead processing longer than the maximum call
 * duration plus the margin is closed as failed. */
static void test_recovery_scheduled_and_processing(void **state)
{
    sched_fx_t *fx = *state;
    sched_world_t w = seed_world_default(fx->db);
    char lost[UUID_STR_LEN], dialed[UUID_STR_LEN], ringing[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550101", NULL, lost);
    seed_lead(fx->db, w.campaign_id, "+12125550102", NULL, dialed);
    seed_lead(fx->db, w.campaign_id, "+12125550103", NULL, ringing);
    int64_t t0 = NY("10:00");
    assert_int_equal(sched_dispatch(fx, w.campaign_id, t0).jobs_issued, 3);
    char a_lost[UUID_STR_LEN], a_dialed[UUID_STR_LEN];
    snprintf(a_lost, sizeof(a_lost), "%s", lead_get(fx->db, lost).attempt_id);
    snprintf(a_dialed, sizeof(a_dialed), "%s", lead_get(fx->db, dialed).attempt_id);
    /* The third lead's call is ringing: processing, not recovered as lost. */
    ev_spec_t ring = {.status = EV_RINGING};
    sched_apply(fx, sched_job_last(ringing), &ring, t0 + 5 * US_PER_SEC);
    assert_string_equal(lead_get(fx->db, ringing).status, "processing");

    /* Inside the timeout: nothing. */
    recovery_stats_t st = sched_recover(fx, t0 + 120 * US_PER_SEC);
    assert_int_equal(st.reissued + st.closed_scheduled + st.closed_processing, 0);

    /* Each pass past the timeout re-issues the same attempt, same number. */
    int64_t now = t0;
    for (int n = 1; n <= RECOVERY_REISSUES_MAX; n++) {
        now += 121 * US_PER_SEC;
        st = sched_recover(fx, now);
        assert_int_equal(st.reissued, 2);
        assert_int_equal(st.closed_scheduled, 0);
        assert_int_equal(sched_jobs_for_attempt(a_lost), (size_t)(1 + n));
        assert_int_equal(sched_jobs_for_attempt(a_dialed), (size_t)(1 + n));
        const dialjob_t *job = sched_job_last(lost);
        assert_string_equal(job->attempt_id, a_lost);
        assert_int_equal(job->attempt_number, 1);
        assert_time_equal(job->issued_at_us, now);
        assert_time_equal(job->not_after_us, NY("18:00"));
        lead_row_t r = lead_get(fx->db, lost);
        assert_string_equal(r.status, "scheduled");
        assert_string_equal(r.attempt_id, a_lost);
        assert_int_equal(r.reissues, n);
    }
    assert_int_equal(sched_jobs_for_lead(ringing), 1);

    /* A dialer took the second lead's attempt (and never reported): its
     * key holds the dialer's instance id and its job's token. */
    char key[RKEYS_KEY_MAX], err[512];
    rkeys_attempt(g_env.redis_prefix, a_dialed, key);
    assert_int_equal(
        redis_set_nx(g_env.redis, key, "dialer-7/" DIALER_7_JOB, 600000, err, sizeof(err)), OD_OK);

    /* Out of re-issues: fenced. */
    now += 121 * US_PER_SEC;
    int64_t fenced_at = now;
    st = sched_recover(fx, now);
    assert_int_equal(st.reissued, 0);
    assert_int_equal(st.closed_scheduled, 1);
    assert_int_equal(sched_jobs_for_attempt(a_lost), 1 + RECOVERY_REISSUES_MAX);
    assert_string_equal(key_get(rkeys_attempt, a_lost), "fenced");
    /* The fence expires with fence_ttl_ms (real time). */
    rkeys_attempt(g_env.redis_prefix, a_lost, key);
    const char *pttl[] = {"PTTL", key};
    redisReply *reply = NULL;
    assert_int_equal(redis_command_argv(g_env.redis, true, 2, pttl, NULL, &reply, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    assert_true(reply->integer > 590000 && reply->integer <= 600000);
    freeReplyObject(reply);
    /* No dialer placed it: the attempt is given back. The lead waits the
     * retry interval as after a transient failure, still never called. */
    lead_row_t r = lead_get(fx->db, lost);
    assert_string_equal(r.status, "created");
    assert_int_equal(r.attempts, 0);
    assert_string_equal(r.last_call_status, "");
    assert_time_equal(r.next_us, now + 60 * US_PER_MIN);
    assert_string_equal(r.attempt_id, "");
    assert_string_equal(sql_text(fx->db,
                                 "SELECT status || '/' || failure_class || '/' || ended_reason"
                                 " FROM call WHERE attempt_id = $1::uuid",
                                 1, a_lost),
                        "failed/transient/dial-job-lost");
    /* The dialed one waits for its call: processing, the key untouched. */
    r = lead_get(fx->db, dialed);
    assert_string_equal(r.status, "processing");
    assert_string_equal(r.attempt_id, a_dialed);
    assert_string_equal(key_get(rkeys_attempt, a_dialed), "dialer-7/" DIALER_7_JOB);
    assert_int_equal(sched_jobs_for_attempt(a_dialed), 1 + RECOVERY_REISSUES_MAX);

    /* Processing: the ringing lead (since t0 + 5 s) is closed once the
     * maximum call duration (600 s) plus the margin (60 s) has passed. */
    /* Its number's line lock, still held by the attempt (a dialer that
     * died mid-call), is freed by the close; the dialed lead's lock, now
     * held by another attempt, is left alone. */
    char ringing_line[RKEYS_KEY_MAX], dialed_line[RKEYS_KEY_MAX], lerr[256];
    rkeys_line(g_env.redis_prefix,
               sql_text(fx->db, "SELECT e164 FROM lead WHERE id = $1::uuid", 1, ringing),
               ringing_line);
    rkeys_line(g_env.redis_prefix,
               sql_text(fx->db, "SELECT e164 FROM lead WHERE id = $1::uuid", 1, dialed),
               dialed_line);
    if (redis_set_nx(g_env.redis, ringing_line, sched_job_last(ringing)->attempt_id, 3600000, lerr,
                     sizeof(lerr)) ||
        redis_set_nx(g_env.redis, dialed_line, "another-attempt", 3600000, lerr, sizeof(lerr)))
        fail_msg("line locks: %s", lerr);
    st = sched_recover(fx, t0 + 665 * US_PER_SEC);
    assert_int_equal(st.closed_processing, 0);
    char *holder = NULL;
    assert_int_equal(redis_get(g_env.redis, ringing_line, &holder, NULL, lerr, sizeof(lerr)),
                     OD_OK);
    free(holder);
    st = sched_recover(fx, t0 + 666 * US_PER_SEC);
    assert_int_equal(st.closed_processing, 1);
    assert_int_equal(redis_get(g_env.redis, ringing_line, &holder, NULL, lerr, sizeof(lerr)),
                     OD_ERR_NOT_FOUND);
    r = lead_get(fx->db, ringing);
    assert_string_equal(r.status, "rescheduled");
    assert_int_equal(r.attempts, 1);
    assert_string_equal(sql_text(fx->db,
                                 "SELECT status || '/' || ended_reason FROM call"
                                 " WHERE attempt_id = $1::uuid",
                                 1, sched_job_last(ringing)->attempt_id),
                        "failed/call-end-not-reported");
    assert_string_equal(lead_get(fx->db, dialed).status, "processing");

    /* The dialed lead, processing since the fence. */
    st = sched_recover(fx, fenced_at + 660 * US_PER_SEC);
    assert_int_equal(st.closed_processing, 0);
    now = fenced_at + 661 * US_PER_SEC;
    st = sched_recover(fx, now);
    assert_int_equal(st.closed_processing, 1);
    r = lead_get(fx->db, dialed);
    assert_string_equal(r.status, "rescheduled");
    assert_int_equal(r.attempts, 1);
    assert_time_equal(r.next_us, now + 60 * US_PER_MIN);
    assert_int_equal(redis_get(g_env.redis, dialed_line, &holder, NULL, lerr, sizeof(lerr)), OD_OK);
    assert_string_equal(holder, "another-attempt");
    free(holder);
    bool deleted = false;
    assert_int_equal(redis_del(g_env.redis, dialed_line, &deleted, lerr, sizeof(lerr)), OD_OK);
    assert_string_equal(sql_text(fx->db,
                                 "SELECT status || '/' || ended_reason FROM call"
                                 " WHERE attempt_id = $1::uuid",
                                 1, a_dialed),
                        "failed/call-end-not-reported");

    /* The real result arrives late, and nothing was dialed since: it
     * replaces recovery's close, on the call and on the lead. */
    const dialjob_t *jd = sched_job_last(dialed);
    ev_spec_t done = {.status = EV_COMPLETED,
                      .answered_by = BY_HUMAN,
                      .ended_us = now + US_PER_SEC,
                      .cost_minor = 9};
    const char *balance_sql = "SELECT balance_minor FROM account WHERE id = $1::uuid";
    int64_t balance = sql_i64(fx->db, balance_sql, 1, w.account_id);
    char late_id[UUID_STR_LEN];
    uuid_str_new(late_id);
    results_outcome_t out = sched_apply_id(fx, jd, late_id, &done, now + US_PER_SEC);
    assert_int_equal(out.effect, RESULTS_APPLIED);
    lead_row_t after = lead_get(fx->db, dialed);
    assert_string_equal(after.status, "completed");
    assert_string_equal(after.outcome, "answered");
    assert_int_equal(after.attempts, 1);
    assert_string_equal(sql_text(fx->db,
                                 "SELECT status || '/' || ended_reason FROM call"
                                 " WHERE attempt_id = $1::uuid",
                                 1, a_dialed),
                        "completed/reported-late");
    assert_int_equal(call_history_len(fx->db, a_dialed), 2);
    /* The call was real and the provider reported its cost: it is charged,
     * once (the recovery's own close had no cost to charge). */
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, w.account_id), balance - 9);
    assert_string_equal(sql_text(fx->db,
                                 "SELECT cost_minor || '/' || (charged_at IS NOT NULL) FROM call"
                                 " WHERE attempt_id = $1::uuid",
                                 1, a_dialed),
                        "9/true");
    assert_int_equal(sched_apply_id(fx, jd, late_id, &done, now + 2 * US_PER_SEC).effect,
                     RESULTS_DUPLICATE);
    done.cost_minor = 4; /* another report of the same call */
    assert_int_equal(sched_apply(fx, jd, &done, now + 3 * US_PER_SEC).effect, RESULTS_STALE);
    assert_int_equal(sql_i64(fx->db, balance_sql, 1, w.account_id), balance - 9);

    /* Nothing is stuck now: another pass has nothing to do. */
    st = sched_recover(fx, now + 3600 * US_PER_SEC);
    assert_int_equal(st.reissued + st.closed_scheduled + st.closed_processing, 0);
}

/* The partition of a lead's dial jobs among n. */
static int lead_partition(const char *lead_id, int n)
{
    return kafka_key_partition(lead_id, strlen(lead_id), n);
}

/* A job still in the dial-jobs backlog (its partition's committed offset
 * below the watermark read after it was issued) is not re-issued, and does
 * not use up its re-issues: even out of them it is not fenced. A lead whose
 * job is proven finished is re-issued in the same pass (the marker: the
 * waiting lead could have been too). Nothing is re-issued while the job's
 * watermark is not sampled yet or the offsets are unread; once the dialers
 * read past it, the waiting lead is fenced (out of re-issues). */
static void test_recovery_waits_for_a_job_in_the_backlog(void **state)
{
    sched_fx_t *fx = *state;
    sched_world_t w = seed_world_default(fx->db);
    char waiting[UUID_STR_LEN], lost[UUID_STR_LEN];
    seed_lead(fx->db, w.campaign_id, "+12125550131", NULL, waiting);
    seed_lead(fx->db, w.campaign_id, "+12125550132", NULL, lost);
    int64_t t0 = NY("10:00");
    assert_int_equal(sched_dispatch(fx, w.campaign_id, t0).jobs_issued, 2);
    /* A partition count that puts the two jobs apart. */
    int parts = 2;
    while (lead_partition(waiting, parts) == lead_partition(lost, parts))
        if (++parts > 16)
            fail_msg("leads %s and %s share a partition of 2..16", waiting, lost);
    char a_waiting[UUID_STR_LEN];
    snprintf(a_waiting, sizeof(a_waiting), "%s", lead_get(fx->db, waiting).attempt_id);
    recovery_backlog_t *b =
        sched_backlog_at(t0 + 60 * US_PER_SEC, parts, lead_partition(waiting, parts));

    int64_t now = t0 + 121 * US_PER_SEC;
    recovery_stats_t st = sched_recover_in(fx, NULL, b, now);
    assert_int_equal(st.reissued, 1);
    assert_int_equal(st.closed_scheduled, 0);
    assert_int_equal(st.waiting[RECOVERY_JOB_WAITING], 1);
    assert_int_equal(sched_jobs_for_lead(lost), 2);
    assert_int_equal(lead_get(fx->db, lost).reissues, 1);
    assert_int_equal(sched_jobs_for_lead(waiting), 1);
    lead_row_t r = lead_get(fx->db, waiting);
    assert_string_equal(r.status, "scheduled");
    assert_int_equal(r.reissues, 0);

    /* Out of re-issues, still waiting: neither re-issued nor fenced. The
     * re-issued lead's job went out at `now`, after the last sample: it
     * may still be on its way. */
    sql_exec(fx->db, "UPDATE lead SET reissues = $2::int WHERE id = $1::uuid", 2, waiting,
             i64s(RECOVERY_REISSUES_MAX));
    int64_t later = now + 121 * US_PER_SEC;
    st = sched_recover_in(fx, NULL, b, later);
    assert_int_equal(st.reissued + st.closed_scheduled, 0);
    assert_int_equal(st.waiting[RECOVERY_JOB_WAITING], 1);
    assert_int_equal(st.waiting[RECOVERY_JOB_UNSETTLED], 1);
    assert_string_equal(lead_get(fx->db, waiting).status, "scheduled");
    assert_string_equal(key_get(rkeys_attempt, a_waiting), "");

    /* Kafka's offsets unread (or no backlog at all): nothing is guessed. */
    int64_t high[16], committed[16], low[16];
    for (int p = 0; p < parts; p++) {
        high[p] = 11;
        committed[p] = 11;
        low[p] = 0;
    }
    recovery_backlog_sample(b, now + 60 * US_PER_SEC, parts, high);
    recovery_backlog_unread(b);
    st = sched_recover_in(fx, NULL, b, later);
    assert_int_equal(st.reissued + st.closed_scheduled, 0);
    assert_int_equal(st.waiting[RECOVERY_JOB_UNREAD], 2);
    recovery_cfg_t cfg = sched_recovery_cfg();
    st = (recovery_stats_t){0};
    char err[512];
    if (recovery_run(fx->db, g_env.redis, g_env.producer, &cfg, later, &st, err, sizeof(err)))
        fail_msg("recovery_run: %s", err);
    assert_int_equal(st.reissued + st.closed_scheduled, 0);
    assert_int_equal(st.waiting[RECOVERY_JOB_UNREAD], 2);

    /* The dialers read past both: the re-issued lead again, the waiting
     * one, out of re-issues, fenced and given back. */
    recovery_backlog_positions(b, parts, committed, low);
    st = sched_recover_in(fx, NULL, b, later);
    assert_int_equal(st.reissued, 1);
    assert_int_equal(st.closed_scheduled, 1);
    assert_int_equal(lead_get(fx->db, lost).reissues, 2);
    assert_string_equal(key_get(rkeys_attempt, a_waiting), RECOVERY_FENCE_VALUE);
    assert_string_equal(lead_get(fx->db, waiting).status, "created");
    recovery_backlog_free(b);
}

/* A lost job found after its window closed is not re-issued (the dialer
 * would refuse it): it is fenced and closed at once, and retried in the
 * next window. */
static void test_recovery_window_closed(void **state)
{
    sched_fx_t *fx = *state;
    sched_world_t w;
    char lead[UUID_STR_LEN];
    seed_world_with_lead(fx->db, &w, "+12125550101", lead);
    assert_int_equal(sched_dispatch(fx, w.campaign_id, NY("17:58")).jobs_issued, 1);
    char attempt[UUID_STR_LEN];
    snprintf(attempt, sizeof(attempt), "%s", lead_get(fx->db, lead).attempt_id);

    recovery_stats_t st = sched_recover(fx, NY("18:01"));
    assert_int_equal(st.reissued, 0);
    assert_int_equal(st.closed_scheduled, 1);
    assert_int_equal(sched_jobs_for_attempt(attempt), 1);
    assert_string_equal(key_get(rkeys_attempt, attempt), "fenced");
    /* Never placed: the attempt is given back, and the lead, never called,
     * waits for the next window. */
    lead_row_t r = lead_get(fx->db, lead);
    assert_string_equal(r.status, "created");
    assert_int_equal(r.attempts, 0);
    assert_time_equal(r.next_us, T("2026-06-11T09:00-04:00"));
}

/* Completion of campaigns with nothing left, the outbox drained to Kafka,
 * and the Redis mirror repaired. */
static void test_recovery_complete_and_outbox(void **state)
{
    sched_fx_t *fx = *state;
    sched_spec_t spec = sched_spec_default();
    spec.goal_variable = "interested";
    sched_world_t done_w, open_w;
    seed_world(fx->db, &spec, &done_w);
    seed_world(fx->db, &spec, &open_w);
    char l1[UUID_STR_LEN], l2[UUID_STR_LEN], waiting[UUID_STR_LEN];
    seed_lead(fx->db, done_w.campaign_id, "+12125550101", NULL, l1);
    seed_lead(fx->db, open_w.campaign_id, "+12125550102", NULL, l2);
    /* An invalid lead does not keep a campaign open. */
    sql_exec(fx->db,
             "INSERT INTO lead (campaign_id, e164, raw_phone, invalid_reason)"
             " VALUES ($1::uuid, NULL, 'abc', 'not a phone number')",
             1, done_w.campaign_id);
    assert_int_equal(sched_dispatch_all(fx, NY("10:00")).jobs_issued, 2);
    ev_spec_t done = {.status = EV_COMPLETED,
                      .answered_by = BY_HUMAN,
                      .vars = "{\"interested\": true}",
                      .ended_us = NY("10:02")};
    assert_true(sched_call(fx, sched_job_last(l1), &done).lead_finished);
    /* The other campaign's lead is waiting for a retry. */
    ev_spec_t busy = {.status = EV_BUSY, .ended_us = NY("10:02")};
    sched_call(fx, sched_job_last(l2), &busy);
    /* A third campaign is still in draft (not completed by the scheduler). */
    sched_world_t draft_w = done_w;
    sched_spec_t draft = spec;
    draft.status = "draft";
    seed_campaign(fx->db, done_w.account_id, done_w.assistant_id, &draft, draft_w.campaign_id);
    seed_lead(fx->db, draft_w.campaign_id, "+12125550103", NULL, waiting);

    assert_int_equal(sched_complete_campaigns(fx, NY("10:05")), 1);
    assert_string_equal(campaign_status(fx->db, done_w.campaign_id), "completed/-");
    assert_string_equal(campaign_status(fx->db, open_w.campaign_id), "in_progress/-");
    assert_string_equal(campaign_status(fx->db, draft_w.campaign_id), "draft/-");
    assert_string_equal(key_get(rkeys_campaign, done_w.campaign_id), "completed");
    const status_change_t want[] = {{CS_RUNNING, CS_DONE, ""}};
    assert_status_changes(fx->db, done_w.campaign_id, want, 1);
    campaignevent_t *lf[4];
    assert_int_equal(outbox_events(fx->db, done_w.campaign_id, KIND_LEAD, lf, 4), 1);
    assert_string_equal(lf[0]->lead_id, l1);
    assert_int_equal(lf[0]->lead_status,
                     OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_COMPLETED);
    assert_int_equal(lf[0]->outcome, OUTDIAL__V1__LEAD_OUTCOME__LEAD_OUTCOME_ANSWERED);
    assert_int_equal(lf[0]->goal_result, OUTDIAL__V1__GOAL_RESULT__GOAL_RESULT_TRUE);
    campaignevent_free(lf[0]);
    /* A second pass has nothing to complete. */
    assert_int_equal(sched_complete_campaigns(fx, NY("10:06")), 0);

    /* The outbox goes to Kafka and is emptied; small batches drain it all. */
    int64_t rows = sql_i64(fx->db, "SELECT count(*) FROM outbox", 0);
    assert_int_equal(rows, 2);
    size_t before_events = g_env.n_cevents;
    recovery_stats_t st = {0};
    char err[512];
    assert_int_equal(recovery_outbox_drain(fx->db, g_env.producer, 1, &st, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(st.outbox_published, 1);
    assert_int_equal(recovery_outbox_drain(fx->db, g_env.producer, 100, &st, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(st.outbox_published, 2);
    assert_int_equal(sql_i64(fx->db, "SELECT count(*) FROM outbox", 0), 0);
    assert_int_equal(recovery_outbox_drain(fx->db, g_env.producer, 100, &st, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(st.outbox_published, 2);
    sched_drain();
    assert_int_equal(g_env.n_cevents - before_events, 2);
    bool saw_lead = false, saw_status = false;
    for (size_t i = before_events; i < g_env.n_cevents; i++) {
        const campaignevent_t *ev = g_env.cevents[i];
        assert_string_equal(ev->campaign_id, done_w.campaign_id);
        assert_string_equal(ev->account_id, done_w.account_id);
        if (ev->kind == KIND_LEAD) {
            saw_lead = true;
            assert_string_equal(ev->lead_id, l1);
        } else if (ev->kind == KIND_STATUS) {
            saw_status = true;
            assert_int_equal(ev->new_status, CS_DONE);
        }
    }
    assert_true(saw_lead && saw_status);

    /* A mirror write lost to a crash is repaired by the sync. */
    char key[RKEYS_KEY_MAX];
    rkeys_campaign(g_env.redis_prefix, open_w.campaign_id, key);
    assert_int_equal(redis_del(g_env.redis, key, NULL, err, sizeof(err)), OD_OK);
    assert_string_equal(key_get(rkeys_campaign, open_w.campaign_id), "");
    memset(&st, 0, sizeof(st));
    assert_int_equal(
        recovery_mirror_sync(fx->db, g_env.redis, g_env.redis_prefix, &st, err, sizeof(err)),
        OD_OK);
    assert_int_equal(st.mirrored, 2); /* completed and in_progress; drafts have no mirror */
    assert_string_equal(key_get(rkeys_campaign, open_w.campaign_id), "in_progress");
    assert_string_equal(key_get(rkeys_campaign, draft_w.campaign_id), "");
}

OD_TEST_MAIN_EACH(sched_env_setup, sched_env_teardown, sched_fx_setup, sched_fx_teardown,
                  test_lifecycle, test_balance, test_balance_pauses_every_campaign, test_replays,
                  test_batch_same_as_one_by_one, test_batch_debits_each_account,
                  test_recovery_fenced_attempt_given_back, test_recovery_skips_a_failing_lead,
                  test_recovery_scheduled_and_processing, test_recovery_window_closed,
                  test_recovery_waits_for_a_job_in_the_backlog, test_recovery_complete_and_outbox)

/*
 * One bad item does not stop the rest (docs/reliability.md, "One bad
 * item"; docs/scheduler.md, "Dead letters"): a real outdial-scheduler
 * against the stack's PostgreSQL, Redis and kafka-dev, with this test
 * playing the dialer (every job answered at once, completed).
 *
 * Injected beside two healthy campaigns:
 *   - a running campaign whose settings the scheduler cannot read (its
 *     assistant's time zone is not in the tz database), with the id that
 *     sorts first, so that every dispatch pass meets it first;
 *   - a lead of it stuck scheduled since yesterday, the first row every
 *     recovery pass meets, and whose recovery fails;
 *   - a call event for a deleted campaign (its lead left behind, as a
 *     deletion with the foreign keys off leaves it): the event can never
 *     apply, and it is the first message the consumer reads.
 * Everything else completes (including a stuck lead of a healthy campaign,
 * which recovery must re-issue); the poison event is on the dead-letter
 * topic with its headers, and nothing else is. Once the campaign is back,
 * `outdial-scheduler --replay-dead-letters` brings the event back and it
 * applies; a second replay replays nothing.
 */
#include "harness.h"
#include "kafka_support.h"
#include "sched_support.h"

#include "dead_letter.h"
#include "test_main.h"

#define BAD_CAMPAIGN "00000000-0000-4000-8000-000000000001"
#define N_LEADS      10

typedef struct poison {
    sched_fx_t *fx;
    sched_world_t good[2], bad, gone;
    char good_stuck[UUID_STR_LEN], bad_stuck[UUID_STR_LEN], gone_lead[UUID_STR_LEN];
    char gone_attempt[UUID_STR_LEN];
    char dial_topic[TOPIC_NAME_MAX + 1], events_topic[TOPIC_NAME_MAX + 1];
    char dl_topic[TOPIC_NAME_MAX + 1];
    kafka_consumer_t *jobs;
    kafka_producer_t *events;
    size_t jobs_bad, jobs_good_stuck;
    uint8_t *poison_payload;
    size_t poison_len;
    int32_t poison_partition; /* from its delivery report */
    int64_t poison_offset;
} poison_t;

static char dsn_env[600];
static const char *sched_env[] = {dsn_env, "OUTDIAL_SCHEDULER_HTTP_PORT=0",
                                  "OUTDIAL_SCHEDULER_DEAD_LETTER_TRIES=3", NULL};

static void on_delivery(const rd_kafka_message_t *msg, void *opaque)
{
    poison_t *p = opaque;
    if (msg->_private == p && !msg->err) {
        p->poison_partition = msg->partition;
        p->poison_offset = msg->offset;
    }
}

/* A campaign open all day every day, with n leads due now, numbers
 * +1415<exchange>0001 and up. */
static void seed_open(pg_conn_t *db, const char *assistant_tz, int n, const char *exchange,
                      sched_world_t *w)
{
    sched_spec_t spec = sched_spec_default();
    spec.window_start_min = spec.window_end_min = 0; /* the whole day */
    spec.allowed_days = 127;
    spec.assistant_tz = assistant_tz;
    seed_world(db, &spec, w);
    sql_exec(db,
             "INSERT INTO lead (campaign_id, e164, name) SELECT $1::uuid,"
             " '+1415' || $2 || lpad(i::text, 4, '0'), 'lead ' || i"
             " FROM generate_series(1, $3::int) AS i",
             3, w->campaign_id, exchange, i64s(n));
}

/* A lead of w stuck scheduled since age ago (a job lost long before). */
static void seed_stuck(pg_conn_t *db, const sched_world_t *w, const char *e164, const char *age,
                       char out[UUID_STR_LEN])
{
    seed_lead(db, w->campaign_id, e164, NULL, out);
    sql_exec(db,
             "UPDATE lead SET status = 'scheduled', current_attempt_id = gen_random_uuid(),"
             " status_changed_at = now() - $2::interval WHERE id = $1::uuid",
             2, out, age);
}

static void poison_seed(poison_t *p)
{
    pg_conn_t *db = p->fx->db;
    seed_open(db, "America/New_York", N_LEADS, "555", &p->good[0]);
    seed_open(db, "America/Chicago", N_LEADS, "556", &p->good[1]);
    seed_stuck(db, &p->good[0], "+12125550190", "12 hours", p->good_stuck);
    /* The unreadable campaign, moved to the id that sorts first. */
    seed_open(db, "Mars/Olympus_Mons", 0, "557", &p->bad);
    sql_exec(db, "UPDATE campaign SET id = $2::uuid WHERE id = $1::uuid", 2, p->bad.campaign_id,
             BAD_CAMPAIGN);
    snprintf(p->bad.campaign_id, sizeof(p->bad.campaign_id), "%s", BAD_CAMPAIGN);
    char due[UUID_STR_LEN];
    seed_lead(db, BAD_CAMPAIGN, "+12125550191", NULL, due);
    seed_stuck(db, &p->bad, "+12125550192", "1 day", p->bad_stuck);
    /* The deleted campaign: its lead, in a call, is left behind. */
    seed_open(db, "America/New_York", 0, "558", &p->gone);
    seed_stuck(db, &p->gone, "+12125550193", "0 seconds", p->gone_lead);
    snprintf(
        p->gone_attempt, sizeof(p->gone_attempt), "%s",
        sql_text(db, "SELECT current_attempt_id FROM lead WHERE id = $1::uuid", 1, p->gone_lead));
    sql_exec(db, "SET session_replication_role = replica", 0);
    sql_exec(db, "DELETE FROM campaign WHERE id = $1::uuid", 1, p->gone.campaign_id);
    sql_exec(db, "SET session_replication_role = DEFAULT", 0);
}

/* Answers job: completed by a human, now. opaque (non-NULL only for the
 * poison) marks its delivery report, and its payload is kept. */
static void event_send(poison_t *p, const dialjob_t *job, void *opaque)
{
    char err[512], event_id[UUID_STR_LEN];
    uuid_str_new(event_id);
    int64_t now = od_clock_real_us();
    ev_spec_t done = {.status = EV_COMPLETED, .answered_by = BY_HUMAN, .ended_us = now};
    callevent_t ev;
    sched_event_build(job, event_id, &done, now, &ev);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (callevent_encode(&ev, &buf, &len, err, sizeof(err)) ||
        kafka_producer_send(p->events, p->events_topic, job->lead_id, strlen(job->lead_id), buf,
                            len, NULL, 0, opaque, err, sizeof(err)))
        fail_msg("%s", err);
    if (opaque) {
        p->poison_payload = buf;
        p->poison_len = len;
    } else {
        free(buf);
    }
}

/* Plays the dialer for up to ms: every job answered, completed. */
static void play_dialer(poison_t *p, int64_t ms)
{
    char err[512];
    for (int64_t until = harness_ms() + ms; harness_ms() < until;) {
        rd_kafka_message_t *msg;
        dialjob_t *job = kafka_support_next_job(p->jobs, 100, &msg);
        if (!job)
            continue;
        p->jobs_bad += strcmp(job->campaign_id, BAD_CAMPAIGN) == 0;
        p->jobs_good_stuck += strcmp(job->lead_id, p->good_stuck) == 0;
        event_send(p, job, NULL);
        dialjob_free(job);
        if (kafka_consumer_store(p->jobs, msg, err, sizeof(err)))
            fail_msg("%s", err);
        kafka_message_free(msg);
    }
    if (kafka_producer_flush(p->events, 10000, err, sizeof(err)))
        fail_msg("%s", err);
}

static bool campaigns_completed(poison_t *p)
{
    return sql_i64(p->fx->db,
                   "SELECT count(*) FROM campaign WHERE id IN ($1::uuid, $2::uuid)"
                   " AND status = 'completed'",
                   2, p->good[0].campaign_id, p->good[1].campaign_id) == 2;
}

/* A header of msg as a string ("" when absent), in a static buffer. */
static const char *header(const rd_kafka_message_t *msg, const char *name)
{
    static char buf[8][600];
    static int next;
    char *out = buf[next++ % 8];
    const void *value = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (kafka_message_header_get(msg, name, &value, &len) == OD_OK && value)
        snprintf(out, sizeof(buf[0]), "%.*s", (int)len, (const char *)value);
    return out;
}

/* Reads the whole dead-letter topic (every partition, from the start)
 * and checks that it holds exactly the poison event, with its headers. */
static void assert_only_the_poison_dead_lettered(poison_t *p)
{
    char err[512], group[TOPIC_NAME_MAX + 1];
    snprintf(group, sizeof(group), "test-dl-reader-%d-%lld", (int)getpid(),
             (long long)harness_ms());
    kafka_consumer_opts_t opts = {.group_id = group};
    kafka_consumer_t *c = NULL;
    const char *topics[] = {p->dl_topic};
    if (kafka_consumer_new(&opts, &c, err, sizeof(err)) ||
        kafka_consumer_subscribe(c, topics, 1, err, sizeof(err)))
        fail_msg("%s", err);
    size_t n = 0;
    int64_t lag = -1;
    for (int64_t until = harness_ms() + 60000; harness_ms() < until;) {
        rd_kafka_message_t *msg = NULL;
        if (kafka_consumer_poll(c, 200, &msg, err, sizeof(err)))
            fail_msg("%s", err);
        if (!msg) {
            /* To the topic's end, exactly: none left to read. */
            if (n > 0 && kafka_consumer_assigned(c) > 0 &&
                kafka_consumer_lag(c, 5000, &lag, err, sizeof(err)) == OD_OK && lag == 0)
                break;
            continue;
        }
        n++;
        assert_int_equal(msg->key_len, strlen(p->gone_lead));
        assert_memory_equal(msg->key, p->gone_lead, msg->key_len);
        assert_int_equal(msg->len, p->poison_len);
        assert_memory_equal(msg->payload, p->poison_payload, p->poison_len);
        assert_string_equal(header(msg, DEAD_LETTER_HEADER_CODE), "not_found");
        assert_non_null(strstr(header(msg, DEAD_LETTER_HEADER_ERROR), "campaign not found"));
        assert_string_equal(header(msg, DEAD_LETTER_HEADER_TRIES), "3");
        assert_string_equal(header(msg, DEAD_LETTER_HEADER_TOPIC), p->events_topic);
        assert_string_equal(header(msg, DEAD_LETTER_HEADER_PARTITION), i64s(p->poison_partition));
        assert_string_equal(header(msg, DEAD_LETTER_HEADER_OFFSET), i64s(p->poison_offset));
        kafka_message_free(msg);
    }
    assert_int_equal(lag, 0);
    assert_int_equal(n, 1);
    if (kafka_consumer_close(c, err, sizeof(err)))
        print_message("close: %s\n", err);
    kafka_consumer_free(c);
}

/* Runs `outdial-scheduler --replay-dead-letters` to its end (60 s at
 * most) and returns its exit status. */
static int replay_run(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/services/scheduler/outdial-scheduler",
             support_env("OUTDIAL_BUILD_DIR"));
    const char *argv[] = {path, "--replay-dead-letters", NULL};
    pid_t pid = harness_spawn_argv(path, "outdial-scheduler-replay", argv, sched_env);
    int status = -1;
    for (int64_t until = harness_ms() + 60000; harness_ms() < until;) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        harness_sleep_ms(HARNESS_POLL_MS * 5);
    }
    harness_stop(pid, SIGKILL);
    fail_msg("the replay did not end within 60 s");
    return -1;
}

static void test_poison_campaign_row_and_event_do_not_stop_the_rest(void **state)
{
    (void)state;
    char err[512];
    poison_t p = {.poison_partition = -1, .poison_offset = -1};
    /* Real time, for the test's process and the scheduler alike. */
    unsetenv("OUTDIAL_CLOCK_SCALE");
    unsetenv("OUTDIAL_CLOCK_START");
    unsetenv("OUTDIAL_CLOCK_EPOCH");
    unsetenv("OUTDIAL_CLOCK_OFFSET");
    harness_isolate("poison"); /* creates every topic, the dead-letter one too */
    void *fx_state = NULL;
    sched_fx_setup(&fx_state);
    p.fx = fx_state;
    snprintf(dsn_env, sizeof(dsn_env), "OUTDIAL_PG_DSN=%s", p.fx->dsn);
    poison_seed(&p);
    if (topic_name_from_env(TOPIC_DIAL_JOBS, p.dial_topic, sizeof(p.dial_topic), err,
                            sizeof(err)) ||
        topic_name_from_env(TOPIC_CALL_EVENTS, p.events_topic, sizeof(p.events_topic), err,
                            sizeof(err)) ||
        topic_name_from_env(TOPIC_CALL_EVENTS_DEAD_LETTER, p.dl_topic, sizeof(p.dl_topic), err,
                            sizeof(err)))
        fail_msg("%s", err);
    /* As the dialers' group: recovery re-issues the stuck lead's job only
     * once that group's committed offsets show it is not waiting. */
    char group[TOPIC_NAME_MAX + 1];
    assert_int_equal(topic_group_from_env("dialer", group, sizeof(group), err, sizeof(err)), OD_OK);
    kafka_consumer_opts_t copts = {.group_id = group};
    kafka_producer_opts_t popts = {.on_delivery = on_delivery, .opaque = &p};
    const char *topics[] = {p.dial_topic};
    if (kafka_consumer_new(&copts, &p.jobs, err, sizeof(err)) ||
        kafka_consumer_subscribe(p.jobs, topics, 1, err, sizeof(err)) ||
        kafka_producer_new(&popts, &p.events, err, sizeof(err)))
        fail_msg("%s", err);

    /* The poison event is the first message the scheduler reads. */
    dialjob_t lost; /* the job of the deleted campaign's call */
    dialjob_init(&lost);
    lost.attempt_id = p.gone_attempt;
    lost.lead_id = p.gone_lead;
    lost.campaign_id = p.gone.campaign_id;
    lost.account_id = p.gone.account_id;
    lost.attempt_number = 1;
    lost.issued_at_us = od_clock_real_us();
    event_send(&p, &lost, &p);
    if (kafka_producer_flush(p.events, 10000, err, sizeof(err)))
        fail_msg("%s", err);
    assert_true(p.poison_partition >= 0 && p.poison_offset >= 0);
    pid_t sched = harness_spawn("services/scheduler/outdial-scheduler", sched_env);

    for (int64_t until = harness_ms() + 180000; harness_ms() < until && !campaigns_completed(&p);)
        play_dialer(&p, 500);
    assert_true(campaigns_completed(&p));
    pg_conn_t *db = p.fx->db;
    for (int g = 0; g < 2; g++)
        assert_int_equal(leads_in(db, p.good[g].campaign_id, "completed"),
                         N_LEADS + (g == 0 ? 1 : 0));
    /* Recovery went past the failing row to the stuck lead behind it. */
    assert_true(p.jobs_good_stuck >= 1);
    /* The bad campaign and its row, met first by every pass the good ones
     * were served by, issued nothing and were not moved. */
    assert_int_equal(p.jobs_bad, 0);
    assert_string_equal(
        sql_text(db, "SELECT status FROM campaign WHERE id = $1::uuid", 1, BAD_CAMPAIGN),
        "in_progress");
    lead_row_t bad = lead_get(db, p.bad_stuck);
    assert_string_equal(bad.status, "scheduled");
    assert_int_equal(bad.reissues, 0);
    /* The poison event: not applied, dead-lettered alone. */
    assert_int_equal(
        sql_i64(db, "SELECT count(*) FROM call WHERE attempt_id = $1::uuid", 1, p.gone_attempt), 0);
    assert_only_the_poison_dead_lettered(&p);

    /* The campaign is back: the replayed event applies. */
    sql_exec(db,
             "INSERT INTO campaign (id, account_id, assistant_id, name, status, window_start_min,"
             " window_end_min, allowed_days) VALUES ($1::uuid, $2::uuid, $3::uuid, 'back',"
             " 'in_progress', 0, 0, 127)",
             3, p.gone.campaign_id, p.gone.account_id, p.gone.assistant_id);
    assert_int_equal(replay_run(), 0);
    HARNESS_WAIT(strcmp(lead_get(db, p.gone_lead).status, "completed") == 0, 30000,
                 "the replayed event applied");
    assert_string_equal(
        sql_text(db, "SELECT status FROM call WHERE attempt_id = $1::uuid", 1, p.gone_attempt),
        "completed");
    /* A second replay finds nothing new, and nothing was dead-lettered
     * again. */
    assert_int_equal(replay_run(), 0);
    assert_only_the_poison_dead_lettered(&p);

    assert_int_equal(WEXITSTATUS(harness_stop(sched, SIGTERM)), 0);
    if (kafka_consumer_close(p.jobs, err, sizeof(err)))
        print_message("close: %s\n", err);
    kafka_consumer_free(p.jobs);
    kafka_producer_free(p.events);
    free(p.poison_payload);
    sched_fx_teardown(&fx_state);
}

OD_TEST_MAIN(NULL, NULL, test_poison_campaign_row_and_event_do_not_stop_the_rest)

/*
 * outdial-scheduler — campaign state in Postgres to dial jobs on Kafka, and
 * call events back into lead state. Wiring only: the logic is in dispatch.c,
 * results.c and recovery.c beside this file (the outdial_scheduler library)
 * and lib/campaign/lifecycle.c.
 *
 * Two threads:
 *   dispatch  LISTENs on LIFECYCLE_NOTIFY_CHANNEL and ticks every
 *             OUTDIAL_SCHEDULER_TICK_MS: outbox, dispatch of every running
 *             campaign, recovery, completion, Redis mirror.
 *   results   consumes outdial.call-events as group outdial-scheduler and
 *             applies each event; its offset is stored only after the
 *             transaction committed.
 * Configuration: docs/scheduler.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "config.h"
#include "deps.h"
#include "dead_letter.h"
#include "dispatch.h"
#include "http.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "pg.h"
#include "recovery.h"
#include "recovery_offsets.h"
#include "reopen.h"
#include "redis.h"
#include "results.h"
#include "rkeys.h"
#include "signals.h"
#include "threads.h"
#include "topics.h"

typedef struct scheduler {
    od_clock_t clk;
    const char *dsn;
    const char *redis_prefix;
    char dial_topic[TOPIC_NAME_MAX + 1];
    char events_topic[TOPIC_NAME_MAX + 1];
    char campaign_topic[TOPIC_NAME_MAX + 1];
    char dialer_group[TOPIC_NAME_MAX + 1]; /* whose committed offsets show the backlog */
    int64_t delivery_timeout_s;
    int64_t tick_ms;
    int64_t batch;
    int dead_letter_tries;
    item_backoff_t *dispatch_skip; /* campaigns whose pass failed (item_backoff.h) */
    recovery_cfg_t recovery;
    kafka_producer_t *producer;
    kafka_offsets_t *offsets;         /* reads the dial-jobs backlog (recovery_offsets.h) */
    recovery_backlog_t *backlog;      /* what it read; recovery.backlog points here */
    int64_t waiting_logged_us;        /* real time of the last recovery_waiting line */
    int64_t offsets_failed_logged_us; /* of the last recovery_offsets line */
    metrics_registry_t *metrics;
    metrics_counter_t *jobs_issued;
    metrics_counter_t *leads_deferred;
    metrics_counter_t *deferred_by_rule[DISPATCH_DEFER_RULE_COUNT];
    metrics_counter_t *events_applied[4];
    metrics_counter_t *recovered;
    metrics_gauge_t *recovery_waiting[RECOVERY_JOB_FINISHED]; /* by recovery_job_t */
    metrics_counter_t *campaign_failures;
    metrics_counter_t *lead_failures;
    metrics_counter_t *dead_letters;
    metrics_counter_t *dispatch_held;
    metrics_gauge_t *due_backlog;
    metrics_histogram_t *tick_seconds;
    atomic_bool pg_ok;
    atomic_bool consumer_ok;
    deps_t *deps; /* PostgreSQL, Redis, Kafka: whether each answers (deps.h) */
    int dep_pg;
    int dep_kafka;
} scheduler_t;

static atomic_bool stopping;

static void ready_check(http_readiness_t *rd, void *arg)
{
    scheduler_t *s = arg;
    http_readiness_unless(rd, &s->pg_ok, "dispatch", "the last dispatch pass failed");
    http_readiness_unless(rd, &s->consumer_ok, "results", "the call-event consumer is not running");
}

static const pg_stmt_t backlog_stmt = {
    "scheduler_backlog",
    "SELECT count(*) FROM lead l JOIN campaign c ON c.id = l.campaign_id"
    " WHERE c.status = 'in_progress' AND l.status IN ('created', 'rescheduled')"
    " AND l.next_attempt_at <= od_ts($1::bigint)",
    1};

/* ---- results thread ---- */

static void *results_main(void *arg)
{
    scheduler_t *s = arg;
    char err[512];
    pg_conn_t *db = NULL;
    redis_t *r = NULL;
    kafka_consumer_t *consumer = NULL;
    dead_letter_t *dl = NULL;
    if (pg_conn_await(s->deps, s->dep_pg, &stopping, s->dsn, "outdial-scheduler-results", &db, err,
                      sizeof(err)))
        return NULL; /* stopped while waiting */
    /* A client that connects once Redis answers (redis.h); an error is a
     * bad OUTDIAL_REDIS_* variable, which main has reported already. */
    if (redis_new_from_env(&r, err, sizeof(err)))
        r = NULL;
    char group[TOPIC_NAME_MAX + 1];
    if (topic_group_from_env("scheduler", group, sizeof(group), err, sizeof(err))) {
        log_error("startup", "results: %s", err);
        atomic_store(&stopping, true);
        goto out;
    }
    kafka_consumer_opts_t opts = {.group_id = group, .client_id = "outdial-scheduler"};
    const char *topics[] = {s->events_topic};
    if (kafka_consumer_new(&opts, &consumer, err, sizeof(err)) ||
        kafka_consumer_subscribe(consumer, topics, 1, err, sizeof(err)) ||
        dead_letter_new(s->dead_letter_tries, &dl, err, sizeof(err))) {
        log_error("startup", "results: %s", err);
        atomic_store(&stopping, true);
        goto out;
    }
    atomic_store(&s->consumer_ok, true);
    rd_kafka_message_t *msgs[RESULTS_BATCH_MAX];
    while (!atomic_load(&stopping)) {
        /* A batch: what has arrived, up to RESULTS_BATCH_MAX, waiting only
         * for the first message. */
        size_t n_msgs = 0;
        while (n_msgs < RESULTS_BATCH_MAX) {
            rd_kafka_message_t *msg = NULL;
            if (kafka_consumer_poll(consumer, n_msgs ? 0 : 500, &msg, err, sizeof(err))) {
                log_warn("consume", "%s", err);
                break;
            }
            if (!msg)
                break;
            msgs[n_msgs++] = msg;
        }
        /* Applied or dead-lettered (dead_letter.h); the database away: retried. */
        dead_letter_stats_t dst = {0};
        bool applied = n_msgs > 0 && dead_letter_consume(dl, db, r, s->redis_prefix, &s->clk, msgs,
                                                         n_msgs, &stopping, &dst) == OD_OK;
        for (int e = 0; e < 4; e++)
            metrics_counter_add(s->events_applied[e], dst.effects[e]);
        metrics_counter_add(s->dead_letters, dst.dead_lettered);
        for (size_t i = 0; i < n_msgs; i++) {
            if (applied && kafka_consumer_store(consumer, msgs[i], err, sizeof(err)))
                log_warn("offset_store", "%s", err);
            kafka_message_free(msgs[i]);
        }
    }
    if (kafka_consumer_close(consumer, err, sizeof(err)))
        log_warn("shutdown", "consumer close: %s", err);
out:
    dead_letter_free(dl);
    kafka_consumer_free(consumer);
    redis_free(r);
    pg_conn_free(db);
    atomic_store(&s->consumer_ok, false);
    return NULL;
}

/* ---- dispatch thread (main) ---- */

/* Waits up to timeout_ms for a NOTIFY on listen; true if one arrived. */
static bool wait_notify(PGconn *listen, int timeout_ms)
{
    struct pollfd pfd = {.fd = PQsocket(listen), .events = POLLIN};
    if (pfd.fd < 0) {
        usleep((useconds_t)timeout_ms * 1000);
        return false;
    }
    int n = poll(&pfd, 1, timeout_ms);
    if (n <= 0)
        return false;
    PQconsumeInput(listen);
    bool any = false;
    PGnotify *note;
    while ((note = PQnotifies(listen)) != NULL) {
        any = true;
        PQfreemem(note);
    }
    return any;
}

/* The LISTEN connection, through pg_conn_new so that it has the same
 * connect timeout (PG_CONNECT_TIMEOUT_S) and password-free errors as every
 * other connection: a server that accepts TCP and never answers cannot hang
 * the dispatch loop. One attempt: the loop tries again on its next tick. */
static pg_conn_t *listen_connect(const char *dsn)
{
    static const pg_retry_t once = {.attempts = 1, .backoff_first_ms = 0, .backoff_max_ms = 0};
    char err[512];
    pg_conn_t *conn = NULL;
    if (pg_conn_new(dsn, "outdial-scheduler-listen", &once, &conn, err, sizeof(err)) != OD_OK) {
        log_warn("listen", "LISTEN connection: %s", err);
        return NULL;
    }
    PGresult *res = NULL;
    if (pg_exec(conn, "LISTEN " LIFECYCLE_NOTIFY_CHANNEL, &res, err, sizeof(err)) != OD_OK) {
        log_warn("listen", "LISTEN failed: %s", err);
        pg_conn_free(conn);
        return NULL;
    }
    PQclear(res);
    return conn;
}

/* How often a condition that lasts is logged again (the recovery pass runs
 * every second; its gauges show the rest). */
#define RECOVERY_LOG_EVERY_US (60 * 1000000LL)

/* The recovery pass's view of the dial-jobs backlog, read now; a failure
 * leaves every job unread (nothing re-issued) and is logged once a minute. */
static void recovery_backlog_read(scheduler_t *s, int64_t now, int64_t started)
{
    char err[512];
    if (recovery_offsets_read(s->offsets, s->dial_topic, s->dialer_group, now, s->backlog, err,
                              sizeof(err)) == OD_OK) {
        s->offsets_failed_logged_us = 0;
        return;
    }
    if (started - s->offsets_failed_logged_us >= RECOVERY_LOG_EVERY_US) {
        s->offsets_failed_logged_us = started;
        log_warn("recovery_offsets",
                 "%s; no scheduled lead is re-issued until the dial-jobs offsets are read", err);
    }
}

/* Sets the waiting gauges from one pass; logs the leads left waiting when
 * some first are, then once a minute while some are. */
static void recovery_waiting_report(scheduler_t *s, const recovery_stats_t *rst, int64_t started)
{
    uint64_t total = 0;
    for (int j = 0; j < RECOVERY_JOB_FINISHED; j++) {
        metrics_gauge_set(s->recovery_waiting[j], (double)rst->waiting[j]);
        total += rst->waiting[j];
    }
    if (total == 0) {
        s->waiting_logged_us = 0;
        return;
    }
    if (started - s->waiting_logged_us < RECOVERY_LOG_EVERY_US)
        return;
    s->waiting_logged_us = started;
    log_info("recovery_waiting",
             "%" PRIu64
             " lead(s) past the scheduled timeout stay scheduled, not re-issued: %" PRIu64
             " with a job in the dial-jobs backlog, %" PRIu64 " whose job may still be on its"
             " way, %" PRIu64 " unknown (offsets not read)",
             total, rst->waiting[RECOVERY_JOB_WAITING], rst->waiting[RECOVERY_JOB_UNSETTLED],
             rst->waiting[RECOVERY_JOB_UNREAD]);
}

static void dispatch_loop(scheduler_t *s, pg_conn_t *db, redis_t *r)
{
    char err[512];
    pg_conn_t *listen = listen_connect(s->dsn);
    int64_t last_recovery = 0, last_mirror = 0, last_backlog = 0;
    bool bus_was_up = true;
    while (!atomic_load(&stopping)) {
        int64_t started = od_clock_real_us();
        int64_t now = od_clock_now_us(&s->clk);
        bool ok = true;
        recovery_stats_t rst = {0};
        if (recovery_outbox_drain(db, s->producer, 500, &rst, err, sizeof(err))) {
            log_warn("outbox", "%s", err);
            ok = false;
        }
        dispatch_stats_t dst;
        dispatch_stats_init(&dst);
        dispatch_caps_t caps = {r, s->redis_prefix};
        /* While Kafka does not answer, a claimed lead's job could only wait
         * in the producer's queue: it would hold a concurrency slot, and
         * the flush below would hold the loop (recovery, completion) for
         * its timeout every pass. Claim nothing until Kafka answers. */
        bool bus_up = deps_up(s->deps, s->dep_kafka);
        if (bus_up != bus_was_up)
            log_info(bus_up ? "dispatch_resumed" : "dispatch_held",
                     bus_up ? "Kafka answers: dispatch resumes"
                            : "Kafka does not answer: no lead is claimed until it does");
        bus_was_up = bus_up;
        if (!bus_up)
            metrics_counter_add(s->dispatch_held, 1);
        else if (dispatch_all(db, s->producer, s->dial_topic, &caps, now, (int)s->batch,
                              s->dispatch_skip, &dst, err, sizeof(err))) {
            log_warn("dispatch", "%s", err);
            ok = false;
        }
        if (dst.jobs_issued) {
            /* Wait for the acknowledgements so that the jobs are on Kafka
             * before the next pass; failures are recovered by timeout. */
            if (kafka_producer_flush(s->producer, 5000, err, sizeof(err)))
                log_warn("dial_job_flush", "%s", err);
            metrics_counter_add(s->jobs_issued, dst.jobs_issued);
        }
        metrics_counter_add(s->leads_deferred, dst.leads_deferred);
        for (int k = 0; k < DISPATCH_DEFER_RULE_COUNT; k++)
            metrics_counter_add(s->deferred_by_rule[k], dst.deferred_by_rule[k]);
        metrics_counter_add(s->campaign_failures, dst.campaigns_failed);
        if (started - last_recovery >= 1000000) {
            last_recovery = started;
            if (r) {
                recovery_backlog_read(s, now, started);
                if (recovery_run(db, r, s->producer, &s->recovery, now, &rst, err, sizeof(err))) {
                    log_warn("recovery", "%s", err);
                    ok = false;
                }
                recovery_waiting_report(s, &rst, started);
            }
            if (recovery_complete_campaigns(db, r, s->redis_prefix, now, &rst, err, sizeof(err))) {
                log_warn("completion", "%s", err);
                ok = false;
            }
            int reopened = 0;
            if (reopen_campaigns(db, r, s->redis_prefix, now, &reopened, err, sizeof(err))) {
                log_warn("reopen", "%s", err);
                ok = false;
            }
            metrics_counter_add(s->recovered,
                                rst.reissued + rst.closed_scheduled + rst.closed_processing);
            metrics_counter_add(s->lead_failures, rst.leads_failed);
        }
        if (r && started - last_mirror >= 5000000) {
            last_mirror = started;
            if (recovery_mirror_sync(db, r, s->redis_prefix, &rst, err, sizeof(err)))
                log_warn("mirror", "%s", err);
        }
        if (started - last_backlog >= 5000000) {
            last_backlog = started;
            char nowbuf[24];
            snprintf(nowbuf, sizeof(nowbuf), "%" PRId64, now);
            const char *p[] = {nowbuf};
            PGresult *res = NULL;
            if (pg_stmt_exec(db, &backlog_stmt, p, &res, err, sizeof(err)) == OD_OK) {
                metrics_gauge_set(s->due_backlog, strtod(PQgetvalue(res, 0, 0), NULL));
                PQclear(res);
            }
        }
        atomic_store(&s->pg_ok, ok);
        metrics_histogram_observe(s->tick_seconds, (double)(od_clock_real_us() - started) / 1e6);

        if (!listen || PQstatus(pg_conn_get(listen)) != CONNECTION_OK) {
            pg_conn_free(listen);
            listen = listen_connect(s->dsn);
        }
        /* Sleep until the next tick, or until the earliest known due time,
         * or until a NOTIFY (a campaign started, resumed, or leads added). */
        int64_t wait_ms = s->tick_ms;
        if (dst.next_wake_us != INT64_MAX) {
            int64_t until = od_clock_real_duration_us(&s->clk, dst.next_wake_us - now) / 1000;
            if (until < wait_ms)
                wait_ms = until < 1 ? 1 : until;
        }
        if (listen)
            wait_notify(pg_conn_get(listen), (int)wait_ms);
        else
            usleep((useconds_t)wait_ms * 1000);
    }
    pg_conn_free(listen);
}

static int config_load(scheduler_t *s, char *err, size_t errlen)
{
    int rc = od_clock_from_env(&s->clk, err, errlen);
    if (rc == OD_OK)
        rc = config_get_required("OUTDIAL_PG_DSN", &s->dsn, err, errlen);
    if (rc == OD_OK)
        rc = rkeys_prefix_from_env(&s->redis_prefix, err, errlen);
    /* 200 ms: the latency from a lead becoming due to its job is at most one
     * tick (NOTIFY wakes the loop at once for starts and resumes). */
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_SCHEDULER_TICK_MS", 200, 10, 60000, &s->tick_ms, err, errlen);
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_SCHEDULER_BATCH", DISPATCH_BATCH_DEFAULT, 1,
                            DISPATCH_BATCH_MAX, &s->batch, err, errlen);
    /* 60 s real: a job normally reaches a dialer within milliseconds; a
     * minute covers a dialer restart and a consumer-group rebalance. */
    int64_t scheduled_s = 60, margin_s = 120;
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_SCHEDULER_SCHEDULED_TIMEOUT_S", 60, 5, 86400, &scheduled_s,
                            err, errlen);
    /* 30 s real: a broker acknowledges a dial job in milliseconds, seconds
     * through a leader election; a job undelivered after that is given up
     * (the producer's message.timeout.ms), so recovery knows when a job is
     * in Kafka or lost for good (recovery_decide.h). */
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_SCHEDULER_DELIVERY_TIMEOUT_S", 30, 1, 300,
                            &s->delivery_timeout_s, err, errlen);
    /* 120 s real beyond the campaign's maximum call duration: the provider's
     * end-of-call report can lag the call's end by a minute. */
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_SCHEDULER_PROCESSING_MARGIN_S", 120, 10, 86400, &margin_s, err,
                            errlen);
    if (rc == OD_OK)
        rc =
            topic_name_from_env(TOPIC_DIAL_JOBS, s->dial_topic, sizeof(s->dial_topic), err, errlen);
    if (rc == OD_OK)
        rc = topic_name_from_env(TOPIC_CALL_EVENTS, s->events_topic, sizeof(s->events_topic), err,
                                 errlen);
    if (rc == OD_OK)
        rc = topic_name_from_env(TOPIC_CAMPAIGN_EVENTS, s->campaign_topic,
                                 sizeof(s->campaign_topic), err, errlen);
    if (rc == OD_OK)
        rc = topic_group_from_env("dialer", s->dialer_group, sizeof(s->dialer_group), err, errlen);
    if (rc == OD_OK)
        rc = dead_letter_tries_from_env(&s->dead_letter_tries, err, errlen);
    if (rc)
        return rc;
    s->recovery.scheduled_timeout_us =
        (int64_t)((double)scheduled_s * 1e6 * s->clk.scale); /* real -> campaign time */
    s->recovery.processing_margin_us = (int64_t)((double)margin_s * 1e6 * s->clk.scale);
    s->recovery.fence_ttl_ms = 7LL * 24 * 3600 * 1000; /* as long as the dialer's dedupe key */
    s->recovery.job_settle_us =
        (int64_t)((double)(s->delivery_timeout_s + RECOVERY_PASS_MARGIN_S) * 1e6 * s->clk.scale);
    s->recovery.redis_prefix = s->redis_prefix;
    s->recovery.dial_topic = s->dial_topic;
    s->recovery.campaign_events_topic = s->campaign_topic;
    return OD_OK;
}

static int metrics_setup(scheduler_t *s, char *err, size_t errlen)
{
    const metrics_def_t defs[] = {
        {"outdial_scheduler_jobs_issued_total", "Dial jobs produced to Kafka.",
         .counter = &s->jobs_issued},
        {"outdial_scheduler_leads_deferred_total", "Due leads whose own calling window was closed.",
         .counter = &s->leads_deferred},
        {"outdial_scheduler_recovered_total", "Stuck leads re-issued or closed by recovery.",
         .counter = &s->recovered},
        {"outdial_scheduler_campaign_failures_total",
         "Dispatch passes of one campaign that failed; the campaign was skipped for its backoff.",
         .counter = &s->campaign_failures},
        {"outdial_scheduler_recovery_failures_total",
         "Stuck leads whose recovery failed; the lead was skipped for its backoff.",
         .counter = &s->lead_failures},
        {"outdial_scheduler_dead_letters_total",
         "Call events given up on and produced to the dead-letter topic.",
         .counter = &s->dead_letters},
        {"outdial_scheduler_dispatch_held_total",
         "Dispatch passes not run because Kafka did not answer (no lead is claimed for a job "
         "that cannot be produced).",
         .counter = &s->dispatch_held},
        {"outdial_scheduler_due_backlog",
         "Leads of running campaigns that are due and not yet scheduled.",
         .gauge = &s->due_backlog},
        {"outdial_scheduler_tick_seconds", "Duration of one dispatch pass.",
         .histogram = &s->tick_seconds},
    };
    static const char *const effect_names[] = {"applied", "duplicate", "stale", "unknown_lead"};
    metrics_family_t *fam = NULL;
    int rc = metrics_register_all(s->metrics, defs, OD_COUNT(defs), err, errlen);
    if (rc == OD_OK)
        rc = metrics_counter_family(s->metrics, "outdial_scheduler_events_applied_total",
                                    "Call events consumed, by effect.", "effect", effect_names,
                                    OD_COUNT(effect_names), s->events_applied, err, errlen);
    const char *rule_names[DISPATCH_DEFER_RULE_COUNT];
    for (int k = 0; k < DISPATCH_DEFER_RULE_COUNT; k++)
        rule_names[k] = dispatch_defer_rule_name((dispatch_defer_rule_t)k);
    if (rc == OD_OK)
        rc = metrics_counter_family(s->metrics, "outdial_scheduler_leads_deferred_by_rule_total",
                                    "Due leads deferred, by the rule that held them: the "
                                    "window (campaign window, quiet hours) or the callee's "
                                    "legal hours, closed day or holiday.",
                                    "rule", rule_names, DISPATCH_DEFER_RULE_COUNT,
                                    s->deferred_by_rule, err, errlen);
    static const char *const job_label[] = {"job", NULL};
    if (rc == OD_OK)
        rc =
            metrics_family_register(s->metrics, METRICS_GAUGE, "outdial_scheduler_recovery_waiting",
                                    "Leads past the scheduled timeout that recovery left "
                                    "scheduled, not re-issued, at its last pass, by what it "
                                    "knows of their job: waiting (in the dial-jobs backlog), "
                                    "unsettled (may still be on its way), unread (the offsets "
                                    "could not be read).",
                                    job_label, NULL, 0, &fam, err, errlen);
    for (int j = 0; j < RECOVERY_JOB_FINISHED && rc == OD_OK; j++) {
        const char *values[] = {recovery_job_name((recovery_job_t)j), NULL};
        rc = metrics_gauge_with(fam, values, &s->recovery_waiting[j], err, errlen);
    }
    return rc;
}

int main(int argc, char **argv)
{
    char err[512];
    if (argc > 1)
        return dead_letter_replay_main(argc, argv);
    scheduler_t s = {0};
    pg_conn_t *db = NULL;
    redis_t *r = NULL;
    http_server_t *http = NULL;
    od_thread_t results = {.name = "results", .main = results_main};
    int status = 1;

    if (log_init("scheduler", err, sizeof(err)) || config_load(&s, err, sizeof(err))) {
        fprintf(stderr, "outdial-scheduler: %s\n", err);
        return 2;
    }
    od_signals_stop_flag(&stopping, true);

    s.metrics = metrics_registry_new();
    s.dispatch_skip = item_backoff_new(ITEM_BACKOFF_FIRST_US, ITEM_BACKOFF_MAX_US);
    s.recovery.skip = item_backoff_new(ITEM_BACKOFF_FIRST_US, ITEM_BACKOFF_MAX_US);
    if (metrics_setup(&s, err, sizeof(err)))
        goto fail;
    http_config_t hcfg;
    http_config_init(&hcfg);
    hcfg.port = 9102;
    hcfg.metrics = s.metrics;
    hcfg.ready = ready_check;
    hcfg.ready_arg = &s;
    /* What the scheduler needs, checked from the start: /readyz names each
     * one that does not answer, and nothing below exits for it. */
    s.deps = deps_new();
    s.dep_pg = pg_deps_add(s.deps, s.dsn);
    hcfg.deps = s.deps;
    if (redis_deps_add(s.deps, err, sizeof(err)) < 0 ||
        (s.dep_kafka = kafka_deps_add(s.deps, "outdial-scheduler-check", err, sizeof(err))) < 0 ||
        deps_start(s.deps, err, sizeof(err)) ||
        http_config_from_env(&hcfg, "OUTDIAL_SCHEDULER", err, sizeof(err)) ||
        http_server_new(&hcfg, &http, err, sizeof(err)) ||
        http_server_start(http, err, sizeof(err)))
        goto fail;

    bool migrate = true;
    if (config_get_bool("OUTDIAL_SCHEDULER_MIGRATE", true, &migrate, err, sizeof(err)))
        goto fail;
    if ((migrate && migrate_when_up(s.deps, s.dep_pg, &stopping, s.dsn, "outdial-scheduler-migrate",
                                    err, sizeof(err))) ||
        pg_conn_await(s.deps, s.dep_pg, &stopping, s.dsn, "outdial-scheduler", &db, err,
                      sizeof(err))) {
        if (!atomic_load(&stopping))
            goto fail; /* a DSN that does not parse, a migration that failed */
        status = 0;    /* stopped while waiting */
        goto out;
    }
    /* Without Redis: dispatch goes on; recovery's fence and the mirror
     * wait until it answers (the client connects when it does). */
    if (redis_new_from_env(&r, err, sizeof(err)))
        goto fail;
    char delivery_ms[24];
    snprintf(delivery_ms, sizeof(delivery_ms), "%" PRId64, s.delivery_timeout_s * 1000);
    const kafka_prop_t pprops[] = {{"message.timeout.ms", delivery_ms}};
    kafka_producer_opts_t popts = {
        .client_id = "outdial-scheduler", .props = pprops, .prop_cnt = 1};
    if (kafka_producer_new(&popts, &s.producer, err, sizeof(err)) ||
        kafka_offsets_new("outdial-scheduler-offsets", &s.offsets, err, sizeof(err)))
        goto fail;
    s.backlog = recovery_backlog_new(RECOVERY_BACKLOG_SAMPLES);
    s.recovery.backlog = s.backlog;
    if (od_threads_start(&results, 1, &s, err, sizeof(err)))
        goto fail;
    log_info("startup", "scheduler running: metrics on port %d, tick %" PRId64 " ms, clock x%g",
             http_server_port(http), s.tick_ms, s.clk.scale);
    dispatch_loop(&s, db, r);
    status = 0;
    goto out;
fail:
    log_error("startup", "%s", err);
    atomic_store(&stopping, true);
out:
    od_threads_join(&results, 1);
    kafka_producer_free(s.producer);
    kafka_offsets_free(s.offsets);
    recovery_backlog_free(s.backlog);
    redis_free(r);
    pg_conn_free(db);
    http_server_free(http);
    deps_free(s.deps);
    metrics_registry_free(s.metrics);
    item_backoff_free(s.dispatch_skip);
    item_backoff_free(s.recovery.skip);
    log_info("shutdown", "scheduler stopped");
    return status;
}

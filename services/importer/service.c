/*
 * service.c — outdial-importer as a service.
 *
 * Two consumer threads, each with its own Postgres connection, so that a
 * long import never holds up leads pushed by other systems:
 *
 *   imports   outdial.import-requests (group <group>-imports): runs the
 *             import each ImportRequest names (importer.h), one at a
 *             time; every OUTDIAL_IMPORTER_SWEEP_S seconds also picks up
 *             imports left pending or running (an importer killed half-way,
 *             a request that was never published) and resumes them.
 *   leads-in  outdial.leads-in (group <group>): applies each LeadUpsert
 *             (importer_leads_in.h); a rejected message is published to
 *             outdial.leads-in.rejected with its reason in headers.
 *
 * Offsets are stored only once a message's effect is committed (an import
 * completed or failed as a whole; a lead upserted; a rejected message
 * acknowledged by the cluster). A database that is down is waited out with
 * backoff on the same message; nothing is skipped.
 *
 * /healthz, /readyz and /metrics are served by lib/http.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "config.h"
#include "deps.h"
#include "http.h"
#include "importer_leads_in.h"
#include "importer_main.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "signals.h"
#include "threads.h"
#include "topics.h"
#include "xmalloc.h"

/* Default port of the importer's HTTP server (OUTDIAL_IMPORTER_HTTP_PORT). */
#define IMPORTER_HTTP_PORT_DEFAULT 8083
/* Backoff between attempts at one message while Postgres (or the cluster)
 * fails: 1 s doubling to 30 s, so a restart of the database is noticed
 * within seconds and a long outage costs little. */
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS   30000
/* An import can take minutes, and the imports consumer polls only between
 * imports: librdkafka must not expel it from its group meanwhile. One hour
 * covers any file the importer accepts (tens of millions of rows); past it
 * the consumer rejoins and the import's redelivered request finds it done. */
#define IMPORTS_MAX_POLL_INTERVAL_MS "3600000"
/* How long the broker has to acknowledge a rejected message. */
#define REJECT_FLUSH_MS 10000

typedef struct service {
    const importer_settings_t *s;
    char topic_requests[TOPIC_NAME_MAX + 1];
    char topic_leads_in[TOPIC_NAME_MAX + 1];
    char topic_rejected[TOPIC_NAME_MAX + 1];
    char group[128];
    char group_imports[160];
    int sweep_s;
    metrics_registry_t *reg;
    metrics_family_t *leads_in_total;
    metrics_family_t *rows_total;
    metrics_family_t *imports_total;
    metrics_gauge_t *import_running;
    atomic_bool imports_pg_ok;
    atomic_bool leads_pg_ok;
    atomic_bool imports_kafka_ok;
    atomic_bool leads_kafka_ok;
    deps_t *deps; /* PostgreSQL and Kafka: whether each answers (deps.h) */
    int dep_pg;
} service_t;

static bool stopping(void)
{
    return atomic_load(&importer_stop);
}

static int backoff_next(int ms)
{
    return ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : ms * 2;
}

static void counter_add(metrics_family_t *fam, const char *label, uint64_t n)
{
    const char *values[] = {label, NULL};
    metrics_counter_t *c = NULL;
    char err[128];
    if (n > 0 && metrics_counter_with(fam, values, &c, err, sizeof(err)) == OD_OK)
        metrics_counter_add(c, n);
}

/* Connects, waiting out a database that is not there yet (pg_conn_await);
 * NULL when the service stops first. */
static pg_conn_t *db_connect(service_t *svc, const char *app, atomic_bool *ok)
{
    char err[1024];
    pg_conn_t *db = NULL;
    if (pg_conn_await(svc->deps, svc->dep_pg, &importer_stop, svc->s->dsn, app, &db, err,
                      sizeof(err)) != OD_OK)
        return NULL;
    if (ok)
        atomic_store(ok, true);
    return db;
}

/* ---- imports ---------------------------------------------------------------- */

typedef struct import_progress_state {
    service_t *svc;
    bool have;
    importer_progress_t last;
} import_progress_state_t;

/* Counts rows into the metrics as batches commit. */
static void import_progress(const importer_progress_t *p, void *arg)
{
    import_progress_state_t *st = arg;
    if (st->have) {
        counter_add(st->svc->rows_total, "imported",
                    (uint64_t)(p->rows_imported - st->last.rows_imported));
        counter_add(st->svc->rows_total, "duplicate",
                    (uint64_t)(p->rows_duplicate - st->last.rows_duplicate));
        counter_add(st->svc->rows_total, "dnc", (uint64_t)(p->rows_dnc - st->last.rows_dnc));
        counter_add(st->svc->rows_total, "rejected",
                    (uint64_t)(p->rows_rejected - st->last.rows_rejected));
    }
    st->last = *p;
    st->have = true;
}

/* Runs one import until it is done, waiting out transient errors. Returns
 * false when the service stopped before (the import stays resumable). */
static bool import_until_done(service_t *svc, pg_conn_t *db, const char *import_id)
{
    char err[1024];
    importer_config_t cfg = {
        .dsn = svc->s->dsn,
        .workers = svc->s->workers,
        .batch_rows = svc->s->batch_rows,
        .stop = &importer_stop,
    };
    int wait = RETRY_FIRST_MS;
    while (!stopping()) {
        importer_result_t result;
        import_progress_state_t st = {.svc = svc};
        metrics_gauge_set(svc->import_running, 1);
        int rc = importer_run(db, &cfg, import_id, import_progress, &st, &result, err, sizeof(err));
        metrics_gauge_set(svc->import_running, 0);
        atomic_store(&svc->imports_pg_ok, !pg_conn_lost(db));
        if (rc == OD_OK) {
            if (result.outcome == IMPORTER_STOPPED)
                return false;
            counter_add(svc->imports_total,
                        result.outcome == IMPORTER_COMPLETED ? "completed" : "failed", 1);
            return true;
        }
        if (rc == OD_ERR_NOT_FOUND || rc == OD_ERR_INVALID) {
            log_warn("import_skipped", "import %s: %s", import_id, err);
            return true;
        }
        /* Down database, another importer on it, upload still staging. */
        log_warn("import_retry", "import %s: %s; again in %d ms", import_id, err, wait);
        od_signals_sleep(&importer_stop, wait);
        wait = backoff_next(wait);
    }
    return false;
}

/* Handles one ImportRequest; true when its offset may be stored. */
static bool request_handle(service_t *svc, pg_conn_t *db, const rd_kafka_message_t *msg)
{
    char err[1024];
    importrequest_t *req = NULL;
    if (importrequest_decode(msg->payload, msg->len, &req, err, sizeof(err)) != OD_OK) {
        log_warn("import_request_invalid", "%s [%d] offset %lld: %s", svc->topic_requests,
                 (int)msg->partition, (long long)msg->offset, err);
        return true; /* nothing a retry could fix */
    }
    bool done = false;
    int wait = RETRY_FIRST_MS;
    while (!stopping()) {
        int rc = importer_request_prepare(db, req, err, sizeof(err));
        if (rc == OD_ERR_NOT_FOUND || rc == OD_ERR_INVALID) {
            log_warn("import_request_skipped", "%s", err);
            done = true;
            break;
        }
        if (rc == OD_OK) {
            done = import_until_done(svc, db, req->import_id);
            break;
        }
        atomic_store(&svc->imports_pg_ok, false);
        log_warn("import_retry", "import %s: %s; again in %d ms", req->import_id, err, wait);
        od_signals_sleep(&importer_stop, wait);
        wait = backoff_next(wait);
    }
    importrequest_free(req);
    return done;
}

static const pg_stmt_t stmt_sweep = {
    "importer_sweep",
    "SELECT id FROM import WHERE status IN ('pending', 'running') AND bytes_total IS NOT NULL"
    " AND created_at < now() - make_interval(secs => $1::int) ORDER BY created_at LIMIT 20",
    1};

/* Resumes imports nobody runs: those still locked by another importer are
 * skipped (OD_ERR_CONFLICT at once). */
static void sweep(service_t *svc, pg_conn_t *db)
{
    char err[1024];
    char grace[16];
    snprintf(grace, sizeof(grace), "%d", svc->sweep_s);
    const char *params[1] = {grace};
    PGresult *res = NULL;
    if (pg_stmt_exec(db, &stmt_sweep, params, &res, err, sizeof(err)) != OD_OK) {
        atomic_store(&svc->imports_pg_ok, false);
        log_warn("import_sweep", "%s", err);
        return;
    }
    atomic_store(&svc->imports_pg_ok, true);
    importer_config_t cfg = {
        .dsn = svc->s->dsn,
        .workers = svc->s->workers,
        .batch_rows = svc->s->batch_rows,
        .stop = &importer_stop,
    };
    for (int i = 0; i < PQntuples(res) && !stopping(); i++) {
        const char *id = PQgetvalue(res, i, 0);
        importer_result_t result;
        import_progress_state_t st = {.svc = svc};
        int rc = importer_run(db, &cfg, id, import_progress, &st, &result, err, sizeof(err));
        if (rc == OD_OK && result.outcome != IMPORTER_STOPPED) {
            log_info("import_swept", "import %s resumed by the sweep", id);
            counter_add(svc->imports_total,
                        result.outcome == IMPORTER_COMPLETED ? "completed" : "failed", 1);
        } else if (rc != OD_OK && rc != OD_ERR_CONFLICT) {
            log_warn("import_sweep", "import %s: %s", id, err);
        }
    }
    PQclear(res);
}

/* A consumer made with opts and subscribed to topic, or NULL when either
 * step fails: then the failure is logged under what and the importer is
 * told to stop (a worker without its consumer cannot do its part). The
 * caller frees the consumer with kafka_consumer_free. */
static kafka_consumer_t *consumer_start(const kafka_consumer_opts_t *opts, const char *topic,
                                        const char *what)
{
    char err[1024];
    kafka_consumer_t *consumer = NULL;
    const char *topics[] = {topic};
    if (kafka_consumer_new(opts, &consumer, err, sizeof(err)) != OD_OK ||
        kafka_consumer_subscribe(consumer, topics, 1, err, sizeof(err)) != OD_OK) {
        log_error("kafka", "%s: %s", what, err);
        atomic_store(&importer_stop, true);
        kafka_consumer_free(consumer);
        return NULL;
    }
    return consumer;
}

/* The next message into *msg (NULL: none within 500 ms). False when the
 * consumer failed: the service stops, and what names it in the log. */
static bool consumer_next(kafka_consumer_t *consumer, const char *what, atomic_bool *kafka_ok,
                          rd_kafka_message_t **msg)
{
    char err[1024];
    *msg = NULL;
    if (kafka_consumer_poll(consumer, 500, msg, err, sizeof(err)) == OD_OK)
        return true;
    log_error("kafka", "%s: %s", what, err);
    atomic_store(kafka_ok, false);
    atomic_store(&importer_stop, true);
    return false;
}

/* Stores the offset of a handled message; a revoked partition
 * (OD_ERR_CONFLICT) is no error: its new owner reads the message again. */
static void offset_store(kafka_consumer_t *consumer, const rd_kafka_message_t *msg)
{
    char err[1024];
    int rc = kafka_consumer_store(consumer, msg, err, sizeof(err));
    if (rc != OD_OK && rc != OD_ERR_CONFLICT)
        log_warn("kafka", "store: %s", err);
}

/* Closes and frees consumer; NULL is a no-op. */
static void consumer_stop(kafka_consumer_t *consumer, const char *what)
{
    char err[1024];
    if (consumer && kafka_consumer_close(consumer, err, sizeof(err)) != OD_OK)
        log_warn("kafka", "%s close: %s", what, err);
    kafka_consumer_free(consumer);
}

static void *imports_main(void *arg)
{
    service_t *svc = arg;
    kafka_consumer_t *consumer = NULL;
    pg_conn_t *db = db_connect(svc, "outdial-importer-imports", &svc->imports_pg_ok);
    if (!db)
        goto out;
    const kafka_prop_t props[] = {{"max.poll.interval.ms", IMPORTS_MAX_POLL_INTERVAL_MS}};
    kafka_consumer_opts_t opts = {
        .group_id = svc->group_imports,
        .client_id = "outdial-importer",
        .props = props,
        .prop_cnt = 1,
    };
    consumer = consumer_start(&opts, svc->topic_requests, "imports consumer");
    if (!consumer)
        goto out;
    atomic_store(&svc->imports_kafka_ok, true);
    time_t next_sweep = svc->sweep_s > 0 ? time(NULL) + svc->sweep_s : 0;
    rd_kafka_message_t *msg = NULL;
    while (!stopping() &&
           consumer_next(consumer, "imports consumer", &svc->imports_kafka_ok, &msg)) {
        if (msg) {
            if (request_handle(svc, db, msg))
                offset_store(consumer, msg);
            kafka_message_free(msg);
        }
        if (next_sweep && time(NULL) >= next_sweep && !stopping()) {
            sweep(svc, db);
            next_sweep = time(NULL) + svc->sweep_s;
        }
    }
out:
    consumer_stop(consumer, "imports consumer");
    pg_conn_free(db);
    return NULL;
}

/* ---- leads-in --------------------------------------------------------------- */

/* The record's content-type header (Kafka header names are case-sensitive;
 * HTTP habits give both spellings). */
static bool content_type_get(const rd_kafka_message_t *msg, const void **value, size_t *len)
{
    *value = NULL;
    *len = 0;
    if (kafka_message_header_get(msg, "content-type", value, len) == OD_OK && *value)
        return true;
    return kafka_message_header_get(msg, "Content-Type", value, len) == OD_OK && *value;
}

/* Publishes a rejected message with its reason; true once acknowledged. */
static bool reject_publish(service_t *svc, kafka_producer_t *producer,
                           const rd_kafka_message_t *msg, const leads_in_result_t *res)
{
    char err[1024];
    char partition[16], offset[24];
    snprintf(partition, sizeof(partition), "%d", (int)msg->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)msg->offset);
    const char *topic = rd_kafka_topic_name(msg->rkt);
    kafka_header_t headers[6] = {
        {LEADS_IN_HEADER_CODE, res->code, strlen(res->code)},
        {LEADS_IN_HEADER_REASON, res->message, strlen(res->message)},
        {LEADS_IN_HEADER_TOPIC, topic, strlen(topic)},
        {LEADS_IN_HEADER_PARTITION, partition, strlen(partition)},
        {LEADS_IN_HEADER_OFFSET, offset, strlen(offset)},
    };
    size_t n = 5;
    const void *ctype = NULL;
    size_t ctype_len = 0;
    if (content_type_get(msg, &ctype, &ctype_len))
        headers[n++] = (kafka_header_t){"content-type", ctype, ctype_len};
    if (kafka_producer_send(producer, svc->topic_rejected, msg->key, msg->key_len, msg->payload,
                            msg->len, headers, n, NULL, err, sizeof(err)) != OD_OK ||
        kafka_producer_flush(producer, REJECT_FLUSH_MS, err, sizeof(err)) != OD_OK) {
        log_warn("leads_in_reject", "publishing to %s: %s", svc->topic_rejected, err);
        return false;
    }
    return true;
}

/* Handles one LeadUpsert; true when its offset may be stored. */
static bool lead_handle(service_t *svc, pg_conn_t *db, lead_map_ctx_t *ctx,
                        kafka_producer_t *producer, const rd_kafka_message_t *msg)
{
    char err[1024];
    const void *ctype = NULL;
    size_t ctype_len = 0;
    bool json =
        content_type_get(msg, &ctype, &ctype_len) && importer_leads_in_is_json(ctype, ctype_len);
    leads_in_result_t res;
    int wait = RETRY_FIRST_MS;
    for (;;) {
        if (stopping())
            return false;
        int rc =
            importer_leads_in_apply(db, ctx, msg->payload, msg->len, json, &res, err, sizeof(err));
        atomic_store(&svc->leads_pg_ok, rc == OD_OK || !pg_conn_lost(db));
        if (rc == OD_OK &&
            (res.outcome != LEADS_IN_REJECTED || reject_publish(svc, producer, msg, &res)))
            break;
        if (rc != OD_OK)
            log_warn("leads_in_retry", "%s [%d] offset %lld: %s; again in %d ms",
                     svc->topic_leads_in, (int)msg->partition, (long long)msg->offset, err, wait);
        od_signals_sleep(&importer_stop, wait);
        wait = backoff_next(wait);
    }
    counter_add(svc->leads_in_total, importer_leads_in_outcome_name(res.outcome), 1);
    if (res.outcome == LEADS_IN_REJECTED)
        /* The reason can quote the phone number: it goes to the topic, not the log. */
        log_info("leads_in_rejected", "%s [%d] offset %lld: %s", svc->topic_leads_in,
                 (int)msg->partition, (long long)msg->offset, res.code);
    return true;
}

static void *leads_main(void *arg)
{
    service_t *svc = arg;
    char err[1024];
    kafka_consumer_t *consumer = NULL;
    kafka_producer_t *producer = NULL;
    lead_map_ctx_t *ctx = lead_map_ctx_new();
    pg_conn_t *db = db_connect(svc, "outdial-importer-leads-in", &svc->leads_pg_ok);
    if (!db)
        goto out;
    kafka_producer_opts_t popts = {.client_id = "outdial-importer"};
    if (kafka_producer_new(&popts, &producer, err, sizeof(err)) != OD_OK) {
        log_error("kafka", "producer: %s", err);
        atomic_store(&importer_stop, true);
        goto out;
    }
    kafka_consumer_opts_t copts = {.group_id = svc->group, .client_id = "outdial-importer"};
    consumer = consumer_start(&copts, svc->topic_leads_in, "leads-in consumer");
    if (!consumer)
        goto out;
    atomic_store(&svc->leads_kafka_ok, true);
    rd_kafka_message_t *msg = NULL;
    while (!stopping() &&
           consumer_next(consumer, "leads-in consumer", &svc->leads_kafka_ok, &msg)) {
        kafka_producer_poll(producer, 0);
        if (!msg)
            continue;
        if (lead_handle(svc, db, ctx, producer, msg))
            offset_store(consumer, msg);
        kafka_message_free(msg);
    }
out:
    consumer_stop(consumer, "leads-in consumer");
    kafka_producer_free(producer);
    lead_map_ctx_free(ctx);
    pg_conn_free(db);
    return NULL;
}

/* ---- wiring ------------------------------------------------------------------ */

static void ready(http_readiness_t *rd, void *arg)
{
    service_t *svc = arg;
    if (!atomic_load(&svc->imports_pg_ok) || !atomic_load(&svc->leads_pg_ok))
        http_readiness_fail(rd, "consumers", "not started: no PostgreSQL connection yet");
    else if (!atomic_load(&svc->imports_kafka_ok) || !atomic_load(&svc->leads_kafka_ok))
        http_readiness_fail(rd, "consumers", "not subscribed");
}

static int metrics_setup(service_t *svc, char *err, size_t errlen)
{
    static const char *const outcome[] = {"outcome", NULL};
    int rc = metrics_family_register(svc->reg, METRICS_COUNTER, "outdial_importer_leads_in_total",
                                     "LeadUpsert messages applied, by outcome.", outcome, NULL, 0,
                                     &svc->leads_in_total, err, errlen);
    if (rc == OD_OK)
        rc = metrics_family_register(svc->reg, METRICS_COUNTER, "outdial_importer_rows_total",
                                     "CSV rows merged, by outcome.", outcome, NULL, 0,
                                     &svc->rows_total, err, errlen);
    if (rc == OD_OK)
        rc = metrics_family_register(svc->reg, METRICS_COUNTER, "outdial_importer_imports_total",
                                     "Imports finished, by outcome (completed, failed).", outcome,
                                     NULL, 0, &svc->imports_total, err, errlen);
    if (rc == OD_OK)
        rc = metrics_gauge_register(svc->reg, "outdial_importer_import_running",
                                    "1 while this process runs an import.", &svc->import_running,
                                    err, errlen);
    return rc;
}

/* Applies the migrations once PostgreSQL answers (OD_OK without them when
 * the service stops first). */
static int migrate_at_start(service_t *svc, bool migrate, char *err, size_t errlen)
{
    if (!migrate)
        return OD_OK;
    int rc = migrate_when_up(svc->deps, svc->dep_pg, &importer_stop, svc->s->dsn,
                             "outdial-importer-migrate", err, errlen);
    return rc == OD_ERR_UNAVAILABLE && stopping() ? OD_OK : rc;
}

int service_run(const importer_settings_t *s)
{
    char err[1024];
    service_t svc;
    memset(&svc, 0, sizeof(svc));
    svc.s = s;
    http_server_t *http = NULL;
    od_thread_t workers[] = {
        {.name = "imports", .main = imports_main},
        {.name = "leads-in", .main = leads_main},
    };
    int status = EXIT_FAILED;
    int64_t v;

    /* The group: OUTDIAL_IMPORTER_GROUP, else the deployment's group
     * prefix + "importer" (topics.h). */
    char default_group[TOPIC_NAME_MAX + 1];
    if (topic_group_from_env("importer", default_group, sizeof(default_group), err, sizeof(err)) !=
        OD_OK) {
        log_error("config", "%s", err);
        return EXIT_USAGE;
    }
    const char *group = config_get_str("OUTDIAL_IMPORTER_GROUP", default_group);
    snprintf(svc.group, sizeof(svc.group), "%s", group);
    snprintf(svc.group_imports, sizeof(svc.group_imports), "%s-imports", group);
    if (config_get_int("OUTDIAL_IMPORTER_SWEEP_S", 60, 0, 86400, &v, err, sizeof(err)) != OD_OK ||
        topic_name_from_env(TOPIC_IMPORT_REQUESTS, svc.topic_requests, sizeof(svc.topic_requests),
                            err, sizeof(err)) != OD_OK ||
        topic_name_from_env(TOPIC_LEADS_IN, svc.topic_leads_in, sizeof(svc.topic_leads_in), err,
                            sizeof(err)) != OD_OK ||
        topic_name_from_env(TOPIC_LEADS_IN_REJECTED, svc.topic_rejected, sizeof(svc.topic_rejected),
                            err, sizeof(err)) != OD_OK) {
        log_error("config", "%s", err);
        return EXIT_USAGE;
    }
    svc.sweep_s = (int)v;
    if (!config_get_str(KAFKA_BROKERS_ENV, NULL)) {
        log_error("config", "%s is not set (host:port,...)", KAFKA_BROKERS_ENV);
        return EXIT_USAGE;
    }
    http_config_t hc;
    http_config_init(&hc);
    hc.port = IMPORTER_HTTP_PORT_DEFAULT;
    if (http_config_from_env(&hc, "OUTDIAL_IMPORTER", err, sizeof(err)) != OD_OK) {
        log_error("config", "%s", err);
        return EXIT_USAGE;
    }
    bool migrate = true;
    if (config_get_bool("OUTDIAL_IMPORTER_MIGRATE", true, &migrate, err, sizeof(err)) != OD_OK) {
        log_error("config", "%s", err);
        return EXIT_USAGE;
    }
    svc.reg = metrics_registry_new();
    /* PostgreSQL and Kafka, checked from the start (/readyz names each one
     * that does not answer). */
    svc.deps = deps_new();
    svc.dep_pg = pg_deps_add(svc.deps, s->dsn);
    if (kafka_deps_add(svc.deps, "outdial-importer-check", err, sizeof(err)) < 0 ||
        deps_start(svc.deps, err, sizeof(err)) != OD_OK) {
        log_error("config", "%s", err);
        goto out;
    }
    hc.deps = svc.deps;
    if (metrics_setup(&svc, err, sizeof(err)) != OD_OK) {
        log_error("metrics", "%s", err);
        goto out;
    }
    hc.metrics = svc.reg;
    hc.ready = ready;
    hc.ready_arg = &svc;
    if (http_server_new(&hc, &http, err, sizeof(err)) != OD_OK ||
        http_server_start(http, err, sizeof(err)) != OD_OK) {
        log_error("http", "%s", err);
        goto out;
    }
    /* The HTTP server first: /healthz answers and /readyz names what is
     * missing while PostgreSQL is waited for. */
    if (migrate_at_start(&svc, migrate, err, sizeof(err)) != OD_OK) {
        log_error("migrate", "%s", err);
        goto out;
    }
    if (od_threads_start(workers, OD_COUNT(workers), &svc, err, sizeof(err)) != OD_OK) {
        log_error("thread", "%s", err);
        goto out;
    }
    log_info("start", "consuming %s (group %s) and %s (group %s); rejects to %s; http port %d",
             svc.topic_requests, svc.group_imports, svc.topic_leads_in, svc.group,
             svc.topic_rejected, http_server_port(http));
    od_signals_wait(&importer_stop);
    status = EXIT_DONE;
out:
    atomic_store(&importer_stop, true);
    od_threads_join(workers, OD_COUNT(workers));
    http_server_free(http);
    deps_free(svc.deps);
    metrics_registry_free(svc.reg);
    log_info("stop", "stopped");
    return status;
}

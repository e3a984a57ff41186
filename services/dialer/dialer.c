/*
 * dialer.c — the dialer (dialer.h): owns every part and runs the dial loop.
 *
 * The loop is the one place that knows all the parts. Each turn it takes
 * jobs from Kafka, wakes the timed ones, hands every note (notes.h) and
 * every finished provider request (transfer.h) to the part it belongs to,
 * and lets reconciliation, the registry and the line lock retries do their
 * periodic work. The parts (jobs, reconcile, registry, line_locks, webhook)
 * never call back up into this file nor into each other: each gets the few
 * things it uses in its *_env_t, and answers other threads through the note
 * queue, which only this file reads.
 */
#include "dialer.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "clock.h"
#include "dialer_metrics.h"
#include "jobs.h"
#include "kafka.h"
#include "line_locks.h"
#include "log.h"
#include "loop_redis.h"
#include "notes.h"
#include "clock_sync.h"
#include "provider.h"
#include "publisher.h"
#include "reconcile.h"
#include "registry.h"
#include "topics.h"
#include "transfer.h"
#include "webhook.h"
#include "xmalloc.h"

/* Jobs taken from Kafka per loop iteration: bounds the time the loop spends
 * on Redis checks before it serves libcurl again. */
#define DIALER_CONSUME_BATCH 100
/* The loop sleeps at most this long in curl_multi_poll; notes wake it
 * earlier. Also the resolution of back-off and retry timers. */
#define DIALER_POLL_MS 10

struct dialer {
    const dialer_config_t *cfg; /* its clock is corrected through clock.clk */
    dialer_metrics_t m;
    call_table_t calls; /* shared with the webhook threads */
    publisher_t *pub;
    redis_t *hook_redis;        /* webhook threads (a client serialises its own commands) */
    note_queue_t notes;         /* to the dial loop, from any thread */
    line_locks_t lines;         /* releases, and the retries of those that failed */
    atomic_bool stopping;       /* no more jobs are taken */
    atomic_bool consumer_ready; /* subscribed and not yet closed */

    /* The dial loop's own. */
    loop_redis_t lr;
    transfers_t xfers;
    kafka_consumer_t *consumer;
    bool consumer_failed; /* a fatal consumer error: drain and exit */
    jobs_t jobs;
    reconcile_t rec;
    registry_t reg;
    clock_sync_t clock;
    webhook_t hooks[DIALER_PROVIDERS_MAX]; /* per provider: what the webhook threads use */
};

/* ---- the loop ---- */

/* The notes other threads left, each to the part it belongs to. */
static void notes_run(dialer_t *d)
{
    dial_note_t *n = note_queue_take(&d->notes);
    while (n) {
        dial_note_t *next = n->next;
        if (n->kind == NOTE_RECONCILED)
            reconcile_note(&d->rec, n);
        else
            jobs_note(&d->jobs, n);
        free(n);
        n = next;
    }
}

/* The provider requests that finished, each to the part that made it. */
static void transfers_run(dialer_t *d)
{
    transfers_perform(&d->xfers);
    CURLcode crc;
    xfer_t *x;
    while ((x = transfers_done_next(&d->xfers, &crc))) {
        if (x->kind == XFER_CREATE)
            jobs_create_done(&d->jobs, x, crc);
        else if (x->kind == XFER_PREDIAL)
            jobs_predial_done(&d->jobs, x, crc);
        else
            reconcile_lookup_done(&d->rec, x, crc);
        xfer_free(x);
    }
}

static void consume(dialer_t *d)
{
    char err[512];
    for (int i = 0; i < DIALER_CONSUME_BATCH && d->jobs.active < (size_t)d->cfg->max_inflight;
         i++) {
        rd_kafka_message_t *msg = NULL;
        if (kafka_consumer_poll(d->consumer, 0, &msg, err, sizeof(err))) {
            /* Fatal: the consumer must be recreated; stop, drain, exit 1 so
             * that the supervisor restarts the process. */
            log_error("consume", "%s", err);
            d->consumer_failed = true;
            return;
        }
        if (!msg)
            return;
        jobs_take(&d->jobs, msg);
    }
}

/* One turn: take jobs (unless stopping), serve timers, notes, transfers. */
static void loop_turn(dialer_t *d, bool take_jobs)
{
    clock_sync_tick(&d->clock);
    /* No job before the clock is known to read the shared time. */
    if (take_jobs && atomic_load(&d->clock.synced))
        consume(d);
    jobs_wake(&d->jobs);
    notes_run(d);
    reconcile_sweep(&d->rec);
    registry_tick(&d->reg);
    line_locks_retry_due(&d->lines);
    transfers_poll(&d->xfers, DIALER_POLL_MS);
    transfers_run(d);
    notes_run(d);
}

int dialer_run(dialer_t *d, const atomic_bool *stop, char *errbuf, size_t errlen)
{
    log_info("startup", "dialer %s taking jobs from %s (at most %" PRId64 " at once)",
             d->cfg->instance_id, d->cfg->jobs_topic, d->cfg->max_inflight);
    while (!atomic_load(stop) && !d->consumer_failed)
        loop_turn(d, true);

    /* Drain: no new jobs; requests in flight finish, events are acked. */
    atomic_store(&d->stopping, true);
    d->jobs.stopping = true;
    int64_t deadline = od_clock_real_us() + d->cfg->drain_ms * 1000;
    log_info("shutdown", "stopping: %zu job(s) in progress, %zu request(s) in flight",
             d->jobs.active, d->xfers.in_flight);
    while (d->jobs.active > 0 && od_clock_real_us() < deadline)
        loop_turn(d, false);
    size_t left = d->jobs.active;
    if (left)
        log_warn("shutdown", "%zu job(s) unfinished after %" PRId64 " ms: left for re-delivery",
                 left, d->cfg->drain_ms);

    /* Stored offsets are committed by the close, which leaves the group. */
    char err[512];
    atomic_store(&d->consumer_ready, false);
    if (kafka_consumer_close(d->consumer, err, sizeof(err)))
        log_warn("shutdown", "consumer close: %s", err);
    log_info("shutdown", "consumer closed; answering webhooks for %" PRId64 " ms more",
             d->cfg->webhook_drain_ms);
    int64_t hooks_until = od_clock_real_us() + d->cfg->webhook_drain_ms * 1000;
    while (od_clock_real_us() < hooks_until)
        loop_turn(d, false);
    registry_leave(&d->reg);
    if (d->consumer_failed)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL,
                       "the dial-job consumer failed (see the log); restart the dialer");
    return OD_OK;
}

/* ---- setup ---- */

void dialer_ready(http_readiness_t *rd, void *arg)
{
    dialer_t *d = arg;
    if (atomic_load(&d->stopping))
        http_readiness_fail(rd, "dialer", "stopping: no new jobs are taken");
    else if (!atomic_load(&d->consumer_ready))
        http_readiness_fail(rd, "jobs", "the dial-job consumer is not running");
    http_readiness_unless(rd, &d->lr.ok, "dial_loop", "its last Redis command failed");
    http_readiness_unless(rd, &d->clock.synced, "clock",
                          "not yet compared with Redis's time (TIME)");
}

int dialer_webhook_routes_add(dialer_t *d, http_server_t *srv, char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    for (size_t i = 0; !rc && i < d->cfg->n_providers; i++)
        rc = webhook_routes_add(&d->hooks[i], srv, errbuf, errlen);
    return rc;
}

/* Hands each part what it uses (once every client exists). */
static void parts_wire(dialer_t *d)
{
    const dialer_config_t *cfg = d->cfg;
    jobs_init(&d->jobs, &(jobs_env_t){.cfg = cfg,
                                      .calls = &d->calls,
                                      .lr = &d->lr,
                                      .lines = &d->lines,
                                      .xfers = &d->xfers,
                                      .pub = d->pub,
                                      .notes = &d->notes,
                                      .consumer = d->consumer,
                                      .m = &d->m});
    reconcile_init(&d->rec, &(reconcile_env_t){.cfg = cfg,
                                               .calls = &d->calls,
                                               .lines = &d->lines,
                                               .xfers = &d->xfers,
                                               .pub = d->pub,
                                               .notes = &d->notes,
                                               .m = &d->m});
    registry_init(&d->reg, &(registry_env_t){.prefix = cfg->redis_prefix,
                                             .instance_id = cfg->instance_id,
                                             .calls = &d->calls,
                                             .lr = &d->lr,
                                             .calls_adopted = d->m.calls_adopted});
    for (size_t i = 0; i < cfg->n_providers; i++)
        d->hooks[i] = (webhook_t){.cfg = cfg,
                                  .ops = cfg->providers[i].ops,
                                  .conf = &cfg->providers[i].conf,
                                  .calls = &d->calls,
                                  .pub = d->pub,
                                  .redis = d->hook_redis,
                                  .lines = &d->lines,
                                  .notes = &d->notes,
                                  .m = &d->m};
}

int dialer_new(dialer_config_t *cfg, metrics_registry_t *reg, dialer_t **out, char *errbuf,
               size_t errlen)
{
    *out = NULL;
    dialer_t *d = xcalloc(1, sizeof(*d));
    d->cfg = cfg;
    d->clock.clk = &cfg->clk;
    d->clock.lr = &d->lr;
    call_table_init(&d->calls);
    note_queue_init(&d->notes, &d->xfers);
    line_locks_init(&d->lines, &d->lr);
    atomic_store(&d->lr.ok, true);
    int rc = dialer_metrics_setup(&d->m, reg, errbuf, errlen);
    if (rc)
        goto fail;
    d->lr.errors = d->m.redis_errors;
    d->clock.offset_ms = d->m.clock_offset_ms;
    rc = transfers_init(&d->xfers, cfg->max_connections, cfg->connect_timeout_ms,
                        d->m.requests_in_flight, errbuf, errlen);
    if (rc)
        goto fail;
    rc = redis_new_from_env(&d->lr.redis, errbuf, errlen);
    if (!rc)
        rc = redis_new_from_env(&d->hook_redis, errbuf, errlen);
    if (rc)
        goto fail;
    /* linger 2 ms: a webhook waits for its event's ack before answering,
     * and the provider sends a call's next message only after that. */
    static const kafka_prop_t pprops[] = {{"linger.ms", "2"}, {"message.timeout.ms", "30000"}};
    kafka_producer_opts_t popts = {.client_id = "outdial-dialer", .props = pprops, .prop_cnt = 2};
    rc = publisher_new(&popts, cfg->events_topic, &d->pub, errbuf, errlen);
    if (rc)
        goto fail;
    /* The deployment's group prefix + "dialer" ("outdial-dialer"). */
    char group[TOPIC_NAME_MAX + 1];
    rc = topic_group_from_env("dialer", group, sizeof(group), errbuf, errlen);
    if (rc)
        goto fail;
    kafka_consumer_opts_t copts = {.group_id = group, .client_id = "outdial-dialer"};
    const char *topics[] = {cfg->jobs_topic};
    rc = kafka_consumer_new(&copts, &d->consumer, errbuf, errlen);
    if (!rc)
        rc = kafka_consumer_subscribe(d->consumer, topics, 1, errbuf, errlen);
    if (rc)
        goto fail;
    parts_wire(d);
    atomic_store(&d->consumer_ready, true);
    *out = d;
    return OD_OK;
fail:
    dialer_free(d);
    return rc;
}

void dialer_free(dialer_t *d)
{
    if (!d)
        return;
    /* The publisher may still call back into jobs and notes: free it first. */
    publisher_free(d->pub, 10000);
    note_queue_destroy(&d->notes);
    line_locks_destroy(&d->lines);
    jobs_destroy(&d->jobs);
    kafka_consumer_free(d->consumer);
    /* Requests still in flight (an aborted drain), then the multi handle. */
    transfers_destroy(&d->xfers);
    redis_free(d->lr.redis);
    redis_free(d->hook_redis);
    call_table_destroy(&d->calls);
    free(d);
}

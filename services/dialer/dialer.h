/*
 * dialer.h — the dialer service: dial jobs in, calls out, call events back.
 *
 * Threads:
 *   dial loop   (dialer_run, the caller's thread) consumes outdial.dial-jobs,
 *               runs the Redis checks (checks.h), drives every create-call
 *               and call-lookup request through one libcurl multi handle
 *               (transfer.c), reconciles calls whose end was not reported
 *               (reconcile.c), and stores each job's offset once its event
 *               is acknowledged, in offset order per partition (dialer.c).
 *   publisher   owns the Kafka producer (publisher.h).
 *   webhooks    lib/web/http's request threads (webhook.h).
 * They meet in the call table (calls.h) and in the note queue, through
 * which the publisher and the webhook threads wake the dial loop.
 *
 * What happens on SIGTERM, when a webhook is lost and when a dialer dies is
 * in docs/dialer.md.
 */
#ifndef OUTDIAL_DIALER_DIALER_H
#define OUTDIAL_DIALER_DIALER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "calls.h"
#include "dialer_config.h"
#include "err.h"
#include "http.h"
#include "kafka.h"
#include "metrics.h"
#include "provider.h"
#include "publisher.h"
#include "redis.h"
#include "rkeys.h"

/* Provider error classes (metric label values). */
typedef enum dialer_perr {
    DIALER_PERR_RATE_LIMITED = 0,
    DIALER_PERR_TRANSIENT,
    DIALER_PERR_PERMANENT,
    DIALER_PERR_TIMEOUT,
    DIALER_PERR_CONNECTION,
    DIALER_PERR_COUNT,
} dialer_perr_t;

/* Webhook outcomes (metric label values). */
typedef enum dialer_hook {
    DIALER_HOOK_RINGING = 0,
    DIALER_HOOK_IN_PROGRESS,
    DIALER_HOOK_ENDED,
    DIALER_HOOK_REPORT,
    DIALER_HOOK_IGNORED,
    DIALER_HOOK_UNAUTHORIZED,
    DIALER_HOOK_MALFORMED,
    DIALER_HOOK_UNAVAILABLE, /* the event could not be published: 503 */
    DIALER_HOOK_COUNT,
} dialer_hook_t;

typedef struct dialer_metrics {
    metrics_counter_t *jobs_consumed;
    metrics_counter_t *jobs_undecodable;
    metrics_counter_t *jobs_duplicate;
    metrics_counter_t *calls_placed;
    metrics_counter_t *reconciled;
    metrics_counter_t *calls_adopted;
    metrics_counter_t *redis_errors;
    metrics_counter_t *skipped[MODEL_SKIP_REASON_COUNT];
    metrics_counter_t *provider_errors[DIALER_PERR_COUNT];
    metrics_counter_t *webhooks[DIALER_HOOK_COUNT];
    metrics_gauge_t *jobs_in_progress;
    metrics_gauge_t *requests_in_flight;
    metrics_gauge_t *calls_in_flight;
    metrics_histogram_t *create_call_seconds;
} dialer_metrics_t;

typedef struct dial_note dial_note_t;
typedef struct dial_job dial_job_t;
typedef struct dial_part dial_part_t;

typedef struct dialer {
    const dialer_config_t *cfg;
    const provider_ops_t *webhook_ops; /* the provider whose webhooks /webhooks/<name> takes */
    publisher_t *pub;
    call_table_t calls;
    redis_t *hook_redis; /* webhook threads (a client serialises its own commands) */
    dialer_metrics_t m;
    atomic_bool stopping;       /* no more jobs are taken */
    atomic_bool redis_ok;       /* the last Redis command of the dial loop worked */
    atomic_bool consumer_ready; /* subscribed and not yet closed */

    /* Notes to the dial loop, from any thread. */
    pthread_mutex_t note_mu;
    dial_note_t *notes;
    /* Line locks whose release failed (Redis unreachable), retried by the
     * dial loop every second; under note_mu. */
    struct line_retry *line_retries;
    void *multi; /* CURLM *, for curl_multi_wakeup */

    /* The dial loop's own. */
    redis_t *redis;
    kafka_consumer_t *consumer;
    bool consumer_failed; /* a fatal consumer error: drain and exit */
    dial_part_t *parts;
    dial_job_t *waiting; /* jobs with a wake-up time */
    size_t jobs_active;  /* taken, not finished */
    size_t requests_in_flight;
    void *xfers; /* the transfers in flight (dialer.c's xfer_t list) */
    int64_t next_sweep_real_us;
    int64_t line_retry_real_us; /* next retry of line_retries */
    /* The registry of calls in flight (registry.h). */
    char reg_inflight_key[RKEYS_KEY_MAX];
    char reg_alive_key[RKEYS_KEY_MAX];
    char reg_dialers_key[RKEYS_KEY_MAX];
    int64_t reg_next_beat_real_us;
    int64_t reg_next_scan_real_us;
    int64_t reg_retry_real_us; /* no registry write before this (after a failure) */
    bool reg_resumed;          /* our own hash's calls (a previous process's) taken back */
} dialer_t;

/* Connects to Redis (two clients), Kafka (a consumer in group
 * outdial-dialer subscribed to the jobs topic, and the producer behind the
 * publisher) and registers the metrics in reg. Free with dialer_free(). */
int dialer_new(const dialer_config_t *cfg, metrics_registry_t *reg, dialer_t **out, char *errbuf,
               size_t errlen) OD_WUR;

/* Runs the dial loop until *stop becomes true, then drains (see
 * docs/dialer.md): finishes the requests in flight, waits for their events'
 * acknowledgements, stores offsets, closes the consumer, and keeps
 * reconciling for the webhook drain period while the HTTP server (still up)
 * answers webhooks. Returns OD_OK on a clean stop, OD_ERR_INTERNAL after
 * a fatal consumer error (drained the same way). */
int dialer_run(dialer_t *d, const atomic_bool *stop, char *errbuf, size_t errlen) OD_WUR;

/* Readiness (an http_ready_fn): not ready while stopping, before the
 * consumer subscribed, or when Redis fails. */
void dialer_ready(http_readiness_t *rd, void *arg);

/* Adds POST /webhooks/<provider> (webhook.c). */
int dialer_webhook_routes_add(dialer_t *d, http_server_t *srv, char *errbuf, size_t errlen) OD_WUR;

/* Tells the dial loop that attempt_id's "initiated" event was published by
 * a webhook thread (any thread). */
void dialer_note_init_done(dialer_t *d, const char *attempt_id);

/* Queues the release of a line lock (compare-and-delete with attempt_id)
 * that failed because Redis could not be reached; the dial loop tries it
 * again every second. Any thread. */
void dialer_line_release_later(dialer_t *d, const char *line_key, const char *attempt_id);

/* Flushes and frees everything. NULL is a no-op. */
void dialer_free(dialer_t *d);

#endif

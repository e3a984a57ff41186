/*
 * dialer.h — the dialer service: dial jobs in, calls out, call events back.
 * What main.c sees; everything else of the dialer is its own (dialer.c
 * wires the parts below together and runs the dial loop).
 *
 * Threads:
 *   dial loop   (dialer_run, the caller's thread) consumes outdial.dial-jobs
 *               and drives the jobs (jobs.h: the Redis checks, checks.h, and
 *               the create-call requests), the provider requests on one
 *               libcurl multi handle (transfer.h), the reconciliation of
 *               calls whose end was not reported (reconcile.h), the registry
 *               of calls in flight (registry.h) and the retried line lock
 *               releases (line_locks.h).
 *   publisher   owns the Kafka producer (publisher.h).
 *   webhooks    lib/web/http's request threads (webhook.h).
 * They meet in the call table (calls.h) and in the note queue (notes.h),
 * through which the publisher and the webhook threads wake the dial loop.
 *
 * What happens on SIGTERM, when a webhook is lost and when a dialer dies is
 * in docs/dialer.md.
 */
#ifndef OUTDIAL_DIALER_DIALER_H
#define OUTDIAL_DIALER_DIALER_H

#include <stdatomic.h>
#include <stddef.h>

#include "dialer_config.h"
#include "err.h"
#include "http.h"
#include "metrics.h"

typedef struct dialer dialer_t;

/* Connects to Redis (two clients), Kafka (a consumer in group
 * outdial-dialer subscribed to the jobs topic, and the producer behind the
 * publisher) and registers the metrics in reg. cfg must outlive the
 * dialer, which corrects cfg->clk against Redis's time (clock_sync.h) while
 * it runs. Free with dialer_free(). */
int dialer_new(dialer_config_t *cfg, metrics_registry_t *reg, dialer_t **out, char *errbuf,
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

/* Adds POST /webhooks/<provider> (webhook.h) for each provider served to
 * srv, which must stop before the dialer is freed. */
int dialer_webhook_routes_add(dialer_t *d, http_server_t *srv, char *errbuf, size_t errlen) OD_WUR;

/* Flushes and frees everything. NULL is a no-op. */
void dialer_free(dialer_t *d);

#endif

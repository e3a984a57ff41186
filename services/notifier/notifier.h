/*
 * notifier.h — outdial-notifier: outbound webhooks to the users' systems
 * (docs/webhooks.md). A process of its own, so that a slow or dead
 * endpoint never slows dialing: it shares nothing with the dialing path
 * but the topics it reads.
 *
 *   intake   consumes call-events and campaign-events in its own group;
 *            for each event a webhook carries (event_map.h) and each
 *            enabled endpoint of the account whose filter wants it
 *            (webhook_filter.h), inserts a webhook_delivery row (unique by
 *            endpoint and event id); stores the offset after the insert.
 *   sender   claims due deliveries (FOR UPDATE SKIP LOCKED, a lease past
 *            the request's timeout), sends them through one libcurl multi
 *            handle, many in flight, each signed (sign.h) with a per-request
 *            timeout, and records the answer (delivery_plan.h).
 *
 * Any number of replicas: the group shares the partitions, SKIP LOCKED the
 * deliveries. A notifier that dies mid-request leaves its claims to expire
 * and be sent again: at least once, the receiver dedupes by the
 * idempotency key (the event id).
 */
#ifndef OUTDIAL_NOTIFIER_H
#define OUTDIAL_NOTIFIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "delivery_plan.h"
#include "deps.h"
#include "err.h"
#include "metrics.h"
#include "pg.h"

/* Default HTTP port of /healthz, /readyz, /metrics (OUTDIAL_NOTIFIER_HTTP_PORT). */
#define NOTIFIER_HTTP_PORT_DEFAULT 8085
/* OUTDIAL_NOTIFIER_TIMEOUT_MS: one request's whole time. 10 s is what the
 * large senders give (GitHub 10 s, Stripe 20 s); a receiver should answer
 * at once and do its work after. Range 1..60 s. */
#define NOTIFIER_TIMEOUT_MS_DEFAULT 10000
#define NOTIFIER_TIMEOUT_MS_MIN     1000
#define NOTIFIER_TIMEOUT_MS_MAX     60000
/* OUTDIAL_NOTIFIER_MAX_INFLIGHT: requests in flight per process. A stalled
 * endpoint holds a slot for the timeout, so 64 slots and 10 s still send
 * 6 deliveries a second with every slot stalled. Range 1..1000. */
#define NOTIFIER_INFLIGHT_DEFAULT 64
#define NOTIFIER_INFLIGHT_MAX     1000
/* OUTDIAL_NOTIFIER_MAX_AGE_S: how long after its first try a delivery is
 * retried before it is dead. 24 h is the product's promise; tests shorten
 * it (10 s at least: a few retries must fit), a week at most. */
#define NOTIFIER_MAX_AGE_S_DEFAULT 86400
#define NOTIFIER_MAX_AGE_S_MIN     10
#define NOTIFIER_MAX_AGE_S_MAX     604800
/* OUTDIAL_NOTIFIER_RETRY_FIRST_MS and _RETRY_MAX_MS: the backoff's first
 * and largest ceiling (delivery_plan.h): 5 s, 1 h. */
#define NOTIFIER_RETRY_FIRST_MS_DEFAULT 5000
#define NOTIFIER_RETRY_MAX_MS_DEFAULT   3600000
/* A claim's lease beyond the request's timeout: the time to record the
 * answer. A notifier that dies leaves its deliveries due again after it. */
#define NOTIFIER_LEASE_MARGIN_S 30
/* How often the sender looks for due deliveries when nothing woke it. */
#define NOTIFIER_POLL_MS 200

/* The settings (environment, read by main.c) and what the threads share. */
typedef struct notifier {
    const char *dsn;
    const char *ca_file; /* OUTDIAL_NOTIFIER_CA_FILE: NULL uses the system CAs */
    int timeout_ms;
    int max_inflight;
    delivery_policy_t policy;
    char group[160];
    char topic_calls[256];
    char topic_campaigns[256];
    atomic_bool *stop;
    atomic_bool wake; /* intake queued deliveries: the sender claims at once */
    deps_t *deps;
    int dep_pg;
    atomic_bool intake_ok; /* subscribed, with a database connection */
    atomic_bool sender_ok;
    metrics_family_t *deliveries_total; /* {result} */
    metrics_family_t *events_total;     /* {type} */
    metrics_histogram_t *latency;       /* seconds per request */
    metrics_gauge_t *inflight;
} notifier_t;

/* The intake thread (intake.c); arg is the notifier_t. */
void *notifier_intake_main(void *arg);

/* The sender thread (sender.c); arg is the notifier_t. */
void *notifier_sender_main(void *arg);

/* Counts one in fam under label (a metrics failure is not the caller's). */
void notifier_count(metrics_family_t *fam, const char *label);

#endif

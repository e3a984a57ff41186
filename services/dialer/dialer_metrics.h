/*
 * dialer_metrics.h — the dialer's Prometheus metrics (docs/dialer.md): one
 * plain struct of handles, registered once, that every part of the dialer
 * counts into (lib/web/metrics handles are safe from any thread).
 */
#ifndef OUTDIAL_DIALER_METRICS_H
#define OUTDIAL_DIALER_METRICS_H

#include <stddef.h>

#include "err.h"
#include "metrics.h"
#include "model.h"

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
    metrics_gauge_t *clock_offset_ms;
    metrics_histogram_t *create_call_seconds;
    metrics_histogram_t *predial_seconds; /* the pre-dial check's request */
    metrics_counter_t *predial_results[MODEL_PREDIAL_RESULT_COUNT]; /* [NONE] unused */
} dialer_metrics_t;

/* Registers every metric of m in reg (which owns them). */
int dialer_metrics_setup(dialer_metrics_t *m, metrics_registry_t *reg, char *err,
                         size_t errlen) OD_WUR;

#endif

/*
 * dialer_metrics.c — the dialer's Prometheus metrics (docs/dialer.md).
 */
#include "dialer_metrics.h"

int dialer_metrics_setup(dialer_metrics_t *m, metrics_registry_t *reg, char *err, size_t errlen)
{
    metrics_family_t *fam = NULL;
    int rc =
        metrics_counter_register(reg, "outdial_dialer_jobs_consumed_total",
                                 "Dial jobs taken from Kafka.", &m->jobs_consumed, err, errlen);
    if (!rc)
        rc = metrics_counter_register(reg, "outdial_dialer_jobs_undecodable_total",
                                      "Dial jobs that could not be decoded (skipped over).",
                                      &m->jobs_undecodable, err, errlen);
    if (!rc)
        rc = metrics_counter_register(reg, "outdial_dialer_jobs_duplicate_total",
                                      "Dial jobs whose attempt was already dialed or fenced.",
                                      &m->jobs_duplicate, err, errlen);
    if (!rc)
        rc =
            metrics_counter_register(reg, "outdial_dialer_calls_placed_total",
                                     "Calls the provider accepted.", &m->calls_placed, err, errlen);
    if (!rc)
        rc = metrics_counter_register(reg, "outdial_dialer_reconciled_total",
                                      "Terminal events taken from a call lookup.", &m->reconciled,
                                      err, errlen);
    if (!rc)
        rc = metrics_counter_register(reg, "outdial_dialer_calls_adopted_total",
                                      "Calls in flight taken over from a dialer that died.",
                                      &m->calls_adopted, err, errlen);
    if (!rc)
        rc = metrics_counter_register(reg, "outdial_dialer_redis_errors_total",
                                      "Redis commands of the dial loop that failed.",
                                      &m->redis_errors, err, errlen);
    if (!rc)
        rc = metrics_gauge_register(reg, "outdial_dialer_jobs_in_progress",
                                    "Dial jobs taken and not finished.", &m->jobs_in_progress, err,
                                    errlen);
    if (!rc)
        rc = metrics_gauge_register(reg, "outdial_dialer_requests_in_flight",
                                    "Provider HTTP requests in flight.", &m->requests_in_flight,
                                    err, errlen);
    if (!rc)
        rc = metrics_gauge_register(reg, "outdial_dialer_calls_in_flight",
                                    "Calls placed by this dialer whose end it has not seen.",
                                    &m->calls_in_flight, err, errlen);
    if (!rc)
        rc = metrics_gauge_register(reg, "outdial_dialer_clock_offset_ms",
                                    "How far Redis's clock is ahead of this host's (the "
                                    "correction the dialer applies), in milliseconds.",
                                    &m->clock_offset_ms, err, errlen);
    if (!rc)
        rc = metrics_histogram_register(reg, "outdial_dialer_create_call_seconds",
                                        "Duration of create-call requests.",
                                        metrics_latency_buckets, METRICS_LATENCY_BUCKETS_N,
                                        &m->create_call_seconds, err, errlen);
    if (!rc)
        rc = metrics_histogram_register(
            reg, "outdial_dialer_predial_seconds", "Duration of pre-dial check requests.",
            metrics_latency_buckets, METRICS_LATENCY_BUCKETS_N, &m->predial_seconds, err, errlen);
    static const char *const result_label[] = {"result", NULL};
    if (!rc)
        rc = metrics_family_register(reg, METRICS_COUNTER, "outdial_dialer_predial_total",
                                     "Pre-dial checks, by result (eligible, refused, error).",
                                     result_label, NULL, 0, &fam, err, errlen);
    for (int i = MODEL_PREDIAL_ELIGIBLE; i < MODEL_PREDIAL_RESULT_COUNT && !rc; i++) {
        const char *v[] = {model_predial_result_name((model_predial_result_t)i), NULL};
        rc = metrics_counter_with(fam, v, &m->predial_results[i], err, errlen);
    }
    static const char *const reason_label[] = {"reason", NULL};
    if (!rc)
        rc = metrics_family_register(reg, METRICS_COUNTER, "outdial_dialer_jobs_skipped_total",
                                     "Dial jobs refused, by reason.", reason_label, NULL, 0, &fam,
                                     err, errlen);
    for (int i = 0; i < MODEL_SKIP_REASON_COUNT && !rc; i++) {
        const char *v[] = {model_skip_reason_name((model_skip_reason_t)i), NULL};
        rc = metrics_counter_with(fam, v, &m->skipped[i], err, errlen);
    }
    static const char *const class_label[] = {"class", NULL};
    static const char *const classes[DIALER_PERR_COUNT] = {"rate_limited", "transient", "permanent",
                                                           "timeout", "connection"};
    if (!rc)
        rc = metrics_family_register(reg, METRICS_COUNTER, "outdial_dialer_provider_errors_total",
                                     "Create-call requests that failed, by class.", class_label,
                                     NULL, 0, &fam, err, errlen);
    for (int i = 0; i < DIALER_PERR_COUNT && !rc; i++) {
        const char *v[] = {classes[i], NULL};
        rc = metrics_counter_with(fam, v, &m->provider_errors[i], err, errlen);
    }
    static const char *const type_label[] = {"type", NULL};
    static const char *const types[DIALER_HOOK_COUNT] = {
        "ringing", "in_progress",  "ended",     "end_of_call_report",
        "ignored", "unauthorized", "malformed", "unavailable"};
    if (!rc)
        rc = metrics_family_register(reg, METRICS_COUNTER, "outdial_dialer_webhooks_total",
                                     "Provider webhooks received, by type or refusal.", type_label,
                                     NULL, 0, &fam, err, errlen);
    for (int i = 0; i < DIALER_HOOK_COUNT && !rc; i++) {
        const char *v[] = {types[i], NULL};
        rc = metrics_counter_with(fam, v, &m->webhooks[i], err, errlen);
    }
    return rc;
}

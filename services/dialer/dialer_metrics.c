/*
 * dialer_metrics.c — the dialer's Prometheus metrics (docs/dialer.md).
 */
#include "dialer_metrics.h"

/* The families whose label values come from the model's names. */
static int model_families(dialer_metrics_t *m, metrics_registry_t *reg, char *err, size_t errlen)
{
    const char *results[MODEL_PREDIAL_RESULT_COUNT];
    for (int i = 0; i < MODEL_PREDIAL_RESULT_COUNT; i++)
        results[i] = model_predial_result_name((model_predial_result_t)i);
    const char *reasons[MODEL_SKIP_REASON_COUNT];
    for (int i = 0; i < MODEL_SKIP_REASON_COUNT; i++)
        reasons[i] = model_skip_reason_name((model_skip_reason_t)i);
    /* NONE is no result of a check: it has no series. */
    int rc = metrics_counter_family(reg, "outdial_dialer_predial_total",
                                    "Pre-dial checks, by result (eligible, refused, error).",
                                    "result", results + MODEL_PREDIAL_ELIGIBLE,
                                    MODEL_PREDIAL_RESULT_COUNT - MODEL_PREDIAL_ELIGIBLE,
                                    m->predial_results + MODEL_PREDIAL_ELIGIBLE, err, errlen);
    if (!rc)
        rc = metrics_counter_family(reg, "outdial_dialer_jobs_skipped_total",
                                    "Dial jobs refused, by reason.", "reason", reasons,
                                    MODEL_SKIP_REASON_COUNT, m->skipped, err, errlen);
    return rc;
}

int dialer_metrics_setup(dialer_metrics_t *m, metrics_registry_t *reg, char *err, size_t errlen)
{
    const metrics_def_t defs[] = {
        {"outdial_dialer_jobs_consumed_total", "Dial jobs taken from Kafka.",
         .counter = &m->jobs_consumed},
        {"outdial_dialer_jobs_undecodable_total",
         "Dial jobs that could not be decoded (skipped over).", .counter = &m->jobs_undecodable},
        {"outdial_dialer_jobs_duplicate_total",
         "Dial jobs whose attempt was already dialed or fenced.", .counter = &m->jobs_duplicate},
        {"outdial_dialer_calls_placed_total", "Calls the provider accepted.",
         .counter = &m->calls_placed},
        {"outdial_dialer_reconciled_total", "Terminal events taken from a call lookup.",
         .counter = &m->reconciled},
        {"outdial_dialer_calls_adopted_total",
         "Calls in flight taken over from a dialer that died.", .counter = &m->calls_adopted},
        {"outdial_dialer_redis_errors_total", "Redis commands of the dial loop that failed.",
         .counter = &m->redis_errors},
        {"outdial_dialer_jobs_in_progress", "Dial jobs taken and not finished.",
         .gauge = &m->jobs_in_progress},
        {"outdial_dialer_requests_in_flight", "Provider HTTP requests in flight.",
         .gauge = &m->requests_in_flight},
        {"outdial_dialer_calls_in_flight", "Calls placed by this dialer whose end it has not seen.",
         .gauge = &m->calls_in_flight},
        {"outdial_dialer_clock_offset_ms",
         "How far Redis's clock is ahead of this host's (the correction the "
         "dialer applies), in milliseconds.",
         .gauge = &m->clock_offset_ms},
        {"outdial_dialer_create_call_seconds", "Duration of create-call requests.",
         .histogram = &m->create_call_seconds},
        {"outdial_dialer_predial_seconds", "Duration of pre-dial check requests.",
         .histogram = &m->predial_seconds},
    };
    static const char *const classes[DIALER_PERR_COUNT] = {"rate_limited", "transient", "permanent",
                                                           "timeout", "connection"};
    static const char *const types[DIALER_HOOK_COUNT] = {
        "ringing", "in_progress",  "ended",     "end_of_call_report",
        "ignored", "unauthorized", "malformed", "unavailable"};
    int rc = metrics_register_all(reg, defs, OD_COUNT(defs), err, errlen);
    if (!rc)
        rc = model_families(m, reg, err, errlen);
    if (!rc)
        rc = metrics_counter_family(reg, "outdial_dialer_provider_errors_total",
                                    "Create-call requests that failed, by class.", "class", classes,
                                    DIALER_PERR_COUNT, m->provider_errors, err, errlen);
    if (!rc)
        rc = metrics_counter_family(reg, "outdial_dialer_webhooks_total",
                                    "Provider webhooks received, by type or refusal.", "type",
                                    types, DIALER_HOOK_COUNT, m->webhooks, err, errlen);
    return rc;
}

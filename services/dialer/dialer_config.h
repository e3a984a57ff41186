/*
 * dialer_config.h — the dialer's settings, from the environment
 * (docs/dialer.md lists every variable with its default).
 */
#ifndef OUTDIAL_DIALER_CONFIG_H
#define OUTDIAL_DIALER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "provider.h"
#include "topics.h"

#define DIALER_INSTANCE_ID_MAX 96
#define DIALER_PROVIDERS_MAX   8

/* A provider this dialer serves, with its deployment's settings. */
typedef struct dialer_provider {
    const provider_ops_t *ops;
    provider_conf_t conf; /* strings point into the environment */
} dialer_provider_t;

typedef struct dialer_config {
    od_clock_t clk;
    dialer_provider_t providers[DIALER_PROVIDERS_MAX]; /* those whose key is set */
    size_t n_providers;
    char instance_id[DIALER_INSTANCE_ID_MAX]; /* the attempt key's value */
    const char *redis_prefix;
    char jobs_topic[TOPIC_NAME_MAX + 1];
    char events_topic[TOPIC_NAME_MAX + 1];
    int64_t max_inflight;          /* jobs taken and not finished */
    int64_t max_connections;       /* to the provider */
    int64_t connect_timeout_ms;    /* provider requests */
    int64_t request_timeout_ms;    /* create-call */
    int64_t lookup_timeout_ms;     /* GET /call/{id} */
    int64_t rate_limit_retries;    /* extra create-call requests after a 429 */
    int64_t rate_limit_backoff_ms; /* first wait after a 429 without Retry-After */
    int64_t line_margin_ms;        /* line lock lease beyond the longest call, real */
    int64_t reconcile_margin_ms;   /* lookup a call this long after its longest end, real */
    int64_t report_grace_ms;       /* lookup if "ended" came and no report within, real */
    int64_t unconfirmed_grace_ms;  /* unanswered create-call: wait this long for a webhook */
    int64_t default_max_call_s;    /* campaign seconds, when a job says 0 */
    int64_t window_guard_ms;       /* real time a create-call must have left before not_after */
    int64_t webhook_wait_ms;       /* a webhook waits this long for its call's "initiated" */
    int64_t drain_ms;              /* SIGTERM: time for in-flight requests and acks */
    int64_t webhook_drain_ms;      /* SIGTERM: webhooks still answered after the consumer left */
} dialer_config_t;

/* Reads every setting; OD_ERR_INVALID with a message naming the variable. */
int dialer_config_load(dialer_config_t *cfg, char *errbuf, size_t errlen) OD_WUR;

/* The provider named name (a DialJob.provider) if this dialer serves it,
 * else NULL. */
const dialer_provider_t *dialer_config_provider(const dialer_config_t *cfg, const char *name);

#endif

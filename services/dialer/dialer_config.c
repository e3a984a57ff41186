#include "dialer_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "rkeys.h"
#include "uuid.h"

/* A secret shorter than this is guessable; refuse to start with one. */
#define DIALER_SECRET_MIN 8

static int url_check(const char *name, const char *url, char *errbuf, size_t errlen)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: '%s' is not an http:// or https:// URL",
                       name, url);
    return OD_OK;
}

/* The provider's settings from its variables (provider_env_t); a provider
 * whose key is not set is not served, unless it is required. */
static int provider_load(dialer_config_t *cfg, const provider_ops_t *ops, char *errbuf,
                         size_t errlen)
{
    const provider_env_t *env = &ops->env;
    provider_conf_t conf = {0};
    conf.api_key = config_get_str(env->api_key, NULL);
    if (!conf.api_key || !*conf.api_key) {
        if (env->required)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s is required", env->api_key);
        return OD_OK;
    }
    if (cfg->n_providers == DIALER_PROVIDERS_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "more than %d providers",
                       DIALER_PROVIDERS_MAX);
    conf.base_url = config_get_str(env->base_url, env->base_url_default);
    int rc = url_check(env->base_url, conf.base_url, errbuf, errlen);
    if (!rc && env->webhook_url)
        rc = config_get_required(env->webhook_url, &conf.webhook_url, errbuf, errlen);
    if (!rc && env->webhook_url)
        rc = url_check(env->webhook_url, conf.webhook_url, errbuf, errlen);
    if (!rc && env->webhook_secret)
        rc = config_get_required(env->webhook_secret, &conf.webhook_secret, errbuf, errlen);
    if (!rc && env->webhook_secret && strlen(conf.webhook_secret) < DIALER_SECRET_MIN)
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: at least %d characters are required",
                     env->webhook_secret, DIALER_SECRET_MIN);
    if (!rc)
        cfg->providers[cfg->n_providers++] = (dialer_provider_t){.ops = ops, .conf = conf};
    return rc;
}

const dialer_provider_t *dialer_config_provider(const dialer_config_t *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->n_providers; i++)
        if (strcmp(cfg->providers[i].ops->name, name) == 0)
            return &cfg->providers[i];
    return NULL;
}

int dialer_config_load(dialer_config_t *cfg, char *errbuf, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    int rc = od_clock_from_env(&cfg->clk, errbuf, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && provider_all[i]; i++)
        rc = provider_load(cfg, provider_all[i], errbuf, errlen);
    if (!rc && cfg->n_providers == 0)
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "no voice provider has an API key set");
    if (!rc)
        rc = rkeys_prefix_from_env(&cfg->redis_prefix, errbuf, errlen);
    if (!rc)
        rc = topic_name_from_env(TOPIC_DIAL_JOBS, cfg->jobs_topic, sizeof(cfg->jobs_topic), errbuf,
                                 errlen);
    if (!rc)
        rc = topic_name_from_env(TOPIC_CALL_EVENTS, cfg->events_topic, sizeof(cfg->events_topic),
                                 errbuf, errlen);
#define INT(name, def, min, max, field)                                                            \
    do {                                                                                           \
        if (!rc)                                                                                   \
            rc = config_get_int(name, def, min, max, &cfg->field, errbuf, errlen);                 \
    } while (0)
    /* 2000 jobs at once: one dialer holds that many create-call requests
     * (and 429 back-offs) in its event loop; beyond, Kafka keeps the rest. */
    INT("OUTDIAL_DIALER_MAX_INFLIGHT", 2000, 1, 100000, max_inflight);
    /* Connections to the provider; requests beyond wait in libcurl's queue. */
    INT("OUTDIAL_DIALER_MAX_CONNECTIONS", 2048, 1, 100000, max_connections);
    /* 5 s to connect, 15 s for the create-call answer: the provider answers
     * in well under a second; longer means it is in trouble, and an answer
     * that never comes is handled as "unconfirmed" (see docs/dialer.md). */
    INT("OUTDIAL_DIALER_CONNECT_TIMEOUT_MS", 5000, 100, 120000, connect_timeout_ms);
    INT("OUTDIAL_DIALER_REQUEST_TIMEOUT_MS", 15000, 100, 300000, request_timeout_ms);
    INT("OUTDIAL_DIALER_LOOKUP_TIMEOUT_MS", 10000, 100, 300000, lookup_timeout_ms);
    /* 3 more tries after a 429, waiting Retry-After (else 1 s, doubling):
     * a concurrency limit frees up as calls end; longer waits hold the
     * number's line lock for nothing. */
    INT("OUTDIAL_DIALER_RATE_LIMIT_RETRIES", 3, 0, 20, rate_limit_retries);
    INT("OUTDIAL_DIALER_RATE_LIMIT_BACKOFF_MS", 1000, 10, 60000, rate_limit_backoff_ms);
    /* The line lock outlives the longest call by 5 minutes: long enough
     * for a late report, short enough that a lost one frees the number. */
    INT("OUTDIAL_DIALER_LINE_MARGIN_MS", 300000, 1000, 86400000, line_margin_ms);
    /* Look a call up when its report is 60 s overdue, or 10 s after its
     * "ended" update if no report followed (the provider sends the report
     * right after the update). */
    INT("OUTDIAL_DIALER_RECONCILE_MARGIN_MS", 60000, 100, 86400000, reconcile_margin_ms);
    INT("OUTDIAL_DIALER_REPORT_GRACE_MS", 10000, 100, 3600000, report_grace_ms);
    /* A create-call request that timed out may have placed the call: wait
     * 30 s for a webhook to say so before reporting the attempt failed. */
    INT("OUTDIAL_DIALER_UNCONFIRMED_GRACE_MS", 30000, 100, 3600000, unconfirmed_grace_ms);
    /* The create-call request must reach the provider before the window
     * closes: a job is not posted when less than this much real time is
     * left (the Redis checks and the request itself take milliseconds;
     * under load, and at a scaled clock, far more campaign time). */
    INT("OUTDIAL_DIALER_WINDOW_GUARD_MS", 500, 0, 60000, window_guard_ms);
    /* Vapi's own default maximum call duration is 10 minutes. */
    INT("OUTDIAL_DIALER_DEFAULT_MAX_CALL_S", 600, 10, 43200, default_max_call_s);
    /* The provider waits 10 s for a webhook's answer; wait less than that
     * for the create-call answer before publishing "initiated" ourselves. */
    INT("OUTDIAL_DIALER_WEBHOOK_WAIT_MS", 3000, 0, 60000, webhook_wait_ms);
    /* SIGTERM: 25 s for requests in flight and their acks (within the 30 s
     * a supervisor usually grants), then 5 s more of webhooks. */
    INT("OUTDIAL_DIALER_DRAIN_MS", 25000, 0, 600000, drain_ms);
    INT("OUTDIAL_DIALER_WEBHOOK_DRAIN_MS", 5000, 0, 600000, webhook_drain_ms);
#undef INT
    if (rc)
        return rc;
    const char *id = config_get_str("OUTDIAL_DIALER_INSTANCE_ID", NULL);
    if (id) {
        if (strlen(id) >= sizeof(cfg->instance_id))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "OUTDIAL_DIALER_INSTANCE_ID: at most %d characters",
                           DIALER_INSTANCE_ID_MAX - 1);
        snprintf(cfg->instance_id, sizeof(cfg->instance_id), "%s", id);
    } else {
        /* host, pid and a random part: unique across restarts and replicas. */
        char host[48] = "dialer", uuid[UUID_STR_LEN];
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        uuid_str_new(uuid);
        snprintf(cfg->instance_id, sizeof(cfg->instance_id), "dialer:%s:%d:%.8s", host,
                 (int)getpid(), uuid);
    }
    return OD_OK;
}

/*
 * outdial-notifier — outbound webhooks (notifier.h, docs/webhooks.md).
 *
 * main reads the configuration, starts /healthz, /readyz and /metrics
 * (lib/http), waits for PostgreSQL to apply the migrations, then runs the
 * intake and sender threads until SIGTERM. Environment (docs/webhooks.md,
 * "Running it"): OUTDIAL_PG_DSN and OUTDIAL_KAFKA_BROKERS (required),
 * OUTDIAL_NOTIFIER_HTTP_PORT, _GROUP, _TIMEOUT_MS, _MAX_INFLIGHT,
 * _MAX_AGE_S, _RETRY_FIRST_MS, _RETRY_MAX_MS, _CA_FILE, _MIGRATE.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "deps.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "notifier.h"
#include "signals.h"
#include "threads.h"
#include "topics.h"

static atomic_bool notifier_stop;

void notifier_count(metrics_family_t *fam, const char *label)
{
    const char *values[] = {label, NULL};
    metrics_counter_t *c = NULL;
    char err[128];
    if (metrics_counter_with(fam, values, &c, err, sizeof(err)) == OD_OK)
        metrics_counter_add(c, 1);
}

/* Reads the environment into n; OD_ERR_INVALID names the bad variable. */
static int settings_load(notifier_t *n, char *err, size_t errlen)
{
    int64_t v;
    int rc;
    if ((rc = config_get_required("OUTDIAL_PG_DSN", &n->dsn, err, errlen)))
        return rc;
    if (!config_get_str(KAFKA_BROKERS_ENV, NULL))
        return od_fail(err, errlen, OD_ERR_INVALID, "%s is not set (host:port,...)",
                       KAFKA_BROKERS_ENV);
    n->ca_file = config_get_str("OUTDIAL_NOTIFIER_CA_FILE", NULL);
    if (n->ca_file && !*n->ca_file)
        n->ca_file = NULL;
    if ((rc = config_get_int("OUTDIAL_NOTIFIER_TIMEOUT_MS", NOTIFIER_TIMEOUT_MS_DEFAULT,
                             NOTIFIER_TIMEOUT_MS_MIN, NOTIFIER_TIMEOUT_MS_MAX, &v, err, errlen)))
        return rc;
    n->timeout_ms = (int)v;
    if ((rc = config_get_int("OUTDIAL_NOTIFIER_MAX_INFLIGHT", NOTIFIER_INFLIGHT_DEFAULT, 1,
                             NOTIFIER_INFLIGHT_MAX, &v, err, errlen)))
        return rc;
    n->max_inflight = (int)v;
    if ((rc = config_get_int("OUTDIAL_NOTIFIER_MAX_AGE_S", NOTIFIER_MAX_AGE_S_DEFAULT,
                             NOTIFIER_MAX_AGE_S_MIN, NOTIFIER_MAX_AGE_S_MAX, &v, err, errlen)))
        return rc;
    n->policy.max_age_ms = v * 1000;
    /* 100 ms .. 10 min for the first ceiling, up to a day for the largest. */
    if ((rc = config_get_int("OUTDIAL_NOTIFIER_RETRY_FIRST_MS", NOTIFIER_RETRY_FIRST_MS_DEFAULT,
                             100, 600000, &v, err, errlen)))
        return rc;
    n->policy.first_ms = v;
    if ((rc = config_get_int("OUTDIAL_NOTIFIER_RETRY_MAX_MS", NOTIFIER_RETRY_MAX_MS_DEFAULT, 100,
                             86400000, &v, err, errlen)))
        return rc;
    n->policy.cap_ms = v;
    char group[TOPIC_NAME_MAX + 1];
    if ((rc = topic_group_from_env("notifier", group, sizeof(group), err, errlen)) ||
        (rc = topic_name_from_env(TOPIC_CALL_EVENTS, n->topic_calls, sizeof(n->topic_calls), err,
                                  errlen)) ||
        (rc = topic_name_from_env(TOPIC_CAMPAIGN_EVENTS, n->topic_campaigns,
                                  sizeof(n->topic_campaigns), err, errlen)))
        return rc;
    snprintf(n->group, sizeof(n->group), "%s", config_get_str("OUTDIAL_NOTIFIER_GROUP", group));
    return OD_OK;
}

static int metrics_setup(notifier_t *n, metrics_registry_t *reg, char *err, size_t errlen)
{
    static const char *const result[] = {"result", NULL};
    static const char *const type[] = {"type", NULL};
    int rc = metrics_family_register(
        reg, METRICS_COUNTER, "outdial_notifier_deliveries_total",
        "Webhook tries by result (delivered, server_error, client_error, no_answer, gone), and "
        "deliveries that went dead.",
        result, NULL, 0, &n->deliveries_total, err, errlen);
    if (rc == OD_OK)
        rc = metrics_family_register(reg, METRICS_COUNTER, "outdial_notifier_events_total",
                                     "Events queued for the endpoints that want them, by type.",
                                     type, NULL, 0, &n->events_total, err, errlen);
    const metrics_def_t defs[] = {
        {"outdial_notifier_delivery_seconds",
         "Time from sending a webhook to its answer or failure.", .histogram = &n->latency},
        {"outdial_notifier_inflight", "Webhook requests in flight.", .gauge = &n->inflight},
    };
    if (rc == OD_OK)
        rc = metrics_register_all(reg, defs, OD_COUNT(defs), err, errlen);
    return rc;
}

static void ready(http_readiness_t *rd, void *arg)
{
    notifier_t *n = arg;
    http_readiness_unless(rd, &n->intake_ok, "intake", "not consuming events yet");
    http_readiness_unless(rd, &n->sender_ok, "sender", "no PostgreSQL connection for the sender");
}

/* Applies the migrations once PostgreSQL answers (OD_OK without them when
 * the notifier stops first, or when OUTDIAL_NOTIFIER_MIGRATE=false). */
static int migrate_at_start(notifier_t *n, char *err, size_t errlen)
{
    bool migrate = true;
    int rc = config_get_bool("OUTDIAL_NOTIFIER_MIGRATE", true, &migrate, err, errlen);
    if (rc || !migrate)
        return rc;
    rc = migrate_when_up(n->deps, n->dep_pg, n->stop, n->dsn, "outdial-notifier-migrate", err,
                         errlen);
    return rc == OD_ERR_UNAVAILABLE && atomic_load(n->stop) ? OD_OK : rc;
}

int main(void)
{
    char err[1024];
    notifier_t n;
    memset(&n, 0, sizeof(n));
    n.stop = &notifier_stop;
    http_server_t *http = NULL;
    metrics_registry_t *reg = NULL;
    od_thread_t workers[] = {
        {.name = "intake", .main = notifier_intake_main},
        {.name = "sender", .main = notifier_sender_main},
    };
    int status = 1;
    if (log_init("notifier", err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-notifier: %s\n", err);
        return 2;
    }
    od_signals_stop_flag(&notifier_stop, true);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("curl", "curl_global_init failed");
        return 1;
    }
    http_config_t hc;
    http_config_init(&hc);
    hc.port = NOTIFIER_HTTP_PORT_DEFAULT;
    if (settings_load(&n, err, sizeof(err)) != OD_OK ||
        http_config_from_env(&hc, "OUTDIAL_NOTIFIER", err, sizeof(err)) != OD_OK) {
        log_error("config", "%s", err);
        status = 2;
        goto out;
    }
    reg = metrics_registry_new();
    /* PostgreSQL and Kafka, checked from the start: /readyz names each one
     * that does not answer. */
    n.deps = deps_new();
    n.dep_pg = pg_deps_add(n.deps, n.dsn);
    if (kafka_deps_add(n.deps, "outdial-notifier-check", err, sizeof(err)) < 0 ||
        deps_start(n.deps, err, sizeof(err)) != OD_OK ||
        metrics_setup(&n, reg, err, sizeof(err)) != OD_OK) {
        log_error("config", "%s", err);
        goto out;
    }
    hc.deps = n.deps;
    hc.metrics = reg;
    hc.ready = ready;
    hc.ready_arg = &n;
    if (http_server_new(&hc, &http, err, sizeof(err)) != OD_OK ||
        http_server_start(http, err, sizeof(err)) != OD_OK) {
        log_error("http", "%s", err);
        goto out;
    }
    if (migrate_at_start(&n, err, sizeof(err)) != OD_OK) {
        log_error("migrate", "%s", err);
        goto out;
    }
    if (od_threads_start(workers, OD_COUNT(workers), &n, err, sizeof(err)) != OD_OK) {
        log_error("thread", "%s", err);
        goto out;
    }
    log_info("start",
             "consuming %s and %s (group %s); %d requests in flight, timeout %d ms, retries for "
             "%lld s; http port %d",
             n.topic_calls, n.topic_campaigns, n.group, n.max_inflight, n.timeout_ms,
             (long long)(n.policy.max_age_ms / 1000), http_server_port(http));
    od_signals_wait(&notifier_stop);
    status = 0;
out:
    atomic_store(&notifier_stop, true);
    od_threads_join(workers, OD_COUNT(workers));
    if (http)
        http_server_stop(http);
    http_server_free(http);
    deps_free(n.deps);
    metrics_registry_free(reg);
    curl_global_cleanup();
    log_info("stop", "outdial-notifier stopped");
    return status;
}

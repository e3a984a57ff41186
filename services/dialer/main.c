/*
 * outdial-dialer — places the calls of dial jobs and turns the provider's
 * webhooks into call events. Wiring only: configuration, signals, the HTTP
 * server and the dial loop (dialer.c). Configuration and behaviour:
 * docs/dialer.md.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "deps.h"
#include "dialer.h"
#include "dialer_config.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "signals.h"

static atomic_bool stop_requested;

/* Every call in flight holds a socket: raise the descriptor limit to the
 * hard limit so that OUTDIAL_DIALER_MAX_INFLIGHT is what bounds them. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("startup", "could not raise the open-file limit");
    }
}

int main(void)
{
    char err[512];
    dialer_config_t cfg;
    metrics_registry_t *reg = NULL;
    http_server_t *http = NULL;
    dialer_t *d = NULL;
    deps_t *deps = NULL;
    int status = 1;

    if (log_init("dialer", err, sizeof(err)) || dialer_config_load(&cfg, err, sizeof(err))) {
        fprintf(stderr, "outdial-dialer: %s\n", err);
        return 2;
    }
    od_signals_stop_flag(&stop_requested, true);
    raise_fd_limit();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "outdial-dialer: libcurl failed to initialise\n");
        return 2;
    }

    reg = metrics_registry_new();
    /* Redis and Kafka, checked from the start: the dialer starts before
     * them and its clients connect when they answer. */
    deps = deps_new();
    if (redis_deps_add(deps, err, sizeof(err)) < 0 ||
        kafka_deps_add(deps, "outdial-dialer-check", err, sizeof(err)) < 0 ||
        deps_start(deps, err, sizeof(err)) || dialer_new(&cfg, reg, &d, err, sizeof(err)))
        goto fail;
    http_config_t hcfg;
    http_config_init(&hcfg);
    hcfg.port = 9103;
    /* A webhook thread waits for Kafka's acknowledgement (milliseconds)
     * before answering, and the provider sends many at once: more threads
     * than an API server, and a per-address limit above the provider's
     * parallelism (the simulator uses 32 connections). */
    hcfg.threads = 16;
    hcfg.max_connections = 2048;
    hcfg.max_per_ip = 1024;
    hcfg.body_max = 512 * 1024; /* an end-of-call report with a long transcript */
    hcfg.metrics = reg;
    hcfg.deps = deps;
    hcfg.ready = dialer_ready;
    hcfg.ready_arg = d;
    if (http_config_from_env(&hcfg, "OUTDIAL_DIALER", err, sizeof(err)) ||
        http_server_new(&hcfg, &http, err, sizeof(err)) ||
        dialer_webhook_routes_add(d, http, err, sizeof(err)) ||
        http_server_start(http, err, sizeof(err)))
        goto fail;
    log_info("startup", "dialer %s: webhooks on port %d, clock x%g", cfg.instance_id,
             http_server_port(http), cfg.clk.scale);
    for (size_t i = 0; i < cfg.n_providers; i++)
        log_info("startup", "provider %s at %s: webhooks on POST /webhooks/%s",
                 cfg.providers[i].ops->name, cfg.providers[i].conf.base_url,
                 cfg.providers[i].ops->name);

    if (dialer_run(d, &stop_requested, err, sizeof(err)))
        goto fail;
    status = 0;
    goto out;
fail:
    log_error("startup", "%s", err);
out:
    http_server_stop(http);
    dialer_free(d);
    http_server_free(http);
    deps_free(deps);
    metrics_registry_free(reg);
    curl_global_cleanup();
    log_info("shutdown", "dialer stopped");
    return status;
}

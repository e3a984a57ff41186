/*
 * outdial-voice-sim — a simulated AI voice provider speaking Vapi's API and
 * Retell AI's (each call in the API it was placed through).
 *
 *   outdial-voice-sim --port P [--host 127.0.0.1] --webhook-url URL
 *                     [--retell-webhook-url URL]
 *                     --webhook-secret S --api-key K [--rules FILE] [--seed N]
 *                     [--log-file F] [--max-concurrent N] [--port-file F]
 *                     [--instant] [--http-threads N] [--webhook-timeout-ms MS]
 *                     [--webhook-parallel N] [--drain-ms MS]
 *
 * Every option may also come from the environment (the option wins):
 * OUTDIAL_SIM_PORT, _HOST, _WEBHOOK_URL, _RETELL_WEBHOOK_URL, _WEBHOOK_SECRET,
 * _API_KEY, _RULES,
 * _SEED, _LOG_FILE, _MAX_CONCURRENT, _PORT_FILE, _INSTANT. Campaign time
 * (ring and talk durations, every timestamp) follows OUTDIAL_CLOCK_*.
 *
 * Port 0 takes an ephemeral port; the port actually bound is printed on
 * stdout and written, atomically, to --port-file. SIGTERM or SIGINT stop
 * it: no new calls are taken, webhooks already on the wire get --drain-ms
 * (default 2000) to finish, and calls still in progress are dropped — their
 * remaining webhooks are never sent and they are logged with
 * "aborted":true. The protocol, rules format and endpoints are described in
 * docs/provider-protocol.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "config.h"
#include "err.h"
#include "file.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "sim.h"
#include "sim_api.h"
#include "sim_rules.h"

/* Request threads: slow-answer and timeout faults hold one each for their
 * whole delay, so there are more than the few a plain API server needs. */
#define SIM_HTTP_THREADS_DEFAULT 16
/* On stop, webhooks already sent get this long to be answered. */
#define SIM_DRAIN_MS_DEFAULT 2000

typedef struct sim_opts {
    const char *host;
    int64_t port;
    const char *port_file;
    const char *rules_path;
    bool seed_given;
    int64_t http_threads;
    int64_t drain_ms;
    sim_config_t cfg;
} sim_opts_t;

static void usage(FILE *out)
{
    fprintf(out, "usage: outdial-voice-sim --port P [--host ADDR] --webhook-url URL\n"
                 "                         [--retell-webhook-url URL]\n"
                 "                         --webhook-secret S --api-key K [--rules FILE]\n"
                 "                         [--seed N] [--log-file F] [--max-concurrent N]\n"
                 "                         [--port-file F] [--instant] [--http-threads N]\n"
                 "                         [--webhook-timeout-ms MS] [--webhook-parallel N]\n"
                 "                         [--drain-ms MS]\n"
                 "A simulated voice provider speaking Vapi's and Retell's APIs; see\n"
                 "docs/provider-protocol.md. Retell's webhooks go to --retell-webhook-url,\n"
                 "signed with the API key (x-retell-signature).\n");
}

/* An optional URL option: absent, or http(s)://. */
static int url_option_check(const char *name, const char *url, char *errbuf, size_t errlen)
{
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: '%s' is not an http:// or https:// URL",
                       name, url);
    return OD_OK;
}

static int parse_int(const char *name, const char *text, int64_t min, int64_t max, int64_t *out,
                     char *errbuf, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s: '%s' is not a whole number in "
                       "%lld..%lld",
                       name, text, (long long)min, (long long)max);
    *out = v;
    return OD_OK;
}

/* Defaults, then the environment, then the command line. */
static int opts_parse(int argc, char **argv, sim_opts_t *o, char *errbuf, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    int64_t max_concurrent = -1, seed = 0, timeout_ms = SIM_WEBHOOK_TIMEOUT_MS_DEFAULT,
            parallel = SIM_WEBHOOK_PARALLEL_DEFAULT;
    bool instant = false;
    int rc = config_get_int("OUTDIAL_SIM_PORT", 0, 0, 65535, &o->port, errbuf, errlen);
    if (!rc)
        rc = config_get_int("OUTDIAL_SIM_MAX_CONCURRENT", -1, -1, 10000000, &max_concurrent, errbuf,
                            errlen);
    if (!rc)
        rc = config_get_bool("OUTDIAL_SIM_INSTANT", false, &instant, errbuf, errlen);
    if (!rc && config_get_str("OUTDIAL_SIM_SEED", NULL)) {
        rc = config_get_int("OUTDIAL_SIM_SEED", 0, 0, INT64_MAX, &seed, errbuf, errlen);
        o->seed_given = true;
    }
    if (rc)
        return rc;
    enum {
        OPT_PORT = 1000,
        OPT_HOST,
        OPT_WEBHOOK_URL,
        OPT_RETELL_WEBHOOK_URL,
        OPT_WEBHOOK_SECRET,
        OPT_API_KEY,
        OPT_RULES,
        OPT_SEED,
        OPT_LOG_FILE,
        OPT_MAX_CONCURRENT,
        OPT_PORT_FILE,
        OPT_INSTANT,
        OPT_HTTP_THREADS,
        OPT_WEBHOOK_TIMEOUT,
        OPT_WEBHOOK_PARALLEL,
        OPT_DRAIN,
        OPT_HELP,
    };
    /* The options that are plain text: each one's variable, default and
     * place; the command line overrides the variable. */
    const struct {
        int opt;
        const char *env, *fallback;
        const char **to;
    } text_opts[] = {
        {OPT_HOST, "OUTDIAL_SIM_HOST", "127.0.0.1", &o->host},
        {OPT_PORT_FILE, "OUTDIAL_SIM_PORT_FILE", NULL, &o->port_file},
        {OPT_RULES, "OUTDIAL_SIM_RULES", NULL, &o->rules_path},
        {OPT_WEBHOOK_URL, "OUTDIAL_SIM_WEBHOOK_URL", NULL, &o->cfg.webhook_url},
        {OPT_RETELL_WEBHOOK_URL, "OUTDIAL_SIM_RETELL_WEBHOOK_URL", NULL,
         &o->cfg.retell_webhook_url},
        {OPT_WEBHOOK_SECRET, "OUTDIAL_SIM_WEBHOOK_SECRET", NULL, &o->cfg.webhook_secret},
        {OPT_API_KEY, "OUTDIAL_SIM_API_KEY", NULL, &o->cfg.api_key},
        {OPT_LOG_FILE, "OUTDIAL_SIM_LOG_FILE", NULL, &o->cfg.log_file},
    };
    for (size_t i = 0; i < OD_COUNT(text_opts); i++)
        *text_opts[i].to = config_get_str(text_opts[i].env, text_opts[i].fallback);
    o->http_threads = SIM_HTTP_THREADS_DEFAULT;
    o->drain_ms = SIM_DRAIN_MS_DEFAULT;
    /* The options that take a whole number, and its range. */
    const struct {
        int opt;
        const char *name;
        int64_t min, max;
        int64_t *to;
    } number_opts[] = {
        {OPT_PORT, "--port", 0, 65535, &o->port},
        {OPT_MAX_CONCURRENT, "--max-concurrent", 0, 10000000, &max_concurrent},
        {OPT_HTTP_THREADS, "--http-threads", 1, 256, &o->http_threads},
        {OPT_WEBHOOK_TIMEOUT, "--webhook-timeout-ms", 100, 600000, &timeout_ms},
        {OPT_WEBHOOK_PARALLEL, "--webhook-parallel", 1, 4096, &parallel},
        {OPT_DRAIN, "--drain-ms", 0, 600000, &o->drain_ms},
    };

    static const struct option longopts[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"host", required_argument, NULL, OPT_HOST},
        {"webhook-url", required_argument, NULL, OPT_WEBHOOK_URL},
        {"retell-webhook-url", required_argument, NULL, OPT_RETELL_WEBHOOK_URL},
        {"webhook-secret", required_argument, NULL, OPT_WEBHOOK_SECRET},
        {"api-key", required_argument, NULL, OPT_API_KEY},
        {"rules", required_argument, NULL, OPT_RULES},
        {"seed", required_argument, NULL, OPT_SEED},
        {"log-file", required_argument, NULL, OPT_LOG_FILE},
        {"max-concurrent", required_argument, NULL, OPT_MAX_CONCURRENT},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"instant", no_argument, NULL, OPT_INSTANT},
        {"http-threads", required_argument, NULL, OPT_HTTP_THREADS},
        {"webhook-timeout-ms", required_argument, NULL, OPT_WEBHOOK_TIMEOUT},
        {"webhook-parallel", required_argument, NULL, OPT_WEBHOOK_PARALLEL},
        {"drain-ms", required_argument, NULL, OPT_DRAIN},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool done = false;
        for (size_t i = 0; !done && i < OD_COUNT(text_opts); i++) {
            done = text_opts[i].opt == c;
            if (done)
                *text_opts[i].to = optarg;
        }
        for (size_t i = 0; !done && i < OD_COUNT(number_opts); i++) {
            done = number_opts[i].opt == c;
            if (done)
                rc = parse_int(number_opts[i].name, optarg, number_opts[i].min, number_opts[i].max,
                               number_opts[i].to, errbuf, errlen);
        }
        if (done)
            continue;
        switch (c) {
        case OPT_SEED:
            rc = parse_int("--seed", optarg, 0, INT64_MAX, &seed, errbuf, errlen);
            o->seed_given = true;
            break;
        case OPT_INSTANT:
            instant = true;
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default:
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "unknown or incomplete option '%s'",
                         argv[optind - 1]);
        }
    }
    if (!rc && optind < argc)
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "unexpected argument '%s'", argv[optind]);
    if (!rc && (!o->cfg.api_key || !*o->cfg.api_key))
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "--api-key (or OUTDIAL_SIM_API_KEY) is required: POST /call needs it");
    if (!rc && (!o->cfg.webhook_secret || !*o->cfg.webhook_secret))
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "--webhook-secret (or OUTDIAL_SIM_WEBHOOK_SECRET) is required: every "
                     "webhook carries it as x-vapi-secret");
    if (!rc)
        rc = url_option_check("--webhook-url", o->cfg.webhook_url, errbuf, errlen);
    if (!rc)
        rc = url_option_check("--retell-webhook-url", o->cfg.retell_webhook_url, errbuf, errlen);
    o->cfg.seed = (uint64_t)seed;
    o->cfg.instant = instant;
    o->cfg.max_concurrent = max_concurrent;
    o->cfg.webhook_timeout_ms = (long)timeout_ms;
    o->cfg.webhook_parallel = (unsigned)parallel;
    return rc;
}

int main(int argc, char **argv)
{
    char err[512];
    int status = 1;
    sim_rules_t *rules = NULL;
    sim_t *sim = NULL;
    http_server_t *srv = NULL;
    metrics_registry_t *reg = NULL;
    bool port_file_made = false;
    sim_opts_t opts;

    if (log_init("voice-sim", err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-voice-sim: %s\n", err);
        return 2;
    }
    if (opts_parse(argc, argv, &opts, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-voice-sim: %s\n", err);
        usage(stderr);
        return 2;
    }
    od_clock_t clk;
    if (od_clock_from_env(&clk, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-voice-sim: %s\n", err);
        return 2;
    }
    if (opts.rules_path) {
        if (sim_rules_load(opts.rules_path, &rules, err, sizeof(err)) != OD_OK) {
            fprintf(stderr, "outdial-voice-sim: %s\n", err);
            return 2;
        }
    } else {
        rules = sim_rules_new();
    }
    if (!opts.seed_given && rules->seed_set)
        opts.cfg.seed = rules->seed;

    /* Signals are taken by sigwait() below; every thread started from
     * here on inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    reg = metrics_registry_new();
    if (sim_new(&opts.cfg, &clk, rules, reg, &sim, err, sizeof(err)) != OD_OK) {
        rules = NULL; /* taken by sim_new, also on failure */
        log_error("start", "%s", err);
        goto out;
    }
    rules = NULL; /* now the simulator's */

    http_config_t hcfg;
    http_config_init(&hcfg);
    hcfg.host = opts.host;
    hcfg.port = (int)opts.port;
    hcfg.threads = (unsigned)opts.http_threads;
    /* Every dialer worker of a load test connects from loopback: the
     * per-address limit must not be what caps a benchmark. */
    hcfg.max_connections = 8192;
    hcfg.max_per_ip = 8192;
    /* A create-call body with a few hundred variables fits easily. */
    hcfg.body_max = (size_t)256 * 1024;
    hcfg.metrics = reg;
    hcfg.ready = sim_api_ready;
    hcfg.ready_arg = sim;
    if (http_server_new(&hcfg, &srv, err, sizeof(err)) != OD_OK ||
        sim_api_routes_add(srv, sim, err, sizeof(err)) != OD_OK ||
        sim_start(sim, err, sizeof(err)) != OD_OK ||
        http_server_start(srv, err, sizeof(err)) != OD_OK) {
        log_error("start", "%s", err);
        goto out;
    }
    int port = http_server_port(srv);
    if (opts.port_file) {
        if (od_file_write_atomic(opts.port_file, err, sizeof(err), "%d\n", port) != OD_OK) {
            log_error("start", "--port-file %s", err);
            goto out;
        }
        port_file_made = true;
    }
    printf("%d\n", port);
    fflush(stdout);
    log_info("listening",
             "voice-sim on %s:%d, seed %" PRIu64 ", rules %s%s, clock scale %g, webhooks to %s",
             opts.host, port, opts.cfg.seed, opts.rules_path ? opts.rules_path : "(built-in)",
             sim->rules->instant ? " (instant)" : "", clk.scale,
             opts.cfg.webhook_url ? opts.cfg.webhook_url : "(per call only)");

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info("stopping", "signal %d: no new calls; draining webhooks for up to %lld ms", sig,
             (long long)opts.drain_ms);
    sim_begin_stop(sim);
    http_server_stop(srv);
    size_t dropped = sim_stop(sim, opts.drain_ms);
    log_info("stopped", "%zu unfinished calls were dropped (logged as aborted)", dropped);
    status = 0;
out:
    http_server_free(srv);
    sim_free(sim);
    sim_rules_free(rules);
    metrics_registry_free(reg);
    if (port_file_made)
        unlink(opts.port_file);
    curl_global_cleanup();
    return status;
}

/*
 * e2e_support.h — the whole of outdial for one end-to-end test (header-only,
 * include after <cmocka.h>).
 *
 * e2e_stack_start() gives a test its own database, Kafka topic and Redis
 * prefixes (harness_isolate), a scaled campaign clock shared by every child,
 * the voice simulator with a rules file the test wrote, and the real
 * services as child processes on free loopback ports: outdial-api (with an
 * admin token), N schedulers, the importer and N dialers. It bootstraps an
 * account with `outdial-api bootstrap` as an operator would. Everything the
 * test then does goes through the API over HTTP; the simulator's call log
 * and the API's lists are what it asserts on, and outdial-audit closes every
 * test. e2e_stack_stop() stops the children and asserts that each exited
 * cleanly (under the sanitizers a leak makes the exit status non-zero),
 * then prints the test's time from its start ("<tag>: N ms").
 *
 * Failures call cmocka's fail_msg(); the group teardown e2e_teardown()
 * kills whatever a failed test left running.
 */
#ifndef OUTDIAL_TESTS_E2E_SUPPORT_H
#define OUTDIAL_TESTS_E2E_SUPPORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http_client.h"
#include "metrics_scrape.h"
#include "sim_client.h"

#include "harness.h"
#include "support.h"

#define E2E_ADMIN_TOKEN "e2e-admin-token-0123456789abcdef"
#define E2E_SIM_KEY     "e2e-provider-key-4242"
#define E2E_SECRET      "e2e-webhook-secret-1717"
#define E2E_MAX_PROCS   8
/* The simulator's goal variable; the assistants declare it boolean. */
#define E2E_GOAL "appointment_booked"

/* The campaign clock's default start: a Tuesday, 10:00 in New York, inside
 * every test campaign's window. */
#define E2E_CLOCK_START "2026-03-10T14:00:00Z"

typedef struct e2e_opts {
    const char *tag;         /* short name: database, prefixes, log names */
    const char *rules;       /* the simulator's rules file (text) */
    const char *clock_start; /* campaign time at start, RFC 3339 UTC (NULL: E2E_CLOCK_START) */
    int clock_scale;         /* campaign seconds per real second (0: 600, 10 min/s) */
    int dialers;             /* 1..E2E_MAX_PROCS (default 1) */
    int schedulers;          /* 1..E2E_MAX_PROCS (default 1) */
    long long balance;       /* of the bootstrapped account */
    /* Recovery timeouts of the scheduler, real seconds (0: 10 and 10), short
     * so that a killed dialer's work is recovered within the test. */
    int scheduled_timeout_s;
    int processing_margin_s;
    /* The dialers' line lock lease beyond a call's maximum duration, real
     * ms (0: 20 s). A SIGKILLed dialer's locks keep its numbers busy this
     * long; the default of 5 minutes is longer than a test. */
    int line_margin_ms;
    /* Give every dialer its own webhook URL instead of the ingress (a test
     * of what happens without a load balancer). */
    bool no_ingress;
} e2e_opts_t;

typedef struct e2e_proc {
    pid_t pid;
    int port;
    const char *name;
} e2e_proc_t;

typedef struct e2e_stack {
    e2e_opts_t opts;
    char *dsn;
    char dir[256]; /* rules file, port files */
    char rules_path[300];
    int64_t epoch_s;  /* OUTDIAL_CLOCK_EPOCH */
    int64_t start_us; /* OUTDIAL_CLOCK_START, µs since 1970 */
    e2e_proc_t sim, api, importer;
    e2e_proc_t ingress; /* HAProxy: the one webhook URL (pid 0 with no_ingress) */
    e2e_proc_t scheds[E2E_MAX_PROCS];
    e2e_proc_t dialers[E2E_MAX_PROCS];
    char account_id[37];
    char key[128];
    int64_t begun_ms; /* harness_ms() at e2e_stack_start: the test's time is printed at the stop */
} e2e_stack_t;

static e2e_stack_t *e2e_current; /* for the teardown after a failure */

/* "2026-03-10T13:00:00Z" → µs since 1970 (UTC). */
static inline int64_t e2e_utc_us(const char *rfc3339)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(rfc3339, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        fail_msg("bad time %s", rfc3339);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000000;
}

/* Campaign time now, as every child computes it. */
static inline int64_t e2e_now_us(const e2e_stack_t *st)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double real_us = ((double)ts.tv_sec - (double)st->epoch_s) * 1e6 + (double)ts.tv_nsec / 1e3;
    return st->start_us + (int64_t)(real_us * st->opts.clock_scale);
}

/* Sleeps until the campaign clock reaches t (bounded by the caller's plan). */
static inline void e2e_sleep_until(const e2e_stack_t *st, int64_t t_us)
{
    for (;;) {
        int64_t left = t_us - e2e_now_us(st);
        if (left <= 0)
            return;
        int64_t real_ms = left / 1000 / st->opts.clock_scale + 1;
        harness_sleep_ms(real_ms > 200 ? 200 : (int)real_ms);
    }
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef httpc_reply_t e2e_resp_t;

static inline void e2e_resp_free(e2e_resp_t *r)
{
    httpc_reply_free(r);
}

/* One request to 127.0.0.1:port. key: bearer token or NULL; body: NULL for
 * none; content_type NULL means JSON. Transport errors fail the test. */
static inline e2e_resp_t e2e_http(int port, const char *method, const char *path, const char *key,
                                  const char *content_type, const char *body, size_t len)
{
    char url[2048];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    /* Generous: a 5,000-row CSV upload or a long page under ASan on 2 cores. */
    e2e_resp_t r = httpc_bearer(url, method, key, content_type, body, len, 60000L);
    if (r.curl_rc != CURLE_OK) {
        CURLcode rc = r.curl_rc;
        httpc_reply_free(&r);
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    }
    return r;
}

/* A request to the API with the account's key and a printf-style JSON
 * body (NULL: none). */
static inline e2e_resp_t e2e_api(const e2e_stack_t *st, const char *method, const char *path,
                                 const char *body_fmt, ...) __attribute__((format(printf, 4, 5)));
static inline e2e_resp_t e2e_api(const e2e_stack_t *st, const char *method, const char *path,
                                 const char *body_fmt, ...)
{
    char *body = NULL;
    if (body_fmt) {
        va_list ap;
        va_start(ap, body_fmt);
        if (vasprintf(&body, body_fmt, ap) < 0)
            body = NULL;
        va_end(ap);
    }
    e2e_resp_t r =
        e2e_http(st->api.port, method, path, st->key, NULL, body, body ? strlen(body) : 0);
    free(body);
    return r;
}

/* Fails with the body unless the status is the expected one. */
static inline void e2e_expect(const e2e_resp_t *r, long status, const char *what)
{
    if (r->status != status)
        fail_msg("%s: expected HTTP %ld, got %ld: %s", what, status, r->status, r->body);
}

/* A member by dotted path ("error.code"); NULL when absent. */
static inline json_t *e2e_get(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(buf, ".", &save); part && j; part = strtok_r(NULL, ".", &save))
        j = json_object_get(j, part);
    return j;
}

static inline const char *e2e_str(json_t *j, const char *path)
{
    json_t *v = e2e_get(j, path);
    return json_is_string(v) ? json_string_value(v) : "";
}

static inline long long e2e_int(json_t *j, const char *path)
{
    json_t *v = e2e_get(j, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Every item of a paged list (follows next_cursor); caller json_decref()s. */
static inline json_t *e2e_list(const e2e_stack_t *st, const char *path)
{
    json_t *all = json_array();
    char url[1024], cursor[256] = "";
    for (int page = 0; page < 1000; page++) {
        snprintf(url, sizeof(url), "%s%slimit=1000%s%s", path, strchr(path, '?') ? "&" : "?",
                 cursor[0] ? "&cursor=" : "", cursor);
        e2e_resp_t r = e2e_api(st, "GET", url, NULL);
        e2e_expect(&r, 200, url);
        json_array_extend(all, json_object_get(r.json, "data"));
        json_t *next = json_object_get(r.json, "next_cursor");
        bool more = json_is_string(next);
        if (more) {
            char *esc = curl_easy_escape(NULL, json_string_value(next), 0);
            snprintf(cursor, sizeof(cursor), "%s", esc);
            curl_free(esc);
        }
        e2e_resp_free(&r);
        if (!more)
            return all;
    }
    fail_msg("%s: more than 1000 pages", path);
    return all;
}

/* ---- processes ------------------------------------------------------------ */

static inline int e2e_wait_port_file(const char *path, pid_t pid, const char *what)
{
    char err[512];
    int port = harness_port_wait(path, pid, 60000, err, sizeof(err));
    if (!port)
        fail_msg("%s: %s", what, err);
    return port;
}

/* Waits (60 s at most: services migrate and join consumer groups under
 * ASan on 2 cores) until GET /readyz answers 200. */
static inline void e2e_wait_ready(const e2e_proc_t *p)
{
    int64_t deadline = harness_ms() + 60000;
    while (harness_ms() < deadline) {
        CURL *curl = curl_easy_init();
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", p->port);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(curl);
        if (status == 200)
            return;
        int wst;
        if (waitpid(p->pid, &wst, WNOHANG) == p->pid)
            fail_msg("%s exited at start (status %d): see build Testing/*.log", p->name, wst);
        harness_sleep_ms(100);
    }
    fail_msg("%s (port %d) was not ready within 60 s", p->name, p->port);
}

/* Starts dialer i on its port (kept across restarts: the simulator sends a
 * call's webhooks to the URL the dialer gave with the call). */
static inline void e2e_dialer_start(e2e_stack_t *st, int i)
{
    e2e_proc_t *d = &st->dialers[i];
    if (!d->port)
        d->port = harness_free_port();
    static char env[11][256];
    snprintf(env[0], sizeof(env[0]), "OUTDIAL_DIALER_PROVIDER_URL=http://127.0.0.1:%d",
             st->sim.port);
    /* Both providers, each at the simulator: a campaign's assistant picks. */
    snprintf(env[8], sizeof(env[8]), "OUTDIAL_RETELL_BASE_URL=http://127.0.0.1:%d", st->sim.port);
    snprintf(env[9], sizeof(env[9]), "OUTDIAL_RETELL_API_KEY=%s", E2E_SIM_KEY);
    snprintf(env[1], sizeof(env[1]), "OUTDIAL_DIALER_PROVIDER_API_KEY=%s", E2E_SIM_KEY);
    snprintf(env[2], sizeof(env[2]), "OUTDIAL_DIALER_WEBHOOK_URL=http://127.0.0.1:%d/webhooks/vapi",
             st->ingress.port ? st->ingress.port : d->port);
    snprintf(env[3], sizeof(env[3]), "OUTDIAL_DIALER_WEBHOOK_SECRET=%s", E2E_SECRET);
    snprintf(env[4], sizeof(env[4]), "OUTDIAL_DIALER_HTTP_PORT=%d", d->port);
    snprintf(env[5], sizeof(env[5]), "OUTDIAL_DIALER_HTTP_HOST=127.0.0.1");
    snprintf(env[6], sizeof(env[6]), "OUTDIAL_DIALER_INSTANCE_ID=%s-dialer-%d", st->opts.tag, i);
    snprintf(env[7], sizeof(env[7]), "OUTDIAL_DIALER_LINE_MARGIN_MS=%d", st->opts.line_margin_ms);
    const char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5],
                          env[6], env[7], env[8], env[9], NULL};
    d->name = "outdial-dialer";
    d->pid = harness_spawn("services/dialer/outdial-dialer", envp);
    e2e_wait_ready(d);
}

static inline void e2e_kill_all(e2e_stack_t *st)
{
    e2e_proc_t *all[4 + 2 * E2E_MAX_PROCS];
    size_t n = 0;
    for (int i = 0; i < E2E_MAX_PROCS; i++) {
        all[n++] = &st->dialers[i];
        all[n++] = &st->scheds[i];
    }
    all[n++] = &st->importer;
    all[n++] = &st->api;
    all[n++] = &st->sim;
    all[n++] = &st->ingress;
    for (size_t i = 0; i < n; i++)
        if (all[i]->pid > 0) {
            harness_stop(all[i]->pid, SIGKILL);
            all[i]->pid = 0;
        }
}

/* The cmocka teardown of every e2e test: kills what a failed test left. */
static inline int e2e_teardown(void **state)
{
    (void)state;
    if (e2e_current) {
        e2e_kill_all(e2e_current);
        e2e_current = NULL;
    }
    return 0;
}

/* Writes text to path or fails. */
static inline void e2e_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fail_msg("cannot write %s", path);
}

/* Starts everything (see the top of this file); st is the caller's. */
/* The webhook ingress, as production has a load balancer in front of the
 * dialers: deploy/local/ingress-config writes HAProxy's configuration for
 * the dialers' ports, and the stack's dialers all give its URL. Returns once
 * it accepts connections. */
static inline void e2e_ingress_start(e2e_stack_t *st)
{
    st->ingress.name = "haproxy";
    st->ingress.port = harness_free_port();
    char cfg[400], cmd[1200];
    snprintf(cfg, sizeof(cfg), "%s/ingress.cfg", st->dir);
    int n = snprintf(cmd, sizeof(cmd), "'%s/deploy/local/ingress-config' %d",
                     support_env("OUTDIAL_SOURCE_DIR"), st->ingress.port);
    for (int i = 0; i < st->opts.dialers; i++)
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " %d", st->dialers[i].port);
    snprintf(cmd + n, sizeof(cmd) - (size_t)n, " > '%s'", cfg);
    if (system(cmd) != 0)
        fail_msg("%s failed", cmd);
    const char *argv[] = {"haproxy", "-db", "-f", cfg, NULL};
    st->ingress.pid = harness_spawn_argv("/usr/sbin/haproxy", "haproxy", argv, NULL);
    int64_t deadline = harness_ms() + 15000;
    while (harness_ms() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)st->ingress.port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        bool up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        if (fd >= 0)
            close(fd);
        if (up)
            return;
        int wst;
        if (waitpid(st->ingress.pid, &wst, WNOHANG) == st->ingress.pid)
            fail_msg("haproxy exited at start (status %d): see build Testing/haproxy-*.log", wst);
        harness_sleep_ms(50);
    }
    fail_msg("haproxy (port %d) did not listen within 15 s", st->ingress.port);
}

static inline void e2e_stack_start(e2e_stack_t *st, const e2e_opts_t *opts)
{
    memset(st, 0, sizeof(*st));
    st->begun_ms = harness_ms();
    st->opts = *opts;
    if (st->opts.dialers <= 0)
        st->opts.dialers = 1;
    if (st->opts.schedulers <= 0)
        st->opts.schedulers = 1;
    if (st->opts.clock_scale <= 0)
        st->opts.clock_scale = 600;
    if (!st->opts.clock_start)
        st->opts.clock_start = E2E_CLOCK_START;
    if (!st->opts.scheduled_timeout_s)
        st->opts.scheduled_timeout_s = 10;
    if (!st->opts.processing_margin_s)
        st->opts.processing_margin_s = 10;
    if (!st->opts.line_margin_ms)
        st->opts.line_margin_ms = 20000;
    e2e_current = st;
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* Isolation: prefixes, database, the clock; children inherit all. */
    harness_isolate(st->opts.tag);
    st->dsn = support_pg_create_db(st->opts.tag);
    setenv("OUTDIAL_PG_DSN", st->dsn, 1);
    char buf[64];
    st->epoch_s = (int64_t)time(NULL);
    st->start_us = e2e_utc_us(st->opts.clock_start);
    snprintf(buf, sizeof(buf), "%d", st->opts.clock_scale);
    setenv("OUTDIAL_CLOCK_SCALE", buf, 1);
    snprintf(buf, sizeof(buf), "%lld", (long long)st->epoch_s);
    setenv("OUTDIAL_CLOCK_EPOCH", buf, 1);
    setenv("OUTDIAL_CLOCK_START", st->opts.clock_start, 1);
    unsetenv("OUTDIAL_CLOCK_OFFSET");
    setenv("OUTDIAL_LOG_LEVEL", "warn", 1);
    setenv("OUTDIAL_API_ADMIN_TOKEN", E2E_ADMIN_TOKEN, 1);

    char testing[300];
    snprintf(testing, sizeof(testing), "%s/Testing", support_env("OUTDIAL_BUILD_DIR"));
    mkdir(testing, 0755); /* where harness_spawn writes the children's logs */
    snprintf(st->dir, sizeof(st->dir), "/tmp/outdial-e2e-%s-%d", st->opts.tag, (int)getpid());
    mkdir(st->dir, 0700);
    snprintf(st->rules_path, sizeof(st->rules_path), "%s/sim.rules", st->dir);
    e2e_write_file(st->rules_path, st->opts.rules);

    /* Dialer ports first: the ingress forwards to them. */
    for (int i = 0; i < st->opts.dialers; i++)
        st->dialers[i].port = harness_free_port();
    if (!st->opts.no_ingress)
        e2e_ingress_start(st);
    int hook_port = st->ingress.port ? st->ingress.port : st->dialers[0].port;

    char port_file[400];
    static char sim_env[9][512];
    snprintf(port_file, sizeof(port_file), "%s/sim.port", st->dir);
    snprintf(sim_env[0], sizeof(sim_env[0]), "OUTDIAL_SIM_PORT=0");
    snprintf(sim_env[1], sizeof(sim_env[1]), "OUTDIAL_SIM_PORT_FILE=%s", port_file);
    snprintf(sim_env[2], sizeof(sim_env[2]), "OUTDIAL_SIM_RULES=%s", st->rules_path);
    snprintf(sim_env[3], sizeof(sim_env[3]), "OUTDIAL_SIM_API_KEY=%s", E2E_SIM_KEY);
    snprintf(sim_env[4], sizeof(sim_env[4]), "OUTDIAL_SIM_WEBHOOK_SECRET=%s", E2E_SECRET);
    snprintf(sim_env[5], sizeof(sim_env[5]),
             "OUTDIAL_SIM_WEBHOOK_URL=http://127.0.0.1:%d/webhooks/vapi", hook_port);
    snprintf(sim_env[6], sizeof(sim_env[6]), "OUTDIAL_SIM_HOST=127.0.0.1");
    /* Retell's webhooks go to the agent's URL: the ingress's Retell route. */
    snprintf(sim_env[7], sizeof(sim_env[7]),
             "OUTDIAL_SIM_RETELL_WEBHOOK_URL=http://127.0.0.1:%d/webhooks/retell", hook_port);
    const char *senv[] = {sim_env[0], sim_env[1], sim_env[2], sim_env[3], sim_env[4],
                          sim_env[5], sim_env[6], sim_env[7], NULL};
    st->sim.name = "outdial-voice-sim";
    st->sim.pid = harness_spawn("tools/voice-sim/outdial-voice-sim", senv);
    st->sim.port = e2e_wait_port_file(port_file, st->sim.pid, "outdial-voice-sim");

    /* The API migrates the database before it listens. */
    static char api_env[4][512];
    snprintf(port_file, sizeof(port_file), "%s/api.port", st->dir);
    snprintf(api_env[0], sizeof(api_env[0]), "OUTDIAL_API_PORT_FILE=%s", port_file);
    snprintf(api_env[1], sizeof(api_env[1]), "OUTDIAL_API_HTTP_PORT=0");
    snprintf(api_env[2], sizeof(api_env[2]), "OUTDIAL_API_HTTP_HOST=127.0.0.1");
    const char *aenv[] = {api_env[0], api_env[1], api_env[2], NULL};
    st->api.name = "outdial-api";
    st->api.pid = harness_spawn("services/api/outdial-api", aenv);
    st->api.port = e2e_wait_port_file(port_file, st->api.pid, "outdial-api");

    static char sched_env[4][128];
    for (int i = 0; i < st->opts.schedulers; i++) {
        e2e_proc_t *s = &st->scheds[i];
        s->name = "outdial-scheduler";
        s->port = harness_free_port();
        snprintf(sched_env[0], sizeof(sched_env[0]), "OUTDIAL_SCHEDULER_HTTP_PORT=%d", s->port);
        snprintf(sched_env[1], sizeof(sched_env[1]), "OUTDIAL_SCHEDULER_SCHEDULED_TIMEOUT_S=%d",
                 st->opts.scheduled_timeout_s);
        snprintf(sched_env[2], sizeof(sched_env[2]), "OUTDIAL_SCHEDULER_PROCESSING_MARGIN_S=%d",
                 st->opts.processing_margin_s);
        const char *env[] = {sched_env[0], sched_env[1], sched_env[2], NULL};
        s->pid = harness_spawn("services/scheduler/outdial-scheduler", env);
        e2e_wait_ready(s);
    }

    static char imp_env[2][128];
    st->importer.name = "outdial-importer";
    st->importer.port = harness_free_port();
    snprintf(imp_env[0], sizeof(imp_env[0]), "OUTDIAL_IMPORTER_HTTP_PORT=%d", st->importer.port);
    const char *ienv[] = {imp_env[0], NULL};
    st->importer.pid = harness_spawn("services/importer/outdial-importer", ienv);
    e2e_wait_ready(&st->importer);

    for (int i = 0; i < st->opts.dialers; i++)
        e2e_dialer_start(st, i);

    /* The account, as an operator makes it. */
    char name[128];
    snprintf(name, sizeof(name), "e2e %s", st->opts.tag);
    int status = support_bootstrap(name, st->opts.balance, st->account_id, st->key);
    if (status != 0)
        fail_msg("outdial-api bootstrap failed (status %d)", status);
}

/* SIGTERM to one child; fails unless it exits 0. */
static inline void e2e_proc_stop(e2e_proc_t *p)
{
    if (p->pid <= 0)
        return;
    int status = harness_stop(p->pid, SIGTERM);
    pid_t pid = p->pid;
    p->pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s (pid %d) ended with status %d: see its log in the build's Testing/", p->name,
                 (int)pid, status);
}

/* Stops everything (dialers first, the simulator last), drops the database. */
static inline void e2e_stack_stop(e2e_stack_t *st)
{
    for (int i = 0; i < E2E_MAX_PROCS; i++)
        e2e_proc_stop(&st->dialers[i]);
    if (st->ingress.pid > 0)
        harness_stop(st->ingress.pid, SIGTERM); /* its exit status on SIGTERM is not 0 */
    st->ingress.pid = 0;
    for (int i = 0; i < E2E_MAX_PROCS; i++)
        e2e_proc_stop(&st->scheds[i]);
    e2e_proc_stop(&st->importer);
    e2e_proc_stop(&st->api);
    e2e_proc_stop(&st->sim);
    e2e_current = NULL;
    support_pg_drop_db(st->dsn);
    free(st->dsn);
    st->dsn = NULL;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", st->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", st->dir);
    print_message("%s: %lld ms\n", st->opts.tag, (long long)(harness_ms() - st->begun_ms));
}

/* ---- the product through the API ------------------------------------------ */

/* Credits the account through the admin route. */
static inline void e2e_credit(const e2e_stack_t *st, long long amount_minor)
{
    char path[128], body[64];
    snprintf(path, sizeof(path), "/v1/admin/accounts/%s/credit", st->account_id);
    snprintf(body, sizeof(body), "{\"amount_minor\":%lld}", amount_minor);
    e2e_resp_t r = e2e_http(st->api.port, "POST", path, E2E_ADMIN_TOKEN, NULL, body, strlen(body));
    e2e_expect(&r, 200, "admin credit");
    e2e_resp_free(&r);
}

/* An assistant in America/New_York with the goal variable on provider
 * ("vapi", "retell"; NULL: the default), known to the provider (the
 * simulator) as provider_id with the phone number id pn_id; phone NULL for
 * none. Its id into out. */
static inline void e2e_assistant_create_full(const e2e_stack_t *st, const char *provider,
                                             const char *provider_id, const char *pn_id,
                                             const char *phone, char out[37])
{
    char phone_json[64] = "", provider_json[64] = "";
    if (phone)
        snprintf(phone_json, sizeof(phone_json), "\"outbound_phone_number\":\"%s\",", phone);
    if (provider)
        snprintf(provider_json, sizeof(provider_json), "\"provider\":\"%s\",", provider);
    e2e_resp_t r =
        e2e_api(st, "POST", "/v1/assistants",
                "{\"name\":\"Booking bot %s\",\"timezone\":\"America/New_York\",%s%s"
                "\"provider_assistant_id\":\"%s\","
                "\"provider_phone_number_id\":\"%s\","
                "\"post_call_schema\":{\"" E2E_GOAL "\":\"boolean\",\"notes\":\"string\"}}",
                provider_id, phone_json, provider_json, provider_id, pn_id);
    e2e_expect(&r, 201, "create assistant");
    snprintf(out, 37, "%s", e2e_str(r.json, "id"));
    e2e_resp_free(&r);
}

/* The same on the default provider. */
static inline void e2e_assistant_create_as(const e2e_stack_t *st, const char *provider_id,
                                           const char *pn_id, const char *phone, char out[37])
{
    e2e_assistant_create_full(st, NULL, provider_id, pn_id, phone, out);
}

/* The same as the provider's asst-e2e (phone number id pn-e2e) on provider. */
static inline void e2e_assistant_create_on(const e2e_stack_t *st, const char *provider,
                                           const char *phone, char out[37])
{
    e2e_assistant_create_full(st, provider, "asst-e2e", "pn-e2e", phone, out);
}

/* The same, as the provider's asst-e2e (phone number id pn-e2e). */
static inline void e2e_assistant_create(const e2e_stack_t *st, const char *phone, char out[37])
{
    e2e_assistant_create_as(st, "asst-e2e", "pn-e2e", phone, out);
}

/* An assistant with the outbound number +12125550100 and the post-call
 * variables schema (JSON members: "\"opted_out\":\"boolean\""); its id
 * into out. */
static inline void e2e_assistant_with_schema(const e2e_stack_t *st, const char *name,
                                             const char *schema, char out[37])
{
    e2e_resp_t r = e2e_api(st, "POST", "/v1/assistants",
                           "{\"name\":\"%s\",\"timezone\":\"America/New_York\","
                           "\"outbound_phone_number\":\"+12125550100\","
                           "\"provider_assistant_id\":\"asst-e2e\","
                           "\"provider_phone_number_id\":\"pn-e2e\","
                           "\"post_call_schema\":{%s}}",
                           name, schema);
    e2e_expect(&r, 201, "create assistant");
    snprintf(out, 37, "%s", e2e_str(r.json, "id"));
    e2e_resp_free(&r);
}

/* Campaign settings (JSON members) for a window open all day, every day. */
#define E2E_WINDOW_ALWAYS                                                                          \
    "\"window_start\":\"00:00\",\"window_end\":\"23:59\","                                         \
    "\"allowed_days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]"

/* A campaign; settings is more JSON members ("\"max_retries\":2,...") or "".
 * Its id into out. */
static inline void e2e_campaign_create(const e2e_stack_t *st, const char *assistant_id,
                                       const char *settings, char out[37])
{
    e2e_resp_t r =
        e2e_api(st, "POST", "/v1/campaigns", "{\"name\":\"e2e\",\"assistant_id\":\"%s\"%s%s}",
                assistant_id, settings[0] ? "," : "", settings);
    e2e_expect(&r, 201, "create campaign");
    snprintf(out, 37, "%s", e2e_str(r.json, "id"));
    e2e_resp_free(&r);
}

/* A campaign the API refuses: settings (JSON members) answered 400 naming
 * field, the message holding why (NULL: any message). */
static inline void e2e_campaign_refused(const e2e_stack_t *st, const char *assistant_id,
                                        const char *settings, const char *field, const char *why)
{
    e2e_resp_t r =
        e2e_api(st, "POST", "/v1/campaigns", "{\"name\":\"refused\",\"assistant_id\":\"%s\",%s}",
                assistant_id, settings);
    e2e_expect(&r, 400, settings);
    assert_string_equal(e2e_str(r.json, "error.field"), field);
    if (why && !strstr(e2e_str(r.json, "error.message"), why))
        fail_msg("%s: message %s lacks '%s'", settings, e2e_str(r.json, "error.message"), why);
    e2e_resp_free(&r);
}

/* A campaign of assistant with each of bad[0..n) (JSON members) is refused:
 * 400 naming field. */
static inline void e2e_campaign_refused_each(const e2e_stack_t *st, const char *assistant,
                                             const char *field, const char *const *bad, size_t n)
{
    for (size_t i = 0; i < n; i++)
        e2e_campaign_refused(st, assistant, bad[i], field, NULL);
}

/* POST leads (a JSON object or array); returns the answer (caller frees). */
static inline e2e_resp_t e2e_leads_add(const e2e_stack_t *st, const char *campaign_id,
                                       const char *json)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign_id);
    e2e_resp_t r = e2e_api(st, "POST", path, "%s", json);
    if (r.status != 201 && r.status != 200)
        fail_msg("add leads: HTTP %ld: %s", r.status, r.body);
    return r;
}

/* Adds one lead and returns its id into out (it must be created). */
static inline void e2e_lead_add(const e2e_stack_t *st, const char *campaign_id, const char *json,
                                char out[37])
{
    e2e_resp_t r = e2e_leads_add(st, campaign_id, json);
    json_t *first = json_array_get(json_object_get(r.json, "results"), 0);
    if (strcmp(e2e_str(first, "result"), "created") != 0)
        fail_msg("lead %s not created: %s", json, r.body);
    snprintf(out, 37, "%s", e2e_str(first, "lead_id"));
    e2e_resp_free(&r);
}

/* POST /v1/campaigns/ID/<action> (start, pause, resume); the answer. */
static inline e2e_resp_t e2e_campaign_do(const e2e_stack_t *st, const char *campaign_id,
                                         const char *action)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/%s", campaign_id, action);
    return e2e_api(st, "POST", path, NULL);
}

static inline void e2e_campaign_must(const e2e_stack_t *st, const char *campaign_id,
                                     const char *action)
{
    e2e_resp_t r = e2e_campaign_do(st, campaign_id, action);
    e2e_expect(&r, 200, action);
    e2e_resp_free(&r);
}

/* GET one resource by path (caller json_decref()s). */
static inline json_t *e2e_get_json(const e2e_stack_t *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline json_t *e2e_get_json(const e2e_stack_t *st, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    e2e_resp_t r = e2e_api(st, "GET", path, NULL);
    e2e_expect(&r, 200, path);
    json_t *j = json_incref(r.json);
    e2e_resp_free(&r);
    return j;
}

/* The campaign's status into out ("draft", "in_progress", ...). */
static inline void e2e_campaign_status(const e2e_stack_t *st, const char *campaign_id, char out[32])
{
    json_t *c = e2e_get_json(st, "/v1/campaigns/%s", campaign_id);
    snprintf(out, 32, "%s", e2e_str(c, "status"));
    json_decref(c);
}

static inline bool e2e_campaign_is(const e2e_stack_t *st, const char *campaign_id,
                                   const char *status)
{
    char now[32];
    e2e_campaign_status(st, campaign_id, now);
    return strcmp(now, status) == 0;
}

/* Waits (at most ms) until the campaign has the status. */
static inline void e2e_wait_campaign(const e2e_stack_t *st, const char *campaign_id,
                                     const char *status, int ms)
{
    char what[96];
    snprintf(what, sizeof(what), "campaign %.36s to be %s", campaign_id, status);
    HARNESS_WAIT(e2e_campaign_is(st, campaign_id, status), ms, what);
}

/* The campaign, read back from the API, has the string member want. */
static inline void e2e_campaign_expect_str(const e2e_stack_t *st, const char *campaign_id,
                                           const char *member, const char *want)
{
    json_t *campaign = e2e_get_json(st, "/v1/campaigns/%s", campaign_id);
    assert_string_equal(e2e_str(campaign, member), want);
    json_decref(campaign);
}

static inline json_t *e2e_lead(const e2e_stack_t *st, const char *lead_id)
{
    return e2e_get_json(st, "/v1/leads/%s", lead_id);
}

/* Whether the lead has the status (and, if outcome is not NULL, outcome). */
static inline bool e2e_lead_is(const e2e_stack_t *st, const char *lead_id, const char *status,
                               const char *outcome)
{
    json_t *l = e2e_lead(st, lead_id);
    bool ok = strcmp(e2e_str(l, "status"), status) == 0 &&
              (!outcome || strcmp(e2e_str(l, "outcome"), outcome) == 0);
    json_decref(l);
    return ok;
}

static inline void e2e_wait_lead(const e2e_stack_t *st, const char *lead_id, const char *status,
                                 const char *outcome, int ms)
{
    char what[160];
    snprintf(what, sizeof(what), "lead %.36s to be %s/%s", lead_id, status,
             outcome ? outcome : "*");
    int64_t deadline = harness_ms() + ms;
    while (!e2e_lead_is(st, lead_id, status, outcome)) {
        if (harness_ms() > deadline) {
            json_t *l = e2e_lead(st, lead_id);
            char *text = json_dumps(l, JSON_COMPACT);
            fail_msg("timed out after %d ms waiting for %s; it is %s", ms, what, text);
        }
        harness_sleep_ms(50);
    }
}

/* Whether the lead has a call queued or under way (scheduled or
 * processing): one that, paused now, may still end and be recorded. */
static inline bool e2e_lead_in_flight(const e2e_stack_t *st, const char *lead_id)
{
    return e2e_lead_is(st, lead_id, "scheduled", NULL) ||
           e2e_lead_is(st, lead_id, "processing", NULL);
}

/* The calls of a lead, in the order they were made (caller decrefs). */
static inline json_t *e2e_lead_calls(const e2e_stack_t *st, const char *lead_id)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/leads/%s/calls", lead_id);
    return e2e_list(st, path);
}

/* ---- the simulator and the audit ----------------------------------------- */

/* The simulator's call records (placed or not), filtered by a query such
 * as "number=%2B12125550101" or "campaign_id=..." ("" for all). */
static inline json_t *e2e_sim_calls(const e2e_stack_t *st, const char *query)
{
    char path[512];
    snprintf(path, sizeof(path), "/sim/calls%s%s", query[0] ? "?" : "", query);
    e2e_resp_t r = e2e_http(st->sim.port, "GET", path, NULL, NULL, NULL, 0);
    e2e_expect(&r, 200, path);
    json_t *calls = json_incref(json_object_get(r.json, "calls"));
    e2e_resp_free(&r);
    return calls;
}

/* The calls the simulator placed to a number (E.164), in arrival order
 * (caller decrefs). */
static inline json_t *e2e_sim_calls_placed_to(const e2e_stack_t *st, const char *e164)
{
    char q[64];
    snprintf(q, sizeof(q), "number=%%2B%s", e164 + 1);
    json_t *all = e2e_sim_calls(st, q);
    json_t *placed = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) if (json_is_true(json_object_get(c, "placed")))
        json_array_append(placed, c);
    json_decref(all);
    return placed;
}

/* Calls the simulator placed to a number (E.164). */
static inline size_t e2e_sim_placed_to(const e2e_stack_t *st, const char *e164)
{
    char q[64];
    snprintf(q, sizeof(q), "number=%%2B%s", e164 + 1);
    return sim_calls_placed(e2e_sim_calls(st, q));
}

static inline size_t e2e_sim_placed_total(const e2e_stack_t *st)
{
    return sim_calls_placed(e2e_sim_calls(st, ""));
}

static inline int e2e_time_cmp_(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The times (received_at_us) of the calls the simulator placed to a number
 * (E.164), at most max (the first it received), ascending, into at; their
 * count. refused (NULL: not wanted) gets how many create-call requests for
 * the number the simulator refused. */
static inline size_t e2e_sim_placed_times(const e2e_stack_t *st, const char *e164, int64_t *at,
                                          size_t max, size_t *refused)
{
    char q[64];
    snprintf(q, sizeof(q), "number=%%2B%s", e164 + 1);
    json_t *calls = e2e_sim_calls(st, q);
    size_t n = 0, n_refused = 0, i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        if (!json_is_true(json_object_get(c, "placed")))
            n_refused++;
        else if (n < max)
            at[n++] = (int64_t)json_integer_value(json_object_get(c, "received_at_us"));
    }
    json_decref(calls);
    qsort(at, n, sizeof(*at), e2e_time_cmp_);
    if (refused)
        *refused = n_refused;
    return n;
}

/* POST /sim/faults. */
static inline void e2e_sim_faults(const e2e_stack_t *st, const char *json)
{
    e2e_resp_t r = e2e_http(st->sim.port, "POST", "/sim/faults", NULL, NULL, json, strlen(json));
    e2e_expect(&r, 200, "POST /sim/faults");
    e2e_resp_free(&r);
}

/* Runs outdial-audit for the campaign and asserts every count is 0, except
 * `tolerated` (NULL: none), whose count is only reported. */
/* outdial-audit for the campaign, its output to read (stderr too when
 * with_details); close with pclose. */
static inline FILE *e2e_audit_open(const e2e_stack_t *st, const char *campaign_id,
                                   bool with_details)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "%s/tools/audit/outdial-audit --sim-url http://127.0.0.1:%d --campaign %s %s",
             support_env("OUTDIAL_BUILD_DIR"), st->sim.port, campaign_id,
             with_details ? "2>&1" : "2>/dev/null");
    FILE *p = popen(cmd, "r");
    if (!p)
        fail_msg("popen %s", cmd);
    return p;
}

static inline void e2e_audit_tolerating(const e2e_stack_t *st, const char *campaign_id,
                                        const char *tolerated)
{
    FILE *p = e2e_audit_open(st, campaign_id, true);
    char line[512];
    int counts = 0;
    bool bad = false;
    print_message("audit %s:\n", campaign_id);
    while (fgets(line, sizeof(line), p)) {
        print_message("  %s", line);
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        long v = strtol(eq + 1, NULL, 10);
        counts++;
        if (strcmp(line, "calls_placed") == 0 || v == 0)
            continue;
        if (tolerated && strcmp(line, tolerated) == 0)
            print_message("  (%s tolerated here: see the test)\n", line);
        else
            bad = true;
    }
    int status = pclose(p);
    if (!WIFEXITED(status) || counts < 8 || bad)
        fail_msg("outdial-audit for campaign %s: a count is not 0 (exit status %d)", campaign_id,
                 status);
}

/* Runs outdial-audit for the campaign and returns the count `name`
 * printed (-1: not printed). For tests that prove a count can fail. */
static inline long e2e_audit_count(const e2e_stack_t *st, const char *campaign_id, const char *name)
{
    FILE *p = e2e_audit_open(st, campaign_id, false);
    char line[512];
    long found = -1;
    size_t n = strlen(name);
    while (fgets(line, sizeof(line), p))
        if (strncmp(line, name, n) == 0 && line[n] == '=')
            found = strtol(line + n + 1, NULL, 10);
    pclose(p);
    return found;
}

/* Runs outdial-audit for the campaign and asserts every count is 0. */
static inline void e2e_audit(const e2e_stack_t *st, const char *campaign_id)
{
    e2e_audit_tolerating(st, campaign_id, NULL);
}

/* Whether a JSON array of objects has one whose member equals value. */
static inline bool e2e_has(json_t *array, const char *member, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach(array, i, o) if (strcmp(e2e_str(o, member), value) == 0) return true;
    return false;
}

#endif

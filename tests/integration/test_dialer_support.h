/*
 * test_dialer_support.h — what the dialer's integration tests share (header-
 * only): the real outdial-voice-sim and outdial-dialer as child processes,
 * the test playing the scheduler (dial jobs produced with the test's topic
 * prefix, the Redis campaign mirror and DNC set written directly, call
 * events read back by a consumer thread), and a small HTTP client.
 *
 * Include after support.h and harness.h.
 */
#ifndef OUTDIAL_TESTS_TEST_DIALER_SUPPORT_H
#define OUTDIAL_TESTS_TEST_DIALER_SUPPORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "clock.h"
#include "http_client.h"
#include "sim_client.h"
#include "codec.h"
#include "kafka.h"
#include "metrics_scrape.h"
#include "redis.h"
#include "rkeys.h"
#include "support.h"
#include "topics.h"
#include "uuid.h"

#define DS_API_KEY "sk-dialer-test-4242"
#define DS_SECRET  "whsec-dialer-test-1717"
/* Campaign seconds per real second in every child. */
#define DS_CLOCK_SCALE     "60"
#define DS_CLOCK_SCALE_NUM 60.0

static inline void ds_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void ds_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* ---- HTTP client ---- */

typedef httpc_reply_t ds_reply_t;

/* One request; headers is a NULL-terminated list of "Name: value". The
 * caller frees r.body. */
static inline ds_reply_t ds_http(int port, const char *method, const char *path,
                                 const char *const *headers, const char *body)
{
    ds_reply_t r;
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *curl = httpc_new(url, method, &r, 15000L);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    if (body)
        httpc_body(curl, body, strlen(body));
    httpc_run(curl, h, &r);
    return r;
}

/* GET path as JSON (200 required). Caller json_decref()s. */
static inline json_t *ds_get_json(int port, const char *path)
{
    ds_reply_t r = ds_http(port, "GET", path, NULL, NULL);
    if (r.curl_rc != CURLE_OK || r.status != 200)
        ds_fail("GET %s on port %d: curl %d, status %ld: %s", path, port, r.curl_rc, r.status,
                r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    free(r.body);
    if (!j)
        ds_fail("GET %s: not JSON", path);
    return j;
}

/* ---- child processes ---- */

typedef struct ds_sim {
    pid_t pid;
    int port;
    char dir[128];
} ds_sim_t;

/* Starts the simulator with rules (text) and returns once it listens. */
static inline void ds_sim_start(ds_sim_t *s, const char *rules, int webhook_port)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/outdial-dialer-test-XXXXXX");
    if (!mkdtemp(s->dir))
        ds_fail("mkdtemp failed");
    char rules_path[192], port_path[192];
    snprintf(rules_path, sizeof(rules_path), "%s/rules", s->dir);
    snprintf(port_path, sizeof(port_path), "%s/port", s->dir);
    FILE *fp = fopen(rules_path, "w");
    if (!fp)
        ds_fail("cannot write %s", rules_path);
    fputs(rules, fp);
    fclose(fp);
    static char env[8][256];
    snprintf(env[0], sizeof(env[0]), "OUTDIAL_SIM_PORT=0");
    snprintf(env[1], sizeof(env[1]), "OUTDIAL_SIM_PORT_FILE=%s", port_path);
    snprintf(env[2], sizeof(env[2]), "OUTDIAL_SIM_RULES=%s", rules_path);
    snprintf(env[3], sizeof(env[3]), "OUTDIAL_SIM_API_KEY=%s", DS_API_KEY);
    snprintf(env[4], sizeof(env[4]), "OUTDIAL_SIM_WEBHOOK_SECRET=%s", DS_SECRET);
    snprintf(env[5], sizeof(env[5]), "OUTDIAL_SIM_WEBHOOK_URL=http://127.0.0.1:%d/webhooks/vapi",
             webhook_port);
    snprintf(env[6], sizeof(env[6]), "OUTDIAL_SIM_HOST=127.0.0.1");
    const char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], env[6], NULL};
    s->pid = harness_spawn("tools/voice-sim/outdial-voice-sim", envp);
    char err[512];
    s->port = harness_port_wait(port_path, s->pid, 15000, err, sizeof(err));
    if (!s->port)
        ds_fail("the simulator: %s", err);
}

static inline void ds_sim_stop(ds_sim_t *s)
{
    if (s->pid > 0)
        harness_stop(s->pid, SIGTERM);
    s->pid = 0;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    if (s->dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s->dir);
}

static inline void ds_sim_faults(const ds_sim_t *s, const char *json)
{
    ds_reply_t r = ds_http(s->port, "POST", "/sim/faults", NULL, json);
    if (r.status != 200)
        ds_fail("POST /sim/faults %s: %ld %s", json, r.status, r.body);
    free(r.body);
}

/* The simulator's calls for an attempt (every POST, placed or not).
 * Caller json_decref()s the array. */
static inline json_t *ds_sim_calls(const ds_sim_t *s, const char *attempt_id)
{
    char path[160];
    if (snprintf(path, sizeof(path), "/sim/calls?attempt_id=%s", attempt_id) >= (int)sizeof(path))
        fail_msg("attempt id too long: %s", attempt_id);
    json_t *j = ds_get_json(s->port, path);
    json_t *calls = json_incref(json_object_get(j, "calls"));
    json_decref(j);
    return calls;
}

static inline size_t ds_sim_placed(const ds_sim_t *s, const char *attempt_id)
{
    return sim_calls_placed(ds_sim_calls(s, attempt_id));
}

/* Asserts the simulator saw no double dial and no overlapping calls. */
static inline void ds_sim_invariants_ok(const ds_sim_t *s)
{
    json_t *inv = ds_get_json(s->port, "/sim/invariants");
    json_int_t dd = json_integer_value(json_object_get(inv, "double_dials"));
    json_int_t ov = json_integer_value(json_object_get(inv, "concurrent_same_number"));
    if (dd != 0 || ov != 0) {
        char *text = json_dumps(inv, JSON_COMPACT);
        ds_fail("simulator invariants broken: %s", text);
    }
    json_decref(inv);
}

typedef struct ds_dialer {
    pid_t pid;
    int port;
} ds_dialer_t;

/* Starts outdial-dialer against the simulator on its port (kept across
 * restarts so that the webhook URL stays the same); extra is a NULL-
 * terminated list of more "NAME=value" settings. Returns once /readyz
 * answers 200. */
static inline void ds_dialer_start(ds_dialer_t *dl, const ds_sim_t *s, int port,
                                   const char *const *extra)
{
    static char env[32][256];
    const char *envp[32];
    size_t n = 0;
    snprintf(env[n], sizeof(env[n]), "OUTDIAL_DIALER_PROVIDER_URL=http://127.0.0.1:%d", s->port);
    n++;
    snprintf(env[n++], sizeof(env[0]), "OUTDIAL_DIALER_PROVIDER_API_KEY=%s", DS_API_KEY);
    snprintf(env[n], sizeof(env[n]), "OUTDIAL_DIALER_WEBHOOK_URL=http://127.0.0.1:%d/webhooks/vapi",
             port);
    n++;
    snprintf(env[n++], sizeof(env[0]), "OUTDIAL_DIALER_WEBHOOK_SECRET=%s", DS_SECRET);
    snprintf(env[n++], sizeof(env[0]), "OUTDIAL_DIALER_HTTP_PORT=%d", port);
    snprintf(env[n++], sizeof(env[0]), "OUTDIAL_DIALER_HTTP_HOST=127.0.0.1");
    for (size_t i = 0; i < n; i++)
        envp[i] = env[i];
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        envp[n++] = extra[i];
    envp[n] = NULL;
    dl->port = port;
    dl->pid = harness_spawn("services/dialer/outdial-dialer", envp);
    int64_t deadline = harness_ms() + 20000;
    while (harness_ms() < deadline) {
        ds_reply_t r = ds_http(port, "GET", "/readyz", NULL, NULL);
        free(r.body);
        if (r.status == 200)
            return;
        int status;
        if (waitpid(dl->pid, &status, WNOHANG) == dl->pid)
            ds_fail("the dialer exited early (status %d): see build/Testing/outdial-dialer-*.log",
                    status);
        harness_sleep_ms(50);
    }
    ds_fail("the dialer was not ready within 20 s");
}

/* Whether the dialer's log (build/Testing/outdial-dialer-<pid>.log, see
 * harness_spawn) has a line containing needle. */
static inline bool ds_dialer_logged(const ds_dialer_t *dl, const char *needle)
{
    char path[1200], line[4096];
    snprintf(path, sizeof(path), "%s/Testing/outdial-dialer-%d.log",
             support_env("OUTDIAL_BUILD_DIR"), (int)dl->pid);
    FILE *fp = fopen(path, "r");
    bool found = false;
    while (fp && !found && fgets(line, sizeof(line), fp))
        found = strstr(line, needle) != NULL;
    if (fp)
        fclose(fp);
    return found;
}

/* The dialer's peak resident set (VmHWM) and current one (VmRSS), kB. */
static inline void ds_rss_kb(pid_t pid, long *hwm, long *rss)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    *hwm = *rss = -1;
    FILE *fp = fopen(path, "r");
    while (fp && fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmRSS:", 6) == 0)
            *rss = strtol(line + 6, NULL, 10);
    }
    if (fp)
        fclose(fp);
}

/* ---- Kafka and Redis, as the scheduler has them ---- */

typedef struct ds_event {
    char key[64];
    char event_id[UUID_STR_LEN];
    char attempt_id[UUID_STR_LEN];
    char lead_id[UUID_STR_LEN];
    int status;
    int answered_by;
    int failure_class;
    int skip_reason;
    unsigned attempt_number;
    char provider_call_id[64];
    char ended_reason[96];
    char vars[512];
    int64_t duration_ms, cost_minor, started_at_us, ended_at_us, occurred_at_us;
} ds_event_t;

typedef struct ds_world {
    od_clock_t clk;
    char jobs_topic[TOPIC_NAME_MAX + 1];
    char events_topic[TOPIC_NAME_MAX + 1];
    const char *redis_prefix;
    kafka_producer_t *producer;
    redis_t *redis;
    kafka_consumer_t *consumer;
    pthread_t reader;
    atomic_bool reader_stop;
    pthread_mutex_t mu;
    ds_event_t *events;
    size_t n_events, cap_events;
} ds_world_t;

static inline void *ds_reader_main(void *arg)
{
    ds_world_t *w = arg;
    char err[512];
    while (!atomic_load(&w->reader_stop)) {
        rd_kafka_message_t *msg = NULL;
        if (kafka_consumer_poll(w->consumer, 100, &msg, err, sizeof(err)) || !msg)
            continue;
        callevent_t *ev = NULL;
        if (callevent_decode(msg->payload, msg->len, &ev, err, sizeof(err)))
            ds_fail("an undecodable call event on %s: %s", w->events_topic, err);
        ds_event_t e;
        memset(&e, 0, sizeof(e));
        snprintf(e.key, sizeof(e.key), "%.*s", (int)msg->key_len, (const char *)msg->key);
        snprintf(e.event_id, sizeof(e.event_id), "%s", ev->event_id);
        snprintf(e.attempt_id, sizeof(e.attempt_id), "%s", ev->attempt_id);
        snprintf(e.lead_id, sizeof(e.lead_id), "%s", ev->lead_id);
        e.status = ev->status;
        e.answered_by = ev->answered_by;
        e.failure_class = ev->failure_class;
        e.skip_reason = ev->skip_reason;
        e.attempt_number = ev->attempt_number;
        snprintf(e.provider_call_id, sizeof(e.provider_call_id), "%s", ev->provider_call_id);
        snprintf(e.ended_reason, sizeof(e.ended_reason), "%s", ev->ended_reason);
        snprintf(e.vars, sizeof(e.vars), "%s", ev->post_call_variables_json);
        e.duration_ms = ev->duration_ms;
        e.cost_minor = ev->cost_minor;
        e.started_at_us = ev->started_at_us;
        e.ended_at_us = ev->ended_at_us;
        e.occurred_at_us = ev->occurred_at_us;
        callevent_free(ev);
        kafka_message_free(msg);
        pthread_mutex_lock(&w->mu);
        SUPPORT_GROW(w->events, w->n_events, w->cap_events);
        w->events[w->n_events++] = e;
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

/* Isolates the test (topic and Redis prefixes), sets the scaled clock for
 * every child, and connects the test's producer, Redis client and event
 * reader. */
static inline ds_world_t *ds_world_new(const char *tag)
{
    ds_world_t *w = calloc(1, sizeof(*w));
    char err[512];
    harness_isolate(tag);
    harness_clock_set("2026-03-10T15:00:00Z", DS_CLOCK_SCALE);
    if (od_clock_from_env(&w->clk, err, sizeof(err)) ||
        topic_name_from_env(TOPIC_DIAL_JOBS, w->jobs_topic, sizeof(w->jobs_topic), err,
                            sizeof(err)) ||
        topic_name_from_env(TOPIC_CALL_EVENTS, w->events_topic, sizeof(w->events_topic), err,
                            sizeof(err)) ||
        rkeys_prefix_from_env(&w->redis_prefix, err, sizeof(err)) ||
        kafka_producer_new(NULL, &w->producer, err, sizeof(err)) ||
        redis_new_from_env(&w->redis, err, sizeof(err)))
        ds_fail("%s", err);
    char group[64];
    snprintf(group, sizeof(group), "test-events-%d-%s", (int)getpid(), tag);
    kafka_consumer_opts_t copts = {.group_id = group};
    const char *topics[] = {w->events_topic};
    if (kafka_consumer_new(&copts, &w->consumer, err, sizeof(err)) ||
        kafka_consumer_subscribe(w->consumer, topics, 1, err, sizeof(err)))
        ds_fail("%s", err);
    pthread_mutex_init(&w->mu, NULL);
    pthread_create(&w->reader, NULL, ds_reader_main, w);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return w;
}

static inline void ds_world_free(ds_world_t *w)
{
    atomic_store(&w->reader_stop, true);
    pthread_join(w->reader, NULL);
    char err[256];
    if (kafka_consumer_close(w->consumer, err, sizeof(err)))
        fprintf(stderr, "consumer close: %s\n", err);
    kafka_consumer_free(w->consumer);
    kafka_producer_free(w->producer);
    redis_free(w->redis);
    pthread_mutex_destroy(&w->mu);
    free(w->events);
    free(w);
}

/* A job's ids and settings; the test owns the strings. */
typedef struct ds_job {
    char attempt_id[UUID_STR_LEN];
    char lead_id[UUID_STR_LEN];
    char campaign_id[UUID_STR_LEN];
    char account_id[UUID_STR_LEN];
    char e164[20];
    uint32_t attempt_number;
    uint32_t max_call_duration_s;
    int64_t not_after_us;
    /* The callee's legal rules (DialJob.legal); NULL profile: "none". */
    const char *legal_profile;
    const char *jurisdiction;
    const char *zone;
} ds_job_t;

/* A job for number in campaign/account, due now, window open for an hour
 * of campaign time. */
static inline void ds_job_init(ds_world_t *w, ds_job_t *j, const char *campaign_id,
                               const char *account_id, const char *e164)
{
    memset(j, 0, sizeof(*j));
    uuid_str_new(j->attempt_id);
    uuid_str_new(j->lead_id);
    snprintf(j->campaign_id, sizeof(j->campaign_id), "%s", campaign_id);
    snprintf(j->account_id, sizeof(j->account_id), "%s", account_id);
    snprintf(j->e164, sizeof(j->e164), "%s", e164);
    j->attempt_number = 1;
    j->max_call_duration_s = 600;
    j->not_after_us = od_clock_now_us(&w->clk) + 3600 * OD_USEC_PER_SEC;
}

/* ds_job_init for the number that the printf format fmt makes of the
 * arguments after it (one of a block of numbers, "+1555000400%d"). */
static inline void ds_job_initf(ds_world_t *w, ds_job_t *j, const char *campaign_id,
                                const char *account_id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static inline void ds_job_initf(ds_world_t *w, ds_job_t *j, const char *campaign_id,
                                const char *account_id, const char *fmt, ...)
{
    char e164[sizeof(j->e164)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e164, sizeof(e164), fmt, ap);
    va_end(ap);
    ds_job_init(w, j, campaign_id, account_id, e164);
}

/* Queues the job on the producer (ds_jobs_flush waits for the acks). */
static inline void ds_job_produce(ds_world_t *w, const ds_job_t *j)
{
    char err[512];
    dialjob_t job;
    dialjob_init(&job);
    job.attempt_id = (char *)j->attempt_id;
    job.lead_id = (char *)j->lead_id;
    job.campaign_id = (char *)j->campaign_id;
    job.account_id = (char *)j->account_id;
    job.attempt_number = j->attempt_number;
    job.e164 = (char *)j->e164;
    job.caller_id = "+12125550100";
    job.provider = "vapi";
    job.provider_assistant_id = "asst-test";
    job.provider_phone_number_id = "pn-test";
    job.lead_name = "Ada Lovelace";
    dialjob_variable_t v;
    outdial__v1__dial_job__variables_entry__init(&v);
    v.key = "first_name";
    v.value = "Ada";
    dialjob_variable_t *vars[] = {&v};
    job.variables = vars;
    job.n_variables = 1;
    job.max_call_duration_s = j->max_call_duration_s;
    job.not_after_us = j->not_after_us;
    job.issued_at_us = od_clock_now_us(&w->clk);
    dialjob_legal_t legal;
    dialjob_legal_init(&legal);
    char *zones[] = {(char *)(j->zone ? j->zone : "America/New_York")};
    legal.profile = (char *)(j->legal_profile ? j->legal_profile : "none");
    legal.jurisdiction = (char *)(j->jurisdiction ? j->jurisdiction : "");
    legal.zones = zones;
    legal.n_zones = 1;
    job.legal = &legal;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (dialjob_encode(&job, &buf, &len, err, sizeof(err)) ||
        kafka_producer_send(w->producer, w->jobs_topic, j->lead_id, strlen(j->lead_id), buf, len,
                            NULL, 0, NULL, err, sizeof(err)))
        ds_fail("produce job: %s", err);
    free(buf);
}

static inline void ds_jobs_flush(ds_world_t *w)
{
    char err[512];
    if (kafka_producer_flush(w->producer, 30000, err, sizeof(err)))
        ds_fail("produce jobs: %s", err);
}

/* Produces the job and waits for Kafka's acknowledgement. */
static inline void ds_job_send(ds_world_t *w, const ds_job_t *j)
{
    ds_job_produce(w, j);
    ds_jobs_flush(w);
}

/* A job made (ds_job_init) and sent (ds_job_send): what most tests do. */
static inline void ds_job_init_send(ds_world_t *w, ds_job_t *j, const char *campaign_id,
                                    const char *account_id, const char *e164)
{
    ds_job_init(w, j, campaign_id, account_id, e164);
    ds_job_send(w, j);
}

/* Writes the campaign's Redis mirror ("in_progress", "paused", ...). */
static inline void ds_campaign_set(ds_world_t *w, const char *campaign_id, const char *status)
{
    char key[RKEYS_KEY_MAX], err[256];
    rkeys_campaign(w->redis_prefix, campaign_id, key);
    const char *argv[] = {"SET", key, status};
    redisReply *reply = NULL;
    if (redis_command_argv(w->redis, true, 3, argv, NULL, &reply, err, sizeof(err)))
        ds_fail("redis: %s", err);
    freeReplyObject(reply);
}

/* The world of a test whose dialers dial for one running campaign
 * (ds_world_new(tag), the campaign's mirror in_progress) and its
 * simulator, started with rules and sending its webhooks to a free port:
 * the port the first dialer is to listen on, into *webhook_port. */
static inline ds_world_t *ds_world_running(const char *tag, const char *campaign_id,
                                           const char *rules, ds_sim_t *sim, int *webhook_port)
{
    ds_world_t *w = ds_world_new(tag);
    ds_campaign_set(w, campaign_id, "in_progress");
    *webhook_port = harness_free_port();
    ds_sim_start(sim, rules, *webhook_port);
    return w;
}

/* Copies of the events of an attempt, in arrival order. */
static inline size_t ds_events_of(ds_world_t *w, const char *attempt_id, ds_event_t *out,
                                  size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n_events; i++)
        if (strcmp(w->events[i].attempt_id, attempt_id) == 0 && n < max)
            out[n++] = w->events[i];
    pthread_mutex_unlock(&w->mu);
    return n;
}

static inline bool ds_status_terminal(int status)
{
    return status >= OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED;
}

/* Whether the attempt's terminal event has come; if so, copies it to *out
 * (out may be NULL). */
static inline bool ds_terminal_of(ds_world_t *w, const char *attempt_id, ds_event_t *out)
{
    ds_event_t evs[32];
    size_t n = ds_events_of(w, attempt_id, evs, 32);
    for (size_t i = 0; i < n; i++)
        if (ds_status_terminal(evs[i].status)) {
            if (out)
                *out = evs[i];
            return true;
        }
    return false;
}

/* Waits (at most ms) for the attempt's terminal event; returns it. */
static inline ds_event_t ds_wait_terminal(ds_world_t *w, const char *attempt_id, int ms)
{
    int64_t deadline = harness_ms() + ms;
    ds_event_t t;
    while (!ds_terminal_of(w, attempt_id, &t)) {
        if (harness_ms() > deadline) {
            ds_event_t evs[32];
            ds_fail("no terminal event for attempt %s within %d ms (%zu events)", attempt_id, ms,
                    ds_events_of(w, attempt_id, evs, 32));
        }
        harness_sleep_ms(20);
    }
    return t;
}

/* A job like `like` (same lead, hence the same dial-jobs and call-events
 * partitions, same campaign and account) with a fresh attempt and the
 * number e164, due now. The caller sends it. */
static inline void ds_job_like(ds_world_t *w, ds_job_t *m, const ds_job_t *like, const char *e164)
{
    ds_job_init(w, m, like->campaign_id, like->account_id, e164);
    snprintf(m->lead_id, sizeof(m->lead_id), "%s", like->lead_id);
}

/* The marker of an absence check: a job like `like` on the number e164,
 * sent now; waits (at most ms) for its terminal event and returns it. The
 * dialer takes a partition's jobs in order and publishes a lead's events
 * on one partition, so whatever it was going to publish for the lead's
 * earlier jobs and calls has arrived before the marker's end (a whole call
 * later, or the marker's skip). Only then is "nothing more came" proven. */
static inline ds_event_t ds_marker(ds_world_t *w, const ds_job_t *like, const char *e164, int ms)
{
    ds_job_t m;
    ds_job_like(w, &m, like, e164);
    ds_job_send(w, &m);
    return ds_wait_terminal(w, m.attempt_id, ms);
}

/* The dial-jobs partition a lead's jobs go to: the producer's default
 * partitioner (consistent_random: CRC32 of the key) over the topic's
 * partition count. */
static inline int ds_job_partition(const char *lead_id)
{
    return (int)rd_kafka_msg_partitioner_consistent_random(
        NULL, lead_id, strlen(lead_id), topic_def_get(TOPIC_DIAL_JOBS)->partitions, NULL, NULL);
}

/* Waits (at most ms) until the n dialers of dl share the dial-jobs topic:
 * one marker job per partition (numbers e164_prefix + two digits) goes out
 * in a round, and the round counts when every marker has ended and every
 * dialer took at least one, and together they took each once (their
 * jobs-consumed counters). Kafka hands a member partitions only once the
 * group's rebalance is done, so such a round shows every one of the n in
 * one group and the group settled; and a dialer that took a partition's
 * marker has taken all that was queued on that partition before it.
 * Rounds repeat while a rebalance is under way (one moves partitions, and
 * their uncommitted jobs are taken again). */
static inline void ds_wait_group(ds_world_t *w, const ds_dialer_t *dl, size_t n,
                                 const char *campaign_id, const char *account_id,
                                 const char *e164_prefix, int ms)
{
    int parts = topic_def_get(TOPIC_DIAL_JOBS)->partitions;
    int64_t deadline = harness_ms() + ms;
    for (int round = 1;; round++) {
        double before[16];
        if (n > 16 || parts > 100)
            ds_fail("ds_wait_group: %zu dialers, %d partitions: too many", n, parts);
        for (size_t i = 0; i < n; i++)
            before[i] = metric_value(dl[i].port, "outdial_dialer_jobs_consumed_total");
        ds_job_t markers[100];
        for (int p = 0; p < parts; p++) {
            char e164[20];
            snprintf(e164, sizeof(e164), "%s%02d", e164_prefix, p);
            do
                ds_job_init(w, &markers[p], campaign_id, account_id, e164);
            while (ds_job_partition(markers[p].lead_id) != p);
            ds_job_produce(w, &markers[p]);
        }
        ds_jobs_flush(w);
        int ended;
        for (;;) {
            ended = 0;
            for (int p = 0; p < parts; p++)
                ended += ds_terminal_of(w, markers[p].attempt_id, NULL);
            if (ended == parts || harness_ms() > deadline)
                break;
            harness_sleep_ms(HARNESS_POLL_MS);
        }
        size_t served = 0;
        double taken = 0;
        for (size_t i = 0; i < n; i++) {
            double delta =
                metric_value(dl[i].port, "outdial_dialer_jobs_consumed_total") - before[i];
            served += delta > 0;
            taken += delta;
        }
        if (ended == parts && served == n && taken == parts) {
            print_message("%zu dialers share the jobs after %d marker round(s)\n", n, round);
            return;
        }
        if (harness_ms() > deadline)
            ds_fail("the %zu dialers do not share the jobs within %d ms: in the last round %zu "
                    "took some, %.0f takes of %d markers, %d ended",
                    n, ms, served, taken, parts, ended);
    }
}

/* How many events of the attempt have this status. */
static inline size_t ds_count_status(ds_world_t *w, const char *attempt_id, int status)
{
    ds_event_t evs[64];
    size_t n = ds_events_of(w, attempt_id, evs, 64), k = 0;
    for (size_t i = 0; i < n; i++)
        k += evs[i].status == status;
    return k;
}

/* Who holds the attempt's key: 1 the dialer instance (the key's value is
 * "<instance id>/<the job's uuid>", services/dialer/checks.h), 0 another
 * dialer or the scheduler's fence, -1 nobody. */
static inline int ds_attempt_held_by(ds_world_t *w, const char *attempt_id, const char *instance)
{
    char key[RKEYS_KEY_MAX], err[256];
    char *holder = NULL;
    rkeys_attempt(w->redis_prefix, attempt_id, key);
    if (redis_get(w->redis, key, &holder, NULL, err, sizeof(err)) != OD_OK)
        return -1;
    size_t n = strlen(instance);
    int held = strncmp(holder, instance, n) == 0 && holder[n] == '/';
    free(holder);
    return held;
}

#endif

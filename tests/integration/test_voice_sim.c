/* The voice simulator (tools/voice-sim) as the dialer meets it: the real
 * binary started as a child process on an ephemeral port, placing calls
 * over its Vapi-style API and sending webhooks to a receiver this test
 * runs on lib/http. Checks, per outcome, the exact webhook sequence and the
 * shared secret; determinism under a seed whatever the call order; 401 and
 * 400 answers; the fault injection (5xx, slow, timeout, duplicate, lost,
 * out of order) as seen on the wire and in the call log; the invariants
 * endpoint on a provoked double dial and overlap; the capacity limit; and
 * a clean stop on SIGTERM with the log file left behind.
 *
 * Needs no stack; loopback only; every wait is bounded. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"
#include "http.h"
#include "http_client.h"

#define API_KEY     "sk-test-4242"
#define SECRET      "whsec-test-1717"
#define WAIT_MS     15000 /* the longest any single wait may take */
#define CLOCK_SCALE "100" /* campaign seconds per real second in the children */

/* --- webhook receiver --- */

typedef struct hook {
    char path[32];
    char secret[64];
    char type[32];
    char status[32];
    char ended_reason[96];
    char call_id[48];
    char attempt_id[64];
    json_t *message; /* owned */
} hook_t;

typedef struct receiver {
    http_server_t *srv;
    int port;
    pthread_mutex_t mu;
    hook_t *hooks;
    size_t n;
    size_t cap;
} receiver_t;

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* Records every message; /fail answers 500 after recording. */
static void receive(http_request_t *req, http_response_t *resp, void *arg)
{
    receiver_t *rx = arg;
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *msg = json_incref(json_object_get(root, "message"));
    json_decref(root);
    hook_t h = {0};
    copy_str(h.path, sizeof(h.path), http_request_path(req));
    copy_str(h.secret, sizeof(h.secret), http_request_header(req, "x-vapi-secret"));
    copy_str(h.type, sizeof(h.type), json_string_value(json_object_get(msg, "type")));
    copy_str(h.status, sizeof(h.status), json_string_value(json_object_get(msg, "status")));
    copy_str(h.ended_reason, sizeof(h.ended_reason),
             json_string_value(json_object_get(msg, "endedReason")));
    json_t *call = json_object_get(msg, "call");
    copy_str(h.call_id, sizeof(h.call_id), json_string_value(json_object_get(call, "id")));
    copy_str(h.attempt_id, sizeof(h.attempt_id),
             json_string_value(json_object_get(json_object_get(call, "metadata"), "attempt_id")));
    h.message = msg;
    pthread_mutex_lock(&rx->mu);
    SUPPORT_GROW(rx->hooks, rx->n, rx->cap);
    rx->hooks[rx->n++] = h;
    pthread_mutex_unlock(&rx->mu);
    if (strcmp(http_request_path(req), "/fail") == 0)
        http_response_json(resp, 500, "{\"error\":\"receiver failure on purpose\"}");
    else
        http_response_json(resp, 200, "{}");
}

/* The hooks of one attempt in arrival order (copies of the fields; the
 * message is borrowed). Waits until there are at least `want` of them or
 * WAIT_MS passed; returns how many there are. */
static size_t hooks_of(receiver_t *rx, const char *attempt_id, size_t want, hook_t *out, size_t max)
{
    int64_t deadline = harness_ms() + WAIT_MS;
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&rx->mu);
        for (size_t i = 0; i < rx->n; i++)
            if (strcmp(rx->hooks[i].attempt_id, attempt_id) == 0 && n < max)
                out[n++] = rx->hooks[i];
        pthread_mutex_unlock(&rx->mu);
        if (n >= want || harness_ms() > deadline)
            return n;
        harness_sleep_ms(20);
    }
}

/* "status-update:ringing,status-update:ended,end-of-call-report" */
static void hooks_describe(const hook_t *h, size_t n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s%s%s", i ? "," : "", h[i].type,
                                 h[i].status[0] ? ":" : "", h[i].status);
}

/* --- the simulator process --- */

typedef struct simproc {
    pid_t pid;
    int port;
    char dir[128];
    char log_path[160];
} simproc_t;

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        fail_msg("cannot write %s: %s", path, strerror(errno));
        return;
    }
    fputs(text, fp);
    fclose(fp);
}

/* Starts the simulator with rules and extra arguments (NULL-terminated),
 * sending webhooks to rx; returns once it listens. */
static void sim_spawn(simproc_t *sp, receiver_t *rx, const char *rules, const char *seed,
                      const char *const *extra)
{
    const char *build = getenv("OUTDIAL_BUILD_DIR");
    if (!build || !*build)
        fail_msg("OUTDIAL_BUILD_DIR is not set: run this test through ctest");
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/tools/voice-sim/outdial-voice-sim", build);
    if (access(bin, X_OK) != 0)
        fail_msg("%s is missing: build the tree first (ninja)", bin);
    memset(sp, 0, sizeof(*sp));
    snprintf(sp->dir, sizeof(sp->dir), "/tmp/outdial-voicesim-XXXXXX");
    if (!mkdtemp(sp->dir))
        fail_msg("mkdtemp: %s", strerror(errno));
    char rules_path[192], port_path[192], url[128];
    snprintf(rules_path, sizeof(rules_path), "%s/rules", sp->dir);
    snprintf(port_path, sizeof(port_path), "%s/port", sp->dir);
    snprintf(sp->log_path, sizeof(sp->log_path), "%s/calls.jsonl", sp->dir);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", rx->port);
    write_file(rules_path, rules);

    const char *argv[40] = {bin,         "--port",           "0",         "--host",
                            "127.0.0.1", "--port-file",      port_path,   "--webhook-url",
                            url,         "--webhook-secret", SECRET,      "--api-key",
                            API_KEY,     "--rules",          rules_path,  "--seed",
                            seed,        "--log-file",       sp->log_path};
    size_t argc = 19;
    for (size_t i = 0; extra && extra[i] && argc < 38; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;

    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL));
    sp->pid = fork();
    if (sp->pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (sp->pid == 0) {
        setenv("OUTDIAL_CLOCK_SCALE", CLOCK_SCALE, 1);
        setenv("OUTDIAL_CLOCK_EPOCH", epoch, 1);
        unsetenv("OUTDIAL_CLOCK_OFFSET");
        unsetenv("OUTDIAL_CLOCK_START");
        setenv("OUTDIAL_LOG_LEVEL", "error", 1);
        /* It prints its port on stdout; the test reads the port file. */
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    char err[512];
    sp->port = harness_port_wait(port_path, sp->pid, WAIT_MS, err, sizeof(err));
    if (!sp->port) {
        kill(sp->pid, SIGKILL);
        fail_msg("the simulator: %s", err);
    }
}

/* SIGTERM and wait (bounded); returns the exit status, -1 if it had to be
 * killed. */
static int sim_terminate(simproc_t *sp)
{
    if (sp->pid <= 0)
        return -1;
    kill(sp->pid, SIGTERM);
    int64_t deadline = harness_ms() + WAIT_MS;
    int status = 0;
    while (harness_ms() < deadline) {
        if (waitpid(sp->pid, &status, WNOHANG) == sp->pid) {
            sp->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        harness_sleep_ms(10);
    }
    kill(sp->pid, SIGKILL);
    waitpid(sp->pid, &status, 0);
    sp->pid = 0;
    return -1;
}

static void sim_cleanup(simproc_t *sp)
{
    sim_terminate(sp);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sp->dir);
    if (sp->dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", sp->dir);
}

/* --- HTTP client --- */

typedef httpc_reply_t reply_t;

static reply_t http(int port, const char *method, const char *path, const char *auth,
                    const char *body, long timeout_ms)
{
    reply_t r;
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *curl = httpc_new(url, method, &r, timeout_ms);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth)
        headers = curl_slist_append(headers, auth);
    if (body)
        httpc_body(curl, body, strlen(body));
    httpc_run(curl, headers, &r);
    return r;
}

#define AUTH "Authorization: Bearer " API_KEY

/* POST /call for number and attempt; the call id (when 201) into id. */
static reply_t place(int port, const char *number, const char *attempt, const char *campaign,
                     const char *overrides_extra, char *id, size_t idlen)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"assistantId\":\"asst-1\",\"phoneNumberId\":\"pn-1\","
             "\"customer\":{\"number\":\"%s\",\"name\":\"Test Lead\"},"
             "\"assistantOverrides\":{\"variableValues\":{\"first_name\":\"Ada\"}%s},"
             "\"metadata\":{\"attempt_id\":\"%s\",\"lead_id\":\"lead-%s\","
             "\"campaign_id\":\"%s\"}}",
             number, overrides_extra ? overrides_extra : "", attempt, attempt, campaign);
    reply_t r = http(port, "POST", "/call", AUTH, body, 10000);
    if (id) {
        id[0] = '\0';
        json_t *j = json_loads(r.body, 0, NULL);
        if (r.status == 201)
            copy_str(id, idlen, json_string_value(json_object_get(j, "id")));
        json_decref(j);
    }
    return r;
}

static json_t *get_json(int port, const char *path)
{
    reply_t r = http(port, "GET", path, NULL, NULL, 10000);
    if (r.curl_rc != CURLE_OK || r.status != 200)
        fail_msg("GET %s: curl %d status %ld %s", path, r.curl_rc, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    free(r.body);
    assert_non_null(j);
    return j;
}

static void set_faults(int port, const char *json)
{
    reply_t r = http(port, "POST", "/sim/faults", NULL, json, 10000);
    if (r.status != 200)
        fail_msg("POST /sim/faults %s: %ld %s", json, r.status, r.body);
    free(r.body);
}

/* The log record of an attempt (its last POST), waiting until the call
 * finished. Caller json_decref()s. */
static json_t *record_of(int port, const char *attempt)
{
    char path[160];
    snprintf(path, sizeof(path), "/sim/calls?attempt_id=%s", attempt);
    int64_t deadline = harness_ms() + WAIT_MS;
    for (;;) {
        json_t *j = get_json(port, path);
        json_t *calls = json_object_get(j, "calls");
        json_t *last = json_array_get(calls, json_array_size(calls) - 1);
        if (last && json_is_true(json_object_get(last, "finished"))) {
            json_incref(last);
            json_decref(j);
            return last;
        }
        json_decref(j);
        if (harness_ms() > deadline)
            fail_msg("attempt %s did not finish within %d ms", attempt, WAIT_MS);
        harness_sleep_ms(20);
    }
}

/* --- fixture --- */

typedef struct fixture {
    receiver_t rx;
    simproc_t sim; /* the shared simulator of most tests */
} fixture_t;

static const char main_rules[] =
    "goal-variable appointment_booked\n"
    "data tier \"gold\"\n"
    "ring 5s-10s\n"
    "ring busy 2s\n"
    "talk 10s-20s\n"
    "cost-per-minute 12\n" HARNESS_SIM_MATCH_EACH_OUTCOME "default human-goal\n";

static int setup(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    char err[256];
    fixture_t *fx = calloc(1, sizeof(*fx));
    pthread_mutex_init(&fx->rx.mu, NULL);
    http_config_t cfg;
    http_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.threads = 4;
    if (http_server_new(&cfg, &fx->rx.srv, err, sizeof(err)) != OD_OK ||
        http_route_add(fx->rx.srv, "POST", "/hook", receive, &fx->rx, err, sizeof(err)) != OD_OK ||
        http_route_add(fx->rx.srv, "POST", "/fail", receive, &fx->rx, err, sizeof(err)) != OD_OK ||
        http_server_start(fx->rx.srv, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "receiver: %s\n", err);
        return -1;
    }
    fx->rx.port = http_server_port(fx->rx.srv);
    sim_spawn(&fx->sim, &fx->rx, main_rules, "11", NULL);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    sim_cleanup(&fx->sim);
    http_server_free(fx->rx.srv);
    for (size_t i = 0; i < fx->rx.n; i++)
        json_decref(fx->rx.hooks[i].message);
    free(fx->rx.hooks);
    pthread_mutex_destroy(&fx->rx.mu);
    free(fx);
    return 0;
}

/* --- tests --- */

static void test_outcome_webhook_sequences(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *number;
        const char *attempt;
        const char *sequence;
        const char *reason;
        int goal; /* 1 true, 0 false, -1 absent */
    } cases[] = {
        {"+15550000001", "seq-busy", "status-update:ringing,status-update:ended,end-of-call-report",
         "customer-busy", -1},
        {"+15550000002", "seq-noanswer",
         "status-update:ringing,status-update:ended,end-of-call-report", "customer-did-not-answer",
         -1},
        {"+15550000003", "seq-voicemail",
         "status-update:ringing,status-update:in-progress,status-update:ended,end-of-call-report",
         "voicemail", -1},
        {"+15550000004", "seq-goal",
         "status-update:ringing,status-update:in-progress,status-update:ended,end-of-call-report",
         NULL, 1},
        {"+15550000005", "seq-nogoal",
         "status-update:ringing,status-update:in-progress,status-update:ended,end-of-call-report",
         NULL, 0},
        {"+15550000006", "seq-human",
         "status-update:ringing,status-update:in-progress,status-update:ended,end-of-call-report",
         NULL, -1},
        {"+15550000007", "seq-invalid", "status-update:ended,end-of-call-report",
         "twilio-reported-customer-misdialed", -1},
    };
    const size_t ncases = sizeof(cases) / sizeof(cases[0]);
    char ids[8][48];
    for (size_t i = 0; i < ncases; i++) {
        reply_t r = place(fx->sim.port, cases[i].number, cases[i].attempt, "camp-seq", NULL, ids[i],
                          sizeof(ids[i]));
        if (r.status != 201)
            fail_msg("%s: %ld %s", cases[i].number, r.status, r.body);
        json_t *j = json_loads(r.body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "status")), "queued");
        assert_string_equal(json_string_value(json_object_get(j, "type")), "outboundPhoneCall");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "customer"), "number")),
            cases[i].number);
        json_decref(j);
        free(r.body);
    }
    /* A transient failure is a 5xx at POST time, and nothing is placed. */
    char none[48];
    reply_t r =
        place(fx->sim.port, "+15550000008", "seq-transient", "camp-seq", NULL, none, sizeof(none));
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"statusCode\":503"));
    assert_string_equal(r.retry_after, "5");
    free(r.body);

    for (size_t i = 0; i < ncases; i++) {
        hook_t hooks[16];
        size_t want = 1;
        for (const char *p = cases[i].sequence; *p; p++)
            want += *p == ',';
        size_t n = hooks_of(&fx->rx, cases[i].attempt, want, hooks, 16);
        char got[512];
        hooks_describe(hooks, n, got, sizeof(got));
        if (strcmp(got, cases[i].sequence) != 0)
            fail_msg("%s: got %s, want %s", cases[i].attempt, got, cases[i].sequence);
        for (size_t k = 0; k < n; k++) {
            assert_string_equal(hooks[k].secret, SECRET);
            assert_string_equal(hooks[k].path, "/hook");
            assert_string_equal(hooks[k].call_id, ids[i]);
        }
        const hook_t *ended = &hooks[n - 2];
        const hook_t *report = &hooks[n - 1];
        assert_string_equal(ended->ended_reason, report->ended_reason);
        if (cases[i].reason)
            assert_string_equal(report->ended_reason, cases[i].reason);
        else
            assert_true(strcmp(report->ended_reason, "customer-ended-call") == 0 ||
                        strcmp(report->ended_reason, "assistant-ended-call") == 0);
        json_t *m = report->message;
        json_t *sd = json_object_get(json_object_get(m, "analysis"), "structuredData");
        json_t *goal = json_object_get(sd, "appointment_booked");
        if (cases[i].goal < 0)
            assert_null(goal);
        else
            assert_true(json_is_boolean(goal) && json_is_true(goal) == (cases[i].goal == 1));
        /* `data` variables come with every human outcome, never with a machine. */
        const char *tier = json_string_value(json_object_get(sd, "tier"));
        if (n == 4 && strcmp(cases[i].attempt, "seq-voicemail") != 0)
            assert_true(tier && strcmp(tier, "gold") == 0);
        else
            assert_null(tier);

        /* The report's numbers agree with each other and the log. */
        double seconds = json_number_value(json_object_get(m, "durationSeconds"));
        double cost = json_number_value(json_object_get(m, "cost"));
        json_t *rec = record_of(fx->sim.port, cases[i].attempt);
        int64_t talk_ms = json_integer_value(json_object_get(rec, "talk_ms"));
        int64_t cents = json_integer_value(json_object_get(rec, "cost_cents"));
        assert_true(seconds * 1000 > (double)talk_ms - 1 && seconds * 1000 < (double)talk_ms + 1);
        assert_int_equal(cents, (talk_ms * 12 + 59999) / 60000);
        assert_true(cost * 100 > (double)cents - 0.01 && cost * 100 < (double)cents + 0.01);
        if (n == 4) {
            assert_in_range(talk_ms, 10000, 20000);
            assert_non_null(json_object_get(m, "startedAt"));
        } else {
            assert_int_equal(talk_ms, 0);
            assert_null(json_object_get(m, "startedAt"));
        }
        assert_non_null(json_object_get(m, "endedAt"));
        assert_string_equal(json_string_value(json_object_get(rec, "campaign_id")), "camp-seq");
        char lead[80];
        snprintf(lead, sizeof(lead), "lead-%s", cases[i].attempt);
        assert_string_equal(json_string_value(json_object_get(rec, "lead_id")), lead);
        assert_string_equal(json_string_value(json_object_get(rec, "number")), cases[i].number);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(rec, "variable_values"), "first_name")),
                            "Ada");
        json_t *whs = json_object_get(rec, "webhooks");
        assert_int_equal(json_array_size(whs), n);
        for (size_t k = 0; k < n; k++)
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(whs, k), "result")), "sent");
        json_decref(rec);

        /* GET /call/{id} sees the end too. */
        char path[96];
        if (snprintf(path, sizeof(path), "/call/%s", ids[i]) >= (int)sizeof(path))
            fail_msg("call id too long: %s", ids[i]);
        reply_t g = http(fx->sim.port, "GET", path, AUTH, NULL, 10000);
        assert_int_equal(g.status, 200);
        json_t *call = json_loads(g.body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(call, "status")), "ended");
        assert_string_equal(json_string_value(json_object_get(call, "endedReason")),
                            report->ended_reason);
        json_decref(call);
        free(g.body);
    }
    hook_t hooks[4];
    assert_int_equal(hooks_of(&fx->rx, "seq-transient", 0, hooks, 4), 0);

    /* Times in the log are campaign time: 100x real time here, so the
     * 2 s busy ring took about 20 ms. */
    json_t *rec = record_of(fx->sim.port, "seq-busy");
    int64_t ring = json_integer_value(json_object_get(rec, "ended_at_us")) -
                   json_integer_value(json_object_get(rec, "received_at_us"));
    assert_int_equal(ring, 2000000);
    json_decref(rec);
}

static void test_server_url_override_and_failed_receiver(void **state)
{
    fixture_t *fx = *state;
    char extra[256], id[48];
    snprintf(extra, sizeof(extra),
             ",\"server\":{\"url\":\"http://127.0.0.1:%d/fail\",\"secret\":\"per-call\"}",
             fx->rx.port);
    reply_t r = place(fx->sim.port, "+15550000001", "url-1", "camp-url", extra, id, sizeof(id));
    assert_int_equal(r.status, 201);
    free(r.body);
    hook_t hooks[8];
    size_t n = hooks_of(&fx->rx, "url-1", 3, hooks, 8);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(hooks[i].path, "/fail");
        assert_string_equal(hooks[i].secret, "per-call");
    }
    json_t *rec = record_of(fx->sim.port, "url-1");
    json_t *whs = json_object_get(rec, "webhooks");
    for (size_t i = 0; i < json_array_size(whs); i++) {
        json_t *w = json_array_get(whs, i);
        assert_string_equal(json_string_value(json_object_get(w, "result")), "failed");
        assert_int_equal(json_integer_value(json_object_get(w, "http_status")), 500);
    }
    json_decref(rec);
}

static void test_auth_and_validation(void **state)
{
    fixture_t *fx = *state;
#define GOOD_BODY                                                                                  \
    "{\"assistantId\":\"a\",\"phoneNumberId\":\"p\",\"customer\":{\"number\":\"+15550000001\"}}"
    static const struct {
        const char *auth;
        const char *body;
        long status;
        const char *want;
    } cases[] = {
        {NULL, GOOD_BODY, 401, "\"error\":\"Unauthorized\",\"statusCode\":401"},
        {"Authorization: Bearer wrong", GOOD_BODY, 401, "invalid API key"},
        {"Authorization: Basic " API_KEY, GOOD_BODY, 401, "invalid API key"},
        {AUTH, "{nope", 400, "\"message\":[\"the body is not JSON"},
        {AUTH, "[]", 400, "the body must be a JSON object"},
        {AUTH, "{\"assistantId\":\"a\",\"phoneNumberId\":\"p\",\"customer\":{}}", 400,
         "customer.number is required"},
        {AUTH,
         "{\"assistantId\":\"a\",\"phoneNumberId\":\"p\",\"customer\":{\"number\":\"555-0100\"}}",
         400, "E.164"},
        {AUTH,
         "{\"assistantId\":\"a\",\"phoneNumberId\":\"p\",\"customer\":{\"number\":\"+15550000001\"}"
         ","
         "\"metdata\":{}}",
         400, "property metdata is not allowed"},
        {AUTH, "{\"customer\":{\"number\":\"+15550000001\"}}", 400,
         "\"error\":\"Bad Request\",\"statusCode\":400"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply_t r = http(fx->sim.port, "POST", "/call", cases[i].auth, cases[i].body, 10000);
        if (r.status != cases[i].status || !strstr(r.body, cases[i].want))
            fail_msg("case %zu: %ld %s", i, r.status, r.body);
        free(r.body);
    }
    /* GET needs the key too; unknown ids are 404. */
    reply_t r = http(fx->sim.port, "GET", "/call/nope", NULL, NULL, 10000);
    assert_int_equal(r.status, 401);
    free(r.body);
    r = http(fx->sim.port, "GET", "/call/nope", AUTH, NULL, 10000);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"statusCode\":404"));
    free(r.body);
    json_t *stats = get_json(fx->sim.port, "/sim/stats");
    json_t *rejected = json_object_get(stats, "rejected");
    assert_true(json_integer_value(json_object_get(rejected, "unauthorized")) >= 3);
    assert_true(json_integer_value(json_object_get(rejected, "bad-request")) >= 6);
    json_decref(stats);
    /* Built-ins of lib/web/http are there. */
    json_t *health = get_json(fx->sim.port, "/healthz");
    json_decref(health);
    r = http(fx->sim.port, "GET", "/metrics", NULL, NULL, 10000);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "outdial_sim_calls_total{outcome=\"busy\"}"));
    free(r.body);
}

static void test_faults_on_the_wire_and_in_the_log(void **state)
{
    fixture_t *fx = *state;
    int port = fx->sim.port;
    char id[48];

    /* Duplicates: every message twice, back to back. */
    set_faults(port, "{\"duplicate\":1}");
    reply_t r = place(port, "+15550000004", "dup-1", "camp-faults", NULL, id, sizeof(id));
    assert_int_equal(r.status, 201);
    free(r.body);
    hook_t hooks[16];
    size_t n = hooks_of(&fx->rx, "dup-1", 8, hooks, 16);
    char got[512];
    hooks_describe(hooks, n, got, sizeof(got));
    assert_string_equal(got, "status-update:ringing,status-update:ringing,"
                             "status-update:in-progress,status-update:in-progress,"
                             "status-update:ended,status-update:ended,"
                             "end-of-call-report,end-of-call-report");
    json_t *rec = record_of(port, "dup-1");
    json_t *whs = json_object_get(rec, "webhooks");
    size_t dups = 0;
    for (size_t i = 0; i < json_array_size(whs); i++)
        dups += json_is_true(json_object_get(json_array_get(whs, i), "duplicate"));
    assert_int_equal(dups, 4);
    json_decref(rec);

    /* Lost: nothing arrives, the log says dropped. */
    set_faults(port, "{\"duplicate\":0,\"lost\":1}");
    r = place(port, "+15550000001", "lost-1", "camp-faults", NULL, id, sizeof(id));
    assert_int_equal(r.status, 201);
    free(r.body);
    rec = record_of(port, "lost-1");
    whs = json_object_get(rec, "webhooks");
    assert_int_equal(json_array_size(whs), 3);
    for (size_t i = 0; i < json_array_size(whs); i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(whs, i), "result")),
                            "dropped");
    json_decref(rec);
    /* The marker: the same call without the fault; once its webhooks are
     * in, a lost one that had been sent after all would be too. */
    set_faults(port, "{\"lost\":0}");
    r = place(port, "+15550000001", "lost-marker", "camp-faults", NULL, id, sizeof(id));
    assert_int_equal(r.status, 201);
    free(r.body);
    assert_int_equal(hooks_of(&fx->rx, "lost-marker", 3, hooks, 16), 3);
    assert_int_equal(hooks_of(&fx->rx, "lost-1", 0, hooks, 16), 0);

    /* Out of order: the log names the disorder, the wire shows it. */
    set_faults(port, "{\"lost\":0,\"out_of_order\":1}");
    bool seen_report_first = false, seen_late_answer = false;
    for (int i = 0; i < 12 && !(seen_report_first && seen_late_answer); i++) {
        char attempt[32];
        snprintf(attempt, sizeof(attempt), "ooo-%d", i);
        r = place(port, "+15550000004", attempt, "camp-faults", NULL, id, sizeof(id));
        assert_int_equal(r.status, 201);
        free(r.body);
        n = hooks_of(&fx->rx, attempt, 4, hooks, 16);
        hooks_describe(hooks, n, got, sizeof(got));
        rec = record_of(port, attempt);
        const char *disorder =
            json_string_value(json_object_get(json_object_get(rec, "faults"), "disorder"));
        if (strcmp(disorder, "report-first") == 0) {
            seen_report_first = true;
            assert_string_equal(got, "status-update:ringing,status-update:in-progress,"
                                     "end-of-call-report,status-update:ended");
        } else {
            assert_string_equal(disorder, "late-answer");
            seen_late_answer = true;
            assert_string_equal(got, "status-update:ringing,status-update:ended,"
                                     "end-of-call-report,status-update:in-progress");
        }
        json_decref(rec);
    }
    assert_true(seen_report_first && seen_late_answer);

    /* 5xx at POST time: nothing placed, no webhooks. */
    set_faults(port, "{\"out_of_order\":0,\"http_5xx\":1}");
    r = place(port, "+15550000004", "err-1", "camp-faults", NULL, id, sizeof(id));
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "\"statusCode\":500"));
    free(r.body);
    rec = record_of(port, "err-1");
    assert_false(json_is_true(json_object_get(rec, "placed")));
    assert_string_equal(json_string_value(json_object_get(rec, "rejected")), "fault-5xx");
    json_decref(rec);

    /* Slow: answered late, placed all the same. */
    set_faults(port, "{\"http_5xx\":0,\"slow\":{\"p\":1,\"min_ms\":400,\"max_ms\":400}}");
    r = place(port, "+15550000001", "slow-1", "camp-faults", NULL, id, sizeof(id));
    assert_int_equal(r.status, 201);
    assert_true(r.elapsed_ms >= 390);
    free(r.body);

    /* Timeout: the client gives up, yet the call was placed — the case
     * that makes a careless dialer dial twice. */
    set_faults(port, "{\"slow\":{\"p\":0},\"timeout\":{\"p\":1,\"ms\":2000}}");
    char body[512];
    snprintf(body, sizeof(body),
             "{\"assistantId\":\"a\",\"phoneNumberId\":\"p\","
             "\"customer\":{\"number\":\"+15550000001\"},\"metadata\":{\"attempt_id\":\"to-1\"}}");
    r = http(port, "POST", "/call", AUTH, body, 300);
    assert_int_equal(r.curl_rc, CURLE_OPERATION_TIMEDOUT);
    free(r.body);
    set_faults(port, "{\"timeout\":{\"p\":0}}");
    rec = record_of(port, "to-1");
    assert_true(json_is_true(json_object_get(rec, "placed")));
    assert_true(json_is_true(json_object_get(json_object_get(rec, "faults"), "timeout")));
    json_decref(rec);
    assert_int_equal(hooks_of(&fx->rx, "to-1", 3, hooks, 16), 3);

    /* Bad fault bodies are refused. */
    r = http(port, "POST", "/sim/faults", NULL, "{\"lost\":3}", 10000);
    assert_int_equal(r.status, 400);
    free(r.body);
    json_t *faults = get_json(port, "/sim/faults");
    assert_true(json_number_value(json_object_get(faults, "lost")) == 0);
    json_decref(faults);
}

/* The same (seed, number, attempt) gives the same call in every simulator,
 * whatever order the calls come in; another seed gives others. */
static void test_determinism_across_order(void **state)
{
    fixture_t *fx = *state;
    const char rules[] = "default busy:1 no-answer:1 voicemail:1 human-goal:1 human-no-goal:1 "
                         "fail-permanent:1 fail-transient:1\n"
                         "ring 1s-30s\ntalk 1s-30s\ncost-per-minute 7\n";
    simproc_t a, b, c;
    sim_spawn(&a, &fx->rx, rules, "77", NULL);
    sim_spawn(&b, &fx->rx, rules, "77", NULL);
    sim_spawn(&c, &fx->rx, rules, "78", NULL);
    enum { N = 24 };
    for (int k = 0; k < N; k++) {
        char number[32], attempt[32];
        int i = k, j = N - 1 - k; /* b sees them in reverse */
        snprintf(number, sizeof(number), "+1555123%04d", i % 9);
        snprintf(attempt, sizeof(attempt), "det-%d", i);
        reply_t r = place(a.port, number, attempt, "camp-det-a", NULL, NULL, 0);
        free(r.body);
        r = place(c.port, number, attempt, "camp-det-c", NULL, NULL, 0);
        free(r.body);
        snprintf(number, sizeof(number), "+1555123%04d", j % 9);
        snprintf(attempt, sizeof(attempt), "det-%d", j);
        r = place(b.port, number, attempt, "camp-det-b", NULL, NULL, 0);
        free(r.body);
    }
    int differ_c = 0;
    for (int i = 0; i < N; i++) {
        char attempt[32];
        snprintf(attempt, sizeof(attempt), "det-%d", i);
        json_t *ra = record_of(a.port, attempt);
        json_t *rb = record_of(b.port, attempt);
        json_t *rc = record_of(c.port, attempt);
        static const char *const fields[] = {"outcome",    "ended_reason", "ring_ms", "talk_ms",
                                             "cost_cents", "http_status",  "goal"};
        bool same_c = true;
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            if (!json_equal(json_object_get(ra, fields[f]), json_object_get(rb, fields[f])))
                fail_msg("%s: %s differs between two runs with seed 77", attempt, fields[f]);
            same_c = same_c &&
                     json_equal(json_object_get(ra, fields[f]), json_object_get(rc, fields[f]));
        }
        differ_c += !same_c;
        json_decref(ra);
        json_decref(rb);
        json_decref(rc);
    }
    assert_true(differ_c > N / 2);
    json_t *sa = get_json(a.port, "/sim/stats");
    json_t *sb = get_json(b.port, "/sim/stats");
    assert_true(json_equal(json_object_get(sa, "outcomes"), json_object_get(sb, "outcomes")));
    json_decref(sa);
    json_decref(sb);
    sim_cleanup(&a);
    sim_cleanup(&b);
    sim_cleanup(&c);
}

/* A double dial and overlapping calls to one number, provoked on
 * purpose; the capacity limit; SIGTERM with calls in flight. */
static void test_invariants_capacity_and_stop(void **state)
{
    fixture_t *fx = *state;
    /* 100 s of ringing is a second of real time at CLOCK_SCALE 100. */
    const char rules[] = "default no-answer\nring no-answer 100s\n";
    const char *const extra[] = {"--max-concurrent", "3", NULL};
    simproc_t s;
    sim_spawn(&s, &fx->rx, rules, "5", extra);
    reply_t r = place(s.port, "+15559990001", "inv-1", "camp-inv", NULL, NULL, 0);
    assert_int_equal(r.status, 201);
    free(r.body);
    r = place(s.port, "+15559990001", "inv-1", "camp-inv", NULL, NULL, 0); /* double dial */
    assert_int_equal(r.status, 201);
    free(r.body);
    r = place(s.port, "+15559990002", "inv-2", "camp-inv", NULL, NULL, 0);
    assert_int_equal(r.status, 201);
    free(r.body);
    r = place(s.port, "+15559990002", "inv-3", "camp-inv", NULL, NULL, 0); /* over capacity */
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.body, "\"statusCode\":429"));
    assert_string_equal(r.retry_after, "1");
    free(r.body);
    json_t *stats = get_json(s.port, "/sim/stats");
    assert_int_equal(json_integer_value(json_object_get(stats, "in_flight")), 3);
    json_decref(stats);

    /* When those end, two calls to one number at once. */
    json_t *rec = record_of(s.port, "inv-2");
    json_decref(rec);
    r = place(s.port, "+15559990002", "inv-3", "camp-inv", NULL, NULL, 0);
    assert_int_equal(r.status, 201);
    free(r.body);
    r = place(s.port, "+15559990002", "inv-4", "camp-inv", NULL, NULL, 0);
    assert_int_equal(r.status, 201);
    free(r.body);

    json_t *inv = get_json(s.port, "/sim/invariants");
    assert_int_equal(json_integer_value(json_object_get(inv, "double_dials")), 1);
    assert_int_equal(json_integer_value(json_object_get(inv, "concurrent_same_number")), 2);
    assert_false(json_is_true(json_object_get(inv, "ok")));
    json_t *dd = json_array_get(json_object_get(inv, "double_dialed"), 0);
    assert_string_equal(json_string_value(json_object_get(dd, "attempt_id")), "inv-1");
    json_decref(inv);
    stats = get_json(s.port, "/sim/stats");
    assert_int_equal(json_integer_value(json_object_get(stats, "max_concurrent_seen")), 3);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(stats, "rejected"), "capacity")), 1);
    json_decref(stats);
    json_t *calls = get_json(s.port, "/sim/calls?number=%2B15559990002");
    assert_int_equal(json_integer_value(json_object_get(calls, "count")), 4);
    json_decref(calls);

    /* SIGTERM with two calls ringing: a clean exit, the log keeps all six
     * requests, the two dropped ones marked aborted. */
    assert_int_equal(sim_terminate(&s), 0);
    FILE *fp = fopen(s.log_path, "r");
    assert_non_null(fp);
    char line[16384];
    int lines = 0, aborted = 0;
    while (fgets(line, sizeof(line), fp)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        lines++;
        aborted += json_is_true(json_object_get(j, "aborted"));
        json_decref(j);
    }
    fclose(fp);
    assert_int_equal(lines, 6);
    assert_int_equal(aborted, 2);
    sim_cleanup(&s);
}

/* Last: the shared simulator stops cleanly and its log has a line per
 * call it received. */
static void test_stop_leaves_the_log(void **state)
{
    fixture_t *fx = *state;
    json_t *stats = get_json(fx->sim.port, "/sim/stats");
    json_int_t received = json_integer_value(json_object_get(stats, "received"));
    json_decref(stats);
    assert_int_equal(sim_terminate(&fx->sim), 0);
    FILE *fp = fopen(fx->sim.log_path, "r");
    assert_non_null(fp);
    char line[65536];
    json_int_t lines = 0;
    while (fgets(line, sizeof(line), fp)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        json_decref(j);
        lines++;
    }
    fclose(fp);
    assert_int_equal(lines, received);
}

HTTPC_TEST_MAIN(setup, teardown, test_outcome_webhook_sequences,
                test_server_url_override_and_failed_receiver, test_auth_and_validation,
                test_faults_on_the_wire_and_in_the_log, test_determinism_across_order,
                test_invariants_capacity_and_stop, test_stop_leaves_the_log)

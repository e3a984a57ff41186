/*
 * End to end: outbound webhooks (issue 20, item 1; docs/webhooks.md)
 * through the real services, the voice simulator, outdial-notifier and a
 * local HTTPS receiver that fails, stalls and takes deliveries twice on
 * purpose (tests/e2e/webhook_receiver.py).
 *
 *   - a campaign of 8 leads, one per simulator outcome, imported by CSV
 *     upload and run to completion, with an endpoint on the faulty
 *     receiver for every event type: every call.ended (each call with an
 *     outcome), lead.finished (each lead), campaign.status_changed
 *     (started, completed) and import.finished event arrives at least once;
 *     every delivery the receiver accepted carries a valid signature and
 *     every call.ended the number the call came from (caller_id); the
 *     copies of one event all carry its idempotency key and no event came
 *     under two keys; each fault happened at least once;
 *   - a second endpoint that answers 500 until the test opens it: with
 *     OUTDIAL_NOTIFIER_MAX_AGE_S=10 (24 h compressed) its deliveries go
 *     dead and show in the dead-letter list; replaying one, then all,
 *     delivers them, signed;
 *   - the notifier's /metrics counts the results; outdial-audit reports
 *     every invariant at 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e/e2e_support.h"
#include "sign.h"
#include "test_main.h"

/* One lead per outcome, so that call.ended carries each status. */
static const char rules[] = "seed 11\n"
                            "ring 20s\n"
                            "talk human 1m\n"
                            "match +12125550201 busy\n"
                            "match +12125550202 no-answer\n"
                            "match +12125550203 voicemail\n"
                            "match +12125550204 human\n"
                            "match +12125550205 human\n"
                            "match +12125550206 fail-permanent\n"
                            "match +12125550207 fail-transient\n"
                            "default human\n";

#define N_LEADS 8
/* The assistant's outbound number: every call.ended names it as caller_id. */
#define ASSISTANT_PHONE "+12125550100"
/* The notifier's timeout; the receiver stalls for 4 s. */
#define NOTIFIER_TIMEOUT_MS "1500"

static pid_t receiver_pid, notifier_pid;

static int teardown(void **state)
{
    if (notifier_pid > 0)
        harness_stop(notifier_pid, SIGKILL);
    if (receiver_pid > 0)
        harness_stop(receiver_pid, SIGKILL);
    notifier_pid = receiver_pid = 0;
    return e2e_teardown(state);
}

/* Every line of the receiver's log, as JSON objects (a new array). */
static json_t *requests_read(const char *dir)
{
    char path[400], line[65536];
    snprintf(path, sizeof(path), "%s/requests.jsonl", dir);
    json_t *all = json_array();
    FILE *f = fopen(path, "r");
    if (!f)
        return all;
    while (fgets(line, sizeof(line), f)) {
        json_t *r = json_loads(line, 0, NULL);
        if (r)
            json_array_append_new(all, r);
    }
    fclose(f);
    return all;
}

/* What an event is about, the same for every copy of it: its type and its
 * subject (the call, lead, import, or campaign status). */
static void event_subject(json_t *body, char *out, size_t len)
{
    const char *type = e2e_str(body, "type");
    json_t *data = json_object_get(body, "data");
    const char *subject = "";
    if (strcmp(type, "call.ended") == 0)
        subject = e2e_str(data, "call_id");
    else if (strcmp(type, "lead.finished") == 0)
        subject = e2e_str(data, "lead_id");
    else if (strcmp(type, "import.finished") == 0)
        subject = e2e_str(data, "import_id");
    else if (strcmp(type, "campaign.status_changed") == 0)
        subject = e2e_str(data, "new_status");
    snprintf(out, len, "%s %s", type, subject);
}

/* The accepted deliveries on path, checked: signature valid with secret
 * and fresh, the body's id is the idempotency key, every copy of a key
 * has the same body, no subject under two keys. Returns {subject: key}
 * (a new object); *copies gets how many accepted deliveries were a second
 * copy of a key. */
static json_t *accepted_check(json_t *requests, const char *path, const char *secret, int *copies)
{
    json_t *by_key = json_object();     /* key -> body text */
    json_t *by_subject = json_object(); /* subject -> key */
    *copies = 0;
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r)
    {
        if (strcmp(e2e_str(r, "path"), path) != 0 || !json_is_true(json_object_get(r, "accepted")))
            continue;
        const char *key = e2e_str(r, "id");
        const char *text = e2e_str(r, "body");
        char err[256];
        if (webhook_sign_verify(secret, e2e_str(r, "timestamp"), text, strlen(text),
                                e2e_str(r, "signature"), (int64_t)time(NULL),
                                WEBHOOK_SIGN_TOLERANCE_S, err, sizeof(err)) != OD_OK)
            fail_msg("delivery %s on %s: %s", key, path, err);
        json_t *body = json_loads(text, 0, NULL);
        assert_non_null(body);
        assert_string_equal(e2e_str(body, "id"), key);
        assert_string_equal(e2e_str(body, "type"), e2e_str(r, "event"));
        /* Every call came from the assistant's number (strategy single). */
        if (strcmp(e2e_str(body, "type"), "call.ended") == 0)
            assert_string_equal(e2e_str(json_object_get(body, "data"), "caller_id"),
                                ASSISTANT_PHONE);
        json_t *seen = json_object_get(by_key, key);
        if (seen) {
            assert_string_equal(json_string_value(seen), text); /* the same event */
            (*copies)++;
        } else {
            json_object_set_new(by_key, key, json_string(text));
        }
        char subject[160];
        event_subject(body, subject, sizeof(subject));
        json_t *other = json_object_get(by_subject, subject);
        if (other && strcmp(json_string_value(other), key) != 0)
            fail_msg("%s arrived under two keys: %s and %s", subject, json_string_value(other),
                     key);
        json_object_set_new(by_subject, subject, json_string(key));
        json_decref(body);
    }
    json_decref(by_key);
    return by_subject;
}

static int faults_seen(json_t *requests, const char *fault)
{
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r) n += strcmp(e2e_str(r, "fault"), fault) == 0;
    return n;
}

/* The subjects the campaign's rows say must have been delivered. */
static json_t *expected_subjects(const e2e_stack_t *st, const char *campaign, const char *import)
{
    json_t *want = json_array();
    char path[128], s[160];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/calls", campaign);
    json_t *calls = e2e_list(st, path);
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *status = e2e_str(c, "status");
        if (strcmp(status, "skipped") == 0)
            continue;
        snprintf(s, sizeof(s), "call.ended %s", e2e_str(c, "id"));
        json_array_append_new(want, json_string(s));
    }
    json_decref(calls);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign);
    json_t *leads = e2e_list(st, path);
    assert_int_equal(json_array_size(leads), N_LEADS);
    json_array_foreach(leads, i, c)
    {
        snprintf(s, sizeof(s), "lead.finished %s", e2e_str(c, "id"));
        json_array_append_new(want, json_string(s));
    }
    json_decref(leads);
    json_array_append_new(want, json_string("campaign.status_changed in_progress"));
    json_array_append_new(want, json_string("campaign.status_changed completed"));
    snprintf(s, sizeof(s), "import.finished %s", import);
    json_array_append_new(want, json_string(s));
    return want;
}

/* Whether every expected subject was accepted on path. */
static bool all_delivered(json_t *want, const char *dir, const char *path, const char *secret)
{
    json_t *requests = requests_read(dir);
    int copies = 0;
    json_t *got = accepted_check(requests, path, secret, &copies);
    bool all = true;
    size_t i;
    json_t *s;
    json_array_foreach(want, i, s) all = all && json_object_get(got, json_string_value(s));
    json_decref(got);
    json_decref(requests);
    return all;
}

/* An endpoint on the receiver; its id and secret into out. */
static void endpoint_create(const e2e_stack_t *st, int port, const char *path, const char *events,
                            char id[37], char secret[80])
{
    e2e_resp_t r =
        e2e_api(st, "POST", "/v1/webhook-endpoints",
                "{\"url\":\"https://127.0.0.1:%d%s\",\"events\":%s}", port, path, events);
    e2e_expect(&r, 201, "create a webhook endpoint");
    snprintf(id, 37, "%s", e2e_str(r.json, "id"));
    snprintf(secret, 80, "%s", e2e_str(r.json, "secret"));
    assert_true(strncmp(secret, "whsec_", 6) == 0);
    e2e_resp_free(&r);
}

static long long deliveries_count(const e2e_stack_t *st, const char *endpoint, const char *status)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries?status=%s", endpoint, status);
    json_t *list = e2e_list(st, path);
    long long n = (long long)json_array_size(list);
    json_decref(list);
    return n;
}

static bool import_completed(const e2e_stack_t *st, const char *import_id)
{
    json_t *imp = e2e_get_json(st, "/v1/imports/%s", import_id);
    bool done = strcmp(e2e_str(imp, "status"), "completed") == 0;
    json_decref(imp);
    return done;
}

static void test_webhook_delivery(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    e2e_opts_t opts = {.tag = "e2ewebhook", .rules = rules, .balance = 1000000};
    e2e_stack_start(&st, &opts);

    /* The receiver, with its own test CA. */
    char dir[300], script[600], port_file[400], ca[400];
    snprintf(dir, sizeof(dir), "%s/receiver", st.dir);
    mkdir(dir, 0700);
    snprintf(script, sizeof(script), "%s/tests/e2e/webhook_receiver.py",
             support_env("OUTDIAL_SOURCE_DIR"));
    const char *argv[] = {"python3", script, dir, NULL};
    receiver_pid = harness_spawn_argv("/usr/bin/python3", "webhook-receiver", argv, NULL);
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    int rport = e2e_wait_port_file(port_file, receiver_pid, "webhook receiver");
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);

    /* The notifier: short timeout, fast retries, 24 h compressed to 10 s. */
    static char env[8][512];
    e2e_proc_t notifier = {.name = "outdial-notifier", .port = harness_free_port()};
    snprintf(env[0], sizeof(env[0]), "OUTDIAL_NOTIFIER_HTTP_PORT=%d", notifier.port);
    snprintf(env[1], sizeof(env[1]), "OUTDIAL_NOTIFIER_CA_FILE=%s", ca);
    snprintf(env[2], sizeof(env[2]), "OUTDIAL_NOTIFIER_TIMEOUT_MS=%s", NOTIFIER_TIMEOUT_MS);
    snprintf(env[3], sizeof(env[3]), "OUTDIAL_NOTIFIER_RETRY_FIRST_MS=200");
    snprintf(env[4], sizeof(env[4]), "OUTDIAL_NOTIFIER_RETRY_MAX_MS=1000");
    snprintf(env[5], sizeof(env[5]), "OUTDIAL_NOTIFIER_MAX_AGE_S=10");
    snprintf(env[6], sizeof(env[6]), "no_proxy=127.0.0.1,localhost");
    const char *nenv[] = {env[0], env[1], env[2], env[3], env[4], env[5], env[6], NULL};
    notifier.pid = notifier_pid = harness_spawn("services/notifier/outdial-notifier", nenv);
    e2e_wait_ready(&notifier);

    char flaky[37], flaky_secret[80], dead[37], dead_secret[80];
    endpoint_create(&st, rport, "/flaky",
                    "[\"call.ended\",\"lead.finished\",\"campaign.status_changed\","
                    "\"import.finished\"]",
                    flaky, flaky_secret);
    endpoint_create(&st, rport, "/dead", "[\"campaign.status_changed\"]", dead, dead_secret);

    /* The campaign's leads by CSV upload (import.finished), then its run. */
    char assistant[37], campaign[37], import_id[37], path[256], csv[1024];
    e2e_assistant_create(&st, ASSISTANT_PHONE, assistant);
    e2e_campaign_create(&st, assistant,
                        E2E_WINDOW_ALWAYS ",\"max_retries\":1,\"retry_interval_minutes\":10",
                        campaign);
    size_t off = (size_t)snprintf(csv, sizeof(csv), "phone,name\n");
    for (int i = 1; i <= N_LEADS; i++)
        off += (size_t)snprintf(csv + off, sizeof(csv) - off, "+1212555020%d,Lead %d\n", i, i);
    snprintf(path, sizeof(path), "/v1/campaigns/%s/imports?region=US&filename=leads.csv", campaign);
    e2e_resp_t r = e2e_http(st.api.port, "POST", path, st.key, "text/csv", csv, off);
    e2e_expect(&r, 202, "upload the CSV");
    snprintf(import_id, sizeof(import_id), "%s", e2e_str(r.json, "id"));
    e2e_resp_free(&r);
    HARNESS_WAIT(import_completed(&st, import_id), 60000, "the import to complete");
    e2e_campaign_must(&st, campaign, "start");
    e2e_wait_campaign(&st, campaign, "completed", 120000);

    /* Nothing lost: every event the rows say happened reached the faulty
     * endpoint, signed, under one key each. */
    json_t *want = expected_subjects(&st, campaign, import_id);
    HARNESS_WAIT_EVERY(all_delivered(want, dir, "/flaky", flaky_secret), 120000, 250,
                       "every expected event accepted by the faulty receiver");
    json_t *requests = requests_read(dir);
    int copies = 0;
    json_t *got = accepted_check(requests, "/flaky", flaky_secret, &copies);
    print_message("%zu events expected, %zu accepted, %d second copies; faults: 500 x%d, stall "
                  "x%d, close x%d\n",
                  json_array_size(want), json_object_size(got), copies,
                  faults_seen(requests, "500"), faults_seen(requests, "stall"),
                  faults_seen(requests, "close"));
    assert_int_equal(json_object_size(got), json_array_size(want)); /* nothing unexpected */
    assert_true(copies >= 1); /* the close fault made the sender try again */
    assert_true(faults_seen(requests, "500") >= 1);
    assert_true(faults_seen(requests, "stall") >= 1);
    assert_true(faults_seen(requests, "close") >= 1);
    json_decref(got);
    json_decref(requests);
    json_decref(want);

    /* The dead endpoint: 10 s of 500s, then the dead-letter list. */
    HARNESS_WAIT_EVERY(deliveries_count(&st, dead, "dead") == 2, 60000, 250,
                       "both status changes dead on the failing endpoint");
    assert_int_equal(deliveries_count(&st, dead, "delivered"), 0);
    json_t *dead_list = e2e_get_json(&st, "/v1/webhook-endpoints/%s/deliveries?status=dead", dead);
    json_t *first = json_array_get(json_object_get(dead_list, "data"), 0);
    assert_string_equal(e2e_str(first, "event_type"), "campaign.status_changed");
    assert_int_equal(e2e_int(first, "last_status_code"), 500);
    assert_true(e2e_int(first, "attempts") >= 2);
    char one[37];
    snprintf(one, sizeof(one), "%s", e2e_str(first, "id"));
    json_decref(dead_list);

    char open_path[400];
    snprintf(open_path, sizeof(open_path), "%s/dead.open", dir);
    e2e_write_file(open_path, "open\n");
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries/%s/replay", dead, one);
    r = e2e_api(&st, "POST", path, NULL);
    e2e_expect(&r, 200, "replay one dead delivery");
    assert_string_equal(e2e_str(r.json, "status"), "pending");
    assert_int_equal(e2e_int(r.json, "attempts"), 0);
    e2e_resp_free(&r);
    /* A delivery that is not dead (pending, or delivered by now) is not
     * replayed. */
    r = e2e_api(&st, "POST", path, NULL);
    e2e_expect(&r, 409, "replay a delivery that is not dead");
    assert_string_equal(e2e_str(r.json, "error.code"), "invalid_state");
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/webhook-endpoints/%s/deliveries/replay", dead);
    r = e2e_api(&st, "POST", path, NULL);
    e2e_expect(&r, 200, "replay every dead delivery");
    assert_int_equal(e2e_int(r.json, "replayed"), 1); /* the other one */
    e2e_resp_free(&r);
    HARNESS_WAIT_EVERY(deliveries_count(&st, dead, "delivered") == 2, 60000, 250,
                       "the replayed deliveries delivered");
    requests = requests_read(dir);
    got = accepted_check(requests, "/dead", dead_secret, &copies);
    assert_non_null(json_object_get(got, "campaign.status_changed in_progress"));
    assert_non_null(json_object_get(got, "campaign.status_changed completed"));
    json_decref(got);
    json_decref(requests);

    /* The metrics count what happened. */
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", notifier.port);
    httpc_reply_t m = httpc_bearer(url, "GET", NULL, NULL, NULL, 0, 10000L);
    assert_int_equal(m.status, 200);
    static const char *const series[] = {
        "outdial_notifier_deliveries_total{result=\"delivered\"}",
        "outdial_notifier_deliveries_total{result=\"server_error\"}",
        "outdial_notifier_deliveries_total{result=\"no_answer\"}",
        "outdial_notifier_deliveries_total{result=\"dead\"}",
        "outdial_notifier_delivery_seconds_count",
    };
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
        if (!strstr(m.body, series[i]))
            fail_msg("notifier /metrics lacks %s", series[i]);
    httpc_reply_free(&m);

    e2e_audit(&st, campaign);
    notifier.pid = notifier_pid;
    notifier_pid = 0;
    e2e_proc_stop(&notifier);
    harness_stop(receiver_pid, SIGTERM);
    receiver_pid = 0;
    e2e_stack_stop(&st);
}

OD_TEST_MAIN_EACH(NULL, NULL, NULL, teardown, test_webhook_delivery)

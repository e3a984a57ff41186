/*
 * test_api_support.h — the API's integration tests (header-only): a fresh
 * database, outdial-api started as a child process on a port it picks and
 * writes to a file, requests over HTTP with libcurl, and the bootstrap
 * command run as the operator would.
 */
#ifndef OUTDIAL_TEST_API_SUPPORT_H
#define OUTDIAL_TEST_API_SUPPORT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "http_client.h"
#include "support.h"

#define API_ADMIN_TOKEN "test-admin-token-0123456789abcdef0123456789"

typedef struct api_proc {
    pid_t pid;
    int port;
    char *dsn;
    char base[64];
    char port_file[256];
} api_proc_t;

static inline void api_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Servers still running when the test process exits (a failed assertion
 * skips the test's api_stop) are killed, never left behind. */
static pid_t api_pids[8];

static inline void api_kill_all(void)
{
    for (size_t i = 0; i < sizeof(api_pids) / sizeof(api_pids[0]); i++)
        if (api_pids[i] > 0)
            harness_stop(api_pids[i], SIGKILL);
}

static inline void api_pid_track(pid_t old_pid, pid_t new_pid)
{
    static bool registered;
    if (!registered) {
        atexit(api_kill_all);
        registered = true;
    }
    for (size_t i = 0; i < sizeof(api_pids) / sizeof(api_pids[0]); i++) {
        if (api_pids[i] == old_pid) {
            api_pids[i] = new_pid;
            return;
        }
    }
}

/* Spawns outdial-api with api's database and port file, waits for its
 * port. */
static inline void api_spawn(api_proc_t *api, const char *const *extra)
{
    unlink(api->port_file);
    api->port = 0;
    static char dsn_env[512], port_env[300];
    snprintf(dsn_env, sizeof(dsn_env), "OUTDIAL_PG_DSN=%s", api->dsn);
    snprintf(port_env, sizeof(port_env), "OUTDIAL_API_PORT_FILE=%s", api->port_file);
    const char *env[32] = {dsn_env, port_env, "OUTDIAL_API_HTTP_PORT=0",
                           "OUTDIAL_API_HTTP_HOST=127.0.0.1",
                           "OUTDIAL_API_ADMIN_TOKEN=" API_ADMIN_TOKEN};
    size_t n = 5;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    api->pid = harness_spawn("services/api/outdial-api", env);
    api_pid_track(0, api->pid);
    char err[512];
    api->port = harness_port_wait(api->port_file, api->pid, 60000, err, sizeof(err));
    if (!api->port)
        api_die("outdial-api: %s", err);
    snprintf(api->base, sizeof(api->base), "http://127.0.0.1:%d", api->port);
    /* The server answers before its database is migrated (it starts in any
     * order, docs/reliability.md): wait until /readyz says it is ready. */
    char url[128];
    snprintf(url, sizeof(url), "%s/readyz", api->base);
    int64_t deadline = harness_ms() + 60000;
    for (;;) {
        httpc_reply_t r = httpc_bearer(url, "GET", NULL, NULL, NULL, 0, 5000L);
        long status = r.status;
        httpc_reply_free(&r);
        if (status == 200)
            break;
        if (harness_ms() > deadline)
            api_die("outdial-api was not ready within 60 s (GET /readyz: %ld)", status);
        harness_sleep_ms(50);
    }
}

/* A fresh database (migrated by the API on start), isolated topic and
 * Redis prefixes (tag), and outdial-api serving on an ephemeral port.
 * extra: more "NAME=value" settings (NULL-terminated, kept by the caller),
 * may be NULL. */
static inline void api_start(api_proc_t *api, const char *tag, const char *const *extra)
{
    memset(api, 0, sizeof(*api));
    harness_isolate(tag);
    api->dsn = support_pg_create_db(tag);
    setenv("OUTDIAL_PG_DSN", api->dsn, 1); /* for the commands run by the test */
    snprintf(api->port_file, sizeof(api->port_file), "/tmp/outdial-api-%s-%d.port", tag,
             (int)getpid());
    api_spawn(api, extra);
}

/* Stops the server (SIGTERM) and starts it again on the same database. */
static inline void api_restart(api_proc_t *api, const char *const *extra)
{
    int status = harness_stop(api->pid, SIGTERM);
    api_pid_track(api->pid, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        api_die("outdial-api ended with status %d", status);
    api_spawn(api, extra);
}

static inline void api_stop(api_proc_t *api)
{
    /* A clean exit is part of the test: under the sanitizers, a leak or a
     * memory error in the server makes its exit status non-zero. */
    int status = harness_stop(api->pid, SIGTERM);
    api_pid_track(api->pid, 0);
    unlink(api->port_file);
    support_pg_drop_db(api->dsn);
    free(api->dsn);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        api_die("outdial-api ended with status %d (see build/Testing/outdial-api-*.log)", status);
}

/* ---- HTTP --------------------------------------------------------------------- */

typedef httpc_reply_t api_resp_t;

static inline void api_resp_free(api_resp_t *r)
{
    httpc_reply_free(r);
}

/* With OUTDIAL_API_RECORD_DIR set, every response is appended to
 * <dir>/<pid>.jsonl, one JSON object a line (method, path, status,
 * content_type, body), for tests/api/validate-responses.mjs, which checks
 * each against docs/openapi.yaml. */
static inline void api_record(const char *method, const char *path, const api_resp_t *r)
{
    const char *dir = getenv("OUTDIAL_API_RECORD_DIR");
    if (!dir || !*dir)
        return;
    char file[1024];
    snprintf(file, sizeof(file), "%s/%d.jsonl", dir, (int)getpid());
    FILE *f = fopen(file, "a");
    if (!f)
        api_die("OUTDIAL_API_RECORD_DIR: cannot open %s", file);
    json_t *line = json_pack("{s:s, s:s, s:i, s:s}", "method", method, "path", path, "status",
                             (json_int_t)r->status, "content_type", r->content_type);
    json_t *body = json_stringn(r->body, r->len); /* NULL: not UTF-8 (a file download) */
    json_object_set_new(line, "body", body ? body : json_null());
    char *text = json_dumps(line, JSON_COMPACT);
    fprintf(f, "%s\n", text);
    free(text);
    json_decref(line);
    fclose(f);
}

/*
 * One request. key: the bearer token (NULL: none). content_type: NULL
 * means application/json when there is a body. Returns the response; the
 * caller frees it with api_resp_free. Transport failures abort the test.
 */
static inline api_resp_t api_call_raw(const api_proc_t *api, const char *method, const char *path,
                                      const char *key, const char *content_type, const char *body,
                                      size_t len)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", api->base, path);
    api_resp_t r = httpc_bearer(url, method, key, content_type, body, len, 60000L);
    if (r.curl_rc != CURLE_OK)
        api_die("%s %s: %s", method, path, curl_easy_strerror(r.curl_rc));
    api_record(method, path, &r);
    return r;
}

/* A JSON request built printf-style (body NULL: none). */
static inline api_resp_t api_call(const api_proc_t *api, const char *method, const char *path,
                                  const char *key, const char *body_fmt, ...)
{
    char body[65536];
    if (body_fmt) {
        va_list ap;
        va_start(ap, body_fmt);
        vsnprintf(body, sizeof(body), body_fmt, ap);
        va_end(ap);
    }
    return api_call_raw(api, method, path, key, NULL, body_fmt ? body : NULL,
                        body_fmt ? strlen(body) : 0);
}

/* POST, without a body, to path_fmt with id in it
 * ("/v1/campaigns/%s/start"): the response (the caller frees it). */
static inline api_resp_t api_post_id(const api_proc_t *api, const char *key, const char *path_fmt,
                                     const char *id)
{
    char path[256];
    snprintf(path, sizeof(path), path_fmt, id);
    return api_call(api, "POST", path, key, NULL);
}

/* The member of the response at path ("error.code" style paths, one level
 * of nesting per dot), or NULL (borrowed from r). */
static inline json_t *api_member(const api_resp_t *r, const char *path)
{
    json_t *v = r->json;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *part = strtok(buf, "."); part && v; part = strtok(NULL, "."))
        v = json_object_get(v, part);
    return v;
}

/* A string member of the response (api_member's path); "" when absent. */
static inline const char *api_str(const api_resp_t *r, const char *path)
{
    json_t *v = api_member(r, path);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* An integer member of the response (api_member's path); -1 when absent. */
static inline long long api_int(const api_resp_t *r, const char *path)
{
    json_t *v = api_member(r, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Aborts with the body when the status is not the expected one. */
static inline void api_expect(const api_resp_t *r, long status, const char *what)
{
    if (r->status != status) {
        fprintf(stderr, "%s: expected %ld, got %ld: %s\n", what, status, r->status, r->body);
        exit(1);
    }
}

/* GETs path_fmt with id in it ("/v1/campaigns/%s/stats") and fails unless
 * it answers 200: the response (the caller frees it). */
static inline api_resp_t api_get_ok(const api_proc_t *api, const char *key, const char *path_fmt,
                                    const char *id)
{
    char path[256];
    snprintf(path, sizeof(path), path_fmt, id);
    api_resp_t r = api_call(api, "GET", path, key, NULL);
    api_expect(&r, 200, path);
    return r;
}

/* Adds the leads of body (a JSON lead or array of leads) to the campaign
 * and fails unless the API answers 201 counting created leads created and
 * invalid invalid (-1: not checked): the response, with its per-lead
 * "results" (the caller frees it). */
static inline api_resp_t api_leads_post(const api_proc_t *api, const char *key,
                                        const char *campaign_id, const char *body,
                                        long long created, long long invalid)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign_id);
    api_resp_t r = api_call(api, "POST", path, key, "%s", body);
    api_expect(&r, 201, path);
    assert_int_equal(api_int(&r, "created"), created);
    if (invalid >= 0)
        assert_int_equal(api_int(&r, "invalid"), invalid);
    return r;
}

/* POSTs the action path_fmt with id in it (api_post_id) and fails unless
 * it answers 200 with the "status" status (NULL: not checked); the
 * response, for the caller's own checks (the caller frees it). */
static inline api_resp_t api_action(const api_proc_t *api, const char *key, const char *path_fmt,
                                    const char *id, const char *status)
{
    char path[256];
    snprintf(path, sizeof(path), path_fmt, id);
    api_resp_t r = api_call(api, "POST", path, key, NULL);
    api_expect(&r, 200, path);
    if (status)
        assert_string_equal(api_str(&r, "status"), status);
    return r;
}

/* POSTs the action path_fmt with id in it and fails unless it is refused
 * with http_status and the error code; the response, for the caller's
 * own checks (the caller frees it). */
static inline api_resp_t api_action_refused(const api_proc_t *api, const char *key,
                                            const char *path_fmt, const char *id, long http_status,
                                            const char *code)
{
    api_resp_t r = api_post_id(api, key, path_fmt, id);
    assert_int_equal(r.status, http_status);
    assert_string_equal(api_str(&r, "error.code"), code);
    return r;
}

/* Sends body (JSON, or NULL) and fails unless the API refuses it 400
 * naming field (error.field); the response, for the caller's own checks
 * (the caller frees it). */
static inline api_resp_t api_refused_field(const api_proc_t *api, const char *method,
                                           const char *path, const char *key, const char *body,
                                           const char *field)
{
    api_resp_t r = api_call(api, method, path, key, body ? "%s" : NULL, body);
    assert_int_equal(r.status, 400);
    assert_string_equal(api_str(&r, "error.field"), field);
    return r;
}

/* ---- accounts ------------------------------------------------------------------ */

typedef struct api_account {
    char id[37];
    char key[128];
} api_account_t;

/* Runs `outdial-api bootstrap --name NAME --balance B` as the operator
 * would, against the test's database, and reads the id and key it prints. */
static inline api_account_t api_bootstrap(const char *name, long long balance)
{
    api_account_t acc;
    int status = support_bootstrap(name, balance, acc.id, acc.key);
    if (status != 0)
        api_die("outdial-api bootstrap failed (status %d)", status);
    return acc;
}

/* The id member of a 201 response. */
static inline void api_created_id(api_resp_t *r, char out[37], const char *what)
{
    api_expect(r, 201, what);
    snprintf(out, 37, "%s", api_str(r, "id"));
    if (strlen(out) != 36)
        api_die("%s: no id in %s", what, r->body);
}

/* An assistant with an outbound number and a boolean post-call variable
 * "interested"; its id into out. */
static inline void api_assistant_create(const api_proc_t *api, const char *key, const char *phone,
                                        char out[37])
{
    api_resp_t r;
    if (phone)
        r = api_call(api, "POST", "/v1/assistants", key,
                     "{\"name\":\"Sally\",\"timezone\":\"America/New_York\","
                     "\"outbound_phone_number\":\"%s\",\"provider_assistant_id\":\"asst-1\","
                     "\"post_call_schema\":{\"interested\":\"boolean\",\"notes\":\"string\","
                     "\"score\":\"number\"}}",
                     phone);
    else
        r = api_call(api, "POST", "/v1/assistants", key,
                     "{\"name\":\"Sally\",\"timezone\":\"America/New_York\","
                     "\"provider_assistant_id\":\"asst-1\","
                     "\"post_call_schema\":{\"interested\":\"boolean\",\"notes\":\"string\"}}");
    api_created_id(&r, out, "create assistant");
    api_resp_free(&r);
}

static inline void api_campaign_create(const api_proc_t *api, const char *key,
                                       const char *assistant_id, char out[37])
{
    api_resp_t r = api_call(api, "POST", "/v1/campaigns", key,
                            "{\"name\":\"Spring\",\"assistant_id\":\"%s\"}", assistant_id);
    api_created_id(&r, out, "create campaign");
    api_resp_free(&r);
}

/* A lead with phone in campaign_id; exits unless it is created (201). */
static inline void api_lead_add(const api_proc_t *api, const char *key, const char *campaign_id,
                                const char *phone, const char *what)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign_id);
    api_resp_t r = api_call(api, "POST", path, key, "{\"phone\":\"%s\"}", phone);
    api_expect(&r, 201, what);
    api_resp_free(&r);
}

#endif

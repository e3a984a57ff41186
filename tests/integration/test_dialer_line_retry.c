/*
 * Redis restarts while a call is in flight: the end-of-call report comes
 * while Redis is down, so the line lock cannot be released then. The
 * dialer must release it once Redis is back (it retries every second),
 * not leave the number busy for the rest of the lock's lease (the call's
 * maximum duration + 5 minutes). tests/fault/chaos found numbers blocked
 * that way after its Redis restart.
 *
 * The test runs a Redis of its own (AOF on, so that the lock survives the
 * restart, as in deploy/local) for the dialer; Kafka is the stack's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "support.h"
#include "test_dialer_support.h"
#include "test_main.h"

#define ACCOUNT  "a0000000-0000-4000-8000-0000000000dd"
#define CAMPAIGN "c0000000-0000-4000-8000-0000000000dd"

/* One answered call of about 3 s real time (x60). */
static const char rules[] = "seed 3\n"
                            "ring 1s-1s\n"
                            "talk 120s-120s\n"
                            "cost-per-minute 10\n"
                            "default human:1\n";

typedef struct own_redis {
    pid_t pid;
    int port;
    char dir[64];
} own_redis_t;

static void own_redis_start(own_redis_t *o)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", o->port);
    const char *argv[] = {"redis-server", "--port", port,           "--bind", "127.0.0.1",
                          "--save",       "",       "--appendonly", "yes",    "--appendfsync",
                          "always",       "--dir",  o->dir,         NULL};
    o->pid = harness_spawn_argv("/usr/bin/redis-server", "redis-server", argv, NULL);
    char url[64], err[256];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", o->port);
    int64_t deadline = harness_ms() + 10000;
    while (harness_ms() < deadline) {
        redis_t *r = NULL;
        if (redis_new(url, 500, 500, &r, err, sizeof(err)) == OD_OK &&
            redis_ping(r, err, sizeof(err)) == OD_OK) {
            redis_free(r);
            return;
        }
        redis_free(r);
        harness_sleep_ms(50);
    }
    ds_fail("redis-server on port %d did not start", o->port);
}

static bool key_exists(redis_t *r, const char *key)
{
    char err[256];
    char *v = NULL;
    int rc = redis_get(r, key, &v, NULL, err, sizeof(err));
    free(v);
    if (rc != OD_OK && rc != OD_ERR_NOT_FOUND)
        ds_fail("redis get %s: %s", key, err);
    return rc == OD_OK;
}

static void test_line_released_after_redis_restart(void **state)
{
    (void)state;
    ds_world_t *w = ds_world_new("dialer_line_retry");
    own_redis_t own = {.port = harness_free_port()};
    snprintf(own.dir, sizeof(own.dir), "/tmp/outdial-redis-XXXXXX");
    if (!mkdtemp(own.dir))
        ds_fail("mkdtemp failed");
    own_redis_start(&own);
    char url[64], err[256];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", own.port);
    redis_t *r = NULL;
    if (redis_new(url, 1000, 1000, &r, err, sizeof(err)))
        ds_fail("%s", err);
    char key[RKEYS_KEY_MAX];
    rkeys_campaign(w->redis_prefix, CAMPAIGN, key);
    const char *set[] = {"SET", key, "in_progress"};
    redisReply *reply = NULL;
    if (redis_command_argv(r, true, 3, set, NULL, &reply, err, sizeof(err)))
        ds_fail("%s", err);
    freeReplyObject(reply);

    int port = harness_free_port();
    ds_sim_t sim;
    ds_sim_start(&sim, rules, port);
    char redis_env[96];
    snprintf(redis_env, sizeof(redis_env), "OUTDIAL_REDIS_URL=%s", url);
    const char *const env[] = {redis_env, "OUTDIAL_DIALER_INSTANCE_ID=lr-1",
                               "OUTDIAL_LOG_LEVEL=warn", NULL};
    ds_dialer_t dl;
    ds_dialer_start(&dl, &sim, port, env);

    ds_job_t job;
    ds_job_init_send(w, &job, CAMPAIGN, ACCOUNT, "+15554000001");
    HARNESS_WAIT(
        ds_count_status(w, job.attempt_id, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED), 20000,
        "the call to be placed");
    char line[RKEYS_KEY_MAX];
    rkeys_line(w->redis_prefix, job.e164, line);
    assert_true(key_exists(r, line)); /* held while the call is in flight */

    /* Redis goes away mid-call; the report comes while it is down. */
    harness_stop(own.pid, SIGTERM);
    ds_event_t t = ds_wait_terminal(w, job.attempt_id, 20000);
    assert_int_equal(t.status, OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED);
    /* Redis comes back only once the dialer has failed to release the line
     * and queued the retry ("release <key>: ... (tried again every second)"). */
    char release[RKEYS_KEY_MAX + 16];
    snprintf(release, sizeof(release), "release %s:", line);
    HARNESS_WAIT(ds_dialer_logged(&dl, release), 10000, "the dialer's failed line release");
    own_redis_start(&own);
    /* The lock came back with Redis (AOF); the dialer releases it within
     * seconds, not after its lease (minutes). */
    HARNESS_WAIT(!key_exists(r, line), 10000, "the line lock to be released after Redis came back");
    ds_sim_invariants_ok(&sim);

    assert_int_equal(WEXITSTATUS(harness_stop(dl.pid, SIGTERM)), 0);
    redis_free(r);
    harness_stop(own.pid, SIGTERM);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", own.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", own.dir);
    ds_sim_stop(&sim);
    ds_world_free(w);
}

OD_TEST_MAIN(NULL, NULL, test_line_released_after_redis_restart)

/*
 * harness.h — running outdial's services as child processes in integration
 * and end-to-end tests, each test isolated by its own database, Kafka topic
 * prefix and Redis key prefix (header-only; include after support.h).
 */
#ifndef OUTDIAL_TESTS_HARNESS_H
#define OUTDIAL_TESTS_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_fork.h"
#include "clock.h"
#include "support.h"
#include "topics.h"

/* Sets the process's topic, consumer group and Redis prefixes to
 * "t<pid>-<tag>.", "t<pid>-<tag>-" and "t<pid>-<tag>:",
 * inherited by every child started afterwards, and makes kafka-dev create
 * the topics (it auto-creates a topic when a producer asks for its
 * metadata; consumers do not). */
static inline void harness_isolate(const char *tag)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "t%d-%s.", (int)getpid(), tag);
    setenv("OUTDIAL_KAFKA_TOPIC_PREFIX", prefix, 1);
    snprintf(prefix, sizeof(prefix), "t%d-%s-", (int)getpid(), tag);
    setenv("OUTDIAL_KAFKA_GROUP_PREFIX", prefix, 1);
    snprintf(prefix, sizeof(prefix), "t%d-%s:", (int)getpid(), tag);
    setenv("OUTDIAL_REDIS_PREFIX", prefix, 1);

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", support_env("OUTDIAL_KAFKA_BROKERS"), err,
                      sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "harness: %s\n", err);
        exit(1);
    }
    for (int id = 0; id < TOPIC_COUNT; id++) {
        char name[TOPIC_NAME_MAX + 1];
        if (topic_name_from_env((topic_id_t)id, name, sizeof(name), err, sizeof(err))) {
            fprintf(stderr, "harness: %s\n", err);
            exit(1);
        }
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
        const struct rd_kafka_metadata *md = NULL;
        for (int tries = 0; tries < 50; tries++) {
            if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0) {
                rd_kafka_metadata_destroy(md);
                md = NULL;
                break;
            }
            if (md)
                rd_kafka_metadata_destroy(md);
            md = NULL;
            usleep(100000);
        }
        rd_kafka_topic_destroy(rkt);
    }
    rd_kafka_destroy(rk);
}

/* Starts the program at path (absolute) with argv (argv[0] first, NULL-
 * terminated) and the extra "NAME=value" settings; its output goes to the
 * build's Testing/<name>-<pid>.log. The child is killed when the test
 * process ends, so that a failed assertion (which skips the test's own
 * stops) leaves no service running. Call it from the test's main thread:
 * the signal follows the thread that forked. */
static inline pid_t harness_spawn_argv(const char *path, const char *name, const char *const *argv,
                                       const char *const *env_extra)
{
    const char *build = support_env("OUTDIAL_BUILD_DIR");
    pid_t pid = child_fork_tied();
    if (pid == 0) {
        for (size_t i = 0; env_extra && env_extra[i]; i++)
            putenv((char *)env_extra[i]);
        char logpath[1200];
        snprintf(logpath, sizeof(logpath), "%s/Testing/%s-%d.log", build, name, (int)getpid());
        FILE *f = fopen(logpath, "w");
        if (f) {
            dup2(fileno(f), 1);
            dup2(fileno(f), 2);
        }
        execv(path, (char *const *)argv);
        perror(path);
        _exit(127);
    }
    return pid;
}

/* Starts the build tree's program relpath (e.g. "services/api/outdial-api")
 * without arguments. */
static inline pid_t harness_spawn(const char *relpath, const char *const *env_extra)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", support_env("OUTDIAL_BUILD_DIR"), relpath);
    const char *base = strrchr(relpath, '/');
    const char *argv[] = {path, NULL};
    return harness_spawn_argv(path, base ? base + 1 : relpath, argv, env_extra);
}

/* Sends sig and waits for the child (at most 30 s, then SIGKILL). Returns
 * its exit status as from waitpid. */
static inline int harness_stop(pid_t pid, int sig)
{
    int status = 0;
    kill(pid, sig);
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

/* Sets the campaign clock of this process's clock readers and of every
 * child started afterwards: campaign time `start` (RFC 3339) is now, and
 * runs at `scale` times real speed (NULL: real speed). */
static inline void harness_clock_set(const char *start, const char *scale)
{
    char epoch[32];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)(od_clock_real_us() / OD_USEC_PER_SEC));
    if (scale)
        setenv("OUTDIAL_CLOCK_SCALE", scale, 1);
    else
        unsetenv("OUTDIAL_CLOCK_SCALE");
    setenv("OUTDIAL_CLOCK_EPOCH", epoch, 1);
    setenv("OUTDIAL_CLOCK_START", start, 1);
    unsetenv("OUTDIAL_CLOCK_OFFSET");
}

/* Monotonic milliseconds, for bounding waits in tests. */
static inline int64_t harness_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How often HARNESS_WAIT looks again: often enough that a wait ends within
 * a few ms of its condition, rare enough not to load the services polled. */
#define HARNESS_POLL_MS 20

/* Sleeps ms: between two looks of a poll, never in place of one. */
static inline void harness_sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* Ports handed out for the tests' own servers: above the local stack's
 * slots (deploy/local/stack: 21000-22990) and below the kernel's ephemeral
 * range (32768 and up by default), so that no outgoing connection (a Kafka
 * client's, a database client's) can take a port between the test choosing
 * it and the service binding it. */
#define HARNESS_PORT_FIRST 23000
#define HARNESS_PORT_LAST  32700

/* A loopback port nobody listens on right now, drawn at random from the
 * range above (bound, closed). */
static inline int harness_free_port(void)
{
    static unsigned seed;
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec;
    }
    for (int tries = 0; tries < 1000; tries++) {
        int port =
            HARNESS_PORT_FIRST + rand_r(&seed) % (HARNESS_PORT_LAST - HARNESS_PORT_FIRST + 1);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                .sin_port = htons((uint16_t)port)};
        if (fd < 0)
            break;
        int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return port;
    }
    fprintf(stderr, "harness: cannot find a free port in %d-%d\n", HARNESS_PORT_FIRST,
            HARNESS_PORT_LAST);
    exit(1);
}

/* Waits (at most ms) until the child pid has written its port to path (a
 * service started with *_PORT_FILE); returns the port, or 0 with the
 * reason in errbuf (the child exited, or ms passed). */
static inline int harness_port_wait(const char *path, pid_t pid, int ms, char *errbuf,
                                    size_t errlen)
{
    int64_t deadline = harness_ms() + ms;
    for (;;) {
        FILE *f = fopen(path, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1 || port <= 0)
                port = 0;
            fclose(f);
        }
        if (port)
            return port;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            snprintf(errbuf, errlen,
                     "it exited at start (status %d): see the build's Testing/*.log", status);
            return 0;
        }
        if (harness_ms() > deadline) {
            snprintf(errbuf, errlen, "it did not write its port to %s within %d ms", path, ms);
            return 0;
        }
        harness_sleep_ms(HARNESS_POLL_MS);
    }
}

/* Simulator rules (tools/voice-sim) giving each of the numbers
 * +15550000001..8 one outcome, for tests that go through them all. */
#define HARNESS_SIM_MATCH_EACH_OUTCOME                                                             \
    "match +15550000001 busy\n"                                                                    \
    "match +15550000002 no-answer\n"                                                               \
    "match +15550000003 voicemail\n"                                                               \
    "match +15550000004 human-goal\n"                                                              \
    "match +15550000005 human-no-goal\n"                                                           \
    "match +15550000006 human\n"                                                                   \
    "match +15550000007 fail-permanent\n"                                                          \
    "match +15550000008 fail-transient\n"

/* Evaluates cond every HARNESS_POLL_MS until it holds; fails the test
 * (cmocka's fail_msg), naming what was awaited, when ms pass first. Tests
 * wait this way, on a condition with a deadline, never for a fixed time:
 * a slow machine then makes a test slower, not wrong. */
#define HARNESS_WAIT(cond, ms, what) HARNESS_WAIT_EVERY(cond, ms, HARNESS_POLL_MS, what)

/* HARNESS_WAIT for a costly cond, evaluated every poll_ms. */
#define HARNESS_WAIT_EVERY(cond, ms, poll_ms, what)                                                \
    do {                                                                                           \
        int64_t harness_deadline_ = harness_ms() + (ms);                                           \
        while (!(cond)) {                                                                          \
            if (harness_ms() > harness_deadline_)                                                  \
                fail_msg("timed out after %d ms waiting for %s", (int)(ms), (what));               \
            usleep((useconds_t)(poll_ms)*1000);                                                    \
        }                                                                                          \
    } while (0)

#endif
